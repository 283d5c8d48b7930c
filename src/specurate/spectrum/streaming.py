r"""Streaming covariance of a data set too large for memory: O(d²) memory, independent of n.

Rows are read in chunks (:func:`specurate.io.open_rows`) from a data file — a memory-mapped
``.npy``, a Parquet file read batch by batch, or a ``.npz`` / ``.csv`` file (loaded first): the
formats and checks of :func:`specurate.io.load_array` — or an in-memory array, and folded into one
(d, d) float64 accumulator that BLAS ``syrk`` updates in place. The covariance convention is the
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

from specurate._validate import check_int, check_positive_int
from specurate.errors import SpecurateInputError
from specurate.io import RowSource, check_finite, check_same_length, open_rows

__all__ = [
    "StreamingCovariance",
    "StreamingMoments",
    "iter_row_chunks",
    "streaming_covariance",
    "streaming_eigvalsh",
]

Source = str | os.PathLike | np.ndarray | RowSource
Precision = Literal["double", "mixed"]

_MIN_CHUNK_ROWS = 64
_MIN_ROWS = 2  # a covariance needs two examples
# precision="mixed": rows summed in the float32 block accumulator before it is added to the
# float64 one. float32 rounding then grows like (rows per block) · 2⁻²⁴ at worst, about
# sqrt(rows) · 2⁻²⁴ typically (≈ 4e-6 for 4096 rows).
_MIXED_BLOCK_ROWS = 4096
# Tile size when mirroring a triangle: bounds the temporary numpy may make to tile × d values.
_MIRROR_TILE = 64


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


def _open(source: Source) -> RowSource:
    """Check ``source`` and open it for chunked reading (:func:`specurate.io.open_rows`: the
    formats, checks and messages of :func:`specurate.io.load_array`; nothing read yet for .npy
    and Parquet). A covariance needs at least 2 rows."""
    return open_rows(source, min_rows=_MIN_ROWS)


def _default_chunk_rows(d: int) -> int:
    """Rows per chunk: a (rows, d) float64 buffer holds at most d²/4 values (rows = d/4 ≥ 64)."""
    return max(_MIN_CHUNK_ROWS, d // 4)


def _check_chunk_rows(chunk_rows: int | None, label: str) -> None:
    if chunk_rows is not None:
        check_positive_int(f"chunk_rows for {label}", chunk_rows)


def iter_row_chunks(source: Source, *, chunk_rows: int | None = None) -> Iterator[np.ndarray]:
    r"""Yield the rows of a data source in consecutive chunks.

    Args:
        source: path to a ``.npy`` file (memory-mapped with ``np.load(path, mmap_mode="r")``,
            must be 2-D), a ``.parquet`` file (every column numeric: integer, float or boolean;
            each row one example; read batch by batch), a ``.npz`` or ``.csv`` file (read whole
            first; see :func:`specurate.io.load_array`), an in-memory 2-D array /
            ``np.memmap`` of shape (n, d), or a source opened with
            :func:`specurate.io.open_rows`.
        chunk_rows: rows per chunk. Default ``max(64, d // 4)``: a float64 chunk then holds at
            most :math:`d^2/4` values, a quarter of a (d, d) float64 matrix.

    Yields:
        Consecutive chunks :math:`X_{[r_0, r_1)}` of shape (m, d), m ≤ ``chunk_rows`` (the last
            may be shorter), in row order; stacked they give X of shape (n, d). For arrays,
            ``.npy`` and ``.npz`` files each chunk is a view of the source (read-only for files,
            no copy); for tables (Parquet, CSV) each chunk is a new array of the columns' common
            numpy dtype.

    Raises:
        SpecurateInputError: missing file, unsupported format, not 2-D, non-numeric data, fewer
            than 2 rows, a missing table value, or an invalid ``chunk_rows`` (the messages of
            :func:`specurate.io.load_array`).
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

    Attributes:
        n: number of rows (examples).
        d: number of features.
        mean: (d,) column means :math:`\bar x = s + u/n`.
        shift: (d,) the shift :math:`s` subtracted before accumulating (mean of the first
            chunk; zero when ``center=False``).
        center: whether the moments are centered (covariance) or raw (second moments).
        precision: accumulation precision used, ``"double"`` or ``"mixed"``.
        cross: (d, m) cross-covariance
            :math:`C_{xy} = \frac1n\sum_i (x_i-\bar x)(y_i-\bar y)^\top` with the targets (raw
            :math:`X^\top Y/n` when ``center=False``); m = 1 for 1-D targets. None without
            targets.
        target_mean: (m,) target column means :math:`\bar y`, or None.
        target_var: (m,) target variances :math:`\frac1n\sum_i (y_{ij}-\bar y_j)^2` (raw second
            moments :math:`\frac1n\sum_i y_{ij}^2` when ``center=False``), or None.
        target_shift: (m,) the shift :math:`t` subtracted from the targets (mean of the first
            chunk's), or None.
        groups: number G of contiguous row blocks (0: none).
        group_bounds: (G+1,) block boundaries; group g is rows
            ``group_bounds[g] : group_bounds[g+1]``, ``group_bounds[g] = floor(g·n/G)``; or None.
        group_scatter: (G, d, d) per-group scatter about the common shift,
            :math:`S_g = \sum_{i\in g} (x_i - s)(x_i - s)^\top` (symmetric), or None.
        group_sum: (G, d) :math:`u_g = \sum_{i\in g} (x_i - s)`, or None.
        group_count: (G,) :math:`n_g`, or None.
        group_cross_scatter: (G, d, m) :math:`\sum_{i\in g} (x_i - s)(y_i - t)^\top` (with
            targets), or None.
        group_target_sum: (G, m) :math:`v_g = \sum_{i\in g} (y_i - t)` (with targets), or None.
        group_target_sq: (G, m) :math:`\sum_{i\in g} (y_i - t)^2` per column (with targets), or
            None.
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

        Args:
            g: group index, ``0 <= g < groups`` (negative indices count from the end).

        Returns:
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

        Returns:
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

    See :class:`StreamingMoments` for the other fields.

    Attributes:
        covariance: (d, d) float64 symmetric
            :math:`\Sigma = \frac1n\sum_i (x_i-\bar x)(x_i-\bar x)^\top` (or :math:`X^\top X/n`
            when ``center=False``).
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


def _raise_nonfinite(source: str, raw: np.ndarray, row0: int) -> None:
    """Name the first row of ``raw`` (rows from ``row0``) with a NaN/inf; if there is none, the
    sums of finite values overflowed."""
    check_finite(raw, source, row0=row0)
    raise SpecurateInputError(
        f"{source}: values so large that the accumulated sums overflow near row {row0}; "
        "rescale the data."
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


def _targets_label(src: RowSource) -> str:
    return f"the targets for {src.label}"


def _prepare_targets(targets: np.ndarray | None, src: RowSource) -> np.ndarray | None:
    if targets is None:
        return None
    y = np.asarray(targets)
    if y.dtype.kind not in "biuf":
        raise SpecurateInputError(
            f"{_targets_label(src)} have dtype {y.dtype}, expected real numbers."
        )
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2:
        raise SpecurateInputError(
            f"the targets for {src.label} must be 1-D (n,) or 2-D (n, m), got shape {y.shape}."
        )
    check_same_length(src.n, y, data_source=src.label, other_source="the targets")
    return y


def _group_bounds(groups: int, src: RowSource) -> np.ndarray | None:
    groups = check_int(f"groups for {src.label}", groups, lo=0, what="a non-negative integer")
    if groups == 0:
        return None
    if not 2 <= groups <= src.n:
        raise SpecurateInputError(
            f"groups for {src.label} must be 0 or between 2 and the {src.n} rows, got {groups}."
        )
    return (np.arange(groups + 1, dtype=np.int64) * src.n) // groups


@dataclass(eq=False)
class _Sums:
    """The running sums of one pass, per group g (rows ``edges[g] : edges[g + 1]``; one group
    without jackknife groups), all about the shifts; with ``precision="mixed"`` also a float32
    block of rows not yet added to its group's float64 scatter."""

    scatter: np.ndarray  # (G, d, d) C-ordered; lower triangles valid
    total: np.ndarray  # (G, d) Σ (x − s)
    count: np.ndarray  # (G,) rows
    cross: np.ndarray | None = None  # (G, d, m) Σ (x − s)(y − t)ᵀ
    tsum: np.ndarray | None = None  # (G, m) Σ (y − t)
    tsq: np.ndarray | None = None  # (G, m) Σ (y − t)²
    block: np.ndarray | None = None  # (d, d) float32, mixed precision only
    block_rows: int = 0
    block_group: int = 0

    @classmethod
    def zeros(cls, n_groups: int, d: int, m_targets: int | None, mixed: bool) -> _Sums:
        out = cls(np.zeros((n_groups, d, d)), np.zeros((n_groups, d)), np.zeros(n_groups, np.int64))
        if m_targets is not None:
            out.cross = np.zeros((n_groups, d, m_targets))
            out.tsum = np.zeros((n_groups, m_targets))
            out.tsq = np.zeros((n_groups, m_targets))
        if mixed:
            out.block = np.zeros((d, d), dtype=np.float32)
        return out

    def fold(self) -> None:
        """Add the float32 block to its group's float64 scatter."""
        if self.block is not None and self.block_rows:
            g = self.block_group
            np.add(self.scatter[g], self.block, out=self.scatter[g])
            self.block_rows = 0

    def add_rows(self, g: int, b: np.ndarray) -> None:
        """Rows ``b`` (shifted, in the working precision) of group g. With mixed precision they go
        to the float32 block, folded every ``_MIXED_BLOCK_ROWS`` rows and when the group changes."""
        self.count[g] += b.shape[0]
        if self.block is None:
            _syrk_lower(self.scatter[g], b)
            return
        if self.block_rows and self.block_group != g:
            self.fold()
        _syrk_lower(self.block, b, beta=1.0 if self.block_rows else 0.0)
        self.block_group = g
        self.block_rows += b.shape[0]
        if self.block_rows >= _MIXED_BLOCK_ROWS:
            self.fold()

    def add_targets(self, g: int, b: np.ndarray, yb: np.ndarray) -> None:
        """Shifted targets ``yb`` (float64) of the rows ``b`` of group g."""
        assert self.cross is not None and self.tsum is not None and self.tsq is not None
        self.cross[g] += b.T @ yb.astype(b.dtype, copy=False)
        self.tsum[g] += yb.sum(axis=0)
        self.tsq[g] += np.einsum("ij,ij->j", yb, yb)

    def finished(
        self, n: int, shift: np.ndarray, tshift: np.ndarray | None, bounds: np.ndarray | None
    ) -> _Pass:
        """The pass's result: the total scatter (lower triangle) and, with groups, the per-group
        sums (scatters mirrored to full symmetric matrices)."""
        self.block = None  # release the float32 block before the O(d²) steps
        gs = self.scatter
        if bounds is None:
            scatter, gs_out = gs[0], None
        else:
            scatter = np.zeros(gs.shape[1:])
            for g in range(gs.shape[0]):
                np.add(scatter, gs[g], out=scatter)
            for g in range(gs.shape[0]):
                _mirror_lower(gs[g])
            gs_out = gs
        grouped = bounds is not None
        return _Pass(
            n=n,
            shift=shift,
            scatter=scatter,
            total=self.total.sum(axis=0),
            gbounds=bounds,
            gscatter=gs_out,
            gsum=self.total if grouped else None,
            gcount=self.count if grouped else None,
            tshift=tshift,
            gcross=self.cross,
            gtsum=self.tsum,
            gtsq=self.tsq,
        )


def _segments(edges: np.ndarray, r_lo: int, m: int) -> Iterator[tuple[int, int, int]]:
    """``(group, first row, end row)`` of the rows ``r_lo : r_lo + m`` split at the group edges."""
    g = int(np.searchsorted(edges, r_lo, side="right")) - 1
    r = r_lo
    while r < r_lo + m:
        r_end = min(int(edges[g + 1]), r_lo + m)
        yield g, r, r_end
        r, g = r_end, g + 1


def _shifts(
    src: RowSource,
    chunk: np.ndarray,
    row0: int,
    y: np.ndarray | None,
    *,
    center: bool,
    mixed: bool,
    work: np.dtype,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The shifts s (float64), s in the working precision (None uncentered) and t (targets), from
    the first chunk (means when centering, else zeros)."""
    k, d = chunk.shape
    if chunk.dtype.kind == "f" and not np.isfinite(chunk).all():
        _raise_nonfinite(src.label, chunk, row0)
    shift = chunk.mean(axis=0, dtype=np.float64) if center else np.zeros(d)
    if mixed:  # make s exactly representable so every x − s rounds once
        shift = shift.astype(np.float32).astype(np.float64)
    shift_w = shift.astype(work) if center else None
    if y is None:
        return shift, shift_w, None
    ych = np.asarray(y[:k], dtype=np.float64)
    if not np.isfinite(ych).all():
        _raise_nonfinite(_targets_label(src), ych, 0)
    return shift, shift_w, ych.mean(axis=0) if center else np.zeros(y.shape[1])


def _accumulate(
    sums: _Sums,
    src: RowSource,
    piece: np.ndarray,
    shifted: np.ndarray,
    r_lo: int,
    edges: np.ndarray,
    y: np.ndarray | None,
    tshift: np.ndarray | None,
) -> None:
    """Add the rows ``r_lo : r_lo + len(piece)`` (raw ``piece``, ``shifted`` = piece − s) to the
    sums of their groups, checking them (and their targets) for NaN/inf on the way."""
    for g, r, r_end in _segments(edges, r_lo, piece.shape[0]):
        b = shifted[r - r_lo : r_end - r_lo]
        colsum = b.sum(axis=0, dtype=np.float64)
        if not np.isfinite(colsum).all():
            _raise_nonfinite(src.label, piece[r - r_lo : r_end - r_lo], r)
        sums.total[g] += colsum
        sums.add_rows(g, b)
        if y is not None:
            assert tshift is not None  # _shifts returns a target shift whenever y is given
            yb = np.asarray(y[r:r_end], dtype=np.float64) - tshift
            if not np.isfinite(yb).all():
                _raise_nonfinite(_targets_label(src), yb, r)
            sums.add_targets(g, b, yb)


def _run_pass(
    src: RowSource,
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
    rows = int(chunk_rows) if chunk_rows is not None else _default_chunk_rows(d)
    edges = np.array([0, n], dtype=np.int64) if bounds is None else bounds
    sums = _Sums.zeros(len(edges) - 1, d, None if y is None else y.shape[1], mixed)
    buf = np.empty((min(rows, n), d), dtype=work)
    shift = shift_w = tshift = None
    seen = 0
    with _progress(progress, n, src.label) as advance, np.errstate(all="ignore"):
        for row0, chunk in src.chunks(rows):
            k = chunk.shape[0]
            if k == 0:
                continue
            if shift is None:
                shift, shift_w, tshift = _shifts(
                    src, chunk, row0, y, center=center, mixed=mixed, work=work
                )
            # A table batch may in principle exceed the buffer: take it in pieces.
            for p0 in range(0, k, buf.shape[0]):
                piece = chunk[p0 : p0 + buf.shape[0]]
                shifted = buf[: piece.shape[0]]
                _load_shifted(piece, shift, shift_w, shifted)
                _accumulate(sums, src, piece, shifted, row0 + p0, edges, y, tshift)
            seen += k
            advance(k)
        sums.fold()
    del buf  # release the chunk buffer before the caller's O(d²) steps
    if seen != n:
        raise SpecurateInputError(
            f"{src.label} yielded {seen} rows but its metadata announces {n}."
        )
    assert shift is not None
    return sums.finished(n, shift, tshift, bounds)


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
    for part in (p.gcross, p.gtsq):
        if part is not None and not np.isfinite(part).all():
            raise SpecurateInputError(
                f"{_targets_label_of(label)} are so large that their covariance with the data "
                "overflows float64; rescale them."
            )


def _targets_label_of(label: str) -> str:
    return f"the targets for {label}"


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
    # overflow of huge values shows as inf in the sums, refused by _check_overflow
    with np.errstate(over="ignore", invalid="ignore"):
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

    Args:
        source: ``.npy`` file (memory-mapped), ``.parquet`` file (all columns numeric, one
            example per row), ``.npz`` or ``.csv`` file, in-memory 2-D array of shape (n, d), or
            a :class:`specurate.io.RowSource`; see :func:`iter_row_chunks`.
        center: subtract the mean (covariance) or not (second-moment matrix
            :math:`X^\top X/n`).
        targets: in-memory labels of shape (n,) or (n, m), aligned with the rows. Adds the
            cross-covariance :math:`C_{xy} = \frac1n\sum_i (x_i-\bar x)(y_i-\bar y)^\top` (d, m)
            and the per-column target variance (m,) (shifted sums, as for X).
        chunk_rows: rows per chunk; default ``max(64, d // 4)`` (``max(64, d // 2)`` float32
            rows with ``precision="mixed"``), so the chunk buffer is at most d²/4 float64
            values' worth.
        groups: if G > 0 (2 ≤ G ≤ n), split the rows into G contiguous blocks,
            ``group_bounds[g] = floor(g·n/G)``, and keep per-group scatters about the common
            shift so that :meth:`StreamingMoments.leave_one_out` gives jackknife covariances.
            Memory is then (G + 1)·d² float64 values.
        progress: show a ``rich`` progress bar over rows on stderr.
        precision: ``"double"``: float64 chunks and ``dsyrk`` (relative error about 1e-15 per
            entry). ``"mixed"``: chunks rounded to float32 after the shift, ``ssyrk`` into a
            float32 (d, d) block accumulator that is added to the float64 one every 4096 rows;
            about twice as fast, relative error of order 1e-7–1e-6 (float32 data carry ~6e-8
            already), at the cost of 0.5 × the float64 (d, d) matrix of extra memory (still
            below 2 × in all).

    Returns:
        The covariance and the moments (:class:`StreamingCovariance`): ``covariance`` (d, d),
            ``mean`` (d,), ``n``, ``d``, ``cross`` (d, m) and ``target_var`` (m,) with targets
            (else None), and the group data when ``groups > 0``.

    Raises:
        SpecurateInputError: one sentence naming the file (or "the input array") and the
            problem: missing file, unsupported format, not 2-D, non-numeric data or table
            column, fewer than 2 rows, NaN/inf (with the first bad row index), targets of the
            wrong length, bad options. File problems have the messages of
            :func:`specurate.io.load_array`.

    Notes:
        Peak extra memory (numpy buffers, e.g. as counted by ``tracemalloc``): the (d, d)
        float64 result plus one chunk buffer (≤ d²/4 values), about 1.25 × d²·8 bytes and below
        2 × (Parquet adds one decoded batch of ≤ d²/4 values, ``precision="mixed"`` a float32
        (d, d) block; ``groups=G`` needs (G + 1)·d²·8 bytes). A memory-mapped file's pages
        belong to the page cache, not to this call.
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

    Args:
        source: the data, as for :func:`streaming_covariance`.
        center: as for :func:`streaming_covariance`.
        targets: as for :func:`streaming_covariance`.
        chunk_rows: as for :func:`streaming_covariance`.
        groups: as for :func:`streaming_covariance`.
        progress: as for :func:`streaming_covariance`.
        precision: as for :func:`streaming_covariance`.

    Returns:
        eigenvalues: (d,) float64 eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_d`
            (descending).
        moments: a :class:`StreamingMoments` with ``mean``, ``n``, ``d``, ``cross``,
            ``target_var`` and group data, without the (d, d) covariance (it was overwritten by
            the eigensolver).

    Raises:
        SpecurateInputError: as for :func:`streaming_covariance`.

    Notes:
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
