"""Tables and figures of the paper's experiments (:mod:`specurate.bench`): the static sweep
(experiment 1), the oracle approximation (2), the synthetic-data span (3), label noise and the
static-vs-dynamic separation.

Every function takes the experiment's result dataclass (``StaticSweepResult``, ``OracleResult``,
``SpanResult``, ``NoiseResult``, ``SeparationResult``) or its ``to_dict()`` document (e.g. read
back from the JSON file the CLI writes). ``render_*`` return rich tables, ``*_figure`` return a
matplotlib Figure made without pyplot, ``plot_*`` save that figure atomically (format by
extension) and return the path. Colours are :func:`specurate.report.style.color`'s, numbers
are formatted by :func:`~specurate.report.style.fmt` / :func:`~specurate.report.style.fmt_est`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table

from specurate.bench.oracle import SIMULATOR_ANALOGUE
from specurate.bench.result import RunResult
from specurate.report.style import (
    color,
    fmt,
    fmt_est,
    fmt_speedup,
    legend_outside,
    new_figure,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "eigen_figure",
    "noise_figure",
    "oracle_figure",
    "plot_eigen",
    "plot_noise",
    "plot_oracle",
    "plot_separation",
    "plot_span",
    "plot_static_sweep",
    "render_eigen",
    "render_noise",
    "render_oracle",
    "render_separation",
    "render_span",
    "render_static_sweep",
    "separation_cell",
    "separation_figure",
    "separation_label",
    "span_figure",
    "static_sweep_figure",
]


def _doc(result: Any) -> Mapping[str, Any]:
    """The result's JSON document (a dataclass is converted, a mapping is used as it is)."""
    to_dict = getattr(result, "to_dict", None)
    return to_dict() if callable(to_dict) else result


def _save(fig: Figure, path: str | Path) -> Path:
    from specurate.report.plots import save

    return save(fig, path)


def _merged_handles(*axes: Any) -> tuple[list, list]:
    """The legend entries of several axes, each label once (first axis first)."""
    handles: list = []
    labels: list[str] = []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    return handles, labels


def _table(title: str, columns: Sequence[str], left: Sequence[str] = ()) -> Table:
    t = Table(title=title)
    for col in columns:
        t.add_column(col, justify="left" if col in left else "right")
    return t


# ------------------------------------------------------------------------ 1. static sweep
def _mean_pm(s: Mapping[str, Any], spec: str = ".3f") -> str:
    """``mean [lo, hi]`` of a summary (``mean`` alone when the interval is missing)."""
    return fmt_est(s.get("mean"), s.get("lo"), s.get("hi"), spec=spec, ci_spec=spec)


def _finite_end(end: Mapping[str, Any] | None) -> str:
    if end is None:
        return "ahead at all"
    if not end["ever_ahead"]:
        return "never ahead"
    return f"{fmt(end['target_loss'], '.4f')} @ {fmt(end['passes_full'], '.3g')}"


def _static_curves_table(r: Mapping[str, Any]) -> Table:
    cfg, full = r["config"], r["full"]
    lvl = round(100 * cfg["level"])
    title = (
        f"Static-limit validation on {r['task']['name']} (n={r['task']['n_train']}, "
        f"{cfg['budget_passes']:g} passes, seeds {cfg['seeds']})"
    )
    cols = ["config", "kept", "scoring", f"exponent x [{lvl}% CI over seeds]", "log c"]
    cols += ["final loss", "C_front (train-only)", "ahead until: loss @ passes"]
    t = _table(title, cols, left=("config",))
    t.add_row(
        "full",
        "1.00",
        "0",
        _mean_pm(full["exponent"]),
        fmt(full["log_c"]["mean"], ".3f"),
        fmt(full["final_loss"]["mean"], ".4f"),
        "1",
        "",
        style="bold",
    )
    for c in r["configs"]:
        t.add_row(
            c["label"],
            f"{c['kept_fraction']:.2f}",
            fmt(c["scoring_passes"], ".3g"),
            _mean_pm(c["exponent"]),
            fmt(c["log_c"]["mean"], ".3f"),
            fmt(c["final_loss"]["mean"], ".4f"),
            f"{fmt(c['C_front'], '.3g')} ({fmt(c['C_front_train'], '.3g')})",
            _finite_end(c["finite_end"]),
        )
    return t


