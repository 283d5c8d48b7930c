r"""The learning frontier on real data without known modes: eigen-directions of the inputs.

Real data sets do not come with their modes. The closest measurable stand-in is the top r
eigen-directions of the training inputs' covariance, Σ v_k = λ_k v_k: for a linear model they
are exactly the modes of gradient descent, for a network a proxy. This experiment

1. measures the spectrum of the training inputs (linear kernel, with the labels: b, a and the
   gradient-flow prediction of the frontier's growth, k*(t) ∝ t^{1/b}, and of the loss,
   L ∝ t^{−(a−1)/b});
2. trains the task's model under uniform sampling, the frontier sampler on those directions
   (``frontier-eigen``, fed signed residuals of the training batches), the same rule with free
   exact residuals of every example (``oracle-eigen``: its ceiling) and loss-proportional
   sampling, with the usual comparison loop (:func:`~specurate.bench.compare.compare_strategies`:
   tuned rates, censored seeds, wall-clock);
3. records at every evaluation the residual energy of the TEST set on each direction,
   E_k(t) = Σ_o (Σ_i z_ik r_io)² / n² with z_ik = v_kᵀ(x_i − μ)/√λ_k the whitened projection and
   r the signed residual, and counts the measured frontier
   k*(t) = #{k ≤ r : E_k(t) ≤ e^{−2κ} E_k(t₀)} (t₀ the first evaluation);
4. fits k*(t) ∝ t^ρ per run (least squares on ln k* vs ln passes over the last decade of the
   budget, points with 1 ≤ k* < r: past the take-off of the first pass) and sets ρ of uniform
   training next to the prediction 1/b.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from specurate._json import jsonable
from specurate._validate import (
    check_names,
    check_positive_int,
    check_real,
    check_seed,
)
from specurate.bench.metrics import frontier_counts, leader, mean_ci, summarize
from specurate.bench.presets import STRATEGY_PRESETS
from specurate.bench.result import RunResult
from specurate.bench.tasks import Task
from specurate.dynamics.fit import ols_slope
from specurate.errors import SpecurateInputError

__all__ = [
    "EIGEN_STRATEGIES",
    "EigenConfig",
    "EigenResult",
    "check_strategies",
    "eigen_directions",
    "measured_frontier",
    "run_eigen",
]

#: the strategies trained, in report order
EIGEN_STRATEGIES = ("uniform", "frontier-eigen", "oracle-eigen", "loss")


def eigen_directions(x: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top ``rank`` eigen-directions of the centred covariance of ``x`` (n, d).

    Returns:
        (mean (d,), W (d, r), λ (r,)): whitened projections are z = (x − mean) W, with
        W = V / √λ for the eigenvectors V of the r largest eigenvalues λ > 0 (descending).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise SpecurateInputError(f"x must be (n ≥ 2, d), got shape {x.shape}")
    rank = check_positive_int("rank", rank)
    mean = x.mean(axis=0)
    cov = np.cov(x - mean, rowvar=False, bias=True).reshape(x.shape[1], x.shape[1])
    lam, vec = np.linalg.eigh(cov)
    order = np.argsort(lam)[::-1]
    lam, vec = lam[order], vec[:, order]
    keep = lam > lam[0] * 1e-10
    r = min(rank, int(keep.sum()))
    return mean, vec[:, :r] / np.sqrt(lam[:r]), lam[:r]


def measured_frontier(run: RunResult, kappa: float = 1.0) -> tuple[np.ndarray, np.ndarray] | None:
    """(passes, k*) of a run recorded with directions: k*(t) = number of directions whose test
    residual energy fell to ≤ e^{−2κ} of its value at the first evaluation
    (:func:`~specurate.bench.metrics.frontier_counts`). None with fewer than 2 evaluations
    that have ``direction_energy``."""
    counts = frontier_counts(run, "direction_energy", kappa)
    return counts if counts is not None and counts[0].size >= 2 else None


def frontier_exponent(passes: np.ndarray, k: np.ndarray, rank: int, start: float = 0.0) -> float:
    """ρ of k* ∝ passes^ρ: least squares on the points with passes ≥ ``start`` and
    1 ≤ k* < rank (NaN with fewer than 3)."""
    ok = (k >= 1) & (k < rank) & (passes > 0) & (passes >= start)
    if ok.sum() < 3 or len(set(passes[ok])) < 3:
        return math.nan
    return ols_slope(np.log(passes[ok]), np.log(k[ok]))


def check_strategies(names: Sequence[str]) -> tuple[str, ...]:
    """Built-in strategy names, distinct, ``uniform`` (the baseline) first."""
    checked = check_names("strategies", names, STRATEGY_PRESETS)
    if checked[0] != "uniform":
        raise SpecurateInputError("strategies must start with uniform (the baseline)")
    return checked


@dataclass(frozen=True)
class EigenConfig:
    """Settings of the eigen-direction frontier experiment (see the module docstring).

    Attributes:
        task: the task (draw ``seed``) every run trains on.
        rank: r, the number of eigen-directions (≤ the input dimension).
        strategies: names of built-in strategies; ``uniform`` first.
        budget_passes: compute per run (backward + scoring passes).
        seeds: seeds per strategy.
        seed: the first seed (and the tuning seed).
        kappa: a direction is learned when its energy fell by e^{−2κ}.
        make_task: ``make_task(seed) -> Task``, the draws learning rates are tuned on (None:
            the task itself).
        lr: one learning rate for every strategy, or None to tune each.
        eval_points: evaluations per run (log-spaced).
    """

    task: Task
    rank: int = 32
    strategies: Sequence[str] = EIGEN_STRATEGIES
    budget_passes: float = 5.0
    seeds: int = 3
    seed: int = 0
    kappa: float = 1.0
    make_task: Any = None
    lr: float | None = None
    eval_points: int = 30

    def __post_init__(self) -> None:
        names = check_strategies(self.strategies)
        fields = {
            "rank": check_positive_int("rank", self.rank),
            "strategies": names,
            "budget_passes": check_real("budget_passes", self.budget_passes, lo=0, lo_open=True),
            "seeds": check_positive_int("seeds", self.seeds),
            "seed": check_seed(self.seed),
            "kappa": check_real("kappa", self.kappa, lo=0, lo_open=True),
            "lr": None if self.lr is None else check_real("lr", self.lr, lo=0, lo_open=True),
            "eval_points": check_positive_int("eval_points", self.eval_points),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class EigenResult:
    """What :func:`run_eigen` measured (``to_dict`` is the JSON).

    Attributes:
        task: the task's description.
        rank: directions used.
        spectrum: measured b, its CI and shape, a, its CI, and the predictions 1/b (frontier
            growth) and (a − 1)/b (loss exponent) of gradient flow on a linear model.
        summary: :func:`~specurate.bench.metrics.summarize` rows (speed-ups with censored
            seeds, wall-clock, loss exponents).
        frontier: strategy → {rho, rho_lo, rho_hi, final_k}: the measured frontier's growth
            exponent (90 % t CI over seeds) and its mean final k*.
        runs: every run (curves with ``direction_energy``).
        verdict: plain sentences.
    """

    task: str
    rank: int
    budget_passes: float
    seeds: int
    kappa: float
    spectrum: dict[str, Any]
    summary: tuple[dict[str, Any], ...]
    frontier: dict[str, dict[str, float]]
    runs: tuple[RunResult, ...]
    verdict: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN as null)."""
        return jsonable(
            {
                "experiment": "eigen_frontier",
                "task": self.task,
                "rank": self.rank,
                "budget_passes": self.budget_passes,
                "seeds": self.seeds,
                "kappa": self.kappa,
                "spectrum": self.spectrum,
                "summary": list(self.summary),
                "frontier": self.frontier,
                "verdict": list(self.verdict),
                "runs": [r.to_dict() for r in self.runs],
            }
        )


