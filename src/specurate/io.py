"""Reading user data: features, labels, groups and weights from .npy, .npz, .parquet or .csv
files, or a folder of .parquet files.

Rows are examples. A file is read whole (:func:`load_array`) or in chunks of rows
(:func:`open_rows`, for data larger than memory: ``.npy`` is memory-mapped and Parquet read batch
by batch; ``.npz`` and ``.csv`` cannot be read in parts and are loaded first). The features of a
table are its numeric columns or one list column of numbers, such as the embeddings column NeMo
Curator and data-juicer write (:mod:`specurate._tables`). :func:`load_user_data` opens a data
set for ``specurate run``: the features for chunked reading, and its labels, groups and weights,
each a column of the table or a file of its own. Every reader runs the same checks, so every
problem raises :class:`~specurate.errors.SpecurateInputError` with the same sentence, naming the
file and what is wrong (missing file, unsupported format, wrong shape, NaN/inf, non-numeric
column, lists of different lengths, too few examples, a length that differs from the data's).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specurate._tables import (
    Table,
    batch_features,
    first_null,
    is_numeric_column,
    open_table,
    parquet_files,
    select_features,
)
from specurate.errors import SpecurateInputError

Role = Literal["data", "labels", "weights"]
_Part = Literal["data", "labels", "groups", "weights"]
SUFFIXES = (".npy", ".npz", ".parquet", ".csv")
_NPZ_KEYS = {
    "data": ("x", "X", "data", "features"),
    "labels": ("y", "labels", "targets"),
    "groups": ("g", "groups"),
    "weights": ("w", "weights"),
}
#: bytes of float64 values per chunk when reading a whole source or a subsample of its rows
_READ_BYTES = 16 << 20


# --------------------------------------------------------------------------------------------
# Checks shared by every reader
# --------------------------------------------------------------------------------------------


def check_path(path: str | os.PathLike) -> Path:
    """An existing file with one of the supported suffixes (:data:`SUFFIXES`), or a folder that
    holds ``.parquet`` files."""
    p = Path(path)
    if not p.exists():
        raise SpecurateInputError(f"{p}: no such file.")
    if p.is_dir():
        parquet_files(p)  # raises for a folder with none
        return p
    if not p.is_file():  # a FIFO or device would block or never end
        raise SpecurateInputError(f"{p}: is not a regular file.")
    if p.suffix not in SUFFIXES:
        raise SpecurateInputError(
            f"{p.name}: unsupported format '{p.suffix}'; use one of {', '.join(SUFFIXES)} "
            "or a folder of .parquet files."
        )
    return p


def _is_table(p: Path) -> bool:
    return p.is_dir() or p.suffix in (".csv", ".parquet")


def _check_numeric_dtype(dtype: np.dtype, source: str) -> None:
    """Real numbers only: bool, integer or float (no complex, strings, objects or records)."""
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise SpecurateInputError(f"{source}: array of type {dtype} is not numeric.")


def _check_data_shape(shape: tuple[int, ...], source: str, min_rows: int) -> None:
    """An (examples × features) shape with at least ``min_rows`` rows and one column."""
    if len(shape) != 2:
        raise SpecurateInputError(
            f"{source}: expected a 2-D array (examples × features), got shape {shape}."
        )
    if shape[0] < min_rows:
        raise SpecurateInputError(
            f"{source}: has {shape[0]} examples; at least {min_rows} are needed."
        )
    if shape[1] < 1:
        raise SpecurateInputError(f"{source}: has no feature columns.")


def check_finite(arr: np.ndarray, source: str, *, row0: int = 0) -> None:
    """Raise naming the first row (counted from ``row0``) of ``arr`` with a NaN or inf."""
    bad = ~np.isfinite(arr)
    if bad.any():
        row = row0 + int(np.argwhere(bad)[0][0])
        raise SpecurateInputError(
            f"{source}: contains NaN or infinite values (first in row {row})."
        )


def check_same_length(n: int, other: np.ndarray, *, data_source: str, other_source: str) -> None:
    """Raise if ``other`` does not have one row per example of the data."""
    if other.shape[0] != n:
        raise SpecurateInputError(
            f"{other_source}: has {other.shape[0]} rows but {data_source} has {n} examples."
        )


# --------------------------------------------------------------------------------------------
# NumPy files
# --------------------------------------------------------------------------------------------

_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK"}  # a .npy header; a .npz is a zip archive


def _check_magic(p: Path) -> None:
    """The file starts as its suffix says (a text file renamed .npy is not "pickled data")."""
    with open(p, "rb") as f:
        head = f.read(len(_MAGIC[p.suffix]))
    if head != _MAGIC[p.suffix]:
        kind = "NumPy .npy" if p.suffix == ".npy" else "NumPy .npz (zip)"
        text = head and all(32 <= c < 127 or c in b"\t\r\n" for c in head)
        hint = " (it looks like text: save it as .csv)" if text else ""
        raise SpecurateInputError(f"{p.name}: not a {kind} file{hint}.")


def _open_numpy(p: Path, *, mmap: bool = False) -> Any:
    """``np.load`` without unpickling; an object array (which would need it) or a corrupt
    file raise naming the file."""
    _check_magic(p)
    try:
        return np.load(p, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise SpecurateInputError(
                f"{p.name}: holds Python objects (dtype object), which are never unpickled; "
                "save numbers only."
            ) from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecurateInputError(f"{p.name}: not a readable NumPy file ({first}).") from None
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecurateInputError(f"{p.name}: not a readable NumPy file ({first}).") from None


def _npz_member(npz: Any, key: str, name: str) -> np.ndarray:
    """Array ``key`` of an opened ``.npz``: a readable ``.npy`` member that needs no
    unpickling (a corrupt or truncated member, an object array or a member that is not a
    ``.npy`` file raise naming the file and the member)."""
    try:
        arr = npz[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise SpecurateInputError(
                f"{name}: array '{key}' holds Python objects (dtype object), which are never "
                "unpickled; save numbers only."
            ) from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecurateInputError(f"{name}: array '{key}' is not readable ({first}).") from None
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, OSError …
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecurateInputError(f"{name}: array '{key}' is not readable ({first}).") from None
    if not isinstance(arr, np.ndarray):
        raise SpecurateInputError(f"{name}: member '{key}' is not a NumPy .npy array.")
    return arr


def _load_numpy(
    p: Path,
    role: _Part,
    *,
    mmap: bool = False,
    key: str | None = None,
    exclude: Collection[str] = (),
    numeric: bool = True,
) -> np.ndarray:
    """The array of a .npy file (memory-mapped with ``mmap``) or of a .npz: the one named
    ``key``, else the only one not in ``exclude``, else the one named for ``role``; checked to
    be numeric when ``numeric``."""
    loaded = _open_numpy(p, mmap=mmap)
    if p.suffix == ".npz":
        keys = list(loaded.keys())
        rest = [k for k in keys if k not in exclude]
        pick = [key] if key is not None else [k for k in _NPZ_KEYS[role] if k in rest]
        if key is None and len(rest) == 1:
            pick = rest
        if key is not None and key not in keys:
            raise SpecurateInputError(f"{p.name}: has no array '{key}' (it holds {keys}).")
        if not pick:
            raise SpecurateInputError(
                f"{p.name}: holds arrays {keys}; name one of "
                f"{list(_NPZ_KEYS[role])} or store a single array."
            )
        arr = _npz_member(loaded, pick[0], p.name)
    elif key is not None:
        raise SpecurateInputError(f"{p.name}: a .npy file holds one array, not one named '{key}'.")
    else:
        arr = loaded
    if numeric:
        _check_numeric_dtype(arr.dtype, p.name)
    return arr


# --------------------------------------------------------------------------------------------
# Chunks of rows
# --------------------------------------------------------------------------------------------

Chunks = Callable[[int], Iterator[tuple[int, np.ndarray]]]


@dataclass(frozen=True, eq=False)
class RowSource:
    """A data file or array opened for reading in chunks of rows (nothing read yet for .npy and
    Parquet).

    Attributes:
        label: the name used in messages (the file or folder name, or ``"the input array"``).
        n: rows (examples).
        d: columns (features; the length of the lists of a list column).
        dtype: numpy dtype of the chunks (for tables, the common type of the columns; for a
            list column float32 when its values are float32, else float64).
        format: ``".npy"``, ``".npz"``, ``".parquet"`` (also a folder of Parquet files),
            ``".csv"`` or ``"array"``.
    """

    label: str
    n: int
    d: int
    dtype: np.dtype
    format: str
    _chunks: Chunks

    def chunks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, chunk)`` for consecutive chunks of at most ``rows`` rows, in order.

        Array, .npy and .npz chunks are views of the source (no copy; values not checked);
        table chunks are new arrays, checked for nulls and list lengths (the row is named in
        the message). Chunks of a folder of Parquet files end at the end of each file.
        """
        return self._chunks(rows)


