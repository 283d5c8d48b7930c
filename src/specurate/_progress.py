"""Progress bars on stderr (rich), off unless asked for."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_iter(
    items: Iterable[T], label: str, *, enabled: bool, total: int | None = None
) -> Iterator[T]:
    """Yield ``items``, showing a rich progress bar on stderr when ``enabled``."""
    if not enabled:
        yield from items
        return
    from rich.console import Console
    from rich.progress import track

    yield from track(
        items, description=label, total=total, console=Console(stderr=True), transient=True
    )
