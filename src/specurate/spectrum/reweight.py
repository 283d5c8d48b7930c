r"""Curation weights as an operator: what a fixed weighting does to the spectrum.

A curation rule with per-example weights :math:`w_i \ge 0`, normalized to mean 1, turns the data
operator T into :math:`T_w = M_{\sqrt w}\, T\, M_{\sqrt w}` (kernel :math:`k(x,y)\sqrt{w(x)w(y)}`).
In feature form (:mod:`specurate.spectrum.features`) its non-zero eigenvalues are those of
:math:`\Phi^\top \mathrm{diag}(w)\,\Phi/n`, with Φ centered under the *original* data. With
:math:`C = \max_i w_i`, :math:`C\,\Phi^\top\Phi - \Phi^\top \mathrm{diag}(w)\Phi
= \Phi^\top \mathrm{diag}(C - w)\Phi \succeq 0`, so :math:`0 \preceq T_w \preceq C\,T` and by
Courant–Fischer :math:`\lambda_k(T_w) \le C \lambda_k(T)` for every k (paper, Theorem 1). This
module checks that bound numerically, measures the exponent :math:`b_w` of the curated spectrum
against b (paired bootstrap), and locates the *finite region*: the ranks where the eigenvalue
ratio :math:`r_k = \lambda_k(T_w)/\lambda_k(T)` departs from its tail value.

Eigenvectors of :math:`T_w` and T differ; ratios compare rank k with rank k. Under gradient
flow the time for the frontier to reach rank k scales as :math:`1/\lambda_k`, so :math:`r_k` is
the time compression at rank k (ignoring the rotation of eigenvectors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specurate._validate import check_positive
from specurate.errors import SpecurateInputError
from specurate.spectrum.debias import fit_debiased, fourth_moments
from specurate.spectrum.features import (
    MIN_EXAMPLES,
    RANK_TOL,
    Kernel,
    check_data,
    operator_features,
    weighted_eigh,
)
from specurate.spectrum.powerlaw import PowerLawFit
from specurate.spectrum.resample import WhitenedReplicates, bootstrap_ci, bootstrap_map


@dataclass(frozen=True)
class ReweightReport:
    r"""Analysis of the curated operator :math:`T_w`.

    Attributes:
        n: number of examples.
        n_kept: examples with non-zero weight.
        C: largest normalized weight, max_i w_i (weights have mean 1).
        eigenvalues: (r,) spectrum of T, descending.
        eigenvalues_w: (r,) spectrum of T_w, descending.
        fit: power-law fit of T on its automatic range (b, b_ci).
        fit_w: fit of T_w on the common range: T's range cut at T_w's own finite-sample limit.
        b_ci: bootstrap CI of b.
        b_w_ci: bootstrap CI of b_w.
        b_common: b of T fitted on the common range.
        delta_b: b_w − b_common (both on the common range).
        delta_b_ci: paired bootstrap CI of delta_b.
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
        narrowing: True when b_w − b > 0 beyond the CI (hard pruning steepened the tail).
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

    @property
    def b(self) -> float:
        return self.fit.b

    @property
    def b_w(self) -> float:
        return self.fit_w.b


