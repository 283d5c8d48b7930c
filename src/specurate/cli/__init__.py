"""The ``specurate`` command: parse, call the library, print. No analysis of its own.

One module per command group — :mod:`~specurate.cli.data` (``spectrum``, ``reweight``),
:mod:`~specurate.cli.simulate`, :mod:`~specurate.cli.bench`, :mod:`~specurate.cli.run`,
:mod:`~specurate.cli.experiment` — and :mod:`~specurate.cli._common` for what they share.
Every command accepts ``--json`` (one JSON object on stdout, nothing else) and ``--seed``.
User mistakes print one sentence on stderr and exit with code 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from specurate.cli import bench, data, run, score, simulate
from specurate.cli.experiment import experiment_app

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Spectral data curation: spectra, exponents and what curation does to them.",
)


def _version(value: bool) -> None:
    if value:
        from specurate import __version__

        typer.echo(f"specurate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Spectral data curation: spectra, exponents and what curation does to them."""


app.command()(data.spectrum)
app.command()(data.reweight)
app.command()(simulate.simulate)
app.command()(bench.bench)
app.command()(run.run)
app.command()(score.score)
app.add_typer(experiment_app, name="experiment")


def main() -> None:
    """Entry point of the ``specurate`` console script."""
    app()
