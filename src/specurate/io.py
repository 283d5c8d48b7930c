"""Reading user data: features, labels and weights from .npy, .npz, .parquet or .csv files.

Rows are examples. Every problem raises :class:`~specurate.errors.SpecurateInputError` with one
sentence that names the file and what is wrong (missing file, unsupported format, wrong shape,
NaN/inf, non-numeric column, too few examples).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from specurate.errors import SpecurateInputError

Role = Literal["data", "labels", "weights"]
SUFFIXES = (".npy", ".npz", ".parquet", ".csv")
_NPZ_KEYS = {
    "data": ("x", "X", "data", "features"),
    "labels": ("y", "labels", "targets"),
    "weights": ("w", "weights"),
}


def _table_to_array(table, path: Path, *, drop: str | None = None) -> tuple[np.ndarray, list[str]]:
    import pyarrow as pa

    names = [c for c in table.column_names if c != drop]
    cols = []
    for name in names:
        col = table.column(name)
        t = col.type
        if not (
            pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_boolean(t)
            or pa.types.is_null(t)
        ):
            raise SpecurateInputError(f"{path.name}: column '{name}' is not numeric ({t}).")
        if col.null_count:
            first = int(np.flatnonzero(np.asarray(col.is_null()))[0])
            raise SpecurateInputError(
                f"{path.name}: column '{name}' has a missing value in row {first}."
            )
        cols.append(np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64))
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
    if p.suffix == ".csv":
        table = _read_csv(p)
    else:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(p)
        except Exception as exc:
            raise SpecurateInputError(
                f"{p.name}: not a readable Parquet file ({str(exc).splitlines()[0]})."
            ) from None
    return table, table.column_names


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
    p = Path(path)
    if not p.exists():
        raise SpecurateInputError(f"{p}: no such file.")
    if p.is_dir():
        raise SpecurateInputError(f"{p}: is a directory, expected a data file.")
    if p.suffix not in SUFFIXES:
        raise SpecurateInputError(
            f"{p.name}: unsupported format '{p.suffix}'; use one of {', '.join(SUFFIXES)}."
        )
    if p.suffix in (".csv", ".parquet"):
        table, _ = read_table(p)
        arr, _ = _table_to_array(table, p, drop=drop_column)
    else:
        try:
            loaded = np.load(p, allow_pickle=False)
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
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise SpecurateInputError(f"{p.name}: array of type {arr.dtype} is not numeric.")
    return validate_array(arr, source=p.name, role=role, min_rows=min_rows)


def validate_array(
    arr: np.ndarray, *, source: str, role: Role = "data", min_rows: int = 50
) -> np.ndarray:
    """Check shape and values of an in-memory array for ``role`` (see :func:`load_array`)."""
    arr = np.asarray(arr)
    if role == "data":
        if arr.ndim != 2:
            raise SpecurateInputError(
                f"{source}: expected a 2-D array (examples × features), got shape {arr.shape}."
            )
        if arr.shape[0] < min_rows:
            raise SpecurateInputError(
                f"{source}: has {arr.shape[0]} examples; at least {min_rows} are needed."
            )
        if arr.shape[1] < 1:
            raise SpecurateInputError(f"{source}: has no feature columns.")
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
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise SpecurateInputError(
                f"{source}: contains NaN or infinite values (first in row {row})."
            )
    return arr


def check_same_length(n: int, other: np.ndarray, *, data_source: str, other_source: str) -> None:
    """Raise if ``other`` does not have one row per example of the data."""
    if other.shape[0] != n:
        raise SpecurateInputError(
            f"{other_source}: has {other.shape[0]} rows but {data_source} has {n} examples."
        )
