"""``specurate experiment …``: the paper's three experiments and the label-noise signature, one
command each (registered on the main app by :mod:`specurate.cli`; being rewritten).

Every command prints rich tables, writes ``OUT/<name>.json`` and ``OUT/<name>.png`` and, with
``--json``, prints the result as one JSON object instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from specurate.errors import SpecurateInputError

experiment_app = typer.Typer(
    help="The paper's experiments on real training: static, oracle, span, noise.",
    no_args_is_help=True,
)


def _finish(name: str, result: dict[str, Any], out: Path, render, plot, as_json: bool) -> None:
    from specurate.cli._common import emit_json as _emit_json
    from specurate.cli._common import out_console
    from specurate.report.json import jsonable

    out.mkdir(parents=True, exist_ok=True)
    doc = jsonable(result)
    (out / f"{name}.json").write_text(json.dumps(doc, allow_nan=False, indent=1))
    plot(result, out / f"{name}.png")
    if as_json:
        _emit_json({**doc, "json": str(out / f"{name}.json"), "plot": str(out / f"{name}.png")})
        return
    for table in render(result):
        out_console.print(table)
    out_console.print(f"wrote {out / (name + '.json')} and {out / (name + '.png')}")


def _task(dataset: str, seed: int, n_train: int | None):
    import inspect

    from specurate.bench import TASKS

    if dataset not in TASKS:
        raise SpecurateInputError(f"unknown dataset {dataset!r}; choose from {', '.join(TASKS)}")
    make = TASKS[dataset]
    if n_train is None:
        return make(seed=seed)
    params = inspect.signature(make).parameters.values()
    accepts = any(p.name == "n_train" or p.kind is p.VAR_KEYWORD for p in params)
    if not accepts:
        raise SpecurateInputError(f"dataset {dataset!r} has a fixed size; omit --n-train")
    return make(seed=seed, n_train=n_train)


OutOpt = Annotated[Path, typer.Option(help="folder for <experiment>.json and .png")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object, nothing else")]
SeedOpt = Annotated[int, typer.Option(help="first seed (task and runs)")]
EpochsOpt = Annotated[float, typer.Option(help="budget in passes (backward + scoring)")]
SeedsOpt = Annotated[int, typer.Option(min=1, help="seeds per configuration")]


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SpecurateInputError(f"{name} must be comma-separated numbers, got {text!r}") from None


@experiment_app.command()
def static(
    dataset: Annotated[str, typer.Option(help="a classification task")] = "clusters",
    n_train: Annotated[int | None, typer.Option(min=1, help="training examples")] = 20_000,
    fractions: Annotated[str, typer.Option(help="fractions pruned")] = "0.1,0.3,0.5,0.7",
    scorers: Annotated[str, typer.Option(help="random, el2n, prototype")] = "random,el2n,prototype",
    epochs: EpochsOpt = 5.0,
    seeds: SeedsOpt = 2,
    seed: SeedOpt = 0,
    out: OutOpt = Path("specurate-experiments"),
    as_json: JsonOpt = False,
) -> None:
    """1. Static-limit validation: pruning sweep, exponents, finite region vs operator analysis."""
    from specurate.bench.static_sweep import plot_static_sweep, render_static_sweep, static_sweep
    from specurate.cli._common import fail as _fail

    try:
        res = static_sweep(
            _task(dataset, seed, n_train),
            budget_passes=epochs,
            seeds=seeds,
            fractions=_floats(fractions, "fractions"),
            scorers=_names(scorers),
            progress=not as_json,
        )
    except SpecurateInputError as exc:
        _fail(str(exc))
    _finish("static", res, out, render_static_sweep, plot_static_sweep, as_json)


@experiment_app.command()
def oracle(
    a: Annotated[float, typer.Option(help="target energy exponent")] = 2.0,
    b: Annotated[float, typer.Option(help="mode frequency (eigenvalue) exponent")] = 1.5,
    n_train: Annotated[int, typer.Option(min=1)] = 200_000,
    modes: Annotated[int, typer.Option(min=2, help="number of modes")] = 300,
    epochs: EpochsOpt = 3.0,
    seeds: SeedsOpt = 3,
    seed: SeedOpt = 0,
    simulate: Annotated[
        bool, typer.Option(help="also the simulator and the sample-level comparison")
    ] = True,
    out: OutOpt = Path("specurate-experiments"),
    as_json: JsonOpt = False,
) -> None:
    """2. Oracle approximation: real training vs sample level vs the simulator's prediction."""
    from specurate.bench.oracle import oracle_experiment, plot_oracle, render_oracle
    from specurate.cli._common import fail as _fail

    try:
        res = oracle_experiment(
            a=a,
            b=b,
            n_train=n_train,
            n_modes=modes,
            budget_passes=epochs,
            seeds=seeds,
            seed=seed,
            simulate=simulate,
            sample_level=simulate,
            progress=not as_json,
        )
    except SpecurateInputError as exc:
        _fail(str(exc))
    _finish("oracle", res, out, render_oracle, plot_oracle, as_json)


