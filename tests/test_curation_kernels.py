"""The O(n + m) kernels of the curation core against their direct definitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from specurate.curation.base import draw_plan, last_occurrence


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    m=st.integers(1, 200),
    seed=st.integers(0, 2**32 - 1),
    zeros=st.floats(0.0, 0.9),
)
def test_draw_plan_counts_are_the_systematic_search(n, m, seed, zeros):
    # the counting form equals placing the m points (u + j)Δ and searching the cumulative sum
    rng = np.random.default_rng(seed)
    w = rng.random(n) * (rng.random(n) >= zeros)
    if not w.sum() > 0:
        w[0] = 1.0
    plan = draw_plan(w, m, np.random.default_rng([seed, 1]))
    g = np.random.default_rng([seed, 1])
    cdf = np.cumsum(w)
    points = (g.random() + np.arange(m)) * (cdf[-1] / m)
    ref = np.minimum(np.searchsorted(cdf, points, side="right"), n - 1)
    assert np.array_equal(np.bincount(plan.indices, minlength=n), np.bincount(ref, minlength=n))
    assert np.array_equal(plan.indices, ref[g.permutation(m)])
    assert np.all(w[plan.indices] > 0)  # a zero weight is never drawn
    expect = m * w / w.sum()
    assert np.all(np.abs(np.bincount(plan.indices, minlength=n) - expect) < 1 + 1e-9)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=0, max_size=120))
def test_last_occurrence_both_paths_match_a_loop(values):
    idx = np.asarray(values, dtype=np.int64)
    ref: dict[int, int] = {}
    for j, v in enumerate(values):
        ref[v] = j
    expect = np.array([ref[v] for v in sorted(ref)], dtype=np.int64)
    assert np.array_equal(last_occurrence(idx), expect)  # sort path
    assert np.array_equal(last_occurrence(idx, 31), expect)  # scatter path (16 m ≥ n)
