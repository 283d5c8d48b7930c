"""Progress of long jobs: a rich bar on a terminal, plain lines when stderr is redirected, and
every finished step in a log file while :func:`log_progress` is active.

``progress_iter`` is the one place progress is reported, so a job that logs (``specurate run``
writes ``OUT/run.log``) logs the steps of everything it calls: parts, learning-rate tuning,
training runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_LOG: ContextVar[Path | None] = ContextVar("specurate_progress_log", default=None)
_QUIET: ContextVar[bool] = ContextVar("specurate_progress_quiet", default=False)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Inside, :func:`progress_iter` prints nothing on stderr (its log lines are still written):
    for work whose caller reports progress itself, e.g. a study part in a worker process."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


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
    # O_NOFOLLOW: a symlink planted at the log's path is an error, never written through
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with open(fd, "a", encoding="utf-8") as f:
        f.write(f"{stamp} {text}\n")


def note(text: str, *, echo: bool = True) -> None:
    """One line in the active :func:`log_progress` file, and on stderr when ``echo`` (and not
    :func:`quiet`): for events a run should record, e.g. a saved part found corrupt."""
    log = _LOG.get()
    if log is not None:
        _log_line(log, text)
    if echo and not _QUIET.get():
        print(text, file=sys.stderr, flush=True)


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
    enabled = enabled and not _QUIET.get()
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


def _clock(seconds: float) -> str:
    """``1:05`` or ``1:02:05``."""
    m, sec = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class PartProgress:
    """Progress of a job made of long parts: a rich bar with the running parts, elapsed time and
    ETA on a terminal; one line per started and finished part (with elapsed time and ETA)
    otherwise; and every finished part in the active :func:`log_progress` file either way.

    The ETA is the mean time of the parts finished in this session times the parts left, over
    the parts running at once (a rough guide: parts differ in cost).

    Use as a context manager; call :meth:`start` when a part starts and :meth:`advance` when it
    finishes.
    """

    def __init__(self, label: str, *, total: int, done: int = 0, enabled: bool = True) -> None:
        self.label, self.total, self.done = label, total, done
        self.enabled = enabled and not _QUIET.get()
        self.terminal = self.enabled and sys.stderr.isatty()
        self.running: list[str] = []
        self.finished_here = 0
        self.t0 = time.perf_counter()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> PartProgress:
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(
                self.label, total=self.total, completed=self.done, eta=""
            )
        elif self.done and self.enabled:
            print(f"{self.label}: {self.done}/{self.total} parts already done", file=sys.stderr)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def eta(self) -> float | None:
        """Seconds left, from the parts finished in this session (None before the first)."""
        if not self.finished_here:
            return None
        per = (time.perf_counter() - self.t0) / self.finished_here
        return per * (self.total - self.done) / max(1, len(self.running))

    def _text(self) -> str:
        eta = self.eta()
        return "" if eta is None else f"ETA {_clock(eta)}"

    def _update(self) -> None:
        if self._progress is not None:
            desc = self.label + (": " + ", ".join(self.running) if self.running else "")
            self._progress.update(
                self._task, completed=self.done, description=desc[:80], eta=self._text()
            )

    def start(self, title: str) -> None:
        """A part starts."""
        self.running.append(title)
        if self.enabled and not self.terminal:
            elapsed = _clock(time.perf_counter() - self.t0)
            print(
                f"{self.label}: [{self.done + 1}/{self.total}] {title} (started at {elapsed})",
                file=sys.stderr,
                flush=True,
            )
        self._update()

    def advance(self, title: str) -> None:
        """A part finished."""
        if title in self.running:
            self.running.remove(title)
        self.done += 1
        self.finished_here += 1
        elapsed = _clock(time.perf_counter() - self.t0)
        eta = self._text()
        when = f"{elapsed}, {eta}" if eta else elapsed
        text = f"{self.label}: {self.done}/{self.total} done ({when}): {title}"
        log = _LOG.get()
        if log is not None:
            _log_line(log, text)
        if self.enabled and not self.terminal:
            print(text, file=sys.stderr, flush=True)
        self._update()
