r"""The Strategy contract: pure, seeded rules that decide which examples an epoch trains on.

A strategy (in the spirit of optax transforms and scikit-learn estimators) is three pure steps:

* ``init(n_examples, seed=…) -> State`` — immutable state (read-only arrays);
* ``plan(state, epoch) -> Plan`` — the epoch's example indices and per-example loss
  multipliers; the same (state, epoch) always gives the same plan (randomness comes from
  ``numpy.random.default_rng([seed, epoch])``, never from a global generator);
* ``update(state, indices, stats) -> State`` — a NEW state from per-example statistics observed
  in training (``stats["loss"]`` etc.); static strategies return the state unchanged.

Every plan has exactly ``state.epoch_length`` entries, fixed at ``init``: epochs never shrink,
so step-based learning-rate schedules (OneCycleLR) know the total number of steps in advance.
A strategy that saves compute does so by a smaller ``epoch_length`` chosen up front — its
"keep fraction" is the fraction of the full epoch's steps it actually runs.

Sampling-based strategies turn example weights w_i ≥ 0 (mean 1 over the data) into a plan of
m draws from p_i = w_i / n. Two modes (theory.md §4):

* ``"reweight"`` (biased): loss multiplier 1. The expected gradient is that of the reweighted
  objective (1/n) Σ w_i ℓ_i: this changes the operator T_w (it can realize a frontier oracle).
* ``"unbiased"``: loss multiplier 1/(n p_i) = 1/w_i (importance sampling). The expected
  weighted gradient equals the full-data gradient: variance changes, the operator does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import numpy as np

from specurate._weights import bounded_weights, cap_weights, check_cap
from specurate.errors import SpecurateInputError, check_positive_int

__all__ = [
    "MODES",
    "Mode",
    "Plan",
    "State",
    "Strategy",
    "Uniform",
    "bounded_weights",
    "cap_weights",
    "check_cap",
    "check_epoch_length",
    "check_indices",
    "check_n",
    "check_stat",
    "check_weights",
    "draw_plan",
    "epoch_rng",
    "new_state",
]

Mode = Literal["reweight", "unbiased"]
MODES: tuple[str, ...] = ("reweight", "unbiased")


@dataclass(frozen=True)
class Plan:
    """One epoch: example indices (m,) int64 and loss multipliers (m,) float64 ≥ 0."""

    indices: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return int(self.indices.size)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class State:
    """Immutable strategy state.

    Attributes:
        n: number of examples in the data set.
        seed: seed of all the strategy's randomness.
        epoch_length: examples per epoch (fixed for the whole run).
        arrays: named read-only arrays (scores, running losses, last-seen epochs, …).
        info: small JSON-ready facts (counts of scoring passes, …).
    """

    n: int
    seed: int
    epoch_length: int
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    def with_arrays(self, **arrays: np.ndarray) -> State:
        """A new state with some arrays replaced (copied, read-only)."""
        merged = dict(self.arrays)
        merged.update({k: _frozen(v) for k, v in arrays.items()})
        return replace(self, arrays=MappingProxyType(merged))

    def with_info(self, **info: Any) -> State:
        """A new state with some info entries replaced."""
        merged = dict(self.info)
        merged.update(info)
        return replace(self, info=MappingProxyType(merged))


def new_state(
    n_examples: int, *, seed: int, epoch_length: int | None = None, **arrays: np.ndarray
) -> State:
    """Validated initial state (``epoch_length`` defaults to ``n_examples``)."""
    n = check_n(n_examples)
    m = n if epoch_length is None else int(epoch_length)
    if m < 1:
        raise SpecurateInputError(f"epoch_length must be ≥ 1, got {epoch_length}")
    frozen = {k: _frozen(v) for k, v in arrays.items()}
    return State(n, int(seed), m, MappingProxyType(frozen), MappingProxyType({}))


def check_n(n_examples: int) -> int:
    """n must be a positive integer."""
    return check_positive_int("n_examples", n_examples)


def epoch_rng(state: State, epoch: int, stream: int = 0) -> np.random.Generator:
    """The generator of one epoch: a pure function of (seed, epoch, stream)."""
    if int(epoch) != epoch or epoch < 0:
        raise SpecurateInputError(f"epoch must be a non-negative integer, got {epoch}")
    return np.random.default_rng([state.seed, int(epoch), stream])


def check_epoch_length(m: int | None) -> None:
    """``epoch_length`` is a positive integer or None (the strategy's default)."""
    if m is not None and (isinstance(m, bool) or int(m) != m or m < 1):
        raise SpecurateInputError(f"epoch_length must be a positive integer or None, got {m}")


def check_indices(indices: np.ndarray, n: int) -> np.ndarray:
    """Integer indices in [0, n) as int64 (clear errors otherwise)."""
    idx = np.asarray(indices)
    if idx.ndim != 1:
        raise SpecurateInputError(f"indices must be 1-D, got shape {idx.shape}")
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise SpecurateInputError(f"indices must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise SpecurateInputError(
            f"indices out of range: [{idx.min()}, {idx.max()}] for a data set of {n} examples"
        )
    return idx


def check_stat(stats: Mapping[str, np.ndarray], key: str, size: int) -> np.ndarray:
    """A finite per-example statistic of length ``size`` (e.g. the losses of a batch)."""
    if key not in stats:
        raise SpecurateInputError(f"this strategy needs the per-example statistic {key!r}")
    v = np.asarray(stats[key], dtype=float).ravel()
    if v.size != size:
        raise SpecurateInputError(f"{key} has {v.size} entries for {size} indices")
    if not np.all(np.isfinite(v)):
        raise SpecurateInputError(f"{key} contains NaN or inf")
    return v


def check_weights(w: np.ndarray, n: int, *, name: str = "weights") -> np.ndarray:
    """Finite, non-negative weights of length n with a positive sum."""
    w = np.asarray(w, dtype=float).ravel()
    if w.size != n:
        raise SpecurateInputError(f"{name} have {w.size} entries for {n} examples")
    if not np.all(np.isfinite(w)):
        raise SpecurateInputError(f"{name} contain NaN or inf")
    if np.any(w < 0):
        raise SpecurateInputError(f"{name} must be ≥ 0")
    if not w.sum() > 0:
        raise SpecurateInputError(f"{name} are all zero: nothing left to train on")
    return w


def draw_plan(
    weights: np.ndarray, m: int, rng: np.random.Generator, *, mode: Mode = "reweight"
) -> Plan:
    r"""m draws with probability p_i = w_i/Σw (systematic sampling: low variance, exact counts).

    Systematic sampling places m equally spaced points (one uniform offset) on the cumulative
    distribution, so example i is drawn ⌊m p_i⌋ or ⌈m p_i⌉ times — E[count_i] = m p_i — and
    the order is shuffled. Loss multipliers: 1 (``reweight``) or 1/(n p_i) (``unbiased``).
    """
    if mode not in MODES:
        raise SpecurateInputError(f"mode must be one of {MODES}, got {mode!r}")
    w = np.asarray(weights, dtype=float)
    p = w / w.sum()
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    points = (rng.random() + np.arange(m)) / m
    idx = np.searchsorted(cdf, points, side="right").astype(np.int64)
    idx = np.minimum(idx, w.size - 1)
    idx = idx[rng.permutation(m)]
    if mode == "reweight":
        mult = np.ones(m)
    else:
        mult = 1.0 / (w.size * p[idx])
    return Plan(idx, mult)


class Strategy:
    """Base class of curation strategies (see the module docstring for the contract).

    Class attributes:
        name: short name.
        unbiased: True when the expected weighted gradient of a plan equals the full-data
            gradient (checked by :func:`~specurate.curation.check.check_strategy`).
        needs: per-example statistics ``update`` consumes (e.g. ``{"loss"}``).
    """

    name: ClassVar[str] = "strategy"
    unbiased: ClassVar[bool] = False
    needs: ClassVar[frozenset[str]] = frozenset()

    @property
    def declares_unbiased(self) -> bool:
        """Whether this instance declares unbiased plans (strategies with a ``mode`` knob
        override it; the class attribute ``unbiased`` is the default)."""
        return bool(type(self).unbiased)

    def init(self, n_examples: int, *, seed: int = 0) -> State:
        """Initial state for ``n_examples`` examples (seed of all randomness)."""
        raise NotImplementedError

    def plan(self, state: State, epoch: int) -> Plan:
        """The plan of ``epoch`` (pure: same state and epoch, same plan)."""
        raise NotImplementedError

    def update(self, state: State, indices: np.ndarray, stats: Mapping[str, np.ndarray]) -> State:
        """Static strategies ignore observations (indices are still validated)."""
        check_indices(indices, state.n)
        return state

    def expected_weights(self, state: State) -> np.ndarray | None:
        """(n,) expected loss mass per example over one plan, if known in closed form.

        E[Σ_{j in plan} mult_j 1{idx_j = i}] / m: for an unbiased strategy this is 1/n for every
        i. Used by :func:`check_strategy` to verify unbiasedness without sampling error.
        """
        return None


@dataclass(frozen=True)
class Uniform(Strategy):
    """Every example once per epoch in a seeded random order (the control)."""

    name: ClassVar[str] = "uniform"
    unbiased: ClassVar[bool] = True

    def init(self, n_examples: int, *, seed: int = 0) -> State:
        return new_state(n_examples, seed=seed)

    def plan(self, state: State, epoch: int) -> Plan:
        idx = epoch_rng(state, epoch).permutation(state.n).astype(np.int64)
        return Plan(idx, np.ones(state.n))

    def expected_weights(self, state: State) -> np.ndarray:
        return np.full(state.n, 1.0 / state.n)
