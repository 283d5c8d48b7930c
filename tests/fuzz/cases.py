"""Generated bad (and good) inputs for the fuzz tests and ``benchmarks/fuzz_long.py``.

A :class:`Case` writes its files into a folder and names the command-line arguments that run
``specurate`` on them. :func:`generate` draws cases from a seeded generator: data files in
every supported format with wrong dtypes (float16/int/bool/complex/object/strings/records),
NaN/inf, empty arrays, one row or one column, constant or duplicated rows, isotropic data,
huge (1e155–1e300) or tiny (1e-160–1e-300) magnitudes; truncated or corrupted ``.npy``,
``.npz``, ``.parquet`` and ``.csv`` files; ``.npz`` archives with object or non-``.npy``
members; CSVs with duplicate or non-UTF-8 headers; FIFOs and folders named like data files;
label and weight files of the wrong length or type; and out-of-range options.

:func:`run_cli` runs one case in-process with typer's ``CliRunner`` and classifies the
outcome (:func:`classify`): ``"ok"`` (exit 0, valid output), ``"error"`` (exit 2, one line
``error: …`` naming a file or option), ``"usage"`` (exit 2, click's usage error naming the
option) or a failure signature.
"""

from __future__ import annotations

import io as _io
import json
import math
import os
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Writer = Callable[[Path], None]

#: keys of the JSON outputs that must be numbers whenever the run succeeds, or be null with
#: an explicit reason under the given key
REQUIRED = {
    "spectrum": {"b": None, "alpha": "alpha_note"},
    "reweight": {"b": None, "b_w": None, "C": None},
}


@dataclass
class Case:
    """One generated input: files to write and the ``specurate`` arguments (``{d}`` is the
    folder the files are written to)."""

    name: str
    args: list[str]
    files: dict[str, Writer] = field(default_factory=dict)

    def materialize(self, folder: Path) -> list[str]:
        """Write the files into ``folder``; the arguments with ``{d}`` filled in."""
        for fname, write in self.files.items():
            write(folder / fname)
        return [a.replace("{d}", str(folder)) for a in self.args]

    @property
    def names(self) -> list[str]:
        """What an error message may name: the files and the options of the case."""
        out = [Path(a).name for a in self.args if "{d}" in a]
        out += [a for a in self.args if a.startswith("--")]
        out += [a.lstrip("-") for a in self.args if a.startswith("--")]
        return out


# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------

DTYPES = [
    "float64",
    "float32",
    "float16",
    "int64",
    "int8",
    "uint16",
    "bool",
    "complex128",
    "complex64",
    "object",
    "U5",
    "S5",
    "record",
]
SHAPES = ["normal", "empty", "empty2d", "one_row", "one_col", "vector", "3d", "two_rows", "few"]
VALUES = [
    "normal",
    "powerlaw",
    "constant",
    "zeros",
    "duplicated",
    "isotropic",
    "rank1",
    "nan",
    "inf",
    "huge",
    "huger",
    "tiny",
    "tinier",
    "mixed_scale",
    "integers",
]


def _shape(kind: str, rng: np.random.Generator) -> tuple[int, ...]:
    n = int(rng.integers(50, 160))
    d = int(rng.integers(2, 12))
    return {
        "normal": (n, d),
        "empty": (0,),
        "empty2d": (0, d),
        "one_row": (1, d),
        "one_col": (n, 1),
        "vector": (n,),
        "3d": (n, 2, 2),
        "two_rows": (2, d),
        "few": (int(rng.integers(3, 49)), d),
    }[kind]


