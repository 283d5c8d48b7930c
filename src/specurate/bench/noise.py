r"""Failure signature: label noise and "oracle collapse" of dynamic samplers, on real training.

A dynamic sampler that up-weights high-loss examples (loss-proportional, the frontier sampler's
unlearned modes) treats a mislabeled example as the hardest, never-learned one: its loss stays
high however long the model trains, so its weight grows and the sampler spends more and more of
its compute on noise — the practical form of the oracle collapse of theory.md §5 (the simulator's
``self-score`` policy with ``mislabeled`` shows the same in mode space).

Protocol (:func:`run_noise` with a :class:`NoiseConfig`): for each noise rate ρ, a seeded
fraction ρ of the training examples gets the label (or regression target) of a random other
example with a DIFFERENT label; the test set stays clean. Learning rates are tuned once, on the
clean task. Every strategy is trained with the same budget and seeds as uniform at the same ρ
(:func:`~specurate.bench.compare.compare_strategies`) with ``track=noisy_mask``, which records
the share of the trained examples (weighted by loss multipliers) that are mislabeled between
evaluations.

Reported per (ρ, strategy): the clean test loss and accuracy at equal compute, the speed-up over
uniform at the same ρ (passes to uniform's final clean test loss, geometric mean over seeds), and
the noisy share of compute — overall and over the last third of the run. Uniform spends exactly
ρ of its compute on noise (up to sampling); a share above ρ that grows over time is the collapse
signature.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from specurate._json import jsonable
from specurate._rng import stream
from specurate._validate import (
    check_names,
    check_positive_int,
    check_real,
    check_reals,
    check_seed,
    check_unit,
)
from specurate.bench.metrics import mean_ci, summarize
from specurate.bench.presets import STRATEGIES
from specurate.bench.result import RunResult
from specurate.bench.tasks import Task, check_task
from specurate.errors import SpecurateInputError

__all__ = ["NOISE_STRATEGIES", "NoiseConfig", "NoiseResult", "run_noise", "with_label_noise"]

#: strategies allowed here: every built-in one but the oracle (its free exact look would see
#: the noise)
NOISE_STRATEGIES: tuple[str, ...] = tuple(s for s in STRATEGIES if s != "oracle")


def with_label_noise(task: Task, rate: float, *, seed: int = 0) -> tuple[Task, np.ndarray]:
    """A copy of ``task`` whose training labels are corrupted at ``rate``, and the (n,) mask.

    ⌊rate·n⌉ examples (seeded choice) take the label of a uniformly drawn other example with a
    different label (classes: a different class drawn with the data's class frequencies;
    regression: another mode's target). Test data are unchanged.
    """
    rate = check_unit("noise rate", rate, closed=False)
    n = task.n_train
    y = np.array(task.y_train)
    rng = stream("experiments.noise.labels", seed)
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


@dataclass(frozen=True)
class NoiseConfig:
    """Settings of the label-noise experiment (see the module docstring).

    Attributes:
        task: a built-in or user task (classification or regression).
        rates: label-noise rates in [0, 1), distinct.
        strategies: names of :data:`NOISE_STRATEGIES`; uniform is always run, first (the
            other names keep their order).
        seeds: seeds per (rate, strategy): ``seed … seed + seeds − 1``.
        budget_passes: compute budget per run (backward + scoring passes).
        lr: one SGD learning rate, or None: each strategy at its best rate of
            :data:`specurate.bench.train.LR_GRID` on an independent CLEAN draw of the task
            (``make_task(seed + 1000)``; without ``make_task``, on ``task`` itself).
        seed: first seed (also seeds the corruption).
        make_task: ``make_task(seed) -> Task``, the draw the learning rates are tuned on.
    """

    task: Task
    rates: Sequence[float] = (0.0, 0.1, 0.3)
    strategies: Sequence[str] = ("uniform", "loss", "frontier", "infobatch")
    seeds: int = 3
    budget_passes: float = 5.0
    lr: float | None = None
    seed: int = 0
    make_task: Callable[[int], Task] | None = None

    def __post_init__(self) -> None:
        names = check_names("strategies", self.strategies, NOISE_STRATEGIES)
        fields = {
            "task": check_task(self.task),
            "rates": check_reals("rates", self.rates, lo=0.0, hi=1.0, hi_open=True, distinct=True),
            "strategies": ("uniform", *(s for s in names if s != "uniform")),
            "seeds": check_positive_int("seeds", self.seeds),
            "budget_passes": check_real("budget_passes", self.budget_passes, lo=0, lo_open=True),
            "lr": None if self.lr is None else check_real("lr", self.lr, lo=0, lo_open=True),
            "seed": check_seed(self.seed),
        }
        if self.make_task is not None and not callable(self.make_task):
            raise SpecurateInputError("make_task must be a function seed -> Task")
        for name, value in fields.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class NoiseResult:
    """The label-noise experiment: per noise rate, one row per strategy.

    Attributes:
        task: the clean task's name.
        description: the clean task's description.
        budget_passes: as configured.
        seeds: as configured.
        lr: {strategy: learning rate} (tuned on the clean task or as given).
        rates: per noise rate ``{"rate", "strategies": [row, …]}``; a row holds ``strategy``,
            clean ``test_loss`` / ``test_acc``, ``speedup`` (with ``speedup_lo`` /
            ``speedup_hi``, ``n_reached`` of ``n_compared``, the all-seed ``speedup_bound``;
            ``wall_speedup`` likewise) over uniform at the same rate, ``noisy_share`` /
            ``noisy_share_late`` of compute and ``share_curve`` ([[passes, share], …]).
    """

    task: str
    description: str
    budget_passes: float
    lr: Mapping[str, float]
    seeds: int
    rates: tuple[Mapping[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON document of the result (NaN and ±inf as None)."""
        return jsonable(
            {
                "task": self.task,
                "description": self.description,
                "budget_passes": self.budget_passes,
                "lr": dict(self.lr),
                "seeds": self.seeds,
                "rates": list(self.rates),
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NoiseResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            task=d["task"],
            description=d["description"],
            budget_passes=float(d["budget_passes"]),
            lr=dict(d["lr"]),
            seeds=int(d["seeds"]),
            rates=tuple(d["rates"]),
        )


def run_noise(config: NoiseConfig, *, progress: bool = False) -> NoiseResult:
    """Train every strategy at every noise rate (see the module docstring).

    Learning rates are chosen once, on the clean task (:func:`~specurate.bench.compare.
    learning_rates`); every noise rate is then one :func:`~specurate.bench.compare.
    compare_strategies` on the corrupted task with the same rates, tracking the mask.
    """
    from specurate.bench.compare import learning_rates

    task = config.task
    rates = learning_rates(
        config.make_task or (lambda _s: task),
        config.strategies,
        budget_passes=config.budget_passes,
        lr=config.lr,
        seed=config.seed,
        progress=progress,
    )
    blocks = tuple(_rate_block(config, r, rates, progress) for r in config.rates)
    return NoiseResult(
        task=task.name,
        description=task.description,
        budget_passes=float(config.budget_passes),
        lr=rates,
        seeds=config.seeds,
        rates=blocks,
    )


def _rate_block(
    config: NoiseConfig, rate: float, lrs: Mapping[str, float], progress: bool
) -> dict[str, Any]:
    """``{"rate", "strategies": rows}`` of one noise rate: every strategy trained on the
    corrupted task, the mislabeled share of compute tracked."""
    from specurate.bench.compare import compare_strategies

    noisy, mask = with_label_noise(config.task, rate, seed=config.seed)
    runs = compare_strategies(
        noisy,
        config.strategies,
        budget_passes=config.budget_passes,
        seeds=config.seeds,
        seed=config.seed,
        lr=lrs,
        track=mask,
        progress=progress,
        label=f"label noise {rate:.0%}",
    )
    rows = {row["strategy"]: row for row in summarize(runs)}
    per = [
        _strategy_row(rows[name], [r for r in runs if r.strategy == name])
        for name in config.strategies
    ]
    return {"rate": rate, "strategies": per}


def _strategy_row(row: Mapping[str, Any], runs: Sequence[RunResult]) -> dict[str, Any]:
    """One strategy at one noise rate: summary metrics and the noisy share of its compute."""
    shares = [_shares(x) for x in runs]
    return {
        "strategy": row["strategy"],
        "test_loss": row["test_loss"],
        "test_acc": row["test_acc"],
        "speedup": row["speedup"],
        "speedup_lo": row["speedup_lo"],
        "speedup_hi": row["speedup_hi"],
        "n_reached": row["n_reached"],
        "n_compared": row["n_compared"],
        "speedup_bound": row["speedup_bound"],
        "wall_speedup": row["wall_speedup"],
        "wall_speedup_lo": row["wall_speedup_lo"],
        "wall_speedup_hi": row["wall_speedup_hi"],
        "wall_speedup_bound": row["wall_speedup_bound"],
        "noisy_share": mean_ci([s[0] for s in shares])[0],
        "noisy_share_late": mean_ci([s[1] for s in shares])[0],
        "share_curve": _mean_share_curve(runs),
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
