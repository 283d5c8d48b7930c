r"""Benchmark: per-example scores of a sharded data set, the local engine against Dask.

Usage::

    python benchmarks/bench_scores.py [--n 400000] [--d 64] [--shards 8] [--workers 2]
                                      [--clusters 100] [--dir /tmp/...] [--keep]

Writes an (n, d) float32 data set as ``--shards`` Parquet files with one fixed-size list column
``emb`` (the layout of NeMo Curator's embeddings): rows drawn around 200 Gaussian centres, with
1 % exact copies and 1 % copies plus noise of relative size 1e-4 planted (so ``dedup`` has
work to do and a known lower bound on what it must find). Then, for the ``prototype`` and
``dedup`` scorers of :func:`specurate.engine.scores.score_shards`:

(a) the local engine (every task in this process, one after the other);
(b) Dask: a LocalCluster of ``--workers`` worker processes (one thread each) on this machine;
    its start-up is timed separately and not counted in the throughput.

One-off costs (imports, the first k-means and BLAS calls, in this process and in the workers)
are paid on a small warm-up data set first; the engines then alternate ``--repeat`` times and
the best run of each is shown (other processes on the machine slow some runs down).

Each run writes a fresh output folder; the wall time covers everything the job does (sampling
and k-means, checking the parts, scoring, writing, reading every part back and the id check).
It prints examples/s for each engine, the ratio Dask / local, whether both engines wrote
identical parts, and the time of a rerun that finds every part valid (the resume path).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _log import progress

from specurate.engine import open_engine
from specurate.engine.scores import read_manifest, score_shards


def write_data(folder: Path, n: int, d: int, shards: int, seed: int) -> int:
    """The data set as Parquet shards; returns the number of planted near-duplicates."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, d)).astype(np.float32)
    x = centres[rng.integers(0, 200, n)] + 0.5 * rng.standard_normal((n, d), dtype=np.float32)
    k = n // 100
    src = rng.choice(n // 2, size=2 * k, replace=False)
    dst = n // 2 + rng.choice(n - n // 2, size=2 * k, replace=False)
    x[dst[:k]] = x[src[:k]]
    noise = 1e-4 * rng.standard_normal((k, d), dtype=np.float32)
    x[dst[k:]] = x[src[k:]] + noise * np.linalg.norm(x[src[k:]], axis=1, keepdims=True)
    folder.mkdir(parents=True)
    for i in range(shards):
        a, b = i * n // shards, (i + 1) * n // shards
        emb = pa.FixedSizeListArray.from_arrays(pa.array(x[a:b].reshape(-1)), d)
        pq.write_table(pa.table({"emb": emb}), folder / f"part-{i:03d}.parquet")
    return 2 * k


def same_parts(a: Path, b: Path) -> bool:
    pa_, pb = sorted(a.glob("part-*.parquet")), sorted(b.glob("part-*.parquet"))
    return [p.name for p in pa_] == [p.name for p in pb] and all(
        pq.read_table(p).equals(pq.read_table(q)) for p, q in zip(pa_, pb, strict=True)
    )


def run(folder: Path, out: Path, scorer: str, engine, args: argparse.Namespace) -> dict:
    t = time.perf_counter()
    score_shards(
        folder,
        out,
        scorer=scorer,
        engine=engine,
        clusters=args.clusters,
        sample=args.sample,
        seed=args.seed,
    )
    wall = time.perf_counter() - t
    m = read_manifest(out)
    return {"wall": wall, "rate": args.n / wall, "counts": m["counts"], "run": m["run"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=400_000)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clusters", type=int, default=100)
    ap.add_argument("--sample", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2, help="runs per engine (the best is shown)")
    ap.add_argument("--scorers", default="prototype,dedup")
    ap.add_argument("--dir", type=Path, default=None, help="working folder (default: a temp)")
    ap.add_argument("--keep", action="store_true", help="keep the data and the scores")
    args = ap.parse_args(argv)

    import distributed
    import sklearn

    print("== specurate sharded scores benchmark: local engine vs Dask ==")
    print(f"date            : {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"python          : {platform.python_version()}  ({platform.machine()})")
    print(
        f"numpy / sklearn / pyarrow / distributed: {np.__version__} / {sklearn.__version__} / "
        f"{pa.__version__} / {distributed.__version__}"
    )
    print(f"cpus            : {os.cpu_count()}  load avg: {os.getloadavg()[0]:.2f}")
    print(
        f"data            : n={args.n:,} d={args.d} float32 in {args.shards} Parquet shards; "
        f"clusters={args.clusters} sample={args.sample}"
    )
    work = args.dir or Path(tempfile.mkdtemp(prefix="specurate-bench-scores-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        folder = work / "data"
        t = time.perf_counter()
        planted = write_data(folder, args.n, args.d, args.shards, args.seed)
        size = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        print(
            f"written         : {size:.0f} MiB in {time.perf_counter() - t:.1f} s; {planted:,} "
            "planted near-duplicates"
        )
        scorers = [s.strip() for s in args.scorers.split(",") if s.strip()]
        # one-off costs (imports, the first k-means and BLAS calls) paid before any timing
        warm = work / "warm"
        write_data(warm, 2000, args.d, 2, args.seed + 1)
        for scorer in scorers:
            score_shards(warm, work / f"warm-{scorer}", scorer=scorer, clusters=4)
        results: dict[tuple[str, str], list[dict]] = {}
        progress("scores", f"starting a LocalCluster of {args.workers} workers")
        t = time.perf_counter()
        with open_engine("dask", workers=args.workers) as eng:
            start = time.perf_counter() - t
            for scorer in scorers:  # the workers' one-off costs
                score_shards(warm, work / f"warm-{scorer}-d", scorer=scorer, clusters=4, engine=eng)
            for r in range(args.repeat):  # alternate the engines: load changes hit both alike
                for scorer in scorers:
                    for name, e in (("local", None), ("dask", eng)):
                        progress("scores", f"{scorer}: {name} engine, run {r + 1}/{args.repeat}")
                        out = work / f"{scorer}-{name}"
                        shutil.rmtree(out, ignore_errors=True)
                        results.setdefault((scorer, name), []).append(
                            run(folder, out, scorer, e, args)
                        )
            resume = {}
            for scorer in scorers:
                t = time.perf_counter()
                score_shards(
                    folder,
                    work / f"{scorer}-dask",
                    scorer=scorer,
                    engine=eng,
                    clusters=args.clusters,
                    sample=args.sample,
                    seed=args.seed,
                )
                resume[scorer] = time.perf_counter() - t
        print(f"\nLocalCluster start-up: {start:.1f} s (not counted below)")
        print(f"load avg after  : {os.getloadavg()[0]:.2f}\n")
        print(
            "| scorer | local wall s | local ex/s | dask wall s | dask ex/s | dask / local "
            "| identical parts | rerun (all valid) s |"
        )
        print("|---|---:|---:|---:|---:|---:|---|---:|")
        for scorer in scorers:
            lo = min(results[scorer, "local"], key=lambda x: x["wall"])
            da = min(results[scorer, "dask"], key=lambda x: x["wall"])
            same = same_parts(work / f"{scorer}-local", work / f"{scorer}-dask")
            print(
                f"| {scorer} | {lo['wall']:.1f} | {lo['rate']:,.0f} | {da['wall']:.1f} | "
                f"{da['rate']:,.0f} | {da['rate'] / lo['rate']:.2f} | {'yes' if same else 'NO'} "
                f"| {resume[scorer]:.2f} |"
            )
        if "dedup" in scorers:
            c, r = results["dedup", "local"][0]["counts"], results["dedup", "local"][0]["run"]
            print(
                f"\ndedup: {c['duplicates']:,} near-duplicates found ({planted:,} planted), "
                f"largest cluster {r['largest_cluster']:,}, clusters in blocks "
                f"{r['clusters_in_blocks']}"
            )
        return 0
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
