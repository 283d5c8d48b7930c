"""``specurate run``: the default spectral study of the built-in data, written as a report.

Parts (each a spectrum or a reweighting analysis) are computed one at a time; every finished
part is saved as ``OUT/parts/<key>.json`` plus its plot, so an interrupted run resumes where it
stopped. ``OUT/results.json`` collects all parts and ``OUT/report.html`` shows them
(self-contained: plots are embedded).
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from specurate import __version__
from specurate.datasets import Dataset, digits, mnist5k, planted_powerlaw
from specurate.results import jsonable, reweight_dict, spectrum_dict
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
    kernel: str,
    groups: int,
    seed: int,
    truth: dict | None = None,
) -> Part:
    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.cli import _save_spectrum_plot

        ds = load()
        rep = estimate_spectrum(ds.x, ds.y, kernel=kernel, groups=groups, seed=seed)
        _save_spectrum_plot(rep, plot_path, ds.name)
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
        from specurate.plots import plot_reweight, save

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
        from specurate.plots import plot_compare, save
        from specurate.results import comparison_dict

        ds = load()
        rep = estimate_spectrum(ds.x, ds.y, ci_method="none", seed=seed, progress=False)
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


def _training_part(
    key: str,
    title: str,
    task_name: str,
    *,
    task_kwargs: dict[str, Any],
    strategies: tuple[str, ...],
    seeds: int,
    budget: float,
    seed: int,
    progress: bool,
    lr_grid: tuple[float, ...] = (0.1, 0.2, 0.4),
) -> Part:
    """Real training of ``task_name`` under each strategy (specurate.bench); every finished run
    is cached as ``parts/runs/<key>-<strategy>-<seed>.json`` (and each strategy's learning rate,
    tuned on an independent draw of the task over ``lr_grid``, as ``…-<strategy>-lr.json``), so
    an interrupted part resumes."""

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate._progress import progress_iter
        from specurate.bench import TASKS, RunResult, summarize, train
        from specurate.bench.report import plot_training
        from specurate.bench.strategies import make_strategy, needs_oracle
        from specurate.bench.train import tune_lr
        from specurate.plots import save

        def make(s: int):
            return TASKS[task_name](seed=s, **task_kwargs)

        task = make(seed)
        cache = plot_path.parent / "runs"
        cache.mkdir(exist_ok=True)
        rates = {}
        for name in progress_iter(strategies, "tuning learning rates", enabled=progress):
            path = cache / f"{plot_path.stem}-{name}-lr.json"
            if path.exists():
                rates[name] = json.loads(path.read_text())["lr"]
                continue
            best, losses = tune_lr(make, name, budget_passes=budget, grid=lr_grid, seed=seed)
            doc = {"lr": best, "losses": {str(k): v for k, v in losses.items()}}
            _write_atomic(path, json.dumps(doc, allow_nan=True))
            rates[name] = best
        jobs = [(s, seed + j) for j in range(seeds) for s in strategies]
        runs = []
        for name, s in progress_iter(jobs, f"training on {task_name}", enabled=progress):
            path = cache / f"{plot_path.stem}-{name}-{s}.json"
            if path.exists():
                runs.append(RunResult.from_dict(json.loads(path.read_text())))
                continue
            strat = make_strategy(name, task, budget_passes=budget)
            r = train(
                task,
                strat,
                seed=s,
                budget_passes=budget,
                lr=rates[name],
                label=name,
                oracle=needs_oracle(name),
            )
            _write_atomic(path, json.dumps(r.to_dict(), allow_nan=True))
            runs.append(r)
        rows = summarize(runs)
        save(plot_training(runs, rows, title=task_name), plot_path)
        return jsonable(
            {
                "kind": "training",
                "task": task_name,
                "description": task.description,
                "budget_passes": budget,
                "lr": rates,
                "lr_grid": list(lr_grid),
                "seeds": seeds,
                "summary": rows,
                "runs": [r.to_dict() for r in runs],
            }
        )

    return Part(key, title, compute)


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
    parts = [
        _spectrum_part(
            f"planted-b{b:g}-a{a:g}",
            f"planted power law (n={n}, d={d}, b={b:g}, a={a:g})",
            lambda b=b, a=a: planted_powerlaw(n, d, b=b, a=a, seed=seed),
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
        _spectrum_part(
            "mnist5k-linear",
            "MNIST-5k, covariance",
            mnist5k,
            kernel="linear",
            groups=jk,
            seed=seed,
        ),
    ]
    load = digits if quick else mnist5k
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
    every = ("uniform", "oracle", "frontier", "loss", "infobatch", "balanced", "random-subset")
    parts.append(
        _training_part(
            "train-mode-local",
            "real training on mode-local regression (true modes known)",
            "mode-local",
            task_kwargs={"n_train": 20_000, "n_modes": 50}
            if quick
            else {"n_train": 100_000, "n_modes": 300},
            strategies=every,
            seeds=2 if quick else 3,
            budget=3.0,
            seed=seed,
            progress=progress,
        )
    )
    if not quick:
        parts.append(
            _training_part(
                "train-mnist1d-longtail",
                "real training on long-tailed mnist1d (classes ∝ k^-1.5, balanced test)",
                "mnist1d-longtail",
                task_kwargs={"n_train": 50_000},
                strategies=(
                    "uniform",
                    "frontier",
                    "loss",
                    "infobatch",
                    "balanced",
                    "random-subset",
                ),
                seeds=3,
                budget=5.0,
                seed=seed,
                progress=progress,
            )
        )
    return parts


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_study(
    out: Path, *, quick: bool = False, seed: int = 0, progress: bool = True
) -> dict[str, Any]:
    """Run (or resume) the study into ``out``; returns the contents of ``results.json``."""
    out = Path(out)
    parts_dir = out / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts = study_parts(quick=quick, seed=seed, progress=progress)
    tag = f"{'quick' if quick else 'full'}-seed{seed}"
    results: dict[str, Any] = {}
    from specurate._progress import progress_iter

    for part in progress_iter(parts, "specurate run", enabled=progress, total=len(parts)):
        jpath = parts_dir / f"{part.key}-{tag}.json"
        ppath = parts_dir / f"{part.key}-{tag}.png"
        if jpath.exists() and ppath.exists():
            results[part.key] = json.loads(jpath.read_text())
            continue
        res = part.compute(ppath)
        res["title"] = part.title
        _write_atomic(jpath, json.dumps(res, allow_nan=False))
        results[part.key] = res
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
    notes = (
        []
        if has_torch()
        else [
            "real-training parts skipped: torch is not installed "
            "(pip install torch==2.13.0 'specurate[torch]')"
        ]
    )
    doc = {
        "specurate_version": __version__,
        "notes": notes,
        "created": datetime.now(timezone.utc).isoformat(),
        "quick": quick,
        "seed": seed,
        "summary": summary,
        "parts": results,
    }
    _write_atomic(out / "results.json", json.dumps(doc, allow_nan=False, indent=1))
    runs = [r for p in results.values() if p.get("kind") == "training" for r in p["runs"]]
    if runs:  # one row per run and evaluation point (pyarrow)
        from specurate.bench.metrics import runs_to_parquet
        from specurate.bench.result import RunResult

        tmp = out / "runs.parquet.tmp"
        runs_to_parquet([RunResult.from_dict(r) for r in runs], tmp)
        os.replace(tmp, out / "runs.parquet")
    _write_atomic(
        out / "report.html",
        render_html(doc, {p.key: parts_dir / f"{p.key}-{tag}.png" for p in parts}),
    )
    return doc


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'


def _ci(ci: Any) -> str:
    return "—" if not ci or ci[0] is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def render_html(doc: dict[str, Any], plots: dict[str, Path]) -> str:
    """Self-contained HTML report of a study (tables + embedded PNG plots)."""
    parts = doc["parts"]
    rows = []
    for key, r in parts.items():
        if key.startswith("reweight") or r.get("kind", "spectrum") != "spectrum":
            continue
        truth = r.get("truth") or {}
        t = ", ".join(f"{k}={v}" for k, v in truth.items()) or "—"
        a_txt = "—" if r["a"] is None else f"{r['a']:.3f}"
        le = r.get("learning_exponent")
        le_txt = "—" if le is None else f"{le:.3f}"
        rows.append(
            f"<tr><td>{html.escape(r['title'])}</td><td>{r['kernel']}</td>"
            f"<td>{r['b']:.3f}</td><td>{_ci(r['b_ci'])}</td>"
            f"<td>{r['fit_range'][0]}–{r['fit_range'][1]}</td>"
            f"<td>{a_txt}</td><td>{_ci(r['a_ci'])}</td><td>{le_txt}</td><td>{t}</td></tr>"
        )
    rw = []
    for key, r in parts.items():
        if not key.startswith("reweight"):
            continue
        rw.append(
            f"<tr><td>{html.escape(r['title'])}</td><td>{r['C']:.2f}</td>"
            f"<td>{r['b']:.3f}</td><td>{r['b_w']:.3f}</td><td>{r['delta_b']:+.3f}</td>"
            f"<td>{_ci(r['delta_b_ci'])}</td>"
            f"<td>{'yes' if r['loewner_upper_ok'] else 'NO'}</td>"
            f"<td>{r['max_eig_ratio']:.3f}</td><td>{r['tail_ratio']:.3f}</td>"
            f"<td>{r['k0']}</td><td>{r['frontier_gain']:.3f}</td>"
            f"<td>{'YES' if r['narrowing'] else 'no'}</td></tr>"
        )
    figs = "\n".join(
        f"<figure>{_img(plots[k])}<figcaption>{html.escape(parts[k]['title'])}"
        f"</figcaption></figure>"
        for k in parts
        if k in plots and plots[k].exists() and parts[k].get("kind") != "training"
    )
    sim = "".join(_simulate_html(r) for r in parts.values() if r.get("kind") == "simulate")
    sim += "".join(
        _training_html(r, plots.get(k)) for k, r in parts.items() if r.get("kind") == "training"
    )
    ci = next((r["ci"] for r in parts.values() if "ci" in r), 0.9)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>specurate report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;
text-align:right}}td:first-child{{text-align:left}}figure{{display:inline-block;margin:.5em}}
img{{max-width:100%}}.note{{color:#555;font-size:90%}}</style></head><body>
<h1>specurate: spectral study of the built-in data</h1>
<p class="note">specurate {doc["specurate_version"]} · {doc["created"]} ·
{"quick" if doc["quick"] else "full"} run · seed {doc["seed"]} ·
CIs: {int(ci * 100)}%, spectra by a delete-one-group jackknife, reweighting by a paired
basic bootstrap over examples (fit range re-selected in every replicate).</p>
{"".join(f'<p class="note"><b>{html.escape(n)}</b></p>' for n in doc.get("notes", []))}
<h2>Spectral exponents</h2>
<p>Eigenvalues λ_k ≈ C k<sup>−b</sup>; target energy per mode λ_k w_k² ≈ k<sup>−a</sup>; gradient
flow then predicts a loss L(t) ~ t<sup>−(a−1)/b</sup>.</p>
<table><tr><th>data</th><th>kernel</th><th>b</th><th>b CI</th><th>fit range</th><th>a</th>
<th>a CI</th><th>(a−1)/b</th><th>planted</th></tr>{"".join(rows)}</table>
<h2>Curation weights as operators (T_w = M√w T M√w)</h2>
<p>Theorem 1 of the paper: for 0 ≤ w ≤ C, λ_k(T_w) ≤ C λ_k for all k. K₀ is the largest rank
where λ_k(T_w)/λ_k departs from its tail value by more than the tolerance; "narrowing" flags
b_w − b &gt; 0 beyond its paired CI.</p>
<table><tr><th>weighting</th><th>C</th><th>b</th><th>b_w</th><th>b_w − b</th><th>CI</th>
<th>Loewner bound</th><th>max ratio</th><th>tail ratio</th><th>K₀</th><th>frontier gain</th>
<th>narrowing</th></tr>{"".join(rw)}</table>
{sim}
<h2>Plots</h2>
{figs}
</body></html>
"""


