"""Plain JSON values: dataclasses become dicts, numpy scalars and arrays Python numbers and
lists, tuples lists, NaN and ±inf ``None``.

One conversion for every JSON document specurate writes — the experiments' ``to_dict()``
(:mod:`specurate.bench`) and the CLI's and the report's views (:mod:`specurate.report.json`) —
in the foundation layer, so that neither needs the other.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(obj: Any) -> Any:
    """``obj`` with dataclasses, mappings, sequences, numpy values and non-finite floats turned
    into dict / list / int / float / bool / str / None (keys become strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return x if math.isfinite(x) else None
    return obj
