"""Per-batch sampler overhead at real scale: this implementation against the one before it.

For every built-in strategy, data-set size n and batch size b, one run measures (one process per
implementation, same machine, same minutes):

* ``observe``: ``loss_scale`` + ``observe`` of one batch (median over batches of the epoch's
  shard) — the work the training loop waits for after every step;
* ``fold``: one ``strategy.update`` with a whole plan's m observations, amortized over the
  plan's m/b batches (0 for the old implementation, which updated inside every ``observe``);
* ``plan``: ``set_epoch`` (plan of m entries), amortized over m/b batches;
* ``step``: one SGD step (forward, backward, update) of a small MLP (40 → 256 → 256 → 10, one
  torch thread) at batch b — the unit every overhead is quoted in.

The old implementation is the package at ``--old-ref`` (default: the commit before the
redesign) extracted with ``git archive`` and measured in a subprocess with its own API; the
ratio old/new of the per-batch overhead is printed for every row. Prints a markdown table.

    python benchmarks/bench_sampler.py      # ≈ 1 minute, ≈ 6 GB at n = 10⁷ (log: bench-sampler.log)
    python benchmarks/bench_sampler.py --sizes 50000 --batches 128 --no-old   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np
from _log import progress

STRATEGIES = (
    "uniform",
    "random-subset",
    "balanced",
    "loss",
    "infobatch",
    "frontier",
    "frontier-memory",
    "online-probe",
    "reducible",
)
GROUPS = 1000  # modes of the frontier and groups of the balanced strategy


def make(name: str, n: int, old: bool) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(strategy, init data, extra statistics per batch) with the benchmark's settings: the
    dynamic strategies re-plan 10 times per pass, as in ``specurate bench``."""
    from specurate import curation as c

    m = max(1, n // 10)
    groups = (np.arange(n) * 7919) % GROUPS  # every group the same size, interleaved
    data: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    frontier_kw = dict(soft=True, power=1.0, floor=0.01, balance=True, cap=50.0, epoch_length=m)
    if name == "uniform":
        s = c.Uniform()
    elif name == "random-subset":
        s = c.StaticSubset(keep=0.7, prefer="random")
    elif name == "balanced":
        scores = 1.0 / np.bincount(groups)[groups]
        s = c.StaticWeights(scores=scores, cap=50.0) if old else c.StaticWeights(cap=50.0)
        data = {} if old else {"scores": scores}
    elif name == "loss":
        s = c.LossProportional(cap=5.0, epoch_length=m)
    elif name == "infobatch":
        s = c.InfoBatchStyle(prune=0.5, total_epochs=10)
    elif name in ("frontier", "frontier-memory"):
        if name == "frontier":
            frontier_kw["horizon"] = 256
        if old:
            s = c.FrontierSampler(groups=groups, **frontier_kw)
        else:
            s, data = c.FrontierSampler(**frontier_kw), {"groups": groups}
    elif name == "online-probe":
        s = c.OnlineProbe(cap=5.0, epoch_length=m)
        extra = {"probe_loss": True}
    elif name == "reducible":
        s = c.ReducibleLoss(cap=5.0, epoch_length=m)
        extra = {"loss_other": True}
    else:
        raise ValueError(name)
    return s, data, extra


def mlp_step_seconds(batch: int, reps: int = 200) -> float:
    """Median seconds of one SGD step of a 40 → 256 → 256 → 10 MLP at ``batch``."""
    import torch

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(40, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 40, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times[reps // 5 :])


def measure(name: str, n: int, batch: int, old: bool, max_batches: int) -> dict[str, float]:
    """Seconds of observe (median per batch), plan and fold (per plan) for one configuration."""
    import torch

    from specurate.torch import CurationSampler

    strategy, data, extra = make(name, n, old)
    sampler = CurationSampler(strategy, n, seed=0, **data)
    t = time.perf_counter()
    sampler.set_epoch(0)
    plan_s = time.perf_counter() - t
    m = sampler.plan.indices.size
    shard = torch.as_tensor(sampler.shard())
    rng = np.random.default_rng(0)
    times = []
    for s in range(0, min(m, batch * max_batches), batch):
        idx = shard[s : s + batch]
        loss = torch.as_tensor(rng.random(idx.numel()) + 0.1, dtype=torch.float32)
        stats = {k: loss * 0.5 for k in extra}
        t = time.perf_counter()
        sampler.loss_scale(idx)
        sampler.observe(idx, loss, **stats)
        times.append(time.perf_counter() - t)
    fold_s = 0.0
    if not old:  # one update with a whole plan's observations (what set_epoch folds)
        full = sampler.plan.indices
        loss = rng.random(full.size) + 0.1
        obs = {"loss": loss, **{k: loss * 0.5 for k in extra}}
        state = sampler.state
        t = time.perf_counter()
        strategy.update(state, full, obs)
        fold_s = time.perf_counter() - t
    return {
        "observe_s": statistics.median(times),
        "plan_s": plan_s,
        "fold_s": fold_s,
        "m": float(m),
    }


def run_all(args: argparse.Namespace, old: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"step": {}, "rows": []}
    for b in args.batches:
        out["step"][str(b)] = mlp_step_seconds(b)
    for n in args.sizes:
        for name in args.strategies:
            for b in args.batches:
                r = measure(name, n, b, old, 40 if old and n >= 10**6 else 300)
                out["rows"].append({"strategy": name, "n": n, "batch": b, **r})
                progress("sampler", f"{'old' if old else 'new'} {name} n={n:,} b={b}")
    return out


def old_results(args: argparse.Namespace) -> dict[str, Any]:
    """Run this script on the package at ``--old-ref`` in a subprocess."""
    from _reference import reference_src

    with reference_src(args.old_ref) as src:
        env = {**os.environ, "PYTHONPATH": str(src)}
        cmd = [sys.executable, __file__, "--worker-old", *_forward(args)]
        res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        sys.stderr.write(res.stderr)
        return json.loads(res.stdout)


def _forward(args: argparse.Namespace) -> list[str]:
    return [
        "--sizes",
        ",".join(map(str, args.sizes)),
        "--batches",
        ",".join(map(str, args.batches)),
        "--strategies",
        ",".join(args.strategies),
    ]


def per_batch(r: dict[str, float], batch: int) -> float:
    """Overhead per batch: observe + (fold + plan) amortized over the plan's m/b batches."""
    return r["observe_s"] + (r["fold_s"] + r["plan_s"]) * batch / r["m"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50000,1280000,10000000")
    ap.add_argument("--batches", default="128,1024")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--old-ref", default="f30b1a9", help="the pre-redesign commit")
    ap.add_argument("--no-old", action="store_true", help="measure this implementation only")
    ap.add_argument("--worker-old", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.sizes = [int(float(s)) for s in args.sizes.split(",")]
    args.batches = [int(b) for b in args.batches.split(",")]
    args.strategies = args.strategies.split(",")
    if args.worker_old:
        print(json.dumps(run_all(args, old=True)))
        return
    t0 = time.perf_counter()
    new = run_all(args, old=False)
    old = None if args.no_old else old_results(args)
    old_rows = {} if old is None else {(r["strategy"], r["n"], r["batch"]): r for r in old["rows"]}
    print(
        f"# sampler overhead per batch ({time.strftime('%Y-%m-%d')}, one run, "
        f"{time.perf_counter() - t0:.0f} s)\n"
    )
    print(
        "MLP step (40→256→256→10, 1 thread): "
        + ", ".join(f"b={b}: {1e3 * s:.3f} ms" for b, s in new["step"].items())
        + "\n"
    )
    print(
        "| strategy | n | batch | observe ms | plan ms | fold ms | overhead / step | "
        "old overhead / step | old / new |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in new["rows"]:
        b = r["batch"]
        ours = per_batch(r, b)
        o = old_rows.get((r["strategy"], r["n"], b))
        theirs = per_batch(o, b) if o else float("nan")
        step, ostep = new["step"][str(b)], (old["step"][str(b)] if old else float("nan"))
        print(
            f"| {r['strategy']} | {r['n']:,} | {b} | {1e3 * r['observe_s']:.3f} | "
            f"{1e3 * r['plan_s']:.1f} | {1e3 * r['fold_s']:.1f} | {ours / step:.3f} | "
            f"{theirs / ostep:.3f} | {theirs / ours:.1f} |"
        )
    big = [r for r in new["rows"] if r["n"] >= 10**7 and r["batch"] == 128]
    if big:
        worst = max(big, key=lambda r: r["observe_s"])
        plan = max(big, key=lambda r: r["plan_s"] + r["fold_s"])
        passes = max(big, key=lambda r: (r["plan_s"] + r["fold_s"]) * r["n"] / r["m"])
        print(
            f"\ngoals at n = 10⁷, batch 128: update ≤ 1 ms — worst observe {worst['strategy']} "
            f"{1e3 * worst['observe_s']:.3f} ms; planning ≤ 2 s per epoch (one plan) — worst "
            f"{plan['strategy']} {plan['plan_s'] + plan['fold_s']:.2f} s (plan + fold); per pass "
            f"over the n examples (dynamic strategies plan 10 times a pass) worst "
            f"{passes['strategy']} "
            f"{(passes['plan_s'] + passes['fold_s']) * passes['n'] / passes['m']:.1f} s"
        )


if __name__ == "__main__":
    main()
