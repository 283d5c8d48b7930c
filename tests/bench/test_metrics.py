"""Censored seeds are counted, never dropped: ``n_reached`` of ``n`` and an all-seed bound."""

import math

import numpy as np
import pytest

from specurate.bench.metrics import speedup_vs_uniform, summarize
from specurate.bench.result import RunResult

P = np.geomspace(0.1, 4.0, 15)  # the passes of every evaluation; each run spends 4 passes


def _run(name, seed, scale, floor=0.0, sec_per_pass=1.0):
    """Loss scale·p^-1 + floor at passes p (a floor above the target censors the run)."""
    curve = tuple(
        {
            "passes": float(p),
            "test_loss": float(scale / p + floor),
            "test_acc": 0.5,
            "wall_s": float(sec_per_pass * p),
        }
        for p in P
    )
    last = curve[-1]
    return RunResult(name, seed, 4.0, 4.0, 0.0, sec_per_pass * 4.0, last["test_loss"], 0.5, curve)


@pytest.fixture
def runs():
    # uniform ends at loss 1/4 after 4 passes; "fast" reaches it in 1 pass on seeds 0 and 1;
    # on seed 2 it plateaus at 0.5 and never does (censored after its 4 passes)
    out = [_run("uniform", s, 1.0) for s in (0, 1, 2)]
    out += [_run("fast", 0, 0.25), _run("fast", 1, 0.25), _run("fast", 2, 0.25, floor=0.5)]
    return out


def test_a_censored_seed_is_counted_and_bounds_the_all_seed_speedup(runs):
    sp = speedup_vs_uniform(runs)["fast"]
    assert (sp["n"], sp["n_reached"]) == (3, 2)
    assert sp["mean"] == pytest.approx(4.0, rel=1e-9)  # the two seeds that reach it
    # all three seeds: 4, 4 and at most 4 passes / 4 passes = 1 → geometric mean ≤ 16^(1/3)
    assert sp["bound"] == pytest.approx(16 ** (1 / 3), rel=1e-9)
    assert sp["bound"] < sp["mean"]


def test_without_censoring_the_bound_is_the_estimate(runs):
    sp = speedup_vs_uniform(runs[:5])["fast"]
    assert (sp["n"], sp["n_reached"]) == (2, 2)
    assert sp["bound"] == pytest.approx(sp["mean"], rel=1e-12)


def test_no_strategy_seed_reaches_it(runs):
    never = [_run("slow", s, 1.0, floor=1.0) for s in (0, 1, 2)]
    sp = speedup_vs_uniform([*runs[:3], *never])["slow"]
    assert sp["n_reached"] == 0 and math.isnan(sp["mean"])
    assert sp["bound"] == pytest.approx(1.0, rel=1e-9)  # at most uniform's 4 passes / 4


def test_summary_rows_carry_counts_and_bounds_for_passes_and_wall_clock(runs):
    runs = [
        *runs[:3],
        *(_run(r.strategy, r.seed, 0.25, 0.5 if r.seed == 2 else 0.0, 2.0) for r in runs[3:]),
    ]
    row = {r["strategy"]: r for r in summarize(runs)}["fast"]
    assert (row["n_reached"], row["n_compared"]) == (2, 3)
    assert row["speedup_bound"] == pytest.approx(16 ** (1 / 3), rel=1e-9)
    # twice the seconds per pass: the wall-clock speed-ups are half the pass speed-ups
    assert row["wall_speedup"] == pytest.approx(2.0, rel=1e-9)
    assert row["wall_speedup_bound"] == pytest.approx((2.0 * 2.0 * 0.5) ** (1 / 3), rel=1e-9)


def test_a_diverged_strategy_run_is_censored_at_the_budget_not_at_its_few_passes(runs):
    # it stopped after 0.1 passes (NaN loss): pb / 0.1 = 40 would be no bound at all
    curve = ({**runs[5].curve[0], "passes": 0.1, "test_loss": math.inf},)
    early = RunResult(
        "fast", 2, 0.1, 0.1, 0.0, 0.1, math.inf, math.nan, curve, budget_passes=4.0, diverged=True
    )
    sp = speedup_vs_uniform([*runs[:5], early])["fast"]
    assert sp["n_reached"] == 2
    assert sp["bound"] == pytest.approx(16 ** (1 / 3), rel=1e-9)  # seed 2 at 4 passes / 4


def test_a_strategy_that_misses_the_target_on_a_seed_cannot_lead():
    from specurate.bench.metrics import leader

    rows = [
        {"strategy": "uniform", "speedup": 1.0, "n_reached": 3, "n_compared": 3},
        {"strategy": "lucky", "speedup": 9.0, "n_reached": 1, "n_compared": 3},
        {"strategy": "steady", "speedup": 3.0, "n_reached": 3, "n_compared": 3},
        {"strategy": "oracle", "speedup": 20.0, "n_reached": 3, "n_compared": 3},
    ]
    assert leader(rows)["strategy"] == "steady"
    assert leader(rows[:2]) is None


def test_wall_clock_of_the_baseline_against_itself_is_one_when_its_loss_rises() -> None:
    # test loss falls, then rises (overfitting): the final loss is first reached before the
    # end; wall-clock and pass speed-ups use that same crossing, so uniform vs uniform is 1
    losses = [1.0, 0.5, 0.3, 0.35, 0.4]
    curve = tuple(
        {"passes": p, "test_loss": v, "test_acc": 0.5, "wall_s": 3.0 * p}
        for p, v in zip([0.5, 1.0, 2.0, 3.0, 4.0], losses, strict=True)
    )
    runs = [RunResult("uniform", s, 4.0, 4.0, 0.0, 12.0, 0.4, 0.5, curve) for s in (0, 1)]
    row = summarize(runs)[0]
    assert row["speedup"] == pytest.approx(1.0)
    assert row["wall_speedup"] == pytest.approx(1.0)
