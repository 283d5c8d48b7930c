r"""Figures of every result: spectra and fits, target energies, reweighting, simulated dynamics,
and real training runs.

Each function draws on a given Axes (or a new figure made without pyplot, so the caller's
matplotlib backend is never changed) and returns the Figure, so users can compose them;
:func:`save` writes PNG/SVG/PDF by file extension, atomically. Colours come from
:func:`specurate.report.style.color`: a strategy or policy has one colour in every figure.

Training runs (:class:`~specurate.bench.result.RunResult`):

* :func:`plot_curves` — test loss against charged passes (log-log), every run a thin line, the
  geometric mean over seeds (at each run's i-th evaluation) a thick one, per strategy.
* :func:`plot_speedups` — passes-to-target speed-up over uniform per strategy: geometric mean
  over seeds with its t interval, log axis, 1× line.
* :func:`plot_frontier` — the measured learning frontier k*(passes) of real training on a task
  with known modes: the number of modes whose test loss fell below e^{−2κ} times its value at
  the first evaluation (mean over seeds).
* :func:`plot_training` — the three side by side (the report's figure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specurate._files import atomic_write
from specurate.bench.metrics import frontier_counts
from specurate.bench.result import RunResult
from specurate.report.style import FIGURE_SUFFIXES, color, legend_outside, new_figure

__all__ = [
    "frontier_curve",
    "plot_compare",
    "plot_curves",
    "plot_dynamics",
    "plot_energy",
    "plot_frontier",
    "plot_reweight",
    "plot_spectrum",
    "plot_spectrum_report",
    "plot_speedups",
    "plot_training",
    "save",
]

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from specurate.spectrum.estimate import SpectrumReport
    from specurate.spectrum.reweight import ReweightReport


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, (ax,) = new_figure()
    return fig, ax


#: eigenvalues at most this fraction of λ₁ are numerical zeros: never drawn
ZERO_FRACTION = 1e-12


def _visible(lam: np.ndarray, floor: float = 0.0) -> tuple[np.ndarray, float]:
    """Which eigenvalues to draw, and the lowest value the y-axis must show.

    Numerical zeros (≤ :data:`ZERO_FRACTION` · λ₁, e.g. from constant pixels or a rank-deficient
    kernel) are dropped; the axis stops at the noise floor or at 1e-12 λ₁, whichever is larger
    (and never below the smallest drawn value).
    """
    lam = np.asarray(lam, dtype=float)
    top = float(np.nanmax(lam)) if lam.size and np.any(np.isfinite(lam)) else 0.0
    keep = np.isfinite(lam) & (lam > top * ZERO_FRACTION)
    if not np.any(keep):
        return keep, 0.0
    cut = max(float(floor) if math.isfinite(floor) else 0.0, top * ZERO_FRACTION)
    return keep, max(cut, float(np.min(lam[keep])))


def _cut_at(ax: Axes, lowest: float) -> None:
    """Stop a log y-axis just below ``lowest`` (half of it), keeping the top autoscaled."""
    if lowest > 0:
        ax.autoscale_view()
        top = ax.get_ylim()[1]
        ax.set_ylim(lowest / 2.0, top)


def _mark_floor(ax: Axes, floor: float, color: str = "0.3", what: str = "") -> None:
    """A dashed line at the estimated noise floor ε (nothing when no floor was detected)."""
    if floor > 0 and math.isfinite(floor):
        label = f"noise floor{what} ≈ {floor:.2g}"
        ax.axhline(floor, color=color, ls="--", lw=1, label=label)


def _fit_band(
    ax: Axes,
    k_min: int,
    k_max: int,
    log_c: float,
    b: float,
    ci: tuple[float, float],
    color: str,
    label: str,
) -> None:
    """Fitted line on its range, and the lines with exponents at the CI ends pivoting at the
    range's log-centre (where the intercept and slope estimates are uncorrelated)."""
    k = np.geomspace(k_min, k_max, 50)
    ax.plot(k, np.exp(log_c) * k**-b, color=color, lw=2, label=label)
    if np.all(np.isfinite(ci)):
        kc = np.sqrt(k_min * k_max)
        yc = np.exp(log_c) * kc**-b
        lo, hi = yc * (k / kc) ** -ci[0], yc * (k / kc) ** -ci[1]
        ax.fill_between(k, np.minimum(lo, hi), np.maximum(lo, hi), color=color, alpha=0.25, lw=0)


