"""Terminal tables (rich) of every command's result, built from the command's JSON dict.

Each function takes the plain dict the command prints with ``--json`` and returns a list of
rich renderables (tables and one-line notes), so the terminal output and the JSON output can
never disagree. Numbers go through :mod:`specurate.report.style`'s formatters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from specurate.bench.metrics import leader
from specurate.report.experiments import render_separation
from specurate.report.style import fmt, fmt_ci, fmt_est, fmt_speedup

__all__ = [
    "bench_tables",
    "compare_tables",
    "lr_rule_verdict",
    "reweight_tables",
    "rule_verdict",
    "run_tables",
    "simulation_tables",
    "spectrum_tables",
]

Renderables = list[Any]


def _note(text: str) -> Text:
    return Text(text, style="dim")


def spectrum_tables(out: Mapping[str, Any], name: str, ci: float) -> Renderables:
    """``specurate spectrum``: b, α, fit range, floor, model comparison, and a / (a−1)/b."""
    table = Table(title=f"spectrum of {name} ({out['kernel']}, n={out['n']}, d={out['d']})")
    table.add_column("quantity")
    table.add_column("estimate", justify="right")
    table.add_column(f"{int(ci * 100)}% CI", justify="right")
    table.add_row("eigenvalue decay b", fmt(out["b"], ".3f"), fmt_ci(out["b_ci"]))
    if out.get("b_ci_total") is not None:
        table.add_row(
            "  b incl. fit-range spread (ranges ±25 %)",
            f"{fmt_ci(out.get('b_range'))} spread",
            fmt_ci(out["b_ci_total"]),
        )
    table.add_row("density exponent α = 1 + 1/b", fmt(out["alpha"], ".3f"), fmt_ci(out["alpha_ci"]))
    table.add_row("fit range (ranks)", f"{out['fit_range'][0]}–{out['fit_range'][1]}", "")
    table.add_row("noise floor ε", fmt(out["floor"], ".3g"), "")
    for alt, c in out["model_comparison"].items():
        table.add_row(
            f"R(power law vs {alt})",
            fmt(c["loglik_ratio"], "+.1f"),
            f"p = {fmt(c['p_value'], '.2g')}",
        )
    if out["a"] is not None:
        table.add_row("target energy decay a", fmt(out["a"], ".3f"), fmt_ci(out["a_ci"]))
        if out.get("a_binned") is not None:
            table.add_row("  a, equal weight per mode (binned)", fmt(out["a_binned"], ".3f"), "")
        table.add_row(
            "learning exponent (a−1)/b",
            fmt(out["learning_exponent"], ".3f"),
            fmt_ci(out["learning_exponent_ci"]),
        )
    out_items: Renderables = [table]
    if out.get("alpha_note"):
        out_items.append(f"α: {out['alpha_note']}")
    if out.get("shape_note"):
        out_items.append(f"shape: {out['shape_note']}")
    if (ny := out.get("nystrom")) is not None:
        gap = ny["trace_gap"]
        out_items.append(
            f"Nyström: {ny['landmarks']:,} landmarks (rank {ny['rank']:,}); every eigenvalue is "
            f"at most {gap:.3g} below the exact kernel operator's ({ny['relative_trace_gap']:.2%} "
            "of its trace)."
        )
    if out.get("engine") is not None:
        out_items.append(
            f"engine: {out['engine']}, {out['workers']} worker(s), {out['shards']} shards; "
            f"jackknife over {out['groups']} groups of whole shards or shard blocks."
        )
    out_items.append(_note("R > 0 favours the power law over the alternative."))
    return out_items


def reweight_tables(out: Mapping[str, Any], ci: float, tolerance: float) -> Renderables:
    """``specurate reweight``: C, b and b_w on a shared range, the Loewner bound, K₀."""
    title = f"{out['data']} reweighted by {out['weights']} (n={out['n']}, kept {out['n_kept']})"
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column(f"{int(ci * 100)}% CI", justify="right")
    table.add_row("C = max w (mean 1)", fmt(out["C"], ".3f"), "")
    own = f"{out['fit_range'][0]}–{out['fit_range'][1]}"
    table.add_row(f"b (original, its own ranks {own})", fmt(out["b"], ".3f"), fmt_ci(out["b_ci"]))
    rng = out.get("common_range") or out["fit_range_w"]
    common = f"{rng[0]}–{rng[1]}"
    table.add_row(
        f"b on ranks {common} (the ranks b_w − b uses)",
        fmt(out["b_common"], ".3f"),
        fmt_ci(out.get("b_common_ci")),
    )
    table.add_row(f"b_w (curated) on ranks {common}", fmt(out["b_w"], ".3f"), fmt_ci(out["b_w_ci"]))
    table.add_row("b_w − b (common range)", fmt(out["delta_b"], "+.3f"), fmt_ci(out["delta_b_ci"]))
    table.add_row(
        "Loewner bound λ_k(T_w) ≤ C λ_k", "holds" if out["loewner_upper_ok"] else "VIOLATED", ""
    )
    table.add_row("max λ_k(T_w)/λ_k(T)", fmt(out["max_eig_ratio"], ".3f"), "")
    table.add_row("tail ratio", fmt(out["tail_ratio"], ".3f"), "")
    table.add_row(f"finite region K₀ (tol {tolerance:g})", str(out["k0"]), "")
    table.add_row("frontier gain inside K₀", fmt(out["frontier_gain"], ".3f"), "")
    table.add_row("spectral narrowing", "YES" if out["narrowing"] else "no", "")
    return [table]


def simulation_tables(r: Mapping[str, Any]) -> Renderables:
    """``specurate simulate``: one policy against the baseline, and the paper's formulas."""
    table = Table(
        title=f"{r['policy']} vs baseline ({r['budget']} budget, N = {r['n_modes']}, "
        f"{r['engine']} engine)"
    )
    table.add_column("quantity")
    table.add_column(r["policy"], justify="right")
    table.add_column("baseline", justify="right")
    lo, hi = r["loss_fit_range"]
    table.add_row(
        f"loss exponent (L ~ t^-x, t in {fmt(lo)}–{fmt(hi)})",
        f"{fmt(r['loss_exponent'], '.4g')} (drift {fmt(r['loss_drift'], '+.3f')})",
        fmt(r["baseline"]["loss_exponent"], ".4g"),
    )
    local = r.get("loss_local_range")
    if local is not None:
        table.add_row(
            f"local exponents in the window ({fmt(r.get('loss_fit_decades'), '.2g')} decades)",
            f"{fmt(local[0], '.3g')} – {fmt(local[1], '.3g')}",
            "",
        )
    table.add_row(
        "frontier exponent (k* ~ t^x)",
        fmt(r["frontier_exponent"], ".4g"),
        fmt(r["baseline"]["frontier_exponent"], ".4g"),
    )
    valid = r.get("speedup_valid") or {}
    for target, sp in r["speedup_at_target"].items():
        table.add_row(f"speed-up at L = {target}", _speedup_text(sp, valid.get(target)), "1×")
    table.add_row("largest weight used", fmt(r["largest_weight"], ".4g"), "1")
    table.add_row("speed-up that weight alone allows", f"{fmt(r['bound_speedup'], '.4g')}×", "1×")
    table.add_row("final loss", fmt(r["final_loss"], ".4g"), fmt(r["baseline"]["loss"][-1], ".4g"))
    out: Renderables = [table]
    if "paper" in r:
        p = r["paper"]
        out.append(
            f"paper: baseline loss exponent (a−1)ρ/b = {p['baseline_loss_exponent']:.4g}, "
            f"oracle frontier ρ = {p['oracle_frontier_exponent']:.4g}, "
            f"oracle loss aρ/b (A.3) = {p['oracle_loss_exponent_A3']:.4g}"
        )
    out += [f"note: {note}" for note in r["notes"]]
    out += [f"note: {why}" for why in (r.get("speedup_reasons") or {}).values()]
    if r.get("loss_fit_reason"):
        out.append(f"note: loss fit: {r['loss_fit_reason']}")
    return out


