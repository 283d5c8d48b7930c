"""The oracle-approximation and label-noise experiments and the `specurate experiment` CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from specurate.bench import clusters
from specurate.bench.noise import NoiseConfig, NoiseResult, run_noise, with_label_noise
from specurate.bench.tasks import mode_local
from specurate.errors import SpecurateInputError


def test_label_noise_corrupts_exactly_the_mask():
    t = clusters(n_train=3000, n_clusters=10, dim=8, seed=0, n_test=100)
    noisy, mask = with_label_noise(t, 0.2, seed=1)
    assert mask.sum() == 600
    assert np.all(noisy.y_train[mask] != t.y_train[mask])
    assert np.array_equal(noisy.y_train[~mask], t.y_train[~mask])
    assert np.array_equal(noisy.y_test, t.y_test) and np.array_equal(noisy.groups, t.groups)
    again, mask2 = with_label_noise(t, 0.2, seed=1)
    assert np.array_equal(mask, mask2) and np.array_equal(again.y_train, noisy.y_train)
    _, mask3 = with_label_noise(t, 0.2, seed=2)
    assert not np.array_equal(mask, mask3)  # the corruption is seeded
    same, none = with_label_noise(t, 0.0)
    assert same is t and not none.any()
    # regression targets: another mode's value
    r = mode_local(n_train=2000, n_modes=10, seed=0, n_test=100)
    rn, rm = with_label_noise(r, 0.1, seed=0)
    assert np.all(rn.y_train[rm] != r.y_train[rm])
    assert set(np.unique(rn.y_train)) <= set(np.unique(r.y_train))
    for bad in (-0.1, 1.0, math.nan):
        with pytest.raises(SpecurateInputError, match="noise rate"):
            with_label_noise(t, bad)


@pytest.fixture(scope="module")
def noise_result():
    pytest.importorskip("torch")
    t = clusters(n_train=4000, n_clusters=10, dim=8, seed=0, n_test=1000, hidden=(32,))
    config = NoiseConfig(t, rates=(0.0, 0.3), strategies=("loss",), seeds=1, budget_passes=3.0)
    return run_noise(config)


def test_noise_experiment_uniform_share_is_the_rate_and_loss_chases_noise(noise_result):
    res = noise_result.to_dict()
    assert [b["rate"] for b in res["rates"]] == [0.0, 0.3]
    assert [r["strategy"] for r in res["rates"][0]["strategies"]] == ["uniform", "loss"]
    noisy = {r["strategy"]: r for r in res["rates"][1]["strategies"]}
    # uniform trains every example once per pass: exactly 30% of its compute is on noise
    assert noisy["uniform"]["noisy_share"] == pytest.approx(0.3, abs=1e-3)
    clean = {r["strategy"]: r for r in res["rates"][0]["strategies"]}
    assert clean["loss"]["noisy_share"] == 0.0
    # the collapse signature: loss-proportional sampling spends MORE than 30% on noise, and more
    # late than overall (measured 2026-11-27: 0.45 overall, 0.51 late on this task)
    assert noisy["loss"]["noisy_share"] > 0.35
    assert noisy["loss"]["noisy_share_late"] > noisy["loss"]["noisy_share"]
    assert set(res["lr"]) == {"uniform", "loss"}


def test_noise_result_round_trips_through_json(noise_result):
    d = noise_result.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    back = NoiseResult.from_dict(d)
    assert isinstance(back.rates, tuple) and back.to_dict() == d
    assert back.seeds == noise_result.seeds and back.lr == noise_result.lr


def test_noise_runs_are_the_plain_training_loop():
    """Every (rate, seed, strategy) run is ``train`` on the corrupted task with the tracked mask,
    seeds seed-major, the same rate for all noise rates (bit-identical numbers)."""
    pytest.importorskip("torch")
    from specurate._json import jsonable
    from specurate.bench.metrics import summarize
    from specurate.bench.strategies import make_strategy
    from specurate.bench.train import train

    t = clusters(n_train=1500, n_clusters=8, dim=8, seed=0, n_test=300, hidden=(16,))
    config = NoiseConfig(
        t, rates=(0.2,), strategies=("loss",), seeds=2, budget_passes=1.0, lr=0.05, seed=4
    )
    res = run_noise(config).to_dict()
    noisy, mask = with_label_noise(t, 0.2, seed=4)
    runs = [
        train(
            noisy,
            make_strategy(name, noisy, budget_passes=1.0),
            seed=s,
            budget_passes=1.0,
            lr=0.05,
            label=name,
            track=mask,
        )
        for s in (4, 5)
        for name in ("uniform", "loss")
    ]
    rows = {r["strategy"]: jsonable(r) for r in summarize(runs)}  # NaN → None, as in JSON
    for row in res["rates"][0]["strategies"]:
        ref = rows[row["strategy"]]
        assert row["test_loss"] == ref["test_loss"] and row["speedup"] == ref["speedup"]
        assert row["n_reached"] == ref["n_reached"]
    assert [r["strategy"] for r in res["rates"][0]["strategies"]] == ["uniform", "loss"]


def test_noise_rejects_the_oracle():
    t = clusters(n_train=300, n_clusters=4, dim=4, seed=0, n_test=50)
    with pytest.raises(SpecurateInputError, match="strategies 'oracle'"):
        NoiseConfig(t, strategies=("oracle",))


@pytest.fixture(scope="module")
def oracle_result():
    pytest.importorskip("torch")
    from specurate.bench.oracle import OracleConfig, run_oracle

    config = OracleConfig(
        n_train=8000,
        n_modes=20,
        budget_passes=2.0,
        seeds=1,
        lr=0.05,
        simulate=False,
        sample_level=False,
    )
    return run_oracle(config)


def test_oracle_experiment_real_training_table(oracle_result):
    from specurate.report.experiments import render_oracle

    res = oracle_result.to_dict()
    rows = {r["strategy"]: r for r in res["real"]}
    assert list(rows) == [
        "uniform",
        "oracle",
        "frontier",
        "loss",
        "infobatch",
        "balanced",
        "random-subset",
    ]
    assert res["lr"] == dict.fromkeys(rows, 0.05)
    assert "simulator" not in res and "sample_level" not in res
    # fractions are ln s / ln s_oracle (measured: the oracle 1.04×, the frontier 1.41×)
    s_o = rows["oracle"]["speedup"]
    assert rows["oracle"]["oracle_fraction"] == pytest.approx(1.0)
    assert rows["frontier"]["oracle_fraction"] == pytest.approx(
        math.log(rows["frontier"]["speedup"]) / math.log(s_o)
    )
    assert rows["uniform"]["speedup"] == pytest.approx(1.0)
    assert len(render_oracle(oracle_result)) == 1
    assert len(render_oracle(res)) == 1  # the JSON document renders the same


def test_oracle_result_round_trips_through_json(oracle_result):
    from specurate.bench.oracle import OracleResult
    from specurate.bench.result import RunResult

    d = oracle_result.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    back = OracleResult.from_dict(d)
    assert all(isinstance(r, RunResult) for r in back.runs)
    assert [r.strategy for r in back.runs] == [r.strategy for r in oracle_result.runs]
    assert back.to_dict() == d


def test_oracle_runs_are_the_plain_training_loop(oracle_result):
    """Run (seed, strategy) of the experiment is ``train`` of that strategy at that seed:
    seeds seed-major, the task drawn at ``seed`` (bit-identical numbers)."""
    from specurate.bench.strategies import make_strategy, needs_oracle
    from specurate.bench.tasks import mode_local
    from specurate.bench.train import train

    task = mode_local(n_train=8000, n_modes=20, seed=0, noise=0.0)
    for name in ("uniform", "oracle", "frontier"):
        run = train(
            task,
            make_strategy(name, task, budget_passes=2.0),
            seed=0,
            budget_passes=2.0,
            lr=0.05,
            label=name,
            oracle=needs_oracle(name),
        )
        mine = next(r for r in oracle_result.runs if r.strategy == name)
        assert mine.test_loss == run.test_loss
        assert [c["test_loss"] for c in mine.curve] == [c["test_loss"] for c in run.curve]


# ---------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize(
    "args, files",
    [
        (["noise", "--dataset", "digits", "--rates", "0,0.2", "--strategies", "loss"], "noise"),
        (["oracle", "--n-train", "3000", "--modes", "8", "--no-simulate"], "oracle"),
    ],
)
def test_cli_experiments_write_json_and_plot(tmp_path, args, files):
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from specurate.cli import app

    res = CliRunner().invoke(
        app,
        [
            "experiment",
            *args,
            "--epochs",
            "1",
            "--seeds",
            "1",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (tmp_path / f"{files}.json").exists() and (tmp_path / f"{files}.png").stat().st_size
    assert out["json"].endswith(f"{files}.json")
    written = json.loads((tmp_path / f"{files}.json").read_text())
    assert written == {k: v for k, v in out.items() if k not in ("json", "plot")}
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary file


def test_cli_experiment_bad_input_exits_2(tmp_path):
    from typer.testing import CliRunner

    from specurate.cli import app

    r = CliRunner().invoke(app, ["experiment", "noise", "--rates", "1.5", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--rates" in r.output
    r = CliRunner().invoke(app, ["experiment", "span", "--setting", "cifar"])
    assert r.exit_code == 2 and "--setting" in r.output
    r = CliRunner().invoke(app, ["experiment", "static", "--epochs", "-1", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--epochs" in r.output
    r = CliRunner().invoke(
        app, ["experiment", "noise", "--dataset", "nope", "--out", str(tmp_path)]
    )
    assert r.exit_code == 2 and "--dataset" in r.output
    assert not list(tmp_path.iterdir())  # nothing written


def test_cli_experiment_checks_out_before_the_work(tmp_path):
    from typer.testing import CliRunner

    from specurate.cli import app

    file = tmp_path / "a-file"
    file.write_text("")
    # an oracle run this size would take minutes: the check must come first
    for out in (file, tmp_path / "missing" / "deeper"):
        r = CliRunner().invoke(app, ["experiment", "oracle", "--out", str(out)])
        assert r.exit_code == 2 and "--out" in r.output, r.output
    assert not (tmp_path / "missing").exists()
