"""The ``specurate`` command: parse, call the library, print. No logic of its own.

Every command accepts ``--json`` (one JSON object on stdout, nothing else) and ``--seed``.
User mistakes print one sentence on stderr and exit with code 2.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from specurate.errors import SpecurateInputError
from specurate.results import spectrum_dict
from specurate.spectrum.estimate import estimate_spectrum

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Spectral data curation: spectra, exponents and what curation does to them.",
)
err_console = Console(stderr=True)
# Pipes and files get 120 columns (rich would use 80 and fold the tables' numbers).
out_console = Console(width=None if sys.stdout.isatty() else 120)


class CIMethod(str, Enum):
    jackknife = "jackknife"
    bootstrap = "bootstrap"
    none = "none"


class KernelName(str, Enum):
    linear = "linear"
    rbf = "rbf"


def _fail(message: str) -> None:
    err_console.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code=2)


def _load_data(
    data: str, labels: str | None, *, want_labels: bool
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """DATA is a file or a built-in name; LABELS a file, or a column of a tabular DATA."""
    from specurate import io
    from specurate.datasets import BUILTIN, load_builtin

    path = Path(data)
    if not path.exists() and data in BUILTIN:
        ds = load_builtin(data)
        return ds.x, (ds.y if want_labels or labels else None), data
    drop = None
    if (
        labels
        and not Path(labels).exists()
        and path.suffix in (".csv", ".parquet")
        and path.exists()
    ):
        _, columns = io.read_table(path)
        if labels not in columns:
            raise SpecurateInputError(
                f"{labels}: no such file, and {path.name} has no column of that name."
            )
        drop = labels
    x = io.load_array(path, role="data", drop_column=drop)
    y = None
    if drop is not None:
        table, _ = io.read_table(path)
        y = io.validate_array(
            np.asarray(table.column(drop).to_numpy(zero_copy_only=False)),
            source=f"{path.name}:{drop}",
            role="labels",
        )
    elif labels:
        y = io.load_array(labels, role="labels")
        io.check_same_length(x.shape[0], y, data_source=path.name, other_source=Path(labels).name)
    return x, y, path.name


def _emit_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")


def _fmt_ci(ci: Any) -> str:
    if ci is None or ci[0] is None:
        return "—"
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


@app.command()
def spectrum(
    data: Annotated[
        str,
        typer.Argument(
            help="a .npy/.npz/.parquet/.csv file (rows = examples) or a built-in name: "
            "digits, mnist5k, planted"
        ),
    ],
    kernel: Annotated[KernelName, typer.Option(help="operator: covariance or RBF kernel")] = (
        KernelName.linear
    ),
    labels: Annotated[
        str | None, typer.Option(help="labels file, or a column name of DATA")
    ] = None,
    top: Annotated[
        int | None, typer.Option(min=5, help="eigenvalues to report (kernels: to compute)")
    ] = None,
    bandwidth: Annotated[
        float | None, typer.Option(help="RBF bandwidth σ (default: median heuristic)")
    ] = None,
    no_center: Annotated[
        bool, typer.Option("--no-center", help="do not center the operator")
    ] = False,
    ci_method: Annotated[
        CIMethod,
        typer.Option(help="confidence intervals: delete-one-group jackknife, bootstrap, none"),
    ] = CIMethod.jackknife,
    bootstrap: Annotated[
        int, typer.Option(min=2, help="replicates for --ci-method bootstrap")
    ] = 100,
    ci: Annotated[float, typer.Option(min=0.5, max=0.999, help="confidence level")] = 0.9,
    seed: Annotated[int, typer.Option(help="seed of all randomness")] = 0,
    stream: Annotated[
        bool,
        typer.Option(
            help="read DATA (.npy/.parquet) in chunks with O(d²) memory; CIs from a grouped "
            "jackknife (automatic for files over 1 GiB)"
        ),
    ] = False,
    groups: Annotated[
        int, typer.Option(min=2, help="jackknife groups (--jackknife, --stream)")
    ] = 20,
    plot: Annotated[
        Path | None, typer.Option(help="write the spectrum plot here (.png/.svg/.pdf)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object, nothing else")] = (
        False
    ),
) -> None:
    """Eigen-spectrum of a data set, its power-law exponent b and (with labels) the target's a."""
    try:
        path = Path(data)
        big = path.is_file() and path.stat().st_size > 2**30
        if (stream or big) and path.suffix in (".npy", ".parquet") and kernel == KernelName.linear:
            report, name = _streamed_spectrum(
                path, labels, groups=groups, ci=ci, progress=not as_json
            )
        elif stream:
            raise SpecurateInputError(
                f"{path.name}: --stream needs a .npy or .parquet file and the linear kernel."
            )
        else:
            x, y, name = _load_data(data, labels, want_labels=True)
            report = estimate_spectrum(
                x,
                y,
                kernel=kernel.value,
                center=not no_center,
                bandwidth=bandwidth,
                top=top,
                bootstrap=bootstrap,
                ci=ci,
                ci_method=ci_method.value,
                groups=groups,
                seed=seed,
                progress=not as_json,
            )
    except SpecurateInputError as exc:
        _fail(str(exc))
    out = spectrum_dict(report, top=top)
    out["data"] = name
    if plot is not None:
        _save_spectrum_plot(report, plot, name)
        out["plot"] = str(plot)
    if as_json:
        _emit_json(out)
        return
    _print_spectrum_table(out, name, ci)


