r"""Dynamic curation strategies: sampling weights that follow per-example statistics in training.

Every strategy here keeps a running per-example estimate of a statistic (the training loss, a
probe's loss, a disagreement) fed through ``update(state, indices, stats)`` with the values of
the examples just trained on — they come from the training forward pass, so they cost nothing
extra unless the strategy needs a second model (then ``state.info`` counts the extra passes).

Bookkeeping (shared by all strategies, theory.md §4 "self-scoring", "online probes"):

* ``arrays[key]`` (n,) float64: the LAST observed value of each tracked statistic;
* ``arrays["last_seen"]`` (n,) int64: the update step (0, 1, …) at which the example was last
  observed, −1 if never: staleness = ``info["updates"] − last_seen``;
* unseen examples get a neutral score: ``prior`` when given, else the mean score of the examples
  seen so far (else 1), so they are neither starved nor favoured.

Scores s_i ≥ 0 become weights with mean 1 through :func:`bounded_weights`
(w ∝ s^{1/T}, mixed with uniform, capped at C) and an epoch plan through :func:`draw_plan`,
in the ``"reweight"`` (biased: changes the operator T_w) or ``"unbiased"`` (importance
sampling: changes only the variance) mode. A class attribute cannot depend on the mode, so
these strategies expose the instance property ``declares_unbiased`` (``mode == "unbiased"``),
which :func:`specurate.curation.combine.declares_unbiased` reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from specurate.curation.base import (
    MODES,
    Mode,
    Plan,
    State,
    Strategy,
    bounded_weights,
    check_cap,
    check_epoch_length,
    check_indices,
    check_n,
    check_stat,
    draw_plan,
    epoch_rng,
    new_state,
)
from specurate.errors import SpecurateInputError, check_positive, check_unit

__all__ = [
    "Bandit",
    "EnsembleDisagreement",
    "InfoBatchStyle",
    "LossProportional",
    "OnlineProbe",
    "ReducibleLoss",
    "cross_half_loss",
    "split_halves",
]

BanditPolicy = Literal["ucb", "eps-greedy"]


# ----------------------------------------------------------------------------- validation
def _nonneg_stat(stats: Mapping[str, np.ndarray], key: str, size: int) -> np.ndarray:
    v = check_stat(stats, key, size)
    if np.any(v < 0):
        raise SpecurateInputError(f"{key} must be ≥ 0 (losses and disagreements are)")
    return v


def _check_array(a: np.ndarray, name: str) -> np.ndarray:
    v = np.array(a, dtype=float, copy=True)
    if v.ndim != 1 or v.size == 0:
        raise SpecurateInputError(f"{name} must be a non-empty 1-D array, got shape {v.shape}")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise SpecurateInputError(f"{name} must be finite and ≥ 0")
    v.setflags(write=False)
    return v


# ----------------------------------------------------------------------------- running stats
@dataclass(frozen=True, kw_only=True)
class _Tracker(Strategy):
    """Running per-example statistics (last observed value, last-seen step) and neutral fill."""

    tracked: ClassVar[tuple[str, ...]] = ("loss",)
    epoch_length: int | None = None
    prior: float | None = None

    def _validate_tracker(self) -> None:
        check_epoch_length(self.epoch_length)
        if self.prior is not None:
            check_positive("prior", self.prior, allow_zero=True)

    def __post_init__(self) -> None:
        self._validate_tracker()

    def _default_epoch_length(self, n: int) -> int:
        return n

    def init(self, n_examples: int, *, seed: int = 0) -> State:
        """State with zeroed running statistics, ``last_seen = −1`` and ``info["updates"] = 0``."""
        n = check_n(n_examples)
        m = self._default_epoch_length(n) if self.epoch_length is None else self.epoch_length
        arrays = {k: np.zeros(n) for k in self.tracked}
        st = new_state(n, seed=seed, epoch_length=m, last_seen=np.full(n, -1, np.int64), **arrays)
        return st.with_info(updates=0, observed=0, extra_forward=0, extra_compute=0.0)

    def _observe(self, stats: Mapping[str, np.ndarray], m: int) -> dict[str, np.ndarray]:
        """Validated (m,) values of the tracked statistics from ``stats``."""
        return {k: _nonneg_stat(stats, k, m) for k in self.tracked}

    def _extra_cost(self, m: int) -> tuple[int, float]:
        """Extra forward passes and extra compute (in main-model passes) of observing m values."""
        return 0, 0.0

    def update(self, state: State, indices: np.ndarray, stats: Mapping[str, np.ndarray]) -> State:
        """New state: the observed values overwrite the running ones (last write wins)."""
        idx = check_indices(indices, state.n)
        values = self._observe(stats, idx.size)
        step = int(state.info.get("updates", 0))
        new = {}
        for k, v in values.items():
            a = np.array(state.arrays[k], copy=True)
            a[idx] = v
            new[k] = a
        seen = np.array(state.arrays["last_seen"], copy=True)
        seen[idx] = step
        fwd, comp = self._extra_cost(idx.size)
        info = state.info
        return state.with_arrays(last_seen=seen, **new).with_info(
            updates=step + 1,
            observed=int(info.get("observed", 0)) + idx.size,
            extra_forward=int(info.get("extra_forward", 0)) + fwd,
            extra_compute=float(info.get("extra_compute", 0.0)) + comp,
        )

    def seen(self, state: State) -> np.ndarray:
        """(n,) bool: examples observed at least once."""
        return np.asarray(state.arrays["last_seen"]) >= 0

    def staleness(self, state: State) -> np.ndarray:
        """(n,) float: update steps since each example was last observed (inf if never)."""
        ls = np.asarray(state.arrays["last_seen"])
        age = float(state.info.get("updates", 0)) - ls.astype(float)
        return np.where(ls >= 0, age, np.inf)

    def _raw_scores(self, state: State) -> np.ndarray:
        return np.asarray(state.arrays[self.tracked[0]], dtype=float)

    def scores(self, state: State) -> np.ndarray:
        r"""(n,) scores s_i ≥ 0: the running statistic for seen examples, neutral otherwise.

        s_i = raw_i if i was observed, else ``prior`` if given, else mean_{j seen} raw_j
        (else 1 before any observation).
        """
        raw = self._raw_scores(state)
        seen = self.seen(state)
        if self.prior is not None:
            fill = float(self.prior)
        elif seen.any():
            fill = float(raw[seen].mean())
        else:
            fill = 1.0
        return np.where(seen, raw, fill)

    def running_loss(self, state: State) -> np.ndarray:
        """(n,) running training-loss estimate (unseen examples: the neutral fill)."""
        return self.scores(state)


@dataclass(frozen=True, kw_only=True)
class _ScoreSampler(_Tracker):
    """Weights w = bounded_weights(scores; T, C, mix) and plans drawn by ``draw_plan``."""

    temperature: float = 1.0
    cap: float | None = None
    mix: float = 0.1
    mode: Mode = "reweight"

    def __post_init__(self) -> None:
        self._validate_tracker()
        check_positive("temperature", self.temperature)
        check_cap(self.cap)
        check_unit("mix", self.mix)
        if self.mode not in MODES:
            raise SpecurateInputError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "unbiased" and self.mix == 0:
            raise SpecurateInputError(
                "mode='unbiased' needs mix > 0 so every example keeps a positive probability"
            )

    @property
    def declares_unbiased(self) -> bool:
        """True in ``"unbiased"`` mode: multipliers 1/(n p_i) make E[weighted gradient] exact."""
        return self.mode == "unbiased"

    def weights(self, state: State) -> np.ndarray:
        r"""(n,) weights with mean 1: w = (1−mix)·s^{1/T}/mean(s^{1/T}) + mix, capped at C."""
        return bounded_weights(
            self.scores(state), temperature=self.temperature, cap=self.cap, mix=self.mix
        )

    def plan(self, state: State, epoch: int) -> Plan:
        """``epoch_length`` systematic draws with p_i = w_i / n from the epoch's generator."""
        rng = epoch_rng(state, epoch)
        return draw_plan(self.weights(state), state.epoch_length, rng, mode=self.mode)

    def expected_weights(self, state: State) -> np.ndarray:
        r"""Closed form E[count_i]/m · mult_i: p_i (reweight), p_i · 1/(n p_i) = 1/n (unbiased)."""
        w = self.weights(state)
        p = w / w.sum()
        if self.mode == "reweight":
            return p
        return np.where(p > 0, 1.0 / state.n, 0.0)