@experiment_app.command()
def span(
    setting: Annotated[str, typer.Option(help="gaussian (exact span) or mnist1d")] = "gaussian",
    labels: Annotated[str, typer.Option(help="mnist1d: hard or soft labels")] = "hard",
    seed: SeedOpt = 0,
    out: OutOpt = Path("specurate-experiments"),
    as_json: JsonOpt = False,
) -> None:
    """3. Synthetic-data span: self-generated vs different-teacher data, loss outside the span."""
    from specurate.bench.span import plot_span, render_span, span_experiment
    from specurate.cli._common import fail as _fail

    try:
        if setting not in ("gaussian", "mnist1d"):
            raise SpecurateInputError(f"setting must be gaussian or mnist1d, got {setting!r}")
        if labels not in ("hard", "soft"):
            raise SpecurateInputError(f"labels must be hard or soft, got {labels!r}")
        kw = {"labels": labels} if setting == "mnist1d" else {}
        res = span_experiment(setting, seed=seed, progress=not as_json, **kw)  # type: ignore[arg-type]
    except SpecurateInputError as exc:
        _fail(str(exc))
    _finish(f"span-{setting}", res, out, render_span, plot_span, as_json)


@experiment_app.command()
def noise(
    dataset: Annotated[str, typer.Option(help="built-in task")] = "mnist1d",
    n_train: Annotated[
        int | None, typer.Option(min=1, help="training examples (default: the task's)")
    ] = None,
    rates: Annotated[str, typer.Option(help="label-noise rates")] = "0,0.1,0.3",
    strategies: Annotated[str, typer.Option(help="strategies")] = "loss,frontier,infobatch",
    epochs: EpochsOpt = 5.0,
    seeds: SeedsOpt = 3,
    seed: SeedOpt = 0,
    out: OutOpt = Path("specurate-experiments"),
    as_json: JsonOpt = False,
) -> None:
    """Failure signature: label noise — does a dynamic sampler chase mislabeled examples?"""
    from specurate.bench.noise import label_noise_experiment, plot_noise, render_noise
    from specurate.cli._common import fail as _fail

    try:
        noise_rates = _floats(rates, "rates")
        bad = [r for r in noise_rates if not 0 <= r < 1]
        if bad:  # before building the task (which may take seconds)
            raise SpecurateInputError(f"noise rate must be in [0, 1), got {bad[0]:g}")
        res = label_noise_experiment(
            _task(dataset, seed, n_train),
            make_task=lambda s: _task(dataset, s, n_train),
            rates=noise_rates,
            strategies=_names(strategies),
            seeds=seeds,
            budget_passes=epochs,
            seed=seed,
            progress=not as_json,
        )
    except SpecurateInputError as exc:
        _fail(str(exc))
    _finish("noise", res, out, render_noise, plot_noise, as_json)
