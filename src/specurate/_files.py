"""Writing result files safely: atomic replacement, checked JSON, and one writer per folder.

* ``atomic_write_*`` write to a new temporary file created with ``O_EXCL`` in the target's
  folder (``tempfile.mkstemp``: an unpredictable name, so a planted symlink cannot redirect the
  write) and ``os.replace`` it onto the target. A target that is a symlink (or a folder) is
  refused with a :class:`~specurate.errors.SpecurateInputError`: nothing is written through
  it or over it. A reader sees the old file or the new one, never a truncated one.
* :func:`write_checked_json` / :func:`read_checked_json`: resumable state (study parts, cached
  training runs) in an envelope that names the format, the package version, a key (the
  parameters the file was computed for) and the SHA-256 of the canonical JSON of its data. A
  truncated, empty, edited or foreign file, or one computed for other parameters or by another
  version, reads as "invalid, with a reason" and is recomputed by the caller, never trusted.
* :func:`lock_folder`: an exclusive ``fcntl.flock`` on ``FOLDER/.specurate.lock`` for the
  length of a run; a second process that wants the folder is refused at once with a sentence
  naming the folder and the holder's pid (or waits, with ``wait=True``). The kernel releases
  the lock when the holder exits, whatever the way (crash, SIGKILL included).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from specurate.errors import SpecurateInputError

__all__ = [
    "LOCK_NAME",
    "CheckedRead",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_writable_target",
    "file_sha256",
    "lock_folder",
    "read_checked_json",
    "remove_stale_temps",
    "write_checked_json",
]

#: the lock file :func:`lock_folder` holds in a folder
LOCK_NAME = ".specurate.lock"
#: the envelope format of :func:`write_checked_json`
CHECKED_FORMAT = "specurate-checked/1"


def check_writable_target(path: str | Path) -> Path:
    """Refuse (:class:`~specurate.errors.SpecurateInputError`) an output path that is a symlink
    or a folder; return it as a :class:`~pathlib.Path`."""
    target = Path(path)
    if target.is_symlink():
        raise SpecurateInputError(
            f"{target} is a symbolic link; specurate does not write through or over links "
            "(remove it or choose another path)."
        )
    if target.is_dir():
        raise SpecurateInputError(f"{target} is a folder; give a file name.")
    return target


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary path beside ``path``, then move it onto ``path``.

    ``write`` receives a path (for writers that take a file name, e.g. matplotlib or pyarrow);
    the temporary file exists (empty, mode 0600) when it is called. On any error the temporary
    file is removed and ``path`` is unchanged. A ``path`` that is a symlink or a folder is
    refused before anything is written (:func:`check_writable_target`).
    """
    target = check_writable_target(path)
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


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Remove the temporary files :func:`atomic_write` left under ``folder`` (recursively) when
    a writer was killed before it could clean up; return them. Call it only while holding the
    folder's :func:`lock_folder`: then no live writer owns them."""
    removed = []
    for p in Path(folder).rglob(".*.tmp"):
        if p.is_file() or p.is_symlink():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


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


def file_sha256(path: str | Path) -> str | None:
    """Hex SHA-256 of a regular file's bytes, or None when it is missing or not a regular file
    (a symlink counts as missing)."""
    p = Path(path)
    if p.is_symlink() or not p.is_file():
        return None
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _canonical(doc: Any) -> bytes:
    """The canonical JSON bytes of a JSON-loaded value (sorted keys, no spaces)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()


def _version() -> str:
    from specurate import __version__

    return __version__


def write_checked_json(
    path: str | Path, doc: Any, *, key: Mapping[str, Any], allow_nan: bool = True
) -> Path:
    """Write ``doc`` atomically inside a checked envelope: format, package version, ``key`` (the
    parameters ``doc`` was computed for: any JSON object) and the SHA-256 of ``doc``'s
    canonical JSON. Read it back with :func:`read_checked_json`."""
    text = json.dumps(doc, allow_nan=allow_nan)
    data = json.loads(text)  # what a reader will see (tuples → lists, keys → strings)
    envelope = {
        "format": CHECKED_FORMAT,
        "version": _version(),
        "key": dict(key),
        "sha256": hashlib.sha256(_canonical(data)).hexdigest(),
        "data": data,
    }
    return atomic_write_text(path, json.dumps(envelope, allow_nan=allow_nan))


class CheckedRead(NamedTuple):
    """What :func:`read_checked_json` found: ``data`` when the file is valid; else None and
    ``problem`` (why it cannot be trusted; None when there is simply no file)."""

    data: Any
    problem: str | None


def read_checked_json(path: str | Path, *, key: Mapping[str, Any]) -> CheckedRead:
    """Read what :func:`write_checked_json` wrote, validated: the envelope's format, version
    and key must match (``key`` compared as JSON) and the data's checksum must hold.

    Never raises for a bad file: a missing file gives ``CheckedRead(None, None)``; an
    unreadable, truncated, empty, edited, foreign or stale one ``CheckedRead(None, reason)``.
    """
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        return CheckedRead(None, None)
    if p.is_symlink() or not p.is_file():
        return CheckedRead(None, "not a regular file")
    try:
        env = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return CheckedRead(None, f"unreadable ({type(exc).__name__})")
    if not isinstance(env, dict) or env.get("format") != CHECKED_FORMAT:
        return CheckedRead(None, "not a checked specurate file")
    if not {"version", "key", "sha256", "data"} <= env.keys():
        return CheckedRead(None, "incomplete envelope")
    if env["version"] != _version():
        return CheckedRead(None, f"written by specurate {env['version']}")
    if _canonical(env["key"]) != _canonical(json.loads(json.dumps(dict(key)))):
        return CheckedRead(None, "computed for other parameters")
    if hashlib.sha256(_canonical(env["data"])).hexdigest() != env["sha256"]:
        return CheckedRead(None, "checksum mismatch (the file was changed)")
    return CheckedRead(env["data"], None)


# folders this process holds: {(pid, real path): [fd, depth]} (a lock is re-entrant within its
# process: a command that locks its folder early may call a library function that locks it too)
_HELD: dict[tuple[int, str], list[int]] = {}


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:  # pragma: no cover - a lock file we just opened is readable
        text = ""
    return f"pid {text}" if text.isdigit() else "pid unknown"


@contextlib.contextmanager
def lock_folder(folder: str | Path, *, wait: bool = False) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (an existing folder) while inside.

    The lock is ``fcntl.flock`` on ``folder/.specurate.lock`` (created; it holds the holder's
    pid). Another process holding it: with ``wait`` block until it is released, else raise a
    :class:`~specurate.errors.SpecurateInputError` at once naming the folder and the holder's
    pid. Re-entrant within one process. The kernel drops the lock when the holder exits, also
    on a crash or SIGKILL; the lock file itself stays (it is harmless).
    """
    folder = Path(folder)
    ident = (os.getpid(), os.path.realpath(folder))
    held = _HELD.get(ident)
    if held is not None:
        held[1] += 1
        try:
            yield folder
        finally:
            held[1] -= 1
        return
    lock = folder / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise SpecurateInputError(
            f"{folder}: cannot open its lock file {LOCK_NAME} ({exc.strerror or exc})."
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise SpecurateInputError(
                f"{folder} is in use by another specurate run ({_holder(fd)}); wait for it to "
                "finish or choose another output folder."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[ident] = [fd, 1]
        try:
            yield folder
        finally:
            del _HELD[ident]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
