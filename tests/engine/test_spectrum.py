"""Sharded spectra: shards of every format, the local engine against the single-process streaming
pass, and (integration) a Dask LocalCluster — equal numbers, and a worker killed mid-job."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from specurate.cli import app
from specurate.engine import list_shards, open_engine, shard_groups, sharded_spectrum
from specurate.errors import SpecurateInputError
from specurate.spectrum.large import estimate_spectrum_streaming


def _data(n: int = 4000, d: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -0.75 + 3.0
    y = (x[:, 0] > 3.0).astype(np.int64) + (x[:, 1] > 3.0)
    return x, y


def _npy_shards(folder: Path, x: np.ndarray, k: int) -> Path:
    folder.mkdir()
    n = x.shape[0]
    for i in range(k):  # names sort in row order
        np.save(folder / f"part-{i:03d}.npy", x[i * n // k : (i + 1) * n // k])
    return folder


def _parquet_shards(folder: Path, x: np.ndarray, k: int) -> Path:
    folder.mkdir()
    n = x.shape[0]
    for i in range(k):
        block = x[i * n // k : (i + 1) * n // k]
        cols = {f"f{j}": block[:, j] for j in range(x.shape[1])}
        pq.write_table(pa.table(cols), folder / f"part-{i:03d}.parquet")
    return folder


# ---------------------------------------------------------------------------------------------
# shards
# ---------------------------------------------------------------------------------------------


def test_shards_of_every_format_number_rows_in_order(tmp_path: Path) -> None:
    zarr = pytest.importorskip("zarr")
    x, _ = _data(n=1000, d=5)
    a = list_shards(_npy_shards(tmp_path / "npy", x, 3))
    b = list_shards(_parquet_shards(tmp_path / "pq", x, 4))
    z = zarr.create_array(str(tmp_path / "x.zarr"), shape=x.shape, chunks=(128, 5), dtype="f8")
    z[:] = x
    c = list_shards(tmp_path / "x.zarr", shard_rows=300)  # 300 → 256: whole chunks
    np.save(tmp_path / "one.npy", x)
    e = list_shards(tmp_path / "one.npy", shard_rows=400)
    f = list_shards(x, shard_rows=999)
    for src, count in ((a, 3), (b, 4), (c, 4), (e, 3), (f, 2)):
        assert (src.n, src.d, len(src.shards)) == (1000, 5, count)
        assert [s.row0 for s in src.shards] == list(np.cumsum([0] + [s.n for s in src.shards])[:-1])
    assert [s.n for s in c.shards] == [256, 256, 256, 232]
    # every format reads back the same rows: equal spectra on the same groups
    ref = sharded_spectrum(x, groups=4, shard_rows=256)
    got = sharded_spectrum(tmp_path / "x.zarr", groups=4, shard_rows=300)
    np.testing.assert_allclose(got.eigenvalues, ref.eigenvalues, rtol=1e-12, atol=1e-16)
    assert got.b_ci == pytest.approx(ref.b_ci, rel=1e-10)


def test_shards_refuse_mixed_folders_and_mismatched_columns(tmp_path: Path) -> None:
    x, _ = _data(n=200, d=4)
    folder = _npy_shards(tmp_path / "s", x, 2)
    np.save(folder / "part-009.npy", x[:10, :3])
    with pytest.raises(SpecurateInputError, match=r"part-009\.npy: has 3 columns but"):
        list_shards(folder)
    (folder / "part-009.npy").unlink()
    pq.write_table(pa.table({"a": [1.0]}), folder / "x.parquet")
    with pytest.raises(SpecurateInputError, match=r"both \.npy and \.parquet"):
        list_shards(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecurateInputError, match=r"no \.parquet or \.npy files"):
        list_shards(tmp_path / "empty")
    with pytest.raises(SpecurateInputError, match="no such file"):
        list_shards(tmp_path / "missing")


def test_shard_groups_are_contiguous_and_balanced(tmp_path: Path) -> None:
    x, _ = _data(n=1000, d=3)
    src = list_shards(x, shard_rows=50)  # 20 shards
    groups = shard_groups(src, 6)
    flat = [s.index for g in groups for s in g]
    assert flat == list(range(20)) and len(groups) == 6
    sizes = [sum(s.n for s in g) for g in groups]
    assert max(sizes) - min(sizes) <= 50  # one shard at most
    assert len(shard_groups(list_shards(x, shard_rows=400), 20)) == 3  # one group per shard


# ---------------------------------------------------------------------------------------------
# the local engine against the single-process streaming pass
# ---------------------------------------------------------------------------------------------


def test_local_engine_equals_streaming_pass_on_the_same_groups(tmp_path: Path) -> None:
    """8 equal shards and 8 groups: the groups coincide with the streaming pass's
    floor(g·n/8) blocks, so everything — eigenvalues, b, a and their jackknife CIs — agrees to
    rounding (the merge only reorders float64 sums: ~1e-13 relative)."""
    x, y = _data()
    folder = _npy_shards(tmp_path / "s", x, 8)
    ours = sharded_spectrum(folder, y, groups=8, precision="double")
    ref = estimate_spectrum_streaming(x, y, groups=8, precision="double")
    np.testing.assert_allclose(ours.eigenvalues, ref.eigenvalues, rtol=1e-10, atol=1e-15)
    assert ours.fit.b == pytest.approx(ref.fit.b, rel=1e-10)
    assert ours.b_ci == pytest.approx(ref.b_ci, rel=1e-9)
    assert ours.target is not None and ref.target is not None
    assert ours.target.a == pytest.approx(ref.target.a, rel=1e-9)
    assert ours.target.a_ci == pytest.approx(ref.target.a_ci, rel=1e-8)
    assert ours.extras["engine"] == "local" and ours.extras["shards"] == 8


def test_b_interval_does_not_depend_on_labels(tmp_path: Path) -> None:
    """A replicate whose target fit fails keeps its b (it used to be dropped whole, so the b
    interval changed when labels were given)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6000, 16)) * np.arange(1, 17) ** -0.7
    folder = _npy_shards(tmp_path / "s", x, 4)
    with_labels = sharded_spectrum(folder, (x[:, 0] > 0).astype(np.int64), groups=4)
    without = sharded_spectrum(folder, None, groups=4)
    assert with_labels.target is not None  # a is fitted on all rows, not in every replicate
    assert with_labels.b_ci == without.b_ci


