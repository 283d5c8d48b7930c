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

import os
from typing import Literal

import numpy as np

from specurate.engine.cluster import Engine
from specurate.engine.shards import DEFAULT_SHARD_ROWS, Shard, list_shards, read_shard, shard_groups
from specurate.errors import SpecurateInputError
from specurate.io import check_same_length
from specurate.spectrum.features import MIN_EXAMPLES
from specurate.spectrum.large import report_from_moments
from specurate.spectrum.moments import Moments, grouped_covariance, merge_moments, tree_merge
from specurate.spectrum.report import SpectrumReport
from specurate.spectrum.target import prepare_targets

__all__ = ["shard_moments", "sharded_spectrum"]


def shard_moments(
    shard: Shard, targets: np.ndarray | None = None, precision: str = "auto"
) -> Moments:
    r"""Moments of one shard's rows (a task on a worker).

    Args:
        shard: the shard (:func:`specurate.engine.shards.list_shards`).
        targets: (n_shard, m) prepared targets of its rows, or None.
        precision: ``"auto"`` (mixed for float32 ``.npy`` / zarr / array shards, else double),
            ``"double"`` or ``"mixed"``
            (:func:`specurate.spectrum.streaming.streaming_covariance`).
    """
    src = read_shard(shard)
    if precision == "auto":
        mixed = src.dtype == np.float32 and shard.kind in ("npy", "zarr", "array")
        precision = "mixed" if mixed else "double"
    if src.n == 1:  # a one-row shard: its mean is the row, its scatter zero
        row = next(src.chunks(1))[1].astype(np.float64).reshape(-1)
        if not np.isfinite(row).all():
            raise SpecurateInputError(f"{shard.label}: NaN or inf in row {shard.row0}.")
        if targets is None:
            return Moments(n=1, mean=row, scatter=np.zeros((row.size, row.size)))
        t = np.asarray(targets, dtype=np.float64).reshape(1, -1)[0]
        return Moments(
            n=1,
            mean=row,
            scatter=np.zeros((row.size, row.size)),
            target_mean=t,
            cross=np.zeros((row.size, t.size)),
            target_scatter=np.zeros(t.size),
        )
    return Moments.of_rows(src, targets, precision=precision)  # type: ignore[arg-type]


def _task(job: tuple[Shard, np.ndarray | None, str]) -> Moments:
    return shard_moments(*job)


def sharded_spectrum(
    source: str | os.PathLike | np.ndarray,
    y: np.ndarray | None = None,
    *,
    engine: Engine | None = None,
    task: Literal["auto", "regression", "classification"] = "auto",
    groups: int = 20,
    ci: float = 0.9,
    precision: Literal["auto", "double", "mixed"] = "auto",
    shard_rows: int = DEFAULT_SHARD_ROWS,
    features: str | None = None,
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
        groups: jackknife groups G ≥ 2 (fewer shards than G: one group per shard); 0: no CIs.
        ci: confidence level of the jackknife intervals.
        precision: accumulation precision of each shard's pass.
        shard_rows: rows per shard when one file or array is split.
        features: the feature column of Parquet shards.

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
    src = list_shards(source, shard_rows=shard_rows, features=features)
    if src.n < MIN_EXAMPLES:
        raise SpecurateInputError(
            f"{src.label}: has {src.n} examples; at least {MIN_EXAMPLES} are needed."
        )
    yy = None
    if y is not None:
        check_same_length(src.n, np.asarray(y), data_source=src.label, other_source="the labels")
        yy = prepare_targets(y, task)
    grouped = shard_groups(src, max(groups, 1))
    jobs = [
        (s, None if yy is None else yy[s.row0 : s.row0 + s.n], precision)
        for g in grouped
        for s in g
    ]
    parts = eng.map(_task, jobs, label=f"moments of {src.label}")
    per_group, k = [], 0
    for g in grouped:
        per_group.append(eng.reduce(merge_moments, parts[k : k + len(g)]))
        k += len(g)
    group_moments = eng.gather(per_group)
    mom = grouped_covariance(group_moments if groups else [tree_merge(group_moments)])
    return report_from_moments(
        mom,
        ci=ci,
        extras={
            "ci_method": "grouped jackknife" if mom.groups else "none",
            "groups": mom.groups,
            "engine": eng.name,
            "workers": eng.workers,
            "shards": len(src.shards),
            "precision": precision,
        },
    )
