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

Policies that recompute weights implement ``piece(ctx, t, u, private)``, returning a
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

from specurate.dynamics.modes import LearningLaw, Modes
from specurate.errors import SpecurateInputError

StaticShape = Literal["prune-easy", "random", "custom"]


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


def _positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and ok):
        bound = "≥ 0" if allow_zero else "> 0"
        raise SpecurateInputError(f"{name} must be {bound}, got {value}")


def _fraction(name: str, value: float, *, upper_open: bool = True) -> None:
    ok = 0 <= value < 1 if upper_open else 0 <= value <= 1
    if not (math.isfinite(value) and ok):
        raise SpecurateInputError(
            f"{name} must be in [0, 1{')' if upper_open else ']'}, got {value}"
        )


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

    def piece(self, ctx: Context, t: float, u: np.ndarray, private: dict[str, Any]) -> Piece:
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
    weights_: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.shape not in ("prune-easy", "random", "custom"):
            raise SpecurateInputError(
                f"static shape must be prune-easy, random or custom, got {self.shape!r}"
            )
        _fraction("strength", self.strength, upper_open=self.shape != "prune-easy")
        _fraction("head_mass", self.head_mass)
        if self.shape == "custom" and self.weights_ is None:
            raise SpecurateInputError("a custom static policy needs weights")
        if self.n_examples < 1:
            raise SpecurateInputError(f"n_examples must be ≥ 1, got {self.n_examples}")

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
        _positive("κ (kappa)", self.kappa)
        _positive("κ growth rate", self.growth, allow_zero=True)

    def kappa_at(self, t: np.ndarray | float) -> np.ndarray:
        return self.kappa + self.growth * np.log1p(np.asarray(t, dtype=float))


