"""Empirical NTK against closed forms and an independent autograd computation."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

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
