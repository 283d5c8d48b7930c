r"""Partitions of a data set too large for one process: the units a Dask worker reads.

A *shard* is a contiguous block of rows, ``rows row0 : row0 + n`` of the whole data set, that
a worker can open on its own (:func:`read_shard`): one Parquet file, a row range of a ``.npy``
file (memory-mapped, so the range costs no read of the rest), a row range of a zarr array
(aligned to its chunks), or a row range of an in-memory array. :func:`list_shards` turns a
source into shards in row order; rows are numbered across files in sorted file order, so a row's
global index — its *example id* when the data carry none — is the same on every engine.

Sources:

- a folder of ``.parquet`` files, or one Parquet file (shards of whole row groups, never
  across files; the numeric columns or the one list column are the features, as in
  :func:`specurate.io.open_rows`);
- a folder of ``.npy`` files, or one ``.npy`` file (2-D, numeric; split into row ranges of at
  most ``shard_rows``);
- a zarr array (a ``.zarr`` folder; 2-D; split at chunk boundaries), needs ``zarr``;
- an in-memory (n, d) array, or a 2-D dask array (one shard per block of rows; each task
  computes its block's graph where it runs).

Every shard must have the same number of columns; the message names the first that differs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from specurate._tables import parquet_files, row_group_sizes
from specurate.errors import SpecurateInputError
from specurate.io import RowSource, check_path, open_parquet_row_groups, open_rows

if TYPE_CHECKING:
    import dask.array

#: What the engine reads: a path (folder of Parquet / .npy shards, one file, a .zarr array), an
#: (n, d) numpy array or a 2-D dask array.
DataSource: TypeAlias = "str | os.PathLike | np.ndarray | dask.array.Array"

__all__ = [
    "DataSource",
    "Shard",
    "ShardedSource",
    "global_rows",
    "list_shards",
    "parquet_row_groups",
    "read_shard",
    "shard_groups",
]

#: Rows per shard when a single file or array is split (float32 × 256 columns: 256 MiB).
DEFAULT_SHARD_ROWS = 262_144


@dataclass(frozen=True)
class Shard:
    """One block of rows that a worker opens by itself.

    Attributes:
        index: position of the shard in row order (0, 1, …).
        row0: global index of its first row.
        n: rows.
        path: the file or zarr folder it lives in (None for an in-memory array).
        start: first row within ``path`` (row ranges of ``.npy`` and zarr).
        kind: ``"parquet"``, ``"npy"``, ``"zarr"``, ``"array"`` or ``"dask"``.
        label: the name used in messages (file name and row range).
        features: for Parquet, the feature column (None: the file's numeric / list columns).
        data: the rows themselves (``kind="array"``) or the block's delayed computation
            (``kind="dask"``); None otherwise.
        exclude: Parquet columns that are not features (labels, groups, weights).
    """

    index: int
    row0: int
    n: int
    path: str | None
    start: int
    kind: str
    label: str
    features: str | None = None
    data: Any = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShardedSource:
    """A data set as shards in row order.

    Attributes:
        label: the name of the whole source in messages.
        shards: the shards; ``shards[i].row0 == sum of the earlier shards' n``.
        n: total rows.
        d: columns.
    """

    label: str
    shards: tuple[Shard, ...]
    n: int
    d: int


def _npy_shape(p: Path) -> tuple[int, int]:
    a = open_rows(p, min_rows=1)
    return a.n, a.d


def _ranges(n: int, rows: int, align: int = 1) -> list[tuple[int, int]]:
    step = max(align, (rows // align) * align)
    return [(a, min(a + step, n)) for a in range(0, n, step)]


# A Parquet shard's ``start`` packs its row groups g0 : g1 as g0·_RG + g1.
_RG = 1 << 24


def _row_group_runs(sizes: list[int], rows: int) -> list[tuple[int, int, int, int]]:
    """Consecutive row groups packed into runs of at most ``rows`` rows (a row group larger
    than that is a run of its own): ``(first group, end group, first row, end row)``."""
    runs: list[tuple[int, int, int, int]] = []
    g0, r0, r = 0, 0, 0
    for g, m in enumerate(sizes):
        if r > r0 and r + m - r0 > rows:
            runs.append((g0, g, r0, r))
            g0, r0 = g, r
        r += m
    if r > r0 or not runs:
        runs.append((g0, len(sizes), r0, r))
    return runs


def _zarr_array(p: Path) -> object:
    try:
        import zarr
    except ImportError:  # pragma: no cover - optional dependency
        raise SpecurateInputError(
            f"{p.name}: reading zarr needs the zarr package (pip install 'specurate[dask]')."
        ) from None
    try:
        z = zarr.open_array(str(p), mode="r")
    except Exception as exc:  # zarr raises several types for a folder that is not an array
        raise SpecurateInputError(f"{p.name}: not a readable zarr array ({exc}).") from None
    if len(z.shape) != 2 or z.dtype.kind not in "biuf":
        raise SpecurateInputError(
            f"{p.name}: expected a 2-D numeric zarr array, got shape {z.shape} of {z.dtype}."
        )
    return z


def list_shards(
    source: DataSource,
    *,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    features: str | None = None,
    exclude: Sequence[str] = (),
) -> ShardedSource:
    """The shards of a data source, in row order.

    Args:
        source: a folder of Parquet or ``.npy`` files, one such file, a ``.zarr`` array folder,
            an (n, d) array or a 2-D dask array (its row blocks are the shards).
        shard_rows: most rows in a shard (zarr: rounded down to whole chunks, at least one
            chunk; Parquet: whole row groups, at least one).
        features: the feature column of Parquet files (see :func:`specurate.io.open_rows`).
        exclude: Parquet columns that are not features when ``features`` is None.

    Raises:
        SpecurateInputError: a missing path, a folder with neither Parquet nor ``.npy`` files (or
            both), an unreadable file, or shards with different numbers of columns.
    """
    if not (isinstance(shard_rows, int) and shard_rows >= 1):
        raise SpecurateInputError(f"shard_rows must be a positive integer, got {shard_rows!r}.")
    if _is_dask_array(source):
        return _dask_shards(source)
    if isinstance(source, np.ndarray):
        src = open_rows(source, min_rows=1)
        pieces = [
            (None, a, b - a, "array", f"rows {a}:{b}", source[a:b])
            for a, b in _ranges(src.n, shard_rows)
        ]
        return _assemble("the input array", pieces, src.d)
    if not isinstance(source, str | os.PathLike):
        raise SpecurateInputError(
            f"the data must be a path, a numpy array or a dask array, not {type(source).__name__}."
        )
    p = Path(source)
    if not p.exists():
        raise SpecurateInputError(f"{p}: no such file or folder.")
    if not p.is_dir():
        check_path(p)  # a regular file of a supported format
    label = p.name
    pieces_: list[tuple[str | None, int, int, str, str, np.ndarray | None]] = []
    widths: list[tuple[str, int]] = []
    if p.suffix == ".zarr" or (p.is_dir() and (p / "zarr.json").exists()):
        z = _zarr_array(p)
        n, d = z.shape  # type: ignore[attr-defined]
        chunk = int(z.chunks[0])  # type: ignore[attr-defined]
        for a, b in _ranges(n, shard_rows, align=chunk):
            pieces_.append((str(p), a, b - a, "zarr", f"{label} rows {a}:{b}", None))
        return _assemble(label, pieces_, d)
    if p.is_dir():
        npys = sorted(f for f in p.iterdir() if f.suffix == ".npy" and f.is_file())
        pqs = parquet_files(p) if any(f.suffix == ".parquet" for f in p.iterdir()) else []
        if npys and pqs:
            raise SpecurateInputError(
                f"{label}: holds both .npy and .parquet files; put the shards of one data set "
                "in a folder of their own."
            )
        files = npys or pqs
        if not files:
            raise SpecurateInputError(f"{label}: no .parquet or .npy files in this folder.")
    else:
        files = [p]
    for f in files:
        if f.suffix == ".npy":
            n, d = _npy_shape(f)
            widths.append((f.name, d))
            for a, b in _ranges(n, shard_rows):
                pieces_.append((str(f), a, b - a, "npy", f"{f.name} rows {a}:{b}", None))
        elif f.suffix == ".parquet":
            src = open_rows(f, min_rows=1, features=features, exclude=exclude)
            widths.append((f.name, src.d))
            for g0, g1, a, b in _row_group_runs(row_group_sizes(f, f.name), shard_rows):
                name = f.name if (a, b) == (0, src.n) else f"{f.name} rows {a}:{b}"
                pieces_.append((str(f), g0 * _RG + g1, b - a, "parquet", name, None))
        else:
            raise SpecurateInputError(
                f"{f.name}: the sharded engine reads .parquet, .npy and .zarr data, not "
                f"{f.suffix or 'a file without suffix'}."
            )
    d0 = widths[0][1]
    for name, d in widths:
        if d != d0:
            raise SpecurateInputError(
                f"{name}: has {d} columns but {widths[0][0]} has {d0}; every shard of "
                f"{label} needs the same columns."
            )
    return _assemble(label, pieces_, d0, features=features, exclude=tuple(exclude))


def _is_dask_array(x: object) -> bool:
    return type(x).__module__.startswith("dask.array") and hasattr(x, "to_delayed")


def _dask_shards(x: Any) -> ShardedSource:
    """A 2-D dask array: one shard per block of rows (the columns rechunked into one block),
    each holding the block's delayed computation, run by the task that reads it."""
    if x.ndim != 2 or x.dtype.kind not in "biuf":
        raise SpecurateInputError(
            f"the dask array must be 2-D and numeric, got shape {x.shape} of {x.dtype}."
        )
    if any(np.isnan(c) for c in x.chunks[0]):
        raise SpecurateInputError(
            "the dask array has unknown chunk sizes; call x.compute_chunk_sizes() first."
        )
    x = x.rechunk({1: -1})
    blocks = x.to_delayed()[:, 0]
    pieces = []
    a = 0
    for block, m in zip(blocks, x.chunks[0], strict=True):
        pieces.append((None, a, int(m), "dask", f"the dask array rows {a}:{a + int(m)}", block))
        a += int(m)
    return _assemble("the dask array", pieces, int(x.shape[1]))


def _assemble(
    label: str,
    pieces: Sequence[tuple[str | None, int, int, str, str, Any]],
    d: int,
    *,
    features: str | None = None,
    exclude: tuple[str, ...] = (),
) -> ShardedSource:
    shards = []
    row0 = 0
    for i, (path, start, n, kind, name, data) in enumerate(pieces):
        if n == 0:
            continue
        shards.append(Shard(i, row0, n, path, start, kind, name, features, data, exclude))
        row0 += n
    shards = [
        Shard(i, s.row0, s.n, s.path, s.start, s.kind, s.label, s.features, s.data, s.exclude)
        for i, s in enumerate(shards)
    ]
    if not shards:
        raise SpecurateInputError(f"{label}: no rows.")
    return ShardedSource(label=label, shards=tuple(shards), n=row0, d=d)


def read_shard(shard: Shard) -> RowSource:
    """Open one shard for reading in chunks (:class:`specurate.io.RowSource`; nothing is read
    yet for Parquet and ``.npy``)."""
    if shard.kind == "array":
        assert shard.data is not None
        return open_rows(shard.data, min_rows=1, array_label=f"the input array {shard.label}")
    if shard.kind == "dask":  # the block's own graph, computed here, in this task
        block = np.asarray(shard.data.compute(scheduler="sync"))
        return open_rows(block, min_rows=1, array_label=shard.label)
    assert shard.path is not None
    if shard.kind == "parquet":
        return open_parquet_row_groups(
            shard.path,
            parquet_row_groups(shard),
            label=shard.label,
            features=shard.features,
            exclude=shard.exclude,
        )
    if shard.kind == "npy":
        mm = np.load(shard.path, mmap_mode="r", allow_pickle=False)
        rows = mm[shard.start : shard.start + shard.n]
        return open_rows(rows, min_rows=1, array_label=shard.label)
    z = _zarr_array(Path(shard.path))
    rows = np.asarray(z[shard.start : shard.start + shard.n])  # type: ignore[index]
    return open_rows(rows, min_rows=1, array_label=shard.label)


@contextmanager
def global_rows(shard: Shard) -> Iterator[None]:
    """Inside, an input error about a row of the shard (counted from the shard's first row)
    also says where that row is in the whole data set."""
    try:
        yield
    except SpecurateInputError as exc:
        if shard.row0 == 0:
            raise
        msg = str(exc).rstrip(".")
        raise SpecurateInputError(
            f"{msg} (counted from the shard's first row, row {shard.row0} of the data set)."
        ) from None


def parquet_row_groups(shard: Shard) -> range:
    """The row groups of its file that a Parquet shard holds."""
    if shard.kind != "parquet":
        raise SpecurateInputError(f"{shard.label}: is not a Parquet shard.")
    g0, g1 = divmod(shard.start, _RG)
    return range(g0, g1)


def shard_groups(src: ShardedSource, groups: int) -> list[list[Shard]]:
    """Split the shards into at most ``groups`` contiguous groups of about equal rows: the
    jackknife groups of a sharded spectrum (a group is a union of whole shards, so its
    moments come from the same pass).

    Shard i goes to group ``floor(G · (row0_i + n_i/2) / n)``; empty groups are dropped, so
    fewer shards than ``groups`` give one group per shard.
    """
    if groups < 1:
        raise SpecurateInputError(f"groups must be at least 1, got {groups}.")
    out: list[list[Shard]] = [[] for _ in range(groups)]
    for s in src.shards:
        g = min(groups - 1, int(groups * (s.row0 + s.n / 2) // src.n))
        out[g].append(s)
    return [g for g in out if g]
