"""2-process Accelerate (CPU, gloo) run of the recipe's loop, recording what each rank trains.

Usage: python -m torch.distributed.run --nproc_per_node 2 _ddp_accelerate.py OUT_DIR
(accelerate launch --cpu would start a single process).
"""

import gc
import sys

import accelerate_recipe as recipe
import torch
import torch.nn.functional as F
from _ddp_common import EpochRecorder
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from specurate.curation import LossProportional
from specurate.torch import CurationSampler, IndexedDataset
from specurate.torch.integrations import check_loader, curated_loss

if __name__ == "__main__":
    torch.manual_seed(0)
    accelerator = Accelerator(cpu=True)
    sampler = CurationSampler(LossProportional(cap=5.0), len(recipe.x_train), seed=0)
    train = IndexedDataset(TensorDataset(recipe.x_train, recipe.y_train))
    loader = DataLoader(train, batch_size=64, sampler=sampler)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model, opt = accelerator.prepare(model, opt)
    check_loader(loader, sampler)
    recorder = EpochRecorder(sampler)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        recorder.start()
        for idx, x, y in loader:
            recorder.batch(idx)
            x, y = x.to(accelerator.device), y.to(accelerator.device)
            per_example = F.cross_entropy(model(x), y, reduction="none")
            accelerator.backward(curated_loss(sampler, idx, per_example))
            opt.step()
            opt.zero_grad()
    sampler.flush()  # one collective: both ranks fold the last plan
    recorder.write(sys.argv[1], accelerator.process_index, accelerator.num_processes)
    accelerator.free_memory()  # release the DDP wrapper (it holds the process group) first
    del model, opt
    gc.collect()
    torch.distributed.barrier()
    accelerator.end_training()
