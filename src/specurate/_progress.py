"""Progress of long jobs: a rich bar on a terminal, plain lines when stderr is redirected, and
every finished step in a log file while :func:`log_progress` is active.

``progress_iter`` is the one place progress is reported, so a job that logs (``specurate run``
writes ``OUT/run.log``) logs the steps of everything it calls: parts, learning-rate tuning,
training runs.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_LOG: ContextVar[Path | None] = ContextVar("specurate_progress_log", default=None)


@contextlib.contextmanager
def log_progress(path: str | Path) -> Iterator[Path]:
    """Append one line per finished step of every :func:`progress_iter` inside to ``path``."""
    token = _LOG.set(Path(path))
    try:
        yield Path(path)
    finally:
        _LOG.reset(token)


def _log_line(log: Path, text: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{stamp} {text}\n")


def _steps(items: Iterable[T], label: str, total: int | None, plain: bool) -> Iterator[T]:
    """Yield ``items``; after each, a log line (when logging) and a plain stderr line."""
    log = _LOG.get()
    start = time.perf_counter()
    for i, item in enumerate(items, 1):
        yield item
        of = f"/{total}" if total is not None else ""
        text = f"{label}: {i}{of} done ({time.perf_counter() - start:.0f} s)"
        if log is not None:
            _log_line(log, text)
        if plain:
            print(text, file=sys.stderr, flush=True)


def progress_iter(
    items: Iterable[T], label: str, *, enabled: bool, total: int | None = None
) -> Iterator[T]:
    """Yield ``items`` with progress: a rich bar on stderr when ``enabled`` and stderr is a
    terminal, one line per step on stderr when ``enabled`` and it is not, and one line per
    step in the active :func:`log_progress` file either way."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    terminal = enabled and sys.stderr.isatty()
    steps = _steps(items, label, total, plain=enabled and not terminal)
    if not terminal:
        yield from steps
        return
    from rich.console import Console
    from rich.progress import track

    yield from track(
        steps, description=label, total=total, console=Console(stderr=True), transient=True
    )
