r"""Resampling over examples: bootstrap and jackknife replicates, and their intervals.

Replicates are computed in the whitened eigenbasis of the full-data operator,
:math:`\tilde Z = \Phi V \Lambda^{-1/2}`, whose covariance is the identity: the weighted Gram of
:math:`\tilde Z` is formed in float32 (4-8× faster than float64) with a relative error that is
uniform across modes (~1e-6), and rescaled by :math:`\Lambda^{1/2}` on both sides in float64, so
small eigenvalues keep full relative accuracy (:class:`WhitenedReplicates`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from specurate import _rng
from specurate.spectrum.features import RANK_TOL, small_eigh
from specurate.spectrum.target import mode_energies

__all__ = [
    "WhitenedReplicates",
    "bootstrap_ci",
    "bootstrap_map",
    "jackknife_ci",
    "jackknife_map",
]

R = TypeVar("R")


def bootstrap_ci(estimate: float, replicates: np.ndarray, level: float) -> tuple[float, float]:
    r"""Basic (reflected) bootstrap interval :math:`[2\hat\theta - q_{1-\alpha/2},\;
    2\hat\theta - q_{\alpha/2}]` from replicate quantiles q.

    Spectral estimators carry an O(1/n) finite-sample bias that a resample reproduces (with
    repeated examples it roughly doubles): the replicates sit on the far side of the estimate
    from the truth. The percentile interval then points the wrong way (on planted spectra it
    covered b in 6% of seeds); reflecting about the estimate corrects it (94%). NaN replicates
    (failed fits) are dropped; fewer than 2 left gives (nan, nan).
    """
    s = replicates[np.isfinite(replicates)]
    if s.size < 2 or not np.isfinite(estimate):
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(s, [(1 - level) / 2, (1 + level) / 2])
    return (float(2 * estimate - hi), float(2 * estimate - lo))


def jackknife_ci(estimate: float, replicates: np.ndarray, level: float) -> tuple[float, float]:
    r"""Normal interval :math:`\hat\theta \pm z\,\widehat{se}` with the delete-one-group
    jackknife :math:`\widehat{se}^2 = \frac{G-1}{G}\sum_g (\theta_{(g)} - \bar\theta)^2`."""
    r = replicates[np.isfinite(replicates)]
    if r.size < 2 or not np.isfinite(estimate):
        return (float("nan"), float("nan"))
    se = float(np.sqrt((r.size - 1) / r.size * np.sum((r - r.mean()) ** 2)))
    z = float(stats.norm.ppf((1 + level) / 2))
    return (float(estimate - z * se), float(estimate + z * se))


class WhitenedReplicates:
    """Bootstrap engine: weighted operators in the whitened eigenbasis (float32 Gram).

    A replicate with multinomial counts c (and optional curation weights w, mean 1 under c)
    re-centers the features under the resampled data (when the operator is centered) and
    returns the eigenvalues of Σ_i c_i w_i (φ_i − m_c)(φ_i − m_c)ᵀ / n, plus target energies.
    """

    def __init__(
        self, phi: np.ndarray, lam: np.ndarray, v: np.ndarray, yc: np.ndarray | None, center: bool
    ) -> None:
        keep = lam > lam[0] * RANK_TOL
        self.sqrt_lam = np.sqrt(lam[keep])
        self.z = ((phi @ v[:, keep]) / self.sqrt_lam).astype(np.float32)
        self.y = None if yc is None else yc.astype(np.float32)
        self.center, self.n, self.r_full = center, phi.shape[0], lam.size

    def replicate(
        self, counts: np.ndarray, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        n, s = self.n, self.sqrt_lam
        c = counts.astype(np.float64)
        cw = c if weights is None else c * weights / (c @ weights / n)
        zcw = self.z * cw.astype(np.float32)[:, None]
        g = (zcw.T @ self.z).astype(np.float64) / n
        if self.center:
            m_c = (c.astype(np.float32) @ self.z).astype(np.float64) / n
            m_w = zcw.sum(axis=0, dtype=np.float64) / n
            g += np.outer(m_c, m_c) - np.outer(m_w, m_c) - np.outer(m_c, m_w)
        lam, vec = small_eigh(s[:, None] * g * s[None, :])
        full = np.zeros(self.r_full)
        full[: lam.size] = lam
        if self.y is None:
            return full, None
        h = (zcw.T @ self.y).astype(np.float64) / n
        if self.center:  # Σ c w (φ − m_c)(y − ȳ_c)ᵀ / n with Σ c w / n = 1
            y_c = (c.astype(np.float32) @ self.y).astype(np.float64) / n
            y_w = (cw.astype(np.float32) @ self.y).astype(np.float64) / n
            h -= np.outer(m_c, y_w) + np.outer(m_w - m_c, y_c)
        e = np.zeros(self.r_full)
        e[: lam.size] = mode_energies(lam, vec, s[:, None] * h)
        return full, e

    def target_variance(self, counts: np.ndarray) -> tuple[float, float]:
        """(total target variance, Σc²/n) of a replicate: its weighted target variance and the
        inflation of per-mode noise in a resample with repeated examples."""
        assert self.y is not None  # called only for replicates with targets
        c = counts.astype(np.float64)
        y = self.y.astype(np.float64)
        ybar = (c @ y) / self.n if self.center else 0.0
        return float(np.sum(c @ (y - ybar) ** 2) / self.n), float(c @ c) / self.n


def _parallel_map(
    fn: Callable[[np.ndarray], R],
    make_counts: Callable[[int], np.ndarray],
    replicates: int,
    *,
    progress: bool,
    workers: int | None,
) -> list[R]:
    """``[fn(make_counts(i)) for i in range(replicates)]`` on a thread pool (BLAS/LAPACK release
    the GIL) with single-threaded BLAS inside; results in order, independent of ``workers``."""
    workers = workers or min(4, os.cpu_count() or 1)
    from specurate._progress import progress_iter

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        it = pool.map(lambda i: fn(make_counts(i)), range(replicates))
        return list(progress_iter(it, "resampling", enabled=progress, total=replicates))


def bootstrap_map(
    fn: Callable[[np.ndarray], R],
    n: int,
    replicates: int,
    *,
    seed: int,
    progress: bool = False,
    workers: int | None = None,
) -> list[R]:
    """Apply ``fn(counts)`` to ``replicates`` bootstrap resamples of n examples, in order.

    ``counts`` (n,) are multinomial(n, 1/n) draws from per-replicate child seeds of ``seed``
    (numpy ``SeedSequence.spawn``), so results do not depend on the number of workers.
    """
    children = np.random.SeedSequence(seed).spawn(replicates)
    p = np.full(n, 1.0 / n)
    return _parallel_map(
        fn,
        lambda i: np.random.default_rng(children[i]).multinomial(n, p),
        replicates,
        progress=progress,
        workers=workers,
    )


def jackknife_map(
    fn: Callable[[np.ndarray], R],
    n: int,
    groups: int,
    *,
    seed: int,
    progress: bool = False,
    workers: int | None = None,
) -> list[R]:
    """Apply ``fn(counts)`` to the G delete-one-group subsamples of n examples, in order.

    Examples are split into ``groups`` random folds (seeded); replicate g gives weight
    n/(n − |fold g|) to every example outside fold g and 0 inside, so Σ counts = n and
    n²/Σ counts² = n − |fold g| is the subsample's size.
    """
    folds = _rng.stream("root", seed).permutation(n) % groups

    def counts(g: int) -> np.ndarray:
        keep = folds != g
        return keep * (n / np.count_nonzero(keep))

    return _parallel_map(fn, counts, groups, progress=progress, workers=workers)
