"""Tables: a CSV file, a Parquet file or a folder of Parquet files, read whole or batch by batch.

The tabular half of :mod:`specurate.io`. A :class:`Table` is opened from its footers (Parquet:
nothing else is read until asked) or read whole (CSV). Its features are either numeric columns
(integer, float, boolean) or one list column of numbers — ``list``, ``large_list`` or
``fixed_size_list``, the embeddings column NeMo Curator and data-juicer write — whose rows all
hold the same number d of values (:func:`select_features`); :func:`batch_features` turns a batch
of rows into an (m, d) array, naming the column and the row of the first missing value or
ragged list. Every problem raises :class:`~specurate.errors.SpecurateInputError` with one
sentence naming the file (or folder) and the column.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specurate.errors import SpecurateInputError

#: Parquet column chunks are read through a buffer of this many bytes: unbuffered, pyarrow reads
#: a whole column chunk (1.5 GB for a row group of 10⁶ float32 embeddings of size 384) at once.
_BUFFER = 1 << 20

#: the flag that chooses the features, named in messages
FEATURES_FLAG = "--features"


# --------------------------------------------------------------------------------------------
# Column types
# --------------------------------------------------------------------------------------------


def is_numeric_column(t: Any) -> bool:
    """Integer, float, boolean, or null (an all-missing column: its nulls are reported when
    read)."""
    import pyarrow as pa

    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_null(t)
    )


def is_list_column(t: Any) -> bool:
    """A ``list``, ``large_list`` or ``fixed_size_list`` column (of any value type)."""
    import pyarrow as pa

    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _is_number_list(t: Any) -> bool:
    return is_list_column(t) and is_numeric_column(t.value_type)


def check_column_type(name: str, t: Any, source: str, *, hint: bool = False) -> None:
    """Raise unless column ``name`` of type ``t`` is numeric; with ``hint``, suggest
    :data:`FEATURES_FLAG`."""
    if not is_numeric_column(t):
        tip = f"; name the feature column with {FEATURES_FLAG}" if hint else ""
        raise SpecurateInputError(f"{source}: column '{name}' is not numeric ({t}){tip}.")


def table_dtype(fields: Sequence[Any]) -> np.dtype:
    """Common numpy type of numeric table columns (float64 for none; all-null columns count as
    float64: their nulls are reported when read)."""
    import pyarrow as pa

    dtypes = [
        np.dtype(np.float64) if pa.types.is_null(f.type) else np.dtype(f.type.to_pandas_dtype())
        for f in fields
    ]
    return np.result_type(*dtypes) if dtypes else np.dtype(np.float64)


def _list_dtype(value_type: Any) -> np.dtype:
    """float32 for lists of float16/float32 values, else float64."""
    import pyarrow as pa

    small = pa.types.is_floating(value_type) and value_type.bit_width <= 32
    return np.dtype(np.float32 if small else np.float64)


def _one_array(col: Any) -> Any:
    """A pyarrow Array from an Array or a ChunkedArray."""
    import pyarrow as pa

    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def first_null(col: Any) -> int:
    """Index of the first null of a pyarrow (chunked) array that has one."""
    return int(np.flatnonzero(np.asarray(_one_array(col).is_null()))[0])


def column_values(col: Any, name: str, source: str, *, row0: int = 0) -> np.ndarray:
    """A numeric table column (a pyarrow array or chunked array) as numpy, without nulls."""
    check_column_type(name, col.type, source)
    if col.null_count:
        first = row0 + first_null(col)
        raise SpecurateInputError(f"{source}: column '{name}' has a missing value in row {first}.")
    return col.to_numpy(zero_copy_only=False)


# --------------------------------------------------------------------------------------------
# Opening files and folders
# --------------------------------------------------------------------------------------------


def parquet_files(folder: Path) -> list[Path]:
    """The ``*.parquet`` files directly in ``folder``, sorted by name (names starting with ``.``
    or ``_`` are skipped, as Spark and pyarrow do); an error names a folder with none."""
    try:
        files = sorted(
            (f for f in folder.iterdir() if f.suffix == ".parquet" and f.name[0] not in "._"),
            key=lambda f: f.name,
        )
    except OSError as exc:
        raise SpecurateInputError(f"{folder}: cannot list the folder ({exc.strerror}).") from None
    files = [f for f in files if f.is_file()]
    if not files:
        raise SpecurateInputError(
            f"{folder}: is a directory with no .parquet files; expected a data file or a "
            "folder of Parquet files."
        )
    return files


def parquet_file(p: Path, label: str | None = None) -> Any:
    """The opened ``pyarrow.parquet.ParquetFile`` (footer read, no data yet; column chunks read
    through a buffer)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(p, buffer_size=_BUFFER, pre_buffer=False)
    except Exception as exc:
        raise SpecurateInputError(
            f"{label or p.name}: not a readable Parquet file ({str(exc).splitlines()[0]})."
        ) from None


