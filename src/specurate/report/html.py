"""The self-contained HTML report of ``specurate run`` (tables, and plots embedded as PNG).

:func:`render_html` takes the study's ``results.json`` document and the plot of every part; it
reads nothing else and writes nothing.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from specurate.report.experiments import separation_cell, separation_label
from specurate.report.style import fmt, fmt_ci, fmt_est, fmt_speedup
from specurate.report.tables import rule_verdict

__all__ = ["render_html"]


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'


def render_html(doc: dict[str, Any], plots: dict[str, Path]) -> str:
    """Self-contained HTML report of a study (tables + embedded PNG plots)."""
    parts = doc["parts"]
    rows = []
    shape_notes: list[str] = []
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
            f"<td>{r['b']:.3f}</td><td>{fmt_ci(r['b_ci'])}</td>"
            f"<td>{fmt_ci(r.get('b_ci_total'))}</td>"
            f"<td>{r['fit_range'][0]}–{r['fit_range'][1]}</td>"
            f"<td>{a_txt}</td><td>{fmt_ci(r['a_ci'])}</td><td>{le_txt}</td>"
            f"<td>{html.escape(str(r.get('shape') or '—'))}</td><td>{t}</td></tr>"
        )
        if r.get("shape_note") and not r.get("single_power_law", True):
            shape_notes.append(
                f"<li>{html.escape(r['title'])}: {html.escape(r['shape_note'])}</li>"
            )
    rw = []
    for key, r in parts.items():
        if not key.startswith("reweight"):
            continue
        rw.append(
            f"<tr><td>{html.escape(r['title'])}</td><td>{r['C']:.2f}</td>"
            f"<td>{r['b']:.3f}</td><td>{r['b_w']:.3f}</td><td>{r['delta_b']:+.3f}</td>"
            f"<td>{fmt_ci(r['delta_b_ci'])}</td>"
            f"<td>{'yes' if r['loewner_upper_ok'] else 'NO'}</td>"
            f"<td>{r['max_eig_ratio']:.3f}</td><td>{r['tail_ratio']:.3f}</td>"
            f"<td>{r['k0']}</td><td>{r['frontier_gain']:.3f}</td>"
            f"<td>{'YES' if r['narrowing'] else 'no'}</td></tr>"
        )
    figs = "\n".join(
        f"<figure>{_img(plots[k])}<figcaption>{html.escape(parts[k]['title'])}"
        f"</figcaption></figure>"
        for k in parts
        if k in plots
        and plots[k].exists()
        and parts[k].get("kind") not in ("training", "separation")
    )
    sep = "".join(
        _separation_html(r, plots.get(k)) for k, r in parts.items() if r.get("kind") == "separation"
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
{sep}
<h2>Spectral exponents</h2>
<p>Eigenvalues λ_k ≈ C k<sup>−b</sup>; target energy per mode λ_k w_k² ≈ k<sup>−a</sup>; gradient
flow then predicts a loss L(t) ~ t<sup>−(a−1)/b</sup>.</p>
<table><tr><th>data</th><th>kernel</th><th>b</th><th>b CI</th>
<th>b CI incl. fit-range spread</th><th>fit range</th><th>a</th>
<th>a CI</th><th>(a−1)/b</th><th>shape</th><th>planted</th></tr>{"".join(rows)}</table>
{"<ul>" + "".join(shape_notes) + "</ul>" if shape_notes else ""}
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
        f"<tr><td>{html.escape(p['label'])}</td><td>{fmt(p['loss_exponent'], '.4f')}</td>"
        + "".join(f"<td>{fmt(v)}</td>" for v in p["speedup_at_target"].values())
        + f"<td>{fmt(p['largest_weight'])}</td><td>{fmt(p['weight_growth_exponent'], '.2f')}</td>"
        f"<td>{fmt(p['exponent_gain_recovered'], '.2f')}</td>"
        f"<td>{fmt(p['time_gain_recovered'], '.2f')}</td></tr>"
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

    def ci(v: Any, lo: Any, hi: Any, spec: str = ".3g") -> str:
        return fmt_est(v, lo, hi, spec, spec)

    rows = "".join(
        f"<tr><td>{html.escape(x['strategy'])}</td><td>{x['n_seeds']}</td>"
        f"<td>{ci(x['test_loss'], x['test_loss_lo'], x['test_loss_hi'])}</td>"
        f"<td>{ci(x['test_acc'], x['test_acc_lo'], x['test_acc_hi'])}</td>"
        f"<td>{fmt(x['passes_to_target'])}</td>"
        f"<td>{html.escape(fmt_speedup(x))}</td>"
        f"<td>{fmt(x['scoring_passes'], '.2f')}</td><td>{fmt(x['wall_ratio'], '.2f')}</td>"
        f"<td>{html.escape(fmt_speedup(x, 'wall_speedup'))}</td>"
        f"<td>{html.escape(fmt_speedup(x, 'acc_speedup', reached='acc_n_reached'))}</td>"
        f"<td>{fmt(x['oracle_fraction'], '.2f')}</td>"
        f"<td>{ci(x['loss_exponent'], x['loss_exponent_lo'], x['loss_exponent_hi'], '.2f')} "
        f"({fmt(x['exponent_range'][0], '.2g')}–{fmt(x['exponent_range'][1], '.2g')})</td></tr>"
        for x in r["summary"]
    )
    fig = "" if plot is None or not plot.exists() else f"<figure>{_img(plot)}</figure>"
    rates = ", ".join(f"{k} {v:g}" for k, v in r["lr"].items())
    rules_html = _rules_html(r.get("lr_rules"))
    return f"""<h2>{html.escape(r["title"])}</h2>
