"""Composition: chain(filters..., sampler) and Anneal."""

import numpy as np
import pytest

from specurate.curation import (
    Accounting,
    Anneal,
    Chain,
    FrontierSampler,
    KeepMask,
    LossProportional,
    OnlineProbe,
    ReducibleLoss,
    StaticSubset,
    StaticWeights,
    Uniform,
    chain,
)
from specurate.curation.base import states_equal
from specurate.errors import SpecurateInputError

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def test_chain_maps_indices_both_ways():
    keep = np.zeros(50, bool)
    keep[[3, 7, 11, 40]] = True
    ch = chain(KeepMask(), LossProportional())
    s = ch.init(50, seed=0, mask=keep)
    assert s.epoch_length == 4 and s.children[1].n == 4
    plan = ch.plan(s, 0)
    assert set(plan.indices.tolist()) <= {3, 7, 11, 40} and len(plan) == 4
    s2 = ch.update(s, np.array([7, 40]), {"loss": np.array([5.0, 0.5])})
    inner = s2.children[1].values["loss"]
    assert inner.tolist() == [0.0, 5.0, 0.0, 0.5]  # positions 1 and 3 of the kept four
    np.testing.assert_array_equal(s2.children[1].last_seen, [-1, 0, -1, 1])
    # the sampler's plan, mapped back to data-set indices
    p_inner = ch.stages[1].plan(s2.children[1], 3)
    np.testing.assert_array_equal(ch.plan(s2, 3).indices, np.flatnonzero(keep)[p_inner.indices])
    ew = ch.expected_weights(s2)
    assert ew[~keep].sum() == 0 and ew.sum() == pytest.approx(1.0)
    with pytest.raises(SpecurateInputError, match="filter removed"):
        ch.update(s, np.array([4]), {"loss": np.array([1.0])})
    with pytest.raises(SpecurateInputError, match="keeps no example"):
        ch.init(50, mask=np.zeros(50, bool))


def test_chain_accounting_counts_scoring_once_per_trained_example():
    """Regression: the pre-0.2 Chain(keep, then=OnlineProbe()) reported 0 extra forward passes."""
    keep = np.arange(30) % 3 > 0
    ch = chain(KeepMask(), OnlineProbe(probe_cost=0.25))
    state = ch.init(30, mask=keep)
    idx = np.flatnonzero(keep)[:8]
    state = ch.update(state, idx, {"probe_loss": np.ones(8)})
    state = ch.update(state, idx[:2], {"probe_loss": np.ones(2)})
    assert ch.accounting(state) == Accounting(10, 10.0, 2.5)
    assert ch.accounting(state).extra_forward == 10  # not 0
    assert ch.cost(10) == Accounting(10, 10.0, 2.5)
    # every stage charged its own state; the chain counts trained examples once
    assert state.children[0].accounting == Accounting(10)
    assert state.children[1].accounting == Accounting(10, 10.0, 2.5)


def test_chain_accounting_for_any_nesting():
    keep = np.arange(40) % 4 > 0
    scores = np.linspace(0.0, 1.0, 40)
    nested = chain(
        KeepMask(), chain(StaticSubset(keep=0.5, prefer="hard"), Anneal(inner=ReducibleLoss()))
    )
    assert len(nested.stages) == 3  # flattened
    state = nested.init(40, seed=1, mask=keep, scores=scores)
    p = nested.plan(state, 0)
    state = nested.update(
        state, p.indices, {"loss": np.ones(len(p)), "loss_other": np.full(len(p), 0.5)}
    )
    # ReducibleLoss (cross-half) costs one forward pass of the other model per example
    assert nested.accounting(state) == Accounting(len(p), len(p), len(p)) == nested.cost(len(p))


def test_init_data_go_to_every_stage_restricted_to_what_it_sees():
    rng = np.random.default_rng(0)
    scores, groups = rng.random(40), np.arange(40) % 4
    ch = chain(StaticSubset(keep=0.5, prefer="hard"), FrontierSampler(soft=True))
    state = ch.init(40, seed=3, scores=scores, groups=groups)
    kept = np.sort(np.argsort(-scores)[:20])
    np.testing.assert_array_equal(state.children[0].kept, kept)
    np.testing.assert_array_equal(state.positions[1], kept)
    alone = FrontierSampler(soft=True).init(20, seed=3, groups=groups[kept])
    assert states_equal(state.children[1], alone)
    # two stages taking the same name: each gets its restriction
    both = chain(StaticSubset(keep=0.5, prefer="hard"), StaticWeights(cap=3.0))
    st2 = both.init(40, scores=scores)
    w = StaticWeights(cap=3.0).init(20, scores=scores[kept]).weights
    np.testing.assert_array_equal(st2.children[1].weights, w)
    assert both.data_keys == ("scores", "class_labels")
    assert ch.data_keys == ("scores", "class_labels", "groups", "features")
    with pytest.raises(SpecurateInputError, match="entries"):
        ch.init(40, scores=scores[:30], groups=groups)


