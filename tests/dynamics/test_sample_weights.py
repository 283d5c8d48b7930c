"""Mode weights and example weights in sample mode: realized vs intended on clusters (exact) and
Gaussian inputs (averaged out), the loss rule, the hard oracle's budget."""

import math

import numpy as np
import pytest

from specurate.dynamics.modes import LearningLaw
from specurate.dynamics.policies import Context, SelfScore, State, normalize
from specurate.dynamics.sample_weights import (
    example_weights_from_loss,
    example_weights_from_modes,
    oracle_mode_weights,
    realized_weights,
    weight_mismatch,
)
from specurate.dynamics.samples import make_samples, mode_residuals


def _head_suppressed(data, head: int) -> np.ndarray:
    """Hard head suppression: ω_k = 0 for k ≤ head, C on the rest (operator budget)."""
    omega = np.ones(data.n_modes)
    omega[:head] = 0.0
    return normalize(omega, 0.0, data.modes())[0]


def test_realized_weights_equal_intended_on_clusters():
    # Mode-local examples: w_i = ω_{k(i)}/Z, Z = Σ_k p̂_k ω_k, so ω̂_k = ω_k/Z exactly.
    data = make_samples("clusters", n_examples=5000, n_modes=32, seed=2)
    omega = np.random.default_rng(0).exponential(size=32)
    omega[[0, 3, 7]] = 0.0
    w = example_weights_from_modes(data.x, omega)
    p_hat = np.bincount(data.cluster, minlength=32) / 5000
    z = float(np.dot(p_hat, omega))
    np.testing.assert_allclose(w, omega[data.cluster] / z, rtol=1e-12)
    realized, leakage = realized_weights(data.x, w)
    carried = p_hat > 0
    np.testing.assert_allclose(realized[carried] * z, omega[carried], rtol=1e-12, atol=1e-15)
    assert leakage == 0.0
    mis = weight_mismatch(realized, omega, carried, data.modes().mass)
    assert mis == pytest.approx(0.0, abs=1e-12)  # budget-normalized: identical


def test_gaussian_examples_barely_move_mode_weights():
    # Hard head suppression (ω = 0 on the 8 head modes, C ≈ 5.4 on the 56 others) through
    # Gaussian examples: every example mixes all modes, so the weights average out.
    data = make_samples("gaussian", a=2.0, b=1.5, n_examples=20000, n_modes=64, seed=4)
    omega = _head_suppressed(data, 8)
    c = omega.max()
    assert c > 5
    realized, leakage = realized_weights(data.x, example_weights_from_modes(data.x, omega))
    # Measured (seeds 0, 1, 4): head 0.55–0.95 (intended 0), tail 0.99–1.10 (intended 5.4).
    assert np.all(realized[:8] > 0.4) and np.all(realized[8:] < 1.2)
    assert np.all(np.abs(np.log(realized)) < 0.7) and math.log(c) > 1.6
    # The realized tail/head contrast is a small fraction of the intended one (infinite).
    assert realized[8:].mean() / realized[:8].mean() < 1.5
    assert weight_mismatch(realized, omega, np.ones(64, bool), data.modes().mass) > 1.5
    assert leakage < 0.05  # off-diagonal T_w is sampling noise only (sign symmetry)
    # The same rule on clusters is realized exactly.
    clusters = make_samples("clusters", a=2.0, b=1.5, n_examples=20000, n_modes=64, seed=4)
    om_c = _head_suppressed(clusters, 8)
    rc, lc = realized_weights(clusters.x, example_weights_from_modes(clusters.x, om_c))
    enough = np.count_nonzero(clusters.x, axis=0) >= 20
    assert weight_mismatch(rc, om_c, enough, clusters.modes().mass) < 1e-12 and lc == 0


def test_gaussian_loss_weights_match_fourth_moment_formula():
    # w ∝ ℓ = (x·r)², r = θ − w*: E[ℓ x_k²]/(λ_k E ℓ) = 1 + 2 λ_k r_k² / L for Gaussian x
    # (Isserlis), so per-example loss weights realize at most 3× on any mode.
    data = make_samples("gaussian", a=2.0, b=1.5, n_examples=40000, n_modes=16, seed=5)
    theta = np.zeros(16)
    w = example_weights_from_loss(data.x, data.y, theta)
    realized, _ = realized_weights(data.x, w)
    r2 = data.lam * data.w_star**2
    predicted = 1 + 2 * r2 / r2.sum()
    assert predicted[0] > 2
    # Heavy-tailed (6th-moment) averages over n = 40000: a few % sampling error.
    np.testing.assert_allclose(realized, predicted, rtol=0.1)


def test_loss_rule_on_clusters_is_the_mode_space_selfscore():
    # On one-hot data ℓ_i = w*_k² u_k² = e_k u_k²/p_k: the example rule and the mode rule agree.
    data = make_samples("clusters", n_examples=4000, n_modes=20, seed=6)
    theta = data.w_star * (1 - np.exp(-data.lam * 30.0))
    u = mode_residuals(data, theta)
    ctx = Context(data.modes(), LearningLaw(), np.random.default_rng(0), 1.0)
    omega = SelfScore(temperature=2.0).piece(ctx, State(0.0, -np.log(u)), {}).weight
    w_modes = example_weights_from_modes(data.x, omega)
    w_loss = example_weights_from_loss(data.x, data.y, theta, temperature=2.0)
    np.testing.assert_allclose(w_loss, w_modes, rtol=1e-10)


def test_oracle_mode_weights_budget():
    data = make_samples("clusters", n_examples=100, n_modes=12)
    modes = data.modes()
    u = np.geomspace(1e-4, 1.0, 12)
    w = oracle_mode_weights(modes, u, 3.0)
    learned = u <= math.exp(-3.0)
    assert np.all(w[learned] == 0) and np.all(w[~learned] == w[~learned][0])
    assert float(np.dot(modes.mass, w)) == pytest.approx(1.0)
    np.testing.assert_array_equal(oracle_mode_weights(modes, np.zeros(12), 3.0), 1.0)