def plot_spectrum(
    report: SpectrumReport, ax: Axes | None = None, *, title: str | None = None
) -> Figure:
    """Log-log eigenvalues λ_k vs rank k with the fitted power law, its CI band and fit range."""
    fig, ax = _axes(ax)
    lam = np.asarray(report.eigenvalues, dtype=float)
    k = np.arange(1, lam.size + 1)
    f = report.fit
    keep, lowest = _visible(lam, f.floor)
    zeros = int(lam.size - np.count_nonzero(keep))
    label = "eigenvalues" + (f" ({zeros} numerical zeros not shown)" if zeros else "")
    ax.loglog(k[keep], lam[keep], ".", ms=3, color="0.35", label=label)
    k_min, k_max = f.fit_range
    ax.axvspan(k_min, k_max, color="tab:blue", alpha=0.07, label="fit range")
    _fit_band(
        ax,
        k_min,
        k_max,
        f.log_c,
        f.b,
        report.b_ci,
        "tab:blue",
        f"b = {f.b:.3f} [{report.b_ci[0]:.3f}, {report.b_ci[1]:.3f}]",
    )
    _mark_floor(ax, f.floor)
    _cut_at(ax, lowest)
    ax.set_xlabel("rank k")
    ax.set_ylabel("eigenvalue λ_k")
    ax.set_title(title or f"spectrum ({report.kernel}, n={report.n})")
    ax.legend(fontsize=7, loc="best")
    return fig


def plot_energy(
    report: SpectrumReport, ax: Axes | None = None, *, title: str | None = None
) -> Figure:
    """Per-mode target energy e_k = λ_k w_k² vs rank with the fitted exponent a."""
    if report.target is None:
        raise ValueError("the report has no target (labels were not given).")
    fig, ax = _axes(ax)
    t = report.target
    e = t.energies
    k = np.arange(1, e.size + 1)
    pos = e > 0
    ax.loglog(k[pos], e[pos], ".", ms=3, color="0.35", label="energy per mode")
    k_min, k_max = t.fit_range
    ax.axvspan(k_min, k_max, color="tab:orange", alpha=0.07, label="fit range")
    _fit_band(
        ax,
        k_min,
        k_max,
        t.log_c,
        t.a,
        t.a_ci,
        "tab:orange",
        f"a = {t.a:.3f} [{t.a_ci[0]:.3f}, {t.a_ci[1]:.3f}]",
    )
    ax.set_xlabel("rank k")
    ax.set_ylabel("target energy λ_k w_k²")
    ax.set_title(title or f"target alignment; (a−1)/b = {t.learning_exponent:.3f}")
    ax.legend(fontsize=7, loc="best")
    return fig


