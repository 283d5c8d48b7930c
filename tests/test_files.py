"""specurate._files: atomic writes that refuse links, checked JSON that never trusts a damaged
file, and the folder lock (held across processes, released when its holder is killed)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from specurate import _files
from specurate._files import (
    LOCK_NAME,
    atomic_write_text,
    lock_folder,
    read_checked_json,
    write_checked_json,
)
from specurate.errors import SpecurateInputError

KEY = {"part": "p", "tag": "quick-seed0"}


def test_atomic_write_refuses_a_symlink_and_leaves_its_target_alone(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "results.json"
    link.symlink_to(target)
    with pytest.raises(SpecurateInputError, match="symbolic link"):
        atomic_write_text(link, "{}")
    assert target.read_text() == "keep me" and link.is_symlink()
    dangling = tmp_path / "report.html"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(SpecurateInputError, match="symbolic link"):
        atomic_write_text(dangling, "x")
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "d").mkdir()
    with pytest.raises(SpecurateInputError, match="is a folder"):
        atomic_write_text(tmp_path / "d", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "d",
        "precious.txt",
        "report.html",
        "results.json",
    ]  # no temporary file left behind


def test_racing_writers_never_show_a_reader_a_torn_or_missing_file(tmp_path):
    path = tmp_path / "shared.json"
    atomic_write_text(path, json.dumps({"w": -1, "pad": "x" * 20_000}))
    stop = threading.Event()

    def writer(w: int) -> None:
        while not stop.is_set():
            atomic_write_text(path, json.dumps({"w": w, "pad": "x" * 20_000}))

    threads = [threading.Thread(target=writer, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    reads, deadline = 0, time.monotonic() + 0.25
    try:
        while time.monotonic() < deadline:
            assert json.loads(path.read_text())["w"] in (-1, 0, 1)
            reads += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert reads > 50
    assert [p.name for p in tmp_path.iterdir()] == ["shared.json"]


def test_checked_json_round_trips_nan_tuples_and_int_keys(tmp_path):
    doc = {"b": math.nan, "ci": (1.0, 2.5), "counts": {2: 1, 10: 3}, "s": "ü"}
    write_checked_json(tmp_path / "p.json", doc, key=KEY)
    got = read_checked_json(tmp_path / "p.json", key=dict(KEY))
    assert got.problem is None
    assert math.isnan(got.data["b"]) and got.data["ci"] == [1.0, 2.5]
    assert got.data["counts"] == {"2": 1, "10": 3}
    assert read_checked_json(tmp_path / "missing.json", key=KEY) == (None, None)


def _damage(path, how):
    text = path.read_text()
    if how == "truncated":
        path.write_text(text[: len(text) // 2])
    elif how == "empty":
        path.write_text("")
    elif how == "empty object":
        path.write_text("{}")
    elif how == "binary":
        path.write_bytes(b"\xff\xfe\x00garbage")
    elif how == "plain old part":
        path.write_text(json.dumps({"b": 1.5}))
    elif how == "edited value":
        path.write_text(text.replace("1.5", "9.5"))
    elif how == "edited checksum":
        env = json.loads(text)
        env["data"]["b"], env["sha256"] = 9.5, "0" * 64
        path.write_text(json.dumps(env))


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        "empty",
        "empty object",
        "binary",
        "plain old part",
        "edited value",
        "edited checksum",
    ],
)
def test_a_damaged_checked_file_is_reported_never_trusted_never_fatal(tmp_path, how):
    path = tmp_path / "p.json"
    write_checked_json(path, {"b": 1.5}, key=KEY)
    _damage(path, how)
    got = read_checked_json(path, key=KEY)
    assert got.data is None and got.problem


def test_a_checked_file_of_other_parameters_or_version_is_stale(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    write_checked_json(path, {"b": 1.5}, key=KEY)
    assert read_checked_json(path, key={**KEY, "tag": "full-seed0"}).problem == (
        "computed for other parameters"
    )
    monkeypatch.setattr(_files, "_version", lambda: "99.0")
    assert "specurate 0." in read_checked_json(path, key=KEY).problem
    link = tmp_path / "link.json"
    link.symlink_to(path)
    assert read_checked_json(link, key=KEY).problem == "not a regular file"


def test_lock_is_reentrant_in_its_process_and_released_on_exit(tmp_path):
    with lock_folder(tmp_path), lock_folder(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
    with lock_folder(tmp_path):  # released: taken again at once
        pass
    assert (tmp_path / LOCK_NAME).read_text() == ""


_HOLD = (
    "import sys, time\n"
    "from specurate._files import lock_folder\n"
    "with lock_folder(sys.argv[1]):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(60)\n"
)


def test_a_second_process_is_refused_with_the_holders_pid_until_the_holder_dies(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(SpecurateInputError) as err, lock_folder(tmp_path):
            pass
        msg = str(err.value)
        assert str(tmp_path) in msg and f"pid {holder.pid}" in msg and "in use" in msg
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: the kernel drops the lock
        holder.wait(timeout=10)
    with lock_folder(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())


def test_waiting_for_a_lock_blocks_until_it_is_released(tmp_path):
    import fcntl

    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR | os.O_CREAT)  # another holder, in effect
    fcntl.flock(fd, fcntl.LOCK_EX)
    threading.Timer(0.2, lambda: os.close(fd)).start()
    t0 = time.monotonic()
    with lock_folder(tmp_path, wait=True):
        assert time.monotonic() - t0 >= 0.15


def test_a_symlinked_lock_file_is_refused(tmp_path):
    (tmp_path / "elsewhere").write_text("x")
    (tmp_path / LOCK_NAME).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SpecurateInputError, match="lock file"), lock_folder(tmp_path):
        pass
    assert (tmp_path / "elsewhere").read_text() == "x"
