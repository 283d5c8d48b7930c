"""Errors raised for user mistakes (bad files, bad parameters).

The command line turns a :class:`SpecurateInputError` into one sentence on stderr and exit
code 2; library users catch it like any ``ValueError``.
"""

from __future__ import annotations

import math


class SpecurateInputError(ValueError):
    """Bad user input: a file, an array or a parameter that cannot be used as given.

    The message is one sentence that names the source (file or argument) and the problem.
    """


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> None:
    """A finite number > 0 (or ≥ 0 with ``allow_zero``); non-numbers are rejected too."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = math.nan
    ok = v >= 0 if allow_zero else v > 0
    if not (math.isfinite(v) and ok):
        raise SpecurateInputError(f"{name} must be {'≥ 0' if allow_zero else '> 0'}, got {value}")


def check_unit(name: str, value: object, *, closed: bool = True) -> None:
    """A number in [0, 1] (``closed``) or [0, 1)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = math.nan
    ok = 0 <= v <= 1 if closed else 0 <= v < 1
    if not (math.isfinite(v) and ok):
        raise SpecurateInputError(f"{name} must be in [0, 1{']' if closed else ')'}, got {value}")


def check_positive_int(name: str, value: object) -> int:
    """A positive integral number (``int(v) == v ≥ 1``), returned as ``int``."""
    if int(value) != value or value < 1:  # type: ignore[arg-type, operator]
        raise SpecurateInputError(f"{name} must be a positive integer, got {value}")
    return int(value)  # type: ignore[arg-type]
