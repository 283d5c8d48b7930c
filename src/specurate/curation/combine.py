r"""Composition: a filter followed by a sampler, and annealing any strategy back to uniform.

* :class:`Chain` restricts a strategy to a kept subset of the data (e.g. after near-duplicate
  removal or a static prune): the inner strategy sees positions 0..k−1 of the kept indices, its
  plans are mapped back to data-set indices, and observations are mapped forward.
* :class:`Anneal` replaces a growing fraction α(e) of every plan by uniform draws (multiplier 1):
  α(e) = clip((e − start)/span, 0, 1). Both parts are unbiased when the inner strategy is, so
  the mixture keeps that property; with α = 1 training is uniform (as InfoBatch's final epochs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from specurate.curation.base import (
    Plan,
    State,
    Strategy,
    check_indices,
    check_n,
    epoch_rng,
)
from specurate.errors import SpecurateInputError


def declares_unbiased(strategy: Strategy) -> bool:
    """Whether a strategy declares unbiased plans (instance property if it has one)."""
    value = getattr(strategy, "declares_unbiased", None)
    return bool(strategy.unbiased if value is None else value)


@dataclass(frozen=True)
class Chain(Strategy):
    """Run ``then`` on the examples kept by ``keep`` (a boolean mask (n,) or indices).

    The state wraps the inner state (``arrays["kept"]`` holds the kept data-set indices).
    """

    name: ClassVar[str] = "chain"
    keep: np.ndarray | None = None
    then: Strategy | None = None

    def __post_init__(self) -> None:
        if self.keep is None or self.then is None:
            raise SpecurateInputError("Chain needs keep (mask or indices) and then (a strategy)")

    @property
    def declares_unbiased(self) -> bool:
        """False: a filter changes the data. (Relative to the KEPT subset the chain is unbiased
        when the inner strategy is; relative to the full data it is not.)"""
        return False

    @property
    def needs(self) -> frozenset[str]:  # type: ignore[override]
        return self.then.needs  # type: ignore[union-attr]

    def _kept(self, n: int) -> np.ndarray:
        k = np.asarray(self.keep)
        if k.dtype == bool:
            if k.size != n:
                raise SpecurateInputError(f"keep mask has {k.size} entries for {n} examples")
            kept = np.nonzero(k)[0]
        else:
            kept = np.unique(check_indices(k, n))
        if kept.size == 0:
            raise SpecurateInputError("the filter kept no example")
        return kept.astype(np.int64)

    def init(self, n_examples: int, *, seed: int = 0) -> State:
        n = check_n(n_examples)
        kept = self._kept(n)
        inner = self.then.init(kept.size, seed=seed)  # type: ignore[union-attr]
        return _wrap(n, kept, inner)

    def plan(self, state: State, epoch: int) -> Plan:
        inner = _unwrap(state)
        p = self.then.plan(inner, epoch)  # type: ignore[union-attr]
        return Plan(state.arrays["kept"][p.indices], p.weights)

    def update(self, state: State, indices: np.ndarray, stats: Mapping[str, np.ndarray]) -> State:
        idx = check_indices(indices, state.n)
        kept = state.arrays["kept"]
        pos = np.searchsorted(kept, idx)
        pos = np.minimum(pos, kept.size - 1)
        if not np.array_equal(kept[pos], idx):
            raise SpecurateInputError("observed indices include examples the filter removed")
        inner = self.then.update(_unwrap(state), pos, stats)  # type: ignore[union-attr]
        return _wrap(state.n, kept, inner)

    def expected_weights(self, state: State) -> np.ndarray | None:
        inner = self.then.expected_weights(_unwrap(state))  # type: ignore[union-attr]
        if inner is None:
            return None
        out = np.zeros(state.n)
        out[state.arrays["kept"]] = inner
        return out


def _wrap(n: int, kept: np.ndarray, inner: State) -> State:
    arrays = {f"inner.{k}": v for k, v in inner.arrays.items()}
    arrays["kept"] = kept
    base = State(n, inner.seed, inner.epoch_length)
    return base.with_arrays(**arrays).with_info(
        **{f"inner.{k}": v for k, v in inner.info.items()}, inner_n=inner.n
    )


def _unwrap(state: State) -> State:
    arrays = {k[6:]: v for k, v in state.arrays.items() if k.startswith("inner.")}
    info = {k[6:]: v for k, v in state.info.items() if k.startswith("inner.")}
    inner = State(int(state.info["inner_n"]), state.seed, state.epoch_length)
    return inner.with_arrays(**arrays).with_info(**info)


@dataclass(frozen=True)
class Anneal(Strategy):
    """Mix ``inner``'s plans with uniform draws, a fraction α(e) = clip((e − start)/span, 0, 1)."""

    name: ClassVar[str] = "anneal"
    inner: Strategy | None = None
    start: int = 0
    span: int = 1

    def __post_init__(self) -> None:
        if self.inner is None:
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

    def alpha(self, epoch: int) -> float:
        """Fraction of uniform draws in ``epoch``."""
        return float(np.clip((epoch - self.start) / self.span, 0.0, 1.0))

    def init(self, n_examples: int, *, seed: int = 0) -> State:
        return self.inner.init(n_examples, seed=seed)  # type: ignore[union-attr]

    def plan(self, state: State, epoch: int) -> Plan:
        p = self.inner.plan(state, epoch)  # type: ignore[union-attr]
        m = len(p)
        n_uni = round(self.alpha(epoch) * m)
        if n_uni == 0:
            return p
        rng = epoch_rng(state, epoch, stream=7)
        uni = rng.integers(0, state.n, size=n_uni)
        keep = rng.permutation(m)[: m - n_uni]
        idx = np.concatenate([p.indices[keep], uni]).astype(np.int64)
        w = np.concatenate([p.weights[keep], np.ones(n_uni)])
        order = rng.permutation(m)
        return Plan(idx[order], w[order])

    def update(self, state: State, indices: np.ndarray, stats: Mapping[str, np.ndarray]) -> State:
        return self.inner.update(state, indices, stats)  # type: ignore[union-attr]
