r"""Failure signature: label noise and "oracle collapse" of dynamic samplers, on real training.

A dynamic sampler that up-weights high-loss examples (loss-proportional, the frontier sampler's
unlearned modes) treats a mislabeled example as the hardest, never-learned one: its loss stays
high however long the model trains, so its weight grows and the sampler spends more and more of
its compute on noise — the practical form of the oracle collapse of theory.md §5 (the simulator's
``self-score`` policy with ``mislabeled`` shows the same in mode space).

Protocol (:func:`label_noise_experiment`): for each noise rate ρ, a seeded fraction ρ of the
training examples gets the label (or regression target) of a random other example with a
DIFFERENT label; the test set stays clean. Every strategy is trained with the same budget and
seeds as uniform at the same ρ, with ``train(..., track=noisy_mask)``, which records the share
of the trained examples (weighted by loss multipliers) that are mislabeled between evaluations.

Reported per (ρ, strategy): the clean test loss and accuracy at equal compute, the speed-up over
uniform at the same ρ (passes to uniform's final clean test loss, geometric mean over seeds), and
the noisy share of compute — overall and over the last third of the run. Uniform spends exactly
ρ of its compute on noise (up to sampling); a share above ρ that grows over time is the collapse
signature.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from specurate.bench.metrics import mean_ci, summarize
from specurate.bench.result import RunResult
from specurate.bench.tasks import Task
from specurate.errors import SpecurateInputError, check_positive_int

__all__ = ["label_noise_experiment", "plot_noise", "render_noise", "with_label_noise"]


def with_label_noise(task: Task, rate: float, *, seed: int = 0) -> tuple[Task, np.ndarray]:
    """A copy of ``task`` whose training labels are corrupted at ``rate``, and the (n,) mask.

    ⌊rate·n⌉ examples (seeded choice) take the label of a uniformly drawn other example with a
    different label (classes: a different class drawn with the data's class frequencies;
    regression: another mode's target). Test data are unchanged.
    """
    if not (math.isfinite(rate) and 0 <= rate < 1):
        raise SpecurateInputError(f"noise rate must be in [0, 1), got {rate}")
    n = task.n_train
    y = np.array(task.y_train)
    rng = np.random.default_rng([int(seed), 0x401])
    k = round(rate * n)
    mask = np.zeros(n, bool)
    if k == 0:
        return task, mask
    flip = rng.choice(n, size=k, replace=False)
    if np.unique(y).size < 2:
        raise SpecurateInputError("label noise needs at least two distinct labels")
    new = y[flip].copy()
    todo = np.ones(k, bool)
    while np.any(todo):  # redraw donors until every corrupted label differs from the original
        donors = rng.integers(0, n, size=int(todo.sum()))
        new[todo] = y[donors]
        todo = new == y[flip]
    y[flip] = new
    mask[flip] = True
    noisy = dataclasses.replace(
        task,
        y_train=y,
        name=f"{task.name}-noise{rate:g}",
        description=f"{task.description}; {rate:.0%} of the training labels corrupted",
    )
    return noisy, mask


def label_noise_experiment(
    task: Task,
    *,
    rates: Sequence[float] = (0.0, 0.1, 0.3),
    strategies: Sequence[str] = ("uniform", "loss", "frontier", "infobatch"),
    seeds: int = 3,
    budget_passes: float = 5.0,
    lr: float | None = None,
    seed: int = 0,
    progress: bool = False,
    make_task: Any = None,
) -> dict[str, Any]:
    """Train every strategy at every noise rate (see the module docstring); JSON-able result.

    Args:
        task: a built-in or user task (classification or regression).
        rates: label-noise rates in [0, 1).
        strategies: names from :data:`specurate.bench.strategies.STRATEGIES` (uniform is
            always run; ``oracle`` is not allowed — its free exact look would see the noise).
        seeds: seeds per (rate, strategy): ``seed … seed + seeds − 1``.
        budget_passes: compute budget per run (backward + scoring passes).
        lr: one SGD learning rate, or None: each strategy at its best rate of
            :data:`specurate.bench.train.LR_GRID` on an independent CLEAN draw of the task
            (``make_task``; default: the task itself, re-seeded only through the run seed).
        make_task: ``make_task(seed) -> Task`` for the tuning draw (seed + 1000); without it
            the rates are tuned on ``task`` itself.
        seed: first seed (also seeds the corruption).
        progress: show a progress bar.
    """
    from specurate._progress import progress_iter
    from specurate.bench.strategies import STRATEGIES, make_strategy
    from specurate.bench.train import train

    seeds = check_positive_int("seeds", seeds)
    names = [s for s in strategies if s != "uniform"]
    names.insert(0, "uniform")
    for s in names:
        if s not in STRATEGIES or s == "oracle":
            raise SpecurateInputError(
                f"strategy {s!r} is not available here; choose from "
                f"{', '.join(x for x in STRATEGIES if x != 'oracle')}"
            )
    rates = [float(r) for r in rates]
    if not rates:
        raise SpecurateInputError("give at least one noise rate")
    for r in rates:
        if not (math.isfinite(r) and 0 <= r < 1):
            raise SpecurateInputError(f"noise rate must be in [0, 1), got {r}")
    if not (math.isfinite(budget_passes) and budget_passes > 0):
        raise SpecurateInputError(f"budget_passes must be > 0, got {budget_passes}")
    from specurate.bench.train import tuned_rates

    rate_lr = (
        dict.fromkeys(names, float(lr))
        if lr is not None
        else tuned_rates(
            make_task or (lambda _s: task),
            names,
            budget_passes=budget_passes,
            seed=seed,
            progress=progress,
        )
    )
    jobs = [(r, name, seed + j) for r in rates for j in range(seeds) for name in names]
    noisy = {r: with_label_noise(task, r, seed=seed) for r in rates}
    runs: dict[float, list[RunResult]] = {r: [] for r in rates}
    for r, name, s in progress_iter(jobs, "label noise", enabled=progress):
        t, mask = noisy[r]
        strat = make_strategy(name, t, budget_passes=budget_passes)
        runs[r].append(
            train(
                t,
                strat,
                seed=s,
                budget_passes=budget_passes,
                lr=rate_lr[name],
                label=name,
                track=mask,
            )
        )
    out_rates = []
    for r in rates:
        rows = {row["strategy"]: row for row in summarize(runs[r])}
        per = []
        for name in names:
            rs = [x for x in runs[r] if x.strategy == name]
            shares = [_shares(x) for x in rs]
            row = rows[name]
            per.append(
                {
                    "strategy": name,
                    "test_loss": row["test_loss"],
                    "test_acc": row["test_acc"],
                    "speedup": row["speedup"],
                    "speedup_lo": row["speedup_lo"],
                    "speedup_hi": row["speedup_hi"],
                    "n_reached": row["n_reached"],
                    "noisy_share": mean_ci([s[0] for s in shares])[0],
                    "noisy_share_late": mean_ci([s[1] for s in shares])[0],
                    "share_curve": _mean_share_curve(rs),
                }
            )
        out_rates.append({"rate": r, "strategies": per})
    return {
        "task": task.name,
        "description": task.description,
        "budget_passes": float(budget_passes),
        "lr": rate_lr,
        "seeds": seeds,
        "rates": out_rates,
    }


def _shares(run: RunResult) -> tuple[float, float]:
    """(share over the run, share over its last third of compute) of mislabeled examples,
    weighting each evaluation interval by the compute it covers."""
    p = np.array([0.0] + [c["passes"] for c in run.curve])
    s = np.array([c.get("tracked_share", math.nan) for c in run.curve])
    dp = np.diff(p)
    ok = np.isfinite(s) & (dp > 0)
    if not np.any(ok):
        return (math.nan, math.nan)
    overall = float(np.sum(s[ok] * dp[ok]) / np.sum(dp[ok]))
    late = ok & (p[1:] > p[-1] * 2 / 3)
    last = float(np.sum(s[late] * dp[late]) / np.sum(dp[late])) if np.any(late) else overall
    return overall, last


def _mean_share_curve(runs: Sequence[RunResult]) -> list[list[float]]:
    """[[passes, mean noisy share], …] over seeds (by evaluation index)."""
    m = min(len(r.curve) for r in runs)
    out = []
    for i in range(m):
        p = float(np.mean([r.curve[i]["passes"] for r in runs]))
        v = [r.curve[i].get("tracked_share", math.nan) for r in runs]
        v = [x for x in v if math.isfinite(x)]
        out.append([p, float(np.mean(v)) if v else math.nan])
    return out


def render_noise(result: dict[str, Any]) -> list[Any]:
    """Rich table: per noise rate and strategy, speed-up, clean test loss/acc, noisy share."""
    from rich.table import Table

    t = Table(
        title=f"label noise on {result['task']}: {result['budget_passes']:g} passes, "
        f"{result['seeds']} seeds (speed-up vs uniform at the same noise rate)"
    )
    for col in (
        "noise",
        "strategy",
        "clean test loss",
        "test acc",
        "speed-up",
        "noisy share",
        "late share",
    ):
        t.add_column(col, justify="left" if col in ("strategy",) else "right")

    def f(v: Any, fmt: str) -> str:
        return "—" if v is None or not math.isfinite(v) else format(v, fmt)

    for block in result["rates"]:
        for row in block["strategies"]:
            t.add_row(
                f"{block['rate']:.0%}",
                row["strategy"],
                f(row["test_loss"], ".4g"),
                f(row["test_acc"], ".3f"),
                f(row["speedup"], ".2f"),
                f(row["noisy_share"], ".3f"),
                f(row["noisy_share_late"], ".3f"),
            )
    return [t]


def plot_noise(result: dict[str, Any], path: str | Path) -> Path:
    """Speed-up vs noise rate (left) and the noisy share of compute over the run at the largest
    rate (right), one line per strategy."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from specurate.plots import save

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10.4, 3.8), layout="constrained")
    names = [r["strategy"] for r in result["rates"][0]["strategies"]]
    for name in names:
        xs, ys = [], []
        for block in result["rates"]:
            row = next(r for r in block["strategies"] if r["strategy"] == name)
            if row["speedup"] is not None and math.isfinite(row["speedup"]):
                xs.append(block["rate"])
                ys.append(row["speedup"])
        a1.plot(xs, ys, marker="o", label=name, color="black" if name == "uniform" else None)
    a1.axhline(1.0, color="grey", lw=0.8, ls="--")
    a1.set_xlabel("label noise rate")
    a1.set_ylabel("speed-up vs uniform (same noise)")
    a1.legend(fontsize=7)
    worst = max(result["rates"], key=lambda b: b["rate"])
    for row in worst["strategies"]:
        c = np.array(row["share_curve"], dtype=float)
        if c.size:
            a2.plot(
                c[:, 0],
                c[:, 1],
                label=row["strategy"],
                color="black" if row["strategy"] == "uniform" else None,
            )
    a2.axhline(worst["rate"], color="grey", lw=0.8, ls="--")
    a2.set_xscale("log")
    a2.set_xlabel("passes")
    a2.set_ylabel("share of compute on mislabeled examples")
    a2.set_title(f"noise rate {worst['rate']:.0%}")
    a2.legend(fontsize=7)
    return save(fig, path)
