r"""Per-example static scores of a sharded data set: one Parquet part per shard, keyed by example
id, on the local or the Dask engine, resumable.

:func:`score_shards` runs one scorer over the shards of :func:`specurate.engine.shards.list_shards`
and writes ``OUT/part-00007.parquet`` for shard 7 (column ``id`` first, then the scores) and
``OUT/_manifest.json`` (package version, scorer, every parameter, the centroids' checksum, the
parts' checksums and the counts). Files whose names start with ``_`` or ``.`` are skipped by
Parquet readers, so ``pyarrow.parquet.read_table(OUT)`` reads the scores of every example.

Scorers (higher = harder, as in :mod:`specurate.curation.static`, except ``keep``):

``prototype``
    Sorscher et al. (NeurIPS 2022)'s self-supervised prototype metric. Rows are L2-normalised,
    :math:`\hat x = x / \lVert x\rVert_2`; k-means centroids :math:`\mu_1, \dots, \mu_k` are fitted
    on a uniform sample of rows drawn across the shards
    (:func:`~specurate.curation.static.kmeans_prototypes`: scikit-learn ``KMeans``, k-means++,
    4 restarts, ``random_state=seed``, on the normalised sample). Each row gets its k-means
    cluster :math:`c = \arg\min_j \lVert\hat x - \mu_j\rVert_2` and the **cosine distance** to
    that centroid, ``distance`` :math:`= 1 - \langle\hat x, \mu_c\rangle / \lVert\mu_c\rVert_2`
    (in [0, 2]), plus ``l2`` :math:`= \lVert\hat x - \mu_c\rVert_2`, the score of
    :func:`~specurate.curation.static.prototype_scores` with these centroids.
``dedup``
    Semantic deduplication as NeMo Curator / SemDeDup (Abbas et al. 2023) do it: cluster first
    (the centroids of ``prototype``), never all pairs over the data set. Each shard writes its
    rows' normalised embeddings (float32) into per-cluster spill files
    ``OUT/_spill/cluster=c/shard=i.npy`` (the shuffle); then one task per cluster compares all
    pairs of its members: example j is a near-duplicate of the lowest-id member i with
    :math:`\cos(x_i, x_j) \ge 1 - \varepsilon` (``eps``; the cosines come from the float32
    unit vectors, so the test is :math:`\langle\hat x_i, \hat x_j\rangle \ge 1 - \varepsilon -
    10^{-6}`, the slack absorbing rounding so that exact copies always match). Columns:
    ``cluster``, ``duplicate_of`` (the id of i, −1 if none) and ``keep`` (``duplicate_of ==
    −1``). Near-duplicates that k-means puts in different clusters are not compared (the known
    price of clustering). A cluster of m members is compared in blocks of at most ``block``
    rows (default 2048): a task holds two blocks of embeddings and one block × block float64
    similarity matrix, about :math:`8B^2 + 16Bd` bytes (40 MiB at B = 2048, d = 64), whatever
    m; the members' ids (8 bytes each) are the only per-member memory. A spill task holds its
    shard's normalised rows (4 bytes per value). ``_spill`` is removed when the job completes.
``el2n`` / ``grand``
    Paul et al. (NeurIPS 2021) from a saved classifier (:func:`save_model`): EL2N
    :math:`= \lVert\mathrm{softmax}(f(x)) - e_y\rVert_2`
    (:func:`specurate.torch.scores.predict_proba`, :func:`~specurate.curation.static.el2n_scores`)
    and GraNd :math:`= \lVert\nabla_\theta\, \mathrm{CE}(f_\theta(x), y)\rVert_2`
    (:func:`specurate.torch.scores.per_example_grad_norms`). Labels are a column of the Parquet
    shards or an array / file in row order. torch is imported only inside these tasks; on Dask
    workers each task uses one torch thread.

Example ids: the global row index (``shard.row0 + i``), unless the Parquet shards carry an id
column (``id_column``; by default ``"id"`` when the shards have it), whose values must be
unique non-negative integers: checked per shard when it is read, and across all parts by the
final step, which reads every part back and checks that every id appears exactly once (nothing
lost, nothing duplicated). :func:`load_scores` returns a score column in id order: with row-index
ids exactly the per-example array :class:`specurate.torch.sampler.CurationSampler` takes
(``scores=...``; ``keep`` as a ``mask`` for :class:`~specurate.curation.static.KeepMask`).

Resuming: a rerun with the same parameters into the same folder keeps every part that is valid
and recomputes the others. Valid means: readable (page CRCs verified, pyarrow ≥ 15), this run's
fingerprint and shard in its metadata, the schema, the shard's row count and ids, finite scores
and — for every part the manifest recorded — the same SHA-256, so a truncated or edited part is
never trusted (a part written by an interrupted run, not yet recorded, gets the other checks).
A rerun with other parameters (or other data) is refused unless ``overwrite=True``. Every file
is written atomically (:func:`specurate._files.atomic_write`). The engine's progress lines go
to ``OUT/_score.log``.

Dask: tasks read the shards and write ``OUT`` themselves, so with ``--scheduler`` the data and
the output folder must be on a file system every worker sees at the same path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specurate._files import atomic_write, atomic_write_text
from specurate._json import jsonable
from specurate._progress import log_progress
from specurate._rng import stream
from specurate.curation.static import el2n_scores, kmeans_prototypes
from specurate.engine.cluster import Engine
from specurate.engine.shards import (
    DEFAULT_SHARD_ROWS,
    Shard,
    ShardedSource,
    list_shards,
    parquet_row_groups,
    read_shard,
)
from specurate.errors import SpecurateInputError
from specurate.io import RowSource, check_finite, check_same_length, read_rows

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEFAULT_BLOCK",
    "DEFAULT_CLUSTERS",
    "DEFAULT_EPS",
    "DEFAULT_SAMPLE",
    "MODEL_KINDS",
    "SCORERS",
    "SCORE_COLUMNS",
    "build_model",
    "load_model",
    "load_scores",
    "near_duplicate_of",
    "read_manifest",
    "save_model",
    "score_shards",
]

SCORERS: tuple[str, ...] = ("prototype", "dedup", "el2n", "grand")
#: the column :func:`load_scores` returns by default, per scorer
SCORE_COLUMNS: dict[str, str] = {
    "prototype": "distance",
    "dedup": "keep",
    "el2n": "el2n",
    "grand": "grand",
}
#: model architectures of :func:`build_model` (the builders of :mod:`specurate.bench.tasks`)
MODEL_KINDS: tuple[str, ...] = ("mlp", "linear", "cnn1d")

DEFAULT_CLUSTERS = 100
DEFAULT_SAMPLE = 20_000
DEFAULT_EPS = 0.01
#: most members of a cluster compared at once by ``dedup`` (memory: about 8·B² + 16·B·d bytes)
DEFAULT_BLOCK = 2048
#: slack of the cosine test (float32 unit vectors: an exact copy has cosine 1 − O(1e-7))
COS_SLACK = 1e-6
#: rows read at a time from a shard
CHUNK_ROWS = 16_384

MANIFEST = "_manifest.json"
CENTROIDS = "_centroids.npy"
SPILL = "_spill"
LOG = "_score.log"
_FORMAT = "specurate-scores"
_MODEL_FORMAT = "specurate-model"
_INT64_MAX = np.iinfo(np.int64).max


def _part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _schema(scorer: str) -> Any:
    """The pyarrow schema of a part."""
    import pyarrow as pa

    cols = {
        "prototype": [("cluster", pa.int32()), ("distance", pa.float64()), ("l2", pa.float64())],
        "dedup": [("cluster", pa.int32()), ("duplicate_of", pa.int64()), ("keep", pa.bool_())],
        "el2n": [("el2n", pa.float64())],
        "grand": [("grand", pa.float64())],
    }[scorer]
    return pa.schema([("id", pa.int64()), *cols])


def _sha256(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _sha_array(a: np.ndarray) -> str:
    h = hashlib.sha256(str((a.dtype.str, a.shape)).encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _canonical(obj: Any) -> str:
    return json.dumps(jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    def write(p: Path) -> None:
        with open(p, "wb") as f:  # np.save(path) would append ".npy" to the temporary name
            np.save(f, arr, allow_pickle=False)

    atomic_write(path, write)


# ---------------------------------------------------------------------------------------------
# tasks' context and reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    """What every task of one job needs (picklable: sent to Dask workers)."""

    scorer: str
    out: str
    fingerprint: str
    id_column: str | None
    label_column: str | None
    exclude: tuple[str, ...]
    clusters: int = 0
    eps: float = DEFAULT_EPS
    block: int = DEFAULT_BLOCK
    model: str | None = None
    n_classes: int = 0
    one_thread: bool = False
    chunk_rows: int = CHUNK_ROWS


@dataclass(frozen=True)
class _Job:
    """One shard's task."""

    ctx: _Ctx
    shard: Shard
    centroids: np.ndarray | None = None
    labels: np.ndarray | None = None
    rows: np.ndarray | None = None  # sampled rows (local indices) of the shard
    expected_sha: str | None = None
    counts: np.ndarray | None = None  # dedup: members of each cluster in this shard


