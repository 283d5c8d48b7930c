"""Spectrum estimation checked against independent computations and planted truths."""

import numpy as np
import pytest

from specurate.datasets import planted_powerlaw
from specurate.errors import SpecurateInputError
from specurate.spectrum.estimate import estimate_spectrum
from specurate.spectrum.features import operator_features, weighted_eigh
from specurate.spectrum.operators import center_gram, rbf_kernel
from specurate.spectrum.resample import WhitenedReplicates
from specurate.spectrum.target import chance_energy, mode_energies

RNG = np.random.default_rng(1)
X = RNG.standard_normal((300, 12)) * np.arange(1, 13) ** -0.8


def test_linear_operator_matches_numpy_covariance():
    lam, _ = weighted_eigh(operator_features(X).features)
    ref = np.linalg.eigvalsh(np.cov(X, rowvar=False, bias=True))[::-1]
    np.testing.assert_allclose(lam, ref, rtol=1e-10, atol=1e-14)


def test_rbf_operator_matches_centered_gram():
    op = operator_features(X, kernel="rbf")
    lam, _ = weighted_eigh(op.features)
    k, _ = rbf_kernel(X, bandwidth=op.bandwidth)
    ref = np.linalg.eigvalsh(center_gram(k) / X.shape[0])[::-1]
    # Φ keeps modes above 1e-12·λ₁; compare those (float64 eigensolver accuracy ~1e-13·λ₁).
    np.testing.assert_allclose(lam, ref[: lam.size], rtol=1e-8, atol=1e-12 * ref[0])


def test_bootstrap_replicate_equals_resampled_covariance():
    # Independent computation: materialize the resample and use np.cov.
    op = operator_features(X)
    lam, v = weighted_eigh(op.features)
    y = X @ RNG.standard_normal(12)
    yc = y - y.mean()
    eng = WhitenedReplicates(op.features, lam, v, yc[:, None], center=True)
    counts = RNG.multinomial(300, np.full(300, 1 / 300))
    lam_b, e_b = eng.replicate(counts)
    xb, yb = np.repeat(X, counts, axis=0), np.repeat(y, counts)
    ref = np.linalg.eigvalsh(np.cov(xb, rowvar=False, bias=True))[::-1]
    # The whitened Gram is formed in float32: relative error ~1e-6 uniformly across modes.
    np.testing.assert_allclose(lam_b, ref, rtol=1e-4)
    # Energies of the resample: Σ_k e_k = explained variance of the least-squares fit.
    xc, ycb = xb - xb.mean(0), yb - yb.mean()
    beta, *_ = np.linalg.lstsq(xc, ycb, rcond=None)
    assert e_b.sum() == pytest.approx(np.mean((xc @ beta) ** 2), rel=1e-4)


def test_energies_sum_to_explained_variance():
    y = X @ RNG.standard_normal(12) + 0.1 * RNG.standard_normal(300)
    op = operator_features(X)
    lam, v = weighted_eigh(op.features)
    yc = (y - y.mean())[:, None]
    e = mode_energies(lam, v, op.features.T @ yc / 300)
    beta, *_ = np.linalg.lstsq(op.features, yc, rcond=None)
    assert e.sum() == pytest.approx(np.mean((op.features @ beta) ** 2), rel=1e-10)


def test_chance_energy_of_pure_noise_labels():
    # Labels independent of x: each e_k has mean σ²/n; over d = 100 modes the average of the
    # χ²₁-like energies is within ~3·√(2/100) ≈ 0.42 relative of it.
    x = RNG.standard_normal((4000, 100))
    y = RNG.standard_normal(4000)
    lam, v = weighted_eigh(x - x.mean(0))
    e = mode_energies(lam, v, (x - x.mean(0)).T @ (y - y.mean())[:, None] / 4000)
    c = chance_energy(e, float(np.var(y)), 4000)
    assert c == pytest.approx(np.var(y) / 4000, rel=0.05)
    assert e.mean() == pytest.approx(c, rel=0.42)