def test_chain_ending_in_a_filter_is_a_filter():
    scores = np.arange(20.0)
    mask = np.arange(20) % 2 == 0
    filt = chain(KeepMask(), StaticSubset(keep=0.5, prefer="hard"))
    state = filt.init(20, mask=mask, scores=scores)
    np.testing.assert_array_equal(filt.kept(state), [10, 12, 14, 16, 18])
    # usable as a filter stage of a longer chain
    ch = chain(filt, LossProportional())
    assert len(ch.stages) == 3
    st2 = ch.init(20, mask=mask, scores=scores)
    assert set(ch.plan(st2, 0).indices.tolist()) == {10, 12, 14, 16, 18}
    with pytest.raises(SpecurateInputError, match="does not end in a filter"):
        ch.kept(st2)


def test_chain_validation_and_flags():
    with pytest.raises(SpecurateInputError, match="must be a filter"):
        chain(LossProportional(), LossProportional())
    with pytest.raises(SpecurateInputError, match="at least one stage"):
        chain()
    with pytest.raises(SpecurateInputError, match="must be strategies"):
        chain(KeepMask(), "loss")
    assert not chain(KeepMask(), LossProportional(correction="importance")).declares_unbiased
    assert chain(LossProportional(correction="importance")).declares_unbiased
    assert chain(
        KeepMask(),
        OnlineProbe(),
    ).needs == frozenset({"probe_loss"})
    assert chain(KeepMask(), LossProportional()) == Chain(stages=(KeepMask(), LossProportional()))


def test_chain_of_the_same_filter_instance_applies_it_twice():
    s = StaticSubset(keep=0.5, prefer="random")
    same, equal = chain(s, s), chain(s, StaticSubset(keep=0.5, prefer="random"))
    assert len(equal.kept(equal.init(20))) == 5
    assert len(same.kept(same.init(20))) == 5


def test_chain_takes_kept_indices():
    ch = chain(KeepMask(), LossProportional())
    state = ch.init(20, indices=np.array([1, 4, 9]))
    assert set(ch.plan(state, 0).indices.tolist()) == {1, 4, 9}


# ----------------------------------------------------------------------------- anneal
def test_anneal_schedule_reaches_uniform():
    inner = LossProportional()
    an = Anneal(inner=inner, start=2, span=4)
    assert [an.alpha(e) for e in (0, 2, 4, 6, 9)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    s = inner.update(inner.init(100), np.arange(100), {"loss": np.r_[np.full(99, 1e-6), 1.0]})
    # before annealing the one high-loss example dominates; after it, draws are uniform
    assert np.mean(an.plan(s, 0).indices == 99) > 0.5
    assert np.mean(an.plan(s, 8).indices == 99) < 0.1
    np.testing.assert_array_equal(an.plan(s, 1).indices, inner.plan(s, 1).indices)  # α = 0
    assert np.all(an.plan(s, 8).loss_scale == 1.0) and len(an.plan(s, 4)) == s.epoch_length


def test_anneal_passes_state_data_and_accounting_through():
    g = np.arange(30) % 3
    an = Anneal(inner=OnlineProbe(probe_cost=0.5))
    state = an.init(30, seed=2)
    assert states_equal(state, OnlineProbe(probe_cost=0.5).init(30, seed=2))
    state = an.update(state, np.arange(4), {"probe_loss": np.ones(4)})
    assert an.accounting(state) == an.cost(4) == Accounting(4, 4.0, 2.0)
    fr = Anneal(inner=FrontierSampler())
    assert fr.data_keys == ("groups", "features") and fr.needs == frozenset({"loss"})
    assert states_equal(fr.init(30, groups=g), FrontierSampler().init(30, groups=g))
    assert Anneal(inner=Uniform()).declares_unbiased
    assert not Anneal(inner=LossProportional()).declares_unbiased


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "inner strategy"),
        ({"inner": Uniform(), "start": -1}, "start"),
        ({"inner": Uniform(), "span": 0}, "span"),
    ],
)
def test_anneal_validation(kw, message):
    with pytest.raises(SpecurateInputError, match=message):
        Anneal(**kw)


def test_anneal_over_a_chain_stays_inside_the_filter():
    keep = np.arange(20) < 5
    an = Anneal(inner=chain(KeepMask(), LossProportional()), start=0, span=1)
    state = an.init(20, mask=keep)
    p = an.plan(state, 3)
    assert set(p.indices.tolist()) <= set(np.flatnonzero(keep).tolist())
