r"""Curation weights as an operator: what a fixed weighting does to the spectrum.

A curation rule with per-example weights :math:`w_i \ge 0`, normalized to mean 1, turns the data
operator T into :math:`T_w = M_{\sqrt w}\, T\, M_{\sqrt w}` (kernel :math:`k(x,y)\sqrt{w(x)w(y)}`).
In feature form (:mod:`specurate.spectrum.features`) its non-zero eigenvalues are those of
:math:`\Phi^\top \mathrm{diag}(w)\,\Phi/n`, with Φ centered under the *original* data. With
:math:`C = \max_i w_i`, :math:`C\,\Phi^\top\Phi - \Phi^\top \mathrm{diag}(w)\Phi
= \Phi^\top \mathrm{diag}(C - w)\Phi \succeq 0`, so :math:`0 \preceq T_w \preceq C\,T` and by
Courant–Fischer :math:`\lambda_k(T_w) \le C \lambda_k(T)` for every k (paper, Theorem 1). This
module checks that bound numerically, measures the exponent :math:`b_w` of the curated spectrum
against b (paired jackknife or bootstrap over examples), and locates the *finite region*: the
ranks where the eigenvalue ratio :math:`r_k = \lambda_k(T_w)/\lambda_k(T)` departs from its tail
value.

Eigenvectors of :math:`T_w` and T differ; ratios compare rank k with rank k. Under gradient
flow the time for the frontier to reach rank k scales as :math:`1/\lambda_k`, so :math:`r_k` is
the time compression at rank k (ignoring the rotation of eigenvectors).

**Finite-sample bias of b_w − b.** :math:`T_w` is estimated from fewer effective examples than
T (a 0/1 mask keeping n_kept: its sample eigenvalues carry the O(1/n_kept) bias of a sample of
n_kept), so raw slopes differ even for a uniformly random mask, which is neutral
(:math:`T_w = T` in the population after normalizing to mean 1): on digits, keeping 60% at
random gave raw b_w − b = +0.005 (SD over masks 0.008). Both spectra are therefore corrected
(:func:`~specurate.spectrum.debias.debias_eigenvalues` with ``floor_gaps``). The weighted
fourth moments :math:`\frac1n\sum_i w_i^2 z_{ik}^2 z_{ij}^2` already carry the factor
n/n_kept, so the bias scale is n, not n_kept (dividing by n_kept over-corrected T_w:
b_w − b = −0.008 on average for random 60% masks of digits, one SD).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from specurate._validate import check_choice, check_int, check_positive, check_real
from specurate.errors import SpecurateInputError
from specurate.spectrum.debias import fit_debiased, fourth_moments
from specurate.spectrum.estimate import CI_METHODS, JACKKNIFE_REPEATS, CiMethod
from specurate.spectrum.features import (
    MIN_EXAMPLES,
    RANK_TOL,
    Kernel,
    check_data,
    operator_features,
    scaled_data,
    unscale_eigenvalues,
    weighted_eigh,
)
from specurate.spectrum.powerlaw import PowerLawFit
from specurate.spectrum.resample import (
    WhitenedReplicates,
    bootstrap_ci,
    bootstrap_map,
    jackknife_ci,
    jackknife_map,
    refit_fixed_range,
)


@dataclass(frozen=True)
class ReweightReport:
    r"""Analysis of the curated operator :math:`T_w`.

    Two exponents of T appear: ``b`` (``fit.b``) is T's own fit on its automatic rank range, as
    :func:`~specurate.spectrum.estimate.estimate_spectrum` reports it (same value, same CI with
    the same ``ci_method``, ``groups``/``bootstrap`` and ``seed``); ``b_common`` is T fitted on
    the *common range* (:attr:`common_range`: T's range cut at T_w's own finite-sample limit),
    where ``b_w`` is fitted too. ``delta_b`` = b_w − b_common, **not** b_w − b: on a curved
    spectrum two different ranges differ in slope even when curation changes nothing, so a
    report of ``delta_b`` must show ``b_common`` (and the common range) next to ``b_w``.

    Attributes:
        n: number of examples.
        n_kept: examples with non-zero weight.
        C: largest normalized weight, max_i w_i (weights have mean 1).
        eigenvalues: (r,) spectrum of T, descending.
        eigenvalues_w: (r,) spectrum of T_w, descending.
        fit: power-law fit of T on its automatic range (b).
        fit_w: fit of T_w on the common range (``fit_w.fit_range`` is :attr:`common_range`).
        b_ci: CI of b (T's own range, held fixed in every replicate, as estimate_spectrum).
        b_w_ci: CI of b_w (common range held fixed in the replicates).
        b_common: b of T fitted on the common range.
        delta_b: b_w − b_common (both on the common range).
        delta_b_ci: paired CI of delta_b (the same replicates for T and T_w).
        loewner_upper_ok: λ_k(T_w) ≤ C λ_k(T)(1 + 1e-9) + 1e-12 λ_1 for every k.
        max_eig_ratio: max_k λ_k(T_w)/λ_k(T) over ranks with λ_k > 1e-12 λ_1 (≤ C).
        ratios: (r,) the ratios r_k (NaN where λ_k is numerically zero).
        tail_ratio: median of r_k over the tail half (in log k) of the fit range of T.
        k0: largest rank whose (5-rank running median) ratio departs from the tail value by
            more than ``tolerance`` (relative); 0 if none: the finite region is ranks 1..k0. It
            is only resolved below the tail window, i.e. up to about √(k_min k_max).
        frontier_gain: max over k ≤ k0 of the smoothed r_k / tail_ratio (1 if k0 = 0): the
            largest constant speed-up of the frontier inside the finite region relative to the
            tail (< 1: the curated operator is slower there).
        narrowing: True when b_w − b_common > 0 beyond the CI (pruning steepened the tail).
        bootstrap: number of replicates behind the CIs (jackknife groups or bootstrap
            resamples; 0: no CIs).
        ci: confidence level.
        ci_method: ``"jackknife"``, ``"bootstrap"`` or ``"none"``.
        b_common_ci: CI of b_common (common range held fixed in the replicates).
    """

    n: int
    n_kept: int
    C: float
    eigenvalues: np.ndarray
    eigenvalues_w: np.ndarray
    fit: PowerLawFit
    fit_w: PowerLawFit
    b_ci: tuple[float, float]
    b_w_ci: tuple[float, float]
    b_common: float
    delta_b: float
    delta_b_ci: tuple[float, float]
    loewner_upper_ok: bool
    max_eig_ratio: float
    ratios: np.ndarray
    tail_ratio: float
    k0: int
    frontier_gain: float
    tolerance: float
    narrowing: bool
    bootstrap: int
    ci: float
    ci_method: str = "jackknife"
    b_common_ci: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def b(self) -> float:
        """T's exponent on its own automatic range (``fit.fit_range``)."""
        return self.fit.b

    @property
    def b_w(self) -> float:
        """T_w's exponent on the common range."""
        return self.fit_w.b

    @property
    def common_range(self) -> tuple[int, int]:
        """(k_min, k_max), the ranks behind ``b_common``, ``b_w`` and ``delta_b``."""
        return self.fit_w.fit_range


def normalize_weights(weights: np.ndarray, n: int, *, source: str = "weights") -> np.ndarray:
    """Validate per-example weights and scale them to mean 1.

    Raises :class:`SpecurateInputError` for a wrong length, NaN/inf, negative or all-zero weights.
    """
    w = np.asarray(weights)
    if w.dtype.kind not in "biuf" or w.dtype.fields is not None:
        raise SpecurateInputError(f"{source} must be real numbers, got dtype {w.dtype}.")
    w = w.astype(np.float64, copy=False)
    if w.ndim == 2 and 1 in w.shape:
        w = w.ravel()
    if w.ndim != 1:
        raise SpecurateInputError(f"{source} must be one weight per example, got shape {w.shape}.")
    if w.size != n:
        raise SpecurateInputError(f"{source} has {w.size} weights but the data have {n} examples.")
    if not np.all(np.isfinite(w)):
        raise SpecurateInputError(f"{source} contains NaN or infinite weights.")
    if np.any(w < 0):
        raise SpecurateInputError(
            f"{source} contains negative weights (first at index {int(np.argmax(w < 0))})."
        )
    if not np.any(w > 0):
        raise SpecurateInputError(f"{source} has only zero weights.")
    if np.count_nonzero(w) < MIN_EXAMPLES:
        raise SpecurateInputError(
            f"{source} keeps {np.count_nonzero(w)} examples; the analysis "
            f"needs at least {MIN_EXAMPLES}."
        )
    w = w / w.max()  # weights near 1e308 would overflow their sum
    return w / w.mean()


def finite_region(
    ratios: np.ndarray, fit_range: tuple[int, int], *, tolerance: float
) -> tuple[float, int, float]:
    """Tail value of the eigenvalue ratios, the finite region K₀ and the frontier gain.

    The tail value is the median ratio over ranks in [√(k_min k_max), k_max] of the original
    fit range; K₀ is the largest rank ≤ k_max where the running median of r_k over 5 ranks
    departs from it by more than ``tolerance`` (relative); the frontier gain is the largest
    smoothed r_k / tail inside 1..K₀.
    """
    k_min, k_max = fit_range
    k_mid = int(np.ceil(np.sqrt(k_min * k_max)))
    tail = float(np.nanmedian(ratios[k_mid - 1 : k_max]))
    # A running median over 5 ranks keeps single noisy eigenvalues from setting K₀.
    padded = np.pad(ratios[:k_max], 2, mode="edge")
    smooth = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)
    dev = np.abs(smooth / tail - 1.0)
    off = np.flatnonzero(np.nan_to_num(dev, nan=0.0) > tolerance)
    k0 = int(off[-1] + 1) if off.size else 0
    gain = float(np.nanmax(smooth[:k0]) / tail) if k0 else 1.0
    return tail, k0, gain