def _spectrum(task: Task, seed: int) -> dict[str, Any]:
    from specurate.spectrum.estimate import estimate_spectrum

    rep = estimate_spectrum(np.asarray(task.x_train), np.asarray(task.y_train), seed=seed)
    b = float(rep.fit.b)
    out: dict[str, Any] = {
        "b": b,
        "b_ci": list(rep.b_ci),
        "b_ci_total": list(rep.b_ci_total),
        "fit_range": list(rep.fit.fit_range),
        "shape": rep.shape,
        "predicted_rho": 1.0 / b if b > 0 else math.nan,
        "predicted_rho_ci": [1.0 / x if x > 0 else math.nan for x in rep.b_ci[::-1]],
    }
    if rep.target is not None:
        out.update(
            a=float(rep.target.a),
            a_ci=list(rep.target.a_ci),
            predicted_loss_exponent=float(rep.target.learning_exponent),
        )
    return out


def run_eigen(config: EigenConfig, *, progress: bool = False, cache: Any = None) -> EigenResult:
    """Measure the spectrum, train every strategy with the directions recorded, analyse."""
    from specurate.bench.compare import compare_strategies

    task = config.task
    mean, w, _ = eigen_directions(np.asarray(task.x_train), config.rank)
    rank = w.shape[1]
    z_test = (np.asarray(task.x_test, dtype=np.float64) - mean) @ w
    spectrum = _spectrum(task, config.seed)
    runs = compare_strategies(
        task,
        config.strategies,
        budget_passes=config.budget_passes,
        seeds=config.seeds,
        seed=config.seed,
        lr=config.lr,
        make_task=config.make_task,
        directions=z_test,
        cache=cache,
        cache_prefix="eigen-",
        progress=progress,
        label=f"eigen-direction frontier on {task.name}",
    )
    frontier: dict[str, dict[str, float]] = {}
    for name in config.strategies:
        rhos, finals = [], []
        for r in runs:
            if r.strategy != name:
                continue
            measured = measured_frontier(r, config.kappa)
            if measured is None:
                continue
            # the last decade of the budget: past the first pass's take-off, where the
            # frontier's growth is a rate (the loss exponent uses the late points too)
            rhos.append(frontier_exponent(*measured, rank, start=config.budget_passes / 10))
            finals.append(float(measured[1][-1]))
        m, lo, hi = mean_ci(rhos)
        frontier[name] = {
            "rho": m,
            "rho_lo": lo,
            "rho_hi": hi,
            "final_k": float(np.mean(finals)) if finals else math.nan,
        }
    summary = tuple(summarize(runs))
    result = EigenResult(
        task=task.description,
        rank=rank,
        budget_passes=config.budget_passes,
        seeds=config.seeds,
        kappa=config.kappa,
        spectrum=spectrum,
        summary=summary,
        frontier=frontier,
        runs=tuple(runs),
        verdict=(),
    )
    return EigenResult(**{**result.__dict__, "verdict": tuple(eigen_verdict(result))})


