r"""The one comparison loop: seeds × strategies → learning rate → train → runs.

Every caller that compares strategies by real training — ``specurate bench``, the real-training
parts of ``specurate run``, the oracle and label-noise experiments — goes through
:func:`compare_strategies`, so they tune, seed, cache and count compute the same way:

1. a learning rate per strategy: the given one, or each strategy's best on ``lr_grid`` tuned on
   an independent draw of the task (``make_task(seed + 1000)``, :func:`~specurate.bench.train.
   tune_lr`);
2. one run per (seed, strategy) with seeds ``seed … seed + seeds − 1``, every strategy on the
   same task draw; runs are ordered seed-major, strategies in the given order;
3. with ``cache``, every tuned rate and finished run is a JSON file there, so an interrupted
   comparison resumes where it stopped (and the rerun returns identical runs). The files are
   checked JSON (:func:`specurate._files.write_checked_json`) keyed by the parameters they were
   computed for: a corrupt, edited or stale one is computed again (with a log line), never
   trusted.

Summaries (speed-ups, CIs) are :func:`specurate.bench.metrics.summarize` of the returned runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from specurate._files import read_checked_json, write_checked_json
from specurate._validate import check_names, check_positive_int, check_real, check_seed
from specurate.bench.presets import STRATEGY_PRESETS
from specurate.bench.result import RunResult
from specurate.bench.tasks import Task
from specurate.bench.train import LR_RULES, LrRule

__all__ = ["compare_lr_rules", "compare_strategies", "learning_rates", "tuning_losses"]


def _write_json(path: Path, doc: Any, key: dict[str, Any]) -> None:
    write_checked_json(path, doc, key=key)


def _read_json(path: Path, key: dict[str, Any], echo: bool) -> Any:
    """A cached file's data if it is valid for ``key``; None (after a log line saying why, when
    a file was there) to compute it again."""
    found = read_checked_json(path, key=key)
    if found.problem is not None:
        from specurate._progress import note

        note(
            f"cache: {path.name} cannot be trusted ({found.problem}); computing it again", echo=echo
        )
    return found.data


def _cache_folder(cache: str | Path | None) -> Path | None:
    """The cache folder, created (parents too) if given."""
    if cache is None:
        return None
    folder = Path(cache)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def tuning_losses(
    make_task: Callable[[int], Task],
    strategies: Sequence[str],
    *,
    budget_passes: float,
    lr_grid: Sequence[float] | None = None,
    seed: int = 0,
    batch_size: int = 128,
    progress: bool = False,
    cache: Path | None = None,
    prefix: str = "",
) -> dict[str, dict[float, float]]:
    """{strategy: {rate: worst final test loss over the tuning seeds}} on ``lr_grid`` (default
    :data:`~specurate.bench.train.LR_GRID`) by :func:`~specurate.bench.train.tune_lr`, over
    ``make_task(seed + 1000)``; cached as ``cache/<prefix><strategy>-lr.json`` when ``cache``
    is given (the file also holds the margin rule's choice, ``lr``)."""
    from specurate._progress import progress_iter
    from specurate.bench.train import LR_GRID, tune_lr

    grid = tuple(LR_GRID if lr_grid is None else lr_grid)
    out: dict[str, dict[float, float]] = {}
    for name in progress_iter(strategies, "tuning learning rates", enabled=progress):
        path = None if cache is None else cache / f"{prefix}{name}-lr.json"
        key = {"strategy": name, "budget_passes": budget_passes, "grid": grid, "seed": seed}
        key["batch_size"] = batch_size
        doc = None if path is None else _read_json(path, key, progress)
        if isinstance(doc, dict) and isinstance(doc.get("losses"), dict):
            out[name] = {float(k): float(v) for k, v in doc["losses"].items()}
            continue
        best, losses = tune_lr(
            make_task,
            name,
            budget_passes=budget_passes,
            grid=grid,
            seed=seed,
            batch_size=batch_size,
        )
        if path is not None:
            doc = {"lr": best, "losses": {str(k): v for k, v in losses.items()}}
            _write_json(path, doc, key)
        out[name] = losses
    return out


def learning_rates(
    make_task: Callable[[int], Task],
    strategies: Sequence[str],
    *,
    budget_passes: float,
    lr: float | Mapping[str, float] | None = None,
    lr_grid: Sequence[float] | None = None,
    lr_rule: LrRule = "margin",
    seed: int = 0,
    batch_size: int = 128,
    progress: bool = False,
    cache: Path | None = None,
    prefix: str = "",
) -> dict[str, float]:
    """{strategy: SGD learning rate}: ``lr`` as given (one rate or one per strategy), or each
    strategy's rate of ``lr_grid`` chosen by ``lr_rule`` (:func:`~specurate.bench.train.
    choose_rate`: ``"margin"`` or ``"best"``) from :func:`tuning_losses`."""
    from specurate.bench.train import choose_rate

    if isinstance(lr, Mapping):
        missing = [s for s in strategies if s not in lr]
        if missing:
            raise KeyError(f"no learning rate for {', '.join(missing)}")
        return {s: check_real("lr", lr[s], lo=0, lo_open=True) for s in strategies}
    if lr is not None:
        return dict.fromkeys(strategies, check_real("lr", lr, lo=0, lo_open=True))
    losses = tuning_losses(
        make_task,
        strategies,
        budget_passes=budget_passes,
        lr_grid=lr_grid,
        seed=seed,
        batch_size=batch_size,
        progress=progress,
        cache=cache,
        prefix=prefix,
    )
    return {name: choose_rate(losses[name], lr_rule) for name in strategies}


def compare_strategies(
    task: Task,
    strategies: Sequence[str],
    *,
    budget_passes: float,
    seeds: int = 3,
    seed: int = 0,
    batch_size: int = 128,
    lr: float | Mapping[str, float] | None = None,
    lr_grid: Sequence[float] | None = None,
    lr_rule: LrRule = "margin",
    make_task: Callable[[int], Task] | None = None,
    track: np.ndarray | None = None,
    directions: np.ndarray | None = None,
    cache: str | Path | None = None,
    cache_prefix: str = "",
    progress: bool = False,
    label: str | None = None,
) -> list[RunResult]:
    """Train every built-in strategy in ``strategies`` on ``task`` for ``seeds`` seeds.

    Args:
        task: the task every run trains on (seeds vary the model and the strategy, not the
            data draw).
        strategies: names of :data:`~specurate.bench.presets.STRATEGY_PRESETS`, distinct.
        budget_passes: compute per run (backward + scoring passes, examples / n).
        seeds: runs per strategy, seeds ``seed … seed + seeds − 1``.
        seed: the first seed (and the tuning seed).
        batch_size: SGD batch size.
        lr: one learning rate for all, {strategy: rate}, or None to tune each on ``lr_grid``
            (default :data:`~specurate.bench.train.LR_GRID`) over ``make_task(seed + 1000)``.
        lr_grid: the candidate rates when tuning.
        lr_rule: how a tuned rate is chosen (:func:`~specurate.bench.train.choose_rate`):
            ``"margin"`` (the next larger rate must train too) or ``"best"``.
        make_task: ``make_task(seed) -> Task``, the draws rates are tuned on (default: the task
            itself whatever the seed — then tuning sees the benchmark's data).
        track: optional (n,) boolean mask whose share of each batch the runs record.
        directions: optional (n_test, r) test projections whose residual energy every
            evaluation records (:func:`~specurate.bench.train.train`).
        cache: folder for resumable JSON files (tuned rates and finished runs).
        cache_prefix: file-name prefix inside ``cache`` (several comparisons in one folder).
        progress: progress bars on stderr.
        label: title of the progress bar.

    Returns:
        The runs, seed-major (all strategies for ``seed``, then ``seed + 1`` …), each with
        ``first_seed = seed``: run ``seed + j`` depends on the first seed too (the learning
        rate is tuned on ``make_task(seed + 1000)``), so (first_seed, seed) names it.
    """
    from specurate._progress import progress_iter
    from specurate.bench.strategies import make_strategy, needs_oracle
    from specurate.bench.train import train

    names = check_names("strategies", strategies, STRATEGY_PRESETS)
    seeds = check_positive_int("seeds", seeds)
    seed = check_seed(seed)
    budget_passes = check_real("budget_passes", budget_passes, lo=0, lo_open=True)
    folder = _cache_folder(cache)
    rates = learning_rates(
        make_task or (lambda _s: task),
        names,
        budget_passes=budget_passes,
        lr=lr,
        lr_grid=lr_grid,
        lr_rule=lr_rule,
        seed=seed,
        batch_size=batch_size,
        progress=progress,
        cache=folder,
        prefix=cache_prefix,
    )
    jobs = [(name, seed + j) for j in range(seeds) for name in names]
    runs: list[RunResult] = []
    title = label or f"training on {task.name}"
    for name, s in progress_iter(jobs, title, enabled=progress):
        path = None if folder is None else folder / f"{cache_prefix}{name}-{s}.json"
        key = {"task": task.name, "strategy": name, "seed": s, "lr": rates[name]}
        key.update(budget_passes=budget_passes, batch_size=batch_size)
        doc = None if path is None else _read_json(path, key, progress)
        if isinstance(doc, dict):
            try:
                # a run is named by (first seed, seed): RunResult.first_seed
                runs.append(replace(RunResult.from_dict(doc), first_seed=seed))
                continue
            except (KeyError, TypeError, ValueError):  # valid JSON, not a run: train it again
                pass
        run = train(
            task,
            make_strategy(name, task, budget_passes=budget_passes, batch_size=batch_size),
            seed=s,
            budget_passes=budget_passes,
            batch_size=batch_size,
            lr=rates[name],
            label=name,
            oracle=needs_oracle(name),
            track=track,
            directions=directions,
        )
        run = replace(run, first_seed=seed)  # named by (first seed, seed): RunResult.first_seed
        if path is not None:
            _write_json(path, run.to_dict(), key)
        runs.append(run)
    return runs


def compare_lr_rules(
    task: Task,
    strategies: Sequence[str],
    *,
    budget_passes: float,
    rules: Sequence[LrRule] = LR_RULES,
    seeds: int = 3,
    seed: int = 0,
    batch_size: int = 128,
    lr_grid: Sequence[float] | None = None,
    make_task: Callable[[int], Task] | None = None,
    cache: str | Path | None = None,
    cache_prefix: str = "",
    progress: bool = False,
) -> dict[str, list[RunResult]]:
    """Best-vs-best under each learning-rate rule: {rule: runs}, from ONE tuning pass.

    Each strategy is tuned once (:func:`tuning_losses`); every rule picks its rate from the
    same losses (:func:`~specurate.bench.train.choose_rate`), and a (strategy, rate) pair that
    two rules share is trained once — the runs are deterministic, so both rules see the very
    same runs. With ``cache``, the first rule's runs are cached as :func:`compare_strategies`
    caches them (``<cache_prefix><strategy>-<seed>.json``) and a later rule's extra runs under
    ``<cache_prefix><rule>-…``. Other arguments as in :func:`compare_strategies`.
    """
    from specurate.bench.train import choose_rate

    names = check_names("strategies", strategies, STRATEGY_PRESETS)
    rules = cast(tuple[LrRule, ...], check_names("rules", rules, LR_RULES))
    folder = _cache_folder(cache)
    losses = tuning_losses(
        make_task or (lambda _s: task),
        names,
        budget_passes=budget_passes,
        lr_grid=lr_grid,
        seed=check_seed(seed),
        batch_size=batch_size,
        progress=progress,
        cache=folder,
        prefix=cache_prefix,
    )
    trained: dict[tuple[str, float, int], RunResult] = {}
    out: dict[str, list[RunResult]] = {}
    for i, rule in enumerate(rules):
        rates = {name: choose_rate(losses[name], rule) for name in names}
        todo = [name for name in names if (name, rates[name], seed) not in trained]
        if todo:
            runs = compare_strategies(
                task,
                todo,
                budget_passes=budget_passes,
                seeds=seeds,
                seed=seed,
                batch_size=batch_size,
                lr={name: rates[name] for name in todo},
                cache=folder,
                cache_prefix=cache_prefix if i == 0 else f"{cache_prefix}{rule}-",
                progress=progress,
                label=f"training on {task.name} ({rule} rule)",
            )
            trained.update({(r.strategy, rates[r.strategy], r.seed): r for r in runs})
        out[rule] = [trained[(name, rates[name], seed + j)] for j in range(seeds) for name in names]
    return out
