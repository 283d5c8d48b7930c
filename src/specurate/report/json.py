"""Plain-JSON views of results: the machine-readable output of the CLI and of ``specurate run``.

Keys follow ../shared/design.md (``n``, ``d``, ``eigenvalues``, ``b``, ``b_ci``, ``fit_range``,
``a``, ``a_ci`` for spectra; ``C``, ``b``, ``b_w``, ``loewner_upper_ok``, ``max_eig_ratio``,
``k0`` for reweighting). Non-finite numbers become ``null``.
"""

from __future__ import annotations

import enum
import importlib.metadata
import math
import os
import platform
from collections.abc import Mapping
from typing import Any

from specurate._json import jsonable
from specurate.spectrum.estimate import SpectrumReport
from specurate.spectrum.reweight import ReweightReport

#: the packages whose versions a result records (``None``: not installed)
PROVENANCE_PACKAGES = ("specurate", "numpy", "scipy", "torch")


def _version(package: str) -> str | None:
    """The installed version of ``package`` from its metadata (nothing is imported)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _option(value: Any) -> Any:
    """A command option as plain JSON: enums by value, paths and other objects as text."""
    if isinstance(value, enum.Enum):
        return _option(value.value)
    if isinstance(value, Mapping):
        return {str(k): _option(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_option(v) for v in value]
    value = jsonable(value)
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def blas_threads() -> int | None:
    """Threads of the BLAS that numpy calls (threadpoolctl; None if unknown). The
    eigendecompositions run on it, and its thread count can move results in the last digits
    (OpenBLAS 0.3.30, 1 vs 2 threads, ``estimate_spectrum`` with labels): digits, linear —
    b, b_ci and the eigenvalues identical, energies and a within 2e-15 (relative); digits,
    RBF kernel — eigenvalues 1e-12, b 2e-16, b_ci 8e-9, a_ci 2e-7; planted n = 20,000,
    d = 512 — identical. Replicates run single-threaded whatever the setting."""
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    except Exception:  # pragma: no cover - threadpoolctl cannot inspect this process
        return None
    return max((int(p["num_threads"]) for p in pools), default=None)


def provenance(
    seed: int | None, options: Mapping[str, Any], *, command: str | None = None
) -> dict[str, Any]:
    """What produced a result: package versions, Python, the BLAS thread count, the seed and
    the resolved options (every option of the command, defaults included).

    Returns:
        ``{"command", "versions": {specurate, numpy, scipy, torch, python}, "blas_threads",
        "cpu_count", "seed", "options"}``; torch is ``None`` when it is not installed.
    """
    versions: dict[str, str | None] = {p: _version(p) for p in PROVENANCE_PACKAGES}
    versions["python"] = platform.python_version()
    return {
        "command": command,
        "versions": versions,
        "blas_threads": blas_threads(),
        "cpu_count": os.cpu_count(),
        "seed": seed,
        "options": _option(dict(options)),
    }


def spectrum_dict(report: SpectrumReport, *, top: int | None = None) -> dict[str, Any]:
    """JSON view of a :class:`SpectrumReport`; ``top`` limits the listed eigenvalues/energies."""
    f = report.fit
    k = slice(0, top)
    out: dict[str, Any] = {
        "n": report.n,
        "d": report.d,
        "kernel": report.kernel,
        "centered": report.centered,
        "bandwidth": report.bandwidth,
        "eigenvalues": report.eigenvalues[k],
        "b": f.b,
        "b_ci": report.b_ci,
        "b_stderr_regression": f.stderr,
        "b_bootstrap_sd": report.b_bootstrap_sd,
        "alpha": f.alpha,
        "alpha_ci": report.alpha_ci,
        "fit_range": f.fit_range,
        "floor": f.floor,
        "rank_cap": f.cap,
        "r2": f.r2,
        "model_comparison": {
            c.alternative: {
                "loglik_ratio": c.loglik_ratio,
                "p_value": c.p_value,
                "aic_difference": c.aic_difference,
            }
            for c in f.comparisons
        },
        "b_range": report.b_range,
        "b_ci_total": report.b_ci_total,
        "local_slopes": [{"k": kk, "b": bk} for kk, bk in f.local_slopes],
        "slope_drift": f.slope_drift,
        "shape": report.shape,
        "single_power_law": report.single_power_law,
        "shape_note": report.shape_note,
        "bootstrap": report.bootstrap,
        "ci": report.ci,
        "eig_error_bound": report.eig_error_bound,
        "a": None,
        "a_ci": None,
    }
    out.update(report.extras)
    t = report.target
    if t is not None:
        out.update(
            {
                "a": t.a,
                "a_ci": t.a_ci,
                "a_fit_range": t.fit_range,
                "a_binned": t.a_binned,
                "a_range": t.a_range,
                "learning_exponent": t.learning_exponent,
                "learning_exponent_ci": t.learning_exponent_ci,
                "target_energy_total": t.total_energy,
                "energies": t.energies[k],
            }
        )
    return jsonable(out)


def reweight_dict(report: ReweightReport, *, top: int | None = None) -> dict[str, Any]:
    """JSON view of a :class:`ReweightReport`."""
    k = slice(0, top)
    return jsonable(
        {
            "n": report.n,
            "n_kept": report.n_kept,
            "C": report.C,
            "b": report.b,
            "b_ci": report.b_ci,
            "fit_range": report.fit.fit_range,
            "b_w": report.b_w,
            "b_w_ci": report.b_w_ci,
            "fit_range_w": report.fit_w.fit_range,
            "common_range": report.fit_w.fit_range,
            "b_common": report.b_common,
            "b_common_ci": report.b_common_ci,
            "delta_b": report.delta_b,
            "delta_b_ci": report.delta_b_ci,
            "narrowing": report.narrowing,
            "loewner_upper_ok": report.loewner_upper_ok,
            "max_eig_ratio": report.max_eig_ratio,
            "tail_ratio": report.tail_ratio,
            "k0": report.k0,
            "frontier_gain": report.frontier_gain,
            "tolerance": report.tolerance,
            "bootstrap": report.bootstrap,
            "ci_method": report.ci_method,
            "ci": report.ci,
            "eigenvalues": report.eigenvalues[k],
            "eigenvalues_w": report.eigenvalues_w[k],
        }
    )


def trajectory_dict(traj: Any, *, analysis: Any = None) -> dict[str, Any]:
    """JSON view of a simulated :class:`~specurate.dynamics.simulate.Trajectory`.

    With an :class:`~specurate.dynamics.compare.Analysis` it adds the design.md keys
    ``loss_exponent``, ``frontier_exponent`` and ``speedup_at_target`` (plus fit ranges, drift,
    largest weight and the speed-up that weight alone allows).
    """
    out: dict[str, Any] = {
        "policy": traj.policy,
        "params": traj.params,
        "budget": traj.budget,
        "law": traj.law,
        "n_modes": traj.n_modes,
        "tail_closure": traj.closed,
        "kappa_measure": traj.kappa,
        "engine": traj.engine,
        "solver": traj.solver,
        "t": traj.t,
        "compute": traj.compute,
        "loss": traj.loss,
        "k_star": traj.k_star,
        "max_weight": traj.max_weight,
        "valid_until": traj.valid_until,
        "notes": list(traj.notes),
    }
    if traj.span_loss is not None:
        out["out_of_span_loss"] = traj.span_loss
    if analysis is not None:
        out.update(analysis_dict(analysis))
    return jsonable(out)


def analysis_dict(an: Any) -> dict[str, Any]:
    """JSON view of a :class:`~specurate.dynamics.compare.Analysis`."""
    return jsonable(
        {
            "label": an.label,
            "loss_exponent": an.loss.exponent,
            "loss_fit_range": an.loss.t_range,
            "loss_drift": an.loss.drift,
            "loss_fit_stable": an.loss.stable,
            "frontier_exponent": an.frontier.exponent,
            "frontier_fit_range": an.frontier.t_range,
            "frontier_drift": an.frontier.drift,
            "speedup_at_target": an.speedup_at_target,
            "largest_weight": an.max_weight,
            "weight_growth_exponent": an.weight_growth,
            "bound_speedup": an.bound_speedup,
            "final_loss": an.final_loss,
            "final_compute": an.final_compute,
            "exponent_gain_recovered": an.exponent_gain_recovered,
            "time_gain_recovered": an.time_gain_recovered,
            "loss_fit_decades": getattr(an.loss, "decades", math.nan),
            "loss_local_range": list(getattr(an.loss, "local_range", (math.nan, math.nan))),
            "loss_floor": getattr(an.loss, "floor", None),
            "loss_fit_reason": getattr(an.loss, "reason", ""),
            "speedup_valid": dict(getattr(an, "speedup_valid", {})),
            "speedup_reasons": dict(getattr(an, "speedup_reasons", {})),
            "analysis_notes": list(getattr(an, "notes", ())),
        }
    )


def comparison_dict(cmp: Any, *, curves: bool = True) -> dict[str, Any]:
    """JSON view of a :class:`~specurate.dynamics.compare.Comparison`."""
    rows = []
    for an in cmp.rows:
        row = analysis_dict(an)
        row["policy"] = an.policy
        row["params"] = an.params
        tr = cmp.trajectories[an.label]
        if tr.span_loss is not None:
            row["out_of_span_loss_final"] = tr.span_loss[-1]
            row["out_of_span_loss_initial"] = tr.span_loss[0]
        if curves:
            row.update({"t": tr.t, "compute": tr.compute, "loss": tr.loss, "k_star": tr.k_star})
        rows.append(row)
    paper = [
        {
            "claim": p.claim,
            "source": p.source,
            "paper": p.paper,
            "measured": p.measured,
            "agrees": p.agrees,
            "alternative": p.alternative,
            "alternative_formula": p.alternative_formula,
            "alternative_agrees": p.alternative_agrees,
            "tolerance": p.tolerance,
            "note": p.note,
        }
        for p in cmp.paper
    ]
    return jsonable(
        {
            "a": cmp.a,
            "b": cmp.b,
            "budget": cmp.budget,
            "law": cmp.law,
            "n_modes": cmp.n_modes,
            "t_max": cmp.t_max,
            "target_losses": cmp.targets,
            "policies": rows,
            "paper_vs_measured": paper,
            "static_sweep": cmp.static_sweep,
        }
    )
