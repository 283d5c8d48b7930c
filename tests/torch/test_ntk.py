"""Empirical NTK against closed forms and an independent autograd computation."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from specurate.errors import SpecurateInputError  # noqa: E402
from specurate.spectrum.estimate import estimate_spectrum  # noqa: E402
from specurate.torch import empirical_ntk  # noqa: E402

X = np.random.default_rng(0).standard_normal((60, 5))


def test_linear_model_ntk_is_the_linear_kernel():
    # f(x) = wᵀx + c ⇒ ∇_θ f = (x, 1) ⇒ Θ(x, x') = xᵀx' + 1 (exact; float64 model).
    model = torch.nn.Linear(5, 1).double()
    np.testing.assert_allclose(empirical_ntk(model, X), X @ X.T + 1.0, rtol=1e-12, atol=1e-12)


def test_mlp_ntk_matches_autograd_jacobian():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)
    ).double()
    rows = []
    for i in range(X.shape[0]):
        out = model(torch.tensor(X[i : i + 1]))
        grads = []
        for o in range(3):
            g = torch.autograd.grad(out[0, o], list(model.parameters()), retain_graph=True)
            grads.append(torch.cat([t.reshape(-1) for t in g]))
        rows.append(torch.cat(grads))
    jac = torch.stack(rows).numpy()
    np.testing.assert_allclose(
        empirical_ntk(model, X, batch_size=7), jac @ jac.T, rtol=1e-10, atol=1e-10
    )


def test_ntk_spectrum_runs_and_leaves_model_untouched():
    model = torch.nn.Sequential(torch.nn.Linear(5, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    k = empirical_ntk(model, X)
    assert model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    rep = estimate_spectrum(k, kernel="gram", ci_method="none")
    assert rep.eigenvalues[0] > 0 and np.all(np.diff(rep.eigenvalues) <= 1e-12)


# --- devices and dtypes -------------------------------------------------------------------------


class _Strict(torch.nn.Module):
    """Linear(5, out); the forward asserts the input is on the parameters' device and dtype."""

    def __init__(self, out: int = 1):
        super().__init__()
        self.lin = torch.nn.Linear(5, out)

    def forward(self, x):
        w = self.lin.weight
        assert x.device == w.device and x.dtype == w.dtype, (x.device, x.dtype, w.device, w.dtype)
        return self.lin(x)


def test_ntk_moves_inputs_to_the_model_device_and_the_jacobian_through_cpu(fake_accelerator):
    model = _Strict(out=2).to("meta")
    model.train()
    k = empirical_ntk(model, X[:9], batch_size=4)  # float64 numpy → float32 meta batches
    # the fake transfer fills the flattened J (9, O·P = 2·12) with 1/24: Θ = 24/24² everywhere
    assert k.shape == (9, 9) and k.dtype == np.float64 and np.allclose(k, 1 / 24, rtol=1e-6)
    assert np.array_equal(empirical_ntk(model, torch.as_tensor(X[:9]).to("meta")), k)
    assert model.training and model.lin.weight.is_meta


def test_ntk_float64_model_takes_float32_inputs_and_grad_tensors():
    x32 = X.astype(np.float32)
    x64 = x32.astype(np.float64)  # exact
    model = _Strict().double()
    expected = x64 @ x64.T + 1.0
    np.testing.assert_allclose(empirical_ntk(model, x32), expected, rtol=1e-12, atol=1e-12)
    xt = torch.tensor(x32, requires_grad=True)  # np.asarray of it would raise
    np.testing.assert_allclose(empirical_ntk(model, xt), expected, rtol=1e-12, atol=1e-12)


def test_ntk_of_a_bfloat16_model_is_exact_for_the_linear_kernel():
    # J = (x rounded to bf16, 1) is exact in bf16; the Gram is formed in float64.
    model = _Strict().to(torch.bfloat16)
    xb = torch.tensor(X).to(torch.bfloat16).double().numpy()
    k = empirical_ntk(model, X)
    assert k.dtype == np.float64
    np.testing.assert_allclose(k, xb @ xb.T + 1.0, rtol=1e-12, atol=1e-12)


def test_ntk_leaves_batchnorm_statistics_alone():
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1)
    )
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    empirical_ntk(model, X[:10])
    assert model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_gram_in_blocks_is_exact_and_symmetric():
    from specurate.torch.ntk import _gram64

    j = torch.randn(23, 7, generator=torch.Generator().manual_seed(0))
    full = j.double().numpy() @ j.double().numpy().T
    for block_bytes in (1, 8 * 7 * 5, 2**27):  # one row, five rows, everything
        g = _gram64(j, block_bytes=block_bytes)
        np.testing.assert_allclose(g, full, rtol=1e-13, atol=1e-13)
        assert np.array_equal(g, g.T)


def test_ntk_refuses_an_oversized_jacobian():
    with pytest.raises(SpecurateInputError, match="GiB"):
        empirical_ntk(torch.nn.Linear(5, 3), X, max_jacobian_bytes=1000)