def _streamed_spectrum(
    path: Path, labels: str | None, *, groups: int, ci: float, progress: bool
) -> tuple[Any, str]:
    from specurate import io
    from specurate.spectrum.large import estimate_spectrum_streaming

    y = None
    if labels:
        if not Path(labels).exists():
            raise SpecurateInputError(
                f"{labels}: no such file (with --stream, labels must be a file)."
            )
        y = io.load_array(labels, role="labels")
    report = estimate_spectrum_streaming(path, y, groups=groups, ci=ci, progress=progress)
    if y is not None:
        io.check_same_length(report.n, y, data_source=path.name, other_source=Path(labels).name)
    return report, path.name


def _print_spectrum_table(out: dict[str, Any], name: str, ci: float) -> None:
    table = Table(title=f"spectrum of {name} ({out['kernel']}, n={out['n']}, d={out['d']})")
    table.add_column("quantity")
    table.add_column("estimate", justify="right")
    table.add_column(f"{int(ci * 100)}% CI", justify="right")
    table.add_row("eigenvalue decay b", f"{out['b']:.3f}", _fmt_ci(out["b_ci"]))
    table.add_row("density exponent α = 1 + 1/b", f"{out['alpha']:.3f}", _fmt_ci(out["alpha_ci"]))
    table.add_row("fit range (ranks)", f"{out['fit_range'][0]}–{out['fit_range'][1]}", "")
    table.add_row("noise floor ε", f"{out['floor']:.3g}", "")
    for alt, c in out["model_comparison"].items():
        table.add_row(
            f"R(power law vs {alt})", f"{c['loglik_ratio']:+.1f}", f"p = {c['p_value']:.2g}"
        )
    if out["a"] is not None:
        table.add_row("target energy decay a", f"{out['a']:.3f}", _fmt_ci(out["a_ci"]))
        table.add_row(
            "learning exponent (a−1)/b",
            f"{out['learning_exponent']:.3f}",
            _fmt_ci(out["learning_exponent_ci"]),
        )
    out_console.print(table)
    out_console.print("R > 0 favours the power law over the alternative.", style="dim")


def _save_spectrum_plot(report: Any, path: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from specurate.plots import plot_energy, plot_spectrum, save

    ncols = 2 if report.target is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.8), layout="constrained")
    axes = np.atleast_1d(axes)
    plot_spectrum(report, axes[0], title=f"{name}: spectrum ({report.kernel})")
    if report.target is not None:
        plot_energy(report, axes[1])
    save(fig, path)