def _array_chunks(x: np.ndarray) -> Chunks:
    def gen(rows: int) -> Iterator[tuple[int, np.ndarray]]:
        for r0 in range(0, x.shape[0], rows):
            yield r0, np.asarray(x[r0 : r0 + rows])

    return gen


def _open_table_rows(
    table: Table,
    features: str | None,
    exclude: Collection[str],
    min_rows: int,
    *,
    hint: bool = True,
) -> RowSource:
    feats = select_features(table, features, exclude, hint=hint)
    _check_data_shape((table.num_rows, feats.d), table.label, min_rows)

    def gen(rows: int) -> Iterator[tuple[int, np.ndarray]]:
        for r0, batch in table.batches(feats.columns, rows):
            yield r0, batch_features(batch, feats, table.label, r0)

    fmt = ".csv" if table.csv is not None else ".parquet"
    return RowSource(table.label, table.num_rows, feats.d, feats.dtype, fmt, gen)


def open_parquet_row_groups(
    path: str | os.PathLike,
    row_groups: Sequence[int],
    *,
    label: str,
    features: str | None = None,
    exclude: Collection[str] = (),
    min_rows: int = 1,
) -> RowSource:
    """Some row groups of one Parquet file opened for chunked reading, with the feature
    selection and checks of :func:`open_rows` (``label`` names them in messages)."""
    from specurate._tables import open_row_groups

    table = open_row_groups(Path(path), row_groups, label)
    return _open_table_rows(table, features, exclude, min_rows)