def analyze_reweighting(
    x: np.ndarray,
    weights: np.ndarray,
    *,
    kernel: Kernel = "linear",
    center: bool = True,
    bandwidth: float | None = None,
    top: int | None = None,
    tolerance: float = 0.1,
    bootstrap: int = 100,
    ci: float = 0.9,
    seed: int = 0,
    ci_method: CiMethod = "jackknife",
    groups: int = 20,
    repeats: int = JACKKNIFE_REPEATS,
    progress: bool = False,
) -> ReweightReport:
    r"""Spectrum of the curated operator :math:`T_w` against T, with paired resampling CIs.

    Exponents (see :class:`ReweightReport`): ``b`` is T's own fit on its automatic range,
    exactly as :func:`~specurate.spectrum.estimate.estimate_spectrum` computes it (value and
    CI); ``b_w`` and ``b_common`` are T_w and T fitted on the *common range* — T's range with
    k_max cut at T_w's own finite-sample limit — and ``delta_b = b_w − b_common`` (not
    b_w − b). Both spectra on the common range are corrected for their finite-sample bias at
    their own sample sizes (:func:`~specurate.spectrum.debias.debias_eigenvalues` with
    ``floor_gaps``; the module docstring says why).

    Intervals: every replicate drops (jackknife) or resamples (bootstrap) the same examples
    from T and T_w (a paired design: the weight goes with its example), so the interval of
    delta_b reflects the difference, not the two spreads. Replicates hold T's own range fixed
    for b, as estimate_spectrum does, and the common range for b_w, b_common and delta_b: the
    range choice is a discrete step whose jumps the jackknife scales by G − 1 (digits: one of
    20 replicates whose k_min moved from 3 to 2 widened b's jackknife CI about 6×), and b_w
    and b_common move together under it. The jackknife's variance is averaged over
    ``repeats`` fold assignments. On random masks (neutral:
    b_w − b = 0) the 90% jackknife interval of delta_b covered 0 in 89% of 1,500 masks of
    planted power laws and digits (82–94% per setting and kept fraction; measured with one fold
    assignment, before the averaging), see BENCHMARKS.md, "b_w − b coverage under random
    masks".

    Args:
        x: (n, d) examples (or an (n, n) Gram matrix with ``kernel="gram"``).
        weights: (n,) non-negative per-example weights (any scale; normalized to mean 1).
        kernel: the operator, ``"linear"``, ``"rbf"`` or ``"gram"`` (:func:`operator_features`).
        center: center the features or the Gram matrix (:func:`operator_features`).
        bandwidth: RBF bandwidth σ, default the median heuristic (:func:`operator_features`).
        top: modes to compute for kernels (:func:`operator_features`).
        tolerance: relative departure of r_k from its tail value that defines K₀.
        bootstrap: bootstrap resamples with ``ci_method="bootstrap"``. ``bootstrap=0`` turns
            the intervals (and the narrowing test) off whatever ``ci_method`` says, as before
            the jackknife became the default.
        ci: confidence level.
        seed: seed of all randomness (jackknife folds, bootstrap resamples, kernel sketches).
        ci_method: ``"jackknife"`` (default; normal intervals from ``groups`` delete-one-group
            replicates, :func:`~specurate.spectrum.resample.jackknife_ci`), ``"bootstrap"``
            (basic intervals, :func:`~specurate.spectrum.resample.bootstrap_ci`) or ``"none"``.
        groups: jackknife groups, 2 ≤ G ≤ n.
        repeats: jackknife fold assignments the variance is averaged over (as
            estimate_spectrum, :func:`~specurate.spectrum.resample.jackknife_se`).
        progress: show a progress bar over the replicates (stderr).

    Raises:
        SpecurateInputError: bad weights, ``ci_method``, ``groups``, ``bootstrap`` or ``ci``,
            or a curated spectrum that cannot be fitted.
    """
    x = check_data(x)
    # huge or tiny values: analysed as x·2^k, the report scaled back (features.scaled_data)
    x, bandwidth, scale = scaled_data(x, kernel, bandwidth)
    check_positive("tolerance", tolerance)
    n = x.shape[0]
    w = normalize_weights(weights, n)
    n_rep = _n_replicates(ci, ci_method, groups=groups, bootstrap=bootstrap, n=n)
    method = ci_method if n_rep else "none"
    n_kept = int(np.count_nonzero(w))
    op = operator_features(x, kernel=kernel, center=center, bandwidth=bandwidth, top=top, seed=seed)
    lam, v = weighted_eigh(op.features)
    lam_w, v_w = weighted_eigh(op.features, w)
    c_max = float(w.max())
    m_t = fourth_moments(op.features, v)
    # (1/n) Σ w_i² z_ik² z_ij²: n·Var of T_w's entries; the bias scale is n (not n_kept).
    m_w = fourth_moments(op.features, v_w, w)
    fit, fit_c, fit_w = compare_fits(lam, lam_w, n=n, n_kept=n_kept, m_t=m_t, m_w=m_w)
    common = fit_w.fit_range
    repeats = check_int("repeats", repeats, lo=1) if method == "jackknife" else 1
    # (b, b_w, b_common, b_w − b_common) per replicate
    reps = np.full((n_rep * repeats, 4), np.nan)
    if n_rep:
        engine = WhitenedReplicates(op.features, lam, v, None, center)

        def replicate(counts: np.ndarray) -> tuple[float, float, float, float]:
            # Resampling (or dropping a group) scales the variance of every covariance entry,
            # T_w's included (its moments carry the weights), by Σc²/n: n_eff = n²/Σc².
            n_eff = n * n / float(counts @ counts)
            lam_b = engine.replicate(counts)[0]
            lam_wb = None
            if np.count_nonzero(counts * w) >= MIN_EXAMPLES:
                try:
                    lam_wb = engine.replicate(counts, w)[0]
                except SpecurateInputError:
                    lam_wb = None
            return replicate_fits(
                lam_b,
                lam_wb,
                n=n,
                n_eff=n_eff,
                n_kept=n_kept,
                common=common,
                m_t=m_t,
                m_w=m_w,
                fit=fit,
            )

        if method == "jackknife":
            reps[:] = jackknife_map(
                replicate, n, n_rep, seed=seed, repeats=repeats, progress=progress
            )
        else:
            reps[:] = bootstrap_map(replicate, n, n_rep, seed=seed, progress=progress)

    def interval(estimate: float, replicates: np.ndarray, level: float) -> tuple[float, float]:
        if method == "jackknife":
            return jackknife_ci(estimate, replicates, level, repeats=repeats)
        return bootstrap_ci(estimate, replicates, level)

    report = reweight_report(
        lam,
        lam_w,
        (fit, fit_c, fit_w),
        n=n,
        n_kept=n_kept,
        c_max=c_max,
        reps=reps,
        interval=interval,
        ci=ci,
        tolerance=tolerance,
        method=method,
    )
    if scale and kernel == "linear":
        report = replace(
            report,
            eigenvalues=unscale_eigenvalues(report.eigenvalues, scale, kernel, "data"),
            eigenvalues_w=unscale_eigenvalues(report.eigenvalues_w, scale, kernel, "data"),
            fit=_unscale_fit(report.fit, scale),
            fit_w=_unscale_fit(report.fit_w, scale),
        )
    return report


