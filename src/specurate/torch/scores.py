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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

from specurate.curation.static import el2n_scores, grand_scores
from specurate.errors import SpecurateInputError


def _tensors(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    xt = torch.as_tensor(x)
    yt = torch.as_tensor(y).long()
    if xt.shape[0] != yt.shape[0]:
        raise SpecurateInputError(f"x has {xt.shape[0]} rows, y has {yt.shape[0]}")
    if xt.is_floating_point() and not torch.isfinite(xt).all():
        raise SpecurateInputError("x contains NaN or inf")
    return xt, yt


@torch.no_grad()
def predict_proba(model: torch.nn.Module, x, *, batch_size: int = 1024) -> np.ndarray:
    """Softmax probabilities (n, K) float64 of ``model`` on x (evaluation mode, restored)."""
    xt = torch.as_tensor(x)
    was = model.training
    model.eval()
    try:
        out = [
            F.softmax(model(xt[i : i + batch_size]), dim=1) for i in range(0, len(xt), batch_size)
        ]
    finally:
        model.train(was)
    return torch.cat(out).double().numpy()


def per_example_grad_norms(model: torch.nn.Module, x, y, *, batch_size: int = 256) -> np.ndarray:
    r"""GraNd scores ‖∇_θ CE(f_θ(x_i), y_i)‖₂, (n,) float64 (Paul et al. 2021).

    Per-example gradients by ``vmap(grad(loss of one example))`` — exactly the gradients a
    batch of size one would give, computed batched.
    """
    xt, yt = _tensors(x, y)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_one(p, xi, yi):
        out = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return F.cross_entropy(out, yi.unsqueeze(0))

    per_grad = vmap(grad(loss_one), in_dims=(None, 0, 0))
    was = model.training
    model.eval()
    norms = []
    try:
        for i in range(0, len(xt), batch_size):
            g = per_grad(params, xt[i : i + batch_size], yt[i : i + batch_size])
            sq = sum(v.reshape(v.shape[0], -1).pow(2).sum(dim=1) for v in g.values())
            norms.append(sq.sqrt())
    finally:
        model.train(was)
    return torch.cat(norms).double().numpy()


@dataclass(frozen=True)
class EarlyScores:
    """EL2N and GraNd scores averaged over seeds, and the passes spent computing them.

    Attributes:
        el2n, grand: (n,) scores (higher = harder).
        train_passes: per-example forward+backward passes spent training the scoring models.
        score_passes: per-example scoring passes (forward for EL2N, forward+backward for GraNd).
    """

    el2n: np.ndarray
    grand: np.ndarray
    train_passes: int
    score_passes: int


def early_training_scores(
    make_model: Callable[[], torch.nn.Module],
    x,
    y,
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
        x, y: (n, …) inputs and (n,) integer labels (tensors or arrays).
        epochs: early-training epochs per seed; seeds: one scoring model per seed.
        batch_size, lr: SGD (momentum 0.9) settings.

    Returns:
        :class:`EarlyScores` with the passes spent (charge them to the curated run).
    """
    xt, yt = _tensors(x, y)
    if epochs < 1 or not seeds:
        raise SpecurateInputError("need epochs ≥ 1 and at least one seed")
    n = len(xt)
    el2n, gnorm = [], []
    for s in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s)  # inside the fork: the caller's RNG state is restored after
            model = make_model()
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        gen = torch.Generator().manual_seed(int(s))
        model.train()
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            for i in range(0, n, batch_size):
                b = order[i : i + batch_size]
                loss = F.cross_entropy(model(xt[b]), yt[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        el2n.append(predict_proba(model, xt))
        gnorm.append(per_example_grad_norms(model, xt, yt))
    labels = yt.numpy()
    return EarlyScores(
        el2n=el2n_scores(np.stack(el2n), labels),
        grand=grand_scores(np.stack(gnorm)),
        train_passes=epochs * n * len(seeds),
        score_passes=2 * n * len(seeds),
    )