def eigen_verdict(result: EigenResult) -> list[str]:
    """Plain sentences: the measured frontier vs the prediction, the speed-ups, the ceiling."""
    sp, fr, out = result.spectrum, result.frontier, []
    u = fr.get("uniform", {})
    if math.isfinite(u.get("rho", math.nan)):
        ci = (
            f" [{u['rho_lo']:.2f}, {u['rho_hi']:.2f}]"
            if math.isfinite(u.get("rho_lo", math.nan))
            else ""
        )
        out.append(
            f"Under uniform training the measured frontier on the top {result.rank} input "
            f"eigen-directions grows as passes^{u['rho']:.2f}{ci} over the last decade of the "
            f"budget (k* = {u['final_k']:.0f} at the end); gradient flow on a linear "
            f"model predicts 1/b = {sp['predicted_rho']:.2f} from the measured b = {sp['b']:.3f} "
            f"({sp['shape']})."
        )
    else:
        out.append(
            f"Under uniform training fewer than 3 evaluations of the budget's last decade have "
            f"1 ≤ k* < {result.rank}: the frontier's growth cannot be fitted at this budget."
        )
    rows = {r["strategy"]: r for r in result.summary}
    for name in ("frontier-eigen", "oracle-eigen", "loss"):
        r = rows.get(name)
        if r is None:
            continue
        k, n = r.get("n_reached"), r.get("n_compared")
        value = r.get("speedup")
        reached = value is not None and math.isfinite(value)
        txt = f"{value:.2f}×" if reached else "— (no seed reaches uniform's final loss)"
        out.append(f"{name}: passes-to-uniform's-loss speed-up {txt} ({k}/{n} seeds).")
    best = leader([r for r in result.summary if r["strategy"] != "oracle-eigen"])
    if best is not None:
        out.append(
            f"Fastest practical strategy that reaches uniform's loss on every seed: "
            f"{best['strategy']} ({best['speedup']:.2f}×)."
        )
    else:
        out.append("No practical strategy reaches uniform's final loss on every seed.")
    return out
