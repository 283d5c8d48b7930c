"""Sharded reweighting: one pass of plain and weighted moments against the in-memory analysis,
and the same numbers on every engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from typer.testing import CliRunner

from specurate.cli import app
from specurate.engine import open_engine
from specurate.engine.reweight import sharded_reweight
from specurate.errors import SpecurateInputError
from specurate.spectrum.moments import WeightedMoments, WeightedSums, merge_weighted
from specurate.spectrum.reweight import analyze_reweighting


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_digits().data.astype(np.float64)


def _shards(folder: Path, x: np.ndarray, k: int) -> Path:
    folder.mkdir()
    n = x.shape[0]
    for i in range(k):
        np.save(folder / f"part-{i:03d}.npy", x[i * n // k : (i + 1) * n // k])
    return folder


def test_weighted_moments_merge_to_the_direct_formula() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 4)) + 50.0
    w = rng.uniform(0, 3, 300) * (rng.random(300) < 0.7)
    parts = []
    for a, b in ((0, 90), (90, 91), (91, 300)):
        acc = WeightedSums(4)
        acc.add(x[a:b], w[a:b])
        parts.append(acc.result())
    m = merge_weighted(merge_weighted(parts[0], parts[1]), parts[2])
    mean = w @ x / w.sum()
    ref = ((x - mean) * w[:, None]).T @ (x - mean)
    np.testing.assert_allclose(m.mean, mean, rtol=1e-13)
    np.testing.assert_allclose(m.scatter, ref, rtol=1e-10, atol=1e-10)
    assert (m.kept, m.max_weight) == (int(np.count_nonzero(w)), w.max())
    empty = WeightedMoments(0.0, np.zeros(4), np.zeros((4, 4)), 0, 0.0)
    assert merge_weighted(empty, m).weight == m.weight  # the identity of the merge


@pytest.mark.parametrize("kind", ["random-mask", "upweight-x4"])
def test_sharded_reweight_matches_the_in_memory_analysis(digits: np.ndarray, kind: str) -> None:
    """Same operators (eigenvalues of T and T_w to rounding), same C, kept count and common
    range; b_w − b differs only through the debiasing's fourth moments (Gaussian plug-in here,
    measured ones in memory): 0.005 on digits, a sixth of the CI width — allowed 0.015."""
    rng = np.random.default_rng(0)
    n = digits.shape[0]
    if kind == "random-mask":
        w = (rng.random(n) < 0.6).astype(float)
    else:
        w = np.where(rng.random(n) < 0.25, 4.0, 1.0)
    ref = analyze_reweighting(digits, w, groups=20)
    ours = sharded_reweight(digits, w, groups=20)
    top = 30
    np.testing.assert_allclose(ours.eigenvalues[:top], ref.eigenvalues[:top], rtol=1e-11)
    np.testing.assert_allclose(ours.eigenvalues_w[:top], ref.eigenvalues_w[:top], rtol=1e-11)
    assert ours.C == pytest.approx(ref.C, rel=1e-12)
    assert (ours.n_kept, ours.common_range) == (ref.n_kept, ref.common_range)
    assert ours.loewner_upper_ok and ref.loewner_upper_ok
    assert ours.delta_b == pytest.approx(ref.delta_b, abs=0.015)
    lo, hi = ours.delta_b_ci
    assert lo < ours.delta_b < hi and hi - lo < 0.1


def test_shards_and_array_give_identical_results(digits: np.ndarray, tmp_path: Path) -> None:
    n = digits.shape[0]
    w = np.random.default_rng(1).uniform(0, 2, n)
    folder = tmp_path / "s"
    folder.mkdir()
    for i in range(6):  # the row ranges list_shards cuts the array into (300 rows)
        np.save(folder / f"part-{i}.npy", digits[i * 300 : (i + 1) * 300])
    a = sharded_reweight(folder, w, groups=6)
    b = sharded_reweight(digits, w, groups=6, shard_rows=300)
    assert a.delta_b_ci == pytest.approx(b.delta_b_ci, rel=1e-10)
    np.testing.assert_allclose(a.eigenvalues_w, b.eigenvalues_w, rtol=1e-12, atol=1e-15)


def test_bad_weights_are_named(digits: np.ndarray) -> None:
    w = np.ones(digits.shape[0])
    with pytest.raises(SpecurateInputError, match=r"w\.npy"):
        sharded_reweight(digits, w[:-1], weights_label="w.npy")
    w[3] = -1
    with pytest.raises(SpecurateInputError, match=r"w\.npy"):
        sharded_reweight(digits, w, weights_label="w.npy")


@pytest.mark.integration
def test_cli_reweight_on_a_local_cluster_equals_the_local_engine(
    digits: np.ndarray, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    folder = _shards(tmp_path / "s", digits, 8)
    w = (np.random.default_rng(2).random(digits.shape[0]) < 0.5).astype(float)
    np.save(tmp_path / "w.npy", w)
    args = ["reweight", str(folder), "--weights", str(tmp_path / "w.npy"), "--groups", "8"]
    local = CliRunner().invoke(app, [*args, "--json"])
    dask = CliRunner().invoke(app, [*args, "--engine", "dask", "--workers", "2", "--json"])
    assert local.exit_code == 0 and dask.exit_code == 0, local.output + dask.output
    a, b = json.loads(local.stdout), json.loads(dask.stdout)
    assert b["delta_b"] == pytest.approx(a["delta_b"], rel=1e-10, abs=1e-12)
    assert b["delta_b_ci"] == pytest.approx(a["delta_b_ci"], rel=1e-9)
    with open_engine("local") as eng:
        assert eng.workers == 1
