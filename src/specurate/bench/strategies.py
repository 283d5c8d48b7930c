r"""Built-in strategies by name: :data:`~specurate.bench.presets.STRATEGY_PRESETS` made concrete
for a task.

=================  ============================================================================
name               strategy
=================  ============================================================================
``uniform``        :class:`~specurate.curation.Uniform` (the control)
``loss``           :class:`~specurate.curation.LossProportional`, cap C = 5, reweight
``infobatch``      :class:`~specurate.curation.InfoBatchStyle`, prune 0.5 (unbiased)
``frontier``       :class:`~specurate.curation.FrontierSampler` on the task's groups (true modes
                   on synthetic tasks, classes on real ones): soft rule ω_k = max(u_k, 0.01)
                   (u_k the relative residual amplitude) per MODE (``balance``: a mode's total
                   weight ∝ ω_k, however rare it is), moving-average residuals over 256
                   observations per group, bound C(e) = 50(1+e)^½ (e = plan index)
``oracle``         the TRUE frontier oracle: the same sampler fed the exact losses of every
                   training example before each plan, free (``train(..., oracle=True)``); only
                   on tasks whose true modes are known (``task.test_groups``)
``frontier-eigen`` the frontier sampler on the top 32 eigen-directions of the training inputs
                   (no known modes: real data), fed signed residuals; soft rule
                   ω_k = max(u_k, 0.01), bound C(e) = 50(1+e)^½
``oracle-eigen``   ``frontier-eigen`` fed the exact residuals of every training example before
                   each plan, free (its ceiling)
``random-subset``  :class:`~specurate.curation.StaticSubset`, keep a random 70% (static)
``balanced``       :class:`~specurate.curation.StaticWeights`, weight ∝ 1 / (size of the
                   example's group), capped at C = 50: every group gets the same total weight
                   (static; with classes as groups, the class-balanced reweighting)
=================  ============================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from specurate._validate import check_choice, check_positive_int
from specurate.bench.presets import STRATEGIES, STRATEGY_PRESETS, StrategyPreset
from specurate.bench.tasks import Task
from specurate.errors import SpecurateInputError

__all__ = ["STRATEGIES", "make_strategy", "needs_oracle"]


def needs_oracle(name: str) -> bool:
    """Whether runs of ``name`` are trained with free exact residuals (the reference oracle)."""
    return STRATEGY_PRESETS[name].oracle if name in STRATEGY_PRESETS else False


def _group_index(task: Task) -> np.ndarray:
    return np.unique(np.asarray(task.groups), return_inverse=True)[1].reshape(-1)


def _uniform(p: StrategyPreset, task: Task, m: int, budget: float) -> Any:
    from specurate import curation

    return curation.Uniform(**p.settings)


def _loss(p: StrategyPreset, task: Task, m: int, budget: float) -> Any:
    from specurate import curation

    return curation.LossProportional(**p.settings, epoch_length=m)


def _infobatch(p: StrategyPreset, task: Task, m: int, budget: float) -> Any:
    from specurate import curation

    return curation.InfoBatchStyle(**p.settings, total_epochs=max(1, math.ceil(budget)))


def _frontier(p: StrategyPreset, task: Task, m: int, budget: float) -> Any:
    from specurate import curation

    frontier = curation.FrontierSampler(**p.settings, epoch_length=m)
    return curation.bind(frontier, groups=np.asarray(task.groups))


def _frontier_eigen(p: StrategyPreset, task: Task, m: int, budget: float) -> Any:
    from specurate import curation

    frontier = curation.FrontierSampler(**p.settings, epoch_length=m)
    return curation.bind(frontier, features=np.asarray(task.x_train, dtype=np.float64))


def _balanced(p: StrategyPreset, task: Task, m: int, budget: float) -> Any:
    from specurate import curation

    g = _group_index(task)
    return curation.bind(curation.StaticWeights(**p.settings), scores=1.0 / np.bincount(g)[g])


def _random_subset(p: StrategyPreset, task: Task, m: int, budget: float) -> Any:
    from specurate import curation

    return curation.StaticSubset(**p.settings)


_BUILDERS: dict[str, Callable[[StrategyPreset, Task, int, float], Any]] = {
    "uniform": _uniform,
    "loss": _loss,
    "infobatch": _infobatch,
    "frontier": _frontier,
    "frontier-eigen": _frontier_eigen,
    "balanced": _balanced,
    "random-subset": _random_subset,
}


def make_strategy(
    name: str, task: Task, *, budget_passes: float, replans: int = 10, batch_size: int = 128
) -> Any:
    """A fresh built-in strategy ``name`` for ``task`` (see the module table).

    Args:
        name: one of :data:`STRATEGIES` (a key of
            :data:`~specurate.bench.presets.STRATEGY_PRESETS`).
        task: the task (its size and groups).
        budget_passes: the run's compute budget (sets InfoBatch-style's annealing epochs).
        replans: plans per pass of the dynamic strategies (epoch length n / replans, rounded
            down to whole batches: no ragged last batch every plan).
        batch_size: the training batch size the epoch length is rounded to.
    """
    replans = check_positive_int("replans", replans)
    preset = STRATEGY_PRESETS[check_choice("strategy", name, STRATEGY_PRESETS)]
    if preset.needs_groups and task.groups is None:
        what = "mode groups for the " + name if preset.kind == "frontier" else "groups to balance"
        raise SpecurateInputError(f"task {task.name!r} has no {what}")
    if preset.oracle and preset.needs_groups and task.test_groups is None:
        raise SpecurateInputError(
            f"the true frontier oracle needs known modes; task {task.name!r} has none "
            "(use a synthetic task: mode-local or clusters)"
        )
    m = max(1, task.n_train // replans)
    if m > batch_size:
        m -= m % int(batch_size)
    return _BUILDERS[preset.kind](preset, task, m, budget_passes)
