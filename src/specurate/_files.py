"""Writing result files safely: atomic replacement through a fresh temporary name.

``atomic_write_*`` write to a new temporary file created with ``O_EXCL`` in the target's folder
(``tempfile.mkstemp``: an unpredictable name, so a planted symlink cannot redirect the write)
and ``os.replace`` it onto the target. Replacing renames over the target path itself: if the
target is a symlink, the link is replaced, the file it pointed to is left untouched. A reader
sees the old file or the new one, never a truncated one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text"]


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary path beside ``path``, then move it onto ``path``.

    ``write`` receives a path (for writers that take a file name, e.g. matplotlib or pyarrow);
    the temporary file exists (empty, mode 0600) when it is called. On any error the temporary
    file is removed and ``path`` is unchanged.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""

    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""

    def write(p: Path) -> None:
        p.write_bytes(data)

    return atomic_write(path, write)
