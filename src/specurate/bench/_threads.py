"""Thread limits for the training runs: torch's intra-op pool (and optionally the BLAS/OpenMP
pools through threadpoolctl), set for a block and restored after it.

One thread is fastest for the small built-in models and keeps concurrent runs from
oversubscribing the cores (threads that spin on busy cores slow each step many-fold).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int | None, *, blas: bool = False) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (and, with ``blas``, ``n`` BLAS/OpenMP
    threads), restoring the previous settings afterwards; ``n=None`` changes nothing."""
    if n is None:
        yield
        return
    import torch

    with ExitStack() as stack:
        if blas:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=int(n)))
        before = torch.get_num_threads()
        torch.set_num_threads(int(n))
        try:
            yield
        finally:
            torch.set_num_threads(before)
