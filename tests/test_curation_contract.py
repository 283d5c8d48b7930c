"""The Strategy contract: check_strategy passes good strategies and catches broken ones."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specurate.curation.base import (
    Plan,
    Strategy,
    Uniform,
    bounded_weights,
    cap_weights,
    check_indices,
    check_stat,
    draw_plan,
    epoch_rng,
    new_state,
)
from specurate.curation.check import check_strategy
from specurate.curation.combine import Anneal, Chain
from specurate.errors import SpecurateInputError


@dataclass(frozen=True)
class LossWeighted(Strategy):
    """A minimal dynamic strategy for the tests: weights ∝ last observed loss."""

    name: ClassVar[str] = "loss-weighted"
    needs: ClassVar[frozenset[str]] = frozenset({"loss"})
    mode: str = "reweight"

    @property
    def declares_unbiased(self) -> bool:
        return self.mode == "unbiased"

    def init(self, n_examples, *, seed=0):
        return new_state(n_examples, seed=seed, loss=np.ones(n_examples))

    def plan(self, state, epoch):
        w = bounded_weights(state.arrays["loss"], mix=0.1)
        return draw_plan(w, state.epoch_length, epoch_rng(state, epoch), mode=self.mode)

    def update(self, state, indices, stats):
        idx = check_indices(indices, state.n)
        loss = check_stat(stats, "loss", idx.size)
        new = np.array(state.arrays["loss"])
        new[idx] = loss
        return state.with_arrays(loss=new)

    def expected_weights(self, state):
        w = bounded_weights(state.arrays["loss"], mix=0.1)
        p = w / w.sum()
        # systematic draws: E[count_i] = m p_i; multiplier 1 or 1/(n p_i), per draw over m
        return p if self.mode == "reweight" else np.full(state.n, 1.0 / state.n)


def test_good_strategies_pass():
    assert "unbiased" in check_strategy(Uniform()).passed
    assert "unbiased" in check_strategy(LossWeighted(mode="unbiased")).passed
    assert "unbiased" not in check_strategy(LossWeighted()).passed  # not declared
    assert len(check_strategy(Chain(keep=np.arange(200) % 3 > 0, then=LossWeighted())).passed) == 5
    assert "unbiased" in check_strategy(Anneal(inner=Uniform(), start=1, span=3)).passed


@dataclass(frozen=True)
class ClaimsUnbiased(LossWeighted):
    @property
    def declares_unbiased(self) -> bool:  # but plans with multiplier 1 (biased)
        return True

    def expected_weights(self, state):
        return None  # force the Monte Carlo check


@dataclass(frozen=True)
class GlobalRandom(Uniform):
    def plan(self, state, epoch):
        # deliberately the global RNG (the bug check_strategy must catch)
        return Plan(np.random.permutation(state.n).astype(np.int64), np.ones(state.n))  # noqa: NPY002


@dataclass(frozen=True)
class ShortPlan(Uniform):
    def plan(self, state, epoch):
        p = super().plan(state, epoch)
        return Plan(p.indices[:-1], p.weights[:-1])


@dataclass(frozen=True)
class NoValidation(LossWeighted):
    def update(self, state, indices, stats):
        new = np.array(state.arrays["loss"])
        new[np.asarray(indices) % state.n] = np.asarray(stats["loss"])[: len(indices)]
        return state.with_arrays(loss=new)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (ClaimsUnbiased(), "standard errors"),
        (GlobalRandom(), "not deterministic"),
        (ShortPlan(), "entries, epoch_length"),
        (NoValidation(), "did not raise"),
    ],
)
def test_broken_strategies_are_caught(bad, message):
    with pytest.raises(AssertionError, match=message):
        check_strategy(bad)


def test_chain_maps_indices_both_ways():
    keep = np.zeros(50, bool)
    keep[[3, 7, 11, 40]] = True
    ch = Chain(keep=keep, then=LossWeighted())
    s = ch.init(50, seed=0)
    plan = ch.plan(s, 0)
    assert set(plan.indices.tolist()) <= {3, 7, 11, 40} and len(plan) == 4
    s2 = ch.update(s, np.array([7, 40]), {"loss": np.array([5.0, 0.5])})
    inner = s2.arrays["inner.loss"]
    assert inner.tolist() == [1.0, 5.0, 1.0, 0.5]
    with pytest.raises(SpecurateInputError, match="filter removed"):
        ch.update(s, np.array([4]), {"loss": np.array([1.0])})
    with pytest.raises(SpecurateInputError, match="kept no example"):
        Chain(keep=np.zeros(50, bool), then=Uniform()).init(50)


def test_anneal_schedule_reaches_uniform():
    inner = LossWeighted()
    an = Anneal(inner=inner, start=2, span=4)
    assert [an.alpha(e) for e in (0, 2, 4, 6, 9)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    s = inner.update(inner.init(100), np.arange(100), {"loss": np.r_[np.full(99, 1e-6), 1.0]})
    # before annealing the one high-loss example dominates; after it, draws are uniform
    assert np.mean(an.plan(s, 0).indices == 99) > 0.5
    assert np.mean(an.plan(s, 8).indices == 99) < 0.1


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(0, 100), min_size=2, max_size=60),
    st.floats(1.0, 10.0),
    st.floats(0, 1),
)
def test_bounded_weights_mean_one_and_capped(scores, cap, mix):
    s = np.array(scores)
    if not s.sum() > 0:
        s = s + 1.0
    w = bounded_weights(s, cap=cap, mix=mix)
    assert np.all(w >= 0)
    assert w.max() <= cap * (1 + 1e-9)
    # mean 1 whenever the cap leaves enough support (C · #positive ≥ n)
    if cap * np.count_nonzero(w) >= w.size:
        assert w.mean() == pytest.approx(1.0, rel=1e-9)


def test_cap_weights_is_waterfilling():
    w = np.array([10.0, 1.0, 1.0, 0.5, 0.5, 0.0])
    w = w / w.mean()
    c = cap_weights(w, 2.0)
    assert c.max() == pytest.approx(2.0) and c.mean() == pytest.approx(1.0)
    # the uncapped entries keep their ratios
    assert c[1] / c[3] == pytest.approx(2.0) and c[5] == 0.0


def test_systematic_draws_have_exact_counts():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    p = draw_plan(w, 1000, np.random.default_rng(0))
    counts = np.bincount(p.indices, minlength=4)
    # systematic sampling: count_i ∈ {⌊m p_i⌋, ⌈m p_i⌉}
    assert np.all(np.abs(counts - 1000 * w / w.sum()) <= 1)
    u = draw_plan(w, 1000, np.random.default_rng(0), mode="unbiased")
    assert np.allclose(u.weights, 1.0 / (4 * (w / w.sum())[u.indices]))


def test_validation_messages():
    with pytest.raises(SpecurateInputError, match="out of range"):
        check_indices(np.array([0, 5]), 5)
    with pytest.raises(SpecurateInputError, match="NaN"):
        check_stat({"loss": np.array([1.0, np.nan])}, "loss", 2)
    with pytest.raises(SpecurateInputError, match="needs the per-example statistic"):
        check_stat({}, "loss", 2)
    with pytest.raises(SpecurateInputError, match="positive integer"):
        Uniform().init(0)
    with pytest.raises(SpecurateInputError, match="non-negative integer"):
        Uniform().plan(Uniform().init(5), -1)


def test_cap_weights_with_denormal_weights():
    # found by hypothesis: a denormal mix makes θ(m) overflow for irrelevant m (no warning,
    # no inf in the result; the tiny weights absorb the mass the cap frees)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = bounded_weights(np.array([1.0, 0.0, 0.0, 0.0]), cap=1.0, mix=2.2250738585072014e-308)
        assert np.allclose(w, 1.0)
        w = bounded_weights(np.array([0.0, 1, 1, 1, 1, 1]), cap=2.0, mix=2.2250738585072014e-308)
        assert np.isfinite(w).all() and w.max() <= 2.0 and w.mean() == pytest.approx(1.0)
