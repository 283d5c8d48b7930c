"""Per-example scores from torch models: GraNd by vmap equals a loop of single backward passes."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from specurate.errors import SpecurateInputError
from specurate.torch.scores import early_training_scores, per_example_grad_norms, predict_proba

pytestmark = pytest.mark.torch


def _model():
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def _data(n=40):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 5, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return x, y


def test_grad_norms_match_a_loop_of_backward_passes():
    torch.manual_seed(1)
    model = _model()
    x, y = _data()
    fast = per_example_grad_norms(model, x, y, batch_size=16)
    slow = []
    for i in range(len(x)):
        model.zero_grad()
        F.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        slow.append(torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())).item())
    # float32 arithmetic in both: agreement to a few ulps of the norms
    assert np.allclose(fast, slow, rtol=1e-5, atol=1e-7)


def test_predict_proba_rows_sum_to_one_and_mode_restored():
    model = _model()
    model.train()
    p = predict_proba(model, _data()[0])
    assert p.shape == (40, 3) and np.allclose(p.sum(axis=1), 1.0)
    assert model.training


def test_early_scores_are_seeded_and_leave_global_rng_alone():
    x, y = _data(60)
    state = torch.random.get_rng_state()
    a = early_training_scores(_model, x, y, epochs=1, seeds=(0, 1))
    assert torch.equal(state, torch.random.get_rng_state())
    b = early_training_scores(_model, x, y, epochs=1, seeds=(0, 1))
    assert np.array_equal(a.el2n, b.el2n) and np.array_equal(a.grand, b.grand)
    assert a.el2n.shape == (60,) and np.all(a.el2n >= 0) and np.all(a.grand >= 0)
    assert a.train_passes == 120 and a.score_passes == 240
    with pytest.raises(SpecurateInputError, match="rows"):
        early_training_scores(_model, x, y[:10])
