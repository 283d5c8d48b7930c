r"""Static vs dynamic curation where the theory applies exactly: does dynamic change the exponent?

**Task.** K modes with frequencies p_k ∝ k^−b and energies e_k = p_k y_k² ∝ k^−a (normalized so
the loss starts at 1). The model is truly mode-local — a ``torch.nn.Embedding(K, 1)``, one
parameter θ_k per mode — trained by SGD (rate η) on ½ mean (θ_k − y_k)² over batches of B
**fresh** samples: every step draws B modes from the strategy's sampling distribution q
(Σ q = 1), so rare modes are present without storing 10⁷ examples. The population loss
L = Σ_k p_k (θ_k − y_k)² is computed exactly from the table. A strategy's weight on mode k is
w_k = q_k / p_k; Theorem 1 concerns rules with w ≤ C fixed in time.

**Strategies** (every dynamic rule sees only the training forward pass's losses, ℓ̂_k = the loss
of mode k when last sampled, unless named oracle):

* ``uniform`` — q = p.
* ``static C=c`` — for every budget S, the **budget-optimal** static allocation bounded by C
  (:func:`specurate.dynamics.allocation.budget_optimal` with the exact energies and S): no
  static rule with w ≤ C does better at that budget, so this is the static envelope, tuned with
  information no practitioner has. One run per budget.
* ``balanced`` — static balancing (w ∝ 1/p, water-filled under the cap) at the cap the greedy
  rule reached by the end — the control "static at the dynamic rule's final cap".
* ``greedy`` — dynamic: at every plan, the budget-optimal allocation for the plan's length on
  the current energy estimates p_k ℓ̂_k, with no bound (the greedy solution of a separable
  problem tracks the optimum of every budget; see the allocation module). A mode never
  sampled is estimated at the mean first loss seen so far.
* ``oracle`` — ``greedy`` on the exact current losses (free information).
* ``frontier`` — the library's :class:`~specurate.curation.FrontierSampler` rule at the mode
  level: ω_k = max(u_k^2, floor) with u_k² = ℓ̂_k / ℓ̂_k(0), capped by water-filling at
  C(s) = C₀ (1 + s / s₀)^γ, s the step and s₀ the smallest budget.
* ``frontier-fixed`` — the same rule with γ = 0 (a dynamic rule with a bounded weight: Theorem
  1's argument still caps its speed-up at C₀).
* ``loss`` — loss-proportional: w_k ∝ ℓ̂_k, capped at the same growing C(s).

Plans are made at steps 0, 1, 2, … with gaps growing as 2 % of the step (≈ 115 plans per
decade of steps). Speed-up at budget S: the steps uniform needs to reach the strategy's loss
at S, divided by S; uniform's expected loss is exact in closed form
(:func:`~specurate.dynamics.allocation.expected_loss`) and the real uniform run is checked
against it. Exponents: least squares slope of ln L on ln s over [S_min, S_max] per seed (the
static envelope: over its budgets), t intervals over seeds.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specurate import _rng
from specurate._files import read_checked_json, write_checked_json
from specurate._json import jsonable
from specurate._progress import note, progress_iter
from specurate._validate import (
    check_choice,
    check_positive_int,
    check_real,
    check_reals,
    check_seed,
)
from specurate._weights import waterfill
from specurate.curation.base import last_occurrence
from specurate.curation.frontier import frontier_weights
from specurate.dynamics.allocation import budget_optimal, expected_loss, steps_to_loss
from specurate.dynamics.fit import ols_slope
from specurate.errors import SpecurateInputError

__all__ = [
    "DYNAMIC",
    "SeparationConfig",
    "SeparationResult",
    "run_separation",
]

#: the dynamic rules, in report order
DYNAMIC = ("greedy", "oracle", "frontier", "frontier-fixed", "loss")
_PLAN_GAP = 0.02  # plans every 2 % of the step count
_POINTS_PER_DECADE = 12  # logged loss points per decade of steps


@dataclass(frozen=True)
class SeparationConfig:
    """Settings of the static-vs-dynamic separation experiment (see the module docstring).

    Attributes:
        modes: K, the number of modes (one parameter each).
        a: energy exponent, e_k ∝ k^−a (a > 1).
        b: frequency exponent, p_k ∝ k^−b (b > 1, so the tail's mass is finite).
        batch: B, fresh samples per step.
        lr: SGD rate η on ½ mean squared error (uniform's embedding is stable up to
            ≈ 2/p₁; the budget-optimal rules keep η q_k ≤ 1).
        budgets: step budgets S (increasing, ≥ 2), spanning ≥ 1 decade; the last is every
            trajectory's length.
        caps: the bounds C of the static envelopes (each ≥ 1).
        cap0: C₀ of the frontier and loss rules' growing bound.
        growth: γ of the growing bound C(s) = C₀ (1 + s / s₀)^γ.
        floor: the frontier rule's least weight.
        noise: standard deviation of label noise (units of √L(0)); 0 for exact targets.
        model: ``"embedding"`` (one parameter per mode: the theory's setting, uniform's loss in
            closed form) or ``"mlp"`` (one-hot input → ``hidden`` ReLU units → one output: the
            shared read-out couples the modes; speed-ups are then against the real uniform
            runs, and a loss below uniform's last is censored at its budget).
        hidden: the MLP's width.
        seeds: seeds per strategy (``seed … seed + seeds − 1``).
        seed: the first seed.
    """

    modes: int = 100_000
    a: float = 2.0
    b: float = 1.5
    batch: int = 4096
    lr: float = 1.0
    budgets: tuple[int, ...] = (100, 316, 1000, 3162, 10_000)
    caps: tuple[float, ...] = (4.0, 16.0, 64.0, 256.0)
    cap0: float = 4.0
    growth: float = 0.5
    floor: float = 1e-4
    noise: float = 0.0
    model: str = "embedding"
    hidden: int = 64
    seeds: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        budgets = tuple(check_positive_int("budget", s) for s in self.budgets)
        if len(budgets) < 2 or any(x >= y for x, y in itertools.pairwise(budgets)):
            raise SpecurateInputError(f"budgets must increase, at least two: got {budgets}")
        if budgets[-1] < 10 * budgets[0]:
            raise SpecurateInputError(
                f"budgets must span at least one decade to fit an exponent: got {budgets}"
            )
        if check_positive_int("modes", self.modes) < 2:
            raise SpecurateInputError("modes must be ≥ 2")
        fields: dict[str, Any] = {
            "modes": int(self.modes),
            "a": check_real("a", self.a, lo=1.0, lo_open=True),
            "b": check_real("b", self.b, lo=1.0, lo_open=True),
            "batch": check_positive_int("batch", self.batch),
            "lr": check_real("lr", self.lr, lo=0.0, lo_open=True),
            "budgets": budgets,
            "caps": tuple(check_reals("caps", self.caps, lo=1.0)),
            "cap0": check_real("cap0", self.cap0, lo=1.0),
            "growth": check_real("growth", self.growth, lo=0.0),
            "floor": check_real("floor", self.floor, lo=0.0, lo_open=True, hi=1.0),
            "noise": check_real("noise", self.noise, lo=0.0),
            "model": check_choice("model", self.model, ("embedding", "mlp")),
            "hidden": check_positive_int("hidden", self.hidden),
            "seeds": check_positive_int("seeds", self.seeds),
            "seed": check_seed(self.seed),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def problem(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p, y, e): frequencies, targets y_k = √(e_k / p_k) and energies, Σ e = 1."""
        k = np.arange(1, self.modes + 1, dtype=float)
        p = k**-self.b
        p /= p.sum()
        e = k**-self.a
        e /= e.sum()
        return p, np.sqrt(e / p), e

    def strategies(self) -> tuple[str, ...]:
        """Every strategy name, trajectories first, then the static envelopes."""
        caps = (*self.caps, math.inf)
        return ("uniform", *DYNAMIC, "balanced", *(_static_name(c) for c in caps))

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values."""
        return {
            name: getattr(self, name)
            for name in (
                "modes",
                "a",
                "b",
                "batch",
                "lr",
                "budgets",
                "caps",
                "cap0",
                "growth",
                "floor",
                "noise",
                "model",
                "hidden",
                "seeds",
                "seed",
            )
        }


def _static_name(cap: float) -> str:
    return f"static C={cap:g}"


def static_allocation(
    name: str, energy: np.ndarray, p: np.ndarray, *, lr: float, steps: int
) -> np.ndarray:
    """(K,) the allocation of static strategy ``name`` ("static C=c", c may be inf) at a budget
    of ``steps``: :func:`~specurate.dynamics.allocation.budget_optimal` bounded by c."""
    cap = float(name.split("=", 1)[1])
    return budget_optimal(energy, p, lr=lr, steps=steps, cap=None if math.isinf(cap) else cap)


def plan_steps(total: int) -> list[int]:
    """Steps at which plans are made: 0, 1, 2, … with gaps ⌊2 % of the step⌋ (≥ 1)."""
    out, s = [0], 0
    while True:
        s += max(1, int(s * _PLAN_GAP))
        if s >= total:
            return out
        out.append(s)


def log_steps(budgets: Sequence[int]) -> list[int]:
    """Steps at which the loss is logged: 12 per decade from 1 to the last budget, plus every
    budget (so every budget's loss is measured, not interpolated)."""
    top = budgets[-1]
    grid = np.unique(np.round(np.logspace(0, math.log10(top), _POINTS_PER_DECADE * 6)))
    return sorted({int(x) for x in grid if x <= top} | set(budgets))


# ---------------------------------------------------------------------------------- training
class _Rule:
    """A strategy's allocation at every plan (numpy; the model's state enters as losses)."""

    def __init__(self, name: str, config: SeparationConfig, p: np.ndarray, e: np.ndarray):
        self.name, self.config, self.p, self.e = name, config, p, e
        self.first = np.full(p.size, np.nan)  # ℓ̂_k(0), first observed loss
        self.last = np.full(p.size, np.nan)  # ℓ̂_k, last observed loss
        self.static: np.ndarray | None = None

    def observe(self, modes: np.ndarray, losses: np.ndarray) -> None:
        """Record the training forward pass's losses (last occurrence of each mode wins)."""
        pos = last_occurrence(modes)
        m, ell = modes[pos], losses[pos]
        new = np.isnan(self.first[m])
        self.first[m[new]] = ell[new]
        self.last[m] = ell

    def _estimates(self) -> np.ndarray:
        seen = ~np.isnan(self.last)
        prior = float(np.nanmean(self.first)) if seen.any() else 1.0
        return np.where(seen, self.last, prior)

    def _cap(self, step: int) -> float:
        c = self.config
        growth = 0.0 if self.name == "frontier-fixed" else c.growth
        return c.cap0 * (1.0 + step / c.budgets[0]) ** growth

    def allocation(
        self, step: int, length: int, exact: np.ndarray | None, budget: int
    ) -> np.ndarray:
        """(K,) q for the plan starting at ``step`` and lasting ``length`` steps; ``exact`` is
        the current exact loss (θ_k − y_k)² of every mode (only the oracle reads it)."""
        c, p = self.config, self.p
        if self.name == "uniform":
            return p
        if self.static is not None:
            return self.static
        if self.name.startswith("static C="):
            self.static = static_allocation(self.name, self.e, p, lr=c.lr, steps=budget)
            return self.static
        if self.name in ("greedy", "oracle"):
            ell = exact if exact is not None else self._estimates()
            return budget_optimal(p * ell, p, lr=c.lr, steps=length)
        if self.name in ("frontier", "frontier-fixed", "loss"):
            ell = self._estimates()
            if self.name == "loss":
                omega = ell
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    u2 = np.where(self.first > 0, ell / self.first, 1.0)
                u2 = np.nan_to_num(u2, nan=1.0)
                omega = frontier_weights(u2, soft=True, power=2.0, kappa=1.0, floor=c.floor)
            omega = np.maximum(omega, 1e-300)
            w = waterfill(np.log(omega / float(p @ omega)), p, self._cap(step), 1.0)
            return p * w / float(p @ w)
        raise SpecurateInputError(f"unknown strategy {self.name!r}")


def _model(config: SeparationConfig, seed: int) -> tuple[Any, Any]:
    """(module, f) with f(modes) the (m,) outputs: a zero-initialized embedding, or a seeded
    one-hot MLP (embedding of width ``hidden`` → ReLU → shared linear read-out)."""
    import torch

    k = config.modes
    if config.model == "embedding":
        emb = torch.nn.Embedding(k, 1, sparse=True, dtype=torch.float64)
        torch.nn.init.zeros_(emb.weight)
        return emb, lambda idx: emb(idx)[:, 0]
    with torch.random.fork_rng():
        torch.manual_seed(_rng.stream("experiments.separation", seed, 99).integers(2**62))
        emb = torch.nn.Embedding(k, config.hidden, sparse=True, dtype=torch.float64)
        torch.nn.init.normal_(emb.weight, std=1.0)
        out = torch.nn.Linear(config.hidden, 1, dtype=torch.float64)  # torch's default init
        torch.nn.init.zeros_(out.bias)
    net = torch.nn.Sequential(emb, torch.nn.ReLU(), out)
    return net, lambda idx: net(idx)[:, 0]


def _train(
    name: str, config: SeparationConfig, seed: int, budget: int, balanced_cap: float | None
) -> dict[str, Any]:
    """One run of ``budget`` steps: the logged curve, the largest weight, wall-clock."""
    import torch

    p, y, e = config.problem()
    rule = _Rule(name, config, p, e)
    if name == "balanced":
        assert balanced_cap is not None
        with np.errstate(divide="ignore"):
            rule.static = p * waterfill(-np.log(p), p, max(balanced_cap, 1.0), 1.0)
    rng = _rng.stream("experiments.separation", seed, config.strategies().index(name))
    model, f = _model(config, seed)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr)
    y_t = torch.from_numpy(y)
    p_t = torch.from_numpy(p)
    every = torch.arange(config.modes)
    plans = [*plan_steps(budget), budget]
    marks = {s for s in log_steps(config.budgets) if s <= budget} | {budget}
    steps_out: list[int] = []
    loss_out: list[float] = []
    wall_out: list[float] = []
    w_max = 0.0
    start = time.perf_counter()

    def exact() -> np.ndarray:
        with torch.no_grad():
            return ((f(every) - y_t) ** 2).numpy()

    diverged = False
    for i, s0 in enumerate(plans[:-1]):
        length = plans[i + 1] - s0
        look = exact() if name == "oracle" else None
        if look is not None and not np.all(np.isfinite(look)):
            diverged = True  # some mode's output overflowed between batches
            break
        q = rule.allocation(s0, length, look, budget)
        w_max = max(w_max, float(np.max(q / p)))
        cq = np.cumsum(q)
        for s in range(s0, s0 + length):
            modes = np.minimum(np.searchsorted(cq, rng.random(config.batch) * cq[-1]), p.size - 1)
            idx = torch.from_numpy(modes)
            target = y_t[idx]
            if config.noise > 0:
                target = target + config.noise * torch.from_numpy(rng.standard_normal(config.batch))
            per = (f(idx) - target) ** 2
            if not bool(torch.isfinite(per).all()):
                diverged = True  # the rate is too large for this allocation: the run ends
                break
            opt.zero_grad(set_to_none=True)
            (0.5 * per.mean()).backward()
            opt.step()
            rule.observe(modes, per.detach().numpy())
            if s + 1 in marks:
                with torch.no_grad():
                    loss = float((p_t * (f(every) - y_t) ** 2).sum())
                if not math.isfinite(loss):
                    diverged = True
                    break
                steps_out.append(s + 1)
                loss_out.append(loss)
                wall_out.append(time.perf_counter() - start)
        if diverged:
            break
    for m in sorted(x for x in marks if not steps_out or x > steps_out[-1]):
        steps_out.append(m)  # a diverged run's loss is infinite from then on
        loss_out.append(math.inf)
        wall_out.append(time.perf_counter() - start)
    return {
        "strategy": name,
        "seed": seed,
        "budget": budget,
        "steps": steps_out,
        "loss": loss_out,
        "wall": wall_out,
        "max_weight": w_max,
        "wall_s": time.perf_counter() - start,
        "diverged": diverged,
    }


# ---------------------------------------------------------------------------------- analysis
def _slope(x: Sequence[float], y: Sequence[float]) -> float:
    """−d ln y / d ln x by least squares on the finite positive points (NaN with < 2: the
    last decade of a half-decade budget grid has two)."""
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(ya) & (ya > 0) & (xa > 0)
    if ok.sum() < 2:
        return math.nan
    return -ols_slope(np.log(xa[ok]), np.log(ya[ok]))


def _ci(values: Sequence[float], geometric: bool = False) -> dict[str, float]:
    from specurate.bench.metrics import geo_ci, mean_ci

    m, lo, hi = (geo_ci if geometric else mean_ci)(values)
    return {"value": m, "lo": lo, "hi": hi}


@dataclass(frozen=True)
class SeparationResult:
    """What :func:`run_separation` measured (``to_dict`` is the JSON).

    Attributes:
        config: the settings.
        runs: every run (strategy, seed, budget, logged steps and losses, largest weight w =
            q/p used, wall-clock seconds).
        speedup: strategy → per budget {value, lo, hi} geometric mean speed-up with 90 % t CI.
        exponent: strategy → {value, lo, hi}, the fitted loss exponent α (L ∝ S^−α) over all
            budgets.
        exponent_late: the same over the last decade of budgets only (where Theorem 1 says a
            bounded rule is back at uniform's exponent).
        growth: strategy → {value, lo, hi}, slope of ln speed-up on ln S over the last decade
            of budgets (0: flat, as Theorem 1 says every bounded rule ends).
        max_weight: strategy → geometric mean of the largest w each run used.
        sgd_check: largest relative gap between the real uniform run and its closed form.
        wall_speedup: strategy → per budget {value, lo, hi}: uniform's seconds per step (measured)
            times the steps it needs, over the strategy's measured seconds to that budget.
        unbound: static strategy → the budgets where its bound does not bind (its run there is
            the unbounded rule's own run: the same allocation).
        crossings: C → the first budget from which ``greedy``'s speed-up CI lies above C — by
            Theorem 1 above every static rule bounded by C, however tuned (None: not within
            the budgets).
        projected: C → the budget where ``greedy``'s speed-up would reach C if it kept growing
            at its last-decade rate (None where already crossed or not growing).
        verdict: one sentence per finding.
    """

    config: SeparationConfig
    runs: tuple[dict[str, Any], ...]
    speedup: dict[str, list[dict[str, float]]]
    exponent: dict[str, dict[str, float]]
    exponent_late: dict[str, dict[str, float]]
    growth: dict[str, dict[str, float]]
    max_weight: dict[str, float]
    wall_speedup: dict[str, list[dict[str, float]]]
    unbound: dict[str, list[int]]
    sgd_check: float
    crossings: dict[str, int | None]
    projected: dict[str, float | None]
    verdict: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN as null)."""
        return jsonable(
            {
                "config": self.config.to_dict(),
                "theory": {
                    "uniform_exponent": (self.config.a - 1) / self.config.b,
                    "frontier_exponent": self.config.a - 1,
                },
                "speedup": self.speedup,
                "exponent": self.exponent,
                "exponent_late": self.exponent_late,
                "growth": self.growth,
                "max_weight": self.max_weight,
                "wall_speedup": self.wall_speedup,
                "unbound": self.unbound,
                "sgd_check": self.sgd_check,
                "crossings": self.crossings,
                "projected": self.projected,
                "verdict": list(self.verdict),
                "runs": list(self.runs),
            }
        )


def _loss_at(run: Mapping[str, Any], step: int) -> float:
    return float(run["loss"][run["steps"].index(step)])


def analyse(config: SeparationConfig, runs: Sequence[Mapping[str, Any]]) -> SeparationResult:
    """Speed-ups, exponents, growth and verdict from finished runs (see the module docstring)."""
    p, _, e = config.problem()
    budgets = config.budgets
    last = [b for b in budgets if b >= budgets[-1] / 10]
    by: dict[str, list[Mapping[str, Any]]] = {}
    for r in runs:
        by.setdefault(str(r["strategy"]), []).append(r)
    reach = _uniform_steps(config, by.get("uniform", []), p, e)
    speedup: dict[str, list[dict[str, float]]] = {}
    exponent: dict[str, dict[str, float]] = {}
    exponent_late: dict[str, dict[str, float]] = {}
    growth: dict[str, dict[str, float]] = {}
    max_weight: dict[str, float] = {}
    for name in config.strategies():
        rs = by.get(name, [])
        if not rs:
            continue
        seeds = sorted({int(r["seed"]) for r in rs})
        per_seed: dict[int, list[float]] = {}  # seed -> speed-up per budget
        loss_seed: dict[int, list[float]] = {}  # seed -> loss per budget
        fits: list[float] = []
        late_fits: list[float] = []
        for s in seeds:
            mine = [r for r in rs if int(r["seed"]) == s]
            if name.startswith("static C="):
                at = {int(r["budget"]): r for r in mine}
                losses = [_loss_at(at[b], b) for b in budgets]
                xs, ys = list(budgets), losses
            else:
                (r,) = mine
                losses = [_loss_at(r, b) for b in budgets]
                pts = [(t, v) for t, v in zip(r["steps"], r["loss"], strict=True)]
                pts = [(t, v) for t, v in pts if budgets[0] <= t <= budgets[-1] and v > 0]
                xs, ys = [t for t, _ in pts], [v for _, v in pts]
            loss_seed[s] = losses
            per_seed[s] = [
                reach(L) / b if math.isfinite(L) else math.nan  # NaN: diverged before b
                for L, b in zip(losses, budgets, strict=True)
            ]
            fits.append(_slope(xs, ys))
            late = [(x, y) for x, y in zip(xs, ys, strict=True) if x >= last[0]]
            late_fits.append(_slope([x for x, _ in late], [y for _, y in late]))
        speedup[name] = []
        for j, b in enumerate(budgets):
            vals = [per_seed[s][j] for s in seeds if math.isfinite(loss_seed[s][j])]
            diverged = len(seeds) - len(vals)  # counted, never dropped silently
            censored = sum(not math.isfinite(v) for v in vals)
            # a loss below uniform's last is reached by uniform after more than its budget:
            # the speed-up is then bounded below by budget_max / b (and says so)
            point = _ci([v if math.isfinite(v) else budgets[-1] / b for v in vals], True)
            if any(v == 0 for v in vals):  # worse than uniform's start: the geometric mean is 0
                point = {"value": 0.0, "lo": math.nan, "hi": math.nan}
            speedup[name].append({**point, "censored": censored, "diverged": diverged})
        exponent[name] = _ci(fits)
        exponent_late[name] = _ci(late_fits)
        idx = [budgets.index(b) for b in last]
        growth[name] = _ci(
            [-_slope([budgets[j] for j in idx], [per_seed[s][j] for j in idx]) for s in seeds]
        )
        max_weight[name] = _ci([float(r["max_weight"]) for r in rs], geometric=True)["value"]
    sgd_check = _sgd_check(config, by.get("uniform", []), p, e)
    crossings: dict[str, int | None] = {}
    projected: dict[str, float | None] = {}
    g = speedup.get("greedy")
    for cap in config.caps:
        hit = (
            None
            if g is None
            else next((b for b, v in zip(budgets, g, strict=True) if v["lo"] > cap), None)
        )
        crossings[f"{cap:g}"] = hit
        rate = growth.get("greedy", {}).get("value", math.nan)
        projected[f"{cap:g}"] = (
            budgets[-1] * (cap / g[-1]["value"]) ** (1.0 / rate)
            if g is not None and hit is None and rate > 0
            else None
        )
    wall_speedup = _wall_speedups(config, by, speedup)
    result = SeparationResult(
        config=config,
        runs=tuple(dict(r) for r in runs),
        speedup=speedup,
        exponent=exponent,
        exponent_late=exponent_late,
        growth=growth,
        max_weight=max_weight,
        wall_speedup=wall_speedup,
        unbound={
            name: sorted({int(r["budget"]) for r in rs if r.get("same_as")})
            for name, rs in by.items()
            if name.startswith("static C=") and name != "static C=inf"
        },
        sgd_check=sgd_check,
        crossings=crossings,
        projected=projected,
        verdict=(),
    )
    return SeparationResult(**{**result.__dict__, "verdict": tuple(separation_verdict(result))})


def _wall_at(run: Mapping[str, Any], step: int) -> float:
    return float(run["wall"][run["steps"].index(step)])


def _wall_speedups(
    config: SeparationConfig,
    by: Mapping[str, Sequence[Mapping[str, Any]]],
    speedup: Mapping[str, Sequence[Mapping[str, float]]],
) -> dict[str, list[dict[str, float]]]:
    """Wall-clock speed-ups: uniform's measured s/step × the steps it needs (speed-up × S),
    over the strategy's own measured seconds to S (planning cost included), per seed."""
    uni = {int(r["seed"]): r for r in by.get("uniform", [])}
    out: dict[str, list[dict[str, float]]] = {}
    for name, rs in by.items():
        row = []
        for j, b in enumerate(config.budgets):
            vals = [
                _uniform_wall(uni[int(r["seed"])], speedup[name][j]["value"] * b) / _wall_at(r, b)
                for r in rs
                if int(r["seed"]) in uni and b in r["steps"]
            ]
            row.append(_ci(vals, geometric=True))
        out[name] = row
    return out


def _uniform_wall(run: Mapping[str, Any], steps: float) -> float:
    """Uniform's measured seconds to ``steps`` (interpolated on its log; past its end,
    extrapolated at its rate over the last half of the run)."""
    t, w = np.asarray(run["steps"], float), np.asarray(run["wall"], float)
    if steps <= t[-1]:
        return float(np.interp(steps, t, w))
    half = int(np.searchsorted(t, t[-1] / 2))
    rate = (w[-1] - w[half]) / max(t[-1] - t[half], 1.0)
    return float(w[-1] + rate * (steps - t[-1]))


def _uniform_steps(
    config: SeparationConfig, runs: Sequence[Mapping[str, Any]], p: np.ndarray, e: np.ndarray
) -> Any:
    """L ↦ the steps uniform needs to reach loss L: exact in closed form for the embedding;
    for the MLP interpolated (log-log) on the real uniform runs' geometric mean curve (its
    running minimum), ``inf`` below its last loss (censored at the budget)."""
    if config.model == "embedding":
        return lambda loss: steps_to_loss(e, p, loss, lr=config.lr, batch=config.batch)
    if not runs:
        return lambda loss: math.nan
    steps = np.asarray(runs[0]["steps"], dtype=float)
    curve = np.exp(np.mean([np.log(r["loss"]) for r in runs], axis=0))
    low = np.minimum.accumulate(curve)

    def reach(loss: float) -> float:
        if loss >= low[0]:
            return float(steps[0])
        if loss < low[-1]:
            return math.inf
        j = int(np.argmax(low <= loss))  # first logged step at or below the loss
        if low[j - 1] == low[j]:
            return float(steps[j])
        f = (math.log(loss) - math.log(low[j - 1])) / (math.log(low[j]) - math.log(low[j - 1]))
        return float(math.exp(math.log(steps[j - 1]) + f * math.log(steps[j] / steps[j - 1])))

    return reach


def _sgd_check(
    config: SeparationConfig, runs: Sequence[Mapping[str, Any]], p: np.ndarray, e: np.ndarray
) -> float:
    """Largest relative gap between real uniform runs (mean over seeds) and the closed form,
    at the budgets."""
    if not runs or config.model != "embedding":
        return math.nan  # the MLP has no closed form
    steps = np.asarray(config.budgets)
    real = np.mean([[_loss_at(r, int(s)) for s in steps] for r in runs], axis=0)
    exact = expected_loss(e, p, steps, lr=config.lr, batch=config.batch)
    return float(np.max(np.abs(real / exact - 1.0)))


def separation_verdict(result: SeparationResult) -> list[str]:
    """Plain sentences: Theorem 1 at every C, the dynamic rules' growth, the crossings."""
    c, sp, out = result.config, result.speedup, []
    top = len(c.budgets) - 1
    ratios = [
        sp[_static_name(cap)][j]["value"] / cap
        for cap in c.caps
        if _static_name(cap) in sp
        for j in range(top + 1)
    ]
    if ratios:
        worst = max(ratios)
        what = (
            "no budget-optimal static rule exceeded its bound C"
            if c.model == "embedding"
            else "no static rule (allocations solved for the mode-local dynamics) exceeded its "
            "bound C against the real uniform runs"
        )
        if worst > 1.01:
            what = f"a static rule exceeded its bound C by {worst:.2f}×: Theorem 1 is violated"
        out.append(f"Theorem 1: {what} (largest speed-up / C = {worst:.3f}).")
    if "greedy" in sp:
        g = sp["greedy"]
        trend = "grows" if g[top]["value"] > g[0]["value"] else "does not grow"
        out.append(
            f"The greedy dynamic rule's speed-up {trend} with the budget: "
            f"{g[0]['value']:.3g}× at {c.budgets[0]} steps, {g[top]['value']:.3g}× at "
            f"{c.budgets[top]} (largest weight {result.max_weight['greedy']:.0f}; no bound)."
        )
        beaten = [k for k, v in result.crossings.items() if v is not None]
        if beaten:
            out.append(
                "By Theorem 1 it then beats every static rule bounded by "
                + ", ".join(f"C = {k} (from {result.crossings[k]} steps)" for k in beaten)
                + ", however the static rule is tuned."
            )
        for k, v in result.projected.items():
            if result.crossings[k] is None:
                when = f"≈ {v:.2g} steps at its last-decade growth" if v else "not in sight"
                out.append(f"It stays below C = {k} within these budgets (crossing {when}).")
        inf = sp.get(_static_name(math.inf))
        if inf is not None:
            ratio = min(x["value"] / y["value"] for x, y in zip(g, inf, strict=True))
            if ratio >= 0.9:
                out.append(
                    "At every budget it does at least "
                    f"{ratio:.2f}× as well as the static rule tuned to that budget with exact "
                    "energies and no bound: one rule, no budget known in advance."
                )
            else:
                out.append(
                    f"At some budget it does only {ratio:.2g}× as well as the static rule "
                    "tuned to that budget with exact energies and no bound."
                )
    ex = result.exponent
    if "uniform" in ex and "greedy" in ex:
        out.append(
            f"Loss exponent α: uniform {ex['uniform']['value']:.3f} (theory (a−1)/b = "
            f"{(c.a - 1) / c.b:.3f}), greedy {ex['greedy']['value']:.3f} "
            f"[{ex['greedy']['lo']:.3f}, {ex['greedy']['hi']:.3f}] (theory a−1 = {c.a - 1:g})."
        )
    return out


def _cached(path: Path | None, key: dict[str, Any], echo: bool) -> dict[str, Any] | None:
    """A finished run from the cache, or None: absent, or not to be trusted — torn, edited,
    written by another version or for other settings (``key``; said in a log line) — or not
    a run: it is redone."""
    if path is None:
        return None
    found = read_checked_json(path, key=key)
    if found.problem is not None:
        note(f"cache: {path.name} cannot be trusted ({found.problem}); running it again", echo=echo)
    run = found.data
    keys = {"strategy", "seed", "budget", "steps", "loss", "wall", "max_weight", "wall_s"}
    if not isinstance(run, dict) or not keys <= run.keys() or len(run["steps"]) != len(run["loss"]):
        return None
    return run


def run_separation(
    config: SeparationConfig, *, progress: bool = False, cache: str | Path | None = None
) -> SeparationResult:
    """Train every strategy on every seed (static envelopes at every budget) and analyse.

    Args:
        config: the settings.
        progress: show progress on stderr (and in the active log file either way).
        cache: folder for one JSON file per finished run; a rerun skips them (resume).

    Returns:
        The :class:`SeparationResult`.
    """
    folder = None if cache is None else Path(cache)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    top = config.budgets[-1]
    seeds = range(config.seed, config.seed + config.seeds)
    jobs = [(n, s, top) for s in seeds for n in ("uniform", *DYNAMIC)]
    jobs += [(n, s, top) for s in seeds for n in ("balanced",)]
    jobs += [(_static_name(math.inf), s, b) for s in seeds for b in config.budgets]
    jobs += [(_static_name(c), s, b) for s in seeds for c in config.caps for b in config.budgets]
    p, _, e = config.problem()
    unbounded_w = {  # the largest weight the unbounded budget-optimal rule uses, per budget
        b: float(np.max(static_allocation("static C=inf", e, p, lr=config.lr, steps=b) / p))
        for b in config.budgets
    }
    runs: list[dict[str, Any]] = []
    for name, s, budget in progress_iter(jobs, "separation: runs", enabled=progress):
        cap = float(name.split("=", 1)[1]) if name.startswith("static C=") else None
        if cap is not None and not math.isinf(cap) and unbounded_w[budget] <= cap * (1 + 1e-9):
            # the bound does not bind: the same allocation as the unbounded rule, same run
            same = next(
                r
                for r in runs
                if r["strategy"] == "static C=inf" and r["seed"] == s and r["budget"] == budget
            )
            runs.append({**same, "strategy": name, "same_as": "static C=inf"})
            continue
        path = None if folder is None else folder / f"{name.replace(' ', '_')}-{s}-{budget}.json"
        key = {"config": dataclasses.asdict(config), "strategy": name, "seed": s, "budget": budget}
        run = _cached(path, key, progress)
        if run is None:
            w_cap = None
            if name == "balanced":
                w_cap = next(
                    r["max_weight"] for r in runs if r["strategy"] == "greedy" and r["seed"] == s
                )
            run = _train(name, config, s, budget, w_cap)
            if path is not None:
                write_checked_json(path, run, key=key)
        runs.append(run)
    return analyse(config, runs)
