"""Coverage of b_w − b by `analyze_reweighting`'s intervals under random masks (neutral pruning).

A uniformly random mask that keeps a fraction f of the examples is neutral: in the population
T_w = f·T (= T once the weights are normalized to mean 1), so b_w − b = 0 exactly, and a 90%
interval for Δb = b_w − b_common should cover 0 in 90% of masks. For each setting × kept
fraction × seed the script draws a mask that keeps round(f·n) examples at random, runs
``analyze_reweighting`` and records Δb and its interval. Settings: planted power laws
(``specurate.datasets.planted_powerlaw``, d = 256; a fresh data set *and* mask per seed) and
scikit-learn's digits (fixed data, a fresh mask per seed). Reported per cell: mean Δb, its SD
across seeds, the mean CI half-width, and the coverage of 0 with a Wilson 95% interval.
Goal: coverage ≥ 85% in every cell (nominal 90%).

Default: 100 seeds, 60 for n = 10,000 (``--seeds``, ``--seeds-large``). Two processes
(``--workers``), each with single-threaded BLAS (the replicates of one analysis
run on two threads). Every finished (setting, fraction, seed) is appended to ``--out`` (JSON
lines) and skipped on rerun.

    python benchmarks/bench_reweight_coverage.py --out cov.jsonl   # jackknife, ~15 min
    python benchmarks/bench_reweight_coverage.py --out cov.jsonl --seeds-large 100 \\
        --settings "b=1.5 a=2 n=10000" "b=2.5 a=1.5 n=10000"        # seeds 60-99, ~4 min
    python benchmarks/bench_reweight_coverage.py --ci-method bootstrap --seeds 40 \\
        --settings digits "b=1.5 a=2 n=2000" "b=2.5 a=1.5 n=2000"  # ~7 min
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from specurate.datasets import digits, planted_powerlaw
from specurate.spectrum import reweight

#: setting name -> (b, a, n) of a planted power law; "digits" is the real data set
PLANTED = {
    "b=1.5 a=2 n=2000": (1.5, 2.0, 2000),
    "b=2.5 a=1.5 n=2000": (2.5, 1.5, 2000),
    "b=1.5 a=2 n=10000": (1.5, 2.0, 10_000),
    "b=2.5 a=1.5 n=10000": (2.5, 1.5, 10_000),
}
SETTINGS = ["digits", *PLANTED]
FRACTIONS = (0.4, 0.6, 0.8)
D = 256
GOAL = 0.85

#: the analysis under test: (x, w, **options) -> ReweightReport (swappable for a before run)
ANALYZE: Callable[..., Any] = reweight.analyze_reweighting


def _data(setting: str, seed: int) -> np.ndarray:
    if setting == "digits":
        return digits().x
    b, a, n = PLANTED[setting]
    return planted_powerlaw(n, D, b=b, a=a, seed=seed).x


def _mask(n: int, fraction: float, seed: int) -> np.ndarray:
    # A stream of its own (not the data's): mask and planted data are independent.
    rng = np.random.default_rng([seed, 0x3A5C])
    w = np.zeros(n)
    w[rng.choice(n, round(fraction * n), replace=False)] = 1.0
    return w


def _run_one(task: tuple[str, float, int, dict[str, Any]]) -> dict[str, Any]:
    setting, fraction, seed, options = task
    x = _data(setting, seed)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        rep = ANALYZE(x, _mask(x.shape[0], fraction, seed), seed=seed, **options)
    lo, hi = rep.delta_b_ci
    return {
        "setting": setting,
        "fraction": fraction,
        "seed": seed,
        "options": options,
        "delta_b": rep.delta_b,
        "delta_b_ci": [lo, hi],
        "b": rep.b,
        "b_common": rep.b_common,
        "b_w": rep.b_w,
        "fit_range": list(rep.fit.fit_range),
        "common_range": list(rep.fit_w.fit_range),
        "seconds": time.perf_counter() - t0,
    }


def wilson(k: int, m: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k/m."""
    if m == 0:
        return (float("nan"), float("nan"))
    z = float(stats.norm.ppf((1 + level) / 2))
    p = k / m
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
    return (float(centre - half), float(centre + half))


