"""``specurate spectrum`` and ``specurate reweight``: the spectrum of a data set, and what fixed
curation weights do to it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from specurate.cli._common import (
    EngineName,
    EngineOpt,
    JsonOpt,
    SchedulerOpt,
    SeedOpt,
    WorkersOpt,
    check_out_file,
    emit_json,
    guard,
    load_data,
    out_console,
)
from specurate.errors import SpecurateInputError
from specurate.report.style import FIGURE_SUFFIXES


class CIMethod(StrEnum):
    jackknife = "jackknife"
    bootstrap = "bootstrap"
    none = "none"


class KernelName(StrEnum):
    linear = "linear"
    rbf = "rbf"


KernelOpt = Annotated[KernelName, typer.Option(help="operator: covariance or RBF kernel")]
TopOpt = Annotated[
    int | None, typer.Option(min=5, help="eigenvalues to report (kernels: to compute)")
]
NoCenterOpt = Annotated[bool, typer.Option("--no-center", help="do not center the operator")]
CIOpt = Annotated[float, typer.Option(min=0.5, max=0.999, help="confidence level")]
PlotOpt = Annotated[Path | None, typer.Option(help="write the plot here (.png/.svg/.pdf)")]
FeaturesOpt = Annotated[
    str | None,
    typer.Option(
        help="the feature column of a table (a list column or one numeric column; default: "
        "the only list column, else every numeric column but --labels)"
    ),
]


def spectrum(
    data: Annotated[
        str,
        typer.Argument(
            help="a .npy/.npz/.parquet/.csv file (rows = examples) or a built-in name: "
            "digits, mnist5k, planted"
        ),
    ],
    kernel: KernelOpt = KernelName.linear,
    labels: Annotated[
        str | None, typer.Option(help="labels file, or a column name of DATA")
    ] = None,
    features: FeaturesOpt = None,
    top: TopOpt = None,
    bandwidth: Annotated[
        float | None, typer.Option(help="RBF bandwidth σ (default: median heuristic)")
    ] = None,
    no_center: NoCenterOpt = False,
    ci_method: Annotated[
        CIMethod,
        typer.Option(help="confidence intervals: delete-one-group jackknife, bootstrap, none"),
    ] = CIMethod.jackknife,
    bootstrap: Annotated[
        int, typer.Option(min=2, help="replicates for --ci-method bootstrap")
    ] = 100,
    ci: CIOpt = 0.9,
    seed: SeedOpt = 0,
    stream: Annotated[
        bool,
        typer.Option(
            help="read DATA (.npy/.parquet) in chunks with O(d²) memory (rbf: Nyström "
            "features, O(m²)); CIs from a grouped jackknife (automatic for files over 1 GiB)"
        ),
    ] = False,
    groups: Annotated[
        int,
        typer.Option(min=2, help="jackknife groups (--ci-method jackknife, --stream)"),
    ] = 20,
    landmarks: Annotated[
        int,
        typer.Option(
            min=1,
            help="Nyström landmarks for --kernel rbf with --stream or sharded data (each "
            "eigenvalue then within the reported trace_gap of the exact kernel's)",
        ),
    ] = 1000,
    engine: EngineOpt = EngineName.local,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    plot: PlotOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Eigen-spectrum of a data set, its power-law exponent b and (with labels) the target's a.

    DATA may also be a folder of .npy shards or a .zarr array (read shard by shard); with
    --engine dask the shards are read by Dask workers and their moments merged on the cluster.
    """
    from specurate.spectrum.estimate import estimate_spectrum

    with guard():
        check_out_file(plot, "--plot", FIGURE_SUFFIXES)
        path = Path(data)
        name = path.name
        sharded = engine is EngineName.dask or _only_sharded(path)
    if sharded:
        with guard(source=name):
            report = _sharded_spectrum(
                path,
                labels,
                engine=engine.value,
                scheduler=scheduler,
                workers=workers,
                groups=groups,
                ci=ci,
                progress=not as_json,
                kernel=kernel.value,
                landmarks=landmarks,
                bandwidth=bandwidth,
                seed=seed,
                features=features,
            )
        _show_spectrum(report, name, top=top, ci=ci, plot=plot, as_json=as_json)
        return
    with guard():
        if scheduler is not None or workers is not None:
            raise SpecurateInputError("--scheduler and --workers need --engine dask.")
        big = path.is_file() and path.stat().st_size > 2**30
        streamed = (stream or big) and (path.suffix in (".npy", ".parquet") or path.is_dir())
        if stream and not streamed:
            raise SpecurateInputError(
                f"{path.name}: --stream needs a .npy or .parquet file or a folder of Parquet files."
            )
        if streamed:
            name = path.name
        else:
            x, y, name = load_data(data, labels, want_labels=True, features=features, seed=seed)
    with guard(source=name):
        if streamed:
            report = _streamed_spectrum(
                path,
                labels,
                groups=groups,
                ci=ci,
                progress=not as_json,
                kernel=kernel.value,
                landmarks=landmarks,
                bandwidth=bandwidth,
                seed=seed,
                features=features,
            )
        else:
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
    _show_spectrum(report, name, top=top, ci=ci, plot=plot, as_json=as_json)


