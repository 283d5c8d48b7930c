"""The README's "Running on a cluster" commands, on loopback: a `dask scheduler` and a
`dask worker` started as separate processes, and specurate connecting with --scheduler."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_workers(address: str, count: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(count, timeout=timeout)


def test_specurate_on_a_separately_started_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    dask = Path(sys.executable).with_name("dask")
    specurate = Path(sys.executable).with_name("specurate")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    rng = np.random.default_rng(0)
    data = tmp_path / "emb"
    data.mkdir()
    for i in range(4):
        x = (rng.standard_normal((2000, 16)) * np.arange(1, 17) ** -0.7).astype(np.float32)
        emb = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 16)
        pq.write_table(
            pa.table({"emb": emb, "label": (x[:, 0] > 0).astype(np.int64)}),
            data / f"part-{i}.parquet",
        )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(
            [
                str(dask),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    ]
    try:
        time.sleep(1)
        procs.append(
            subprocess.Popen(
                [
                    str(dask),
                    "worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        )
        _wait_for_workers(address, 2)
        common = ["--features", "emb", "--labels", "label", "--json"]
        remote = subprocess.run(
            [
                str(specurate),
                "spectrum",
                str(data),
                "--engine",
                "dask",
                "--scheduler",
                address,
                *common,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert remote.returncode == 0, remote.stderr
        local = subprocess.run(
            [str(specurate), "spectrum", str(data), "--stream", *common],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        a, b = json.loads(remote.stdout), json.loads(local.stdout)
        assert a["engine"] == "dask" and a["workers"] == 2 and a["n"] == 8000
        assert a["b"] == pytest.approx(b["b"], rel=1e-9)  # same covariance, same fit
        assert a["a"] == pytest.approx(b["a"], rel=1e-8)
        scores = subprocess.run(
            [
                str(specurate),
                "score",
                str(data),
                "--scorer",
                "prototype",
                "--features",
                "emb",
                "--clusters",
                "4",
                "--out",
                str(tmp_path / "scores"),
                "--engine",
                "dask",
                "--scheduler",
                address,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert scores.returncode == 0, scores.stderr
        got = pq.read_table(tmp_path / "scores").column("id").to_numpy()
        assert np.array_equal(np.sort(got), np.arange(8000))
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