@app.command()
def reweight(
    data: Annotated[str, typer.Argument(help="a data file or a built-in name")],
    weights: Annotated[
        str, typer.Option(help="per-example weights file (.npy/.npz/.parquet/.csv)")
    ],
    kernel: Annotated[
        KernelName, typer.Option(help="operator: covariance or RBF kernel")
    ] = KernelName.linear,
    top: Annotated[
        int | None, typer.Option(min=5, help="eigenvalues to report (kernels: to compute)")
    ] = None,
    bandwidth: Annotated[float | None, typer.Option(help="RBF bandwidth σ")] = None,
    no_center: Annotated[
        bool, typer.Option("--no-center", help="do not center the operator")
    ] = False,
    tolerance: Annotated[
        float, typer.Option(help="relative departure defining the finite region K₀")
    ] = 0.1,
    bootstrap: Annotated[int, typer.Option(min=0, help="paired bootstrap replicates")] = 100,
    ci: Annotated[float, typer.Option(min=0.5, max=0.999, help="confidence level")] = 0.9,
    seed: Annotated[int, typer.Option(help="seed of all randomness")] = 0,
    plot: Annotated[Path | None, typer.Option(help="write the T vs T_w plot here")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object, nothing else")
    ] = False,
) -> None:
    """What fixed curation weights do to the spectrum: T_w = M√w T M√w against T."""
    from specurate import io
    from specurate.results import reweight_dict
    from specurate.spectrum.reweight import analyze_reweighting, normalize_weights

    try:
        x, _, name = _load_data(data, None, want_labels=False)
        w = io.load_array(weights, role="weights")
        wname = Path(weights).name
        io.check_same_length(x.shape[0], w, data_source=name, other_source=wname)
        normalize_weights(w, x.shape[0], source=wname)
        report = analyze_reweighting(
            x,
            w,
            kernel=kernel.value,
            center=not no_center,
            bandwidth=bandwidth,
            top=top,
            tolerance=tolerance,
            bootstrap=bootstrap,
            ci=ci,
            seed=seed,
            progress=not as_json,
        )
    except SpecurateInputError as exc:
        _fail(str(exc))
    out = reweight_dict(report, top=top)
    out.update({"data": name, "weights": wname})
    if plot is not None:
        from specurate.plots import plot_reweight, save

        save(plot_reweight(report, title=f"{name} weighted by {wname}"), plot)
        out["plot"] = str(plot)
    if as_json:
        _emit_json(out)
        return
    table = Table(title=f"{name} reweighted by {wname} (n={out['n']}, kept {out['n_kept']})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column(f"{int(ci * 100)}% CI", justify="right")
    table.add_row("C = max w (mean 1)", f"{out['C']:.3f}", "")
    table.add_row("b (original)", f"{out['b']:.3f}", _fmt_ci(out["b_ci"]))
    common = f"{out['fit_range_w'][0]}–{out['fit_range_w'][1]}"
    table.add_row(f"b on ranks {common}", f"{out['b_common']:.3f}", "")
    table.add_row(f"b_w (curated) on ranks {common}", f"{out['b_w']:.3f}", _fmt_ci(out["b_w_ci"]))
    table.add_row("b_w − b (common range)", f"{out['delta_b']:+.3f}", _fmt_ci(out["delta_b_ci"]))
    table.add_row(
        "Loewner bound λ_k(T_w) ≤ C λ_k", "holds" if out["loewner_upper_ok"] else "VIOLATED", ""
    )
    table.add_row("max λ_k(T_w)/λ_k(T)", f"{out['max_eig_ratio']:.3f}", "")
    table.add_row("tail ratio", f"{out['tail_ratio']:.3f}", "")
    table.add_row(f"finite region K₀ (tol {tolerance:g})", str(out["k0"]), "")
    table.add_row("frontier gain inside K₀", f"{out['frontier_gain']:.3f}", "")
    table.add_row("spectral narrowing", "YES" if out["narrowing"] else "no", "")
    out_console.print(table)


class BudgetName(str, Enum):
    operator = "operator"
    mass = "mass"


def _parse_knob(text: str) -> tuple[str, Any]:
    """``name=value`` with value parsed as none/bool/int/float, else kept as text."""
    if "=" not in text:
        raise SpecurateInputError(f"--set expects name=value, got {text!r}")
    name, raw = (p.strip() for p in text.split("=", 1))
    low = raw.lower()
    if low in ("none", "null"):
        return name.replace("-", "_"), None
    if low in ("true", "false"):
        return name.replace("-", "_"), low == "true"
    for conv in (int, float):
        try:
            return name.replace("-", "_"), conv(raw)
        except ValueError:
            pass
    return name.replace("-", "_"), raw


def _policy_from_cli(policy: str, kappa: str | None, knobs: list[str]) -> Any:
    from specurate.dynamics.policies import make_policy

    values = dict(_parse_knob(k) for k in knobs)
    if kappa is not None:
        if policy not in ("oracle", "probe"):
            raise SpecurateInputError(f"--kappa applies to the oracle and the probe, not {policy}")
        if kappa == "grow":
            if policy != "oracle":
                raise SpecurateInputError("--kappa grow applies to the oracle only")
            values.setdefault("kappa", 3.0)
            values.setdefault("growth", 1.0)
        else:
            try:
                values["kappa"] = float(kappa)
            except ValueError:
                raise SpecurateInputError(
                    f"--kappa must be a number or 'grow', got {kappa!r}"
                ) from None
    return make_policy(policy, **values)


@app.command()
def simulate(
    a: Annotated[float, typer.Option(help="target energy exponent: λ_k w_k² = k^-a (a > 1)")] = 2.0,
    b: Annotated[float, typer.Option(help="spectral exponent: λ_k = k^-b (b > 0)")] = 1.5,
    policy: Annotated[
        str,
        typer.Option(
            help="baseline, static, oracle, soft-oracle, self-score, probe, ensemble, "
            "synthetic-teacher or synthetic-self"
        ),
    ] = "oracle",
    budget: Annotated[
        BudgetName,
        typer.Option(help="operator: Σ ω_k λ_k = Σ λ_k; mass: equal example mass per mode"),
    ] = BudgetName.operator,
    modes: Annotated[int, typer.Option(help="number of modes N (≥ 10)")] = 1_000_000,
    t_min: Annotated[float, typer.Option(help="first time (passes)")] = 1.0,
    t_max: Annotated[float, typer.Option(help="last time (passes)")] = 1e8,
    kappa: Annotated[
        str | None, typer.Option(help="oracle/probe threshold κ, or 'grow' for κ(t) = 3 + ln(1+t)")
    ] = None,
    knob: Annotated[
        list[str] | None,
        typer.Option("--set", help="policy knob as name=value (repeatable), e.g. --set noise=0.5"),
    ] = None,
    alpha: Annotated[float, typer.Option(help="learning law g = c (ωλ)^α t^β: α")] = 1.0,
    beta: Annotated[float, typer.Option(help="learning law: β")] = 1.0,
    data: Annotated[
        str | None,
        typer.Option(help="simulate the measured spectrum of this data (file or built-in name)"),
    ] = None,
    labels: Annotated[str | None, typer.Option(help="labels for --data")] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="run every policy; write a plot and the tables")
    ] = False,
    out: Annotated[Path, typer.Option(help="--compare: output folder")] = Path(
        "specurate-simulate"
    ),
    samples: Annotated[
        bool,
        typer.Option(help="--compare: also train on Gaussian vs cluster samples (sample level)"),
    ] = True,
    plot: Annotated[Path | None, typer.Option(help="write the L(t), k*(t) plot here")] = None,
    seed: Annotated[int, typer.Option(help="seed of all randomness")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object, nothing else")
    ] = False,
) -> None:
    """Exact mode-space learning dynamics under a curation policy, against the baseline."""
    from specurate.dynamics.compare import analyze
    from specurate.dynamics.fit import default_targets
    from specurate.dynamics.modes import LearningLaw, modes_from_spectrum, power_law_modes
    from specurate.dynamics.policies import Baseline
    from specurate.dynamics.simulate import simulate as run_simulation
    from specurate.results import jsonable, trajectory_dict

    try:
        law = LearningLaw(alpha=alpha, beta=beta)
        if compare:
            _simulate_compare(
                a, b, budget.value, modes, t_min, t_max, law, seed, out, as_json, samples
            )
            return
        pol = _policy_from_cli(policy, kappa, knob or [])
        if data is not None:
            x, y, _ = _load_data(data, labels, want_labels=True)
            if y is None:
                raise SpecurateInputError("--data needs labels (--labels or a built-in data set)")
            report = estimate_spectrum(x, y, ci_method="none", seed=seed, progress=not as_json)
            problem = modes_from_spectrum(report, budget=budget.value)
        else:
            problem = power_law_modes(a, b, n_modes=modes, budget=budget.value)
        kw = dict(law=law, t_min=t_min, t_max=t_max, seed=seed)
        base = run_simulation(problem, Baseline(), **kw)
        traj = base if pol.name == "baseline" else run_simulation(problem, pol, **kw)
    except SpecurateInputError as exc:
        _fail(str(exc))
    targets = default_targets(base)
    an = analyze(traj, base, targets)
    base_an = analyze(base, base, targets)
    result = trajectory_dict(traj, analysis=an)
    result["baseline"] = {
        "loss_exponent": base_an.loss.exponent,
        "frontier_exponent": base_an.frontier.exponent,
        "loss": base.loss,
        "compute": base.compute,
    }
    result["problem"] = {"a": problem.a, "b": problem.b, "source": problem.source}
    if problem.a is not None and problem.b is not None:
        result["paper"] = {
            "baseline_loss_exponent": (problem.a - 1) * law.rho / problem.b,
            "baseline_frontier_exponent": law.rho / problem.b,
            "oracle_frontier_exponent": law.rho,
            "oracle_loss_exponent_A3": problem.a * law.rho / problem.b,
        }
    result = jsonable(result)
    if plot is not None:
        from specurate.plots import plot_dynamics, save

        save(plot_dynamics({"baseline": base, pol.name: traj}, title=problem.source), plot)
        result["plot"] = str(plot)
    if as_json:
        _emit_json(result)
        return
    _print_simulation(result)