def table(rows: list[dict[str, Any]]) -> bool:
    """Print the coverage table; True when every cell meets the goal."""
    print(
        "| setting | kept | seeds | mean Δb | SD Δb | mean CI half-width "
        "| half-width / (1.645 SD) | coverage of 0 | Wilson 95% |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for setting in SETTINGS:
        for f in FRACTIONS:
            rs = [r for r in rows if r["setting"] == setting and r["fraction"] == f]
            if not rs:
                continue
            d = np.array([r["delta_b"] for r in rs])
            lo = np.array([r["delta_b_ci"][0] for r in rs], dtype=float)
            hi = np.array([r["delta_b_ci"][1] for r in rs], dtype=float)
            half = np.nanmean((hi - lo) / 2)
            covered = int(np.sum((lo <= 0) & (hi >= 0)))
            w_lo, w_hi = wilson(covered, len(rs))
            ok &= covered / len(rs) >= GOAL
            sd = float(np.std(d, ddof=1)) if d.size > 1 else float("nan")
            print(
                f"| {setting} | {f:.1f} | {len(rs)} | {d.mean():+.4f} | {sd:.4f} | {half:.4f} "
                f"| {half / (1.645 * sd):.2f} | {covered / len(rs):.2f} "
                f"| {w_lo:.2f}–{w_hi:.2f} |"
            )
    return ok


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--settings", nargs="+", default=SETTINGS, choices=SETTINGS)
    p.add_argument("--fractions", nargs="+", type=float, default=list(FRACTIONS))
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--seeds-large", type=int, default=60, help="seeds for n = 10000")
    p.add_argument("--ci-method", default="jackknife", choices=["jackknife", "bootstrap"])
    p.add_argument("--groups", type=int, default=20)
    p.add_argument("--bootstrap", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, default=None, help="JSON lines, resumable")
    args = p.parse_args(argv)
    options: dict[str, Any] = {"ci_method": args.ci_method}
    options["groups" if args.ci_method == "jackknife" else "bootstrap"] = (
        args.groups if args.ci_method == "jackknife" else args.bootstrap
    )
    done: list[dict[str, Any]] = []
    if args.out is not None and args.out.exists():
        done = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
        done = [r for r in done if r["options"] == options]
    have = {(r["setting"], r["fraction"], r["seed"]) for r in done}
    tasks = []
    for setting in args.settings:
        large = setting in PLANTED and PLANTED[setting][2] >= 10_000
        seeds = args.seeds_large if large else args.seeds
        for f in args.fractions:
            tasks += [(setting, f, s, options) for s in range(seeds) if (setting, f, s) not in have]
    t0 = time.perf_counter()
    rows = list(done)
    with ProcessPoolExecutor(args.workers) as pool:
        for i, r in enumerate(pool.map(_run_one, tasks, chunksize=1)):
            rows.append(r)
            if args.out is not None:
                with args.out.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(r) + "\n")
            if (i + 1) % 50 == 0:
                print(f"# {i + 1}/{len(tasks)} in {time.perf_counter() - t0:.0f} s", flush=True)
    method = (
        f"delete-one-group jackknife, {args.groups} groups"
        if args.ci_method == "jackknife"
        else f"basic bootstrap, {args.bootstrap} replicates"
    )
    print(
        f"\n{date.today()}: b_w − b under random masks, 90% CIs ({method}); "
        f"{len(tasks)} analyses in {time.perf_counter() - t0:.0f} s on {args.workers} workers\n"
    )
    ok = table([r for r in rows if r["setting"] in args.settings])
    print(f"\ngoal (coverage ≥ {GOAL:.0%} in every cell): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
