"""What a study found, as plain sentences: the "What this data says" section of the report.

:func:`findings` reads a study's ``results.json`` document and returns one sentence per finding,
each with its number, its 90 % interval where there is one, and the rank range or budget it
holds for; every symbol is defined in the sentence that uses it. Sentences are plain text with
formulas in a light shorthand (``k^{-b}``, ``λ_k``): :func:`plain` writes them for a terminal or
JSON, and the HTML report renders the formulas as MathML
(:func:`specurate.report.html.rich_text`).

Nothing here computes a statistic: every number comes from a part of the study.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from specurate.report.style import fmt, fmt_ci

__all__ = ["findings", "plain"]

_WEIGHTING = {
    "random-prune": "Pruning a random half of {data} (the control",
    "keep-easy": "Keeping the most typical half of {data} (nearest the class prototypes",
    "keep-hard": "Keeping the least typical half of {data}",
    "upweight-hard-x4": "Up-weighting the least typical quarter of {data} ×4",
    "near-duplicates": "Removing {data}'s near-duplicates",
}
#: |b_w − b| below this is reported as negligible even when its interval excludes 0 (a change
#: of the exponent by 0.01 changes a loss exponent (a − 1)/b by under 1 %)
NEGLIGIBLE = 0.01
_MODEL = {"cutoff": "a power law with an exponential cutoff", "exponential": "an exponential"}


def plain(text: str) -> str:
    """The shorthand for a terminal: ``k^{-(a-1)/b}`` → ``k^-(a-1)/b``, ``x_{ij}`` → ``x_ij``."""
    return re.sub(r"([\^_])\{([^{}]*)\}", r"\1\2", text)


def _num(v: Any) -> float | None:
    """``v`` as a finite float, or None."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _ok(v: Any) -> bool:
    return _num(v) is not None


def _ci(lo_hi: Any, spec: str = ".2f") -> str:
    text = fmt_ci(lo_hi, spec)
    return "" if text == "—" else f" {text}"


def _rank_range(r: Mapping[str, Any], key: str = "fit_range") -> str:
    lo, hi = r[key]
    return f"ranks {lo}–{hi}"


def _spectrum(key: str, r: Mapping[str, Any], label: str) -> list[str]:
    """b (and its shape), a and the predicted loss exponent of one spectrum part."""
    out = []
    b, rng = r["b"], _rank_range(r)
    rows = r.get("rows_used") or r.get("n")
    scope = f"{label} ({rows:,} examples, {r['kernel']} operator)" if rows else label
    favoured = [
        (name, m["p_value"])
        for name, m in (r.get("model_comparison") or {}).items()
        if _ok(m.get("loglik_ratio"))
        and m["loglik_ratio"] < 0
        and _ok(m.get("p_value"))
        and m["p_value"] < 0.1
    ]
    if favoured and not r.get("single_power_law", True):
        name, p = min(favoured, key=lambda t: t[1])
        out.append(
            f"The spectrum of {scope} is not a clean power law ({_MODEL.get(name, name)} fits "
            f"better, p-value {p:.1g}): treat b = {b:.2f}{_ci(r['b_ci'])} as the local slope of "
            f"λ_k ∝ k^{{-b}} over {rng} (λ_k: the k-th eigenvalue)."
        )
    else:
        out.append(
            f"The spectrum of {scope} decays as a power law λ_k ∝ k^{{-b}} (λ_k: the k-th "
            f"eigenvalue) with b = {b:.2f}{_ci(r['b_ci'])} over {rng}."
        )
    truth = r.get("truth") or {}
    if "b" in truth and _ok(r["b_ci"][0] if r.get("b_ci") else None):
        lo, hi = r["b_ci"]
        inside = "inside" if lo <= truth["b"] <= hi else "OUTSIDE"
        out[-1] = out[-1][:-1] + f"; the planted b = {truth['b']:g} is {inside} the interval."
    a, le = _num(r.get("a")), _num(r.get("learning_exponent"))
    if a is not None and r["kernel"] == "linear":
        if a > 1 and le is not None:
            out.append(
                f"Its labels put energy λ_k w_k^2 ∝ k^{{-a}} on mode k (w_k: the labels' "
                f"coefficient) with a = {a:.2f}{_ci(r.get('a_ci'))}; gradient descent then "
                f"learns mode by mode and the loss falls as L ∝ t^{{-(a-1)/b}} = t^{{-{le:.2f}}}"
                f"{_ci(r.get('learning_exponent_ci'))} in training time t."
            )
        else:
            out.append(
                f"Its labels' energy per mode decays with a = {a:.2f}{_ci(r.get('a_ci'))} ≤ 1: "
                "no power-law loss curve is predicted (the head of the spectrum holds too little "
                "of the target)."
            )
    return out