def _num(v: Any, fmt: str = ".3g") -> str:
    return "—" if v is None else format(v, fmt)


def _simulate_html(r: dict[str, Any]) -> str:
    """Paper-vs-measured and policy tables of a simulator part."""
    paper = "".join(
        f"<tr><td>{html.escape(p['claim'])}</td><td>{html.escape(p['source'])}</td>"
        f"<td>{p['paper']:.4g}</td><td>{p['measured']:.4g}</td>"
        f"<td>{'yes' if p['agrees'] else 'NO'}</td>"
        f"<td>{'—' if p['alternative'] is None else html.escape(str(p['alternative_formula']))}"
        f"{'' if p['alternative'] is None else ': ' + format(p['alternative'], '.4g')}</td></tr>"
        for p in r["paper_vs_measured"]
    )
    targets = r["target_losses"]
    head = "".join(f"<th>speed-up @ L={t:.3g}</th>" for t in targets)
    pol = "".join(
        f"<tr><td>{html.escape(p['label'])}</td><td>{_num(p['loss_exponent'], '.4f')}</td>"
        + "".join(f"<td>{_num(v)}</td>" for v in p["speedup_at_target"].values())
        + f"<td>{_num(p['largest_weight'])}</td><td>{_num(p['weight_growth_exponent'], '.2f')}</td>"
        f"<td>{_num(p['exponent_gain_recovered'], '.2f')}</td>"
        f"<td>{_num(p['time_gain_recovered'], '.2f')}</td></tr>"
        for p in r["policies"]
    )
    return f"""<h2>Learning dynamics under curation: simulated on {html.escape(r["data"])}'s
exponents (a = {r["measured_a"]:.3f}, b = {r["measured_b"]:.3f}, {r["budget"]} budget)</h2>
<p>Exact mode-space simulation (<code>specurate simulate --compare</code>): each policy's loss
exponent, its compute speed-up over uniform sampling at the baseline's losses, the largest mode
weight it used and that weight's growth exponent, and the fraction of the oracle's exponent /
log-time gain it recovers.</p>
<table><tr><th>claim</th><th>source</th><th>paper</th><th>measured</th><th>agrees</th>
<th>alternative</th></tr>{paper}</table>
<table><tr><th>policy</th><th>loss exponent</th>{head}<th>largest weight</th>
<th>weight growth</th><th>exp. gain rec.</th><th>time gain rec.</th></tr>{pol}</table>
"""