def _per_example_loss(modes: Modes, u: np.ndarray) -> np.ndarray:
    """Loss per unit example mass of mode k: e_k u_k² / p_k (mode-local examples)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(modes.mass > 0, modes.energy * u**2 / modes.mass, 0.0)


@dataclass(frozen=True)
class _Refreshing(Policy):
    staleness: float = 0.1
    min_interval: float = 1.0
    score_cost: float = 1.0 / 3.0

    def _check_refresh(self) -> None:
        _positive("staleness", self.staleness, allow_zero=True)
        _positive("min_interval", self.min_interval, allow_zero=True)
        _positive("score_cost", self.score_cost, allow_zero=True)


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
        _positive("power", self.power)
        if self.cap is not None:
            _positive("cap", self.cap)
            if self.cap < 1:
                raise SpecurateInputError(f"cap must be ≥ 1 (mean weight is 1), got {self.cap}")
        self._check_refresh()

    def piece(self, ctx: Context, t: float, u: np.ndarray, private: dict[str, Any]) -> Piece:
        w = u * u if self.power == 2.0 else u**self.power
        w, w_rem = normalize(w, float(w[-1]), ctx.modes)
        if self.cap is not None:
            w, w_rem = _cap(w, w_rem, self.cap, ctx.modes)
        return pure_piece(ctx, w, w_rem)


def _cap(w: np.ndarray, w_rem: float, cap: float, modes: Modes) -> tuple[np.ndarray, float]:
    """Clip weights at ``cap`` and give the freed mass to the unclipped ones (water-filling)."""
    for _ in range(60):
        over = w > cap * (1 + 1e-12)
        if not over.any() and w_rem <= cap * (1 + 1e-12):
            break
        w = np.minimum(w, cap)
        w_rem = min(w_rem, cap)
        free = w < cap
        fixed = float(np.dot(modes.mass[~free], w[~free])) + (
            modes.p_rem * w_rem if w_rem >= cap else 0.0
        )
        rest = float(np.dot(modes.mass[free], w[free])) + (
            modes.p_rem * w_rem if w_rem < cap else 0.0
        )
        if rest <= 0:
            break
        scale = (1.0 - fixed) / rest
        w = np.where(free, w * scale, w)
        if w_rem < cap:
            w_rem *= scale
    return w, w_rem


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
        _positive("temperature", self.temperature)
        _positive("noise", self.noise, allow_zero=True)
        _fraction("label_noise", self.label_noise)
        _fraction("mix", self.mix, upper_open=False)
        if self.cap is not None and not (math.isfinite(self.cap) and self.cap >= 1):
            raise SpecurateInputError(f"cap must be ≥ 1, got {self.cap}")
        if self.noisy_loss is not None:
            _positive("noisy_loss", self.noisy_loss)
        self._check_refresh()

    def piece(self, ctx: Context, t: float, u: np.ndarray, private: dict[str, Any]) -> Piece:
        m = ctx.modes
        score = _per_example_loss(m, u)
        if self.noise > 0:
            score = score * np.exp(self.noise * ctx.rng.standard_normal(score.size))
        w = score ** (1.0 / self.temperature)
        w_rem = float(w[-1])
        nu = self.label_noise
        clean = 1.0 - nu
        if nu > 0:
            ell = self.noisy_loss if self.noisy_loss is not None else m.total_energy
            w_noise = ell ** (1.0 / self.temperature)
            z = clean * (float(np.dot(m.mass, w)) + m.p_rem * w_rem) + nu * w_noise
            w, w_rem, w_noise = w / z, w_rem / z, w_noise / z
            if self.mix > 0:
                w, w_rem = (1 - self.mix) * w + self.mix, (1 - self.mix) * w_rem + self.mix
                w_noise = (1 - self.mix) * w_noise + self.mix
            if self.cap is not None:
                w_noise = min(w_noise, self.cap)
            spare = 1.0 - nu * w_noise
            # clean examples hold mass (1−ν)p_k: their operator weight is (1−ν)ω_k
            w, w_rem = normalize(w, w_rem, m, spare=spare)
            if self.cap is not None:
                w, w_rem = _cap(w / spare, w_rem / spare, self.cap, m)
                w, w_rem = w * spare, w_rem * spare
            return pure_piece(ctx, w, w_rem, wasted=nu * w_noise)
        w, w_rem = normalize(w, w_rem, m)
        if self.mix > 0:
            w, w_rem = (1 - self.mix) * w + self.mix, (1 - self.mix) * w_rem + self.mix
        if self.cap is not None:
            w, w_rem = _cap(w, w_rem, self.cap, m)
        return pure_piece(ctx, w, w_rem)


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
        _positive("bias", self.bias)
        _positive("κ (kappa)", self.kappa)
        _positive("noise", self.noise, allow_zero=True)
        if self.cap is not None and not (math.isfinite(self.cap) and self.cap >= 1):
            raise SpecurateInputError(f"cap must be ≥ 1, got {self.cap}")
        self._check_refresh()

    def piece(self, ctx: Context, t: float, u: np.ndarray, private: dict[str, Any]) -> Piece:
        m = ctx.modes
        k_star = int(np.count_nonzero(u <= math.exp(-self.kappa)))
        est = self.bias * k_star * math.exp(self.noise * float(ctx.rng.standard_normal()))
        k_hat = min(int(est), m.n_modes - 1)
        w = np.ones(m.n_modes)
        w[:k_hat] = 0.0
        w, w_rem = normalize(w, 1.0, m)
        if self.cap is not None:
            w, w_rem = _cap(w, w_rem, self.cap, m)
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
            _positive("b_helper", self.b_helper)
        _positive("t_fix", self.t_fix)
        _positive("helper_cost", self.helper_cost, allow_zero=True)
        _fraction("mix", self.mix, upper_open=False)
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
            return {"lam_b": lam_b, "u_b": np.ones(ctx.modes.n_modes)}
        s = float(ctx.law.clock(self.t_fix))
        u_a = np.exp(-ctx.law.rate(ctx.modes.lam, 1.0) * s)
        u_b = np.exp(-ctx.law.rate(lam_b, 1.0) * s)
        return {"fixed": self._weights(ctx, u_a, u_b)}

    def _weights(self, ctx: Context, u_a: np.ndarray, u_b: np.ndarray) -> tuple[np.ndarray, float]:
        m = ctx.modes
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(m.mass > 0, m.energy * (u_a - u_b) ** 2 / m.mass, 0.0)
        if not np.any(d > 0):
            d = np.ones_like(d)
        w, w_rem = normalize(d, float(d[-1]), m)
        return (1 - self.mix) * w + self.mix, (1 - self.mix) * w_rem + self.mix

    def piece(self, ctx: Context, t: float, u: np.ndarray, private: dict[str, Any]) -> Piece:
        if "fixed" in private:
            w, w_rem = private["fixed"]
        else:
            w, w_rem = self._weights(ctx, u, private["u_b"])
        return pure_piece(ctx, w, w_rem)

    def advance(self, ctx: Context, private: dict[str, Any], piece: Piece, ds: float) -> None:
        if "u_b" in private:
            private["u_b"] = private["u_b"] * np.exp(
                -ctx.law.rate(private["lam_b"], piece.weight) * ds
            )


@dataclass(frozen=True)
class _Synthetic(_Refreshing):
    span: int = 1000
    fraction: float = 0.5

    def _check(self) -> None:
        if self.span < 1:
            raise SpecurateInputError(f"span must be ≥ 1 mode, got {self.span}")
        _fraction("fraction", self.fraction)
        self._check_refresh()

    def _restricted(self, ctx: Context, span: int) -> np.ndarray:
        """Operator eigenvalues of data covering modes ≤ span (mass renormalized to 1)."""
        m = ctx.modes
        span = min(span, m.n_modes)
        inside = np.arange(m.n_modes) < span
        p_in = float(m.mass[inside].sum()) + (m.p_rem if span >= m.n_modes else 0.0)
        return np.where(inside, m.lam / p_in, 0.0)

    def _mixture(self, ctx: Context, lam_s: np.ndarray, u_s: np.ndarray) -> Piece:
        law = ctx.law
        lam_r = self._restricted(ctx, self.span)
        f = self.fraction
        mix = (1 - f) * lam_r + f * lam_s
        rate = law.c * mix**law.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.where(mix > 0, f * lam_s * u_s / mix, 1.0)
            weight = mix / ctx.modes.lam
        # the analytic tail beyond N is outside every span: never learned
        return Piece(rate, target, weight, 0.0)


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
        if self.teacher_span < 1:
            raise SpecurateInputError(f"teacher_span must be ≥ 1, got {self.teacher_span}")
        _positive("teacher_time", self.teacher_time)

    def piece(self, ctx: Context, t: float, u: np.ndarray, private: dict[str, Any]) -> Piece:
        if "piece" not in private:
            lam_t = self._restricted(ctx, self.teacher_span)
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

    def piece(self, ctx: Context, t: float, u: np.ndarray, private: dict[str, Any]) -> Piece:
        lam_s = self._restricted(ctx, self.span)
        return self._mixture(ctx, lam_s, u.copy())


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
