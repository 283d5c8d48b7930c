"""2-process 🤗 Trainer (CPU, gloo) run of the recipe's model, recording what each rank trains.

Usage: python -m torch.distributed.run --nproc_per_node 2 _ddp_trainer.py OUT_DIR
"""

import gc
import sys
import tempfile

import torch
import trainer_recipe as recipe
from _ddp_common import EpochRecorder
from transformers import TrainerCallback, TrainingArguments

from specurate.curation import LossProportional
from specurate.torch import CurationSampler
from specurate.torch.integrations import CurationTrainer, IndexedDictDataset


class RecordingTrainer(CurationTrainer):
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            self.recorder.batch(inputs["idx"])
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


class EpochStart(TrainerCallback):  # added after CurationTrainer's own set_epoch callback
    def __init__(self, recorder: EpochRecorder) -> None:
        self.recorder = recorder

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.recorder.start()


if __name__ == "__main__":
    x, y = recipe.x_train, recipe.y_train
    train = IndexedDictDataset([{"x": a, "labels": b} for a, b in zip(x, y, strict=True)])
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        num_train_epochs=2,
        per_device_train_batch_size=64,
        learning_rate=1e-2,
        lr_scheduler_type="constant",
        use_cpu=True,
        seed=0,
        remove_unused_columns=False,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=False,
        ddp_find_unused_parameters=False,
    )
    sampler = CurationSampler(LossProportional(cap=5.0), len(train), seed=0)
    recorder = EpochRecorder(sampler)
    trainer = RecordingTrainer(
        model=recipe.Classifier(), args=args, train_dataset=train, sampler=sampler, callbacks=[]
    )
    trainer.recorder = recorder
    trainer.add_callback(EpochStart(recorder))
    trainer.train()
    recorder.write(sys.argv[1], args.process_index, args.world_size)
    accelerator = trainer.accelerator
    accelerator.free_memory()  # drop the DDP wrapper (it holds the process group) first,
    del trainer  # so that destroying the group below is the last use of it
    gc.collect()
    torch.distributed.barrier()
    accelerator.end_training()
