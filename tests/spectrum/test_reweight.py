"""The curated operator T_w: Loewner bounds (property tests) and a closed-form narrowing case."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from specurate.errors import SpecurateInputError
from specurate.spectrum.reweight import analyze_reweighting, normalize_weights


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    d=st.integers(6, 12),
    w=arrays(np.float64, 80, elements=st.one_of(st.just(0.0), st.floats(1e-3, 10.0))).filter(
        lambda w: (w > 0).sum() >= 50
    ),
)
def test_loewner_sandwich(seed, d, w):
    # w_min·T ⪯ T_w ⪯ C·T ⇒ w_min λ_k ≤ λ_k(T_w) ≤ C λ_k for every k (Courant–Fischer).
    x = np.random.default_rng(seed).standard_normal((80, d)) * np.geomspace(1, 1e-2, d)
    rep = analyze_reweighting(x, w, bootstrap=0)
    wn = w / w.mean()
    lam, lw = rep.eigenvalues, rep.eigenvalues_w
    tol = 1e-10 * lam[0]
    assert rep.loewner_upper_ok
    assert np.all(lw <= rep.C * lam + tol)
    assert np.all(lw >= wn.min() * lam - tol)
    assert rep.C == pytest.approx(wn.max())
    assert rep.max_eig_ratio <= rep.C * (1 + 1e-9)


def test_uniform_weights_change_nothing():
    x = np.random.default_rng(0).standard_normal((500, 20)) * np.arange(1, 21) ** -1.0
    rep = analyze_reweighting(x, np.full(500, 3.0), bootstrap=10)
    np.testing.assert_allclose(rep.eigenvalues_w, rep.eigenvalues, rtol=1e-12)
    assert rep.C == pytest.approx(1.0) and rep.k0 == 0 and rep.frontier_gain == 1.0
    assert rep.b_w == pytest.approx(rep.b_common) and rep.delta_b == pytest.approx(0, abs=1e-9)
    assert not rep.narrowing


def _mode_local(n, modes, b, seed):
    # Each example carries one mode k (probability ∝ k^-b) with a random sign: the covariance
    # is diagonal with λ_k = p_k exactly in expectation.
    rng = np.random.default_rng(seed)
    p = np.arange(1, modes + 1, dtype=float) ** -b
    k = rng.choice(modes, size=n, p=p / p.sum())
    x = np.zeros((n, modes))
    x[np.arange(n), k] = rng.choice([-1.0, 1.0], size=n)
    return x, k


def test_hard_pruning_of_tail_examples_narrows_the_spectrum():
    # Keep an example of mode k with probability k^-1/2: λ_k(T_w) ∝ p_k k^-1/2, b_w = b + 1/2.
    x, k = _mode_local(60_000, 60, 1.2, 0)
    keep = np.random.default_rng(1).random(x.shape[0]) < (k + 1.0) ** -0.5
    rep = analyze_reweighting(x, keep.astype(float), bootstrap=40, seed=0)
    assert rep.b == pytest.approx(1.2, abs=0.1)
    assert rep.delta_b == pytest.approx(0.5, abs=0.1)
    assert rep.narrowing and rep.delta_b_ci[0] > 0
    assert rep.loewner_upper_ok


def test_head_pruning_gives_a_finite_region():
    # Drop half of the examples of the 5 largest modes. Closed form on population values:
    # T_w has eigenvalues p_k q_k / m (q_k = 0.5 for k ≤ 5, else 1; m = Σ p q), re-sorted, so
    # the pruned modes fall to lower ranks and shift the ranks above them; past the last of
    # them the ratio is 1/m. K₀ from that sequence is compared with the measured one.
    modes, b = 60, 1.2
    x, k = _mode_local(200_000, modes, b, 2)
    rng = np.random.default_rng(3)
    w = np.where((k < 5) & (rng.random(x.shape[0]) < 0.5), 0.0, 1.0)
    rep = analyze_reweighting(x, w, bootstrap=0)
    p = np.arange(1, modes + 1, dtype=float) ** -b
    p /= p.sum()
    q = np.where(np.arange(modes) < 5, 0.5, 1.0)
    m = (p * q).sum()
    ratio = np.sort(p * q / m)[::-1] / p
    tail = 1 / m
    k0_expected = int(np.flatnonzero(np.abs(ratio / tail - 1) > 0.1)[-1] + 1)
    assert rep.tail_ratio == pytest.approx(tail, rel=0.05)
    assert abs(rep.k0 - k0_expected) <= 3
    assert rep.frontier_gain < 1  # inside K₀ the curated operator is slower than its tail
    assert not rep.narrowing


@pytest.mark.parametrize(
    "w, match",
    [
        (np.ones(10), "has 10 weights"),
        (np.r_[np.ones(99), -1.0], "negative"),
        (np.zeros(100), "only zero"),
        (np.r_[np.ones(99), np.nan], "NaN"),
        (np.r_[np.ones(10), np.zeros(90)], "keeps 10 examples"),
        (np.ones((100, 2)), "one weight"),
    ],
)
def test_bad_weights(w, match):
    with pytest.raises(SpecurateInputError, match=match):
        normalize_weights(w, 100)
