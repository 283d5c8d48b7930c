"""``specurate simulate``: exact mode-space learning dynamics under a curation policy, or every
policy at once (``--compare``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from specurate.cli._common import (
    JsonOpt,
    SeedOpt,
    check_out_dir,
    check_out_file,
    emit_json,
    guard,
    load_data,
    out_console,
)
from specurate.errors import SpecurateInputError
from specurate.report.style import FIGURE_SUFFIXES


class BudgetName(StrEnum):
    operator = "operator"
    mass = "mass"


Budget = Literal["operator", "mass"]


def _budget(name: BudgetName) -> Budget:
    return "mass" if name is BudgetName.mass else "operator"


def parse_knob(text: str) -> tuple[str, Any]:
    """``name=value`` with value parsed as none/bool/int/float, else kept as text."""
    if "=" not in text:
        raise SpecurateInputError(f"--set expects name=value, got {text!r}")
    name, raw = (p.strip() for p in text.split("=", 1))
    low = raw.lower()
    if low in ("none", "null"):
        return name.replace("-", "_"), None
    if low in ("true", "false"):
        return name.replace("-", "_"), low == "true"
    for conv in (int, float):
        try:
            return name.replace("-", "_"), conv(raw)
        except ValueError:
            pass
    return name.replace("-", "_"), raw


def policy_from_options(policy: str, kappa: str | None, knobs: list[str]) -> Any:
    """The policy named ``policy`` with ``--kappa`` and ``--set`` knobs applied."""
    from specurate.dynamics.policies import make_policy

    values = dict(parse_knob(k) for k in knobs)
    if kappa is not None:
        if policy not in ("oracle", "probe"):
            raise SpecurateInputError(f"--kappa applies to the oracle and the probe, not {policy}")
        if kappa == "grow":
            if policy != "oracle":
                raise SpecurateInputError("--kappa grow applies to the oracle only")
            values.setdefault("kappa", 3.0)
            values.setdefault("growth", 1.0)
        else:
            try:
                values["kappa"] = float(kappa)
            except ValueError:
                raise SpecurateInputError(
                    f"--kappa must be a number or 'grow', got {kappa!r}"
                ) from None
    return make_policy(policy, **values)


def simulate(
    a: Annotated[float, typer.Option(help="target energy exponent: λ_k w_k² = k^-a (a > 1)")] = 2.0,
    b: Annotated[float, typer.Option(help="spectral exponent: λ_k = k^-b (b > 0)")] = 1.5,
    policy: Annotated[
        str,
        typer.Option(
            help="baseline, static, oracle, soft-oracle, self-score, probe, ensemble, "
            "synthetic-teacher or synthetic-self"
        ),
    ] = "oracle",
    budget: Annotated[
        BudgetName,
        typer.Option(help="operator: Σ ω_k λ_k = Σ λ_k; mass: equal example mass per mode"),
    ] = BudgetName.operator,
    modes: Annotated[int, typer.Option(help="number of modes N (≥ 10)")] = 1_000_000,
    t_min: Annotated[float, typer.Option(help="first time (passes)")] = 1.0,
    t_max: Annotated[float, typer.Option(help="last time (passes)")] = 1e8,
    kappa: Annotated[
        str | None, typer.Option(help="oracle/probe threshold κ, or 'grow' for κ(t) = 3 + ln(1+t)")
    ] = None,
    knob: Annotated[
        list[str] | None,
        typer.Option("--set", help="policy knob as name=value (repeatable), e.g. --set noise=0.5"),
    ] = None,
    alpha: Annotated[float, typer.Option(help="learning law g = c (ωλ)^α t^β: α")] = 1.0,
    beta: Annotated[float, typer.Option(help="learning law: β")] = 1.0,
    data: Annotated[
        str | None,
        typer.Option(help="simulate the measured spectrum of this data (file or built-in name)"),
    ] = None,
    labels: Annotated[str | None, typer.Option(help="labels for --data")] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="run every policy; write a plot and the tables")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="--compare: write compare.png and compare.json into this folder (without it "
            "--compare writes no file)"
        ),
    ] = None,
    samples: Annotated[
        bool,
        typer.Option(help="--compare: also train on Gaussian vs cluster samples (sample level)"),
    ] = True,
    plot: Annotated[
        Path | None, typer.Option(help="write the L(t), k*(t) plot here (.png/.svg/.pdf)")
    ] = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Exact mode-space learning dynamics under a curation policy, against the baseline."""
    from specurate.dynamics.modes import LearningLaw

    with guard():
        law = LearningLaw(alpha=alpha, beta=beta)
        check_out_file(plot, "--plot", FIGURE_SUFFIXES)
        if compare:
            if out is not None:
                check_out_dir(out, files=("compare.png", "compare.json"))
            _compare(
                a, b, _budget(budget), modes, t_min, t_max, law, seed, out, plot, as_json, samples
            )
            return
        if out is not None:
            raise SpecurateInputError("--out applies to --compare; use --plot for one policy")
        result, trajectories, title = _one_policy(
            a,
            b,
            policy,
            _budget(budget),
            modes,
            t_min,
            t_max,
            kappa,
            knob or [],
            law,
            data,
            labels,
            seed,
            as_json,
        )
    if plot is not None:
        from specurate.report.plots import plot_dynamics, save

        save(plot_dynamics(trajectories, title=title), plot)
        result["plot"] = str(plot)
    if as_json:
        emit_json(result)
        return
    from specurate.report.tables import simulation_tables

    for item in simulation_tables(result):
        out_console.print(item)