def _unscale_fit(fit: PowerLawFit, k: int) -> PowerLawFit:
    """A fit of the spectrum of x·2^k as one of x's (floor and intercept by 2^(−2k))."""
    return replace(
        fit, floor=float(np.ldexp(fit.floor, -2 * k)), log_c=fit.log_c - 2 * k * np.log(2.0)
    )


def compare_fits(
    lam: np.ndarray,
    lam_w: np.ndarray,
    *,
    n: int,
    n_kept: int,
    m_t: np.ndarray | None = None,
    m_w: np.ndarray | None = None,
) -> tuple[PowerLawFit, PowerLawFit, PowerLawFit]:
    """T's own fit, T on the common range and T_w on the common range (debiased with the
    fourth moments ``m_t`` / ``m_w``, or the Gaussian plug-in when None).

    b and b_w are compared on one rank range (T's, cut at T_w's own finite-sample limit): on a
    curved spectrum two different ranges would differ in slope even if curation changed
    nothing. The common range is ``fit_w.fit_range``.

    Raises:
        SpecurateInputError: T_w cannot be fitted.
    """
    fit = fit_debiased(lam, n=n, moments=m_t)
    try:
        own_w = fit_debiased(lam_w, moments=m_w, n_eff=n, n=n_kept, compare=False, floor_gaps=True)
    except SpecurateInputError as exc:
        raise SpecurateInputError(f"the curated operator T_w cannot be fitted: {exc}") from None
    k_min = fit.fit_range[0]
    common = (k_min, max(k_min + 4, min(fit.fit_range[1], own_w.fit_range[1])))
    fit_c = fit_debiased(
        lam, moments=m_t, n_eff=n, n=n, fit_range=common, compare=False, floor_gaps=True
    )
    fit_w = fit_debiased(
        lam_w, moments=m_w, n_eff=n, n=n_kept, fit_range=common, compare=True, floor_gaps=True
    )
    return fit, fit_c, fit_w


