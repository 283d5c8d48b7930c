"""``specurate run``: the default study on built-in data, written as a resumable report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from specurate.cli._common import SeedOpt, check_out_dir, emit_json, guard, out_console


def run(
    out: Annotated[
        Path, typer.Option(help="output folder (resumable: finished parts are kept)")
    ] = Path("specurate-out"),
    quick: Annotated[bool, typer.Option(help="smaller study (≤ 2 minutes)")] = False,
    seed: SeedOpt = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="print results.json's summary as JSON")
    ] = False,
) -> None:
    """The default study on built-in data: spectra, exponents and curation analyses, as a report."""
    from specurate.report.tables import run_tables
    from specurate.study import run_study

    with guard():
        check_out_dir(out)
        results = run_study(out, quick=quick, seed=seed, progress=not as_json)
    if as_json:
        emit_json(
            {
                "out": str(out),
                "report": str(out / "report.html"),
                "results": str(out / "results.json"),
                "summary": results["summary"],
            }
        )
        return
    for item in run_tables(results):
        out_console.print(item)
    out_console.print(
        f"report: {out / 'report.html'}   results: {out / 'results.json'}"
        + (f"   runs: {out / 'runs.parquet'}" if (out / "runs.parquet").exists() else "")
    )
