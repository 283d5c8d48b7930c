"""``specurate.bench.ddp``: the benchmark's training over several processes, resumable.

Fast (default suite): the pure helpers, and the 1-process loop against
:func:`specurate.bench.train.train` (bit-identical) including an interrupted, checkpointed run
resumed to the same result. Integration (``-m integration``, 2 gloo processes on 127.0.0.1):
2 ranks against 1 process (same accounting, same batches split in contiguous slices, final
losses within float-summation tolerance), a rank with another selection is caught, a rank
killed by SIGKILL (a real signal) gives the parent a clear error within the timeout and a rerun
resumes to the uninterrupted result, and ``specurate bench --nproc 2 --json`` end to end.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from specurate.bench.ddp import (  # noqa: E402
    KILL_ENV,
    Job,
    TaskSpec,
    _DdpRun,
    _Fault,
    batch_slice,
    selection_hash,
    train_jobs,
)
from specurate.bench.strategies import make_strategy, needs_oracle  # noqa: E402
from specurate.bench.train import train  # noqa: E402

SPEC = TaskSpec("mode-local", (("n_train", 1500),))
BUDGET, BATCH, LR = 0.5, 64, 0.1
# 750 examples of budget: 11 batches of 64 and a last one of 46 for every built-in strategy
# (none declares scoring work), so 12 optimizer steps per run
STEPS = math.ceil(BUDGET * 1500 / BATCH)


def _without_wall(run) -> dict:
    """A run's record minus its wall-clock fields; NaN (accuracy of mse tasks) made equal."""
    d = run.to_dict() if hasattr(run, "to_dict") else dict(run)
    d.pop("wall_s", None)
    d["curve"] = [{k: v for k, v in c.items() if k != "wall_s"} for c in d["curve"]]
    return json.loads(json.dumps(d, allow_nan=True).replace("NaN", "null"))


# ------------------------------------------------------------------------------ helpers
def test_batch_slices_tile_the_batch_in_order():
    for world in range(1, 5):
        for b in range(0, 11):
            cuts = [batch_slice(b, r, world) for r in range(world)]
            assert cuts[0][0] == 0 and cuts[-1][1] == b
            assert all(cuts[r][1] == cuts[r + 1][0] for r in range(world - 1))
            sizes = [hi - lo for lo, hi in cuts]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_selection_hash_is_exact_in_float64_and_sensitive():
    a = selection_hash(np.array([3, 1, 4]), 7)
    assert a == selection_hash(torch.tensor([3, 1, 4]), 7) and 0 <= a < 2**48
    assert float(a) == a  # travels exactly in a float64 all_gather
    assert a != selection_hash(np.array([1, 3, 4]), 7) and a != selection_hash([3, 1, 4], 8)


def test_one_process_equals_train_and_resumes_bit_identically(tmp_path, monkeypatch):
    """nproc=1 is the 1-process loop exactly; a run interrupted after step 5 (checkpoint every
    2 steps: the last at step 4) and started again ends with the uninterrupted result."""
    spec = TaskSpec("mode-local", (("n_train", 600), ("n_test", 1000)))
    task = spec(0)
    names = ("loss", "frontier-eigen")  # a reweighting strategy, one reading residuals
    kw = dict(budget_passes=0.3, batch_size=32)
    ref = [train(task, make_strategy(n, task, **kw), seed=1, lr=LR, label=n, **kw) for n in names]
    jobs = [Job(n, 1, LR) for n in names]
    got = train_jobs(spec, jobs, nproc=1, **kw)
    assert all(r.first_seed == 0 for r in got)  # named by the task's (first) seed
    assert [_without_wall(dataclasses.replace(r, first_seed=None)) for r in got] == [
        _without_wall(r) for r in ref
    ]

    class Interrupted(Exception):
        pass

    def tick(self):
        self.steps += 1
        if self.steps == 5 + 6:  # the first run has 6 steps; stop after step 5 of the second
            raise Interrupted

    monkeypatch.setattr(_Fault, "tick", tick)
    with pytest.raises(Interrupted):
        train_jobs(spec, jobs, nproc=1, checkpoint=tmp_path, checkpoint_every=2, **kw)
    saved = {p.name.split("-s1-")[0]: torch.load(p, weights_only=True) for p in tmp_path.iterdir()}
    assert saved["run-loss"]["done"] and not saved["run-frontier-eigen"]["done"]
    assert saved["run-frontier-eigen"]["steps"] == 4
    monkeypatch.undo()
    resumed = train_jobs(spec, jobs, nproc=1, checkpoint=tmp_path, checkpoint_every=2, **kw)
    assert [_without_wall(r) for r in resumed] == [_without_wall(r) for r in got]


