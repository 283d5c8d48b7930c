r"""Curation policies in mode space: given the learning state, the mode weights ω_k(t).

Every policy respects the budget of :mod:`specurate.dynamics.modes`: Σ_k p_k ω_k (+ p_rem ω_rem)
= 1, where p_k is the example mass of mode k. A policy tells the simulator *how* it can be
integrated exactly (``engine``):

* ``"static"`` — fixed weights: closed form g_k = c (ω_k λ_k)^α s.
* ``"oracle"`` — the paper's hard frontier oracle: event-driven (fixed κ) or a scalar adaptive
  ODE (growing κ(t)); see :mod:`specurate.dynamics.simulate`.
* ``"refresh"`` — weights recomputed from the state at refresh times (stale scores, as in real
  training), constant in between: every piece is integrated in closed form.
* ``"ode"`` — weights that follow the state continuously (``staleness=0``): adaptive
  Runge–Kutta with error control.

Policies that recompute weights implement ``piece(ctx, state, private)``, returning a
:class:`Piece`: per-mode relaxation rates r_k and targets ū_k such that the relative residual
obeys du_k/ds = −r_k (u_k − ū_k) until the next refresh. Pure reweighting has ū = 0 and
r_k = c (ω_k λ_k)^α; synthetic data moves ū away from 0 (labels that are not the target).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from specurate._validate import check_positive, check_positive_int, check_real, check_unit
from specurate._weights import check_cap, waterfill
from specurate.dynamics.modes import LearningLaw, Modes
from specurate.errors import SpecurateInputError

StaticShape = Literal["prune-easy", "upweight-tail", "random", "custom"]


@dataclass(frozen=True)
class Context:
    """What a policy may look at: the problem, the learning law, its random generator."""

    modes: Modes
    law: LearningLaw
    rng: np.random.Generator
    kappa: float


@dataclass(frozen=True)
class Piece:
    r"""Dynamics until the next refresh: du_k/ds = −rate_k (u_k − target_k).

    Attributes:
        rate: (N,) relaxation rates r_k ≥ 0.
        target: (N,) relative residual the mode relaxes to (None = 0, pure reweighting).
        weight: (N,) effective operator weight ω_k of mode k (for the largest-weight record).
        rem_weight: weight of the analytic tail beyond N.
        wasted: share of the sampling mass spent on examples that teach nothing (noise).
    """

    rate: np.ndarray
    target: np.ndarray | None
    weight: np.ndarray
    rem_weight: float
    wasted: float = 0.0


def normalize(omega: np.ndarray, omega_rem: float, modes: Modes, *, spare: float = 1.0):
    """Scale weights so that Σ p_k ω_k + p_rem ω_rem = ``spare`` (the mass left to the modes)."""
    z = float(np.dot(modes.mass, omega) + modes.p_rem * omega_rem)
    if not z > 0:
        raise SpecurateInputError("the policy gave zero weight to every mode")
    return omega * (spare / z), omega_rem * (spare / z)


def pure_piece(ctx: Context, omega: np.ndarray, omega_rem: float, wasted: float = 0.0) -> Piece:
    """A reweighting piece: r_k = c (ω_k λ_k)^α, target 0."""
    return Piece(ctx.law.rate(ctx.modes.lam, omega), None, omega, float(omega_rem), wasted)


@dataclass(frozen=True)
class State:
    """What a refreshing policy sees: time t, exponents g (N,) (u = e^{-g}), tail exponent g_rem."""

    t: float
    g: np.ndarray
    g_rem: float = 0.0

    @property
    def u(self) -> np.ndarray:
        """Relative residuals u_k = e^{-g_k}."""
        return np.exp(-self.g)


def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    if not np.isfinite(top):
        return top
    return top + math.log(float(np.sum(np.exp(x - top))))


def tail_log_weight(modes: Modes, log_pw: np.ndarray) -> float:
    r"""log(p_rem ω_rem) by power-law continuation of p_k ω_k beyond N.

    The slope s = −d ln(p_k ω_k)/d ln k is read between modes N/2 and N and the tail is
    Σ_{k>N} p_N ω_N (k/N)^{-s} ≈ p_N ω_N (N + ½)^{s}(N + ½)^{1−s}/(s − 1) (s clamped ≥ 1.05).
    Exact to O(1/N) for weights that follow a power law at the end of the spectrum (uniform
    weights, unlearned tails, per-example losses). −inf without tail closure.
    """
    if not modes.closed:
        return -math.inf
    n = modes.n_modes
    hi, lo = float(log_pw[-1]), float(log_pw[n // 2 - 1])
    if not (np.isfinite(hi) and np.isfinite(lo)):
        return math.log(modes.p_rem) + hi - math.log(modes.mass[-1]) if np.isfinite(hi) else hi
    slope = max((lo - hi) / math.log(n / (n // 2)), 1.05)
    return hi + slope * math.log(n) + (1.0 - slope) * math.log(n + 0.5) - math.log(slope - 1.0)


def tail_mean_log_weight(
    ctx: Context, log_w_last: float, power: float, coef: float, g_rem: float
) -> float | None:
    r"""log of the tail's mean weight ω̄_rem = Σ_{k>N} p_k ω_k / p_rem, unnormalized.

    For weights that, on the analytic tail (g_k = g_N (N/k)^{bα}, p_k = p_N (k/N)^{-b}), follow
    ω_k = ω⁰_N (k/N)^{-(power − b)} e^{−coef·g_k}, with ``log_w_last`` = ln ω⁰_N on the scale of
    the simulated modes' log weights: every tail mode weighted by its own g_k, summed in closed
    form (:meth:`Modes.tail_sum`). This is the weight the tail's modes actually get on average;
    the first tail mode's weight or a power-law continuation of the last simulated modes bias
    the budget (issue 13). None without closure or when the tail sum diverges (power ≤ 1).
    """
    m = ctx.modes
    if not m.closed or m.b is None or not power > 1.0 or not math.isfinite(log_w_last):
        return None
    total = m.tail_sum(power, coef, g_rem, ctx.law)
    if not total > 0:
        return -math.inf
    return log_w_last + math.log(float(m.mass[-1])) + math.log(total) - math.log(m.p_rem)


def weights_from_log(
    modes: Modes,
    log_w: np.ndarray,
    *,
    log_w_rem: float | None = None,
    mix: float = 0.0,
    cap: float | None = None,
    spare: float = 1.0,
) -> tuple[np.ndarray, float]:
    r"""Budget-normalized weights from unnormalized log weights.

    ω = ``spare``·((1−mix) w/Z + mix), Z = Σ p_k w_k + p_rem w_rem (the tail by
    :func:`tail_log_weight` unless ``log_w_rem`` is given), then clipped at ``cap`` with the
    freed mass water-filled onto the others (:func:`specurate._weights.waterfill`).
    Σ p ω + p_rem ω_rem = spare.
    """
    with np.errstate(divide="ignore"):
        log_pw = np.log(modes.mass) + log_w
    if modes.closed:
        log_prem_w = (
            tail_log_weight(modes, log_pw)
            if log_w_rem is None
            else math.log(modes.p_rem) + log_w_rem
        )
    else:
        log_prem_w = -math.inf
    log_z = _logsumexp(np.append(log_pw, log_prem_w))
    if not np.isfinite(log_z):
        raise SpecurateInputError("the policy gave zero weight to every mode")
    lw = log_w - log_z
    lw_rem = log_prem_w - math.log(modes.p_rem) - log_z if modes.closed else -math.inf
    if mix > 0:
        lw = np.logaddexp(math.log1p(-mix) + lw, math.log(mix)) if mix < 1 else np.zeros_like(lw)
        lw_rem = float(np.logaddexp(math.log1p(-mix) + lw_rem, math.log(mix))) if mix < 1 else 0.0
    if cap is not None:
        mass = np.append(modes.mass, modes.p_rem)
        both = waterfill(np.append(lw, lw_rem), mass, cap, 1.0)
        w, w_rem = both[:-1], float(both[-1])
    else:
        w, w_rem = np.exp(lw), float(math.exp(lw_rem))
    return w * spare, w_rem * spare


class Policy:
    """Base class: a name, an engine and JSON-ready parameters."""

    name: ClassVar[str] = "policy"
    engine: ClassVar[str] = "static"

    def params(self) -> dict[str, Any]:
        """The policy's knobs as a plain dict (recorded with every result)."""
        return {
            f.name: (None if isinstance(v := getattr(self, f.name), np.ndarray) else v)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    # refresh/ode policies override these
    staleness: float = 0.0
    min_interval: float = 0.0
    score_cost: float = 0.0

    def setup_cost(self, ctx: Context) -> float:
        """Compute (in passes) spent before training starts (pretrained helpers)."""
        return 0.0

    def train_overhead(self) -> float:
        """Extra training compute per unit of t (a co-trained model of relative size h → h)."""
        return 0.0

    def init(self, ctx: Context) -> dict[str, Any]:
        """Private state of a refresh policy (helpers, snapshots)."""
        return {}

    def piece(self, ctx: Context, state: State, private: dict[str, Any]) -> Piece:
        """Dynamics until the next refresh, from the learning state."""
        raise NotImplementedError

    def advance(self, ctx: Context, private: dict[str, Any], piece: Piece, ds: float) -> None:
        """Move private state (e.g. a co-trained helper) through a piece of clock length ds."""


@dataclass(frozen=True)
class Baseline(Policy):
    """Uniform sampling, ω_k = 1: g_k = c λ_k^α t^β."""

    name: ClassVar[str] = "baseline"
    engine: ClassVar[str] = "static"

    def weights(self, ctx: Context) -> tuple[np.ndarray, float]:
        return np.ones(ctx.modes.n_modes), 1.0


@dataclass(frozen=True)
class Static(Policy):
    r"""Fixed, bounded weights (Theorem 1's setting: 0 ≤ ω ≤ C).

    Shapes:
        ``prune-easy``: remove a fraction ``strength`` of the examples of the *head* modes (the
        first modes holding ``head_mass`` of the example mass) and renormalize: ω_head =
        (1−f)Z, ω_tail = Z, Z = C = 1/(1 − f P_head). f = 1 removes the head modes entirely.
        ``upweight-tail``: the tail (modes after the head) gets weight C = ``factor``, the head
        what is left of the budget, (1 − C P_tail)/P_head (needs C ≤ 1/P_tail).
        ``random``: remove a fraction ``strength`` of the examples at random from a data set of
        ``n_examples`` examples: mode k keeps Binomial(m_k, 1−f) of its m_k = max(1, round(n p_k))
        examples (modes that lose all examples are never learned), renormalized.
        ``custom``: the user's ``weights`` (N,), renormalized.
    """

    name: ClassVar[str] = "static"
    engine: ClassVar[str] = "static"
    shape: StaticShape = "prune-easy"
    strength: float = 0.5
    head_mass: float = 0.5
    n_examples: int = 100_000
    factor: float = 1.5
    weights_: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.shape not in ("prune-easy", "upweight-tail", "random", "custom"):
            raise SpecurateInputError(
                "static shape must be prune-easy, upweight-tail, random or custom, "
                f"got {self.shape!r}"
            )
        check_real("factor", self.factor, lo=1.0)
        check_unit("strength", self.strength, closed=self.shape == "prune-easy")
        check_unit("head_mass", self.head_mass, closed=False)
        if self.shape == "custom" and self.weights_ is None:
            raise SpecurateInputError("a custom static policy needs weights")
        check_positive_int("n_examples", self.n_examples)

    def weights(self, ctx: Context) -> tuple[np.ndarray, float]:
        m = ctx.modes
        if self.shape == "custom":
            w = np.asarray(self.weights_, dtype=float).ravel()
            if w.size != m.n_modes:
                raise SpecurateInputError(
                    f"custom weights have {w.size} entries for {m.n_modes} modes"
                )
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise SpecurateInputError("custom weights must be finite and ≥ 0")
            return normalize(w, float(w[-1]), m)
        if self.shape == "random":
            counts = np.maximum(1, np.rint(self.n_examples * m.mass)).astype(np.int64)
            kept = ctx.rng.binomial(counts, 1.0 - self.strength)
            return normalize(kept / counts, 1.0, m)
        cum = np.cumsum(m.mass)
        head = cum - m.mass < self.head_mass  # modes starting inside the head mass
        if self.shape == "upweight-tail":
            p_head = float(m.mass[head].sum())
            p_tail = 1.0 - p_head
            if self.factor * p_tail > 1.0 + 1e-12:
                raise SpecurateInputError(
                    f"factor {self.factor} exceeds 1/P_tail = {1 / p_tail:.4g}: the tail alone "
                    "would use more than the whole budget"
                )
            h = max(1.0 - self.factor * p_tail, 0.0) / p_head
            w = np.where(head, h, self.factor)
            return normalize(w, self.factor, m)
        w = np.where(head, 1.0 - self.strength, 1.0)
        return normalize(w, 1.0, m)


@dataclass(frozen=True)
class Oracle(Policy):
    r"""The paper's hard frontier oracle (§5): ω_k = 0 for learned modes, C(t) on the rest.

    A mode is learned when g_k ≥ κ(t), κ(t) = κ₀ + γ ln(1 + t). With γ = 0 (fixed κ) learned
    modes keep the residual e^{−κ} forever (loss floor e^{−2κ} Σ e_k). With γ > 0 learned modes
    are held at g_k = κ(t) (the weight that takes, (κ'(s)/c)^{1/α}/λ_k, is paid from the
    budget), which removes the floor. C(t) spends the rest of the budget on the unlearned tail.
    """

    name: ClassVar[str] = "oracle"
    engine: ClassVar[str] = "oracle"
    kappa: float = 5.0
    growth: float = 0.0

    def __post_init__(self) -> None:
        check_positive("κ (kappa)", self.kappa)
        check_positive("κ growth rate", self.growth, allow_zero=True)

    def kappa_at(self, t: np.ndarray | float) -> np.ndarray:
        return self.kappa + self.growth * np.log1p(np.asarray(t, dtype=float))


@dataclass(frozen=True)
class _Refreshing(Policy):
    staleness: float = 0.1
    min_interval: float = 1.0
    score_cost: float = 1.0 / 3.0

    def _check_refresh(self) -> None:
        check_positive("staleness", self.staleness, allow_zero=True)
        check_positive("min_interval", self.min_interval, allow_zero=True)
        check_positive("score_cost", self.score_cost, allow_zero=True)


@dataclass(frozen=True)
class SoftOracle(_Refreshing):
    r"""Soft suppression: ω_k ∝ u_k^q (the share of mode k's energy still unlearned, to the q).

    The hard oracle's indicator [g_k < κ] becomes e^{−q g_k}; no threshold, no floor. Optional
    ``cap`` bounds the weights (then no exponent change is possible). ``staleness=0`` (default)
    follows the state continuously (adaptive ODE); ``staleness>0`` refreshes like real scores.
    Scores are the model's residuals, known without an extra pass (``score_cost`` 0).
    """

    name: ClassVar[str] = "soft-oracle"
    power: float = 2.0
    cap: float | None = None
    staleness: float = 0.0
    min_interval: float = 0.0
    score_cost: float = 0.0

    @property
    def engine(self) -> str:  # type: ignore[override]
        return "ode" if self.staleness == 0 and self.min_interval == 0 else "refresh"

    def __post_init__(self) -> None:
        check_positive("power", self.power)
        check_cap(self.cap)
        self._check_refresh()

    def piece(self, ctx: Context, state: State, private: dict[str, Any]) -> Piece:
        g = np.maximum(state.g, 0.0)  # true exponents are ≥ 0 (RK trial stages may undershoot)
        b = ctx.modes.b if ctx.modes.b is not None else 0.0
        # the tail's mean weight: Σ_{k>N} p_k e^{−q g_k} / p_rem with each tail mode's own g_k
        # (not e^{−q g_N}, the weight of the first and most learned tail mode)
        w, w_rem = weights_from_log(
            ctx.modes,
            -self.power * g,
            log_w_rem=tail_mean_log_weight(ctx, 0.0, b, self.power, state.g_rem),
            cap=self.cap,
        )
        return pure_piece(ctx, w, w_rem)


@dataclass(frozen=True)
class SelfScore(_Refreshing):
    r"""Self-scoring: sample in proportion to the model's own per-example loss.

    Per-example loss of mode k (mode-local examples): ℓ_k = e_k u_k² / p_k. Weights
    ω_k ∝ (ℓ_k ε_k)^{1/T} with multiplicative log-normal score noise ε (σ = ``noise``), mixed
    with a fraction ``mix`` of uniform sampling and clipped at ``cap``. Scores are refreshed every
    max(staleness·t, min_interval) passes, each refresh costing ``score_cost`` passes.
    ``label_noise`` ν: a fraction ν of the examples is mislabeled; their loss stays at
    ``noisy_loss`` (default: the loss of the untrained model, Σe) forever and the mass spent on
    them teaches nothing — the mechanism of oracle collapse. (Uniform sampling on the same data
    spends ν of its mass there too: compare with the baseline slowed by 1/(1−ν).)
    """

    name: ClassVar[str] = "self-score"
    engine: ClassVar[str] = "refresh"
    temperature: float = 1.0
    noise: float = 0.0
    label_noise: float = 0.0
    noisy_loss: float | None = None
    mix: float = 0.0
    cap: float | None = None

    def __post_init__(self) -> None:
        check_positive("temperature", self.temperature)
        check_positive("noise", self.noise, allow_zero=True)
        check_unit("label_noise", self.label_noise, closed=False)
        check_unit("mix", self.mix)
        check_cap(self.cap)
        if self.noisy_loss is not None:
            check_positive("noisy_loss", self.noisy_loss)
        self._check_refresh()

    def _tail_log_weight(self, ctx: Context, state: State) -> float | None:
        r"""ln ω̄_rem (same scale as the modes' log weights) of the analytic tail.

        Tail modes have e_k = e_N (k/N)^{-a}, p_k = p_N (k/N)^{-b}, so p_k ω_k ∝
        p_N (e_N/p_N)^{1/T} (k/N)^{-(b + (a−b)/T)} e^{−2 g_k/T}; the score noise of each of the
        many tail modes averages to E[e^{σε/T}] = e^{σ²/(2T²)}. None (power-law continuation
        instead) when the problem is not a power law or that sum diverges.
        """
        m = ctx.modes
        if not m.closed or m.a is None or m.b is None:
            return None
        temp = self.temperature
        log_w_last = (math.log(float(m.energy[-1])) - math.log(float(m.mass[-1]))) / temp + 0.5 * (
            self.noise / temp
        ) ** 2
        power = m.b + (m.a - m.b) / temp
        return tail_mean_log_weight(ctx, log_w_last, power, 2.0 / temp, state.g_rem)

    def piece(self, ctx: Context, state: State, private: dict[str, Any]) -> Piece:
        m = ctx.modes
        g = np.maximum(state.g, 0.0)
        with np.errstate(divide="ignore"):
            log_score = np.log(m.energy) - 2.0 * g - np.log(m.mass)  # ln(e_k u_k² / p_k)
        if self.noise > 0:
            log_score = log_score + self.noise * ctx.rng.standard_normal(log_score.size)
        lw = log_score / self.temperature
        log_w_rem = self._tail_log_weight(ctx, state)
        nu = self.label_noise
        if nu == 0:
            w, w_rem = weights_from_log(m, lw, log_w_rem=log_w_rem, mix=self.mix, cap=self.cap)
            return pure_piece(ctx, w, w_rem)
        # noisy examples: one more population of mass ν whose loss never falls
        ell = self.noisy_loss if self.noisy_loss is not None else m.total_energy
        with np.errstate(divide="ignore"):
            lpw = np.log(m.mass) + lw
        mass = np.append((1 - nu) * m.mass, [(1 - nu) * m.p_rem, nu])
        log_all = np.append(
            lw,
            [
                (
                    log_w_rem
                    if log_w_rem is not None
                    else tail_log_weight(m, lpw) - math.log(m.p_rem)
                )
                if m.closed
                else -math.inf,
                math.log(ell) / self.temperature,
            ],
        )
        with np.errstate(divide="ignore"):
            log_z = _logsumexp(np.log(mass) + log_all)
        log_all = log_all - log_z
        if self.mix >= 1:
            log_all = np.zeros_like(log_all)
        elif self.mix > 0:
            log_all = np.logaddexp(math.log1p(-self.mix) + log_all, math.log(self.mix))
        omega = waterfill(log_all, mass, self.cap, 1.0) if self.cap is not None else np.exp(log_all)
        # clean examples hold mass (1−ν)p_k: their operator weight is (1−ν)ω_k
        w, w_rem, w_noise = (1 - nu) * omega[:-2], (1 - nu) * float(omega[-2]), float(omega[-1])
        return pure_piece(ctx, w, w_rem if m.closed else 0.0, wasted=nu * w_noise)


@dataclass(frozen=True)
class Probe(_Refreshing):
    r"""Online probe: a frontier estimate k̂ with lag and noise drives hard-oracle weights.

    At each refresh the probe reports k̂ = bias · k*(t) · e^{σε} (k* = #{k: g_k ≥ ``kappa``});
    modes k ≤ k̂ get weight 0, the rest share the budget equally (C = 1/P_tail).
    Lag comes from the refresh interval (scores as old as the last refresh) and from ``bias`` < 1
    (a smaller probe model trails the learner). ``cap`` bounds C.
    """

    name: ClassVar[str] = "probe"
    engine: ClassVar[str] = "refresh"
    bias: float = 0.5
    noise: float = 0.3
    kappa: float = 5.0
    cap: float | None = None

    def __post_init__(self) -> None:
        check_positive("bias", self.bias)
        check_positive("κ (kappa)", self.kappa)
        check_positive("noise", self.noise, allow_zero=True)
        check_cap(self.cap)
        self._check_refresh()

    def piece(self, ctx: Context, state: State, private: dict[str, Any]) -> Piece:
        m = ctx.modes
        k_star = int(np.count_nonzero(state.g >= self.kappa))
        est = self.bias * k_star * math.exp(self.noise * float(ctx.rng.standard_normal()))
        k_hat = min(int(est), m.n_modes - 1)
        lw = np.zeros(m.n_modes)
        lw[:k_hat] = -math.inf
        w, w_rem = weights_from_log(m, lw, log_w_rem=0.0, cap=self.cap)
        return pure_piece(ctx, w, w_rem)


@dataclass(frozen=True)
class Ensemble(_Refreshing):
    r"""Heterogeneous ensemble: weights from the disagreement of two learners.

    Learner A has the problem's spectrum, learner B the spectrum k^{-b_helper} (a different
    spectral bias). Per-example disagreement of mode k: d_k = e_k (u^A_k − u^B_k)² / p_k; weights
    ω_k ∝ d_k (mixed with ``mix`` of uniform so no mode starves).
    ``coevolve=True``: the student is learner A and B is co-trained on the same curated stream
    (B costs ``helper_cost`` of the student per pass). ``coevolve=False``: A and B are trained
    uniformly for ``t_fix`` passes first (cost 2·helper_cost·t_fix) and their disagreement gives
    fixed weights for the student: a static rule again.
    """

    name: ClassVar[str] = "ensemble"
    engine: ClassVar[str] = "refresh"
    b_helper: float | None = None
    coevolve: bool = True
    t_fix: float = 100.0
    helper_cost: float = 1.0
    mix: float = 0.05

    def __post_init__(self) -> None:
        if self.b_helper is not None:
            check_positive("b_helper", self.b_helper)
        check_positive("t_fix", self.t_fix)
        check_positive("helper_cost", self.helper_cost, allow_zero=True)
        check_unit("mix", self.mix)
        self._check_refresh()

    def _helper_lam(self, ctx: Context) -> np.ndarray:
        m = ctx.modes
        b = m.b if m.b is not None else 1.0
        bh = self.b_helper if self.b_helper is not None else b / 2
        k = np.arange(1, m.n_modes + 1, dtype=float)
        return k**-bh

    def setup_cost(self, ctx: Context) -> float:
        return 0.0 if self.coevolve else 2.0 * self.helper_cost * self.t_fix

    def train_overhead(self) -> float:
        return self.helper_cost if self.coevolve else 0.0

    def init(self, ctx: Context) -> dict[str, Any]:
        lam_b = self._helper_lam(ctx)
        if self.coevolve:
            return {"lam_b": lam_b, "g_b": np.zeros(ctx.modes.n_modes)}
        s = float(ctx.law.clock(self.t_fix))
        g_a = ctx.law.rate(ctx.modes.lam, 1.0) * s
        g_b = ctx.law.rate(lam_b, 1.0) * s
        return {"fixed": self._weights(ctx, g_a, g_b)}

    def _weights(self, ctx: Context, g_a: np.ndarray, g_b: np.ndarray) -> tuple[np.ndarray, float]:
        m = ctx.modes
        # ln(e_k (u^A − u^B)² / p_k), differences of exponentials taken stably
        hi, lo = np.minimum(g_a, g_b), np.maximum(g_a, g_b)
        with np.errstate(divide="ignore"):
            log_diff = -hi + np.log(-np.expm1(-(lo - hi)))
            lw = np.log(m.energy) + 2.0 * log_diff - np.log(m.mass)
        if not np.any(np.isfinite(lw)):
            lw = np.zeros_like(lw)
        return weights_from_log(m, lw, mix=self.mix)

    def piece(self, ctx: Context, state: State, private: dict[str, Any]) -> Piece:
        if "fixed" in private:
            w, w_rem = private["fixed"]
        else:
            w, w_rem = self._weights(ctx, np.maximum(state.g, 0.0), private["g_b"])
        return pure_piece(ctx, w, w_rem)

    def advance(self, ctx: Context, private: dict[str, Any], piece: Piece, ds: float) -> None:
        if "g_b" in private:
            private["g_b"] = private["g_b"] + ctx.law.rate(private["lam_b"], piece.weight) * ds


@dataclass(frozen=True)
class _Synthetic(_Refreshing):
    span: int = 1000
    fraction: float = 0.5

    def _check(self) -> None:
        check_positive_int("span", self.span)
        check_unit("fraction", self.fraction, closed=False)
        self._check_refresh()

    def _restricted(self, ctx: Context, span: int) -> tuple[np.ndarray, float]:
        """Eigenvalues of data covering modes ≤ span (mass renormalized to 1), and the weight
        of the analytic tail (non-zero only when the span covers all N modes)."""
        m = ctx.modes
        covers_tail = span >= m.n_modes and m.closed
        span = min(span, m.n_modes)
        inside = np.arange(m.n_modes) < span
        p_in = float(m.mass[inside].sum()) + (m.p_rem if covers_tail else 0.0)
        return np.where(inside, m.lam / p_in, 0.0), (1.0 / p_in if covers_tail else 0.0)

    def _mixture(self, ctx: Context, lam_s: np.ndarray, u_s: np.ndarray) -> Piece:
        law = ctx.law
        lam_r, rem_r = self._restricted(ctx, self.span)
        f = self.fraction
        mix = (1 - f) * lam_r + f * lam_s
        rate = law.c * mix**law.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.where(mix > 0, f * lam_s * u_s / mix, 1.0)
            weight = mix / ctx.modes.lam
        # the analytic tail beyond N sees only real data (pure reweighting, target 0)
        return Piece(rate, target, weight, (1 - f) * rem_r)


@dataclass(frozen=True)
class SyntheticTeacher(_Synthetic):
    r"""Real data covering modes ≤ ``span`` mixed with a teacher's synthetic data.

    The teacher's inputs cover modes ≤ ``teacher_span``; its labels are its own predictions after
    ``teacher_time`` passes of uniform training, u^T_k = e^{−c λ_k^α t_T^β}. A fraction
    ``fraction`` of the sampling mass is synthetic. Mixed gradient flow:
    du_k/ds = −c Λ_k^α (u_k − ū_k), Λ_k = (1−f)λ^R_k + f λ^T_k, ū_k = f λ^T_k u^T_k / Λ_k
    (α = 1: exact gradient flow on the mixed objective).
    """

    name: ClassVar[str] = "synthetic-teacher"
    engine: ClassVar[str] = "refresh"
    teacher_span: int = 10_000
    teacher_time: float = 1e8
    score_cost: float = 0.0

    def __post_init__(self) -> None:
        self._check()
        check_positive_int("teacher_span", self.teacher_span)
        check_positive("teacher_time", self.teacher_time)

    def piece(self, ctx: Context, state: State, private: dict[str, Any]) -> Piece:
        if "piece" not in private:
            lam_t, _ = self._restricted(ctx, self.teacher_span)
            s_t = float(ctx.law.clock(self.teacher_time))
            u_t = np.exp(-ctx.law.rate(ctx.modes.lam, 1.0) * s_t)
            private["piece"] = self._mixture(ctx, lam_t, u_t)
        return private["piece"]


@dataclass(frozen=True)
class SyntheticSelf(_Synthetic):
    r"""Real data covering modes ≤ ``span`` mixed with data the student generates itself.

    The generator's inputs follow the training inputs (modes ≤ ``span``) and its labels are the
    student's own predictions at the last refresh (u^S = u at refresh). By construction the
    synthetic data stays in the span of what the student already represents (paper A.4).
    """

    name: ClassVar[str] = "synthetic-self"
    engine: ClassVar[str] = "refresh"
    score_cost: float = 0.0

    def __post_init__(self) -> None:
        self._check()

    def piece(self, ctx: Context, state: State, private: dict[str, Any]) -> Piece:
        lam_s, _ = self._restricted(ctx, self.span)
        return self._mixture(ctx, lam_s, state.u)


POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (
        Baseline,
        Static,
        Oracle,
        SoftOracle,
        SelfScore,
        Probe,
        Ensemble,
        SyntheticTeacher,
        SyntheticSelf,
    )
}


def make_policy(name: str, **knobs: Any) -> Policy:
    """Build a policy by name (``baseline``, ``static``, ``oracle``, ``soft-oracle``, …).

    Raises:
        SpecurateInputError: unknown name or knob, or a knob out of range.
    """
    if name not in POLICIES:
        raise SpecurateInputError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}")
    cls = POLICIES[name]
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(knobs) - fields)
    if unknown:
        raise SpecurateInputError(
            f"policy {name!r} has no knob {', '.join(unknown)}; knobs: {', '.join(sorted(fields))}"
        )
    return cls(**knobs)