def read_csv(path: Path) -> Any:
    """A CSV file as a pyarrow Table; a first row of numbers is data, not a header."""
    import pyarrow.csv as pcsv

    def _read(**options: Any) -> Any:
        try:
            table = pcsv.read_csv(path, **options)
            names = table.column_names  # decoded here: a header that is not UTF-8 fails
        except UnicodeDecodeError:
            raise SpecurateInputError(
                f"{path.name}: the header row is not UTF-8 text; save the file as UTF-8."
            ) from None
        except Exception as exc:  # pyarrow raises ArrowInvalid with long messages
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SpecurateInputError(f"{path.name}: not a readable CSV file ({first}).") from None
        return table, names

    def _is_number(s: str) -> bool:
        try:
            float(s)
        except ValueError:
            return False
        return True

    table, names = _read()
    if all(_is_number(c) for c in names):  # no header row: keep the first row
        table, names = _read(read_options=pcsv.ReadOptions(autogenerate_column_names=True))
    check_unique_names(names, path.name)
    return table


def check_unique_names(names: Sequence[str], label: str) -> None:
    """Raise naming the first column name that appears twice (a table's columns are taken by
    name)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SpecurateInputError(
                f"{label}: column name '{name}' appears more than once; rename the columns."
            )
        seen.add(name)


@contextlib.contextmanager
def _reading(label: str) -> Iterator[None]:
    """Turn an error of pyarrow while reading a Parquet file's data (a corrupted page, a
    truncated file) into one sentence naming the file."""
    try:
        yield
    except SpecurateInputError:
        raise
    except (OSError, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecurateInputError(f"{label}: not a readable Parquet file ({first}).") from None


def _schema_difference(first: Any, other: Any) -> str | None:
    """How ``other`` differs from ``first`` (column names and types; order and metadata aside),
    or None."""
    for name in first.names:
        if name not in other.names:
            return f"no column '{name}'"
    for name in other.names:
        if name not in first.names:
            return f"an extra column '{name}'"
    for f in first:
        t = other.field(f.name).type
        if not t.equals(f.type):
            return f"column '{f.name}' of type {t}, not {f.type}"
    return None


@dataclass(frozen=True, eq=False)
class Table:
    """A table opened for reading by column: a CSV file (read whole) or Parquet files (footers
    read, data read on demand).

    Attributes:
        label: the file or folder name, for messages.
        schema: the pyarrow schema (of the first file of a folder; the others have the same
            columns and types).
        num_rows: rows, over all files.
        files: the Parquet files, in order (empty for CSV).
        csv: the CSV table (None for Parquet).
        row_groups: for one Parquet file, the row groups read (None: all).
    """

    label: str
    schema: Any
    num_rows: int
    files: tuple[Path, ...] = ()
    csv: Any = None
    row_groups: tuple[int, ...] | None = None

    @property
    def names(self) -> list[str]:
        """The column names."""
        return list(self.schema.names)

    def _file_label(self, f: Path) -> str:
        return self.label if len(self.files) == 1 else f"{self.label}/{f.name}"

    def batches(self, columns: Sequence[str], rows: int) -> Iterator[tuple[int, Any]]:
        """``(first row, batch)`` for consecutive batches of at most ``rows`` rows holding only
        ``columns`` (a pyarrow RecordBatch or Table: take columns by name), rows counted over
        all files."""
        if self.csv is not None:
            t = self.csv.select(list(columns))
            for r0 in range(0, t.num_rows, rows):
                yield r0, t.slice(r0, rows)
            return
        r0 = 0
        for f in self.files:
            label = self._file_label(f)
            with parquet_file(f, label) as pf:
                groups = list(self.row_groups) if self.row_groups is not None else None
                with _reading(label):
                    batches = pf.iter_batches(
                        batch_size=rows, columns=list(columns), row_groups=groups
                    )
                    for batch in batches:
                        yield r0, batch
                        r0 += batch.num_rows

    def read(self, columns: Sequence[str] | None = None) -> Any:
        """The pyarrow Table of ``columns`` (all by default), every file concatenated."""
        names = self.names if columns is None else list(columns)
        if self.csv is not None:
            return self.csv.select(names)
        import pyarrow as pa

        schema = pa.schema([self.schema.field(c) for c in names])
        parts = []
        for f in self.files:
            label = self._file_label(f)
            with parquet_file(f, label) as pf, _reading(label):
                t = (
                    pf.read(columns=names)
                    if self.row_groups is None
                    else pf.read_row_groups(list(self.row_groups), columns=names)
                )
                parts.append(t.select(names).cast(schema))
        return pa.concat_tables(parts)


def open_table(p: Path) -> Table:
    """Open a ``.csv`` file, a ``.parquet`` file or a folder of Parquet files (all with the same
    columns and types: otherwise the first file that differs is named)."""
    if p.suffix == ".csv" and not p.is_dir():
        t = read_csv(p)
        return Table(p.name, t.schema, t.num_rows, csv=t)
    files = parquet_files(p) if p.is_dir() else [p]
    schema, n = None, 0
    for f in files:
        label = p.name if f is p else f"{p.name}/{f.name}"
        with parquet_file(f, label) as pf:
            try:
                s, n = pf.schema_arrow.remove_metadata(), n + int(pf.metadata.num_rows)
            except Exception as exc:
                raise SpecurateInputError(
                    f"{label}: not a readable Parquet file ({str(exc).splitlines()[0]})."
                ) from None
        check_unique_names(s.names, label)
        if schema is None:
            schema = s
        elif (diff := _schema_difference(schema, s)) is not None:
            raise SpecurateInputError(
                f"{label}: has {diff}, unlike {files[0].name} (every file of the folder must "
                "have the same columns)."
            )
    return Table(p.name, schema, n, files=tuple(files))


def open_row_groups(p: Path, row_groups: Sequence[int], label: str) -> Table:
    """One Parquet file's row groups ``row_groups`` (in order) as a table of their rows."""
    with parquet_file(p, label) as pf:
        schema = pf.schema_arrow.remove_metadata()
        meta = pf.metadata
        bad = [g for g in row_groups if not 0 <= g < meta.num_row_groups]
        if bad:
            raise SpecurateInputError(
                f"{label}: has {meta.num_row_groups} row groups, no row group {bad[0]}."
            )
        n = sum(int(meta.row_group(g).num_rows) for g in row_groups)
    return Table(label, schema, n, files=(p,), row_groups=tuple(row_groups))


