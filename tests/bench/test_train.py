"""specurate.bench: tasks, training with compute accounting, metrics, parquet."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest

from specurate.bench import (
    RunResult,
    clusters,
    digits,
    mnist1d,
    passes_to_target,
    runs_from_parquet,
    runs_to_parquet,
    speedup_vs_uniform,
    summarize,
)
from specurate.errors import SpecurateInputError


def _curve(passes, losses):
    return tuple(
        {"passes": float(p), "test_loss": float(v), "test_acc": 0.5, "wall_s": 0.0}
        for p, v in zip(passes, losses, strict=True)
    )


def _run(strategy, seed, passes, losses):
    c = _curve(passes, losses)
    return RunResult(strategy, seed, passes[-1], passes[-1], 0.0, 1.0, losses[-1], 0.5, c)


# ---------------------------------------------------------------------------- import
def test_import_without_torch():
    code = "import sys, specurate.bench; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- tasks
def test_clusters_deterministic_and_power_law():
    a = clusters(n_train=3000, n_clusters=20, dim=8, seed=3, n_test=3000)
    b = clusters(n_train=3000, n_clusters=20, dim=8, seed=3, n_test=3000)
    c = clusters(n_train=3000, n_clusters=20, dim=8, seed=4, n_test=3000)
    for k in ("x_train", "y_train", "x_test", "y_test", "groups"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.groups.shape == (3000,) and a.x_train.dtype == np.float32
    freq = np.bincount(a.groups, minlength=20) / 3000
    p = np.arange(1, 21) ** -1.5
    np.testing.assert_allclose(freq, p / p.sum(), atol=0.03)
    assert set(np.unique(a.y_train)) <= set(range(a.n_classes))
    with pytest.raises(SpecurateInputError):
        clusters(n_train=0)


@pytest.mark.integration  # 3 s: draws the 260,000-example long-tailed task
def test_mnist1d_long_tail_changes_train_only():
    kw = dict(n_train=2000, n_test=500, seed=1)
    st = np.random.get_state()  # noqa: NPY002
    bal = mnist1d(**kw)
    np.testing.assert_array_equal(np.random.get_state()[1], st[1])  # noqa: NPY002
    tail = mnist1d(long_tail=1.5, **kw)
    again = mnist1d(long_tail=1.5, **kw)
    np.testing.assert_array_equal(tail.x_train, again.x_train)
    assert bal.n_train == tail.n_train == 2000
    assert np.all(np.bincount(bal.y_train, minlength=10) == 200)
    counts = np.sort(np.bincount(tail.y_train, minlength=10))[::-1]
    p = np.arange(1, 11) ** -1.5
    np.testing.assert_allclose(counts, 2000 * p / p.sum(), atol=1)
    for t in (bal, tail):  # balanced test set, same for both
        assert np.all(np.bincount(t.y_test, minlength=10) == 50)
    np.testing.assert_array_equal(np.sort(bal.y_test), np.sort(tail.y_test))
    assert bal.x_train.shape[1] == 40


def test_digits_split():
    t = digits(seed=0)
    assert t.n_train + len(t.y_test) == 1797
    assert abs(len(t.y_test) - 500) <= 10
    np.testing.assert_array_equal(t.x_test, digits(seed=0).x_test)
    assert t.x_train.max() <= 1.0


# ---------------------------------------------------------------------------- metrics
def test_passes_to_target_power_law_exact():
    p = np.geomspace(0.1, 10, 9)
    loss = 2.0 * p**-0.5
    target = 2.0 * 3.7**-0.5  # between grid points
    assert passes_to_target(_curve(p, loss), target) == pytest.approx(3.7, rel=1e-12)
    assert passes_to_target(_curve(p, loss), 100.0) == pytest.approx(0.1)  # already there
    assert passes_to_target(_curve(p, loss), 0.1) is None  # never
    # first crossing wins even if the curve goes back up
    assert passes_to_target(_curve([1, 2, 4], [1.0, 0.2, 0.8]), 0.5) is not None


def test_speedup_ci_and_summary():
    p = np.geomspace(0.05, 8, 20)
    runs = []
    for seed, c in enumerate([2.0, 2.5, 3.0]):
        runs.append(_run("uniform", seed, p, p**-0.5))
        runs.append(_run("fast", seed, p, (c * p) ** -0.5))  # c× fewer passes to any loss
        runs.append(_run("never", seed, p, 5 + 0 * p))
    sp = speedup_vs_uniform(runs)
    assert sp["uniform"]["mean"] == pytest.approx(1.0)
    assert sp["fast"]["values"] == pytest.approx([2.0, 2.5, 3.0], rel=1e-9)
    gm = math.exp(np.mean(np.log([2.0, 2.5, 3.0])))
    assert sp["fast"]["mean"] == pytest.approx(gm)
    assert sp["fast"]["lo"] < gm < sp["fast"]["hi"]
    assert sp["never"]["n_reached"] == 0 and math.isnan(sp["never"]["mean"])
    rows = {r["strategy"]: r for r in summarize(runs)}
    assert next(iter(rows)) == "uniform"
    assert rows["fast"]["loss_exponent"] == pytest.approx(0.5)
    assert rows["fast"]["test_loss"] < rows["uniform"]["test_loss"]
    assert rows["never"]["passes_to_target"] is None
    with pytest.raises(SpecurateInputError):
        speedup_vs_uniform([r for r in runs if r.strategy != "uniform"])


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    p = np.geomspace(0.1, 4, 7)
    runs = [_run("uniform", 0, p, p**-0.3), _run("fast", 1, p[:5], p[:5] ** -0.4)]
    runs = [dataclasses.replace(r, lr=0.05, diverged=i == 1) for i, r in enumerate(runs)]
    path = tmp_path / "runs.parquet"
    runs_to_parquet(runs, path)
    import pyarrow.parquet as pq

    assert pq.read_table(path).num_rows == 12
    assert runs_from_parquet(path) == runs


# ---------------------------------------------------------------------------- training
@pytest.mark.torch
def test_training_deterministic_accounted_and_learns():
    torch = pytest.importorskip("torch")
    from specurate.bench import train
    from specurate.curation import FrontierSampler, Uniform, bind

    task = clusters(n_train=2000, n_clusters=20, dim=8, seed=0, n_test=1000)
    before = torch.random.get_rng_state().clone()
    r1 = train(task, Uniform(), seed=0, budget_passes=2.0, batch_size=64, lr=0.05)
    assert torch.equal(torch.random.get_rng_state(), before)  # global RNG untouched
    r2 = train(task, Uniform(), seed=0, budget_passes=2.0, batch_size=64, lr=0.05)
    r3 = train(task, Uniform(), seed=1, budget_passes=2.0, batch_size=64, lr=0.05)
    strip = lambda r: [(c["passes"], c["test_loss"], c["test_acc"]) for c in r.curve]  # noqa: E731
    assert strip(r1) == strip(r2) and r1.test_loss == r2.test_loss
    assert strip(r1) != strip(r3)
    assert r1.backward_passes == pytest.approx(2.0, abs=1 / 2000)
    assert r1.forward_passes == r1.backward_passes and r1.scoring_passes == 0.0
    ps = [c["passes"] for c in r1.curve]
    assert ps == sorted(ps) and ps[-1] == pytest.approx(2.0, abs=1e-3) and len(ps) >= 10
    assert r1.curve[-1]["test_loss"] < 0.8 * r1.curve[0]["test_loss"]
    assert r1.test_acc > 0.5
    # a non-integer budget is met exactly too (truncated last batch), with the frontier sampler
    r4 = train(
        task,
        bind(FrontierSampler(), groups=task.groups),
        seed=0,
        budget_passes=0.7,
        batch_size=64,
        eval_points=5,
        label="frontier-hard",
    )
    assert r4.strategy == "frontier-hard"
    assert r4.backward_passes == pytest.approx(0.7, abs=1 / 2000)


@pytest.mark.torch
def test_training_digits_and_cnn_model():
    torch = pytest.importorskip("torch")
    from specurate.bench import train
    from specurate.curation import LossProportional

    r = train(
        digits(seed=0),
        LossProportional(cap=5.0),
        seed=0,
        budget_passes=1.0,
        batch_size=32,
        lr=0.05,
        eval_points=6,
    )
    assert r.curve[-1]["test_loss"] < r.curve[0]["test_loss"]
    t = mnist1d(n_train=500, n_test=200, seed=0, model="cnn")
    out = t.make_model(0)(torch.tensor(t.x_train[:4]))
    assert out.shape == (4, 10)
    w0 = [p.detach().clone() for p in t.make_model(0).parameters()]
    w1 = [p.detach().clone() for p in t.make_model(0).parameters()]
    assert all(torch.equal(a, b) for a, b in zip(w0, w1, strict=True))


def test_train_rejects_bad_budget():
    pytest.importorskip("torch")
    from specurate.bench import train
    from specurate.curation import Uniform

    with pytest.raises(SpecurateInputError):
        train(digits(seed=0), Uniform(), seed=0, budget_passes=0.0)


@pytest.mark.torch
def test_cli_bench_json_keys(tmp_path):
    import json

    from typer.testing import CliRunner

    from specurate.cli import app

    res = CliRunner().invoke(
        app,
        [
            "bench",
            "--dataset",
            "digits",
            "--strategies",
            "loss",
            "--epochs",
            "0.5",
            "--seeds",
            "1",
            "--out",
            str(tmp_path / "runs.parquet"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    run = out["runs"][0]
    for key in (
        "strategy",
        "seed",
        "forward_passes",
        "backward_passes",
        "wall_s",
        "test_loss",
        "test_acc",
        "curve",
    ):
        assert key in run
    assert {r["strategy"] for r in out["runs"]} == {"uniform", "loss"}  # uniform always runs
    assert (tmp_path / "runs.parquet").stat().st_size > 0
    bad = CliRunner().invoke(app, ["bench", "--strategies", "magic", "--epochs", "0.1"])
    assert bad.exit_code == 2 and "unknown strategies 'magic'" in bad.output


def test_wall_speedup_and_geometric_loss_ci():
    from specurate.bench.metrics import geo_ci, wall_at

    p = np.geomspace(0.1, 10, 12)

    def run(name, seed, scale, sec_per_pass):
        c = tuple(
            {
                "passes": float(x),
                "test_loss": float(scale * x**-1.0),
                "test_acc": 0.5,
                "wall_s": float(sec_per_pass * x),
            }
            for x in p
        )
        return RunResult(name, seed, 10.0, 10.0, 0.0, sec_per_pass * 10, c[-1]["test_loss"], 0.5, c)

    runs = [run("uniform", s, 1.0, 2.0) for s in (0, 1)]
    runs += [run("fast", s, 0.25, 3.0) for s in (0, 1)]  # 4× fewer passes, 1.5× the cost/pass
    rows = {r["strategy"]: r for r in summarize(runs)}
    assert rows["fast"]["speedup"] == pytest.approx(4.0, rel=1e-9)
    assert rows["fast"]["wall_speedup"] == pytest.approx(4.0 / 1.5, rel=1e-9)
    assert rows["fast"]["wall_ratio"] == pytest.approx(1.5)
    assert wall_at(runs[2].curve, 2.5) == pytest.approx(7.5)
    m, lo, hi = geo_ci([1e-8, 1e-6, 1e-7])
    assert m == pytest.approx(1e-7) and 0 < lo < m < hi  # on logs: never a negative bound


def test_mnist5k_task_split():
    from specurate.bench import TASKS

    t = TASKS["mnist5k"](seed=0)
    assert (t.n_train, len(t.y_test)) == (4000, 1000)
    assert t.x_train.shape[1] == 784 and 0.0 <= t.x_train.min() and t.x_train.max() <= 1.0
    # stratified: every class keeps its share of the test set to within rounding
    full = np.bincount(np.concatenate([t.y_train, t.y_test]), minlength=10)
    assert np.all(np.abs(np.bincount(t.y_test, minlength=10) - full / 5) <= 1)
    assert np.array_equal(t.y_test, TASKS["mnist5k"](seed=0).y_test)


def test_parquet_keeps_mode_losses_and_tracked_share(tmp_path):
    pytest.importorskip("pyarrow")
    c = tuple(
        {
            "passes": p,
            "test_loss": 1 / p,
            "test_acc": 0.5,
            "wall_s": p,
            "mode_loss": [p, 2 * p],
            "tracked_share": 0.25,
        }
        for p in (0.5, 1.0)
    )
    r = RunResult("uniform", 0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.5, c)
    runs_to_parquet([r], tmp_path / "r.parquet")
    (back,) = runs_from_parquet(tmp_path / "r.parquet")
    assert back.curve == r.curve


def test_a_diverged_baseline_seed_is_left_out_of_the_speedups():
    p = np.geomspace(0.1, 4, 7)
    ok = _run("uniform", 0, p, p**-0.5)
    bad = dataclasses.replace(_run("uniform", 1, p, p**-0.5), test_loss=math.inf, diverged=True)
    fast = [_run("fast", s, p, 0.5 * p**-0.5) for s in (0, 1)]
    sp = speedup_vs_uniform([ok, bad, *fast])["fast"]
    assert sp["n"] == 2 and sp["n_reached"] == 1 and sp["mean"] == pytest.approx(4.0)
