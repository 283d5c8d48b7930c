r"""Per-example scores from torch models, for the static strategies of ``specurate.curation``.

* :func:`predict_proba` — softmax probabilities (n, K) of a classifier (EL2N, margin, entropy).
* :func:`per_example_grad_norms` — ‖∇_θ ℓ(f_θ(x_i), y_i)‖₂ for every example (GraNd), from
  ``torch.func.vmap(torch.func.grad(...))`` over ``functional_call``: one batched backward,
  no loop over examples.
* :func:`early_training_scores` — the protocol of Paul et al. (2021): train a fresh model for a
  few epochs under each of several seeds, score every example, average over seeds. Returns the
  EL2N and GraNd scores and the number of training and scoring passes it spent (charge them to
  the curated run's compute).

Models are put in evaluation mode for scoring and restored; parameters are never modified by
scoring. Every random choice comes from a ``torch.Generator`` seeded by the caller.

Device and dtype: the model may live on any device (CPU, CUDA, MPS) in any floating dtype.
Inputs (numpy arrays, or tensors anywhere) are moved batch by batch to the device of the
model's parameters and floating inputs cast to their dtype; labels go as int64. Results come
back as float64 numpy arrays on the CPU (moved off the device before any ``.numpy()``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch.func import functional_call, grad, vmap

from specurate.curation.static import el2n_scores, grand_scores
from specurate.errors import SpecurateInputError

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _placement(model: torch.nn.Module) -> tuple[torch.device, torch.dtype | None]:
    """Device and floating dtype that inputs of ``model`` must have.

    The device of the first parameter (of the first buffer for a parameter-less module; the
    CPU for a module with neither) and the dtype of the first floating parameter (buffer), or
    None when the module holds no floating tensor (inputs then keep their dtype).
    """
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), None)
    return device, dtype


def _as_tensor(x: torch.Tensor | ArrayLike) -> torch.Tensor:
    """``x`` (numpy array, tensor on any device, or nested sequence) as a detached tensor, no copy
    where none is needed; a read-only numpy array is copied (torch cannot wrap it)."""
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        x = x.copy()
    return torch.as_tensor(x)


def _to_model(t: torch.Tensor, device: torch.device, dtype: torch.dtype | None) -> torch.Tensor:
    """``t`` on ``device``; a floating ``t`` also cast to ``dtype`` (when not None).

    The cast happens before the transfer, where ``t`` lives (so a float64 CPU array reaches a
    float32 accelerator that has no float64, e.g. MPS, as float32). Integer and boolean tensors
    (labels, token ids) keep their dtype.
    """
    if dtype is not None and t.is_floating_point() and t.dtype != dtype:
        t = t.to(dtype)
    return t.to(device)


def _to_numpy64(t: torch.Tensor) -> np.ndarray:
    """A tensor on any device, in any dtype, as a float64 numpy array on the CPU.

    Detached and moved to the CPU *before* the cast (MPS has no float64) and before
    ``.numpy()`` (which exists only for CPU tensors, and not for bfloat16).
    """
    return t.detach().cpu().to(torch.float64).numpy()


def _upcast(t: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 -> float32 (for softmax, losses and norms); other dtypes unchanged."""
    return t.float() if t.dtype in _LOW_PRECISION else t


