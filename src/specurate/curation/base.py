r"""The Strategy contract: pure, seeded rules that decide which examples an epoch trains on.

A strategy (in the spirit of optax transforms and scikit-learn estimators) is a frozen
configuration object — settings only, so strategies compare and hash — plus three pure steps:

* ``init(n_examples, *, seed, **data) -> state`` — the strategy's own typed, immutable state
  (a frozen dataclass of named read-only arrays and counters, a subclass of
  :class:`StrategyState`). Data arrays (groups, features, scores, masks; length n) go here,
  never into the configuration;
* ``plan(state, epoch) -> Plan`` — the epoch's example indices and per-example loss scales;
  the same (state, epoch) always gives the same plan (randomness comes from
  :func:`epoch_rng`, the random stream ``curation.epoch`` of :mod:`specurate._rng`:
  ``numpy.random.default_rng([seed, epoch, sub-stream])``, never from a global generator);
* ``update(state, indices, stats) -> state`` — a NEW state from per-example statistics observed
  in training (``stats["loss"]`` etc.), rows in observation order.

**Updates are split-invariant.** Every built-in ``update`` is a fold over the observation
stream: ``update(update(s, A), B)`` equals ``update(s, A ⧺ B)`` (``check_update_split_invariant``
in :mod:`specurate.curation.check` tests it). An update copies the state's O(n) arrays once,
so the torch sampler buffers a plan's observations (O(m) per batch) and folds them in ONE
``update`` per plan — per-batch cost independent of n, one collective per plan under DDP, and
the same state as folding batch by batch.

**Compute accounting** is part of every state: :class:`Accounting` counts examples trained
(one forward + backward each) and the scoring work a strategy declares (extra forward passes
of helper models, their compute in main-model passes). ``strategy.accounting(state)`` is right
for any nesting: composition (:func:`~specurate.curation.combine.chain`) sums its children's
scoring work and counts each trained example once.

Every plan has exactly ``state.epoch_length`` entries, fixed at ``init``: epochs never shrink,
so step-based learning-rate schedules (OneCycleLR) know the total number of steps in advance.

Sampling-based strategies turn example weights w_i ≥ 0 (mean 1 over the data) into a plan of
m draws from p_i = w_i / n. Two loss corrections (theory.md §4):

* ``correction="reweight"`` (biased): loss scale 1. The expected gradient is that of the
  reweighted objective (1/n) Σ w_i ℓ_i: this changes the operator T_w (it can realize a
  frontier oracle).
* ``correction="importance"``: loss scale 1/(n p_i) = 1/w_i (importance sampling). The
  expected scaled gradient equals the full-data gradient: variance changes, the operator does
  not. (Called ``mode="unbiased"`` before 0.2; the old name still works with a warning.)
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, ClassVar, Literal, cast

import numpy as np
from numpy.typing import ArrayLike

from specurate import _rng
from specurate._validate import check_int, check_positive_int, check_seed
from specurate._weights import bounded_weights, cap_weights, check_cap
from specurate.errors import SpecurateInputError

__all__ = [
    "CORRECTIONS",
    "Accounting",
    "Bound",
    "Correction",
    "Plan",
    "Strategy",
    "StrategyState",
    "Uniform",
    "bind",
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
    "last_occurrence",
    "readonly",
    "scatter",
]

Correction = Literal["reweight", "importance"]
CORRECTIONS: tuple[str, ...] = ("reweight", "importance")
_OLD_MODES = {"reweight": "reweight", "unbiased": "importance"}


def resolve_correction(correction: str, mode: str | None, owner: str) -> Correction:
    """The loss correction, honouring the deprecated ``mode`` name ("unbiased" → "importance")."""
    if mode is not None:
        warnings.warn(
            f"{owner}(mode=...) is deprecated: use correction='reweight' or 'importance' "
            "('unbiased' is now 'importance')",
            DeprecationWarning,
            stacklevel=4,
        )
        if mode not in _OLD_MODES:
            raise SpecurateInputError(f"mode must be one of {tuple(_OLD_MODES)}, got {mode!r}")
        correction = _OLD_MODES[mode]
    if correction not in CORRECTIONS:
        raise SpecurateInputError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    return cast(Correction, correction)  # checked against CORRECTIONS just above


# ----------------------------------------------------------------------------- accounting
@dataclass(frozen=True)
class Accounting:
    """Compute charged to a run, in per-example passes (divide by n for passes over the data).

    Attributes:
        trained: examples trained on (one forward + one backward each; the statistics a
            strategy reads come from that forward pass at no extra cost).
        extra_forward: forward passes of helper models a strategy declared (probes, second
            models), one per scored example.
        extra_compute: the helpers' compute in main-model example passes (e.g. 0.1 per example
            for a probe a tenth of the model's size).
    """

    trained: int = 0
    extra_forward: float = 0.0
    extra_compute: float = 0.0

    def __add__(self, other: Accounting) -> Accounting:
        return Accounting(
            self.trained + other.trained,
            self.extra_forward + other.extra_forward,
            self.extra_compute + other.extra_compute,
        )

    @property
    def scoring(self) -> float:
        """Scoring work beyond training: ``extra_forward + extra_compute``."""
        return float(self.extra_forward + self.extra_compute)

    def extras(self) -> Accounting:
        """The scoring part alone (``trained`` = 0): what a composed child adds."""
        return Accounting(0, self.extra_forward, self.extra_compute)

    def as_dict(self) -> dict[str, float]:
        """``{"trained", "extra_forward", "extra_compute"}`` as floats."""
        return {
            "trained": float(self.trained),
            "extra_forward": float(self.extra_forward),
            "extra_compute": float(self.extra_compute),
        }


# ----------------------------------------------------------------------------- plan, state
@dataclass(frozen=True)
class Plan:
    """One epoch: example indices (m,) int64 and their loss scales (m,) float64 ≥ 0.

    ``loss_scale[j]`` multiplies the per-example loss of draw j (1 for reweighting, 1/w_i for
    importance sampling).
    """

    indices: np.ndarray
    loss_scale: np.ndarray

    def __len__(self) -> int:
        return int(self.indices.size)

    @property
    def weights(self) -> np.ndarray:
        """Deprecated name of :attr:`loss_scale`."""
        warnings.warn(
            "Plan.weights is deprecated: use Plan.loss_scale", DeprecationWarning, stacklevel=2
        )
        return self.loss_scale


def readonly(a: np.ndarray) -> np.ndarray:
    """``a`` marked read-only (no copy when it is already a fresh array the caller owns)."""
    a = np.asarray(a)
    if a.flags.writeable:
        a.setflags(write=False)
    return a


def scatter(base: np.ndarray, indices: np.ndarray, values: ArrayLike) -> np.ndarray:
    """A NEW read-only copy of ``base`` with ``base[indices] = values`` (indices distinct)."""
    out = np.array(base, copy=True)
    out[indices] = values
    return readonly(out)


def last_occurrence(indices: np.ndarray, n: int | None = None) -> np.ndarray:
    """Positions of the LAST occurrence of each distinct value of ``indices`` (sorted by value).

    Observations are a stream: when an example appears several times in one update, the last
    value wins, exactly as if the rows had been folded one at a time. With ``n`` (values in
    [0, n)) and m ≳ n/16 rows this is O(n + m) (a maximum scatter) instead of a sort.
    """
    m = indices.size
    if n is not None and 16 * m >= n:
        last = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last, indices, np.arange(m, dtype=np.int64))
        return last[last >= 0]
    rev = indices[::-1]
    _, first_in_rev = np.unique(rev, return_index=True)
    return m - 1 - first_in_rev


@dataclass(frozen=True, kw_only=True, eq=False)
class StrategyState:
    """Immutable state every strategy's state extends.

    Attributes:
        n: number of examples in the data set.
        seed: seed of all the strategy's randomness.
        epoch_length: examples per epoch (fixed for the whole run).
        accounting: compute charged so far (see :class:`Accounting`).
    """

    n: int
    seed: int
    epoch_length: int
    accounting: Accounting = Accounting()

    def charged(self, extra: Accounting) -> StrategyState:
        """This state with ``extra`` added to its accounting (arrays shared, not copied)."""
        return replace(self, accounting=self.accounting + extra)


def states_equal(a: Any, b: Any, *, rtol: float = 0.0) -> bool:
    """Structural equality of two states (arrays compared with NaN = NaN).

    With ``rtol`` > 0, float arrays and floats agree to that relative tolerance (absolute
    1e-12), e.g. when two summation orders of the same fold are compared.
    """

    def eq(x: Any, y: Any) -> bool:
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
                return False
            if x.shape != y.shape:
                return False
            if rtol and x.dtype.kind == "f":
                return np.allclose(x, y, rtol=rtol, atol=1e-12, equal_nan=True)
            return np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return type(x) is type(y) and all(
                eq(getattr(x, f.name), getattr(y, f.name)) for f in dataclasses.fields(x)
            )
        if isinstance(x, Mapping):
            return isinstance(y, Mapping) and set(x) == set(y) and all(eq(x[k], y[k]) for k in x)
        if isinstance(x, tuple):
            return (
                isinstance(y, tuple)
                and len(x) == len(y)
                and all(eq(u, v) for u, v in zip(x, y, strict=True))
            )
        if rtol and isinstance(x, float) and isinstance(y, float):
            return bool(np.isclose(x, y, rtol=rtol, atol=1e-12))
        return bool(x == y)

    return eq(a, b)


# ----------------------------------------------------------------------------- validation
def check_n(n_examples: int) -> int:
    """n must be a positive integer (public name; the check is :mod:`specurate._validate`'s)."""
    return check_positive_int("n_examples", n_examples)


def epoch_rng(state: StrategyState, epoch: int, stream: int = 0) -> np.random.Generator:
    """The generator of one epoch: a pure function of (seed, epoch, stream) — the registered
    random stream ``curation.epoch`` (``default_rng([seed, epoch, stream])``)."""
    epoch = check_int("epoch", epoch, lo=0, what="a non-negative integer")
    return _rng.stream("curation.epoch", state.seed, epoch, stream)


def check_epoch_length(m: int | None) -> None:
    """``epoch_length`` is a positive integer or None (the strategy's default)."""
    if m is not None:
        check_int("epoch_length", m, lo=1, what="a positive integer or None")


def check_indices(indices: np.ndarray, n: int) -> np.ndarray:
    """Integer indices in [0, n) as int64 (clear errors otherwise)."""
    idx = np.asarray(indices)
    if idx.ndim != 1:
        raise SpecurateInputError(f"indices must be 1-D, got shape {idx.shape}")
    # an empty batch may come as float (np.array([])), never as complex, text or objects
    if (idx.size and not np.issubdtype(idx.dtype, np.integer)) or idx.dtype.kind not in "biuf":
        raise SpecurateInputError(f"indices must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise SpecurateInputError(
            f"indices out of range: [{idx.min()}, {idx.max()}] for a data set of {n} examples "
            "(is this state from a data set of another size?)"
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


def check_batch(
    state: StrategyState, indices: np.ndarray, stats: Mapping[str, Any]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Validated (m,) indices and statistics with leading dimension m, finite where numeric.

    Every ``update`` starts here, so bad input raises :class:`SpecurateInputError` before any
    state is built (the old state is never touched: states are immutable).
    """
    if not isinstance(state, StrategyState):
        raise SpecurateInputError(f"expected a strategy state, got {type(state).__name__}")
    idx = check_indices(indices, state.n)
    return idx, check_stats(stats, idx.size)


def check_stats(stats: Mapping[str, Any], size: int) -> dict[str, np.ndarray]:
    """Per-example statistics as arrays with leading dimension ``size``: real, and finite where
    floating (one clear :class:`SpecurateInputError` otherwise)."""
    if not isinstance(stats, Mapping):
        raise SpecurateInputError(f"stats must be a mapping of arrays, got {type(stats).__name__}")
    out: dict[str, np.ndarray] = {}
    for key, value in stats.items():
        try:
            v = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise SpecurateInputError(f"{key} cannot be read as an array: {err}") from None
        if v.ndim == 0 or v.shape[0] != size:
            raise SpecurateInputError(
                f"{key} has leading dimension {v.shape[:1]} for {size} indices"
            )
        if v.dtype.kind == "c":
            raise SpecurateInputError(f"{key} is complex; statistics must be real")
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise SpecurateInputError(f"{key} contains NaN or inf")
        out[key] = v
    return out


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


def check_data_array(name: str, value: Any, n: int, *, ndim: int | None = 1) -> np.ndarray:
    """A per-example init array (length n along axis 0), copied and read-only."""
    if value is None:
        raise SpecurateInputError(f"{name} is required")
    try:
        a = np.array(value, copy=True)
    except (TypeError, ValueError) as err:
        raise SpecurateInputError(f"{name} cannot be read as an array: {err}") from None
    if ndim is not None and a.ndim != ndim:
        raise SpecurateInputError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if a.ndim == 0 or a.shape[0] != n:
        raise SpecurateInputError(f"{name} has {a.shape[:1]} entries for {n} examples")
    return readonly(a)


def draw_plan(
    weights: np.ndarray,
    m: int,
    rng: np.random.Generator,
    *,
    correction: Correction = "reweight",
    mode: str | None = None,
) -> Plan:
    r"""m draws with probability p_i = w_i/Σw (systematic sampling: low variance, exact counts).

    Systematic sampling places m equally spaced points (one uniform offset) on the cumulative
    distribution, so example i is drawn ⌊m p_i⌋ or ⌈m p_i⌉ times — E[count_i] = m p_i — and
    the order is shuffled. Loss scales: 1 (``reweight``) or 1/(n p_i) (``importance``).
    Cost O(n + m): the counts come from :func:`systematic_counts`, with no search.
    """
    correction = resolve_correction(correction, mode, "draw_plan")
    w = np.asarray(weights, dtype=float)
    counts, total = systematic_counts(w, m, rng)
    idx = np.repeat(np.arange(w.size, dtype=np.int64), counts)[rng.permutation(m)]
    if correction == "reweight":
        scale = np.ones(m)
    else:
        scale = total / (w.size * w[idx])
    return Plan(idx, scale)


def systematic_counts(
    weights: np.ndarray, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    r"""(counts (n,) int64 summing to m, Σw): systematic sampling of m draws from p ∝ w.

    Points (u + j)·Δ, j < m, Δ = Σw/m, u ~ U[0, 1) (one draw from ``rng``); bin i holds those in
    [cdf_{i−1}, cdf_i), and the count of points below x is ⌈x/Δ − u⌉ (clipped to [0, m]), so
    counts_i ∈ {⌊m p_i⌋, ⌈m p_i⌉} with E[counts_i] = m p_i. O(n), no search, in place.
    """
    cdf = np.cumsum(weights, dtype=float)
    total = float(cdf[-1])
    u = rng.random()
    cdf *= m / total
    cdf -= u
    np.ceil(cdf, out=cdf)
    np.maximum(cdf, 0.0, out=cdf)
    np.minimum(cdf, m, out=cdf)
    below = cdf.astype(np.int64)
    below[-1] = m
    counts = np.empty_like(below)
    counts[0] = below[0]
    np.subtract(below[1:], below[:-1], out=counts[1:])
    return counts, total


# ----------------------------------------------------------------------------- strategies
class Strategy:
    """Base class of curation strategies (see the module docstring for the contract).

    Class attributes:
        name: short name.
        unbiased: True when the expected scaled gradient of a plan equals the full-data
            gradient (checked by :func:`~specurate.curation.check.check_strategy`).
        needs: per-example statistics ``update`` consumes (e.g. ``{"loss"}``).
        data_keys: names of the per-example arrays ``init`` accepts (e.g. ``("groups",)``).
        data_needs: further statistics ``update`` consumes when ``init`` was given a data key
            (e.g. the frontier sampler on ``features`` reads signed residuals); a
            :class:`Bound` strategy reports them in its ``needs``.
    """

    name: ClassVar[str] = "strategy"
    unbiased: ClassVar[bool] = False
    needs: ClassVar[frozenset[str]] = frozenset()
    data_keys: ClassVar[tuple[str, ...]] = ()
    data_needs: ClassVar[Mapping[str, frozenset[str]]] = MappingProxyType({})

    @property
    def declares_unbiased(self) -> bool:
        """Whether this instance declares unbiased plans (``correction="importance"`` for the
        strategies that have one; the class attribute ``unbiased`` otherwise)."""
        correction = getattr(self, "correction", None)
        if correction is not None:
            return correction == "importance"
        return bool(type(self).unbiased)

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> StrategyState:
        """Initial state for ``n_examples`` examples (seed of all randomness; per-example
        arrays named by :attr:`data_keys`)."""
        n, seed = check_positive_int("n_examples", n_examples), check_seed(seed)
        self._init_data(data)
        return StrategyState(n=n, seed=seed, epoch_length=n)

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        """The plan of ``epoch`` (pure: same state and epoch, same plan)."""
        raise NotImplementedError

    def update(
        self, state: StrategyState, indices: np.ndarray, stats: Mapping[str, np.ndarray]
    ) -> StrategyState:
        """Static strategies only count the trained examples (inputs are still validated)."""
        state = self._check_state(state)
        idx, _ = check_batch(state, indices, stats)
        return state.charged(self.cost(idx.size))

    def _check_state(self, state: Any) -> Any:
        """``state`` if it is this strategy's kind of state, else :class:`SpecurateInputError`
        (the base class's states are plain :class:`StrategyState`)."""
        if type(state) is not StrategyState:
            raise SpecurateInputError(
                f"{self.name} got a state of another strategy ({type(state).__name__})"
            )
        return state

    def cost(self, count: int) -> Accounting:
        """What observing ``count`` trained examples adds to the accounting (linear in count)."""
        return Accounting(trained=int(count))

    def accounting(self, state: StrategyState) -> Accounting:
        """Compute charged so far (all of this strategy's parts)."""
        return state.accounting

    def expected_weights(self, state: StrategyState) -> np.ndarray | None:
        """(n,) expected loss mass per example over one plan, if known in closed form.

        E[Σ_{j in plan} scale_j 1{idx_j = i}] / m: for an unbiased strategy this is 1/n for
        every i. Used by :func:`check_strategy` to verify unbiasedness without sampling error.
        """
        return None

    # --------------------------------------------------------------- helpers for subclasses
    def _init_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Init data merged with deprecated constructor arrays; unknown names raise."""
        unknown = set(data) - set(self.data_keys)
        if unknown:
            takes = ", ".join(self.data_keys) or "no data"
            raise SpecurateInputError(
                f"{self.name} got init data {sorted(unknown)}; it takes {takes}"
            )
        merged = {k: getattr(self, k, None) for k in self.data_keys}
        merged.update({k: v for k, v in data.items() if v is not None})
        return merged

    def _deprecated_data(self) -> None:
        """Warn when data arrays were given to the constructor (the pre-0.2 API)."""
        given = [k for k in self.data_keys if getattr(self, k, None) is not None]
        if given:
            warnings.warn(
                f"{type(self).__name__}({', '.join(f'{k}=...' for k in given)}) is deprecated: "
                f"configurations hold settings only; pass the arrays to init "
                f"(strategy.init(n, seed=..., {given[0]}=...)), to CurationSampler, or use "
                "specurate.curation.bind",
                DeprecationWarning,
                stacklevel=4,
            )


def data_field() -> Any:
    """A deprecated constructor slot for a data array: excluded from eq, hash and repr."""
    return field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Uniform(Strategy):
    """Every example once per epoch in a seeded random order (the control)."""

    name: ClassVar[str] = "uniform"
    unbiased: ClassVar[bool] = True

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        state = self._check_state(state)
        idx = epoch_rng(state, epoch).permutation(state.n).astype(np.int64)
        return Plan(idx, np.ones(state.n))

    def expected_weights(self, state: StrategyState) -> np.ndarray:
        return np.full(state.n, 1.0 / state.n)


@dataclass(frozen=True, eq=False)
class Bound(Strategy):
    """A strategy with its init data attached (partial application of ``init``).

    ``bind(FrontierSampler(soft=True), groups=labels).init(n, seed=0)`` is
    ``FrontierSampler(soft=True).init(n, seed=0, groups=labels)``. The state is the inner
    strategy's; everything else is delegated. Compares by identity (it holds arrays).
    """

    strategy: Strategy
    data: Mapping[str, Any]

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.strategy.name

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        extra = (self.strategy.data_needs.get(k, frozenset()) for k in self.data)
        return self.strategy.needs.union(*extra)

    @property
    def declares_unbiased(self) -> bool:
        return self.strategy.declares_unbiased

    @property
    def data_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.strategy.data_keys

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> StrategyState:
        return self.strategy.init(n_examples, seed=seed, **{**self.data, **data})

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        return self.strategy.plan(state, epoch)

    def update(self, state: StrategyState, indices: np.ndarray, stats: Mapping) -> StrategyState:
        return self.strategy.update(state, indices, stats)

    def cost(self, count: int) -> Accounting:
        return self.strategy.cost(count)

    def accounting(self, state: StrategyState) -> Accounting:
        return self.strategy.accounting(state)

    def expected_weights(self, state: StrategyState) -> np.ndarray | None:
        return self.strategy.expected_weights(state)

    def __getattr__(self, attr: str) -> Any:  # strategy-specific helpers (weights, scores, …)
        if attr.startswith("__") or attr in ("strategy", "data"):
            raise AttributeError(attr)
        return getattr(self.strategy, attr)


def bind(strategy: Strategy, **data: Any) -> Bound:
    """Attach init data to a strategy: ``bind(s, groups=g).init(n)`` = ``s.init(n, groups=g)``.

    Useful where a strategy is handed to code that calls ``init(n, seed=...)`` itself (the
    benchmark's ``train``, :class:`~specurate.torch.CurationSampler` without data keywords).
    """
    if not isinstance(strategy, Strategy):
        raise SpecurateInputError(f"bind needs a Strategy, got {type(strategy).__name__}")
    unknown = set(data) - set(strategy.data_keys)
    if unknown:
        raise SpecurateInputError(
            f"{strategy.name} takes no init data {sorted(unknown)} "
            f"(it takes {', '.join(strategy.data_keys) or 'none'})"
        )
    return Bound(strategy, dict(data))


def deprecated_state_alias(stacklevel: int = 3) -> type[StrategyState]:
    """``StrategyState``, with the deprecation warning of its old name ``State``."""
    warnings.warn(
        "specurate.curation.State is deprecated: use StrategyState",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return StrategyState


def __getattr__(name: str) -> Any:  # deprecated aliases
    if name == "State":
        return deprecated_state_alias()
    if name in ("MODES", "Mode"):
        warnings.warn(
            f"specurate.curation.base.{name} is deprecated: use CORRECTIONS / Correction",
            DeprecationWarning,
            stacklevel=2,
        )
        return CORRECTIONS if name == "MODES" else Correction
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
