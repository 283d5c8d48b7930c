r"""Finite-sample bias of sample eigenvalues, and the power-law fit after removing it."""

from __future__ import annotations

from dataclasses import replace

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


def debias_eigenvalues(
    lam: np.ndarray, moments: np.ndarray, n_eff: float, *, floor_gaps: bool = False
) -> np.ndarray:
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

    With ``floor_gaps`` each gap's magnitude is floored at
    :math:`\sqrt{(m_{kk} + m_{jj})/n_{\mathrm{eff}}}`, the sampling s.d. of the gap
    (:math:`\sqrt{(m_{kk} - \lambda_k^2 + m_{jj} - \lambda_j^2)/n}` ≈ 0.8 of it for Gaussian
    data), so that the correction is a smooth function of the data: for two sample eigenvalues
    closer than their noise the plain term diverges (and the half-value guard switches it off
    abruptly). Pairs further apart than the noise, all that perturbation theory covers, are
    corrected as before. The reweighting analysis uses it: without the floor the correction of
    near-degenerate pairs dominated the resampling spread of b_w − b on a fixed range (digits,
    ranks 20–27: the jackknife s.e. of the correction reached 23% of λ_k), and the jackknife
    s.e. of b_w − b exceeded its actual spread over random masks by up to 1.6× with 20 groups
    and 2.3× with 50 (jumps, which the jackknife scales by G − 1, not noise). With the floor,
    the spread itself fell (planted b = 1.5, n = 2,000, 60% kept: SD 0.0064 → 0.0053), the s.e.
    matched it (s.e. / SD 0.86–1.21 over 15 settings), and the mean of b on the range moved by
    less than 0.0003. Floor factors 0.5–2 gave the same.

    Args: λ (r,) descending; moments (r, r) from :func:`fourth_moments` (or λλᵀ for the
    Gaussian plug-in); n_eff the sample size (n²/Σc² for a weighted or resampled operator);
    floor_gaps: floor each gap at its sampling noise (above).
    """
    lam = np.asarray(lam, dtype=np.float64)
    r = int(np.sum(lam > lam[0] * RANK_TOL)) if lam[0] > 0 else 0
    if r < 3:
        return lam.copy()
    top = lam[:r]
    m = moments[:r, :r]
    diff = top[:, None] - top[None, :]
    if floor_gaps:
        var = np.diag(m)
        floor = np.sqrt(np.maximum(var[:, None] + var[None, :], 0.0) / n_eff)
        diff = np.where(diff >= 0, 1.0, -1.0) * np.maximum(np.abs(diff), floor)
    np.fill_diagonal(diff, np.inf)
    corr = np.sum(m / diff, axis=1) / n_eff
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
    floor_gaps: bool = False,
) -> PowerLawFit:
    """Power-law fit of a sample spectrum after :func:`debias_eigenvalues`.

    ``n`` (examples) sets the finite-sample cap; ``n_eff`` (default n) the bias scale;
    ``moments`` default to the Gaussian plug-in λλᵀ; ``floor_gaps`` as in
    :func:`debias_eigenvalues`.
    """
    lam = np.asarray(lam, dtype=np.float64)
    # λ·2^s with λ₁ in [0.5, 1) when λ₁ is far from 1: λλᵀ and the corrections stay inside
    # float64 (covariances of data near 1e100 or 1e-100); b does not depend on the scale, the
    # floor and the intercept are scaled back
    top = float(lam[0]) if lam.size else 0.0
    s = -int(np.frexp(top)[1]) if top > 0 and not 2.0**-120 <= top <= 2.0**120 else 0
    if s:
        lam = np.ldexp(lam, s)
        if moments is not None:
            moments = np.ldexp(moments, 2 * s)
    m = np.outer(lam, lam) if moments is None else moments
    fit = fit_power_law(
        debias_eigenvalues(lam, m, float(n if n_eff is None else n_eff), floor_gaps=floor_gaps),
        n_samples=n,
        fit_range=fit_range,
        compare=compare,
    )
    if s:
        fit = replace(fit, floor=float(np.ldexp(fit.floor, -s)), log_c=fit.log_c - s * np.log(2.0))
    return fit
