"""The README's code runs as written.

* every ```python block is executed in a fresh interpreter (from a temporary folder), unless it
  is marked ``<!-- excerpt: FILE -->`` — then every statement of it must appear in FILE (after
  stripping comments and spaces), so the excerpt cannot drift from the file the tests run;
* a block that starts with a module docstring is a verbatim copy of an example file
  (checked in ``tests/torch/integrations/test_recipes.py``) and is skipped here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- excerpt: (?P<file>\S+) -->\n)?```python\n(?P<code>.*?)```", re.S)


def _blocks() -> list[tuple[str | None, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(m["file"], m["code"]) for m in BLOCK.finditer(text)]


def _statements(code: str) -> list[str]:
    out = []
    for line in code.splitlines():
        line = line.split("#", 1)[0]
        out += [re.sub(r"\s+", "", s) for s in line.split(";") if s.strip()]
    return out


def test_readme_has_runnable_blocks_and_excerpts():
    kinds = [f is not None for f, _ in _blocks()]
    assert kinds.count(False) >= 1 and kinds.count(True) >= 1


@pytest.mark.parametrize("index", [i for i, (f, c) in enumerate(_blocks()) if f is not None])
def test_excerpt_matches_its_file(index):
    file, code = _blocks()[index]
    source = set(_statements((ROOT / file).read_text(encoding="utf-8")))
    missing = [s for s in _statements(code) if s not in source]
    assert not missing, f"README excerpt of {file} has statements not in the file: {missing}"


@pytest.mark.integration
@pytest.mark.parametrize(
    "index",
    [i for i, (f, c) in enumerate(_blocks()) if f is None and not c.startswith('"""')],
)
def test_python_block_runs(index, tmp_path):
    _, code = _blocks()[index]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