def _static_speedup_table(r: Mapping[str, Any]) -> Table:
    t = Table(title="Speed-up vs full data (charged passes; geometric mean over seeds)")
    t.add_column("config")
    for target in r["targets"]:
        t.add_column(f"L={target:.3g}", justify="right")
    for c in r["configs"]:
        cells = [
            "—" if s["mean"] is None else f"{s['mean']:.2f}{'' if s['reached'] else '*'}"
            for s in c["speedup"]
        ]
        t.add_row(c["label"], *cells)
    return t


def _delta_b(op: Mapping[str, Any], one_seed: bool) -> str:
    """Δb with the bootstrap CI (one seed) or the CI over seeds."""
    first = next(o for o in op["per_seed"] if "error" not in o)
    db, ci = op["delta_b"], first["delta_b_ci"]
    if ci[0] is not None and one_seed:
        return fmt_est(db["mean"], ci[0], ci[1], spec=".3f", ci_spec=".3f")
    return _mean_pm(db)


def _static_operator_table(r: Mapping[str, Any]) -> Table:
    spec, cfg = r["spectrum"], r["config"]
    lvl = round(100 * cfg["level"])
    title = (
        f"Operator of the kept masks ({spec.get('kernel')} kernel, {spec.get('n_sub')} "
        f"examples, top {spec.get('rank')} modes): b_full = {fmt(spec.get('b_full'))}"
    )
    ci_kind = "over seeds" if len(cfg["seeds"]) > 1 else "bootstrap"
    cols = ["config", "C", "1/(1−f)", "max λ_w/λ", "T_w ⪯ C·T", "k0", "frontier gain"]
    cols += ["b_full (common range)", "b_kept", f"Δb [{lvl}% CI {ci_kind}]"]
    cols += ["Δb − Δb(random)", "narrowing"]
    t = _table(title, cols, left=("config",))
    for c in r["configs"]:
        op = c.get("operator", {})
        if not op.get("n_ok"):
            t.add_row(c["label"], *(["—"] * 10), str(op.get("error", ""))[:40])
            continue
        t.add_row(
            c["label"],
            fmt(op["C"]["mean"], ".3f"),
            fmt(1.0 / (1.0 - c["fraction"]), ".3f"),
            fmt(op["max_eig_ratio"]["mean"], ".3f"),
            "yes" if op["loewner_upper_ok"] else "NO",
            fmt(op["k0"]["mean"], ".3g"),
            fmt(op["frontier_gain"]["mean"], ".3f"),
            fmt(op["b_full_common"]["mean"], ".3f"),
            fmt(op["b_kept"]["mean"], ".3f"),
            _delta_b(op, one_seed=len(op["per_seed"]) == 1),
            fmt(op.get("delta_b_vs_random"), "+.3f"),
            f"{op['narrowing']}/{op['n_ok']}",
        )
    return t


def render_static_sweep(result: Any) -> list[Table]:
    """Rich tables of a static sweep: learning-curve fits and finite region, speed-ups per
    target, and (when run) the operator analysis of the kept masks."""
    r = _doc(result)
    tables = [_static_curves_table(r), _static_speedup_table(r)]
    if r.get("spectrum", {}).get("enabled"):
        tables.append(_static_operator_table(r))
    return tables