@dataclass(frozen=True)
class _ClusterJob:
    """One cluster's dedup task: the shards holding members and how many."""

    ctx: _Ctx
    cluster: int
    members: tuple[tuple[int, int], ...]  # (shard index, count)
    d: int


def _open(shard: Shard, ctx: _Ctx) -> RowSource:
    """The shard's feature rows (Parquet: every column but the id and label columns, which
    the shard excludes)."""
    return read_shard(shard)


def _read_column(shard: Shard, name: str, flag: str) -> np.ndarray:
    """An integer column of a Parquet shard as int64 (no nulls)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    assert shard.path is not None
    try:
        with pq.ParquetFile(shard.path) as pf:
            groups = list(parquet_row_groups(shard))
            col = pf.read_row_groups(groups, columns=[name]).column(name)
    except Exception as exc:
        raise SpecurateInputError(
            f"{shard.label}: cannot read column '{name}' ({str(exc).splitlines()[0]})."
        ) from None
    if col.null_count:
        raise SpecurateInputError(f"{shard.label}: {flag} column '{name}' has missing values.")
    t = col.type
    if pa.types.is_integer(t):
        vals = col.to_numpy()
    elif pa.types.is_floating(t):
        vals = col.to_numpy()
        if not np.all(np.isfinite(vals)) or np.any(np.mod(vals, 1) != 0):
            raise SpecurateInputError(
                f"{shard.label}: {flag} column '{name}' holds values that are not integers."
            )
    else:
        raise SpecurateInputError(
            f"{shard.label}: {flag} column '{name}' is of type {t}, not integers."
        )
    if vals.dtype == np.uint64 and vals.size and vals.max() > _INT64_MAX:
        raise SpecurateInputError(f"{shard.label}: {flag} column '{name}' exceeds int64.")
    return vals.astype(np.int64)


def _shard_ids(shard: Shard, ctx: _Ctx) -> np.ndarray:
    """The example ids of a shard's rows: the global row index, or the id column (unique
    non-negative integers, checked)."""
    if ctx.id_column is None:
        return np.arange(shard.row0, shard.row0 + shard.n, dtype=np.int64)
    ids = _read_column(shard, ctx.id_column, "id")
    if ids.size != shard.n:
        raise SpecurateInputError(f"{shard.label}: has {ids.size} ids for {shard.n} rows.")
    if ids.size and ids.min() < 0:
        raise SpecurateInputError(
            f"{shard.label}: id column '{ctx.id_column}' holds the negative id {ids.min()}; "
            "ids must be non-negative integers."
        )
    s = np.sort(ids)
    dup = np.flatnonzero(s[1:] == s[:-1])
    if dup.size:
        raise SpecurateInputError(
            f"{shard.label}: id {s[dup[0]]} appears more than once in id column "
            f"'{ctx.id_column}'; ids must be unique."
        )
    return ids


def _normalize(chunk: np.ndarray, shard: Shard, r0: int) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64); NaN/inf and all-zero rows are named."""
    x = np.asarray(chunk, dtype=np.float64)
    check_finite(x, shard.label, row0=shard.row0 + r0)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise SpecurateInputError(
            f"{shard.label}: row {shard.row0 + r0 + int(zero[0])} is all zeros; its cosine "
            "distance is undefined."
        )
    return x / norms[:, None]


