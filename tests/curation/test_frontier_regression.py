"""The frontier sampler's moving-average residuals, reference energies and mode-level cap
(specurate.curation.FrontierSampler; moved here from tests/bench/test_regression.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from specurate.curation import FrontierSampler
from specurate.errors import SpecurateInputError


def test_frontier_moving_average_matches_its_recursion():
    # an EMA over the group's observations one at a time, in stream order, started at the
    # reference energy E(0) (mean of the first `reference` observations): E ← β E + (1 − β) x
    # with β = 1 − 1/min(h, n_k), whatever E(0) turns out to be (it is applied at the end)
    groups = np.repeat(np.arange(3), [100, 10, 1])
    fs = FrontierSampler(horizon=4, reference=3)
    st = fs.init(111, groups=groups)
    rng = np.random.default_rng(0)
    stream: list[list[float]] = [[], [], []]
    for _ in range(20):
        idx = rng.choice(111, 16, replace=False)
        loss = rng.random(16)
        st = fs.update(st, idx, {"loss": loss})
        for i, x in zip(idx, loss, strict=True):
            stream[groups[i]].append(x)
    for k, xs in enumerate(stream):
        if not xs:
            continue
        beta = 1 - 1 / max(min(4, [100, 10, 1][k]), 1 + 1e-12)
        e = float(np.mean(xs[:3]))
        for x in xs:
            e = beta * e + (1 - beta) * x
        assert fs._energy(st)[k] == pytest.approx(e, rel=1e-12, abs=1e-12)
    # no per-example memory in this mode: the state stays O(K)
    assert st.sq is None and st.seen is None


def test_frontier_reference_energy_is_each_groups_first_observations():
    groups = np.repeat(np.arange(2), 10)
    fs = FrontierSampler(kappa=1.0, floor=0.0, cap=10.0, reference=4)
    st = fs.update(fs.init(20, groups=groups), np.arange(10), {"loss": np.full(10, 4.0)})
    assert fs.mode_weights(st, 0).tolist() == [1.0, 1.0]  # group 1 unobserved: u = 1
    st = fs.update(st, np.arange(10, 12), {"loss": np.full(2, 2.0)})
    st = fs.update(st, np.arange(12, 20), {"loss": np.r_[np.full(2, 1.0), np.full(6, 9.0)]})
    assert np.allclose(st.ref_sum / st.ref_count, [4.0, 1.5])  # the first 4 of each group
    st = fs.update(st, np.arange(10), {"loss": np.full(10, 4.0 * math.exp(-2.5))})
    assert fs.mode_weights(st, 1)[0] == 0.0  # group 0 fell by e^-2.5 < e^-2


def test_frontier_horizon_needs_groups():
    with pytest.raises(SpecurateInputError, match="horizon"):
        FrontierSampler(horizon=8).init(4, features=np.ones((4, 2)))
    with pytest.raises(SpecurateInputError, match="horizon"):
        FrontierSampler(horizon=0)


def test_mode_level_cap_equals_example_level_cap():
    from specurate._weights import cap_weights, waterfill

    rng = np.random.default_rng(0)
    groups = rng.integers(0, 12, 500)
    fs = FrontierSampler(soft=True, power=1.0, floor=0.01, cap=2.0, reference=500)
    st = fs.update(fs.init(500, groups=groups), np.arange(500), {"loss": np.ones(500)})
    st = fs.update(st, np.arange(500), {"loss": np.exp(-groups / 2.0)})
    for epoch in (0, 3, 50):
        omega = fs.mode_weights(st, epoch)
        w = omega[np.unique(groups, return_inverse=True)[1]]
        ref = cap_weights(w / w.mean(), 2.0 * (1 + epoch) ** 0.5)
        assert np.allclose(fs.example_weights(st, epoch), ref, rtol=1e-12, atol=1e-15)
    # cap_weights' no-clip fast path is waterfill's answer (θ = 1/mean)
    v = rng.random(300) + 0.5
    with np.errstate(divide="ignore"):
        slow = waterfill(np.log(v), np.full(300, 1 / 300), 10.0, 1.0)
    assert np.allclose(cap_weights(v, 10.0), slow, rtol=1e-12)
