"""The comparison loop: learning-rate rules (margin vs best), best-vs-best from one tuning pass,
and runs shared between rules."""

import importlib
import math

import pytest

from specurate.bench.train import choose_rate

INF = math.inf


@pytest.mark.parametrize(
    "losses, margin, best",
    [
        # 0.4 diverges: the margin rule refuses 0.2 (its double does not train), best takes it
        ({0.05: 0.30, 0.1: 0.20, 0.2: 0.10, 0.4: INF}, 0.1, 0.2),
        # every rate trains: the largest never wins under the margin rule
        ({0.1: 0.30, 0.2: 0.20, 0.4: 0.10}, 0.2, 0.4),
        # only the smallest trains: both fall back to it
        ({0.1: 0.5, 0.2: INF, 0.4: INF}, 0.1, 0.1),
        # nothing trains: the smallest rate
        ({0.1: INF, 0.2: INF}, 0.1, 0.1),
        # ties go to the smaller rate
        ({0.1: 0.2, 0.2: 0.2, 0.4: 0.3}, 0.1, 0.1),
    ],
)
def test_choose_rate_rules(losses, margin, best):
    assert choose_rate(losses, "margin") == margin
    assert choose_rate(losses, "best") == best


def test_unknown_rule_is_refused():
    from specurate.errors import SpecurateInputError

    with pytest.raises(SpecurateInputError, match="lr_rule"):
        choose_rate({0.1: 1.0}, "greedy")  # type: ignore[arg-type]


@pytest.fixture
def tiny():
    pytest.importorskip("torch")
    from specurate.bench import TASKS

    kw = {"n_train": 1500, "n_modes": 8, "dim": 8, "n_test": 400, "noise": 0.0}
    return lambda s: TASKS["mode-local"](seed=s, **kw)


def test_both_rules_come_from_one_tuning_pass_and_share_identical_runs(tiny, monkeypatch):
    from specurate.bench.compare import compare_lr_rules, compare_strategies

    train_module = importlib.import_module("specurate.bench.train")
    calls = []
    real = train_module.train

    def counting(*a, **kw):
        calls.append("tune" if not kw.get("label") else kw["label"])
        return real(*a, **kw)

    monkeypatch.setattr(train_module, "train", counting)
    grid = (0.05, 0.1, 0.2, 0.4, 0.8)
    names = ("uniform", "balanced")
    out = compare_lr_rules(tiny(0), names, budget_passes=0.5, seeds=2, lr_grid=grid, make_task=tiny)
    assert set(out) == {"margin", "best"}
    # one tuning pass: grid × 2 tuning seeds per strategy, whatever the number of rules
    assert calls.count("tune") == len(grid) * 2 * len(names)
    trained = [c for c in calls if c != "tune"]
    for rule, runs in out.items():
        assert [(r.strategy, r.seed) for r in runs] == [(n, s) for s in (0, 1) for n in names], rule
    margin = {(r.strategy, r.seed): r for r in out["margin"]}
    same = [r for r in out["best"] if r.lr == margin[(r.strategy, r.seed)].lr]
    # a (strategy, rate) the rules share is trained once and is the same object
    assert all(r is margin[(r.strategy, r.seed)] for r in same)
    assert len(trained) == 4 + (4 - len(same))
    # and each rule's runs equal what compare_strategies gives under that rule alone
    alone = compare_strategies(
        tiny(0),
        names,
        budget_passes=0.5,
        seeds=2,
        lr_grid=grid,
        lr_rule="best",
        make_task=tiny,
    )
    assert [(r.strategy, r.lr, r.test_loss) for r in alone] == [
        (r.strategy, r.lr, r.test_loss) for r in out["best"]
    ]
