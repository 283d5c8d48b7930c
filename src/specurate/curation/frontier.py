r"""The frontier sampler: the paper's dynamic oracle (§5), estimated from training residuals.

The oracle suppresses learned modes and renormalizes the unlearned tail with a weight C(t)
that must grow without bound to change the loss exponent (theory.md §3). Real training does
not know the modes, so the sampler estimates them:

* **Modes.** Either given groups (clusters, classes, skills: mode-local data, where example
  weights become mode weights exactly) or the top-r eigen-directions of the data covariance
  (``features``; computed once with :func:`specurate.spectrum.estimate.operator_features`' linear
  kernel — here directly by ``numpy.linalg.eigh`` of the d × d covariance).
* **Learned or not.** The last observed per-example residual r_i (``stats["residual"]``; with
  groups ``stats["loss"]`` suffices, r_i = √ℓ_i:
  y − f(x) for regression, one-hot − probabilities for classification, shape (m,) or (m, K))
  is projected on each mode: E_k = Σ_i (φ_ik ⋅ r_i)² / n for eigen-directions (φ the
  whitened projections), or the mean squared residual of group k over its examples observed
  so far. With ``horizon=h`` (groups only) E_k is instead an exponential moving average over
  the group's last ≈ h observations, one observation at a time in stream order, started at
  E_k(0): E_k = β^{C_k} E_k(0) + (1 − β) Σ_j β^{a_j} x_j, with x_j the squared residuals of the
  group's C_k observations so far, a_j how many of them came after j and β = 1 − 1/h_k,
  h_k = min(h, n_k) (the weights sum to 1) — fresher than the per-example memory when an epoch
  is long (data-rich training). Its relative
  residual is u_k² = E_k / E_k(0), where E_k(0) is the mean squared residual of the group's
  first ``reference`` observations (for eigen-directions: E_k once every example has been
  observed; u = 1 before); a mode is learned when u_k² ≤ e^{−2κ}. Every estimate is a fold over
  the observation stream, so it does not depend on how the stream is split into updates.
* **Weights.** Hard: learned modes get weight ``floor`` (not 0, so their residual stays
  observed), the unlearned ones share the rest of the example mass equally. Soft:
  ω_k = max(u_k^q, floor) — the floor keeps learned modes sampled, which matters when modes
  share parameters (a network forgets a mode it no longer sees).
  Then ω ≤ C(e) = cap₀ (1 + e)^γ (the bound grows with the epoch e when γ > 0; γ = 0 is a
  static bound and, by Theorem 1, cannot change the exponent). Example weights are
  w_i = Σ_k ω_k s_ik with s_ik the share of example i's squared projection in mode k (exactly
  ω_{k(i)} for groups), normalized to mean 1, capped with water-filling.

Cost: groups with ``horizon`` — O(m log m + K) per update (K groups; no per-example memory),
O(n) per plan; groups without — one O(n) copy per update. Eigen-directions — one
O(n d² + d³) eigendecomposition at ``init``, one O(n o) copy per update, O(n r o) per plan.
:class:`~specurate.torch.CurationSampler` buffers a plan's observations and folds them with one
``update`` per plan, so the per-batch cost is O(m) however large n is. No extra forward pass:
residuals come from the training forward pass (stale for examples not seen recently; the
state records the epoch each residual was observed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from specurate import _rng
from specurate._validate import check_positive, check_positive_int, check_seed, check_unit
from specurate._weights import waterfill
from specurate.curation.base import (
    Accounting,
    Correction,
    Plan,
    Strategy,
    StrategyState,
    cap_weights,
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
    systematic_counts,
)
from specurate.errors import SpecurateInputError

__all__ = ["FrontierSampler", "FrontierState", "frontier_weights"]


@dataclass(frozen=True, kw_only=True, eq=False)
class FrontierState(StrategyState):
    """State of :class:`FrontierSampler` (arrays read-only; None where a variant has none).

    Attributes:
        labels: (n,) int64 group of every example (groups), or None.
        counts: (K,) examples per group (groups), or None.
        members: (n,) example indices grouped by group (in a seeded random order within each
            group); the plan draws within groups from them and ``starts`` in O(m + K).
        starts: (K + 1,) where each group's run in ``members`` begins.
        ref_sum: (K,) squared-residual sum of each group's first ``reference`` observations
            (E_k(0) = ref_sum / ref_count), groups only.
        ref_count: (K,) count of each group's first ``reference`` observations, groups only.
        ema_sum: (K,) decayed sum Σ β^a x of the moving average (horizon).
        ema_count: (K,) the count C_k of observations the moving average holds (horizon).
        sq: (n,) last squared residual of each example (no horizon).
        seen: (n,) bool, whether each example was observed (no horizon, or eigen-directions).
        shares: (n, r) shares of the eigen-directions.
        proj: (n, r) whitened projections on the eigen-directions.
        residual: (n, o) last residual of each example (eigen-directions).
        energy0: (r,) reference energies of the eigen-directions, once every example was seen.
    """

    labels: np.ndarray | None = None
    counts: np.ndarray | None = None
    members: np.ndarray | None = None
    starts: np.ndarray | None = None
    ref_sum: np.ndarray | None = None
    ref_count: np.ndarray | None = None
    ema_sum: np.ndarray | None = None
    ema_count: np.ndarray | None = None
    sq: np.ndarray | None = None
    seen: np.ndarray | None = None
    shares: np.ndarray | None = None
    proj: np.ndarray | None = None
    residual: np.ndarray | None = None
    energy0: np.ndarray | None = None


def frontier_weights(
    u2: np.ndarray, *, soft: bool, power: float, kappa: float, floor: float
) -> np.ndarray:
    r"""(K,) the frontier rule's mode weights ω_k from relative residual energies u_k².

    Args:
        u2: (K,) u_k² = E_k / E_k(0) ≥ 0 (clipped at 0; 1 for a mode never observed).
        soft: ω_k = max(u_k^power, floor) if True; else the hard rule ω_k = floor where
            u_k² ≤ e^{−2κ} (learned) and 1 elsewhere.
        power: the soft rule's exponent q.
        kappa: the hard rule's threshold κ.
        floor: the least weight, relative to an unlearned mode's 1.

    Returns:
        ω, all ones when every entry would be 0.
    """
    u2 = np.clip(u2, 0.0, None)
    if soft:
        omega = np.maximum(u2 ** (power / 2), floor)
    else:
        omega = np.where(u2 <= math.exp(-2 * kappa), floor, 1.0)
    if not omega.sum() > 0:
        omega = np.ones(u2.size)
    return omega


def _coprime_strides(n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(K,) random strides s_k in [1, n_k) with gcd(s_k, n_k) = 1 (1 where n_k ≤ 2), so
    j ↦ (o + j s_k) mod n_k visits every member once per n_k steps, in a plan-specific order."""
    s = np.ones(n.size, dtype=np.int64)
    todo = n > 2
    while todo.any():  # 16 candidates a round: a round fails with probability < 0.6^16 ≈ 3e-4
        draw = 1 + (rng.random((n.size, 16)) * np.maximum(n - 1, 1)[:, None]).astype(np.int64)
        ok = np.gcd(draw, n[:, None]) == 1
        hit = todo & ok.any(axis=1)
        s[hit] = draw[hit, ok[hit].argmax(axis=1)]
        todo &= ~hit
    return s