@pytest.mark.integration  # 2 × 2.7 s: 20,000 × 512 planted data, default jackknife
@pytest.mark.parametrize("b, a", [(1.1, 2.0), (3.0, 1.5)])
def test_planted_exponents_recovered(b, a):
    ds = planted_powerlaw(20_000, 512, b=b, a=a, seed=3)
    rep = estimate_spectrum(ds.x, ds.y, seed=0)
    assert abs(rep.b - b) <= 0.05
    assert abs(rep.target.a - a) <= 0.05
    assert rep.b_ci[0] < rep.b_ci[1] and rep.target.a_ci[0] < rep.target.a_ci[1]
    assert rep.target.learning_exponent == pytest.approx((rep.target.a - 1) / rep.b)
    k_max = rep.fit.fit_range[1]
    assert 1e-5 <= 0.006 * k_max**-b  # the noise floor is outside the fit range


def test_bootstrap_is_seeded_and_worker_independent():
    ds = planted_powerlaw(2000, 64, b=1.5, seed=0)
    r1 = estimate_spectrum(ds.x, ds.y, ci_method="bootstrap", bootstrap=12, seed=5)
    r2 = estimate_spectrum(ds.x, ds.y, ci_method="bootstrap", bootstrap=12, seed=5)
    assert r1.b_ci == r2.b_ci and r1.target.a_ci == r2.target.a_ci
    r3 = estimate_spectrum(ds.x, ds.y, ci_method="bootstrap", bootstrap=12, seed=6)
    assert r3.b_ci != r1.b_ci


def test_classification_labels_are_one_hot():
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    rep = estimate_spectrum(X, y, ci_method="none")
    assert rep.target.energies.sum() <= rep.target.total_energy * (1 + 1e-12)
    assert rep.target.total_energy == pytest.approx(
        sum(np.mean(y == c) * (1 - np.mean(y == c)) for c in range(3))
    )


@pytest.mark.parametrize(
    "x, y, match",
    [
        (np.ones((10, 3)), None, "at least 50"),
        (np.full((60, 3), np.nan), None, "NaN"),
        (X, np.ones(10), "labels have 10 rows"),
        (np.ones(60), None, "2-D"),
    ],
)
def test_bad_input(x, y, match):
    with pytest.raises(SpecurateInputError, match=match):
        estimate_spectrum(x, y, ci_method="none")


def test_randomized_kernel_features_match_exact_on_fitted_ranks():
    # top < n/2 switches to the randomized solver; on the ranks a fit may use (≤ n/10) its
    # eigenvalues agree with dense LAPACK within the reported relative error bound.
    x = np.random.default_rng(0).standard_normal((1200, 6)) * np.geomspace(1, 0.1, 6)
    op = operator_features(x, kernel="rbf", top=240)
    assert op.truncated and op.features.shape[1] <= 240
    lam, _ = weighted_eigh(op.features)
    k, _ = rbf_kernel(x, bandwidth=op.bandwidth)
    ref = np.linalg.eigvalsh(center_gram(k) / 1200)[::-1]
    rel = np.abs(lam[:120] / ref[:120] - 1)
    assert op.eig_error_bound <= 1e-3
    assert rel.max() <= max(op.eig_error_bound, 1e-10)


def test_jackknife_intervals():
    ds = planted_powerlaw(4000, 64, b=1.5, a=2.0, seed=1)
    rep = estimate_spectrum(ds.x, ds.y, ci_method="jackknife", groups=10, seed=0)
    assert rep.extras["ci_method"] == "jackknife"
    assert rep.b_ci[0] < rep.b < rep.b_ci[1]  # normal intervals are centred on the estimate
    assert rep.target.a_ci[0] < rep.target.a < rep.target.a_ci[1]
    with pytest.raises(SpecurateInputError, match="at least 2 replicates"):
        estimate_spectrum(ds.x, ci_method="jackknife", groups=1)
