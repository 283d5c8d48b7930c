"""Did the redesign change what ``specurate bench`` measures?  Old and new, same run.

Runs ``specurate bench`` with the package at ``--old-ref`` (extracted with ``git archive``) and
with this checkout, same datasets, strategies, seeds and learning rate, and prints per strategy
the mean final test loss of each (± the seed standard deviation), whether the runs are
bit-identical, and the speed-ups. Then measures the frontier's wall-clock ratio to uniform on
mnist1d (10 passes, rate 0.2: the tuned rate of both in BENCHMARKS.md), alternating old and new
``--reps`` times so both see the same machine load.

    python benchmarks/bench_trajectories.py   # ≈ 4 minutes (progress: bench-trajectories.log)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _log import progress
from _reference import OLD_REF, ROOT, reference_src


def bench(src: Path, *args: str) -> dict:
    progress("trajectories", f"specurate bench {' '.join(args)} ({src})")
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "specurate.cli", "bench", *args, "--json"]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def finals(res: dict) -> dict[str, np.ndarray]:
    runs: dict[str, list[tuple[int, float]]] = {}
    for r in res["runs"]:
        runs.setdefault(r["strategy"], []).append((r["seed"], r["test_loss"]))
    return {k: np.array([v for _, v in sorted(rs)]) for k, rs in runs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old-ref", default=OLD_REF)
    ap.add_argument("--datasets", default="mode-local,mnist1d")
    ap.add_argument("--strategies", default="uniform,loss,infobatch,frontier,balanced")
    ap.add_argument("--epochs", default="3")
    ap.add_argument("--seeds", default="3")
    ap.add_argument("--lr", default="0.1")
    ap.add_argument(
        "--reps", type=int, default=3, help="alternating old/new wall-ratio runs (0: none)"
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    with reference_src(args.old_ref) as old_src:
        srcs = {"old": old_src, "new": ROOT / "src"}
        common = ["--strategies", args.strategies, "--epochs", args.epochs]
        common += ["--seeds", args.seeds, "--lr", args.lr]
        print(f"# specurate bench, {args.old_ref} vs this checkout ({time.strftime('%Y-%m-%d')})")
        print(f"\nsettings: {' '.join(common)}\n")
        print(
            "| dataset | strategy | old final loss | new final loss | identical | "
            "old speed-up | new speed-up |"
        )
        print("|---|---|---:|---:|:---:|---:|---:|")
        for ds in args.datasets.split(","):
            res = {k: bench(src, "--dataset", ds, *common) for k, src in srcs.items()}
            fo, fn = finals(res["old"]), finals(res["new"])
            so = {r["strategy"]: r for r in res["old"]["summary"]}
            sn = {r["strategy"]: r for r in res["new"]["summary"]}
            for s in fo:
                o, n = fo[s], fn[s]
                sp = [so[s].get("speedup"), sn[s].get("speedup")]
                sp_txt = ["—" if v is None else f"{v:.2f}×" for v in sp]
                print(
                    f"| {ds} | {s} | {o.mean():.4g} ± {o.std(ddof=1):.2g} | "
                    f"{n.mean():.4g} ± {n.std(ddof=1):.2g} | "
                    f"{'yes' if np.array_equal(o, n) else 'no'} | {sp_txt[0]} | {sp_txt[1]} |"
                )
        if args.reps < 1:
            return
        ratios: dict[str, list[float]] = {"old": [], "new": []}
        wall = ["--dataset", "mnist1d", "--strategies", "uniform,frontier", "--epochs", "10"]
        wall += ["--seeds", "3", "--lr", "0.2"]
        for _ in range(args.reps):
            for k, src in srcs.items():
                summary = {r["strategy"]: r for r in bench(src, *wall)["summary"]}
                ratios[k].append(summary["frontier"]["wall_ratio"])
        print(
            "\nfrontier wall-clock ratio to uniform, mnist1d, 10 passes, rate 0.2, 3 seeds "
            f"(each of {args.reps} alternating runs): "
            + "; ".join(
                f"{k} {np.mean(v):.3f} ({', '.join(f'{x:.3f}' for x in v)})"
                for k, v in ratios.items()
            )
        )
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
