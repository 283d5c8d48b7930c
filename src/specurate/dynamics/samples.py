r"""Sample-level mode: curation policies acting through per-example weights on real examples.

The mode-space simulator (:mod:`specurate.dynamics.simulate`) treats curation as mode weights
ω_k. Real curation weighs *examples*. This module trains a linear model on n examples and turns
a policy's mode weights into example weights, so the gap between the weights a policy intends
and the weights the optimizer actually sees can be measured (theory.md §4, "key subtlety").

Data families (:func:`make_samples`), both with a diagonal population covariance diag(λ), so
the population eigenbasis is the coordinate basis and the test loss on the ORIGINAL
distribution is exact:

* ``"gaussian"``: x_i ~ N(0, diag λ), λ_k = k^{-b} (λ_1 = 1). Every example mixes all modes.
* ``"clusters"``: example i belongs to cluster k(i) with probability p_k ∝ k^{-b}, x_i = e_{k(i)}
  (one-hot), so λ_k = p_k (Σλ = 1). Every example carries exactly one mode.

Target y = x·w* with energy per mode e_k = λ_k w*_k² = k^{-a} (w*_k > 0), no label noise.
Population loss L(θ) = Σ_k λ_k (θ_k − w*_k)² = Σ_k e_k u_k², with the relative residual
u_k = (w*_k − θ_k)/w*_k (the mode-space state).

Training (:func:`run_samples`): f(x) = x·θ, θ₀ = 0, on the weighted empirical loss
(1/n) Σ_i w_i (x_i·θ − y_i)² with mean-one example weights w_i, by full-batch gradient descent
(``"gd"``) or mini-batch SGD drawing examples with probability w_i/n (``"sgd"``). Writing
T_w = Xᵀ diag(w) X / n and h_w = Xᵀ diag(w) y / n, one step is θ ← θ − η (T_w θ − h_w) (the
gradient of half the loss; SGD's step has this expectation). **Time conversion**: on mode-local
data T_w = diag(ω_k λ̂_k) and u_k ← (1 − η ω_k λ̂_k) u_k, so u_k ≈ exp(−ω_k λ_k Σ η): gradient
flow in the mode-space time t = Σ_steps η (= η × steps at a fixed η). For GD one step is one
pass (epoch), t = η × epochs; for SGD a pass is n/B steps, t = η (n/B) × epochs. With the
population normalization above, :meth:`SampleData.modes` (``modes_from_arrays(lam, energy)``)
is the exact mode-space counterpart of a data set, in the same time unit. Caveat: GD is gradient
flow only while η ω_k λ_k ≪ 1; at the default η = 1/λ_max(T_w) the top weighted mode is removed
in one step (1 − η μ = 0 instead of e^{−1}), which favours policies that flatten ω_k λ_k —
``lr_factor`` ≤ 0.1 brings GD close to the mode-space speed.

Policies act at refreshes: the model's state u (from θ) goes into the same policy objects as
in mode space (``policy.piece``, ``policy.weights``; :func:`oracle_mode_weights` for the hard
oracle) under the **operator budget** Σ_k p_k ω_k = 1, p_k = λ_k/Σλ. For clusters this is the
exact example mass of each mode; Gaussian examples have no mass per mode, and the operator
budget (trace preserving, Σ ω_k λ_k = Σ λ_k) keeps the intended weights identical to the
mode-space problem with the same spectrum. Mode weights become example weights by
:func:`example_weights_from_modes` (``example_rule="modes"``), or examples are scored by their
own loss (:func:`example_weights_from_loss`, ``example_rule="loss"``). The weights the optimizer
*realizes* are read off T_w in the population basis (:func:`realized_weights`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

from specurate._progress import progress_iter
from specurate._weights import bounded_weights, check_cap
from specurate.dynamics.modes import (
    LearningLaw,
    Modes,
    check_exponents,
    check_n_modes,
    modes_from_arrays,
)
from specurate.dynamics.policies import (
    Baseline,
    Context,
    Oracle,
    Policy,
    SelfScore,
    State,
    normalize,
)
from specurate.dynamics.simulate import simulate, time_grid
from specurate.errors import SpecurateInputError

Family = Literal["gaussian", "clusters"]
FAMILIES: tuple[str, ...] = ("gaussian", "clusters")
Method = Literal["gd", "sgd"]
ExampleRule = Literal["modes", "loss"]

#: Floor added to realized and intended weights before taking logs in the weight mismatch
#: (weights are on a mean-one scale: 0.01 is 1 % of the average weight, so a zero weight that
#: is realized as zero counts as a match and one realized as 0.5 as a mismatch of ln 51).
WEIGHT_FLOOR = 1e-2
_MAX_ENTRIES = 50_000_000  # n·d above this the dense sample mode would need > 400 MB


@dataclass(frozen=True)
class SampleData:
    r"""A sampled data set with an exactly known population (see the module docstring).

    Attributes:
        family: ``"gaussian"`` or ``"clusters"``.
        x: (n, d) inputs; ``y``: (n,) targets y = x·w* (noise-free).
        lam: (d,) population eigenvalues (diagonal population covariance), non-increasing.
        w_star: (d,) target coefficients, > 0, with λ_k w*_k² = k^{-a}.
        cluster: (n,) cluster index k(i) (0-based) for ``"clusters"``, None for ``"gaussian"``.
        a, b: target and spectral exponents; ``seed`` the seed that drew the sample.
    """

    family: str
    x: np.ndarray
    y: np.ndarray
    lam: np.ndarray
    w_star: np.ndarray
    cluster: np.ndarray | None
    a: float
    b: float
    seed: int

    @property
    def n_examples(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_modes(self) -> int:
        return int(self.x.shape[1])

    @property
    def energy(self) -> np.ndarray:
        """(d,) target energy per mode e_k = λ_k w*_k² (= k^{-a})."""
        return self.lam * self.w_star**2

    def modes(self) -> Modes:
        """The mode-space counterpart (``modes_from_arrays(..., rescale=False)``).

        Same spectrum, energies and time unit as the samples (no tail closure: the d modes are
        the whole problem), with example mass p_k = λ_k/Σλ.
        """
        return modes_from_arrays(
            self.lam,
            self.energy,
            budget="operator",
            source=f"samples ({self.family})",
            rescale=False,
        )


@dataclass(frozen=True)
class SampleRun:
    r"""A sample-level training run logged on a log-spaced time grid.

    Attributes:
        family, policy, params: data family, policy name and knobs.
        method: ``"gd"`` or ``"sgd"``; ``example_rule``: ``"modes"`` or ``"loss"``.
        t: (T,) gradient-flow time Σ η at the logged steps (comparable with mode-space t).
        steps: (T,) optimizer steps; ``epochs``: (T,) passes over the data.
        loss: (T,) population test loss Σ_k λ_k (θ_k − w*_k)² on the original distribution.
        k_star: (T,) number of modes with |u_k| ≤ e^{−κ}.
        initial_loss: L(θ = 0) = Σ_k e_k.
        intended: (d,) mode weights ω the policy asked for at the last refresh (Σ p_k ω_k = 1).
        realized: (d,) realized mode weights at the last refresh, ω̂_k = (T_w)_kk / λ̂_k with
            λ̂_k = (XᵀX/n)_kk (NaN where no example carries mode k).
        counts: (d,) examples that carry mode k (x_ik ≠ 0): cluster sizes, or n for Gaussian.
        mismatch: :func:`weight_mismatch` of realized vs intended at the last refresh, over
            modes with ``counts ≥ min_examples``.
        refresh_t: (R,) times of the refreshes; ``leakage``: (R,) ‖offdiag T_w‖_F / ‖T_w‖_F;
            ``mismatch_history``: (R,) the mismatch at each refresh; ``lr``: (R,) step size used.
            A refresh at which the policy weighted only modes that no example carries (finite
            n: empty clusters) falls back to uniform weights; its mismatch is NaN, and
            ``intended``/``realized``/``mismatch`` keep the last refresh before it.
        max_intended, max_realized: (R,) largest intended / realized weight at each refresh.
        theta: (d,) final parameters.
        kappa: threshold of k*; ``seconds``: wall time of the run.
        notes: caveats found while running (e.g. a policy that weighted only empty modes).
    """

    family: str
    policy: str
    params: dict[str, Any]
    method: str
    example_rule: str
    t: np.ndarray
    steps: np.ndarray
    epochs: np.ndarray
    loss: np.ndarray
    k_star: np.ndarray
    initial_loss: float
    intended: np.ndarray
    realized: np.ndarray
    counts: np.ndarray
    mismatch: float
    refresh_t: np.ndarray
    leakage: np.ndarray
    mismatch_history: np.ndarray
    lr: np.ndarray
    max_intended: np.ndarray
    max_realized: np.ndarray
    theta: np.ndarray
    kappa: float
    seconds: float
    notes: tuple[str, ...] = ()


def make_samples(
    family: Family,
    *,
    a: float = 2.0,
    b: float = 1.5,
    n_examples: int = 8000,
    n_modes: int = 128,
    seed: int = 0,
) -> SampleData:
    r"""Draw n examples of a data family with a known diagonal population covariance.

    ``"gaussian"``: x_i ~ N(0, diag λ), λ_k = k^{-b} (λ_1 = 1); every example mixes all modes.
    ``"clusters"``: k(i) ~ Categorical(p), p_k = k^{-b} / Σ_j j^{-b}, x_i = e_{k(i)}; the
    population covariance is diag(p), so λ_k = p_k. In both, w*_k = (k^{-a}/λ_k)^{1/2} (energy
    e_k = λ_k w*_k² = k^{-a}) and y_i = x_i·w* (for clusters y_i = w*_{k(i)}).

    Args:
        family: ``"gaussian"`` or ``"clusters"``.
        a: target exponent (> 1); b: spectral exponent (> 0).
        n_examples: n ≥ 10; n_modes: d ≥ 10.
        seed: seed of the draw.

    Returns:
        :class:`SampleData` with x (n, d), y (n,), lam (d,), w_star (d,), cluster (n,) or None.
    """
    if family not in FAMILIES:
        raise SpecurateInputError(f"family must be one of {FAMILIES}, got {family!r}")
    check_exponents(a, b)
    check_n_modes(n_modes)
    if int(n_examples) != n_examples or n_examples < 10:
        raise SpecurateInputError(f"n_examples must be an integer ≥ 10, got {n_examples}")
    n, d = int(n_examples), int(n_modes)
    if n * d > _MAX_ENTRIES:
        raise SpecurateInputError(
            f"n_examples × n_modes = {n * d} exceeds the {_MAX_ENTRIES} entries of sample mode"
        )
    rng = np.random.default_rng(seed)
    k = np.arange(1, d + 1, dtype=float)
    if family == "gaussian":
        lam = k**-b
        x = rng.standard_normal((n, d)) * np.sqrt(lam)
        cluster = None
    else:
        lam = k**-b / np.sum(k**-b)
        cluster = rng.choice(d, size=n, p=lam)
        x = np.zeros((n, d))
        x[np.arange(n), cluster] = 1.0
    w_star = np.sqrt(k**-a / lam)
    y = w_star[cluster] if cluster is not None else x @ w_star
    return SampleData(family, x, y, lam, w_star, cluster, float(a), float(b), int(seed))


def population_loss(data: SampleData, theta: np.ndarray) -> float:
    r"""Test loss on the original distribution, L(θ) = E(x·θ − y)² = Σ_k λ_k (θ_k − w*_k)².

    Exact for both families (diagonal population covariance). ``theta``: (d,).
    """
    theta = _check_theta(data, theta)
    return float(np.dot(data.lam, (theta - data.w_star) ** 2))


def mode_residuals(data: SampleData, theta: np.ndarray) -> np.ndarray:
    r"""Relative residual per mode u_k = (w*_k − θ_k)/w*_k, shape (d,) (L = Σ_k e_k u_k²)."""
    theta = _check_theta(data, theta)
    return (data.w_star - theta) / data.w_star


def _check_theta(data: SampleData, theta: np.ndarray) -> np.ndarray:
    theta = np.asarray(theta, dtype=float)
    if theta.shape != data.w_star.shape:
        raise SpecurateInputError(
            f"theta has shape {theta.shape}, the data has {data.n_modes} modes"
        )
    return theta


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
        x: (n, d) inputs in the population eigenbasis; omega: (d,) mode weights ≥ 0.

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


def _loss_weights(
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
        x: (n, d) inputs; y: (n,) targets; theta: (d,) parameters.
        temperature: T > 0; noise: σ ≥ 0; mix: in [0, 1]; cap: ≥ 1 or None.
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
    if not (math.isfinite(temperature) and temperature > 0):
        raise SpecurateInputError(f"temperature must be > 0, got {temperature}")
    if not (math.isfinite(noise) and noise >= 0):
        raise SpecurateInputError(f"noise must be ≥ 0, got {noise}")
    if not (0 <= mix <= 1):
        raise SpecurateInputError(f"mix must be in [0, 1], got {mix}")
    check_cap(cap)
    rng = np.random.default_rng(seed)
    return _loss_weights(x, y, theta, rng, temperature, noise, mix, cap)


@threadpool_limits.wrap(limits=1, user_api="blas")
def realized_weights(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    r"""Mode weights the optimizer sees, read off the weighted empirical operator.

    T_w = Xᵀ diag(w) X / n (d, d) in the population eigenbasis (the coordinate basis here);
    ω̂_k = (T_w)_kk / λ̂_k with λ̂_k = (XᵀX/n)_kk the unweighted empirical diagonal, and the
    leakage ‖offdiag(T_w)‖_F / ‖T_w‖_F (0 when T_w is diagonal: weights act mode by mode).

    Args:
        x: (n, d) inputs; w: (n,) example weights ≥ 0 (not renormalized here).

    Returns:
        ω̂ (d,) (NaN where λ̂_k = 0: no example carries mode k) and the leakage.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise SpecurateInputError(f"inputs must be a 2-d array, got shape {x.shape}")
    w = _check_weights(w, x.shape[0])
    t_w = x.T @ (w[:, None] * x) / x.shape[0]
    lam_hat = np.einsum("ij,ij->j", x, x) / x.shape[0]
    return _ratio(np.diag(t_w).copy(), lam_hat), _leakage(t_w)