def plot_reweight(
    report: ReweightReport, axes: tuple[Axes, Axes] | None = None, *, title: str | None = None
) -> Figure:
    """Spectra of T and T_w (with the bound C·λ_k), and the ratio λ_k(T_w)/λ_k(T) with K₀."""
    if axes is None:
        fig, (a0, a1) = new_figure(2, width=4.75)
    else:
        a0, a1 = axes
        fig = a0.figure  # type: ignore[assignment]
    lam = np.asarray(report.eigenvalues, dtype=float)
    lw = np.asarray(report.eigenvalues_w, dtype=float)
    k = np.arange(1, lam.size + 1)
    keep, lowest = _visible(lam, report.fit.floor)
    keep_w, lowest_w = _visible(lw, report.fit_w.floor)
    a0.loglog(k[keep], lam[keep], ".", ms=3, color="0.35", label=f"T  (b = {report.b:.3f})")
    a0.loglog(
        k[keep_w], lw[keep_w], ".", ms=3, color="tab:green", label=f"T_w (b_w = {report.b_w:.3f})"
    )
    a0.loglog(
        k[keep],
        report.C * lam[keep],
        "-",
        lw=0.8,
        color="tab:red",
        label=f"C·λ_k, C = {report.C:.2f}",
    )
    _mark_floor(a0, report.fit.floor, what=" of T")
    if not math.isclose(report.fit_w.floor, report.fit.floor, rel_tol=0.1):
        _mark_floor(a0, report.fit_w.floor, color="tab:green", what=" of T_w")
    lows = [v for v in (lowest, lowest_w) if v > 0]
    _cut_at(a0, min(lows) if lows else 0.0)
    a0.set_xlabel("rank k")
    a0.set_ylabel("eigenvalue")
    a0.legend(fontsize=7, loc="best")
    a0.set_title(title or "curated operator T_w = M√w T M√w")
    ratios = np.asarray(report.ratios, dtype=float)
    a1.semilogx(k[keep], ratios[keep], ".", ms=3, color="tab:green")
    last = int(k[keep][-1]) if np.any(keep) else lam.size
    a1.axvspan(report.fit.fit_range[1], last, color="0.5", alpha=0.12, label="beyond fit range")
    a1.axhline(report.tail_ratio, color="0.3", ls="--", lw=1, label=f"tail {report.tail_ratio:.3f}")
    a1.axhline(report.C, color="tab:red", lw=0.8, label="C (Loewner bound)")
    if report.k0:
        a1.axvline(report.k0, color="tab:purple", lw=1, label=f"K₀ = {report.k0}")
    a1.set_xlabel("rank k")
    a1.set_ylabel("λ_k(T_w) / λ_k(T)")
    a1.set_title("eigenvalue ratio", fontsize=10)
    legend_outside(a1)
    return fig


def plot_dynamics(trajectories: dict, *, title: str = "", axes: list | None = None) -> Figure:
    """Log-log L vs compute, k*(t) and the local loss exponent −d ln L/d ln t, one line per run.

    ``trajectories`` maps a label to a :class:`~specurate.dynamics.simulate.Trajectory`.
    """
    from specurate.dynamics.fit import local_slopes

    if axes is None:
        fig, axes = new_figure(3, width=5.0, height=4.6)
    else:
        fig = axes[0].figure
    ax_l, ax_k, ax_s = axes
    for label, tr in trajectories.items():
        style = "--" if label in ("baseline", "real data only (span)") else "-"
        width = 2.2 if label == "baseline" else 1.3
        c = color(label)
        ax_l.loglog(tr.compute, tr.loss, style, lw=width, label=label, color=c)
        ok = tr.k_star > 0
        ax_k.loglog(tr.t[ok], tr.k_star[ok], style, lw=width, color=c)
        ax_s.semilogx(tr.t, -local_slopes(tr.t, tr.loss), style, lw=width, color=c)
    ax_l.set_xlabel("compute (passes, scoring and helpers included)")
    ax_l.set_ylabel("test loss L on the original distribution")
    ax_k.set_xlabel("t (passes)")
    ax_k.set_ylabel("learned modes k*(t)")
    ax_s.set_xlabel("t (passes)")
    ax_s.set_ylabel("local loss exponent −d ln L / d ln t")
    ax_s.set_ylim(-0.1, 2.0)
    # one legend for the three panels (same colours), outside the data
    legend_outside(ax_s, *ax_l.get_legend_handles_labels())
    for ax in axes:
        ax.grid(True, which="both", alpha=0.25)
    if title:
        fig.suptitle(title)
    return fig