<p>{html.escape(r["description"])}; budget {r["budget_passes"]:g} passes (backward + scoring),
SGD, each strategy at its best learning rate of {r.get("lr_grid")} (tuned on an independent
draw of the task: {rates}), {r["seeds"]} seeds (<code>specurate bench</code>). Speed-up = uniform's
passes / the strategy's passes to reach uniform's final test loss, paired by seed: geometric
mean [90% t CI] over the seeds that reach it, (reached/compared); a seed that never reaches it
is censored at its budget, and "all ≤ B" bounds the speed-up over every seed. Wall
ratio includes the strategy's own work. The oracle
sees the exact current loss of every example for free (reference only).</p>
<table><tr><th>strategy</th><th>seeds</th><th>test loss</th><th>test acc</th>
<th>passes to uniform's loss</th><th>speed-up</th><th>scoring passes</th><th>wall ratio</th>
<th>wall-clock speed-up</th>
<th>speed-up at acc − 0.3 pt</th><th>oracle gain recovered</th>
<th>loss exponent x, L ∝ passes<sup>−x</sup> [CI] (fit range)</th></tr>{rows}</table>
{rules_html}
{fig}
"""


def _rules_html(rules: dict[str, Any] | None) -> str:
    """Best vs best under each learning-rate rule, and whether the leader moves."""
    if not rules:
        return ""
    names = list(rules)
    first = rules[names[0]]["summary"]
    by = {rule: {x["strategy"]: x for x in rules[rule]["summary"]} for rule in names}
    head = "".join(
        f"<th>{html.escape(n)}: lr</th><th>{html.escape(n)}: speed-up</th>" for n in names
    )
    body = ""
    for x in first:
        cells = ""
        for rule in names:
            y = by[rule].get(x["strategy"])
            cells += (
                "<td>—</td><td>—</td>"
                if y is None
                else f"<td>{fmt(y['lr'])}</td><td>{html.escape(fmt_speedup(y))}</td>"
            )
        body += f"<tr><td>{html.escape(x['strategy'])}</td>{cells}</tr>"
    verdict = rule_verdict({rule: rules[rule].get("leader") for rule in names})
    verdict = verdict[0].upper() + verdict[1:] + "."
    return f"""<p>Learning-rate rules. <b>margin</b>: a rate counts only if twice it also trains
