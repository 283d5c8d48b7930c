"""PyTorch adapters (the only subpackage that imports torch; install the ``torch`` extra)."""

from specurate.torch.ntk import empirical_ntk

__all__ = [
    "CurationSampler",
    "IndexedDataset",
    "early_training_scores",
    "empirical_ntk",
    "per_example_grad_norms",
    "predict_proba",
]


def __getattr__(name: str):  # lazy: importing specurate.torch does not import torch
    if name in ("CurationSampler", "IndexedDataset"):
        from specurate.torch import sampler

        return getattr(sampler, name)
    if name in ("early_training_scores", "per_example_grad_norms", "predict_proba"):
        from specurate.torch import scores

        return getattr(scores, name)
    raise AttributeError(f"module 'specurate.torch' has no attribute {name!r}")
