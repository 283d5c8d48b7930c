r"""Experiment 2 of the paper (theory.md §6): how much of the frontier oracle's gain do practical
strategies recover — in real training, at the sample level, and in the simulator?

Three settings of the same question, on the same power law (a, b):

1. **Real training** (:func:`specurate.bench.train`) on the mode-local regression task
   (:func:`specurate.bench.tasks.mode_local`, p_k ∝ k^−b, energy ∝ k^−a): uniform, the TRUE
   frontier oracle (free exact residuals of every example before each plan), the practical
   frontier sampler, loss-proportional sampling, InfoBatch-style pruning and a static random
   subset. Speed-up s = uniform's passes / the strategy's passes to uniform's final test loss
   (geometric mean over seeds, t CI); the fraction of the oracle's gain recovered is
   ln s / ln s_oracle.
2. **Sample level** (:func:`specurate.dynamics.samples.compare_families`): gradient descent on
   explicit examples of the same (a, b) with the soft oracle's intended mode weights turned into
   example weights — mode-local clusters realize them, Gaussian data cannot (each example
   touches every mode). Reported: the realized speed-up next to the exact mode-space one.
3. **Simulator** (:func:`specurate.dynamics.compare.compare`): the exact mode-space dynamics of
   every policy; fraction of the reference oracle's log speed-up each recovers (open question 2).
   Mapping to the real strategies: frontier ↔ ``probe`` (a frontier estimate with lag and
   noise), loss-proportional ↔ ``self-score``. InfoBatch-style is unbiased importance sampling:
   its operator is uniform's, so the simulator's prediction for it is no gain.

The simulator's oracle (κ = 10, budget-paid weights) and the real oracle (the frontier sampler
with exact information and a growing bound) are different objects: compare the FRACTIONS, not
the raw speed-ups, whose time axes differ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from specurate._json import jsonable
from specurate._validate import check_bool, check_positive_int, check_real, check_reals, check_seed
from specurate.bench.presets import STRATEGIES
from specurate.bench.result import RunResult
from specurate.bench.tasks import Task

__all__ = [
    "ORACLE_STRATEGIES",
    "SIMULATOR_ANALOGUE",
    "OracleConfig",
    "OracleResult",
    "run_oracle",
]

SIMULATOR_ANALOGUE = {
    "oracle": "oracle (κ=10)",
    "frontier": "probe",
    "loss": "self-score",
}

#: the strategies trained, in report order: every built-in one
ORACLE_STRATEGIES = STRATEGIES


@dataclass(frozen=True)
class OracleConfig:
    """Settings of the oracle-approximation experiment (see the module docstring).

    Attributes:
        a: the target's exponent: energy ∝ k^−a, a > 1.
        b: the modes' exponent: frequency ∝ k^−b, b > 0.
        n_train: training examples of the mode-local task (``noise=0``: x is the mode's centre).
        n_modes: modes of the mode-local task.
        budget_passes: compute per real-training run (backward + scoring passes).
        seeds: real-training seeds per strategy (``seed … seed + seeds − 1``; task seed
            ``seed``).
        seed: the first seed.
        lr: one SGD learning rate for every strategy, or None: each strategy at its best rate
            of ``lr_grid`` (default :data:`specurate.bench.train.LR_GRID`), tuned on an
            independent draw of the task (:func:`specurate.bench.train.tune_lr`).
        lr_grid: candidate learning rates (None: the default grid).
        simulate: also run the simulator on (a, b).
        sample_level: also run the sample-level comparison.
    """

    a: float = 2.0
    b: float = 1.5
    n_train: int = 200_000
    n_modes: int = 300
    budget_passes: float = 3.0
    seeds: int = 3
    seed: int = 0
    lr: float | None = None
    lr_grid: Sequence[float] | None = None
    simulate: bool = True
    sample_level: bool = True

    def __post_init__(self) -> None:
        lr, grid = self.lr, self.lr_grid
        fields = {
            "a": check_real("a", self.a, lo=1.0, lo_open=True),
            "b": check_real("b", self.b, lo=0.0, lo_open=True),
            "n_train": check_positive_int("n_train", self.n_train),
            "n_modes": check_positive_int("n_modes", self.n_modes),
            "budget_passes": check_real("budget_passes", self.budget_passes, lo=0, lo_open=True),
            "seeds": check_positive_int("seeds", self.seeds),
            "seed": check_seed(self.seed),
            "lr": None if lr is None else check_real("lr", lr, lo=0, lo_open=True),
            "lr_grid": None if grid is None else check_reals("lr_grid", grid, lo=0, lo_open=True),
            "simulate": check_bool("simulate", self.simulate),
            "sample_level": check_bool("sample_level", self.sample_level),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def make_task(self, seed: int) -> Task:
        """The mode-local task of draw ``seed``."""
        from specurate.bench.tasks import mode_local

        return mode_local(
            n_train=self.n_train, n_modes=self.n_modes, a=self.a, b=self.b, seed=seed, noise=0.0
        )


@dataclass(frozen=True)
class OracleResult:
    """The three settings of the oracle experiment.

    Attributes:
        a: as configured.
        b: as configured.
        budget_passes: as configured.
        seeds: as configured.
        task: the task's description.
        lr: {strategy: learning rate}.
        real: one summary row per strategy (:func:`specurate.bench.metrics.summarize`:
            speed-up with CI, ``oracle_fraction`` = ln s / ln s_oracle, test loss …).
        runs: every real-training run, seed-major.
        sample_level: {data family: speedup, mode_space_speedup, realized_fraction}, or None
            when not run.
        simulator: one row per simulator policy (loss exponent, speed-up at target, fractions
            of the oracle's gain recovered), or None when not run.
    """

    a: float
    b: float
    task: str
    budget_passes: float
    seeds: int
    lr: Mapping[str, float]
    real: tuple[Mapping[str, Any], ...]
    runs: tuple[RunResult, ...]
    sample_level: Mapping[str, Mapping[str, Any]] | None = None
    simulator: tuple[Mapping[str, Any], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON document of the result (NaN and ±inf as None; the settings not run
        are left out)."""
        out: dict[str, Any] = {
            "a": self.a,
            "b": self.b,
            "task": self.task,
            "budget_passes": self.budget_passes,
            "seeds": self.seeds,
            "lr": dict(self.lr),
            "real": list(self.real),
            "runs": [r.to_dict() for r in self.runs],
        }
        if self.sample_level is not None:
            out["sample_level"] = dict(self.sample_level)
        if self.simulator is not None:
            out["simulator"] = list(self.simulator)
        return jsonable(out)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OracleResult:
        """Inverse of :meth:`to_dict`."""
        sim = d.get("simulator")
        return cls(
            a=d["a"],
            b=d["b"],
            task=d["task"],
            budget_passes=d["budget_passes"],
            seeds=d["seeds"],
            lr=dict(d["lr"]),
            real=tuple(d["real"]),
            runs=tuple(RunResult.from_dict(r) for r in d["runs"]),
            sample_level=d.get("sample_level"),
            simulator=None if sim is None else tuple(sim),
        )


def run_oracle(config: OracleConfig, *, progress: bool = False) -> OracleResult:
    """Run the three settings (see the module docstring)."""
    from specurate.bench.metrics import summarize

    task = config.make_task(config.seed)
    rates, runs = _real_training(config, task, progress)
    return OracleResult(
        a=config.a,
        b=config.b,
        task=task.description,
        budget_passes=config.budget_passes,
        seeds=config.seeds,
        lr=rates,
        real=tuple(summarize(runs)),
        runs=tuple(runs),
        sample_level=_sample_level(config) if config.sample_level else None,
        simulator=tuple(_simulator(config)) if config.simulate else None,
    )


def _real_training(
    config: OracleConfig, task: Task, progress: bool
) -> tuple[dict[str, float], list[RunResult]]:
    """Learning rates (tuned on draw ``seed + 1000`` unless given) and every run on ``task``
    (draw ``seed``), by the one comparison loop."""
    from specurate.bench.compare import compare_strategies, learning_rates

    rates = learning_rates(
        config.make_task,
        ORACLE_STRATEGIES,
        budget_passes=config.budget_passes,
        lr=config.lr,
        lr_grid=config.lr_grid,
        seed=config.seed,
        progress=progress,
    )
    runs = compare_strategies(
        task,
        ORACLE_STRATEGIES,
        budget_passes=config.budget_passes,
        seeds=config.seeds,
        seed=config.seed,
        lr=rates,
        progress=progress,
        label="oracle experiment: training",
    )
    return rates, runs


def _sample_level(config: OracleConfig) -> dict[str, dict[str, float]]:
    """The soft oracle on explicit examples of the same (a, b): realized vs mode-space
    speed-up per data family."""
    from specurate.dynamics.policies import SoftOracle
    from specurate.dynamics.samples import compare_families

    fam = compare_families(SoftOracle(), a=config.a, b=config.b, seed=config.seed, lr_factor=0.1)
    return {
        k: {
            "speedup": v["speedup"],
            "mode_space_speedup": v["mode_space_speedup"],
            "realized_fraction": (
                math.log(v["speedup"]) / math.log(v["mode_space_speedup"])
                if v["speedup"] > 0 and v["mode_space_speedup"] > 1
                else math.nan
            ),
        }
        for k, v in fam["families"].items()
    }


def _simulator(config: OracleConfig) -> list[dict[str, Any]]:
    """The simulator's exact mode-space dynamics of every policy."""
    from specurate.dynamics.compare import compare

    cmp = compare(
        config.a, config.b, n_modes=20_000, t_max=1e5, mass_modes=200_000, seed=config.seed
    )
    return [
        {
            "policy": r.label,
            "loss_exponent": r.loss.exponent,
            "speedup_at_target": r.speedup_at_target,
            "exponent_gain_recovered": r.exponent_gain_recovered,
            "time_gain_recovered": r.time_gain_recovered,
        }
        for r in cmp.rows
    ]
