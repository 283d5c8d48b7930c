"""Reading user data: features, labels and weights from .npy, .npz, .parquet or .csv files.

Rows are examples. A file is read whole (:func:`load_array`) or in chunks of rows
(:func:`open_rows`, for data larger than memory: ``.npy`` is memory-mapped and Parquet read batch
by batch; ``.npz`` and ``.csv`` cannot be read in parts and are loaded first). Both readers run the
same checks, so every problem raises :class:`~specurate.errors.SpecurateInputError` with the same
sentence, naming the file and what is wrong (missing file, unsupported format, wrong shape,
NaN/inf, non-numeric column, too few examples).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specurate.errors import SpecurateInputError

Role = Literal["data", "labels", "weights"]
SUFFIXES = (".npy", ".npz", ".parquet", ".csv")
_NPZ_KEYS = {
    "data": ("x", "X", "data", "features"),
    "labels": ("y", "labels", "targets"),
    "weights": ("w", "weights"),
}


# --------------------------------------------------------------------------------------------
# Checks shared by both readers
# --------------------------------------------------------------------------------------------


def check_path(path: str | os.PathLike) -> Path:
    """An existing file with one of the supported suffixes (:data:`SUFFIXES`)."""
    p = Path(path)
    if not p.exists():
        raise SpecurateInputError(f"{p}: no such file.")
    if p.is_dir():
        raise SpecurateInputError(f"{p}: is a directory, expected a data file.")
    if not p.is_file():  # a FIFO or device would block or never end
        raise SpecurateInputError(f"{p}: is not a regular file.")
    if p.suffix not in SUFFIXES:
        raise SpecurateInputError(
            f"{p.name}: unsupported format '{p.suffix}'; use one of {', '.join(SUFFIXES)}."
        )
    return p


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


def _is_numeric_column(t: Any) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_null(t)
    )


def _check_column_type(name: str, t: Any, source: str) -> None:
    if not _is_numeric_column(t):
        raise SpecurateInputError(f"{source}: column '{name}' is not numeric ({t}).")


def _column_values(col: Any, name: str, source: str, *, row0: int = 0) -> np.ndarray:
    """A numeric table column (a pyarrow array or chunked array) as numpy, without nulls."""
    _check_column_type(name, col.type, source)
    if col.null_count:
        first = row0 + int(np.flatnonzero(np.asarray(col.is_null()))[0])
        raise SpecurateInputError(f"{source}: column '{name}' has a missing value in row {first}.")
    return col.to_numpy(zero_copy_only=False)


# --------------------------------------------------------------------------------------------
# Whole files
# --------------------------------------------------------------------------------------------


def _table_to_array(table, path: Path, *, drop: str | None = None) -> tuple[np.ndarray, list[str]]:
    names = [c for c in table.column_names if c != drop]
    cols = [
        np.asarray(_column_values(table.column(name), name, path.name), dtype=np.float64)
        for name in names
    ]
    if not cols:
        raise SpecurateInputError(f"{path.name}: the table has no numeric columns.")
    return np.column_stack(cols), names


def _read_csv(path: Path):
    import pyarrow.csv as pcsv

    try:
        table = pcsv.read_csv(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid with long messages
        raise SpecurateInputError(
            f"{path.name}: not a readable CSV file ({str(exc).splitlines()[0]})."
        ) from None

    def _is_number(s: str) -> bool:
        try:
            float(s)
        except ValueError:
            return False
        return True

    if all(_is_number(c) for c in table.column_names):  # no header row: keep the first row
        table = pcsv.read_csv(path, read_options=pcsv.ReadOptions(autogenerate_column_names=True))
    return table


def read_table(path: str | Path) -> tuple[object, list[str]]:
    """Read a .csv or .parquet file as a pyarrow Table (for column access)."""
    p = Path(path)
    table = _read_csv(p) if p.suffix == ".csv" else _parquet_file(p).read()
    return table, table.column_names


def _parquet_file(p: Path) -> Any:
    """The opened ``pyarrow.parquet.ParquetFile`` (metadata read, no data yet)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(p)
    except Exception as exc:
        raise SpecurateInputError(
            f"{p.name}: not a readable Parquet file ({str(exc).splitlines()[0]})."
        ) from None


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