def _weighting_label(r: Mapping[str, Any]) -> str:
    name, data = str(r.get("weighting", "")), str(r.get("data", "the data"))
    if name.startswith("yours: "):
        return f"Your weighting '{name[7:]}'"
    return _WEIGHTING.get(name, f"The weighting '{name}' of {{data}}").format(data=data)


def _reweight(r: Mapping[str, Any]) -> str:
    """One sentence: does the weighting change the exponent beyond its interval?"""
    d, ci = r["delta_b"], r.get("delta_b_ci")
    common = r.get("common_range") or r.get("fit_range_w") or r.get("fit_range")
    where = f"on ranks {common[0]}–{common[1]}" if common else ""
    kept = r.get("n_kept"), r.get("n")
    label = _weighting_label(r)
    sizes = f"keeps {kept[0]:,} of {kept[1]:,} examples, C = {r['C']:.2g}" if all(kept) else ""
    if label.count("(") > label.count(")"):  # "… (the control" takes the sizes after a ';'
        label += f"; {sizes})" if sizes else ")"
    elif sizes:
        label += f" ({sizes})"
    lo_hi = f"b_w − b = {d:+.3f}{_ci(ci, '+.3f')} {where}".rstrip()
    lo, hi = (_num(ci[0]), _num(ci[1])) if ci else (None, None)
    if abs(d) < NEGLIGIBLE and (lo is not None and (lo > 0 or (hi is not None and hi < 0))):
        verdict = f"moves the exponent by less than {NEGLIGIBLE:g}, a negligible change"
    elif lo is not None and lo > 0:
        verdict = "steepens the spectrum's tail (fewer examples per tail mode)"
    elif hi is not None and hi < 0:
        verdict = "flattens the spectrum's tail"
    else:
        verdict = "leaves the exponent unchanged within its interval"
    text = f"{label} {verdict}: {lo_hi}."
    if (
        r.get("weighting") == "random-prune"
        and lo is not None
        and hi is not None
        and (lo > 0 or hi < 0)
    ):
        text += " A random mask cannot change the exponent: read differences this small as noise."
    return text


def _theorem1(rws: list[Mapping[str, Any]]) -> str | None:
    if not rws:
        return None
    top = max(rws, key=lambda r: r["C"])
    ok = all(r["loewner_upper_ok"] for r in rws)
    check = (
        "λ_k(T_w) ≤ C λ_k held at every rank in all of them"
        if ok
        else "the check λ_k(T_w) ≤ C λ_k FAILED for some weighting — a numerical problem"
    )
    return (
        f"No static weighting analysed here can make learning more than C times faster, C being "
        f"its largest weight over its mean weight (Theorem 1): the largest is C = {top['C']:.2g} "
        f"({_weighting_label(top).split(' (')[0].lower()}); {check}."
    )


