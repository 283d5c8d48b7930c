"""A study folder that survives: damaged part files are recomputed (never trusted, never fatal),
planted symlinks are refused before any work, a folder in use is refused, and a run killed by a
real signal resumes to the same results as an uninterrupted one."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from specurate import study
from specurate._files import LOCK_NAME
from specurate._progress import log_progress
from specurate.errors import SpecurateInputError
from specurate.study.parts import compute_parts, part_files

TAG = "quick-seed0"


def _parts(calls: list[str]) -> list[study.Part]:
    """Three cheap parts: two with a figure (the second needs the first), one without."""

    def first(plot: Path) -> dict:
        calls.append("first")
        plot.write_bytes(b"\x89PNG first")
        return {"kind": "other", "b": 1.5}

    def second(plot: Path, a: dict) -> dict:
        calls.append("second")
        plot.write_bytes(b"\x89PNG second")
        return {"kind": "other", "twice": 2 * a["b"]}

    def skipped(plot: Path) -> dict:
        calls.append("skipped")
        return {"kind": "skipped", "reason": "nothing to do"}

    return [
        study.Part("first", "first part", first),
        study.Part("second", "second part", second, needs=("first",)),
        study.Part("none", "a skipped part", skipped),
    ]


def _compute(folder: Path, calls: list[str]) -> dict:
    folder.mkdir(exist_ok=True)
    with log_progress(folder / "run.log"):
        return compute_parts(_parts(calls), folder, TAG, progress=False)


def _damage(path: Path, how: str) -> None:
    if how == "truncated":
        path.write_text(path.read_text()[:40])
    elif how == "empty":
        path.write_text("")
    elif how == "{}":
        path.write_text("{}")
    elif how == "old plain part":
        path.write_text(json.dumps({"kind": "other", "b": 1.5, "title": "first part"}))
    elif how == "edited value":
        path.write_text(path.read_text().replace('"b": 1.5', '"b": 7.5'))
    elif how == "other tag":
        env = json.loads(path.read_text())
        env["key"]["tag"] = "full-seed0"
        path.write_text(json.dumps(env))
    elif how == "figure changed":
        path.with_suffix(".png").write_bytes(b"\x89PNG edited")
    elif how == "figure removed":
        path.with_suffix(".png").unlink()


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        "empty",
        "{}",
        "old plain part",
        "edited value",
        "other tag",
        "figure changed",
        "figure removed",
    ],
)
def test_a_damaged_part_is_recomputed_with_a_log_line(tmp_path, how):
    calls: list[str] = []
    first = _compute(tmp_path, calls)
    assert calls == ["first", "second", "skipped"]
    _damage(part_files(tmp_path, "first", TAG)[0], how)
    again = _compute(tmp_path, calls)
    assert calls[3:] == ["first"]  # only the damaged part; its dependant reads it afresh
    assert again == first and again["first"]["b"] == 1.5
    log = (tmp_path / "run.log").read_text()
    assert f"first-{TAG}.json cannot be trusted" in log and "recomputing" in log
    assert _compute(tmp_path, calls) == first and len(calls) == 4  # now valid: reused


def test_a_part_without_a_figure_is_reused_and_checked(tmp_path):
    calls: list[str] = []
    _compute(tmp_path, calls)
    _compute(tmp_path, calls)
    assert calls == ["first", "second", "skipped"]
    _damage(part_files(tmp_path, "none", TAG)[0], "truncated")
    _compute(tmp_path, calls)
    assert calls[3:] == ["skipped"]


@pytest.fixture
def quiet_report(monkeypatch):
    import specurate.report.html as report_html

    monkeypatch.setattr(report_html, "render_html", lambda *a: "<html></html>")


@pytest.mark.parametrize(
    "planted",
    [
        "results.json",
        "report.html",
        "runs.parquet",
        "run.log",
        "parts",
        f"parts/first-{TAG}.png",
        f"parts/first-{TAG}.json",
        "parts/runs/x.json",
    ],
)
def test_a_planted_symlink_at_an_output_is_refused_before_any_work(tmp_path, quiet_report, planted):
    out, target = tmp_path / "out", tmp_path / "precious"
    target.write_text("keep me")
    (out / "parts" / "runs").mkdir(parents=True)
    link = out / planted
    if planted == "parts":
        os.rmdir(out / "parts" / "runs")
        os.rmdir(out / "parts")
    link.symlink_to(target)
    calls: list[str] = []
    with pytest.raises(SpecurateInputError, match="symbolic link") as err:
        study.run_study(out, quick=True, progress=False, parts=_parts(calls))
    assert str(link) in str(err.value)
    assert calls == [] and target.read_text() == "keep me" and link.is_symlink()


def test_a_symlinked_out_folder_is_refused(tmp_path, quiet_report):
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real")
    with pytest.raises(SpecurateInputError, match="symbolic link"):
        study.run_study(tmp_path / "out", quick=True, progress=False, parts=_parts([]))
    assert list((tmp_path / "real").iterdir()) == []


def test_a_folder_in_use_is_refused_at_once_and_left_intact(tmp_path, quiet_report):
    calls: list[str] = []
    study.run_study(tmp_path, quick=True, progress=False, parts=_parts(calls))
    before = (tmp_path / "results.json").read_text()
    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR)  # another run, in effect
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, b"4242\n", 0)
        with pytest.raises(SpecurateInputError, match="pid 4242") as err:
            study.run_study(tmp_path, quick=True, progress=False, parts=_parts(calls))
        assert str(tmp_path) in str(err.value)
    finally:
        os.close(fd)
    assert len(calls) == 3 and (tmp_path / "results.json").read_text() == before


# -- real signals, real processes ------------------------------------------------------------

SPECURATE = [sys.executable, "-m", "specurate.cli"]


@pytest.fixture(scope="module")
def user_data(tmp_path_factory):
    """A small data set with groups: a study of eight parts, about 10 s."""
    d = tmp_path_factory.mktemp("userdata")
    rng = np.random.default_rng(0)
    n, dim = 600, 16
    np.save(d / "x.npy", rng.standard_normal((n, dim)) * np.arange(1, dim + 1) ** -0.75)
    np.save(d / "g.npy", rng.integers(0, 4, n))
    return d


def _run_args(data: Path, out: Path) -> list[str]:
    x, g = str(data / "x.npy"), str(data / "g.npy")
    return ["run", x, "--groups", g, "--quick", "--jobs", "1", "--out", str(out), "--json"]


def _in_process(args: list[str]) -> None:
    """A run in this process (no imports to wait for)."""
    from typer.testing import CliRunner

    from specurate.cli import app

    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output


def _close(a, b, path: str = "") -> None:
    """Equal JSON documents, floats to 1e-4 relative: an RBF spectrum can move by ~1e-8
    between runs (the README's Known limits); what these tests check is that nothing is
    lost, torn or mixed up."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _close(u, v, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-4, abs=1e-9, nan_ok=True), path
    else:
        assert a == b, path


def _results(out: Path) -> dict:
    doc = json.loads((out / "results.json").read_text())
    doc.pop("created")  # the one timing field
    return doc


def _wait_for(cond, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert proc.poll() is None, "the run ended before the condition held"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def reference(user_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    _in_process(_run_args(user_data, out))
    return out


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_run_resumes_to_identical_results(user_data, reference, tmp_path, sig):
    out = tmp_path / "out"
    proc = subprocess.Popen([*SPECURATE, *_run_args(user_data, out)], stdout=subprocess.PIPE)
    # killed once one part is saved, while the others are still to come
    _wait_for(lambda: len(list((out / "parts").glob("*.json"))) >= 1, proc)
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == -sig
    assert not (out / "results.json").exists()
    saved = len(list((out / "parts").glob("*.json")))
    _in_process(_run_args(user_data, out))
    assert _results(out) == _results(reference)
    assert 1 <= saved < len(list((out / "parts").glob("*.json")))
    assert not list(out.rglob("*.tmp"))  # what the killed run left half-written is gone


@pytest.mark.integration
def test_a_second_run_on_a_folder_in_use_stops_at_once(user_data, reference, tmp_path):
    out = tmp_path / "out"
    first = subprocess.Popen([*SPECURATE, *_run_args(user_data, out)], stdout=subprocess.PIPE)
    try:
        _wait_for(lambda: (out / LOCK_NAME).exists() and (out / LOCK_NAME).read_text(), first)
        from typer.testing import CliRunner

        from specurate.cli import app

        t0 = time.monotonic()
        second = CliRunner().invoke(app, _run_args(user_data, out))
        assert time.monotonic() - t0 < 5  # refused before any work
        assert second.exit_code == 2 and "Traceback" not in second.output
        assert str(out) in second.stderr and f"pid {first.pid}" in second.stderr
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
    _close(_results(out), _results(reference))
