"""The Strategy contract: settings-only configurations, typed immutable states, split-invariant
updates, input validation, the shared weight helpers, and the deprecated pre-0.2 spellings."""

import copy
import itertools
import warnings
from dataclasses import dataclass, fields, replace
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specurate.curation as curation
from specurate.curation import (
    Accounting,
    Anneal,
    Bandit,
    BanditState,
    Chain,
    ChainState,
    FrontierSampler,
    FrontierState,
    InfoBatchStyle,
    KeepMask,
    LossProportional,
    OnlineProbe,
    Plan,
    ReducibleLoss,
    ScoreState,
    StaticSubset,
    StaticWeights,
    Strategy,
    StrategyState,
    SubsetState,
    Uniform,
    WeightsState,
    bind,
    bounded_weights,
    chain,
    check_strategy,
    draw_plan,
)
from specurate.curation.base import (
    cap_weights,
    check_batch,
    check_indices,
    check_stat,
    epoch_rng,
    last_occurrence,
    readonly,
    scatter,
    states_equal,
)
from specurate.errors import SpecurateInputError

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


# ----------------------------------------------------------------------------- a custom strategy
@dataclass(frozen=True, kw_only=True, eq=False)
class LossState(StrategyState):
    loss: np.ndarray


@dataclass(frozen=True)
class LossWeighted(Strategy):
    """A minimal user-written dynamic strategy: weights ∝ last observed loss."""

    name: ClassVar[str] = "loss-weighted"
    needs: ClassVar[frozenset[str]] = frozenset({"loss"})
    correction: str = "reweight"

    def init(self, n_examples, *, seed=0, **data):
        self._init_data(data)
        return LossState(
            n=n_examples, seed=seed, epoch_length=n_examples, loss=readonly(np.ones(n_examples))
        )

    def _check(self, state):
        if not isinstance(state, LossState):
            raise SpecurateInputError(f"loss-weighted got {type(state).__name__}")
        return state

    def plan(self, state, epoch):
        state = self._check(state)
        w = bounded_weights(state.loss, mix=0.1)
        return draw_plan(w, state.epoch_length, epoch_rng(state, epoch), correction=self.correction)

    def update(self, state, indices, stats):
        state = self._check(state)
        idx, stats = check_batch(state, indices, stats)
        loss = check_stat(stats, "loss", idx.size)
        last = last_occurrence(idx)
        return replace(
            state,
            loss=scatter(state.loss, idx[last], loss[last]),
            accounting=state.accounting + self.cost(idx.size),
        )

    def expected_weights(self, state):
        w = bounded_weights(self._check(state).loss, mix=0.1)
        p = w / w.sum()
        # systematic draws: E[count_i] = m p_i; scale 1 or 1/(n p_i), per draw over m
        return p if self.correction == "reweight" else np.full(state.n, 1.0 / state.n)


def test_custom_strategies_pass_the_contract():
    assert "unbiased" in check_strategy(Uniform()).passed
    assert "unbiased" in check_strategy(LossWeighted(correction="importance")).passed
    assert "unbiased" not in check_strategy(LossWeighted()).passed  # not declared
    rep = check_strategy(chain(KeepMask(), LossWeighted()), data={"mask": np.arange(200) % 3 > 0})
    assert len(rep.passed) == 9  # every check but "unbiased" (a filter changes the data)
    assert "unbiased" in check_strategy(Anneal(inner=Uniform(), start=1, span=3)).passed


