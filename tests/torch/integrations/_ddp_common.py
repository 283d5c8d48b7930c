"""Shared by the 2-process workers: what a rank trained on, and a digest of its sampler state.

The workers import the recipes they exercise: run them with examples/integrations on PYTHONPATH.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np


def state_digest(sampler: Any) -> str:
    """sha256 of the folded strategy state (every array and counter) of a CurationSampler."""
    h = hashlib.sha256()

    def walk(key: str, v: Any) -> None:
        if hasattr(v, "numpy"):
            a = np.ascontiguousarray(v.numpy())
            h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
        elif isinstance(v, dict):
            for k in sorted(v):
                walk(f"{key}.{k}", v[k])
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(f"{key}[{i}]", x)
        else:
            h.update(f"{key}={v!r}".encode())

    sd = sampler.state_dict()
    walk("state", sd["state"])
    walk("pending", sd["pending"])
    h.update(repr((sd["n"], sd["seed"])).encode())
    return h.hexdigest()


class EpochRecorder:
    """Per epoch: the sampler's plan and shard at its start, and the indices trained on."""

    def __init__(self, sampler: Any) -> None:
        self.sampler = sampler
        self.epochs: list[dict[str, Any]] = []

    def start(self) -> None:
        s = self.sampler
        self.epochs.append(
            {
                "epoch": int(s.epoch),
                "plan": np.asarray(s.plan.indices).tolist(),
                "shard": s.shard().tolist(),
                "seen": [],
            }
        )

    def batch(self, idx: Any) -> None:
        self.epochs[-1]["seen"] += [int(i) for i in idx]

    def write(self, out: str | Path, rank: int, world: int) -> None:
        s = self.sampler
        record = {
            "rank": rank,
            "world": world,
            "sampler_rank": s.rank,
            "sampler_world": s.num_replicas,
            "epochs": self.epochs,
            "digest": state_digest(s),
            "accounting": s.accounting(),
        }
        Path(out, f"rank{rank}.json").write_text(json.dumps(record))
