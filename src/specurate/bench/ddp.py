r"""The benchmark's training across processes: every run data-parallel over N local ranks
(``torch.distributed``, DistributedDataParallel), resumable from checkpoints.

Launch. :func:`train_jobs` starts N processes with torch's own launcher
(``torch.multiprocessing.start_processes``, start method ``spawn``). Every rank gets the
environment of ``torchrun`` — ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR=127.0.0.1``
and a free ``MASTER_PORT`` picked by the parent — and joins the group with
``init_process_group(init_method="env://", timeout=timeout)``: a collective that waits longer
than ``timeout`` seconds (a rank hung) fails instead of hanging, and a rank that dies closes its
connections, so the others fail at their next collective within milliseconds. The backend is
gloo: the built-in tasks' models train on the CPU in every process, exactly as in the 1-process
loop (:func:`specurate.bench.train.train` keeps tensors on the CPU), and NCCL moves only CUDA
tensors. With ``nproc=1`` the same loop runs in the calling process, without a process group.

Semantics (one global batch, split). Every rank builds the same task (checked: a SHA-256 of its
arrays) and the same strategy from the same seed, with a 1-replica
:class:`~specurate.torch.CurationSampler`, so every rank plans the same epochs and cuts the
same global batches of ``batch_size`` examples — the batches of the 1-process run. Rank r
trains on the contiguous slice ``[lo_r, hi_r)`` of each global batch of b examples
(:func:`batch_slice`: the first b mod W ranks get ⌈b/W⌉ examples, the others ⌊b/W⌋) and its
loss is

    L_r = W · Σ_{i ∈ slice r} s_i ℓ_i / b        (s_i the plan's loss scale, W the world size),

so the gradient DistributedDataParallel averages over the W ranks, (1/W) Σ_r ∇L_r =
Σ_i s_i ∇ℓ_i / b, is the 1-process gradient of the mean over the global batch: same batch,
same learning rate, same SGD (momentum 0.9) — the trajectory differs from the 1-process one
only by the order of floating-point sums. (For a strategy whose plans sample from the observed
losses, such a difference of ~1e-7 can eventually move a draw across a boundary; from there on
the runs are different, equally valid samples: on mnist1d, the loss strategy's two runs agree
to 1e-8 for half a pass and are 1% apart after one. Static strategies and uniform agree to
float noise throughout.) A step whose loss is not finite on any rank makes every rank's
all-reduced gradient NaN (the rank multiplies its loss by NaN), so all ranks skip the update
and stop together, as the 1-process run stops (a gradient that overflows from finite losses
stops them one step before one process would stop).

Observations. The strategy reads the per-example losses (and residuals) only when it plans, so
the ranks buffer their slices' statistics and all-gather them in ONE collective at the start of
every plan, at every checkpoint, at the end of a run and at least every :data:`SYNC_EVERY`
steps; every rank then feeds the strategy each global batch whole, in step order — the
observations of the 1-process run — so the strategy states stay identical on all ranks. The
gather carries a 48-bit hash of the gathered steps' batch indices (:func:`selection_hash`):
a rank whose hash differs raises (the curated selections disagree). Compute accounting: each
rank counts the examples it backpropagated and the scoring its strategy declares for them
(``strategy.cost``); the counts are summed over ranks (``all_reduce``) and must equal the
sampler's global accounting, which is the 1-process accounting of the same settings; the
budget is charged on the global batches as they are trained. Only rank 0 evaluates, prints
and writes.

Checkpoints (``checkpoint=DIR``). Rank 0 writes ``DIR/run-<strategy>-s<seed>-<key>.pt``
atomically (``tempfile.mkstemp`` in DIR + ``os.replace``) every ``checkpoint_every`` optimizer
steps — model and optimizer state, torch's CPU RNG state, step, epoch and position in the
epoch's plan, the curve so far, the sampler's state (strategy state, unfolded observations,
plan snapshot) and each rank's counts — and, after the run, its result in the same file. (The
loop draws nothing from torch's global generator — the model is initialised under a forked
generator, plans come from the strategy's own streams — so its saved state is restored in the
spawned ranks only; in one process the caller's generator is never touched.) The
key is a hash of everything the run depends on (task arrays, strategy, seed, rate, budget,
batch size, evaluation points, world size), so another command never resumes a foreign run.
Files are read with ``torch.load(..., weights_only=True)``. A rerun of the same command skips
finished runs and resumes the others at their last checkpoint; the continuation is the same
computation on the same bits, so the result equals the uninterrupted run's except the
wall-clock fields (``wall_s``, every curve point's ``wall_s``) — in one process and in W
processes alike (a W-process checkpoint resumes only with W processes). A strategy whose
sampler state does not survive ``state_dict`` → ``torch.save`` → ``load_state_dict`` bit for bit
(checked at its first checkpoint) gets no mid-run checkpoints: its interrupted runs restart
from their beginning.

Failures. A rank that fails raises a ``RuntimeError`` naming itself, the run and the step; a
rank killed by a signal cannot. The parent waits for every rank, then raises one
``RuntimeError`` that says what happened to each (killed by SIGKILL, failed with …) and, with
a checkpoint folder, that a rerun resumes. ``SPECURATE_DDP_KILL_AT=RANK:STEP[:SIGNAL]``
(fault injection for tests) makes rank RANK send itself SIGKILL (or SIGNAL, e.g. ``STOP``: a
hung rank, which the others report after ``timeout`` seconds) after its STEP-th optimizer step
of the launch.

Learning rates: ``lr=None`` tunes in the calling process, with the 1-process tuner of
:func:`specurate.bench.compare.learning_rates` (cached in the checkpoint folder), before the
distributed training starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import math
import os
import pickle
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np

from specurate._files import atomic_write
from specurate._validate import (
    check_int,
    check_names,
    check_positive_int,
    check_real,
    check_seed,
)
from specurate.bench.presets import STRATEGY_PRESETS
from specurate.bench.result import RunResult
from specurate.bench.tasks import TASKS, Task
from specurate.bench.train import LR_RULES, LrRule, _Run, per_example_loss, residual
from specurate.errors import SpecurateInputError

__all__ = [
    "DEFAULT_CHECKPOINT_EVERY",
    "DEFAULT_TIMEOUT_S",
    "KILL_ENV",
    "SYNC_EVERY",
    "Job",
    "TaskSpec",
    "batch_slice",
    "compare_lr_rules_ddp",
    "compare_strategies_ddp",
    "selection_hash",
    "task_fingerprint",
    "train_jobs",
]

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_CHECKPOINT_EVERY = 100
SYNC_EVERY = 32  # most steps between two gathers of the ranks' observations
KILL_ENV = "SPECURATE_DDP_KILL_AT"
_FORMAT = 1  # checkpoint layout version


# ----------------------------------------------------------------------------- the jobs
class Job(NamedTuple):
    """One run: built-in strategy ``strategy`` with seed ``seed`` at SGD learning rate ``lr``."""

    strategy: str
    seed: int
    lr: float


@dataclass(frozen=True)
class TaskSpec:
    """A picklable ``make_task``: ``TaskSpec("mnist1d", (("n_train", 4000),))(seed)`` is
    ``TASKS["mnist1d"](seed=seed, n_train=4000)`` (every rank of a launch builds its own)."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    def __call__(self, seed: int) -> Task:
        return TASKS[self.name](seed=seed, **dict(self.options))