def _speedup_text(sp: Any, valid: Any) -> str:
    """A simulated speed-up, or why there is none: not reached, or reached only past the run's
    validity limit (k* > N/10: the analytic tail decides the number there)."""
    if valid is False:
        return "past validity"
    return "never reached" if sp is None else f"{sp:.3g}×"


def compare_tables(r: Mapping[str, Any]) -> Renderables:
    """``specurate simulate --compare``: every policy, the paper's formulas, the static sweep and
    (when run) the sample-level comparison."""
    targets = list(r["policies"][0]["speedup_at_target"])
    table = Table(title=f"policies on a = {r['a']:g}, b = {r['b']:g} ({r['budget']} budget)")
    table.add_column("policy", no_wrap=True)
    for col in ("loss exp", "drift", "k* exp"):
        table.add_column(col, justify="right", no_wrap=True)
    for i, _ in enumerate(targets, 1):
        table.add_column(f"×@L{i}", justify="right", no_wrap=True)
    for col in ("max w", "w exp", "bound", "rec exp", "rec t"):
        table.add_column(col, justify="right", no_wrap=True)
    for p in r["policies"]:
        table.add_row(
            p["label"],
            fmt(p["loss_exponent"], ".4f"),
            fmt(p["loss_drift"], "+.2f"),
            fmt(p["frontier_exponent"], ".3f"),
            *[
                "past N/10"
                if (p.get("speedup_valid") or {}).get(t) is False
                else fmt(p["speedup_at_target"][t])
                for t in targets
            ],
            fmt(p["largest_weight"]),
            fmt(p["weight_growth_exponent"], ".2f"),
            fmt(p["bound_speedup"]),
            fmt(p["exponent_gain_recovered"], ".2f"),
            fmt(p["time_gain_recovered"], ".2f"),
        )
    legend = ", ".join(f"L{i} = {t}" for i, t in enumerate(targets, 1))
    out: Renderables = [
        table,
        _note(
            f"×@L: compute speed-up over the baseline at target loss ({legend}; 'past N/10': "
            "reached only where the analytic tail decides, not reported); max w: largest "
            "weight used; w exp: its growth exponent in t; bound: the speed-up max w alone "
            "allows; rec exp / rec t: fraction of the oracle's exponent gain / log speed-up "
            "recovered"
        ),
    ]
    paper = Table(title="paper's formula vs measured")
    for col in ("claim", "source", "paper", "measured", "agrees", "alternative"):
        paper.add_column(col, justify="left" if col in ("claim", "source") else "right")
    for p in r["paper_vs_measured"]:
        alt = "—"
        if p["alternative"] is not None:
            mark = "✓" if p["alternative_agrees"] else "✗"
            alt = f"{p['alternative']:.4g} {mark} [{p['alternative_formula']}]"
        paper.add_row(
            p["claim"],
            p["source"],
            fmt(p["paper"], ".4g"),
            fmt(p["measured"], ".4g"),
            "yes" if p["agrees"] else "NO",
            alt,
        )
    out.append(paper)
    sweep = Table(title="static pruning of the head: the finite region")
    for col in ("strength", "C", "C_front", "K₀", "loss exp.", "speed-up", "bound C"):
        sweep.add_column(col, justify="right")
    for row in r["static_sweep"]:
        sp = [v for v in row["speedup_at_target"].values() if v is not None]
        sweep.add_row(
            f"{row['strength']:g}",
            fmt(row["C"]),
            fmt(row["c_front"]),
            fmt(row["k0"]),
            fmt(row["loss_exponent"], ".4f"),
            fmt(sp[-1] if sp else None),
            fmt(row["bound_speedup"]),
        )
    out.append(sweep)
    if "sample_level" in r:
        sl = r["sample_level"]
        st = Table(
            title=f"sample level: {sl['policy']} through per-example weights "
            f"(n = {sl['n_examples']}, d = {sl['n_modes']}, {sl['method']})"
        )
        for col in ("data", "speed-up (t)", "mode-space speed-up", "weight mismatch", "max w"):
            st.add_column(col, justify="left" if col == "data" else "right")
        for fam, f in sl["families"].items():
            st.add_row(
                fam + (" (examples mix all modes)" if fam == "gaussian" else " (one mode each)"),
                fmt(f["speedup"]),
                fmt(f["mode_space_speedup"]),
                fmt(f["mismatch"]),
                f"{fmt(f['max_intended'])} → {fmt(f['max_realized'])}",
            )
        out.append(st)
    return out


