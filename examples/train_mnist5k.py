"""Train a small MLP on MNIST-5k with any curation strategy: three lines differ from plain torch.

python examples/train_mnist5k.py [uniform|loss|infobatch|frontier] [--epochs E]
"""

import argparse
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from specurate.curation import FrontierSampler, InfoBatchStyle, LossProportional, Uniform
from specurate.datasets import load_builtin
from specurate.torch import CurationSampler, IndexedDataset

ap = argparse.ArgumentParser()
ap.add_argument("strategy", nargs="?", default="uniform")
ap.add_argument("--epochs", type=int, default=10)
args = ap.parse_args()
t0 = time.perf_counter()
torch.manual_seed(0)
d = load_builtin("mnist5k")
perm = torch.randperm(len(d.y))  # the file is sorted by label
x, y = torch.tensor(d.x / 255.0, dtype=torch.float32)[perm], torch.tensor(d.y)[perm]
train, test = TensorDataset(x[:4000], y[:4000]), (x[4000:], y[4000:])
strategy = {
    "uniform": Uniform(),
    "loss": LossProportional(cap=5.0),
    "infobatch": InfoBatchStyle(prune=0.5, total_epochs=args.epochs),
    "frontier": FrontierSampler(soft=True),  # modes: the classes, given to init below
}[args.strategy]
data = {"groups": y[:4000].numpy()} if args.strategy == "frontier" else {}
model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

sampler = CurationSampler(strategy, len(train), seed=0, **data)  # changed line 1
loader = DataLoader(IndexedDataset(train), batch_size=64, sampler=sampler)
steps = 0
for epoch in range(args.epochs):
    sampler.set_epoch(epoch)
    for idx, xb, yb in loader:
        per_example = F.cross_entropy(model(xb), yb, reduction="none")
        loss = (per_example * sampler.loss_scale(idx)).mean()  # changed line 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sampler.observe(idx, per_example)  # changed line 3
        steps += 1
with torch.no_grad():
    acc = (model(test[0]).argmax(1) == test[1]).float().mean().item()
seconds = time.perf_counter() - t0
print(f"{args.strategy}: test accuracy {acc:.3f} after {steps} steps, {seconds:.1f} s")
