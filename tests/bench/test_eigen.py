"""The learning frontier measured on eigen-directions of real inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from specurate.bench.eigen import (
    EigenConfig,
    eigen_directions,
    frontier_exponent,
    measured_frontier,
)
from specurate.bench.result import RunResult
from specurate.errors import SpecurateInputError


def test_directions_whiten_the_training_inputs() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 6)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1]) + 7.0
    mean, w, lam = eigen_directions(x, 4)
    z = (x - mean) @ w
    assert np.allclose(z.T @ z / len(x), np.eye(4), atol=1e-10)  # whitened, decorrelated
    ref = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False, bias=True)))[::-1][:4]
    assert np.allclose(lam, ref, rtol=1e-10)
    _, w_all, _ = eigen_directions(np.c_[x, x[:, :1]], 10)  # a duplicated column: rank 6
    assert w_all.shape[1] == 6


def _run(points: list[dict]) -> RunResult:
    return RunResult(
        strategy="uniform",
        seed=0,
        forward_passes=1.0,
        backward_passes=1.0,
        scoring_passes=0.0,
        wall_s=0.0,
        test_loss=1.0,
        test_acc=math.nan,
        curve=tuple(points),
    )


def test_measured_frontier_counts_learned_directions_and_fits_its_growth() -> None:
    # direction k (of 64) decays as exp(-2 t / k^2): learned (e^{-2}) once t ≥ k^2, so
    # k*(t) ≈ √t and ρ ≈ 1/2
    ks = np.arange(1, 65)
    passes = np.geomspace(1, 3000, 40)
    points = [
        {"passes": float(t), "test_loss": 1.0, "direction_energy": list(np.exp(-2 * t / ks**2))}
        for t in passes
    ]
    p, k = measured_frontier(_run(points))
    # the first evaluation is the reference: k* counts decay relative to it
    first = np.exp(-2 * passes[0] / ks**2)
    expect = [int(np.sum(np.exp(-2 * t / ks**2) <= math.exp(-2) * first)) for t in passes]
    assert list(k) == expect
    ok = (k >= 1) & (k < 64)
    slope = np.polyfit(np.log(p[ok]), np.log(k[ok]), 1)[0]  # independent least squares
    assert frontier_exponent(p, k, 64) == pytest.approx(slope, rel=1e-10)
    assert frontier_exponent(p, k, 64) == pytest.approx(0.5, abs=0.1)  # k* = ⌊√(t − 1)⌋
    assert measured_frontier(_run([{"passes": 1.0, "test_loss": 1.0}])) is None
    assert math.isnan(frontier_exponent(p[:2], k[:2], 64))


def test_bound_frontier_on_features_asks_for_signed_residuals() -> None:
    from specurate import curation

    f = curation.FrontierSampler(rank=2)
    assert "residual" not in curation.bind(f, groups=np.zeros(4, int)).needs
    assert "residual" in curation.bind(f, features=np.eye(4)).needs


def test_bad_config_is_named() -> None:
    pytest.importorskip("torch")
    from specurate.bench.tasks import digits

    task = digits(seed=0)
    with pytest.raises(SpecurateInputError, match="uniform"):
        EigenConfig(task=task, strategies=("loss", "uniform"))
    with pytest.raises(SpecurateInputError, match="strateg"):
        EigenConfig(task=task, strategies=("uniform", "nope"))


def test_runs_record_direction_energy_and_the_experiment_reports(tmp_path) -> None:
    pytest.importorskip("torch")
    from specurate.bench.eigen import run_eigen
    from specurate.bench.tasks import digits

    task = digits(seed=0)
    cfg = EigenConfig(
        task=task,
        rank=8,
        strategies=("uniform", "frontier-eigen", "oracle-eigen"),
        budget_passes=2.0,
        seeds=2,
        lr=0.1,
        eval_points=12,
    )
    res = run_eigen(cfg, cache=tmp_path)
    assert {r.strategy for r in res.runs} == set(cfg.strategies)
    for r in res.runs:
        energy = np.array([c["direction_energy"] for c in r.curve])
        assert energy.shape[1] == 8 and np.all(energy >= 0)
        assert energy[-1].sum() < energy[0].sum()  # training removes residual energy
    assert res.spectrum["predicted_rho"] == pytest.approx(1 / res.spectrum["b"])
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["verdict"] and doc["frontier"]["uniform"]["final_k"] >= 0
    assert [r["strategy"] for r in doc["summary"]] == list(cfg.strategies)


@pytest.mark.integration
def test_cli_writes_json_and_plot(tmp_path) -> None:
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from specurate.cli import app

    args = ["experiment", "eigen", "--dataset", "digits", "--epochs", "1", "--seeds", "2"]
    args += ["--rank", "4", "--strategies", "uniform,frontier-eigen", "--out", str(tmp_path)]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (tmp_path / "eigen.png").stat().st_size
    assert json.loads((tmp_path / "eigen.json").read_text())["frontier"] == out["frontier"]


def test_cli_bad_strategies_exit_2(tmp_path) -> None:
    from typer.testing import CliRunner

    from specurate.cli import app

    r = CliRunner().invoke(
        app, ["experiment", "eigen", "--strategies", "loss,uniform", "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 2 and "uniform" in r.output, r.output
    assert not (tmp_path / "o").exists()
