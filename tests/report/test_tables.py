"""Tables say what the numbers say: the verdict between learning-rate rules."""

import math

from rich.console import Console

from specurate.report.tables import lr_rule_verdict


def _row(name, lr, speedup, bound, reached=3):
    return {
        "strategy": name,
        "lr": lr,
        "speedup": speedup,
        "speedup_lo": math.nan,
        "speedup_hi": math.nan,
        "speedup_bound": bound,
        "n_reached": reached,
        "n_compared": 3,
    }


def _text(items):
    console = Console(width=200, record=True)
    for item in items:
        console.print(item)
    return console.export_text()


def test_the_leader_is_judged_on_all_seeds_and_the_move_is_named():
    margin = [
        _row("uniform", 0.1, 1.0, 1.0),
        _row("oracle", 0.1, 50.0, 50.0),  # the free-look reference never leads
        _row("frontier", 0.1, 16.6, 16.6),
        _row("balanced", 0.1, 15.1, 15.1),
    ]
    best = [
        _row("uniform", 0.2, 1.0, 1.0),
        _row("oracle", 0.1, 40.0, 40.0),
        # a large mean over the one seed that reaches it, but the all-seed bound is lower
        _row("frontier", 0.1, 20.0, 9.0, reached=1),
        _row("balanced", 0.2, 12.3, 12.3),
    ]
    text = _text(lr_rule_verdict({"margin": margin, "best": best}))
    assert "margin rule: uniform at lr 0.1; leader frontier" in text
    assert "best rule: uniform at lr 0.2; leader balanced" in text
    assert "the verdict MOVES with the rule: frontier under margin, balanced under best" in text


def test_an_unchanged_leader_is_said_to_hold():
    rows = [_row("uniform", 0.1, 1.0, 1.0), _row("loss", 0.1, 2.0, 2.0)]
    text = _text(lr_rule_verdict({"margin": rows, "best": rows}))
    assert "the verdict holds under every rule: loss" in text