def _open_array(x: np.ndarray, label: str, fmt: str, min_rows: int) -> RowSource:
    _check_data_shape(x.shape, label, min_rows)
    _check_numeric_dtype(x.dtype, label)
    return RowSource(label, int(x.shape[0]), int(x.shape[1]), x.dtype, fmt, _array_chunks(x))


def open_rows(
    source: str | os.PathLike | np.ndarray | RowSource,
    *,
    min_rows: int = 50,
    array_label: str = "the input array",
    features: str | None = None,
    exclude: Collection[str] = (),
) -> RowSource:
    """Open a data file (any of :data:`SUFFIXES`), a folder of Parquet files or a 2-D array for
    reading in chunks of rows.

    The checks (and messages) of :func:`load_array` for data that need no pass over the values:
    existence, format, readability, numeric type, 2-D shape, at least ``min_rows`` rows and one
    column. NaN/inf are found while reading (:func:`check_finite` on the chunks), missing table
    values and lists of another length when the chunk is read. ``.npy`` files are
    memory-mapped and Parquet files read batch by batch (only the feature columns); ``.npz``
    and ``.csv`` files are loaded whole first. An already opened :class:`RowSource` is checked
    for ``min_rows`` and returned.

    Args:
        source: a path, an (n, d) array (or ``np.memmap``), or a :class:`RowSource`.
        min_rows: fewest rows accepted.
        array_label: the name of an in-memory array in messages.
        features: for tables, the feature column (a list column or one numeric column; by
            default the only list column, else every numeric column); for ``.npz`` files the
            array.
        exclude: table columns (or ``.npz`` arrays) that are not features (labels, groups,
            weights) when ``features`` is None.
    """
    if isinstance(source, RowSource):
        _check_data_shape((source.n, source.d), source.label, min_rows)
        return source
    if isinstance(source, np.ndarray):
        return _open_array(source, array_label, "array", min_rows)
    if not isinstance(source, str | os.PathLike):
        raise SpecurateInputError(
            f"the data source must be a path to a {', '.join(SUFFIXES)} file or a 2-D numpy "
            f"array, got {type(source).__name__}."
        )
    p = check_path(source)
    if _is_table(p):
        return _open_table_rows(open_table(p), features, exclude, min_rows)
    arr = _load_numpy(p, "data", mmap=p.suffix == ".npy", key=features, exclude=exclude)
    return _open_array(arr, p.name, p.suffix, min_rows)