def _ratio(diag_w: np.ndarray, lam_hat: np.ndarray) -> np.ndarray:
    out = np.full(diag_w.shape, np.nan)
    np.divide(diag_w, lam_hat, out=out, where=lam_hat > 0)
    return out


def _leakage(t_w: np.ndarray) -> float:
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
        realized: (d,) realized weights ω̂; intended: (d,) intended ω ≥ 0.
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
    if not (math.isfinite(floor) and floor > 0):
        raise SpecurateInputError(f"floor must be > 0, got {floor}")
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
        modes: the problem (its ``mass`` fixes the budget); u: (N,) relative residuals;
        kappa: κ > 0.

    Returns:
        (N,) weights with Σ p_k ω_k = 1.
    """
    u = np.asarray(u, dtype=float).ravel()
    if u.size != modes.n_modes:
        raise SpecurateInputError(f"got {u.size} residuals for {modes.n_modes} modes")
    if not (math.isfinite(kappa) and kappa > 0):
        raise SpecurateInputError(f"κ (kappa) must be > 0, got {kappa}")
    unlearned = np.abs(u) > math.exp(-kappa)
    if not np.any(unlearned & (modes.mass > 0)):
        return np.ones(u.size)
    w, _ = normalize(unlearned.astype(float), 0.0, modes)
    return w


def _intended(
    policy: Policy, ctx: Context, t: float, u: np.ndarray, private: dict[str, Any]
) -> tuple[np.ndarray, Any]:
    """Mode weights of ``policy`` at time t and state u (and the piece, for ``advance``)."""
    if isinstance(policy, Oracle):
        kappa = float(policy.kappa_at(t))
        return oracle_mode_weights(ctx.modes, u, kappa), None
    if policy.engine == "static":  # fixed weights: drawn once (random pruning stays put)
        if "static_weights" not in private:
            w, _ = policy.weights(ctx)  # type: ignore[attr-defined]
            private["static_weights"] = np.asarray(w, dtype=float)
        return private["static_weights"], None
    if not np.any(np.abs(u) > 0):  # nothing left to learn
        return np.ones(u.size), None
    with np.errstate(divide="ignore"):
        g = -np.log(np.abs(u))
    piece = policy.piece(ctx, State(t, g), private)
    if piece.target is not None:
        raise SpecurateInputError(
            f"policy {policy.name!r} changes labels (synthetic data), which sample mode does not "
            "model"
        )
    return np.asarray(piece.weight, dtype=float), piece


@dataclass
class _Stats:
    """Weighted empirical statistics at a refresh (diag-only for mode-local data)."""

    w: np.ndarray
    diag: np.ndarray  # (d,) diagonal of T_w
    t_w: np.ndarray | None  # (d, d), None when diagonal (clusters)
    h_w: np.ndarray
    lam_max: float
    leakage: float
    r2: float  # largest ‖x_i‖² among examples with w_i > 0


def _stats(data: SampleData, w: np.ndarray) -> _Stats:
    n, d = data.n_examples, data.n_modes
    if data.cluster is not None:
        diag = np.bincount(data.cluster, weights=w, minlength=d) / n
        h_w = np.bincount(data.cluster, weights=w * data.y, minlength=d) / n
        return _Stats(w, diag, None, h_w, float(diag.max()), 0.0, 1.0)
    x = data.x
    xs = x * np.sqrt(w)[:, None]
    t_w = xs.T @ xs / n  # Xᵀ diag(w) X / n (one symmetric product)
    h_w = x.T @ (w * data.y) / n
    lam_max = float(linalg.eigh(t_w, eigvals_only=True, subset_by_index=[d - 1, d - 1])[0])
    r2 = float(np.einsum("ij,ij->i", x, x)[w > 0].max())
    return _Stats(w, np.diag(t_w).copy(), t_w, h_w, lam_max, _leakage(t_w), r2)


def _validate_policy(policy: Policy, example_rule: str) -> None:
    if not isinstance(policy, Policy):
        raise SpecurateInputError(f"policy must be a specurate Policy, got {type(policy).__name__}")
    if example_rule not in ("modes", "loss"):
        raise SpecurateInputError(f"example_rule must be 'modes' or 'loss', got {example_rule!r}")
    if example_rule == "loss" and not isinstance(policy, SelfScore):
        raise SpecurateInputError(
            f"example_rule='loss' scores examples by their own loss and needs a SelfScore policy, "
            f"got {policy.name!r}"
        )
    if isinstance(policy, SelfScore) and policy.label_noise > 0:
        raise SpecurateInputError(
            "sample mode has noise-free labels: set the SelfScore label_noise to 0"
        )


@threadpool_limits.wrap(limits=1, user_api="blas")  # d×d products: threads only contend
def run_samples(
    data: SampleData,
    policy: Policy,
    *,
    method: Method = "gd",
    example_rule: ExampleRule = "modes",
    t_max: float | None = None,
    lr: float | None = None,
    lr_factor: float = 1.0,
    batch_size: int = 64,
    refresh: float = 1.0,
    staleness: float = 0.0,
    points_per_decade: int = 20,
    kappa: float = 1.0,
    min_examples: int = 20,
    seed: int = 0,
    progress: bool = False,
) -> SampleRun:
    r"""Train f(x) = x·θ (θ₀ = 0) on ``data`` under ``policy``; log the population loss.

    Objective (1/n) Σ_i w_i (x_i·θ − y_i)², weights w (n,) of mean 1 from the policy, refreshed
    every max(``refresh``, ``staleness`` × epochs so far) epochs. At a refresh the state
    u_k = (w*_k − θ_k)/w*_k gives the intended mode weights ω (d,) (the policy's magnitude
    |u| is passed), and

    * ``example_rule="modes"``: w = :func:`example_weights_from_modes` (x, ω);
    * ``example_rule="loss"`` (SelfScore only): w = :func:`example_weights_from_loss` with the
      policy's temperature, noise, mix and cap — the per-example rule; ω is then still the
      mode-space SelfScore's weights, for comparison.

    Steps, with T_w = Xᵀ diag(w) X / n, h_w = Xᵀ diag(w) y / n:

    * ``"gd"``: θ ← θ − η (T_w θ − h_w); default η = 1/λ_max(T_w) at each refresh (stable: every
      factor 1 − η μ lies in [0, 1)); a given ``lr`` must stay below 2/λ_max(T_w).
    * ``"sgd"``: B = ``batch_size`` indices drawn with replacement with probability w_i/n,
      θ ← θ − (η/B) Σ_b x_b (x_b·θ − y_b) (unweighted loss on a biased sample: the expected
      step is the GD step on the reweighted objective); default η = 1/max_{w_i>0} ‖x_i‖²
      (every batch step is non-expansive).

    Time t = Σ_steps η (mode-space gradient-flow time; see the module docstring). The run stops
    at the first step with t ≥ ``t_max`` (default 1/λ_m, m = ⌈d/4⌉: the uniform baseline has
    then learned about a quarter of the modes). Logged on a log-spaced grid of t (rounded to
    whole steps): the population loss Σ λ_k (θ_k − w*_k)², k* = #{k: |u_k| ≤ e^{−κ}}; at every
    refresh the realized weights ω̂ (:func:`realized_weights`), the leakage and the mismatch
    (:func:`weight_mismatch` over modes carried by ≥ ``min_examples`` examples).

    Policies: Baseline, Static (``policy.weights``), Oracle (:func:`oracle_mode_weights` with
    κ(t) = ``policy.kappa_at(t)``), and refresh policies that only reweight (SoftOracle,
    SelfScore, Probe, Ensemble, via ``policy.piece``; their own staleness settings are replaced
    by ``refresh``/``staleness``). Synthetic-data policies are rejected.

    Args:
        data: from :func:`make_samples`; policy: a policy object.
        method: ``"gd"`` or ``"sgd"``; example_rule: ``"modes"`` or ``"loss"``.
        t_max: end time (> one step); lr: step size η (None: the stable default above).
        batch_size: B for SGD (1 ≤ B ≤ n); refresh: minimum refresh interval in epochs (> 0);
        staleness: interval as a fraction of the epochs so far (≥ 0).
        points_per_decade: log grid density (≥ 2); kappa: κ > 0 of k*.
        min_examples: modes carried by fewer examples are left out of the mismatch.
        seed: seed of batch sampling, score noise and the policy's randomness.
        progress: show a progress bar on stderr.

    Returns:
        :class:`SampleRun`.
    """
    start = time.perf_counter()
    _validate_policy(policy, example_rule)
    if not isinstance(data, SampleData):
        raise SpecurateInputError("data must be a SampleData from make_samples")
    if method not in ("gd", "sgd"):
        raise SpecurateInputError(f"method must be 'gd' or 'sgd', got {method!r}")
    n, d = data.n_examples, data.n_modes
    if int(batch_size) != batch_size or not 1 <= batch_size <= n:
        raise SpecurateInputError(f"batch_size must be an integer in [1, {n}], got {batch_size}")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise SpecurateInputError(f"lr must be > 0, got {lr}")
    if not (math.isfinite(lr_factor) and 0 < lr_factor <= 1):
        raise SpecurateInputError(f"lr_factor must be in (0, 1], got {lr_factor}")
    if not (math.isfinite(refresh) and refresh > 0):
        raise SpecurateInputError(f"refresh must be > 0 epochs, got {refresh}")
    if not (math.isfinite(staleness) and staleness >= 0):
        raise SpecurateInputError(f"staleness must be ≥ 0, got {staleness}")
    if not (math.isfinite(kappa) and kappa > 0):
        raise SpecurateInputError(f"κ (kappa) must be > 0, got {kappa}")
    if int(min_examples) != min_examples or min_examples < 1:
        raise SpecurateInputError(f"min_examples must be an integer ≥ 1, got {min_examples}")
    if t_max is None:
        t_max = 1.0 / float(data.lam[math.ceil(d / 4) - 1])
    if not (math.isfinite(t_max) and t_max > 0):
        raise SpecurateInputError(f"t_max must be > 0, got {t_max}")

    rng = np.random.default_rng(seed)
    modes = data.modes()
    ctx = Context(modes, LearningLaw(), rng, float(kappa))
    private = policy.init(ctx)
    counts = np.count_nonzero(data.x, axis=0)
    enough = counts >= min_examples
    lam_hat = np.einsum("ij,ij->j", data.x, data.x) / n
    x, y = data.x, data.y
    sgd = method == "sgd"
    epoch_per_step = batch_size / n if sgd else 1.0
    thresh = math.exp(-kappa)
    notes: list[str] = []
    share = None  # s_ik = x_ik² / Σ_j x_ij² (one-hot for clusters: ω_{k(i)} directly)
    if data.cluster is None and example_rule == "modes":
        sq = x**2
        share = sq / sq.sum(axis=1, keepdims=True)

    theta = np.zeros(d)
    t_now, steps, epochs = 0.0, 0, 0.0
    hist: dict[str, list[float]] = {k: [] for k in ("t", "leak", "mis", "lr", "max_i", "max_r")}
    cur: dict[str, Any] = {}
    last_piece: list[Any] = [None, 0.0]  # piece and time of the last refresh

    def do_refresh() -> None:
        u = (data.w_star - theta) / data.w_star
        if last_piece[0] is not None:
            policy.advance(ctx, private, last_piece[0], t_now - last_piece[1])
        omega, piece = _intended(policy, ctx, t_now, u, private)
        last_piece[0], last_piece[1] = piece, t_now
        unrealizable = False
        if example_rule == "loss":
            sp: SelfScore = policy  # type: ignore[assignment]
            w = _loss_weights(x, y, theta, rng, sp.temperature, sp.noise, sp.mix, sp.cap)
        else:
            w = omega[data.cluster] if share is None else share @ omega
            unrealizable = not w.sum() > 0
            if unrealizable:
                if not notes:
                    notes.append(
                        f"from t = {t_now:.3g} on the policy weighted only modes that no "
                        "example carries; uniform weights were used instead"
                    )
                w = np.ones(n)
            w = w / w.mean()
        prev = cur.get("stats")
        st = prev if prev is not None and np.array_equal(prev.w, w) else _stats(data, w)
        if lr is not None:
            eta = lr
            if not sgd and eta * st.lam_max >= 2:
                raise SpecurateInputError(
                    f"lr = {lr:.4g} exceeds the GD stability limit 2/λ_max(T_w) = "
                    f"{2 / st.lam_max:.4g} at t = {t_now:.4g}; lower it or leave lr unset"
                )
        else:
            eta = lr_factor * (1.0 / st.r2 if sgd else 1.0 / st.lam_max)
        realized = _ratio(st.diag, lam_hat)
        mis = math.nan if unrealizable else weight_mismatch(realized, omega, enough, modes.mass)
        cur.update(stats=st, eta=eta)
        if not unrealizable:  # keep the last refresh whose weights reached some example
            cur.update(omega=omega, realized=realized, mismatch=mis)
        if sgd:
            cum = np.cumsum(w)
            cur["cum"] = cum / cum[-1]
        hist["t"].append(t_now)
        hist["leak"].append(st.leakage)
        hist["mis"].append(mis)
        hist["lr"].append(eta)
        hist["max_i"].append(float(omega.max()))
        hist["max_r"].append(float(np.nanmax(realized)))

    do_refresh()
    next_refresh = epochs + refresh
    eta0 = cur["eta"]
    if t_max <= eta0:
        raise SpecurateInputError(
            f"t_max = {t_max:.4g} is not longer than one step (η = {eta0:.4g})"
        )
    grid = time_grid(eta0, t_max, points_per_decade)
    rows: dict[str, list[float]] = {k: [] for k in ("t", "steps", "epochs", "loss", "k")}
    for target in progress_iter(grid, "sample-level training", enabled=progress):
        while t_now < target * (1 - 1e-12):
            if epochs >= next_refresh - 1e-9:
                do_refresh()
                next_refresh = epochs + max(refresh, staleness * epochs)
            st, eta = cur["stats"], cur["eta"]
            if sgd:
                idx = np.searchsorted(cur["cum"], rng.random(batch_size), side="right")
                idx = np.minimum(idx, n - 1)
                xb = x[idx]
                theta = theta - (eta / batch_size) * (xb.T @ (xb @ theta - y[idx]))
            elif st.t_w is None:
                theta = theta - eta * (st.diag * theta - st.h_w)
            else:
                theta = theta - eta * (st.t_w @ theta - st.h_w)
            t_now += eta
            steps += 1
            epochs += epoch_per_step
        if not np.all(np.isfinite(theta)):
            raise SpecurateInputError(
                f"training diverged by t = {t_now:.4g} (step size {cur['eta']:.4g}); lower lr"
            )
        if rows["steps"] and rows["steps"][-1] == steps:
            continue
        u = (data.w_star - theta) / data.w_star
        rows["t"].append(t_now)
        rows["steps"].append(steps)
        rows["epochs"].append(epochs)
        rows["loss"].append(float(np.dot(data.lam, (theta - data.w_star) ** 2)))
        rows["k"].append(float(np.count_nonzero(np.abs(u) <= thresh)))

    return SampleRun(
        family=data.family,
        policy=policy.name,
        params=policy.params(),
        method=method,
        example_rule=example_rule,
        t=np.asarray(rows["t"]),
        steps=np.asarray(rows["steps"], dtype=np.int64),
        epochs=np.asarray(rows["epochs"]),
        loss=np.asarray(rows["loss"]),
        k_star=np.asarray(rows["k"]),
        initial_loss=float(data.energy.sum()),
        intended=cur["omega"],
        realized=cur["realized"],
        counts=counts,
        mismatch=cur["mismatch"],
        refresh_t=np.asarray(hist["t"]),
        leakage=np.asarray(hist["leak"]),
        mismatch_history=np.asarray(hist["mis"]),
        lr=np.asarray(hist["lr"]),
        max_intended=np.asarray(hist["max_i"]),
        max_realized=np.asarray(hist["max_r"]),
        theta=theta,
        kappa=float(kappa),
        seconds=time.perf_counter() - start,
        notes=tuple(notes),
    )


def time_to_target(t: np.ndarray, loss: np.ndarray, target: float) -> float:
    r"""First time at which loss ≤ ``target``, log-log interpolated; NaN if never reached.

    Between the bracketing grid points (t₀, L₀), (t₁, L₁):
    ln t = ln t₀ + (ln L₀ − ln L*)/(ln L₀ − ln L₁) · (ln t₁ − ln t₀). ``t``, ``loss``: (T,).
    """
    t = np.asarray(t, dtype=float)
    loss = np.asarray(loss, dtype=float)
    below = np.nonzero(loss <= target)[0]
    if below.size == 0 or not target > 0:
        return float("nan")
    i = int(below[0])
    if i == 0:
        return float(t[0])
    l0, l1 = math.log(loss[i - 1]), math.log(loss[i])
    x0, x1 = math.log(t[i - 1]), math.log(t[i])
    frac = (l0 - math.log(target)) / (l0 - l1) if l0 != l1 else 1.0
    return math.exp(x0 + frac * (x1 - x0))


def _nanmean(x: np.ndarray) -> float:
    finite = x[np.isfinite(x)]
    return float(finite.mean()) if finite.size else float("nan")


def _ratio_or_nan(num: float, den: float) -> float:
    return num / den if math.isfinite(num) and math.isfinite(den) and den > 0 else float("nan")


def compare_families(
    policy: Policy,
    *,
    a: float = 2.0,
    b: float = 1.5,
    n_examples: int = 8000,
    n_modes: int = 128,
    seed: int = 0,
    method: Method = "gd",
    example_rule: ExampleRule = "modes",
    t_max: float | None = None,
    lr: float | None = None,
    lr_factor: float = 1.0,
    batch_size: int = 64,
    refresh: float = 1.0,
    staleness: float = 0.0,
    kappa: float = 1.0,
    min_examples: int = 20,
    families: tuple[str, ...] = FAMILIES,
    mode_space: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    r"""Run ``policy`` and the uniform Baseline on both data families; summarize the gap.

    For each family (same a, b, n, d; data seed ``seed``, training seed ``seed + 1``):

    * ``speedup``: t_B / t_P at the baseline's final loss L* = L_B(t_max), where t_X is the
      first time run X reaches L* (log-log interpolation, :func:`time_to_target`); NaN if the
      policy never reaches it. ``speedup_steps``: the same ratio in optimizer steps (compute).
    * ``mismatch``: weight mismatch at the policy's last refresh, ``mismatch_mean`` its mean
      over refreshes (:func:`weight_mismatch`); ``max_intended`` / ``max_realized``: largest
      weight intended / realized over the run; ``leakage_max``: largest leakage.
    * ``mode_space_speedup`` (``mode_space=True``): the same ratio from the exact mode-space
      simulation of :meth:`SampleData.modes` — what the intended weights would give if they
      were realized exactly.

    Returns:
        A JSON-ready dict: the settings, ``families`` → {family → summary}, ``seconds``.
    """
    start = time.perf_counter()
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise SpecurateInputError(
            f"families must be a non-empty subset of {FAMILIES}, got {families}"
        )
    out: dict[str, Any] = {
        "policy": policy.name,
        "params": policy.params(),
        "a": a,
        "b": b,
        "n_examples": n_examples,
        "n_modes": n_modes,
        "seed": seed,
        "method": method,
        "example_rule": example_rule,
        "families": {},
    }

    def train(data: SampleData, pol: Policy, rule: ExampleRule) -> SampleRun:
        return run_samples(
            data,
            pol,
            method=method,
            example_rule=rule,
            t_max=t_max,
            lr=lr,
            lr_factor=lr_factor,
            batch_size=batch_size,
            refresh=refresh,
            staleness=staleness,
            kappa=kappa,
            min_examples=min_examples,
            seed=seed + 1,
            progress=progress,
        )

    for family in families:
        data = make_samples(
            family,  # type: ignore[arg-type]
            a=a,
            b=b,
            n_examples=n_examples,
            n_modes=n_modes,
            seed=seed,
        )
        base = train(data, Baseline(), "modes")
        run = train(data, policy, example_rule)
        target = float(base.loss[-1])
        tb, tp = time_to_target(base.t, base.loss, target), time_to_target(run.t, run.loss, target)
        sb = time_to_target(base.steps, base.loss, target)
        sp = time_to_target(run.steps, run.loss, target)
        summary: dict[str, Any] = {
            "target_loss": target,
            "t_max": float(base.t[-1]),
            "speedup": _ratio_or_nan(tb, tp),
            "speedup_steps": _ratio_or_nan(sb, sp),
            "final_loss": float(run.loss[-1]),
            "baseline_k_star": float(base.k_star[-1]),
            "k_star": float(run.k_star[-1]),
            "mismatch": float(run.mismatch),
            "mismatch_mean": _nanmean(run.mismatch_history),
            "max_intended": float(run.max_intended.max()),
            "max_realized": float(run.max_realized.max()),
            "leakage_max": float(run.leakage.max()),
            "modes_in_mismatch": int(np.count_nonzero(run.counts >= min_examples)),
            "refreshes": int(run.refresh_t.size),
            "seconds": run.seconds + base.seconds,
            "notes": list(run.notes),
        }
        if mode_space:
            modes = data.modes()
            t_lo = float(base.t[0]) * 1e-2
            t_hi = float(base.t[-1])
            law = LearningLaw()
            tr_b = simulate(modes, Baseline(), law=law, t_min=t_lo, t_max=t_hi, kappa=kappa)
            tr_p = simulate(modes, policy, law=law, t_min=t_lo, t_max=t_hi, kappa=kappa, seed=seed)
            ms_target = float(tr_b.loss[-1])
            summary["mode_space_speedup"] = _ratio_or_nan(
                time_to_target(tr_b.t, tr_b.loss, ms_target),
                time_to_target(tr_p.t, tr_p.loss, ms_target),
            )
        out["families"][family] = summary
    out["seconds"] = time.perf_counter() - start
    return out
