"""The frontier sampler: mode estimation (independent computations), weights, and acceleration
on mode-local data. (Its contract, every configuration: test_curation_all.py.)"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specurate.curation.base import Uniform
from specurate.curation.frontier import FrontierSampler
from specurate.errors import SpecurateInputError

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def _cluster_sgd(strategy, *, n=20_000, k=200, epochs=30, lr=0.5, bs=50, seed=0):
    """SGD on mode-local data: cluster k has frequency p_k ∝ k^-1.5, x = e_k, and
    p_k w_k² = k^-2; returns the population loss Σ p_k (θ_k − w_k)² after each epoch.

    ``strategy(c)`` returns (strategy, init data). A plan's residuals are folded with ONE
    update per epoch (as the torch sampler does): updates are split-invariant, so the state is
    the one per-batch updates give, and the plan only reads it at the next epoch.
    """
    rng = np.random.default_rng(seed)
    kk = np.arange(1, k + 1)
    p = kk**-1.5 / np.sum(kk**-1.5)
    c = rng.choice(k, size=n, p=p)
    w_star = np.sqrt(kk**-2.0 / p)
    y = w_star[c]
    theta = np.zeros(k)
    strat, data = strategy(c)
    st = strat.init(n, seed=seed, **data)
    out = []
    for e in range(epochs):
        plan = strat.plan(st, e)
        res = np.empty(len(plan))
        for s in range(0, len(plan), bs):
            idx, mult = plan.indices[s : s + bs], plan.loss_scale[s : s + bs]
            r = theta[c[idx]] - y[idx]
            g = np.zeros(k)
            np.add.at(g, c[idx], mult * r)
            theta -= lr * g / idx.size
            res[s : s + bs] = r
        st = strat.update(st, plan.indices, {"residual": res})
        out.append(float(np.sum(p * (theta - w_star) ** 2)))
    return np.array(out)


def test_frontier_accelerates_mode_local_training():
    # deterministic run (seeded): uniform SGD's loss after 30 epochs is reached by the soft
    # frontier sampler in 9 epochs (floor 0.05) and by the hard one in 8 (measured before 0.2,
    # when E_k(0) was the first epoch's energy; now the mean of each group's first 16
    # observations); assert ≤ half (the README quotes the epochs printed here: pytest -s)
    base = _cluster_sgd(lambda c: (Uniform(), {}))
    runs = {
        "soft": _cluster_sgd(lambda c: (FrontierSampler(soft=True), {"groups": c})),
        "hard": _cluster_sgd(lambda c: (FrontierSampler(), {"groups": c})),
        "fixed bound": _cluster_sgd(lambda c: (FrontierSampler(cap_growth=0.0), {"groups": c})),
    }
    first = {k: int(np.nonzero(r <= base[-1])[0][0]) + 1 for k, r in runs.items()}
    print(f"epochs to uniform's 30-epoch loss: {first}")
    assert first["soft"] <= 15 and first["hard"] <= 15


def test_groups_accept_losses_instead_of_residuals():
    groups = np.repeat(np.arange(2), 10)
    fs = FrontierSampler(floor=0.0, cap=10.0)
    st = fs.update(fs.init(20, groups=groups), np.arange(20), {"loss": np.ones(20)})
    st = fs.update(st, np.arange(20), {"loss": np.where(groups == 0, 1e-4, 1.0)})
    assert fs.mode_weights(st, 1).tolist() == [0.0, 1.0]
    # residual r and loss r² give the same state
    r = np.linspace(0.1, 1.0, 20)
    a = fs.update(fs.init(20, groups=groups), np.arange(20), {"residual": r})
    b = fs.update(fs.init(20, groups=groups), np.arange(20), {"loss": r**2})
    np.testing.assert_allclose(a.sq, b.sq, rtol=1e-12)
    np.testing.assert_allclose(a.ref_sum, b.ref_sum, rtol=1e-12)


def test_learned_groups_are_suppressed():
    groups = np.repeat(np.arange(4), 25)
    fs = FrontierSampler(kappa=1.0, floor=0.0, cap=100.0, cap_growth=0.0)
    st = fs.init(100, groups=groups)
    assert fs.mode_weights(st, 0).tolist() == [1.0] * 4  # nothing observed: all unlearned
    st = fs.update(st, np.arange(100), {"residual": np.ones(100)})  # reference energy
    # groups 0 and 1 learned (residual energy down by e^-4 < e^-2κ), groups 2, 3 not
    r = np.where(groups < 2, 0.01, 0.9)
    st = fs.update(st, np.arange(100), {"residual": r})
    assert fs.mode_weights(st, 1).tolist() == [0.0, 0.0, 1.0, 1.0]
    w = fs.example_weights(st, 1)
    assert np.allclose(w[groups < 2], 0.0) and np.allclose(w[groups >= 2], 2.0)


def test_soft_and_balanced_mode_weights_closed_form():
    groups = np.r_[np.zeros(60, int), np.ones(30, int), np.full(10, 2)]
    energy = np.array([0.04, 0.25, 1.0])  # u_k² after a reference of 1
    first = {"residual": np.ones(100)}
    later = {"residual": np.sqrt(energy[groups])}
    soft = FrontierSampler(soft=True, power=2.0, floor=0.1, cap=100.0, cap_growth=0.0)
    st = soft.update(soft.init(100, groups=groups), np.arange(100), first)
    st = soft.update(st, np.arange(100), later)
    omega = np.maximum(energy ** (2.0 / 2), 0.1)  # ω_k = max(u_k^q, floor)
    np.testing.assert_allclose(soft.mode_weights(st, 0), omega, rtol=1e-12)
    p = np.bincount(groups) / 100
    np.testing.assert_allclose(soft.example_weights(st, 0), (omega / (p @ omega))[groups])
    # balance: ω_k / p_k, so each mode's TOTAL weight p_k w_k is ∝ ω_k
    bal = FrontierSampler(soft=True, floor=0.1, balance=True, cap=100.0, cap_growth=0.0)
    sb = bal.update(
        bal.update(bal.init(100, groups=groups), np.arange(100), first), np.arange(100), later
    )
    wb = bal.example_weights(sb, 0)
    totals = np.bincount(groups, weights=wb) / 100
    np.testing.assert_allclose(totals / totals.sum(), omega / omega.sum(), rtol=1e-12)
    assert wb.mean() == pytest.approx(1.0)


def test_cap_grows_with_epochs():
    groups = np.repeat(np.arange(10), 10)
    fs = FrontierSampler(floor=0.0, cap=2.0, cap_growth=1.0)
    st = fs.update(fs.init(100, groups=groups), np.arange(100), {"residual": np.ones(100)})
    st = fs.update(st, np.arange(100), {"residual": np.where(groups < 9, 1e-3, 1.0)})
    # one unlearned group of 10% of the data would need weight 10: C(e) = 2 (1 + e) binds
    assert fs.example_weights(st, 0).max() == pytest.approx(2.0)
    assert fs.example_weights(st, 3).max() == pytest.approx(8.0)
    assert fs.example_weights(st, 20).max() == pytest.approx(10.0)
    # mean 1 once the bound can hold it (C·10 ≥ 100); below, the draw renormalizes w / Σw
    assert fs.example_weights(st, 20).mean() == pytest.approx(1.0)
    assert fs.example_weights(st, 0).mean() == pytest.approx(0.2)


def test_importance_correction_scales_by_inverse_weights():
    groups = np.repeat(np.arange(4), 10)
    fs = FrontierSampler(soft=True, correction="importance")
    st = fs.update(fs.init(40, groups=groups), np.arange(40), {"residual": np.ones(40)})
    st = fs.update(st, np.arange(40), {"residual": np.repeat([0.1, 0.5, 1.0, 1.0], 10)})
    w = fs.example_weights(st, 2)
    p = fs.plan(st, 2)
    np.testing.assert_allclose(p.loss_scale, 1.0 / w[p.indices], rtol=1e-12)
    np.testing.assert_allclose(fs.expected_weights(st), 1 / 40)
    assert FrontierSampler().expected_weights(st) is None


# ----------------------------------------------------------------------------- fold semantics
def _reference_energies(labels, k, idx, x, reference, horizon):
    """E_k(0) (mean of the first `reference` observations of group k) and E_k (per-example
    last value averaged over seen examples, or the per-observation EMA with
    β = 1 − 1/min(horizon, n_k) started at E_k(0)), by a plain loop over the stream."""
    counts = np.bincount(labels, minlength=k)
    ref = [[] for _ in range(k)]
    ema_s, ema_c = np.zeros(k), np.zeros(k)
    last = {}
    for i, v in zip(idx, x, strict=True):
        g = labels[i]
        if len(ref[g]) < reference:
            ref[g].append(v)
        if horizon is not None:
            beta = 1.0 - 1.0 / max(min(horizon, counts[g]), 1.0 + 1e-12)
            ema_s[g], ema_c[g] = beta * ema_s[g] + v, ema_c[g] + 1.0
        last[i] = v
    e0 = np.array([np.mean(r) if r else np.nan for r in ref])
    if horizon is not None:
        # E = β^C E(0) + (1 − β) Σ β^a x: the recursion E ← β E + (1 − β) x from E(0)
        beta = 1.0 - 1.0 / np.maximum(np.minimum(horizon, counts), 1.0 + 1e-12)
        start = np.nan_to_num(e0)
        return e0, start * beta**ema_c + (1.0 - beta) * ema_s
    e = np.zeros(k)
    for g in range(k):
        vals = [v for i, v in last.items() if labels[i] == g]
        e[g] = np.mean(vals) if vals else 0.0
    return e0, e


@pytest.mark.parametrize("horizon", [None, 1, 4])
@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 14), st.floats(0.0, 4.0)), min_size=1, max_size=60),
    cuts=st.lists(st.integers(1, 59), max_size=3),
    reference=st.integers(1, 6),
)
def test_energies_are_folds_over_the_observation_stream(horizon, rows, cuts, reference):
    labels = np.arange(15) % 3
    labels[-1] = 2  # groups of 5, 5, 5 (and β uses min(horizon, n_k))
    idx = np.array([i for i, _ in rows])
    x = np.array([v for _, v in rows])
    fs = FrontierSampler(reference=reference, horizon=horizon)
    st = fs.init(15, groups=labels)
    bounds = [0, *sorted(c for c in cuts if c < idx.size), idx.size]
    for a, b in itertools.pairwise(bounds):
        if b > a:
            st = fs.update(st, idx[a:b], {"residual": np.sqrt(x[a:b])})
    e0, e = _reference_energies(labels, 3, idx, x, reference, horizon)
    np.testing.assert_allclose(fs._reference(st), e0, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fs._energy(st), e, rtol=1e-9, atol=1e-12)
    assert st.ref_count.tolist() == [min(reference, np.sum(labels[idx] == g)) for g in range(3)]


def test_horizon_tracks_recent_observations():
    groups = np.repeat(np.arange(2), 50)
    slow, fast = FrontierSampler(floor=0.0), FrontierSampler(floor=0.0, horizon=5)
    s_slow, s_fast = slow.init(100, groups=groups), fast.init(100, groups=groups)
    first = {"residual": np.ones(100)}
    s_slow, s_fast = (
        slow.update(s_slow, np.arange(100), first),
        fast.update(s_fast, np.arange(100), first),
    )
    # group 0 is learned, but only its first 10 examples are observed again (a long epoch)
    late = {"residual": np.full(10, 1e-3)}
    s_slow = slow.update(s_slow, np.arange(10), late)
    s_fast = fast.update(s_fast, np.arange(10), late)
    # per-example memory: 40 stale residuals keep E_0 ≈ 0.8 (unlearned); the moving average
    # over ≈ 5 observations sees the change: β^60 E(0) + (1 − β)(Σ_{a<10} β^a 1e-6 +
    # Σ_{a≥10} β^a), with E(0) = 1 (the first 16 observations of group 0 were 1)
    assert slow.mode_weights(s_slow, 1).tolist() == [1.0, 1.0]
    assert fast.mode_weights(s_fast, 1).tolist() == [0.0, 1.0]
    beta = 1 - 1 / 5
    a = np.arange(60)
    want = beta**60 + (1 - beta) * (np.sum(beta ** a[:10]) * 1e-6 + np.sum(beta ** a[10:]))
    assert fast._energy(s_fast)[0] == pytest.approx(want, rel=1e-9)


def test_features_reference_once_every_example_was_seen():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4)) * np.array([3.0, 2.0, 1.0, 0.5])
    fs = FrontierSampler(rank=2, soft=True)
    st = fs.init(30, features=x)
    assert st.shares.shape == (30, 2) and np.allclose(st.shares.sum(axis=1), 1.0)
    st = fs.update(st, np.arange(20), {"residual": rng.standard_normal((20, 2))})
    assert st.energy0 is None and fs.mode_weights(st, 0).tolist() == [1.0, 1.0]
    st = fs.update(st, np.arange(20, 30), {"residual": rng.standard_normal((10, 2))})
    assert st.energy0 is not None and st.seen.all()
    # E_k = Σ_o (φ_k · r_o)² / n² with φ the whitened projections
    want = ((st.proj.T @ st.residual) ** 2).sum(axis=1) / 30**2
    np.testing.assert_allclose(st.energy0, want, rtol=1e-12)
    st = fs.update(st, np.arange(30), {"residual": 0.1 * st.residual})
    np.testing.assert_allclose(fs.mode_weights(st, 1), np.maximum(0.01, fs.floor), rtol=1e-9)


def test_frontier_rejects_bad_input():
    with pytest.raises(SpecurateInputError, match="exactly one"):
        FrontierSampler().init(10)
    with pytest.raises(SpecurateInputError, match="cap"):
        FrontierSampler(cap=0.5)
    for kw, message in [
        ({"kappa": 0.0}, "kappa"),
        ({"power": -1.0}, "power"),
        ({"floor": 1.5}, "floor"),
        ({"cap_growth": -0.1}, "cap_growth"),
        ({"rank": 0}, "rank"),
        ({"reference": 0}, "reference"),
        ({"horizon": 0}, "horizon"),
        ({"correction": "unbiased"}, "correction"),
        ({"epoch_length": 0}, "epoch_length"),
    ]:
        with pytest.raises(SpecurateInputError, match=message):
            FrontierSampler(**kw)
    fs = FrontierSampler()
    st = fs.init(10, groups=np.zeros(10, int))
    with pytest.raises(SpecurateInputError, match="NaN"):
        fs.update(st, np.arange(2), {"residual": np.array([1.0, np.nan])})
    with pytest.raises(SpecurateInputError, match="leading dimension"):  # was "rows"
        fs.update(st, np.arange(2), {"residual": np.ones(3)})
    with pytest.raises(SpecurateInputError, match="≥ 0"):
        fs.update(st, np.arange(2), {"loss": np.array([1.0, -1.0])})
    with pytest.raises(SpecurateInputError, match=r"groups has \(9,\) entries"):
        fs.init(10, groups=np.zeros(9, int))
    with pytest.raises(SpecurateInputError, match="need groups"):
        FrontierSampler(horizon=4).init(10, features=np.ones((10, 2)))
    with pytest.raises(SpecurateInputError, match="need groups"):
        FrontierSampler(balance=True).init(10, features=np.ones((10, 2)))
    feat = FrontierSampler(rank=2)
    with pytest.raises(SpecurateInputError, match="residual"):  # loss alone is not enough
        feat.update(feat.init(10, features=np.eye(10)[:, :3]), np.arange(2), {"loss": np.ones(2)})
    assert math.isfinite(fs.cap)
