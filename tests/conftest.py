import os

import pytest

# Reproducible, fast BLAS in tests; tests never assert wall-clock times.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def fake_accelerator(monkeypatch):
    """The meta device as a stand-in accelerator (test_torch_scores, test_ntk): ``.cpu()`` of a
    meta tensor "transfers" it as a CPU tensor of 1/shape[-1] (rows of a valid probability
    matrix), and ``.numpy()``
    fails unless the tensor is on the CPU, detached and in a numpy dtype — so a ``.numpy()``
    before ``.cpu()``, or an input left on the CPU (the strict forward), fails the test."""
    torch = pytest.importorskip("torch")
    cpu, numpy = torch.Tensor.cpu, torch.Tensor.numpy

    def fake_cpu(self, *args, **kwargs):
        if self.is_meta:
            return torch.full(
                self.shape, 1.0 / (self.shape[-1] if self.dim() else 1), dtype=self.dtype
            )
        return cpu(self, *args, **kwargs)

    def checked_numpy(self, *args, **kwargs):
        assert self.device.type == "cpu", f".numpy() on a {self.device.type} tensor"
        assert not self.requires_grad, ".numpy() on a tensor that requires grad"
        assert self.dtype not in (torch.bfloat16, torch.float16), f".numpy() on {self.dtype}"
        return numpy(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "cpu", fake_cpu)
    monkeypatch.setattr(torch.Tensor, "numpy", checked_numpy)
