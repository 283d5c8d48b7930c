"""CurationSampler with the 🤗 transformers Trainer: a tiny curated run (CPU, a few seconds).

CurationTrainer trains on the sampler's plan (its DataLoader is not re-sharded), computes the
per-example loss × plan multipliers in compute_loss and calls set_epoch every epoch. Items
are dicts carrying their index, so the Trainer must keep every column.
"""

import tempfile

import torch
from torch import nn
from transformers import TrainingArguments

from specurate.curation import LossProportional
from specurate.torch import CurationSampler
from specurate.torch.integrations import CurationTrainer, IndexedDictDataset

g = torch.Generator().manual_seed(0)  # 4 Gaussian classes in 16 dimensions
centers = 2 * torch.randn(4, 16, generator=g)


def blobs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, 4, (n,), generator=g)
    return centers[y] + torch.randn(n, 16, generator=g), y


(x_train, y_train), (x_test, y_test) = blobs(512), blobs(512)


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(x)}


if __name__ == "__main__":
    items = [{"x": x, "labels": y} for x, y in zip(x_train, y_train, strict=True)]
    train = IndexedDictDataset(items)  # items: {"x", "labels", "idx"}
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        num_train_epochs=2,
        per_device_train_batch_size=64,
        learning_rate=1e-2,
        lr_scheduler_type="constant",
        use_cpu=True,
        remove_unused_columns=False,  # keep the "idx" column the sampler needs
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
    )
    # built after TrainingArguments, which initializes torch.distributed under torchrun
    sampler = CurationSampler(LossProportional(cap=5.0), len(train), seed=0)
    torch.manual_seed(0)
    model = Classifier()
    trainer = CurationTrainer(model=model, args=args, train_dataset=train, sampler=sampler)
    trainer.train()
    with torch.no_grad():
        acc = (model(x_test)["logits"].argmax(1) == y_test).float().mean().item()
    if args.process_index == 0:
        print(f"test_accuracy={acc:.3f} accounting={sampler.accounting()}")
    trainer.accelerator.free_memory()  # drop the DDP wrapper first: it holds the group
    trainer.accelerator.end_training()  # destroys the group: no gloo abort at exit
