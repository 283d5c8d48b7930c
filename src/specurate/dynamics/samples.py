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
*realizes* are read off T_w in the population basis (:func:`realized_weights`). These weight
functions live in :mod:`specurate.dynamics.sample_weights` (re-exported here).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

from specurate import _rng
from specurate._progress import progress_iter
from specurate._validate import check_int, check_positive, check_positive_int, check_real
from specurate.dynamics.modes import (
    MIN_MODES,
    LearningLaw,
    Modes,
    check_exponents,
    modes_from_arrays,
)
from specurate.dynamics.policies import (
    Baseline,
    Context,
    Oracle,
    Policy,
    SelfScore,
    State,
)
from specurate.dynamics.sample_weights import (
    WEIGHT_FLOOR,
    diagonal_ratio,
    draw_loss_weights,
    example_weights_from_loss,
    example_weights_from_modes,
    leakage,
    oracle_mode_weights,
    realized_weights,
    weight_mismatch,
)
from specurate.dynamics.simulate import simulate, time_grid
from specurate.errors import SpecurateInputError

__all__ = [
    "FAMILIES",
    "WEIGHT_FLOOR",
    "SampleData",
    "SampleRun",
    "compare_families",
    "example_weights_from_loss",  # defined in specurate.dynamics.sample_weights
    "example_weights_from_modes",
    "make_samples",
    "mode_residuals",
    "oracle_mode_weights",
    "population_loss",
    "realized_weights",
    "run_samples",
    "time_to_target",
    "weight_mismatch",
]

Family = Literal["gaussian", "clusters"]
FAMILIES: tuple[str, ...] = ("gaussian", "clusters")
Method = Literal["gd", "sgd"]
ExampleRule = Literal["modes", "loss"]

_MAX_ENTRIES = 50_000_000  # n·d above this the dense sample mode would need > 400 MB


@dataclass(frozen=True)
class SampleData:
    r"""A sampled data set with an exactly known population (see the module docstring).

    Attributes:
        family: ``"gaussian"`` or ``"clusters"``.
        x: (n, d) inputs.
        y: (n,) targets y = x·w* (noise-free).
        lam: (d,) population eigenvalues (diagonal population covariance), non-increasing.
        w_star: (d,) target coefficients, > 0, with λ_k w*_k² = k^{-a}.
        cluster: (n,) cluster index k(i) (0-based) for ``"clusters"``, None for ``"gaussian"``.
        a: target exponent.
        b: spectral exponent.
        seed: the seed that drew the sample.
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
        family: data family.
        policy: policy name.
        params: the policy's knobs.
        method: ``"gd"`` or ``"sgd"``.
        example_rule: ``"modes"`` or ``"loss"``.
        t: (T,) gradient-flow time Σ η at the logged steps (comparable with mode-space t).
        steps: (T,) optimizer steps.
        epochs: (T,) passes over the data.
        loss: (T,) population test loss Σ_k λ_k (θ_k − w*_k)² on the original distribution.
        k_star: (T,) number of modes with |u_k| ≤ e^{−κ}.
        initial_loss: L(θ = 0) = Σ_k e_k.
        intended: (d,) mode weights ω the policy asked for at the last refresh (Σ p_k ω_k = 1).
        realized: (d,) realized mode weights at the last refresh, ω̂_k = (T_w)_kk / λ̂_k with
            λ̂_k = (XᵀX/n)_kk (NaN where no example carries mode k).
        counts: (d,) examples that carry mode k (x_ik ≠ 0): cluster sizes, or n for Gaussian.
        mismatch: :func:`weight_mismatch` of realized vs intended at the last refresh, over
            modes with ``counts ≥ min_examples``.
        refresh_t: (R,) times of the refreshes.
        leakage: (R,) ‖offdiag T_w‖_F / ‖T_w‖_F at each refresh.
        mismatch_history: (R,) the mismatch at each refresh. A refresh at which the policy
            weighted only modes that no example carries (finite n: empty clusters) falls back
            to uniform weights; its mismatch is NaN, and ``intended``/``realized``/``mismatch``
            keep the last refresh before it.
        lr: (R,) step size used at each refresh.
        max_intended: (R,) largest intended weight at each refresh.
        max_realized: (R,) largest realized weight at each refresh.
        theta: (d,) final parameters.
        kappa: threshold of k*.
        seconds: wall time of the run.
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
        a: target exponent (> 1).
        b: spectral exponent (> 0).
        n_examples: n ≥ 10.
        n_modes: d ≥ 10.
        seed: seed of the draw.

    Returns:
        :class:`SampleData` with x (n, d), y (n,), lam (d,), w_star (d,), cluster (n,) or None.
    """
    if family not in FAMILIES:
        raise SpecurateInputError(f"family must be one of {FAMILIES}, got {family!r}")
    check_exponents(a, b)
    check_int("n_modes", n_modes, lo=MIN_MODES)
    check_int("n_examples", n_examples, lo=10)
    n, d = int(n_examples), int(n_modes)
    if n * d > _MAX_ENTRIES:
        raise SpecurateInputError(
            f"n_examples × n_modes = {n * d} exceeds the {_MAX_ENTRIES} entries of sample mode"
        )
    rng = _rng.stream("root", seed)
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

    Exact for both families (diagonal population covariance).

    Args:
        data: the samples (:func:`make_samples`).
        theta: (d,) parameters.
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
    return _Stats(w, np.diag(t_w).copy(), t_w, h_w, lam_max, leakage(t_w), r2)


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