# ----------------------------------------------------------------------------- strategies
@dataclass(frozen=True, kw_only=True)
class LossProportional(_ScoreSampler):
    r"""Sample in proportion to the running training loss (self-scoring, theory.md §4).

    w_i = (1 − mix)·ℓ_i^{1/T} / mean_j ℓ_j^{1/T} + mix, clipped at C with the excess
    water-filled (mean(w) = 1, max(w) ≤ C); p_i = w_i / n. ``temperature`` T → ∞ is uniform,
    T → 0 the hardest example. ``mode="reweight"`` trains the reweighted objective
    (1/n) Σ w_i ℓ_i (biased: it changes T_w, like the simulator's
    :class:`~specurate.dynamics.policies.SelfScore` with the same ``temperature``, ``mix``,
    ``cap``); ``mode="unbiased"`` multiplies the loss by 1/w_i (importance sampling).
    ℓ_i is the last observed loss of example i (free: from the training forward pass);
    unseen examples get ``prior`` or the mean observed loss.

    >>> s = LossProportional(mix=0.0)
    >>> st = s.update(s.init(4, seed=0), np.arange(4), {"loss": np.array([1.0, 1, 1, 5])})
    >>> s.weights(st).round(2).tolist()
    [0.5, 0.5, 0.5, 2.5]
    """

    name: ClassVar[str] = "loss-proportional"
    needs: ClassVar[frozenset[str]] = frozenset({"loss"})


