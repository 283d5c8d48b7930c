"""Training throughput of ``specurate bench --dataset mnist1d`` over 2 processes against 1.

For every global batch size, one run trains the same runs (strategies × seeds, fixed learning
rate, no tuning) with the 1-process loop of ``specurate bench`` (``compare_strategies`` →
``train``) and with ``--nproc 2`` (``specurate.bench.ddp``: 2 gloo ranks on 127.0.0.1, each
with one torch thread, splitting every global batch), alternating the two ``--repeats`` times.
It prints, per configuration (medians over repeats):

* ``ex/s``: examples backpropagated per second of training (Σ backward examples / Σ ``wall_s``
  of the runs: rank 0's training clock, test evaluations excluded — what ``specurate bench``
  reports as wall time);
* ``ex/s e2e``: the same examples per second of the whole call (task build, process start,
  evaluations included);
* the ratio 2 processes / 1 process of both, measured in this one run,

checks that both trained the same examples (the accounting is identical by construction) and
prints each strategy's relative difference of the final test loss (float noise for uniform; a
loss-sampling strategy can drift further: ``specurate.bench.ddp``'s docstring). The mnist1d
data are made once and shared through a data cache, so the end-to-end times hold no data
generation. Equivalent to ``specurate bench --dataset mnist1d --n-train N --epochs E --seeds S
--lr LR --batch-size B [--nproc 2]`` (the defaults: those of ``specurate bench``).

    python benchmarks/bench_ddp.py                    # ≈ 2 minutes on 2 cores (log: bench-ddp.log)
    python benchmarks/bench_ddp.py --batch-sizes 128 --repeats 1 --n-train 10000   # quick look
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

from _log import progress

from specurate.bench.compare import compare_strategies
from specurate.bench.ddp import TaskSpec, compare_strategies_ddp
from specurate.bench.tasks import data_cache


def measure(args: argparse.Namespace, batch: int, nproc: int) -> dict[str, Any]:
    """One call: examples, Σ training wall time and end-to-end seconds."""
    spec = TaskSpec("mnist1d", (("n_train", args.n_train),))
    kw: dict[str, Any] = dict(
        budget_passes=args.epochs, seeds=args.seeds, seed=0, batch_size=batch, lr=args.lr
    )
    t0 = time.perf_counter()
    if nproc == 1:  # today's `specurate bench` path
        runs = compare_strategies(spec(0), args.strategies, make_task=spec, **kw)
    else:
        runs = compare_strategies_ddp(spec, args.strategies, nproc=nproc, **kw)
    total = time.perf_counter() - t0
    examples = sum(r.backward_passes * r.n_train for r in runs)
    return {
        "examples": examples,
        "train_s": sum(r.wall_s for r in runs),
        "total_s": total,
        "losses": [r.test_loss for r in runs],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=50_000)
    ap.add_argument("--epochs", type=float, default=5.0)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--strategies", default="uniform,loss")
    ap.add_argument("--batch-sizes", default="128,1024")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    args.strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    batches = [int(b) for b in args.batch_sizes.split(",")]
    progress("ddp", f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory() as cache, data_cache(cache):
        TaskSpec("mnist1d", (("n_train", args.n_train),))(0)  # the data, made once
        rows = run(args, batches)
    print(
        f"\nmnist1d, n_train {args.n_train}, {args.epochs:g} epochs, strategies "
        f"{','.join(args.strategies)}, {args.seeds} seed(s), lr {args.lr:g}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end\n"
    )
    print(
        "| global batch | examples | 1 proc ex/s | 2 proc ex/s | ratio 2/1 | "
        "1 proc ex/s e2e | 2 proc ex/s e2e | ratio e2e | rel. Δ final test loss |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|:---|")
    for batch, n, rate, e2e, delta in rows:
        print(
            f"| {batch} | {n:.0f} | {rate[1]:,.0f} | {rate[2]:,.0f} | {rate[2] / rate[1]:.2f} | "
            f"{e2e[1]:,.0f} | {e2e[2]:,.0f} | {e2e[2] / e2e[1]:.2f} | {delta} |"
        )


def run(args: argparse.Namespace, batches: list[int]) -> list[tuple]:
    """Per batch size: (batch, examples, {nproc: ex/s}, {nproc: ex/s e2e}, Δ loss text)."""
    rows = []
    for batch in batches:
        got: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        for rep in range(args.repeats):
            for nproc in (1, 2):
                m = measure(args, batch, nproc)
                got[nproc].append(m)
                progress(
                    "ddp",
                    f"batch {batch} rep {rep} nproc {nproc}: {m['examples']:.0f} examples, "
                    f"train {m['train_s']:.2f} s, total {m['total_s']:.2f} s",
                )
        ex = {p: got[p][0]["examples"] for p in got}
        if ex[1] != ex[2]:
            raise SystemExit(f"accounting differs: {ex}")
        rate = {p: statistics.median(g["examples"] / g["train_s"] for g in got[p]) for p in got}
        e2e = {p: statistics.median(g["examples"] / g["total_s"] for g in got[p]) for p in got}
        first = {p: got[p][0]["losses"] for p in got}
        names = [f"{n} s{k}" for k in range(args.seeds) for n in args.strategies]
        delta = ", ".join(
            f"{name} {abs(b - a) / abs(a):.0e}"
            for name, a, b in zip(names, first[1], first[2], strict=True)
        )
        rows.append((batch, ex[1], rate, e2e, delta))
    return rows


if __name__ == "__main__":
    main()
