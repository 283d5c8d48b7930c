r"""Groups as modes: what curation can buy on a data set's own groups (``specurate run --groups``).

Treat each group g (a class, a source, a cluster) as one mode of a mode-local model: a batch
draws group g with probability p_g (its share of the examples), a step of rate η on ½ squared
error shrinks the group's residual by (1 − η n_g/B), and the test set counts every group
equally, so each group starts with energy e_g = 1/K (:mod:`specurate.dynamics.allocation`).
In that model the expected loss of every sampling rule is exact, so for a budget of S steps
the report gives, in closed form:

* uniform sampling (q = p): the baseline;
* the best static rule bounded by C (weights q_g/p_g ≤ C, tuned to the budget with the true
  losses: an upper bound on every static rule with that bound — Theorem 1 caps its speed-up
  near C);
* the best unbounded rule, which a dynamic rule re-planned on the current group losses also
  reaches (the greedy rule of :mod:`specurate.bench.separation`), and the largest weight it uses.

Speed-up: the steps uniform needs to reach a rule's loss at S, over S. The group masses'
power-law exponent (p_(k) ∝ k^−β over ranks k) says how long the tail is: the larger the
imbalance, the more a rule that re-weights the tail can buy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from specurate.dynamics.allocation import allocation_speedups
from specurate.dynamics.fit import ols_slope
from specurate.errors import SpecurateInputError

__all__ = ["analyse_groups"]

#: SGD rate and batch of the mode-local model (η q ≤ 1: no step overshoots)
LR = 1.0
BATCH = 1024
CAPS = (2.0, 4.0, 16.0)


def analyse_groups(
    groups: np.ndarray, names: Sequence[str] | None = None, *, budgets: int = 6
) -> dict[str, Any]:
    """Group masses and the closed-form speed-ups of curation on them.

    Args:
        groups: (n,) integer group codes (0 … K − 1), one per example.
        names: K group names (default the codes).
        budgets: number of step budgets, geometric from 1/(η p_max) to 10/(η p_min) (from
            "the largest group is learned" to "uniform has learned the smallest group too").

    Returns:
        ``n_groups``, ``names`` and ``mass`` (descending), ``mass_exponent`` β (least squares of
        ln p on ln rank; None for fewer than 3 groups), ``imbalance`` p_max/p_min, and the
        :func:`~specurate.dynamics.allocation.allocation_speedups` table (``budgets``,
        ``uniform_loss``, ``rules``), plus ``lr`` and ``batch``.
    """
    g = np.asarray(groups)
    if g.ndim != 1 or g.size == 0 or not np.issubdtype(g.dtype, np.integer):
        raise SpecurateInputError("groups must be a non-empty (n,) array of integer codes")
    counts = np.bincount(g - g.min()) if g.min() < 0 else np.bincount(g)
    present = np.flatnonzero(counts)
    if present.size < 2:
        raise SpecurateInputError("the groups analysis needs at least 2 groups")
    labels = [str(i) for i in present] if names is None else [str(names[int(i)]) for i in present]
    order = np.argsort(-counts[present], kind="stable")
    p = counts[present][order] / counts.sum()
    k = p.size
    beta = None
    if k >= 3:
        beta = -ols_slope(np.log(np.arange(1, k + 1)), np.log(p))
    steps = np.unique(np.geomspace(1.0 / (LR * p[0]), 10.0 / (LR * p[-1]), budgets).round())
    table = allocation_speedups(
        np.full(k, 1.0 / k), p, lr=LR, batch=BATCH, budgets=steps.astype(int), caps=CAPS
    )
    return {
        "n_groups": int(k),
        "names": [labels[i] for i in order],
        "mass": p.tolist(),
        "mass_exponent": beta,
        "imbalance": float(p[0] / p[-1]),
        "lr": LR,
        "batch": BATCH,
        **table,
    }
