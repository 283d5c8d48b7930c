"""CurationSampler / IndexedDataset: plans through DataLoader workers, schedulers, DDP, resume."""

from __future__ import annotations

import io
import os
import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as tmp  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from specurate.curation.base import (  # noqa: E402
    Plan,
    Strategy,
    StrategyState,
    Uniform,
    bounded_weights,
    check_batch,
    check_stat,
    draw_plan,
    epoch_rng,
    last_occurrence,
    scatter,
)
from specurate.errors import SpecurateInputError  # noqa: E402
from specurate.torch import CurationSampler, IndexedDataset  # noqa: E402

pytestmark = pytest.mark.torch


@dataclass(frozen=True, kw_only=True, eq=False)
class LossState(StrategyState):
    loss: np.ndarray


@dataclass(frozen=True)
class LossProp(Strategy):
    """Test strategy: m = keep·n draws ∝ bounded last-seen loss, importance-weighted; counts
    its update calls in ``calls`` (a class-level list) to check the sampler folds per plan."""

    name: ClassVar[str] = "test-loss-prop"
    needs: ClassVar[frozenset[str]] = frozenset({"loss"})
    calls: ClassVar[list[int]] = []
    keep: float = 0.6

    def init(self, n_examples: int, *, seed: int = 0) -> LossState:
        m = max(1, round(self.keep * n_examples))
        return LossState(n=n_examples, seed=seed, epoch_length=m, loss=np.ones(n_examples))

    def plan(self, state: LossState, epoch: int) -> Plan:
        w = bounded_weights(state.loss, cap=4.0, mix=0.2)
        return draw_plan(w, state.epoch_length, epoch_rng(state, epoch), correction="importance")

    def update(
        self, state: LossState, indices: np.ndarray, stats: Mapping[str, np.ndarray]
    ) -> LossState:
        idx, stats = check_batch(state, indices, stats)
        v = check_stat(stats, "loss", idx.size)
        LossProp.calls.append(idx.size)
        last = last_occurrence(idx)  # the stream's last value of each index wins
        return LossState(
            n=state.n,
            seed=state.seed,
            epoch_length=state.epoch_length,
            loss=scatter(state.loss, idx[last], v[last]),
            accounting=state.accounting + self.cost(idx.size),
        )


def fake_loss(idx) -> torch.Tensor:
    """A per-example 'loss' that is a function of the index only."""
    idx = torch.as_tensor(idx)
    return (idx % 7).to(torch.float32) + 0.5


def toy_data(n: int = 60) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 3, generator=g), torch.randint(0, 2, (n,), generator=g))


# ------------------------------------------------------------------ IndexedDataset
def test_indexed_dataset_prepends_the_index():
    ds = toy_data(5)
    i, x, y = IndexedDataset(ds)[3]
    assert i == 3 and torch.equal(x, ds[3][0]) and torch.equal(y, ds[3][1])
    assert IndexedDataset([10, 20, 30])[2] == (2, 30)
    assert len(IndexedDataset(ds)) == 5
    with pytest.raises(SpecurateInputError):
        IndexedDataset(42)


# ------------------------------------------------------------------ (a) workers
def test_dataloader_with_workers_yields_exactly_the_snapshot_plan():
    n = 60
    sampler = CurationSampler(LossProp(), n, seed=1)
    loader = DataLoader(
        IndexedDataset(toy_data(n)),
        batch_size=8,
        sampler=sampler,
        num_workers=2,
        persistent_workers=True,
    )
    plans = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        expected = LossProp().plan(sampler.state, epoch).indices  # state at the snapshot
        seen = []
        for idx, _x, _y in loader:
            seen.append(idx)
            sampler.observe(idx, fake_loss(idx) * (epoch + 1))  # mid-epoch: plan is unaffected
        seen = torch.cat(seen).numpy()
        np.testing.assert_array_equal(seen, expected)
        assert len(seen) == len(sampler) == 36
        plans.append(seen)
    assert not np.array_equal(plans[0], plans[1])  # observations did steer later epochs


def test_iterating_again_without_set_epoch_moves_to_the_next_epoch():
    s = CurationSampler(Uniform(), 20, seed=4)
    first, second = list(s), list(s)
    st = Uniform().init(20, seed=4)
    assert first == Uniform().plan(st, 0).indices.tolist()
    assert second == Uniform().plan(st, 1).indices.tolist()
    s.set_epoch(0)
    s.set_epoch(0)  # idempotent
    assert list(s) == first


