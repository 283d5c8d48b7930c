"""One look for every figure and table: colours by name, number formats, new figures.

* :func:`color` gives a strategy, policy or scorer the same colour in every figure of a report
  (uniform and the baseline are always black; other names take a fixed slot of the ``tab10``
  palette, then a stable hash slot of ``tab20`` for names this module does not know).
* :func:`fmt`, :func:`fmt_ci`, :func:`fmt_est` format numbers, intervals and estimates the same
  way in terminal tables, HTML and plot labels (``—`` for a missing or non-finite value).
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
    "COLORS",
    "FIGURE_SUFFIXES",
    "color",
    "fmt",
    "fmt_ci",
    "fmt_est",
    "fmt_speedup",
    "new_figure",
]

#: the figure files :func:`specurate.report.plots.save` writes (format from the suffix)
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")

#: fixed colours of the built-in names (strategies, simulator policies, static scorers)
COLORS: dict[str, str] = {
    "uniform": "black",
    "baseline": "black",
    "full data": "black",
    "oracle": "tab:purple",
    "frontier": "tab:red",
    "loss": "tab:orange",
    "infobatch": "tab:olive",
    "balanced": "tab:blue",
    "random-subset": "tab:gray",
    "random": "tab:blue",
    "el2n": "tab:red",
    "prototype": "tab:green",
    # the separation experiment (static envelopes: one shade of blue per bound, darker = larger)
    "greedy": "tab:green",
    "frontier-fixed": "tab:pink",
    "static C=4": "#9ecae1",
    "static C=16": "#6baed6",
    "static C=64": "#3182bd",
    "static C=256": "#08519c",
    "static C=inf": "#08306b",
    # sources of the span experiment's second stage
    "none": "black",
    "self": "tab:orange",
    "self-sampled": "tab:brown",
    "teacher": "tab:green",
    "real": "tab:blue",
}

_FALLBACK = (
    "tab:cyan",
    "tab:brown",
    "tab:pink",
    "tab:green",
    "#17becf",
    "#bcbd22",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#9467bd",
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
