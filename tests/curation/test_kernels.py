"""The O(n + m) kernels of the curation core against their direct definitions."""

from __future__ import annotations

import dataclasses

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


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    m=st.integers(1, 90),
    seed=st.integers(0, 2**31),
)
def test_frontier_group_plan_counts(sizes, m, seed):
    # groups: c_k ∈ {⌊m P_k⌋, ⌈m P_k⌉} draws per group, every member ⌊c_k/n_k⌋ or ⌈c_k/n_k⌉
    from specurate.curation import FrontierSampler

    labels = np.repeat(np.arange(len(sizes)), sizes)
    rng = np.random.default_rng(seed)
    rng.shuffle(labels)
    n = labels.size
    fs = FrontierSampler(soft=True, floor=0.05, balance=True, cap=50.0, epoch_length=m)
    state = fs.init(n, seed=seed % 1000, groups=labels)
    state = fs.update(state, np.arange(n), {"loss": rng.random(n) + 0.01})
    state = fs.update(state, np.arange(n), {"loss": rng.random(n) * 0.1})
    w = fs.example_weights(state, 2)
    p = w / w.sum()
    plan = fs.plan(state, 2)
    counts = np.bincount(plan.indices, minlength=n)
    assert counts.sum() == m
    for k, nk in enumerate(sizes):
        in_k = labels == k
        ck = counts[in_k].sum()
        assert abs(ck - m * p[in_k].sum()) < 1 + 1e-9
        assert set(counts[in_k]) <= {ck // nk, -(-ck // nk)}


def test_frontier_group_plan_is_unbiased_in_expectation():
    # E[count_i] = m p_i: the mean count over many epochs, within 5 standard errors
    from specurate.curation import FrontierSampler

    labels = np.repeat(np.arange(4), [3, 7, 11, 19])
    n, m, epochs = labels.size, 13, 4000
    fs = FrontierSampler(soft=True, floor=0.05, balance=True, cap=50.0, epoch_length=m)
    state = fs.init(n, seed=3, groups=labels)
    state = fs.update(state, np.arange(n), {"loss": np.ones(n)})
    state = fs.update(state, np.arange(n), {"loss": np.exp(-labels / 2.0)})
    w = fs.example_weights(state, 0)
    expect = m * w / w.sum()
    counts = np.zeros((epochs, n))
    for e in range(epochs):  # the cap grows with the epoch: re-key the generator, not the epoch
        st_e = dataclasses.replace(state, seed=e)
        counts[e] = np.bincount(fs.plan(st_e, 0).indices, minlength=n)
    mean, se = counts.mean(axis=0), counts.std(axis=0, ddof=1) / np.sqrt(epochs)
    assert np.all(np.abs(mean - expect) <= 5 * se + 1e-9)
    # every member of a group is drawn: the random offset and stride reach all of them
    assert np.all(counts.sum(axis=0) > 0)
