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


def _click_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(usage errors, "no arguments: show the help") of click and of the copy of click that
    recent typer releases vendor (``typer._click``): both can reach us, depending on the
    installed typer."""
    import click

    usage: list[type[Exception]] = [click.UsageError]
    no_args: list[type[Exception]] = []
    if hasattr(click.exceptions, "NoArgsIsHelpError"):
        no_args.append(click.exceptions.NoArgsIsHelpError)
    try:
        from typer._click import exceptions as vendored
    except ImportError:
        pass
    else:
        usage.append(vendored.UsageError)
        if hasattr(vendored, "NoArgsIsHelpError"):
            no_args.append(vendored.NoArgsIsHelpError)
    return tuple(usage), tuple(no_args)


def main() -> None:
    """Entry point of the ``specurate`` console script.

    A command-line mistake that click catches (an unknown option, a value out of its range) is
    printed like every other user mistake: ``error: <one sentence>`` on stderr, exit code 2 —
    not click's framed usage box (the help is one ``--help`` away)."""
    import sys

    usage, no_args = _click_errors()
    try:
        code = app(standalone_mode=False)  # an Exit(code) inside comes back as the return value
    except no_args as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except usage as exc:
        message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "specurate"
        print(f"error: {message} (see {command} --help)", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)