def _check_run_settings(
    data: SampleData,
    method: str,
    *,
    batch_size: int,
    lr: float | None,
    lr_factor: float,
    refresh: float,
    staleness: float,
    kappa: float,
    min_examples: int,
) -> None:
    """The settings of :func:`run_samples` (the policy is checked by :func:`_validate_policy`)."""
    if not isinstance(data, SampleData):
        raise SpecurateInputError("data must be a SampleData from make_samples")
    if method not in ("gd", "sgd"):
        raise SpecurateInputError(f"method must be 'gd' or 'sgd', got {method!r}")
    check_int("batch_size", batch_size, lo=1, hi=data.n_examples)
    if lr is not None:
        check_positive("lr", lr)
    check_real("lr_factor", lr_factor, lo=0.0, lo_open=True, hi=1.0)
    check_positive("refresh (epochs)", refresh)
    check_positive("staleness", staleness, allow_zero=True)
    check_positive("κ (kappa)", kappa)
    check_positive_int("min_examples", min_examples)


#: the refresh log of a run: time, leakage, mismatch, step size, largest intended / realized weight
_REFRESH_LOG = ("t", "leak", "mis", "lr", "max_i", "max_r")
#: the logged grid points of a run: time, steps, epochs, population loss, k*
_GRID_LOG = ("t", "steps", "epochs", "loss", "k")


@dataclass
class _RunState:
    """What changes during a sample-level run: parameters, clocks, what the latest refresh fixed
    (statistics of the weights, step size, SGD sampling table), and the logs."""

    theta: np.ndarray
    t: float = 0.0
    steps: int = 0
    epochs: float = 0.0
    piece: Any = None  # the policy's piece at the last refresh (advanced at the next one)
    piece_t: float = 0.0  # time of the last refresh
    stats: _Stats | None = None
    eta: float = math.nan
    cum: np.ndarray | None = None  # SGD: normalized cumulative example weights
    # the last refresh whose weights reached some example
    omega: np.ndarray | None = None
    realized: np.ndarray | None = None
    mismatch: float = math.nan
    notes: list[str] = field(default_factory=list)
    refreshes: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in _REFRESH_LOG})
    grid: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in _GRID_LOG})


