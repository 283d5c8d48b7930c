r"""Torch adapter of the Strategy contract: a plain ``Sampler[int]`` plus a loss-scaling hook.

A training loop changes in three lines::

    sampler = CurationSampler(strategy, len(train), seed=0)              # 1. the sampler
    loader = DataLoader(IndexedDataset(train), batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for idx, x, y in loader:
            per_example = F.cross_entropy(model(x), y, reduction="none")
            loss = (per_example * sampler.loss_scale(idx)).mean()       # 2. plan multipliers
            opt.zero_grad(); loss.backward(); opt.step()
            sampler.observe(idx, per_example)                           # 3. feed the strategy

What it does *not* do (the failure modes of InfoBatch that this design avoids): it never
patches a DataLoader or its iterator (it is an ordinary sampler, so ``num_workers > 0``,
``persistent_workers`` and custom ``collate_fn`` work unchanged), never modifies the caller's
tensors (``loss_scale`` returns a new tensor, ``observe`` copies), never touches a global random
generator (all randomness is the strategy's ``numpy.random.default_rng([seed, epoch])``), and
never shrinks an epoch: every plan has ``state.epoch_length`` entries, so
:meth:`CurationSampler.total_steps` gives a step-based LR scheduler (OneCycleLR) its exact
length up front.

Reference: Qin et al., "InfoBatch: Lossless Training Speed Up by Unbiased Dynamic Data Pruning"
(ICLR 2024) for the three-line integration this reproduces without its side effects; sharding
follows ``torch.utils.data.DistributedSampler``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, Sampler

from specurate.curation.base import (
    Plan,
    State,
    Strategy,
    check_indices,
    check_stat,
    new_state,
)
from specurate.errors import SpecurateInputError

__all__ = ["CurationSampler", "IndexedDataset"]


class IndexedDataset(Dataset):
    """Wrap a map-style dataset so each item also carries its index.

    ``IndexedDataset(ds)[i]`` is ``(i, *ds[i])`` when ``ds[i]`` is a tuple (so a
    ``TensorDataset(x, y)`` yields ``(i, x_i, y_i)`` and a loop reads ``for idx, x, y in
    loader``), and ``(i, ds[i])`` otherwise (a single tensor, a dict, a list, …). After the
    default collation ``idx`` is an int64 tensor of shape (batch,), the dataset indices that
    :meth:`CurationSampler.observe` and :meth:`CurationSampler.loss_scale` take.

    The wrapped dataset is not copied or modified; ``len`` is delegated.
    """

    def __init__(self, dataset: Any) -> None:
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise SpecurateInputError(
                "IndexedDataset needs a map-style dataset (with __getitem__ and __len__)"
            )
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple:
        item = self.dataset[index]
        i = int(index)
        if isinstance(item, tuple):
            return (i, *item)
        return (i, item)


def _to_numpy(x: Any, name: str) -> np.ndarray:
    """A NEW numpy array from a tensor (detached, on CPU), an array or a sequence."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
            t = t.to(torch.float32)  # bfloat16/float16 have no (exact) numpy counterpart
        return np.array(t.cpu().numpy(), copy=True)
    try:
        return np.array(x, copy=True)
    except (TypeError, ValueError) as err:
        raise SpecurateInputError(f"{name} cannot be read as an array: {err}") from None


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


