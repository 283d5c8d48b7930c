r"""Benchmark: streaming covariance eigenvalues from a memory-mapped .npy vs an in-memory Gram.

Usage::

    python benchmarks/bench_streaming.py [--n 200000] [--d 1024] [--dir /tmp/...] [--keep]

Writes an (n, d) float32 ``.npy`` of Gaussian rows with a power-law covariance spectrum
:math:`\lambda_k = k^{-1}` in a random orthonormal basis (plus a small random mean), generated
in seeded chunks, then measures in this one process:

(a) :func:`specurate.spectrum.streaming.streaming_eigvalsh` on the memory-mapped file, for
    ``precision="double"`` (default) and ``"mixed"``: wall time and rows/s (timed run without
    tracemalloc), then a second run under ``tracemalloc`` for the peak extra memory (in MiB
    and as a multiple of the d×d float64 matrix) and the RSS change (psutil, for information:
    RSS also counts the file pages the mapping touched);
(b) the reference, run second: ``X = np.load(path)`` (float32, fully in memory) and the plain
    ``X.T @ X`` (numpy dispatches it to float32 BLAS ``ssyrk``), its time, rows/s and memory.

It prints the ratio ours / reference throughput and the relative error of the top 100
eigenvalues against ``eigvalsh`` of the reference Gram converted to float64 and centered,
:math:`G/n - \bar x \bar x^\top`. Targets: peak extra memory ≤ 2 × the d×d float64 matrix and
throughput ratio ≥ 0.5. The file was written moments before by this process, so both (a) and
(b) read it from the page cache; residency is reported with ``fincore`` when available.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import psutil
import scipy
from threadpoolctl import threadpool_info

from specurate.spectrum.streaming import streaming_eigvalsh

MiB = 2**20


def write_data(path: Path, n: int, d: int, seed: int, block: int = 8192) -> None:
    """Write X (n, d) float32 to ``path`` chunk by chunk (``block`` rows at a time)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = 1.0 / np.arange(1, d + 1)
    mix = (np.sqrt(lam)[:, None] * q.T).astype(np.float32)  # rows x = z diag(√λ) Qᵀ + μ
    mu = (0.1 * rng.standard_normal(d)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for r0 in range(0, n, block):
        r1 = min(r0 + block, n)
        z = rng.standard_normal((r1 - r0, d), dtype=np.float32)
        out[r0:r1] = z @ mix + mu
    out.flush()
    del out
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def cache_state(path: Path) -> str:
    """Page-cache residency of ``path`` according to util-linux ``fincore``."""
    exe = shutil.which("fincore")
    if exe is None:
        return "unknown (fincore not installed)"
    try:
        res = subprocess.run(
            [exe, "--bytes", "--noheadings", "--output", "RES,SIZE", str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        resident, size = (int(v) for v in res.stdout.split())
    except (OSError, subprocess.SubprocessError, ValueError):
        return "unknown (fincore failed)"
    return f"{resident / MiB:.0f} of {size / MiB:.0f} MiB resident ({100 * resident / size:.0f}%)"


def rss_anon() -> tuple[int, int]:
    """(RSS, anonymous RSS) of this process in bytes."""
    rss = psutil.Process().memory_info().rss
    anon = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    anon = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, anon


def run_ours(path: Path, precision: str, chunk_rows: int | None, repeats: int) -> dict:
    """Best-of-``repeats`` wall time, then one run under tracemalloc for the peak memory."""
    wall = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        w, _ = streaming_eigvalsh(path, precision=precision, chunk_rows=chunk_rows)
        wall = min(wall, time.perf_counter() - t0)
    rss0, anon0 = rss_anon()
    tracemalloc.start()
    t0 = time.perf_counter()
    w2, _ = streaming_eigvalsh(path, precision=precision, chunk_rows=chunk_rows)
    wall_traced = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1, anon1 = rss_anon()
    assert np.array_equal(w, w2)
    return {
        "w": w,
        "wall": wall,
        "wall_traced": wall_traced,
        "peak": peak,
        "rss": rss1 - rss0,
        "anon": anon1 - anon0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="rows (default 200000)")
    ap.add_argument("--d", type=int, default=1024, help="features (default 1024)")
    ap.add_argument("--dir", type=Path, default=None, help="where to write the .npy (temp)")
    ap.add_argument("--keep", action="store_true", help="keep the data file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk-rows", type=int, default=None, help="default: max(64, d // 4)")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs, best kept (default 2)")
    args = ap.parse_args(argv)
    n, d = args.n, args.d

    print("== specurate streaming covariance benchmark ==")
    print(f"date            : {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"python          : {platform.python_version()}  ({platform.machine()})")
    print(f"numpy / scipy   : {np.__version__} / {scipy.__version__}")
    for info in threadpool_info():
        lib = Path(info.get("filepath", "?")).name
        print(
            f"BLAS            : {info.get('internal_api')} {info.get('version')} "
            f"({info.get('architecture')}), {info.get('num_threads')} threads [{lib}]"
        )
    print(
        f"cores           : {psutil.cpu_count(logical=False)} physical, "
        f"{os.cpu_count()} logical; load average before: "
        + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    )

    base = Path(tempfile.mkdtemp(prefix="specurate-bench-", dir=args.dir))
    path = base / f"x_{n}x{d}_f32.npy"
    matrix = d * d * 8
    try:
        t0 = time.perf_counter()
        write_data(path, n, d, args.seed)
        print(
            f"data            : {path} ({n} × {d} float32, {path.stat().st_size / MiB:.0f} MiB, "
            f"power-law spectrum λ_k = 1/k, random basis), written in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        print(f"d×d float64     : {matrix / MiB:.2f} MiB")
        print(f"page cache      : before (a): {cache_state(path)} (file just written)")

        # Warm-up: start both BLAS thread pools (numpy's and scipy's) and load LAPACK routines.
        warm = np.random.default_rng(1).standard_normal((512, min(d, 256)), dtype=np.float32)
        streaming_eigvalsh(warm)
        _ = warm.T @ warm

        results = {}
        for precision in ("double", "mixed"):
            r = run_ours(path, precision, args.chunk_rows, args.repeats)
            results[precision] = r
            print(f"\n(a) streaming_eigvalsh(memmap, precision={precision!r})")
            print(
                f"    wall time       : {r['wall']:.3f} s  ({n / r['wall']:,.0f} rows/s; best of "
                f"{args.repeats})"
            )
            print(
                f"    tracemalloc peak: {r['peak'] / MiB:.2f} MiB = "
                f"{r['peak'] / matrix:.3f} × d×d float64 (run under tracemalloc: "
                f"{r['wall_traced']:.3f} s)"
            )
            print(
                f"    RSS delta       : {r['rss'] / MiB:+.1f} MiB total, {r['anon'] / MiB:+.1f} "
                "MiB anonymous (info; RSS includes the mapped file pages touched)"
            )

        print(f"\npage cache      : before (b): {cache_state(path)}")
        rss0, anon0 = rss_anon()
        tracemalloc.start()
        t0 = time.perf_counter()
        x = np.load(path)
        t_load = time.perf_counter() - t0
        gram = x.T @ x
        _, ref_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss1, anon1 = rss_anon()
        t_ref = np.inf
        for _ in range(args.repeats):  # untraced timings of the product alone
            del gram
            t0 = time.perf_counter()
            gram = x.T @ x
            t_ref = min(t_ref, time.perf_counter() - t0)
        ref_rate = n / t_ref
        print("(b) reference: X = np.load(path) (float32 in memory), G = X.T @ X (float32)")
        print(f"    load time       : {t_load:.3f} s (from page cache)")
        print(
            f"    X.T @ X time    : {t_ref:.3f} s  ({ref_rate:,.0f} rows/s; best of {args.repeats})"
        )
        print(
            f"    memory          : X {x.nbytes / MiB:.0f} MiB + G {gram.nbytes / MiB:.1f} MiB; "
            f"tracemalloc peak {ref_peak / MiB:.0f} MiB = {ref_peak / matrix:.1f} × d×d float64; "
            f"RSS delta {(rss1 - rss0) / MiB:+.0f} MiB ({(anon1 - anon0) / MiB:+.0f} MiB anon)"
        )

        mean = x.mean(axis=0, dtype=np.float64)
        cov_ref = gram.astype(np.float64) / n - np.outer(mean, mean)
        del x, gram
        lam_ref = np.linalg.eigvalsh(cov_ref)[::-1]
        top = min(100, d)

        print("\nsummary (targets: peak ≤ 2.000 × d×d float64, throughput ratio ≥ 0.50)")
        ok = True
        for precision, r in results.items():
            ratio = (n / r["wall"]) / ref_rate
            rel = np.max(np.abs(r["w"][:top] - lam_ref[:top]) / lam_ref[:top])
            mem_ok = r["peak"] <= 2 * matrix
            rate_ok = ratio >= 0.5
            ok = ok and mem_ok
            print(
                f"  {precision:6s}: peak {r['peak'] / matrix:.3f} × [{'ok' if mem_ok else 'MISS'}]"
                f", throughput ratio {ratio:.3f} [{'ok' if rate_ok else 'MISS'}]"
                f", top-{top} eigenvalue rel. error vs reference {rel:.2e}"
            )
        dm = results["double"]["w"][:top]
        mm = results["mixed"]["w"][:top]
        diff = np.max(np.abs(mm - dm) / dm)
        print(f"  mixed vs double top-{top} eigenvalues: max rel. difference {diff:.2e}")
        print(
            "  (the reference Gram is accumulated in float32: its own error dominates the "
            "comparison)"
        )
        print("load average after: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    finally:
        if args.keep:
            print(f"kept {path}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