def _print_simulation(r: dict[str, Any]) -> None:
    def num(v: Any, fmt: str = ".4g") -> str:
        return "—" if v is None else format(v, fmt)

    table = Table(
        title=f"{r['policy']} vs baseline ({r['budget']} budget, N = {r['n_modes']}, "
        f"{r['engine']} engine)"
    )
    table.add_column("quantity")
    table.add_column(r["policy"], justify="right")
    table.add_column("baseline", justify="right")
    lo, hi = r["loss_fit_range"]
    table.add_row(
        f"loss exponent (L ~ t^-x, t in {num(lo, '.3g')}–{num(hi, '.3g')})",
        f"{num(r['loss_exponent'])} (drift {num(r['loss_drift'], '+.3f')})",
        num(r["baseline"]["loss_exponent"]),
    )
    table.add_row(
        "frontier exponent (k* ~ t^x)",
        num(r["frontier_exponent"]),
        num(r["baseline"]["frontier_exponent"]),
    )
    for target, sp in r["speedup_at_target"].items():
        table.add_row(
            f"speed-up at L = {target}", "never reached" if sp is None else f"{sp:.3g}×", "1×"
        )
    table.add_row("largest weight used", num(r["largest_weight"]), "1")
    table.add_row("speed-up that weight alone allows", f"{num(r['bound_speedup'])}×", "1×")
    table.add_row("final loss", num(r["final_loss"]), num(r["baseline"]["loss"][-1]))
    out_console.print(table)
    if "paper" in r:
        p = r["paper"]
        out_console.print(
            f"paper: baseline loss exponent (a−1)ρ/b = {p['baseline_loss_exponent']:.4g}, "
            f"oracle frontier ρ = {p['oracle_frontier_exponent']:.4g}, "
            f"oracle loss aρ/b (A.3) = {p['oracle_loss_exponent_A3']:.4g}"
        )
    for note in r["notes"]:
        out_console.print(f"note: {note}")