def test_nonfinite_value_is_named_with_its_shard(tmp_path: Path) -> None:
    x, _ = _data(n=600, d=4)
    x[450, 2] = np.nan
    folder = _npy_shards(tmp_path / "s", x, 3)
    with pytest.raises(SpecurateInputError, match=r"part-002.npy rows 30:60.*row 20.*row 430 "):
        # 20 groups: shards of 30 rows; global row 450 = row 50 of part-002 = 30 + 20
        sharded_spectrum(folder)


def test_cli_spectrum_reads_a_folder_of_npy_shards(tmp_path: Path) -> None:
    x, y = _data(n=2000, d=12)
    folder = _npy_shards(tmp_path / "s", x, 4)
    np.save(tmp_path / "y.npy", y)
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["spectrum", str(folder), "--labels", str(tmp_path / "y.npy"), "--groups", "4", "--json"],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    ref = estimate_spectrum_streaming(x, y, groups=4)
    assert out["n"] == 2000 and out["b"] == pytest.approx(ref.fit.b, rel=1e-9)
    bad = runner.invoke(app, ["spectrum", str(folder), "--scheduler", "tcp://127.0.0.1:1"])
    assert bad.exit_code == 2 and "--scheduler needs --engine dask" in bad.stderr


# ---------------------------------------------------------------------------------------------
# Dask (integration): a LocalCluster on loopback
# ---------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_dask_engine_equals_local_engine(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    x, y = _data(n=6000, d=20)
    folder = _parquet_shards(tmp_path / "pq", x, 12)
    local = sharded_spectrum(folder, y, groups=6)
    with open_engine("dask", workers=2) as eng:
        assert eng.workers == 2
        dask = sharded_spectrum(folder, y, groups=6, engine=eng)
    # same tasks, same merge tree; BLAS in a 1-thread worker may sum in another order: 1e-12
    np.testing.assert_allclose(dask.eigenvalues, local.eigenvalues, rtol=1e-12, atol=1e-16)
    assert dask.fit.b == pytest.approx(local.fit.b, rel=1e-12)
    assert dask.b_ci == pytest.approx(local.b_ci, rel=1e-10)
    assert dask.extras["engine"] == "dask" and dask.extras["workers"] == 2


