"""Figure of the groups-as-modes analysis (:func:`specurate.bench.groups.analyse_groups`): the
group masses by rank, and each allocation rule's speed-up over uniform sampling by budget."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specurate.report.style import color, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["groups_figure", "plot_groups"]


def groups_figure(res: Mapping[str, Any]) -> Figure:
    """Left: mass p_k of the k-th largest group (log-log), with the fitted k^−β. Right: speed-up
    of each rule over uniform vs the budget in steps (dotted: each static rule's bound C)."""
    fig, (a1, a2) = new_figure(2, width=5.4)
    p = np.asarray(res["mass"], dtype=float)
    k = np.arange(1, p.size + 1)
    a1.plot(k, p, marker="o", ms=3, lw=1, color="black", label="group mass")
    beta = res.get("mass_exponent")
    if beta is not None:
        c = np.exp(np.mean(np.log(p) + beta * np.log(k)))
        a1.plot(k, c * k**-beta, ls="--", lw=1, color="tab:gray", label=f"k^−{beta:.2f}")
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlabel("group rank k (largest first)")
    a1.set_ylabel("share of the examples p_k")
    a1.legend(fontsize=8, loc="lower left")
    budgets = np.asarray(res["budgets"], dtype=float)
    for name, row in res["rules"].items():
        if name.startswith("static C="):
            a2.axhline(float(name.split("=")[1]), color=color(name), lw=0.8, ls=":")
        a2.plot(
            budgets,
            row["speedup"],
            marker="o",
            ms=3,
            ls="--" if name.startswith("static") else "-",
            color=color(name),
            label=name,
        )
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("budget (steps)")
    a2.set_ylabel("speed-up over uniform (steps to its loss)")
    a2.legend(fontsize=8, loc="upper left")
    return fig


def plot_groups(res: Mapping[str, Any], path: str | Path) -> Path:
    """Save :func:`groups_figure` (format from the suffix) and return the path."""
    from specurate.report.plots import save

    return save(groups_figure(res), path)
