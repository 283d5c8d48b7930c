r"""Finite-sample bias of sample eigenvalues, and the power-law fit after removing it."""

from __future__ import annotations

import numpy as np

from specurate.spectrum.features import RANK_TOL
from specurate.spectrum.powerlaw import PowerLawFit, fit_power_law

__all__ = ["debias_eigenvalues", "fit_debiased", "fourth_moments"]


def fourth_moments(phi: np.ndarray, v: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    r"""Mixed fourth moments of the principal scores :math:`Z = \Phi V` (n, r):
    :math:`m_{kj} = \frac1n\sum_i w_i^2 z_{ik}^2 z_{ij}^2` (w ≡ 1 by default).

    n·Var of the (k, j) entry of the weighted covariance :math:`\frac1n\sum_i w_i z_i z_i^\top`;
    for Gaussian data and w ≡ 1, :math:`m_{kj} = \lambda_k\lambda_j`.
    """
    z2 = (phi @ v) ** 2
    zw = z2 if weights is None else z2 * (np.asarray(weights, dtype=np.float64) ** 2)[:, None]
    return zw.T @ z2 / phi.shape[0]


def debias_eigenvalues(lam: np.ndarray, moments: np.ndarray, n_eff: float) -> np.ndarray:
    r"""Remove the leading finite-sample bias of sample covariance eigenvalues.

    Second-order perturbation theory (Lawley 1956, here with the empirical fourth moments so
    that it holds beyond Gaussian data) gives

    .. math::  E[\hat\lambda_k] - \lambda_k \approx \frac1n \sum_{j\ne k}
               \frac{m_{kj}}{\lambda_k - \lambda_j},

    positive for the large eigenvalues and negative for the small ones: it bends a power-law
    spectrum and biases its slope (planted b = 1.1 at n = 20,000, d = 512: −0.0017 before,
    −0.0002 after, against a sampling s.d. of 0.0009). The plug-in correction uses sample
    values for every rank; where neighbours are closer than the sampling noise (beyond the
    fit's finite-sample cap) the corrected values are noisy and only feed the robust floor fit,
    and corrections larger than half the value are not applied.

    Args: λ (r,) descending; moments (r, r) from :func:`fourth_moments` (or λλᵀ for the
    Gaussian plug-in); n_eff the sample size (n²/Σc² for a weighted or resampled operator).
    """
    lam = np.asarray(lam, dtype=np.float64)
    r = int(np.sum(lam > lam[0] * RANK_TOL)) if lam[0] > 0 else 0
    if r < 3:
        return lam.copy()
    top = lam[:r]
    diff = top[:, None] - top[None, :]
    np.fill_diagonal(diff, np.inf)
    corr = np.sum(moments[:r, :r] / diff, axis=1) / n_eff
    # Where a correction exceeds half the value, perturbation theory has clearly failed
    # (near-degenerate neighbours): keep the sample value there.
    ok = np.abs(corr) <= 0.5 * top
    out = lam.copy()
    out[:r][ok] = top[ok] - corr[ok]
    return out


def fit_debiased(
    lam: np.ndarray,
    *,
    n: int,
    n_eff: float | None = None,
    moments: np.ndarray | None = None,
    fit_range: tuple[int, int] | None = None,
    compare: bool = True,
) -> PowerLawFit:
    """Power-law fit of a sample spectrum after :func:`debias_eigenvalues`.

    ``n`` (examples) sets the finite-sample cap; ``n_eff`` (default n) the bias scale;
    ``moments`` default to the Gaussian plug-in λλᵀ.
    """
    m = np.outer(lam, lam) if moments is None else moments
    return fit_power_law(
        debias_eigenvalues(lam, m, float(n if n_eff is None else n_eff)),
        n_samples=n,
        fit_range=fit_range,
        compare=compare,
    )
