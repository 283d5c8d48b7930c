"""PyTorch adapters (the only subpackage that imports torch; install the ``torch`` extra)."""

from specurate.torch.ntk import empirical_ntk

__all__ = ["empirical_ntk"]
