"""Where commands write: a symlink at any output path is refused before any work (its target
untouched), a folder in use by another run is refused at once, ``simulate --compare`` writes only
where asked, and ``bench --out`` killed mid-way resumes to the same Parquet file."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from specurate._files import LOCK_NAME
from specurate.cli import app

runner = CliRunner()


def _refused(args: list[str], *fragments: str) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.stderr.count("\n") == 1, r.stderr
    for fragment in fragments:
        assert fragment in r.stderr, r.stderr
    return r.stderr


@pytest.fixture
def planted(tmp_path):
    """(folder, plant): ``plant(relative)`` makes a symlink there to a precious file."""
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    np_file = tmp_path / "x.npy"
    import numpy as np

    np.save(np_file, np.random.default_rng(0).standard_normal((100, 6)))

    def plant(rel: str) -> Path:
        link = tmp_path / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
        return link

    yield tmp_path, plant
    assert target.read_text() == "keep me"


@pytest.mark.parametrize(
    "link, args",
    [
        ("out", ["run", "--out", "{d}/out"]),
        ("out/results.json", ["run", "--out", "{d}/out"]),
        ("out/report.html", ["run", "--out", "{d}/out"]),
        ("out/runs.parquet", ["run", "--out", "{d}/out"]),
        ("out/run.log", ["run", "--out", "{d}/out"]),
        ("out/parts/planted-quick-seed0.png", ["run", "--quick", "--out", "{d}/out"]),
        ("runs.parquet", ["bench", "--out", "{d}/runs.parquet"]),
        ("runs.parquet.parts", ["bench", "--out", "{d}/runs.parquet"]),
        ("p.png", ["simulate", "--modes", "100", "--plot", "{d}/p.png"]),
        ("p.png", ["simulate", "--compare", "--plot", "{d}/p.png"]),
        ("sim", ["simulate", "--compare", "--out", "{d}/sim"]),
        ("sim/compare.json", ["simulate", "--compare", "--out", "{d}/sim"]),
        ("sim/compare.png", ["simulate", "--compare", "--out", "{d}/sim"]),
        ("exp/static.png", ["experiment", "static", "--out", "{d}/exp"]),
        ("exp/separation-cache", ["experiment", "separation", "--out", "{d}/exp"]),
        ("s.png", ["spectrum", "{d}/x.npy", "--plot", "{d}/s.png"]),
    ],
)
def test_a_symlink_at_an_output_path_is_refused_before_any_work(planted, link, args):
    d, plant = planted
    made = plant(link)
    _refused([a.format(d=d) for a in args], "symbolic link")
    assert made.is_symlink()
    assert not list(d.rglob("*.tmp")) and not list(d.rglob(LOCK_NAME))


def test_a_file_where_bench_keeps_its_finished_runs_is_refused(tmp_path):
    (tmp_path / "runs.parquet.parts").write_text("x")
    _refused(["bench", "--out", str(tmp_path / "runs.parquet")], "runs.parquet.parts", "file")


def _hold(folder: Path) -> int:
    """Lock ``folder`` as another run would (the caller closes the fd)."""
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"31337\n", 0)
    return fd


@pytest.mark.parametrize(
    "folder, args",
    [
        ("out", ["run", "--out", "{d}/out"]),
        ("sim", ["simulate", "--compare", "--out", "{d}/sim"]),
        ("runs.parquet.parts", ["bench", "--epochs", "0.1", "--out", "{d}/runs.parquet"]),
        ("exp", ["experiment", "span", "--out", "{d}/exp"]),
    ],
)
def test_a_folder_in_use_by_another_run_is_refused_at_once(tmp_path, folder, args):
    fd = _hold(tmp_path / folder)
    try:
        t0 = time.monotonic()
        _refused([a.format(d=tmp_path) for a in args], str(tmp_path / folder), "pid 31337")
        assert time.monotonic() - t0 < 10
    finally:
        os.close(fd)
    assert sorted(p.name for p in (tmp_path / folder).iterdir()) == [LOCK_NAME]
    assert not (tmp_path / "runs.parquet").exists()


SPECURATE = [sys.executable, "-m", "specurate.cli"]


@pytest.mark.integration
def test_simulate_compare_writes_only_where_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["simulate", "--compare", "--no-samples", "--modes", "2000", "--t-max", "1e3"]
    done = runner.invoke(app, [*args, "--plot", "p.png", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["plot"] == "p.png"
    # the figure asked for, and no specurate-simulate folder made unasked
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


BENCH = [
    "bench",
    "--dataset",
    "clusters",
    "--n-train",
    "12000",
    "--strategies",
    "uniform,loss",
    "--epochs",
    "6",
    "--seeds",
    "2",
    "--lr",
    "0.1",
    "--json",
]


def _table(path: Path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table.drop([c for c in table.column_names if "wall" in c])  # timing aside


@pytest.mark.integration
def test_bench_out_killed_mid_way_resumes_to_the_same_parquet(tmp_path):
    ref, out = tmp_path / "ref.parquet", tmp_path / "runs.parquet"
    done = runner.invoke(app, [*BENCH, "--out", str(ref)])  # in this process: no imports
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "ref.parquet.parts").exists()  # removed once the file is written
    proc = subprocess.Popen([*SPECURATE, *BENCH, "--out", str(out)], stdout=subprocess.PIPE)
    sidecar = tmp_path / "runs.parquet.parts"
    deadline = time.monotonic() + 60
    while len(list(sidecar.glob("*-uniform-*.json"))) < 1:  # one run finished, three to come
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert not out.exists()
    kept = {p.name for p in sidecar.glob("*.json")}
    assert 1 <= len(kept) < 4
    done = runner.invoke(app, [*BENCH, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert _table(out).equals(_table(ref))
    assert not sidecar.exists()
