"""Static weightings a study analyses without any model: random pruning (the control), keeping
the easy or the hard half by a prototype score, up-weighting the hardest quarter, and removing
near-duplicates.

Every weighting is an (n,) array of non-negative example weights (0 = pruned); the reweighting
analysis normalizes it to mean 1, so its bound C is max w / mean w.
"""

from __future__ import annotations

import numpy as np

from specurate._rng import stream
from specurate.curation.static import near_duplicates, prototype_scores
from specurate.datasets import Dataset

__all__ = [
    "DEDUP",
    "DEDUP_THRESHOLD",
    "WEIGHTINGS",
    "curation_weights",
    "prototype_distance",
    "static_weightings",
]

#: the names of :func:`static_weightings`' weightings, in order (the near-duplicate one, DEDUP,
#: only with ``dedup=True``)
WEIGHTINGS = ("random-prune", "keep-easy", "keep-hard", "upweight-hard-x4")
DEDUP = "near-duplicates"

#: cosine distance at or below which two examples count as near-duplicates (SemDeDup's scale)
DEDUP_THRESHOLD = 0.01


def prototype_distance(x: np.ndarray, y: np.ndarray | None = None, *, seed: int = 0) -> np.ndarray:
    """(n,) distance of each example to its prototype, a difficulty score (Sorscher et al. 2022).

    With labels ``y`` the prototype is the example's class mean (‖x_i − μ_{y_i}‖₂); without, the
    nearest of 10 k-means centroids of the rows (:func:`specurate.curation.static.prototype_scores`,
    unnormalized, k-means seeded by ``seed``). Small = typical ("easy"), large = atypical.
    """
    if y is None:
        k = min(10, x.shape[0])
        return prototype_scores(x, n_clusters=k, seed=seed, normalize=False)
    out = np.empty(x.shape[0])
    for c in np.unique(y):
        m = y == c
        out[m] = np.linalg.norm(x[m] - x[m].mean(axis=0), axis=1)
    return out


def static_weightings(
    x: np.ndarray,
    y: np.ndarray | None,
    *,
    fraction: float,
    seed: int,
    dedup: bool = False,
) -> dict[str, np.ndarray]:
    """The model-free weightings of a study, by name.

    Args:
        x: (n, d) examples.
        y: (n,) class labels or None (then prototypes are k-means centroids).
        fraction: the fraction pruned by ``random-prune``, ``keep-easy`` and ``keep-hard``.
        seed: seed of the random mask (stream ``root``) and of k-means.
        dedup: also ``near-duplicates``: drop every example within cosine distance
            :data:`DEDUP_THRESHOLD` of a kept one
            (:func:`~specurate.curation.static.near_duplicates`); left out when it removes
            nothing.

    Returns:
        ``random-prune``, ``keep-easy``, ``keep-hard`` (keep ``1 − fraction`` of the examples:
        a random subset, the most and the least typical), ``upweight-hard-x4`` (weight 4 on the
        least typical quarter, 1 elsewhere) and optionally ``near-duplicates``.
    """
    n = x.shape[0]
    order = np.argsort(prototype_distance(x, y, seed=seed), kind="stable")
    keep = n - round(fraction * n)
    rng = stream("root", seed)  # the study's random-pruning control (see _rng.STREAMS)
    out: dict[str, np.ndarray] = {}
    w = np.zeros(n)
    w[rng.choice(n, keep, replace=False)] = 1.0
    out["random-prune"] = w
    w = np.zeros(n)
    w[order[:keep]] = 1.0
    out["keep-easy"] = w
    w = np.zeros(n)
    w[order[n - keep :]] = 1.0
    out["keep-hard"] = w
    w = np.ones(n)
    w[order[int(0.75 * n) :]] = 4.0
    out["upweight-hard-x4"] = w
    if dedup and np.all(np.linalg.norm(x, axis=1) > 0):
        mask = near_duplicates(x, threshold=DEDUP_THRESHOLD)
        if not mask.all():
            out[DEDUP] = mask.astype(float)
    return out


def curation_weights(ds: Dataset, *, fraction: float, seed: int) -> dict[str, np.ndarray]:
    """The four weightings of the built-in study (:func:`static_weightings` without dedup) on a
    labelled data set."""
    return static_weightings(ds.x, ds.y, fraction=fraction, seed=seed)
