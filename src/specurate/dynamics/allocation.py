r"""Sampling allocations for mode-local SGD: the exact expected loss and the budget-optimal rule.

Setting (one parameter per mode, fresh samples): every step draws a batch of B examples, each of
mode k with probability q_k (Σ q = 1), and takes one SGD step of rate η on ½ mean (θ_k − y_k)².
Mode k's residual r_k = θ_k − y_k is then multiplied by (1 − η n_k / B) with n_k ~ Bin(B, q_k)
the mode's count in the batch, so (exactly, for fresh independent batches)

    E[r_k²(t + 1)] = d_k(q_k) E[r_k²(t)],   d_k(q) = (1 − η q)² + η² q (1 − q) / B,

and the population loss of a fixed allocation after S steps is L(S) = Σ_k e_k d_k(q_k)^S with
e_k = p_k r_k²(0) the mode's energy (p the data distribution).

The **budget-optimal allocation** for S steps with weights bounded by C minimizes
Σ_k e_k (1 − η q_k)^{2S} subject to Σ q = 1 and 0 ≤ q_k ≤ C p_k (the batch-variance term,
O(η/B) relative, is left out). It is convex and separable; the KKT condition
2Sη e_k (1 − η q_k)^{2S−1} = μ gives

    q_k(μ) = clip((1 − (μ / (2Sη e_k))^{1/(2S−1)}) / η, 0, min(C p_k, 1/η)),

with μ found by root-finding on Σ q(μ) = 1. With C bounded it is the best any static rule
bounded by C can do at that budget (Theorem 1 caps its speed-up at C). With no bound and the
*current* energies as e it is also the greedy dynamic rule: for separable exponential decay the
optimal time allocated to each mode only grows with the budget, so re-solving on the current
energies at every plan follows the optimum of every budget at once.
"""

from __future__ import annotations

import math

import numpy as np

from specurate._validate import check_positive, check_positive_int
from specurate._weights import check_cap
from specurate.errors import SpecurateInputError

__all__ = ["allocation_speedups", "budget_optimal", "expected_loss", "sgd_decay", "steps_to_loss"]


def sgd_decay(q: np.ndarray, lr: float, batch: int) -> np.ndarray:
    r"""(K,) expected per-step factor on each mode's squared residual, d_k = E[(1 − η n_k/B)²].

    Args:
        q: (K,) sampling probabilities (Σ q = 1).
        lr: the SGD rate η (on ½ mean squared error over the batch).
        batch: the batch size B.

    Returns:
        (1 − η q)² + η² q (1 − q) / B, elementwise.
    """
    q = np.asarray(q, dtype=float)
    return (1.0 - lr * q) ** 2 + lr**2 * q * (1.0 - q) / batch


def expected_loss(
    energy: np.ndarray, q: np.ndarray, steps: np.ndarray, *, lr: float, batch: int
) -> np.ndarray:
    r"""Expected population loss L(S) = Σ_k e_k d_k(q_k)^S of a fixed allocation.

    Args:
        energy: (K,) e_k = p_k r_k(0)², the loss of each mode at step 0.
        q: (K,) sampling probabilities.
        steps: (T,) step counts S ≥ 0.
        lr: the SGD rate η.
        batch: the batch size B.

    Returns:
        (T,) the expected loss after each number of steps (exact for fresh batches).
    """
    with np.errstate(divide="ignore"):
        log_d = np.log(sgd_decay(q, lr, batch))
    s = np.asarray(steps, dtype=float)
    out = np.empty(s.shape)
    for i, si in enumerate(s.flat):  # one (K,) pass per step count: memory O(K)
        out.flat[i] = float(np.dot(energy, np.exp(si * log_d)))
    return out


def steps_to_loss(
    energy: np.ndarray, q: np.ndarray, target: float, *, lr: float, batch: int
) -> float:
    """The (real-valued) step count S at which :func:`expected_loss` falls to ``target``.

    L(S) is a sum of decaying exponentials, so it is monotone in S; S is found by bisection on
    ln S to relative precision 1e-9. Returns 0 when L(0) ≤ target and ``inf`` when the loss
    never gets there (modes with q = 0 keep their energy).
    """
    l0 = float(np.sum(energy))
    if l0 <= target:
        return 0.0
    with np.errstate(divide="ignore"):
        log_d = np.log(sgd_decay(q, lr, batch))
    floor = float(np.sum(energy[log_d >= 0]))
    if floor >= target:
        return math.inf

    def loss(s: float) -> float:
        return float(np.dot(energy, np.exp(s * log_d)))

    lo, hi = 0.0, 1.0
    while loss(hi) > target:
        lo, hi = hi, hi * 2
    while hi - lo > 1e-9 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if loss(mid) > target else (lo, mid)
    return hi


