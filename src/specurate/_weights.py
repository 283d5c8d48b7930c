"""Bounded sampling weights: the water-filling cap shared by the simulator and the strategies.

Theorem 1's setting is weights 0 ≤ w ≤ C with a fixed budget. Every bounded weighting in
specurate — mode weights of the simulator's policies, example weights of the curation
strategies and of the sample-level mode — is clipped by the one exact rule in
:func:`waterfill`.
"""

from __future__ import annotations

import math

import numpy as np

from specurate._validate import check_positive, check_real, check_unit
from specurate.errors import SpecurateInputError


def check_cap(cap: float | None) -> None:
    """A weight bound C must be ≥ 1 (weights have mean 1) or None (unbounded)."""
    if cap is not None:
        check_real("cap (a bound on mean-1 weights)", cap, lo=1.0)


def waterfill(log_w: np.ndarray, mass: np.ndarray, cap: float, budget: float) -> np.ndarray:
    r"""Weights min(C, θ w) with Σ p min(C, θ w) = budget (exact water-filling, in log space).

    Sorting w descending, the capped set is a prefix; for m capped items
    θ(m) = (budget − C Σ_{i<m} p_i) / Σ_{i≥m} p_i w_i, and the answer is the first m with
    θ(m) w_(m) ≤ C. Log weights keep learned modes (w ~ e^{-2g}) from underflowing to 0.
    """
    order = np.argsort(-log_w, kind="stable")
    lw = log_w[order]
    with np.errstate(divide="ignore"):
        a = np.log(mass[order]) + lw
    suffix = np.logaddexp.accumulate(a[::-1])[::-1]
    capped = np.concatenate([[0.0], np.cumsum(mass[order])[:-1]])
    rem = budget - cap * capped
    with np.errstate(divide="ignore", invalid="ignore"):
        log_theta = np.where(rem > 0, np.log(np.maximum(rem, 1e-300)) - suffix, np.inf)
        ok = (rem > 0) & (log_theta + lw <= math.log(cap) + 1e-12)
    if not ok.any():  # even all at the cap the open entries cannot hold the budget
        return np.where(np.isneginf(log_w), 0.0, cap)
    lt = log_theta[int(np.argmax(ok))]
    with np.errstate(over="ignore"):
        return np.minimum(cap, np.exp(np.minimum(lt + log_w, 700.0)))


def bounded_weights(
    scores: np.ndarray, *, temperature: float = 1.0, cap: float | None = None, mix: float = 0.0
) -> np.ndarray:
    r"""Example weights with mean 1 from non-negative scores: w ∝ s^{1/T}, mixed, capped.

    w = (1 − mix)·s^{1/T}/mean(s^{1/T}) + mix, then clipped at ``cap`` with the excess
    water-filled onto the others, so mean(w) = 1 and max(w) ≤ cap (Theorem 1's C).
    """
    s = np.asarray(scores, dtype=float)
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise SpecurateInputError("scores must be finite and ≥ 0")
    check_positive("temperature", temperature)
    check_unit("mix", mix)
    with np.errstate(divide="ignore"):
        lw = np.log(s) / temperature
    top = lw.max()
    if not np.isfinite(top):  # every score is 0: uniform weights
        lw, top = np.zeros_like(s), 0.0
    elif cap is not None and mix == 0:
        # cap in log space: a tiny score (s^{1/T} below the float range) keeps a positive
        # weight when the others at the cap cannot hold the mean, instead of underflowing to 0
        check_cap(cap)
        return waterfill(lw, np.full(s.size, 1.0 / s.size), cap, 1.0)
    w = np.exp(lw - top)
    w = (1 - mix) * (w / w.mean()) + mix
    if cap is not None:
        w = cap_weights(w, cap)
    return w


def cap_weights(w: np.ndarray, cap: float) -> np.ndarray:
    r"""Clip mean-1 weights at ``cap`` and water-fill the excess: min(C, θ w) with mean 1.

    :func:`waterfill` with equal mass 1/n per entry and budget 1.
    """
    check_cap(cap)
    w = np.asarray(w, dtype=float)
    mean = w.mean()
    if mean > 0 and w.max() <= cap * mean:  # nothing to clip: waterfill's θ is 1/mean exactly
        return w / mean
    with np.errstate(divide="ignore"):
        return waterfill(np.log(w), np.full(w.size, 1.0 / w.size), cap, 1.0)