def _load_numpy(p: Path, role: Role, *, mmap: bool = False) -> np.ndarray:
    """The array of a .npy file (memory-mapped with ``mmap``) or the one for ``role`` in a .npz,
    checked to be numeric."""
    _check_magic(p)
    try:
        loaded = np.load(p, allow_pickle=False, mmap_mode="r" if mmap else None)
    except Exception as exc:
        raise SpecurateInputError(f"{p.name}: not a readable NumPy file ({exc}).") from None
    if p.suffix == ".npz":
        keys = list(loaded.keys())
        pick = [k for k in _NPZ_KEYS[role] if k in keys]
        if len(keys) == 1:
            pick = keys
        if not pick:
            raise SpecurateInputError(
                f"{p.name}: holds arrays {keys}; name one of "
                f"{list(_NPZ_KEYS[role])} or store a single array."
            )
        arr = loaded[pick[0]]
    else:
        arr = loaded
    _check_numeric_dtype(arr.dtype, p.name)
    return arr


def load_array(
    path: str | Path,
    *,
    role: Role = "data",
    min_rows: int = 50,
    drop_column: str | None = None,
) -> np.ndarray:
    """Load a numeric array from a file, validated for its role.

    Args:
        path: ``.npy``, ``.npz`` (one array, or one named x/X/data/features for data,
            y/labels/targets for labels, w/weights for weights), ``.parquet`` or ``.csv``
            (every column numeric; a header row is optional for CSV).
        role: ``"data"`` → (n, d) float64 with d ≥ 1; ``"labels"`` → (n,) or (n, m);
            ``"weights"`` → (n,).
        min_rows: fewest examples accepted for data.
        drop_column: for tables, a column to leave out of the features (e.g. the label column).

    Returns:
        The array (float64 for data and weights; labels keep integer type when integral).
    """
    p = check_path(path)
    if p.suffix in (".csv", ".parquet"):
        table, _ = read_table(p)
        arr, _ = _table_to_array(table, p, drop=drop_column)
    else:
        arr = _load_numpy(p, role)
    return validate_array(arr, source=p.name, role=role, min_rows=min_rows)


def validate_array(
    arr: np.ndarray, *, source: str, role: Role = "data", min_rows: int = 50
) -> np.ndarray:
    """Check shape and values of an in-memory array for ``role`` (see :func:`load_array`)."""
    arr = np.asarray(arr)
    if role == "data":
        _check_data_shape(arr.shape, source, min_rows)
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
        if role == "weights" or not np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.float64, copy=False)
        else:
            arr = arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        check_finite(arr, source)
    return arr


def check_same_length(n: int, other: np.ndarray, *, data_source: str, other_source: str) -> None:
    """Raise if ``other`` does not have one row per example of the data."""
    if other.shape[0] != n:
        raise SpecurateInputError(
            f"{other_source}: has {other.shape[0]} rows but {data_source} has {n} examples."
        )


# --------------------------------------------------------------------------------------------
# Chunks of rows
# --------------------------------------------------------------------------------------------

Chunks = Callable[[int], Iterator[tuple[int, np.ndarray]]]


@dataclass(frozen=True, eq=False)
class RowSource:
    """A data file or array opened for reading in chunks of rows (nothing read yet for .npy and
    Parquet).

    Attributes:
        label: the name used in messages (the file name, or ``"the input array"``).
        n: rows (examples).
        d: columns (features).
        dtype: numpy dtype of the chunks (for tables, the common type of the columns).
        format: ``".npy"``, ``".npz"``, ``".parquet"``, ``".csv"`` or ``"array"``.
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
        table chunks are new arrays, checked for nulls (the row is named in the message).
        """
        return self._chunks(rows)