# ----------------------------------------------------------------------------- settings only
def test_strategies_compare_and_hash_by_settings():
    assert FrontierSampler(soft=True) == FrontierSampler(soft=True)
    assert hash(FrontierSampler(soft=True)) == hash(FrontierSampler(soft=True))
    assert FrontierSampler(soft=True) != FrontierSampler(soft=False)
    assert FrontierSampler(soft=True) != FrontierSampler(soft=True, horizon=8)
    assert LossProportional(cap=4.0) != LossProportional(cap=5.0)
    assert LossProportional() != OnlineProbe()  # same fields, another strategy
    assert StaticSubset(keep=0.5) == StaticSubset(keep=0.5)
    assert StaticSubset(keep=0.5, prefer="easy") != StaticSubset(keep=0.5)
    assert chain(KeepMask(), LossProportional()) == chain(KeepMask(), LossProportional())
    assert chain(KeepMask(), LossProportional()) != chain(KeepMask(), OnlineProbe())
    assert Anneal(inner=Uniform(), span=3) == Anneal(inner=Uniform(), span=3)
    table = {
        FrontierSampler(soft=True): "soft",
        FrontierSampler(): "hard",
        Bandit(policy="ucb"): "ucb",
        Bandit(policy="eps-greedy"): "eps",
        chain(KeepMask(), LossProportional()): "chain",
    }
    assert table[FrontierSampler(soft=True)] == "soft" and table[FrontierSampler()] == "hard"
    assert table[Bandit(policy="eps-greedy")] == "eps"
    assert table[chain(KeepMask(), LossProportional())] == "chain"
    assert len({LossProportional(), LossProportional(), InfoBatchStyle()}) == 2
    assert "soft=True" in repr(FrontierSampler(soft=True))
    with pytest.raises(AttributeError):  # frozen
        FrontierSampler().soft = True  # type: ignore[misc]


def test_bound_strategies_compare_by_identity():
    g = np.arange(10) % 2
    b = bind(FrontierSampler(soft=True), groups=g)
    assert b == b and b != bind(FrontierSampler(soft=True), groups=g)
    assert {b: 1}[b] == 1
    assert b.name == "frontier" and b.data_keys == ("groups", "features") and b.soft
    assert states_equal(b.init(10, seed=2), FrontierSampler(soft=True).init(10, seed=2, groups=g))


def test_states_are_typed_and_read_only():
    g = np.arange(12) % 3
    cases = [
        (LossProportional(), {}, ScoreState),
        (Bandit(), {"arms": g}, BanditState),
        (FrontierSampler(), {"groups": g}, FrontierState),
        (StaticSubset(keep=0.5, prefer="random"), {}, SubsetState),
        (StaticWeights(cap=3.0), {"scores": g + 1.0}, WeightsState),
        (chain(KeepMask(), LossProportional()), {"mask": g > 0}, ChainState),
    ]
    for s, data, kind in cases:
        state = s.init(12, seed=1, **data)
        assert type(state) is kind and state.n == 12 and state.seed == 1
        assert state.accounting == Accounting()
        assert not hasattr(state, "arrays") and not hasattr(state, "info")
        for f in fields(state):
            v = getattr(state, f.name)
            if isinstance(v, np.ndarray):
                assert not v.flags.writeable, (kind.__name__, f.name)
        with pytest.raises(AttributeError):
            state.n = 3  # type: ignore[misc]


def test_accounting_and_cost():
    s = OnlineProbe(probe_cost=0.25)
    state = s.update(s.init(10), np.arange(4), {"probe_loss": np.ones(4)})
    assert s.accounting(state) == Accounting(4, 4.0, 1.0) == s.cost(4)
    assert s.accounting(state).scoring == 5.0
    assert s.accounting(state).as_dict() == {
        "trained": 4.0,
        "extra_forward": 4.0,
        "extra_compute": 1.0,
    }
    assert Accounting(1, 2.0, 3.0) + Accounting(1, 1.0, 1.0) == Accounting(2, 3.0, 4.0)
    assert Accounting(7, 2.0, 3.0).extras() == Accounting(0, 2.0, 3.0)
    assert LossProportional().cost(5) == Accounting(5)
    assert ReducibleLoss().cost(3) == Accounting(3, 3.0, 3.0)
    assert ReducibleLoss(irreducible="holdout").cost(3) == Accounting(3)


# ----------------------------------------------------------------------------- bad input
G = np.arange(20) % 4
SCORES = np.linspace(0.1, 1.0, 20)
STATS3 = {"loss": np.ones(3), "loss_other": np.ones(3), "probe_loss": np.ones(3)}

VALIDATED = {
    "loss": (LossProportional(), {}),
    "infobatch": (InfoBatchStyle(), {}),
    "rho-holdout": (ReducibleLoss(irreducible="holdout"), {"holdout_loss": SCORES}),
    "rho-cross-half": (ReducibleLoss(), {}),
    "probe": (OnlineProbe(), {}),
    "bandit": (Bandit(chunk=4), {"arms": G}),
    "frontier": (FrontierSampler(), {"groups": G}),
    "frontier-horizon": (FrontierSampler(horizon=5), {"groups": G}),
    "subset": (StaticSubset(keep=0.5), {"scores": SCORES}),
    "weights": (StaticWeights(cap=3.0), {"scores": SCORES}),
    "chain": (chain(KeepMask(), LossProportional()), {"mask": np.ones(20, bool)}),
}