def normalize_weights(weights: np.ndarray, n: int, *, source: str = "weights") -> np.ndarray:
    """Validate per-example weights and scale them to mean 1.

    Raises :class:`SpecurateInputError` for a wrong length, NaN/inf, negative or all-zero weights.
    """
    w = np.asarray(weights, dtype=np.float64)
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
    progress: bool = False,
) -> ReweightReport:
    r"""Spectrum of the curated operator :math:`T_w` against T, with paired bootstrap CIs.

    Args:
        x: (n, d) examples (or an (n, n) Gram matrix with ``kernel="gram"``).
        weights: (n,) non-negative per-example weights (any scale; normalized to mean 1).
        kernel: the operator, ``"linear"``, ``"rbf"`` or ``"gram"`` (:func:`operator_features`).
        center: center the features or the Gram matrix (:func:`operator_features`).
        bandwidth: RBF bandwidth σ, default the median heuristic (:func:`operator_features`).
        top: modes to compute for kernels (:func:`operator_features`).
        tolerance: relative departure of r_k from its tail value that defines K₀.
        bootstrap: paired bootstrap replicates over examples (0: no CIs, no narrowing test).
        ci: confidence level.
        seed: seed of all randomness.
    """
    x = check_data(x)
    check_positive("tolerance", tolerance)
    n = x.shape[0]
    w = normalize_weights(weights, n)
    n_kept = int(np.count_nonzero(w))
    op = operator_features(x, kernel=kernel, center=center, bandwidth=bandwidth, top=top, seed=seed)
    lam, v = weighted_eigh(op.features)
    lam_w, v_w = weighted_eigh(op.features, w)
    c_max = float(w.max())
    m_t = fourth_moments(op.features, v)
    m_w = fourth_moments(op.features, v_w, w)
    fit = fit_debiased(lam, n=n, moments=m_t)
    try:
        auto_w = fit_debiased(lam_w, n=n_kept, moments=m_w, compare=False)
    except SpecurateInputError as exc:
        raise SpecurateInputError(f"the curated operator T_w cannot be fitted: {exc}") from None
    # b and b_w are compared on one rank range (T's, cut at T_w's own limit): on a curved
    # spectrum two different ranges would differ in slope even if curation changed nothing.
    common = (
        fit.fit_range[0],
        max(fit.fit_range[0] + 4, min(fit.fit_range[1], auto_w.fit_range[1])),
    )
    fit_c = fit_debiased(lam, n=n, moments=m_t, fit_range=common, compare=False)
    fit_w = fit_debiased(lam_w, n=n_kept, moments=m_w, fit_range=common)
    scale = lam[0]
    ok = lam > scale * RANK_TOL
    ratios = np.full(lam.shape, np.nan)
    ratios[ok] = lam_w[ok] / lam[ok]
    loewner_ok = bool(np.all(lam_w <= c_max * lam * (1 + 1e-9) + 1e-12 * scale))
    tail, k0, gain = finite_region(ratios, fit.fit_range, tolerance=tolerance)
    bs = np.full((bootstrap, 3), np.nan)
    if bootstrap:
        engine = WhitenedReplicates(op.features, lam, v, None, center)

        def replicate(counts: np.ndarray) -> tuple[float, float, float]:
            kept = int(np.count_nonzero(counts * w))
            if kept < MIN_EXAMPLES:
                return (np.nan, np.nan, np.nan)
            try:
                # Resampling inflates the variance of every covariance entry by Σc²/n.
                n_eff = n * n / float(counts @ counts)
                lam_b = engine.replicate(counts)[0]
                b_b = fit_debiased(lam_b, n=n, n_eff=n_eff, moments=m_t, compare=False).b
                b_bc = fit_debiased(
                    lam_b, n=n, n_eff=n_eff, moments=m_t, fit_range=common, compare=False
                ).b
                lam_wb = engine.replicate(counts, w)[0]
                b_wb = fit_debiased(
                    lam_wb, n=kept, n_eff=n_eff, moments=m_w, fit_range=common, compare=False
                ).b
            except SpecurateInputError:
                return (np.nan, np.nan, np.nan)
            return (b_b, b_wb, b_wb - b_bc)

        bs[:] = bootstrap_map(replicate, n, bootstrap, seed=seed, progress=progress)
    nan2 = (float("nan"), float("nan"))
    delta = fit_w.b - fit_c.b
    delta_ci = bootstrap_ci(delta, bs[:, 2], ci) if bootstrap else nan2
    return ReweightReport(
        n=n,
        n_kept=n_kept,
        C=c_max,
        eigenvalues=lam,
        eigenvalues_w=lam_w,
        fit=fit,
        fit_w=fit_w,
        b_ci=bootstrap_ci(fit.b, bs[:, 0], ci) if bootstrap else nan2,
        b_w_ci=bootstrap_ci(fit_w.b, bs[:, 1], ci) if bootstrap else nan2,
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
        narrowing=bool(bootstrap and delta_ci[0] > 1e-8),  # > 0 beyond rounding
        bootstrap=bootstrap,
        ci=ci,
    )
