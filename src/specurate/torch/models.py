"""The small models of the benchmark and the scorers, built from plain architecture specs.

One builder per architecture, used by the benchmark's seeded factories
(:func:`specurate.bench.tasks.make_mlp` etc.) and by saved scoring models
(:func:`specurate.engine.scores.build_model`), so a checkpoint's ``state_dict`` keys always
match. Each maps (b, d) rows to (b, K) outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["cnn1d", "linear", "mlp"]


def mlp(n_in: int, n_out: int, hidden: Sequence[int] = (128,)) -> torch.nn.Module:
    """Flatten → (Linear → ReLU) per hidden width → Linear(·, n_out)."""
    layers: list[torch.nn.Module] = [torch.nn.Flatten()]
    d = n_in
    for h in hidden:
        layers += [torch.nn.Linear(d, h), torch.nn.ReLU()]
        d = h
    layers.append(torch.nn.Linear(d, n_out))
    return torch.nn.Sequential(*layers)


def linear(n_in: int, n_out: int = 1) -> torch.nn.Linear:
    """One ``Linear(n_in, n_out)``."""
    return torch.nn.Linear(n_in, n_out)


def cnn1d(length: int, n_out: int, channels: int = 16) -> torch.nn.Module:
    """A tiny 1-D CNN for (b, length) signals: two stride-2 Conv1d layers (kernel 5 and 3) with
    ReLU, then Linear(channels · ⌈⌈length/2⌉/2⌉, n_out)."""
    nn = torch.nn
    l1 = (length - 1) // 2 + 1
    l2 = (l1 - 1) // 2 + 1
    return nn.Sequential(
        nn.Unflatten(1, (1, length)),
        nn.Conv1d(1, channels, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(channels * l2, n_out),
    )
