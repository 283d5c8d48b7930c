"""The contract checks can fail: each one catches a deliberately broken strategy, by name."""

from dataclasses import dataclass, fields, replace

import numpy as np
import pytest

from specurate.curation import (
    Accounting,
    Chain,
    CheckSetup,
    KeepMask,
    LossProportional,
    OnlineProbe,
    Plan,
    ScoreState,
    StrategyState,
    Uniform,
    check_strategy,
    parametrize_with_checks,
    strategy_checks,
)
from specurate.curation.base import scatter
from specurate.curation.check import (
    check_accounting_composed,
    check_ddp_agreement,
    check_init,
    check_input_validation,
    check_plan_deterministic,
    check_plan_seeded,
    check_plan_shape,
    check_unbiased,
    check_update_pure,
    check_update_split_invariant,
)

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

SETUP = CheckSetup(n=100)
KEEP_ALL = CheckSetup(n=100, data={"mask": np.ones(100, dtype=bool)})


# ----------------------------------------------------------------------------- broken ones
class WriteableState(Uniform):
    """init returns a state whose array can be written."""

    def init(self, n_examples, *, seed=0, **data):
        st = LossProportional().init(n_examples, seed=seed)
        return replace(st, last_seen=np.full(n_examples, -1, np.int64))


class ShortPlan(Uniform):
    """One entry short of epoch_length."""

    def plan(self, state, epoch):
        p = super().plan(state, epoch)
        return Plan(p.indices[:-1], p.loss_scale[:-1])


class GlobalRandom(Uniform):
    """The global RNG: plans are not a function of (state, epoch)."""

    def plan(self, state, epoch):
        return Plan(np.random.permutation(state.n).astype(np.int64), np.ones(state.n))  # noqa: NPY002


class IgnoresSeed(Uniform):
    """Randomness from the epoch alone: every seed gives the same plans."""

    def plan(self, state, epoch):
        idx = np.random.default_rng(epoch).permutation(state.n).astype(np.int64)
        return Plan(idx, np.ones(state.n))


class MutatesInPlace(LossProportional):
    """Writes the observed losses into the OLD state's array."""

    def update(self, state, indices, stats):
        new = super().update(state, indices, stats)
        old = state.values["loss"]
        old.setflags(write=True)  # owns its data (made read-only by the library)
        old[np.asarray(indices)] = np.asarray(stats["loss"]) + 1.0
        old.setflags(write=False)
        return new


@dataclass(frozen=True, kw_only=True, eq=False)
class CountingState(ScoreState):
    calls: int = 0


class CountsCalls(LossProportional):
    """Counts update calls: the state depends on how observations are split."""

    def init(self, n_examples, *, seed=0, **data):
        st = super().init(n_examples, seed=seed, **data)
        return CountingState(**{f.name: getattr(st, f.name) for f in fields(st)})

    def update(self, state, indices, stats):
        return replace(super().update(state, indices, stats), calls=state.calls + 1)


class DecaysPerCall(LossProportional):
    """An exponential moving average per update CALL (the pre-0.2 frontier horizon)."""

    def update(self, state, indices, stats):
        new = super().update(state, indices, stats)
        idx = np.asarray(indices)
        if idx.size == 0:
            return new
        old = state.values["loss"][idx]
        mixed = 0.5 * old + 0.5 * new.values["loss"][idx]
        return replace(new, values={"loss": scatter(new.values["loss"], idx, mixed)})


class NoValidation(LossProportional):
    """Wraps indices around and ignores bad statistics instead of raising."""

    def update(self, state, indices, stats):
        idx = np.asarray(indices) % state.n
        loss = np.nan_to_num(np.asarray(stats["loss"], dtype=float))
        loss = np.resize(loss, idx.size)
        return replace(
            state,
            values={"loss": scatter(state.values["loss"], idx, loss)},
            accounting=state.accounting + self.cost(idx.size),
        )


class ClaimsUnbiased(LossProportional):
    """Declares unbiased plans but reweights (loss scale 1); no closed form: Monte Carlo."""

    @property
    def declares_unbiased(self):
        return True

    def expected_weights(self, state):
        return None


class ClaimsUnbiasedExact(LossProportional):
    """Declares unbiased plans; its (correct) closed form says otherwise."""

    @property
    def declares_unbiased(self):
        return True


class OldChain(Chain):
    """The pre-0.2 Chain accounting: trained examples only, the stages' scoring dropped."""

    def accounting(self, state):
        return Accounting(self._check_state(state).accounting.trained)


class DropsProbeCost(OnlineProbe):
    """Declares probe passes in cost() but never charges them to its state."""

    def update(self, state, indices, stats):
        new = super().update(state, indices, stats)
        return replace(new, accounting=state.accounting + Accounting(np.asarray(indices).size))