def _simulate_compare(
    a: float,
    b: float,
    budget: str,
    n_modes: int,
    t_min: float,
    t_max: float,
    law: Any,
    seed: int,
    out: Path,
    as_json: bool,
    samples: bool,
) -> None:
    from specurate.dynamics.compare import compare as run_compare
    from specurate.plots import plot_compare, save
    from specurate.results import comparison_dict

    n = min(n_modes, 200_000)
    t_hi = min(t_max, 1e7)
    cmp = run_compare(
        a,
        b,
        mass_modes=min(1_000_000, max(100_000, 5 * n)),
        budget=budget,
        n_modes=n,
        t_min=t_min,
        t_max=t_hi,
        law=law,
        seed=seed,
        progress=not as_json,
    )
    out.mkdir(parents=True, exist_ok=True)
    save(plot_compare(cmp), out / "compare.png")
    result = comparison_dict(cmp)
    result["plot"] = str(out / "compare.png")
    if samples:
        from specurate.dynamics.policies import SoftOracle
        from specurate.dynamics.samples import compare_families

        # lr_factor 0.1: GD steps small enough to track gradient flow (see dynamics.samples)
        result["sample_level"] = compare_families(SoftOracle(), a=a, b=b, lr_factor=0.1, seed=seed)
    (out / "compare.json").write_text(json.dumps(result, indent=1))
    if as_json:
        _emit_json(result)
        return
    _print_compare(result)
    out_console.print(f"plot: {out / 'compare.png'}   results: {out / 'compare.json'}")