(a factor-2 distance from the edge of stability); <b>best</b>: the best rate that trains on every
tuning seed. The margin rule penalizes a strategy whose best rate sits next to an unstable one,
uniform's stability edge included. The leader is the fastest strategy among those that reach
uniform's final loss on every seed; the free-look oracle is a reference, not a rival.
{html.escape(verdict)}</p>
<table><tr><th>strategy</th>{head}</tr>{body}</table>
"""


def _separation_html(r: dict[str, Any], plot: Path | None) -> str:
    """The static-vs-dynamic verdict, its two tables and its figure."""
    c = r["config"]
    budgets = c["budgets"]

    def cell(v: Any, spec: str = ".3g") -> str:
        return "—" if v is None else html.escape(separation_cell(v, False, spec))

    head = "".join(f"<th>{b} steps</th>" for b in budgets)
    free = r.get("unbound", {})
    rows = "".join(
        f"<tr><td>{html.escape(separation_label(n))}</td>"
        + "".join(
            f"<td>{html.escape(separation_cell(v, b in free.get(n, ())))}</td>"
            for b, v in zip(budgets, points, strict=True)
        )
        + f"<td>{cell(r['exponent'].get(n), '.3f')}</td>"
        f"<td>{cell(r['exponent_late'].get(n), '.3f')}</td>"
        f"<td>{fmt(r['max_weight'].get(n), '.3g')}</td>"
        f"<td>{cell(r['wall_speedup'][n][-1] if n in r['wall_speedup'] else None)}</td></tr>"
        for n, points in r["speedup"].items()
    )
    verdict = "".join(f"<li>{html.escape(v)}</li>" for v in r["verdict"])
    fig = "" if plot is None or not plot.exists() else f"<figure>{_img(plot)}</figure>"
    return f"""<h2>Static vs dynamic curation: the paper's central claim, in real training</h2>
<ul>{verdict}</ul>
<p>A truly mode-local model (a torch embedding: one parameter per mode) trained by SGD on fresh
samples: {c["modes"]} modes with frequencies p<sub>k</sub> ∝ k<sup>−{c["b"]:g}</sup> and energies
∝ k<sup>−{c["a"]:g}</sup>, batches of {c["batch"]}, rate {c["lr"]:g}, {c["seeds"]} seeds. A
strategy's weight on mode k is q<sub>k</sub>/p<sub>k</sub>. <b>static C = c</b>: for each budget,
the best allocation any static rule bounded by c can use (solved exactly, with the true energies:
an upper bound on every static rule); <b>greedy</b>: the same solve repeated during training on
the losses the training batches show, with no bound; <b>oracle</b>: greedy on the exact losses;
<b>frontier</b>: specurate's frontier rule with a growing bound, <b>frontier-fixed</b> with a fixed
bound {c["cap0"]:g}; <b>loss</b>: loss-proportional; <b>balanced</b>: static balancing at the
greedy rule's largest weight. Speed-up: the steps uniform needs to reach the strategy's loss at
the budget, over the budget (90% t CI over seeds). α: the loss exponent, L ∝ steps<sup>−α</sup>;
Theorem 1 says a bounded rule's α returns to uniform's (a−1)/b = {(c["a"] - 1) / c["b"]:.3f}.
Wall-clock speed-up counts each strategy's own planning time.</p>
<div style="overflow-x:auto"><table><tr><th>strategy</th>{head}<th>α, all budgets</th>
<th>α, last decade</th><th>largest weight</th><th>wall-clock speed-up @ {budgets[-1]}</th></tr>
{rows}</table></div>
<p class="note">* the bound does not bind at this budget: the same run as the unbounded rule.</p>
{fig}
"""
