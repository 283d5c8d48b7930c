r"""Dynamic curation strategies: sampling weights that follow per-example statistics in training.

Every strategy here keeps a running per-example estimate of a statistic (the training loss, a
probe's loss, a disagreement) fed through ``update(state, indices, stats)`` with the values of
the examples just trained on — they come from the training forward pass, so they cost nothing
extra unless the strategy needs a second model (then the state's :class:`Accounting` counts the
extra passes).

Bookkeeping (:class:`ScoreState`, shared by all strategies here; theory.md §4 "self-scoring",
"online probes"):

* ``values[key]`` (n,) float64: the LAST observed value of each tracked statistic;
* ``last_seen`` (n,) int64: the ordinal of the observation (0, 1, … over all trained
  examples) at which the example was last observed, −1 if never: staleness, in examples
  trained since, is ``accounting.trained − 1 − last_seen``. Ordinals (not update calls) make the
  state independent of how observations are split into updates;
* unseen examples get a neutral score: ``prior`` when given, else the mean score of the examples
  seen so far (else 1), so they are neither starved nor favoured.

Scores s_i ≥ 0 become weights with mean 1 through :func:`bounded_weights`
(w ∝ s^{1/T}, mixed with uniform, capped at C) and an epoch plan through :func:`draw_plan`,
with ``correction="reweight"`` (biased: changes the operator T_w) or ``"importance"``
(importance sampling: changes only the variance).

Cost: ``update`` is O(m log m + n) (one copy of the n-arrays; call it once per plan with all
its observations — :class:`~specurate.torch.CurationSampler` does); ``plan`` is O(n).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np

from specurate import _rng
from specurate._validate import (
    check_int,
    check_positive,
    check_positive_int,
    check_seed,
    check_unit,
)
from specurate.curation.base import (
    Accounting,
    Correction,
    Plan,
    Strategy,
    StrategyState,
    bounded_weights,
    check_batch,
    check_cap,
    check_data_array,
    check_epoch_length,
    check_stat,
    data_field,
    draw_plan,
    epoch_rng,
    last_occurrence,
    readonly,
    resolve_correction,
    scatter,
)
from specurate.errors import SpecurateInputError

__all__ = [
    "Bandit",
    "BanditState",
    "EnsembleDisagreement",
    "InfoBatchStyle",
    "LossProportional",
    "OnlineProbe",
    "ReducibleLoss",
    "ScoreState",
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


# ----------------------------------------------------------------------------- running stats
@dataclass(frozen=True, kw_only=True, eq=False)
class ScoreState(StrategyState):
    """State of the running-statistic strategies (see the module docstring).

    Attributes:
        values: (n,) float64 last observed value of each tracked statistic, by name.
        last_seen: (n,) int64 observation ordinal of each example's last observation (−1: never).
        extra: (n,) float64 per-example init data the strategy keeps (e.g. a holdout loss),
            or None.
    """

    values: Mapping[str, np.ndarray]
    last_seen: np.ndarray
    extra: np.ndarray | None = None


@dataclass(frozen=True, kw_only=True)
class _Tracker(Strategy):
    """Running per-example statistics (last observed value, last-seen ordinal), neutral fill."""

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

    def _tracked(self) -> tuple[str, ...]:
        return self.tracked

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> ScoreState:
        """State with zeroed running statistics and ``last_seen = −1``."""
        n, seed = check_positive_int("n_examples", n_examples), check_seed(seed)
        self._init_data(data)
        m = self._default_epoch_length(n) if self.epoch_length is None else self.epoch_length
        values = {k: readonly(np.zeros(n)) for k in self._tracked()}
        return ScoreState(
            n=n,
            seed=seed,
            epoch_length=int(m),
            values=values,
            last_seen=readonly(np.full(n, -1, np.int64)),
        )

    def _check_state(self, state: Any) -> ScoreState:
        if not isinstance(state, ScoreState) or set(state.values) != set(self._tracked()):
            raise SpecurateInputError(
                f"{self.name} got a state of another strategy ({type(state).__name__})"
            )
        return state

    def _observe(self, stats: Mapping[str, np.ndarray], m: int) -> dict[str, np.ndarray]:
        """Validated (m,) values of the tracked statistics from ``stats``."""
        return {k: _nonneg_stat(stats, k, m) for k in self._tracked()}

    def update(
        self, state: StrategyState, indices: np.ndarray, stats: Mapping[str, np.ndarray]
    ) -> ScoreState:
        """New state: the observed values overwrite the running ones (the last row wins)."""
        st = self._check_state(state)
        idx, stats = check_batch(st, indices, stats)
        values = self._observe(stats, idx.size)
        if idx.size == 0:
            return st
        last = last_occurrence(idx, st.n)
        pos = idx[last]
        ordinal = st.accounting.trained + last
        new = {k: scatter(st.values[k], pos, v[last]) for k, v in values.items()}
        return replace(
            st,
            values=new,
            last_seen=scatter(st.last_seen, pos, ordinal),
            accounting=st.accounting + self.cost(idx.size),
        )

    def seen(self, state: ScoreState) -> np.ndarray:
        """(n,) bool: examples observed at least once."""
        return np.asarray(state.last_seen) >= 0

    def staleness(self, state: ScoreState) -> np.ndarray:
        """(n,) float: examples trained since each example was last observed (inf if never)."""
        ls = np.asarray(state.last_seen)
        age = float(state.accounting.trained) - 1.0 - ls.astype(float)
        return np.where(ls >= 0, age, np.inf)

    def _raw_scores(self, state: ScoreState) -> np.ndarray:
        return np.asarray(state.values[self._tracked()[0]], dtype=float)

    def scores(self, state: StrategyState) -> np.ndarray:
        r"""(n,) scores s_i ≥ 0: the running statistic for seen examples, neutral otherwise.

        s_i = raw_i if i was observed, else ``prior`` if given, else mean_{j seen} raw_j
        (else 1 before any observation).
        """
        state = self._check_state(state)
        raw = self._raw_scores(state)
        seen = self.seen(state)
        if self.prior is not None:
            fill = float(self.prior)
        elif seen.any():
            fill = float(raw[seen].mean())
        else:
            fill = 1.0
        return np.where(seen, raw, fill)

    def running_loss(self, state: ScoreState) -> np.ndarray:
        """(n,) running training-loss estimate (unseen examples: the neutral fill)."""
        return self.scores(state)


@dataclass(frozen=True, kw_only=True)
class _ScoreSampler(_Tracker):
    """Weights w = bounded_weights(scores; T, C, mix) and plans drawn by ``draw_plan``."""

    temperature: float = 1.0
    cap: float | None = None
    mix: float = 0.1
    correction: Correction = "reweight"
    mode: str | None = data_field()

    def __post_init__(self) -> None:
        self._validate_tracker()
        check_positive("temperature", self.temperature)
        check_cap(self.cap)
        check_unit("mix", self.mix)
        object.__setattr__(
            self, "correction", resolve_correction(self.correction, self.mode, type(self).__name__)
        )
        object.__setattr__(self, "mode", None)
        if self.correction == "importance" and self.mix == 0:
            raise SpecurateInputError(
                "correction='importance' needs mix > 0 so every example keeps a positive "
                "probability"
            )

    def weights(self, state: ScoreState) -> np.ndarray:
        r"""(n,) weights with mean 1: w = (1−mix)·s^{1/T}/mean(s^{1/T}) + mix, capped at C."""
        return bounded_weights(
            self.scores(state), temperature=self.temperature, cap=self.cap, mix=self.mix
        )

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        """``epoch_length`` systematic draws with p_i = w_i / n from the epoch's generator."""
        state = self._check_state(state)
        rng = epoch_rng(state, epoch)
        return draw_plan(self.weights(state), state.epoch_length, rng, correction=self.correction)

    def expected_weights(self, state: StrategyState) -> np.ndarray:
        r"""Closed form E[count_i]/m · scale_i: p_i (reweight), p_i · 1/(n p_i) = 1/n
        (importance)."""
        w = self.weights(self._check_state(state))
        p = w / w.sum()
        if self.correction == "reweight":
            return p
        return np.where(p > 0, 1.0 / state.n, 0.0)


