"""CurationSampler with 🤗 Accelerate: a tiny curated training run (CPU, a few seconds).

Prepare the model and optimizer, NOT the DataLoader: accelerator.prepare(loader) would split
the sampler's already sharded plan a second time and call set_epoch with its own counter.
Runs as is, or on 2 CPU processes: torchrun --nproc_per_node 2 <this file> (accelerate launch
--cpu starts only one), or on 2 GPUs: accelerate launch --multi_gpu --num_processes 2 <this file>.
"""

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from specurate.curation import LossProportional
from specurate.torch import CurationSampler, IndexedDataset
from specurate.torch.integrations import check_loader, curated_loss

g = torch.Generator().manual_seed(0)  # 4 Gaussian classes in 16 dimensions
centers = 2 * torch.randn(4, 16, generator=g)


def blobs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, 4, (n,), generator=g)
    return centers[y] + torch.randn(n, 16, generator=g), y


(x_train, y_train), (x_test, y_test) = blobs(512), blobs(512)

if __name__ == "__main__":
    torch.manual_seed(0)
    accelerator = Accelerator(cpu=True)  # initializes torch.distributed when launched on >1 process
    # built after the Accelerator, so it reads this process's rank and the world size
    sampler = CurationSampler(LossProportional(cap=5.0), len(x_train), seed=0)
    train = IndexedDataset(TensorDataset(x_train, y_train))  # items: (idx, x, y)
    loader = DataLoader(train, batch_size=64, sampler=sampler)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model, opt = accelerator.prepare(model, opt)  # not the loader
    check_loader(loader, sampler)  # raises if it was prepared, or the ranks are wrong
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for idx, x, y in loader:
            x, y = x.to(accelerator.device), y.to(accelerator.device)
            per_example = F.cross_entropy(model(x), y, reduction="none")
            accelerator.backward(curated_loss(sampler, idx, per_example))
            opt.step()
            opt.zero_grad()
    sampler.flush()  # fold the last plan's observations (one collective across ranks)
    with torch.no_grad():
        acc = (model(x_test.to(accelerator.device)).argmax(1).cpu() == y_test).float().mean()
    if accelerator.is_main_process:
        print(f"test_accuracy={acc.item():.3f} accounting={sampler.accounting()}")
    accelerator.free_memory()  # drop the DDP wrapper first: it holds the process group
    accelerator.end_training()  # destroys the group: no gloo abort at exit under torchrun