def _tensors(
    x: torch.Tensor | ArrayLike, y: torch.Tensor | ArrayLike
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated (n, …) inputs and (n,) int64 labels, where the caller's tensors live."""
    xt = _as_tensor(x)
    yt = _as_tensor(y).long()
    if xt.shape[0] != yt.shape[0]:
        raise SpecurateInputError(f"x has {xt.shape[0]} rows, y has {yt.shape[0]}")
    if xt.shape[0] == 0:
        raise SpecurateInputError("x has no rows")
    if xt.is_floating_point() and not torch.isfinite(xt).all():
        raise SpecurateInputError("x contains NaN or inf")
    return xt, yt


@torch.no_grad()
def predict_proba(
    model: torch.nn.Module, x: torch.Tensor | ArrayLike, *, batch_size: int = 1024
) -> np.ndarray:
    """Softmax probabilities (n, K) float64 of ``model`` on x (evaluation mode, restored).

    Args:
        model: a classifier (b, …) -> (b, K) logits, on any device and in any floating dtype.
        x: (n, …) inputs (numpy, or a tensor on any device); each batch of ``batch_size`` rows
            is moved to the model's device and (if floating) cast to its dtype.

    Returns:
        (n, K) float64 numpy array on the CPU; rows sum to 1. float16/bfloat16 logits are
            upcast to float32 before the softmax.
    """
    xt = _as_tensor(x)
    if xt.ndim == 0 or len(xt) == 0:
        raise SpecurateInputError("x has no rows")
    device, dtype = _placement(model)
    was = model.training
    model.eval()
    out = []
    try:
        for i in range(0, len(xt), batch_size):
            logits = _upcast(model(_to_model(xt[i : i + batch_size], device, dtype)))
            out.append(_to_numpy64(F.softmax(logits, dim=1)))  # batch by batch off the device
    finally:
        model.train(was)
    return np.concatenate(out)


def per_example_grad_norms(
    model: torch.nn.Module,
    x: torch.Tensor | ArrayLike,
    y: torch.Tensor | ArrayLike,
    *,
    batch_size: int = 256,
) -> np.ndarray:
    r"""GraNd scores ‖∇_θ CE(f_θ(x_i), y_i)‖₂, (n,) float64 (Paul et al. 2021).

    Per-example gradients by ``vmap(grad(loss of one example))`` — exactly the gradients a
    batch of size one would give, computed batched, in evaluation mode (restored after).

    Args:
        model: a classifier (b, …) -> (b, K) logits, on any device and in any floating dtype.
        x: (n, …) inputs (numpy, or a tensor on any device). Each batch is moved to the
            model's device; floating x is cast to the model's dtype.
        y: (n,) integer labels in [0, K) (numpy, or a tensor on any device), moved with x and
            cast to int64.
        batch_size: examples per vmapped backward.

    Returns:
        (n,) float64 numpy array on the CPU (gradient norms in loss units per parameter unit).
            With float16/bfloat16 models the loss and the squared norms are accumulated in
            float32.
    """
    xt, yt = _tensors(x, y)
    device, dtype = _placement(model)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_one(p, xi, yi):
        out = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return F.cross_entropy(_upcast(out), yi.unsqueeze(0))

    per_grad = vmap(grad(loss_one), in_dims=(None, 0, 0))
    was = model.training
    model.eval()
    norms = []
    try:
        for i in range(0, len(xt), batch_size):
            xb = _to_model(xt[i : i + batch_size], device, dtype)
            yb = yt[i : i + batch_size].to(device=device, dtype=torch.int64)
            g = per_grad(params, xb, yb)
            # a sum of one tensor per parameter (a model has at least one): a tensor, never 0
            sq = cast(
                torch.Tensor,
                sum(_upcast(v).reshape(v.shape[0], -1).pow(2).sum(dim=1) for v in g.values()),
            )
            norms.append(_to_numpy64(sq.sqrt()))
    finally:
        model.train(was)
    return np.concatenate(norms)


def _accelerator() -> tuple[str | None, int]:
    """(device type, device count) of the accelerator torch would use, (None, 0) if none."""
    acc_api = getattr(torch, "accelerator", None)  # torch ≥ 2.6
    if acc_api is not None:
        acc = acc_api.current_accelerator()
        return (acc.type, acc_api.device_count()) if acc is not None else (None, 0)
    if torch.cuda.is_available():
        return "cuda", torch.cuda.device_count()
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps", 1
    return None, 0


@contextmanager
def _seeded_rng(seed: int):
    """Seed the CPU and accelerator generators with ``seed``; restore all their states after.

    ``torch.manual_seed`` seeds every device, so every device it seeds is forked — forking
    only the CPU (``devices=[]``) would leave the caller's CUDA/MPS RNG reseeded.
    """
    kind, count = _accelerator()
    with torch.random.fork_rng(devices=range(count), device_type=kind or "cuda"):
        torch.manual_seed(seed)
        yield


@dataclass(frozen=True)
class EarlyScores:
    """EL2N and GraNd scores averaged over seeds, and the passes spent computing them.

    Attributes:
        el2n: (n,) EL2N scores (higher = harder).
        grand: (n,) GraNd scores (higher = harder).
        train_passes: per-example forward+backward passes spent training the scoring models.
        score_passes: per-example scoring passes (forward for EL2N, forward+backward for GraNd).
    """

    el2n: np.ndarray
    grand: np.ndarray
    train_passes: int
    score_passes: int


def early_training_scores(
    make_model: Callable[[], torch.nn.Module],
    x: torch.Tensor | ArrayLike,
    y: torch.Tensor | ArrayLike,
    *,
    epochs: int = 2,
    seeds: tuple[int, ...] = (0, 1, 2),
    batch_size: int = 64,
    lr: float = 0.1,
) -> EarlyScores:
    r"""EL2N and GraNd after ``epochs`` epochs of SGD, averaged over ``seeds`` (Paul et al. 2021).

    For each seed s, ``make_model()`` builds a fresh model inside ``torch.random.fork_rng`` with
    ``torch.manual_seed(s)``, so its initialization is seeded and the caller's global RNG state is
    restored afterwards; the data order comes from a ``torch.Generator`` seeded by s.

    Args:
        make_model: builds an untrained classifier (b, …) -> (b, K) logits.
        x: (n, …) inputs (a tensor or an array).
        y: (n,) integer labels (a tensor or an array).
        epochs: early-training epochs per seed.
        seeds: one scoring model per seed.
        batch_size: SGD (momentum 0.9) batch size.
        lr: SGD (momentum 0.9) learning rate.

    Returns:
        :class:`EarlyScores` with the passes spent (charge them to the curated run).
    """
    xt, yt = _tensors(x, y)
    if epochs < 1 or not seeds:
        raise SpecurateInputError("need epochs ≥ 1 and at least one seed")
    n = len(xt)
    el2n, gnorm = [], []
    for s in seeds:
        # Construction, training (dropout) and scoring all draw from the seeded generators;
        # the caller's CPU and accelerator RNG states are restored after each seed.
        with _seeded_rng(int(s)):
            model = make_model()
            device, dtype = _placement(model)
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
            gen = torch.Generator().manual_seed(int(s))  # data order: CPU, device-independent
            model.train()
            for _ in range(epochs):
                order = torch.randperm(n, generator=gen).to(xt.device)
                for i in range(0, n, batch_size):
                    b = order[i : i + batch_size]
                    xb = _to_model(xt[b], device, dtype)
                    yb = yt[b].to(device=device, dtype=torch.int64)
                    loss = F.cross_entropy(_upcast(model(xb)), yb)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            el2n.append(predict_proba(model, xt))
            gnorm.append(per_example_grad_norms(model, xt, yt))
    labels = yt.cpu().numpy()
    return EarlyScores(
        el2n=el2n_scores(np.stack(el2n), labels),
        grand=grand_scores(np.stack(gnorm)),
        train_passes=epochs * n * len(seeds),
        score_passes=2 * n * len(seeds),
    )
