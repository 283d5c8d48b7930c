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
    out_console.print(f"report: {out / 'report.html'}   results: {out / 'results.json'}")


def main() -> None:
    """Entry point of the ``specurate`` console script."""
    app()


if __name__ == "__main__":
    main()