def _mean_curve(
    runs: Sequence[Mapping[str, Any]], key: str = "passes"
) -> tuple[np.ndarray, np.ndarray]:
    """Geometric-mean test loss over seeds on the first seed's ``key`` axis (log-log interp)."""
    p0 = np.array([c[key] for c in runs[0]["curve"]], dtype=float)
    logs = []
    for run in runs:
        p = np.array([c[key] for c in run["curve"]], dtype=float)
        y = np.array([c["test_loss"] for c in run["curve"]], dtype=float)
        logs.append(np.interp(np.log(p0), np.log(p), np.log(y)))
    return p0, np.exp(np.mean(logs, axis=0))


def static_sweep_figure(result: Any) -> Figure:
    """Log-log test loss vs compute, one line per configuration (seed mean), full data thick
    black; left: charged passes (scoring included), right: training passes only."""
    r = _doc(result)
    styles = {None: ":", "easy": "-", "hard": "--"}
    fracs = r["config"]["fractions"]
    fig, axes = new_figure(2, width=6.5, height=5.5)
    axes[1].sharey(axes[0])
    for ax, key, xlabel in (
        (axes[0], "passes", "compute (passes, scoring charged)"),
        (axes[1], "train_passes", "training passes (scoring not charged)"),
    ):
        for c in r["configs"]:
            p, y = _mean_curve(c["runs"], key)
            shade = 0.35 + 0.65 * (fracs.index(c["fraction"]) + 1) / len(fracs)
            style, c_color = styles[c["keep"]], color(c["scorer"])
            ax.plot(p, y, style, color=c_color, alpha=shade, lw=1.2, label=c["label"])
        p, y = _mean_curve(r["full"]["runs"], key)
        ax.plot(p, y, "-", color=color("full data"), lw=3, label="full data", zorder=5)
        for target in r["targets"]:
            ax.axhline(target, color="0.85", lw=0.6, zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("test loss")
    legend_outside(axes[1], *axes[0].get_legend_handles_labels())
    fig.suptitle(f"Static pruning on {r['task']['name']}: test loss vs compute")
    return fig


def plot_static_sweep(result: Any, path: str | Path) -> Path:
    """Save :func:`static_sweep_figure` to ``path``."""
    return _save(static_sweep_figure(result), path)


# ------------------------------------------------------------------------ 2. oracle
def _analogue(strategy: str, sim: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    """(the simulator policy that models ``strategy``, the fraction it recovers there)."""
    ana = SIMULATOR_ANALOGUE.get(strategy)
    if strategy == "infobatch":
        return "(unbiased: operator unchanged)", "0"
    if strategy in ("balanced", "random-subset"):
        return "static (Theorem 1: constant only)", "—"
    if ana is None or ana not in sim:
        return "—", "—"
    if strategy == "oracle":
        return ana, "1 (reference)"
    return ana, fmt(sim[ana]["time_gain_recovered"], ".2f")


def render_oracle(result: Any) -> list[Table]:
    """Rich tables: real training (with the simulator's prediction per strategy) and the
    sample-level check."""
    r = _doc(result)
    sim = {row["policy"]: row for row in r.get("simulator", [])}
    title = f"oracle approximation: {r['task']}; {r['budget_passes']:g} passes, {r['seeds']} seeds"
    cols = ["strategy", "test loss", "speed-up [90% CI] (reached)", "wall-clock speed-up"]
    cols += ["oracle gain recovered", "simulator analogue", "simulator: recovered"]
    t = _table(title, cols, left=("strategy", "simulator analogue"))
    for row in r["real"]:
        ana, rec = _analogue(row["strategy"], sim)
        t.add_row(
            row["strategy"],
            fmt(row["test_loss"], ".3g"),
            fmt_speedup(row, spec=".2f"),
            fmt_speedup(row, "wall_speedup", spec=".2f"),
            fmt(row["oracle_fraction"], ".2f"),
            ana,
            rec,
        )
    tables = [t]
    if "sample_level" in r:
        s = _table(
            "sample level: soft oracle on explicit examples (same a, b)",
            ["data", "realized speed-up", "mode-space speed-up", "log fraction realized"],
            left=("data",),
        )
        for k, v in r["sample_level"].items():
            s.add_row(
                k,
                fmt(v["speedup"], ".2f"),
                fmt(v["mode_space_speedup"], ".2f"),
                fmt(v["realized_fraction"], ".2f"),
            )
        tables.append(s)
    return tables


def oracle_figure(result: Any) -> Figure:
    """Learning curves, speed-up bars and the measured frontier k* of the real runs."""
    from specurate.report.plots import plot_training

    runs = getattr(result, "runs", None)
    r = _doc(result)
    if runs is None:
        runs = [RunResult.from_dict(d) for d in r["runs"]]
    return plot_training(list(runs), r["real"], title="mode-local regression")


def plot_oracle(result: Any, path: str | Path) -> Path:
    """Save :func:`oracle_figure` to ``path``."""
    return _save(oracle_figure(result), path)


# ------------------------------------------------------------------------ 3. span
def _small(v: Any) -> str:
    """Three significant digits, or scientific notation below 1e-3."""
    if v is None or not math.isfinite(float(v)):
        return fmt(v)
    return fmt(v, ".3g") if abs(v) >= 1e-3 or v == 0 else fmt(v, ".2e")


def _span_summary_table(r: Mapping[str, Any]) -> Table:
    gauss = r["setting"] == "gaussian"
    title = (
        f"Synthetic-data span ({r['setting']}, seed {r['seed']}, "
        f"{r['config']['finetune_steps']} fine-tuning steps)"
    )
    cols = ["source", "out-of-span loss start → end", "ratio", "in-span loss start → end"]
    cols += ["ratio"]
    if gauss:
        cols += ["out-of-span modes β≠0", "test loss end"]
    else:
        cols += ["acc on W start → end", "test loss / acc end"]
    t = _table(title, cols, left=("source",))
    for src in r["sources"]:
        s = r["summary"][src]
        row = [
            src,
            f"{_small(s['out_span_start'])} → {_small(s['out_span_end'])}",
            _small(s["out_span_ratio"]),
            f"{_small(s['in_span_start'])} → {_small(s['in_span_end'])}",
            _small(s["in_span_ratio"]),
        ]
        if gauss:
            row += [str(s["out_modes_nonzero_end"]), _small(s["total_end"])]
        else:
            row += [
                f"{fmt(s['out_span_acc_start'], '.3f')} → {fmt(s['out_span_acc_end'], '.3f')}",
                f"{_small(s['total_end'])} / {fmt(s['test_acc_end'], '.3f')}",
            ]
        t.add_row(*row)
    return t


def _span_setup_table(r: Mapping[str, Any]) -> Table:
    setup = _table("Setup", ["item", "value"], left=("item", "value"))
    setup.add_row("definition", r["definition"])
    st, te = r["student"], r["teacher"]
    if r["setting"] == "gaussian":
        c = r["config"]
        setup.add_row(
            "data", f"d={c['dim']}, λ_k=k^-{c['b']:g}, λ_k w_k²=k^-{c['a']:g}, σ={c['noise']:g}"
        )
        for name, m in (("student (stage 1)", st), ("teacher (least squares)", te)):
            setup.add_row(
                name,
                f"{m['span_modes']} non-zero modes, in {_small(m['in_span'])}, "
                f"out {_small(m['out_span'])}",
            )
        setup.add_row("noise floor σ²", _small(r["noise_floor"]))
    else:
        setup.add_row(
            "student (mlp)",
            f"test loss {_small(st['test_loss'])}, acc {fmt(st['test_acc'], '.3f')}, "
            f"|W| = {st['n_wrong']} of {st['n_test']}",
        )
        setup.add_row(
            "teacher (cnn)",
            f"test loss {_small(te['test_loss'])}, acc {fmt(te['test_acc'], '.3f')}, "
            f"acc on W {fmt(te['acc_on_student_wrong'], '.3f')}",
        )
    setup.add_row("wall time", f"{fmt(r['wall_s'], '.1f')} s")
    return setup


def render_span(result: Any) -> list[Table]:
    """Rich tables of a span result: per-source summary, then the setup."""
    r = _doc(result)
    return [_span_summary_table(r), _span_setup_table(r)]


def span_figure(result: Any) -> Figure:
    """Out-of-span (left) and in-span (right) loss vs fine-tuning step, one line per source."""
    r = _doc(result)
    fig, axes = new_figure(2, width=5.0, height=4.0)
    steps = np.asarray(r["steps"], dtype=float)
    gauss = r["setting"] == "gaussian"
    titles = (
        ("out-of-span excess loss Σ_{k∉H} λ_k(β_k−w_k)²", "in-span excess loss")
        if gauss
        else ("test CE on previously-wrong examples (W)", "test CE on previously-right examples")
    )
    for ax, key, ttl in zip(axes, ("out_span", "in_span"), titles, strict=True):
        for src in r["sources"]:
            v = np.asarray(r["curves"][src][key], dtype=float)
            style = "--" if src in ("none", "real") else "-"
            wide: dict[str, Any] = (
                {"lw": 4, "alpha": 0.4} if src == "none" else {}
            )  # visible under "self"
            ax.plot(steps, v, style, marker=".", label=src, color=color(src), **wide)
        ax.set_xscale("symlog", linthresh=1.0)
        if gauss:
            ax.set_yscale("log")
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel("loss")
        ax.set_title(ttl, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"Synthetic-data span ({r['setting']}, seed {r['seed']})", fontsize=10)
    return fig


def plot_span(result: Any, path: str | Path) -> Path:
    """Save :func:`span_figure` to ``path``."""
    return _save(span_figure(result), path)


# ------------------------------------------------------------------------ label noise
def render_noise(result: Any) -> list[Table]:
    """Rich table: per noise rate and strategy, speed-up, clean test loss/acc, noisy share."""
    r = _doc(result)
    title = (
        f"label noise on {r['task']}: {r['budget_passes']:g} passes, {r['seeds']} seeds "
        "(speed-up vs uniform at the same noise rate)"
    )
    cols = ["noise", "strategy", "clean test loss", "test acc", "speed-up (reached)"]
    cols += ["wall-clock speed-up", "noisy share", "late share"]
    t = _table(title, cols, left=("strategy",))
    for block in r["rates"]:
        for row in block["strategies"]:
            t.add_row(
                f"{block['rate']:.0%}",
                row["strategy"],
                fmt(row["test_loss"], ".4g"),
                fmt(row["test_acc"], ".3f"),
                fmt_speedup(row, spec=".2f"),
                fmt_speedup(row, "wall_speedup", spec=".2f"),
                fmt(row["noisy_share"], ".3f"),
                fmt(row["noisy_share_late"], ".3f"),
            )
    return [t]


def _finite(v: Any) -> bool:
    return v is not None and math.isfinite(float(v))


def noise_figure(result: Any) -> Figure:
    """Speed-up vs noise rate (left) and the noisy share of compute over the run at the largest
    rate (right), one line per strategy."""
    r = _doc(result)
    fig, (a1, a2) = new_figure(2)
    names = [row["strategy"] for row in r["rates"][0]["strategies"]]
    for name in names:
        points = [
            (block["rate"], row["speedup"])
            for block in r["rates"]
            for row in block["strategies"]
            if row["strategy"] == name and _finite(row["speedup"])
        ]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        a1.plot(xs, ys, marker="o", label=name, color=color(name))
    a1.axhline(1.0, color="grey", lw=0.8, ls="--")
    a1.set_xlabel("label noise rate")
    a1.set_ylabel("speed-up vs uniform (same noise)")
    worst = max(r["rates"], key=lambda b: b["rate"])
    for row in worst["strategies"]:
        c = np.array(
            [[math.nan if v is None else v for v in p] for p in row["share_curve"]], dtype=float
        )
        if c.size:
            a2.plot(c[:, 0], c[:, 1], label=row["strategy"], color=color(row["strategy"]))
    a2.axhline(worst["rate"], color="grey", lw=0.8, ls="--")
    a2.set_xscale("log")
    a2.set_xlabel("passes")
    a2.set_ylabel("share of compute on mislabeled examples")
    a2.set_title(f"noise rate {worst['rate']:.0%}")
    # one legend for both panels (same colours), off the data
    legend_outside(a2, *_merged_handles(a1, a2))
    return fig


def plot_noise(result: Any, path: str | Path) -> Path:
    """Save :func:`noise_figure` to ``path``."""
    return _save(noise_figure(result), path)


# ------------------------------------------------------------------------ separation
def _ci_cell(v: Mapping[str, Any] | None, spec: str = ".3g") -> str:
    if v is None:
        return "—"
    return fmt_est(v.get("value"), v.get("lo"), v.get("hi"), spec, spec)


def separation_label(name: str) -> str:
    """A separation strategy's name as tables show it (``static C = 4``, ``static, no bound``)."""
    if name == "static C=inf":
        return "static, no bound"
    return name.replace("static C=", "static C = ")


def separation_cell(point: Mapping[str, Any], unbound: bool, spec: str = ".3g") -> str:
    """A speed-up point of the separation: ``v [lo, hi]``, ``≥`` first when a seed is censored
    below uniform's last loss, ``*`` when the bound does not bind there (``unbound``), and the
    count of diverged seeds."""
    return (
        ("≥ " if point.get("censored") else "")
        + _ci_cell(point, spec)
        + ("*" if unbound else "")
        + (f" ({point['diverged']} diverged)" if point.get("diverged") else "")
    )


def _losses(values: Sequence[Any]) -> np.ndarray:
    """Losses as floats, a diverged run's null (JSON) as +inf."""
    return np.array([math.inf if v is None else float(v) for v in values], dtype=float)


def _finite_losses(values: Sequence[Any]) -> np.ndarray:
    v = _losses(values)
    return v[np.isfinite(v) & (v > 0)]


def render_separation(result: Any) -> list[Table]:
    """Two rich tables: speed-up to uniform's loss at every budget (90 % CIs over seeds), and
    per strategy the fitted exponents, speed-up growth, largest weight and wall-clock speed-up."""
    r = _doc(result)
    c = r["config"]
    budgets = c["budgets"]
    names = list(r["speedup"])
    model = "embedding" if c.get("model", "embedding") == "embedding" else "one-hot MLP"
    t1 = _table(
        f"speed-up to uniform's loss, by budget ({model}, K = {c['modes']} modes, a = {c['a']:g}, "
        f"b = {c['b']:g}, B = {c['batch']}, {c['seeds']} seeds; steps)",
        ["strategy", *(f"{b} steps" for b in budgets)],
        left=("strategy",),
    )
    for name in names:
        free = set(r.get("unbound", {}).get(name, ()))
        t1.add_row(
            separation_label(name),
            *(
                separation_cell(v, b in free)
                for b, v in zip(budgets, r["speedup"][name], strict=True)
            ),
        )
    t1.caption = (
        "* the bound does not bind at this budget: the same run as the unbounded rule; "
        "≥: below uniform's last loss on some seed (a lower bound)"
    )
    theory = r["theory"]
    t2 = _table(
        f"loss exponent α (L ∝ steps^−α; uniform's theory (a−1)/b = "
        f"{theory['uniform_exponent']:.3f}, the frontier's a−1 = {theory['frontier_exponent']:g})",
        [
            "strategy",
            "α, all budgets",
            "α, last decade",
            "speed-up growth",
            "largest weight",
            f"wall-clock speed-up @ {budgets[-1]}",
        ],
        left=("strategy",),
    )
    for name in names:
        t2.add_row(
            separation_label(name),
            _ci_cell(r["exponent"].get(name), ".3f"),
            _ci_cell(r["exponent_late"].get(name), ".3f"),
            _ci_cell(r["growth"].get(name), ".2f"),
            fmt(r["max_weight"].get(name), ".3g"),
            _ci_cell(r["wall_speedup"][name][-1] if name in r["wall_speedup"] else None),
        )
    return [t1, t2]


def separation_figure(result: Any) -> Figure:
    """Left: loss vs steps (geometric mean over seeds; static envelopes as points at their
    budgets). Right: speed-up to uniform's loss vs budget with 90 % CIs; dotted lines at each
    bound C, which no static rule can cross (Theorem 1)."""
    r = _doc(result)
    c = r["config"]
    budgets = np.asarray(c["budgets"], dtype=float)
    fig, (a1, a2) = new_figure(2, width=5.6)
    by: dict[str, list[Mapping[str, Any]]] = {}
    for run in r["runs"]:
        by.setdefault(run["strategy"], []).append(run)
    for name in r["speedup"]:
        runs = by.get(name, [])
        label = separation_label(name)
        if name.startswith("static C="):
            losses = []
            for b in c["budgets"]:
                vals = _finite_losses(
                    [run["loss"][run["steps"].index(b)] for run in runs if run["budget"] == b]
                )
                losses.append(math.exp(float(np.mean(np.log(vals)))) if vals.size else math.nan)
            a1.plot(budgets, losses, ls="none", marker="s", ms=4, color=color(name), label=label)
        elif runs:
            steps = np.asarray(runs[0]["steps"], dtype=float)
            # a diverged run's loss is infinite (null in JSON) from then on: the mean is too
            with np.errstate(divide="ignore"):
                loss = np.exp(np.mean([np.log(_losses(run["loss"])) for run in runs], axis=0))
            a1.plot(steps, loss, color=color(name), label=label, lw=1.4)
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlim(1, budgets[-1] * 1.2)
    a1.set_xlabel("training steps (fresh batches)")
    a1.set_ylabel("population loss L / L(0)")
    for cap in c["caps"]:
        a2.axhline(cap, color=color(f"static C={cap:g}"), lw=0.8, ls=":")
    for name, points in r["speedup"].items():
        if name in ("uniform", "balanced"):
            continue
        v = np.array([p["value"] for p in points], dtype=float)
        lo = np.array([p["lo"] if p["lo"] is not None else math.nan for p in points], dtype=float)
        hi = np.array([p["hi"] if p["hi"] is not None else math.nan for p in points], dtype=float)
        style = "--" if name.startswith("static C=") else "-"
        a2.plot(
            budgets, v, ls=style, marker="o", ms=3, color=color(name), label=separation_label(name)
        )
        if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
            a2.fill_between(budgets, lo, hi, color=color(name), alpha=0.15, lw=0)
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("budget (steps)")
    a2.set_ylabel("speed-up to uniform's loss (steps)")
    a2.set_title("dashed: static rules; dotted: their bounds C", fontsize=9)
    # one legend for both panels (a strategy has one colour), off the data
    legend_outside(a2, *a1.get_legend_handles_labels())
    return fig


def plot_separation(result: Any, path: str | Path) -> Path:
    """Save :func:`separation_figure` to ``path``."""
    return _save(separation_figure(result), path)


# ------------------------------------------------------------------------ eigen-direction frontier
def render_eigen(result: Any) -> list[Table]:
    """Rich table: per strategy, test loss and accuracy, speed-ups (censored seeds shown), the
    measured frontier's growth exponent ρ and final k*; the spectrum's prediction in the title."""
    r = _doc(result)
    sp = r["spectrum"]
    title = (
        f"eigen-direction frontier on {r['task']}: {r['budget_passes']:g} passes, {r['seeds']} "
        f"seeds, top {r['rank']} directions; measured b = {fmt(sp['b'], '.3f')} "
        f"({sp['shape']}) → predicted ρ = 1/b = {fmt(sp['predicted_rho'], '.2f')}"
    )
    cols = ["strategy", "lr", "test loss", "test acc", "speed-up (reached)"]
    cols += ["wall-clock speed-up", "frontier growth ρ", "final k*"]
    t = _table(title, cols, left=("strategy",))
    for row in r["summary"]:
        f = r["frontier"].get(row["strategy"], {})
        t.add_row(
            row["strategy"],
            fmt(row.get("lr")),
            fmt(row["test_loss"], ".4g"),
            fmt(row["test_acc"], ".3f"),
            fmt_speedup(row, spec=".2f"),
            fmt_speedup(row, "wall_speedup", spec=".2f"),
            fmt_est(f.get("rho"), f.get("rho_lo"), f.get("rho_hi"), ".2f", ".2f"),
            fmt(f.get("final_k"), ".3g"),
        )
    return [t]


def eigen_figure(result: Any) -> Figure:
    """Left: the measured frontier k*(t) per strategy (geometric mean over seeds) and the
    linear-model prediction's slope 1/b. Right: test loss vs passes."""
    from specurate.bench.eigen import measured_frontier

    r = _doc(result)
    fig, (a1, a2) = new_figure(2)
    runs = [RunResult.from_dict(dict(x)) if isinstance(x, Mapping) else x for x in r["runs"]]
    names = [row["strategy"] for row in r["summary"]]
    measured = {
        name: [
            m
            for m in (measured_frontier(x, r["kappa"]) for x in runs if x.strategy == name)
            if m is not None
        ]
        for name in names
    }
    learned = False  # any direction learned by any strategy (else the log axis is empty)
    for name in names:
        mine = measured[name]
        if mine:
            n = min(len(p) for p, _ in mine)
            passes = np.mean([p[:n] for p, _ in mine], axis=0)
            k = np.mean([kk[:n] for _, kk in mine], axis=0)
            learned |= bool(np.any(k > 0))
            a1.plot(passes, k, marker="o", ms=2, color=color(name), label=name)
        curves = [x for x in runs if x.strategy == name and not x.diverged]
        if curves:
            c = curves[0].curve
            a2.plot(
                [p["passes"] for p in c],
                [p["test_loss"] for p in c],
                color=color(name),
                label=f"{name} (seed {curves[0].seed})",
            )
    rho = r["spectrum"].get("predicted_rho")
    uni = measured.get("uniform", [])
    if rho is not None and math.isfinite(rho) and uni:
        # the prediction's slope, through uniform's middle point inside the resolved range
        p, k = uni[0]
        inside = np.flatnonzero((k >= 1) & (k < r["rank"]))
        if inside.size:
            j = inside[inside.size // 2]
            xs = np.geomspace(p[inside[0]], p[inside[-1]], 20)
            a1.plot(xs, k[j] * (xs / p[j]) ** rho, "k:", lw=1, label=f"slope 1/b = {rho:.2f}")
    a1.set_xscale("log")
    if learned:
        a1.set_yscale("log")
    else:
        a1.set_title("no direction's test residual energy fell by the factor e^−2κ", fontsize=9)
    a1.set_xlabel("passes")
    a1.set_ylabel(f"measured frontier k* (of {r['rank']} directions)")
    a1.legend(fontsize=7, loc="best")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("passes")
    a2.set_ylabel("test loss")
    a2.legend(fontsize=7, loc="best")
    return fig


def plot_eigen(result: Any, path: str | Path) -> Path:
    """Save :func:`eigen_figure` to ``path``."""
    return _save(eigen_figure(result), path)