@dataclass(frozen=True)
class _Trainer:
    """The fixed parts of a sample-level run: data, policy (with its context and private state),
    how mode weights become example weights, and the step rule."""

    data: SampleData
    policy: Policy
    ctx: Context
    private: dict[str, Any]  # the policy's own state (the policy updates it in place)
    example_rule: str
    sgd: bool
    lr: float | None
    lr_factor: float
    batch_size: int
    lam_hat: np.ndarray  # (d,) unweighted empirical diagonal λ̂_k
    counts: np.ndarray  # (d,) examples that carry mode k
    enough: np.ndarray  # (d,) modes carried by ≥ min_examples examples (compared in mismatch)
    share: np.ndarray | None  # s_ik = x_ik² / Σ_j x_ij² (None for clusters: one-hot)

    @property
    def rng(self) -> np.random.Generator:
        """The run's one generator (policy randomness, score noise, SGD batches)."""
        return self.ctx.rng

    @property
    def epoch_per_step(self) -> float:
        return self.batch_size / self.data.n_examples if self.sgd else 1.0

    def example_weights(self, run: _RunState, omega: np.ndarray) -> tuple[np.ndarray, bool]:
        """Mean-one example weights for mode weights ω, and whether ω was unrealizable (it
        weighted only modes no example carries: uniform weights are used instead)."""
        data = self.data
        if self.example_rule == "loss":
            sp: SelfScore = self.policy  # type: ignore[assignment]
            w = draw_loss_weights(
                data.x, data.y, run.theta, self.rng, sp.temperature, sp.noise, sp.mix, sp.cap
            )
            return w, False
        w = omega[data.cluster] if self.share is None else self.share @ omega
        unrealizable = not w.sum() > 0
        if unrealizable:
            if not run.notes:
                run.notes.append(
                    f"from t = {run.t:.3g} on the policy weighted only modes that no "
                    "example carries; uniform weights were used instead"
                )
            w = np.ones(data.n_examples)
        return w / w.mean(), unrealizable

    def step_size(self, st: _Stats, t: float) -> float:
        """η: the given ``lr`` (checked against GD's stability limit) or the stable default."""
        if self.lr is not None:
            if not self.sgd and self.lr * st.lam_max >= 2:
                raise SpecurateInputError(
                    f"lr = {self.lr:.4g} exceeds the GD stability limit 2/λ_max(T_w) = "
                    f"{2 / st.lam_max:.4g} at t = {t:.4g}; lower it or leave lr unset"
                )
            return self.lr
        return self.lr_factor * (1.0 / st.r2 if self.sgd else 1.0 / st.lam_max)

    def refresh(self, run: _RunState) -> None:
        """Ask the policy for mode weights at the current state and fix the example weights,
        their statistics and the step size until the next refresh."""
        data = self.data
        u = (data.w_star - run.theta) / data.w_star
        if run.piece is not None:
            self.policy.advance(self.ctx, self.private, run.piece, run.t - run.piece_t)
        omega, run.piece = _intended(self.policy, self.ctx, run.t, u, self.private)
        run.piece_t = run.t
        w, unrealizable = self.example_weights(run, omega)
        prev = run.stats
        st = prev if prev is not None and np.array_equal(prev.w, w) else _stats(data, w)
        eta = self.step_size(st, run.t)
        realized = diagonal_ratio(st.diag, self.lam_hat)
        mis = (
            math.nan
            if unrealizable
            else weight_mismatch(realized, omega, self.enough, self.ctx.modes.mass)
        )
        run.stats, run.eta = st, eta
        if not unrealizable:
            run.omega, run.realized, run.mismatch = omega, realized, mis
        if self.sgd:
            cum = np.cumsum(w)
            run.cum = cum / cum[-1]
        log = run.refreshes
        log["t"].append(run.t)
        log["leak"].append(st.leakage)
        log["mis"].append(mis)
        log["lr"].append(eta)
        log["max_i"].append(float(omega.max()))
        log["max_r"].append(float(np.nanmax(realized)))

    def step(self, run: _RunState) -> None:
        """One optimizer step at the current weights (GD on T_w, or one SGD batch)."""
        st, eta, theta = run.stats, run.eta, run.theta
        assert st is not None
        if self.sgd:
            assert run.cum is not None
            b = self.batch_size
            idx = np.searchsorted(run.cum, self.rng.random(b), side="right")
            idx = np.minimum(idx, self.data.n_examples - 1)
            xb = self.data.x[idx]
            run.theta = theta - (eta / b) * (xb.T @ (xb @ theta - self.data.y[idx]))
        elif st.t_w is None:
            run.theta = theta - eta * (st.diag * theta - st.h_w)
        else:
            run.theta = theta - eta * (st.t_w @ theta - st.h_w)
        run.t += eta
        run.steps += 1
        run.epochs += self.epoch_per_step

    def log_point(self, run: _RunState, thresh: float) -> None:
        """Log the population loss and k* at the current step (once per step)."""
        grid = run.grid
        if grid["steps"] and grid["steps"][-1] == run.steps:
            return
        data = self.data
        u = (data.w_star - run.theta) / data.w_star
        grid["t"].append(run.t)
        grid["steps"].append(run.steps)
        grid["epochs"].append(run.epochs)
        grid["loss"].append(float(np.dot(data.lam, (run.theta - data.w_star) ** 2)))
        grid["k"].append(float(np.count_nonzero(np.abs(u) <= thresh)))