def _raises_and_unchanged(fn, state):
    before = copy.deepcopy(state)
    with pytest.raises(SpecurateInputError):
        fn()
    assert states_equal(before, state)


@pytest.mark.parametrize("sid", list(VALIDATED))
def test_bad_statistics_raise_and_leave_the_state(sid):
    s, data = VALIDATED[sid]
    state = s.update(s.init(20, **data), np.arange(5), {k: np.ones(5) for k in STATS3})
    idx = np.array([1, 2, 3])
    for key in sorted(s.needs):
        for bad in (np.array([1.0, np.nan, 1.0]), np.ones(2), np.array([1.0, np.inf, 2.0])):
            bad_stats = {**STATS3, key: bad}
            _raises_and_unchanged(lambda b=bad_stats: s.update(state, idx, b), state)
        without = {k: v for k, v in STATS3.items() if k != key}
        _raises_and_unchanged(lambda without=without: s.update(state, idx, without), state)
    for bad_idx in (np.array([0, 1, 20]), np.array([-1, 0, 1]), np.array([0.0, 1.0, 2.0])):
        _raises_and_unchanged(lambda bad_idx=bad_idx: s.update(state, bad_idx, STATS3), state)
    _raises_and_unchanged(lambda: s.update(state, np.ones((3, 1), int), STATS3), state)
    _raises_and_unchanged(lambda: s.update(state, idx, [1.0, 2.0]), state)
    _raises_and_unchanged(lambda: s.plan(state, -1), state)


@pytest.mark.parametrize("sid", list(VALIDATED))
def test_state_of_another_data_set_size(sid):
    s, data = VALIDATED[sid]
    small = s.init(10, **{k: v[:10] for k, v in data.items()})
    _raises_and_unchanged(lambda: s.update(small, np.array([0, 5, 15]), STATS3), small)


OTHER_TYPE = [
    (LossProportional(), Bandit().init(20)),
    (LossProportional(), Uniform().init(20)),
    (OnlineProbe(), LossProportional().init(20)),  # a ScoreState tracking another statistic
    (ReducibleLoss(), LossProportional().init(20)),
    (Bandit(), LossProportional().init(20)),
    (FrontierSampler(), StaticSubset(keep=0.5, prefer="random").init(20)),
    (FrontierSampler(horizon=5), FrontierSampler().init(20, groups=G)),  # another horizon
    (StaticSubset(keep=0.5), StaticWeights(cap=2.0).init(20, scores=SCORES)),
    (StaticWeights(cap=2.0), KeepMask().init(20, mask=G > 0)),
    (chain(KeepMask(), LossProportional()), LossProportional().init(20)),
    (Anneal(inner=LossProportional()), FrontierSampler().init(20, groups=G)),
]


@pytest.mark.parametrize(
    ("s", "state"),
    OTHER_TYPE,
    ids=[f"{s.name}<-{type(st).__name__}" for s, st in OTHER_TYPE],
)
def test_state_of_another_strategy_type(s, state):
    if not isinstance(s, StaticSubset | StaticWeights):  # their update takes any state: see below
        _raises_and_unchanged(lambda: s.update(state, np.arange(3), STATS3), state)
    _raises_and_unchanged(lambda: s.plan(state, 0), state)
    _raises_and_unchanged(lambda: s.plan("not a state", 0), state)


def test_holdout_reducible_loss_rejects_a_state_without_holdout_losses():
    s = ReducibleLoss(irreducible="holdout")
    with pytest.raises(SpecurateInputError):
        s.plan(LossProportional().init(20), 0)