def budget_optimal(
    energy: np.ndarray,
    p: np.ndarray,
    *,
    lr: float,
    steps: int,
    cap: float | None = None,
) -> np.ndarray:
    r"""(K,) the allocation q minimizing Σ e_k (1 − η q_k)^{2S} with Σ q = 1, q ≤ C p.

    Args:
        energy: (K,) e_k ≥ 0, each mode's current loss (p_k times its squared residual).
        p: (K,) the data distribution (Σ p = 1); only used for the bound C p_k.
        lr: the SGD rate η > 0; q_k ≤ 1/η (one step never overshoots a mode's target: beyond
            it (1 − η q)^{2S} grows again).
        steps: the budget S ≥ 1 in steps.
        cap: the weight bound C ≥ 1 on q_k / p_k, or None for no bound.

    Returns:
        q with Σ q = 1 (to 1e-12 relative): zero on modes too small to pay for, the rest by the
        KKT condition in the module docstring. With a bound, modes at q = C p_k are capped.
    """
    e = np.asarray(energy, dtype=float)
    p = np.asarray(p, dtype=float)
    if e.shape != p.shape or e.ndim != 1 or e.size == 0:
        raise SpecurateInputError("energy and p must be (K,) arrays of the same shape")
    if not (np.all(np.isfinite(e)) and np.all(e >= 0) and np.any(e > 0)):
        raise SpecurateInputError("energies must be finite, ≥ 0 and not all 0")
    check_positive("lr", lr)
    steps = check_positive_int("steps", steps)
    check_cap(cap)
    upper = np.full(e.size, 1.0 / lr) if cap is None else np.minimum(cap * p, 1.0 / lr)
    live = e > 0
    if float(upper[live].sum()) <= 1.0:  # every mode that matters at its bound
        q = np.where(live, upper, 0.0)
        # the rest of the batch goes where the weight bound C still has room (Σ C p = C ≥ 1,
        # so it always fits); past 1/η a step overshoots, which no allocation avoids here
        room = np.full(e.size, 1.0) if cap is None else cap * p - q
        room, rest = np.maximum(room, 0.0), 1.0 - float(q.sum())
        if rest <= 1e-15 or not room.sum() > 0:
            return q / q.sum()
        return q + room * rest / room.sum()
    expo = 2.0 * steps - 1.0
    with np.errstate(divide="ignore"):
        level = np.log(2.0 * steps * lr * e)  # ln(2Sη e_k): -inf where e_k = 0

    def alloc(log_mu: float) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            q = (1.0 - np.exp(np.minimum((log_mu - level) / expo, 0.0))) / lr
        return np.clip(np.nan_to_num(q, nan=0.0), 0.0, upper)

    from scipy.optimize import brentq

    top = float(level.max())  # Σ q(top) = 0 < 1
    lo = top - expo * 40.0  # 1 − e^{-40}: every live mode at its bound, Σ q > 1
    # Σ q(μ) − 1 is continuous and decreasing in ln μ, positive at lo and −1 at top
    log_mu = brentq(lambda m: float(alloc(m).sum()) - 1.0, lo, top, xtol=1e-12, rtol=1e-14)
    q = alloc(log_mu)
    return q / q.sum()


def allocation_speedups(
    energy: np.ndarray,
    p: np.ndarray,
    *,
    lr: float,
    batch: int,
    budgets: np.ndarray,
    caps: tuple[float, ...] = (2.0, 4.0, 16.0),
) -> dict[str, object]:
    r"""What curation can buy on K modes (or groups) of known mass and energy, in closed form.

    For each budget S: the expected loss of uniform sampling (q = p), of the budget-optimal
    static rule bounded by each C in ``caps`` and of the unbounded one — which is also what the
    greedy dynamic rule reaches, re-planned on the current losses (module docstring) — and each
    rule's speed-up: the steps uniform needs to reach the rule's loss at S, over S
    (:func:`steps_to_loss`). Theorem 1 caps a bounded rule's speed-up at C; the unbounded rule's
    largest weight max_k q_k/p_k is the bound a static rule would need to match it.

    Args:
        energy: (K,) e_k ≥ 0, each mode's loss at step 0 (e.g. 1/K each for a test set that
            counts every group equally).
        p: (K,) the data distribution over modes (> 0, Σ p = 1).
        lr: the SGD rate η > 0.
        batch: the batch size B ≥ 1.
        budgets: (T,) step budgets S ≥ 1.
        caps: the bounds C ≥ 1 of the static rules.

    Returns:
        ``{"budgets": [S…], "uniform_loss": [L…], "rules": {name: {"loss": […],
        "speedup": […], "largest_weight": […]}}}`` with names ``"static C=c"`` and
        ``"dynamic (unbounded)"``; a speed-up is ``inf`` where uniform never gets there.
    """
    e = np.asarray(energy, dtype=float)
    p = np.asarray(p, dtype=float)
    if e.shape != p.shape or e.ndim != 1 or e.size == 0:
        raise SpecurateInputError("energy and p must be (K,) arrays of the same shape")
    if not (np.all(np.isfinite(p)) and np.all(p > 0) and abs(float(p.sum()) - 1.0) < 1e-9):
        raise SpecurateInputError("p must be a probability vector with every entry > 0")
    batch = check_positive_int("batch", batch)
    steps = [check_positive_int("budget", int(s)) for s in np.asarray(budgets).ravel()]
    for c in caps:
        check_cap(c)
    rules: dict[str, dict[str, list[float]]] = {}
    uniform = [float(expected_loss(e, p, np.array([s]), lr=lr, batch=batch)[0]) for s in steps]
    names = [(f"static C={c:g}", float(c)) for c in caps] + [("dynamic (unbounded)", None)]
    for name, cap in names:
        row: dict[str, list[float]] = {"loss": [], "speedup": [], "largest_weight": []}
        for s in steps:
            q = budget_optimal(e, p, lr=lr, steps=s, cap=cap)
            loss = float(expected_loss(e, q, np.array([s]), lr=lr, batch=batch)[0])
            row["loss"].append(loss)
            row["speedup"].append(steps_to_loss(e, p, loss, lr=lr, batch=batch) / s)
            row["largest_weight"].append(float(np.max(q / p)))
        rules[name] = row
    return {"budgets": steps, "uniform_loss": uniform, "rules": rules}
