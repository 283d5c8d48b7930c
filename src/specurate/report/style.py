"""One look for every figure and table: colours by name, number formats, new figures.

* :func:`color` gives a strategy, policy or scorer the same colour in every figure of a report
  (uniform and the baseline are always black; every other built-in name has its own colour in
  :data:`COLORS`, and a name this module does not know takes a stable hash slot of a palette
  that shares no colour with them).
* :func:`fmt`, :func:`fmt_ci`, :func:`fmt_est` format numbers, intervals and estimates the same
  way in terminal tables, HTML and plot labels (``—`` for a missing or non-finite value).
* :func:`legend_outside` puts a legend beside the axes, never over the data.
* :func:`new_figure` makes a matplotlib Figure WITHOUT pyplot: importing or using this module
  never changes the caller's matplotlib backend.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "BASELINE_NAMES",
    "COLORS",
    "FIGURE_SUFFIXES",
    "color",
    "fmt",
    "fmt_ci",
    "fmt_est",
    "fmt_speedup",
    "legend_outside",
    "new_figure",
]

#: the figure files :func:`specurate.report.plots.save` writes (format from the suffix)
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")

#: fixed colours of the built-in names (strategies, simulator policies, static scorers, span
#: sources): every name its own colour, except the baseline's aliases (black). Names drawn
#: together in one figure also differ in hue; a simulator policy that models a real strategy
#: takes a darker shade of that strategy's hue (oracle → oracle (κ=10), loss → self-score).
COLORS: dict[str, str] = {
    # the baseline, under every name a figure gives it
    "uniform": "black",
    "baseline": "black",
    "full data": "black",
    "none": "black",
    # real-training strategies (specurate.bench.presets.STRATEGIES)
    "oracle": "#9467bd",  # purple
    "frontier": "#d62728",  # red
    "loss": "#ff7f0e",  # orange
    "infobatch": "#bcbd22",  # olive
    "balanced": "#17becf",  # cyan
    "random-subset": "#7f7f7f",  # grey
    # the separation experiment (static envelopes: one shade of blue per bound, darker = larger)
    "greedy": "#2ca02c",  # green
    "frontier-fixed": "#e377c2",  # pink
    "static C=4": "#9ecae1",
    "static C=16": "#6baed6",
    "static C=64": "#3182bd",
    "static C=256": "#08519c",
    "static C=inf": "#08306b",
    # static pruning scorers (specurate.bench.static_sweep.SCORERS)
    "random": "#8c564b",  # brown
    "el2n": "#393b79",  # navy
    "prototype": "#637939",  # moss
    # sources of the span experiment's second stage
    "self": "#7b4173",  # plum
    "self-sampled": "#e6ab02",  # gold
    "teacher": "#35978f",  # teal
    "real": "#843c39",  # dark red
    # simulator policies (specurate.dynamics.compare.default_policies)
    "static (prune 50% of head)": "#8c6d31",  # dark gold
    "oracle (κ=10)": "#5e3c99",  # dark purple
    "oracle (κ grows)": "#b294c7",  # lavender
    "soft-oracle": "#c51b7d",  # magenta
    "self-score": "#d95f02",  # dark orange
    "self-score, 10% label noise": "#fdb462",  # light orange
    "probe": "#b2182b",  # crimson
    "ensemble (co-evolving)": "#66a61e",  # leaf green
    "ensemble (fixed)": "#a6d96a",  # light green
    "real data only (span)": "#4d4d4d",  # dark grey
    "synthetic-teacher": "#01665e",  # dark teal
    "synthetic-self": "#80cdc1",  # light teal
}

#: the names drawn as the baseline (black); every other name in :data:`COLORS` is unique
BASELINE_NAMES = frozenset(n for n, c in COLORS.items() if c == "black")

#: colours of names this module does not know: none of them is a colour of :data:`COLORS`
_FALLBACK = (
    "#6b6ecf",
    "#e7ba52",
    "#ad494a",
    "#ce6dbd",
    "#5254a3",
    "#b5cf6b",
    "#fd8d3c",
    "#74c476",
    "#9c9ede",
    "#e7969c",
)


def color(name: str) -> str:
    """The colour of ``name`` in every figure: :data:`COLORS`, else a stable hash slot."""
    if name in COLORS:
        return COLORS[name]
    return _FALLBACK[zlib.crc32(name.encode()) % len(_FALLBACK)]


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def fmt(v: Any, spec: str = ".3g") -> str:
    """``format(v, spec)``, or ``—`` for None / NaN / ±inf / non-numbers."""
    return format(float(v), spec) if _finite(v) else "—"


def fmt_ci(ci: Sequence[Any] | None, spec: str = ".3f") -> str:
    """``[lo, hi]``, or ``—`` when the interval is missing or not finite."""
    if ci is None or len(ci) != 2 or not (_finite(ci[0]) and _finite(ci[1])):
        return "—"
    return f"[{float(ci[0]):{spec}}, {float(ci[1]):{spec}}]"


def fmt_est(v: Any, lo: Any = None, hi: Any = None, spec: str = ".4g", ci_spec: str = ".3g") -> str:
    """An estimate with its interval: ``v [lo, hi]`` (or ``v`` alone, or ``—``)."""
    if not _finite(v):
        return "—"
    if _finite(lo) and _finite(hi):
        return f"{float(v):{spec}} [{float(lo):{ci_spec}}, {float(hi):{ci_spec}}]"
    return format(float(v), spec)


def fmt_speedup(
    row: Any, key: str = "speedup", *, reached: str = "n_reached", spec: str = ".3g"
) -> str:
    """A speed-up cell that never hides a censored seed: ``v [lo, hi] (k/n)``, and when fewer
    than n seeds reach the target, ``, all ≤ B`` — the all-seed bound with every censored seed
    at its upper bound (``<key>_bound``; :func:`specurate.bench.metrics.speedup_vs_uniform`)."""
    cell = fmt_est(row.get(key), row.get(f"{key}_lo"), row.get(f"{key}_hi"), spec, spec)
    k, n = row.get(reached), row.get("n_compared")
    if not (_finite(row.get(key)) or _finite(row.get(f"{key}_bound"))):
        return cell  # nothing measured (e.g. accuracy on a regression task)
    if n:
        cell += f" ({k}/{n})"
        bound = row.get(f"{key}_bound")
        if k is not None and k < n and _finite(bound):
            cell += f", all ≤ {float(bound):{spec}}"
    return cell


def new_figure(
    ncols: int = 1, *, width: float = 5.2, height: float = 3.8
) -> tuple[Figure, list[Axes]]:
    """A Figure with ``ncols`` axes side by side (constrained layout), made without pyplot."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)
    return fig, list(axes[0])


def legend_outside(ax: Axes, handles: list | None = None, labels: list | None = None) -> None:
    """A small legend to the right of ``ax``, outside the data (constrained layout makes room);
    ``handles``/``labels`` default to the axes' own."""
    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            fontsize=7,
            frameon=False,
        )