def row_group_sizes(p: Path, label: str) -> list[int]:
    """Rows in each row group of one Parquet file (footer only)."""
    with parquet_file(p, label) as pf:
        meta = pf.metadata
        return [int(meta.row_group(g).num_rows) for g in range(meta.num_row_groups)]


# --------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Features:
    """The columns of a table that hold the features.

    Attributes:
        columns: the numeric columns, or the one list column.
        list_column: whether ``columns`` is one list column of d numbers per row.
        d: features per row.
        dtype: numpy dtype of the rows read (float32 for a list of float32).
    """

    columns: tuple[str, ...]
    list_column: bool
    d: int
    dtype: np.dtype


def _list_features(table: Table, name: str) -> Features:
    t = table.schema.field(name).type
    if not is_numeric_column(t.value_type):
        raise SpecurateInputError(
            f"{table.label}: column '{name}' is a list of {t.value_type}, not of numbers."
        )
    import pyarrow as pa

    if pa.types.is_fixed_size_list(t):
        d = int(t.list_size)
    else:  # the length of the first list: every other row is checked against it when read
        d = 0
        for _, batch in table.batches([name], 1024):
            lengths = _one_array(batch.column(name)).value_lengths().drop_null()
            if len(lengths):
                d = int(lengths[0].as_py())
                break
    return Features((name,), True, d, _list_dtype(t.value_type))


