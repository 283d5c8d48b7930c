"""``specurate experiment …``: the paper's three experiments, the label-noise signature and the
static-vs-dynamic separation, one command each (registered on the main app by
:mod:`specurate.cli`).

Every command checks ``--out`` before any work (a symlink at the folder or at its outputs is
refused), locks the folder while it runs (a second experiment into the same folder stops at
once, naming the first one's pid), prints rich tables, writes ``OUT/<name>.json`` and
``OUT/<name>.png`` (atomically) and, with ``--json``, prints the result as one JSON object
instead of the tables.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from specurate.cli._common import (
    JsonOpt,
    SeedOpt,
    check_out_dir,
    emit_json,
    guard,
    out_console,
    parse_floats,
    parse_names,
    with_provenance,
)
from specurate.errors import SpecurateInputError

if TYPE_CHECKING:
    from specurate.bench.tasks import Task

__all__ = ["experiment_app"]

experiment_app = typer.Typer(
    help="The paper's experiments in real training: static, oracle, span, noise, separation, eigen",
    no_args_is_help=True,
)

OutOpt = Annotated[Path, typer.Option(help="folder for <experiment>.json and .png")]
EpochsOpt = Annotated[float, typer.Option(help="budget in passes (backward + scoring)")]
SeedsOpt = Annotated[int, typer.Option(min=1, help="seeds per configuration")]
DatasetOpt = Annotated[str, typer.Option(help="built-in task")]
NTrainOpt = Annotated[
    int | None, typer.Option(min=1, help="training examples (default: the task's)")
]


def _check_out(out: Path, name: str, cache: str | None = None) -> None:
    """Check ``--out`` before any work: a folder (or a new one in an existing folder), not a
    symlink, and neither ``<name>.json`` nor ``<name>.png`` (nor the ``cache`` folder) in it a
    symlink."""
    check_out_dir(out, files=(f"{name}.json", f"{name}.png"))
    if cache is not None and (out / cache).is_symlink():
        raise SpecurateInputError(
            f"--out {out}: {cache} in it is a symbolic link; specurate does not write through "
            "links (remove it or choose another --out)."
        )


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[Path]:
    """``out`` created (only its last level: the parent was checked) and locked while inside:
    another experiment running into the same folder is refused at once."""
    from specurate._files import lock_folder

    out.mkdir(exist_ok=True)
    with lock_folder(out):
        yield out


def _finish(
    name: str,
    result: Any,
    out: Path,
    render: Callable[[Any], list[Any]],
    plot: Callable[[Any, Path], Path],
    as_json: bool,
) -> None:
    """Write ``OUT/<name>.json`` and ``.png``, then print the tables or the JSON object."""
    from specurate._files import atomic_write_text

    out.mkdir(exist_ok=True)  # checked before the work: only the last level is created
    doc = with_provenance(result.to_dict())
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    atomic_write_text(json_path, json.dumps(doc, allow_nan=False, indent=1))
    plot(result, png_path)
    if as_json:
        emit_json({**doc, "json": str(json_path), "plot": str(png_path)})
        return
    for table in render(result):
        out_console.print(table)
    out_console.print(f"wrote {json_path} and {png_path}")


def _task(dataset: str, seed: int, n_train: int | None, default_n: int | None = None) -> Task:
    """Built-in task ``dataset`` of draw ``seed``: ``n_train`` examples when given, else
    ``default_n`` if the task has a size to choose, else the task's own (fixed) size."""
    from specurate._validate import check_choice
    from specurate.bench import TASKS

    make = TASKS[check_choice("--dataset", dataset, TASKS)]
    params = inspect.signature(make).parameters.values()
    sized = any(p.name == "n_train" or p.kind is p.VAR_KEYWORD for p in params)
    if n_train is not None and not sized:
        raise SpecurateInputError(f"dataset {dataset!r} has a fixed size; omit --n-train")
    size = n_train if n_train is not None else default_n if sized else None
    return make(seed=seed) if size is None else make(seed=seed, n_train=size)


def _epochs(epochs: float) -> float:
    from specurate._validate import check_real

    return check_real("--epochs", epochs, lo=0, lo_open=True)