def make_values(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Float64 values of ``shape`` drawn as ``kind`` says."""
    size = int(np.prod(shape))
    x = rng.standard_normal(shape)
    if len(shape) == 2 and shape[0] and shape[1]:
        scale = np.arange(1, shape[1] + 1) ** -0.75
        if kind == "powerlaw":
            x = x * scale
        elif kind == "duplicated":
            x = np.repeat(x[: max(1, shape[0] // 4)], 4, axis=0)[: shape[0]]
            if x.shape[0] < shape[0]:
                x = np.vstack([x, x[: shape[0] - x.shape[0]]])
        elif kind == "isotropic":
            x = rng.standard_normal(shape)
        elif kind == "rank1":
            x = rng.standard_normal((shape[0], 1)) * rng.standard_normal((1, shape[1]))
        elif kind == "mixed_scale":
            x = x * np.logspace(-150, 150, shape[1])
    if kind == "constant":
        x = np.full(shape, 3.25)
    elif kind == "zeros":
        x = np.zeros(shape)
    elif kind == "nan" and size:
        x.flat[int(rng.integers(size))] = np.nan
    elif kind == "inf" and size:
        x.flat[int(rng.integers(size))] = -np.inf if rng.random() < 0.5 else np.inf
    elif kind == "huge":
        x = x * 1e155
    elif kind == "huger":
        x = x * 1e300
    elif kind == "tiny":
        x = x * 1e-160
    elif kind == "tinier":
        x = x * 1e-300
    elif kind == "integers":
        x = np.round(x * 3)
    return x


def cast(x: np.ndarray, dtype: str, rng: np.random.Generator) -> np.ndarray:
    """``x`` in ``dtype`` (object, string and record arrays included)."""
    if dtype == "object":
        out = np.empty(x.shape, dtype=object)
        out.flat[:] = list(x.flat)
        if out.size and rng.random() < 0.5:
            out.flat[0] = "text"
        return out
    if dtype in ("U5", "S5"):
        return x.astype(dtype)
    if dtype == "record":
        rec = np.zeros(x.shape[:1] if x.ndim else (), dtype=[("a", "f8"), ("b", "i4")])
        return rec
    if dtype.startswith("complex"):
        with np.errstate(all="ignore"):
            c = x.astype(dtype)
        if rng.random() < 0.7 and c.size:
            c = c + 1j * rng.standard_normal(c.shape).astype(c.real.dtype)
        return c.astype(dtype)
    with np.errstate(all="ignore"):
        if np.dtype(dtype).kind in "iub":
            return np.nan_to_num(x, nan=0, posinf=0, neginf=0).clip(-100, 100).astype(dtype)
        return x.astype(dtype)


def draw_array(rng: np.random.Generator, *, good: float = 0.3) -> tuple[np.ndarray, str]:
    """A data array and its description; with probability ``good`` a clean float array."""
    if rng.random() < good:
        shape = _shape("normal", rng)
        kind = str(rng.choice(["normal", "powerlaw", "duplicated", "integers"]))
        dtype = str(rng.choice(["float64", "float32"]))
    else:
        shape = _shape(str(rng.choice(SHAPES, p=_p(SHAPES, normal=6))), rng)
        kind = str(rng.choice(VALUES))
        dtype = str(rng.choice(DTYPES, p=_p(DTYPES, float64=5, float32=2)))
    return cast(make_values(kind, shape, rng), dtype, rng), f"{dtype}-{kind}-{shape}"


def _p(options: list[str], **weights: float) -> np.ndarray:
    w = np.array([weights.get(o, 1.0) for o in options])
    return w / w.sum()


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _npy_bytes(x: np.ndarray) -> bytes:
    buf = _io.BytesIO()
    np.save(buf, x, allow_pickle=True)
    return buf.getvalue()


def _corrupt(raw: bytes, how: str, rng: np.random.Generator) -> bytes:
    if not raw:
        return raw
    if how == "truncate":
        return raw[: int(rng.integers(0, len(raw)))]
    if how == "flip":
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 8))):
            i = int(rng.integers(len(b)))
            b[i] = int(rng.integers(256))
        return bytes(b)
    if how == "header":
        b = bytearray(raw)
        for i in rng.integers(0, min(len(b), 128), size=4):
            b[int(i)] = int(rng.integers(256))
        return bytes(b)
    if how == "append":
        return raw + bytes(rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8))
    return raw


def _as_2d(x: np.ndarray) -> np.ndarray:
    if x.ndim == 0:
        return x.reshape(1, 1)
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))


def npy_writer(x: np.ndarray, corrupt: str = "") -> Writer:
    def write(p: Path) -> None:
        p.write_bytes(_corrupt(_npy_bytes(x), corrupt, np.random.default_rng(len(p.name))))

    return write


def npz_writer(members: dict[str, Any], corrupt: str = "") -> Writer:
    """Members: arrays (saved as .npy) or bytes (stored raw, not a .npy)."""

    def write(p: Path) -> None:
        buf = _io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for k, v in members.items():
                if isinstance(v, bytes):
                    zf.writestr(k, v)
                else:
                    zf.writestr(k + ".npy", _npy_bytes(np.asarray(v)))
        p.write_bytes(_corrupt(buf.getvalue(), corrupt, np.random.default_rng(3)))

    return write


def csv_writer(
    x: np.ndarray,
    *,
    header: str = "normal",
    corrupt: str = "",
    extra: dict[str, list[Any]] | None = None,
) -> Writer:
    def write(p: Path) -> None:
        arr = _as_2d(x)
        d = arr.shape[1] if arr.ndim == 2 else 1
        cols = [f"f{j}" for j in range(d)] + list(extra or {})
        if header == "duplicate" and len(cols) > 1:
            cols[1] = cols[0]
        lines: list[bytes] = []
        if header != "none":
            head = ",".join(cols).encode()
            if header == "latin1":
                head = ",".join(c + "\xe9" for c in cols).encode("latin-1")
            lines.append(head)
        for i, row in enumerate(arr):
            vals = [str(v) for v in row]
            for v in (extra or {}).values():
                vals.append(str(v[i % len(v)]))
            if header == "ragged" and i == 1:
                vals = vals[:-1]
            lines.append(",".join(vals).encode("utf-8", "replace"))
        raw = b"\n".join(lines) + b"\n"
        p.write_bytes(_corrupt(raw, corrupt, np.random.default_rng(5)))

    return write


def parquet_writer(x: np.ndarray, *, layout: str = "columns", corrupt: str = "") -> Writer:
    def write(p: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arr = _as_2d(x)
        if arr.dtype.kind == "c":
            arr = arr.real
        if arr.dtype.kind in "OUSV":
            arr = arr.astype(str) if arr.dtype.kind != "V" else np.zeros((arr.shape[0], 2))
        if layout == "list":
            table = pa.table({"emb": pa.array([list(r) for r in arr.tolist()])})
        elif layout == "nulls":
            cols = {f"f{j}": pa.array(arr[:, j].tolist()) for j in range(arr.shape[1])}
            if arr.shape[0]:
                vals = arr[:, 0].tolist()
                vals[0] = None
                cols["f0"] = pa.array(vals)
            table = pa.table(cols)
        elif layout == "ragged" and arr.shape[0] > 1:
            rows = [list(r) for r in arr.tolist()]
            rows[1] = rows[1][:-1]
            table = pa.table({"emb": pa.array(rows)})
        elif layout == "duplicate" and arr.shape[1] > 1:
            names = [f"f{j}" for j in range(arr.shape[1])]
            names[1] = names[0]
            table = pa.Table.from_arrays([pa.array(arr[:, j]) for j in range(arr.shape[1])], names)
        elif layout == "strings":
            table = pa.table(
                {"f0": pa.array(arr[:, 0].tolist()), "s": pa.array(["a"] * arr.shape[0])}
            )
        else:
            table = pa.table({f"f{j}": pa.array(arr[:, j]) for j in range(arr.shape[1])})
        buf = pa.BufferOutputStream()
        pq.write_table(table, buf)
        raw = buf.getvalue().to_pybytes()
        p.write_bytes(_corrupt(raw, corrupt, np.random.default_rng(7)))

    return write


def fifo_writer() -> Writer:
    def write(p: Path) -> None:
        os.mkfifo(p)

    return write


def folder_writer() -> Writer:
    def write(p: Path) -> None:
        p.mkdir()

    return write


def bytes_writer(raw: bytes) -> Writer:
    def write(p: Path) -> None:
        p.write_bytes(raw)

    return write


CORRUPTIONS = ["", "", "", "truncate", "flip", "header", "append"]


def draw_data_file(rng: np.random.Generator, stem: str = "x") -> tuple[str, Writer, np.ndarray]:
    """``(file name, writer, the array it was made from)``."""
    x, _ = draw_array(rng)
    corrupt = str(rng.choice(CORRUPTIONS)) if rng.random() < 0.25 else ""
    r = rng.random()
    if r < 0.45:
        return f"{stem}.npy", npy_writer(x, corrupt), x
    if r < 0.6:
        kind = str(rng.choice(["one", "named", "two", "object", "raw", "empty", "nested"]))
        members: dict[str, Any] = {
            "one": {"arr_0": x},
            "named": {"x": x, "y": np.arange(len(x)) % 3},
            "two": {"a": x, "b": x},
            "object": {"x": np.array([1, "a", None], dtype=object)},
            "raw": {"x": b"this is not a npy file"},
            "empty": {},
            "nested": {"x.npy": b"\x93NUMPY\x01\x00garbage"},
        }[kind]
        return f"{stem}.npz", npz_writer(members, corrupt), x
    if r < 0.78:
        header = str(rng.choice(["normal", "none", "duplicate", "latin1", "ragged"]))
        return f"{stem}.csv", csv_writer(x, header=header, corrupt=corrupt), x
    if r < 0.92:
        layout = str(rng.choice(["columns", "list", "nulls", "ragged", "duplicate", "strings"]))
        return f"{stem}.parquet", parquet_writer(x, layout=layout, corrupt=corrupt), x
    special = str(rng.choice(["fifo", "folder", "empty", "text", "wrong_suffix", "zip"]))
    if special == "fifo":
        return f"{stem}.npy", fifo_writer(), x
    if special == "folder":
        return f"{stem}.npy", folder_writer(), x
    if special == "empty":
        return f"{stem}{rng.choice(['.npy', '.npz', '.csv', '.parquet'])}", bytes_writer(b""), x
    if special == "text":
        return f"{stem}.npy", bytes_writer(b"1,2,3\n4,5,6\n"), x
    if special == "zip":
        return f"{stem}.npz", bytes_writer(b"PK\x03\x04garbage"), x
    return f"{stem}.txt", npy_writer(x), x


def draw_side_file(
    rng: np.random.Generator, n: int, role: str, stem: str
) -> tuple[str, Writer] | None:
    """A labels or weights file for ``n`` examples, often wrong."""
    kind = str(
        rng.choice(
            [
                "good",
                "good",
                "short",
                "long",
                "complex",
                "strings",
                "huge",
                "nan",
                "negative",
                "zeros",
                "fraction",
                "2d",
                "object",
                "bool",
            ]
        )
    )
    m = max(n, 1)
    if kind == "good":
        v = (rng.integers(0, 3, m) if role == "labels" else rng.random(m) + 0.1).astype(float)
    elif kind == "short":
        v = np.ones(max(m - 3, 0))
    elif kind == "long":
        v = np.ones(m + 5)
    elif kind == "complex":
        v = np.ones(m) + 1j * rng.standard_normal(m)
    elif kind == "strings":
        v = np.array(["cat", "dog"] * m)[:m]
    elif kind == "huge":
        v = np.where(rng.random(m) < 0.5, 1e300, -1e300)
    elif kind == "nan":
        v = np.ones(m)
        v[0] = np.nan
    elif kind == "negative":
        v = -np.ones(m)
    elif kind == "zeros":
        v = np.zeros(m)
    elif kind == "fraction":
        v = rng.random(m)
    elif kind == "2d":
        v = np.ones((m, 3))
    elif kind == "object":
        v = np.array([None] * m, dtype=object)
    else:
        v = rng.random(m) < 0.5
    fmt = str(rng.choice([".npy", ".npy", ".csv", ".npz", ".parquet"]))
    name = stem + fmt
    if fmt == ".npy":
        return name, npy_writer(v)
    if fmt == ".npz":
        return name, npz_writer({"w" if role == "weights" else "y": v})
    col = v.reshape(len(v), 1) if v.ndim == 1 else v
    if fmt == ".csv":
        return name, csv_writer(col, header="normal")
    return name, parquet_writer(col)


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

_BAD_OPTIONS: list[list[str]] = [
    ["--seed", "-1"],
    ["--seed", "12345678901234567890123"],
    ["--bandwidth", "0"],
    ["--bandwidth", "-1"],
    ["--bandwidth", "nan"],
    ["--bandwidth", "inf"],
    ["--bandwidth", "1e-300"],
    ["--bandwidth", "1e300"],
    ["--top", "4"],
    ["--top", "100000"],
    ["--groups", "1"],
    ["--groups", "100000"],
    ["--ci", "1.5"],
    ["--ci", "nan"],
    ["--tolerance", "-1"],
    ["--tolerance", "nan"],
    ["--tolerance", "0"],
    ["--landmarks", "0"],
    ["--landmarks", "100000"],
    ["--bootstrap", "1"],
    ["--ci-method", "bootstrap", "--bootstrap", "3"],
    ["--ci-method", "none"],
    ["--no-center"],
    ["--features", "nope"],
    ["--features", "emb"],
]


def draw_case(rng: np.random.Generator, i: int) -> Case:
    """One random case: a command, a data file, maybe labels/weights and options."""
    command = "spectrum" if rng.random() < 0.65 else "reweight"
    fname, write, x = draw_data_file(rng)
    files: dict[str, Writer] = {fname: write}
    args = [command, "{d}/" + fname]
    n = int(x.shape[0]) if x.ndim else 1
    if command == "reweight":
        side = draw_side_file(rng, n, "weights", "w")
        assert side is not None
        files[side[0]] = side[1]
        args += ["--weights", "{d}/" + side[0]]
    elif rng.random() < 0.3:
        side = draw_side_file(rng, n, "labels", "y")
        assert side is not None
        files[side[0]] = side[1]
        args += ["--labels", "{d}/" + side[0]]
    if rng.random() < 0.3:
        args += ["--kernel", "rbf"]
    if command == "spectrum" and rng.random() < 0.2:
        args += ["--stream"]
    if rng.random() < 0.35:
        args += [str(a) for a in _BAD_OPTIONS[int(rng.integers(len(_BAD_OPTIONS)))]]
    if rng.random() < 0.1:
        args += ["--plot", "{d}/plot.png"]
    if rng.random() < 0.5:
        args += ["--ci-method", "none"] if "--ci-method" not in args else []
    if rng.random() < 0.15:
        args += ["--groups", "4"] if "--groups" not in args else []
    if rng.random() < 0.75:
        args += ["--json"]
    return Case(f"case{i}-{fname}", args, files)


def generate(count: int, seed: int = 0) -> Iterator[Case]:
    """``count`` cases drawn from a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        yield draw_case(rng, i)


# ---------------------------------------------------------------------------------------------
# Running and classifying
# ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """``kind``: ``"ok"``, ``"error"``, ``"usage"`` or ``"bad"``; ``detail``: the signature
    of a bad outcome."""

    kind: str
    detail: str = ""


def _is_progress(line: str) -> bool:
    """A line of a progress bar or a plain progress line (stderr shows progress by design
    without ``--json``)."""
    return line.startswith(("covariance of ", "resampling: ", "landmarks"))


def _has_nonfinite(obj: Any) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_has_nonfinite(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_nonfinite(v) for v in obj)
    return False


def check_json(command: str, out: dict[str, Any]) -> str:
    """Empty when ``out`` is a valid result; else what is wrong with it."""
    if _has_nonfinite(out):
        return "non-finite number in JSON"
    for key, reason in REQUIRED.get(command, {}).items():
        if out.get(key) is None and not (reason and out.get(reason)):
            return f"{key} is null without a reason"
    if command == "spectrum":
        a, lo_hi = out.get("alpha"), out.get("alpha_ci")
        if a is not None and isinstance(lo_hi, list) and None not in lo_hi:
            if not lo_hi[0] <= a <= lo_hi[1]:
                return "alpha_ci excludes alpha"
        b, b_ci = out.get("b"), out.get("b_ci")
        if b is not None and isinstance(b_ci, list) and None not in b_ci:
            if not b_ci[0] <= b <= b_ci[1] and not math.isclose(b, b_ci[0]):
                return "b_ci excludes b"
    return ""


def classify(
    case: Case, exit_code: int, stdout: str, stderr: str, exc: BaseException | None
) -> Outcome:
    """The outcome of one run of ``case``."""
    if exc is not None and not isinstance(exc, SystemExit):
        tb = traceback.extract_tb(exc.__traceback__)
        frame = tb[-1] if tb else None
        where = f"{Path(frame.filename).name}:{frame.name}" if frame else "?"
        msg = str(exc).splitlines()[0][:60] if str(exc) else ""
        return Outcome("bad", f"{type(exc).__name__} at {where}: {msg}")
    if exit_code == 0:
        if "Warning" in stderr:
            return Outcome("bad", "exit 0 with a warning on stderr")
        if "--json" in case.args:
            try:
                out = json.loads(
                    stdout, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))
                )
            except ValueError as e:
                return Outcome("bad", f"exit 0 with invalid JSON ({str(e)[:40]})")
            problem = check_json(case.args[0], out)
            if problem:
                return Outcome("bad", f"exit 0: {problem}")
        elif "nan" in stdout.lower().split() or " inf" in stdout.lower():
            return Outcome("bad", "exit 0 with NaN/inf in the table")
        return Outcome("ok")
    if exit_code == 2:
        if "Invalid value for" in stderr or "No such option" in stderr:
            return Outcome("usage")
        lines = [ln for ln in stderr.strip("\n").split("\n") if not _is_progress(ln)]
        if len(lines) != 1 or not lines[0].startswith("error: "):
            first = lines[0][:50] if lines else ""
            return Outcome("bad", f"exit 2 with {len(lines)} stderr lines ({first})")
        if not any(nm and nm in lines[0] for nm in case.names):
            return Outcome("bad", "exit 2 message names no file or option")
        return Outcome("error")
    return Outcome("bad", f"exit {exit_code}: {stderr.strip()[:60]}")


def run_cli(case: Case, folder: Path) -> Outcome:
    """Run ``case`` in-process (files written under ``folder``) and classify the outcome."""
    from typer.testing import CliRunner

    from specurate.cli import app

    folder.mkdir(parents=True, exist_ok=True)
    args = case.materialize(folder)
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    out = classify(case, result.exit_code, result.stdout, result.stderr, result.exception)
    if out.kind in ("error", "usage") and "--plot" in case.args and (folder / "plot.png").exists():
        return Outcome("bad", "a failed run left a --plot file")
    return out