def _simulate(r: Mapping[str, Any]) -> str | None:
    pols = r.get("policies") or []
    targets = r.get("target_losses") or []
    if not pols or not targets:
        return None
    key = format(targets[-1], ".4g")

    def speed(p: Mapping[str, Any]) -> float:
        v = _num((p.get("speedup_at_target") or {}).get(key))
        valid = (p.get("speedup_valid") or {}).get(key, True)
        return v if v is not None and valid else math.nan

    dyn = [p for p in pols if p.get("policy") not in ("baseline", "static") and _ok(speed(p))]
    static = [p for p in pols if p.get("policy") == "static" and _ok(speed(p))]
    if not dyn:
        return None
    best = max(dyn, key=speed)
    text = (
        f"In the exact simulator on the measured exponents (a = {r['measured_a']:.2f}, "
        f"b = {r['measured_b']:.2f}), the best dynamic rule ({best['label']}) reaches the "
        f"uniform baseline's loss L = {targets[-1]:.3g} {speed(best):.3g}× sooner, with weights "
        f"growing to "
        f"{fmt(best.get('largest_weight'), '.3g')}"
    )
    if static:
        s = max(static, key=speed)
        text += (
            f"; a static rule ({s['label'].removeprefix('static ').strip('()')}) {speed(s):.3g}×"
        )
    return text + " (an upper bound for rules that see their losses with noise)."


def _groups(r: Mapping[str, Any]) -> list[str]:
    out = []
    beta = r.get("mass_exponent")
    shape = f", falling as p_k ∝ k^{{-{beta:.2f}}}" if _ok(beta) else ""
    out.append(
        f"The {r['n_groups']} groups of {r['data']} hold shares p_k of the examples from "
        f"{r['mass'][0]:.3g} down to {r['mass'][-1]:.2g} (ratio {r['imbalance']:.3g}){shape}."
    )
    budgets = r["budgets"]
    free = r["rules"].get("dynamic (unbounded)")
    statics = {k: v for k, v in r["rules"].items() if k.startswith("static C=")}
    if free is None:
        return out
    i = len(budgets) - 1
    parts = ", ".join(f"{k.split(' ')[1]}: {v['speedup'][i]:.3g}×" for k, v in statics.items())
    out.append(
        f"Counting every group equally, at {budgets[i]:,} steps a rule that re-plans on the "
        f"current group losses could reach uniform sampling's loss {free['speedup'][i]:.3g}× "
        f"sooner (largest weight {free['largest_weight'][i]:.3g}); the best static rule with "
        f"weights bounded by C reaches {parts} (exact expected loss of a one-parameter-per-group "
        "model; real models share parameters across groups and gain less)."
    )
    return out


def _training(r: Mapping[str, Any]) -> str | None:
    rules = (r.get("lr_rules") or {}).get("margin") or {}
    lead = rules.get("leader")
    rows = {x["strategy"]: x for x in r.get("summary", [])}
    if lead is None or lead not in rows:
        return None
    x = rows[lead]
    ci = ""
    if _ok(x.get("speedup_lo")) and _ok(x.get("speedup_hi")):
        ci = f" [{x['speedup_lo']:.3g}, {x['speedup_hi']:.3g}]"
    return (
        f"In real training ({r['task']}), the fastest strategy to uniform's final test loss is "
        f"{lead}: {fmt(x.get('speedup'))}×{ci} fewer passes ({x.get('n_reached')}/"
        f"{x.get('n_compared')} seeds reach it)."
    )


def findings(doc: Mapping[str, Any]) -> list[str]:
    """The findings of a study, most important first: the static-vs-dynamic verdict (built-in
    study), then per data set its spectrum, target and predicted loss exponent, each weighting's
    effect on the exponent, Theorem 1's bound, the simulator's gains, the groups' gains and real
    training's leader."""
    parts: Mapping[str, Mapping[str, Any]] = doc["parts"]
    out: list[str] = []
    head = list(doc.get("headline") or [])
    out += [h for h in head if h.startswith(("The greedy", "By Theorem 1"))] or head[:2]
    for key, r in parts.items():
        if r.get("kind", "spectrum") == "spectrum" and "kernel" in r and r["kernel"] == "linear":
            out += _spectrum(key, r, str(r.get("data") or key))
    rws = [r for r in parts.values() if "delta_b" in r]
    out += [_reweight(r) for r in rws]
    t1 = _theorem1(rws)
    if t1:
        out.append(t1)
    for r in parts.values():
        kind = r.get("kind")
        text = _simulate(r) if kind == "simulate" else _training(r) if kind == "training" else None
        if text:
            out.append(text)
        if kind == "groups":
            out += _groups(r)
    return out
