"""2-process Lightning DDP (CPU, gloo) run of the recipe's model, recording what each rank trains.

Usage: python _ddp_lightning.py OUT_DIR (Lightning relaunches this script for rank 1).
"""

import gc
import sys

import lightning.pytorch as L
import lightning_recipe as recipe
import torch
from _ddp_common import EpochRecorder

from specurate.curation import LossProportional
from specurate.torch import CurationSampler
from specurate.torch.integrations import CurationCallback


class Recording(recipe.Classifier):
    def __init__(self, sampler: CurationSampler) -> None:
        super().__init__(sampler)
        self.recorder = EpochRecorder(sampler)

    def on_train_epoch_start(self) -> None:
        self.recorder.start()

    def training_step(self, batch, batch_idx):
        self.recorder.batch(batch[0])
        return super().training_step(batch, batch_idx)


if __name__ == "__main__":
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        devices=2,
        strategy="ddp",
        use_distributed_sampler=False,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    sampler = CurationSampler(
        LossProportional(cap=5.0),
        len(recipe.x_train),
        seed=0,
        num_replicas=trainer.world_size,
        rank=trainer.global_rank,
    )
    trainer.callbacks.append(CurationCallback(sampler))
    model = Recording(sampler)
    trainer.fit(model)
    model.recorder.write(sys.argv[1], trainer.global_rank, trainer.world_size)
    # tear down in order: release Lightning's DDP wrapper (it holds the process group), then the
    # group itself, so no gloo thread outlives it at interpreter exit
    del trainer, model
    gc.collect()
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
