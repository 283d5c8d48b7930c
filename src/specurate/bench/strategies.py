r"""The benchmark's built-in strategies, by name, with the settings every benchmark number uses.

Dynamic strategies re-plan ``replans`` times per pass (``epoch_length = n / replans``, rounded
down to whole training batches): in the data-rich regime a run is a few passes long, and a
strategy that re-plans once per pass adapts once or twice per run. InfoBatch-style keeps
full-pass epochs (its rule is defined per epoch) and anneals over the last 12.5% of ⌈budget⌉
epochs.

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
``random-subset``  :class:`~specurate.curation.StaticSubset`, keep a random 70% (static)
``balanced``       :class:`~specurate.curation.StaticWeights`, weight ∝ 1 / (size of the
                   example's group), capped at C = 50: every group gets the same total weight
                   (static; with classes as groups, the class-balanced reweighting)
=================  ============================================================================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from specurate.bench.tasks import Task
from specurate.errors import SpecurateInputError

__all__ = ["STRATEGIES", "make_strategy", "needs_oracle"]

STRATEGIES = ("uniform", "loss", "infobatch", "frontier", "oracle", "random-subset", "balanced")


def needs_oracle(name: str) -> bool:
    """Whether runs of ``name`` are trained with free exact residuals (the reference oracle)."""
    return name == "oracle"


def make_strategy(
    name: str, task: Task, *, budget_passes: float, replans: int = 10, batch_size: int = 128
) -> Any:
    """A fresh built-in strategy ``name`` for ``task`` (see the module table).

    Args:
        name: one of :data:`STRATEGIES`.
        task: the task (its size and groups).
        budget_passes: the run's compute budget (sets InfoBatch-style's annealing epochs).
        replans: plans per pass of the dynamic strategies (epoch length n / replans, rounded
            down to whole batches: no ragged last batch every plan).
        batch_size: the training batch size the epoch length is rounded to.
    """
    from specurate import curation

    if int(replans) != replans or replans < 1:
        raise SpecurateInputError(f"replans must be a positive integer, got {replans}")
    n = task.n_train
    m = max(1, n // int(replans))
    if m > batch_size:
        m -= m % int(batch_size)
    if name == "uniform":
        return curation.Uniform()
    if name == "loss":
        return curation.LossProportional(cap=5.0, epoch_length=m)
    if name == "infobatch":
        return curation.InfoBatchStyle(prune=0.5, total_epochs=max(1, math.ceil(budget_passes)))
    if name in ("frontier", "oracle"):
        if task.groups is None:
            raise SpecurateInputError(f"task {task.name!r} has no mode groups for the {name}")
        if name == "oracle" and task.test_groups is None:
            raise SpecurateInputError(
                f"the true frontier oracle needs known modes; task {task.name!r} has none "
                "(use a synthetic task: mode-local or clusters)"
            )
        frontier = curation.FrontierSampler(
            soft=True,
            power=1.0,
            floor=0.01,
            balance=True,
            cap=50.0,
            cap_growth=0.5,
            horizon=None if name == "oracle" else 256,
            epoch_length=m,
        )
        return curation.bind(frontier, groups=np.asarray(task.groups))
    if name == "balanced":
        if task.groups is None:
            raise SpecurateInputError(f"task {task.name!r} has no groups to balance")
        g = np.unique(np.asarray(task.groups), return_inverse=True)[1].reshape(-1)
        return curation.bind(curation.StaticWeights(cap=50.0), scores=1.0 / np.bincount(g)[g])
    if name == "random-subset":
        return curation.StaticSubset(keep=0.7, prefer="random")
    raise SpecurateInputError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