# ----------------------------------------------------------------------------- strategies
@dataclass(frozen=True, kw_only=True)
class LossProportional(_ScoreSampler):
    r"""Sample in proportion to the running training loss (self-scoring, theory.md §4).

    w_i = (1 − mix)·ℓ_i^{1/T} / mean_j ℓ_j^{1/T} + mix, clipped at C with the excess
    water-filled (mean(w) = 1, max(w) ≤ C); p_i = w_i / n. ``temperature`` T → ∞ is uniform,
    T → 0 the hardest example. ``correction="reweight"`` trains the reweighted objective
    (1/n) Σ w_i ℓ_i (biased: it changes T_w, like the simulator's
    :class:`~specurate.dynamics.policies.SelfScore` with the same ``temperature``, ``mix``,
    ``cap``); ``correction="importance"`` multiplies the loss by 1/w_i (importance sampling).
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
        if self.total_epochs is not None:
            check_int("total_epochs", self.total_epochs, lo=1, what="a positive integer or None")

    def _default_epoch_length(self, n: int) -> int:
        return max(1, round(n * (1.0 - 0.5 * self.prune)))

    def annealing(self, epoch: int) -> bool:
        """Whether ``epoch`` is in the final full-data phase (never when total_epochs is None)."""
        if self.total_epochs is None:
            return False
        return epoch >= math.ceil((1.0 - self.anneal) * self.total_epochs)

    def below_mean(self, state: StrategyState) -> np.ndarray:
        """(n,) bool: running loss below the mean (unseen examples sit at the mean: kept)."""
        loss = self.scores(state)
        mu = float(loss.mean())
        return loss < mu - 1e-12 * max(abs(mu), 1e-300)

    def _multipliers(self, state: StrategyState, low: np.ndarray) -> tuple[np.ndarray, int, int]:
        n = state.n
        n_low = int(low.sum())
        r = math.floor(self.prune * n_low)
        k = n - r
        mult = np.full(n, k / n)
        if r:
            mult[low] *= n_low / (n_low - r)
        return mult, r, k

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        """The kept set (random drops among below-mean examples) filling exactly m slots."""
        state = self._check_state(state)
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
        if q == 0:  # a random m-subset of the kept set, in random order: one permutation
            idx = rng.permutation(kept)[:m].astype(np.int64)
        else:
            parts = [kept] * q + [rng.permutation(kept)[:rest]]
            idx = rng.permutation(np.concatenate(parts)).astype(np.int64)
        return Plan(idx, mult[idx])

    def expected_weights(self, state: StrategyState) -> np.ndarray:
        r"""Closed form E[count_i·mult_i]/m = P(i ∈ K)·(m/k)·mult_i/m (= 1/n for every i).

        P(i ∈ K) = 1 above the mean and (|L| − r)/|L| below it. (Annealing epochs: 1/n too.)
        """
        low = self.below_mean(self._check_state(state))
        mult, r, k = self._multipliers(state, low)
        n_low = int(low.sum())
        p_in = np.ones(state.n)
        if n_low:
            p_in[low] = (n_low - r) / n_low
        return p_in * mult / k

    def keep_fraction(self, state: StrategyState) -> float:
        """m/n: the fraction of a full epoch's steps this strategy runs."""
        return state.epoch_length / state.n