def _show_spectrum(
    report: Any, name: str, *, top: int | None, ci: float, plot: Path | None, as_json: bool
) -> None:
    from specurate.report.json import spectrum_dict
    from specurate.report.tables import spectrum_tables

    out = spectrum_dict(report, top=top)
    out["data"] = name
    if plot is not None:
        from specurate.report.plots import plot_spectrum_report, save

        save(plot_spectrum_report(report, name), plot)
        out["plot"] = str(plot)
    if as_json:
        emit_json(out)
        return
    for item in spectrum_tables(out, name, ci):
        out_console.print(item)


def _only_sharded(path: Path) -> bool:
    """A folder of .npy shards or a zarr array: data only the sharded engine reads."""
    if path.suffix == ".zarr":
        return True
    return path.is_dir() and any(f.suffix == ".npy" for f in path.iterdir())


def _labels_of(path: Path, labels: str | None, flag_context: str) -> tuple[Any, tuple[str, ...]]:
    """Labels from a file, or from a column of Parquet DATA (then left out of the features):
    ``(labels or None, excluded columns)``."""
    import numpy as np

    from specurate import io

    if not labels:
        return None, ()
    if Path(labels).exists():
        return io.load_array(labels, role="labels"), ()
    if path.suffix == ".parquet" or (path.is_dir() and any(path.glob("*.parquet"))):
        try:
            table, _ = io.read_table(path, [labels])  # only that column is read
        except SpecurateInputError:
            table = None
        if table is not None:
            col = table.column(labels)  # type: ignore[attr-defined]
            y = io.validate_array(
                np.asarray(col.to_numpy(zero_copy_only=False)),
                source=f"{path.name}:{labels}",
                role="labels",
            )
            return y, (labels,)
    raise SpecurateInputError(
        f"{labels}: no such file (with {flag_context}, labels are a file or a column of "
        "Parquet DATA)."
    )


def _sharded_spectrum(
    path: Path,
    labels: str | None,
    *,
    engine: str,
    scheduler: str | None,
    workers: int | None,
    groups: int,
    ci: float,
    progress: bool,
    kernel: str,
    landmarks: int,
    bandwidth: float | None,
    seed: int,
    features: str | None,
) -> Any:
    from specurate.engine import open_engine, sharded_spectrum

    y, exclude = _labels_of(path, labels, "sharded data")
    with open_engine(engine, scheduler=scheduler, workers=workers, progress=progress) as eng:
        return sharded_spectrum(
            path,
            y,
            engine=eng,
            features=features,
            exclude=exclude,
            groups=groups,
            ci=ci,
            kernel=kernel,  # type: ignore[arg-type]
            landmarks=landmarks,
            bandwidth=bandwidth,
            seed=seed,
        )


def _streamed_spectrum(
    path: Path,
    labels: str | None,
    *,
    groups: int,
    ci: float,
    progress: bool,
    kernel: str,
    landmarks: int,
    bandwidth: float | None,
    seed: int,
    features: str | None,
) -> Any:
    from specurate import io
    from specurate.spectrum.large import estimate_spectrum_streaming
    from specurate.spectrum.nystrom import kernel_spectrum_nystrom

    y, exclude = _labels_of(path, labels, "--stream")
    rows = io.open_rows(path, min_rows=1, features=features, exclude=exclude)
    if kernel == "rbf":
        report = kernel_spectrum_nystrom(
            rows,
            y,
            landmarks=landmarks,
            bandwidth=bandwidth,
            groups=groups,
            ci=ci,
            seed=seed,
            progress=progress,
        )
    else:
        report = estimate_spectrum_streaming(rows, y, groups=groups, ci=ci, progress=progress)
    if y is not None and labels is not None:
        io.check_same_length(report.n, y, data_source=path.name, other_source=Path(labels).name)
    return report