def _group_order(labels: np.ndarray, k: int) -> np.ndarray:
    """Stable argsort of group labels in [0, k): with 16-bit keys numpy radix-sorts, O(m)."""
    small = np.uint16 if k <= 1 << 16 else labels.dtype
    return np.argsort(labels.astype(small, copy=False), kind="stable")


def _rank_in_group(labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For rows with group ``labels`` (m,): each row's rank among its group's rows (0 first, in
    row order) and the count of rows per group (K,)."""
    order = _group_order(labels, k)
    cnt = np.bincount(labels, minlength=k)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    rank = np.empty(labels.size, dtype=np.int64)
    rank[order] = np.arange(labels.size) - start[labels[order]]
    return rank, cnt


@dataclass(frozen=True)
class FrontierSampler(Strategy):
    """Estimated-frontier sampling (see the module docstring).

    Init data: ``groups`` (n,) integer mode label of each example (mode-local data), or
    ``features`` (n, d) whose top ``rank`` covariance eigen-directions are the modes.

    Args:
        rank: number of eigen-directions.
        kappa: a mode is learned when its residual energy fell by e^{−2κ}.
        soft: ω_k ∝ u_k^power instead of the hard suppression.
        power: exponent of the soft rule.
        floor: weight of learned modes (hard rule), or the least weight of a mode (soft rule),
            relative to an unlearned one.
        cap: C at epoch 0.
        cap_growth: γ, the growth of the bound: C(e) = cap (1 + e)^γ.
        correction: ``reweight`` (changes T_w, the oracle) or ``importance`` (importance
            sampling).
        epoch_length: examples per epoch (default n; shorter epochs re-plan more often).
        horizon: groups only — estimate E_k by a moving average over ≈ ``horizon``
            observations per group instead of each example's last residual (None).
        balance: groups only — divide ω_k by the group's frequency, so that a mode's TOTAL
            weight (not each example's) is ∝ ω_k: unlearned modes are sampled equally however
            rare they are (their learning rates, ∝ p_k ω_k, are equalized), up to the bound C.
        reference: groups only — E_k(0) is the mean squared residual of the group's first
            ``reference`` observations.
    """

    name: ClassVar[str] = "frontier"
    data_keys: ClassVar[tuple[str, ...]] = ("groups", "features")
    # per-example losses; eigen-directions also read signed residuals (``residual``), whose
    # projections cancel — with groups r_i² = ℓ_i suffices
    needs: ClassVar[frozenset[str]] = frozenset({"loss"})
    data_needs: ClassVar[Mapping[str, frozenset[str]]] = MappingProxyType(
        {"features": frozenset({"residual"})}
    )
    rank: int = 32
    kappa: float = 1.0
    soft: bool = False
    power: float = 2.0
    floor: float = 0.05
    cap: float = 4.0
    cap_growth: float = 0.5
    correction: Correction = "reweight"
    epoch_length: int | None = None
    horizon: int | None = None
    balance: bool = False
    reference: int = 16
    groups: Any = data_field()  # noqa: RUF009 - deprecated: pass it to init
    features: Any = data_field()  # noqa: RUF009 - deprecated: pass it to init
    mode: str | None = data_field()

    def __post_init__(self) -> None:
        self._deprecated_data()
        object.__setattr__(
            self, "correction", resolve_correction(self.correction, self.mode, "FrontierSampler")
        )
        object.__setattr__(self, "mode", None)
        if self.groups is not None and self.features is not None:
            raise SpecurateInputError("give exactly one of groups (labels) or features (n, d)")
        check_positive("kappa", self.kappa)
        check_positive("power", self.power)
        check_unit("floor", self.floor)
        check_cap(self.cap)
        check_epoch_length(self.epoch_length)
        check_positive("cap_growth", self.cap_growth, allow_zero=True)
        check_positive_int("rank", self.rank)
        check_positive_int("reference", self.reference)
        if self.horizon is not None:
            check_positive_int("horizon", self.horizon)

    # ----------------------------------------------------------------- modes of the examples
    @staticmethod
    def _labels(groups: Any, n: int) -> np.ndarray:
        """(n,) group index 0…K−1 of every example."""
        g = check_data_array("groups", groups, n)
        if not np.issubdtype(g.dtype, np.integer):
            raise SpecurateInputError("groups must be integer labels")
        return np.unique(g, return_inverse=True)[1].reshape(n).astype(np.int64)

    def _directions(self, features: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, r) share s_ik of example i in eigen-direction k (rows sum to 1) and the
        whitened projections φ (n, r)."""
        x = check_data_array("features", features, n, ndim=2).astype(float)
        if not np.all(np.isfinite(x)):
            raise SpecurateInputError("features contain NaN or inf")
        xc = x - x.mean(axis=0)
        lam, vec = np.linalg.eigh(xc.T @ xc / n)
        r = min(self.rank, x.shape[1])
        top = vec[:, ::-1][:, :r] * (lam[::-1][:r] > lam.max() * 1e-12)
        proj = xc @ top  # (n, r) coordinates on the eigen-directions
        sq = proj**2
        tot = sq.sum(axis=1, keepdims=True)
        shares = np.where(tot > 0, sq / np.where(tot > 0, tot, 1.0), 1.0 / r)
        return shares, proj / np.sqrt(np.maximum((proj**2).mean(axis=0), 1e-300))

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> FrontierState:
        n, seed = check_positive_int("n_examples", n_examples), check_seed(seed)
        d = self._init_data(data)
        if (d["groups"] is None) == (d["features"] is None):
            raise SpecurateInputError(
                "the frontier sampler needs exactly one of the init data groups (n,) labels "
                "or features (n, d)"
            )
        m = n if self.epoch_length is None else int(self.epoch_length)
        base: dict[str, Any] = {"n": n, "seed": seed, "epoch_length": m}
        if d["groups"] is not None:
            labels = self._labels(d["groups"], n)
            k = int(labels.max()) + 1
            zeros = lambda: readonly(np.zeros(k))  # noqa: E731
            counts = np.bincount(labels, minlength=k)
            # the seeded order of each group's members (a 2-word seed: no epoch's)
            shuffled = _rng.stream("curation.frontier.members", seed).permutation(n)
            members = shuffled[_group_order(labels[shuffled], k)]
            arrays: dict[str, Any] = {
                "labels": readonly(labels),
                "counts": readonly(counts.astype(float)),
                "members": readonly(members.astype(np.int64)),
                "starts": readonly(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)),
                "ref_sum": zeros(),
                "ref_count": zeros(),
            }
            if self.horizon is not None:
                arrays.update(ema_sum=zeros(), ema_count=zeros())
            else:
                arrays.update(sq=readonly(np.zeros(n)), seen=readonly(np.zeros(n, dtype=bool)))
            return FrontierState(**base, **arrays)
        if self.balance or self.horizon is not None:
            raise SpecurateInputError(
                "balance and horizon need groups (they work per group), not features"
            )
        shares, proj = self._directions(d["features"], n)
        return FrontierState(
            **base,
            shares=readonly(shares),
            proj=readonly(proj),
            seen=readonly(np.zeros(n, dtype=bool)),
        )

    def _check_state(self, state: Any) -> FrontierState:
        if not isinstance(state, FrontierState):
            raise SpecurateInputError(f"frontier got a state of type {type(state).__name__}")
        if (state.ema_sum is not None) != (self.horizon is not None and state.labels is not None):
            raise SpecurateInputError("this state is from a frontier sampler of another horizon")
        return state

    def update(
        self, state: StrategyState, indices: np.ndarray, stats: Mapping[str, np.ndarray]
    ) -> FrontierState:
        st = self._check_state(state)
        idx, stats = check_batch(st, indices, stats)
        loss = check_stat(stats, "loss", idx.size) if "loss" in stats else None
        if loss is not None and np.any(loss < 0):
            raise SpecurateInputError("loss must be ≥ 0")
        if idx.size == 0:
            return st
        if "residual" in stats:
            r = np.asarray(stats["residual"], dtype=float)
        elif st.labels is not None and loss is not None:
            r = np.sqrt(loss)  # group energy = mean squared residual = mean loss
        else:
            raise SpecurateInputError(
                "the frontier sampler needs the statistic 'residual' "
                "(or 'loss' when the modes are groups)"
            )
        r = r.reshape(r.shape[0], -1)
        if not np.all(np.isfinite(r)):
            raise SpecurateInputError("residual contains NaN or inf")
        charged = st.accounting + self.cost(idx.size)
        if st.labels is not None:
            return self._fold_groups(st, idx, (r**2).sum(axis=1), charged)
        assert st.seen is not None  # set at init for eigen-directions
        last = last_occurrence(idx, st.n)
        pos = idx[last]
        res = st.residual
        if res is None or res.shape[1] != r.shape[1]:
            res = np.zeros((st.n, r.shape[1]))
        seen = scatter(st.seen, pos, True)
        new = replace(
            st,
            residual=scatter(res, pos, r[last]),
            seen=seen,
            accounting=charged,
        )
        if new.energy0 is not None or not seen.all():
            return new
        # the reference energy E_k(0) of eigen-directions: once every example has been observed
        return replace(new, energy0=readonly(self._energy(new)))

    def _fold_groups(
        self, st: FrontierState, idx: np.ndarray, x: np.ndarray, charged: Accounting
    ) -> FrontierState:
        """Fold squared residuals ``x`` (m,) of examples ``idx`` (stream order) into the group
        statistics: reference energies, and the moving average or the per-example memory."""
        # the group statistics, set at init with groups
        assert st.labels is not None and st.counts is not None
        assert st.ref_sum is not None and st.ref_count is not None
        labels = st.labels[idx]
        k = st.counts.size
        rank, cnt = _rank_in_group(labels, k)
        # E_k(0): the group's first `reference` observations
        take = st.ref_count[labels] + rank < self.reference
        ref_sum = st.ref_sum + np.bincount(labels[take], weights=x[take], minlength=k)
        ref_count = st.ref_count + np.bincount(labels[take], minlength=k)
        ref: dict[str, Any] = {
            "ref_sum": readonly(ref_sum),
            "ref_count": readonly(ref_count),
            "accounting": charged,
        }
        if self.horizon is not None:  # O(m + K): no per-example memory
            assert st.ema_sum is not None and st.ema_count is not None  # set with a horizon
            log_beta = np.log1p(-1.0 / np.maximum(self._horizons(st), 1.0 + 1e-12))  # log β_k
            after = (cnt[labels] - 1 - rank).astype(float)  # later rows of the same group
            w = np.exp(log_beta[labels] * after)
            decay = np.exp(log_beta * cnt)
            ema_sum = st.ema_sum * decay + np.bincount(labels, weights=w * x, minlength=k)
            ema_count = st.ema_count + cnt
            return replace(st, **ref, ema_sum=readonly(ema_sum), ema_count=readonly(ema_count))
        assert st.sq is not None and st.seen is not None  # set without a horizon
        last = last_occurrence(idx, st.n)
        pos = idx[last]
        return replace(st, **ref, sq=scatter(st.sq, pos, x[last]), seen=scatter(st.seen, pos, True))

    def _horizons(self, state: FrontierState) -> np.ndarray:
        """(K,) h_k = min(horizon, n_k)."""
        assert self.horizon is not None and state.counts is not None  # groups with a horizon
        return np.minimum(float(self.horizon), np.maximum(state.counts, 1.0))

    def _energy(self, state: FrontierState) -> np.ndarray:
        """Residual energy per mode, E_k (see the module docstring)."""
        if state.labels is None:
            # eigen-directions: proj is set at init, residual by the first update (E_k is read
            # only once every example was seen)
            assert state.proj is not None and state.residual is not None
            res = state.residual
            return ((state.proj.T @ res) ** 2).sum(axis=1) / state.n**2
        assert state.counts is not None  # groups
        k = state.counts.size
        if self.horizon is not None:
            assert state.ref_sum is not None and state.ref_count is not None
            assert state.ema_sum is not None and state.ema_count is not None
            beta = 1.0 - 1.0 / np.maximum(self._horizons(state), 1.0 + 1e-12)
            e0 = np.divide(
                state.ref_sum, state.ref_count, out=np.zeros(k), where=state.ref_count > 0
            )
            return e0 * beta**state.ema_count + (1.0 - beta) * state.ema_sum
        assert state.seen is not None and state.sq is not None  # groups without a horizon
        seen = state.seen
        c = np.bincount(state.labels[seen], minlength=k)
        tot = np.bincount(state.labels[seen], weights=state.sq[seen], minlength=k)
        return np.divide(tot, c, out=np.zeros(k), where=c > 0)

    def _reference(self, state: FrontierState) -> np.ndarray | None:
        """E_k(0) per mode (NaN where not yet observed), or None before any reference."""
        if state.labels is None:
            return state.energy0
        assert state.ref_sum is not None and state.ref_count is not None  # groups
        if not np.any(state.ref_count > 0):
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(state.ref_count > 0, state.ref_sum / state.ref_count, np.nan)

    def mode_weights(self, state: StrategyState, epoch: int) -> np.ndarray:
        """ω_k of each mode at ``epoch`` (1 everywhere before any residual was observed)."""
        state = self._check_state(state)
        if state.labels is not None:
            assert state.counts is not None  # groups
            r = state.counts.size
        else:
            assert state.shares is not None  # eigen-directions
            r = state.shares.shape[1]
        e0 = self._reference(state)
        if e0 is None:
            return np.ones(r)
        with np.errstate(invalid="ignore", divide="ignore"):
            u2 = np.where(e0 > 0, self._energy(state) / e0, 1.0)  # NaN e0: not yet observed
        return frontier_weights(
            u2, soft=self.soft, power=self.power, kappa=self.kappa, floor=self.floor
        )

    def cap_at(self, epoch: int) -> float:
        """The weight bound C(epoch) = cap (1 + epoch)^γ."""
        return self.cap * (1 + epoch) ** self.cap_growth

    def group_weights(self, state: StrategyState, epoch: int) -> np.ndarray:
        """(K,) weight of every example of each group (groups): mean 1 over the examples,
        ≤ C(epoch) = cap (1 + epoch)^γ — capped at the mode level, O(K log K)."""
        state = self._check_state(state)
        if state.labels is None:
            raise SpecurateInputError("group weights need groups")
        assert state.counts is not None  # groups
        omega = self.mode_weights(state, epoch)
        cap = self.cap_at(epoch)
        p = state.counts / state.n
        if self.balance:  # per-mode shares: every mode's total weight ∝ ω_k
            omega = np.where(p > 0, omega / np.where(p > 0, p, 1.0), 0.0)
        check_cap(cap)
        with np.errstate(divide="ignore"):
            return waterfill(np.log(omega / float(p @ omega)), p, cap, 1.0)

    def example_weights(self, state: StrategyState, epoch: int) -> np.ndarray:
        """(n,) example weights with mean 1, ≤ C(epoch) = cap (1 + epoch)^γ."""
        state = self._check_state(state)
        if state.labels is not None:
            return self.group_weights(state, epoch)[state.labels]
        w = state.shares @ self.mode_weights(state, epoch)
        return cap_weights(w / w.mean(), self.cap_at(epoch))

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        r"""m draws with p_i ∝ w_i. Groups: O(m + K) — systematic counts c_k per group (mass
        w_k n_k), then c_k draws cycling through the group's members from a random offset with
        a random stride coprime to n_k, so every member is drawn ⌊c_k/n_k⌋ or ⌈c_k/n_k⌉ times
        and E[count_i] = m p_i exactly. Eigen-directions: :func:`draw_plan` over the n examples.
        """
        state = self._check_state(state)
        rng = epoch_rng(state, epoch)
        m = state.epoch_length
        if state.labels is None:
            w = self.example_weights(state, epoch)
            return draw_plan(w, m, rng, correction=self.correction)
        wk = self.group_weights(state, epoch)
        # groups: counts, members and starts are set at init
        assert state.counts is not None
        assert state.members is not None and state.starts is not None
        nk = state.counts.astype(np.int64)
        c, total = systematic_counts(wk * nk, m, rng)
        g = np.repeat(np.arange(nk.size, dtype=np.int64), c)
        j = np.arange(m, dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)  # rank in its group
        off = (rng.random(nk.size) * nk).astype(np.int64)
        stride = _coprime_strides(nk, rng)
        idx = state.members[state.starts[g] + (off[g] + j * stride[g]) % np.maximum(nk[g], 1)]
        order = rng.permutation(m)
        idx, g = idx[order], g[order]
        if self.correction == "reweight":
            return Plan(idx, np.ones(m))
        return Plan(idx, total / (state.n * wk[g]))

    def expected_weights(self, state: StrategyState) -> np.ndarray | None:
        """Importance correction: 1/n for every example with a positive weight (epoch 0)."""
        if self.correction != "importance":
            return None
        w = self.example_weights(state, 0)
        return np.where(w > 0, 1.0 / state.n, 0.0)
