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
  the group's last ≈ h observations: a batch with c_k examples of group k and mean squared
  residual m_k sets E_k ← β E_k + (1 − β) m_k with β = (1 − 1/h_k)^{c_k}, h_k = min(h, n_k) —
  fresher than the per-example memory when an epoch is long (data-rich training). Its relative
  residual is u_k² = E_k / E_k(0), where E_k(0) is the mean squared residual of the first batch
  that contained group k (for eigen-directions: E_k once every example has been observed; u = 1
  before); a mode is learned when u_k² ≤ e^{−2κ}.
* **Weights.** Hard: learned modes get weight ``floor`` (not 0, so their residual stays
  observed), the unlearned ones share the rest of the example mass equally. Soft:
  ω_k = max(u_k^q, floor) — the floor keeps learned modes sampled, which matters when modes
  share parameters (a network forgets a mode it no longer sees).
  Then ω ≤ C(e) = cap₀ (1 + e)^γ (the bound grows with the epoch e when γ > 0; γ = 0 is a
  static bound and, by Theorem 1, cannot change the exponent). Example weights are
  w_i = Σ_k ω_k s_ik with s_ik the share of example i's squared projection in mode k (exactly
  ω_{k(i)} for groups), normalized to mean 1, capped with water-filling.

Cost: groups — O(m + K) per update (K groups), O(n) per plan. Eigen-directions — one O(n d² + d³)
eigendecomposition at ``init``, O(m r K) per update, O(n r K) per plan. No extra forward pass:
residuals come from the training forward pass (stale for examples not seen recently; the
state records the epoch each residual was observed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from specurate._weights import waterfill
from specurate.curation.base import (
    MODES,
    Mode,
    Plan,
    State,
    Strategy,
    cap_weights,
    check_cap,
    check_epoch_length,
    check_indices,
    check_n,
    check_stat,
    draw_plan,
    epoch_rng,
    new_state,
)
from specurate.errors import SpecurateInputError


@dataclass(frozen=True)
class FrontierSampler(Strategy):
    """Estimated-frontier sampling (see the module docstring).

    Args:
        groups: (n,) integer mode label of each example (mode-local data), or None.
        features: (n, d) features whose top ``rank`` covariance eigen-directions are the
            modes (used when ``groups`` is None).
        rank: number of eigen-directions.
        kappa: a mode is learned when its residual energy fell by e^{−2κ}.
        soft: ω_k ∝ u_k^power instead of the hard suppression.
        power: exponent of the soft rule.
        floor: weight of learned modes (hard rule), or the least weight of a mode (soft rule),
            relative to an unlearned one.
        cap: C at epoch 0; ``cap_growth`` γ: C(e) = cap (1 + e)^γ.
        mode: ``reweight`` (changes T_w, the oracle) or ``unbiased`` (importance sampling).
        epoch_length: examples per epoch (default n; shorter epochs re-plan more often).
        horizon: groups only — estimate E_k by a moving average over ≈ ``horizon``
            observations per group instead of each example's last residual (None).
        balance: groups only — divide ω_k by the group's frequency, so that a mode's TOTAL
            weight (not each example's) is ∝ ω_k: unlearned modes are sampled equally however
            rare they are (their learning rates, ∝ p_k ω_k, are equalized), up to the bound C.
    """

    name: ClassVar[str] = "frontier"
    groups: np.ndarray | None = None
    features: np.ndarray | None = None
    rank: int = 32
    kappa: float = 1.0
    soft: bool = False
    power: float = 2.0
    floor: float = 0.05
    cap: float = 4.0
    cap_growth: float = 0.5
    mode: Mode = "reweight"
    epoch_length: int | None = None
    horizon: int | None = None
    balance: bool = False

    def __post_init__(self) -> None:
        if (self.groups is None) == (self.features is None):
            raise SpecurateInputError("give exactly one of groups (labels) or features (n, d)")
        for name, v in (("kappa", self.kappa), ("power", self.power)):
            if not (math.isfinite(v) and v > 0):
                raise SpecurateInputError(f"{name} must be > 0, got {v}")
        if not 0 <= self.floor <= 1:
            raise SpecurateInputError(f"floor must be in [0, 1], got {self.floor}")
        check_cap(self.cap)
        check_epoch_length(self.epoch_length)
        if not (math.isfinite(self.cap_growth) and self.cap_growth >= 0):
            raise SpecurateInputError(f"cap_growth must be ≥ 0, got {self.cap_growth}")
        if self.mode not in MODES:
            raise SpecurateInputError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.rank < 1:
            raise SpecurateInputError(f"rank must be ≥ 1, got {self.rank}")
        if self.balance and self.groups is None:
            raise SpecurateInputError("balance needs groups (it divides by each group's size)")
        if self.horizon is not None:
            if self.groups is None:
                raise SpecurateInputError("horizon needs groups (a moving average per group)")
            if int(self.horizon) != self.horizon or self.horizon < 1:
                raise SpecurateInputError(f"horizon must be a positive integer, got {self.horizon}")

    @property
    def declares_unbiased(self) -> bool:
        return self.mode == "unbiased"

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        """Groups: per-example losses suffice (the group energy is the mean loss, r_i² = ℓ_i).
        Eigen-directions need signed residuals (projections cancel)."""
        return frozenset({"loss"}) if self.groups is not None else frozenset({"residual"})

    # ----------------------------------------------------------------- modes of the examples
    def _labels(self, n: int) -> np.ndarray:
        """(n,) group index 0…K−1 of every example (groups given)."""
        g = np.asarray(self.groups)
        if g.shape != (n,):
            raise SpecurateInputError(f"groups have shape {g.shape} for {n} examples")
        if not np.issubdtype(g.dtype, np.integer):
            raise SpecurateInputError("groups must be integer labels")
        return np.unique(g, return_inverse=True)[1].reshape(n)

    def _directions(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, r) share s_ik of example i in eigen-direction k (rows sum to 1) and the
        whitened projections φ (n, r)."""
        x = np.asarray(self.features, dtype=float)
        if x.ndim != 2 or x.shape[0] != n:
            raise SpecurateInputError(f"features have shape {x.shape} for {n} examples")
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

    def init(self, n_examples: int, *, seed: int = 0) -> State:
        n = check_n(n_examples)
        if self.groups is not None:
            labels = self._labels(n)
            k = int(labels.max()) + 1
            arrays = {"labels": labels, "counts": np.bincount(labels, minlength=k).astype(float)}
            if self.horizon is not None:
                arrays["ema"] = np.zeros(k)
                arrays["ema_seen"] = np.zeros(k, dtype=bool)
            else:
                arrays["seen"] = np.full(n, -1.0)
        else:
            shares, proj = self._directions(n)
            arrays = {"shares": shares, "proj": proj, "seen": np.full(n, -1.0)}
        return new_state(n, seed=seed, epoch_length=self.epoch_length, **arrays)

    def update(self, state: State, indices: np.ndarray, stats: Mapping[str, np.ndarray]) -> State:
        idx = check_indices(indices, state.n)
        loss = check_stat(stats, "loss", idx.size) if "loss" in stats else None
        if loss is not None and np.any(loss < 0):
            raise SpecurateInputError("loss must be ≥ 0")
        if "residual" in stats:
            r = np.asarray(stats["residual"], dtype=float)
        elif self.groups is not None and loss is not None:
            r = np.sqrt(loss)  # group energy = mean squared residual = mean loss
        else:
            raise SpecurateInputError(
                "the frontier sampler needs the statistic 'residual' "
                "(or 'loss' when the modes are groups)"
            )
        r = r.reshape(r.shape[0], -1) if r.ndim else r.reshape(1, 1)
        if r.shape[0] != idx.size:
            raise SpecurateInputError(f"residual has {r.shape[0]} rows for {idx.size} indices")
        if not np.all(np.isfinite(r)):
            raise SpecurateInputError("residual contains NaN or inf")
        step = int(state.info.get("updates", 0))
        if self.groups is not None:
            sq_idx = (r**2).sum(axis=1)  # squared residual of each observed example
            # the batch's count and summed squared residual per group (used by both below)
            labels, k = state.arrays["labels"], state.arrays["counts"].size
            c = np.bincount(labels[idx], minlength=k).astype(float)
            tot = np.bincount(labels[idx], weights=sq_idx, minlength=k)
            if self.horizon is not None:  # O(m + K): no per-example memory
                new = state.with_arrays(**self._ema(state, c, tot))
            else:
                sq = np.array(state.arrays.get("sq", np.zeros(state.n)))
                seen = np.array(state.arrays["seen"])
                sq[idx], seen[idx] = sq_idx, step
                new = state.with_arrays(sq=sq, seen=seen)
            # E_k(0): the squared residual of group k's first observed batch
            e0 = np.array(state.arrays.get("energy0", np.full(k, np.nan)))
            first = np.isnan(e0) & (c > 0)
            if np.any(first):
                e0[first] = tot[first] / c[first]
                new = new.with_arrays(energy0=e0)
            return new.with_info(updates=step + 1)
        seen = np.array(state.arrays["seen"])
        seen[idx] = step
        res = state.arrays.get("residual")
        if res is None or res.shape[1] != r.shape[1]:
            res = np.zeros((state.n, r.shape[1]))
        res = np.array(res)
        res[idx] = r
        new = state.with_arrays(residual=res, seen=seen).with_info(updates=step + 1)
        if "energy0" in state.arrays or np.any(seen < 0):
            return new
        # the reference energy E_k(0) of eigen-directions: once every example has been observed
        return new.with_arrays(energy0=self._energy(new))

    def _ema(self, state: State, c: np.ndarray, tot: np.ndarray) -> dict[str, np.ndarray]:
        """Moving average of each group's squared residual over ≈ ``horizon`` observations,
        from the batch's per-group count ``c`` and summed squared residual ``tot`` (K,)."""
        counts = state.arrays["counts"]
        k = counts.size
        hit = c > 0
        h = np.minimum(float(self.horizon), np.maximum(counts, 1.0))
        beta = np.where(hit, (1.0 - 1.0 / np.maximum(h, 1.0 + 1e-12)) ** c, 1.0)
        ema, was = state.arrays["ema"], state.arrays["ema_seen"]
        batch_mean = np.divide(tot, c, out=np.zeros(k), where=hit)
        new = np.where(was, beta * ema + (1 - beta) * batch_mean, batch_mean)
        return {"ema": np.where(hit, new, ema), "ema_seen": was | hit}

    def _energy(self, state: State) -> np.ndarray:
        """Residual energy per mode, E_k (see the module docstring)."""
        if self.groups is None:
            res = state.arrays["residual"]
            return ((state.arrays["proj"].T @ res) ** 2).sum(axis=1) / state.n**2
        if self.horizon is not None:
            return np.array(state.arrays["ema"])
        labels, seen = state.arrays["labels"], state.arrays["seen"] >= 0
        k = state.arrays["counts"].size
        c = np.bincount(labels[seen], minlength=k)
        tot = np.bincount(labels[seen], weights=state.arrays["sq"][seen], minlength=k)
        return np.divide(tot, c, out=np.zeros(k), where=c > 0)

    def mode_weights(self, state: State, epoch: int) -> np.ndarray:
        """ω_k of each mode at ``epoch`` (1 everywhere before any residual was observed)."""
        r = (
            state.arrays["counts"].size
            if self.groups is not None
            else state.arrays["shares"].shape[1]
        )
        if "energy0" not in state.arrays:
            return np.ones(r)
        e0 = state.arrays["energy0"]
        with np.errstate(invalid="ignore", divide="ignore"):
            u2 = np.where(e0 > 0, self._energy(state) / e0, 1.0)  # NaN e0: not yet observed
        u2 = np.clip(u2, 0.0, None)
        if self.soft:
            omega = np.maximum(u2 ** (self.power / 2), self.floor)
        else:
            omega = np.where(u2 <= math.exp(-2 * self.kappa), self.floor, 1.0)
        if not omega.sum() > 0:
            omega = np.ones(r)
        return omega

    def example_weights(self, state: State, epoch: int) -> np.ndarray:
        """(n,) example weights with mean 1, ≤ C(epoch) = cap (1 + epoch)^γ."""
        omega = self.mode_weights(state, epoch)
        cap = self.cap * (1 + epoch) ** self.cap_growth
        if self.groups is not None:  # cap at the mode level: O(K log K), the same weights
            p = state.arrays["counts"] / state.n
            if self.balance:  # per-mode shares: every mode's total weight ∝ ω_k
                omega = np.where(p > 0, omega / np.where(p > 0, p, 1.0), 0.0)
            check_cap(cap)
            with np.errstate(divide="ignore"):
                omega = waterfill(np.log(omega / float(p @ omega)), p, cap, 1.0)
            return omega[state.arrays["labels"]]
        w = state.arrays["shares"] @ omega
        return cap_weights(w / w.mean(), cap)

    def plan(self, state: State, epoch: int) -> Plan:
        w = self.example_weights(state, epoch)
        return draw_plan(w, state.epoch_length, epoch_rng(state, epoch), mode=self.mode)

    def expected_weights(self, state: State) -> np.ndarray | None:
        """Unbiased mode: 1/n for every example with a positive weight (epoch 0's weights)."""
        if self.mode != "unbiased":
            return None
        w = self.example_weights(state, 0)
        return np.where(w > 0, 1.0 / state.n, 0.0)
