"""Input validation shared by every layer: one place for the checks a parameter goes through.

Each function returns the value converted to its canonical type (``int`` / ``float`` / ``str``)
or raises :class:`~specurate.errors.SpecurateInputError` with one sentence naming the parameter
as the user wrote it (pass the CLI flag, e.g. ``"--epochs"``, from the command line and the
keyword name from the Python API). Booleans are never accepted as numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

from specurate.errors import SpecurateInputError

__all__ = [
    "check_bool",
    "check_choice",
    "check_int",
    "check_names",
    "check_positive",
    "check_positive_int",
    "check_real",
    "check_reals",
    "check_seed",
    "check_unit",
]


def _bound(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '≥'} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '≤'} {hi:g}")
    return " and ".join(parts)


def check_int(
    name: str, value: Any, *, lo: int | None = None, hi: int | None = None, what: str = ""
) -> int:
    """An integral number (``int``, numpy integer, or a float with no fractional part) in
    [lo, hi], returned as ``int``."""
    ok = isinstance(value, Integral | Real) and not isinstance(value, bool)
    if ok and not isinstance(value, Integral):
        v = float(value)
        ok = math.isfinite(v) and v == int(v)
    ok = ok and (lo is None or value >= lo) and (hi is None or value <= hi)
    if not ok:
        rng = "" if what else _bound(lo, hi, False, False)
        kind = what or "an integer"
        raise SpecurateInputError(f"{name} must be {kind}{' ' + rng if rng else ''}, got {value!r}")
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    """An integer ≥ 1."""
    return check_int(name, value, lo=1, what="a positive integer")


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed: an integer ≥ 0 (numpy's SeedSequence rejects negative entries)."""
    return check_int(name, value, lo=0, what="a non-negative integer")


def check_real(
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """A finite real number in the interval given by ``lo``/``hi`` (closed unless ``*_open``),
    returned as ``float``."""
    try:
        v = float(value) if not isinstance(value, bool | str) else math.nan
    except (TypeError, ValueError):
        v = math.nan
    ok = math.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        rng = _bound(lo, hi, lo_open, hi_open)
        raise SpecurateInputError(
            f"{name} must be a finite number{' ' + rng if rng else ''}, got {value!r}"
        )
    return v


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """A finite number > 0 (or ≥ 0 with ``allow_zero``)."""
    return check_real(name, value, lo=0.0, lo_open=not allow_zero)


def check_unit(name: str, value: Any, *, closed: bool = True) -> float:
    """A number in [0, 1] (``closed``) or [0, 1)."""
    return check_real(name, value, lo=0.0, hi=1.0, hi_open=not closed)


def check_choice(name: str, value: Any, options: Iterable[str]) -> str:
    """One of ``options`` (the message lists them)."""
    opts = list(options)
    if value not in opts:
        raise SpecurateInputError(f"unknown {name} {value!r}; choose from {', '.join(opts)}")
    return str(value)


def check_bool(name: str, value: Any) -> bool:
    """A boolean (``bool`` or numpy bool), returned as ``bool``: 0, 1 or "yes" are refused."""
    if not (isinstance(value, bool) or type(value).__name__ == "bool_"):
        raise SpecurateInputError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_reals(
    name: str,
    values: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    distinct: bool = False,
) -> tuple[float, ...]:
    """A non-empty sequence (or 1-D array) of finite numbers, each in the interval of
    :func:`check_real`, optionally distinct; returned as a tuple of floats."""
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise SpecurateInputError(f"{name} must be a sequence of numbers, got {values!r}")
    out = tuple(check_real(name, v, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open) for v in values)
    if not out:
        raise SpecurateInputError(f"{name} must hold at least one number")
    if distinct and len(set(out)) != len(out):
        raise SpecurateInputError(f"{name} must be distinct, got {list(out)}")
    return out


def check_names(name: str, values: Any, options: Iterable[str]) -> tuple[str, ...]:
    """A non-empty sequence of distinct members of ``options`` (one name alone is accepted as a
    one-name list)."""
    opts = list(options)
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, Sequence):
        raise SpecurateInputError(f"{name} must be a sequence of names, got {values!r}")
    vals = tuple(values)
    if not vals:
        raise SpecurateInputError(f"{name} must name at least one of {', '.join(opts)}")
    for v in vals:
        check_choice(name, v, opts)
    if len(set(vals)) != len(vals):
        raise SpecurateInputError(f"{name} lists a name twice: {', '.join(vals)}")
    return vals