# ------------------------------------------------------------------------------ 2 processes
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Recorder(_DdpRun):
    """Records every step's global batch and this rank's slice of it."""

    def step(self, idx):
        lo, hi = batch_slice(idx.numel(), self.rank, self.world)
        self.log.append((idx.numpy().copy(), idx[lo:hi].numpy().copy()))
        return super().step(idx)


def _recorded_run(rank: int, world: int, seed: int) -> list:
    task = SPEC(0)
    strategy = make_strategy("loss", task, budget_passes=BUDGET, batch_size=BATCH)
    run = _Recorder(task, strategy, Job("loss", seed, LR), rank=rank, world=world, fault=_Fault(9))
    run.log = []
    run.train_ddp(
        BUDGET, BATCH, 20, oracle=False, progress=False, path=None, key="", every=1, resume=None
    )
    return run.log


def _slices_worker(rank: int, port: int, out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=timedelta(seconds=30))
    try:
        torch.set_num_threads(1)
        log = _recorded_run(rank, 2, seed=0)
        # another selection on rank 1 (strategy seed 1): caught at the first step
        try:
            _recorded_run(rank, 2, seed=rank)
            caught = ""
        except RuntimeError as exc:
            caught = str(exc)
        np.savez(
            os.path.join(out, f"rank{rank}.npz"),
            batches=np.concatenate([b for b, _ in log]),
            batches_sizes=[len(b) for b, _ in log],
            mine=np.concatenate([m for _, m in log]),
            mine_sizes=[len(m) for _, m in log],
            caught=caught,
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.integration
def test_two_ranks_split_the_one_process_batches_and_catch_other_selections(tmp_path):
    import torch.multiprocessing as tmp

    try:
        tmp.spawn(_slices_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    except tmp.ProcessExitedException as exc:
        # torch 2.13 can abort a rank at process exit after its work is done (README, Known
        # limits); the ranks' records are what this test checks
        done = all((tmp_path / f"rank{r}.npz").exists() for r in (0, 1))
        if "SIGABRT" not in str(exc) or not done:
            raise
    ranks = []
    for r in (0, 1):
        z = dict(np.load(tmp_path / f"rank{r}.npz"))
        split = {k: np.split(z[k], np.cumsum(z[f"{k}_sizes"])[:-1]) for k in ("batches", "mine")}
        ranks.append({**split, "caught": z["caught"]})
    single = _recorded_run(0, 1, seed=0)
    assert len(single) == STEPS == len(ranks[0]["batches"]) == len(ranks[1]["batches"])
    for k, (batch, _) in enumerate(single):
        for r in ranks:  # the same global batch on every rank, the 1-process one
            np.testing.assert_array_equal(r["batches"][k], batch)
        # rank 0 then rank 1: contiguous slices that tile the batch
        np.testing.assert_array_equal(np.concatenate([r["mine"][k] for r in ranks]), batch)
        assert len(ranks[0]["mine"][k]) == -(-len(batch) // 2)
    for r in ranks:
        assert "trained on other batches" in str(r["caught"])
        assert "curated selections disagree" in str(r["caught"])


@pytest.mark.integration
def test_two_processes_follow_the_one_process_run():
    names = ("uniform", "loss", "frontier", "frontier-eigen", "oracle", "infobatch")
    jobs = [Job(n, 0, LR) for n in names]
    kw = dict(budget_passes=BUDGET, batch_size=BATCH)
    one = train_jobs(SPEC, jobs, nproc=1, **kw)
    two = train_jobs(SPEC, jobs, nproc=2, **kw)
    task = SPEC(0)
    for n, a, b in zip(names, one, two, strict=True):
        strategy = make_strategy(n, task, **kw)
        ref = train(task, strategy, seed=0, lr=LR, label=n, oracle=needs_oracle(n), **kw)
        # nproc=1 is the 1-process run (named by its first seed, which train() does not know)
        assert _without_wall(dataclasses.replace(a, first_seed=None)) == _without_wall(ref)
        # accounting: summed over the ranks, equal to the 1-process run's
        assert (b.forward_passes, b.backward_passes, b.scoring_passes) == (
            a.forward_passes,
            a.backward_passes,
            a.scoring_passes,
        )
        assert [c["passes"] for c in b.curve] == [c["passes"] for c in a.curve]
        # The ranks differ from one process only in float32 summation order (per-rank partial
        # gradient sums + the all-reduce, per-slice forward passes): ~1e-7 relative per step,
        # over 12 stable SGD steps; observed ≤ 3e-7 on the test losses. 1e-4 is a wide bound
        # that a wrong batch, scale or rate (errors of 1e-2 and more) cannot meet. (Over long
        # runs a loss-sampling strategy can see such noise flip a draw — module docstring;
        # these 12 steps see none, the same on every run of this test on one platform.)
        for ca, cb in zip(a.curve, b.curve, strict=True):
            assert cb["test_loss"] == pytest.approx(ca["test_loss"], rel=1e-4)
        assert b.test_loss == pytest.approx(a.test_loss, rel=1e-4)


def _cli(args: list[str], env_extra: dict[str, str] | None = None, timeout: float = 60):
    env = dict(os.environ)
    env.pop(KILL_ENV, None)
    env.update(env_extra or {})
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "specurate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return proc, time.perf_counter() - t0


BENCH = ["bench", "--dataset", "mode-local", "--n-train", "1500", "--epochs", str(BUDGET)]
BENCH += ["--seeds", "1", "--strategies", "uniform,loss", "--lr", str(LR), "--json"]
BENCH += ["--batch-size", str(BATCH)]


def _runs(stdout: str) -> list[dict]:
    return [_without_wall(r) for r in json.loads(stdout)["runs"]]


@pytest.mark.integration
def test_a_killed_rank_fails_clearly_and_a_rerun_resumes_to_the_same_result(tmp_path):
    ck = tmp_path / "ck"
    args = [*BENCH, "--nproc", "2", "--checkpoint", str(ck), "--checkpoint-every", "3"]
    # rank 1 SIGKILLs itself after its 16th step: uniform's 12, then 4 of loss's (the last
    # checkpoint: after loss's step 3)
    killed, took = _cli([*args, "--timeout", "20"], {KILL_ENV: f"1:{STEPS + 4}"})
    assert killed.returncode == 1, killed.stderr
    assert took < 40  # the other rank notices at once; never the 20 s timeout, never a hang
    err = killed.stderr
    assert "rank 1 was killed by SIGKILL" in err and "rank 0 of 2 failed in run loss" in err
    assert "rerun the same command to resume" in err and "Traceback" not in err
    saved = {p.name.split("-s0-")[0]: torch.load(p, weights_only=True) for p in ck.glob("*.pt")}
    assert saved["run-uniform"]["done"] and saved["run-loss"]["steps"] == 3
    # The rerun resumes at loss's step 3: it trains 9 steps. Had it restarted (12 steps), rank 0
    # would kill itself at its 10th.
    resumed, _ = _cli(args, {KILL_ENV: f"0:{STEPS - 3 + 1}"})
    assert resumed.returncode == 0, resumed.stderr
    straight, _ = _cli([*BENCH, "--nproc", "2"])
    assert straight.returncode == 0, straight.stderr
    assert _runs(resumed.stdout) == _runs(straight.stdout)  # bit-identical (wall clock aside)


@pytest.mark.integration
def test_a_hung_rank_is_reported_after_the_timeout_not_waited_for_forever(tmp_path):
    ck = tmp_path / "ck"
    args = [*BENCH, "--nproc", "2", "--checkpoint", str(ck), "--checkpoint-every", "3"]
    # rank 1 freezes (SIGSTOP) after its 5th step: its connections stay open, nothing comes
    hung, took = _cli([*args, "--timeout", "5"], {KILL_ENV: "1:5:STOP"})
    assert hung.returncode == 1, hung.stderr
    # the timeout, then torch's launcher stops the frozen rank (SIGTERM, SIGKILL: 2 × 3 s)
    assert took < 40
    err = hung.stderr
    assert "rank 0 of 2 failed in run uniform seed 0 after step 5" in err
    assert "Timed out" in err and "5 s timeout" in err
    assert "rank 1 was stopped by the launcher (SIGKILL)" in err
    saved = torch.load(next(ck.glob("run-uniform-*.pt")), weights_only=True)
    assert saved["steps"] == 3 and not saved["done"]


@pytest.mark.integration
def test_one_process_killed_mid_run_resumes_to_the_in_process_result(tmp_path):
    ck = tmp_path / "ck"
    args = [*BENCH, "--checkpoint", str(ck), "--checkpoint-every", "5"]
    killed, _ = _cli(args, {KILL_ENV: f"0:{STEPS + 7}"})  # the process itself, after loss's 7th
    assert killed.returncode == -9
    resumed, _ = _cli(args, {KILL_ENV: f"0:{STEPS - 5 + 1}"})  # resumes at loss's step 5
    assert resumed.returncode == 0, resumed.stderr
    plain, _ = _cli(BENCH)  # today's 1-process path, no checkpoint
    assert plain.returncode == 0, plain.stderr
    assert _runs(resumed.stdout) == _runs(plain.stdout)


@pytest.mark.integration
def test_cli_bench_nproc_2_json_and_table_have_the_one_process_shape():
    args = [
        "bench",
        "--dataset",
        "mode-local",
        "--n-train",
        "1000",
        "--epochs",
        "0.5",
        "--seeds",
        "1",
        "--strategies",
        "uniform,balanced",
        "--lr-grid",
        "0.05,0.2",
    ]
    two, _ = _cli([*args, "--nproc", "2", "--json"])
    one, _ = _cli([*args, "--json"])
    assert two.returncode == 0 and one.returncode == 0, two.stderr + one.stderr
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert a.keys() == b.keys() and [r.keys() for r in a["runs"]] == [r.keys() for r in b["runs"]]
    assert [s.keys() for s in a["summary"]] == [s.keys() for s in b["summary"]]
    for ra, rb in zip(a["runs"], b["runs"], strict=True):  # tuned in the parent: same rates
        assert (ra["strategy"], ra["lr"], ra["backward_passes"]) == (
            rb["strategy"],
            rb["lr"],
            rb["backward_passes"],
        )
        assert rb["test_loss"] == pytest.approx(ra["test_loss"], rel=1e-4)
    table, _ = _cli([*args, "--nproc", "2", "--lr", "0.1"])
    assert table.returncode == 0, table.stderr
    assert "uniform" in table.stdout and "balanced" in table.stdout


def test_bad_nproc_options_name_the_option(tmp_path):
    from typer.testing import CliRunner

    from specurate.cli import app

    bad = CliRunner().invoke(app, ["bench", "--nproc", "2", "--timeout", "0"])
    assert bad.exit_code == 2 and "--timeout" in bad.output
    (tmp_path / "f").write_text("")
    bad = CliRunner().invoke(app, ["bench", "--checkpoint", str(tmp_path / "f")])
    assert bad.exit_code == 2 and "--checkpoint" in bad.output
    assert Path(tmp_path / "f").read_text() == ""