def _print_compare(r: dict[str, Any]) -> None:
    def num(v: Any, fmt: str = ".3g") -> str:
        return "—" if v is None else format(v, fmt)

    targets = list(r["policies"][0]["speedup_at_target"])
    table = Table(title=f"policies on a = {r['a']:g}, b = {r['b']:g} ({r['budget']} budget)")
    table.add_column("policy", no_wrap=True)
    for col in ("loss exp", "drift", "k* exp"):
        table.add_column(col, justify="right", no_wrap=True)
    for i, _ in enumerate(targets, 1):
        table.add_column(f"×@L{i}", justify="right", no_wrap=True)
    for col in ("max w", "w exp", "bound", "rec exp", "rec t"):
        table.add_column(col, justify="right", no_wrap=True)
    for p in r["policies"]:
        rec = p["exponent_gain_recovered"], p["time_gain_recovered"]
        table.add_row(
            p["label"],
            num(p["loss_exponent"], ".4f"),
            num(p["loss_drift"], "+.2f"),
            num(p["frontier_exponent"], ".3f"),
            *[num(p["speedup_at_target"][t]) for t in targets],
            num(p["largest_weight"]),
            num(p["weight_growth_exponent"], ".2f"),
            num(p["bound_speedup"]),
            num(rec[0], ".2f"),
            num(rec[1], ".2f"),
        )
    out_console.print(table)
    legend = ", ".join(f"L{i} = {t}" for i, t in enumerate(targets, 1))
    out_console.print(
        f"×@L: compute speed-up over the baseline at target loss ({legend}); max w: largest "
        "weight used; w exp: its growth exponent in t; bound: the speed-up max w alone allows; "
        "rec exp / rec t: fraction of the oracle's exponent gain / log speed-up recovered (OQ2)"
    )
    paper = Table(title="paper's formula vs measured")
    for col in ("claim", "source", "paper", "measured", "agrees", "alternative"):
        paper.add_column(col, justify="left" if col in ("claim", "source") else "right")
    for p in r["paper_vs_measured"]:
        alt = "—"
        if p["alternative"] is not None:
            mark = "✓" if p["alternative_agrees"] else "✗"
            alt = f"{p['alternative']:.4g} {mark} [{p['alternative_formula']}]"
        paper.add_row(
            p["claim"],
            p["source"],
            f"{p['paper']:.4g}",
            f"{p['measured']:.4g}",
            "yes" if p["agrees"] else "NO",
            alt,
        )
    out_console.print(paper)
    sweep = Table(title="static pruning of the head: finite region (OQ1)")
    for col in ("strength", "C", "C_front", "K₀", "loss exp.", "speed-up", "bound C"):
        sweep.add_column(col, justify="right")
    for row in r["static_sweep"]:
        sp = [v for v in row["speedup_at_target"].values() if v is not None]
        sweep.add_row(
            f"{row['strength']:g}",
            num(row["C"]),
            num(row["c_front"]),
            num(row["k0"]),
            num(row["loss_exponent"], ".4f"),
            num(sp[-1] if sp else None),
            num(row["bound_speedup"]),
        )
    out_console.print(sweep)
    if "sample_level" in r:
        sl = r["sample_level"]
        st = Table(
            title=f"sample level: {sl['policy']} through per-example weights "
            f"(n = {sl['n_examples']}, d = {sl['n_modes']}, {sl['method']})"
        )
        for col in ("data", "speed-up (t)", "mode-space speed-up", "weight mismatch", "max w"):
            st.add_column(col, justify="left" if col == "data" else "right")
        for fam, f in sl["families"].items():
            st.add_row(
                fam + (" (examples mix all modes)" if fam == "gaussian" else " (one mode each)"),
                num(f["speedup"]),
                num(f["mode_space_speedup"]),
                num(f["mismatch"]),
                f"{num(f['max_intended'])} → {num(f['max_realized'])}",
            )
        out_console.print(st)


def _bench_rates(
    lr: str, grid: str, names: list[str], make_task: Any, epochs: float, seed: int, quiet: bool
) -> dict[str, float]:
    """Learning rate per strategy: one given rate, or each strategy's best on the grid."""
    from specurate.bench.train import tuned_rates
    from specurate.cli_experiments import _floats

    if lr != "auto":
        try:
            rate = float(lr)
        except ValueError:
            raise SpecurateInputError(f"--lr must be a number or 'auto', got {lr!r}") from None
        if not (np.isfinite(rate) and rate > 0):
            raise SpecurateInputError(f"--lr must be > 0, got {lr}")
        return dict.fromkeys(names, rate)
    return tuned_rates(
        make_task,
        names,
        budget_passes=epochs,
        grid=_floats(grid, "--lr-grid"),
        seed=seed,
        progress=not quiet,
    )