@pytest.mark.integration
def test_a_worker_killed_mid_job_changes_nothing(tmp_path: Path) -> None:
    """SIGKILL one of two workers once the first shard results are in: Dask re-runs its tasks
    on the other worker (and the nanny's restarted one); the result equals the undisturbed run
    and counts every row once."""
    pytest.importorskip("distributed")
    x, y = _data(n=60_000, d=64, seed=5)
    folder = _npy_shards(tmp_path / "s", x, 60)
    undisturbed = sharded_spectrum(folder, y, groups=10)
    with open_engine("dask", workers=2) as eng:
        client = eng.client
        pids = client.run(os.getpid)
        result: dict = {}

        def job() -> None:
            try:
                result["report"] = sharded_spectrum(folder, y, groups=10, engine=eng)
            except BaseException as exc:  # pragma: no cover - reported below
                result["error"] = exc

        t = threading.Thread(target=job)
        t.start()
        deadline = time.monotonic() + 60
        while not client.who_has() and time.monotonic() < deadline:
            time.sleep(0.005)
        victim = next(iter(pids.values()))
        os.kill(victim, signal.SIGKILL)
        assert t.is_alive(), "the job ended before the worker was killed: make it longer"
        t.join(timeout=120)
        assert not t.is_alive(), "the job hung after a worker was killed"
        assert victim not in client.run(os.getpid).values()
    assert "error" not in result, result.get("error")
    got = result["report"]
    assert got.n == undisturbed.n == 60_000
    np.testing.assert_allclose(got.eigenvalues, undisturbed.eigenvalues, rtol=1e-12, atol=1e-16)
    assert got.b_ci == pytest.approx(undisturbed.b_ci, rel=1e-10)


@pytest.mark.integration
def test_a_dask_array_on_a_local_cluster_equals_the_local_engine() -> None:
    """A lazy dask array (random blocks, never materialized whole): each worker computes the
    blocks of its tasks; the same numbers as computing them here."""
    da = pytest.importorskip("dask.array")
    pytest.importorskip("distributed")
    rng = da.random.default_rng(0)
    lazy = rng.standard_normal((40_000, 16), chunks=(5_000, 16)) * np.arange(1, 17) ** -0.7
    local = sharded_spectrum(lazy, groups=8)
    with open_engine("dask", workers=2) as eng:
        remote = sharded_spectrum(lazy, groups=8, engine=eng)
    np.testing.assert_allclose(remote.eigenvalues, local.eigenvalues, rtol=1e-12)
    assert remote.b_ci == pytest.approx(local.b_ci, rel=1e-10)