def select_features(
    table: Table, features: str | None = None, exclude: Collection[str] = (), *, hint: bool = True
) -> Features:
    """The feature columns of ``table``.

    Args:
        table: the opened table.
        features: one column (a list column, or a single numeric column); by default the one
            list column of numbers when the table has one and no numeric columns besides
            ``exclude``, else every column but ``exclude`` (all must be numeric).
        exclude: columns used otherwise (labels, groups, weights).
        hint: name :data:`FEATURES_FLAG` when a column is not numeric.
    """
    schema, label = table.schema, table.label
    if features is not None:
        if features not in schema.names:
            raise SpecurateInputError(f"{label}: no column '{features}'.")
        if features in exclude:
            raise SpecurateInputError(
                f"{label}: column '{features}' cannot be both the features and a label, group "
                "or weight column."
            )
        field = schema.field(features)
        if is_list_column(field.type):
            return _list_features(table, features)
        check_column_type(features, field.type, label)
        return Features((features,), False, 1, table_dtype([field]))
    rest = [f for f in schema if f.name not in exclude]
    lists = [f.name for f in rest if _is_number_list(f.type)]
    numeric = [f.name for f in rest if is_numeric_column(f.type)]
    if len(lists) == 1 and not numeric:
        return _list_features(table, lists[0])
    if lists:
        others = ", ".join(f"'{c}'" for c in [*lists, *numeric][1:])
        raise SpecurateInputError(
            f"{label}: list column '{lists[0]}' and columns {others} could all be features; "
            f"name the feature column with {FEATURES_FLAG}."
        )
    for f in rest:
        check_column_type(f.name, f.type, label, hint=hint)
    if not rest:
        raise SpecurateInputError(f"{label}: the table has no numeric columns.")
    return Features(tuple(f.name for f in rest), False, len(rest), table_dtype(rest))


def _list_values(col: Any, feats: Features, source: str, row0: int) -> np.ndarray:
    """A list column of a batch as an (m, d) array: no missing rows or values, d values a
    row."""
    import pyarrow as pa

    (name,), d = feats.columns, feats.d
    col = _one_array(col)
    if col.null_count:
        first = row0 + first_null(col)
        raise SpecurateInputError(f"{source}: column '{name}' has a missing value in row {first}.")
    if not pa.types.is_fixed_size_list(col.type):
        lengths = col.value_lengths().to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(lengths != d)
        if bad.size:
            i = int(bad[0])
            raise SpecurateInputError(
                f"{source}: column '{name}' has {lengths[i]} values in row {row0 + i}, not {d} "
                "as in the first row (every row must have the same length)."
            )
    flat = col.flatten()
    if flat.null_count:
        row = row0 + first_null(flat) // d
        raise SpecurateInputError(f"{source}: column '{name}' has a missing value in row {row}.")
    values = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=feats.dtype)
    if not values.flags.writeable:  # zero-copy view of arrow memory: chunks are new arrays
        values = values.copy()
    return values.reshape(len(col), d)


def batch_features(batch: Any, feats: Features, source: str, row0: int) -> np.ndarray:
    """The (m, d) features of a batch of rows (from :meth:`Table.batches`) in ``feats.dtype``;
    a missing value or a list of another length raises naming the column and row (counted from
    ``row0``)."""
    if feats.list_column:
        return _list_values(batch.column(feats.columns[0]), feats, source, row0)
    out = np.empty((batch.num_rows, feats.d), dtype=feats.dtype)
    for j, name in enumerate(feats.columns):
        out[:, j] = column_values(batch.column(name), name, source, row0=row0)
    return out