def _training_html(r: dict[str, Any], plot: Path | None) -> str:
    """Passes-to-target table and figure of a real-training part."""

    def ci(v: Any, lo: Any, hi: Any, fmt: str = ".3g") -> str:
        if v is None:
            return "—"
        return f"{v:{fmt}}" + ("" if lo is None or hi is None else f" [{lo:{fmt}}, {hi:{fmt}}]")

    rows = "".join(
        f"<tr><td>{html.escape(x['strategy'])}</td><td>{x['n_seeds']}</td>"
        f"<td>{ci(x['test_loss'], x['test_loss_lo'], x['test_loss_hi'])}</td>"
        f"<td>{ci(x['test_acc'], x['test_acc_lo'], x['test_acc_hi'])}</td>"
        f"<td>{_num(x['passes_to_target'])}</td>"
        f"<td>{ci(x['speedup'], x['speedup_lo'], x['speedup_hi'])} ({x['n_reached']})</td>"
        f"<td>{_num(x['scoring_passes'], '.2f')}</td><td>{_num(x['wall_ratio'], '.2f')}</td>"
        f"<td>{ci(x['wall_speedup'], x['wall_speedup_lo'], x['wall_speedup_hi'])}</td>"
        f"<td>{ci(x['acc_speedup'], x['acc_speedup_lo'], x['acc_speedup_hi'])}</td>"
        f"<td>{_num(x['oracle_fraction'], '.2f')}</td>"
        f"<td>{ci(x['loss_exponent'], x['loss_exponent_lo'], x['loss_exponent_hi'], '.2f')} "
        f"({_num(x['exponent_range'][0], '.2g')}–{_num(x['exponent_range'][1], '.2g')})</td></tr>"
        for x in r["summary"]
    )
    fig = "" if plot is None or not plot.exists() else f"<figure>{_img(plot)}</figure>"
    rates = ", ".join(f"{k} {v:g}" for k, v in r["lr"].items())
    return f"""<h2>{html.escape(r["title"])}</h2>
<p>{html.escape(r["description"])}; budget {r["budget_passes"]:g} passes (backward + scoring),
SGD, each strategy at its best learning rate of {r.get("lr_grid")} (tuned on an independent
draw of the task: {rates}), {r["seeds"]} seeds (<code>specurate bench</code>). Speed-up = uniform's
passes / the strategy's passes to reach uniform's final test loss, paired by seed: geometric
mean [90% t CI] (seeds that reach it). Wall ratio includes the strategy's own work. The oracle
sees the exact current loss of every example for free (reference only).</p>
<table><tr><th>strategy</th><th>seeds</th><th>test loss</th><th>test acc</th>
<th>passes to uniform's loss</th><th>speed-up</th><th>scoring passes</th><th>wall ratio</th>
<th>wall-clock speed-up</th>
<th>speed-up at acc − 0.3 pt</th><th>oracle gain recovered</th>
<th>loss exponent x, L ∝ passes<sup>−x</sup> [CI] (fit range)</th></tr>{rows}</table>
{fig}
"""