def bench_tables(
    rows: Sequence[Mapping[str, Any]], *, dataset: str, epochs: float, seeds: int
) -> Renderables:
    """``specurate bench``: one row per strategy (summarize's rows), mean [90% CI] over the
    seeds that reach the target, (reached/compared), and the all-seed bound when a seed is
    censored."""
    table = Table(
        title=f"{dataset}: {epochs:g} passes, {seeds} seed(s), mean [90% CI] (seeds reached)"
    )
    has_acc = any(math.isfinite(r["test_acc"]) for r in rows)
    has_oracle = any(r["strategy"] == "oracle" for r in rows)
    cols = ["strategy", "lr", "test loss", "test acc", "passes to uniform's loss", "speed-up"]
    cols += ["speed-up at acc − 0.3 pt"] if has_acc else []
    cols += ["oracle gain recovered"] if has_oracle else []
    cols += ["scoring passes", "wall ratio", "wall-clock speed-up"]
    for col in cols:
        table.add_column(col, justify="left" if col == "strategy" else "right")
    for r in rows:
        ptt = r["passes_to_target"]
        cells = [
            r["strategy"],
            f"{r['lr']:.3g}",
            fmt_est(r["test_loss"], r["test_loss_lo"], r["test_loss_hi"]),
            fmt_est(r["test_acc"], r["test_acc_lo"], r["test_acc_hi"]),
            "never" if ptt is None else f"{ptt:.3g}",
            fmt_speedup(r),
        ]
        if has_acc:
            cells.append(fmt_speedup(r, "acc_speedup", reached="acc_n_reached"))
        if has_oracle:
            cells.append(fmt(r["oracle_fraction"], ".2f"))
        cells += [
            f"{r['scoring_passes']:.2f}",
            f"{r['wall_ratio']:.2f}",
            fmt_speedup(r, "wall_speedup"),
        ]
        table.add_row(*cells)
    note = _note(
        "(k/n): seeds that reach uniform's final loss; a seed that never does is censored at "
        "its budget, and 'all ≤ B' bounds the speed-up over all n seeds."
    )
    return [table, note]


