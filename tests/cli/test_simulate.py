"""``specurate simulate``: JSON keys, policy knobs, bad parameters, --compare outputs, and a
measured spectrum."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from specurate.cli import app
from specurate.dynamics.compare import REFERENCE_ORACLE

runner = CliRunner()


def test_cli_simulate_json_keys():
    res = runner.invoke(
        app,
        [
            "simulate",
            "--a",
            "2",
            "--b",
            "1.5",
            "--policy",
            "static",
            "--modes",
            "2000",
            "--t-max",
            "1e5",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in (
        "policy",
        "loss_exponent",
        "frontier_exponent",
        "t",
        "loss",
        "k_star",
        "budget",
        "speedup_at_target",
    ):
        assert key in out
    assert out["policy"] == "static" and out["budget"] == "operator"
    assert len(out["t"]) == len(out["loss"]) == len(out["k_star"])


def test_cli_simulate_knobs_and_kappa_grow():
    res = runner.invoke(
        app,
        [
            "simulate",
            "--policy",
            "oracle",
            "--kappa",
            "grow",
            "--modes",
            "2000",
            "--t-max",
            "1e4",
            "--json",
        ],
    )
    out = json.loads(res.stdout)
    assert out["params"]["growth"] == 1.0 and out["params"]["kappa"] == 3.0
    res = runner.invoke(
        app,
        [
            "simulate",
            "--policy",
            "self-score",
            "--set",
            "noise=0.5",
            "--set",
            "cap=none",
            "--modes",
            "2000",
            "--t-max",
            "1e4",
            "--json",
        ],
    )
    out = json.loads(res.stdout)
    assert out["params"]["noise"] == 0.5 and out["params"]["cap"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--a", "1.0"], "a must be > 1"),
        (["--b", "0"], "b must be > 0"),
        (["--policy", "oracle", "--kappa", "0"], "(kappa) must be a finite number > 0"),
        (["--policy", "oracle", "--kappa", "x"], "number or 'grow'"),
        (["--policy", "magic"], "unknown policy"),
        (["--modes", "5"], "≥ 10"),
        (["--policy", "probe", "--set", "speed=3"], "no knob speed"),
        (["--set", "noequals"], "name=value"),
    ],
)
def test_cli_simulate_rejects_bad_parameters(args, message):
    extra = [] if "--modes" in args else ["--modes", "1000"]
    res = runner.invoke(app, ["simulate", *args, *extra])
    assert res.exit_code == 2
    assert message in res.output


@pytest.mark.integration  # end to end: the full default comparison (7 s)
def test_cli_simulate_compare_writes_outputs(tmp_path):
    res = runner.invoke(
        app,
        [
            "simulate",
            "--compare",
            "--modes",
            "5000",
            "--t-max",
            "1e4",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (tmp_path / "compare.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "compare.json").read_text())
    assert saved["paper_vs_measured"] == out["paper_vs_measured"]
    fams = out["sample_level"]["families"]
    # cluster examples carry one mode each: realized mode weights equal the intended ones
    assert fams["clusters"]["mismatch"] < 1e-9 < fams["gaussian"]["mismatch"]
    labels = {p["label"] for p in out["policies"]}
    assert {
        "baseline",
        REFERENCE_ORACLE,
        "soft-oracle",
        "self-score",
        "probe",
        "synthetic-teacher",
        "synthetic-self",
    } <= labels


def test_cli_simulate_measured_spectrum_of_builtin_data():
    # a finite measured problem (digits: 61 modes): once every mode is learned the soft
    # oracle's ODE is stiff; the run must still finish (LSODA) and keep lowering the loss
    res = runner.invoke(
        app, ["simulate", "--data", "digits", "--policy", "soft-oracle", "--t-max", "1e5", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["problem"]["source"].startswith("measured")
    assert out["n_modes"] < 64 and not out["tail_closure"]
    loss = np.array(out["loss"])
    assert np.all(np.diff(loss) <= 1e-12 * loss[0]) and loss[-1] < 1e-3 * loss[0]
