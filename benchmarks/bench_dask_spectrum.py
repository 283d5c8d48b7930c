r"""Benchmark: the spectrum of Parquet shards on a Dask LocalCluster, 1 vs 2 workers, against the
single-process streaming pass.

Usage::

    python benchmarks/bench_dask_spectrum.py [--n 2000000] [--d 256] [--shards 64]
        [--dir build/bench-dask] [--keep]

Writes (once; reused while ``--dir`` holds it) an (n, d) float32 data set with a power-law
covariance spectrum :math:`\lambda_k = k^{-1.2}` in a random orthonormal basis as ``--shards``
Parquet files, each row one example in a fixed-size list column ``embedding`` (the layout of
embedding stores such as NeMo Curator's), generated in seeded blocks. Then, in this one process
and one after the other on the same page-cached files:

(a) the single-process streaming pass
    (:func:`specurate.spectrum.large.estimate_spectrum_streaming` on the folder);
(b) :func:`specurate.engine.sharded_spectrum` on a LocalCluster with 1 worker process;
(c) the same with 2 worker processes (one thread each).

For each: wall time, rows/s, and the peak resident memory of this process plus the cluster's
worker processes (psutil, sampled every 20 ms), both absolute and above the same processes'
idle level just before the run (every process has run one shard's task by then: imports and
the allocators' first arenas are a fixed cost, not the data's). Prints the
throughput ratios (c)/(b) (goal ≥ 1.7 on 2 cores) and (c)/(a), the data size, the peak
memory as a fraction of it (goal ≤ 10 %), and the largest relative difference of the top 100
eigenvalues and of b between the three.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
from _log import progress

MiB = 2**20


def say(message: str) -> None:
    progress("dask_spectrum", message)


def write_shards(folder: Path, n: int, d: int, shards: int, seed: int = 0) -> int:
    """Write the data set; returns its size in bytes (float32 values)."""
    marker = folder / f"_done_{n}_{d}_{shards}"
    if marker.exists():
        return n * d * 4
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.arange(1, d + 1) ** -1.2
    mix = (np.sqrt(lam)[:, None] * q.T).astype(np.float32)
    rows = n // shards
    for i in range(shards):
        m = rows if i < shards - 1 else n - rows * (shards - 1)
        z = rng.standard_normal((m, d), dtype=np.float32)
        x = z @ mix
        col = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), d)
        pq.write_table(
            pa.table({"embedding": col}), folder / f"part-{i:05d}.parquet", row_group_size=8192
        )
        if i % 8 == 7:
            say(f"wrote {i + 1}/{shards} shards")
    marker.touch()
    return n * d * 4


class PeakRSS:
    """Peak of the summed RSS of a set of processes, sampled in a thread."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.peak = 0
        self.each = [0] * len(pids)  # peak RSS of each process
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        total = 0
        for i, p in enumerate(self.procs):
            try:
                rss = p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            self.each[i] = max(self.each[i], rss)
            total += rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.02)

    def __enter__(self) -> PeakRSS:
        self.idle = self.now()
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.now())


def timed(label: str, pids: list[int], fn: Callable[[], Any], n: int) -> dict:
    with PeakRSS(pids) as mem:
        t0 = time.perf_counter()
        rep = fn()
        wall = time.perf_counter() - t0
    say(f"{label}: {wall:.1f} s, {n / wall:,.0f} rows/s, peak RSS {mem.peak / MiB:.0f} MiB")
    return {
        "worker_peak": max(mem.each[1:], default=0),
        "label": label,
        "wall": wall,
        "rows_per_s": n / wall,
        "peak": mem.peak,
        "extra": mem.peak - mem.idle,
        "report": rep,
    }


def _warm(folder: str) -> None:
    """One real task (the last, smallest shard) in every process before the measured run, so
    'above idle' counts the work's memory, not imports and the allocators' first arenas."""
    from specurate.engine.shards import list_shards
    from specurate.engine.spectrum import shard_moments

    shard_moments(list_shards(folder).shards[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--shards", type=int, default=64)
    ap.add_argument("--dir", type=Path, default=Path("build/bench-dask"))
    ap.add_argument("--keep", action="store_true", help="keep the generated shards")
    args = ap.parse_args()

    from specurate.engine import open_engine, sharded_spectrum
    from specurate.spectrum.large import estimate_spectrum_streaming

    say(f"writing {args.n:,} x {args.d} float32 in {args.shards} Parquet shards to {args.dir}")
    size = write_shards(args.dir, args.n, args.d, args.shards)
    disk = sum(f.stat().st_size for f in args.dir.glob("*.parquet"))
    say(f"data: {size / MiB:,.0f} MiB of float32 values, {disk / MiB:,.0f} MiB on disk")
    me = os.getpid()
    _warm(str(args.dir))
    runs = [
        timed(
            "single-process streaming",
            [me],
            lambda: estimate_spectrum_streaming(args.dir, groups=20),
            args.n,
        )
    ]
    for workers in (1, 2):
        with open_engine("dask", workers=workers) as eng:
            eng.client.run(_warm, str(args.dir))
            pids = [me, *eng.client.run(os.getpid).values()]
            runs.append(
                timed(
                    f"dask, {workers} worker{'s' * (workers > 1)}",
                    pids,
                    lambda eng=eng: sharded_spectrum(args.dir, groups=20, engine=eng),
                    args.n,
                )
            )
    ref = runs[0]["report"]
    top = min(100, args.d)
    print(f"# {dt.date.today()}  {os.cpu_count()} cores  n={args.n:,} d={args.d}")
    print(f"data: {size / MiB:,.0f} MiB (float32 values), {disk / MiB:,.0f} MiB Parquet on disk")
    print(
        "| run | wall s | rows/s | peak RSS, all processes MiB | / data | above idle MiB "
        "| / data | largest worker MiB | b |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        rep = r["report"]
        worker = f"{r['worker_peak'] / MiB:.0f}" if r["worker_peak"] else "–"
        print(
            f"| {r['label']} | {r['wall']:.1f} | {r['rows_per_s']:,.0f} | {r['peak'] / MiB:.0f} "
            f"| {r['peak'] / size:.1%} | {r['extra'] / MiB:.0f} | {r['extra'] / size:.1%} "
            f"| {worker} | {rep.fit.b:.4f} |"
        )
    for r in runs[1:]:
        rep = r["report"]
        rel = np.max(np.abs(rep.eigenvalues[:top] / ref.eigenvalues[:top] - 1))
        print(f"{r['label']}: top-{top} eigenvalues vs streaming, max rel diff {rel:.1e}")
    one, two = runs[1]["wall"], runs[2]["wall"]
    print(f"ratio 2 workers / 1 worker throughput: {one / two:.2f}x (goal >= 1.7)")
    print(f"ratio 2 workers / single-process streaming: {runs[0]['wall'] / two:.2f}x")
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
