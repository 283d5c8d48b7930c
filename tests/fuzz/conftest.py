"""Load the case generators (``cases.py``, ``api_cases.py``) of this folder as modules: tests
run with ``--import-mode=importlib``, which puts no test folder on ``sys.path``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _load(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)


_load("cases")
_load("api_cases")
