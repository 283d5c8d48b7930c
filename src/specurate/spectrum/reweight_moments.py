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
from specurate.spectrum.features import MIN_EXAMPLES, small_eigh
from specurate.spectrum.moments import Moments, WeightedMoments, merge_weighted, tree_merge
from specurate.spectrum.resample import jackknife_ci
from specurate.spectrum.reweight import (
    ReweightReport,
    compare_fits,
    replicate_fits,
    reweight_report,
)

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
    fits = compare_fits(lam, lam_w, n=n, n_kept=n_kept)
    common = fits[2].fit_range
    g_count = len(groups) if len(groups) >= 2 else 0
    reps = np.full((g_count, 4), np.nan)  # (b, b_w, b_common, b_w − b_common)
    for g in range(g_count):
        m_g = tree_merge([m for h, m in enumerate(groups) if h != g])
        w_g = _weighted_tree([m for h, m in enumerate(wgroups) if h != g])
        t_g, tw_g = _operators(m_g, w_g) if w_g.weight > 0 else (m_g.scatter / m_g.n, None)
        lam_wb = None if tw_g is None or w_g.kept < MIN_EXAMPLES else _eig(tw_g)
        reps[g] = replicate_fits(_eig(t_g), lam_wb, n=n, n_eff=m_g.n, n_kept=n_kept, common=common)
    return reweight_report(
        lam,
        lam_w,
        fits,
        n=n,
        n_kept=n_kept,
        c_max=c_max,
        reps=reps,
        interval=jackknife_ci,
        ci=ci,
        tolerance=tolerance,
        method="jackknife" if g_count else "none",
    )
