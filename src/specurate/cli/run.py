"""``specurate run [DATA]``: the study of the built-in data, or of the user's own data set, written
as a resumable report that opens with its findings."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from specurate.cli._common import (
    EngineName,
    SchedulerOpt,
    SeedOpt,
    WorkersOpt,
    check_out_dir,
    emit_json,
    guard,
    out_console,
)


def run(
    data: Annotated[
        Path | None,
        typer.Argument(
            help="your data: .npy, .npz, .csv, .parquet or a folder of .parquet files (rows = "
            "examples); omit it for the built-in study",
            show_default=False,
        ),
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(help="class labels: a column of DATA, or a file (FILE or FILE:COLUMN)"),
    ] = None,
    groups: Annotated[
        str | None,
        typer.Option(help="group of each example (source, domain…): a column or a file"),
    ] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option(help="a weighting to analyse (a column or a file); repeat for several"),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="the embedding column (a list column, or one numeric column); default: every "
            "numeric column not used above, or the only list column"
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            help="output folder (resumable: finished parts are kept and checked; locked while "
            "a run uses it: a second run on it stops at once)"
        ),
    ] = Path("specurate-out"),
    quick: Annotated[bool, typer.Option(help="smaller study (< 1 minute on built-in data)")] = (
        False
    ),
    jobs: Annotated[
        int,
        typer.Option(min=1, max=2, help="worker processes for independent parts (1 or 2)"),
    ] = min(2, os.cpu_count() or 1),
    seed: SeedOpt = 0,
    engine: Annotated[
        EngineName,
        typer.Option(
            help="local, or dask: the covariance spectrum of every row of DATA (Parquet or .npy) "
            "computed shard by shard on a Dask cluster (a LocalCluster here unless --scheduler "
            "is given)"
        ),
    ] = EngineName.local,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print results.json's findings and summary as JSON")
    ] = False,
) -> None:
    """A spectral study, as a report: spectra and exponents, weightings as operators, the simulator
    on the measured exponents, and (built-in data) real training; findings first."""
    from specurate._files import lock_folder
    from specurate.errors import SpecurateInputError
    from specurate.report.findings import plain
    from specurate.report.tables import run_tables
    from specurate.study.run import check_run_folder

    user = None
    with guard(), contextlib.ExitStack() as stack:
        check_out_dir(out)
        check_run_folder(out)
        if data is None:
            options = (("--labels", labels), ("--groups", groups), ("--weights", weights))
            given = [flag for flag, value in (*options, ("--features", features)) if value]
            if given:
                raise SpecurateInputError(f"{', '.join(given)} need a DATA file or folder")
        else:
            from specurate.io import load_user_data

            user = load_user_data(
                data, features=features, labels=labels, groups=groups, weights=weights or ()
            )
        out.mkdir(exist_ok=True)  # the tool's own folder (its parent was checked)
        stack.enter_context(lock_folder(out))  # a second run on OUT is refused before any work
        results = _run(
            out,
            user,
            quick=quick,
            seed=seed,
            progress=not as_json,
            jobs=jobs,
            engine=engine.value,
            scheduler=scheduler,
            workers=workers,
        )
    if as_json:
        emit_json(
            {
                "out": str(out),
                "report": str(out / "report.html"),
                "results": str(out / "results.json"),
                "findings": results["findings"],
                "summary": results["summary"],
            }
        )
        return
    out_console.print("[bold]What this data says[/bold]")
    for text in results["findings"]:
        out_console.print(f"• {plain(text)}", markup=False, highlight=False)
    for item in run_tables(results):
        out_console.print(item)
    out_console.print(
        f"report: {out / 'report.html'}   results: {out / 'results.json'}"
        + (f"   runs: {out / 'runs.parquet'}" if (out / "runs.parquet").exists() else ""),
        markup=False,
    )


def _run(
    out: Path,
    user: object,
    *,
    quick: bool,
    seed: int,
    progress: bool,
    jobs: int,
    engine: str,
    scheduler: str | None,
    workers: int | None,
) -> dict:
    """The study, with a Dask cluster for the duration when ``engine`` is dask (one started
    here unless ``scheduler`` names a running one)."""
    from specurate.errors import SpecurateInputError
    from specurate.study import run_study

    common = {"data": user, "quick": quick, "seed": seed, "progress": progress, "jobs": jobs}
    if engine == "local":
        if scheduler is not None or workers is not None:
            raise SpecurateInputError("--scheduler and --workers need --engine dask.")
        return run_study(out, **common)  # type: ignore[arg-type]
    from specurate.engine import open_engine
    from specurate.study.run import _check_shardable

    _check_shardable(user)  # type: ignore[arg-type]
    with open_engine("dask", scheduler=scheduler, workers=workers, progress=progress) as eng:
        address = eng.client.scheduler.address
        return run_study(out, **common, scheduler=address)  # type: ignore[arg-type]