@pytest.mark.integration
def test_cli_spectrum_on_a_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    x, y = _data(n=3000, d=10)
    folder = _parquet_shards(tmp_path / "pq", x, 6)
    np.save(tmp_path / "y.npy", y)
    res = CliRunner().invoke(
        app,
        [
            "spectrum",
            str(folder),
            "--labels",
            str(tmp_path / "y.npy"),
            "--engine",
            "dask",
            "--workers",
            "2",
            "--groups",
            "6",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    ref = estimate_spectrum_streaming(x, y, groups=6)
    assert out["b"] == pytest.approx(ref.fit.b, rel=1e-9)
    assert out["b_ci"] == pytest.approx(list(ref.b_ci), rel=1e-8)


def test_sharded_rbf_equals_single_process_nystrom(tmp_path: Path) -> None:
    """The landmark sample is the same rows in the same order on every engine, so the map, the
    features' moments and the bound equal the single-process Nyström pass to rounding."""
    from specurate.spectrum.nystrom import kernel_spectrum_nystrom

    x, y = _data(n=3000, d=8, seed=4)
    folder = _npy_shards(tmp_path / "s", x, 6)
    ref = kernel_spectrum_nystrom(x, y, landmarks=200, groups=6)
    ours = sharded_spectrum(folder, y, kernel="rbf", landmarks=200, groups=6)
    top = 50  # the well-resolved head; the tail is at the bound's level anyway
    np.testing.assert_allclose(ours.eigenvalues[:top], ref.eigenvalues[:top], rtol=1e-10)
    assert ours.fit.b == pytest.approx(ref.fit.b, rel=1e-9)
    assert ours.b_ci == pytest.approx(ref.b_ci, rel=1e-8)
    gap = ours.extras["nystrom"]["trace_gap"]
    assert gap == pytest.approx(ref.extras["nystrom"]["trace_gap"], rel=1e-10)
    assert 0 < gap < 0.1 * ours.eigenvalues[0]
    assert ours.d == 8 and ours.kernel == "rbf"


def test_parquet_shards_are_runs_of_whole_row_groups_and_blocks_fill_the_groups(
    tmp_path: Path,
) -> None:
    """One Parquet file of 10 row groups: shards of whole row groups; a file of one row group
    is split into blocks inside its task, so 5 jackknife groups still come out — and the result
    equals the streaming pass on the same 5 row blocks."""
    x, y = _data(n=1000, d=6)
    cols = {f"f{j}": x[:, j] for j in range(6)}
    pq.write_table(pa.table(cols), tmp_path / "rg.parquet", row_group_size=100)
    src = list_shards(tmp_path / "rg.parquet", shard_rows=250)
    assert [s.n for s in src.shards] == [200, 200, 200, 200, 200]  # runs of 2 row groups
    pq.write_table(pa.table(cols), tmp_path / "one.parquet")  # one row group
    assert len(list_shards(tmp_path / "one.parquet").shards) == 1
    ours = sharded_spectrum(tmp_path / "one.parquet", y, groups=5)
    ref = estimate_spectrum_streaming(x, y, groups=5)
    assert ours.extras["groups"] == 5 and ours.extras["blocks_per_shard"] == 5
    assert ours.b_ci == pytest.approx(ref.b_ci, rel=1e-9)
    assert ours.target is not None and ref.target is not None
    assert ours.target.a_ci == pytest.approx(ref.target.a_ci, rel=1e-8)


def test_a_dask_array_is_read_block_by_block() -> None:
    """A 2-D dask array: its row blocks are the shards (columns rechunked into one block), each
    computed inside its task; the spectrum equals the numpy array's on the same row blocks."""
    da = pytest.importorskip("dask.array")
    x, y = _data(n=3000, d=10, seed=6)
    lazy = da.from_array(x, chunks=(500, 4))  # 6 row blocks, columns in 3 blocks
    src = list_shards(lazy)
    assert [s.n for s in src.shards] == [500] * 6 and src.d == 10
    ours = sharded_spectrum(lazy, y, groups=6)
    ref = sharded_spectrum(x, y, groups=6, shard_rows=500)
    np.testing.assert_allclose(ours.eigenvalues, ref.eigenvalues, rtol=1e-13, atol=1e-16)
    assert ours.b_ci == pytest.approx(ref.b_ci, rel=1e-12)
    with pytest.raises(SpecurateInputError, match="2-D and numeric"):
        list_shards(da.zeros((10,)))
    with pytest.raises(SpecurateInputError, match="a path, a numpy array or a dask array"):
        list_shards([[1.0, 2.0]])  # type: ignore[arg-type]
