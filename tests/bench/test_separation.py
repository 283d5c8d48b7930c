"""Static vs dynamic separation: real torch training on fresh samples of a mode-local model."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from specurate.bench import separation as sep
from specurate.bench.separation import SeparationConfig, run_separation
from specurate.errors import SpecurateInputError

SMALL = SeparationConfig(
    modes=3000, batch=512, budgets=(10, 30, 100, 300), caps=(4.0, 16.0), seeds=2
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[sep.SeparationResult, Path]:
    cache = tmp_path_factory.mktemp("sep-cache")
    return run_separation(SMALL, cache=cache), cache


@pytest.mark.integration
def test_real_uniform_training_matches_the_closed_form(small) -> None:
    # E[L] is exact for fresh batches; two seeds at B = 512 scatter by a few percent at most
    result, _ = small
    assert result.sgd_check < 0.03


@pytest.mark.integration
def test_bounded_rules_stay_below_their_bound(small) -> None:
    result, _ = small
    c = result.config
    # the discrete-time slack of Theorem 1 at lr = 1 is a few per mille (see the allocation
    # tests); every static rule and the fixed-cap frontier stay within it
    for cap in c.caps:
        for point in result.speedup[f"static C={cap:g}"]:
            assert point["value"] <= cap * 1.01
    for point in result.speedup["frontier-fixed"]:
        assert point["value"] <= c.cap0 * 1.01
    assert result.max_weight["frontier-fixed"] <= c.cap0 * (1 + 1e-9)


@pytest.mark.integration
def test_the_dynamic_rule_outgrows_a_bounded_one(small) -> None:
    result, _ = small
    g = [p["value"] for p in result.speedup["greedy"]]
    assert all(y > x for x, y in itertools.pairwise(g))  # grows with the budget
    assert result.crossings["4"] is not None  # past C = 4: above every static rule ≤ 4
    assert result.growth["greedy"]["value"] > 0.2
    s4 = result.speedup["static C=4"][-1]["value"]
    assert 0.9 * 4 <= s4 <= 4 * 1.01  # at its bound by the last budget: it can grow no more
    assert g[-1] > 1.2 * 4
    # one budget-free rule does as well as the static optimum of each budget
    inf = result.speedup["static C=inf"]
    assert all(
        x["value"] >= 0.9 * y["value"] for x, y in zip(result.speedup["greedy"], inf, strict=True)
    )
    # uniform's exponent is (a - 1)/b, the greedy rule's is steeper
    assert result.exponent["uniform"]["value"] == pytest.approx(
        (c := result.config).a / c.b - 1 / c.b, abs=0.05
    )
    assert result.exponent["greedy"]["value"] > result.exponent["uniform"]["value"] + 0.15


@pytest.mark.integration
def test_verdict_and_json(small) -> None:
    result, _ = small
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["verdict"] == list(result.verdict)
    assert any(v.startswith("Theorem 1: no budget-optimal static rule") for v in result.verdict)
    assert {r["strategy"] for r in doc["runs"]} == set(SMALL.strategies())


@pytest.mark.integration
def test_rerun_resumes_from_the_cache(small, monkeypatch: pytest.MonkeyPatch) -> None:
    result, cache = small
    files = sorted(cache.glob("*.json"))
    assert files
    files[0].write_text('{"strategy": "uni')  # a torn file is redone, not trusted
    calls: list[str] = []
    real = sep._train

    def counting(name, *args, **kwargs):
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(sep, "_train", counting)
    again = run_separation(SMALL, cache=cache)
    assert len(calls) == 1  # only the torn run
    # other settings never reuse the cached runs: every one is trained again
    other = dataclasses.replace(SMALL, lr=SMALL.lr * 0.5)
    run_separation(other, cache=cache)
    assert len(calls) > 1 + len(files) // 2
    for name, points in result.speedup.items():
        assert np.allclose(
            [p["value"] for p in points], [p["value"] for p in again.speedup[name]], rtol=1e-12
        )


def test_one_training_run_follows_the_closed_form() -> None:
    # fast unit check of the training loop itself: real torch SGD on fresh batches vs the exact
    # expectation E[L(S)] = Σ e_k d_k^S; one seed at B = 2048 over 50 modes scatters by ≈ 0.5 %
    # (sd over 10 seeds), so the mean of 3 is held to 2 % (≈ 7 sd)
    from specurate.dynamics.allocation import expected_loss

    cfg = SeparationConfig(modes=50, batch=2048, budgets=(3, 30), caps=(4.0,), seeds=1)
    p, _, e = cfg.problem()
    real = np.mean([sep._train("uniform", cfg, s, 30, None)["loss"][-1] for s in range(3)])
    exact = expected_loss(e, p, [30], lr=cfg.lr, batch=cfg.batch)[0]
    assert real == pytest.approx(exact, rel=0.02)
    # the static rule at C = 4 uses its budget-optimal allocation: faster than uniform
    fast = sep._train("static C=4", cfg, 0, 30, None)["loss"][-1]
    assert fast < 0.5 * exact


def test_same_seed_same_numbers() -> None:
    cfg = SeparationConfig(modes=500, batch=64, budgets=(5, 50), caps=(4.0,), seeds=1)
    one = sep._train("greedy", cfg, 0, 50, None)
    two = sep._train("greedy", cfg, 0, 50, None)
    assert one["loss"] == two["loss"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budgets": (10,)}, "at least two"),
        ({"budgets": (100, 50)}, "increase"),
        ({"budgets": (10, 50)}, "decade"),
        ({"lr": 0.0}, "lr"),
        ({"b": 1.0}, "b"),
        ({"caps": (0.5,)}, "caps"),
        ({"modes": 1}, "modes"),
    ],
)
def test_bad_settings_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(SpecurateInputError, match=match):
        SeparationConfig(**kwargs)


@pytest.mark.integration
def test_cli_writes_json_plot_and_resumes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from specurate.cli import app

    args = ["experiment", "separation", "--modes", "300", "--batch", "64", "--budgets", "3,30"]
    args += ["--caps", "4", "--seeds", "2", "--out", str(tmp_path), "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (tmp_path / "separation.png").stat().st_size
    written = json.loads((tmp_path / "separation.json").read_text())
    assert written == {k: v for k, v in out.items() if k not in ("json", "plot")}
    assert len(list((tmp_path / "separation-cache").glob("*.json"))) >= 2 * 7
    again = CliRunner().invoke(app, args)  # every run from the cache: the same document
    assert json.loads(again.stdout)["speedup"] == out["speedup"]


@pytest.mark.parametrize(
    ("flag", "value"), [("--budgets", "30,3"), ("--budgets", "3,3.5,40"), ("--lr", "-1")]
)
def test_cli_bad_input_exits_2_before_work(tmp_path: Path, flag: str, value: str) -> None:
    from typer.testing import CliRunner

    from specurate.cli import app

    r = CliRunner().invoke(
        app, ["experiment", "separation", flag, value, "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 2, r.output
    assert flag.lstrip("-") in r.output
    assert not (tmp_path / "o").exists()


def test_a_diverging_run_is_recorded_not_dropped() -> None:
    # a one-hot MLP at rate 1 blows up when a plan puts the batch on a few modes: the run ends
    # with an infinite loss for every later mark, and the analysis counts it as diverged
    cfg = SeparationConfig(
        modes=200, batch=64, budgets=(3, 30), caps=(4.0,), seeds=1, model="mlp", lr=1.0
    )
    run = sep._train("uniform", cfg, 0, 30, None)
    assert len(run["steps"]) == len(run["loss"]) == len(run["wall"])
    fake = {**run, "strategy": "greedy", "loss": [*run["loss"][:-1], float("inf")]}
    fake["diverged"] = True
    res = sep.analyse(cfg, [run, fake])
    assert res.speedup["greedy"][-1]["diverged"] == 1
    assert res.speedup["greedy"][0]["diverged"] == 0
    # the JSON (inf → null) still renders: tables and figure
    from specurate.report.experiments import render_separation, separation_figure

    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["runs"][1]["loss"][-1] is None
    assert "diverged" in str(render_separation(doc)[0].columns[-1]._cells[1])
    separation_figure(doc)


def test_mlp_speedups_are_against_the_real_uniform_runs() -> None:
    cfg = SeparationConfig(
        modes=300, batch=128, budgets=(3, 30), caps=(4.0,), seeds=1, model="mlp", lr=0.1
    )
    uni = sep._train("uniform", cfg, 0, 30, None)
    res = sep.analyse(cfg, [uni])
    # uniform against itself: 1 where its curve is at its running minimum, ≤ 1 where an
    # earlier step already reached that loss (SGD's curve is not monotone)
    values = [p["value"] for p in res.speedup["uniform"]]
    low = np.minimum.accumulate(uni["loss"])
    for b, v in zip(cfg.budgets, values, strict=True):
        j = uni["steps"].index(b)
        assert v <= 1 + 1e-12
        assert (v == pytest.approx(1.0)) == (uni["loss"][j] <= low[j - 1] if j else True)
    assert np.isnan(res.sgd_check)  # no closed form for the MLP


def test_a_slope_needs_two_points_not_three() -> None:
    # the last decade of the half-decade grid 100 … 31,623 holds 10,000 and 31,623 only: its
    # growth and late exponent are two-point slopes (BENCHMARKS' numbers rest on them)
    assert sep._slope([10_000, 31_623], [2.0, 2.0 * 31_623 / 10_000]) == pytest.approx(-1.0)
    assert np.isnan(sep._slope([10_000], [2.0]))
    assert np.isnan(sep._slope([10, 100], [1.0, float("inf")]))  # a diverged point is dropped
