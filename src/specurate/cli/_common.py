"""What every command shares: consoles, one-sentence errors, JSON output, option types, parsing
of comma-separated lists, and early checks of output paths (before any work is done).

User mistakes print ``error: <one sentence>`` on stderr and exit with code 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from specurate.errors import SpecurateInputError

__all__ = [
    "EngineOpt",
    "JsonOpt",
    "SchedulerOpt",
    "SeedOpt",
    "WorkersOpt",
    "check_out_dir",
    "check_out_file",
    "emit_json",
    "err_console",
    "fail",
    "guard",
    "out_console",
    "parse_floats",
    "parse_names",
    "with_provenance",
]

# stderr never wraps: an error is one line even at 80 columns or in a pipe
err_console = Console(stderr=True, soft_wrap=True, emoji=False)  # "f.parquet:label:" is no emoji
# Pipes and files are never cut or folded: tables take their natural width (rich would use 80
# columns and fold or crop the numbers).
out_console = Console(width=None if sys.stdout.isatty() else 100_000, emoji=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object, nothing else")]
SeedOpt = Annotated[int, typer.Option(min=0, help="seed of all randomness (an integer ≥ 0)")]


class EngineName(StrEnum):
    local = "local"
    dask = "dask"


EngineOpt = Annotated[
    EngineName,
    typer.Option(
        help="where per-shard work runs: this process, or a Dask cluster (a LocalCluster "
        "here unless --scheduler is given)"
    ),
]
SchedulerOpt = Annotated[
    str | None, typer.Option(help="address of a running Dask scheduler (tcp://host:8786)")
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(min=1, help="worker processes of the LocalCluster started for --engine dask"),
]


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with code 2."""
    err_console.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code=2)


@contextlib.contextmanager
def guard(source: str | None = None) -> Iterator[None]:
    """Turn a :class:`~specurate.errors.SpecurateInputError` raised inside into :func:`fail`.

    With ``source`` (the data file's name), a message that does not name it yet is prefixed
    with it: a library error about "the spectrum" then says which file's spectrum.
    """
    try:
        yield
    except SpecurateInputError as exc:
        msg = str(exc)
        if source and source not in msg:
            msg = f"{source}: {msg}"
        fail(msg)


