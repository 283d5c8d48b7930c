r"""Torch adapter of the Strategy contract: a plain ``Sampler[int]`` plus a loss-scaling hook.

A training loop changes in three lines::

    sampler = CurationSampler(strategy, len(train), seed=0)              # 1. the sampler
    loader = DataLoader(IndexedDataset(train), batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                                        # folds observations, plans
        for idx, x, y in loader:
            per_example = F.cross_entropy(model(x), y, reduction="none")
            loss = (per_example * sampler.loss_scale(idx)).mean()       # 2. plan multipliers
            opt.zero_grad(); loss.backward(); opt.step()
            sampler.observe(idx, per_example)                           # 3. feed the strategy

What it does *not* do (the failure modes of InfoBatch that this design avoids): it never
patches a DataLoader or its iterator (it is an ordinary sampler, so ``num_workers > 0``,
``persistent_workers`` and custom ``collate_fn`` work unchanged), never modifies the caller's
tensors (``loss_scale`` returns a new tensor, ``observe`` copies), never touches a global random
generator (all randomness is the strategy's seeded per-epoch stream, :func:`~specurate.curation.
base.epoch_rng`), and
never shrinks an epoch: every plan has ``state.epoch_length`` entries, so
:meth:`CurationSampler.total_steps` gives a step-based LR scheduler (OneCycleLR) its exact
length up front.

Per-batch cost. ``observe`` only validates and buffers the batch (O(m)); the buffered
observations of a plan are folded into the strategy's state with ONE ``strategy.update`` at
the next ``set_epoch`` (or :meth:`CurationSampler.flush`), and under DDP gathered with ONE
collective there. Built-in updates are split-invariant (``check_update_split_invariant``), so
this gives the same state as updating after every batch, at a per-batch cost that does not
grow with the data set.

Reference: Qin et al., "InfoBatch: Lossless Training Speed Up by Unbiased Dynamic Data Pruning"
(ICLR 2024) for the three-line integration this reproduces without its side effects; sharding
follows ``torch.utils.data.DistributedSampler``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, Sampler

from specurate._validate import check_int, check_positive_int, check_seed
from specurate.curation.base import (
    Accounting,
    Plan,
    Strategy,
    StrategyState,
    check_indices,
    check_stat,
    check_stats,
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


# ----------------------------------------------------------------------------- checkpoints
def _encode(value: Any) -> Any:
    """A state as nested dicts of tensors and plain values (``torch.load(weights_only=True)``)."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value).copy())
    if isinstance(value, Accounting):
        return dataclasses.asdict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__state__": type(value).__name__,
            **{f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    if isinstance(value, Mapping):
        return {"__mapping__": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(template: Any, tree: Any, where: str = "state") -> Any:
    """Rebuild a state shaped like ``template`` (this sampler's own) from :func:`_encode`'s tree;
    every mismatch of type or shape raises :class:`SpecurateInputError`."""

    def bad(what: str) -> SpecurateInputError:
        return SpecurateInputError(f"checkpoint does not fit this sampler: {where} {what}")

    if isinstance(template, np.ndarray):
        a = _to_numpy(tree, where) if tree is not None else None
        if a is None or a.shape[1:] != template.shape[1:] or a.dtype.kind != template.dtype.kind:
            raise bad(f"is {None if a is None else (a.shape, a.dtype)}, expected {template.dtype}")
        a.setflags(write=False)
        return a
    if isinstance(template, Accounting):
        if not isinstance(tree, Mapping):
            raise bad("is not an accounting")
        return Accounting(**{k: tree[k] for k in ("trained", "extra_forward", "extra_compute")})
    if dataclasses.is_dataclass(template) and not isinstance(template, type):
        if not isinstance(tree, Mapping) or tree.get("__state__") != type(template).__name__:
            got = tree.get("__state__") if isinstance(tree, Mapping) else type(tree).__name__
            raise bad(f"is a {got}, expected a {type(template).__name__}")
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(template):
            t = getattr(template, f.name)
            kw[f.name] = tree.get(f.name) if t is None else _decode(t, tree.get(f.name), f.name)
            if t is None and kw[f.name] is not None:  # optional array filled in later
                kw[f.name] = _to_numpy(kw[f.name], f.name)
                kw[f.name].setflags(write=False)
        return type(template)(**kw)
    if isinstance(template, Mapping):
        inner = tree.get("__mapping__") if isinstance(tree, Mapping) else None
        if inner is None or set(inner) != set(template):
            raise bad("has other keys")
        return {k: _decode(template[k], inner[k], f"{where}.{k}") for k in template}
    if isinstance(template, tuple):
        inner = tree.get("__tuple__") if isinstance(tree, Mapping) else None
        if inner is None or len(inner) != len(template):
            raise bad("has another length")
        return tuple(
            _decode(t, v, f"{where}[{i}]")
            for i, (t, v) in enumerate(zip(template, inner, strict=True))
        )
    return tree


class CurationSampler(Sampler[int]):
    r"""A DistributedSampler-compatible sampler that follows a curation strategy's plans.

    Args:
        strategy: any :class:`~specurate.curation.base.Strategy`.
        n_examples: size of the dataset the DataLoader indexes.
        seed: the strategy's seed (``strategy.init(n, seed=seed)``); every rank must use the
            same one.
        num_replicas: the DDP world size; by default taken from ``torch.distributed`` when it
            is initialized, else 1.
        rank: this process's rank; by default taken from ``torch.distributed`` when it is
            initialized, else 0.
        drop_last: as in ``DistributedSampler``: drop the plan's tail so it divides evenly
            among the replicas (instead of padding it by wrapping around).
        base_indices: optional sequence of distinct dataset indices the strategy is restricted
            to, in this order. The strategy then sees ``len(base_indices)`` examples and works
            on *positions* 0…len−1; the sampler yields ``base_indices[position]``, and
            ``observe``/``loss_scale`` take dataset indices and map them back.
        **data: the strategy's init data (``groups=…``, ``scores=…``, ``mask=…``), per
            dataset example (restricted to ``base_indices`` when given).

    Epochs. :meth:`set_epoch` (call it every epoch, as with ``DistributedSampler``) folds the
    observations buffered so far into :attr:`state`, fixes the epoch and takes a *snapshot*:
    the epoch's plan ``strategy.plan(state, epoch)`` is computed once and cached, so every
    DataLoader worker and every rank sees one consistent plan. If ``__iter__`` is called again
    without ``set_epoch``, the sampler moves on to the next epoch by itself (it never silently
    replays a stale plan).

    Sharding. The plan (m entries) is padded by wrapping to a multiple of ``num_replicas``
    (or truncated with ``drop_last``) and rank r takes entries ``r::num_replicas`` — the rule
    of ``DistributedSampler``, applied to the plan instead of a permutation. ``len(sampler)``
    is the per-rank length, the same every epoch.

    Observations. :meth:`observe` validates and buffers a batch (O(batch), whatever the data
    set size). :meth:`flush` — called by ``set_epoch`` — folds the buffer with one
    ``strategy.update``; under an initialized ``torch.distributed`` with ``num_replicas > 1``
    it first all-gathers every rank's buffer (ONE collective per plan; gloo and NCCL) and
    orders the rows by step, then rank, as a per-batch gather would, so every rank holds the
    same state. ``flush`` is a collective then: every rank calls ``set_epoch`` / ``flush``
    equally often.

    Resuming. :meth:`state_dict` holds the strategy state, the unfolded buffer, the epoch's
    plan and the position inside it (``yielded``), so a run stopped mid-epoch resumes at the
    next example; this is the protocol of ``torchdata``'s ``StatefulDataLoader``, which calls
    these methods itself.

    Attributes:
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
        **data: Any,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise SpecurateInputError(
                f"strategy must be a specurate Strategy, got {type(strategy).__name__}"
            )
        self.strategy = strategy
        self.n_examples = check_positive_int("n_examples", n_examples)
        self.seed = check_seed(seed)
        if num_replicas is None:
            num_replicas = dist.get_world_size() if _distributed() else 1
        if rank is None:
            rank = dist.get_rank() if _distributed() else 0
        self.num_replicas = check_positive_int("num_replicas", num_replicas)
        self.rank = check_int("rank", rank, lo=0, hi=self.num_replicas - 1)
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
            data = {
                k: (np.asarray(v)[base] if np.ndim(v) and len(v) == self.n_examples else v)
                for k, v in data.items()
            }

        self._state: StrategyState = strategy.init(n_strategy, seed=self.seed, **data)
        self._needs = frozenset(strategy.needs)
        # accounting: the folded state's (refreshed at every fold) + cost per buffered example
        # (a strategy's cost is linear in the count)
        self._unit = strategy.cost(1).as_dict()
        self._folded: dict[str, float] | None = None
        self.epoch = 0
        self._iterated = False
        self._plan: Plan | None = None
        self._plan_epoch: int | None = None
        self._scale: np.ndarray | None = None  # per-example loss scale of the plan (NaN: off)
        self._in_plan: np.ndarray | None = None  # or, when every scale is 1, membership only
        self._pending: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        self._pending_count = 0
        self._it: Any = None  # the current epoch's iterator (its position is the resume point)
        self._it_start = self._it_size = 0
        self._resume_at: int | None = None
        if self.num_samples < 1:
            raise SpecurateInputError(
                f"an epoch of {self._state.epoch_length} examples cannot be split among "
                f"{self.num_replicas} replicas with drop_last=True"
            )

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> StrategyState:
        """The strategy's state with every observation folded in.

        In one process this folds the buffer (cheap when it is empty). Under DDP folding is a
        collective: call :meth:`flush` on every rank first (reading the state with observations
        still buffered raises, rather than returning a stale state).
        """
        if not self._collective():
            self.flush()
        elif self._pending_count:
            raise SpecurateInputError(
                f"{self._pending_count} observations are buffered on this rank: call flush() on "
                "every rank (or set_epoch) before reading the state under DDP"
            )
        return self._state

    @state.setter
    def state(self, value: StrategyState) -> None:
        if not isinstance(value, StrategyState) or value.n != self._state.n:
            raise SpecurateInputError("state must be a strategy state for the same data set size")
        if self._collective():  # folding would be a collective: the buffer must be empty
            if self._pending_count:
                raise SpecurateInputError("call flush() on every rank before replacing the state")
        else:
            self.flush()
        self._state = value
        self._folded = None

    def _collective(self) -> bool:
        return _distributed() and self.num_replicas > 1

    def flush(self) -> None:
        """Fold the buffered observations into the state with one ``strategy.update``.

        Under DDP (``num_replicas > 1`` and an initialized process group) this all-gathers the
        buffers of every rank first — one collective; call it on every rank.
        """
        pos, stats, steps = self._buffer()
        self._pending, self._pending_count = [], 0
        if self._collective():
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, (pos, stats, steps))
            keys = set(stats)
            if any(set(g[1]) != keys for g in gathered):
                raise SpecurateInputError("ranks observed different statistics")
            steps = np.concatenate([g[2] for g in gathered])
            order = np.argsort(steps, kind="stable")  # step-major, rank-minor
            pos = np.concatenate([g[0] for g in gathered])[order]
            stats = {k: np.concatenate([g[1][k] for g in gathered])[order] for k in keys}
        if pos.size:
            self._state = self.strategy.update(self._state, pos, stats)
            self._folded = None

    def _buffer(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """The buffered observations as (positions, statistics, step of each row)."""
        if not self._pending:
            return np.zeros(0, dtype=np.int64), {}, np.zeros(0, dtype=np.int64)
        pos = np.concatenate([p for p, _ in self._pending])
        keys = self._pending[0][1].keys()
        stats = {k: np.concatenate([s[k] for _, s in self._pending]) for k in keys}
        steps = np.repeat(np.arange(len(self._pending)), [p.size for p, _ in self._pending])
        return pos, stats, steps

    # ------------------------------------------------------------------ lengths
    def _per_rank(self, m: int) -> int:
        r = self.num_replicas
        if self.drop_last and m % r:
            return m // r
        return math.ceil(m / r)

    @property
    def num_samples(self) -> int:
        """Examples this rank yields per epoch (fixed: the strategy's epoch_length, sharded)."""
        return self._per_rank(self._state.epoch_length)

    def __len__(self) -> int:
        return self.num_samples

    def planned_epoch_lengths(self, n_epochs: int) -> list[int]:
        """Per-rank examples of each of the next ``n_epochs`` epochs (all equal by contract)."""
        n_epochs = check_int("n_epochs", n_epochs, lo=0, what="a non-negative integer")
        return [self.num_samples] * n_epochs

    def total_steps(self, n_epochs: int, batch_size: int, *, drop_last: bool = False) -> int:
        """Optimizer steps of ``n_epochs`` epochs on this rank (DataLoader batch_size, drop_last).

        Pass it to step-based schedulers, e.g. ``OneCycleLR(opt, max_lr, total_steps=...)``.
        """
        batch_size = check_positive_int("batch_size", batch_size)
        per = (lambda k: k // batch_size) if drop_last else (lambda k: -(-k // batch_size))
        return sum(per(k) for k in self.planned_epoch_lengths(n_epochs))

    # ------------------------------------------------------------------ plans
    def set_epoch(self, epoch: int) -> None:
        """Fold the buffered observations, fix the epoch and snapshot its plan.

        Idempotent per epoch (a second call for the same epoch keeps the plan). A collective
        under DDP (see :meth:`flush`).
        """
        epoch = check_int("epoch", epoch, lo=0, what="a non-negative integer")
        if self._resume_at is not None and epoch == self.epoch:
            return  # resuming inside this epoch: keep its plan and position
        self._resume_at = None
        self.flush()
        self.epoch = epoch
        self._iterated = False
        self._snapshot()

    def _snapshot(self) -> None:
        if self._plan is not None and self._plan_epoch == self.epoch:
            return
        plan = self.strategy.plan(self._state, self.epoch)
        idx = np.asarray(plan.indices)
        w = np.asarray(plan.loss_scale, dtype=float)
        m = self._state.epoch_length
        if idx.shape != (m,) or w.shape != (m,):
            raise SpecurateInputError(
                f"strategy {self.strategy.name!r} returned a plan of shape {idx.shape} / "
                f"{w.shape}; its epoch_length is {m}"
            )
        idx = check_indices(idx, self._state.n)
        if not (np.all(np.isfinite(w)) and np.all(w >= 0)):
            raise SpecurateInputError(
                f"strategy {self.strategy.name!r} returned non-finite or negative loss scales"
            )
        self._set_plan(Plan(idx, w), self.epoch)

    def _set_plan(self, plan: Plan, epoch: int) -> None:
        n = self._state.n
        if np.all(plan.loss_scale == 1.0):  # reweighting plans: membership is all we need
            in_plan = np.zeros(n, dtype=bool)
            in_plan[plan.indices] = True
            self._plan, self._plan_epoch, self._scale, self._in_plan = plan, epoch, None, in_plan
            return
        else:  # the mean of each index's draws
            counts = np.bincount(plan.indices, minlength=n)
            sums = np.bincount(plan.indices, weights=plan.loss_scale, minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        self._plan, self._plan_epoch, self._scale, self._in_plan = plan, epoch, scale, None

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
        if self._resume_at is not None:  # a restored position inside this epoch
            start, self._resume_at = self._resume_at, None
        else:
            if self._iterated:  # a new pass without set_epoch: move on, never replay
                self.flush()
                self.epoch += 1
            start = 0
        self._iterated = True
        self._snapshot()
        items = self.shard()[start:].tolist()
        self._it, self._it_start, self._it_size = iter(items), start, len(items)
        return self._it  # a plain list iterator: C speed; its length hint gives the position

    @property
    def _yielded(self) -> int:
        """Entries of the current epoch's shard handed out so far."""
        if self._it is None:
            return 0
        return self._it_start + self._it_size - self._it.__length_hint__()

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
        r"""A NEW (batch,) tensor of the current plan's loss scales for these indices.

        Use as ``loss = (per_example_loss * sampler.loss_scale(idx)).mean()``; the caller's
        tensors are never modified. ``device`` defaults to that of ``indices`` when it is a
        tensor (else CPU).

        An index drawn several times in a plan gets the *mean* of its draws' scales, so
        its total loss mass over the epoch is the plan's Σ_{j: idx_j = i} scale_j exactly. For
        every provided strategy the scale is a function of the index alone (1 with
        ``reweight``, 1/w_i with ``importance``), so the mean is that value. Indices not
        in the current plan raise :class:`SpecurateInputError`.
        """
        pos = self._positions(indices)
        self._snapshot()
        if self._scale is None:
            assert self._in_plan is not None  # _set_plan sets one of _scale and _in_plan
            off = ~self._in_plan[pos]
            s = np.ones(pos.size)
        else:
            s = self._scale[pos]
            off = np.isnan(s)
        if off.any():
            missing = _to_numpy(indices, "indices").reshape(-1)[off][:5].tolist()
            raise SpecurateInputError(
                f"indices {missing} are not in the plan of epoch {self.epoch}"
            )
        if device is None and isinstance(indices, torch.Tensor):
            device = indices.device
        return torch.tensor(s, dtype=dtype, device=device)

    def observe(self, indices: Any, losses: Any, **other_stats: Any) -> None:
        """Buffer per-example statistics of a batch for the strategy (O(batch); no collective).

        Args:
            indices: (b,) dataset indices of the batch (tensor on any device, array, list).
            losses: (b,) per-example losses (``reduction="none"``); detached and copied.
            **other_stats: more per-example statistics with leading dimension b (e.g.
                ``residual=...``), passed to ``strategy.update`` under their names.

        Raises :class:`SpecurateInputError` for indices out of range (or outside
        ``base_indices``), statistics of the wrong length, NaN/inf values, a statistic the
        strategy ``needs`` that is missing, or other statistic names than earlier batches of
        the plan; nothing is buffered then.
        """
        pos = self._positions(indices)
        loss = check_stat({"loss": _to_numpy(losses, "losses")}, "loss", pos.size)
        other = {key: _to_numpy(value, key) for key, value in other_stats.items()}
        stats = {"loss": loss, **check_stats(other, pos.size)}
        missing = self._needs - stats.keys()
        if missing:
            raise SpecurateInputError(
                f"strategy {self.strategy.name!r} needs the statistics {sorted(missing)}"
            )
        if self._pending and set(self._pending[0][1]) != set(stats):
            raise SpecurateInputError(
                f"this batch has the statistics {sorted(stats)}, earlier ones of the plan "
                f"{sorted(self._pending[0][1])}"
            )
        self._pending.append((pos, stats))
        self._pending_count += int(pos.size)

    def accounting(self) -> dict[str, float]:
        """Compute charged so far, in per-example passes.

        ``trained``: examples whose statistics were observed (one forward + backward each, the
        statistics come from the training forward pass at no extra cost); ``extra_forward``
        and ``extra_compute``: scoring passes the strategy declares (probes, second models),
        summed over every part of a composed strategy. Folded observations count all ranks;
        the unfolded buffer counts this rank's (exact in one process; under DDP exact after
        :meth:`flush`).
        """
        if self._folded is None:
            self._folded = self.strategy.accounting(self._state).as_dict()
        k = self._pending_count
        return {key: v + k * self._unit[key] for key, v in self._folded.items()}

    @property
    def observed(self) -> int:
        """Examples observed so far (folded, all ranks, plus this rank's buffer)."""
        return int(self.accounting()["trained"])

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Strategy state, unfolded buffer, epoch, position and the plan snapshot, as tensors
        and plain values (loadable with ``torch.load(..., weights_only=True)``)."""
        pos, stats, steps = self._buffer()
        out: dict[str, Any] = {
            "version": 2,
            "strategy": self.strategy.name,
            "n": self._state.n,
            "seed": self.seed,
            "state": _encode(self._state),
            "pending": {
                "indices": torch.from_numpy(pos),
                "steps": torch.from_numpy(steps),
                "stats": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in stats.items()},
            },
            "epoch": self.epoch,
            "iterated": self._iterated,
            "yielded": self._yielded if self._iterated else 0,
            "plan": None,
        }
        if self._plan is not None:
            out["plan"] = {
                "epoch": self._plan_epoch,
                "indices": torch.from_numpy(self._plan.indices.copy()),
                "loss_scale": torch.from_numpy(np.asarray(self._plan.loss_scale, float).copy()),
            }
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (same strategy, init data and data size).

        A checkpoint taken mid-epoch resumes at the next entry of that epoch's shard: the next
        ``__iter__`` (or ``set_epoch`` of the same epoch followed by ``__iter__``) continues
        where it stopped. Nothing changes when the checkpoint does not fit.
        """
        sd = state_dict
        if not isinstance(sd, Mapping) or sd.get("version") != 2:
            raise SpecurateInputError("not a CurationSampler checkpoint of this version")
        if sd.get("strategy") != self.strategy.name or sd.get("n") != self._state.n:
            raise SpecurateInputError(
                f"checkpoint is for strategy {sd.get('strategy')!r} on {sd.get('n')} examples; "
                f"this sampler runs {self.strategy.name!r} on {self._state.n}"
            )
        state = _decode(self._state, sd["state"])
        p = sd["pending"]
        pos = _to_numpy(p["indices"], "pending").astype(np.int64)
        steps = _to_numpy(p["steps"], "pending").astype(np.int64)
        stats = {k: _to_numpy(v, k) for k, v in p["stats"].items()}
        plan = None
        if sd.get("plan") is not None:
            q = sd["plan"]
            idx = check_indices(_to_numpy(q["indices"], "plan"), state.n)
            plan = (Plan(idx, _to_numpy(q["loss_scale"], "plan").astype(float)), int(q["epoch"]))
        # everything validated: apply
        self._state = state
        self._folded = None
        self.seed = int(sd["seed"])
        self.epoch = int(sd["epoch"])
        self._iterated = bool(sd["iterated"])
        cuts = np.flatnonzero(np.diff(steps)) + 1  # the buffer's batches, in order
        batches = {k: np.split(v, cuts) for k, v in stats.items()}
        self._pending = (
            [(p, {k: batches[k][i] for k in batches}) for i, p in enumerate(np.split(pos, cuts))]
            if pos.size
            else []
        )
        self._pending_count = int(pos.size)
        self._plan = self._plan_epoch = self._scale = self._in_plan = None
        if plan is not None:
            self._set_plan(*plan)
        yielded = int(sd.get("yielded", 0))
        self._resume_at = yielded if self._iterated and yielded < self.num_samples else None
        self._it, self._it_start, self._it_size = iter(()), yielded, 0
