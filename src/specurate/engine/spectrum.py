r"""The spectrum of a sharded data set: per-shard moments on workers, merged along a tree.

One pass, one task per shard (:func:`specurate.engine.shards.list_shards`): each task reads its
rows in chunks and returns its :class:`~specurate.spectrum.moments.Moments` (count, mean,
scatter; with labels the cross and target scatters); the shards of each of G contiguous
jackknife groups are merged on the workers along a balanced tree (Chan et al.'s update), and only
the G group moments — G · d² float64 values — come back. Those are exactly the per-group sums a
grouped streaming pass keeps, so the power-law and target analyses run unchanged on them
(:func:`specurate.spectrum.large.report_from_moments`) and the CIs cost no extra pass: *the
jackknife groups are unions of partitions*.

Memory per worker: one chunk of rows plus two d × d float64 matrices (d = 256: 0.5 MiB each),
independent of n. Traffic: one d × d matrix per shard and per merge.

Agreement with the single-process paths: on the same groups the result equals
:func:`specurate.spectrum.large.estimate_spectrum_streaming` to rounding (the merge reorders
sums; ``tests/engine``), whichever engine runs the tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from specurate._validate import check_positive, check_positive_int, check_seed
from specurate.engine.cluster import Engine
from specurate.engine.shards import (
    DEFAULT_SHARD_ROWS,
    DataSource,
    Shard,
    ShardedSource,
    global_rows,
    list_shards,
    read_shard,
)
from specurate.errors import SpecurateInputError
from specurate.io import check_same_length, read_rows
from specurate.spectrum.features import MIN_EXAMPLES
from specurate.spectrum.large import report_from_moments
from specurate.spectrum.moments import (
    Moments,
    grouped_covariance,
    merge_moments,
    split_moments,
    tree_merge,
)
from specurate.spectrum.nystrom import (
    NystromMap,
    ResidualTally,
    feature_rows,
    nystrom_report,
    sample_indices,
)
from specurate.spectrum.report import SpectrumReport
from specurate.spectrum.streaming import streaming_covariance
from specurate.spectrum.target import prepare_targets

__all__ = ["shard_moments", "sharded_spectrum"]


def _blocks(n: int, splits: int) -> list[tuple[int, int]]:
    """``splits`` consecutive blocks of n rows (fewer if n is smaller), block j =
    ``floor(j·n/k) : floor((j+1)·n/k)``: the row groups of a grouped streaming pass."""
    k = max(1, min(splits, n))
    edges = (np.arange(k + 1, dtype=np.int64) * n) // k
    return [(int(edges[j]), int(edges[j + 1])) for j in range(k)]


def shard_moments(
    shard: Shard, targets: np.ndarray | None = None, precision: str = "auto", splits: int = 1
) -> list[Moments]:
    r"""Moments of one shard's rows, in ``splits`` consecutive blocks (a task on a worker).

    One pass over the shard: a grouped streaming covariance
    (:func:`specurate.spectrum.streaming.streaming_covariance` with ``groups=splits``) whose
    per-group sums are turned into per-block moments
    (:func:`specurate.spectrum.moments.split_moments`). Blocks let a data set of few shards
    (e.g. one Parquet file of one row group) still have G jackknife groups.

    Args:
        shard: the shard (:func:`specurate.engine.shards.list_shards`).
        targets: (n_shard, m) prepared targets of its rows, or None.
        precision: ``"auto"`` (mixed for float32 ``.npy`` / zarr / array shards, else double),
            ``"double"`` or ``"mixed"``
            (:func:`specurate.spectrum.streaming.streaming_covariance`).
        splits: blocks k ≥ 1 (at most one per row); block j holds the shard's rows
            ``floor(j·n/k) : floor((j+1)·n/k)``.

    Returns:
        The k blocks' :class:`~specurate.spectrum.moments.Moments`, in row order.
    """
    src = read_shard(shard)
    if precision == "auto":
        mixed = src.dtype == np.float32 and shard.kind in ("npy", "zarr", "array")
        precision = "mixed" if mixed else "double"
    k = len(_blocks(src.n, splits))
    if src.n == 1:  # a one-row shard: its mean is the row, its scatter zero
        row = next(src.chunks(1))[1].astype(np.float64).reshape(-1)
        if not np.isfinite(row).all():
            raise SpecurateInputError(f"{shard.label}: NaN or inf in row {shard.row0}.")
        if targets is None:
            return [Moments(n=1, mean=row, scatter=np.zeros((row.size, row.size)))]
        t = np.asarray(targets, dtype=np.float64).reshape(1, -1)[0]
        return [
            Moments(
                n=1,
                mean=row,
                scatter=np.zeros((row.size, row.size)),
                target_mean=t,
                cross=np.zeros((row.size, t.size)),
                target_scatter=np.zeros(t.size),
            )
        ]
    with global_rows(shard):
        cov = streaming_covariance(
            src,
            targets=targets,
            precision=precision,  # type: ignore[arg-type]
            groups=k if k >= 2 else 0,
        )
    return split_moments(cov)


def _task(job: tuple[Shard, np.ndarray | None, str, int]) -> list[Moments]:
    return shard_moments(*job)


def _sample_task(job: tuple[Shard, np.ndarray]) -> np.ndarray:
    """The rows ``idx`` (within the shard, sorted) of one shard, as float64."""
    shard, idx = job
    return read_rows(read_shard(shard), idx)


def _nystrom_task(job: tuple[Shard, np.ndarray | None, int], *, nmap: NystromMap) -> list[Any]:
    """The shard's Nyström features' moments in ``splits`` blocks, then its residual tally."""
    shard, targets, splits = job
    src = read_shard(shard)
    k = len(_blocks(src.n, splits))
    feats, tally, rows = feature_rows(src, nmap)
    if src.n == 1:
        phi = next(feats.chunks(1))[1]
        return [*shard_moments(_array_shard(shard, phi), targets), tally]
    cov = streaming_covariance(feats, targets=targets, groups=k if k >= 2 else 0, chunk_rows=rows)
    return [*split_moments(cov), tally]


def _array_shard(shard: Shard, rows: np.ndarray) -> Shard:
    return Shard(shard.index, shard.row0, rows.shape[0], None, 0, "array", shard.label, data=rows)


def _landmark_map(
    src: ShardedSource, eng: Engine, landmarks: int, bandwidth: float | None, seed: int
) -> tuple[NystromMap, int]:
    """The Nyström map of the rows :func:`specurate.spectrum.nystrom.sample_indices` draws —
    the same rows, in the same order, as the single-process
    :func:`~specurate.spectrum.nystrom.kernel_spectrum_nystrom` — read by the shards' tasks."""
    idx, rng = sample_indices(src.n, landmarks, seed)
    jobs = []
    for s in src.shards:
        if idx is None:
            local = np.arange(s.n)
        else:
            lo, hi = np.searchsorted(idx, [s.row0, s.row0 + s.n])
            local = idx[lo:hi] - s.row0
        if local.size:
            jobs.append((s, local))
    pieces = eng.gather(eng.map(_sample_task, jobs, label=f"landmark sample of {src.label}"))
    sample = np.concatenate(pieces)
    return NystromMap.from_sample(sample, landmarks, bandwidth, rng, seed), sample.shape[0]