@dataclass(frozen=True, kw_only=True)
class InfoBatchStyle(_Tracker):
    r"""InfoBatch-style pruning (Qin et al., ICLR 2024) with a FIXED epoch length.

    Each (non-annealing) epoch, with running losses ℓ and L = {i : ℓ_i < mean ℓ} (ℓ_L = |L|):

    1. drop r = ⌊prune·|L|⌋ examples of L chosen uniformly at random (InfoBatch drops each with
       probability ``prune``; an exact count has the same expectation and never drops all of L);
    2. the kept set K (k = n − r examples) fills the epoch's m slots: ⌊m/k⌋ copies of K plus a
       random (m mod k)-subset of it, shuffled — every kept example appears m/k times on average
       (k > m truncates, k < m repeats);
    3. loss multipliers: (k/n) for kept above-mean examples and (k/n)·|L|/(|L| − r) ≈
       (k/n)/(1 − prune) for kept below-mean ones — InfoBatch's 1/(1 − prune) rescaling, up to
       the global factor k/n that makes every STEP unbiased (InfoBatch's shrinking epoch keeps
       the epoch total instead; scale the learning rate by n/m to mimic its larger steps).

    Given the state the plan is exactly unbiased: E[Σ_j mult_j 1{idx_j = i}]/m = 1/n for all i
    (the set L itself depends on stale losses, as in InfoBatch). In the last ``anneal`` fraction
    of ``total_epochs`` (epoch ≥ ⌈(1 − anneal)·total_epochs⌉) the plan draws m slots from the
    full data uniformly with multiplier 1.

    The epoch length is fixed up front (InfoBatch's shrinking epochs break step-based schedules):
    ``epoch_length`` defaults to the expected kept count n(1 − prune·q) with q = 1/2 (the fraction
    of below-mean examples for a symmetric loss distribution; skewed losses have q < 1/2). Compute
    saved: 1 − m/n = prune/2 of every epoch (25% at prune = 0.5), annealing epochs included.
    """

    name: ClassVar[str] = "infobatch-style"
    unbiased: ClassVar[bool] = True
    needs: ClassVar[frozenset[str]] = frozenset({"loss"})
    prune: float = 0.5
    anneal: float = 0.125
    total_epochs: int | None = None

    def __post_init__(self) -> None:
        self._validate_tracker()
        check_unit("prune", self.prune, closed=False)
        check_unit("anneal", self.anneal)
        te = self.total_epochs
        if te is not None and (isinstance(te, bool) or int(te) != te or te < 1):
            raise SpecurateInputError(f"total_epochs must be a positive integer or None, got {te}")

    def _default_epoch_length(self, n: int) -> int:
        return max(1, round(n * (1.0 - 0.5 * self.prune)))

    def annealing(self, epoch: int) -> bool:
        """Whether ``epoch`` is in the final full-data phase (never when total_epochs is None)."""
        if self.total_epochs is None:
            return False
        return epoch >= math.ceil((1.0 - self.anneal) * self.total_epochs)

    def below_mean(self, state: State) -> np.ndarray:
        """(n,) bool: running loss below the mean (unseen examples sit at the mean: kept)."""
        loss = self.scores(state)
        mu = float(loss.mean())
        return loss < mu - 1e-12 * max(abs(mu), 1e-300)

    def _multipliers(self, state: State, low: np.ndarray) -> tuple[np.ndarray, int, int]:
        n = state.n
        n_low = int(low.sum())
        r = math.floor(self.prune * n_low)
        k = n - r
        mult = np.full(n, k / n)
        if r:
            mult[low] *= n_low / (n_low - r)
        return mult, r, k

    def plan(self, state: State, epoch: int) -> Plan:
        """The kept set (random drops among below-mean examples) filling exactly m slots."""
        rng = epoch_rng(state, epoch)
        n, m = state.n, state.epoch_length
        if self.annealing(epoch):
            kept, mult = np.arange(n, dtype=np.int64), np.ones(n)
        else:
            low = self.below_mean(state)
            mult, r, _ = self._multipliers(state, low)
            keep = np.ones(n, dtype=bool)
            if r:
                keep[rng.choice(np.flatnonzero(low), size=r, replace=False)] = False
            kept = np.flatnonzero(keep).astype(np.int64)
        k = kept.size
        q, rest = divmod(m, k)
        parts = [kept] * q + [rng.permutation(kept)[:rest]]
        idx = rng.permutation(np.concatenate(parts)).astype(np.int64)
        return Plan(idx, mult[idx])

    def expected_weights(self, state: State) -> np.ndarray:
        r"""Closed form E[count_i·mult_i]/m = P(i ∈ K)·(m/k)·mult_i/m (= 1/n for every i).

        P(i ∈ K) = 1 above the mean and (|L| − r)/|L| below it. (Annealing epochs: 1/n too.)
        """
        low = self.below_mean(state)
        mult, r, k = self._multipliers(state, low)
        n_low = int(low.sum())
        p_in = np.ones(state.n)
        if n_low:
            p_in[low] = (n_low - r) / n_low
        return p_in * mult / k

    def keep_fraction(self, state: State) -> float:
        """m/n: the fraction of a full epoch's steps this strategy runs."""
        return state.epoch_length / state.n


