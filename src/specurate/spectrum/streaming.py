r"""Streaming covariance of a data set too large for memory: O(d²) memory, independent of n.

Rows are read in chunks from a memory-mapped ``.npy`` file, a Parquet file (every column a
numeric feature, every row an example) or an in-memory array, and folded into one (d, d)
float64 accumulator that BLAS ``syrk`` updates in place. The covariance convention is the
population one,

.. math::

    \Sigma = \frac1n \sum_{i=1}^n (x_i - \bar x)(x_i - \bar x)^\top
           \qquad (\text{shape } (d, d)),

and ``center=False`` gives the second-moment matrix :math:`X^\top X / n`.

Numerical scheme (shifted sums). With a shift vector :math:`s` (the mean of the first chunk),
the pass accumulates

.. math::

    S = \sum_i (x_i - s)(x_i - s)^\top, \qquad u = \sum_i (x_i - s),

and returns :math:`\Sigma = S/n - (u/n)(u/n)^\top` and :math:`\bar x = s + u/n`. Because
:math:`u/n = \bar x - s` is small (of the order of the spread, not of the mean), the
subtraction does not cancel catastrophically even when :math:`\|\bar x\| \gg` the spread,
unlike the one-pass :math:`E[xx^\top] - \bar x \bar x^\top`.

Memory. Besides the source (memory-mapped or already in memory) the call holds the (d, d)
float64 accumulator and one chunk buffer of at most ``d·d/4`` float64 values (``d/4`` rows,
at least 64), plus numpy's fixed-size (64 KiB) ufunc buffers: about 1.25 × the d²·8 bytes of
the matrix, below 2 ×. :func:`streaming_eigvalsh` then diagonalises the accumulator in place
with O(d) LAPACK workspace. ``precision="mixed"`` adds a float32 (d, d) block accumulator
(0.5 × the matrix; about 1.75 × in all); a Parquet source adds one decoded batch (≤ 0.25 ×);
``groups=G`` keeps G per-group scatter matrices: (G + 1) × the matrix in all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dsyrk, ssyrk

from specurate.errors import SpecurateInputError

__all__ = [
    "StreamingCovariance",
    "StreamingMoments",
    "iter_row_chunks",
    "streaming_covariance",
    "streaming_eigvalsh",
]

Source = str | os.PathLike | np.ndarray
Precision = Literal["double", "mixed"]

_MIN_CHUNK_ROWS = 64
# precision="mixed": rows summed in the float32 block accumulator before it is added to the
# float64 one. float32 rounding then grows like (rows per block) · 2⁻²⁴ at worst, about
# sqrt(rows) · 2⁻²⁴ typically (≈ 4e-6 for 4096 rows).
_MIXED_BLOCK_ROWS = 4096
# Tile size when mirroring a triangle: bounds the temporary numpy may make to tile × d values.
_MIRROR_TILE = 64


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Source:
    """An opened row source: its label for messages, its shape, and a chunk iterator."""

    label: str
    n: int
    d: int
    dtype: np.dtype
    chunks: Callable[[int], Iterator[tuple[int, np.ndarray]]]


def _numeric_dtype(dtype: np.dtype) -> bool:
    return dtype.kind in "biuf" and dtype.fields is None


def _array_chunks(x: np.ndarray) -> Callable[[int], Iterator[tuple[int, np.ndarray]]]:
    def gen(chunk_rows: int) -> Iterator[tuple[int, np.ndarray]]:
        for r0 in range(0, x.shape[0], chunk_rows):
            yield r0, np.asarray(x[r0 : r0 + chunk_rows])

    return gen


def _open_array(x: np.ndarray, label: str) -> _Source:
    if x.ndim != 2:
        raise SpecurateInputError(
            f"{label} holds a {x.ndim}-D array of shape {x.shape}, expected a 2-D "
            "(examples × features) array."
        )
    if not _numeric_dtype(x.dtype):
        raise SpecurateInputError(
            f"{label} has dtype {x.dtype}, expected real numbers (bool, integer or float)."
        )
    return _Source(label, int(x.shape[0]), int(x.shape[1]), x.dtype, _array_chunks(x))


def _open_parquet(path: Path, label: str) -> _Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise SpecurateInputError(f"{label} cannot be read as a Parquet file ({exc}).") from None
    schema = pf.schema_arrow
    dtypes = []
    for field in schema:
        t = field.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
            raise SpecurateInputError(
                f"{label} has non-numeric column {field.name!r} of type {t}, expected only "
                "integer, float or boolean columns."
            )
        dtypes.append(np.dtype(t.to_pandas_dtype()))
    n = int(pf.metadata.num_rows)
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    names = schema.names

    def gen(chunk_rows: int) -> Iterator[tuple[int, np.ndarray]]:
        r0 = 0
        for batch in pf.iter_batches(batch_size=chunk_rows):
            out = np.empty((batch.num_rows, batch.num_columns), dtype=dtype)
            for j, col in enumerate(batch.columns):
                if col.null_count:
                    mask = col.is_null().to_numpy(zero_copy_only=False)
                    row = r0 + int(np.flatnonzero(mask)[0])
                    raise SpecurateInputError(
                        f"{label} has a missing (null) value in column {names[j]!r} at row {row}."
                    )
                out[:, j] = col.to_numpy(zero_copy_only=False)
            yield r0, out
            r0 += batch.num_rows

    return _Source(label, n, len(names), dtype, gen)


def _open(source: Source) -> _Source:
    """Validate ``source`` and return its shape and a chunk iterator (nothing is read yet)."""
    if isinstance(source, np.ndarray):
        src = _open_array(source, "the input array")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = str(path)
        ext = path.suffix.lower()
        if ext not in (".npy", ".parquet"):
            raise SpecurateInputError(
                f"{label} has unsupported extension {path.suffix or '(none)'!r}, expected .npy "
                "or .parquet."
            )
        if not path.is_file():
            raise SpecurateInputError(f"{label} does not exist or is not a file.")
        if ext == ".npy":
            try:
                x = np.load(path, mmap_mode="r", allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise SpecurateInputError(
                    f"{label} cannot be read as a .npy array ({exc})."
                ) from None
            src = _open_array(x, label)
        else:
            src = _open_parquet(path, label)
    else:
        raise SpecurateInputError(
            "the data source must be a path to a .npy or .parquet file or a 2-D numpy array, "
            f"got {type(source).__name__}."
        )
    if src.n < 2:
        raise SpecurateInputError(
            f"{src.label} has {src.n} row(s), at least 2 examples are needed for a covariance."
        )
    if src.d < 1:
        raise SpecurateInputError(f"{src.label} has no feature columns.")
    return src


def _default_chunk_rows(d: int) -> int:
    """Rows per chunk: a (rows, d) float64 buffer holds at most d²/4 values (rows = d/4 ≥ 64)."""
    return max(_MIN_CHUNK_ROWS, d // 4)


def _check_chunk_rows(chunk_rows: int | None, label: str) -> None:
    if chunk_rows is None:
        return
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)):
        raise SpecurateInputError(
            f"chunk_rows for {label} must be a positive integer, got {chunk_rows!r}."
        )
    if chunk_rows < 1:
        raise SpecurateInputError(
            f"chunk_rows for {label} must be a positive integer, got {chunk_rows}."
        )


def iter_row_chunks(source: Source, *, chunk_rows: int | None = None) -> Iterator[np.ndarray]:
    r"""Yield the rows of a data source in consecutive chunks.

    Parameters
    ----------
    source : str, os.PathLike or numpy.ndarray
        Path to a ``.npy`` file (memory-mapped with ``np.load(path, mmap_mode="r")``, must be
        2-D), a ``.parquet`` file (every column numeric: integer, float or boolean; each row
        one example), or an in-memory 2-D array / ``np.memmap`` of shape (n, d).
    chunk_rows : int, optional
        Rows per chunk. Default ``max(64, d // 4)``: a float64 chunk then holds at most
        :math:`d^2/4` values, a quarter of a (d, d) float64 matrix.

    Yields
    ------
    numpy.ndarray
        Chunks :math:`X_{[r_0, r_1)}` of shape (m, d), m ≤ ``chunk_rows`` (the last may be
        shorter), in row order; stacked they give X of shape (n, d). For arrays and ``.npy``
        files each chunk is a view of the source (read-only for files, no copy); for Parquet
        each chunk is a new array of the columns' common numpy dtype.

    Raises
    ------
    SpecurateInputError
        Missing file, unsupported extension, not 2-D, non-numeric data, fewer than 2 rows,
        a null Parquet value, or an invalid ``chunk_rows``.
    """
    src = _open(source)
    _check_chunk_rows(chunk_rows, src.label)
    rows = int(chunk_rows) if chunk_rows is not None else _default_chunk_rows(src.d)
    for _, chunk in src.chunks(rows):
        yield chunk


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class StreamingMoments:
    r"""First and second moments gathered in one streaming pass, without the (d, d) covariance.

    Returned by :func:`streaming_eigvalsh` (whose covariance was diagonalised in place) and
    the base of :class:`StreamingCovariance`.

    Attributes
    ----------
    n : int
        Number of rows (examples).
    d : int
        Number of features.
    mean : numpy.ndarray
        (d,) column means :math:`\bar x = s + u/n`.
    shift : numpy.ndarray
        (d,) the shift :math:`s` subtracted before accumulating (mean of the first chunk; zero
        when ``center=False``).
    center : bool
        Whether the moments are centered (covariance) or raw (second moments).
    precision : {"double", "mixed"}
        Accumulation precision used.
    cross : numpy.ndarray or None
        (d, m) cross-covariance :math:`C_{xy} = \frac1n\sum_i (x_i-\bar x)(y_i-\bar y)^\top`
        with the targets (raw :math:`X^\top Y/n` when ``center=False``); m = 1 for 1-D targets.
    target_mean : numpy.ndarray or None
        (m,) target column means :math:`\bar y`.
    target_var : numpy.ndarray or None
        (m,) target variances :math:`\frac1n\sum_i (y_{ij}-\bar y_j)^2` (raw second moments
        :math:`\frac1n\sum_i y_{ij}^2` when ``center=False``).
    target_shift : numpy.ndarray or None
        (m,) the shift :math:`t` subtracted from the targets (mean of the first chunk's).
    groups : int
        Number G of contiguous row blocks (0: none).
    group_bounds : numpy.ndarray or None
        (G+1,) block boundaries; group g is rows ``group_bounds[g] : group_bounds[g+1]``,
        ``group_bounds[g] = floor(g·n/G)``.
    group_scatter : numpy.ndarray or None
        (G, d, d) per-group scatter about the common shift,
        :math:`S_g = \sum_{i\in g} (x_i - s)(x_i - s)^\top` (symmetric).
    group_sum : numpy.ndarray or None
        (G, d) :math:`u_g = \sum_{i\in g} (x_i - s)`.
    group_count : numpy.ndarray or None
        (G,) :math:`n_g`.
    group_cross_scatter : numpy.ndarray or None
        (G, d, m) :math:`\sum_{i\in g} (x_i - s)(y_i - t)^\top` (with targets).
    group_target_sum : numpy.ndarray or None
        (G, m) :math:`v_g = \sum_{i\in g} (y_i - t)` (with targets).
    group_target_sq : numpy.ndarray or None
        (G, m) :math:`\sum_{i\in g} (y_i - t)^2` per column (with targets).
    """

    n: int
    d: int
    mean: np.ndarray
    shift: np.ndarray
    center: bool
    precision: str
    cross: np.ndarray | None = None
    target_mean: np.ndarray | None = None
    target_var: np.ndarray | None = None
    target_shift: np.ndarray | None = None
    groups: int = 0
    group_bounds: np.ndarray | None = None
    group_scatter: np.ndarray | None = None
    group_sum: np.ndarray | None = None
    group_count: np.ndarray | None = None
    group_cross_scatter: np.ndarray | None = None
    group_target_sum: np.ndarray | None = None
    group_target_sq: np.ndarray | None = None

    def _check_group(self, g: int) -> int:
        if self.groups == 0 or self.group_scatter is None:
            raise SpecurateInputError(
                "leave-one-group-out needs the per-group data: pass groups > 0 to the streaming "
                "call."
            )
        if not -self.groups <= int(g) < self.groups:
            raise SpecurateInputError(f"group index {g} is out of range for {self.groups} groups.")
        return int(g) % self.groups

    def leave_one_out(self, g: int) -> np.ndarray:
        r"""Covariance of the data without the rows of group ``g`` (jackknife replicate).

        With :math:`S_{-g} = \sum_{h\ne g} S_h`, :math:`u_{-g} = \sum_{h\ne g} u_h` and
        :math:`n_{-g} = n - n_g`,

        .. math::

            \Sigma_{-g} = S_{-g}/n_{-g} - (u_{-g}/n_{-g})(u_{-g}/n_{-g})^\top

        (only :math:`S_{-g}/n_{-g}` when ``center=False``).

        Parameters
        ----------
        g : int
            Group index, ``0 <= g < groups`` (negative indices count from the end).

        Returns
        -------
        numpy.ndarray
            (d, d) float64 symmetric matrix. Uses one new d×d array (the sum is built in it).
        """
        g = self._check_group(g)
        assert self.group_scatter is not None
        assert self.group_sum is not None and self.group_count is not None
        out = np.zeros((self.d, self.d))
        for h in range(self.groups):
            if h != g:
                np.add(out, self.group_scatter[h], out=out)
        n_rest = int(self.n - self.group_count[g])
        u_rest = self.group_sum.sum(axis=0) - self.group_sum[g]
        _finalize_lower(out, u_rest, n_rest, self.center)
        _mirror_lower(out)
        return out

    def leave_one_out_targets(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        r"""Cross-covariance and target variance without the rows of group ``g``.

        .. math::

            C_{xy,-g} = \frac{\sum_{h\ne g} S^{xy}_h}{n_{-g}}
                        - \frac{u_{-g}}{n_{-g}} \frac{v_{-g}^\top}{n_{-g}}, \qquad
            \sigma^2_{y,-g} = \frac{\sum_{h\ne g} Q_h}{n_{-g}} - \Big(\frac{v_{-g}}{n_{-g}}\Big)^2

        with :math:`S^{xy}_h` = ``group_cross_scatter[h]``, :math:`v` = ``group_target_sum``,
        :math:`Q` = ``group_target_sq`` (no mean terms when ``center=False``).

        Returns
        -------
        tuple of numpy.ndarray
            (d, m) cross-covariance and (m,) target variance.
        """
        g = self._check_group(g)
        if self.group_cross_scatter is None:
            raise SpecurateInputError(
                "leave_one_out_targets needs targets: pass targets= to the streaming call."
            )
        assert self.group_target_sum is not None and self.group_target_sq is not None
        assert self.group_sum is not None and self.group_count is not None
        keep = np.arange(self.groups) != g
        n_rest = float(self.n - self.group_count[g])
        sxy = self.group_cross_scatter[keep].sum(axis=0) / n_rest
        syy = self.group_target_sq[keep].sum(axis=0) / n_rest
        if self.center:
            mu = self.group_sum[keep].sum(axis=0) / n_rest
            mv = self.group_target_sum[keep].sum(axis=0) / n_rest
            sxy -= np.outer(mu, mv)
            syy -= mv * mv
        return sxy, syy


@dataclass(frozen=True, eq=False, kw_only=True)
class StreamingCovariance(StreamingMoments):
    r"""Result of :func:`streaming_covariance`: the moments plus the covariance matrix.

    Attributes
    ----------
    covariance : numpy.ndarray
        (d, d) float64 symmetric :math:`\Sigma = \frac1n\sum_i (x_i-\bar x)(x_i-\bar x)^\top`
        (or :math:`X^\top X/n` when ``center=False``).

    See :class:`StreamingMoments` for the other fields.
    """

    covariance: np.ndarray


# --------------------------------------------------------------------------------------------
# Dense helpers (all in place on C-ordered arrays whose transpose is handed to BLAS/LAPACK)
# --------------------------------------------------------------------------------------------
#
# Every (d, d) accumulator ``a`` is a C-ordered numpy array; BLAS receives ``a.T``, which is
# Fortran-contiguous, so f2py passes its buffer without a copy. BLAS updates the *upper*
# triangle of ``a.T``, i.e. the *lower* triangle of ``a`` (a[i, j], i >= j).


def _syrk_lower(c: np.ndarray, rows: np.ndarray, *, alpha: float = 1.0, beta: float = 1.0) -> None:
    """``tril(c) ← alpha · rowsᵀ rows + beta · tril(c)`` in place (rows: (k, d) C-ordered)."""
    f = ssyrk if c.dtype == np.float32 else dsyrk
    out = f(alpha, rows.T, beta=beta, c=c.T, trans=0, lower=0, overwrite_c=1)
    if not np.shares_memory(out, c):  # pragma: no cover - would mean f2py copied
        raise RuntimeError("BLAS syrk did not update the accumulator in place.")


def _finalize_lower(a: np.ndarray, u: np.ndarray, n: int, center: bool) -> None:
    """``tril(a) ← tril(a)/n − (u/n)(u/n)ᵀ`` (or ``tril(a)/n``) in place."""
    if center:
        m = np.ascontiguousarray(u / n).reshape(1, -1)
        _syrk_lower(a, m, alpha=-1.0, beta=1.0 / n)
    else:
        a *= 1.0 / n


def _mirror_lower(a: np.ndarray) -> None:
    """Copy the lower triangle of square ``a`` onto its upper triangle, in place, tile by tile."""
    d = a.shape[0]
    for j0 in range(0, d, _MIRROR_TILE):
        j1 = min(j0 + _MIRROR_TILE, d)
        t = a[j0:j1, j0:j1]
        iu = np.triu_indices(j1 - j0, 1)
        t[iu] = t.T[iu]
        if j1 < d:
            a[j0:j1, j1:] = a[j1:, j0:j1].T


# --------------------------------------------------------------------------------------------
# The pass
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Pass:
    """Raw sums of one pass (all about the shifts ``shift`` and ``tshift``)."""

    n: int
    shift: np.ndarray
    scatter: np.ndarray  # (d, d) total, lower triangle valid (not yet divided by n)
    total: np.ndarray  # (d,)
    gbounds: np.ndarray | None
    gscatter: np.ndarray | None  # (G, d, d), lower triangles valid
    gsum: np.ndarray | None
    gcount: np.ndarray | None
    tshift: np.ndarray | None = None
    gcross: np.ndarray | None = None  # (G', d, m), G' = max(G, 1)
    gtsum: np.ndarray | None = None
    gtsq: np.ndarray | None = None


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda k: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(f"covariance of {Path(label).name}", total=total)
        yield lambda k: bar.advance(task, k)


def _first_bad_row(rows: np.ndarray) -> int | None:
    bad = np.flatnonzero(~np.isfinite(rows).all(axis=1))
    return int(bad[0]) if bad.size else None


def _raise_nonfinite(label: str, raw: np.ndarray, row0: int, what: str = "") -> None:
    bad = _first_bad_row(raw)
    if bad is None:
        raise SpecurateInputError(
            f"{label}{what} has values so large that the accumulated sums overflow near row "
            f"{row0}; rescale the data."
        )
    raise SpecurateInputError(
        f"{label}{what} has a non-finite value (NaN or inf) in row {row0 + bad}."
    )


def _load_shifted(
    piece: np.ndarray, shift: np.ndarray, shift_w: np.ndarray | None, out: np.ndarray
) -> None:
    """``out ← piece − shift`` in ``out.dtype``, rounding once.

    When ``piece`` converts exactly to ``out.dtype`` the copy and the in-place subtraction
    avoid numpy's casting buffers (the subtraction of two values of ``out.dtype`` is correctly
    rounded); otherwise (e.g. float64 data into a float32 buffer) the difference is formed in
    float64 and rounded on output.
    """
    if np.can_cast(piece.dtype, out.dtype, "safe"):
        np.copyto(out, piece)
        if shift_w is not None:
            np.subtract(out, shift_w, out=out)
    else:
        np.subtract(piece, shift, out=out)


def _prepare_targets(targets: np.ndarray | None, src: _Source) -> np.ndarray | None:
    if targets is None:
        return None
    y = np.asarray(targets)
    if not _numeric_dtype(y.dtype):
        raise SpecurateInputError(
            f"the targets for {src.label} have dtype {y.dtype}, expected real numbers."
        )
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2:
        raise SpecurateInputError(
            f"the targets for {src.label} must be 1-D (n,) or 2-D (n, m), got shape {y.shape}."
        )
    if y.shape[0] != src.n:
        raise SpecurateInputError(
            f"the targets have {y.shape[0]} rows but {src.label} has {src.n} rows."
        )
    return y


def _group_bounds(groups: int, src: _Source) -> np.ndarray | None:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise SpecurateInputError(
            f"groups for {src.label} must be a non-negative integer, got {groups!r}."
        )
    if groups == 0:
        return None
    if not 2 <= groups <= src.n:
        raise SpecurateInputError(
            f"groups for {src.label} must be 0 or between 2 and the {src.n} rows, got {groups}."
        )
    return (np.arange(groups + 1, dtype=np.int64) * src.n) // groups


def _run_pass(
    src: _Source,
    *,
    center: bool,
    targets: np.ndarray | None,
    chunk_rows: int | None,
    groups: int,
    progress: bool,
    precision: Precision,
) -> _Pass:
    if precision not in ("double", "mixed"):
        raise SpecurateInputError(
            f"precision for {src.label} must be 'double' or 'mixed', got {precision!r}."
        )
    _check_chunk_rows(chunk_rows, src.label)
    y = _prepare_targets(targets, src)
    bounds = _group_bounds(groups, src)
    mixed = precision == "mixed"
    work = np.dtype(np.float32 if mixed else np.float64)
    d, n = src.d, src.n
    if chunk_rows is None:
        chunk_rows = _default_chunk_rows(d)
    rows = int(chunk_rows)
    n_groups = 1 if bounds is None else len(bounds) - 1
    edges = np.array([0, n], dtype=np.int64) if bounds is None else bounds

    # Accumulators: (G, d, d) C-ordered; group g's matrix is gs[g] (lower triangle used).
    gs = np.zeros((n_groups, d, d))
    gsum = np.zeros((n_groups, d))
    gcount = np.zeros(n_groups, dtype=np.int64)
    m_t = 0 if y is None else y.shape[1]
    gcross = np.zeros((n_groups, d, m_t)) if y is not None else None
    gtsum = np.zeros((n_groups, m_t)) if y is not None else None
    gtsq = np.zeros((n_groups, m_t)) if y is not None else None

    # precision="mixed": float32 block accumulator, folded into gs[block_group] every
    # _MIXED_BLOCK_ROWS rows and whenever the group changes.
    block = np.zeros((d, d), dtype=np.float32) if mixed else None
    block_rows = 0
    block_group = 0

    def fold() -> None:
        nonlocal block_rows
        if block is not None and block_rows:
            np.add(gs[block_group], block, out=gs[block_group])
            block_rows = 0

    buf = np.empty((min(rows, n), d), dtype=work)
    shift: np.ndarray | None = None
    shift_w: np.ndarray | None = None
    tshift: np.ndarray | None = None
    seen = 0
    with _progress(progress, n, src.label) as advance, np.errstate(all="ignore"):
        for row0, chunk in src.chunks(rows):
            k = chunk.shape[0]
            if k == 0:
                continue
            if shift is None:
                if chunk.dtype.kind == "f" and not np.isfinite(chunk).all():
                    _raise_nonfinite(src.label, chunk, row0)
                shift = chunk.mean(axis=0, dtype=np.float64) if center else np.zeros(d)
                if mixed:  # make s exactly representable so every x − s rounds once
                    shift = shift.astype(np.float32).astype(np.float64)
                shift_w = shift.astype(work) if center else None
                if y is not None:
                    ych = np.asarray(y[:k], dtype=np.float64)
                    if not np.isfinite(ych).all():
                        _raise_nonfinite(src.label, ych, 0, " targets")
                    tshift = ych.mean(axis=0) if center else np.zeros(m_t)
            # A Parquet batch may in principle exceed the buffer: take it in pieces.
            for p0 in range(0, k, buf.shape[0]):
                piece = chunk[p0 : p0 + buf.shape[0]]
                r_lo = row0 + p0
                b_all = buf[: piece.shape[0]]
                _load_shifted(piece, shift, shift_w, b_all)
                # Split at group boundaries (one segment without groups).
                g_first = int(np.searchsorted(edges, r_lo, side="right")) - 1
                r = r_lo
                g = g_first
                while r < r_lo + piece.shape[0]:
                    r_end = min(int(edges[g + 1]), r_lo + piece.shape[0])
                    b = b_all[r - r_lo : r_end - r_lo]
                    colsum = b.sum(axis=0, dtype=np.float64)
                    if not np.isfinite(colsum).all():
                        _raise_nonfinite(src.label, piece[r - r_lo : r_end - r_lo], r)
                    gsum[g] += colsum
                    gcount[g] += r_end - r
                    if block is None:
                        _syrk_lower(gs[g], b)
                    else:
                        if block_rows and block_group != g:
                            fold()
                        _syrk_lower(block, b, beta=1.0 if block_rows else 0.0)
                        block_group = g
                        block_rows += r_end - r
                        if block_rows >= _MIXED_BLOCK_ROWS:
                            fold()
                    if y is not None:
                        assert gcross is not None and gtsum is not None and gtsq is not None
                        yb = np.asarray(y[r:r_end], dtype=np.float64) - tshift
                        if not np.isfinite(yb).all():
                            _raise_nonfinite(src.label, yb, r, " targets")
                        gcross[g] += b.T @ yb.astype(work, copy=False)
                        gtsum[g] += yb.sum(axis=0)
                        gtsq[g] += np.einsum("ij,ij->j", yb, yb)
                    r = r_end
                    g += 1
            seen += k
            advance(k)
        fold()
    buf = block = None  # release the chunk buffers before the caller's O(d²) steps
    if seen != n:
        raise SpecurateInputError(
            f"{src.label} yielded {seen} rows but its metadata announces {n}."
        )
    assert shift is not None
    if bounds is None:
        scatter = gs[0]
        gs_out = None
    else:
        scatter = np.zeros((d, d))
        for g in range(n_groups):
            np.add(scatter, gs[g], out=scatter)
        for g in range(n_groups):
            _mirror_lower(gs[g])
        gs_out = gs
    return _Pass(
        n=n,
        shift=shift,
        scatter=scatter,
        total=gsum.sum(axis=0),
        gbounds=bounds,
        gscatter=gs_out,
        gsum=gsum if bounds is not None else None,
        gcount=gcount if bounds is not None else None,
        tshift=tshift,
        gcross=gcross,
        gtsum=gtsum,
        gtsq=gtsq,
    )


def _moments_fields(p: _Pass, center: bool, precision: str) -> dict:
    n = p.n
    fields: dict = {
        "n": n,
        "d": int(p.shift.shape[0]),
        "mean": p.shift + p.total / n,
        "shift": p.shift,
        "center": center,
        "precision": precision,
    }
    if p.gcross is not None:
        assert p.gtsum is not None and p.gtsq is not None and p.tshift is not None
        sxy = p.gcross.sum(axis=0) / n
        v = p.gtsum.sum(axis=0) / n
        syy = p.gtsq.sum(axis=0) / n
        if center:
            sxy -= np.outer(p.total / n, v)
            syy -= v * v
        fields.update(cross=sxy, target_mean=p.tshift + v, target_var=syy, target_shift=p.tshift)
    if p.gbounds is not None:
        fields.update(
            groups=len(p.gbounds) - 1,
            group_bounds=p.gbounds,
            group_scatter=p.gscatter,
            group_sum=p.gsum,
            group_count=p.gcount,
        )
        if p.gcross is not None:
            fields.update(
                group_cross_scatter=p.gcross, group_target_sum=p.gtsum, group_target_sq=p.gtsq
            )
    return fields


def _check_overflow(p: _Pass, label: str) -> None:
    if not np.isfinite(np.diagonal(p.scatter)).all():
        raise SpecurateInputError(
            f"{label} has values so large that the covariance overflows float64; rescale the data."
        )


def _finished_pass(
    source: Source,
    center: bool,
    targets: np.ndarray | None,
    chunk_rows: int | None,
    groups: int,
    progress: bool,
    precision: Precision,
) -> _Pass:
    """One pass over ``source`` with the scatter's lower triangle turned into the covariance."""
    src = _open(source)
    p = _run_pass(
        src,
        center=center,
        targets=targets,
        chunk_rows=chunk_rows,
        groups=groups,
        progress=progress,
        precision=precision,
    )
    _check_overflow(p, src.label)
    _finalize_lower(p.scatter, p.total, p.n, center)
    return p


def streaming_covariance(
    source: Source,
    *,
    center: bool = True,
    targets: np.ndarray | None = None,
    chunk_rows: int | None = None,
    groups: int = 0,
    progress: bool = False,
    precision: Precision = "double",
) -> StreamingCovariance:
    r"""Covariance of the rows of a large data source in one streaming pass.

    For X of shape (n, d) with rows :math:`x_i`,

    .. math::

        \Sigma = \frac1n \sum_{i=1}^n (x_i - \bar x)(x_i - \bar x)^\top
               = \frac{S}{n} - \frac{u}{n}\frac{u^\top}{n}, \quad
        S = \sum_i (x_i - s)(x_i - s)^\top,\ u = \sum_i (x_i - s),

    with the shift :math:`s` = mean of the first chunk (divides by n, not n − 1; equals
    ``np.cov(X, rowvar=False, bias=True)``). ``center=False`` gives :math:`X^\top X / n`.
    S is accumulated in float64 by BLAS ``dsyrk`` updating one (d, d) array in place.

    Parameters
    ----------
    source : str, os.PathLike or numpy.ndarray
        ``.npy`` file (memory-mapped), ``.parquet`` file (all columns numeric, one example per
        row) or in-memory 2-D array of shape (n, d); see :func:`iter_row_chunks`.
    center : bool, default True
        Subtract the mean (covariance) or not (second-moment matrix :math:`X^\top X/n`).
    targets : numpy.ndarray, optional
        In-memory labels of shape (n,) or (n, m), aligned with the rows. Adds the
        cross-covariance :math:`C_{xy} = \frac1n\sum_i (x_i-\bar x)(y_i-\bar y)^\top` (d, m) and
        the per-column target variance (m,) (shifted sums, as for X).
    chunk_rows : int, optional
        Rows per chunk; default ``max(64, d // 4)`` (``max(64, d // 2)`` float32 rows with
        ``precision="mixed"``), so the chunk buffer is at most d²/4 float64 values' worth.
    groups : int, default 0
        If G > 0 (2 ≤ G ≤ n), split the rows into G contiguous blocks,
        ``group_bounds[g] = floor(g·n/G)``, and keep per-group scatters about the common shift
        so that :meth:`StreamingMoments.leave_one_out` gives jackknife covariances. Memory is
        then (G + 1)·d² float64 values.
    progress : bool, default False
        Show a ``rich`` progress bar over rows on stderr.
    precision : {"double", "mixed"}, default "double"
        ``"double"``: float64 chunks and ``dsyrk`` (relative error about 1e-15 per entry).
        ``"mixed"``: chunks rounded to float32 after the shift, ``ssyrk`` into a float32
        (d, d) block accumulator that is added to the float64 one every 4096 rows; about twice
        as fast, relative error of order 1e-7–1e-6 (float32 data carry ~6e-8 already), at the
        cost of 0.5 × the float64 (d, d) matrix of extra memory (still below 2 × in all).

    Returns
    -------
    StreamingCovariance
        ``covariance`` (d, d), ``mean`` (d,), ``n``, ``d``, ``cross`` (d, m) and
        ``target_var`` (m,) with targets (else None), and the group data when ``groups > 0``.

    Raises
    ------
    SpecurateInputError
        One sentence naming the file (or "the input array") and the problem: missing file,
        unsupported extension, not 2-D, non-numeric data or Parquet column, fewer than 2 rows,
        NaN/inf (with the first bad row index), targets of the wrong length, bad options.

    Notes
    -----
    Peak extra memory (numpy buffers, e.g. as counted by ``tracemalloc``): the (d, d) float64
    result plus one chunk buffer (≤ d²/4 values), about 1.25 × d²·8 bytes and below 2 ×
    (Parquet adds one decoded batch of ≤ d²/4 values, ``precision="mixed"`` a float32 (d, d)
    block; ``groups=G`` needs (G + 1)·d²·8 bytes). A memory-mapped file's pages belong to the
    page cache, not to this call.
    """
    p = _finished_pass(source, center, targets, chunk_rows, groups, progress, precision)
    cov = p.scatter
    _mirror_lower(cov)
    return StreamingCovariance(covariance=cov, **_moments_fields(p, center, precision))


def streaming_eigvalsh(
    source: Source,
    *,
    center: bool = True,
    targets: np.ndarray | None = None,
    chunk_rows: int | None = None,
    groups: int = 0,
    progress: bool = False,
    precision: Precision = "double",
) -> tuple[np.ndarray, StreamingMoments]:
    r"""Eigenvalues of the streaming covariance, computed in place (memory O(d²)).

    Accumulates :math:`\Sigma` (d, d) exactly as :func:`streaming_covariance` and then runs
    LAPACK ``dsyevd`` (eigenvalues only, O(d) workspace) on the accumulator itself, so the
    covariance matrix is never copied:

    .. math::

        \Sigma = V \operatorname{diag}(\lambda_1 \ge \dots \ge \lambda_d) V^\top .

    Parameters
    ----------
    source, center, targets, chunk_rows, groups, progress, precision
        As for :func:`streaming_covariance`.

    Returns
    -------
    eigenvalues : numpy.ndarray
        (d,) float64 eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_d` (descending).
    moments : StreamingMoments
        ``mean``, ``n``, ``d``, ``cross``, ``target_var`` and group data, without the (d, d)
        covariance (it was overwritten by the eigensolver).

    Raises
    ------
    SpecurateInputError
        As for :func:`streaming_covariance`.

    Notes
    -----
    Peak extra memory: the (d, d) float64 accumulator, one chunk buffer (≤ d²/4 values) and
    O(d) LAPACK workspace, i.e. below 2·d²·8 bytes (``precision="mixed"`` adds a float32
    (d, d) block, still below 2 × in all; ``groups=G`` needs (G + 1)·d²·8 bytes).
    """
    p = _finished_pass(source, center, targets, chunk_rows, groups, progress, precision)
    a = p.scatter
    # a.T is Fortran-contiguous float64: overwritten in place; its upper = a's lower triangle.
    w = scipy.linalg.eigh(
        a.T,
        lower=False,
        eigvals_only=True,
        overwrite_a=True,
        check_finite=False,
        driver="evd",
    )
    fields = _moments_fields(p, center, precision)
    del a, p
    return np.ascontiguousarray(w[::-1]), StreamingMoments(**fields)
