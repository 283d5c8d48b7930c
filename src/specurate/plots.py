"""Plots of spectra, fits, target energies and reweighting (matplotlib, Agg backend).

Each function draws on a given Axes (or a new figure) and returns the Figure, so users can
compose them; :func:`save` writes PNG/SVG/PDF by file extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from specurate.spectrum.estimate import SpectrumReport
    from specurate.spectrum.reweight import ReweightReport


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.8), layout="constrained")
    return fig, ax


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
    lam = report.eigenvalues
    k = np.arange(1, lam.size + 1)
    pos = lam > lam[0] * 1e-12  # numerical zeros (e.g. constant pixels) would only squash the plot
    ax.loglog(k[pos], lam[pos], ".", ms=3, color="0.35", label="eigenvalues")
    f = report.fit
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
    if f.floor > 0:
        ax.axhline(f.floor, color="tab:red", ls=":", lw=1, label=f"floor ≈ {f.floor:.2g}")
    ax.set_xlabel("rank k")
    ax.set_ylabel("eigenvalue λ_k")
    ax.set_title(title or f"spectrum ({report.kernel}, n={report.n})")
    ax.legend(fontsize=8)
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
    ax.legend(fontsize=8)
    return fig


def plot_reweight(
    report: ReweightReport, axes: tuple[Axes, Axes] | None = None, *, title: str | None = None
) -> Figure:
    """Spectra of T and T_w (with the bound C·λ_k), and the ratio λ_k(T_w)/λ_k(T) with K₀."""
    if axes is None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8), layout="constrained")
    else:
        fig = axes[0].figure
    a0, a1 = axes
    lam, lw = report.eigenvalues, report.eigenvalues_w
    k = np.arange(1, lam.size + 1)
    pos = lam > lam[0] * 1e-12
    k, lam, lw = k[pos], lam[pos], lw[pos]
    a0.loglog(k, lam, ".", ms=3, color="0.35", label=f"T  (b = {report.b:.3f})")
    a0.loglog(k, lw, ".", ms=3, color="tab:green", label=f"T_w (b_w = {report.b_w:.3f})")
    a0.loglog(k, report.C * lam, "-", lw=0.8, color="tab:red", label=f"C·λ_k, C = {report.C:.2f}")
    a0.set_xlabel("rank k")
    a0.set_ylabel("eigenvalue")
    a0.legend(fontsize=8)
    a0.set_title(title or "curated operator T_w = M√w T M√w")
    a1.semilogx(k, report.ratios[pos], ".", ms=3, color="tab:green")
    a1.axvspan(report.fit.fit_range[1], k[-1], color="0.5", alpha=0.12, label="beyond fit range")
    a1.axhline(report.tail_ratio, color="0.3", ls="--", lw=1, label=f"tail {report.tail_ratio:.3f}")
    a1.axhline(report.C, color="tab:red", lw=0.8, label="C (Loewner bound)")
    if report.k0:
        a1.axvline(report.k0, color="tab:purple", lw=1, label=f"K₀ = {report.k0}")
    a1.set_xlabel("rank k")
    a1.set_ylabel("λ_k(T_w) / λ_k(T)")
    a1.legend(fontsize=8)
    return fig


def plot_dynamics(trajectories: dict, *, title: str = "", axes: list | None = None) -> Figure:
    """Log-log L vs compute, k*(t) and the local loss exponent −d ln L/d ln t, one line per run.

    ``trajectories`` maps a label to a :class:`~specurate.dynamics.simulate.Trajectory`.
    """
    from specurate.dynamics.fit import local_slopes

    if axes is None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    else:
        fig = axes[0].figure
    ax_l, ax_k, ax_s = axes
    import matplotlib

    colors = matplotlib.colormaps["tab20"].colors
    for i, (label, tr) in enumerate(trajectories.items()):
        style = "--" if label in ("baseline", "real data only (span)") else "-"
        width = 2.2 if label == "baseline" else 1.3
        color = "black" if label == "baseline" else colors[(2 * i) % 20 + (i // 10) % 2]
        ax_l.loglog(tr.compute, tr.loss, style, lw=width, label=label, color=color)
        ok = tr.k_star > 0
        ax_k.loglog(tr.t[ok], tr.k_star[ok], style, lw=width, color=color)
        ax_s.semilogx(tr.t, -local_slopes(tr.t, tr.loss), style, lw=width, color=color)
    ax_l.set_xlabel("compute (passes, scoring and helpers included)")
    ax_l.set_ylabel("test loss L on the original distribution")
    ax_k.set_xlabel("t (passes)")
    ax_k.set_ylabel("learned modes k*(t)")
    ax_s.set_xlabel("t (passes)")
    ax_s.set_ylabel("local loss exponent −d ln L / d ln t")
    ax_s.set_ylim(-0.1, 2.0)
    ax_l.legend(fontsize=7, ncol=2)
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
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    synthetic = ("real data only (span)", "synthetic-teacher", "synthetic-self")
    trajs = cmp.trajectories  # type: ignore[attr-defined]
    labels = [r.label for r in cmp.rows]  # type: ignore[attr-defined]
    main = {k: trajs[k] for k in labels if k not in synthetic}
    syn = {k: trajs[k] for k in ("baseline", *synthetic) if k in trajs}
    fig, axes = plt.subplots(2, 3, figsize=(15, 9), layout="constrained")
    plot_dynamics(main, axes=list(axes[0]))
    ax_l, ax_o, ax_k = axes[1]
    for label, tr in syn.items():
        style = "--" if label in ("baseline", "real data only (span)") else "-"
        ax_l.loglog(tr.compute, tr.loss, style, label=label)
        if tr.span_loss is not None:
            ax_o.loglog(tr.t, tr.span_loss, style, label=label)
        ax_k.loglog(tr.t[tr.k_star > 0], tr.k_star[tr.k_star > 0], style, label=label)
    ax_l.set_ylabel("test loss L")
    ax_o.set_ylabel("loss on modes outside the real data's span")
    ax_k.set_ylabel("learned modes k*(t)")
    for ax in (ax_l, ax_o, ax_k):
        ax.set_xlabel("t (passes)" if ax is not ax_l else "compute (passes)")
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"a = {cmp.a:g}, b = {cmp.b:g}, {cmp.budget} budget, N = {cmp.n_modes}: "  # type: ignore[attr-defined]
        "curation policies (top) and the synthetic-data span experiment (bottom)"
    )
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    """Save a figure (format from the extension) and close it."""
    import matplotlib.pyplot as plt

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=120)
    plt.close(fig)
    return p
