"""CurationSampler in PyTorch Lightning: a tiny curated training run (CPU, a few seconds).

The sampler shards its plan by rank itself, so the Trainer must not add a DistributedSampler
(use_distributed_sampler=False); Lightning calls sampler.set_epoch before every epoch, and
CurationCallback checks the wiring and keeps the sampler's state in checkpoints.
"""

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from specurate.curation import LossProportional
from specurate.torch import CurationSampler, IndexedDataset
from specurate.torch.integrations import CurationCallback, curated_loss

g = torch.Generator().manual_seed(0)  # 4 Gaussian classes in 16 dimensions
centers = 2 * torch.randn(4, 16, generator=g)


def blobs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, 4, (n,), generator=g)
    return centers[y] + torch.randn(n, 16, generator=g), y


(x_train, y_train), (x_test, y_test) = blobs(512), blobs(512)


class Classifier(L.LightningModule):
    def __init__(self, sampler: CurationSampler) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
        self.sampler = sampler

    def train_dataloader(self) -> DataLoader:
        train = IndexedDataset(TensorDataset(x_train, y_train))  # items: (idx, x, y)
        return DataLoader(train, batch_size=64, sampler=self.sampler)

    def training_step(self, batch, batch_idx):
        idx, x, y = batch
        per_example = F.cross_entropy(self.net(x), y, reduction="none")
        return curated_loss(self.sampler, idx, per_example)  # × plan multipliers; observed

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


if __name__ == "__main__":
    torch.manual_seed(0)
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        use_distributed_sampler=False,  # the sampler shards by rank itself
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
    )
    # built after the Trainer, with its ranks: under DDP the process group comes later
    world, rank = trainer.world_size, trainer.global_rank
    sampler = CurationSampler(LossProportional(cap=5.0), 512, seed=0, num_replicas=world, rank=rank)
    trainer.callbacks.append(CurationCallback(sampler))
    model = Classifier(sampler)
    trainer.fit(model)
    acc = (model.net(x_test).argmax(1) == y_test).float().mean().item()
    if trainer.is_global_zero:
        print(f"test_accuracy={acc:.3f} accounting={sampler.accounting()}")
    del trainer  # under DDP: release Lightning's wrapper, then the process group, before exit
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
