"""``specurate bench``: real training under curation strategies against uniform, with compute
accounting (:func:`specurate.bench.compare.compare_strategies`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from specurate.cli._common import (
    JsonOpt,
    SeedOpt,
    check_out_dir,
    check_out_file,
    emit_json,
    err_console,
    fail,
    guard,
    out_console,
    parse_floats,
    parse_names,
)
from specurate.errors import SpecurateInputError


class LrRuleName(StrEnum):
    margin = "margin"
    best = "best"
    both = "both"


def _lr(text: str) -> float | None:
    """``--lr``: a rate, or None for 'auto'."""
    if text == "auto":
        return None
    try:
        return float(text)
    except ValueError:
        raise SpecurateInputError(f"--lr must be a number or 'auto', got {text!r}") from None


def _sidecar(out: Path) -> Path:
    """``OUT.parts``, the folder of ``bench --out OUT``'s finished runs, checked: neither a
    symlink nor a file."""
    sidecar = out.with_name(out.name + ".parts")
    if sidecar.is_symlink() or (sidecar.exists() and not sidecar.is_dir()):
        raise SpecurateInputError(
            f"--out {out}: {sidecar.name} beside it (where finished runs are kept) is a "
            f"{'symbolic link' if sidecar.is_symlink() else 'file'}; remove it or choose "
            "another --out."
        )
    for inner in sidecar.glob("*") if sidecar.is_dir() else ():
        if inner.is_symlink():
            raise SpecurateInputError(
                f"--out {out}: {sidecar.name}/{inner.name} is a symbolic link; remove it."
            )
    return sidecar


def _params_prefix(
    dataset: str,
    size: dict[str, int],
    epochs: float,
    batch_size: int,
    rate: float | None,
    grid: tuple[float, ...],
    rule: str,
    seed: int,
) -> str:
    """A file-name prefix naming everything a bench run depends on (besides its strategy and
    seed, in the file name): the runs of another command line never mix in."""
    from specurate import __version__

    doc = [__version__, dataset, size, epochs, batch_size, rate, grid, rule, seed]
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:12] + "-"


def _distributed(
    dataset: str,
    size: dict[str, int],
    names: list[str],
    common: dict[str, Any],
    *,
    rate: float | None,
    lr_rule: LrRuleName,
    nproc: int,
    checkpoint: Path | None,
    checkpoint_every: int,
    timeout: float,
) -> dict[str, Any]:
    """{rule: runs} of :mod:`specurate.bench.ddp` (``--nproc``/``--checkpoint``); a failed rank
    prints one sentence and exits with code 1."""
    from specurate.bench.ddp import TaskSpec, compare_lr_rules_ddp, compare_strategies_ddp

    make_task = TaskSpec(dataset, tuple(size.items()))  # picklable: every rank builds it
    kw = {
        **{k: v for k, v in common.items() if k != "make_task"},
        "nproc": nproc,
        "checkpoint": checkpoint,
        "checkpoint_every": checkpoint_every,
        "timeout": timeout,
    }
    try:
        if lr_rule is LrRuleName.both:
            return compare_lr_rules_ddp(make_task, names, **kw)
        rule = lr_rule.value
        runs = compare_strategies_ddp(
            make_task,
            names,
            lr=rate,
            lr_rule=rule,  # type: ignore[arg-type]
            **kw,
        )
        return {rule: runs}
    except RuntimeError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=1) from None


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
            "balanced (static, equal weight per group); settings: specurate.bench.presets"
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
    lr_rule: Annotated[
        LrRuleName,
        typer.Option(
            help="--lr auto: 'margin' (a rate counts only if twice it also trains), 'best' "
            "(the best rate that trains on every tuning seed), or 'both': best vs best under "
            "each rule, from one tuning pass, and how the verdict moves"
        ),
    ] = LrRuleName.margin,
    n_train: Annotated[
        int | None, typer.Option(min=1, help="training examples (default: the task's)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="write one row per run and eval point (.parquet); resumable: finished runs "
            "are kept in OUT.parts/ until the file is written, so the same command run again "
            "after an interruption continues where it stopped"
        ),
    ] = None,
    nproc: Annotated[
        int,
        typer.Option(
            min=1,
            help="train every run data-parallel over N local processes (torch.distributed, "
            "gloo, 127.0.0.1) with the 1-process global batch and learning rate; --lr auto "
            "tunes in this process first",
        ),
    ] = 1,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="folder of resumable state (tuned rates, a checkpoint every "
            "--checkpoint-every steps, finished runs): the same command run again resumes"
        ),
    ] = None,
    checkpoint_every: Annotated[
        int, typer.Option(min=1, help="optimizer steps between checkpoints (with --checkpoint)")
    ] = 100,
    timeout: Annotated[
        float,
        typer.Option(help="seconds a process waits for the others (--nproc > 1) before failing"),
    ] = 120.0,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Real training under curation strategies, with compute accounting, against uniform.

    With --nproc N (or --checkpoint) the runs go through specurate.bench.ddp: N ranks split
    every global batch, and a run's numbers equal the 1-process run's up to the order of
    floating-point sums (exactly, with --nproc 1).
    """
    try:
        from specurate.bench import TASKS, runs_to_parquet, summarize
        from specurate.bench.compare import compare_lr_rules, compare_strategies
    except ImportError as exc:  # pragma: no cover - torch extra missing
        fail(f"specurate bench needs the torch extra ({exc})")
    from specurate._validate import check_choice, check_real
    from specurate.report.json import jsonable
    from specurate.report.tables import bench_tables, lr_rule_verdict

    with guard(), contextlib.ExitStack() as stack:
        check_out_file(out, "--out", (".parquet",))
        # the single-process runs checkpoint into OUT.parts/ (--nproc/--checkpoint: ddp's own)
        sidecar = _sidecar(out) if out is not None and nproc == 1 and checkpoint is None else None
        if checkpoint is not None:
            check_out_dir(checkpoint, "--checkpoint")
        check_real("--timeout", timeout, lo=0, lo_open=True)
        check_choice("dataset", dataset, TASKS)
        check_real("--epochs", epochs, lo=0, lo_open=True)
        rate = _lr(lr)
        if rate is not None:
            check_real("--lr", rate, lo=0, lo_open=True)
        grid = parse_floats(lr_grid, "--lr-grid")
        names = list(parse_names(strategies, "--strategies"))
        if "uniform" not in names:
            names.insert(0, "uniform")
        size = {} if n_train is None else {"n_train": n_train}

        def make_task(s: int) -> Any:  # a Task
            return TASKS[dataset](seed=s, **size)

        if lr_rule is LrRuleName.both and rate is not None:
            raise SpecurateInputError("--lr-rule both needs --lr auto (it compares tuned rates)")
        common: dict[str, Any] = {
            "budget_passes": epochs,
            "seeds": seeds,
            "seed": seed,
            "batch_size": batch_size,
            "lr_grid": grid,
            "make_task": make_task,
            "progress": not as_json,
        }
        if sidecar is not None:
            from specurate._files import lock_folder, remove_stale_temps

            sidecar.mkdir(exist_ok=True)
            stack.enter_context(lock_folder(sidecar))  # a second bench --out OUT stops here
            remove_stale_temps(sidecar)  # left by a killed bench
            resumable: dict[str, Any] = {
                "cache": sidecar,
                "cache_prefix": _params_prefix(
                    dataset, size, epochs, batch_size, rate, grid, lr_rule.value, seed
                ),
            }
        else:
            resumable = {}
        if nproc > 1 or checkpoint is not None:
            by_rule = _distributed(
                dataset,
                size,
                names,
                common,
                rate=rate,
                lr_rule=lr_rule,
                nproc=nproc,
                checkpoint=checkpoint,
                checkpoint_every=checkpoint_every,
                timeout=timeout,
            )
        elif lr_rule is LrRuleName.both:
            by_rule = compare_lr_rules(make_task(seed), names, **common, **resumable)
        else:
            rule = lr_rule.value
            by_rule = {
                rule: compare_strategies(
                    make_task(seed),
                    names,
                    lr=rate,
                    lr_rule=rule,  # type: ignore[arg-type]
                    label=f"training on {dataset}",
                    **common,
                    **resumable,
                )
            }
        if out is not None:
            runs_to_parquet(by_rule[next(iter(by_rule))], out)
            if sidecar is not None:  # the Parquet file holds every run now
                shutil.rmtree(sidecar, ignore_errors=True)
    first = next(iter(by_rule))
    runs = by_rule[first]
    rows = summarize(runs)
    result: dict[str, Any] = {
        "dataset": dataset,
        "runs": [r.to_dict() for r in runs],
        "summary": rows,
    }
    summaries = {rule: summarize(rs) for rule, rs in by_rule.items()}
    if len(by_rule) > 1:
        result["lr_rules"] = {
            rule: {
                "summary": summaries[rule],
                "runs": [r.to_dict() for r in rs],
            }
            for rule, rs in by_rule.items()
        }
    if out is not None:
        result["parquet"] = str(out)
    if as_json:
        emit_json(jsonable(result))
        return
    for item in bench_tables(rows, dataset=dataset, epochs=epochs, seeds=seeds):
        out_console.print(item)
    if len(by_rule) > 1:
        for item in lr_rule_verdict(summaries):
            out_console.print(item)
