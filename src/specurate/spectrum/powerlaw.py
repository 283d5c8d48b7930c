r"""Power-law fits of ranked spectra: :math:`\lambda_k \approx C k^{-b}`.

A fit is an ordinary least-squares line through :math:`(\log k, \log \lambda_k)` on a rank range
:math:`[k_\min, k_\max]` chosen automatically (:func:`select_fit_range`):

* the **finite-sample cap**: ranks beyond ``min(cap_fraction·#modes, sample_fraction·n)`` are
  excluded (the smallest sample eigenvalues are spread by sampling noise — Marchenko–Pastur —
  and kernel eigenvalues are only estimated well for k ≪ n);
* the **noise floor**: a three-parameter model :math:`\lambda_k = C k^{-b} + \varepsilon` is fit
  on the trustworthy ranks (up to ``2·sample_fraction·n``); ranks where the floor carries more
  than ``floor_share`` of
  :math:`\lambda_k` are excluded, and the fitted ε is subtracted from the retained values
  (a correction of at most ``floor_share``), so a flat floor does not bend the slope;
* the **head**: leading ranks whose residual from the line is an outlier (more than
  ``head_z`` residual standard deviations) are dropped one at a time.

The density exponent of the eigenvalue distribution is :math:`\alpha = 1 + 1/b` (the counting
function is :math:`N(\lambda) = \#\{k: \lambda_k > \lambda\} \sim \lambda^{-1/b}`), which is what
``powerlaw``/WeightWatcher report for an empirical spectral density.

Model comparison (:func:`compare_models`) uses Gaussian log-likelihoods of the log-residuals on
the fit range. **Sign convention** (as in the ``powerlaw`` package): the log-likelihood ratio
``R = ℓ(power law) − ℓ(alternative)`` is *positive when the power law is favoured*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, stats

from specurate.errors import SpecurateInputError

MIN_POINTS = 5


@dataclass(frozen=True)
class ModeComparison:
    """Power law vs one alternative on the same ranks (``R > 0`` favours the power law).

    Attributes:
        alternative: ``"exponential"`` (log λ = c − βk) or ``"cutoff"`` (log λ = c − b log k − βk).
        loglik_ratio: R = ℓ_powerlaw − ℓ_alternative (Gaussian log-likelihood of log-residuals).
        p_value: significance of the sign of R — Vuong's normalized test for the non-nested
            exponential, a χ²(1) likelihood-ratio test for the nested cutoff model. Residuals of
            ranked eigenvalues are correlated, so treat p-values as indicative.
        aic_difference: AIC(alternative) − AIC(power law); positive favours the power law.
    """

    alternative: str
    loglik_ratio: float
    p_value: float
    aic_difference: float


@dataclass(frozen=True)
class PowerLawFit:
    r"""Least-squares power law :math:`\lambda_k \approx e^{\text{log\_c}} k^{-b}` on a rank range.

    Attributes:
        b: decay exponent (positive for a decaying spectrum).
        log_c: intercept of the log-log line.
        fit_range: (k_min, k_max), 1-based inclusive ranks used by the fit.
        stderr: ordinary regression standard error of b (assumes independent residuals; use
            the bootstrap CI of :mod:`specurate.spectrum.estimate` for real uncertainty).
        r2: coefficient of determination of the log-log line.
        floor: estimated additive noise floor ε of :math:`C k^{-b} + ε` (0 if none detected).
        cap: the finite-sample cap on ranks that was applied.
        comparisons: power law vs alternatives (see :class:`ModeComparison`).
    """

    b: float
    log_c: float
    fit_range: tuple[int, int]
    stderr: float
    r2: float
    floor: float
    cap: int
    comparisons: tuple[ModeComparison, ...] = field(default=())

    @property
    def alpha(self) -> float:
        r"""Density exponent :math:`\alpha = 1 + 1/b` of the eigenvalue distribution."""
        return 1.0 + 1.0 / self.b if self.b > 0 else float("nan")

    def predict(self, k: np.ndarray) -> np.ndarray:
        """Fitted values C k^-b at ranks ``k`` (1-based)."""
        return np.exp(self.log_c) * np.asarray(k, dtype=float) ** (-self.b)


def _ols(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float, float]:
    """Weighted least-squares line y ≈ c0 + c1 x; returns (c0, c1, stderr of c1)."""
    w = np.ones_like(x) if w is None else w
    sw = w.sum()
    xm, ym = (w * x).sum() / sw, (w * y).sum() / sw
    sxx = (w * (x - xm) ** 2).sum()
    c1 = (w * (x - xm) * (y - ym)).sum() / sxx
    c0 = ym - c1 * xm
    resid = y - c0 - c1 * x
    dof = max(len(x) - 2, 1)
    s2 = (w * resid**2).sum() / sw * len(x) / dof
    return float(c0), float(c1), float(np.sqrt(s2 * len(x) / sw / sxx))


def _validate_ranked(values: np.ndarray, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < MIN_POINTS:
        raise SpecurateInputError(
            f"{name} has {v.size} values; a power-law fit needs at least {MIN_POINTS}."
        )
    if not np.all(np.isfinite(v)):
        raise SpecurateInputError(f"{name} contains NaN or infinite values.")
    return v


def estimate_floor(values: np.ndarray, *, cap: int | None = None, start: int = 1) -> float:
    r"""Additive floor ε of the model :math:`\lambda_k = C k^{-b} + \varepsilon` on ranks 1..cap.

    Fit by robust (soft-L1) least squares on :math:`\log \lambda_k` over ranks ``start..cap``,
    ε ≥ 0. Returns 0 when the data show no floor (ε below 1e-6 of the smallest value).
    """
    v = _validate_ranked(values, "the spectrum")
    cap = v.size if cap is None else min(cap, v.size)
    k = np.arange(start, cap + 1, dtype=float)
    lv = np.log(np.clip(v[start - 1 : cap], v[0] * 1e-300, None))
    c0, c1, _ = _ols(np.log(k), lv)
    eps0 = max(float(np.min(v[:cap])) * 0.5, v[0] * 1e-12)

    def resid(theta: np.ndarray) -> np.ndarray:
        logc, b, logeps = theta
        return np.logaddexp(logc - b * np.log(k), logeps) - lv

    lo = np.log(v[0]) - 40.0
    hi = np.log(max(v[cap - 1], v[0] * 1e-300)) + 1.0
    theta0 = np.array([c0, max(-c1, 1e-3), np.clip(np.log(eps0), lo + 1, hi - 0.5)])
    sol = optimize.least_squares(
        resid,
        theta0,
        loss="soft_l1",
        f_scale=0.05,
        bounds=([-np.inf, 1e-6, lo], [np.inf, 20.0, hi]),
    )
    eps = float(np.exp(sol.x[2]))
    # A floor below 1e-6 of the smallest fitted value is numerically indistinguishable from 0.
    return 0.0 if eps < 1e-6 * v[cap - 1] else eps


def select_fit_range(
    values: np.ndarray,
    *,
    n_samples: int | None = None,
    cap_fraction: float = 0.5,
    sample_fraction: float = 0.1,
    gap_factor: float = 1.0,
    floor_share: float = 0.005,
    head_z: float = 3.0,
    head_min_dev: float = 0.02,
    min_points: int = MIN_POINTS,
) -> tuple[int, int, float, int]:
    """Automatic rank range (k_min, k_max) for a power-law fit of a descending spectrum.

    Args:
        values: (m,) descending positive values λ_1 ≥ … ≥ λ_m (zeros are treated as absent).
        n_samples: number of examples the spectrum was estimated from (for the finite-sample cap).
        cap_fraction: keep ranks k ≤ cap_fraction·m, m = number of positive values.
        sample_fraction: keep ranks k ≤ sample_fraction·n. The range ends at the smallest of
            cap_fraction·m, sample_fraction·n and b₀·√(n/2), b₀ a preliminary slope: sample
            eigenvalues track the operator's only for k ≪ n (kernel eigenvalue bounds grow with
            k/n, Braun 2006), the smallest sample covariance eigenvalues are spread by
            Marchenko–Pastur noise, and once the relative gap b/k between neighbours falls below
            the sampling noise √(2/n) sample eigenvalues mix and carry an n-dependent bias that
            a bootstrap over examples would shift, not reveal.
        floor_share: exclude ranks where the fitted floor ε exceeds this share of C k^-b.
        head_z: drop leading ranks whose residual exceeds head_z residual standard deviations
            (keeping k_max ≥ 4·k_min, at least 0.6 decades)
        head_min_dev: … and exceeds this absolute deviation in log λ (0.02 ≈ 2%), so that smooth
            noise-free spectra do not lose their head to a tiny curvature.
        min_points: smallest number of ranks a range may hold.

    Returns:
        (k_min, k_max, floor, cap), ranks 1-based inclusive.
    """
    v = _validate_ranked(values, "the spectrum")
    positive = int(np.sum(v > v[0] * 1e-12)) if v[0] > 0 else 0
    n = np.inf if n_samples is None else int(n_samples)
    cap = int(np.floor(min(cap_fraction * positive, sample_fraction * n)))
    cap = max(cap, min(min_points, positive))
    if n_samples is not None and cap > min_points:
        # Perturbation theory for sample eigenvalues holds while the relative gap to the next
        # mode, ≈ b/k for a power law, exceeds the relative sampling noise √(2/n); beyond
        # k ≈ b·√(n/2) neighbouring modes mix and the estimates carry an n-dependent bias.
        k = np.arange(1, cap + 1, dtype=float)
        b0 = -_ols(np.log(k), np.log(np.clip(v[:cap], v[0] * 1e-300, None)))[1]
        cap = max(min(cap, int(gap_factor * max(b0, 0.0) * np.sqrt(n / 2.0))), min_points)
    if cap < min_points:
        raise SpecurateInputError(
            f"the spectrum has only {positive} positive values; a power-law "
            f"fit needs at least {min_points}."
        )
    # The floor is fitted on every trustworthy rank (beyond the cap too: that is where a floor
    # shows), leaving out the first 2% of them so that an outlying head does not pass for
    # curvature, then used to cut the fit range.
    floor_cap = int(max(cap, min(positive, 2 * sample_fraction * n)))
    floor = estimate_floor(v, cap=floor_cap, start=max(2, floor_cap // 50))
    k_max = cap
    if floor > 0:
        ok = np.flatnonzero(v[:cap] - floor >= floor / floor_share)
        k_max = max(int(ok[-1]) + 1 if ok.size else min_points, min_points)
    k_min = 1
    while k_max - k_min + 1 > min_points and 4 * (k_min + 1) <= k_max:
        k = np.arange(k_min, k_max + 1, dtype=float)
        c0, c1, _ = _ols(np.log(k), np.log(v[k_min - 1 : k_max]))
        r = np.log(v[k_min - 1 : k_max]) - c0 - c1 * np.log(k)
        sd = np.std(r[1:], ddof=2) if r.size > 3 else np.inf
        if abs(r[0]) > max(head_z * sd, head_min_dev):
            k_min += 1
        else:
            break
    return k_min, k_max, floor, cap


def fit_power_law(
    values: np.ndarray,
    *,
    fit_range: tuple[int, int] | None = None,
    n_samples: int | None = None,
    compare: bool = True,
    **range_options: Any,
) -> PowerLawFit:
    r"""Fit :math:`\lambda_k \approx C k^{-b}` by least squares in log-log coordinates.

    Args:
        values: (m,) descending positive spectrum λ_1 ≥ … ≥ λ_m.
        fit_range: (k_min, k_max), 1-based inclusive; chosen by :func:`select_fit_range` if None.
        n_samples: number of examples behind the spectrum (finite-sample cap).
        compare: also compare against exponential and cutoff alternatives.
        **range_options: passed to :func:`select_fit_range`.

    Returns:
        :class:`PowerLawFit`. ``b`` is the negative slope of log λ_k on log k.

    >>> fit = fit_power_law(np.arange(1, 201, dtype=float) ** -1.5)
    >>> round(fit.b, 6), fit.fit_range
    (1.5, (1, 100))
    """
    v = _validate_ranked(values, "the spectrum")
    if fit_range is None:
        k_min, k_max, floor, cap = select_fit_range(v, n_samples=n_samples, **range_options)
    else:
        k_min, k_max = (int(fit_range[0]), int(fit_range[1]))
        if not 1 <= k_min < k_max <= v.size or k_max - k_min + 1 < 3:
            raise SpecurateInputError(
                f"fit range {fit_range} is not a valid 1-based rank range "
                f"within 1..{v.size} holding at least 3 ranks."
            )
        floor, cap = 0.0, v.size
    # Inside the range the floor is at most `floor_share` of the signal; removing the fitted
    # floor takes out the remaining bias (about −0.3·floor_share·b without it).
    seg = v[k_min - 1 : k_max] - floor
    if np.any(seg <= 0):
        raise SpecurateInputError(
            f"the spectrum has non-positive values in ranks {k_min}..{k_max}."
        )
    lk, lv = np.log(np.arange(k_min, k_max + 1, dtype=float)), np.log(seg)
    c0, c1, se = _ols(lk, lv)
    ss_res = float(np.sum((lv - c0 - c1 * lk) ** 2))
    ss_tot = float(np.sum((lv - lv.mean()) ** 2))
    comps = compare_models(v, (k_min, k_max)) if compare else ()
    return PowerLawFit(
        b=-c1,
        log_c=c0,
        fit_range=(k_min, k_max),
        stderr=se,
        r2=1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        floor=floor,
        cap=cap,
        comparisons=comps,
    )


def _gauss_loglik(resid: np.ndarray) -> tuple[float, np.ndarray]:
    # Floor the variance so that exact (noise-free) data give R = 0 instead of ±inf.
    s2 = max(float(np.mean(resid**2)), 1e-20)
    point = -0.5 * (np.log(2 * np.pi * s2) + resid**2 / s2)
    return float(point.sum()), point


def compare_models(values: np.ndarray, fit_range: tuple[int, int]) -> tuple[ModeComparison, ...]:
    r"""Compare the power law with an exponential and a power law with exponential cutoff.

    On ranks ``fit_range`` the three models of :math:`y_k = \log \lambda_k` are linear least
    squares: power law :math:`c - b\log k`, exponential :math:`c - \beta k`, cutoff
    :math:`c - b \log k - \beta k`. ``R = ℓ_powerlaw − ℓ_alt`` (> 0 favours the power law).
    """
    k_min, k_max = fit_range
    k = np.arange(k_min, k_max + 1, dtype=float)
    y = np.log(np.asarray(values, dtype=float)[k_min - 1 : k_max])
    n = k.size

    def lstsq_resid(cols: list[np.ndarray]) -> np.ndarray:
        a = np.column_stack([np.ones_like(k), *cols])
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)
        return y - a @ coef

    l_pl, p_pl = _gauss_loglik(lstsq_resid([np.log(k)]))
    l_ex, p_ex = _gauss_loglik(lstsq_resid([k]))
    l_co, _ = _gauss_loglik(lstsq_resid([np.log(k), k]))
    out = []
    r = l_pl - l_ex
    sd = float(np.std(p_pl - p_ex))
    p = float(2 * stats.norm.sf(abs(r) / (sd * np.sqrt(n)))) if sd > 0 else 0.0
    out.append(ModeComparison("exponential", float(r), p, float(2 * (-l_ex) - 2 * (-l_pl))))
    r = l_pl - l_co  # ≤ 0: the cutoff model nests the power law
    p = float(stats.chi2.sf(max(-2 * r, 0.0), df=1))
    out.append(
        ModeComparison("cutoff", float(r), p, float((2 * 3 - 2 * l_co) - (2 * 2 - 2 * l_pl)))
    )
    return tuple(out)