def _current_context() -> Any:
    """The running command's click context (typer ≥ 0.2x vendors click as ``typer._click``;
    older versions use click itself), or None outside a command."""
    import importlib

    for name in ("typer._click.globals", "click.globals"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        ctx = module.get_current_context(silent=True)
        if ctx is not None:
            return ctx
    return None


def with_provenance(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with a ``provenance`` block (:func:`specurate.report.json.provenance`: versions,
    seed, the running command's resolved options) unless it has one or no command runs."""
    ctx = _current_context()
    if ctx is None or "provenance" in obj:
        return obj
    from specurate.report.json import provenance

    params = ctx.params
    return {**obj, "provenance": provenance(params.get("seed"), params, command=ctx.info_name)}


def emit_json(obj: dict[str, Any]) -> None:
    """One JSON object on stdout (NaN/inf are not JSON: convert them to null first), with its
    provenance (:func:`with_provenance`)."""
    sys.stdout.write(json.dumps(with_provenance(obj), allow_nan=False) + "\n")


def parse_names(text: str, flag: str) -> tuple[str, ...]:
    """``"a, b,c"`` → ``("a", "b", "c")``; an empty list is an error."""
    names = tuple(v.strip() for v in text.split(",") if v.strip())
    if not names:
        raise SpecurateInputError(f"{flag} must list at least one name, got {text!r}")
    return names


def parse_floats(text: str, flag: str) -> tuple[float, ...]:
    """``"0.1,0.2"`` → ``(0.1, 0.2)``; non-numbers and an empty list are errors."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SpecurateInputError(f"{flag} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise SpecurateInputError(f"{flag} must list at least one number, got {text!r}")
    return values


def _writable_dir(folder: Path, flag: str, path: Path) -> None:
    if not folder.is_dir():
        raise SpecurateInputError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SpecurateInputError(f"{flag} {path}: the folder {folder} is not writable")


def _not_a_link(path: Path, flag: str) -> None:
    if path.is_symlink():
        raise SpecurateInputError(
            f"{flag} {path} is a symbolic link; specurate does not write through or over links "
            "(remove it or choose another path)."
        )


def check_out_file(path: Path | None, flag: str, suffixes: Sequence[str]) -> Path | None:
    """Check an output FILE before any work: it is not a symlink or a folder, its suffix is one
    of ``suffixes``, and its folder exists and is writable. Missing folders are never created."""
    if path is None:
        return None
    path = Path(path)
    _not_a_link(path, flag)
    if path.is_dir():
        raise SpecurateInputError(f"{flag} {path} is a folder; give a file name")
    if path.suffix.lower() not in suffixes:
        raise SpecurateInputError(
            f"{flag} {path}: unsupported file type {path.suffix or '(none)'!r}; "
            f"use {', '.join(suffixes)}"
        )
    _writable_dir(path.parent if str(path.parent) else Path("."), flag, path)
    return path


def check_out_dir(path: Path, flag: str = "--out", files: Sequence[str] = ()) -> Path:
    """Check an output FOLDER before any work: it is not a symlink, it is a folder or does not
    exist yet, and its parent exists and is writable (only the last level is created). Each of
    ``files`` (names the command writes inside) that exists must be neither a symlink nor a
    folder."""
    path = Path(path)
    _not_a_link(path, flag)
    if path.exists() and not path.is_dir():
        raise SpecurateInputError(f"{flag} {path} exists and is not a folder")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise SpecurateInputError(f"{flag} {path}: the folder is not writable")
        for name in files:
            inside = path / name
            _not_a_link(inside, flag)
            if inside.is_dir():
                raise SpecurateInputError(f"{flag} {path}: {name} in it is a folder, not a file")
        return path
    _writable_dir(path.parent if str(path.parent) else Path("."), flag, path)
    return path


def load_data(
    data: str,
    labels: str | None,
    *,
    want_labels: bool,
    features: str | None = None,
    seed: int = 0,
) -> tuple[Any, Any, str]:
    """DATA is a file or a built-in name; LABELS a file, or a column of a tabular DATA;
    FEATURES the feature column of a table (see :func:`specurate.io.open_rows`); ``seed`` the
    draw of a generated built-in (``planted``).

    Returns ``(x, y or None, name)``. An unknown name that is not a file lists the built-ins.
    """
    import numpy as np

    from specurate import io
    from specurate.datasets import BUILTIN, load_builtin

    path = Path(data)
    if not path.exists() and data in BUILTIN:
        ds = load_builtin(data, seed=seed)
        return ds.x, (ds.y if want_labels or labels else None), data
    if not path.exists() and path.suffix == "":
        raise SpecurateInputError(
            f"{data}: no such file, and not a built-in data set ({', '.join(sorted(BUILTIN))})"
        )
    drop = None
    if (
        labels
        and not Path(labels).exists()
        and (path.suffix in (".csv", ".parquet") or path.is_dir())
        and path.exists()
    ):
        _, columns = io.read_table(path)
        if labels not in columns:
            raise SpecurateInputError(
                f"{labels}: no such file, and {path.name} has no column of that name."
            )
        drop = labels
    x = io.load_array(path, role="data", drop_column=drop, features=features)
    y = None
    if drop is not None:
        table, _ = io.read_table(path)
        y = io.validate_array(
            np.asarray(table.column(drop).to_numpy(zero_copy_only=False)),  # type: ignore[attr-defined]
            source=f"{path.name}:{drop}",
            role="labels",
        )
    elif labels:
        y = io.load_array(labels, role="labels")
        io.check_same_length(x.shape[0], y, data_source=path.name, other_source=Path(labels).name)
    return x, y, path.name