BROKEN = [
    (WriteableState(), check_init, SETUP, "writeable"),
    (ShortPlan(), check_plan_shape, SETUP, "entries, epoch_length"),
    (GlobalRandom(), check_plan_deterministic, SETUP, "not deterministic"),
    (IgnoresSeed(), check_plan_seeded, SETUP, "another seed gives the same plans"),
    (MutatesInPlace(), check_update_pure, SETUP, "modified the old state"),
    (CountsCalls(), check_update_split_invariant, SETUP, "split into updates"),
    (DecaysPerCall(), check_update_split_invariant, SETUP, "split into updates"),
    (NoValidation(), check_input_validation, SETUP, "did not raise"),
    (OldChain(stages=(KeepMask(), OnlineProbe())), check_accounting_composed, KEEP_ALL, "scoring"),
    (DropsProbeCost(), check_accounting_composed, SETUP, "disagrees with the accounting"),
    (CountsCalls(), check_ddp_agreement, SETUP, "per-batch updates"),
    (ClaimsUnbiased(), check_unbiased, SETUP, "standard errors"),
    (ClaimsUnbiasedExact(), check_unbiased, SETUP, "expected loss mass"),
]


@pytest.mark.parametrize(
    ("bad", "check", "setup", "message"),
    BROKEN,
    ids=[f"{type(b).__name__}-{c.__name__.removeprefix('check_')}" for b, c, _, _ in BROKEN],
)
def test_each_check_catches_its_broken_strategy(bad, check, setup, message):
    assert check in strategy_checks(bad)
    with pytest.raises(AssertionError, match=message):
        check(bad, setup)


GOOD = [
    (LossProportional(), check_init, SETUP),
    (Uniform(), check_plan_shape, SETUP),
    (Uniform(), check_plan_deterministic, SETUP),
    (Uniform(), check_plan_seeded, SETUP),
    (LossProportional(), check_update_pure, SETUP),
    (LossProportional(), check_update_split_invariant, SETUP),
    (LossProportional(), check_input_validation, SETUP),
    (Chain(stages=(KeepMask(), OnlineProbe())), check_accounting_composed, KEEP_ALL),
    (OnlineProbe(), check_accounting_composed, SETUP),
    (LossProportional(), check_ddp_agreement, SETUP),
    (LossProportional(correction="importance"), check_unbiased, SETUP),
]


@pytest.mark.parametrize(
    ("good", "check", "setup"),
    GOOD,
    ids=[f"{type(g).__name__}-{c.__name__.removeprefix('check_')}" for g, c, _ in GOOD],
)
def test_the_fixed_versions_pass(good, check, setup):
    """Each broken strategy above is one change away from one that passes the same check."""
    check(good, setup)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (ShortPlan(), "uniform: plan_shape: plan has 99 entries"),
        (CountsCalls(), "loss-proportional: update_split_invariant:"),
        (NoValidation(), "loss-proportional: input_validation: out-of-range"),
        (ClaimsUnbiased(), "loss-proportional: unbiased: declared unbiased"),
    ],
    ids=["shape", "split", "validation", "unbiased"],
)
def test_check_strategy_names_the_failed_check(bad, message):
    with pytest.raises(AssertionError, match=message):
        check_strategy(bad, n=100)


def test_unbiased_check_only_where_declared():
    assert check_unbiased in strategy_checks(LossProportional(correction="importance"))
    assert check_unbiased not in strategy_checks(LossProportional())
    assert check_unbiased in strategy_checks(ClaimsUnbiased())
    assert len(strategy_checks(LossProportional())) == 9


def test_parametrize_ids_name_strategy_and_check():
    mark = parametrize_with_checks(
        {"loss": LossProportional(), "frontier": (Uniform(), CheckSetup(n=50))}
    )
    assert mark.args[0] == "strategy, setup, check"
    ids = [p.id for p in mark.args[1]]
    assert "loss-update_split_invariant" in ids and "frontier-unbiased" in ids
    assert "loss-unbiased" not in ids and len(ids) == len(set(ids)) == 9 + 10
    by_id = {p.id: p.values for p in mark.args[1]}
    strategy, setup, check = by_id["frontier-plan_seeded"]
    assert strategy == Uniform() and setup.n == 50 and check is check_plan_seeded
    assert by_id["loss-init"][1] == CheckSetup()


def test_custom_state_class_is_checked_like_a_builtin():
    """A user's strategy with its own state subclass passes (the checks walk its fields)."""

    class Fixed(CountsCalls):  # CountsCalls, but the call counter is not kept: fine again
        def update(self, state, indices, stats):
            return replace(LossProportional.update(self, state, indices, stats), calls=0)

    rep = check_strategy(Fixed(), n=100)
    assert "update_split_invariant" in rep.passed and "ddp_agreement" in rep.passed
    assert isinstance(Fixed().init(5), StrategyState)
