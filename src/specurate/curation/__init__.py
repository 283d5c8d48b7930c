"""Curation strategies (numpy only): the Strategy contract, static scores, dynamic samplers.

A strategy is a frozen configuration (settings only: it compares and hashes) plus three pure
steps — ``init(n, *, seed, **data)``, ``plan(state, epoch)``, ``update(state, indices, stats)``
— see :mod:`specurate.curation.base`; :func:`chain` composes filters and a sampler;
:mod:`specurate.curation.check` is the contract as a test suite; :mod:`specurate.torch` turns
any strategy into a ``torch.utils.data.Sampler``.
"""

from typing import Any as _Any

from specurate.curation import base as _base
from specurate.curation.base import (
    CORRECTIONS,
    Accounting,
    Bound,
    Correction,
    Plan,
    Strategy,
    StrategyState,
    Uniform,
    bind,
    bounded_weights,
    draw_plan,
)
from specurate.curation.check import (
    CheckReport,
    CheckSetup,
    check_strategy,
    parametrize_with_checks,
    strategy_checks,
)
from specurate.curation.combine import Anneal, Chain, ChainState, chain
from specurate.curation.dynamic import (
    Bandit,
    BanditState,
    EnsembleDisagreement,
    InfoBatchStyle,
    LossProportional,
    OnlineProbe,
    ReducibleLoss,
    ScoreState,
    cross_half_loss,
    split_halves,
)
from specurate.curation.frontier import FrontierSampler, FrontierState
from specurate.curation.static import (
    KeepMask,
    StaticSubset,
    StaticWeights,
    SubsetState,
    WeightsState,
    el2n_scores,
    entropy_scores,
    forgetting_scores,
    grand_scores,
    least_confidence_scores,
    margin_scores,
    near_duplicates,
    prototype_scores,
)

__all__ = [
    "CORRECTIONS",
    "Accounting",
    "Anneal",
    "Bandit",
    "BanditState",
    "Bound",
    "Chain",
    "ChainState",
    "CheckReport",
    "CheckSetup",
    "Correction",
    "EnsembleDisagreement",
    "FrontierSampler",
    "FrontierState",
    "InfoBatchStyle",
    "KeepMask",
    "LossProportional",
    "OnlineProbe",
    "Plan",
    "ReducibleLoss",
    "ScoreState",
    "StaticSubset",
    "StaticWeights",
    "Strategy",
    "StrategyState",
    "SubsetState",
    "Uniform",
    "WeightsState",
    "bind",
    "bounded_weights",
    "chain",
    "check_strategy",
    "cross_half_loss",
    "draw_plan",
    "el2n_scores",
    "entropy_scores",
    "forgetting_scores",
    "grand_scores",
    "least_confidence_scores",
    "margin_scores",
    "near_duplicates",
    "parametrize_with_checks",
    "prototype_scores",
    "split_halves",
    "strategy_checks",
]


def __getattr__(name: str) -> _Any:  # deprecated alias (curation.State vs dynamics.State)
    if name == "State":
        return _base.deprecated_state_alias()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
