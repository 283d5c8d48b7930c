"""Plain JSON values for the experiments' ``to_dict()``: numpy scalars and arrays become Python
numbers and lists, tuples become lists, NaN and ±inf become ``None``.

The same conversion the CLI applies to every JSON document it writes, here so that
:mod:`specurate.bench` needs nothing from the presentation layer.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["json_value"]


def json_value(obj: Any) -> Any:
    """``obj`` with dataclasses, mappings, sequences, numpy values and non-finite floats turned
    into dict / list / int / float / bool / str / None (keys become strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_value(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): json_value(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_value(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_value(v) for v in obj.tolist()]
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return x if math.isfinite(x) else None
    return obj
