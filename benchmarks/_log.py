"""Progress lines of the benchmark scripts: on stderr and appended to a log file."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def progress(script: str, message: str, log: Path | None = None) -> None:
    """Print ``message`` with the time on stderr and append it to ``log`` (default
    ``bench-<script>.log`` in the working directory), so a run can be followed from a file."""
    line = f"{time.strftime('%H:%M:%S')} {message}"
    print(line, file=sys.stderr, flush=True)
    path = log or Path(f"bench-{script}.log")
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
