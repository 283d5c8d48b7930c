r"""Composition: filters followed by a sampler, and annealing any strategy back to uniform.

* :func:`chain` (an n-ary :class:`Chain`) runs stages in sequence: every stage but the last is a
  filter (it has ``kept(state)``: :class:`~specurate.curation.static.StaticSubset`,
  :class:`~specurate.curation.static.KeepMask`, or a chain ending in one) and the next stage
  sees only the examples it kept, at positions 0…k−1. The last stage plans; its plans are
  mapped back to data-set indices and observations are mapped forward to every stage. The
  chain's state is the tuple of its stages' states (:class:`ChainState`), and its accounting
  counts each trained example once and sums the stages' scoring work — right for any nesting.
* :class:`Anneal` replaces a growing fraction α(e) of every plan by uniform draws (scale 1):
  α(e) = clip((e − start)/span, 0, 1). Both parts are unbiased when the inner strategy is, so
  the mixture keeps that property; with α = 1 training is uniform (as InfoBatch's final epochs).

Init data given to a chain go to every stage that takes them (``data_keys``); per-example
arrays are restricted to the examples each stage sees.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol, TypeGuard

import numpy as np

from specurate._validate import check_positive_int, check_seed
from specurate.curation.base import (
    Accounting,
    Plan,
    Strategy,
    StrategyState,
    bind,
    check_batch,
    epoch_rng,
    readonly,
)
from specurate.errors import SpecurateInputError

__all__ = ["Anneal", "Chain", "ChainState", "chain", "declares_unbiased"]

#: sub-stream of :func:`~specurate.curation.base.epoch_rng` for :class:`Anneal`'s uniform draws
#: (the inner strategy's plans use sub-stream 0, so the two never share random numbers)
_ANNEAL_UNIFORM_STREAM = 7


def declares_unbiased(strategy: Strategy) -> bool:
    """Whether a strategy declares unbiased plans (instance property if it has one)."""
    value = getattr(strategy, "declares_unbiased", None)
    return bool(strategy.unbiased if value is None else value)


@dataclass(frozen=True, kw_only=True, eq=False)
class ChainState(StrategyState):
    """State of a :class:`Chain`.

    Attributes:
        children: the stages' states, in order.
        positions: (n_i,) int64 data-set index of each example stage i sees, per stage.
        inverse: (n,) int64 position of each data-set example in the LAST stage's view
            (−1: filtered out), and per earlier stage likewise, as a tuple.
    """

    children: tuple[StrategyState, ...]
    positions: tuple[np.ndarray, ...]
    inverse: tuple[np.ndarray, ...]


class _Filter(Protocol):
    """A filter stage: a strategy with ``kept(state)``, the indices it keeps."""

    def kept(self, state: StrategyState) -> np.ndarray: ...


def _is_filter(strategy: Strategy) -> TypeGuard[_Filter]:
    return callable(getattr(strategy, "kept", None))


@dataclass(frozen=True)
class Chain(Strategy):
    """Stages run in sequence (see the module docstring); build it with :func:`chain`."""

    name: ClassVar[str] = "chain"
    stages: tuple[Strategy, ...] = ()
    keep: Any = field(default=None, compare=False, hash=False, repr=False)  # deprecated
    then: Any = field(default=None, compare=False, hash=False, repr=False)  # deprecated

    def __post_init__(self) -> None:
        if self.keep is not None or self.then is not None:
            warnings.warn(
                "Chain(keep=..., then=...) is deprecated: use chain(KeepMask(), strategy) and "
                "pass mask=... (or indices=...) to init",
                DeprecationWarning,
                stacklevel=3,
            )
            if self.keep is None or self.then is None or self.stages:
                raise SpecurateInputError("Chain needs keep (mask or indices) and then")
            from specurate.curation.static import KeepMask

            k = np.asarray(self.keep)
            filt = bind(KeepMask(), **({"mask": k} if k.dtype == bool else {"indices": k}))
            object.__setattr__(self, "stages", (filt, self.then))
            object.__setattr__(self, "keep", None)
            object.__setattr__(self, "then", None)
        stages = tuple(self.stages)
        if not stages:
            raise SpecurateInputError("a chain needs at least one stage")
        for s in stages:
            if not isinstance(s, Strategy):
                raise SpecurateInputError(
                    f"chain stages must be strategies, got {type(s).__name__}"
                )
        for s in stages[:-1]:
            if not _is_filter(s):
                raise SpecurateInputError(
                    f"every chain stage but the last must be a filter (with kept(state)); "
                    f"{s.name!r} is not"
                )
        object.__setattr__(self, "stages", stages)

    @property
    def declares_unbiased(self) -> bool:
        """A chain with a filter changes the data: False (relative to the KEPT subset it is
        unbiased when the last stage is). A one-stage chain is its stage."""
        return len(self.stages) == 1 and declares_unbiased(self.stages[0])

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset().union(*(s.needs for s in self.stages))

    @property
    def data_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys(k for s in self.stages for k in s.data_keys))

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> ChainState:
        n, seed = check_positive_int("n_examples", n_examples), check_seed(seed)
        unknown = set(data) - set(self.data_keys)
        if unknown:
            raise SpecurateInputError(
                f"chain got init data {sorted(unknown)}; its stages take "
                f"{', '.join(self.data_keys) or 'none'}"
            )
        children, positions, inverse = [], [], []
        pos = np.arange(n, dtype=np.int64)  # data-set index of each example the stage sees
        for i, stage in enumerate(self.stages):
            sub = {}
            for k in stage.data_keys:
                if k in data and data[k] is not None:
                    a = np.asarray(data[k])
                    if i == 0:  # the first stage sees the data set itself
                        sub[k] = a
                    elif a.ndim == 0 or a.shape[0] != n:
                        raise SpecurateInputError(
                            f"{k} has {a.shape[:1]} entries for {n} examples (a later chain "
                            "stage takes per-example arrays of the whole data set)"
                        )
                    else:
                        sub[k] = a[pos]
            st = stage.init(pos.size, seed=seed, **sub)
            inv = np.full(n, -1, dtype=np.int64)
            inv[pos] = np.arange(pos.size)
            children.append(st)
            positions.append(readonly(pos))
            inverse.append(readonly(inv))
            if _is_filter(stage) and i < len(self.stages) - 1:
                pos = pos[np.asarray(stage.kept(st), dtype=np.int64)]
        last = children[-1]
        return ChainState(
            n=n,
            seed=seed,
            epoch_length=last.epoch_length,
            children=tuple(children),
            positions=tuple(positions),
            inverse=tuple(inverse),
        )

    def _check_state(self, state: Any) -> ChainState:
        if not isinstance(state, ChainState) or len(state.children) != len(self.stages):
            raise SpecurateInputError(f"chain got a state of type {type(state).__name__}")
        return state

    def kept(self, state: StrategyState) -> np.ndarray:
        """Data-set indices kept by the last stage (when it is a filter)."""
        st = self._check_state(state)
        last = self.stages[-1]
        if not _is_filter(last):
            raise SpecurateInputError("this chain does not end in a filter")
        return np.sort(st.positions[-1][np.asarray(last.kept(st.children[-1]))])

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        st = self._check_state(state)
        p = self.stages[-1].plan(st.children[-1], epoch)
        return Plan(st.positions[-1][p.indices], p.loss_scale)

    def update(
        self, state: StrategyState, indices: np.ndarray, stats: Mapping[str, np.ndarray]
    ) -> ChainState:
        st = self._check_state(state)
        idx, stats = check_batch(st, indices, stats)
        local = [inv[idx] for inv in st.inverse]
        if idx.size and np.any(local[-1] < 0):
            raise SpecurateInputError("observed indices include examples a filter removed")
        children = tuple(
            s.update(c, p, stats) for s, c, p in zip(self.stages, st.children, local, strict=True)
        )
        return replace(st, children=children, accounting=st.accounting + Accounting(idx.size))

    def cost(self, count: int) -> Accounting:
        extra = sum((s.cost(count).extras() for s in self.stages), Accounting())
        return Accounting(int(count)) + extra

    def accounting(self, state: StrategyState) -> Accounting:
        """Examples trained once, plus every stage's scoring work (any nesting)."""
        st = self._check_state(state)
        extra = sum(
            (s.accounting(c).extras() for s, c in zip(self.stages, st.children, strict=True)),
            Accounting(),
        )
        return Accounting(st.accounting.trained) + extra

    def expected_weights(self, state: StrategyState) -> np.ndarray | None:
        st = self._check_state(state)
        inner = self.stages[-1].expected_weights(st.children[-1])
        if inner is None:
            return None
        out = np.zeros(st.n)
        out[st.positions[-1]] = inner
        return out


