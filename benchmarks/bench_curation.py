"""Passes-to-target benchmark of the curation strategies in real training (issue 6's goals).

For each configuration, every strategy and uniform are trained with the same budget of backward
+ scoring passes and the same seeds (``specurate.bench.train``); the speed-up is uniform's passes
/ the strategy's passes to reach uniform's final test loss, paired by seed (geometric mean, 90%
t CI) — a ratio measured in one run. Prints one markdown table per configuration and the goal
lines of issue 6. Equivalent to ``specurate bench --dataset D --n-train N --strategies … --epochs
E --seeds 3 --seed 1 --out D.parquet`` (``--lr auto``: every strategy at its best learning rate,
tuned on an independent draw); ``--from-parquet DIR`` re-summarizes such files.

    python benchmarks/bench_curation.py                       # trains (about 5 minutes)
    python benchmarks/bench_curation.py --from-parquet /tmp/bench
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from specurate.bench import TASKS, runs_from_parquet, runs_to_parquet, summarize
from specurate.bench.compare import compare_strategies

PRACTICAL = ("uniform", "frontier", "loss", "infobatch", "balanced", "random-subset")
CONFIGS = {
    "mode-local": {
        "kwargs": {"n_train": 200_000, "n_modes": 300},
        "epochs": 3.0,
        "strategies": ("uniform", "oracle", *PRACTICAL[1:]),
    },
    "mnist1d": {"kwargs": {"n_train": 50_000}, "epochs": 10.0, "strategies": PRACTICAL},
    "mnist1d-longtail": {"kwargs": {"n_train": 50_000}, "epochs": 10.0, "strategies": PRACTICAL},
}


def fmt(v, lo=None, hi=None, f=".3g"):
    if v is None or not math.isfinite(v):
        return "—"
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return format(v, f)
    return f"{v:{f}} [{lo:{f}}, {hi:{f}}]"


def table(name, rows):
    print(f"\n### {name}\n")
    print(
        "| strategy | lr | test loss [90% CI] | test acc | passes to uniform's loss "
        "| speed-up [CI] | speed-up at acc − 0.3 pt [CI] | oracle gain recovered "
        "| scoring passes | wall ratio | wall-clock speed-up [CI] | loss exponent [CI] |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['strategy']} | {r['lr']:.3g} "
            f"| {fmt(r['test_loss'], r['test_loss_lo'], r['test_loss_hi'])} "
            f"| {fmt(r['test_acc'], f='.3f')} | {fmt(r['passes_to_target'] or math.nan)} "
            f"| {fmt(r['speedup'], r['speedup_lo'], r['speedup_hi'], '.2f')} "
            f"| {fmt(r['acc_speedup'], r['acc_speedup_lo'], r['acc_speedup_hi'], '.2f')} "
            f"| {fmt(r['oracle_fraction'], f='.2f')} | {r['scoring_passes']:.2f} "
            f"| {r['wall_ratio']:.2f} "
            f"| {fmt(r['wall_speedup'], r['wall_speedup_lo'], r['wall_speedup_hi'], '.2f')} "
            f"| {fmt(r['loss_exponent'], r['loss_exponent_lo'], r['loss_exponent_hi'], '.2f')} |"
        )


def goals(name, rows):
    by = {r["strategy"]: r for r in rows}
    dyn = {k: v for k, v in by.items() if k in ("frontier", "loss")}
    best = max(dyn, key=lambda k: dyn[k]["speedup"] if math.isfinite(dyn[k]["speedup"]) else 0)
    s = dyn[best]["speedup"]
    ib = by.get("infobatch", {}).get("speedup", math.nan)
    ahead = math.isfinite(s) and (not math.isfinite(ib) or s > ib)
    line = f"- {name}: best practical dynamic strategy **{best}** {s:.2f}× at equal loss"
    if name == "mode-local":
        frac = dyn[best]["oracle_fraction"]
        line += (
            f" (goal ≥ 5×: {'met' if s >= 5 else 'NOT met'}); recovers {frac:.2f} of the "
            f"oracle's log speed-up (goal ≥ 0.5: {'met' if frac >= 0.5 else 'NOT met'})"
        )
    else:
        a = dyn[best]["acc_speedup"]
        line += (
            f" (goal ≥ 2×: {'met' if s >= 2 else 'NOT met'}), {a:.2f}× at equal accuracy "
            f"(goal ≥ 1.5×: {'met' if a >= 1.5 else 'NOT met'})"
        )
    line += f"; InfoBatch-style {fmt(ib, f='.2f')}× ({'behind' if ahead else 'NOT behind'})"
    if "balanced" in by:
        line += f"; static class/mode balancing {fmt(by['balanced']['speedup'], f='.2f')}×"
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--epochs", type=float, default=None, help="budget (default per config)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1, help="task seed and first run seed")
    ap.add_argument("--out", type=Path, default=None, help="write <config>.parquet here")
    ap.add_argument("--from-parquet", type=Path, default=None)
    args = ap.parse_args()
    summaries = {}
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        t0 = time.perf_counter()
        if args.from_parquet is not None:
            runs = runs_from_parquet(args.from_parquet / f"{name}.parquet")
        else:
            epochs = args.epochs or cfg["epochs"]

            def make(s, name=name, cfg=cfg):
                return TASKS[name](seed=s, **cfg["kwargs"])

            runs = compare_strategies(
                make(args.seed),
                cfg["strategies"],
                budget_passes=epochs,
                seeds=args.seeds,
                seed=args.seed,
                make_task=make,
                progress=True,
            )
            rates = {r.strategy: r.lr for r in runs}
            print(f"\n{name}: learning rates tuned on the draw seed {args.seed + 1000}: {rates}")
            if args.out is not None:
                args.out.mkdir(parents=True, exist_ok=True)
                runs_to_parquet(runs, args.out / f"{name}.parquet")
        rows = summarize(runs)
        summaries[name] = rows
        table(f"{name} ({cfg['kwargs']}, {runs[0].budget_passes:g} passes)", rows)
        print(f"\n({time.perf_counter() - t0:.0f} s)")
    print("\nGoals (issue 6):")
    for name, rows in summaries.items():
        goals(name, rows)


if __name__ == "__main__":
    main()
