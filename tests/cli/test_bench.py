"""``specurate bench``: censored seeds in the table, both learning-rate rules, the verdict."""

import json

import pytest
from typer.testing import CliRunner

from specurate.cli import app

runner = CliRunner()
SMALL = ["bench", "--dataset", "mode-local", "--n-train", "1500", "--epochs", "0.5"]
SMALL += ["--seeds", "2", "--strategies", "uniform,balanced", "--lr-grid", "0.05,0.2,0.8"]


@pytest.fixture(autouse=True)
def _torch():
    pytest.importorskip("torch")


def test_both_rules_json_holds_a_summary_per_rule():
    r = runner.invoke(app, [*SMALL, "--lr-rule", "both", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out["lr_rules"]) == {"margin", "best"}
    for rule in ("margin", "best"):
        rows = {x["strategy"]: x for x in out["lr_rules"][rule]["summary"]}
        assert set(rows) == {"uniform", "balanced"}
        assert rows["balanced"]["n_compared"] == 2
        assert 0 <= rows["balanced"]["n_reached"] <= 2
    assert out["summary"] == out["lr_rules"]["margin"]["summary"]


def test_both_rules_table_says_how_the_verdict_moves():
    r = runner.invoke(app, [*SMALL, "--lr-rule", "both"])
    assert r.exit_code == 0, r.output
    assert "best vs best under each learning-rate rule" in r.stdout
    assert "margin rule: uniform at lr" in r.stdout and "best rule: uniform at lr" in r.stdout
    assert "the verdict holds" in r.stdout or "the verdict MOVES" in r.stdout
    assert "(2/2)" in r.stdout or "(1/2)" in r.stdout or "(0/2)" in r.stdout


def test_both_rules_need_tuned_rates():
    r = runner.invoke(app, [*SMALL, "--lr-rule", "both", "--lr", "0.1"])
    assert r.exit_code == 2 and "--lr auto" in r.stderr