def chain(*stages: Strategy) -> Chain:
    """Compose filters and a final sampler: ``chain(KeepMask(), LossProportional())``.

    Init data go to the stages that take them, restricted to the examples each stage sees:
    ``chain(KeepMask(), FrontierSampler()).init(n, mask=keep, groups=labels)``. Nested chains
    are flattened.
    """
    flat: list[Strategy] = []
    for s in stages:
        if isinstance(s, Chain):
            flat.extend(s.stages)
        else:
            flat.append(s)
    return Chain(stages=tuple(flat))


@dataclass(frozen=True)
class Anneal(Strategy):
    """Mix ``inner``'s plans with uniform draws, a fraction α(e) = clip((e − start)/span, 0, 1).

    The state is the inner strategy's (updates and accounting pass through).
    """

    name: ClassVar[str] = "anneal"
    inner: Strategy | None = None
    start: int = 0
    span: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.inner, Strategy):
            raise SpecurateInputError("Anneal needs an inner strategy")
        if self.start < 0 or self.span < 1:
            raise SpecurateInputError(
                f"need start ≥ 0 and span ≥ 1 epochs, got start={self.start}, span={self.span}"
            )

    @property
    def declares_unbiased(self) -> bool:
        return declares_unbiased(self.inner)  # type: ignore[arg-type]

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        return self.inner.needs  # type: ignore[union-attr]

    @property
    def data_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.inner.data_keys  # type: ignore[union-attr]

    def alpha(self, epoch: int) -> float:
        """Fraction of uniform draws in ``epoch``."""
        return float(np.clip((epoch - self.start) / self.span, 0.0, 1.0))

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> StrategyState:
        return self.inner.init(n_examples, seed=seed, **data)  # type: ignore[union-attr]

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        p = self.inner.plan(state, epoch)  # type: ignore[union-attr]
        m = len(p)
        n_uni = round(self.alpha(epoch) * m)
        if n_uni == 0:
            return p
        rng = epoch_rng(state, epoch, stream=_ANNEAL_UNIFORM_STREAM)
        # uniform over the examples the inner strategy can plan (a chain's filtered set)
        pool = state.positions[-1] if isinstance(state, ChainState) else None
        uni = rng.integers(0, state.n if pool is None else pool.size, size=n_uni)
        uni = uni if pool is None else pool[uni]
        keep = rng.permutation(m)[: m - n_uni]
        idx = np.concatenate([p.indices[keep], uni]).astype(np.int64)
        w = np.concatenate([p.loss_scale[keep], np.ones(n_uni)])
        order = rng.permutation(m)
        return Plan(idx[order], w[order])

    def update(
        self, state: StrategyState, indices: np.ndarray, stats: Mapping[str, np.ndarray]
    ) -> StrategyState:
        return self.inner.update(state, indices, stats)  # type: ignore[union-attr]

    def cost(self, count: int) -> Accounting:
        return self.inner.cost(count)  # type: ignore[union-attr]

    def accounting(self, state: StrategyState) -> Accounting:
        return self.inner.accounting(state)  # type: ignore[union-attr]