class CurationSampler(Sampler[int]):
    r"""A DistributedSampler-compatible sampler that follows a curation strategy's plans.

    Args:
        strategy: any :class:`~specurate.curation.base.Strategy`.
        n_examples: size of the dataset the DataLoader indexes.
        seed: the strategy's seed (``strategy.init(n, seed=seed)``); every rank must use the
            same one.
        num_replicas, rank: the DDP world size and this process's rank; by default taken from
            ``torch.distributed`` when it is initialized, else 1 and 0.
        drop_last: as in ``DistributedSampler``: drop the plan's tail so it divides evenly
            among the replicas (instead of padding it by wrapping around).
        base_indices: optional sequence of distinct dataset indices the strategy is restricted
            to, in this order (a user's own subset, e.g. a class-balanced split or the output of
            another sampler materialized once). The strategy then sees ``len(base_indices)``
            examples and works on *positions* 0…len−1; the sampler yields
            ``base_indices[position]``, and ``observe``/``loss_scale`` take dataset indices
            (what :class:`IndexedDataset` returns) and map them back.

    Epochs. :meth:`set_epoch` (call it every epoch, as with ``DistributedSampler``) fixes the
    epoch and takes a *snapshot*: the epoch's plan ``strategy.plan(state, epoch)`` is computed
    once, from the state at that moment, and cached. Observations made while iterating change
    :attr:`state` but not the running epoch's plan, so every DataLoader worker and every rank
    sees one consistent plan. If ``__iter__`` is called again without ``set_epoch``, the
    sampler moves on to the next epoch by itself (it never silently replays a stale plan).

    Sharding. The plan (m entries) is padded by wrapping to a multiple of ``num_replicas``
    (or truncated with ``drop_last``) and rank r takes entries ``r::num_replicas`` — the rule
    of ``DistributedSampler``, applied to the plan instead of a permutation. ``len(sampler)``
    is the per-rank length, the same every epoch.

    Observations. :meth:`observe` copies the batch's indices and per-example statistics, and
    under an initialized ``torch.distributed`` with ``num_replicas > 1`` all-gathers them
    (``all_gather_object``; works on gloo and NCCL) so that every rank applies the same
    ``strategy.update`` and holds the same state. It is a collective then: every rank must call
    it the same number of times (once per batch, or once per epoch on buffered tensors).

    Attributes:
        state: the strategy's current (immutable) state; replaced by each :meth:`observe`.
        epoch: the epoch the next ``__iter__`` yields.
    """

    def __init__(
        self,
        strategy: Strategy,
        n_examples: int,
        *,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
        base_indices: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise SpecurateInputError(
                f"strategy must be a specurate Strategy, got {type(strategy).__name__}"
            )
        if int(n_examples) != n_examples or n_examples < 1:
            raise SpecurateInputError(f"n_examples must be a positive integer, got {n_examples}")
        self.strategy = strategy
        self.n_examples = int(n_examples)
        self.seed = int(seed)
        if num_replicas is None:
            num_replicas = dist.get_world_size() if _distributed() else 1
        if rank is None:
            rank = dist.get_rank() if _distributed() else 0
        if int(num_replicas) != num_replicas or num_replicas < 1:
            raise SpecurateInputError(f"num_replicas must be ≥ 1, got {num_replicas}")
        if int(rank) != rank or not 0 <= rank < num_replicas:
            raise SpecurateInputError(f"rank must be in [0, {num_replicas - 1}], got {rank}")
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.drop_last = bool(drop_last)

        if base_indices is None:
            self._base: np.ndarray | None = None
            self._inverse: np.ndarray | None = None
            n_strategy = self.n_examples
        else:
            base = check_indices(_to_numpy(base_indices, "base_indices"), self.n_examples)
            if base.size == 0:
                raise SpecurateInputError("base_indices is empty: nothing to train on")
            if np.unique(base).size != base.size:
                raise SpecurateInputError("base_indices must not repeat an index")
            inverse = np.full(self.n_examples, -1, dtype=np.int64)
            inverse[base] = np.arange(base.size)
            base.setflags(write=False)
            self._base, self._inverse = base, inverse
            n_strategy = int(base.size)

        self.state: State = strategy.init(n_strategy, seed=self.seed)
        self.epoch = 0
        self.observed = 0
        self._iterated = False
        self._plan: Plan | None = None
        self._plan_epoch: int | None = None
        self._scale: np.ndarray | None = None
        if self.num_samples < 1:
            raise SpecurateInputError(
                f"an epoch of {self.state.epoch_length} examples cannot be split among "
                f"{self.num_replicas} replicas with drop_last=True"
            )

    # ------------------------------------------------------------------ lengths
    def _per_rank(self, m: int) -> int:
        r = self.num_replicas
        if self.drop_last and m % r:
            return m // r
        return math.ceil(m / r)

    @property
    def num_samples(self) -> int:
        """Examples this rank yields per epoch (fixed: the strategy's epoch_length, sharded)."""
        return self._per_rank(self.state.epoch_length)

    def __len__(self) -> int:
        return self.num_samples

    def planned_epoch_lengths(self, n_epochs: int) -> list[int]:
        """Per-rank examples of each of the next ``n_epochs`` epochs (all equal by contract)."""
        if int(n_epochs) != n_epochs or n_epochs < 0:
            raise SpecurateInputError(f"n_epochs must be a non-negative integer, got {n_epochs}")
        return [self.num_samples] * int(n_epochs)

    def total_steps(self, n_epochs: int, batch_size: int, *, drop_last: bool = False) -> int:
        """Optimizer steps of ``n_epochs`` epochs on this rank (DataLoader batch_size, drop_last).

        Pass it to step-based schedulers, e.g. ``OneCycleLR(opt, max_lr, total_steps=...)``.
        """
        if int(batch_size) != batch_size or batch_size < 1:
            raise SpecurateInputError(f"batch_size must be a positive integer, got {batch_size}")
        per = (lambda k: k // batch_size) if drop_last else (lambda k: -(-k // batch_size))
        return sum(per(k) for k in self.planned_epoch_lengths(n_epochs))

    # ------------------------------------------------------------------ plans
    def set_epoch(self, epoch: int) -> None:
        """Fix the epoch and snapshot its plan from the current state (idempotent per epoch)."""
        if int(epoch) != epoch or epoch < 0:
            raise SpecurateInputError(f"epoch must be a non-negative integer, got {epoch}")
        self.epoch = int(epoch)
        self._iterated = False
        self._snapshot()

    def _snapshot(self) -> None:
        if self._plan is not None and self._plan_epoch == self.epoch:
            return
        plan = self.strategy.plan(self.state, self.epoch)
        idx = np.asarray(plan.indices)
        w = np.asarray(plan.weights, dtype=float)
        m = self.state.epoch_length
        if idx.shape != (m,) or w.shape != (m,):
            raise SpecurateInputError(
                f"strategy {self.strategy.name!r} returned a plan of shape {idx.shape} / "
                f"{w.shape}; its epoch_length is {m}"
            )
        idx = check_indices(idx, self.state.n)
        if not (np.all(np.isfinite(w)) and np.all(w >= 0)):
            raise SpecurateInputError(
                f"strategy {self.strategy.name!r} returned non-finite or negative multipliers"
            )
        self._set_plan(Plan(idx, w), self.epoch)

    def _set_plan(self, plan: Plan, epoch: int) -> None:
        n = self.state.n
        counts = np.bincount(plan.indices, minlength=n)
        sums = np.bincount(plan.indices, weights=plan.weights, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        self._plan, self._plan_epoch, self._scale = plan, epoch, scale

    @property
    def plan(self) -> Plan:
        """The snapshot plan of the current epoch (strategy positions, all ranks, unpadded)."""
        self._snapshot()
        assert self._plan is not None
        return self._plan

    def shard(self) -> np.ndarray:
        """This rank's dataset indices for the current epoch, in iteration order."""
        idx = self.plan.indices
        r = self.num_replicas
        total = self.num_samples * r
        idx = np.resize(idx, total)  # wraps around to pad, or truncates with drop_last
        idx = idx[self.rank : total : r]
        return idx if self._base is None else self._base[idx]

    def __iter__(self):
        if self._iterated:  # a new pass without set_epoch: move on, never replay
            self.epoch += 1
        self._iterated = True
        self._snapshot()
        return iter(self.shard().tolist())

    # ------------------------------------------------------------------ training hooks
    def _positions(self, indices: Any, name: str = "indices") -> np.ndarray:
        idx = check_indices(_to_numpy(indices, name).reshape(-1), self.n_examples)
        if self._inverse is None:
            return idx
        pos = self._inverse[idx]
        if np.any(pos < 0):
            bad = idx[pos < 0][:5].tolist()
            raise SpecurateInputError(f"{name} {bad} are not in base_indices")
        return pos

    def loss_scale(
        self,
        indices: Any,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        r"""A NEW (batch,) tensor of the current plan's loss multipliers for these indices.

        Use as ``loss = (per_example_loss * sampler.loss_scale(idx)).mean()``; the caller's
        tensors are never modified. ``device`` defaults to that of ``indices`` when it is a
        tensor (else CPU).

        An index drawn several times in a plan gets the *mean* of its draws' multipliers, so
        its total loss mass over the epoch is the plan's Σ_{j: idx_j = i} mult_j exactly. For
        every provided strategy the multiplier is a function of the index alone (1 in
        ``reweight`` mode, 1/w_i in ``unbiased`` mode), so the mean is that value. Indices not
        in the current plan raise :class:`SpecurateInputError`.
        """
        pos = self._positions(indices)
        self._snapshot()
        assert self._scale is not None
        s = self._scale[pos]
        if np.any(np.isnan(s)):
            missing = _to_numpy(indices, "indices").reshape(-1)[np.isnan(s)][:5].tolist()
            raise SpecurateInputError(
                f"indices {missing} are not in the plan of epoch {self.epoch}"
            )
        if device is None and isinstance(indices, torch.Tensor):
            device = indices.device
        return torch.tensor(s, dtype=dtype, device=device)

    def observe(self, indices: Any, losses: Any, **other_stats: Any) -> None:
        """Feed per-example statistics of a batch to the strategy (``state`` is replaced).

        Args:
            indices: (b,) dataset indices of the batch (tensor on any device, array, list).
            losses: (b,) per-example losses (``reduction="none"``); detached and copied.
            **other_stats: more per-example statistics with leading dimension b (e.g.
                ``margin=...``), passed to ``strategy.update`` under their names.

        Raises :class:`SpecurateInputError` for indices out of range (or outside
        ``base_indices``), statistics of the wrong length, NaN/inf values, or a statistic the
        strategy ``needs`` that is missing. Under DDP this is a collective (see the class doc).
        """
        pos = self._positions(indices)
        loss = check_stat({"loss": _to_numpy(losses, "losses")}, "loss", pos.size)
        stats: dict[str, np.ndarray] = {"loss": loss}
        for key, value in other_stats.items():
            v = _to_numpy(value, key)
            if v.ndim == 0 or v.shape[0] != pos.size:
                raise SpecurateInputError(
                    f"{key} has leading dimension {v.shape[:1]} for {pos.size} indices"
                )
            if np.issubdtype(v.dtype, np.number) and not np.all(np.isfinite(v)):
                raise SpecurateInputError(f"{key} contains NaN or inf")
            stats[key] = v
        missing = set(self.strategy.needs) - set(stats)
        if missing:
            raise SpecurateInputError(
                f"strategy {self.strategy.name!r} needs the statistics {sorted(missing)}"
            )
        if _distributed() and self.num_replicas > 1:
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, (pos, stats))
            pos = np.concatenate([g[0] for g in gathered])
            stats = {k: np.concatenate([g[1][k] for g in gathered]) for k in stats}
        self.state = self.strategy.update(self.state, pos, stats)
        self.observed += int(pos.size)

    def accounting(self) -> dict[str, float]:
        """Compute charged so far, in per-example passes (all ranks).

        ``trained``: examples whose statistics were observed (one forward + backward each, the
        statistics come from the training forward pass at no extra cost); ``extra_forward`` and
        ``extra_compute``: scoring passes a strategy declared in its state (probes, second
        models), as counted by the strategy.
        """
        info = self.state.info
        return {
            "trained": float(self.observed),
            "extra_forward": float(info.get("extra_forward", 0.0)),
            "extra_compute": float(info.get("extra_compute", 0.0)),
        }

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Strategy state, epoch and the current plan snapshot, as tensors and plain values.

        Loadable with ``torch.load(..., weights_only=True)`` provided the strategy's ``info``
        holds plain Python values; arrays must have a dtype torch supports.
        """
        s = self.state
        out: dict[str, Any] = {
            "strategy": self.strategy.name,
            "n": s.n,
            "seed": s.seed,
            "epoch_length": s.epoch_length,
            "arrays": {k: torch.from_numpy(np.array(v, copy=True)) for k, v in s.arrays.items()},
            "info": dict(s.info),
            "epoch": self.epoch,
            "iterated": self._iterated,
            "observed": self.observed,
            "plan": None,
        }
        if self._plan is not None:
            out["plan"] = {
                "epoch": self._plan_epoch,
                "indices": torch.from_numpy(self._plan.indices.copy()),
                "weights": torch.from_numpy(np.asarray(self._plan.weights, dtype=float).copy()),
            }
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (same strategy and data size)."""
        sd = state_dict
        if sd.get("strategy") != self.strategy.name or sd.get("n") != self.state.n:
            raise SpecurateInputError(
                f"checkpoint is for strategy {sd.get('strategy')!r} on {sd.get('n')} examples; "
                f"this sampler runs {self.strategy.name!r} on {self.state.n}"
            )
        arrays = {k: _to_numpy(v, k) for k, v in sd["arrays"].items()}
        state = new_state(sd["n"], seed=sd["seed"], epoch_length=sd["epoch_length"], **arrays)
        self.state = state.with_info(**dict(sd["info"]))
        self.seed = int(sd["seed"])
        self.epoch = int(sd["epoch"])
        self._iterated = bool(sd["iterated"])
        self.observed = int(sd.get("observed", 0))
        self._plan = self._plan_epoch = self._scale = None
        if sd.get("plan") is not None:
            p = sd["plan"]
            idx = _to_numpy(p["indices"], "plan").astype(np.int64)
            w = _to_numpy(p["weights"], "plan").astype(float)
            self._set_plan(Plan(idx, w), int(p["epoch"]))