@experiment_app.command()
def static(
    dataset: Annotated[str, typer.Option(help="a classification task")] = "clusters",
    n_train: Annotated[
        int | None,
        typer.Option(min=1, help="training examples (default 20000; fixed-size data: all)"),
    ] = None,
    fractions: Annotated[str, typer.Option(help="fractions pruned")] = "0.1,0.3,0.5,0.7",
    scorers: Annotated[str, typer.Option(help="random, el2n, prototype")] = "random,el2n,prototype",
    epochs: EpochsOpt = 5.0,
    seeds: SeedsOpt = 2,
    seed: SeedOpt = 0,
    out: OutOpt = Path("specurate-experiments"),
    as_json: JsonOpt = False,
) -> None:
    """1. Static-limit validation: pruning sweep, exponents, finite region vs operator analysis."""
    from specurate.bench.static_sweep import StaticSweepConfig, run_static_sweep
    from specurate.report.experiments import plot_static_sweep, render_static_sweep

    with guard(), contextlib.ExitStack() as stack:
        _check_out(out, "static")
        budget, fracs = _epochs(epochs), parse_floats(fractions, "--fractions")
        names = parse_names(scorers, "--scorers")
        config = StaticSweepConfig(
            _task(dataset, seed, n_train, default_n=20_000),
            budget_passes=budget,
            seeds=seeds,
            fractions=fracs,
            scorers=names,
        )
        stack.enter_context(_locked(out))
        res = run_static_sweep(config, progress=not as_json)
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
    from specurate._validate import check_real
    from specurate.bench.oracle import OracleConfig, run_oracle
    from specurate.report.experiments import plot_oracle, render_oracle

    with guard(), contextlib.ExitStack() as stack:
        _check_out(out, "oracle")
        config = OracleConfig(
            a=check_real("--a", a, lo=1.0, lo_open=True),
            b=check_real("--b", b, lo=0.0, lo_open=True),
            n_train=n_train,
            n_modes=modes,
            budget_passes=_epochs(epochs),
            seeds=seeds,
            seed=seed,
            simulate=simulate,
            sample_level=simulate,
        )
        stack.enter_context(_locked(out))
        res = run_oracle(config, progress=not as_json)
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
    from specurate._validate import check_choice
    from specurate.bench.span import SETTINGS, SpanConfig, run_span
    from specurate.report.experiments import plot_span, render_span

    with guard(), contextlib.ExitStack() as stack:
        _check_out(out, f"span-{setting}")
        setting = check_choice("--setting", setting, SETTINGS)
        labels = check_choice("--labels", labels, ("hard", "soft"))
        kw = {"labels": labels} if setting == "mnist1d" else {}
        config = SpanConfig(setting, seed=seed, **kw)  # type: ignore[arg-type]
        stack.enter_context(_locked(out))
        res = run_span(config, progress=not as_json)
        _finish(f"span-{setting}", res, out, render_span, plot_span, as_json)


@experiment_app.command()
def noise(
    dataset: DatasetOpt = "mnist1d",
    n_train: NTrainOpt = None,
    rates: Annotated[str, typer.Option(help="label-noise rates")] = "0,0.1,0.3",
    strategies: Annotated[str, typer.Option(help="strategies")] = "loss,frontier,infobatch",
    epochs: EpochsOpt = 5.0,
    seeds: SeedsOpt = 3,
    seed: SeedOpt = 0,
    out: OutOpt = Path("specurate-experiments"),
    as_json: JsonOpt = False,
) -> None:
    """Failure signature: label noise — does a dynamic sampler chase mislabeled examples?"""
    from specurate._validate import check_unit
    from specurate.bench.noise import NoiseConfig, run_noise
    from specurate.report.experiments import plot_noise, render_noise

    with guard(), contextlib.ExitStack() as stack:
        _check_out(out, "noise")
        # checked before the task is built (which may take seconds)
        noise_rates = tuple(
            check_unit("--rates", r, closed=False) for r in parse_floats(rates, "--rates")
        )
        names = parse_names(strategies, "--strategies")
        budget = _epochs(epochs)
        config = NoiseConfig(
            _task(dataset, seed, n_train),
            make_task=functools.partial(_task, dataset, n_train=n_train),
            rates=noise_rates,
            strategies=names,
            seeds=seeds,
            budget_passes=budget,
            seed=seed,
        )
        stack.enter_context(_locked(out))
        res = run_noise(config, progress=not as_json)
        _finish("noise", res, out, render_noise, plot_noise, as_json)


