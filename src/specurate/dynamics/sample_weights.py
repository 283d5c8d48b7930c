r"""Mode weights and example weights in sample mode: turning one into the other, and measuring
what the optimizer realizes (theory.md §4, "key subtlety").

A policy asks for mode weights ω_k; real curation weighs examples.
:func:`example_weights_from_modes` carries ω through each example's mode content,
:func:`example_weights_from_loss` scores examples by their own loss, and :func:`realized_weights`
reads the mode weights the optimizer actually sees off the weighted operator
T_w = Xᵀ diag(w) X / n; :func:`weight_mismatch` compares the two.
:func:`oracle_mode_weights` is the hard frontier oracle on the true state.
"""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from specurate import _rng
from specurate._validate import check_positive, check_unit
from specurate._weights import bounded_weights, check_cap
from specurate.dynamics.modes import Modes
from specurate.dynamics.policies import normalize
from specurate.errors import SpecurateInputError

__all__ = [
    "WEIGHT_FLOOR",
    "diagonal_ratio",
    "draw_loss_weights",
    "example_weights_from_loss",
    "example_weights_from_modes",
    "leakage",
    "oracle_mode_weights",
    "realized_weights",
    "weight_mismatch",
]

#: Floor added to realized and intended weights before taking logs in the weight mismatch
#: (weights are on a mean-one scale: 0.01 is 1 % of the average weight, so a zero weight that
#: is realized as zero counts as a match and one realized as 0.5 as a mismatch of ln 51).
WEIGHT_FLOOR = 1e-2


def _check_weights(w: np.ndarray, n: int) -> np.ndarray:
    w = np.asarray(w, dtype=float).ravel()
    if w.size != n:
        raise SpecurateInputError(f"got {w.size} example weights for {n} examples")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise SpecurateInputError("example weights must be finite and ≥ 0")
    if not w.sum() > 0:
        raise SpecurateInputError("example weights are all zero")
    return w


def _mean_one(w: np.ndarray) -> np.ndarray:
    mean = float(w.mean())
    if not mean > 0:
        raise SpecurateInputError("the example weights are all zero")
    return w / mean


def example_weights_from_modes(x: np.ndarray, omega: np.ndarray) -> np.ndarray:
    r"""Example weights that carry mode weights ω through each example's mode content.

    w_i ∝ Σ_k ω_k s_ik with s_ik = x_ik² / Σ_j x_ij² (the share of example i's squared norm in
    mode k, in the population eigenbasis), normalized to mean 1. For mode-local (one-hot)
    examples w_i ∝ ω_{k(i)} exactly; for Gaussian examples it is a mixture over all modes.

    Args:
        x: (n, d) inputs in the population eigenbasis.
        omega: (d,) mode weights ≥ 0.

    Returns:
        (n,) weights with mean 1.
    """
    x = np.asarray(x, dtype=float)
    omega = np.asarray(omega, dtype=float).ravel()
    if x.ndim != 2 or omega.size != x.shape[1]:
        raise SpecurateInputError(f"got {omega.size} mode weights for inputs of shape {x.shape}")
    if not np.all(np.isfinite(omega)) or np.any(omega < 0):
        raise SpecurateInputError("mode weights must be finite and ≥ 0")
    sq = x**2
    norm = sq.sum(axis=1)
    if np.any(norm <= 0):
        raise SpecurateInputError("every example needs a non-zero input to carry a mode weight")
    return _mean_one((sq @ omega) / norm)


def draw_loss_weights(
    x: np.ndarray,
    y: np.ndarray,
    theta: np.ndarray,
    rng: np.random.Generator,
    temperature: float,
    noise: float,
    mix: float,
    cap: float | None,
) -> np.ndarray:
    ell = (x @ theta - y) ** 2
    if not np.any(ell > 0):  # nothing left to learn: uniform
        return np.ones(x.shape[0])
    score = ell
    if noise > 0:
        score = score * np.exp(noise * rng.standard_normal(score.size))
    return bounded_weights(score, temperature=temperature, cap=cap, mix=mix)


