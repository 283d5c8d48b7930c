r"""Empirical neural tangent kernel of a small torch model (torch.func).

For a model :math:`f_\theta: \mathbb{R}^d \to \mathbb{R}^O` the empirical NTK summed over outputs is

.. math::  \Theta(x, x') = \sum_{o=1}^{O} \nabla_\theta f_o(x)^\top \nabla_\theta f_o(x'),

an (n, n) PSD Gram matrix on the examples, i.e. :math:`J J^\top` with the flattened Jacobian
J of shape (n, O·P). Its spectrum is analysed like any kernel:
``estimate_spectrum(empirical_ntk(model, x), kernel="gram")``.
"""

from __future__ import annotations

import numpy as np

from specurate.errors import SpecurateInputError


def empirical_ntk(
    model: torch.nn.Module,  # noqa: F821 - torch is imported lazily
    x: np.ndarray,
    *,
    batch_size: int = 128,
    max_jacobian_bytes: int = 2 * 1024**3,
) -> np.ndarray:
    r"""Empirical NTK Gram matrix Θ (n, n), float64, summed over the model's outputs.

    Args:
        model: a torch module mapping a batch (b, *input_shape) to (b,) or (b, O). It is used
            in evaluation mode with its current parameters; nothing is modified.
        x: (n, *input_shape) examples (numpy or torch).
        batch_size: examples per vmapped Jacobian computation.
        max_jacobian_bytes: the Jacobian (n, O·P), kept in the model's dtype, may not exceed
            this; larger requests raise.

    Per-example Jacobians come from ``torch.func.vmap(torch.func.jacrev(...))`` over
    ``torch.func.functional_call``.
    """
    import torch
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    if not params:
        raise SpecurateInputError("the model has no trainable parameters.")
    xt = torch.as_tensor(np.asarray(x), dtype=next(iter(params.values())).dtype)
    n = xt.shape[0]
    if n < 2:
        raise SpecurateInputError(f"the NTK needs at least 2 examples, got {n}.")
    n_params = sum(p.numel() for p in params.values())
    with torch.no_grad():
        n_out = int(np.prod(model(xt[:1]).shape[1:])) or 1
    need = n * n_out * n_params * xt.element_size()
    if need > max_jacobian_bytes:
        raise SpecurateInputError(
            f"the Jacobian would take {need / 2**30:.1f} GiB ({n} examples × {n_out} outputs × "
            f"{n_params} parameters); use fewer examples or raise max_jacobian_bytes."
        )

    def f_single(p: dict, xi: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (xi.unsqueeze(0),)).reshape(-1)

    jac_fn = vmap(jacrev(f_single), in_dims=(None, 0))
    was_training = model.training
    model.eval()
    try:
        blocks = []
        for start in range(0, n, batch_size):
            jac = jac_fn(params, xt[start : start + batch_size])  # dict of (b, O, *p.shape)
            blocks.append(torch.cat([j.reshape(j.shape[0], -1) for j in jac.values()], dim=1))
    finally:
        model.train(was_training)
    jmat = torch.cat(blocks).detach().numpy().astype(np.float64)  # (n, O·P)
    return jmat @ jmat.T
