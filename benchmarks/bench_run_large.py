"""`specurate run` on a 1,000,000 × 384 float32 Parquet embeddings file: wall time, CPU time and
peak memory against the data's size, measured in one run.

    python benchmarks/bench_run_large.py [--rows 1000000] [--dim 384] [--out bench-run-large]
        [--quick]

The file is a generated stand-in for sentence embeddings (what NeMo Curator or data-juicer
write: one ``fixed_size_list<float32>`` column), with a planted spectrum λ_k ∝ k^-1.2 in a random
rotation, 10 string classes read out from the top modes, and a long-tailed ``source`` column
(50 groups, shares ∝ k^-1.3). It is generated once (resumable: kept in OUT) in chunks of 50,000
rows, so generation never holds the data in memory either. The study runs as a subprocess under
``/usr/bin/time -v``; printed: wall, CPU (user + sys), peak resident memory and its ratio to the
data's size in memory (n·d·4 bytes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def generate(path: Path, rows: int, dim: int, seed: int = 0) -> None:
    """Write the planted embeddings file in chunks (atomically: a temp name, then rename)."""
    rng = np.random.default_rng(seed)
    lam = np.arange(1, dim + 1, dtype=np.float64) ** -1.2
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    readout = rng.standard_normal((dim, 10)) * np.sqrt(lam)[:, None]  # classes from top modes
    k = np.arange(1, 51)
    share = k**-1.3 / np.sum(k**-1.3)
    names = np.array([f"class-{c}" for c in range(10)])
    sources = np.array([f"source-{g:02d}" for g in range(50)])
    tmp = path.with_suffix(".tmp")
    schema = pa.schema(
        [
            ("embedding", pa.list_(pa.float32(), dim)),
            ("label", pa.string()),
            ("source", pa.string()),
        ]
    )
    with pq.ParquetWriter(tmp, schema) as w:
        for r0 in range(0, rows, 50_000):
            m = min(50_000, rows - r0)
            z = rng.standard_normal((m, dim)) * np.sqrt(lam)
            x = (z @ q.T).astype(np.float32)
            y = names[np.argmax(z @ readout + 0.3 * rng.standard_normal((m, 10)), axis=1)]
            g = sources[rng.choice(50, m, p=share)]
            emb = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), dim)
            w.write_table(pa.table([emb, pa.array(y), pa.array(g)], schema=schema))
    tmp.rename(path)


def _time_v(stderr: str, key: str) -> str:
    line = next(x for x in stderr.splitlines() if key in x)
    return line.split(": ", 1)[1].strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--out", default="bench-run-large")
    ap.add_argument("--quick", action="store_true", help="the quick study")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / f"embeddings-{args.rows}x{args.dim}.parquet"
    if not data.exists():
        t0 = time.perf_counter()
        generate(data, args.rows, args.dim)
        print(f"generated {data} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    study = out / ("study-quick" if args.quick else "study")
    cmd = [
        "/usr/bin/time",
        "-v",
        sys.executable,
        "-m",
        "specurate.cli",
        "run",
        str(data),
        "--labels",
        "label",
        "--groups",
        "source",
        "--out",
        str(study),
        *(["--quick"] if args.quick else []),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(proc.returncode)
    cpu = float(_time_v(proc.stderr, "User time")) + float(_time_v(proc.stderr, "System time"))
    peak = int(_time_v(proc.stderr, "Maximum resident set size")) * 1024
    size = args.rows * args.dim * 4
    res = {
        "date": time.strftime("%Y-%m-%d"),
        "rows": args.rows,
        "dim": args.dim,
        "quick": args.quick,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_bytes": peak,
        "data_bytes": size,
        "peak_over_data": round(peak / size, 3),
        "file_bytes": data.stat().st_size,
        "findings": json.loads((study / "results.json").read_text())["findings"],
    }
    (out / f"result{'-quick' if args.quick else ''}.json").write_text(json.dumps(res, indent=1))
    print(
        f"specurate run on {args.rows:,} × {args.dim} float32 ({size / 2**30:.2f} GiB in memory): "
        f"wall {wall:.0f} s, CPU {cpu:.0f} s, peak memory {peak / 2**20:.0f} MiB = "
        f"{peak / size:.2f} × the data"
    )


if __name__ == "__main__":
    main()
