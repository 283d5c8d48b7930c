r"""Plots of benchmark runs (matplotlib, Agg): learning curves, speed-ups, the learning frontier.

* :func:`plot_curves` — test loss against charged passes (log-log), every run a thin line, the
  geometric mean over seeds (at each run's i-th evaluation) a thick one, per strategy.
* :func:`plot_speedups` — passes-to-target speed-up over uniform per strategy: geometric mean
  over seeds with its t interval (:func:`specurate.bench.metrics.speedup_vs_uniform`), log axis,
  1× line.
* :func:`plot_frontier` — the measured learning frontier k*(passes) of real training on a task
  with known modes: the number of modes whose test loss fell below e^{−2κ} times its value at
  the first evaluation (mean over seeds).
* :func:`plot_training` — the three side by side (the report's figure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from specurate.bench.result import RunResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["frontier_curve", "plot_curves", "plot_frontier", "plot_speedups", "plot_training"]


def _by_strategy(runs: Sequence[RunResult]) -> dict[str, list[RunResult]]:
    out: dict[str, list[RunResult]] = {}
    for r in runs:
        out.setdefault(r.strategy, []).append(r)
    return out


def _colors(names: Sequence[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {n: ("black" if n == "uniform" else cmap(i % 10)) for i, n in enumerate(names)}


def _new_axes(ax: Axes | None, n: int = 1) -> tuple[Figure, list[Axes]]:
    if ax is not None:
        return ax.figure, [ax]
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 3.8), layout="constrained", squeeze=False)
    return fig, list(axes[0])


def plot_curves(runs: Sequence[RunResult], *, ax: Axes | None = None, title: str = "") -> Figure:
    """Test loss vs charged passes (log-log) per strategy (see the module docstring)."""
    fig, (ax,) = _new_axes(ax)
    groups = _by_strategy(runs)
    colors = _colors(list(groups))
    for name, rs in groups.items():
        for r in rs:
            p = [c["passes"] for c in r.curve]
            ax.plot(p, [c["test_loss"] for c in r.curve], color=colors[name], lw=0.6, alpha=0.35)
        m = min(len(r.curve) for r in rs)
        p = np.exp(np.mean([[math.log(c["passes"]) for c in r.curve[:m]] for r in rs], axis=0))
        y = np.exp(
            np.mean([[math.log(max(c["test_loss"], 1e-300)) for c in r.curve[:m]] for r in rs], 0)
        )
        ax.plot(p, y, color=colors[name], lw=2.2 if name == "uniform" else 1.6, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passes (backward + scoring)")
    ax.set_ylabel("test loss")
    ax.set_title(title or "learning curves")
    ax.legend(fontsize=7)
    return fig


def plot_speedups(
    rows: Sequence[dict[str, Any]], *, ax: Axes | None = None, title: str = ""
) -> Figure:
    """Bars of the passes-to-target speed-up with CIs, from :func:`summarize`'s rows."""
    fig, (ax,) = _new_axes(ax)
    names = [r["strategy"] for r in rows]
    colors = _colors(names)

    def num(v: Any) -> float:
        return math.nan if v is None else float(v)

    for i, r in enumerate(rows):
        s = num(r["speedup"])
        if not math.isfinite(s):
            ax.text(i, 1.0, "never", ha="center", va="bottom", fontsize=7, rotation=90)
            continue
        lo, hi = num(r.get("speedup_lo")), num(r.get("speedup_hi"))
        err = [[s - lo], [hi - s]] if math.isfinite(lo) and math.isfinite(hi) else None
        ax.bar(i, s, color=colors[r["strategy"]], alpha=0.8)
        ax.errorbar(i, s, yerr=err, color="black", capsize=3, lw=1)
        ax.text(i, s, f"{s:.2g}×", ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("speed-up to uniform's final loss")
    ax.set_title(title or "passes-to-target speed-up (90% CI)")
    return fig


def frontier_curve(run: RunResult, kappa: float = 1.0) -> tuple[np.ndarray, np.ndarray] | None:
    """(passes, k*) of a run with per-mode test losses: k* = number of modes whose loss is
    ≤ e^{−2κ} × its loss at the first evaluation. None if the run has no ``mode_loss``."""
    points = [c for c in run.curve if "mode_loss" in c]  # a diverged run's last point has none
    if not points:
        return None
    first = np.asarray(points[0]["mode_loss"], dtype=float)
    p = np.array([c["passes"] for c in points])
    k = np.array(
        [int(np.sum(np.asarray(c["mode_loss"]) <= math.exp(-2 * kappa) * first)) for c in points]
    )
    return p, k


def plot_frontier(
    runs: Sequence[RunResult], *, kappa: float = 1.0, ax: Axes | None = None, title: str = ""
) -> Figure:
    """Measured learning frontier k*(passes) per strategy (runs with per-mode test losses)."""
    fig, (ax,) = _new_axes(ax)
    groups = _by_strategy(runs)
    colors = _colors(list(groups))
    drawn = False
    for name, rs in groups.items():
        curves = [c for c in (frontier_curve(r, kappa) for r in rs) if c is not None]
        if not curves:
            continue
        m = min(len(c[0]) for c in curves)
        p = np.exp(np.mean([np.log(c[0][:m]) for c in curves], axis=0))
        k = np.mean([c[1][:m] for c in curves], axis=0)
        ax.plot(p, np.maximum(k, 0.5), color=colors[name], lw=1.6, label=name)
        drawn = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passes (backward + scoring)")
    ax.set_ylabel(f"modes learned (loss ≤ e^-{2 * kappa:g} × start)")
    ax.set_title(title or "learning frontier k*")
    if drawn:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "modes unknown on this task", ha="center", transform=ax.transAxes)
    return fig


def plot_training(
    runs: Sequence[RunResult], rows: Sequence[dict[str, Any]], *, title: str = ""
) -> Figure:
    """Learning curves, speed-up bars and (when modes are known) the frontier, side by side."""
    with_modes = any(r.curve and "mode_loss" in r.curve[0] for r in runs)
    fig, axes = _new_axes(None, 3 if with_modes else 2)
    plot_curves(runs, ax=axes[0], title=title)
    plot_speedups(rows, ax=axes[1])
    if with_modes:
        plot_frontier(runs, ax=axes[2])
    return fig