def _row_indices(rows: Any, src: RowSource) -> np.ndarray:
    idx = np.asarray(rows)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise SpecurateInputError(
            f"rows: expected a 1-D array of row indices, got shape {idx.shape} of {idx.dtype}."
        )
    idx = idx.astype(np.int64, copy=False)
    if idx.size and (idx[0] < 0 or idx[-1] >= src.n or np.any(np.diff(idx) < 0)):
        raise SpecurateInputError(
            f"rows: indices into {src.label} must be sorted and in [0, {src.n})."
        )
    return idx


def read_rows(
    source: RowSource,
    rows: Sequence[int] | np.ndarray | None = None,
    *,
    dtype: Any = np.float64,
    check: bool = True,
) -> np.ndarray:
    """All rows of an opened source, or only some, read chunk by chunk.

    Peak memory is the result plus one chunk (about 16 MiB of float64 values): a random
    subsample of a file larger than memory costs only its own size. Reading stops after the
    last row asked for.

    Args:
        source: from :func:`open_rows`.
        rows: sorted row indices in [0, n) (repeats allowed); all rows by default.
        dtype: numpy dtype of the result.
        check: raise naming the first row read that holds a NaN or inf.

    Returns:
        The (n, d) rows, or (len(rows), d) for the given ``rows``, in ``dtype``.
    """
    idx = None if rows is None else _row_indices(rows, source)
    m = source.n if idx is None else idx.size
    out = np.empty((m, source.d), dtype=dtype)
    if m == 0:
        return out
    k = 0  # rows of out filled
    for r0, chunk in source.chunks(max(1, _READ_BYTES // (8 * source.d))):
        if idx is None:
            k1, got = r0 + chunk.shape[0], chunk
        else:
            k1 = int(np.searchsorted(idx, r0 + chunk.shape[0]))
            got = chunk[idx[k:k1] - r0]
        out[k:k1] = got
        if check and not np.all(np.isfinite(out[k:k1])):
            bad = k + int(np.argwhere(~np.isfinite(out[k:k1]))[0][0])
            check_finite(
                out[bad : bad + 1], source.label, row0=bad if idx is None else int(idx[bad])
            )
        k = k1
        if k == m:
            break
    return out


# --------------------------------------------------------------------------------------------
# Whole files
# --------------------------------------------------------------------------------------------


def read_table(path: str | Path, columns: Sequence[str] | None = None) -> tuple[object, list[str]]:
    """Read a .csv file, a .parquet file or a folder of them as a pyarrow Table.

    Args:
        path: the table.
        columns: the columns to read (only these are read from Parquet); all by default.

    Returns:
        ``(table, column names)``.
    """
    p = check_path(path)
    if not _is_table(p):
        raise SpecurateInputError(
            f"{p.name}: is not a table; use a .csv or .parquet file or a folder of them."
        )
    t = open_table(p)
    for c in columns or ():
        if c not in t.names:
            raise SpecurateInputError(f"{p.name}: no column '{c}'.")
    table = t.read(columns)
    return table, table.column_names


def load_array(
    path: str | Path,
    *,
    role: Role = "data",
    min_rows: int = 50,
    drop_column: str | None = None,
    features: str | None = None,
    exclude: Collection[str] = (),
) -> np.ndarray:
    """Load a numeric array from a file, validated for its role.

    Args:
        path: ``.npy``, ``.npz`` (one array, or one named x/X/data/features for data,
            y/labels/targets for labels, w/weights for weights), ``.parquet``, a folder of
            ``.parquet`` files, or ``.csv`` (a header row is optional for CSV). A table's
            values are its numeric columns, or its one list column of numbers (of d values a
            row: the embeddings column of NeMo Curator or data-juicer).
        role: ``"data"`` → (n, d) float64 with d ≥ 1; ``"labels"`` → (n,) or (n, m);
            ``"weights"`` → (n,).
        min_rows: fewest examples accepted for data.
        drop_column: for tables, a column to leave out of the features (e.g. the label column).
        features: the column to read (a list column or one numeric column; for ``.npz`` the
            array); see :func:`open_rows`.
        exclude: more columns to leave out when ``features`` is None.

    Returns:
        The array (float64 for data and weights; labels keep integer type when integral).
    """
    p = check_path(path)
    if _is_table(p):
        drop = (*exclude, drop_column) if drop_column is not None else exclude
        src = _open_table_rows(
            open_table(p), features, drop, min_rows if role == "data" else 0, hint=role == "data"
        )
        arr = read_rows(src, check=False)
    else:
        arr = _load_numpy(p, role, key=features, exclude=exclude)
    return validate_array(arr, source=p.name, role=role, min_rows=min_rows)


def validate_array(
    arr: np.ndarray, *, source: str, role: Role = "data", min_rows: int = 50
) -> np.ndarray:
    """Check shape, type and values of an in-memory array for ``role`` (see
    :func:`load_array`).

    Data and weights must be real numbers (bool, integer or float; complex, string and object
    arrays are refused, never cast); labels may also be strings (coded 0 … k−1 in sorted
    order). Whole-number labels become int64 only when int64 holds them exactly (|y| < 2⁵³),
    so distinct huge labels stay distinct.
    """
    try:
        arr = np.asarray(arr)
    except (TypeError, ValueError) as exc:
        raise SpecurateInputError(f"{source}: cannot be read as an array ({exc}).") from None
    if role == "data":
        _check_data_shape(arr.shape, source, min_rows)
        _check_numeric_dtype(arr.dtype, source)
        arr = arr.astype(np.float64, copy=False)
    else:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if role == "weights" and arr.ndim != 1:
            raise SpecurateInputError(
                f"{source}: expected one weight per example, got shape {arr.shape}."
            )
        if arr.ndim not in (1, 2):
            raise SpecurateInputError(
                f"{source}: expected labels of shape (n,) or (n, m), got {arr.shape}."
            )
        if role == "labels" and arr.dtype.kind in "US" and arr.ndim == 1:
            return np.unique(arr.astype(str), return_inverse=True)[1].reshape(-1).astype(np.int64)
        _check_numeric_dtype(arr.dtype, source)
        if arr.dtype.kind == "f":
            check_finite(arr, source)
        if role == "weights" or not _exact_integers(arr):
            arr = arr.astype(np.float64, copy=False)
        else:
            arr = arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        check_finite(arr, source)
    return arr


def _exact_integers(arr: np.ndarray) -> bool:
    """Whole numbers that int64 (and float64) hold exactly: |v| < 2⁵³."""
    if arr.dtype.kind in "biu":
        return arr.dtype.kind != "u" or arr.size == 0 or int(arr.max()) < 2**63
    return bool(np.all(np.abs(arr) < 2.0**53) and np.all(np.mod(arr, 1) == 0))


# --------------------------------------------------------------------------------------------
# Labels, groups and weights
# --------------------------------------------------------------------------------------------


def _vector(values: Any, source: str, what: str) -> Any:
    """A pyarrow (chunked) array without nulls, or a numpy array of shape (n,) (an (n, 1)
    matrix is flattened)."""
    import pyarrow as pa

    if isinstance(values, pa.Array | pa.ChunkedArray):
        if values.null_count:
            raise SpecurateInputError(f"{source}: has a missing value in row {first_null(values)}.")
        return values
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise SpecurateInputError(
            f"{source}: expected one of the {what} per example, got shape {arr.shape}."
        )
    return arr


def encode_categories(
    values: Any, source: str, *, what: str = "labels"
) -> tuple[np.ndarray, list[str]]:
    """Classes as integer codes: the k distinct values, sorted, are 0 … k−1.

    Args:
        values: (n,) values, a numpy array or a pyarrow (chunked) array of strings, booleans,
            integers or whole-number floats, or a dictionary (categorical) column.
        source: the name in messages (file, or ``file:column``).
        what: ``"labels"`` or ``"groups"``, in messages.

    Returns:
        ``(codes, names)``: (n,) int64 codes and the k class names as strings.
    """
    import pyarrow as pa

    values = _vector(values, source, what)
    if isinstance(values, pa.Array | pa.ChunkedArray):
        t = values.type
        if pa.types.is_dictionary(t):
            values, t = values.cast(t.value_type), t.value_type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or is_numeric_column(t)):
            raise SpecurateInputError(
                f"{source}: {what} of type {t} are not classes; use strings, integers or booleans."
            )
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return _encode_strings(values)
        arr = np.asarray(values.to_numpy(zero_copy_only=False))
    else:
        arr = values
        if arr.dtype.kind not in "biufUS":
            raise SpecurateInputError(
                f"{source}: {what} of type {arr.dtype} are not classes; use strings, integers "
                "or booleans."
            )
    if arr.dtype.kind == "f":
        check_finite(arr, source)
        frac = np.flatnonzero(arr != np.round(arr))
        if frac.size:
            i = int(frac[0])
            raise SpecurateInputError(
                f"{source}: {what} must be classes, but row {i} holds {arr[i]:g}."
            )
        if _exact_integers(arr):  # else keep the floats: int64 would merge huge classes
            arr = arr.astype(np.int64)
    elif arr.dtype.kind == "S":
        arr = arr.astype(str)
    uniq, codes = np.unique(arr, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), [str(u) for u in uniq.tolist()]


def _encode_strings(values: Any) -> tuple[np.ndarray, list[str]]:
    """Codes and sorted names of a pyarrow string column, computed by Arrow: no Python string
    per row (1,000,000 labels: ~30 MB instead of ~200 MB through a numpy object array). Arrow
    sorts strings by their UTF-8 bytes, which is code-point order — numpy's order for ``str``,
    so the codes are those of ``np.unique``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    uniq = pc.unique(col)
    uniq = uniq.take(pc.sort_indices(uniq))
    codes = pc.index_in(col, value_set=uniq)
    return np.asarray(codes.to_numpy(), dtype=np.int64), [str(u) for u in uniq.to_pylist()]


def _weight_values(values: Any, source: str) -> np.ndarray:
    """Finite, ≥ 0, not all zero: (n,) float64."""
    import pyarrow as pa

    values = _vector(values, source, "weights")
    if isinstance(values, pa.Array | pa.ChunkedArray):
        if not is_numeric_column(values.type):
            raise SpecurateInputError(f"{source}: weights must be numbers, not {values.type}.")
        values = values.to_numpy(zero_copy_only=False)
    _check_numeric_dtype(values.dtype, source)
    w = np.asarray(values, dtype=np.float64)
    check_finite(w, source)
    neg = np.flatnonzero(w < 0)
    if neg.size:
        i = int(neg[0])
        raise SpecurateInputError(f"{source}: weights must be ≥ 0, but row {i} holds {w[i]:g}.")
    if not np.any(w > 0):
        raise SpecurateInputError(f"{source}: every weight is zero.")
    return w


def _file_spec(spec: str) -> tuple[Path, str | None] | None:
    """``(path, column)`` for ``spec`` naming an existing file, or ``path:column``; else None."""
    if Path(spec).exists():
        return Path(spec), None
    head, sep, col = spec.rpartition(":")
    if sep and head and col and Path(head).exists():
        return Path(head), col
    return None


def _read_part_file(path: Path, col: str | None, role: _Part) -> tuple[Any, str, str]:
    """``(values, source, name)`` of a labels, groups or weights file (``col``: the table
    column or ``.npz`` array)."""
    p = check_path(path)
    if not _is_table(p):
        arr = _load_numpy(p, role, key=col, numeric=role == "weights")
        return arr, p.name if col is None else f"{p.name}:{col}", col or p.stem
    t = open_table(p)
    if col is None:
        if len(t.names) != 1:
            raise SpecurateInputError(
                f"{p.name}: has {len(t.names)} columns; name one as {p.name}:COLUMN."
            )
        return t.read().column(0), p.name, p.stem
    if col not in t.names:
        raise SpecurateInputError(f"{p.name}: no column '{col}'.")
    return t.read([col]).column(col), f"{p.name}:{col}", col


@dataclass(frozen=True, eq=False)
class UserData:
    """A user's data set (:func:`load_user_data`): the features opened for chunked reading,
    labels, groups and weights read and checked.

    Attributes:
        name: the file or folder name, for the report.
        rows: the (n, d) features, opened for chunked reading (not read yet).
        labels: (n,) int64 class codes, or None.
        label_names: the class of each code, or None.
        groups: (n,) int64 group codes, or None.
        group_names: the group of each code, or None.
        weights: name → (n,) float64 weights (finite, ≥ 0, not all zero); the name is the
            column name, the ``.npz`` array or the file stem.
        path: the data file or folder (None for data made in memory).
        features: the feature column or array it was opened with (None: the default).
        exclude: table columns read as labels, groups or weights (not features).
    """

    name: str
    rows: RowSource
    labels: np.ndarray | None = None
    label_names: list[str] | None = None
    groups: np.ndarray | None = None
    group_names: list[str] | None = None
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None
    features: str | None = None
    exclude: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        """Examples."""
        return self.rows.n

    @property
    def d(self) -> int:
        """Features."""
        return self.rows.d

    def load(
        self, rows: Sequence[int] | np.ndarray | None = None, dtype: Any = np.float64
    ) -> np.ndarray:
        """The features, checked for NaN/inf: all (n, d), or the (len(rows), d) of the given
        sorted row indices, read chunk by chunk (peak memory: the result plus one chunk; see
        :func:`read_rows`)."""
        return read_rows(self.rows, rows, dtype=dtype)


def load_user_data(
    path: str | os.PathLike,
    *,
    features: str | None = None,
    labels: str | None = None,
    groups: str | None = None,
    weights: Sequence[str] = (),
    min_rows: int = 50,
) -> UserData:
    """Open a user's data set: the features for chunked reading, its labels, groups and weights.

    ``labels``, ``groups`` and each ``weights`` entry name a column of the data table (left
    out of the features; only these columns are read), a ``.npz`` array of ``.npz`` data, or
    a file: ``.npy``, ``.npz``, or a table with one column (or ``file.parquet:column``,
    ``file.npz:array``). Labels and groups may be strings, booleans, integers, whole-number
    floats or categorical; they are coded 0 … k−1 in sorted order (:func:`encode_categories`).

    Args:
        path: ``.npy``, ``.npz``, ``.csv``, ``.parquet``, or a folder of ``.parquet`` files.
        features: the feature column (a list column of embeddings, or one numeric column) or
            ``.npz`` array; by default the only list column of numbers, else every other
            column (all must be numeric).
        labels: classes of the examples.
        groups: groups of the examples (e.g. sources or domains).
        weights: per-example weights, each finite, ≥ 0 and not all zero.
        min_rows: fewest examples accepted.

    Returns:
        The :class:`UserData`; each of labels, groups and weights has one entry per example.

    Raises:
        SpecurateInputError: a bad file, column or value, or a length that is not the data's.
    """
    p = check_path(path)
    if isinstance(weights, str):
        weights = (weights,)
    named: list[tuple[_Part, str | None]] = [("labels", labels), ("groups", groups)]
    parts = [(role, spec) for role, spec in named if spec is not None]
    parts += [("weights", w) for w in weights]
    own: dict[str, tuple[Any, str, str]] = {}  # parts found in the data itself
    if _is_table(p):
        table = open_table(p)
        cols = list(dict.fromkeys(s for _, s in parts if s in table.names))
        rows = _open_table_rows(table, features, cols, min_rows)
        if cols:
            read = table.read(cols)
            own = {c: (read.column(c), f"{p.name}:{c}", c) for c in cols}
        what = "column"
    else:
        keys: list[str] = []
        if p.suffix == ".npz":
            with _open_numpy(p) as npz:
                keys = list(npz.keys())
        names = [s for _, s in parts if s in keys]
        arr = _load_numpy(p, "data", mmap=p.suffix == ".npy", key=features, exclude=names)
        rows = _open_array(arr, p.name, p.suffix, min_rows)
        own = {s: (None, f"{p.name}:{s}", s) for s in names}
        what = "array"
    out: dict[str, Any] = {"weights": {}}
    for role, spec in parts:
        if spec in own:
            values, source, name = own[spec]
            if values is None:  # a .npz array
                values = _load_numpy(p, role, key=spec, numeric=role == "weights")
        elif (found := _file_spec(spec)) is not None:
            values, source, name = _read_part_file(*found, role)
        else:
            raise SpecurateInputError(f"{p.name}: no {what} '{spec}' and no file '{spec}'.")
        if role == "weights":
            w = _weight_values(values, source)
            if name in out["weights"]:
                raise SpecurateInputError(f"{source}: a second weight named '{name}'.")
            check_same_length(rows.n, w, data_source=p.name, other_source=source)
            out["weights"][name] = w
        else:
            codes, classes = encode_categories(values, source, what=role)
            check_same_length(rows.n, codes, data_source=p.name, other_source=source)
            out[role], out[role[:-1] + "_names"] = codes, classes
    own_columns = tuple(own) if what == "column" else ()
    return UserData(p.name, rows, **out, path=p, features=features, exclude=own_columns)