def split_halves(n_examples: int, *, seed: int) -> np.ndarray:
    """(n,) int8 labels 0/1: a seeded random split into halves A (0) and B (1), sizes ⌈n/2⌉, ⌊n/2⌋.

    The holdout-free RHO-LOSS protocol trains model A on half A and model B on half B.
    """
    n = check_positive_int("n_examples", n_examples)
    halves = np.zeros(n, dtype=np.int8)
    halves[_rng.stream("root", seed).permutation(n)[(n + 1) // 2 :]] = 1
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


@dataclass(frozen=True, kw_only=True)
class ReducibleLoss(_ScoreSampler):
    r"""RHO-LOSS-style sampling (Mindermann et al., ICML 2022): reducible holdout loss.

    Score s_i = max(ℓ_i − ℓ^irr_i, 0): the training loss minus the irreducible loss, i.e. the
    loss of a model that never trained on i. Learnable, not-yet-learned examples score high;
    noisy or unlearnable ones (high ℓ^irr) and learned ones (low ℓ) score low — the guard
    against oracle collapse (theory.md §5). Weights and plans as in :class:`LossProportional`.

    ``irreducible="holdout"``: ℓ^irr is the init data ``holdout_loss`` (n,), the losses of a
    model trained on a separate holdout set (its cost, one training run plus n forward passes,
    is the user's and is not counted here).

    ``irreducible="cross-half"`` (holdout-free): split the data with :func:`split_halves`,
    train model A on half A and model B on half B (each on half the data); the irreducible
    loss of an example in half A is model B's loss on it and vice versa
    (:func:`cross_half_loss`). Pass it with every update as ``stats["loss_other"]``; each
    such value is one extra forward pass, counted in the state's accounting (``extra_forward``).
    """

    name: ClassVar[str] = "reducible-loss"
    data_keys: ClassVar[tuple[str, ...]] = ("holdout_loss",)
    irreducible: Literal["holdout", "cross-half"] = "cross-half"
    holdout_loss: Any = data_field()  # noqa: RUF009 - deprecated: pass it to init

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.holdout_loss is not None:
            self._deprecated_data()
            object.__setattr__(self, "irreducible", "holdout")
        if self.irreducible not in ("holdout", "cross-half"):
            raise SpecurateInputError(
                f"irreducible must be 'holdout' or 'cross-half', got {self.irreducible!r}"
            )

    def _tracked(self) -> tuple[str, ...]:
        return ("loss",) if self.irreducible == "holdout" else ("loss", "loss_other")

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset(self._tracked())

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> ScoreState:
        """Tracker state; with ``irreducible="holdout"`` keeps ``holdout_loss`` (n,) ≥ 0."""
        n = check_positive_int("n_examples", n_examples)
        d = self._init_data(data)
        state = super().init(n, seed=seed)
        if self.irreducible == "cross-half":
            if d["holdout_loss"] is not None:
                raise SpecurateInputError(
                    "holdout_loss given, but irreducible='cross-half': set irreducible='holdout'"
                )
            return state
        h = check_data_array("holdout_loss", d["holdout_loss"], n).astype(float)
        if not np.all(np.isfinite(h)) or np.any(h < 0):
            raise SpecurateInputError("holdout_loss must be finite and ≥ 0")
        return replace(state, extra=readonly(h))

    def _check_state(self, state: Any) -> ScoreState:
        st = super()._check_state(state)
        if (st.extra is None) != (self.irreducible == "cross-half"):
            raise SpecurateInputError(
                f"reducible-loss ({self.irreducible}) got a state of another strategy"
            )
        return st

    def cost(self, count: int) -> Accounting:
        """Holdout-free: each observed example costs one forward pass of the other model."""
        extra = 0.0 if self.irreducible == "holdout" else float(count)
        return Accounting(int(count), extra, extra)

    def irreducible_loss(self, state: ScoreState) -> np.ndarray:
        """(n,) irreducible-loss estimate (holdout-free: last observed, unseen: seen mean)."""
        if self.irreducible == "holdout":
            return np.asarray(state.extra)
        return np.asarray(state.values["loss_other"], dtype=float)

    def _raw_scores(self, state: ScoreState) -> np.ndarray:
        return np.maximum(np.asarray(state.values["loss"]) - self.irreducible_loss(state), 0.0)


@dataclass(frozen=True, kw_only=True)
class OnlineProbe(_ScoreSampler):
    r"""Online probe (theory.md §4): a small co-trained model's per-example loss is the score.

    s_i = last observed ``stats["probe_loss"]`` of example i; weights and plans as in
    :class:`LossProportional` (the simulator's :class:`~specurate.dynamics.policies.Probe`
    tracks the frontier with lag ``bias`` < 1 in the same way: a smaller model trails the
    learner). The probe trains on the same batches, so every observed example costs one probe
    forward+backward: the accounting's ``extra_forward`` counts them and ``extra_compute`` adds
    ``probe_cost`` (the probe's compute relative to the main model) per example.
    """

    name: ClassVar[str] = "online-probe"
    tracked: ClassVar[tuple[str, ...]] = ("probe_loss",)
    needs: ClassVar[frozenset[str]] = frozenset({"probe_loss"})
    probe_cost: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("probe_cost", self.probe_cost, allow_zero=True)

    def cost(self, count: int) -> Accounting:
        """Each observed example: one probe forward+backward, ``probe_cost`` of the model."""
        return Accounting(int(count), float(count), self.probe_cost * count)


@dataclass(frozen=True, kw_only=True)
class EnsembleDisagreement(_ScoreSampler):
    r"""Heterogeneous-ensemble disagreement (theory.md §4) as the sampling score.

    s_i = last observed ``stats["disagreement"]`` (e.g. ‖f_A(x_i) − f_B(x_i)‖², the simulator's
    :class:`~specurate.dynamics.policies.Ensemble` score e_k(u^A_k − u^B_k)²/p_k); without it,
    |``loss`` − ``loss_other``| from the two models' losses. Every observed example costs a
    forward+backward of the co-trained helper: ``helper_cost`` (relative to the main model) is
    added to the accounting's ``extra_compute`` per example.
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

    def cost(self, count: int) -> Accounting:
        """Each observed example: one helper forward+backward, ``helper_cost`` of the model."""
        return Accounting(int(count), float(count), self.helper_cost * count)


@dataclass(frozen=True, kw_only=True, eq=False)
class BanditState(StrategyState):
    """State of :class:`Bandit`.

    Attributes:
        arm_of: (n,) int64 arm of every example.
        arm_loss: (A,) mean loss of each arm's last visit (NaN: never visited).
        reward_sum: (A,) summed rewards.
        pulls: (A,) rewards counted.
        visits: (A,) int64 visits of each arm.
        open_arm: arm of the last observation (−1 before any): its visit stays open, since the
            stream may go on with the same arm in the next update.
        open_sum: loss sum of that open visit so far.
        open_count: loss count of that open visit so far.
    """

    arm_of: np.ndarray
    arm_loss: np.ndarray
    reward_sum: np.ndarray
    pulls: np.ndarray
    visits: np.ndarray
    open_arm: int = -1
    open_sum: float = 0.0
    open_count: int = 0


@dataclass(frozen=True, kw_only=True)
class Bandit(Strategy):
    r"""Multi-armed bandit over clusters (or examples) rewarded by learning progress.

    Arms: the init data ``arms`` (n,) integer cluster labels, or none (every example is an
    arm). The epoch's m slots are cut into ⌈m/chunk⌉ chunks; each chunk goes to one arm
    (cluster arms: ``chunk`` examples cycled from a seeded permutation of the arm) or, with
    example arms, to the ``chunk`` best distinct arms. Chunks stay contiguous in the plan, so a
    loader with batch size ``chunk`` sees one arm per batch. Loss scales are 1 (a reweighting
    rule).

    A visit of arm a is a maximal run of consecutive observations of a's examples in the
    observation stream (one chunk, when batches follow the plan). Reward of a visit:
    r = ℓ̄_a(previous visit) − ℓ̄_a(this visit), the decrease of the arm's mean observed loss
    (learning progress); r̄_a is the mean reward over N_a rewarded visits. (A visit is closed
    when the next observation's arm differs: the last visit of an update stays open until
    then, so the state does not depend on how the stream is split into updates.)

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
    data_keys: ClassVar[tuple[str, ...]] = ("arms",)
    policy: BanditPolicy = "ucb"
    eps: float = 0.1
    c: float = 1.0
    chunk: int = 32
    epoch_length: int | None = None
    arms: Any = data_field()  # noqa: RUF009 - deprecated: pass it to init

    def __post_init__(self) -> None:
        self._deprecated_data()
        if self.policy not in ("ucb", "eps-greedy"):
            raise SpecurateInputError(f"policy must be 'ucb' or 'eps-greedy', got {self.policy!r}")
        check_unit("eps", self.eps)
        check_positive("c", self.c, allow_zero=True)
        check_positive_int("chunk", self.chunk)
        check_epoch_length(self.epoch_length)

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> BanditState:
        """Per-arm state: last mean loss (NaN: never seen), reward sums, reward counts, visits."""
        n, seed = check_positive_int("n_examples", n_examples), check_seed(seed)
        arms = self._init_data(data)["arms"]
        if arms is None:
            arm_of = np.arange(n, dtype=np.int64)
        else:
            a = check_data_array("arms", arms, n)
            if not np.issubdtype(a.dtype, np.integer):
                raise SpecurateInputError("arms must be integer labels")
            arm_of = np.unique(a, return_inverse=True)[1].reshape(n).astype(np.int64)
        k = int(arm_of.max()) + 1
        m = n if self.epoch_length is None else self.epoch_length
        return BanditState(
            n=n,
            seed=seed,
            epoch_length=int(m),
            arm_of=readonly(arm_of),
            arm_loss=readonly(np.full(k, np.nan)),
            reward_sum=readonly(np.zeros(k)),
            pulls=readonly(np.zeros(k)),
            visits=readonly(np.zeros(k, dtype=np.int64)),
        )

    def _check_state(self, state: Any) -> BanditState:
        if not isinstance(state, BanditState):
            raise SpecurateInputError(f"bandit got a state of type {type(state).__name__}")
        return state

    def update(
        self, state: StrategyState, indices: np.ndarray, stats: Mapping[str, np.ndarray]
    ) -> BanditState:
        """Each visit (a run of one arm in the stream) gets reward ℓ̄_prev − ℓ̄_now."""
        st = self._check_state(state)
        idx, stats = check_batch(st, indices, stats)
        loss = _nonneg_stat(stats, "loss", idx.size)
        if idx.size == 0:
            return st
        obs = st.arm_of[idx]
        starts = np.flatnonzero(np.r_[True, obs[1:] != obs[:-1]])  # one visit per run
        arm = obs[starts]
        cnt = np.diff(np.r_[starts, obs.size]).astype(float)
        sums = np.add.reduceat(loss, starts)
        if st.open_arm >= 0:  # the open visit continues, or closes before this stream
            if arm[0] == st.open_arm:
                sums[0] += st.open_sum
                cnt[0] += st.open_count
            else:
                arm = np.r_[st.open_arm, arm]
                sums = np.r_[st.open_sum, sums]
                cnt = np.r_[st.open_count, cnt]
        open_arm, open_sum, open_count = int(arm[-1]), float(sums[-1]), int(cnt[-1])
        arm, mean = arm[:-1], sums[:-1] / cnt[:-1]  # closed visits
        # previous visit's mean loss of each visit's arm: within this update, or the state's
        order = np.argsort(arm, kind="stable")
        a_sorted, m_sorted = arm[order], mean[order]
        first = np.r_[True, a_sorted[1:] != a_sorted[:-1]]
        prev_sorted = np.where(first, st.arm_loss[a_sorted], np.r_[np.nan, m_sorted[:-1]])
        rewarded = np.isfinite(prev_sorted)
        k = st.arm_loss.size
        reward_sum = np.array(st.reward_sum)
        pulls = np.array(st.pulls)
        np.add.at(reward_sum, a_sorted[rewarded], (prev_sorted - m_sorted)[rewarded])
        np.add.at(pulls, a_sorted[rewarded], 1.0)
        last = np.r_[a_sorted[1:] != a_sorted[:-1], True] if a_sorted.size else a_sorted
        arm_loss = np.array(st.arm_loss)
        arm_loss[a_sorted[last]] = m_sorted[last]
        visits = st.visits + np.bincount(arm, minlength=k)
        return replace(
            st,
            arm_loss=readonly(arm_loss),
            reward_sum=readonly(reward_sum),
            pulls=readonly(pulls),
            visits=readonly(visits),
            open_arm=open_arm,
            open_sum=open_sum,
            open_count=open_count,
            accounting=st.accounting + self.cost(idx.size),
        )

    def mean_reward(self, state: BanditState) -> np.ndarray:
        """(A,) mean reward per arm (0 where no reward observed yet)."""
        return np.asarray(state.reward_sum) / np.maximum(np.asarray(state.pulls), 1)

    def _pick(
        self, state: BanditState, virt: np.ndarray, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        pulls = np.asarray(state.pulls)
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

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        """Chunks assigned arm by arm with virtual visit counts (see the class docstring)."""
        state = self._check_state(state)
        rng = epoch_rng(state, epoch)
        m = state.epoch_length
        arm_of = np.asarray(state.arm_of)
        n_arms = state.arm_loss.size
        example_arms = n_arms == state.n and np.array_equal(arm_of, np.arange(state.n))
        virt = np.zeros(n_arms)
        perm = rng.permutation(state.n)
        perm = perm[np.argsort(arm_of[perm], kind="stable")]
        starts = np.searchsorted(arm_of[perm], np.arange(n_arms + 1))
        ptr = np.zeros(n_arms, dtype=np.int64)
        out: list[np.ndarray] = []
        filled = 0
        while filled < m:
            if example_arms:
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