def reweight(
    data: Annotated[str, typer.Argument(help="a data file or a built-in name")],
    weights: Annotated[
        str, typer.Option(help="per-example weights file (.npy/.npz/.parquet/.csv)")
    ],
    features: FeaturesOpt = None,
    kernel: KernelOpt = KernelName.linear,
    top: TopOpt = None,
    bandwidth: Annotated[float | None, typer.Option(help="RBF bandwidth σ")] = None,
    no_center: NoCenterOpt = False,
    tolerance: Annotated[
        float, typer.Option(help="relative departure defining the finite region K₀")
    ] = 0.1,
    ci_method: Annotated[
        CIMethod,
        typer.Option(
            help="paired confidence intervals (T and T_w lose or resample the same examples): "
            "delete-one-group jackknife (as `spectrum`), bootstrap, none"
        ),
    ] = CIMethod.jackknife,
    groups: Annotated[int, typer.Option(min=2, help="jackknife groups")] = 20,
    bootstrap: Annotated[
        int, typer.Option(min=0, help="replicates for --ci-method bootstrap (0: no CIs)")
    ] = 100,
    ci: CIOpt = 0.9,
    seed: SeedOpt = 0,
    engine: EngineOpt = EngineName.local,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    plot: PlotOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What fixed curation weights do to the spectrum: T_w = M√w T M√w against T.

    DATA may also be a folder of .npy shards or a .zarr array; with --engine dask its shards
    are read by Dask workers (one pass; linear kernel, jackknife CIs over groups of shards).
    """
    from specurate import io
    from specurate.spectrum.reweight import analyze_reweighting, normalize_weights

    path = Path(data)
    with guard():
        check_out_file(plot, "--plot", FIGURE_SUFFIXES)
        sharded = engine is EngineName.dask or _only_sharded(path)
        if not sharded and (scheduler is not None or workers is not None):
            raise SpecurateInputError("--scheduler and --workers need --engine dask.")
        if sharded and (kernel != KernelName.linear or ci_method is not CIMethod.jackknife):
            raise SpecurateInputError(
                f"{path.name}: sharded data are analysed with the linear kernel and jackknife CIs."
            )
        w = io.load_array(weights, role="weights")
        wname = Path(weights).name
    if sharded:
        from specurate.engine import open_engine
        from specurate.engine.reweight import sharded_reweight

        name = path.name
        with guard(source=name):
            with open_engine(
                engine.value, scheduler=scheduler, workers=workers, progress=not as_json
            ) as eng:
                report = sharded_reweight(
                    path,
                    w,
                    engine=eng,
                    groups=groups,
                    ci=ci,
                    tolerance=tolerance,
                    weights_label=wname,
                    features=features,
                )
        _show_reweight(
            report, name, wname, top=top, ci=ci, tolerance=tolerance, plot=plot, as_json=as_json
        )
        return
    with guard():
        x, _, name = load_data(data, None, want_labels=False, features=features, seed=seed)
        io.check_same_length(x.shape[0], w, data_source=name, other_source=wname)
        normalize_weights(w, x.shape[0], source=wname)
    with guard(source=name):
        report = analyze_reweighting(
            x,
            w,
            kernel=kernel.value,
            center=not no_center,
            bandwidth=bandwidth,
            top=top,
            tolerance=tolerance,
            ci_method=ci_method.value,
            groups=groups,
            bootstrap=bootstrap,
            ci=ci,
            seed=seed,
            progress=not as_json,
        )
    _show_reweight(
        report, name, wname, top=top, ci=ci, tolerance=tolerance, plot=plot, as_json=as_json
    )


def _show_reweight(
    report: Any,
    name: str,
    wname: str,
    *,
    top: int | None,
    ci: float,
    tolerance: float,
    plot: Path | None,
    as_json: bool,
) -> None:
    from specurate.report.json import reweight_dict
    from specurate.report.tables import reweight_tables

    out = reweight_dict(report, top=top)
    out.update({"data": name, "weights": wname})
    if plot is not None:
        from specurate.report.plots import plot_reweight, save

        save(plot_reweight(report, title=f"{name} weighted by {wname}"), plot)
        out["plot"] = str(plot)
    if as_json:
        emit_json(out)
        return
    for item in reweight_tables(out, ci, tolerance):
        out_console.print(item)