def example_weights_from_loss(
    x: np.ndarray,
    y: np.ndarray,
    theta: np.ndarray,
    *,
    temperature: float = 1.0,
    noise: float = 0.0,
    mix: float = 0.0,
    cap: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    r"""Self-scoring at the example level: w_i ∝ (ℓ_i ε_i)^{1/T}, ℓ_i = (x_i·θ − y_i)².

    ε_i = exp(σ z_i), z_i ~ N(0, 1), is score noise (σ = ``noise``); weights are normalized to
    mean 1, mixed with a fraction ``mix`` of uniform, w ← (1 − mix) w + mix, and clipped at
    ``cap`` (water-filling, mean kept at 1). All ℓ_i = 0 gives uniform weights. On clusters
    ℓ_i = e_k u_k² / p_k for k = k(i), the per-example loss of the mode-space
    :class:`~specurate.dynamics.policies.SelfScore`.

    Args:
        x: (n, d) inputs.
        y: (n,) targets.
        theta: (d,) parameters.
        temperature: T > 0.
        noise: σ ≥ 0.
        mix: in [0, 1].
        cap: ≥ 1 or None.
        seed: seed of the score noise.

    Returns:
        (n,) weights with mean 1.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    theta = np.asarray(theta, dtype=float).ravel()
    if x.ndim != 2 or y.size != x.shape[0] or theta.size != x.shape[1]:
        raise SpecurateInputError(
            f"inputs {x.shape}, targets ({y.size},) and theta ({theta.size},) do not match"
        )
    check_positive("temperature", temperature)
    check_positive("noise", noise, allow_zero=True)
    check_unit("mix", mix)
    check_cap(cap)
    rng = _rng.stream("root", seed)
    return draw_loss_weights(x, y, theta, rng, temperature, noise, mix, cap)


@threadpool_limits.wrap(limits=1, user_api="blas")
def realized_weights(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    r"""Mode weights the optimizer sees, read off the weighted empirical operator.

    T_w = Xᵀ diag(w) X / n (d, d) in the population eigenbasis (the coordinate basis here);
    ω̂_k = (T_w)_kk / λ̂_k with λ̂_k = (XᵀX/n)_kk the unweighted empirical diagonal, and the
    leakage ‖offdiag(T_w)‖_F / ‖T_w‖_F (0 when T_w is diagonal: weights act mode by mode).

    Args:
        x: (n, d) inputs.
        w: (n,) example weights ≥ 0 (not renormalized here).

    Returns:
        ω̂ (d,) (NaN where λ̂_k = 0: no example carries mode k) and the leakage.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise SpecurateInputError(f"inputs must be a 2-d array, got shape {x.shape}")
    w = _check_weights(w, x.shape[0])
    t_w = x.T @ (w[:, None] * x) / x.shape[0]
    lam_hat = np.einsum("ij,ij->j", x, x) / x.shape[0]
    return diagonal_ratio(np.diag(t_w).copy(), lam_hat), leakage(t_w)


def diagonal_ratio(diag_w: np.ndarray, lam_hat: np.ndarray) -> np.ndarray:
    out = np.full(diag_w.shape, np.nan)
    np.divide(diag_w, lam_hat, out=out, where=lam_hat > 0)
    return out


def leakage(t_w: np.ndarray) -> float:
    total = float(np.linalg.norm(t_w))
    if total == 0:
        return 0.0
    off = t_w - np.diag(np.diag(t_w))
    return float(np.linalg.norm(off)) / total


def weight_mismatch(
    realized: np.ndarray,
    intended: np.ndarray,
    mask: np.ndarray,
    mass: np.ndarray,
    *,
    floor: float = WEIGHT_FLOOR,
) -> float:
    r"""How far realized mode weights are from intended ones, in log units (0 = identical).

    On the compared modes S (``mask``, and ω̂_k finite) the realized weights are first put on the
    intended budget, ω̃_k = ω̂_k Σ_S p_k ω_k / Σ_S p_k ω̂_k (the example weights' mean-one
    normalization over the *empirical* data is not a mismatch of shape), then

        mismatch = mean_{k∈S} |ln((ω̃_k + ε)/(ω_k + ε))|,  ε = ``floor``.

    Args:
        realized: (d,) realized weights ω̂.
        intended: (d,) intended ω ≥ 0.
        mask: (d,) bool, the modes to compare (e.g. modes carried by enough examples).
        mass: (d,) example mass p_k of the budget (``Modes.mass``).
        floor: ε > 0, so that a zero weight realized as zero counts as a match.

    Returns:
        The mismatch; NaN if no mode is compared.
    """
    realized = np.asarray(realized, dtype=float)
    intended = np.asarray(intended, dtype=float)
    mass = np.asarray(mass, dtype=float)
    if not (realized.shape == intended.shape == mass.shape == np.shape(mask)):
        raise SpecurateInputError("realized, intended, mask and mass must have the same shape")
    check_positive("floor", floor)
    mask = np.asarray(mask, dtype=bool) & np.isfinite(realized)
    if not mask.any():
        return float("nan")
    r, i, p = realized[mask], intended[mask], mass[mask]
    zr, zi = float(np.dot(p, r)), float(np.dot(p, i))
    if zr > 0 and zi > 0:
        r = r * (zi / zr)
    return float(np.mean(np.abs(np.log((r + floor) / (i + floor)))))


def oracle_mode_weights(modes: Modes, u: np.ndarray, kappa: float) -> np.ndarray:
    r"""Hard frontier-oracle weights from the true state: ω_k = 0 if |u_k| ≤ e^{−κ}, else C.

    C is set by the budget, C Σ_{k unlearned} p_k = 1 (p_k = ``modes.mass``). When every mode
    is learned the weights are uniform (ω = 1): nothing is left to focus on.

    Args:
        modes: the problem (its ``mass`` fixes the budget).
        u: (N,) relative residuals.
        kappa: κ > 0.

    Returns:
        (N,) weights with Σ p_k ω_k = 1.
    """
    u = np.asarray(u, dtype=float).ravel()
    if u.size != modes.n_modes:
        raise SpecurateInputError(f"got {u.size} residuals for {modes.n_modes} modes")
    check_positive("κ (kappa)", kappa)
    unlearned = np.abs(u) > math.exp(-kappa)
    if not np.any(unlearned & (modes.mass > 0)):
        return np.ones(u.size)
    w, _ = normalize(unlearned.astype(float), 0.0, modes)
    return w
