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


def _seeded_scores(make, x, y, epochs):
    """early_training_scores twice with the same seeds: equal scores, global RNG untouched."""
    state = torch.random.get_rng_state()
    a = early_training_scores(make, x, y, epochs=epochs, seeds=(0, 1))
    assert torch.equal(state, torch.random.get_rng_state())
    b = early_training_scores(make, x, y, epochs=epochs, seeds=(0, 1))
    assert np.array_equal(a.el2n, b.el2n) and np.array_equal(a.grand, b.grand)
    return a


def test_early_scores_are_seeded_and_leave_global_rng_alone():
    x, y = _data(60)
    a = _seeded_scores(_model, x, y, epochs=1)
    assert a.el2n.shape == (60,) and np.all(a.el2n >= 0) and np.all(a.grand >= 0)
    assert a.train_passes == 120 and a.score_passes == 240
    with pytest.raises(SpecurateInputError, match="rows"):
        early_training_scores(_model, x, y[:10])


# --- devices and dtypes -------------------------------------------------------------------------


class _Strict(torch.nn.Module):
    """Wraps a model; its forward asserts that the input is where and what its parameters are."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        p = next(self.inner.parameters())
        assert x.device == p.device, f"input on {x.device}, model on {p.device}"
        assert x.dtype == p.dtype, f"input {x.dtype}, model {p.dtype}"
        return self.inner(x)


def _meta_model():
    return _Strict(_model()).to("meta")


def test_scores_move_inputs_to_the_model_device_and_results_through_cpu(fake_accelerator):
    x, y = _data(20)
    model = _meta_model()
    model.train()
    p = predict_proba(model, x.double().numpy(), batch_size=8)  # float64 numpy → float32 meta
    assert p.shape == (20, 3) and p.dtype == np.float64 and np.allclose(p.sum(axis=1), 1.0)
    # inputs already on the device: only the output's trip through .cpu() is exercised
    assert np.array_equal(predict_proba(model, x.to("meta"), batch_size=8), p)
    g = per_example_grad_norms(model, x.numpy(), y.numpy().astype(np.int32), batch_size=8)
    assert g.shape == (20,) and g.dtype == np.float64
    assert model.training and next(model.parameters()).is_meta
    es = early_training_scores(_meta_model, x.double(), y, epochs=1, seeds=(0,), batch_size=8)
    assert es.el2n.shape == (20,) and es.grand.shape == (20,)


def test_float64_model_takes_float32_numpy_inputs():
    x, y = _data()
    torch.manual_seed(2)
    model = _Strict(_model().double())
    x32 = x.numpy()  # float32; its cast to float64 is exact
    ref = _Strict(_model()).double()
    ref.load_state_dict(model.state_dict())
    x64 = x32.astype(np.float64)
    assert np.array_equal(predict_proba(model, x32), predict_proba(ref, x64))
    assert np.array_equal(
        per_example_grad_norms(model, x32, y), per_example_grad_norms(ref, x64, y)
    )
    a = early_training_scores(
        lambda: _Strict(_model().double()), x32, y.numpy(), epochs=1, seeds=(0,)
    )
    b = early_training_scores(
        lambda: _Strict(_model().double()), x64, y.numpy(), epochs=1, seeds=(0,)
    )
    assert np.array_equal(a.el2n, b.el2n) and np.array_equal(a.grand, b.grand)


def test_bfloat16_model_scores_match_float32_within_bfloat16_precision():
    x, y = _data()
    torch.manual_seed(3)
    model = _Strict(_model().to(torch.bfloat16))
    ref = _Strict(_model())
    ref.load_state_dict({k: v.float() for k, v in model.state_dict().items()})  # same weights
    p = predict_proba(model, x.numpy())
    assert p.dtype == np.float64 and np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(p, predict_proba(ref, x), atol=2e-2)  # bf16: 8 significant bits
    g = per_example_grad_norms(model, x, y)
    assert g.dtype == np.float64 and np.allclose(g, per_example_grad_norms(ref, x, y), rtol=5e-2)
    es = early_training_scores(lambda: _Strict(_model().to(torch.bfloat16)), x, y, epochs=1)
    assert np.all(np.isfinite(es.el2n)) and np.all(np.isfinite(es.grand))


def test_early_scores_with_dropout_are_seeded_and_leave_global_rng_alone():
    def make():
        return torch.nn.Sequential(
            torch.nn.Linear(5, 16), torch.nn.Dropout(0.5), torch.nn.Linear(16, 3)
        )

    x, y = _data(30)
    _seeded_scores(make, x, y, epochs=2)  # dropout draws come from the forked, seeded RNG
