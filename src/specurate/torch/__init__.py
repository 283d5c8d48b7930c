"""PyTorch adapters (the only subpackage that imports torch; install the ``torch`` extra)."""

from specurate.torch.ntk import empirical_ntk

__all__ = ["CurationSampler", "IndexedDataset", "empirical_ntk"]


def __getattr__(name: str):  # lazy: importing specurate.torch does not import torch
    if name in ("CurationSampler", "IndexedDataset"):
        from specurate.torch import sampler

        return getattr(sampler, name)
    raise AttributeError(f"module 'specurate.torch' has no attribute {name!r}")
