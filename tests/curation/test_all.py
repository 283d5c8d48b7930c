"""Every built-in strategy and configuration passes every contract check (one test id per
strategy and check, e.g. ``frontier-soft-update_split_invariant``)."""

import numpy as np
import pytest

from specurate.curation import (
    Anneal,
    Bandit,
    CheckSetup,
    EnsembleDisagreement,
    FrontierSampler,
    InfoBatchStyle,
    KeepMask,
    LossProportional,
    OnlineProbe,
    ReducibleLoss,
    StaticSubset,
    StaticWeights,
    Uniform,
    chain,
    check_strategy,
    parametrize_with_checks,
)
from specurate.curation.check import default_stats

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

N = 200
RNG = np.random.default_rng(0)
SCORES = RNG.random(N) + 0.01
LABELS = np.arange(N) % 5
FEATURES = RNG.standard_normal((N, 10))


def _with_residual(idx, rng):
    """default_stats plus a signed (m, 2) residual (the frontier's eigen-directions need it)."""
    out = default_stats(idx, rng)
    out["residual"] = np.stack([out["loss"] - 0.3, 0.5 - out["loss"]], axis=1)
    return out


def _per_n(**arrays):
    """Init data as a function of n (the input-validation check builds a half-size state)."""
    return lambda n: {k: v[:n] for k, v in arrays.items()}


def _setup(**data):
    return CheckSetup(n=N, data=data)


GROUPS = _setup(groups=LABELS)

STRATEGIES = {
    "uniform": Uniform(),
    "loss-reweight": LossProportional(cap=5.0),
    "loss-importance": LossProportional(correction="importance", temperature=0.5, cap=4.0),
    "infobatch": InfoBatchStyle(prune=0.5),
    "infobatch-total_epochs": InfoBatchStyle(prune=0.5, total_epochs=10),
    "online-probe": OnlineProbe(),
    "ensemble": EnsembleDisagreement(),
    "rho-holdout": (
        ReducibleLoss(irreducible="holdout"),
        _setup(holdout_loss=SCORES / 4),
    ),
    "rho-cross-half": ReducibleLoss(),
    "bandit-clusters-ucb": (Bandit(policy="ucb", chunk=8), _setup(arms=LABELS)),
    "bandit-clusters-eps": (Bandit(policy="eps-greedy", chunk=8), _setup(arms=LABELS)),
    "bandit-examples-ucb": Bandit(policy="ucb", chunk=8),
    "bandit-examples-eps": Bandit(policy="eps-greedy", chunk=8),
    "frontier-hard": (FrontierSampler(), GROUPS),
    "frontier-soft": (FrontierSampler(soft=True), GROUPS),
    "frontier-balance": (FrontierSampler(balance=True), GROUPS),
    "frontier-horizon": (FrontierSampler(horizon=20, reference=4), GROUPS),
    "frontier-importance": (FrontierSampler(soft=True, correction="importance"), GROUPS),
    "frontier-features": (
        FrontierSampler(rank=5, soft=True),
        CheckSetup(n=N, data=_per_n(features=FEATURES), stats_fn=_with_residual),
    ),
    "subset-easy": (StaticSubset(keep=0.5, prefer="easy"), _setup(scores=SCORES)),
    "subset-hard": (StaticSubset(keep=0.5, prefer="hard"), _setup(scores=SCORES)),
    "subset-random": StaticSubset(keep=0.7, prefer="random", epoch_length=N),
    "subset-class-balanced": (
        StaticSubset(keep=0.3, prefer="hard"),
        _setup(scores=SCORES, class_labels=LABELS),
    ),
    "keep-mask": (KeepMask(), _setup(mask=np.arange(N) % 4 > 0)),
    "static-weights-reweight": (StaticWeights(cap=3.0), _setup(scores=SCORES)),
    "static-weights-importance": (
        StaticWeights(cap=3.0, mix=0.1, correction="importance"),
        _setup(scores=SCORES),
    ),
    "chain-keep-loss": (
        chain(KeepMask(), LossProportional()),
        _setup(mask=np.arange(N) % 3 > 0),
    ),
    "chain-keep-probe": (
        chain(KeepMask(), OnlineProbe(probe_cost=0.25)),
        _setup(mask=np.arange(N) % 3 > 0),
    ),
    "chain-subset-frontier": (
        chain(StaticSubset(keep=0.6, prefer="hard"), FrontierSampler(soft=True)),
        _setup(scores=SCORES, groups=LABELS),
    ),
    "anneal-loss-importance": Anneal(
        inner=LossProportional(correction="importance"), start=1, span=2
    ),
    "anneal-frontier": (Anneal(inner=FrontierSampler(), start=0, span=4), GROUPS),
}


@parametrize_with_checks(STRATEGIES)
def test_contract(strategy, setup, check):
    check(strategy, setup)


def test_unbiased_check_applies_exactly_where_declared():
    declared = {
        sid
        for sid, v in STRATEGIES.items()
        if (v[0] if isinstance(v, tuple) else v).declares_unbiased
    }
    assert declared == {
        "uniform",
        "loss-importance",
        "infobatch",
        "infobatch-total_epochs",
        "frontier-importance",
        "static-weights-importance",
        "anneal-loss-importance",
    }


@pytest.mark.parametrize(
    ("strategy", "data", "n_checks"),
    [
        (LossProportional(correction="importance"), None, 10),
        (FrontierSampler(soft=True), {"groups": LABELS}, 9),
        (chain(KeepMask(), OnlineProbe()), {"mask": np.arange(N) % 3 > 0}, 9),
    ],
    ids=["loss-importance", "frontier", "chain"],
)
def test_check_strategy_runs_every_check(strategy, data, n_checks):
    rep = check_strategy(strategy, n=N, data=data, epochs=100)
    assert rep.strategy == strategy.name
    assert len(rep.passed) == n_checks and len(set(rep.passed)) == n_checks
    assert ("unbiased" in rep.passed) == strategy.declares_unbiased
