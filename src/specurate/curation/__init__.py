"""Curation strategies (numpy only): the Strategy contract, static scores, dynamic samplers.

A strategy is three pure steps — ``init(n, seed)``, ``plan(state, epoch)``,
``update(state, indices, stats)`` — see :mod:`specurate.curation.base`;
:func:`check_strategy` is the contract as a test suite; :mod:`specurate.torch` turns any
strategy into a ``torch.utils.data.Sampler``.
"""

from specurate.curation.base import Plan, State, Strategy, Uniform, bounded_weights, draw_plan
from specurate.curation.check import CheckReport, check_strategy
from specurate.curation.combine import Anneal, Chain
from specurate.curation.dynamic import (
    Bandit,
    EnsembleDisagreement,
    InfoBatchStyle,
    LossProportional,
    OnlineProbe,
    ReducibleLoss,
    cross_half_loss,
    split_halves,
)
from specurate.curation.frontier import FrontierSampler
from specurate.curation.static import (
    KeepMask,
    StaticSubset,
    StaticWeights,
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
    "Anneal",
    "Bandit",
    "Chain",
    "CheckReport",
    "EnsembleDisagreement",
    "FrontierSampler",
    "InfoBatchStyle",
    "KeepMask",
    "LossProportional",
    "OnlineProbe",
    "Plan",
    "ReducibleLoss",
    "State",
    "StaticSubset",
    "StaticWeights",
    "Strategy",
    "Uniform",
    "bounded_weights",
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
    "prototype_scores",
    "split_halves",
]
