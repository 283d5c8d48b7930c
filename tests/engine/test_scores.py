"""Per-example scores of sharded data: prototype against an in-memory k-means, dedup against
brute force, EL2N / GraNd against specurate.torch.scores, resuming, ids; and (integration) a Dask
LocalCluster — identical parts, a worker killed mid-job, the command line."""

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

from specurate._rng import stream
from specurate.cli import app
from specurate.curation.static import kmeans_prototypes, prototype_scores
from specurate.engine import open_engine
from specurate.engine.scores import (
    COS_SLACK,
    load_scores,
    near_duplicate_of,
    read_manifest,
    save_model,
    score_shards,
)
from specurate.errors import SpecurateInputError


def _x(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def _npy_shards(folder: Path, x: np.ndarray, k: int) -> Path:
    folder.mkdir()
    n = x.shape[0]
    for i in range(k):
        np.save(folder / f"s{i:03d}.npy", x[i * n // k : (i + 1) * n // k])
    return folder


def _parquet_shards(folder: Path, x: np.ndarray, k: int, **extra: np.ndarray) -> Path:
    """k Parquet files; the embedding as a list column 'emb' plus the ``extra`` columns."""
    folder.mkdir()
    n, d = x.shape
    for i in range(k):
        a, b = i * n // k, (i + 1) * n // k
        emb = pa.FixedSizeListArray.from_arrays(pa.array(x[a:b].reshape(-1)), d)
        cols = {name: v[a:b] for name, v in extra.items()}
        pq.write_table(pa.table({"emb": emb, **cols}), folder / f"s{i:03d}.parquet")
    return folder


def _table(out: Path, i: int) -> pa.Table:
    return pq.read_table(out / f"part-{i:05d}.parquet")


def _unit32(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _brute_force_dups(x: np.ndarray, ids: np.ndarray, eps: float) -> np.ndarray:
    """duplicate_of by all pairs: the lowest id with cosine ≥ 1 − eps among lower ids."""
    u = _unit32(x).astype(np.float64)
    s = u @ u.T >= 1.0 - eps - COS_SLACK
    lower = ids[None, :] < ids[:, None]
    out = np.full(len(ids), -1)
    for j in range(len(ids)):
        cand = ids[s[j] & lower[j]]
        if cand.size:
            out[j] = cand.min()
    return out


# ---------------------------------------------------------------------------------------------
# prototype
# ---------------------------------------------------------------------------------------------


def test_prototype_equals_in_memory_kmeans(tmp_path: Path) -> None:
    x = _x(1800, 12, seed=1) + 0.5
    folder = _npy_shards(tmp_path / "x", x, 3)
    out = score_shards(folder, tmp_path / "o", scorer="prototype", clusters=6, sample=900, seed=3)
    m = read_manifest(out)
    assert m["status"] == "complete" and m["counts"]["parts_computed"] == 3
    # the documented procedure, in memory: the seeded sample, k-means on its normalised rows
    idx = np.sort(stream("scores.sample", 3).choice(1800, size=900, replace=False))
    mu = kmeans_prototypes(x[idx], n_clusters=6, seed=3, normalize=True)
    np.testing.assert_array_equal(np.load(out / "_centroids.npy"), mu)
    xh = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    c = np.argmin(((xh[:, None, :] - mu[None]) ** 2).sum(-1), axis=1)
    got = pq.read_table(out).sort_by("id")
    assert got.column("id").to_pylist() == list(range(1800))
    np.testing.assert_array_equal(got.column("cluster").to_numpy(), c)
    cos = 1 - (xh * mu[c]).sum(1) / np.linalg.norm(mu[c], axis=1)
    np.testing.assert_allclose(got.column("distance").to_numpy(), cos, rtol=0, atol=1e-12)
    l2 = prototype_scores(x, centroids=mu, normalize=True)
    np.testing.assert_allclose(got.column("l2").to_numpy(), l2, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(load_scores(out), got.column("distance").to_numpy())


# ---------------------------------------------------------------------------------------------
# dedup
# ---------------------------------------------------------------------------------------------


def test_dedup_finds_planted_duplicates_and_no_false_ones(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = _x(2400, 16, seed=2)
    x[2000:2020] = x[10:30]  # exact copies
    x[2100:2120] = x[500:520] + 1e-4 * rng.standard_normal((20, 16)).astype(np.float32)
    x[2200:2210] = 3.0 * x[900:910]  # a scaled copy: the same direction
    out = score_shards(
        _npy_shards(tmp_path / "x", x, 4), tmp_path / "o", scorer="dedup", clusters=5
    )
    t = pq.read_table(out).sort_by("id")
    dup = t.column("duplicate_of").to_numpy()
    planted = np.r_[2000:2020, 2100:2120, 2200:2210]
    np.testing.assert_array_equal(np.flatnonzero(dup >= 0), planted)
    np.testing.assert_array_equal(dup[planted], np.r_[10:30, 500:520, 900:910])
    np.testing.assert_array_equal(t.column("keep").to_numpy(), dup < 0)
    assert read_manifest(out)["counts"]["duplicates"] == 50
    assert not (out / "_spill").exists()  # removed once the job completed
    # random data: nothing is a near-duplicate
    clean = score_shards(
        _npy_shards(tmp_path / "r", _x(2400, 16, seed=3), 4),
        tmp_path / "o2",
        scorer="dedup",
        clusters=5,
    )
    assert load_scores(clean).all()


def test_dedup_with_one_cluster_equals_brute_force_all_pairs(tmp_path: Path) -> None:
    """Low-dimensional data and a large eps: many chained pairs; shuffled ids in an id column
    (the lowest *id* wins, not the lowest row); blocks of 64 members."""
    rng = np.random.default_rng(4)
    x = _x(600, 3, seed=4)
    ids = rng.permutation(600) * 3 + 7
    folder = _parquet_shards(tmp_path / "x", x, 3, id=ids)
    out = score_shards(folder, tmp_path / "o", scorer="dedup", clusters=1, eps=0.02, block=64)
    want = _brute_force_dups(x, ids, 0.02)
    assert (want >= 0).sum() > 100  # the case is not trivial
    np.testing.assert_array_equal(load_scores(out, ids, column="duplicate_of"), want)
    m = read_manifest(out)
    assert m["params"]["id_column"] == "id" and m["run"]["clusters_in_blocks"] == 1


def test_near_duplicate_blocks_do_not_change_the_answer() -> None:
    x = _unit32(_x(300, 2, seed=5)).astype(np.float64)
    ids = np.arange(300) * 2

    def rows(a: int, b: int) -> np.ndarray:
        return x[a:b]

    whole = near_duplicate_of(rows, ids, threshold=0.999, block=300)
    assert (whole >= 0).sum() > 50
    for block in (1, 7, 64):
        np.testing.assert_array_equal(
            near_duplicate_of(rows, ids, threshold=0.999, block=block), whole
        )


# ---------------------------------------------------------------------------------------------
# el2n / grand
# ---------------------------------------------------------------------------------------------


@pytest.mark.torch
def test_el2n_and_grand_per_shard_equal_the_whole_array(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from specurate.bench.tasks import make_mlp
    from specurate.curation.static import el2n_scores
    from specurate.torch.scores import per_example_grad_norms, predict_proba

    x = _x(900, 10, seed=6)
    y = (np.abs(x[:, 0]) * 2).astype(np.int64) % 4
    model = make_mlp(10, 4, (16,))(0)  # the benchmark's builder
    ckpt = save_model(
        tmp_path / "m.pt", model, {"kind": "mlp", "n_in": 10, "n_out": 4, "hidden": [16]}
    )
    assert torch.load(ckpt, weights_only=True)["arch"]["kind"] == "mlp"
    folder = _parquet_shards(tmp_path / "x", x, 3, label=y)
    e = score_shards(folder, tmp_path / "e", scorer="el2n", model=ckpt, labels="label")
    np.testing.assert_allclose(
        load_scores(e), el2n_scores(predict_proba(model, x), y), rtol=1e-6, atol=1e-9
    )
    np.save(tmp_path / "y.npy", y)
    npy = _npy_shards(tmp_path / "n", x, 2)
    g = score_shards(npy, tmp_path / "g", scorer="grand", model=ckpt, labels=tmp_path / "y.npy")
    np.testing.assert_allclose(
        load_scores(g), per_example_grad_norms(model, x, y), rtol=1e-5, atol=1e-9
    )
    with pytest.raises(SpecurateInputError, match="outside"):
        score_shards(npy, tmp_path / "bad", scorer="el2n", model=ckpt, labels=y + 1)
    with pytest.raises(SpecurateInputError, match="does not match"):
        save_model(tmp_path / "m2.pt", model, {"kind": "mlp", "n_in": 10, "n_out": 4})


@pytest.mark.torch
def test_scores_feed_the_curation_sampler(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from specurate.curation.static import StaticSubset
    from specurate.torch.sampler import CurationSampler

    x = _x(400, 6, seed=7)
    out = score_shards(
        _npy_shards(tmp_path / "x", x, 2), tmp_path / "o", scorer="prototype", clusters=3
    )
    scores = load_scores(out)
    sampler = CurationSampler(StaticSubset(keep=0.25, prefer="hard"), 400, scores=scores)
    kept = np.sort(sampler.plan.indices)
    np.testing.assert_array_equal(kept, np.sort(np.argsort(-scores, kind="stable")[:100]))


# ---------------------------------------------------------------------------------------------
# resuming, parameters, ids
# ---------------------------------------------------------------------------------------------


def test_resume_skips_valid_parts_and_recomputes_damaged_ones(tmp_path: Path) -> None:
    folder = _npy_shards(tmp_path / "x", _x(1200, 8, seed=8), 4)
    out = tmp_path / "o"
    kw = {"scorer": "prototype", "clusters": 4}
    score_shards(folder, out, **kw)
    parts = sorted(out.glob("part-*.parquet"))
    before = {p.name: p.read_bytes() for p in parts}
    stamps = {p.name: p.stat().st_mtime_ns for p in parts}
    score_shards(folder, out, **kw)
    c = read_manifest(out)["counts"]
    assert (c["parts_computed"], c["parts_skipped"]) == (0, 4)
    assert {p.name: p.stat().st_mtime_ns for p in parts} == stamps  # untouched
    # a truncated part and an edited one (same ids, other scores, metadata kept)
    os.truncate(parts[1], parts[1].stat().st_size // 2)
    t = pq.read_table(parts[2])
    edited = t.set_column(2, "distance", pa.array(np.zeros(t.num_rows)))
    pq.write_table(edited.replace_schema_metadata(t.schema.metadata), parts[2])
    score_shards(folder, out, **kw)
    c = read_manifest(out)["counts"]
    assert (c["parts_computed"], c["parts_skipped"]) == (2, 2)
    assert {p.name: p.read_bytes() for p in parts} == before  # identical output
    assert "checking the parts" in (out / "_score.log").read_text()


def test_other_parameters_are_refused_unless_overwrite(tmp_path: Path) -> None:
    folder = _npy_shards(tmp_path / "x", _x(600, 5, seed=9), 2)
    out = score_shards(folder, tmp_path / "o", scorer="prototype", clusters=3)
    with pytest.raises(SpecurateInputError, match=r"other parameters \(--clusters 3 → 4\)"):
        score_shards(folder, out, scorer="prototype", clusters=4)
    with pytest.raises(SpecurateInputError, match="--scorer 'prototype' → 'dedup'"):
        score_shards(folder, out, scorer="dedup", clusters=3)
    score_shards(folder, out, scorer="prototype", clusters=4, overwrite=True)
    assert read_manifest(out)["params"]["clusters"] == 4
    (out / "_manifest.json").unlink()
    with pytest.raises(SpecurateInputError, match=r"no _manifest\.json"):
        score_shards(folder, out, scorer="prototype", clusters=4)


def test_ids_come_from_the_id_column_and_must_be_unique(tmp_path: Path) -> None:
    x = _x(900, 4, seed=10)
    ids = np.arange(900)[::-1] * 10  # unique, decreasing across the shards
    out = score_shards(
        _parquet_shards(tmp_path / "a", x, 3, id=ids),
        tmp_path / "oa",
        scorer="prototype",
        clusters=2,
    )
    m = read_manifest(out)
    assert m["counts"]["unique_ids"] == m["counts"]["examples"] == 900
    t = pq.read_table(out)
    assert sorted(t.column("id").to_pylist()) == sorted(ids.tolist())
    by_id = load_scores(out, ids)
    np.testing.assert_array_equal(
        by_id, t.sort_by("id").column("distance").to_numpy()[np.argsort(np.argsort(ids))]
    )
    with pytest.raises(SpecurateInputError, match="id 5 was not scored"):
        load_scores(out, [5])
    across = ids.copy()
    across[700] = across[10]  # shards 0 and 2 share an id
    both = r"appears in both s00[02]\.parquet and s00[02]\.parquet"
    with pytest.raises(SpecurateInputError, match=both):
        score_shards(
            _parquet_shards(tmp_path / "b", x, 3, id=across),
            tmp_path / "ob",
            scorer="prototype",
            clusters=2,
        )
    within = ids.copy()
    within[1] = within[2]
    with pytest.raises(SpecurateInputError, match=r"s000\.parquet: id \d+ appears more than once"):
        score_shards(
            _parquet_shards(tmp_path / "c", x, 3, id=within),
            tmp_path / "oc",
            scorer="prototype",
            clusters=2,
        )


def test_input_errors_name_the_file_or_option(tmp_path: Path) -> None:
    x = _x(300, 4, seed=11)
    x[123] = 0
    folder = _npy_shards(tmp_path / "x", x, 2)
    with pytest.raises(SpecurateInputError, match=r"s000\.npy rows 0:150: row 123 is all zeros"):
        score_shards(folder, tmp_path / "o", scorer="prototype", clusters=2, sample=300)
    with pytest.raises(SpecurateInputError, match="needs --model and --labels"):
        score_shards(folder, tmp_path / "o", scorer="el2n")
    with pytest.raises(SpecurateInputError, match="--id-column id: only Parquet"):
        score_shards(folder, tmp_path / "o", scorer="prototype", id_column="id")
    with pytest.raises(SpecurateInputError, match="--clusters 400 exceeds"):
        score_shards(folder, tmp_path / "o", scorer="dedup", clusters=400)
    with pytest.raises(SpecurateInputError, match="is the data folder"):
        score_shards(folder, folder, scorer="prototype")


def test_cli_score_json_and_errors(tmp_path: Path) -> None:
    folder = _npy_shards(tmp_path / "x", _x(500, 6, seed=12), 2)
    runner = CliRunner()
    args = ["score", str(folder), "--scorer", "dedup", "--out", str(tmp_path / "o")]
    res = runner.invoke(app, [*args, "--clusters", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["examples"] == 500 and out["parts_computed"] == 2 and out["duplicates"] == 0
    assert out["score_column"] == "keep" and out["examples_per_s"] > 0
    again = json.loads(runner.invoke(app, [*args, "--clusters", "3", "--json"]).stdout)
    assert (again["parts_computed"], again["parts_skipped"]) == (0, 2)
    bad = runner.invoke(app, args)  # the default --clusters 100
    assert bad.exit_code == 2 and "--clusters 3 → 100" in bad.stderr
    assert bad.stderr.count("\n") == 1
    bad = runner.invoke(app, [*args, "--model", "m.pt"])
    assert bad.exit_code == 2 and "--model is not used by --scorer dedup" in bad.stderr


# ---------------------------------------------------------------------------------------------
# Dask (integration): a LocalCluster on loopback
# ---------------------------------------------------------------------------------------------


def _same_parts(a: Path, b: Path) -> None:
    pa_, pb = sorted(a.glob("part-*.parquet")), sorted(b.glob("part-*.parquet"))
    assert [p.name for p in pa_] == [p.name for p in pb] and pa_
    for p, q in zip(pa_, pb, strict=True):
        assert pq.read_table(p).equals(pq.read_table(q), check_metadata=True), p.name


@pytest.mark.integration
def test_dask_engine_writes_the_same_parts_as_the_local_engine(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    x = _x(6000, 16, seed=13)
    x[5000:5040] = x[:40]
    folder = _parquet_shards(tmp_path / "x", x, 6)
    score_shards(folder, tmp_path / "lp", scorer="prototype", clusters=8)
    score_shards(folder, tmp_path / "ld", scorer="dedup", clusters=8)
    with open_engine("dask", workers=2) as eng:
        assert eng.workers == 2
        score_shards(folder, tmp_path / "dp", scorer="prototype", clusters=8, engine=eng)
        score_shards(folder, tmp_path / "dd", scorer="dedup", clusters=8, engine=eng)
    _same_parts(tmp_path / "lp", tmp_path / "dp")
    _same_parts(tmp_path / "ld", tmp_path / "dd")
    assert read_manifest(tmp_path / "dd")["counts"]["duplicates"] == 40
    assert read_manifest(tmp_path / "dp")["run"]["engine"] == "dask"


@pytest.mark.integration
def test_a_worker_killed_mid_job_changes_nothing(tmp_path: Path) -> None:
    """SIGKILL one of two workers once the first part is written: Dask re-runs its tasks on
    the other worker (and the nanny's restarted one); the parts equal an undisturbed run's and
    every id appears exactly once."""
    pytest.importorskip("distributed")
    x = _x(120_000, 32, seed=14)
    folder = _npy_shards(tmp_path / "x", x, 80)
    undisturbed = score_shards(folder, tmp_path / "u", scorer="prototype", clusters=16)
    out = tmp_path / "k"
    with open_engine("dask", workers=2) as eng:
        pids = eng.client.run(os.getpid)
        result: dict = {}

        def job() -> None:
            try:
                result["out"] = score_shards(
                    folder, out, scorer="prototype", clusters=16, engine=eng
                )
            except BaseException as exc:  # pragma: no cover - reported below
                result["error"] = exc

        t = threading.Thread(target=job)
        t.start()
        deadline = time.monotonic() + 60
        while not list(out.glob("part-*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        written_at_kill = len(list(out.glob("part-*.parquet")))
        t.join(timeout=120)
        assert not t.is_alive(), "the job hung after a worker was killed"
    assert "error" not in result, result.get("error")
    assert 0 < written_at_kill < 80  # the kill hit the scoring pass
    _same_parts(undisturbed, out)
    m = read_manifest(out)
    assert m["counts"]["unique_ids"] == m["counts"]["examples"] == 120_000
    np.testing.assert_array_equal(
        np.sort(pq.read_table(out).column("id").to_numpy()), np.arange(120_000)
    )
    assert not list(out.glob(".part-*"))  # no temporary file of the killed worker is left


@pytest.mark.integration
def test_cli_score_on_a_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    x = _x(3000, 8, seed=15)
    folder = _parquet_shards(tmp_path / "x", x, 4)
    res = CliRunner().invoke(
        app,
        [
            "score",
            str(folder),
            "--scorer",
            "prototype",
            "--out",
            str(tmp_path / "o"),
            "--clusters",
            "5",
            "--engine",
            "dask",
            "--workers",
            "2",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["engine"] == "dask" and out["workers"] == 2
    assert out["examples"] == out["unique_ids"] == 3000 and out["parts_computed"] == 4
    local = score_shards(folder, tmp_path / "l", scorer="prototype", clusters=5)
    _same_parts(local, tmp_path / "o")