def plot_compare(cmp: object) -> Figure:
    """Two rows for a :class:`~specurate.dynamics.compare.Comparison`.

    Top: curation policies (L vs compute, k*, local exponent). Bottom: the synthetic-data
    experiment — loss, loss on the modes outside the real data's span, and k*.
    """
    from matplotlib.figure import Figure

    synthetic = ("real data only (span)", "synthetic-teacher", "synthetic-self")
    trajs = cmp.trajectories  # type: ignore[attr-defined]
    labels = [r.label for r in cmp.rows]  # type: ignore[attr-defined]
    main = {k: trajs[k] for k in labels if k not in synthetic}
    syn = {k: trajs[k] for k in ("baseline", *synthetic) if k in trajs}
    fig = Figure(figsize=(15, 9), layout="constrained")
    axes = fig.subplots(2, 3)
    plot_dynamics(main, axes=list(axes[0]))
    ax_l, ax_o, ax_k = axes[1]
    for label, tr in syn.items():
        style = "--" if label in ("baseline", "real data only (span)") else "-"
        c = color(label)
        ax_l.loglog(tr.compute, tr.loss, style, label=label, color=c)
        if tr.span_loss is not None:
            ax_o.loglog(tr.t, tr.span_loss, style, label=label, color=c)
        ax_k.loglog(tr.t[tr.k_star > 0], tr.k_star[tr.k_star > 0], style, label=label, color=c)
    ax_l.set_ylabel("test loss L")
    ax_o.set_ylabel("loss on modes outside the real data's span")
    ax_k.set_ylabel("learned modes k*(t)")
    for ax in (ax_l, ax_o, ax_k):
        ax.set_xlabel("t (passes)" if ax is not ax_l else "compute (passes)")
        ax.grid(True, which="both", alpha=0.25)
    legend_outside(ax_k, *ax_l.get_legend_handles_labels())
    fig.suptitle(
        f"a = {cmp.a:.3f}, b = {cmp.b:.3f}, {cmp.budget} budget, N = {cmp.n_modes}: "  # type: ignore[attr-defined]
        "curation policies (top) and the synthetic-data span experiment (bottom)"
    )
    return fig


def plot_spectrum_report(report: SpectrumReport, name: str) -> Figure:
    """The spectrum with its fit and, when the report has a target, the target energies beside
    it (the figure of ``specurate spectrum --plot``)."""
    fig, axes = new_figure(2 if report.target is not None else 1)
    plot_spectrum(report, axes[0], title=f"{name}: spectrum ({report.kernel})")
    if report.target is not None:
        plot_energy(report, axes[1])
    return fig


# ------------------------------------------------------------------------------- training runs
def _by_strategy(runs: Sequence[RunResult]) -> dict[str, list[RunResult]]:
    out: dict[str, list[RunResult]] = {}
    for r in runs:
        out.setdefault(r.strategy, []).append(r)
    return out