def _array_chunks(x: np.ndarray) -> Chunks:
    def gen(rows: int) -> Iterator[tuple[int, np.ndarray]]:
        for r0 in range(0, x.shape[0], rows):
            yield r0, np.asarray(x[r0 : r0 + rows])

    return gen


def _table_dtype(schema: Any) -> np.dtype:
    """Common numpy type of numeric table columns (float64 for none; all-null columns count as
    float64: their nulls are reported when read)."""
    import pyarrow as pa

    dtypes = [
        np.dtype(np.float64) if pa.types.is_null(f.type) else np.dtype(f.type.to_pandas_dtype())
        for f in schema
    ]
    return np.result_type(*dtypes) if dtypes else np.dtype(np.float64)


def _batch_to_array(batch: Any, names: list[str], source: str, row0: int, dtype: np.dtype):
    out = np.empty((batch.num_rows, len(names)), dtype=dtype)
    for j, col in enumerate(batch.columns):
        out[:, j] = _column_values(col, names[j], source, row0=row0)
    return out


def _open_parquet(p: Path, min_rows: int) -> RowSource:
    pf = _parquet_file(p)
    schema = pf.schema_arrow
    for f in schema:
        _check_column_type(f.name, f.type, p.name)
    names, dtype = schema.names, _table_dtype(schema)
    _check_data_shape((int(pf.metadata.num_rows), len(names)), p.name, min_rows)

    def gen(rows: int) -> Iterator[tuple[int, np.ndarray]]:
        r0 = 0
        for batch in pf.iter_batches(batch_size=rows):
            yield r0, _batch_to_array(batch, names, p.name, r0, dtype)
            r0 += batch.num_rows

    return RowSource(p.name, int(pf.metadata.num_rows), len(names), dtype, ".parquet", gen)


def _open_csv(p: Path, min_rows: int) -> RowSource:
    table = _read_csv(p)
    for f in table.schema:
        _check_column_type(f.name, f.type, p.name)
    names, dtype = table.column_names, _table_dtype(table.schema)
    _check_data_shape((table.num_rows, len(names)), p.name, min_rows)

    def gen(rows: int) -> Iterator[tuple[int, np.ndarray]]:
        for r0 in range(0, table.num_rows, rows):
            yield r0, _batch_to_array(table.slice(r0, rows), names, p.name, r0, dtype)

    return RowSource(p.name, table.num_rows, len(names), dtype, ".csv", gen)


def _open_array(x: np.ndarray, label: str, fmt: str, min_rows: int) -> RowSource:
    _check_data_shape(x.shape, label, min_rows)
    _check_numeric_dtype(x.dtype, label)
    return RowSource(label, int(x.shape[0]), int(x.shape[1]), x.dtype, fmt, _array_chunks(x))


def open_rows(
    source: str | os.PathLike | np.ndarray | RowSource,
    *,
    min_rows: int = 50,
    array_label: str = "the input array",
) -> RowSource:
    """Open a data file (any of :data:`SUFFIXES`) or a 2-D array for reading in chunks of rows.

    The checks (and messages) of :func:`load_array` for data that need no pass over the values:
    existence, format, readability, numeric type, 2-D shape, at least ``min_rows`` rows and one
    column. NaN/inf are found while reading (:func:`check_finite` on the chunks). ``.npy`` files
    are memory-mapped and Parquet files read batch by batch; ``.npz`` and ``.csv`` files are
    loaded whole first. An already opened :class:`RowSource` is checked for ``min_rows`` and
    returned.

    Args:
        source: a path, an (n, d) array (or ``np.memmap``), or a :class:`RowSource`.
        min_rows: fewest rows accepted.
        array_label: the name of an in-memory array in messages.
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
    if p.suffix == ".parquet":
        return _open_parquet(p, min_rows)
    if p.suffix == ".csv":
        return _open_csv(p, min_rows)
    return _open_array(_load_numpy(p, "data", mmap=p.suffix == ".npy"), p.name, p.suffix, min_rows)
