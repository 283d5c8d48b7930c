r"""The reweighting analysis of :func:`~specurate.spectrum.reweight.analyze_reweighting` from
mergeable moments: T against :math:`T_w` for data read in shards or chunks.

With weights w normalized to mean 1 over the n examples and the unweighted mean
:math:`\bar x`, the linear operators are

.. math::

    T = \frac1n\sum_i (x_i-\bar x)(x_i-\bar x)^\top = \frac{M}{n}, \qquad
    T_w = \frac1n\sum_i w_i (x_i-\bar x)(x_i-\bar x)^\top
        = \frac{M_w + W\,\delta\delta^\top}{W},\quad \delta = \bar x_w - \bar x,

where :math:`(n, \bar x, M)` are the :class:`~specurate.spectrum.moments.Moments` and
:math:`(W, \bar x_w, M_w)` the :class:`~specurate.spectrum.moments.WeightedMoments` of the raw
weights (W = Σ w; the normalization cancels). Both merge exactly over partitions, and so does
every delete-one-group replicate: dropping group g gives the same formulas over the other
groups — exactly the paired replicate of the in-memory analysis (weights renormalized to mean 1
on the rows kept, the operator recentered on them).

The fits, common range, Loewner check and finite region are those of the in-memory analysis.
One difference: the finite-sample debiasing uses the Gaussian plug-in for the fourth moments
(one pass cannot have them before the eigenvectors are known), as the streaming spectrum does;
on the built-in data the two agree on b_w − b to well inside its CI
(``tests/engine/test_reweight.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from specurate.errors import SpecurateInputError
from specurate.spectrum.debias import fit_debiased
from specurate.spectrum.features import MIN_EXAMPLES, RANK_TOL, small_eigh
from specurate.spectrum.moments import Moments, WeightedMoments, merge_weighted, tree_merge
from specurate.spectrum.resample import jackknife_ci
from specurate.spectrum.reweight import ReweightReport, finite_region

__all__ = ["reweight_from_moments"]


def _weighted_tree(parts: Sequence[WeightedMoments]) -> WeightedMoments:
    level = list(parts)
    while len(level) > 1:
        nxt = [merge_weighted(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _eig(c: np.ndarray) -> np.ndarray:
    return small_eigh(0.5 * (c + c.T))[0]


def _operators(m: Moments, wm: WeightedMoments) -> tuple[np.ndarray, np.ndarray]:
    """(T, T_w) of one row set, weights renormalized to mean 1 on it."""
    delta = wm.mean - m.mean
    return m.scatter / m.n, (wm.scatter + wm.weight * np.outer(delta, delta)) / wm.weight


def reweight_from_moments(
    groups: Sequence[Moments],
    wgroups: Sequence[WeightedMoments],
    *,
    ci: float = 0.9,
    tolerance: float = 0.1,
) -> ReweightReport:
    r"""What fixed weights do to the covariance spectrum, from per-group moments.

    Args:
        groups: G moments of contiguous row groups (G ≥ 2 for CIs; G = 1: none).
        wgroups: the same groups' weighted moments (raw weights ≥ 0).
        ci: confidence level of the delete-one-group jackknife intervals.
        tolerance: relative departure defining the finite region K₀
            (:func:`~specurate.spectrum.reweight.finite_region`).

    Returns:
        A :class:`~specurate.spectrum.reweight.ReweightReport` (``ci_method="jackknife"``,
        ``bootstrap`` = G replicates).

    Raises:
        SpecurateInputError: no positive weight, mismatched groups, or T_w cannot be fitted.
    """
    if len(groups) != len(wgroups) or not groups:
        raise SpecurateInputError("the reweighting needs the same groups with and without weights.")
    total, wtotal = tree_merge(groups), _weighted_tree(wgroups)
    n, n_kept = total.n, wtotal.kept
    if wtotal.weight <= 0:
        raise SpecurateInputError("the weights are all zero.")
    c_max = wtotal.max_weight * n / wtotal.weight
    t, tw = _operators(total, wtotal)
    lam, lam_w = _eig(t), _eig(tw)
    fit = fit_debiased(lam, n=n)
    try:
        own_w = fit_debiased(lam_w, n_eff=n, n=n_kept, compare=False, floor_gaps=True)
    except SpecurateInputError as exc:
        raise SpecurateInputError(f"the curated operator T_w cannot be fitted: {exc}") from None
    k_min = fit.fit_range[0]
    common = (k_min, max(k_min + 4, min(fit.fit_range[1], own_w.fit_range[1])))
    fit_c = fit_debiased(lam, n_eff=n, n=n, fit_range=common, compare=False, floor_gaps=True)
    fit_w = fit_debiased(lam_w, n_eff=n, n=n_kept, fit_range=common, compare=True, floor_gaps=True)
    scale = lam[0]
    ok = lam > scale * RANK_TOL
    ratios = np.full(lam.shape, np.nan)
    ratios[ok] = lam_w[ok] / lam[ok]
    loewner_ok = bool(np.all(lam_w <= c_max * lam * (1 + 1e-9) + 1e-12 * scale))
    tail, k0, gain = finite_region(ratios, fit.fit_range, tolerance=tolerance)
    g_count = len(groups) if len(groups) >= 2 else 0
    reps = np.full((g_count, 4), np.nan)  # (b, b_w, b_common, b_w − b_common)
    for g in range(g_count):
        m_g = tree_merge([m for h, m in enumerate(groups) if h != g])
        w_g = _weighted_tree([m for h, m in enumerate(wgroups) if h != g])
        n_eff = m_g.n
        t_g, tw_g = _operators(m_g, w_g) if w_g.weight > 0 else (m_g.scatter / m_g.n, None)
        lam_b = _eig(t_g)
        try:
            b_b = fit_debiased(lam_b, n=n, n_eff=n_eff, compare=False).b
        except SpecurateInputError:
            b_b = np.nan
        if tw_g is None or w_g.kept < MIN_EXAMPLES:
            reps[g] = (b_b, np.nan, np.nan, np.nan)
            continue
        try:
            kw = {"n_eff": n_eff, "fit_range": common, "compare": False, "floor_gaps": True}
            bc_b = fit_debiased(lam_b, n=n, **kw).b  # type: ignore[arg-type]
            bw_b = fit_debiased(_eig(tw_g), n=n_kept, **kw).b  # type: ignore[arg-type]
        except SpecurateInputError:
            reps[g] = (b_b, np.nan, np.nan, np.nan)
            continue
        reps[g] = (b_b, bw_b, bc_b, bw_b - bc_b)
    nan2 = (float("nan"), float("nan"))

    def ci_of(estimate: float, column: int) -> tuple[float, float]:
        return jackknife_ci(estimate, reps[:, column], ci) if g_count else nan2

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
        narrowing=bool(g_count and delta_ci[0] > 1e-8),
        bootstrap=g_count,
        ci=ci,
        ci_method="jackknife" if g_count else "none",
        b_common_ci=ci_of(fit_c.b, 2),
    )
