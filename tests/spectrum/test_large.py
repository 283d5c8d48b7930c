"""estimate_spectrum_streaming (specurate.spectrum.large) against an in-memory recomputation: the
same spectrum, the same fits, and a grouped jackknife recomputed block by block."""

import itertools

import numpy as np
import pytest
from scipy import stats

from specurate.datasets import planted_powerlaw
from specurate.errors import SpecurateInputError
from specurate.spectrum.debias import fit_debiased
from specurate.spectrum.features import small_eigh
from specurate.spectrum.large import estimate_spectrum_streaming
from specurate.spectrum.target import fit_target, mode_energies, prepare_targets

N, D, G = 3000, 48, 6
DS = planted_powerlaw(N, D, b=1.5, a=2.0, seed=4)


def _exponents(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(b, a, eigenvalues) by the in-memory route: np.cov, eigh, the same fits."""
    n = x.shape[0]
    lam, v = small_eigh(np.cov(x, rowvar=False, bias=True))
    fit = fit_debiased(lam, n=n)  # the Gaussian plug-in, as in the one-pass estimate
    yc = y - y.mean(axis=0)
    cross = (x - x.mean(axis=0)).T @ yc / n
    efit, _ = fit_target(lam, fit, mode_energies(lam, v, cross), float(np.sum(yc**2) / n), n)
    return fit.b, efit.a, lam


def test_streaming_estimate_equals_in_memory_recomputation(tmp_path):
    path = tmp_path / "planted.npy"
    np.save(path, DS.x)
    rep = estimate_spectrum_streaming(path, DS.y, groups=G, ci=0.9)
    y = prepare_targets(DS.y)
    b, a, lam = _exponents(DS.x, y)
    # one-pass shifted sums vs numpy's two-pass covariance: ~1e-15 relative per entry, and the
    # eigenvalues move by at most d·max|E| (Weyl): 1e-12 relative to λ₁ is generous
    np.testing.assert_allclose(rep.eigenvalues, lam, rtol=0, atol=1e-12 * lam[0])
    # the fits see the same eigenvalues up to that rounding: exponents agree to ~1e-9
    assert rep.b == pytest.approx(b, rel=1e-8)
    assert rep.target.a == pytest.approx(a, rel=1e-8)
    assert rep.target.learning_exponent == pytest.approx((a - 1) / b, rel=1e-8)
    # grouped jackknife: G contiguous blocks, block g = rows floor(gN/G) : floor((g+1)N/G)
    edges = np.arange(G + 1) * N // G
    reps = np.array(
        [
            _exponents(np.delete(DS.x, np.s_[lo:hi], 0), np.delete(y, np.s_[lo:hi], 0))[:2]
            for lo, hi in itertools.pairwise(edges)
        ]
    )
    z = stats.norm.ppf(0.95)
    for col, est, ci in ((0, b, rep.b_ci), (1, a, rep.target.a_ci)):
        r = reps[:, col]
        se = np.sqrt((G - 1) / G * np.sum((r - r.mean()) ** 2))
        assert ci == pytest.approx((est - z * se, est + z * se), rel=1e-6)
    assert rep.bootstrap == G and rep.extras["groups"] == G


def test_streaming_estimate_reads_every_format_and_array(tmp_path):
    # the same spectrum from an array and from each file format of specurate.io
    x = DS.x[:400]
    ref = estimate_spectrum_streaming(x, groups=0)
    np.savez(tmp_path / "x.npz", x=x)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", fmt="%.17g")
    for name in ("x.npz", "x.csv"):
        rep = estimate_spectrum_streaming(tmp_path / name, groups=0)
        np.testing.assert_allclose(rep.eigenvalues, ref.eigenvalues, rtol=1e-12)
        assert np.isnan(rep.b_ci).all()  # groups=0: no interval


def test_streaming_estimate_rejects_small_or_bad_input(tmp_path):
    path = tmp_path / "few.npy"
    np.save(path, DS.x[:20])
    with pytest.raises(SpecurateInputError, match=r"few\.npy: has 20 examples; at least 50"):
        estimate_spectrum_streaming(path)
    with pytest.raises(SpecurateInputError, match="groups must be 0 or at least 2"):
        estimate_spectrum_streaming(DS.x, groups=1)