def lr_rule_verdict(summaries: Mapping[str, Sequence[Mapping[str, Any]]]) -> Renderables:
    """How the comparison moves between learning-rate rules (``bench --lr-rule both``): the
    rate and speed-up of every strategy under each rule, the leader under each, and whether
    the leader changes."""
    rules = list(summaries)
    table = Table(title="best vs best under each learning-rate rule (speed-up to uniform)")
    table.add_column("strategy")
    for rule in rules:
        table.add_column(f"{rule}: lr", justify="right")
        table.add_column(f"{rule}: speed-up (reached)", justify="right")
    by_rule = {rule: {r["strategy"]: r for r in rows} for rule, rows in summaries.items()}
    for name in by_rule[rules[0]]:
        cells = [name]
        for rule in rules:
            row = by_rule[rule].get(name)
            cells += ["—", "—"] if row is None else [f"{row['lr']:.3g}", fmt_speedup(row)]
        table.add_row(*cells)
    out: Renderables = [table]
    leaders = {rule: leader(rows) for rule, rows in summaries.items()}
    for rule, lead in leaders.items():
        uni = by_rule[rule].get("uniform")
        out.append(
            f"{rule} rule: uniform at lr {fmt(uni['lr'] if uni else None)}; leader "
            + ("none" if lead is None else f"{lead['strategy']} ({fmt_speedup(lead)})")
        )
    out.append(
        rule_verdict({r: (lead["strategy"] if lead else None) for r, lead in leaders.items()})
    )
    return out


def rule_verdict(leaders: Mapping[str, str | None]) -> str:
    """One sentence: does the leader ({rule: strategy or None}) move with the learning-rate
    rule? (The terminal table and the HTML report say it the same way.)"""
    names = list(leaders.values())
    if len(set(names)) == 1:
        return f"the verdict holds under every rule: {names[0] or 'no leader'}"
    moves = ", ".join(f"{n or 'none'} under {rule}" for rule, n in leaders.items())
    return f"the verdict MOVES with the rule: {moves}"


def run_tables(results: Mapping[str, Any]) -> Renderables:
    """``specurate run``: the spectra's exponents, then one line per simulation and training
    part, and the run's notes."""
    table = Table(
        title=f"specurate run: spectral study of {results.get('data_name', 'the built-in data')}"
    )
    for col in ("data", "kernel", "b", "b CI", "a", "a CI", "(a−1)/b"):
        table.add_column(col, justify="right" if col not in ("data", "kernel") else "left")
    for row in results["summary"]:
        table.add_row(
            row["data"],
            row["kernel"],
            fmt(row["b"], ".3f"),
            fmt_ci(row["b_ci"]),
            fmt(row["a"], ".3f"),
            fmt_ci(row["a_ci"]),
            fmt(row["learning_exponent"], ".3f"),
        )
    out: Renderables = [table]
    for part in results["parts"].values():
        if part.get("kind") == "separation":
            out += render_separation(part)
            out += [f"static vs dynamic: {line}" for line in part["verdict"]]
        if part.get("kind") == "simulate":
            rows = {p["claim"].split(",")[0]: p for p in part["paper_vs_measured"]}
            base = rows["baseline loss exponent"]["measured"]
            orc = next(p for p in part["paper_vs_measured"] if p["source"] == "A.3")
            out.append(
                f"simulated on {part['data']} (a={part['measured_a']:.3f}, "
                f"b={part['measured_b']:.3f}): loss exponent {base:.3f} uniform, "
                f"{orc['measured']:.3f} frontier oracle (A.3 predicts {orc['paper']:.3f})"
            )
        if part.get("kind") == "training":
            best = [  # every strategy, with its reached seeds: none is dropped
                f"{r['strategy']} {fmt_speedup(r, spec='.2f')}"
                for r in part["summary"]
                if r["strategy"] != "uniform"
            ]
            out.append(
                f"real training on {part['task']} ({part['budget_passes']:g} passes, "
                f"{part['seeds']} seeds), passes-to-target speed-up over uniform (×): "
                + (", ".join(best) or "none reached uniform's final loss")
            )
            rules = part.get("lr_rules") or {}
            if rules:
                out.append(
                    "  leader (reaches uniform's loss on every seed), by learning-rate rule: "
                    + ", ".join(f"{rule}: {r.get('leader') or 'none'}" for rule, r in rules.items())
                )
    out += [f"note: {note}" for note in results.get("notes", [])]
    return out
