r"""Glue for :class:`~specurate.torch.CurationSampler` in Lightning, Accelerate and 🤗 Trainer.

The sampler is an ordinary ``Sampler[int]`` that already shards its plan by rank like
``DistributedSampler`` (rank r takes plan entries ``r::world``). Every training framework that
"helps" with distributed data loading would shard it a *second* time, so each wiring below
switches that help off and checks that it stayed off:

* **Lightning** — ``Trainer(use_distributed_sampler=False)`` (else Lightning wraps the sampler in
  its ``DistributedSamplerWrapper``), plus :class:`CurationCallback`, which checks the wiring at
  ``on_train_start``, flushes the sampler at the end and stores its state in checkpoints.
  Lightning itself calls ``sampler.set_epoch(epoch)`` before every epoch.
* **Accelerate** — ``accelerator.prepare`` the model and optimizer but *not* the DataLoader:
  ``prepare(loader)`` wraps its batch sampler in ``BatchSamplerShard`` (a second split), and its
  ``DataLoaderShard`` calls ``sampler.set_epoch`` with a counter of its own. Move batches with
  ``.to(accelerator.device)`` and call :func:`check_loader` once.
* **🤗 Trainer** — :class:`CurationTrainer` trains on the sampler's plan with a DataLoader that
  ``accelerator.prepare`` never sees, scales the per-example loss and observes it in
  ``compute_loss``, and calls ``set_epoch`` at each epoch begin.

In all three, a training step is :func:`curated_loss`: the per-example loss times the plan's
multipliers, averaged, with the statistics fed to the strategy.

This module imports none of the three frameworks: :class:`CurationCallback` and
:class:`CurationTrainer` are built on first access (``from specurate.torch.integrations import
CurationTrainer`` imports ``transformers`` then), so the rest works without them.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sized
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import Dataset

from specurate.errors import SpecurateInputError
from specurate.torch.sampler import CurationSampler

if TYPE_CHECKING:  # pragma: no cover
    from torch.utils.data import DataLoader

    CurationCallback: type  # built on first access by the module __getattr__ below
    CurationTrainer: type

__all__ = [
    "CurationCallback",
    "CurationTrainer",
    "IndexedDictDataset",
    "check_loader",
    "curated_loss",
]


# ---------------------------------------------------------------------- framework-free pieces
def curated_loss(
    sampler: CurationSampler,
    indices: torch.Tensor,
    per_example_loss: torch.Tensor,
    **other_stats: Any,
) -> torch.Tensor:
    r"""The batch loss under the sampler's plan; also feeds the batch to the strategy.

    Returns ``(per_example_loss * sampler.loss_scale(indices)).mean()`` (a new tensor, on the
    loss's device and dtype) after ``sampler.observe(indices, per_example_loss, **other_stats)``.
    Call it exactly once per training batch (``observe`` only buffers; the fold, a collective
    under DDP, happens at ``set_epoch``/``flush`` on every rank), and only on training batches:
    evaluation losses must not reach the strategy.

    Args:
        sampler: the :class:`CurationSampler` the batch was drawn from.
        indices: (b,) dataset indices of the batch (the ``idx`` of :class:`IndexedDataset`).
        per_example_loss: (b,) losses, computed with ``reduction="none"``.
        **other_stats: further per-example statistics a strategy ``needs`` (e.g. ``margin``).

    Raises:
        SpecurateInputError: if ``per_example_loss`` is not one value per index (a loss that
            was already reduced, for instance), or whatever ``observe``/``loss_scale`` reject.
    """
    if not isinstance(per_example_loss, torch.Tensor):
        raise SpecurateInputError(
            f"per_example_loss must be a tensor, got {type(per_example_loss).__name__}"
        )
    n_idx = indices.numel() if isinstance(indices, torch.Tensor) else len(indices)
    if per_example_loss.dim() != 1 or per_example_loss.shape[0] != n_idx:
        raise SpecurateInputError(
            f"per_example_loss has shape {tuple(per_example_loss.shape)} for {n_idx} indices; "
            "compute it per example (reduction='none')"
        )
    scale = sampler.loss_scale(
        indices, dtype=per_example_loss.dtype, device=per_example_loss.device
    )
    sampler.observe(indices, per_example_loss, **other_stats)
    return (per_example_loss * scale).mean()


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _check_ranks(sampler: CurationSampler, world: int, rank: int, fix: str) -> None:
    """The sampler shards for this process: its (num_replicas, rank) are the job's."""
    if sampler.num_replicas != world or sampler.rank != rank:
        raise SpecurateInputError(
            f"the CurationSampler was built for rank {sampler.rank} of {sampler.num_replicas} but "
            f"this process is rank {rank} of {world}: {fix}"
        )


def _samplers_of(loader: Any) -> list[Any]:
    """The samplers a DataLoader (or a framework's wrapper of one) draws its indices from."""
    found: list[Any] = []
    seen: set[int] = set()

    def add(obj: Any) -> None:
        if obj is not None and id(obj) not in seen:
            seen.add(id(obj))
            found.append(obj)

    batch_sampler = getattr(loader, "batch_sampler", None)
    add(getattr(batch_sampler, "sampler", None))
    inner = getattr(batch_sampler, "batch_sampler", None)  # accelerate's BatchSamplerShard
    add(getattr(inner, "sampler", None))
    if not found:
        add(getattr(loader, "sampler", None))
    return found


def check_loader(
    loader: DataLoader | Any,
    sampler: CurationSampler,
    *,
    world_size: int | None = None,
    rank: int | None = None,
) -> None:
    """Check that ``loader`` draws from ``sampler`` unchanged and that its ranks are right.

    Catches the ways a framework (or a setup order) silently breaks curated training:

    * the loader does not draw from ``sampler`` at all — a framework replaced or wrapped it
      (Lightning with ``use_distributed_sampler=True`` under DDP, a ``DistributedSampler``);
    * the loader was passed through ``accelerator.prepare`` on more than one process, whose
      ``BatchSamplerShard`` hands each rank every world-th batch of its shard (a second split);
    * the sampler was built before the process group existed (``num_replicas``/``rank`` are
      then 1 and 0 on every process, and each rank trains the whole plan).

    Args:
        loader: the training DataLoader as the framework will iterate it.
        sampler: the :class:`CurationSampler` it should draw from.
        world_size: the job's data-parallel size; by default read from ``torch.distributed``
            (1 when it is not initialized).
        rank: this process's rank; by default read from ``torch.distributed`` (0 when it is
            not initialized).

    Raises:
        SpecurateInputError: describing the first problem found.
    """
    if not isinstance(sampler, CurationSampler):
        raise SpecurateInputError(
            f"sampler must be a CurationSampler, got {type(sampler).__name__}"
        )
    d_world, d_rank = _world()
    _check_ranks(
        sampler,
        d_world if world_size is None else int(world_size),
        d_rank if rank is None else int(rank),
        "build it after the process group is initialized, or pass num_replicas= and rank=",
    )
    samplers = _samplers_of(loader)
    if not any(s is sampler for s in samplers):
        names = ", ".join(type(s).__name__ for s in samplers) or "none"
        raise SpecurateInputError(
            f"the training DataLoader does not draw from this CurationSampler (it uses: {names}); "
            "a framework replaced it — with Lightning pass Trainer(use_distributed_sampler=False)"
        )
    batch_sampler: Any = getattr(loader, "batch_sampler", None)
    if getattr(batch_sampler, "num_processes", 1) > 1:
        raise SpecurateInputError(
            f"the training DataLoader's batch sampler ({type(batch_sampler).__name__}) splits "
            f"batches among {batch_sampler.num_processes} processes, but the CurationSampler "
            "already shards its plan by rank: do not pass the DataLoader to accelerator.prepare"
        )


class IndexedDictDataset(Dataset):
    """Wrap a map-style dataset of dicts so each item also carries its index under ``key``.

    ``IndexedDictDataset(ds)[i]`` is ``{**ds[i], "idx": i}``: the dict form of
    :class:`~specurate.torch.IndexedDataset` that 🤗 ``Trainer`` collators expect. After
    ``default_data_collator`` the batch holds ``batch["idx"]``, an int64 tensor of shape (b,).

    Args:
        dataset: map-style dataset whose items are mappings (``dict``).
        key: the name of the index entry; must not already be an item key.
    """

    def __init__(self, dataset: Any, key: str = "idx") -> None:
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise SpecurateInputError(
                "IndexedDictDataset needs a map-style dataset (with __getitem__ and __len__)"
            )
        self.dataset = dataset
        self.key = str(key)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[index]
        if not isinstance(item, Mapping):
            raise SpecurateInputError(
                f"IndexedDictDataset needs dict items, item {index} is a {type(item).__name__} "
                "(use specurate.torch.IndexedDataset for tuples)"
            )
        if self.key in item:
            raise SpecurateInputError(f"item {index} already has a {self.key!r} entry")
        return {**item, self.key: int(index)}


# ---------------------------------------------------------------------- PyTorch Lightning
def _lightning() -> Any:
    try:
        pl = importlib.import_module("lightning.pytorch")
    except ImportError:
        try:
            pl = importlib.import_module("pytorch_lightning")
        except ImportError:
            raise ImportError(
                "CurationCallback needs PyTorch Lightning: pip install 'specurate[integrations]'"
            ) from None
    return pl


def _make_curation_callback() -> type:
    callback_base: Any = _lightning().Callback  # lightning is an optional dependency

    class CurationCallback(callback_base):
        r"""Lightning callback that keeps a :class:`CurationSampler` wired correctly.

        Use with ``Trainer(use_distributed_sampler=False)`` and a ``train_dataloader`` that
        draws from ``sampler``; compute the loss in ``training_step`` with :func:`curated_loss`.
        Under DDP build the sampler with the trainer's ranks (the process group does not exist
        yet when the script builds it)::

            trainer = L.Trainer(max_epochs=2, use_distributed_sampler=False,
                                callbacks=[curation := CurationCallback()])
            curation.sampler = CurationSampler(strategy, n, seed=0,
                                               num_replicas=trainer.world_size,
                                               rank=trainer.global_rank)

        What it does:

        * ``on_train_start``: :func:`check_loader` on the training DataLoader — raises
          :class:`SpecurateInputError` if Lightning replaced the sampler, or if its ranks are
          not the trainer's.
        * ``on_train_epoch_start``: nothing in Lightning ≥ 2.0, which calls
          ``sampler.set_epoch(current_epoch)`` itself before each epoch (after a prefetching
          ``iter`` in the first one — harmless, the plan of an epoch is fixed at its first
          snapshot); if the sampler's epoch lags (an older Lightning), calls it.
        * ``on_train_end``: flushes observations the sampler still buffers.
        * ``state_dict``/``load_state_dict``: the sampler's state goes into Lightning checkpoints
          and is restored by ``trainer.fit(..., ckpt_path=...)``. Restoring needs the sampler
          set before ``fit``.

        Args:
            sampler: the training sampler; may also be assigned to :attr:`sampler` later, up to
                ``trainer.fit``.
        """

        def __init__(self, sampler: CurationSampler | None = None) -> None:
            super().__init__()
            self.sampler = sampler
            self._pending: dict[str, Any] | None = None

        def _need(self) -> CurationSampler:
            if not isinstance(self.sampler, CurationSampler):
                raise SpecurateInputError(
                    "CurationCallback has no CurationSampler: pass CurationCallback(sampler) or "
                    "set callback.sampler before trainer.fit"
                )
            return self.sampler

        def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
            """Fail early (before any data is loaded) when fitting without a sampler."""
            if stage == "fit":
                self._need()

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            """Check the wiring: the loader draws from the sampler; its ranks are the trainer's."""
            sampler = self._need()
            check_loader(
                trainer.train_dataloader,
                sampler,
                world_size=trainer.world_size,
                rank=trainer.global_rank,
            )

        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            """Make sure the sampler is at ``trainer.current_epoch`` (Lightning does it itself)."""
            sampler = self._need()
            if sampler.epoch != trainer.current_epoch:
                sampler.set_epoch(trainer.current_epoch)

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            """Apply buffered observations, so ``sampler.accounting()`` is complete."""
            self._need().flush()

        def state_dict(self) -> dict[str, Any]:
            """The sampler's state (see :meth:`CurationSampler.state_dict`) for checkpoints."""
            if self.sampler is None:
                return {}
            return {"sampler": self.sampler.state_dict()}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            """Restore the sampler's state from a checkpoint written by :meth:`state_dict`."""
            if "sampler" in state_dict:
                self._need().load_state_dict(state_dict["sampler"])

    CurationCallback.__module__ = __name__
    return CurationCallback


# ---------------------------------------------------------------------- 🤗 transformers.Trainer
def _default_per_example_loss(outputs: Any, labels: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy of classification logits (a tensor, ``outputs["logits"]``…)."""
    if isinstance(outputs, Mapping):
        logits = outputs["logits"]
    elif isinstance(outputs, (tuple, list)):
        logits = outputs[0]
    else:
        logits = getattr(outputs, "logits", outputs)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise SpecurateInputError(
            f"the default per-example loss needs (batch, classes) logits, got {shape}; pass "
            "CurationTrainer(per_example_loss=fn) with fn(outputs, labels) -> (batch,) losses"
        )
    return F.cross_entropy(logits, labels, reduction="none")


def _make_curation_trainer() -> type:
    try:
        import transformers
        from torch.utils.data import DataLoader
    except ImportError:
        raise ImportError(
            "CurationTrainer needs transformers: pip install 'specurate[integrations]'"
        ) from None

    class _EpochCallback(transformers.TrainerCallback):
        """Calls ``sampler.set_epoch`` at each epoch begin and flushes it at the train end."""

        def __init__(self, sampler: CurationSampler) -> None:
            self.sampler = sampler

        def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            # state.epoch is epoch + steps/steps_in_epoch: exactly e at the start of epoch e, and
            # its floor is the epoch a run resumed mid-epoch is in.
            self.sampler.set_epoch(math.floor((state.epoch or 0.0) + 1e-9))

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.sampler.flush()

    class CurationTrainer(transformers.Trainer):
        r"""A 🤗 ``Trainer`` that trains on a :class:`CurationSampler`'s plans.

        * The training DataLoader draws from ``sampler`` (the train-sampler hook returns it) and
          is *not* passed to ``accelerator.prepare``, whose ``BatchSamplerShard`` would split the
          already sharded plan again under DDP; the Trainer moves batches to the device itself.
        * ``compute_loss`` takes the index column (``index_key``) and the labels out of the
          batch, calls the model on the rest, and returns :func:`curated_loss` (per-example loss
          × the plan's multipliers, observed by the strategy) — in training only; evaluation
          batches give the plain mean loss and are not observed.
        * A callback calls ``sampler.set_epoch`` at each epoch begin (from ``state.epoch``, so a
          run resumed mid-epoch keeps its epoch) and flushes the sampler at the end.

        Items must be dicts holding the index (see :class:`IndexedDictDataset`), and the
        arguments must have ``remove_unused_columns=False`` — the Trainer would otherwise drop
        every key the model's ``forward`` does not name, the index first.

        Args:
            *args, **kwargs: as for ``transformers.Trainer``.
            sampler: the training sampler (built after ``TrainingArguments``, which initializes
                the process group under ``torchrun``).
            per_example_loss: ``fn(outputs, labels) -> (batch,)`` losses; by default the
                cross-entropy of the (batch, classes) logits in ``outputs`` (a tensor, a tuple
                or a mapping/ModelOutput with ``logits``).
            index_key: the batch key holding dataset indices.
            label_key: the batch key holding the labels given to ``per_example_loss``.
        """

        def __init__(
            self,
            *args: Any,
            sampler: CurationSampler,
            per_example_loss: Callable[[Any, torch.Tensor], torch.Tensor] | None = None,
            index_key: str = "idx",
            label_key: str = "labels",
            **kwargs: Any,
        ) -> None:
            if not isinstance(sampler, CurationSampler):
                raise SpecurateInputError(
                    f"sampler must be a CurationSampler, got {type(sampler).__name__}"
                )
            super().__init__(*args, **kwargs)
            if self.args.remove_unused_columns:
                raise SpecurateInputError(
                    "CurationTrainer needs TrainingArguments(remove_unused_columns=False): the "
                    f"Trainer would drop the {index_key!r} column the sampler needs"
                )
            _check_ranks(
                sampler,
                self.args.world_size,
                self.args.process_index,
                "build it after TrainingArguments",
            )
            self.sampler = sampler
            self.per_example_loss = per_example_loss or _default_per_example_loss
            self.index_key = index_key
            self.label_key = label_key
            # compute_loss returns a per-batch mean: the Trainer must divide it by the
            # gradient-accumulation steps itself (it skips that when it believes the model
            # normalized by num_items_in_batch, i.e. for a forward(**kwargs)).
            self.model_accepts_loss_kwargs = False
            self.add_callback(_EpochCallback(sampler))

        def _get_train_sampler(self, train_dataset: Any = None) -> CurationSampler:
            """The curation sampler (the Trainer's hook; the dataset argument is ignored)."""
            return self.sampler

        def get_train_dataloader(self) -> DataLoader:
            """A DataLoader over ``train_dataset`` drawing from the sampler, not re-sharded."""
            if self.train_dataset is None:
                raise SpecurateInputError("CurationTrainer needs a train_dataset")
            dataset = cast(Sized, self.train_dataset)  # map-style: the sampler draws indices
            if len(dataset) != self.sampler.n_examples:
                raise SpecurateInputError(
                    f"train_dataset has {len(dataset)} examples, the sampler was "
                    f"built for {self.sampler.n_examples}"
                )
            a = self.args
            workers = a.dataloader_num_workers
            loader = DataLoader(
                self.train_dataset,
                batch_size=self._train_batch_size,
                sampler=self._get_train_sampler(),
                collate_fn=self.data_collator,
                drop_last=a.dataloader_drop_last,
                num_workers=workers,
                pin_memory=a.dataloader_pin_memory and a.device.type != "cpu",
                persistent_workers=a.dataloader_persistent_workers and workers > 0,
                prefetch_factor=a.dataloader_prefetch_factor if workers > 0 else None,
            )
            check_loader(loader, self.sampler, world_size=a.world_size, rank=a.process_index)
            return loader

        def compute_loss(
            self,
            model: torch.nn.Module,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> torch.Tensor | tuple[torch.Tensor, Any]:
            """Curated loss in training (observed); the plain mean loss in evaluation."""
            inputs = dict(inputs)
            needed = (self.index_key, self.label_key) if model.training else (self.label_key,)
            if any(k not in inputs for k in needed):
                raise SpecurateInputError(
                    f"the batch has keys {sorted(inputs)}; CurationTrainer needs "
                    f"{' and '.join(map(repr, needed))} (wrap the dataset in IndexedDictDataset; "
                    "keep remove_unused_columns=False)"
                )
            idx = inputs.pop(self.index_key, None)
            labels = inputs.pop(self.label_key)
            outputs = model(**inputs)
            per_example = self.per_example_loss(outputs, labels)
            if model.training:
                loss = curated_loss(self.sampler, idx, per_example)
            else:
                loss = per_example.mean()
            return (loss, outputs) if return_outputs else loss

    CurationTrainer.__module__ = __name__
    return CurationTrainer


_FACTORIES: dict[str, Callable[[], type]] = {
    "CurationCallback": _make_curation_callback,
    "CurationTrainer": _make_curation_trainer,
}
_BUILT: dict[str, type] = {}


def __getattr__(name: str) -> type:  # lazy: the frameworks are imported on first access
    if name in _FACTORIES:
        if name not in _BUILT:
            _BUILT[name] = _FACTORIES[name]()
        return _BUILT[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