@app.command()
def bench(
    dataset: Annotated[
        str,
        typer.Option(
            help="built-in task: mode-local, clusters, gaussian, teacher, mnist1d, "
            "mnist1d-longtail, digits, mnist5k"
        ),
    ] = "mode-local",
    strategies: Annotated[
        str,
        typer.Option(
            help="comma-separated: uniform (always run), loss (loss-proportional, C=5), "
            "infobatch (InfoBatch-style, prune 0.5), frontier (soft, task groups), "
            "oracle (the true frontier oracle, synthetic tasks), random-subset (keep 70%), "
            "balanced (static, equal weight per group); "
            "see specurate.bench.strategies"
        ),
    ] = "uniform,loss,infobatch,frontier",
    epochs: Annotated[
        float, typer.Option(help="compute budget in passes (backward + scoring, per example)")
    ] = 5.0,
    seeds: Annotated[int, typer.Option(min=1, help="seeds per strategy")] = 3,
    batch_size: Annotated[int, typer.Option(min=1, help="SGD batch size")] = 128,
    lr: Annotated[
        str,
        typer.Option(
            help="SGD learning rate (momentum 0.9), or 'auto': each strategy at its best rate "
            "of --lr-grid, tuned on an independent draw of the task (seed + 1000)"
        ),
    ] = "auto",
    lr_grid: Annotated[
        str, typer.Option(help="candidate rates for --lr auto")
    ] = "0.025,0.05,0.1,0.2,0.4",
    n_train: Annotated[
        int | None, typer.Option(min=1, help="training examples (default: the task's)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="write one row per run and eval point (.parquet)")
    ] = None,
    seed: Annotated[int, typer.Option(help="first seed (seeds are seed, seed+1, …)")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object, nothing else")
    ] = False,
) -> None:
    """Real training under curation strategies, with compute accounting, against uniform."""
    try:
        from specurate.bench import TASKS, runs_to_parquet, summarize, train
        from specurate.bench.strategies import make_strategy, needs_oracle
    except ImportError as exc:  # pragma: no cover - torch extra missing
        _fail(f"specurate bench needs the torch extra ({exc})")
    from specurate._progress import progress_iter
    from specurate.cli_experiments import _names
    from specurate.results import jsonable

    try:
        if dataset not in TASKS:
            raise SpecurateInputError(
                f"unknown dataset {dataset!r}; choose from {', '.join(TASKS)}"
            )
        names = list(_names(strategies))
        if "uniform" not in names:
            names.insert(0, "uniform")
        size = {} if n_train is None else {"n_train": n_train}
        task = TASKS[dataset](seed=seed, **size)
        makers = {
            n: make_strategy(n, task, budget_passes=epochs, batch_size=batch_size) for n in names
        }
        rates = _bench_rates(
            lr, lr_grid, names, lambda s: TASKS[dataset](seed=s, **size), epochs, seed, as_json
        )
        jobs = [(n, seed + k) for k in range(seeds) for n in names]
        runs = [
            train(
                task,
                makers[n],
                seed=s,
                budget_passes=epochs,
                batch_size=batch_size,
                lr=rates[n],
                label=n,
                oracle=needs_oracle(n),
            )
            for n, s in progress_iter(jobs, f"training on {dataset}", enabled=not as_json)
        ]
    except SpecurateInputError as exc:
        _fail(str(exc))
    rows = summarize(runs)
    result = {"dataset": dataset, "runs": [r.to_dict() for r in runs], "summary": rows}
    if out is not None:
        runs_to_parquet(runs, out)
        result["parquet"] = str(out)
    if as_json:
        _emit_json(jsonable(result))
        return
    table = Table(title=f"{dataset}: {epochs:g} passes, {seeds} seed(s), mean [90% CI]")
    has_acc = any(np.isfinite(r["test_acc"]) for r in rows)
    has_oracle = any(r["strategy"] == "oracle" for r in rows)
    cols = ["strategy", "lr", "test loss", "test acc", "passes to uniform's loss", "speed-up"]
    cols += ["speed-up at acc − 0.3 pt"] if has_acc else []
    cols += ["oracle gain recovered"] if has_oracle else []
    cols += ["scoring passes", "wall ratio", "wall-clock speed-up"]
    for col in cols:
        table.add_column(col, justify="left" if col == "strategy" else "right")

    def ci(v: float, lo: float, hi: float) -> str:
        if not np.isfinite(v):
            return "—"
        return f"{v:.4g} [{lo:.3g}, {hi:.3g}]" if np.isfinite(lo) else f"{v:.4g}"

    for r in rows:
        ptt = r["passes_to_target"]
        cells = [
            r["strategy"],
            f"{r['lr']:.3g}",
            ci(r["test_loss"], r["test_loss_lo"], r["test_loss_hi"]),
            ci(r["test_acc"], r["test_acc_lo"], r["test_acc_hi"]),
            "never" if ptt is None else f"{ptt:.3g}",
            ci(r["speedup"], r["speedup_lo"], r["speedup_hi"]),
        ]
        if has_acc:
            cells.append(ci(r["acc_speedup"], r["acc_speedup_lo"], r["acc_speedup_hi"]))
        if has_oracle:
            f = r["oracle_fraction"]
            cells.append("—" if not np.isfinite(f) else f"{f:.2f}")
        cells += [
            f"{r['scoring_passes']:.2f}",
            f"{r['wall_ratio']:.2f}",
            ci(r["wall_speedup"], r["wall_speedup_lo"], r["wall_speedup_hi"]),
        ]
        table.add_row(*cells)
    out_console.print(table)


@app.command()
def run(
    out: Annotated[
        Path, typer.Option(help="output folder (resumable: finished parts are kept)")
    ] = Path("specurate-out"),
    quick: Annotated[bool, typer.Option(help="smaller study (≤ 2 minutes)")] = False,
    seed: Annotated[int, typer.Option(help="seed of all randomness")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="print results.json's summary as JSON")
    ] = False,
) -> None:
    """The default study on built-in data: spectra, exponents and curation analyses, as a report."""
    from specurate.study import run_study

    try:
        results = run_study(out, quick=quick, seed=seed, progress=not as_json)
    except SpecurateInputError as exc:
        _fail(str(exc))
    if as_json:
        _emit_json(
            {
                "out": str(out),
                "report": str(out / "report.html"),
                "results": str(out / "results.json"),
                "summary": results["summary"],
            }
        )
        return
    table = Table(title="specurate run: spectral study of the built-in data")
    for col in ("data", "kernel", "b", "b CI", "a", "a CI", "(a−1)/b"):
        table.add_column(col, justify="right" if col not in ("data", "kernel") else "left")
    for row in results["summary"]:
        table.add_row(
            row["data"],
            row["kernel"],
            f"{row['b']:.3f}",
            _fmt_ci(row["b_ci"]),
            "—" if row["a"] is None else f"{row['a']:.3f}",
            _fmt_ci(row["a_ci"]),
            "—" if row["learning_exponent"] is None else f"{row['learning_exponent']:.3f}",
        )
    out_console.print(table)
    for part in results["parts"].values():
        if part.get("kind") == "simulate":
            rows = {p["claim"].split(",")[0]: p for p in part["paper_vs_measured"]}
            base = rows["baseline loss exponent"]["measured"]
            orc = next(p for p in part["paper_vs_measured"] if p["source"] == "A.3")
            out_console.print(
                f"simulated on {part['data']} (a={part['measured_a']:.3f}, "
                f"b={part['measured_b']:.3f}): loss exponent {base:.3f} uniform, "
                f"{orc['measured']:.3f} frontier oracle (A.3 predicts {orc['paper']:.3f})"
            )
        if part.get("kind") == "training":
            best = [
                f"{r['strategy']} {r['speedup']:.2f}×"
                for r in part["summary"]
                if r["strategy"] != "uniform" and r["speedup"] is not None
            ]
            out_console.print(
                f"real training on {part['task']} ({part['budget_passes']:g} passes, "
                f"{part['seeds']} seeds), passes-to-target speed-up over uniform: "
                + (", ".join(best) or "none reached uniform's final loss")
            )
    for note in results.get("notes", []):
        out_console.print(f"note: {note}")
    out_console.print(
        f"report: {out / 'report.html'}   results: {out / 'results.json'}"
        + (f"   runs: {out / 'runs.parquet'}" if (out / "runs.parquet").exists() else "")
    )


def _register_experiments() -> None:
    from specurate.cli_experiments import experiment_app

    app.add_typer(experiment_app, name="experiment")


_register_experiments()


def main() -> None:
    """Entry point of the ``specurate`` console script."""
    app()


if __name__ == "__main__":
    main()