def _one_policy(
    a: float,
    b: float,
    policy: str,
    budget: Budget,
    modes: int,
    t_min: float,
    t_max: float,
    kappa: str | None,
    knobs: list[str],
    law: Any,
    data: str | None,
    labels: str | None,
    seed: int,
    quiet: bool,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(JSON result, {label: trajectory}, plot title) of one policy against the baseline."""
    from specurate.dynamics.compare import analyze
    from specurate.dynamics.fit import default_targets
    from specurate.dynamics.modes import modes_from_spectrum, power_law_modes
    from specurate.dynamics.policies import Baseline
    from specurate.dynamics.simulate import simulate as run_simulation
    from specurate.report.json import jsonable, trajectory_dict
    from specurate.spectrum.estimate import estimate_spectrum

    pol = policy_from_options(policy, kappa, knobs)
    if data is not None:
        x, y, _ = load_data(data, labels, want_labels=True, seed=seed)
        if y is None:
            raise SpecurateInputError("--data needs labels (--labels or a built-in data set)")
        report = estimate_spectrum(x, y, ci_method="none", seed=seed, progress=not quiet)
        problem = modes_from_spectrum(report, budget=budget)
    else:
        problem = power_law_modes(a, b, n_modes=modes, budget=budget)
    kw = dict(law=law, t_min=t_min, t_max=t_max, seed=seed)
    base = run_simulation(problem, Baseline(), **kw)
    traj = base if pol.name == "baseline" else run_simulation(problem, pol, **kw)
    targets = default_targets(base)
    an = analyze(traj, base, targets)
    base_an = analyze(base, base, targets)
    result = trajectory_dict(traj, analysis=an)
    result["baseline"] = {
        "loss_exponent": base_an.loss.exponent,
        "frontier_exponent": base_an.frontier.exponent,
        "loss": base.loss,
        "compute": base.compute,
    }
    result["problem"] = {"a": problem.a, "b": problem.b, "source": problem.source}
    if problem.a is not None and problem.b is not None:
        result["paper"] = {
            "baseline_loss_exponent": (problem.a - 1) * law.rho / problem.b,
            "baseline_frontier_exponent": law.rho / problem.b,
            "oracle_frontier_exponent": law.rho,
            "oracle_loss_exponent_A3": problem.a * law.rho / problem.b,
        }
    return jsonable(result), {"baseline": base, pol.name: traj}, problem.source


def _compare(
    a: float,
    b: float,
    budget: Budget,
    n_modes: int,
    t_min: float,
    t_max: float,
    law: Any,
    seed: int,
    out: Path | None,
    plot: Path | None,
    as_json: bool,
    samples: bool,
) -> None:
    """Every policy at once; files only where asked: ``out`` (a checked folder, created and
    locked) gets compare.png and compare.json, ``plot`` (a checked file) the figure."""
    import contextlib

    from specurate._files import lock_folder
    from specurate.dynamics.compare import compare as run_compare
    from specurate.report.tables import compare_tables

    n = min(n_modes, 200_000)
    with contextlib.ExitStack() as stack:
        if out is not None:
            out.mkdir(exist_ok=True)  # the tool's own folder (its parent was checked)
            stack.enter_context(lock_folder(out))
        result = _compare_locked(
            run_compare(
                a,
                b,
                mass_modes=min(1_000_000, max(100_000, 5 * n)),
                budget=budget,
                n_modes=n,
                t_min=t_min,
                t_max=min(t_max, 1e7),
                law=law,
                seed=seed,
                progress=not as_json,
            ),
            a,
            b,
            seed,
            out,
            plot,
            samples,
        )
    if as_json:
        emit_json(result)
        return
    for item in compare_tables(result):
        out_console.print(item)
    written = [f"plot: {plot}"] if plot is not None else []
    if out is not None:
        written += [f"plot: {out / 'compare.png'}", f"results: {out / 'compare.json'}"]
    if written:
        out_console.print("   ".join(written), markup=False)


def _compare_locked(
    cmp: Any,
    a: float,
    b: float,
    seed: int,
    out: Path | None,
    plot: Path | None,
    samples: bool,
) -> dict[str, Any]:
    """The comparison's JSON result, with its figure and JSON written where asked."""
    import json

    from specurate._files import atomic_write_text
    from specurate.report.json import comparison_dict
    from specurate.report.plots import plot_compare, save

    result = comparison_dict(cmp)
    for path in (plot, None if out is None else out / "compare.png"):
        if path is not None:
            save(plot_compare(cmp), path)
            result["plot"] = str(path)  # the folder's copy when both are asked for
    if samples:
        from specurate.dynamics.policies import SoftOracle
        from specurate.dynamics.samples import compare_families

        # lr_factor 0.1: GD steps small enough to track gradient flow (see dynamics.samples)
        result["sample_level"] = compare_families(SoftOracle(), a=a, b=b, lr_factor=0.1, seed=seed)
    if out is not None:
        atomic_write_text(out / "compare.json", json.dumps(result, indent=1))
    return result