# ------------------------------------------------------------------ (b) schedulers
@pytest.mark.parametrize("drop_last", [False, True])
def test_onecycle_runs_exactly_total_steps(drop_last):
    n, epochs, bs = 50, 4, 8
    sampler = CurationSampler(LossProp(keep=0.5), n, seed=0)
    loader = DataLoader(
        IndexedDataset(toy_data(n)), batch_size=bs, sampler=sampler, drop_last=drop_last
    )
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    total = sampler.total_steps(epochs, bs, drop_last=drop_last)
    assert sampler.planned_epoch_lengths(epochs) == [25] * epochs
    assert total == epochs * (25 // bs if drop_last else -(-25 // bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=total)
    steps = 0
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        assert len(loader) == total // epochs
        for idx, x, y in loader:
            per_ex = torch.nn.functional.cross_entropy(model(x), y, reduction="none")
            loss = (per_ex * sampler.loss_scale(idx)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            steps += 1
            sampler.observe(idx, per_ex)
    assert steps == total == sched.last_epoch
    with pytest.raises(ValueError):  # OneCycleLR refuses a step beyond total_steps
        opt.step()
        sched.step()


# ------------------------------------------------------------------ (c) loss_scale
def test_loss_scale_is_a_new_tensor_and_never_mutates_the_loss():
    sampler = CurationSampler(LossProp(), 40, seed=2)
    sampler.set_epoch(0)
    sampler.observe(torch.arange(40), fake_loss(torch.arange(40)))
    sampler.set_epoch(1)
    plan = sampler.plan
    # The multiplier is a function of the index for draw_plan: all draws of i agree.
    for i in np.unique(plan.indices):
        assert np.ptp(plan.loss_scale[plan.indices == i]) == 0
    idx = torch.as_tensor(plan.indices[:10])
    loss = fake_loss(idx).requires_grad_(False)
    before = loss.clone()
    scale = sampler.loss_scale(idx)
    assert scale.dtype == torch.float32 and scale.shape == (10,)
    np.testing.assert_allclose(scale.numpy(), plan.loss_scale[:10], rtol=1e-6)
    scaled = loss * scale
    scale.mul_(0)  # the returned tensor is the caller's own
    assert torch.equal(loss, before)
    np.testing.assert_allclose(sampler.loss_scale(idx).numpy(), plan.loss_scale[:10], rtol=1e-6)
    assert torch.equal(scaled, before * torch.as_tensor(plan.loss_scale[:10], dtype=torch.float32))
    # observe copies: mutating the tensor afterwards does not change the state.
    losses = fake_loss(idx)
    sampler.observe(idx, losses)
    snap = sampler.state.loss.copy()
    losses.fill_(100.0)
    np.testing.assert_array_equal(sampler.state.loss, snap)


# ------------------------------------------------------------------ (d) global RNGs
def test_no_global_rng_is_touched():
    np_state = np.random.get_state()  # noqa: NPY002 - checking that it is untouched
    py_state, t_state = random.getstate(), torch.get_rng_state()
    sampler = CurationSampler(LossProp(), 48, seed=5)
    # DataLoader itself draws a base seed from torch's global RNG unless given a generator.
    loader = DataLoader(
        IndexedDataset(toy_data(48)),
        batch_size=6,
        sampler=sampler,
        generator=torch.Generator().manual_seed(0),
    )
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for idx, _x, _y in loader:
            _ = fake_loss(idx) * sampler.loss_scale(idx)
            sampler.observe(idx, fake_loss(idx))
    sd = sampler.state_dict()
    sampler.load_state_dict(sd)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert random.getstate() == py_state
    assert torch.equal(torch.get_rng_state(), t_state)


# ------------------------------------------------------------------ (e) DDP
N_DDP, SEED_DDP = 55, 3  # m = 33: not a multiple of 2, so the last shard is padded


def _ddp_worker(rank: int, port: int, out_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=timedelta(seconds=30))
    try:
        import specurate.torch.sampler as mod

        gathers = []
        real = mod.dist.all_gather_object
        mod.dist.all_gather_object = lambda *a, **k: (gathers.append(1), real(*a, **k))[1]
        sampler = CurationSampler(LossProp(), N_DDP, seed=SEED_DDP)  # world/rank from dist
        assert (sampler.num_replicas, sampler.rank) == (2, rank)
        shards = []
        for epoch in range(2):
            sampler.set_epoch(epoch)
            shard = torch.tensor(list(sampler))
            shards.append(shard.numpy())
            for b in shard.split(4):  # both ranks have 17 entries: the same number of batches
                sampler.observe(b, fake_loss(b))
        with pytest.raises(SpecurateInputError, match="flush"):
            _ = sampler.state  # buffered observations: reading would be stale
        sampler.flush()  # one collective folds the last plan's observations
        np.savez(
            os.path.join(out_dir, f"rank{rank}.npz"),
            shard0=shards[0],
            shard1=shards[1],
            loss=sampler.state.loss,
            gathers=len(gathers),
        )
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
def test_ddp_two_ranks_agree_with_a_single_process(tmp_path):
    tmp.spawn(_ddp_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (np.load(tmp_path / f"rank{r}.npz") for r in (0, 1))
    np.testing.assert_array_equal(r0["loss"], r1["loss"])  # identical strategy states
    # one collective per plan (set_epoch 0, set_epoch 1, the final flush), not one per batch
    assert int(r0["gathers"]) == int(r1["gathers"]) == 3

    single = CurationSampler(LossProp(), N_DDP, seed=SEED_DDP)
    for epoch in range(2):
        single.set_epoch(epoch)
        plan = single.plan.indices
        assert len(plan) == 33
        a, b = r0[f"shard{epoch}"], r1[f"shard{epoch}"]
        assert len(a) == len(b) == 17
        merged = np.empty(34, dtype=np.int64)
        merged[0::2], merged[1::2] = a, b
        # Union of the shards = the single-process plan (plus DistributedSampler's wrap pad).
        np.testing.assert_array_equal(merged[:33], plan)
        assert merged[33] == plan[0]
        # a per-batch all-gather order: step by step, rank 0's batch then rank 1's
        for k in range(0, 17, 4):
            for shard in (a, b):
                single.observe(shard[k : k + 4], fake_loss(shard[k : k + 4]))
    np.testing.assert_array_equal(r0["loss"], single.state.loss)


def test_manual_sharding_matches_distributed_sampler_rule():
    for drop_last in (False, True):
        shards = [
            list(
                CurationSampler(Uniform(), 11, seed=0, num_replicas=3, rank=r, drop_last=drop_last)
            )
            for r in range(3)
        ]
        plan = Uniform().plan(Uniform().init(11, seed=0), 0).indices
        total = 9 if drop_last else 12
        ref = np.resize(plan, total)
        for r in range(3):
            assert shards[r] == ref[r:total:3].tolist()


# ------------------------------------------------------------------ (f) resume
def test_state_dict_round_trip_resumes_the_same_plans():
    a = CurationSampler(LossProp(), 30, seed=7)
    a.set_epoch(0)
    for b in torch.tensor(list(a)).split(5):
        a.observe(b, fake_loss(b) * 1.5)
    a.set_epoch(1)
    mid_plan = list(a)  # checkpoint mid-epoch 1
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf)  # weights_only=True by default: plain tensors and values only

    b = CurationSampler(LossProp(), 30, seed=0)
    b.load_state_dict(sd)
    assert b.epoch == 1 and b.seed == 7
    np.testing.assert_array_equal(b.state.loss, a.state.loss)
    np.testing.assert_array_equal(b.shard(), mid_plan)  # the snapshot of epoch 1 came along
    for s in (a, b):
        s.observe(torch.tensor(mid_plan), fake_loss(torch.tensor(mid_plan)))
        s.set_epoch(2)
    assert list(a) == list(b)
    with pytest.raises(SpecurateInputError):
        CurationSampler(Uniform(), 30).load_state_dict(sd)


# ------------------------------------------------------------------ base_indices
def test_base_indices_restrict_the_strategy_to_a_subset():
    base = [9, 3, 17, 4, 12, 0]
    s = CurationSampler(Uniform(), 20, seed=1, base_indices=base)
    assert s.state.n == 6 and len(s) == 6
    out = list(s)
    assert sorted(out) == sorted(base)
    pos = Uniform().plan(Uniform().init(6, seed=1), 0).indices
    assert out == [base[p] for p in pos]
    s.observe(torch.tensor(out), torch.ones(6))
    assert torch.equal(s.loss_scale(torch.tensor(out)), torch.ones(6))
    with pytest.raises(SpecurateInputError, match="not in base_indices"):
        s.observe([5], [1.0])
    with pytest.raises(SpecurateInputError):
        CurationSampler(Uniform(), 20, base_indices=[1, 1])
    with pytest.raises(SpecurateInputError):
        CurationSampler(Uniform(), 20, base_indices=[])


# ------------------------------------------------------------------ (g) bad input
def test_bad_input_raises_clear_errors():
    s = CurationSampler(LossProp(), 20, seed=0)
    s.set_epoch(0)
    idx = torch.arange(4)
    with pytest.raises(SpecurateInputError, match="entries for 4 indices"):
        s.observe(idx, torch.ones(3))
    with pytest.raises(SpecurateInputError, match="NaN"):
        s.observe(idx, torch.tensor([1.0, float("nan"), 1.0, 1.0]))
    with pytest.raises(SpecurateInputError, match="out of range"):
        s.observe(torch.tensor([0, 20]), torch.ones(2))
    with pytest.raises(SpecurateInputError, match="out of range"):
        s.loss_scale([-1])
    with pytest.raises(SpecurateInputError, match="leading dimension"):
        s.observe(idx, torch.ones(4), margin=torch.ones(5))
    with pytest.raises(SpecurateInputError, match="integers"):
        s.observe(torch.tensor([0.5]), torch.ones(1))
    missing = sorted(set(range(20)) - set(s.plan.indices.tolist()))
    if missing:
        with pytest.raises(SpecurateInputError, match="not in the plan"):
            s.loss_scale(missing[:1])
    with pytest.raises(SpecurateInputError):
        CurationSampler(Uniform(), 0)
    with pytest.raises(SpecurateInputError):
        CurationSampler(Uniform(), 10, num_replicas=2, rank=2)
    with pytest.raises(SpecurateInputError):
        CurationSampler(object(), 10)  # type: ignore[arg-type]
    with pytest.raises(SpecurateInputError):
        s.set_epoch(-1)
    np.testing.assert_array_equal(s.state.loss, np.ones(20))  # nothing was applied


@pytest.mark.integration
@pytest.mark.parametrize("strategy", ["uniform", "infobatch", "frontier"])
def test_readme_example_trains(strategy):
    # the README's three-line integration, run as a script (2 epochs keep it short)
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[2] / "examples" / "train_mnist5k.py"
    out = subprocess.run(
        [sys.executable, str(script), strategy, "--epochs", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    acc = float(out.stdout.split("test accuracy ")[1].split()[0])
    assert acc > 0.8  # an MLP reaches ≈ 0.9 after 2 epochs on 4000 digits


@pytest.mark.torch
def test_accounting_counts_trained_and_extra_passes():
    from specurate.curation import OnlineProbe

    s = CurationSampler(OnlineProbe(probe_cost=0.1), 20, seed=0)
    s.set_epoch(0)
    s.observe(torch.arange(8), torch.ones(8), probe_loss=torch.ones(8))
    acc = s.accounting()
    assert acc["trained"] == 8.0
    assert acc["extra_forward"] == 8.0 and acc["extra_compute"] == pytest.approx(0.8)
    s2 = CurationSampler(OnlineProbe(probe_cost=0.1), 20, seed=0)
    s2.load_state_dict(s.state_dict())
    assert s2.accounting() == acc


# ------------------------------------------------------------------ buffering and resume
def test_observations_fold_once_per_plan_into_the_per_batch_state():
    from specurate.curation import LossProportional

    strategy = LossProportional(cap=5.0, epoch_length=30)
    sampler = CurationSampler(strategy, 50, seed=4)
    LossProp.calls.clear()
    counting = CurationSampler(LossProp(), 50, seed=4)
    state = strategy.init(50, seed=4)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        counting.set_epoch(epoch)
        assert np.array_equal(sampler.plan.indices, strategy.plan(state, epoch).indices)
        for b in torch.tensor(list(sampler)).split(7):
            sampler.observe(b, fake_loss(b) * (epoch + 1))
            counting.observe(b, fake_loss(b))
            state = strategy.update(
                state, b.numpy(), {"loss": (fake_loss(b) * (epoch + 1)).numpy()}
            )
    assert sampler.accounting()["trained"] == 90.0  # buffered observations are counted
    sampler.flush()
    counting.flush()
    assert LossProp.calls == [30, 30, 30]  # one update per plan, not one per batch (5 each)
    np.testing.assert_array_equal(sampler.state.values["loss"], state.values["loss"])
    np.testing.assert_array_equal(sampler.state.last_seen, state.last_seen)


def _train_stream(sampler, epochs, stop_after=None):
    """Indices trained, epoch by epoch, batch 4; stops (returning early) after ``stop_after``
    batches in total."""
    seen, k = [], 0
    start = sampler.epoch
    for epoch in range(start, epochs):
        sampler.set_epoch(epoch)
        batch = []
        for i in sampler:
            batch.append(i)
            if len(batch) == 4:
                b = torch.tensor(batch)
                sampler.observe(b, fake_loss(b) + epoch)
                seen.extend(batch)
                batch, k = [], k + 1
                if stop_after is not None and k == stop_after:
                    return seen
        if batch:
            b = torch.tensor(batch)
            sampler.observe(b, fake_loss(b) + epoch)
            seen.extend(batch)
    sampler.flush()
    return seen


def test_mid_epoch_resume_gives_the_uninterrupted_run():
    from specurate.curation import FrontierSampler

    groups = np.arange(40) % 5
    make = lambda: CurationSampler(  # noqa: E731
        FrontierSampler(soft=True, horizon=8, epoch_length=24), 40, seed=3, groups=groups
    )
    full = make()
    ref = _train_stream(full, 4)
    first = make()
    part = _train_stream(first, 4, stop_after=8)  # 6 batches in epoch 0, 2 into epoch 1
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)
    buf.seek(0)
    resumed = make()
    resumed.load_state_dict(torch.load(buf, weights_only=True))
    assert resumed.epoch == 1
    rest = _train_stream(resumed, 4)
    assert part + rest == ref  # the same examples in the same order
    for field in ("ema_sum", "ema_count", "ref_sum", "ref_count"):
        np.testing.assert_array_equal(getattr(resumed.state, field), getattr(full.state, field))
    assert resumed.accounting() == full.accounting()


def test_checkpoint_of_another_data_set_is_refused_and_nothing_changes():
    a = CurationSampler(LossProp(), 30, seed=1)
    a.set_epoch(0)
    sd = a.state_dict()
    other = CurationSampler(LossProp(), 31, seed=1)
    before = other.state.loss.copy()
    with pytest.raises(SpecurateInputError, match="30 examples"):
        other.load_state_dict(sd)
    np.testing.assert_array_equal(other.state.loss, before)
    with pytest.raises(SpecurateInputError):
        other.load_state_dict({"version": 1})


@pytest.mark.filterwarnings("ignore:.set_vital. is deprecated:UserWarning")
def test_stateful_dataloader_resumes_mid_epoch():
    sdl = pytest.importorskip("torchdata.stateful_dataloader")
    ds = IndexedDataset(toy_data(40))

    def run(loader, sampler, epochs, stop=None, start=0):
        out = []
        for epoch in range(start, epochs):
            sampler.set_epoch(epoch)
            for k, (idx, _x, _y) in enumerate(loader):
                sampler.observe(idx, fake_loss(idx))
                out.append(idx.tolist())
                if stop is not None and (epoch, k) == stop:
                    return out, loader.state_dict()
        return out, None

    def make():
        s = CurationSampler(LossProp(), 40, seed=2)
        return s, sdl.StatefulDataLoader(ds, batch_size=5, sampler=s)

    s0, l0 = make()
    ref, _ = run(l0, s0, 3)
    s1, l1 = make()
    head, sd = run(l1, s1, 3, stop=(1, 1))  # stop after the 2nd batch of epoch 1
    s2, l2 = make()
    l2.load_state_dict(sd)  # restores the sampler (at the next iter) through its protocol
    tail, _ = run(l2, s2, 3, start=1)  # the loop's own epoch counter is the user's to save
    assert head + tail == ref


def test_chain_accounting_through_the_sampler_counts_the_probe():
    from specurate.curation import KeepMask, OnlineProbe, chain

    keep = np.arange(20) % 4 != 0
    s = CurationSampler(chain(KeepMask(), OnlineProbe(probe_cost=0.1)), 20, seed=0, mask=keep)
    s.set_epoch(0)
    idx = torch.tensor(s.shard()[:8])
    s.observe(idx, torch.ones(8), probe_loss=torch.ones(8))
    for acc in (s.accounting(), (s.flush(), s.accounting())[1]):
        assert acc["trained"] == 8.0
        assert acc["extra_forward"] == 8.0 and acc["extra_compute"] == pytest.approx(0.8)