def replicate_fits(
    lam_b: np.ndarray,
    lam_wb: np.ndarray | None,
    *,
    n: int,
    n_eff: float,
    n_kept: int,
    common: tuple[int, int],
    m_t: np.ndarray | None = None,
    m_w: np.ndarray | None = None,
    fit: PowerLawFit | None = None,
) -> tuple[float, float, float, float]:
    """(b, b_w, b_common, b_w − b_common) of one replicate, the common range held fixed; NaN
    where a fit fails or T_w's replicate is missing (``lam_wb`` None: too few kept examples).
    With ``fit`` (T's full-data fit) b is refitted on its range, floor and cap, as in
    estimate_spectrum (:func:`~specurate.spectrum.resample.refit_fixed_range`); without, T's
    range is re-chosen. Resampling or dropping a group scales every covariance entry's
    variance, T_w's included, by n/n_eff."""
    try:
        if fit is not None:
            m = np.outer(lam_b, lam_b) if m_t is None else m_t
            b_b = refit_fixed_range(lam_b, fit, n_eff=n_eff, moments=m).b
        else:
            b_b = fit_debiased(lam_b, n=n, n_eff=n_eff, moments=m_t, compare=False).b
    except SpecurateInputError:
        b_b = np.nan
    if lam_wb is None:
        return (b_b, np.nan, np.nan, np.nan)
    try:
        bc_b = fit_debiased(
            lam_b, moments=m_t, n_eff=n_eff, n=n, fit_range=common, compare=False, floor_gaps=True
        ).b
        bw_b = fit_debiased(
            lam_wb,
            moments=m_w,
            n_eff=n_eff,
            n=n_kept,
            fit_range=common,
            compare=False,
            floor_gaps=True,
        ).b
    except SpecurateInputError:
        return (b_b, np.nan, np.nan, np.nan)
    return (b_b, bw_b, bc_b, bw_b - bc_b)