def task_fingerprint(task: Task) -> str:
    """SHA-256 (hex) of a task's name, loss and train/test arrays (dtype, shape and bytes)."""
    h = hashlib.sha256(f"{task.name}|{task.loss}".encode())
    for a in (task.x_train, task.y_train, task.x_test, task.y_test):
        arr = np.ascontiguousarray(a)
        h.update(f"|{arr.dtype.str}{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def batch_slice(b: int, rank: int, world: int) -> tuple[int, int]:
    """``(lo, hi)``: rank ``rank``'s contiguous part of a global batch of ``b`` examples split
    over ``world`` ranks; the first ``b mod world`` ranks get ⌈b/world⌉ examples, the others
    ⌊b/world⌋ (possibly none). The slices of ranks 0…world−1 tile ``[0, b)`` in order."""
    b = check_int("b", b, lo=0, what="a non-negative integer")
    world = check_positive_int("world", world)
    rank = check_int("rank", rank, lo=0, hi=world - 1)
    q, r = divmod(b, world)
    lo = rank * q + min(rank, r)
    return lo, lo + q + (1 if rank < r else 0)


def selection_hash(indices: Any, step: int) -> int:
    """A 48-bit hash (exact as a float64) of a global batch's dataset indices (any integer
    array or tensor, taken as int64) and its step; ranks compare it to detect diverging
    selections."""
    idx = np.ascontiguousarray(np.asarray(indices), dtype=np.int64)
    h = hashlib.blake2b(idx.tobytes(), digest_size=6, person=b"specurate-ddp")
    h.update(int(step).to_bytes(8, "little", signed=True))
    return int.from_bytes(h.digest(), "little")


# ----------------------------------------------------------------------------- checkpoints
def _run_key(fingerprint: str, job: Job, settings: _Settings) -> str:
    text = (
        f"{_FORMAT}|{fingerprint}|{job.strategy}|{job.seed}|{float(job.lr)!r}|"
        f"{settings.budget_passes!r}|{settings.batch_size}|{settings.eval_points}|"
        f"{settings.world}"
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _run_path(folder: Path, job: Job, key: str) -> Path:
    return folder / f"run-{job.strategy}-s{job.seed}-{key}.pt"


def _load(path: Path, key: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it is one of this run (same key and layout), else None."""
    import torch

    if not path.exists():
        return None
    try:
        doc = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:  # not a checkpoint of ours: start over (it is overwritten)
        return None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT or doc.get("key") != key:
        return None
    return doc


def _save(path: Path, doc: Mapping[str, Any]) -> None:
    import torch

    atomic_write(path, lambda tmp: torch.save(dict(doc), tmp))


def _same(a: Any, b: Any) -> bool:
    """Bit-equality of two trees of dicts, lists, tuples, tensors and plain values."""
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.numel() == 0:
            return True
        ca, cb = a.detach().cpu().contiguous(), b.detach().cpu().contiguous()
        return bool(torch.equal(ca.reshape(-1).view(torch.uint8), cb.reshape(-1).view(torch.uint8)))
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return (
            isinstance(b, list | tuple)
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


def _round_trips(sampler: Any, strategy: Any, n: int, seed: int) -> bool:
    """Whether ``sampler``'s state survives torch.save → torch.load(weights_only) →
    ``load_state_dict`` into a fresh sampler bit for bit."""
    import io

    import torch

    from specurate.torch import CurationSampler

    try:
        sd = sampler.state_dict()
        buf = io.BytesIO()
        torch.save(sd, buf)
        buf.seek(0)
        fresh = CurationSampler(strategy, n, seed=seed, num_replicas=1, rank=0)
        fresh.load_state_dict(torch.load(buf, weights_only=True))
        return _same(fresh.state_dict(), sd)
    except Exception:
        return False


# ----------------------------------------------------------------------------- one launch
@dataclass(frozen=True)
class _Settings:
    """What every rank of a launch needs (picklable)."""

    make_task: Callable[[int], Task]
    task_seed: int
    fingerprint: str
    jobs: tuple[Job, ...]
    budget_passes: float
    batch_size: int
    eval_points: int
    checkpoint: str | None
    checkpoint_every: int
    timeout: float
    progress: bool
    world: int
    data_cache: str | None = None
    port: int = 0
    out: str | None = None


class _Fault:
    """``SPECURATE_DDP_KILL_AT=RANK:STEP[:SIGNAL]``: after its STEP-th optimizer step, rank RANK
    sends itself SIGNAL (default ``KILL``; ``STOP`` freezes it: a hung rank)."""

    def __init__(self, rank: int) -> None:
        self.at: int | None = None
        self.signal = signal.SIGKILL
        spec = os.environ.get(KILL_ENV, "")
        if spec:
            r, s, *sig = spec.split(":")
            if int(r) == rank:
                self.at = int(s)
                self.signal = signal.Signals[f"SIG{sig[0]}" if sig else "SIGKILL"]
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.at is not None and self.steps == self.at:
            os.kill(os.getpid(), self.signal)


class _DdpRun(_Run):
    """One run on one rank: :class:`~specurate.bench.train._Run` with the global batch split
    over the ranks, the ranks' observations gathered every plan, per-rank counts and
    checkpoints."""

    def __init__(
        self,
        task: Task,
        strategy: Any,
        job: Job,
        *,
        rank: int,
        world: int,
        fault: _Fault,
        sync_every: int = SYNC_EVERY,
    ) -> None:
        import torch

        from specurate.torch import CurationSampler

        super().__init__(task, strategy, seed=job.seed, lr=job.lr, track=None, label=job.strategy)
        # every rank plans the whole epoch (1 replica): the same global batches everywhere
        self.sampler = CurationSampler(strategy, self.n, seed=job.seed, num_replicas=1, rank=0)
        self.job, self.rank, self.world, self.fault = job, rank, world, fault
        self.net: Any = self.model
        if world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(self.model)
        self.steps = 0  # optimizer steps of this run
        self.local = 0  # examples this rank backpropagated
        self.saveable: bool | None = None  # does the sampler state round-trip exactly?
        self.sync_every = sync_every
        # steps not yet gathered: (step, global batch, this rank's losses, its residuals)
        self.buffer: list[tuple[int, Any, Any, Any]] = []
        self.unsent = 0  # examples in the buffered global batches
        self.unit = strategy.cost(1).as_dict()

    # ------------------------------------------------------------------ the step
    def record(self, spent: float) -> None:
        if self.rank == 0:  # only rank 0 evaluates and keeps the curve
            super().record(spent)

    def charged(self) -> tuple[float, float]:
        """(backward + scoring examples spent, scoring examples spent), the buffered global
        batches included (each costs ``strategy.cost``, linear in the count)."""
        acc, u = self.sampler.accounting(), self.unsent
        if u:
            acc = {k: v + u * self.unit[k] for k, v in acc.items()}
        scoring = acc["extra_forward"] + acc["extra_compute"]
        return acc["trained"] + scoring, scoring

    def step(self, idx: Any) -> bool:
        """One SGD step on the global batch ``idx`` (this rank: its slice); False (nothing
        updated, on every rank) if a loss of the batch is not finite."""
        import torch

        b = idx.numel()
        lo, hi = batch_slice(b, self.rank, self.world)
        mine = idx[lo:hi]
        out = self.net(self.x_tr[mine])  # every rank runs forward and backward, even on none
        needs_res = "residual" in self.strategy.needs
        if hi > lo:
            per = per_example_loss(out, self.y_tr[mine], self.kind)
            res = residual(out.detach(), self.y_tr[mine], self.kind) if needs_res else None
        else:  # an empty slice (b < W): zero loss, still tied to the parameters
            per = out.flatten(1).sum(1)
            res = out.detach().flatten(1) if needs_res else None
        finite = bool(torch.isfinite(per).all())
        if self.world == 1:
            if not finite:
                return False
            scale = self.sampler.loss_scale(mine)
            loss = (per * scale).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            extra = {} if res is None else {"residual": res}
            self.sampler.observe(idx, per.detach(), **extra)
        else:
            scale = self.sampler.loss_scale(mine) if finite else torch.ones_like(per)
            # DDP averages over the W ranks: W·Σ_slice / b → Σ_batch / b
            loss = (per * scale).sum() / b * self.world
            if not finite:  # NaN gradients on every rank after the all-reduce: all stop
                loss = loss * math.nan
            self.opt.zero_grad()
            loss.backward()
            if not all(bool(torch.isfinite(p.grad).all()) for p in self._grads()):
                return False
            self.opt.step()
            self.buffer.append((self.steps + 1, idx, per.detach(), res))
            self.unsent += b
            if len(self.buffer) >= self.sync_every:
                self.sync()
        self.local += hi - lo
        self.steps += 1
        return True

    def _grads(self) -> list[Any]:
        return [p for p in self.model.parameters() if p.grad is not None]

    def sync(self) -> None:
        """Gather the buffered steps' per-example losses (and residuals) of every rank — ONE
        all_gather — and feed the strategy each global batch whole, in step order, as one
        process would; raises if a rank trained on other batches. A collective: every rank
        calls it at the same steps (the start of every plan, checkpoints, the end of the run
        and every ``sync_every`` steps)."""
        import torch
        import torch.distributed as dist

        if self.world == 1 or not self.buffer:
            return
        w, needs_res = self.world, "residual" in self.strategy.needs
        h = hashlib.blake2b(digest_size=6, person=b"specurate-ddp")
        for step, idx, _, _ in self.buffer:
            h.update(selection_hash(idx, step).to_bytes(6, "little"))
        mine = float(int.from_bytes(h.digest(), "little"))
        cuts = [[batch_slice(idx.numel(), r, w) for _, idx, _, _ in self.buffer] for r in range(w)]
        sizes = [[hi - lo for lo, hi in rank_cuts] for rank_cuts in cuts]  # [rank][step]
        rows = torch.cat(
            [
                per.to(torch.float64)[:, None]
                if res is None
                else torch.cat([per.to(torch.float64)[:, None], res.to(torch.float64)], 1)
                for _, _, per, res in self.buffer
            ]
        )
        cap = max(sum(z) for z in sizes)
        buf = torch.full((cap + 1, rows.shape[1]), math.nan, dtype=torch.float64)
        buf[0, 0] = mine
        buf[1 : 1 + rows.shape[0]] = rows
        parts = [torch.empty_like(buf) for _ in range(w)]
        dist.all_gather(parts, buf)
        for r, part in enumerate(parts):
            if float(part[0, 0]) != mine:
                first, last = self.buffer[0][0], self.buffer[-1][0]
                raise RuntimeError(
                    f"rank {r} trained on other batches than rank {self.rank} in steps "
                    f"{first}–{last} of {self.job.strategy} seed {self.job.seed}: the ranks' "
                    "curated selections disagree (every rank must build the same task and "
                    "strategy from the same seed)"
                )
        split = [torch.split(parts[r][1 : 1 + sum(sizes[r])], sizes[r]) for r in range(w)]
        loss_dtype = self.buffer[0][2].dtype
        res_dtype = None if self.buffer[0][3] is None else self.buffer[0][3].dtype
        for k, (_, idx, _, _) in enumerate(self.buffer):
            full = torch.cat([split[r][k] for r in range(w)])
            extra = {} if not needs_res else {"residual": full[:, 1:].to(res_dtype)}
            self.sampler.observe(idx, full[:, 0].to(loss_dtype), **extra)
        self.buffer, self.unsent = [], 0

    def epoch_order(self, epoch: int) -> Any:
        t0 = time.perf_counter()
        self.sync()  # the plan reads every observation so far
        self.wall += time.perf_counter() - t0
        return super().epoch_order(epoch)

    def oracle_look(self) -> bool:
        self.sync()
        return super().oracle_look()

    # ------------------------------------------------------------------ accounting
    def totals(self) -> dict[str, float]:
        """Examples backpropagated and scored, summed over the ranks (``all_reduce``)."""
        import torch
        import torch.distributed as dist

        c = self.strategy.cost(self.local).as_dict()
        keys = ("trained", "extra_forward", "extra_compute")
        v = torch.tensor([c[k] for k in keys], dtype=torch.float64)
        if self.world > 1:
            dist.all_reduce(v)
        return dict(zip(keys, v.tolist(), strict=True))

    def check_accounting(self) -> None:
        """The ranks' summed counts equal the strategy's global accounting (every observation
        folded or buffered in the sampler: call after :meth:`sync`)."""
        summed, seen = self.totals(), self.sampler.accounting()
        for k, v in summed.items():
            if not math.isclose(v, seen[k], rel_tol=1e-9, abs_tol=1e-9):
                raise RuntimeError(
                    f"rank {self.rank}: {k} summed over the ranks is {v}, the strategy counted "
                    f"{seen[k]} ({self.job.strategy} seed {self.job.seed})"
                )

    # ------------------------------------------------------------------ checkpoints
    def snapshot(self, key: str, epoch: int, position: int, next_eval: int) -> dict | None:
        """This run's state after the current step (a collective: every rank's count is
        gathered); None on ranks other than 0 and for a state that cannot be saved exactly."""
        import torch
        import torch.distributed as dist

        self.sync()
        counts = [self.local]
        if self.world > 1:
            parts = [torch.zeros(1, dtype=torch.int64) for _ in range(self.world)]
            dist.all_gather(parts, torch.tensor([self.local], dtype=torch.int64))
            counts = [int(p) for p in parts]
        if self.rank != 0:
            return None
        if self.saveable is None:
            self.saveable = _round_trips(self.sampler, self.strategy, self.n, self.seed)
            if not self.saveable:
                print(
                    f"[{self.name} seed {self.seed}] the strategy state does not round-trip "
                    "exactly through a checkpoint: an interrupted run restarts from its start",
                    file=sys.stderr,
                )
        if not self.saveable:
            return None
        return {
            "format": _FORMAT,
            "key": key,
            "done": False,
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "sampler": self.sampler.state_dict(),
            "epoch": epoch,
            "position": position,
            "next_eval": next_eval,
            "steps": self.steps,
            "curve": [dict(c) for c in self.curve],
            "wall": self.wall,
            "counts": counts,
        }

    def restore(self, doc: Mapping[str, Any]) -> tuple[int, int, int]:
        """Load a :meth:`snapshot`; returns (epoch, position in its plan, next evaluation)."""
        import torch

        counts = list(doc["counts"])
        if len(counts) != self.world:
            raise RuntimeError(f"checkpoint of {len(counts)} ranks, resumed by {self.world}")
        self.model.load_state_dict(doc["model"])
        self.opt.load_state_dict(doc["optimizer"])
        if self.world > 1:  # a rank is our own process; one process may be the caller's
            torch.set_rng_state(doc["torch_rng"])
        self.sampler.load_state_dict(doc["sampler"])
        self.steps = int(doc["steps"])
        self.curve = [dict(c) for c in doc["curve"]] if self.rank == 0 else []
        self.wall = float(doc["wall"])
        self.local = int(counts[self.rank])
        return int(doc["epoch"]), int(doc["position"]), int(doc["next_eval"])

    # ------------------------------------------------------------------ the loop
    def train_ddp(
        self,
        budget_passes: float,
        batch_size: int,
        eval_points: int,
        *,
        oracle: bool,
        progress: bool,
        path: Path | None,
        key: str,
        every: int,
        resume: Mapping[str, Any] | None,
    ) -> RunResult | None:
        """:meth:`_Run.train`'s loop (same budget, truncation and evaluation grid) with the
        split step, checkpoints every ``every`` steps at ``path`` and a resume point."""
        self.progress = progress and self.rank == 0
        point = self.restore(resume) if resume is not None else None

        def after_step(epoch: int, start: int, next_eval: int, done: bool) -> None:
            if not done and path is not None and self.steps % every == 0:
                doc = self.snapshot(key, epoch, start, next_eval)
                if doc is not None:
                    _save(path, doc)
            self.fault.tick()

        self.loop(
            budget_passes,
            batch_size,
            eval_points,
            oracle=oracle,
            resume=point,
            after_step=after_step,
        )
        t0 = time.perf_counter()
        self.sync()
        self.wall += time.perf_counter() - t0
        self.check_accounting()
        return self.result(budget_passes) if self.rank == 0 else None


def _train_rank(settings: _Settings, rank: int, task: Task | None = None) -> list[RunResult] | None:
    """Every job of the launch on this rank (the process group, if any, is up; ``task``: the
    task when this process built it already); rank 0 returns the runs, the others None."""
    from specurate._progress import progress_iter
    from specurate.bench._threads import torch_threads
    from specurate.bench.strategies import make_strategy, needs_oracle
    from specurate.bench.tasks import data_cache

    world = settings.world
    if task is None and settings.data_cache is not None:
        with data_cache(settings.data_cache):
            task = settings.make_task(settings.task_seed)
    elif task is None:
        task = settings.make_task(settings.task_seed)
    if task_fingerprint(task) != settings.fingerprint:
        raise RuntimeError(
            f"rank {rank} built another task than the launching process "
            "(make_task must be deterministic given the seed)"
        )
    folder = None if settings.checkpoint is None else Path(settings.checkpoint)
    fault = _Fault(rank)
    runs: list[RunResult] = []
    title = f"training on {task.name} ({world} process{'es' if world > 1 else ''})"
    jobs = progress_iter(settings.jobs, title, enabled=settings.progress and rank == 0)
    with torch_threads(1):
        for job in jobs:
            key = _run_key(settings.fingerprint, job, settings)
            path = None if folder is None else _run_path(folder, job, key)
            doc = None if path is None else _load(path, key)
            if doc is not None and doc["done"]:
                runs.append(RunResult.from_dict(dict(doc["result"])))
                continue
            strategy = make_strategy(
                job.strategy,
                task,
                budget_passes=settings.budget_passes,
                batch_size=settings.batch_size,
            )
            run = _DdpRun(task, strategy, job, rank=rank, world=world, fault=fault)
            try:
                result = run.train_ddp(
                    settings.budget_passes,
                    settings.batch_size,
                    settings.eval_points,
                    oracle=needs_oracle(job.strategy),
                    progress=False,
                    path=path,
                    key=key,
                    every=settings.checkpoint_every,
                    resume=doc,
                )
            except Exception as exc:
                if world == 1:
                    raise
                first = str(exc).splitlines()[0] if str(exc) else repr(exc)
                first = first.split(" This is typically caused")[0]  # gloo's boilerplate
                hint = ""
                if _lost_contact(exc):
                    hint = (
                        " (another rank died, or kept this one waiting longer than the "
                        f"{settings.timeout:g} s timeout)"
                    )
                raise RuntimeError(
                    f"rank {rank} of {world} failed in run {job.strategy} seed {job.seed} "
                    f"after step {run.steps}: {first}{hint}"
                ) from exc
            del run  # its DDP reducer goes now, while the process group is up
            if result is not None:
                if path is not None:
                    done = {"format": _FORMAT, "key": key, "done": True}
                    _save(path, {**done, "result": result.to_dict()})
                runs.append(result)
    return runs if rank == 0 else None


def _lost_contact(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective's failure (a peer closed its connection, a timeout)."""
    import torch.distributed as dist

    text = str(exc).lower()
    marks = ("connection", "timed out", "timeout", "closed", "reset by peer", "gloo")
    return isinstance(exc, dist.DistError) or any(m in text for m in marks)


def _worker(rank: int, settings: _Settings) -> None:
    """Entry point of rank ``rank`` (``torch.multiprocessing`` passes the index first)."""
    import torch
    import torch.distributed as dist

    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(settings.world),
        LOCAL_WORLD_SIZE=str(settings.world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(settings.port),
    )
    dist.init_process_group(
        "gloo", init_method="env://", timeout=timedelta(seconds=settings.timeout)
    )
    try:
        runs = _train_rank(settings, rank)
        if rank == 0 and runs is not None and settings.out is not None:
            docs = [r.to_dict() for r in runs]
            atomic_write(settings.out, lambda tmp: torch.save(docs, tmp))
        dist.barrier()  # nobody leaves while another rank may still need it
    finally:
        gc.collect()  # DDP reducers go before their process group, not at interpreter exit
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fates(ctx: Any, first: int) -> list[str]:
    """What happened to every rank of a failed launch, the first to fail (``first``) first.

    A rank that raised reports its own message (it names itself); a rank that ended by a
    signal is "killed by" it if it failed first, "stopped by the launcher" for the SIGTERM
    (then SIGKILL) torch's launcher sends the ranks still running after a failure."""
    fates: dict[int, str] = {}
    for rank, (proc, err) in enumerate(zip(ctx.processes, ctx.error_files, strict=True)):
        code = proc.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            if rank == first:
                fates[rank] = f"rank {rank} was killed by {name}"
            elif name in ("SIGTERM", "SIGKILL"):
                fates[rank] = f"rank {rank} was stopped by the launcher ({name})"
            else:
                fates[rank] = f"rank {rank} ended by {name}"
        elif code:
            line = f"exited with code {code}"
            if err and os.access(err, os.R_OK):
                with open(err, "rb") as fh:
                    trace = pickle.load(fh)  # written by torch.multiprocessing in our child
                lines = [x for x in str(trace).strip().splitlines() if x.strip()]
                if lines:
                    line = lines[-1]
            line = line.removeprefix("RuntimeError: ")
            fates[rank] = line if line.startswith(f"rank {rank} ") else f"rank {rank}: {line}"
    order = sorted(fates, key=lambda r: (r != first, r))
    return [fates[r] for r in order]


def _launch(settings: _Settings) -> list[RunResult]:
    """Run ``settings.jobs`` on ``settings.world`` spawned ranks; rank 0's runs."""
    import torch
    import torch.multiprocessing as tmp

    with tempfile.TemporaryDirectory(prefix="specurate-ddp-") as scratch:
        out = Path(scratch) / "runs.pt"
        settings = _replace(settings, port=_free_port(), out=str(out))
        ctx = tmp.start_processes(
            _worker, args=(settings,), nprocs=settings.world, join=False, start_method="spawn"
        )
        try:
            while not ctx.join(grace_period=3):
                pass
        except (tmp.ProcessRaisedException, tmp.ProcessExitedException) as exc:
            if out.exists():  # rank 0 finished every job: a crash while tearing down is moot
                return [RunResult.from_dict(dict(d)) for d in torch.load(out, weights_only=True)]
            fates = _fates(ctx, exc.error_index) or [str(exc).strip()]
            tail = ""
            if settings.checkpoint is not None:
                tail = (
                    f"; the checkpoints in {settings.checkpoint} are intact: rerun the same "
                    "command to resume"
                )
            raise RuntimeError(
                f"distributed training over {settings.world} processes failed: "
                + "; ".join(fates)
                + tail
            ) from None
        finally:
            for err in ctx.error_files:
                if err:
                    Path(err).unlink(missing_ok=True)
        docs = torch.load(out, weights_only=True)
    return [RunResult.from_dict(dict(d)) for d in docs]


def _replace(settings: _Settings, **changes: Any) -> _Settings:
    import dataclasses

    return dataclasses.replace(settings, **changes)


# ----------------------------------------------------------------------------- public API
@contextlib.contextmanager
def _prepared(make_task: Callable[[int], Task], seed: int) -> Iterator[tuple[Task, str]]:
    """``(make_task(seed), data cache folder)``: the task built once here with its slow-to-make
    data (mnist1d) saved where the ranks read it from — the active
    :func:`~specurate.bench.tasks.data_cache` folder, else a temporary one."""
    from specurate.bench.tasks import _DATA_CACHE, data_cache

    active = _DATA_CACHE.get()
    if active is not None:
        yield make_task(seed), str(active)
        return
    with tempfile.TemporaryDirectory(prefix="specurate-data-") as cache:
        with data_cache(cache):
            task = make_task(seed)
        yield task, cache


def train_jobs(
    make_task: Callable[[int], Task],
    jobs: Sequence[Job],
    *,
    nproc: int,
    task_seed: int = 0,
    budget_passes: float,
    batch_size: int = 128,
    eval_points: int = 20,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: bool = False,
) -> list[RunResult]:
    """Train every job on ``make_task(task_seed)``, each data-parallel over ``nproc`` ranks.

    Args:
        make_task: ``make_task(seed) -> Task``, deterministic; picklable when ``nproc > 1``
            (every rank calls it; e.g. :class:`TaskSpec`).
        jobs: the runs, in order (:class:`Job`: built-in strategy, seed, learning rate).
        nproc: processes (ranks); 1 trains in the calling process.
        task_seed: the task draw every run trains on.
        budget_passes: compute per run, backward + scoring passes (examples / n_train).
        batch_size: the GLOBAL batch size (split over the ranks; the 1-process batch).
        eval_points: log-spaced test evaluations per run (as :func:`~specurate.bench.train.
            train`).
        checkpoint: folder for resumable state (created if missing): a checkpoint every
            ``checkpoint_every`` optimizer steps and every finished run (module docstring).
        checkpoint_every: optimizer steps between checkpoints.
        timeout: seconds a rank waits in a collective (or for the others to start) before
            failing.
        progress: a progress line per run (rank 0, stderr).

    Returns:
        One :class:`~specurate.bench.result.RunResult` per job, in order, with the compute
        accounting of the 1-process run of the same settings.

    Raises:
        RuntimeError: a rank died or failed (the message says which and how).
    """
    task_seed = check_seed(task_seed, "task_seed")
    with _prepared(make_task, task_seed) as prepared:
        return _train_jobs(
            make_task,
            jobs,
            prepared,
            nproc=nproc,
            task_seed=task_seed,
            budget_passes=budget_passes,
            batch_size=batch_size,
            eval_points=eval_points,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            timeout=timeout,
            progress=progress,
        )


def _train_jobs(
    make_task: Callable[[int], Task],
    jobs: Sequence[Job],
    prepared: tuple[Task, str],
    *,
    nproc: int,
    task_seed: int,
    budget_passes: float,
    batch_size: int,
    eval_points: int = 20,
    checkpoint: str | Path | None,
    checkpoint_every: int,
    timeout: float,
    progress: bool,
) -> list[RunResult]:
    """:func:`train_jobs` on a task already built (``prepared``: task and data cache)."""
    from specurate.bench.strategies import make_strategy

    nproc = check_positive_int("nproc", nproc)
    every = check_positive_int("checkpoint_every", checkpoint_every)
    timeout = check_real("timeout", timeout, lo=0, lo_open=True)
    budget_passes = check_real("budget_passes", budget_passes, lo=0, lo_open=True)
    batch_size = check_positive_int("batch_size", batch_size)
    eval_points = check_positive_int("eval_points", eval_points)
    jobs = tuple(Job(str(j[0]), check_seed(j[1]), float(j[2])) for j in jobs)
    for job in jobs:
        check_names("strategies", [job.strategy], STRATEGY_PRESETS)
        check_real("lr", job.lr, lo=0, lo_open=True)
    if nproc > 1:
        try:
            pickle.dumps(make_task)
        except Exception:
            raise SpecurateInputError(
                "make_task must be picklable to train over several processes "
                "(use specurate.bench.ddp.TaskSpec)"
            ) from None
    task, cache = prepared
    for name in dict.fromkeys(j.strategy for j in jobs):  # bad inputs fail here, not in ranks
        make_strategy(name, task, budget_passes=budget_passes, batch_size=batch_size)
    folder = None
    if checkpoint is not None:
        folder = Path(checkpoint)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".run-*.pt.*.tmp"):  # left by a process killed mid-write
            stale.unlink(missing_ok=True)
    settings = _Settings(
        make_task=make_task,
        task_seed=task_seed,
        fingerprint=task_fingerprint(task),
        jobs=jobs,
        budget_passes=budget_passes,
        batch_size=batch_size,
        eval_points=eval_points,
        checkpoint=None if folder is None else str(folder),
        checkpoint_every=every,
        timeout=timeout,
        progress=bool(progress),
        world=nproc,
        data_cache=cache,
    )
    if nproc == 1:
        runs = _train_rank(settings, 0, task)
        assert runs is not None
    else:
        runs = _launch(settings)
    # named by (first seed, seed) as compare_strategies names its runs (RunResult.first_seed)
    return [dataclasses.replace(r, first_seed=task_seed) for r in runs]


def _tuned(
    tune: Callable[[Path | None, str], Any],
    task: Task,
    *,
    budget_passes: float,
    lr_grid: Sequence[float] | None,
    seed: int,
    batch_size: int,
    checkpoint: str | Path | None,
) -> Any:
    """``tune(cache, prefix)``: with a checkpoint folder, tuned rates are cached there under a
    prefix that hashes everything tuning depends on (another command never reuses them)."""
    if checkpoint is None:
        return tune(None, "")
    folder = Path(checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    grid = None if lr_grid is None else tuple(float(r) for r in lr_grid)
    text = f"{_FORMAT}|{task_fingerprint(task)}|{budget_passes!r}|{grid!r}|{seed}|{batch_size}"
    return tune(folder, f"lr-{hashlib.sha256(text.encode()).hexdigest()[:16]}-")


def compare_strategies_ddp(
    make_task: Callable[[int], Task],
    strategies: Sequence[str],
    *,
    nproc: int,
    budget_passes: float,
    seeds: int = 3,
    seed: int = 0,
    batch_size: int = 128,
    lr: float | Mapping[str, float] | None = None,
    lr_grid: Sequence[float] | None = None,
    lr_rule: LrRule = "margin",
    checkpoint: str | Path | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: bool = False,
) -> list[RunResult]:
    """:func:`~specurate.bench.compare.compare_strategies` with every run trained over
    ``nproc`` processes (:func:`train_jobs`) on ``make_task(seed)``.

    Rates: ``lr`` as given, or tuned per strategy on ``lr_grid`` over ``make_task(seed +
    1000)`` by the 1-process tuner in this process (cached in ``checkpoint`` when given).
    Runs are seed-major (all strategies for ``seed``, then ``seed + 1`` …), as there.
    Other arguments as in :func:`train_jobs` and ``compare_strategies``.
    """
    from specurate.bench.compare import learning_rates

    names = check_names("strategies", strategies, STRATEGY_PRESETS)
    seeds = check_positive_int("seeds", seeds)
    seed = check_seed(seed)
    budget_passes = check_real("budget_passes", budget_passes, lo=0, lo_open=True)
    with _prepared(make_task, seed) as prepared:
        rates = _tuned(
            lambda cache, prefix: learning_rates(
                make_task,
                names,
                budget_passes=budget_passes,
                lr=lr,
                lr_grid=lr_grid,
                lr_rule=lr_rule,
                seed=seed,
                batch_size=batch_size,
                progress=progress,
                cache=cache,
                prefix=prefix,
            ),
            prepared[0],
            budget_passes=budget_passes,
            lr_grid=lr_grid,
            seed=seed,
            batch_size=batch_size,
            checkpoint=checkpoint if lr is None else None,
        )
        jobs = [Job(name, seed + j, rates[name]) for j in range(seeds) for name in names]
        return _train_jobs(
            make_task,
            jobs,
            prepared,
            nproc=nproc,
            task_seed=seed,
            budget_passes=budget_passes,
            batch_size=batch_size,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            timeout=timeout,
            progress=progress,
        )


def compare_lr_rules_ddp(
    make_task: Callable[[int], Task],
    strategies: Sequence[str],
    *,
    nproc: int,
    budget_passes: float,
    rules: Sequence[LrRule] = LR_RULES,
    seeds: int = 3,
    seed: int = 0,
    batch_size: int = 128,
    lr_grid: Sequence[float] | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: bool = False,
) -> dict[str, list[RunResult]]:
    """:func:`~specurate.bench.compare.compare_lr_rules` over ``nproc`` processes: one tuning
    pass in this process, every rule's rate chosen from it, each distinct (strategy, seed,
    rate) run trained once, in one launch; {rule: runs, seed-major}."""
    from specurate.bench.compare import tuning_losses
    from specurate.bench.train import choose_rate

    names = check_names("strategies", strategies, STRATEGY_PRESETS)
    chosen = cast(tuple[LrRule, ...], check_names("rules", rules, LR_RULES))
    seeds = check_positive_int("seeds", seeds)
    seed = check_seed(seed)
    budget_passes = check_real("budget_passes", budget_passes, lo=0, lo_open=True)
    with _prepared(make_task, seed) as prepared:
        losses = _tuned(
            lambda cache, prefix: tuning_losses(
                make_task,
                names,
                budget_passes=budget_passes,
                lr_grid=lr_grid,
                seed=seed,
                batch_size=batch_size,
                progress=progress,
                cache=cache,
                prefix=prefix,
            ),
            prepared[0],
            budget_passes=budget_passes,
            lr_grid=lr_grid,
            seed=seed,
            batch_size=batch_size,
            checkpoint=checkpoint,
        )
        by_rule = {
            rule: [
                Job(name, seed + j, choose_rate(losses[name], rule))
                for j in range(seeds)
                for name in names
            ]
            for rule in chosen
        }
        distinct = list(dict.fromkeys(job for jobs in by_rule.values() for job in jobs))
        runs = _train_jobs(
            make_task,
            distinct,
            prepared,
            nproc=nproc,
            task_seed=seed,
            budget_passes=budget_passes,
            batch_size=batch_size,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            timeout=timeout,
            progress=progress,
        )
    done = dict(zip(distinct, runs, strict=True))
    return {rule: [done[job] for job in jobs] for rule, jobs in by_rule.items()}