def plot_curves(runs: Sequence[RunResult], *, ax: Axes | None = None, title: str = "") -> Figure:
    """Test loss vs charged passes (log-log) per strategy (see the module docstring)."""
    fig, ax = _axes(ax)
    for name, rs in _by_strategy(runs).items():
        c = color(name)
        for r in rs:
            p = [pt["passes"] for pt in r.curve]
            ax.plot(p, [pt["test_loss"] for pt in r.curve], color=c, lw=0.6, alpha=0.35)
        m = min(len(r.curve) for r in rs)
        p = np.exp(np.mean([[math.log(pt["passes"]) for pt in r.curve[:m]] for r in rs], axis=0))
        y = np.exp(
            np.mean([[math.log(max(pt["test_loss"], 1e-300)) for pt in r.curve[:m]] for r in rs], 0)
        )
        ax.plot(p, y, color=c, lw=2.2 if name == "uniform" else 1.6, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passes (backward + scoring)")
    ax.set_ylabel("test loss")
    ax.set_title(title or "learning curves")
    ax.legend(fontsize=7, loc="best")
    return fig


def plot_speedups(
    rows: Sequence[dict[str, Any]], *, ax: Axes | None = None, title: str = ""
) -> Figure:
    """Bars of the passes-to-target speed-up with CIs, from :func:`summarize`'s rows."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, ax = _axes(ax)
    names = [r["strategy"] for r in rows]

    def num(v: Any) -> float:
        return math.nan if v is None else float(v)

    lows, tops = [1.0], [1.0]
    for i, r in enumerate(rows):
        s = num(r["speedup"])
        if not math.isfinite(s):
            ax.annotate(
                "never",
                (i, 1.0),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,
                color="0.3",
            )
            continue
        lo, hi = num(r.get("speedup_lo")), num(r.get("speedup_hi"))
        finite = math.isfinite(lo) and math.isfinite(hi) and lo > 0
        err = [[max(s - lo, 0.0)], [max(hi - s, 0.0)]] if finite else None
        ax.bar(i, s, color=color(r["strategy"]), alpha=0.8)
        if finite:
            ax.errorbar(i, s, yerr=err, color="black", capsize=3, lw=1)
        top = max(hi, s) if finite else s
        lows.append(min(lo, s) if finite else s)
        tops.append(top)
        # the value sits a few points beyond the error bar's end, never on it
        ax.annotate(
            f"{s:.2g}×",
            (i, top),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yscale("log")
    # headroom for the labels above the tallest error bar (a factor on the log axis)
    ax.set_ylim(min(lows) / 1.3, max(tops) * 1.6)
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("speed-up to uniform's final loss")
    ax.set_title(title or "passes-to-target speed-up (90% CI)")
    return fig


def frontier_curve(run: RunResult, kappa: float = 1.0) -> tuple[np.ndarray, np.ndarray] | None:
    """(passes, k*) of a run with per-mode test losses: k* = number of modes whose loss is
    ≤ e^{−2κ} × its loss at the first evaluation. None if the run has no ``mode_loss``."""
    return frontier_counts(run, "mode_loss", kappa)


def plot_frontier(
    runs: Sequence[RunResult], *, kappa: float = 1.0, ax: Axes | None = None, title: str = ""
) -> Figure:
    """Measured learning frontier k*(passes) per strategy (runs with per-mode test losses)."""
    fig, ax = _axes(ax)
    drawn = False
    for name, rs in _by_strategy(runs).items():
        curves = [c for c in (frontier_curve(r, kappa) for r in rs) if c is not None]
        if not curves:
            continue
        m = min(len(c[0]) for c in curves)
        p = np.exp(np.mean([np.log(c[0][:m]) for c in curves], axis=0))
        k = np.mean([c[1][:m] for c in curves], axis=0)
        ax.plot(p, np.maximum(k, 0.5), color=color(name), lw=1.6, label=name)
        drawn = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passes (backward + scoring)")
    ax.set_ylabel(f"modes learned (loss ≤ $e^{{-{2 * kappa:g}}}$ × start)")
    ax.set_title(title or "learning frontier k*")
    if drawn:
        ax.legend(fontsize=7, loc="best")
    else:
        ax.text(0.5, 0.5, "modes unknown on this task", ha="center", transform=ax.transAxes)
    return fig


def plot_training(
    runs: Sequence[RunResult], rows: Sequence[dict[str, Any]], *, title: str = ""
) -> Figure:
    """Learning curves, speed-up bars and (when modes are known) the frontier, side by side."""
    with_modes = any(r.curve and "mode_loss" in r.curve[0] for r in runs)
    fig, axes = new_figure(3 if with_modes else 2)
    plot_curves(runs, ax=axes[0], title=title)
    plot_speedups(rows, ax=axes[1])
    if with_modes:
        plot_frontier(runs, ax=axes[2])
    # one legend for the panels (same colours), to the right of the last one, off the data
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes:
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
    legend_outside(axes[-1], handles, labels)
    return fig


# ------------------------------------------------------------------------------------- saving


def save(fig: Figure, path: str | Path) -> Path:
    """Save a figure atomically, format from the extension (.png/.svg/.pdf).

    The folder must exist (it is never created); a ``path`` that is a symlink or a folder is
    refused (:class:`~specurate.errors.SpecurateInputError`, nothing written through it). The
    figure is left to the garbage collector (it was made without pyplot, so no global figure
    list holds it).
    """
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if f".{fmt}" not in FIGURE_SUFFIXES:
        raise ValueError(f"{p}: unsupported figure type {p.suffix!r}; use .png, .svg or .pdf")
    return atomic_write(p, lambda tmp: fig.savefig(tmp, dpi=120, format=fmt))