def reweight_report(
    lam: np.ndarray,
    lam_w: np.ndarray,
    fits: tuple[PowerLawFit, PowerLawFit, PowerLawFit],
    *,
    n: int,
    n_kept: int,
    c_max: float,
    reps: np.ndarray,
    interval: Callable[[float, np.ndarray, float], tuple[float, float]],
    ci: float,
    tolerance: float,
    method: str,
) -> ReweightReport:
    """The :class:`ReweightReport` of the two spectra, their fits (:func:`compare_fits`) and
    the (R, 4) replicates of :func:`replicate_fits` (R = 0: no CIs), with the ratio checks
    and the finite region."""
    fit, fit_c, fit_w = fits
    n_rep = reps.shape[0]
    scale = lam[0]
    ok = lam > scale * RANK_TOL
    ratios = np.full(lam.shape, np.nan)
    ratios[ok] = lam_w[ok] / lam[ok]
    loewner_ok = bool(np.all(lam_w <= c_max * lam * (1 + 1e-9) + 1e-12 * scale))
    tail, k0, gain = finite_region(ratios, fit.fit_range, tolerance=tolerance)
    nan2 = (float("nan"), float("nan"))

    def ci_of(estimate: float, column: int) -> tuple[float, float]:
        return interval(estimate, reps[:, column], ci) if n_rep else nan2

    delta = fit_w.b - fit_c.b
    delta_ci = ci_of(delta, 3)
    return ReweightReport(
        n=n,
        n_kept=n_kept,
        C=c_max,
        eigenvalues=lam,
        eigenvalues_w=lam_w,
        fit=fit,
        fit_w=fit_w,
        b_ci=ci_of(fit.b, 0),
        b_w_ci=ci_of(fit_w.b, 1),
        b_common=fit_c.b,
        delta_b=delta,
        delta_b_ci=delta_ci,
        loewner_upper_ok=loewner_ok,
        max_eig_ratio=float(np.nanmax(ratios)),
        ratios=ratios,
        tail_ratio=tail,
        k0=k0,
        frontier_gain=gain,
        tolerance=tolerance,
        narrowing=bool(n_rep and delta_ci[0] > 1e-8),  # > 0 beyond rounding
        bootstrap=n_rep,
        ci=ci,
        ci_method=method,
        b_common_ci=ci_of(fit_c.b, 2),
    )


def _n_replicates(ci: float, ci_method: str, *, groups: int, bootstrap: int, n: int) -> int:
    """Check the interval settings; the number of replicates they ask for (0: no CIs)."""
    check_real("ci (the confidence level)", ci, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    check_choice("ci_method", ci_method, CI_METHODS)
    bootstrap = check_int("bootstrap", bootstrap, lo=0, what="a non-negative integer")
    if ci_method == "jackknife":
        groups = check_int("groups", groups, lo=2, hi=n)
    if bootstrap == 0 or ci_method == "none":
        return 0
    if ci_method == "bootstrap" and bootstrap < 2:
        raise SpecurateInputError(
            f"the bootstrap needs at least 2 replicates (bootstrap={bootstrap})."
        )
    return groups if ci_method == "jackknife" else bootstrap