def _make_trainer(
    data: SampleData,
    policy: Policy,
    *,
    method: str,
    example_rule: str,
    lr: float | None,
    lr_factor: float,
    batch_size: int,
    kappa: float,
    min_examples: int,
    seed: int,
) -> _Trainer:
    ctx = Context(data.modes(), LearningLaw(), _rng.stream("root", seed), float(kappa))
    private = policy.init(ctx)
    x = data.x
    counts = np.count_nonzero(x, axis=0)
    share = None
    if data.cluster is None and example_rule == "modes":
        sq = x**2
        share = sq / sq.sum(axis=1, keepdims=True)
    return _Trainer(
        data=data,
        policy=policy,
        ctx=ctx,
        private=private,
        example_rule=example_rule,
        sgd=method == "sgd",
        lr=lr,
        lr_factor=lr_factor,
        batch_size=batch_size,
        lam_hat=np.einsum("ij,ij->j", x, x) / data.n_examples,
        counts=counts,
        enough=counts >= min_examples,
        share=share,
    )


def _train(
    trainer: _Trainer,
    run: _RunState,
    grid: np.ndarray,
    *,
    refresh: float,
    staleness: float,
    kappa: float,
    progress: bool,
) -> None:
    """Step until each time of ``grid`` and log it; refresh every max(``refresh``,
    ``staleness`` × epochs so far) epochs (the first refresh has been made)."""
    thresh = math.exp(-kappa)
    next_refresh = run.epochs + refresh
    for target in progress_iter(grid, "sample-level training", enabled=progress):
        while run.t < target * (1 - 1e-12):
            if run.epochs >= next_refresh - 1e-9:
                trainer.refresh(run)
                next_refresh = run.epochs + max(refresh, staleness * run.epochs)
            trainer.step(run)
        if not np.all(np.isfinite(run.theta)):
            raise SpecurateInputError(
                f"training diverged by t = {run.t:.4g} (step size {run.eta:.4g}); lower lr"
            )
        trainer.log_point(run, thresh)


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
        data: from :func:`make_samples`.
        policy: a policy object.
        method: ``"gd"`` or ``"sgd"``.
        example_rule: ``"modes"`` or ``"loss"``.
        t_max: end time (> one step).
        lr: step size η (None: the stable default above).
        lr_factor: multiplies the default step size η, in (0, 1] (ignored with ``lr``).
        batch_size: B for SGD (1 ≤ B ≤ n).
        refresh: minimum refresh interval in epochs (> 0).
        staleness: interval as a fraction of the epochs so far (≥ 0).
        points_per_decade: log grid density (≥ 2).
        kappa: κ > 0 of k*.
        min_examples: modes carried by fewer examples are left out of the mismatch.
        seed: seed of batch sampling, score noise and the policy's randomness.
        progress: show a progress bar on stderr.

    Returns:
        :class:`SampleRun`.
    """
    start = time.perf_counter()
    _validate_policy(policy, example_rule)
    _check_run_settings(
        data,
        method,
        batch_size=batch_size,
        lr=lr,
        lr_factor=lr_factor,
        refresh=refresh,
        staleness=staleness,
        kappa=kappa,
        min_examples=min_examples,
    )
    if t_max is None:
        t_max = 1.0 / float(data.lam[math.ceil(data.n_modes / 4) - 1])
    check_positive("t_max", t_max)
    trainer = _make_trainer(
        data,
        policy,
        method=method,
        example_rule=example_rule,
        lr=lr,
        lr_factor=lr_factor,
        batch_size=batch_size,
        kappa=kappa,
        min_examples=min_examples,
        seed=seed,
    )
    run = _RunState(theta=np.zeros(data.n_modes))
    trainer.refresh(run)
    if t_max <= run.eta:
        raise SpecurateInputError(
            f"t_max = {t_max:.4g} is not longer than one step (η = {run.eta:.4g})"
        )
    grid = time_grid(run.eta, t_max, points_per_decade)
    _train(trainer, run, grid, refresh=refresh, staleness=staleness, kappa=kappa, progress=progress)
    if run.omega is None or run.realized is None:
        raise SpecurateInputError(
            f"policy {policy.name!r} weighted only modes that no example carries at every "
            "refresh: there are no intended weights to compare"
        )
    rows, log = run.grid, run.refreshes
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
        intended=run.omega,
        realized=run.realized,
        counts=trainer.counts,
        mismatch=run.mismatch,
        refresh_t=np.asarray(log["t"]),
        leakage=np.asarray(log["leak"]),
        mismatch_history=np.asarray(log["mis"]),
        lr=np.asarray(log["lr"]),
        max_intended=np.asarray(log["max_i"]),
        max_realized=np.asarray(log["max_r"]),
        theta=run.theta,
        kappa=float(kappa),
        seconds=time.perf_counter() - start,
        notes=tuple(run.notes),
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
