"""Every built-in strategy passes check_strategy (the issue's acceptance criterion)."""

import numpy as np
import pytest

from specurate.curation import (
    Anneal,
    Bandit,
    Chain,
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
    check_strategy,
)
from specurate.curation.check import default_stats

N = 200
RNG = np.random.default_rng(0)
SCORES = RNG.random(N) + 0.01
LABELS = np.arange(N) % 5


def _stats(idx, rng):
    out = default_stats(idx, rng)
    out["residual"] = out["loss"] - 0.3
    return out


STRATEGIES = {
    "uniform": Uniform(),
    "subset easy": StaticSubset(scores=SCORES, keep=0.5, prefer="easy"),
    "subset hard, class-balanced": StaticSubset(
        scores=SCORES, keep=0.3, prefer="hard", class_labels=LABELS
    ),
    "subset random": StaticSubset(keep=0.7, prefer="random", epoch_length=N),
    "keep mask": KeepMask(mask=np.arange(N) % 4 > 0),
    "static weights": StaticWeights(scores=SCORES, cap=3.0),
    "static weights unbiased": StaticWeights(scores=SCORES, cap=3.0, mix=0.1, mode="unbiased"),
    "loss-proportional": LossProportional(cap=5.0),
    "loss-proportional unbiased": LossProportional(mode="unbiased"),
    "infobatch-style": InfoBatchStyle(prune=0.5, total_epochs=10),
    "rho-loss holdout": ReducibleLoss(holdout_loss=SCORES / 4),
    "rho-loss holdout-free": ReducibleLoss(),
    "online probe": OnlineProbe(),
    "ensemble disagreement": EnsembleDisagreement(),
    "bandit ucb (clusters)": Bandit(arms=LABELS, policy="ucb"),
    "bandit eps-greedy": Bandit(policy="eps-greedy"),
    "frontier (groups)": FrontierSampler(groups=LABELS),
    "frontier (features, soft)": FrontierSampler(
        features=RNG.standard_normal((N, 10)), rank=5, soft=True
    ),
    "chain: dedup then loss-proportional": Chain(
        keep=np.arange(N) % 3 > 0, then=LossProportional()
    ),
    "anneal loss-proportional": Anneal(inner=LossProportional(mode="unbiased"), start=1, span=2),
}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_passes_the_contract(name):
    rep = check_strategy(STRATEGIES[name], n=N, stats_fn=_stats, epochs=300)
    assert len(rep.passed) >= 5
