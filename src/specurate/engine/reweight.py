r"""What fixed weights do to the spectrum of a sharded data set: one pass, on any engine.

Each shard's task reads its rows once and returns, for each of its blocks, the plain and the
weighted moments (:class:`~specurate.spectrum.moments.WeightedSums`); the blocks of each of G
contiguous jackknife groups are merged on the workers; the analysis
(:func:`~specurate.spectrum.reweight_moments.reweight_from_moments`) runs here on the G pairs:
T against :math:`T_w = M\sqrt{w}\,T\,M\sqrt{w}`, b_w − b on a common rank range, paired
delete-one-group CIs, the Loewner bound and the finite region. Linear operator only (the
covariance); memory per task two d × d matrices per block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from specurate.engine.cluster import Engine
from specurate.engine.shards import (
    DEFAULT_SHARD_ROWS,
    DataSource,
    Shard,
    global_rows,
    list_shards,
    read_shard,
)
from specurate.engine.spectrum import _blocks
from specurate.errors import SpecurateInputError
from specurate.io import check_finite, check_same_length
from specurate.spectrum.features import MIN_EXAMPLES
from specurate.spectrum.moments import WeightedSums, merge_moments, merge_weighted
from specurate.spectrum.reweight import ReweightReport, normalize_weights
from specurate.spectrum.reweight_moments import reweight_from_moments

__all__ = ["shard_weighted_moments", "sharded_reweight"]

_CHUNK_ROWS = 4096


def shard_weighted_moments(shard: Shard, weights: np.ndarray, splits: int = 1) -> list[Any]:
    """Plain and weighted moments of one shard's rows in ``splits`` blocks (a task).

    Args:
        shard: the shard.
        weights: (n_shard,) its rows' weights (finite, ≥ 0).
        splits: blocks (see :func:`specurate.engine.spectrum.shard_moments`).

    Returns:
        ``[moments of block 0, …, weighted moments of block 0, …]``: k
        :class:`~specurate.spectrum.moments.Moments` then k
        :class:`~specurate.spectrum.moments.WeightedMoments`.
    """
    src = read_shard(shard)
    blocks = _blocks(src.n, splits)
    plain = [WeightedSums(src.d) for _ in blocks]
    weighted = [WeightedSums(src.d) for _ in blocks]
    edges = np.array([b for _, b in blocks])
    ones = np.ones(_CHUNK_ROWS)
    for r0, chunk in src.chunks(_CHUNK_ROWS):
        x = np.asarray(chunk, dtype=np.float64)
        with global_rows(shard):
            check_finite(x, src.label, row0=r0)
        a = r0
        while a < r0 + x.shape[0]:
            j = int(np.searchsorted(edges, a, side="right"))
            b = min(int(edges[j]), r0 + x.shape[0])
            rows = x[a - r0 : b - r0]
            plain[j].add(rows, ones[: b - a])
            weighted[j].add(rows, weights[a:b])
            a = b
    return [*(p.moments() for p in plain), *(w.result() for w in weighted)]


def _task(job: tuple[Shard, np.ndarray, int]) -> list[Any]:
    return shard_weighted_moments(*job)


def sharded_reweight(
    source: DataSource,
    weights: np.ndarray,
    *,
    engine: Engine | None = None,
    groups: int = 20,
    ci: float = 0.9,
    tolerance: float = 0.1,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    features: str | None = None,
    exclude: Sequence[str] = (),
    weights_label: str = "the weights",
) -> ReweightReport:
    r"""T against :math:`T_w` for a sharded data set and per-example weights, in one pass.

    Args:
        source: shards (:func:`specurate.engine.shards.list_shards`).
        weights: (n,) non-negative weights in row order (any scale; normalized to mean 1).
        engine: where the tasks run (None: here).
        groups: jackknife groups G ≥ 2 (0: no CIs).
        ci: confidence level.
        tolerance: relative departure defining the finite region K₀.
        shard_rows: rows per shard when one file or array is split.
        features: the feature column of Parquet shards.
        exclude: Parquet columns that are not features.
        weights_label: the weights' name in messages.

    Returns:
        The :class:`~specurate.spectrum.reweight.ReweightReport`
        (:func:`~specurate.spectrum.reweight_moments.reweight_from_moments`).

    Raises:
        SpecurateInputError: bad shards, weights of another length or with negative, NaN or
            all-zero values (named), fewer than 50 rows, bad ``groups``.
    """
    if groups == 1 or groups < 0:
        raise SpecurateInputError(f"groups must be 0 or at least 2, got {groups}.")
    eng = engine or Engine("local")
    src = list_shards(source, shard_rows=shard_rows, features=features, exclude=exclude)
    if len(src.shards) < groups and src.n >= groups:
        finer = max(1, min(shard_rows, src.n // groups))
        src = list_shards(source, shard_rows=finer, features=features, exclude=exclude)
    if src.n < MIN_EXAMPLES:
        raise SpecurateInputError(
            f"{src.label}: has {src.n} examples; at least {MIN_EXAMPLES} are needed."
        )
    w = np.asarray(weights)
    check_same_length(src.n, w, data_source=src.label, other_source=weights_label)
    w = normalize_weights(w, src.n, source=weights_label)
    g_count = max(groups, 1)
    splits = -(-g_count // len(src.shards))
    jobs = [(s, w[s.row0 : s.row0 + s.n], splits) for s in src.shards]
    results = eng.map(_task, jobs, label=f"weighted moments of {src.label}")
    plain: list[list[Any]] = [[] for _ in range(g_count)]
    weighted: list[list[Any]] = [[] for _ in range(g_count)]
    for s, res in zip(src.shards, results, strict=True):
        blocks = _blocks(s.n, splits)
        for j, (a, b) in enumerate(blocks):
            g = min(g_count - 1, int(g_count * (s.row0 + (a + b) / 2) // src.n))
            plain[g].append(eng.pick(res, j))
            weighted[g].append(eng.pick(res, len(blocks) + j))
    keep = [g for g in range(g_count) if plain[g]]
    group_m = eng.gather([eng.reduce(merge_moments, plain[g]) for g in keep])
    group_w = eng.gather([eng.reduce(merge_weighted, weighted[g]) for g in keep])
    if not groups:
        from specurate.spectrum.moments import tree_merge

        group_m = [tree_merge(group_m)]
        group_w = [eng.reduce(merge_weighted, group_w)]
    return reweight_from_moments(group_m, group_w, ci=ci, tolerance=tolerance)
