r"""Empirical neural tangent kernel of a small torch model (torch.func).

For a model :math:`f_\theta: \mathbb{R}^d \to \mathbb{R}^O` the empirical NTK summed over outputs is

.. math::  \Theta(x, x') = \sum_{o=1}^{O} \nabla_\theta f_o(x)^\top \nabla_\theta f_o(x'),

an (n, n) PSD Gram matrix on the examples, i.e. :math:`J J^\top` with the flattened Jacobian
J of shape (n, O·P). Its spectrum is analysed like any kernel:
``estimate_spectrum(empirical_ntk(model, x), kernel="gram")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from specurate.errors import SpecurateInputError

if TYPE_CHECKING:  # pragma: no cover - torch is imported lazily, inside the functions
    import torch


def empirical_ntk(
    model: torch.nn.Module,
    x: np.ndarray,
    *,
    batch_size: int = 128,
    max_jacobian_bytes: int = 2 * 1024**3,
) -> np.ndarray:
    r"""Empirical NTK Gram matrix Θ (n, n), float64, summed over the model's outputs.

    Args:
        model: a torch module mapping a batch (b, *input_shape) to (b,) or (b, O), on any device
            (CPU, CUDA, MPS) and in any floating dtype. It is used in evaluation mode (restored
            after) with its current parameters; nothing is modified.
        x: (n, *input_shape) examples (numpy, or a tensor on any device); each batch is moved
            to the model's device and, if floating, cast to the model's dtype.
        batch_size: examples per vmapped Jacobian computation (the device holds one batch's
            Jacobian, (batch_size, O·P), at a time).
        max_jacobian_bytes: the Jacobian (n, O·P), gathered on the CPU in the model's dtype,
            may not exceed this; larger requests raise.

    Returns:
        (n, n) float64 numpy array on the CPU, symmetric PSD; Θ has the units of f² per unit
            parameter². The Gram products are taken in float64 on the CPU, block by block.

    Per-example Jacobians come from ``torch.func.vmap(torch.func.jacrev(...))`` over
    ``torch.func.functional_call``.
    """
    import torch
    from torch.func import functional_call, jacrev, vmap

    from specurate.torch.scores import _as_tensor, _placement, _to_model

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    if not params:
        raise SpecurateInputError("the model has no trainable parameters.")
    device, dtype = _placement(model)
    xt = _as_tensor(x)
    n = xt.shape[0] if xt.ndim else 0
    if n < 2:
        raise SpecurateInputError(f"the NTK needs at least 2 examples, got {n}.")
    n_params = sum(p.numel() for p in params.values())
    elem = max(p.element_size() for p in params.values())

    def f_single(p: dict, xi: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (xi.unsqueeze(0),)).reshape(-1)

    jac_fn = vmap(jacrev(f_single), in_dims=(None, 0))
    was_training = model.training
    model.eval()  # also for the probe: a forward in training mode would update BatchNorm stats
    try:
        with torch.no_grad():
            n_out = int(np.prod(model(_to_model(xt[:1], device, dtype)).shape[1:]))
        need = n * n_out * n_params * elem
        if need > max_jacobian_bytes:
            raise SpecurateInputError(
                f"the Jacobian would take {need / 2**30:.1f} GiB ({n} examples × {n_out} outputs "
                f"× {n_params} parameters); use fewer examples or raise max_jacobian_bytes."
            )
        blocks = []
        for start in range(0, n, batch_size):
            xb = _to_model(xt[start : start + batch_size], device, dtype)
            jac = jac_fn(params, xb)  # dict of (b, O, *p.shape)
            jb = torch.cat([j.reshape(j.shape[0], -1) for j in jac.values()], dim=1)
            blocks.append(jb.detach().cpu())  # off the device batch by batch, model dtype
    finally:
        model.train(was_training)
    return _gram64(torch.cat(blocks))


def _gram64(jmat: torch.Tensor, block_bytes: int = 2**27) -> np.ndarray:
    """J Jᵀ (n, n) float64 of a CPU Jacobian J (n, m) in any dtype, in float64 row blocks.

    At most two blocks of rows are held in float64 at a time (≤ ``block_bytes`` each, default
    128 MiB, beside J in its own dtype). Diagonal blocks are ``a @ a.T`` in numpy (a symmetric
    BLAS product) and the lower triangle is the transpose of the upper one, so Θ is exactly
    symmetric.
    """
    import torch

    n, m = jmat.shape
    rows = max(1, block_bytes // (8 * max(m, 1)))
    gram = np.empty((n, n), dtype=np.float64)

    def block(i: int) -> np.ndarray:
        return jmat[i : i + rows].to(torch.float64).numpy()

    for i in range(0, n, rows):
        ji = block(i)
        gram[i : i + rows, i : i + rows] = ji @ ji.T
        for j in range(i + rows, n, rows):
            blk = ji @ block(j).T
            gram[i : i + rows, j : j + rows] = blk
            gram[j : j + rows, i : i + rows] = blk.T
    return gram
