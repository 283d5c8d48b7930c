"""The package as it was at a git revision, for benchmarks that compare old and new in one run."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_REF = "f30b1a9"  # the last commit before the redesign of issue 11


@contextlib.contextmanager
def reference_src(ref: str = OLD_REF) -> Iterator[Path]:
    """A temporary ``src`` folder holding ``src/specurate`` at ``ref`` (``git archive``): put it
    on ``PYTHONPATH`` of a subprocess to import that version of specurate."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "src/specurate"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp) / "src"