def split_halves(n_examples: int, *, seed: int) -> np.ndarray:
    """(n,) int8 labels 0/1: a seeded random split into halves A (0) and B (1), sizes ⌈n/2⌉, ⌊n/2⌋.

    The holdout-free RHO-LOSS protocol trains model A on half A and model B on half B.
    """
    n = check_n(n_examples)
    halves = np.zeros(n, dtype=np.int8)
    halves[np.random.default_rng(seed).permutation(n)[(n + 1) // 2 :]] = 1
    return halves


def cross_half_loss(loss_a: np.ndarray, loss_b: np.ndarray, halves: np.ndarray) -> np.ndarray:
    r"""Irreducible-loss estimate of each example from the model that did NOT train on it.

    irreducible_i = loss_b_i if i ∈ half A (halves_i = 0) else loss_a_i, where loss_a / loss_b
    are (m,) losses of the same examples under models A / B. Pass it as ``stats["loss_other"]``.
    """
    a = np.asarray(loss_a, dtype=float).ravel()
    b = np.asarray(loss_b, dtype=float).ravel()
    h = np.asarray(halves).ravel()
    if not (a.size == b.size == h.size):
        raise SpecurateInputError(
            f"loss_a, loss_b and halves must have equal lengths, got {a.size}, {b.size}, {h.size}"
        )
    if not np.all(np.isin(h, (0, 1))):
        raise SpecurateInputError("halves must contain only 0 (half A) and 1 (half B)")
    return np.where(h == 0, b, a)


@dataclass(frozen=True, kw_only=True, eq=False)
class ReducibleLoss(_ScoreSampler):
    r"""RHO-LOSS-style sampling (Mindermann et al., ICML 2022): reducible holdout loss.

    Score s_i = max(ℓ_i − ℓ^irr_i, 0): the training loss minus the irreducible loss, i.e. the
    loss of a model that never trained on i. Learnable, not-yet-learned examples score high;
    noisy or unlearnable ones (high ℓ^irr) and learned ones (low ℓ) score low — the guard
    against oracle collapse (theory.md §5). Weights and plans as in :class:`LossProportional`.

    ``holdout_loss`` (n,): ℓ^irr from a model trained on a separate holdout set (its cost, one
    training run plus n forward passes, is the user's and is not counted here).

    Holdout-free variant (``holdout_loss=None``): split the data with :func:`split_halves`,
    train model A on half A and model B on half B (each on half the data); the irreducible
    loss of an example in half A is model B's loss on it and vice versa
    (:func:`cross_half_loss`). Pass it with every update as ``stats["loss_other"]``; each
    such value is one extra forward pass, counted in ``info["extra_forward"]``.
    """

    name: ClassVar[str] = "reducible-loss"
    holdout_loss: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.holdout_loss is not None:
            object.__setattr__(
                self, "holdout_loss", _check_array(self.holdout_loss, "holdout_loss")
            )

    @property
    def tracked(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("loss",) if self.holdout_loss is not None else ("loss", "loss_other")

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset(self.tracked)

    def init(self, n_examples: int, *, seed: int = 0) -> State:
        """Tracker state; checks that ``holdout_loss`` has n entries."""
        if self.holdout_loss is not None and self.holdout_loss.size != n_examples:
            raise SpecurateInputError(
                f"holdout_loss has {self.holdout_loss.size} entries for {n_examples} examples"
            )
        return super().init(n_examples, seed=seed)

    def _extra_cost(self, m: int) -> tuple[int, float]:
        return (0, 0.0) if self.holdout_loss is not None else (m, float(m))

    def irreducible(self, state: State) -> np.ndarray:
        """(n,) irreducible-loss estimate (holdout-free: last observed, unseen: seen mean)."""
        if self.holdout_loss is not None:
            return np.asarray(self.holdout_loss)
        return np.asarray(state.arrays["loss_other"], dtype=float)

    def _raw_scores(self, state: State) -> np.ndarray:
        return np.maximum(np.asarray(state.arrays["loss"]) - self.irreducible(state), 0.0)


@dataclass(frozen=True, kw_only=True)
class OnlineProbe(_ScoreSampler):
    r"""Online probe (theory.md §4): a small co-trained model's per-example loss is the score.

    s_i = last observed ``stats["probe_loss"]`` of example i; weights and plans as in
    :class:`LossProportional` (the simulator's :class:`~specurate.dynamics.policies.Probe`
    tracks the frontier with lag ``bias`` < 1 in the same way: a smaller model trails the
    learner). The probe trains on the same batches, so every observed example costs one probe
    forward+backward: ``info["extra_forward"]`` counts them and ``info["extra_compute"]`` adds
    ``probe_cost`` (the probe's compute relative to the main model) per example.
    """

    name: ClassVar[str] = "online-probe"
    tracked: ClassVar[tuple[str, ...]] = ("probe_loss",)
    needs: ClassVar[frozenset[str]] = frozenset({"probe_loss"})
    probe_cost: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("probe_cost", self.probe_cost, allow_zero=True)

    def _extra_cost(self, m: int) -> tuple[int, float]:
        return m, self.probe_cost * m


@dataclass(frozen=True, kw_only=True)
class EnsembleDisagreement(_ScoreSampler):
    r"""Heterogeneous-ensemble disagreement (theory.md §4) as the sampling score.

    s_i = last observed ``stats["disagreement"]`` (e.g. ‖f_A(x_i) − f_B(x_i)‖², the simulator's
    :class:`~specurate.dynamics.policies.Ensemble` score e_k(u^A_k − u^B_k)²/p_k); without it,
    |``loss`` − ``loss_other``| from the two models' losses. Every observed example costs a
    forward+backward of the co-trained helper: ``helper_cost`` (relative to the main model) is
    added to ``info["extra_compute"]`` per example.
    """

    name: ClassVar[str] = "ensemble-disagreement"
    tracked: ClassVar[tuple[str, ...]] = ("disagreement",)
    needs: ClassVar[frozenset[str]] = frozenset({"disagreement"})
    helper_cost: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("helper_cost", self.helper_cost, allow_zero=True)

    def _observe(self, stats: Mapping[str, np.ndarray], m: int) -> dict[str, np.ndarray]:
        if "disagreement" in stats:
            return {"disagreement": _nonneg_stat(stats, "disagreement", m)}
        if "loss" in stats and "loss_other" in stats:
            a, b = _nonneg_stat(stats, "loss", m), _nonneg_stat(stats, "loss_other", m)
            return {"disagreement": np.abs(a - b)}
        raise SpecurateInputError(
            "this strategy needs 'disagreement' or both 'loss' and 'loss_other'"
        )

    def _extra_cost(self, m: int) -> tuple[int, float]:
        return m, self.helper_cost * m


@dataclass(frozen=True, kw_only=True, eq=False)
class Bandit(Strategy):
    r"""Multi-armed bandit over clusters (or examples) rewarded by learning progress.

    Arms: ``arms`` (n,) integer cluster labels, or None (every example is an arm). The epoch's m
    slots are cut into ⌈m/chunk⌉ chunks; each chunk goes to one arm (cluster arms: ``chunk``
    examples cycled from a seeded permutation of the arm) or, with example arms, to the
    ``chunk`` best distinct arms. Chunks stay contiguous in the plan, so a loader with
    batch size ``chunk`` sees one arm per batch. Multipliers are 1 (a reweighting rule).

    Reward of arm a at a visit: r = ℓ̄_a(previous visit) − ℓ̄_a(this visit), the decrease of
    the arm's mean observed loss (learning progress); r̄_a is the mean reward over N_a visits.

    * ``policy="ucb"``: arm = argmax r̄_a + c·√(ln(T + 2)/(N_a + v_a)), arms with no reward yet
      first; v_a counts the chunks already given to a in this plan (so chunks spread out) and
      T = Σ_a (N_a + v_a). ``c`` is in loss units.
    * ``policy="eps-greedy"``: with probability ``eps`` a uniform random arm, else argmax r̄_a
      (arms with no reward yet first).

    Planning costs O(m·A/chunk) for A arms. Reward estimates mix different examples of an arm
    between visits, so they are noisy for heterogeneous clusters.
    """

    name: ClassVar[str] = "bandit"
    needs: ClassVar[frozenset[str]] = frozenset({"loss"})
    arms: np.ndarray | None = field(default=None, repr=False)
    policy: BanditPolicy = "ucb"
    eps: float = 0.1
    c: float = 1.0
    chunk: int = 32
    epoch_length: int | None = None

    def __post_init__(self) -> None:
        if self.policy not in ("ucb", "eps-greedy"):
            raise SpecurateInputError(f"policy must be 'ucb' or 'eps-greedy', got {self.policy!r}")
        check_unit("eps", self.eps)
        check_positive("c", self.c, allow_zero=True)
        if isinstance(self.chunk, bool) or int(self.chunk) != self.chunk or self.chunk < 1:
            raise SpecurateInputError(f"chunk must be a positive integer, got {self.chunk}")
        check_epoch_length(self.epoch_length)
        if self.arms is not None:
            a = np.asarray(self.arms)
            if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.integer):
                raise SpecurateInputError("arms must be a non-empty 1-D array of integer labels")
            _, codes = np.unique(a, return_inverse=True)
            codes = codes.astype(np.int64)
            codes.setflags(write=False)
            object.__setattr__(self, "arms", codes)

    def init(self, n_examples: int, *, seed: int = 0) -> State:
        """Per-arm state: last mean loss (NaN: never seen), reward sums, reward counts, visits."""
        n = check_n(n_examples)
        if self.arms is None:
            arm_of = np.arange(n, dtype=np.int64)
        else:
            if self.arms.size != n:
                raise SpecurateInputError(f"arms has {self.arms.size} entries for {n} examples")
            arm_of = self.arms
        a = int(arm_of.max()) + 1
        m = n if self.epoch_length is None else self.epoch_length
        st = new_state(
            n,
            seed=seed,
            epoch_length=m,
            arm_of=arm_of,
            arm_loss=np.full(a, np.nan),
            reward_sum=np.zeros(a),
            pulls=np.zeros(a),
            visits=np.zeros(a, dtype=np.int64),
        )
        return st.with_info(updates=0, observed=0, extra_forward=0, extra_compute=0.0)

    def update(self, state: State, indices: np.ndarray, stats: Mapping[str, np.ndarray]) -> State:
        """Arms observed in this batch get reward ℓ̄_prev − ℓ̄_now (if seen before)."""
        idx = check_indices(indices, state.n)
        loss = _nonneg_stat(stats, "loss", idx.size)
        arm_of = np.asarray(state.arrays["arm_of"])
        n_arms = state.arrays["arm_loss"].size
        obs = arm_of[idx]
        cnt = np.bincount(obs, minlength=n_arms)
        sums = np.bincount(obs, weights=loss, minlength=n_arms)
        hit = cnt > 0
        cur = np.where(hit, sums / np.maximum(cnt, 1), np.nan)
        prev = np.asarray(state.arrays["arm_loss"])
        rewarded = hit & np.isfinite(prev)
        reward_sum = np.array(state.arrays["reward_sum"], copy=True)
        pulls = np.array(state.arrays["pulls"], copy=True)
        reward_sum[rewarded] += prev[rewarded] - cur[rewarded]
        pulls[rewarded] += 1
        arm_loss = np.where(hit, cur, prev)
        visits = np.asarray(state.arrays["visits"]) + hit
        return state.with_arrays(
            arm_loss=arm_loss, reward_sum=reward_sum, pulls=pulls, visits=visits
        ).with_info(
            updates=int(state.info.get("updates", 0)) + 1,
            observed=int(state.info.get("observed", 0)) + idx.size,
        )

    def mean_reward(self, state: State) -> np.ndarray:
        """(A,) mean reward per arm (0 where no reward observed yet)."""
        pulls = np.asarray(state.arrays["pulls"])
        return np.asarray(state.arrays["reward_sum"]) / np.maximum(pulls, 1)

    def _pick(self, state: State, virt: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        pulls = np.asarray(state.arrays["pulls"])
        mean = self.mean_reward(state)
        if self.policy == "ucb":
            total = pulls + virt
            with np.errstate(divide="ignore"):
                bonus = self.c * np.sqrt(math.log(total.sum() + 2.0) / total)
            score = np.where(total > 0, mean + bonus, np.inf)
        else:
            score = np.where((pulls > 0) | (virt > 0), mean, np.inf)
        k = min(k, score.size)
        best = np.lexsort((rng.random(score.size), -score))[:k]  # ties broken at random
        if self.policy == "eps-greedy":
            explore = rng.random(k) < self.eps
            best = np.where(explore, rng.integers(0, score.size, size=k), best)
        return best

    def plan(self, state: State, epoch: int) -> Plan:
        """Chunks assigned arm by arm with virtual visit counts (see the class docstring)."""
        rng = epoch_rng(state, epoch)
        m = state.epoch_length
        arm_of = np.asarray(state.arrays["arm_of"])
        n_arms = state.arrays["arm_loss"].size
        virt = np.zeros(n_arms)
        perm = rng.permutation(state.n)
        perm = perm[np.argsort(arm_of[perm], kind="stable")]
        starts = np.searchsorted(arm_of[perm], np.arange(n_arms + 1))
        ptr = np.zeros(n_arms, dtype=np.int64)
        out: list[np.ndarray] = []
        filled = 0
        while filled < m:
            if self.arms is None:
                chosen = self._pick(state, virt, min(self.chunk, m - filled), rng)
                np.add.at(virt, chosen, 1)
                out.append(chosen.astype(np.int64))
                filled += chosen.size
            else:
                a = int(self._pick(state, virt, 1, rng)[0])
                virt[a] += 1
                size = starts[a + 1] - starts[a]
                take = min(self.chunk, m - filled)
                pos = (ptr[a] + np.arange(take)) % size
                ptr[a] += take
                out.append(perm[starts[a] + pos].astype(np.int64))
                filled += take
        idx = np.concatenate(out)[:m]
        return Plan(idx, np.ones(m))
