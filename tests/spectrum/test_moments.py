"""Mergeable moments (Chan et al.'s pairwise update) against a single pass and closed forms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specurate.errors import SpecurateInputError
from specurate.spectrum.large import report_from_moments
from specurate.spectrum.moments import (
    Moments,
    grouped_covariance,
    merge_moments,
    split_moments,
    tree_merge,
)
from specurate.spectrum.streaming import streaming_covariance
from specurate.spectrum.target import prepare_targets


def _data(n: int = 600, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -0.8
    y = z @ np.arange(1, d + 1) ** -0.3 + 0.01 * rng.standard_normal(n)  # a regression target
    return z + 1e4, y  # a large mean


def _parts(x: np.ndarray, yy: np.ndarray | None, edges: list[int]) -> list[Moments]:
    return [
        Moments.of_rows(x[a:b], None if yy is None else yy[a:b])
        for a, b in itertools.pairwise(edges)
    ]


def test_tree_merge_equals_numpy_covariance_despite_large_mean() -> None:
    x, _ = _data()
    edges = [0, 37, 200, 201 + 50, 420, 600]
    m = tree_merge(_parts(x, None, edges))
    ref = np.cov(x, rowvar=False, bias=True)
    # each entry is a sum of n products of O(1) centered values: relative error ~ log2(P)·eps
    # of the covariance's scale; the 1e4 mean is removed before any square is formed.
    np.testing.assert_allclose(m.covariance, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    np.testing.assert_allclose(m.mean, x.mean(axis=0), rtol=1e-14)
    assert m.n == 600


def test_merge_is_order_independent_to_rounding() -> None:
    x, y = _data(seed=1)
    yy = prepare_targets(y)
    parts = _parts(x, yy, [0, 100, 250, 400, 600])
    a = tree_merge(parts)
    b = tree_merge(parts[::-1])
    c = merge_moments(merge_moments(merge_moments(parts[0], parts[1]), parts[2]), parts[3])
    for other in (b, c):
        np.testing.assert_allclose(other.scatter, a.scatter, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(other.cross, a.cross, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(other.target_scatter, a.target_scatter, rtol=1e-12)


def test_grouped_covariance_matches_streaming_jackknife_groups() -> None:
    """Partitions on the streaming pass's group bounds floor(g·n/G) reproduce its groups: the
    jackknife replicates and the whole spectrum report agree to rounding."""
    x, y = _data(n=900, d=12, seed=2)
    yy = prepare_targets(y)
    g = 6
    ref = streaming_covariance(x, targets=yy, groups=g)
    assert ref.group_bounds is not None
    merged = grouped_covariance(_parts(x, yy, [int(e) for e in ref.group_bounds]))
    np.testing.assert_array_equal(merged.group_bounds, ref.group_bounds)
    np.testing.assert_allclose(merged.covariance, ref.covariance, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(merged.cross, ref.cross, rtol=1e-10, atol=1e-13)
    for k in range(g):
        np.testing.assert_allclose(
            merged.leave_one_out(k), ref.leave_one_out(k), rtol=1e-10, atol=1e-13
        )
        for u, v in zip(merged.leave_one_out_targets(k), ref.leave_one_out_targets(k), strict=True):
            np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-13)
    r1 = report_from_moments(merged)
    r2 = report_from_moments(ref)
    np.testing.assert_allclose(r1.eigenvalues, r2.eigenvalues, rtol=1e-9, atol=1e-15)
    assert r1.fit.b == pytest.approx(r2.fit.b, rel=1e-9)
    assert r1.b_ci == pytest.approx(r2.b_ci, rel=1e-8)
    assert r1.target is not None and r2.target is not None
    assert r1.target.a == pytest.approx(r2.target.a, rel=1e-8)


@settings(max_examples=30, deadline=None)
@given(
    cuts=st.lists(st.integers(2, 58), min_size=1, max_size=5, unique=True),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
)
def test_any_partition_gives_the_same_covariance(cuts: list[int], seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((60, 4)) * scale
    edges = [0, *sorted(c for c in cuts if 2 <= c <= 58), 60]
    edges = [e for i, e in enumerate(edges) if i == 0 or e - edges[i - 1] >= 2]
    if edges[-1] != 60:
        edges[-1] = 60
    m = tree_merge(_parts(x, None, edges))
    ref = np.cov(x, rowvar=False, bias=True)
    np.testing.assert_allclose(m.covariance, ref, rtol=1e-12, atol=1e-14 * scale**2)


def test_merge_refuses_mismatched_moments() -> None:
    x, y = _data(n=100, d=3)
    a = Moments.of_rows(x[:50])
    with pytest.raises(SpecurateInputError, match="columns"):
        merge_moments(a, Moments.of_rows(x[50:, :2]))
    with pytest.raises(SpecurateInputError, match="targets"):
        merge_moments(a, Moments.of_rows(x[50:], prepare_targets(y[50:])))
    with pytest.raises(SpecurateInputError, match="no partitions"):
        tree_merge([])


def test_split_moments_inverts_grouped_covariance() -> None:
    x, y = _data(n=500, d=5, seed=7)
    yy = prepare_targets(y)
    cov = streaming_covariance(x, targets=yy, groups=4)
    blocks = split_moments(cov)
    assert [b.n for b in blocks] == [125] * 4
    for b, (lo, hi) in zip(blocks, itertools.pairwise(cov.group_bounds), strict=True):
        ref = Moments.of_rows(x[lo:hi], yy[lo:hi])
        np.testing.assert_allclose(b.mean, ref.mean, rtol=1e-13)
        np.testing.assert_allclose(b.scatter, ref.scatter, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(b.cross, ref.cross, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(b.target_scatter, ref.target_scatter, rtol=1e-9)