@pytest.mark.parametrize(
    "s", [StaticWeights(cap=2.0), StaticSubset(keep=0.5), KeepMask()], ids=lambda s: s.name
)
def test_static_update_rejects_a_state_of_another_type(s):
    with pytest.raises(SpecurateInputError):
        s.update(Bandit().init(20), np.arange(3), STATS3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: FrontierSampler().init(10, group=np.zeros(10, int)), "init data"),
        (lambda: LossProportional().init(10, scores=np.ones(10)), "takes no data"),
        (lambda: StaticSubset(keep=0.5).init(10, score=np.ones(10)), "init data"),
        (lambda: Bandit().init(10, groups=np.zeros(10, int)), "takes arms"),
        (lambda: chain(KeepMask(), Bandit()).init(10, groups=np.zeros(10, int)), "stages take"),
        (lambda: bind(FrontierSampler(), group=np.zeros(10, int)), "takes no init data"),
        (lambda: bind("frontier", groups=np.zeros(10, int)), "needs a Strategy"),
        (lambda: FrontierSampler().init(10), "exactly one"),
        (lambda: FrontierSampler().init(10, groups=G[:10], features=np.ones((10, 2))), "one"),
        (lambda: StaticSubset(keep=0.5, prefer="hard").init(10), "needs the init data scores"),
        (lambda: StaticWeights(cap=2.0).init(10), "needs the init data scores"),
        (lambda: KeepMask().init(10), "exactly one"),
        (lambda: ReducibleLoss(irreducible="holdout").init(10), "holdout_loss is required"),
        (lambda: ReducibleLoss().init(3, holdout_loss=np.ones(3)), "irreducible='holdout'"),
        (lambda: chain(KeepMask(), FrontierSampler()).init(10, mask=G[:10] > 0), "exactly one"),
        (lambda: FrontierSampler().init(10, groups=np.zeros(9, int)), "9"),
        (lambda: FrontierSampler().init(4, groups=[0.5, 1.0, 0.5, 1.0]), "integer"),
        (lambda: Uniform().init(0), "positive integer"),
        (lambda: Uniform().init(5, seed=-1), "non-negative integer"),
        (lambda: Uniform().init(5, seed=1.5), "non-negative integer"),
    ],
)
def test_bad_init_data(make, message):
    with pytest.raises(SpecurateInputError, match=message):
        make()


def test_empty_updates_are_no_ops():
    for s, data in [
        (LossProportional(), {}),
        (Bandit(), {"arms": G}),
        (KeepMask(), {"mask": G > 0}),
    ]:
        state = s.init(20, **data)
        new = s.update(state, np.array([], dtype=np.int64), {"loss": np.array([])})
        assert states_equal(new, state)


def test_frontier_empty_update_is_a_no_op():
    fs = FrontierSampler()
    state = fs.init(20, groups=G)
    assert states_equal(
        fs.update(state, np.array([], dtype=np.int64), {"loss": np.array([])}), state
    )


# ----------------------------------------------------------------------------- split invariance
N_PROP = 12
ARMS = np.arange(N_PROP) % 3
PROPERTY_STRATEGIES = {
    "loss": (LossProportional(), {}),
    "frontier-groups": (FrontierSampler(reference=3), {"groups": ARMS}),
    "frontier-horizon": (FrontierSampler(reference=3, horizon=3), {"groups": ARMS}),
    "bandit-arms": (Bandit(chunk=2), {"arms": ARMS}),
}