def _assign(xh: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest centroid (Euclidean, as k-means), cosine distance and L2 distance to it.

    The distances are computed row by row (no BLAS), so they do not depend on the thread count.
    """
    d2 = (mu * mu).sum(axis=1)[None, :] - 2.0 * (xh @ mu.T)  # ‖x̂ − μ‖² − 1
    c = np.argmin(d2, axis=1)
    m = mu[c]
    mnorm = np.sqrt(np.einsum("ij,ij->i", m, m))
    cos = 1.0 - np.einsum("ij,ij->i", xh, m) / mnorm
    diff = xh - m
    l2 = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return c, cos, l2


def _write_part(ctx: _Ctx, shard: Shard, columns: dict[str, np.ndarray]) -> dict[str, Any]:
    """Write the part of ``shard`` atomically; its summary (sha256, rows, id range)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(ctx.scorer).with_metadata(_part_meta(ctx, shard))
    table = pa.Table.from_pydict(
        {f.name: pa.array(columns[f.name], type=f.type) for f in _schema(ctx.scorer)},
        schema=schema,
    )
    path = Path(ctx.out) / _part_name(shard.index)
    crc = {"write_page_checksum": True} if _page_checksums() else {}
    atomic_write(path, lambda p: pq.write_table(table, p, **crc))
    ids = columns["id"]
    return {
        "index": shard.index,
        "sha256": _sha256(path),
        "rows": int(ids.size),
        "id_min": int(ids.min()),
        "id_max": int(ids.max()),
    }


def _page_checksums() -> bool:
    """pyarrow ≥ 15 writes and verifies Parquet page CRCs (the parts carry them there)."""
    import pyarrow as pa

    return int(pa.__version__.split(".")[0]) >= 15


def _part_meta(ctx: _Ctx, shard: Shard) -> dict[str, str]:
    return {
        "specurate.fingerprint": ctx.fingerprint,
        "specurate.shard": f"{shard.index}:{shard.row0}:{shard.n}",
        "specurate.scorer": ctx.scorer,
    }


def _check_part(job: _Job) -> dict[str, Any]:
    """Is the part of ``job.shard`` valid? Readable (page checksums verified), this run's
    fingerprint and shard in its metadata, the schema, the shard's rows and ids, finite scores,
    and the expected SHA-256 when one is known."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ctx, shard = job.ctx, job.shard
    path = Path(ctx.out) / _part_name(shard.index)
    out: dict[str, Any] = {"index": shard.index, "ok": False}
    if not path.is_file():
        return {**out, "reason": "missing"}
    sha = _sha256(path)
    if job.expected_sha is not None and sha != job.expected_sha:
        return {**out, "reason": "changed since it was written"}
    try:
        crc = {"page_checksum_verification": True} if _page_checksums() else {}
        with pq.ParquetFile(path, **crc) as pf:
            meta = {k.decode(): v.decode() for k, v in (pf.schema_arrow.metadata or {}).items()}
            if {k: meta.get(k) for k in _part_meta(ctx, shard)} != _part_meta(ctx, shard):
                return {**out, "reason": "written by another run or for another shard"}
            if not pf.schema_arrow.remove_metadata().equals(_schema(ctx.scorer)):
                return {**out, "reason": "other columns"}
            if pf.metadata.num_rows != shard.n:
                return {**out, "reason": f"{pf.metadata.num_rows} rows, not {shard.n}"}
            table = pf.read()
    except Exception as exc:  # pyarrow raises several types for a damaged file
        return {**out, "reason": f"unreadable ({str(exc).splitlines()[0][:80]})"}
    ids = table.column("id").to_numpy()
    if not np.array_equal(ids, _shard_ids(shard, ctx)):
        return {**out, "reason": "other ids than the shard's"}
    stats: dict[str, int] = {}
    for f in table.schema:
        if pa.types.is_floating(f.type) and not np.all(np.isfinite(table.column(f.name))):
            return {**out, "reason": f"non-finite values in '{f.name}'"}
    if ctx.scorer == "dedup":
        stats["duplicates"] = int((~table.column("keep").to_numpy()).sum())
    return {
        "index": shard.index,
        "ok": True,
        "reason": "",
        "sha256": sha,
        "rows": int(ids.size),
        "id_min": int(ids.min()),
        "id_max": int(ids.max()),
        **stats,
    }


def _part_ids(job: _Job) -> np.ndarray:
    import pyarrow.parquet as pq

    path = Path(job.ctx.out) / _part_name(job.shard.index)
    return np.asarray(pq.read_table(path, columns=["id"]).column("id").to_numpy())


def _overlap_task(jobs: tuple[_Job, tuple[_Job, ...]]) -> tuple[int, int, int]:
    """(duplicated ids, one of them, the other part's index) between a part and the parts whose
    id ranges overlap its own (read back from the files)."""
    first, others = jobs
    ids = _part_ids(first)
    for other in others:
        common = np.intersect1d(ids, _part_ids(other), assume_unique=True)
        if common.size:
            return int(common.size), int(common[0]), other.shard.index
    return 0, -1, -1


# ---------------------------------------------------------------------------------------------
# prototype and dedup tasks
# ---------------------------------------------------------------------------------------------


def _sample_task(job: _Job) -> np.ndarray:
    """The sampled rows of one shard, (m, d) float64 (for k-means)."""
    assert job.rows is not None
    src = _open(job.shard, job.ctx)
    x = read_rows(src, job.rows, dtype=np.float64, check=False)
    check_finite(x, job.shard.label)
    zero = np.flatnonzero(~np.any(x != 0, axis=1))
    if zero.size:
        raise SpecurateInputError(
            f"{job.shard.label}: row {job.shard.row0 + int(job.rows[zero[0]])} is all zeros; "
            "its cosine distance is undefined."
        )
    return x


def _prototype_task(job: _Job) -> dict[str, Any]:
    """Cluster, cosine distance and L2 distance of every row of one shard; writes its part."""
    ctx, shard, mu = job.ctx, job.shard, job.centroids
    assert mu is not None
    ids = _shard_ids(shard, ctx)
    cl = np.empty(shard.n, dtype=np.int32)
    cos = np.empty(shard.n)
    l2 = np.empty(shard.n)
    for r0, chunk in _open(shard, ctx).chunks(ctx.chunk_rows):
        r1 = r0 + chunk.shape[0]
        cl[r0:r1], cos[r0:r1], l2[r0:r1] = _assign(_normalize(chunk, shard, r0), mu)
    return _write_part(ctx, shard, {"id": ids, "cluster": cl, "distance": cos, "l2": l2})


def _spill_dtype(d: int) -> np.dtype:
    return np.dtype([("id", "<i8"), ("row", "<i8"), ("x", "<f4", (d,))])


def _spill_dir(out: str | Path) -> Path:
    return Path(out) / SPILL


def _spill_path(out: str | Path, cluster: int, shard: int) -> Path:
    return _spill_dir(out) / f"cluster={cluster}" / f"shard={shard}.npy"


def _result_path(out: str | Path, cluster: int) -> Path:
    return _spill_dir(out) / f"cluster={cluster}" / "result.npy"


def _npy_rows(path: Path) -> int | None:
    """Rows of a ``.npy`` file, None when it is missing or unreadable."""
    try:
        return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[0])
    except (OSError, ValueError):
        return None


def _spill_task(job: _Job) -> np.ndarray:
    """Dedup, the shuffle: the shard's normalised rows into one spill file per cluster (kept
    from an interrupted run when its marker and files are intact); the members per cluster."""
    ctx, shard, mu = job.ctx, job.shard, job.centroids
    assert mu is not None
    k = mu.shape[0]
    marker = _spill_dir(ctx.out) / f"shard={shard.index}.json"
    try:
        done = json.loads(marker.read_text(encoding="utf-8"))
        counts = np.asarray(done["counts"], dtype=np.int64)
        if done["fingerprint"] == ctx.fingerprint and counts.shape == (k,):
            if all(
                _npy_rows(_spill_path(ctx.out, int(c), shard.index)) == counts[c]
                for c in np.flatnonzero(counts)
            ):
                return counts
    except (OSError, ValueError, KeyError, TypeError):
        pass
    ids = _shard_ids(shard, ctx)
    rec = np.empty(shard.n, dtype=_spill_dtype(mu.shape[1]))
    rec["id"] = ids
    rec["row"] = np.arange(shard.n)
    cl = np.empty(shard.n, dtype=np.int64)
    for r0, chunk in _open(shard, ctx).chunks(ctx.chunk_rows):
        r1 = r0 + chunk.shape[0]
        xh = _normalize(chunk, shard, r0)
        cl[r0:r1] = _assign(xh, mu)[0]
        rec["x"][r0:r1] = xh
    order = np.argsort(cl, kind="stable")
    counts = np.bincount(cl, minlength=k).astype(np.int64)
    rec = rec[order]
    ends = np.cumsum(counts)
    for c in np.flatnonzero(counts):
        path = _spill_path(ctx.out, int(c), shard.index)
        path.parent.mkdir(parents=True, exist_ok=True)
        _save_npy(path, rec[ends[c] - counts[c] : ends[c]])
    atomic_write_text(
        marker, json.dumps({"fingerprint": ctx.fingerprint, "counts": counts.tolist()})
    )
    return counts


def near_duplicate_of(
    rows: Any, ids: np.ndarray, *, threshold: float, block: int = DEFAULT_BLOCK
) -> np.ndarray:
    r"""For members sorted by id, the id of the lowest-id earlier member each one duplicates.

    .. math::

        \mathrm{dup}_j = \min\{\, \mathrm{id}_i : \mathrm{id}_i < \mathrm{id}_j,\;
            \langle \hat x_i, \hat x_j\rangle \ge t \,\}\quad(-1 \text{ if none})

    computed block by block: rows ``j0:j0+B`` against the blocks of lower ids in increasing
    order, so the first block with a match gives the lowest id and later blocks are skipped.

    Args:
        rows: ``rows(a, b)`` → the (b − a, d) unit vectors of members a…b−1 (in id order).
        ids: (m,) the members' ids, increasing.
        threshold: t, the cosine at or above which two members are near-duplicates.
        block: most members held at once (B).

    Returns:
        (m,) int64 ids (−1: not a near-duplicate of a lower id).
    """
    m = ids.size
    dup = np.full(m, -1, dtype=np.int64)
    for j0 in range(0, m, block):
        j1 = min(j0 + block, m)
        xj = np.asarray(rows(j0, j1), dtype=np.float64)
        todo = np.ones(j1 - j0, dtype=bool)
        for i0 in range(0, j1, block):
            i1 = min(i0 + block, j1)
            xi = xj if i0 == j0 else np.asarray(rows(i0, i1), dtype=np.float64)
            live = np.flatnonzero(todo)
            hit = xj[live] @ xi.T >= threshold
            if i0 == j0:  # the diagonal block: only lower ids (strict lower triangle)
                hit &= np.arange(i0, i1)[None, :] < (j0 + live)[:, None]
            found = hit.any(axis=1)
            if found.any():
                first = hit.argmax(axis=1)[found]
                dup[j0 + live[found]] = ids[i0 + first]
                todo[live[found]] = False
                if not todo.any():
                    break
    return dup


def _cluster_task(job: _ClusterJob) -> dict[str, int]:
    """Dedup of one cluster: all pairs of its members in blocks; writes ``result.npy``, rows
    (shard, row within the shard, duplicate_of) sorted by shard and row."""
    ctx, c = job.ctx, job.cluster
    m = sum(n for _, n in job.members)
    res = _result_path(ctx.out, c)
    try:
        done = np.load(res, mmap_mode="r", allow_pickle=False)
        if done.shape == (3, m):
            return {"cluster": c, "members": m, "duplicates": int((done[2] >= 0).sum())}
    except (OSError, ValueError):
        pass
    parts = []
    for i, n in job.members:
        path = _spill_path(ctx.out, c, i)
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        if arr.shape[0] != n or arr.dtype != _spill_dtype(job.d):
            raise SpecurateInputError(
                f"{path}: holds {arr.shape[0]} rows, expected {n}; rerun with overwrite."
            )
        parts.append(arr)
    ids = np.concatenate([np.asarray(p["id"]) for p in parts])
    shard_of = np.repeat([i for i, _ in job.members], [n for _, n in job.members])
    row = np.concatenate([np.asarray(p["row"]) for p in parts])
    file_of = np.repeat(np.arange(len(parts)), [n for _, n in job.members])
    local = np.concatenate([np.arange(n) for _, n in job.members])
    order = np.argsort(ids, kind="stable")

    def rows(a: int, b: int) -> np.ndarray:
        pos = order[a:b]
        x = np.empty((b - a, job.d), dtype=np.float64)
        for f in np.unique(file_of[pos]):
            sel = file_of[pos] == f
            x[sel] = parts[f]["x"][local[pos[sel]]]
        return x

    dup_sorted = near_duplicate_of(
        rows, ids[order], threshold=1.0 - ctx.eps - COS_SLACK, block=ctx.block
    )
    dup = np.empty(m, dtype=np.int64)
    dup[order] = dup_sorted
    by = np.lexsort((row, shard_of))
    result = np.stack([shard_of[by], row[by], dup[by]]).astype(np.int64)
    _save_npy(res, result)
    return {"cluster": c, "members": m, "duplicates": int((dup >= 0).sum())}


def _dedup_part_task(job: _Job) -> dict[str, Any]:
    """Dedup, the last step: gather the shard's rows from the clusters' results; writes its
    part."""
    ctx, shard, counts = job.ctx, job.shard, job.counts
    assert counts is not None
    cl = np.full(shard.n, -1, dtype=np.int32)
    dup = np.full(shard.n, -1, dtype=np.int64)
    for c in np.flatnonzero(counts):
        res = np.load(_result_path(ctx.out, int(c)), mmap_mode="r", allow_pickle=False)
        a = int(np.searchsorted(res[0], shard.index, side="left"))
        b = int(np.searchsorted(res[0], shard.index, side="right"))
        if b - a != counts[c]:
            raise SpecurateInputError(
                f"{_result_path(ctx.out, int(c))}: holds {b - a} rows of {shard.label}, "
                f"expected {counts[c]}; rerun with overwrite."
            )
        rows = np.asarray(res[1, a:b])
        cl[rows] = c
        dup[rows] = res[2, a:b]
    if np.any(cl < 0):  # every row is in exactly one cluster: a missing one is a bug
        raise RuntimeError(f"{shard.label}: rows missing from the cluster results")
    ids = _shard_ids(shard, ctx)
    return _write_part(ctx, shard, {"id": ids, "cluster": cl, "duplicate_of": dup, "keep": dup < 0})


# ---------------------------------------------------------------------------------------------
# models (el2n, grand)
# ---------------------------------------------------------------------------------------------


def _arch(arch: Mapping[str, Any], source: str = "arch") -> dict[str, Any]:
    """A validated plain architecture spec."""
    if not isinstance(arch, Mapping) or arch.get("kind") not in MODEL_KINDS:
        kind = arch.get("kind") if isinstance(arch, Mapping) else arch
        raise SpecurateInputError(
            f"{source}: the architecture kind must be one of {', '.join(MODEL_KINDS)}, "
            f"got {kind!r}."
        )
    kind = arch["kind"]
    keys = {
        "mlp": ("n_in", "n_out", "hidden"),
        "linear": ("n_in", "n_out"),
        "cnn1d": ("length", "n_out", "channels"),
    }[kind]
    out: dict[str, Any] = {"kind": kind}
    for key in keys:
        value = arch.get(key, [128] if key == "hidden" else 16 if key == "channels" else None)
        values = list(value) if key == "hidden" and isinstance(value, list | tuple) else [value]
        if not all(isinstance(v, int | np.integer) and int(v) >= 1 for v in values):
            raise SpecurateInputError(
                f"{source}: '{key}' of a {kind} must be a positive integer"
                f"{' list' if key == 'hidden' else ''}, got {value!r}."
            )
        out[key] = [int(v) for v in values] if key == "hidden" else int(values[0])
    return out


def build_model(arch: Mapping[str, Any]) -> torch.nn.Module:
    r"""An untrained model from an architecture spec (:mod:`specurate.torch.models`, the
    builders the benchmark uses, so their ``state_dict`` keys match):

    - ``{"kind": "mlp", "n_in": d, "n_out": K, "hidden": [h1, …]}``;
    - ``{"kind": "linear", "n_in": d, "n_out": K}``;
    - ``{"kind": "cnn1d", "length": d, "n_out": K, "channels": c}``.

    The model maps (b, d) rows to (b, K) logits.
    """
    from specurate.torch import models

    a = _arch(arch)
    if a["kind"] == "linear":
        return models.linear(a["n_in"], a["n_out"])
    if a["kind"] == "mlp":
        return models.mlp(a["n_in"], a["n_out"], a["hidden"])
    return models.cnn1d(a["length"], a["n_out"], a["channels"])


def _model_inputs(arch: Mapping[str, Any]) -> int:
    return int(arch["length"] if arch["kind"] == "cnn1d" else arch["n_in"])


def save_model(path: str | os.PathLike, model: torch.nn.Module, arch: Mapping[str, Any]) -> Path:
    """Save a classifier for the ``el2n`` / ``grand`` scorers, atomically.

    The file is a plain dict — ``{"format": "specurate-model", "version": 1, "arch": {...},
    "state_dict": {name: tensor}}`` — that ``torch.load(path, weights_only=True)`` reads (no
    pickled code). ``arch`` is a spec of :func:`build_model`; the model's ``state_dict`` must
    load into ``build_model(arch)`` exactly (checked before writing).

    Raises:
        SpecurateInputError: an unknown architecture, or a model that does not match it.
    """
    import torch

    a = _arch(arch)
    state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    try:
        build_model(a).load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise SpecurateInputError(
            f"the model does not match the architecture {a} ({str(exc).splitlines()[0]})."
        ) from None
    payload = {"format": _MODEL_FORMAT, "version": 1, "arch": a, "state_dict": state}
    return atomic_write(Path(path), lambda p: torch.save(payload, p))


def _read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    import torch

    p = Path(path)
    if not p.is_file():
        raise SpecurateInputError(f"{p}: no such model file.")
    try:
        ck = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle and zip errors of many types
        raise SpecurateInputError(
            f"{p.name}: not a model saved by specurate's save_model ({str(exc).splitlines()[0]})."
        ) from None
    if not isinstance(ck, dict) or ck.get("format") != _MODEL_FORMAT or "state_dict" not in ck:
        raise SpecurateInputError(f"{p.name}: not a model saved by specurate's save_model.")
    ck["arch"] = _arch(ck.get("arch") or {}, p.name)
    return ck


def load_model(path: str | os.PathLike) -> torch.nn.Module:
    """The classifier saved by :func:`save_model`, on the CPU in evaluation mode.

    Raises:
        SpecurateInputError: a missing file, a file that is not such a checkpoint, or weights
            that do not fit its architecture.
    """
    ck = _read_checkpoint(path)
    model = build_model(ck["arch"])
    try:
        model.load_state_dict(ck["state_dict"], strict=True)
    except RuntimeError as exc:
        raise SpecurateInputError(
            f"{Path(path).name}: weights do not fit the architecture ({str(exc).splitlines()[0]})."
        ) from None
    return model.eval()


def _shard_labels(job: _Job) -> np.ndarray:
    ctx, shard = job.ctx, job.shard
    if job.labels is not None:
        y = np.asarray(job.labels)
        where = "the labels"
    else:
        assert ctx.label_column is not None
        y = _read_column(shard, ctx.label_column, "label")
        where = f"label column '{ctx.label_column}'"
    bad = np.flatnonzero((y < 0) | (y >= ctx.n_classes))
    if bad.size:
        raise SpecurateInputError(
            f"{shard.label}: {where} holds {y[bad[0]]} in row {shard.row0 + int(bad[0])}, "
            f"outside [0, {ctx.n_classes}) for the model's {ctx.n_classes} classes."
        )
    return y.astype(np.int64)


def _model_task(job: _Job) -> dict[str, Any]:
    """EL2N or GraNd of every row of one shard; writes its part."""
    import torch

    from specurate.torch.scores import per_example_grad_norms, predict_proba

    ctx, shard = job.ctx, job.shard
    if ctx.one_thread:  # a Dask worker: one thread per process
        torch.set_num_threads(1)
    assert ctx.model is not None
    model = load_model(ctx.model)
    ids = _shard_ids(shard, ctx)
    y = _shard_labels(job)
    score = np.empty(shard.n)
    for r0, chunk in _open(shard, ctx).chunks(ctx.chunk_rows):
        r1 = r0 + chunk.shape[0]
        check_finite(chunk, shard.label, row0=shard.row0 + r0)
        x = np.ascontiguousarray(chunk, dtype=np.float32)
        if ctx.scorer == "el2n":
            score[r0:r1] = el2n_scores(predict_proba(model, x), y[r0:r1])
        else:
            score[r0:r1] = per_example_grad_norms(model, x, y[r0:r1])
    return _write_part(ctx, shard, {"id": ids, ctx.scorer: score})


# ---------------------------------------------------------------------------------------------
# the job
# ---------------------------------------------------------------------------------------------


def _parquet_input(source: str | os.PathLike | np.ndarray) -> list[Path] | None:
    """The Parquet files of a Parquet source (sorted), None for any other source."""
    if isinstance(source, np.ndarray):
        return None
    p = Path(source)
    if p.suffix == ".zarr" or not p.exists():
        return None
    if p.is_file():
        return [p] if p.suffix == ".parquet" else None
    if (p / "zarr.json").exists() or any(f.suffix == ".npy" for f in p.iterdir()):
        return None
    from specurate._tables import parquet_files

    if not any(f.suffix == ".parquet" for f in p.iterdir()):
        return None
    return parquet_files(p)


def _plan_source(
    source: str | os.PathLike | np.ndarray,
    *,
    features: str | None,
    id_column: str | None,
    label_column: str | None,
    shard_rows: int,
) -> tuple[ShardedSource, str | None, tuple[str, ...]]:
    """The shards, the id column (None: row indices) and the columns that are not features."""
    files = _parquet_input(source)
    if files is None:
        if id_column is not None:
            raise SpecurateInputError(
                f"--id-column {id_column}: only Parquet shards have columns; the ids of other "
                "data are their row indices."
            )
        if label_column is not None:
            raise SpecurateInputError(
                f"--labels {label_column}: no such file (only Parquet shards have label columns)."
            )
        return list_shards(source, shard_rows=shard_rows, features=features), None, ()
    from specurate._tables import open_table

    names = open_table(files[0]).names
    if id_column is not None and id_column not in names:
        raise SpecurateInputError(
            f"--id-column {id_column}: {files[0].name} has no column of that name."
        )
    if label_column is not None and label_column not in names:
        raise SpecurateInputError(
            f"--labels {label_column}: no such file, and {files[0].name} has no column of that "
            "name."
        )
    id_col = id_column if id_column is not None else ("id" if "id" in names else None)
    exclude = tuple(c for c in (id_col, label_column) if c is not None)
    if features is not None and features in exclude:
        raise SpecurateInputError(
            f"--features {features}: the column cannot be both the features and the ids or labels."
        )
    src = list_shards(source, shard_rows=shard_rows, features=features, exclude=exclude)
    return src, id_col, exclude


def read_manifest(out: str | os.PathLike) -> dict[str, Any]:
    """The manifest ``OUT/_manifest.json`` of a scoring job.

    Raises:
        SpecurateInputError: no manifest, or one that is not valid JSON of this format.
    """
    path = Path(out) / MANIFEST
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecurateInputError(
            f"{path}: no such file; is {Path(out)} a scores folder?"
        ) from None
    except (OSError, ValueError) as exc:
        raise SpecurateInputError(f"{path}: not a readable manifest ({exc}).") from None
    if not isinstance(m, dict) or m.get("format") != _FORMAT:
        raise SpecurateInputError(f"{path}: not a specurate scores manifest.")
    return m


_FLAGS = {
    "scorer": "--scorer",
    "clusters": "--clusters",
    "sample": "--sample",
    "seed": "--seed",
    "eps": "--eps",
    "id_column": "--id-column",
    "features": "--features",
    "model": "--model",
    "labels": "--labels",
    "data": "the data",
}


def _first_difference(old: Any, new: Any, where: str = "") -> str:
    """The first parameter that differs, as ``--clusters 8 → 16``."""
    if isinstance(old, dict) and isinstance(new, dict):
        first = ("scorer", "data")  # the scorer and the data before the options
        for key in sorted(
            set(old) | set(new),
            key=lambda k: (k not in first, first.index(k) if k in first else 0, k),
        ):
            if old.get(key) != new.get(key):
                name = _FLAGS.get(key, key) if not where else f"{where}{key}"
                return _first_difference(old.get(key), new.get(key), f"{name} ")
    return f"{where}{old!r} → {new!r}"


def _clean(out: Path) -> None:
    """Remove what a scoring job wrote into ``out`` (``overwrite``)."""
    for f in out.glob("part-*.parquet"):
        f.unlink()
    for name in (MANIFEST, CENTROIDS):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / SPILL, ignore_errors=True)
    _clean_tmp(out)


def _clean_tmp(out: Path) -> None:
    """Temporary files of writes that never finished (a killed worker's)."""
    for pattern in (".part-*.tmp", f".{MANIFEST}.*.tmp", f".{CENTROIDS}.*.tmp"):
        for f in out.glob(pattern):
            f.unlink(missing_ok=True)


def _labels_spec(
    labels: str | os.PathLike | np.ndarray | None, src_files: list[Path] | None
) -> tuple[np.ndarray | None, str | None, dict[str, Any] | None]:
    """(labels array in row order, label column, its manifest record)."""
    from specurate.io import load_array

    if labels is None:
        return None, None, None
    if isinstance(labels, np.ndarray):
        y = np.asarray(labels)
        return y, None, {"array_sha256": _sha_array(np.ascontiguousarray(y))}
    p = Path(labels)
    if p.exists():
        y = load_array(p, role="labels")
        return y, None, {"file": p.name, "sha256": _sha256(p) if p.is_file() else None}
    if src_files is None:
        raise SpecurateInputError(
            f"--labels {labels}: no such file (only Parquet shards have label columns)."
        )
    return None, str(labels), {"column": str(labels)}


def _check_labels(y: np.ndarray, n: int, src_label: str, name: str) -> np.ndarray:
    check_same_length(n, y, data_source=src_label, other_source=name)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise SpecurateInputError(
            f"{name}: expected one integer class label per example, got {y.dtype} of shape "
            f"{y.shape}."
        )
    return y.astype(np.int64)


def _fit_centroids(
    eng: Engine, ctx: _Ctx, src: ShardedSource, *, clusters: int, sample: int, seed: int
) -> np.ndarray:
    """k-means centroids of a uniform sample of rows (sorted global indices drawn without
    replacement by ``default_rng(seed)``), fitted on the normalised rows."""
    idx = np.sort(stream("scores.sample", seed).choice(src.n, size=sample, replace=False))
    jobs = []
    for s in src.shards:
        a, b = np.searchsorted(idx, [s.row0, s.row0 + s.n])
        if b > a:
            jobs.append(_Job(ctx, s, rows=idx[a:b] - s.row0))
    rows = eng.gather(eng.map(_sample_task, jobs, label=f"sampling {sample} rows of {src.label}"))
    x = np.concatenate(rows)
    return kmeans_prototypes(x, n_clusters=clusters, seed=seed, normalize=True)


def _centroids(
    eng: Engine,
    ctx: _Ctx,
    src: ShardedSource,
    out: Path,
    old: dict[str, Any] | None,
    *,
    clusters: int,
    sample: int,
    seed: int,
) -> tuple[np.ndarray, str]:
    """The centroids (reused from ``_centroids.npy`` when the manifest's checksum matches) and
    their checksum."""
    path = out / CENTROIDS
    want = None if old is None else old.get("centroids_sha256")
    if want is not None and path.is_file():
        try:
            mu = np.load(path, allow_pickle=False)
            if _sha_array(mu) == want:
                return mu, want
        except (OSError, ValueError):
            pass
    mu = _fit_centroids(eng, ctx, src, clusters=clusters, sample=sample, seed=seed)
    sha = _sha_array(mu)
    if want is not None and sha != want:
        raise SpecurateInputError(
            f"{out}: the k-means centroids refitted now differ from those its parts were scored "
            "with (another scikit-learn?); use overwrite or another output folder."
        )
    _save_npy(path, mu)
    return mu, sha


def score_shards(
    source: str | os.PathLike | np.ndarray,
    out: str | os.PathLike,
    *,
    scorer: str,
    engine: Engine | None = None,
    clusters: int = DEFAULT_CLUSTERS,
    sample: int = DEFAULT_SAMPLE,
    eps: float = DEFAULT_EPS,
    block: int = DEFAULT_BLOCK,
    model: str | os.PathLike | None = None,
    labels: str | os.PathLike | np.ndarray | None = None,
    id_column: str | None = None,
    features: str | None = None,
    seed: int = 0,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    overwrite: bool = False,
) -> Path:
    r"""Score every example of a sharded data set; one Parquet part per shard (see the module).

    Args:
        source: a folder of Parquet or ``.npy`` files, one such file, a ``.zarr`` array or an
            (n, d) array (:func:`specurate.engine.shards.list_shards`).
        out: the output folder (created; resumable).
        scorer: ``"prototype"``, ``"dedup"``, ``"el2n"`` or ``"grand"``.
        engine: where the tasks run (:func:`specurate.engine.cluster.open_engine`); None: here.
        clusters: k of k-means (prototype, dedup).
        sample: rows drawn uniformly across the shards to fit k-means (at most n).
        eps: dedup: near-duplicates have cosine similarity ≥ 1 − eps (in [0, 2]).
        block: dedup: most cluster members compared at once (memory ≈ 8·block² bytes).
        model: el2n / grand: a checkpoint of :func:`save_model`.
        labels: el2n / grand: class labels — an (n,) integer array or a file in row order, or
            the name of a column of the Parquet shards.
        id_column: the example-id column of Parquet shards (default: ``"id"`` if present, else
            row indices).
        features: the feature column of Parquet shards (default: every column but the id and
            label columns, or the only list column).
        seed: seed of the k-means sample and of k-means.
        shard_rows: rows per shard when one ``.npy`` file, zarr array or array is split.
        overwrite: discard the scores already in ``out`` (else a parameter change is refused).

    Returns:
        ``out``; ``out/_manifest.json`` (:func:`read_manifest`) holds the counts and timings.

    Raises:
        SpecurateInputError: bad parameters or data (named), a folder scored with other
            parameters, or ids that are not unique across the shards.
    """
    from specurate import __version__
    from specurate._validate import check_choice, check_int, check_positive_int, check_real

    t0 = time.perf_counter()
    check_choice("scorer", scorer, SCORERS)
    seed = check_int("--seed", seed, lo=0)
    clusters = check_positive_int("--clusters", clusters)
    sample = check_positive_int("--sample", sample)
    eps = check_real("--eps", eps, lo=0.0, hi=2.0)
    block = check_positive_int("--block", block)
    clustered = scorer in ("prototype", "dedup")
    if clustered and (model is not None or labels is not None):
        raise SpecurateInputError(f"--model and --labels are not used by the {scorer} scorer.")
    if not clustered and (model is None or labels is None):
        raise SpecurateInputError(f"the {scorer} scorer needs --model and --labels.")
    eng = engine or Engine("local")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecurateInputError(f"--out {out} exists and is not a folder.")
    if not isinstance(source, np.ndarray) and out.resolve() == Path(source).resolve():
        raise SpecurateInputError(f"--out {out} is the data folder; write the scores elsewhere.")

    files = _parquet_input(source)
    y, label_column, labels_record = _labels_spec(labels, files)
    src, id_col, exclude = _plan_source(
        source,
        features=features,
        id_column=id_column,
        label_column=label_column,
        shard_rows=shard_rows,
    )
    params: dict[str, Any] = {
        "scorer": scorer,
        "data": {
            "source": src.label,
            "n": src.n,
            "d": src.d,
            "shards": [[s.label, s.n] for s in src.shards],
        },
        "id_column": id_col,
        "features": features,
    }
    n_classes = 0
    if clustered:
        sample = min(sample, src.n)
        if clusters > sample:
            raise SpecurateInputError(
                f"--clusters {clusters} exceeds the {sample} rows sampled to fit k-means."
            )
        params.update({"clusters": clusters, "sample": sample, "seed": seed})
        if scorer == "dedup":
            params["eps"] = eps
    else:
        assert model is not None
        ck = _read_checkpoint(model)
        if _model_inputs(ck["arch"]) != src.d:
            raise SpecurateInputError(
                f"{Path(model).name}: the model takes {_model_inputs(ck['arch'])} inputs but "
                f"{src.label} has {src.d} features."
            )
        n_classes = int(ck["arch"]["n_out"])
        load_model(model)  # the weights fit the architecture
        if y is not None:
            name = (labels_record or {}).get("file") or "the labels"
            y = _check_labels(y, src.n, src.label, name)
        params.update(
            {"model": {"file": Path(model).name, "sha256": _sha256(model)}, "labels": labels_record}
        )
    params_sha = hashlib.sha256(_canonical(params).encode()).hexdigest()

    old: dict[str, Any] | None = None
    if out.is_dir() and overwrite:
        _clean(out)
    elif out.is_dir() and (out / MANIFEST).exists():
        old = read_manifest(out)
        if old.get("params") != jsonable(params):
            diff = _first_difference(old.get("params"), jsonable(params))
            raise SpecurateInputError(
                f"{out}: holds scores computed with other parameters ({diff}); use --overwrite "
                "or another --out folder."
            )
    elif out.is_dir() and any(out.glob("part-*.parquet")):
        raise SpecurateInputError(
            f"{out}: holds part files but no {MANIFEST}; use --overwrite or another --out folder."
        )
    out.mkdir(parents=True, exist_ok=True)

    with log_progress(out / LOG):
        base = _Ctx(
            scorer=scorer,
            out=str(out),
            fingerprint=params_sha,
            id_column=id_col,
            label_column=label_column,
            exclude=exclude,
            clusters=clusters,
            eps=eps,
            block=block,
            model=None if model is None else str(Path(model).resolve()),
            n_classes=n_classes,
            one_thread=eng.client is not None,
        )
        mu, centroids_sha = None, None
        if clustered:
            mu, centroids_sha = _centroids(
                eng, base, src, out, old, clusters=clusters, sample=sample, seed=seed
            )
        fingerprint = params_sha if centroids_sha is None else _sha_of(params_sha, centroids_sha)
        ctx = _replace_fingerprint(base, fingerprint)
        recorded = {p["index"]: p["sha256"] for p in (old or {}).get("parts", []) if "sha256" in p}
        manifest: dict[str, Any] = {
            "format": _FORMAT,
            "version": 1,
            "specurate": __version__,
            "scorer": scorer,
            "score_column": SCORE_COLUMNS[scorer],
            "columns": list(_schema(scorer).names),
            "params": params,
            "params_sha256": params_sha,
            "fingerprint": fingerprint,
            "centroids_sha256": centroids_sha,
            "settings": {"block": block, "chunk_rows": ctx.chunk_rows, "shard_rows": shard_rows},
            "status": "running",
            "parts": (old or {}).get("parts", []),
        }
        atomic_write_text(out / MANIFEST, json.dumps(jsonable(manifest), indent=2))

        checks = eng.gather(
            eng.map(
                _check_part,
                [_Job(ctx, s, expected_sha=recorded.get(s.index)) for s in src.shards],
                label=f"checking the parts in {out.name}",
            )
        )
        todo = [s for s, c in zip(src.shards, checks, strict=True) if not c["ok"]]
        extra: dict[str, Any] = {}
        computed: list[dict[str, Any]] = []
        if todo:
            computed, extra = _compute(eng, ctx, src, todo, mu, y)
        # the final step: every computed part read back, then every id exactly once
        finals = eng.gather(
            eng.map(
                _check_part,
                [_Job(ctx, src.shards[c["index"]], expected_sha=c["sha256"]) for c in computed],
                label=f"verifying the parts in {out.name}",
            )
        )
        summary = {c["index"]: c for c in checks if c["ok"]}
        for f in finals:
            if not f["ok"]:
                raise RuntimeError(f"{_part_name(f['index'])}: {f['reason']} after writing it")
            summary[f["index"]] = f
        parts = [summary[s.index] for s in src.shards]
        _check_unique(eng, ctx, src, parts)
        wall = time.perf_counter() - t0
        n_done = sum(s.n for s in todo)
        counts: dict[str, Any] = {
            "examples": src.n,
            "unique_ids": sum(p["rows"] for p in parts),
            "parts": len(parts),
            "parts_computed": len(todo),
            "parts_skipped": len(parts) - len(todo),
            "examples_computed": n_done,
        }
        if scorer == "dedup":
            counts["duplicates"] = sum(p["duplicates"] for p in parts)
            counts["kept"] = src.n - counts["duplicates"]
        manifest.update(
            {
                "status": "complete",
                "parts": [
                    {
                        "index": p["index"],
                        "file": _part_name(p["index"]),
                        "shard": src.shards[p["index"]].label,
                        "row0": src.shards[p["index"]].row0,
                        "rows": p["rows"],
                        "id_min": p["id_min"],
                        "id_max": p["id_max"],
                        "sha256": p["sha256"],
                    }
                    for p in parts
                ],
                "counts": counts,
                "run": {
                    "engine": eng.name,
                    "workers": eng.workers,
                    "wall_s": wall,
                    "examples_per_s": n_done / wall if wall > 0 else 0.0,
                    **extra,
                },
            }
        )
        atomic_write_text(out / MANIFEST, json.dumps(jsonable(manifest), indent=2))
    shutil.rmtree(out / SPILL, ignore_errors=True)
    _clean_tmp(out)
    return out


def _sha_of(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _replace_fingerprint(ctx: _Ctx, fingerprint: str) -> _Ctx:
    return replace(ctx, fingerprint=fingerprint)


def _compute(
    eng: Engine,
    ctx: _Ctx,
    src: ShardedSource,
    todo: Sequence[Shard],
    mu: np.ndarray | None,
    y: np.ndarray | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score the shards ``todo``: their part summaries, and what the run measured."""
    label = f"{ctx.scorer} scores of {src.label}"
    if ctx.scorer == "prototype":
        jobs = [_Job(ctx, s, centroids=mu) for s in todo]
        return eng.gather(eng.map(_prototype_task, jobs, label=label)), {}
    if ctx.scorer in ("el2n", "grand"):
        jobs = [_Job(ctx, s, labels=None if y is None else y[s.row0 : s.row0 + s.n]) for s in todo]
        return eng.gather(eng.map(_model_task, jobs, label=label)), {}
    assert mu is not None
    spill = eng.gather(
        eng.map(
            _spill_task,
            [_Job(ctx, s, centroids=mu) for s in src.shards],
            label=f"spilling {src.label} by cluster",
        )
    )
    counts = np.stack(spill)  # (shards, k)
    cjobs = []
    for c in np.flatnonzero(counts.sum(axis=0)):
        members = tuple((int(i), int(counts[i, c])) for i in np.flatnonzero(counts[:, c]))
        cjobs.append(_ClusterJob(ctx, int(c), members, src.d))
    clusters = eng.gather(eng.map(_cluster_task, cjobs, label=f"dedup of {len(cjobs)} clusters"))
    jobs = [_Job(ctx, s, counts=counts[s.index]) for s in todo]
    parts = eng.gather(eng.map(_dedup_part_task, jobs, label=label))
    sizes = counts.sum(axis=0)
    extra = {
        "largest_cluster": int(sizes.max()),
        "clusters_in_blocks": int((sizes > ctx.block).sum()),
        "duplicates_found": int(sum(c["duplicates"] for c in clusters)),
    }
    return parts, extra


def _check_unique(
    eng: Engine, ctx: _Ctx, src: ShardedSource, parts: Sequence[Mapping[str, Any]]
) -> None:
    """Every id in exactly one part: parts whose id ranges overlap are compared id by id (on
    the workers); disjoint ranges cannot share an id. Within a part ids are unique (checked
    when the shard was read) and equal to the shard's (checked when the part was verified)."""
    order = sorted(parts, key=lambda p: (p["id_min"], p["id_max"]))
    jobs = []
    for a, p in enumerate(order):
        others = []
        for q in order[a + 1 :]:
            if q["id_min"] > p["id_max"]:
                break
            others.append(_Job(ctx, src.shards[q["index"]]))
        if others:
            jobs.append((_Job(ctx, src.shards[p["index"]]), tuple(others)))
    if not jobs:
        return
    found = eng.gather(eng.map(_overlap_task, jobs, label="checking ids across the parts"))
    for (first, _), (count, example, other) in zip(jobs, found, strict=True):
        if count:
            raise SpecurateInputError(
                f"{src.label}: id {example} appears in both {first.shard.label} and "
                f"{src.shards[other].label} ({count} shared ids); the id column "
                f"'{ctx.id_column}' must be unique across the shards."
            )


# ---------------------------------------------------------------------------------------------
# reading the scores
# ---------------------------------------------------------------------------------------------


def load_scores(
    path: str | os.PathLike,
    ids: Sequence[int] | np.ndarray | None = None,
    *,
    column: str | None = None,
) -> np.ndarray:
    """One score column of a finished scoring job, in id order.

    With row-index ids (no id column) the result is the per-example array, in dataset order,
    that :class:`specurate.torch.sampler.CurationSampler` takes as init data
    (``CurationSampler(StaticSubset(keep=0.7), n, scores=load_scores(out))``; for ``dedup``,
    ``mask=load_scores(out)`` with :class:`~specurate.curation.static.KeepMask`).

    Args:
        path: the output folder of :func:`score_shards`.
        ids: the example ids wanted, in the order wanted (e.g. the id of each dataset index);
            None: every id, increasing.
        column: the column (default: the scorer's :data:`SCORE_COLUMNS` entry — ``distance``,
            ``keep``, ``el2n``, ``grand``).

    Returns:
        (len(ids),) or (n,) array: float64 scores, int32 clusters, int64 ids of duplicates, or
        bool keep flags.

    Raises:
        SpecurateInputError: not a finished scoring job, an unknown column, or an id not scored.
    """
    import pyarrow.parquet as pq

    out = Path(path)
    m = read_manifest(out)
    if m.get("status") != "complete":
        raise SpecurateInputError(f"{out}: the scoring job did not finish; run it again to resume.")
    col = column or m["score_column"]
    if col not in m["columns"] or col == "id":
        raise SpecurateInputError(
            f"column {col!r}: not a score column of {out.name} ({', '.join(m['columns'][1:])})."
        )
    all_ids, values = [], []
    for p in m["parts"]:
        try:
            t = pq.read_table(out / p["file"], columns=["id", col])
        except Exception as exc:
            raise SpecurateInputError(
                f"{out / p['file']}: not readable ({str(exc).splitlines()[0]}); run the scoring "
                "job again to recompute it."
            ) from None
        if t.num_rows != p["rows"]:
            raise SpecurateInputError(
                f"{out / p['file']}: has {t.num_rows} rows, the manifest {p['rows']}; run the "
                "scoring job again to recompute it."
            )
        all_ids.append(t.column("id").to_numpy())
        values.append(t.column(col).to_numpy(zero_copy_only=False))
    every = np.concatenate(all_ids)
    vals = np.concatenate(values)
    order = np.argsort(every, kind="stable")
    every, vals = every[order], vals[order]
    if ids is None:
        return vals
    want = np.asarray(ids)
    if want.ndim != 1 or (want.size and want.dtype.kind not in "iu"):
        raise SpecurateInputError(f"ids must be a 1-D array of integers, got {want.dtype}.")
    pos = np.searchsorted(every, want)
    pos = np.minimum(pos, every.size - 1)
    missing = np.flatnonzero(every[pos] != want)
    if missing.size:
        raise SpecurateInputError(f"id {want[missing[0]]} was not scored in {out}.")
    return vals[pos]