def sharded_spectrum(
    source: DataSource,
    y: np.ndarray | None = None,
    *,
    engine: Engine | None = None,
    task: Literal["auto", "regression", "classification"] = "auto",
    groups: int = 20,
    ci: float = 0.9,
    precision: Literal["auto", "double", "mixed"] = "auto",
    shard_rows: int = DEFAULT_SHARD_ROWS,
    features: str | None = None,
    exclude: Sequence[str] = (),
    kernel: Literal["linear", "rbf"] = "linear",
    landmarks: int = 1000,
    bandwidth: float | None = None,
    seed: int = 0,
) -> SpectrumReport:
    r"""Covariance spectrum, b (and with labels a) of a sharded data set, with jackknife CIs.

    .. math::

        \Sigma = \frac1n \sum_{i=1}^n (x_i - \bar x)(x_i - \bar x)^\top
               = \frac1n \Big(\bigoplus_{P} (n_P, \bar x_P, M_P)\Big)_{M}

    where :math:`\oplus` is the pairwise merge of :mod:`specurate.spectrum.moments`.

    Args:
        source: a folder of Parquet or ``.npy`` files, one such file, a ``.zarr`` array or an
            (n, d) array (:func:`specurate.engine.shards.list_shards`).
        y: (n,) or (n, m) labels / targets in row order across the shards, or None.
        engine: where the tasks run (:func:`specurate.engine.cluster.open_engine`); None: here.
        task: how ``y`` is read (:func:`specurate.spectrum.target.prepare_targets`).
        groups: jackknife groups G ≥ 2; 0: no CIs. Data of fewer than G shards are cut into
            shards of at most n/G rows (Parquet: whole row groups, so a file of few row groups
            may still give fewer groups: one per shard).
        ci: confidence level of the jackknife intervals.
        precision: accumulation precision of each shard's pass.
        shard_rows: rows per shard when one file or array is split.
        features: the feature column of Parquet shards.
        exclude: Parquet columns that are not features (labels, groups, weights).
        kernel: ``"linear"`` (the covariance) or ``"rbf"``: the centered RBF kernel operator
            from m Nyström landmarks (:mod:`specurate.spectrum.nystrom`): the landmark sample is
            read by the shards' tasks, the map sent once to every worker, and each task returns
            the moments of its rows' features and its residual sum; every eigenvalue is within
            [0, trace_gap] of the exact kernel's (``extras["nystrom"]``).
        landmarks: m, for ``kernel="rbf"``.
        bandwidth: σ of the RBF kernel; default the median heuristic on the landmark sample.
        seed: seed of the landmark sample (``kernel="rbf"``).

    Returns:
        The :class:`~specurate.spectrum.report.SpectrumReport`; ``extras`` records the engine,
        the workers, the shards and the groups used.

    Raises:
        SpecurateInputError: bad source or shards (named), fewer than 50 rows, labels of the
            wrong length, bad ``groups``, or NaN/inf in a shard (named with its global row).
    """
    if groups == 1 or groups < 0:
        raise SpecurateInputError(f"groups must be 0 or at least 2, got {groups}.")
    if precision not in ("auto", "double", "mixed"):
        raise SpecurateInputError(f"precision must be auto, double or mixed, got {precision!r}.")
    eng = engine or Engine("local")
    src = list_shards(source, shard_rows=shard_rows, features=features, exclude=exclude)
    if len(src.shards) < groups and src.n >= groups:  # finer shards: one jackknife group each
        finer = max(1, min(shard_rows, src.n // groups))
        src = list_shards(source, shard_rows=finer, features=features, exclude=exclude)
    if src.n < MIN_EXAMPLES:
        raise SpecurateInputError(
            f"{src.label}: has {src.n} examples; at least {MIN_EXAMPLES} are needed."
        )
    yy = None
    if y is not None:
        check_same_length(src.n, np.asarray(y), data_source=src.label, other_source="the labels")
        yy = prepare_targets(y, task)
    g_count = max(groups, 1)
    splits = -(-g_count // len(src.shards))  # ceil: blocks per shard for G groups
    if kernel not in ("linear", "rbf"):
        raise SpecurateInputError(f"kernel must be linear or rbf, got {kernel!r}.")
    nmap = None
    if kernel == "rbf":
        m = check_positive_int("landmarks", landmarks)
        sigma = None if bandwidth is None else check_positive("bandwidth", bandwidth)
        nmap, sample_rows = _landmark_map(src, eng, m, sigma, check_seed(seed))
        jobs_r = [
            (s, None if yy is None else yy[s.row0 : s.row0 + s.n], splits) for s in src.shards
        ]
        results = eng.map(
            _nystrom_task, jobs_r, label=f"Nyström moments of {src.label}", nmap=eng.share(nmap)
        )
    else:
        jobs = [
            (s, None if yy is None else yy[s.row0 : s.row0 + s.n], precision, splits)
            for s in src.shards
        ]
        results = eng.map(_task, jobs, label=f"moments of {src.label}")
    # (shard, block) units in row order, each assigned to the group of its middle row
    members: list[list[Any]] = [[] for _ in range(g_count)]
    for s, res in zip(src.shards, results, strict=True):
        for j, (a, b) in enumerate(_blocks(s.n, splits)):
            mid = s.row0 + (a + b) / 2
            members[min(g_count - 1, int(g_count * mid // src.n))].append(eng.pick(res, j))
    per_group = [eng.reduce(merge_moments, m) for m in members if m]
    group_moments = eng.gather(per_group)
    mom = grouped_covariance(group_moments if groups else [tree_merge(group_moments)])
    info = {
        "engine": eng.name,
        "workers": eng.workers,
        "shards": len(src.shards),
        "blocks_per_shard": splits,
    }
    if nmap is not None:
        tally = eng.gather(eng.reduce(ResidualTally.merge, [eng.pick(r, -1) for r in results]))
        return nystrom_report(
            mom,
            nmap,
            tally,
            d=src.d,
            ci=ci,
            center=True,
            seed=seed,
            sample_rows=sample_rows,
            extras=info,
        )
    return report_from_moments(
        mom,
        ci=ci,
        extras={
            "ci_method": "grouped jackknife" if mom.groups else "none",
            "groups": mom.groups,
            **info,
            "precision": precision,
        },
    )