@experiment_app.command()
def separation(
    modes: Annotated[int, typer.Option(min=2, help="K, one parameter per mode")] = 100_000,
    a: Annotated[float, typer.Option(help="energy exponent, e_k ∝ k^-a (a > 1)")] = 2.0,
    b: Annotated[float, typer.Option(help="frequency exponent, p_k ∝ k^-b (b > 1)")] = 1.5,
    batch: Annotated[int, typer.Option(min=1, help="fresh samples per step")] = 1024,
    lr: Annotated[float, typer.Option(help="SGD rate, 0 < lr ≤ 1")] = 1.0,
    budgets: Annotated[
        str, typer.Option(help="step budgets, increasing, spanning ≥ 1 decade")
    ] = "100,316,1000,3162,10000",
    caps: Annotated[str, typer.Option(help="bounds C of the static rules")] = "4,16,64,256",
    noise: Annotated[float, typer.Option(min=0.0, help="label-noise std (units of √L(0))")] = 0.0,
    model: Annotated[
        str, typer.Option(help="embedding (one parameter per mode) or mlp (coupled modes)")
    ] = "embedding",
    hidden: Annotated[int, typer.Option(min=1, help="the MLP's width")] = 64,
    seeds: SeedsOpt = 3,
    seed: SeedOpt = 0,
    out: OutOpt = Path("specurate-experiments"),
    as_json: JsonOpt = False,
) -> None:
    """Static vs dynamic curation on a mode-local model with fresh samples: does a dynamic rule
    outgrow every static rule bounded by C (Theorem 1), and change the loss exponent?

    Resumable: finished runs are kept in OUT/separation-cache.
    """
    from specurate.bench.separation import SeparationConfig, run_separation
    from specurate.report.experiments import plot_separation, render_separation

    with guard(), contextlib.ExitStack() as stack:
        _check_out(out, "separation", cache="separation-cache")
        steps = parse_floats(budgets, "--budgets")
        if any(s != int(s) for s in steps):
            raise SpecurateInputError(f"--budgets must be whole step counts, got {budgets!r}")
        config = SeparationConfig(
            modes=modes,
            a=a,
            b=b,
            batch=batch,
            lr=lr,
            budgets=tuple(int(s) for s in steps),
            caps=parse_floats(caps, "--caps"),
            noise=noise,
            model=model,
            hidden=hidden,
            seeds=seeds,
            seed=seed,
        )
        stack.enter_context(_locked(out))
        res = run_separation(config, progress=not as_json, cache=out / "separation-cache")
        _finish("separation", res, out, render_separation, plot_separation, as_json)


@experiment_app.command()
def eigen(
    dataset: DatasetOpt = "mnist1d",
    n_train: NTrainOpt = None,
    rank: Annotated[int, typer.Option(min=1, help="eigen-directions of the inputs")] = 32,
    strategies: Annotated[
        str, typer.Option(help="strategies, uniform first")
    ] = "uniform,frontier-eigen,oracle-eigen,loss",
    epochs: EpochsOpt = 5.0,
    seeds: SeedsOpt = 3,
    seed: SeedOpt = 0,
    out: OutOpt = Path("specurate-experiments"),
    as_json: JsonOpt = False,
) -> None:
    """The learning frontier on real data without known modes: measured on the inputs'
    eigen-directions, with the frontier sampler on those directions and its ceiling.

    Resumable: tuned rates and finished runs are kept in OUT/eigen-cache.
    """
    from specurate.bench.eigen import EigenConfig, check_strategies, run_eigen
    from specurate.report.experiments import plot_eigen, render_eigen

    with guard(), contextlib.ExitStack() as stack:
        _check_out(out, "eigen", cache="eigen-cache")
        # checked before the task is built (which may take seconds)
        names = check_strategies(parse_names(strategies, "--strategies"))
        budget = _epochs(epochs)
        config = EigenConfig(
            task=_task(dataset, seed, n_train),
            make_task=functools.partial(_task, dataset, n_train=n_train),
            rank=rank,
            strategies=names,
            budget_passes=budget,
            seeds=seeds,
            seed=seed,
        )
        stack.enter_context(_locked(out))
        res = run_eigen(config, progress=not as_json, cache=out / "eigen-cache")
        _finish("eigen", res, out, render_eigen, plot_eigen, as_json)