def _close(a, b):
    """Structural equality, floats within 1e-9 relative (summation order differs)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None or a.shape != b.shape:
            return False
        if a.dtype.kind == "f":
            return np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
        return np.array_equal(a, b)
    if isinstance(a, float):
        return bool(np.isclose(a, b, rtol=1e-9, atol=1e-12))
    if isinstance(a, StrategyState | Accounting):
        return type(a) is type(b) and all(
            _close(getattr(a, f.name), getattr(b, f.name)) for f in fields(a)
        )
    if isinstance(a, dict):
        return set(a) == set(b) and all(_close(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("sid", list(PROPERTY_STRATEGIES))
@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, N_PROP - 1), st.floats(0.0, 10.0, allow_subnormal=False)),
        min_size=1,
        max_size=40,
    ),
    cuts=st.lists(st.integers(0, 40), max_size=4),
    warm=st.booleans(),
)
def test_update_is_a_fold_over_the_stream(sid, rows, cuts, warm):
    s, data = PROPERTY_STRATEGIES[sid]
    state = s.init(N_PROP, seed=0, **data)
    if warm:  # a state that has seen observations before (references, open visits)
        state = s.update(state, np.array([0, 3, 1, 1]), {"loss": np.array([1.0, 2.0, 0.5, 0.4])})
    idx = np.array([i for i, _ in rows], dtype=np.int64)
    loss = np.array([v for _, v in rows], dtype=float)
    whole = s.update(state, idx, {"loss": loss})
    assert not _close(whole, state)  # the comparison sees the update (trained, at least)
    folded = state
    bounds = [0, *sorted(c for c in cuts if c <= idx.size), idx.size]
    for a, b in itertools.pairwise(bounds):
        if b > a:  # empty updates: test_empty_updates_are_no_ops
            folded = s.update(folded, idx[a:b], {"loss": loss[a:b]})
    assert _close(whole, folded), sid
    # one row at a time, too (the stream's finest split)
    single = state
    for i, v in rows:
        single = s.update(single, np.array([i]), {"loss": np.array([v])})
    assert _close(whole, single), sid


def test_duplicate_indices_last_row_wins():
    s = LossProportional()
    state = s.update(s.init(4), np.array([1, 2, 1, 1]), {"loss": np.array([5.0, 1.0, 3.0, 2.0])})
    np.testing.assert_array_equal(state.values["loss"], [0, 2.0, 1.0, 0])
    np.testing.assert_array_equal(state.last_seen, [-1, 3, 1, -1])  # observation ordinals
    assert state.accounting.trained == 4


# ----------------------------------------------------------------------------- helpers
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
    assert np.all(p.loss_scale == 1.0)
    u = draw_plan(w, 1000, np.random.default_rng(0), correction="importance")
    assert np.allclose(u.loss_scale, 1.0 / (4 * (w / w.sum())[u.indices]))
    with pytest.raises(SpecurateInputError, match="correction"):
        draw_plan(w, 10, np.random.default_rng(0), correction="unbiased")


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
    with pytest.raises(SpecurateInputError, match="complex"):
        check_batch(Uniform().init(5), np.arange(2), {"loss": np.ones(2, complex)})


def test_cap_weights_with_denormal_weights():
    # found by hypothesis: a denormal mix makes θ(m) overflow for irrelevant m (no warning,
    # no inf in the result; the tiny weights absorb the mass the cap frees)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = bounded_weights(np.array([1.0, 0.0, 0.0, 0.0]), cap=1.0, mix=2.2250738585072014e-308)
        assert np.allclose(w, 1.0)
        w = bounded_weights(np.array([0.0, 1, 1, 1, 1, 1]), cap=2.0, mix=2.2250738585072014e-308)
        assert np.isfinite(w).all() and w.max() <= 2.0 and w.mean() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- deprecations
def _run(s, state, epochs=3):
    """Plans and updates of a few epochs (every example's loss depends on its index)."""
    plans = []
    for e in range(epochs):
        p = s.plan(state, e)
        plans.append(p)
        loss = 0.1 + (p.indices % 5) / (1.0 + e)
        state = s.update(state, p.indices, {"loss": loss, "loss_other": loss / 2})
    return plans, state


def _same_run(old, new, old_state, new_state):
    p_old, s_old = _run(old, old_state)
    p_new, s_new = _run(new, new_state)
    for a, b in zip(p_old, p_new, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.loss_scale, b.loss_scale)
    assert old.accounting(s_old) == new.accounting(s_new)
    return s_old, s_new


N_DEP = 30
G_DEP = np.arange(N_DEP) % 3
S_DEP = np.linspace(0.1, 2.0, N_DEP)


@pytest.mark.parametrize(
    ("make_old", "new", "data"),
    [
        (
            lambda: FrontierSampler(groups=G_DEP, soft=True),
            FrontierSampler(soft=True),
            {"groups": G_DEP},
        ),
        (lambda: Bandit(arms=G_DEP, chunk=4), Bandit(chunk=4), {"arms": G_DEP}),
        (lambda: StaticSubset(scores=S_DEP, keep=0.5), StaticSubset(keep=0.5), {"scores": S_DEP}),
        (lambda: StaticWeights(scores=S_DEP, cap=3.0), StaticWeights(cap=3.0), {"scores": S_DEP}),
        (lambda: KeepMask(mask=G_DEP > 0), KeepMask(), {"mask": G_DEP > 0}),
        (
            lambda: ReducibleLoss(holdout_loss=S_DEP / 3),
            ReducibleLoss(irreducible="holdout"),
            {"holdout_loss": S_DEP / 3},
        ),
    ],
    ids=["frontier", "bandit", "subset", "weights", "keep-mask", "rho-holdout"],
)
def test_deprecated_constructor_data_warns_and_matches_init(make_old, new, data):
    with pytest.warns(DeprecationWarning, match="pass the arrays to init"):
        old = make_old()
    assert old == new  # data arrays are not settings: excluded from eq and hash
    old_state, new_state = old.init(N_DEP, seed=4), new.init(N_DEP, seed=4, **data)
    assert states_equal(old_state, new_state)
    _same_run(old, new, old_state, new_state)


@pytest.mark.parametrize(
    ("make_old", "new"),
    [
        (lambda: LossProportional(mode="unbiased"), LossProportional(correction="importance")),
        (lambda: LossProportional(mode="reweight"), LossProportional()),
        (
            lambda: FrontierSampler(mode="unbiased", soft=True),
            FrontierSampler(correction="importance", soft=True),
        ),
        (
            lambda: StaticWeights(cap=3.0, mix=0.1, mode="unbiased"),
            StaticWeights(cap=3.0, mix=0.1, correction="importance"),
        ),
    ],
    ids=["loss-unbiased", "loss-reweight", "frontier", "weights"],
)
def test_deprecated_mode_warns_and_means_correction(make_old, new):
    with pytest.warns(DeprecationWarning, match="correction="):
        old = make_old()
    assert old == new and hash(old) == hash(new) and old.correction == new.correction
    assert old.declares_unbiased == new.declares_unbiased
    data = {"groups": G_DEP} if isinstance(new, FrontierSampler) else {}
    if isinstance(new, StaticWeights):
        data = {"scores": S_DEP}
    _same_run(old, new, old.init(N_DEP, seed=1, **data), new.init(N_DEP, seed=1, **data))


def test_deprecated_mode_still_validates():
    with pytest.warns(DeprecationWarning), pytest.raises(SpecurateInputError, match="mode"):
        LossProportional(mode="biased")
    with pytest.warns(DeprecationWarning), pytest.raises(SpecurateInputError, match="mode"):
        StaticWeights(cap=2.0, mode="biased")


def test_deprecated_chain_keep_then_warns_and_matches_chain():
    keep = np.arange(N_DEP) % 3 > 0
    with pytest.warns(DeprecationWarning, match="chain"):
        old = Chain(keep=keep, then=LossProportional())
    new = chain(KeepMask(), LossProportional())
    old_state, new_state = old.init(N_DEP, seed=2), new.init(N_DEP, seed=2, mask=keep)
    assert states_equal(old_state, new_state)
    s_old, _ = _same_run(old, new, old_state, new_state)
    assert set(old.plan(s_old, 5).indices.tolist()) <= set(np.flatnonzero(keep).tolist())
    # kept indices instead of a mask
    idx = np.flatnonzero(keep)
    with pytest.warns(DeprecationWarning):
        by_idx = Chain(keep=idx, then=LossProportional())
    assert states_equal(by_idx.init(N_DEP, seed=2), new_state)
    with pytest.warns(DeprecationWarning), pytest.raises(SpecurateInputError, match="keep"):
        Chain(keep=keep)


def test_deprecated_names_warn():
    plan = Uniform().plan(Uniform().init(5), 0)
    with pytest.warns(DeprecationWarning, match="loss_scale"):
        assert plan.weights is plan.loss_scale
    w = np.array([1.0, 2.0, 3.0])
    with pytest.warns(DeprecationWarning, match="importance"):
        old = draw_plan(w, 10, np.random.default_rng(0), mode="unbiased")
    new = draw_plan(w, 10, np.random.default_rng(0), correction="importance")
    np.testing.assert_array_equal(old.loss_scale, new.loss_scale)
    np.testing.assert_array_equal(old.indices, new.indices)
    with pytest.warns(DeprecationWarning, match="StrategyState"):
        assert curation.State is StrategyState
    assert isinstance(plan, Plan)
