r"""Presets as data: the built-in strategies' settings and the built-in studies' task sizes.

Every benchmark number of specurate is produced by a strategy of :data:`STRATEGY_PRESETS` on a
task of :data:`specurate.bench.tasks.TASKS`. A preset names the strategy family (``kind``) and
its settings; :func:`specurate.bench.strategies.make_strategy` turns it into a fresh strategy
for a task. Change a setting here and every command (``bench``, ``run``, the experiments)
follows.

Dynamic strategies re-plan ``replans`` times per pass (``epoch_length = n / replans``, rounded
down to whole training batches): in the data-rich regime a run is a few passes long, and a
strategy that re-plans once per pass adapts once or twice per run. InfoBatch-style keeps
full-pass epochs (its rule is defined per epoch) and anneals over the last 12.5% of ⌈budget⌉
epochs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "STRATEGIES",
    "STRATEGY_PRESETS",
    "STUDY_SEPARATION",
    "STUDY_TASKS",
    "StrategyPreset",
    "StudyTask",
]

Kind = Literal[
    "uniform", "loss", "infobatch", "frontier", "frontier-eigen", "balanced", "random-subset"
]


@dataclass(frozen=True)
class StrategyPreset:
    """A built-in strategy: its family, settings and what it needs from the task.

    Attributes:
        name: the name used on the command line and in results.
        kind: the strategy family (the builder in :mod:`specurate.bench.strategies`).
        summary: one line for help texts and reports.
        settings: keyword arguments of the family's constructor.
        needs_groups: the task must have ``groups`` (modes or classes).
        oracle: trained with free exact residuals (``train(..., oracle=True)``); the task must
            know its true modes (``test_groups``).
    """

    name: str
    kind: Kind
    summary: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    needs_groups: bool = False
    oracle: bool = False


_FRONTIER = MappingProxyType(
    {
        "soft": True,
        "power": 1.0,
        "floor": 0.01,
        "balance": True,
        "cap": 50.0,
        "cap_growth": 0.5,
        "horizon": 256,
    }
)

_EIGEN = MappingProxyType(
    {
        "soft": True,
        "power": 1.0,
        "floor": 0.01,
        "cap": 50.0,
        "cap_growth": 0.5,
        "rank": 32,
    }
)

STRATEGY_PRESETS: Mapping[str, StrategyPreset] = MappingProxyType(
    {
        p.name: p
        for p in (
            StrategyPreset("uniform", "uniform", "uniform sampling (the control)"),
            StrategyPreset(
                "loss",
                "loss",
                "loss-proportional sampling, cap C = 5, reweighted",
                {"cap": 5.0},
            ),
            StrategyPreset(
                "infobatch",
                "infobatch",
                "InfoBatch-style pruning of low-loss examples, prune 0.5 (unbiased)",
                {"prune": 0.5},
            ),
            StrategyPreset(
                "frontier",
                "frontier",
                "frontier sampler on the task's groups: soft rule ω_k = max(u_k, 0.01) per mode, "
                "moving-average residuals over 256 observations, bound C(e) = 50(1+e)^½",
                _FRONTIER,
                needs_groups=True,
            ),
            StrategyPreset(
                "oracle",
                "frontier",
                "the TRUE frontier oracle: the frontier sampler fed the exact losses of every "
                "training example before each plan, free (synthetic tasks only)",
                MappingProxyType({**_FRONTIER, "horizon": None}),
                needs_groups=True,
                oracle=True,
            ),
            StrategyPreset(
                "frontier-eigen",
                "frontier-eigen",
                "frontier sampler on the top 32 eigen-directions of the training inputs (no "
                "known modes): soft rule ω_k = max(u_k, 0.01), bound C(e) = 50(1+e)^½",
                _EIGEN,
            ),
            StrategyPreset(
                "oracle-eigen",
                "frontier-eigen",
                "frontier-eigen fed the exact residuals of every training example before each "
                "plan, free (the ceiling of the rule on these directions)",
                _EIGEN,
                oracle=True,
            ),
            StrategyPreset(
                "random-subset",
                "random-subset",
                "static: keep a random 70%",
                {"keep": 0.7, "prefer": "random"},
            ),
            StrategyPreset(
                "balanced",
                "balanced",
                "static: weight ∝ 1 / (size of the example's group), capped at C = 50",
                {"cap": 50.0},
                needs_groups=True,
            ),
        )
    }
)

#: every built-in strategy of the default comparisons, in the order results list them (the
#: eigen-direction frontier, ``frontier-eigen`` / ``oracle-eigen``, is asked for by name)
STRATEGIES: tuple[str, ...] = (
    "uniform",
    "oracle",
    "frontier",
    "loss",
    "infobatch",
    "balanced",
    "random-subset",
)


@dataclass(frozen=True)
class StudyTask:
    """A real-training part of ``specurate run``: a task, its size, strategies and budget."""

    key: str
    title: str
    task: str
    task_kwargs: Mapping[str, Any]
    strategies: tuple[str, ...]
    seeds: int
    budget_passes: float
    lr_grid: tuple[float, ...] = (0.1, 0.2, 0.4)


#: the real-training parts of ``specurate run`` (``quick`` → its smaller study)
STUDY_TASKS: Mapping[bool, tuple[StudyTask, ...]] = MappingProxyType(
    {
        True: (
            StudyTask(
                "train-mode-local",
                "real training on mode-local regression (true modes known)",
                "mode-local",
                MappingProxyType({"n_train": 20_000, "n_modes": 50}),
                STRATEGIES,
                seeds=2,
                budget_passes=3.0,
            ),
        ),
        False: (
            StudyTask(
                "train-mode-local",
                "real training on mode-local regression (true modes known)",
                "mode-local",
                MappingProxyType({"n_train": 100_000, "n_modes": 300}),
                STRATEGIES,
                seeds=3,
                budget_passes=3.0,
            ),
            StudyTask(
                "train-mnist1d-longtail",
                "real training on long-tailed mnist1d (classes ∝ k^-1.5, balanced test)",
                "mnist1d-longtail",
                MappingProxyType({"n_train": 50_000}),
                tuple(s for s in STRATEGIES if s != "oracle"),
                seeds=3,
                budget_passes=5.0,
            ),
        ),
    }
)


#: the study's static-vs-dynamic separation (:class:`specurate.bench.separation.SeparationConfig`
#: settings), by ``quick``: budgets span 1.5 (quick) and 2 decades of steps
STUDY_SEPARATION: Mapping[bool, Mapping[str, Any]] = MappingProxyType(
    {
        True: MappingProxyType(
            {"modes": 5000, "batch": 512, "budgets": (10, 30, 100, 300), "seeds": 2}
        ),
        False: MappingProxyType(
            {"modes": 20_000, "batch": 1024, "budgets": (30, 100, 300, 1000, 3000), "seeds": 3}
        ),
    }
)
