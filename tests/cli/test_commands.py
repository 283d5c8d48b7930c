"""The command line: --json output contracts and exit code 2 with one sentence on bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from specurate.cli import app
from specurate.datasets import planted_powerlaw

runner = CliRunner()
SPECTRUM_KEYS = {"n", "d", "eigenvalues", "b", "b_ci", "fit_range", "a", "a_ci"}
REWEIGHT_KEYS = {"C", "b", "b_w", "loewner_upper_ok", "max_eig_ratio", "k0"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    ds = planted_powerlaw(3000, 64, b=1.5, a=2.0, seed=0)
    np.save(d / "x.npy", ds.x)
    np.save(d / "y.npy", ds.y)
    np.save(d / "w.npy", (np.arange(3000) % 2).astype(float))
    np.save(d / "w_short.npy", np.ones(10))
    np.save(d / "w_neg.npy", -np.ones(3000))
    np.save(d / "y_short.npy", np.ones(10))
    (d / "text.csv").write_text("a,b\n" + "".join(f"{i},x{i}\n" for i in range(60)))
    return d


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_spectrum_json_keys(files):
    out = _json(
        runner.invoke(
            app,
            [
                "spectrum",
                str(files / "x.npy"),
                "--labels",
                str(files / "y.npy"),
                "--bootstrap",
                "10",
                "--json",
            ],
        )
    )
    assert SPECTRUM_KEYS <= out.keys()
    assert out["n"] == 3000 and out["d"] == 64 and len(out["eigenvalues"]) == 64
    assert abs(out["b"] - 1.5) < 0.1 and abs(out["a"] - 2.0) < 0.15
    assert out["b_ci"][0] < out["b_ci"][1]


def test_spectrum_builtin_and_plot(tmp_path):
    plot = tmp_path / "s.png"
    out = _json(
        runner.invoke(
            app,
            [
                "spectrum",
                "digits",
                "--bootstrap",
                "5",
                "--top",
                "20",
                "--plot",
                str(plot),
                "--json",
            ],
        )
    )
    assert len(out["eigenvalues"]) == 20 and out["a"] is not None
    assert plot.stat().st_size > 1000


def test_reweight_json_keys(files):
    out = _json(
        runner.invoke(
            app,
            [
                "reweight",
                str(files / "x.npy"),
                "--weights",
                str(files / "w.npy"),
                "--bootstrap",
                "5",
                "--json",
            ],
        )
    )
    assert REWEIGHT_KEYS <= out.keys()
    assert out["loewner_upper_ok"] is True
    assert out["C"] == pytest.approx(2.0)


BAD_INPUT = [
    (["spectrum", "{d}/missing.npy"], "missing.npy: no such file"),
    (["spectrum", "{d}/x.npy", "--labels", "{d}/y_short.npy"], "y_short.npy: has 10 rows"),
    (["spectrum", "{d}/text.csv"], "column 'b' is not numeric"),
    (["reweight", "{d}/x.npy", "--weights", "{d}/w_short.npy"], "w_short.npy: has 10 rows"),
    (["reweight", "{d}/x.npy", "--weights", "{d}/w_neg.npy"], "negative weights"),
    (["spectrum", "{d}/text.csv", "--stream"], "--stream needs"),
    (["spectrum", "{d}/x.npy", "--scheduler", "tcp://127.0.0.1:9"], "need --engine dask"),
    # more jackknife groups than examples: refused at once (it used to run 300,000 replicates)
    (["spectrum", "{d}/x.npy", "--kernel", "rbf", "--groups", "100000"], "groups must be"),
]


@pytest.mark.parametrize("args, fragment", BAD_INPUT)
def test_bad_input_exits_2_with_one_sentence(files, args, fragment):
    argv = [a.format(d=files) for a in args] + ["--json"]
    res = runner.invoke(app, argv)
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], res.stderr


def test_bad_input_in_a_real_process_prints_one_line_and_nothing_on_stdout(files):
    """The same through a real interpreter (no test runner between the CLI and the streams)."""
    args, fragment = BAD_INPUT[1]
    argv = [a.format(d=files) for a in args] + ["--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "specurate.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr


def test_stream_matches_in_memory(files):
    mem = _json(
        runner.invoke(app, ["spectrum", str(files / "x.npy"), "--ci-method", "none", "--json"])
    )
    st = _json(
        runner.invoke(
            app, ["spectrum", str(files / "x.npy"), "--stream", "--groups", "5", "--json"]
        )
    )
    # Same eigenvalues; the bias correction uses empirical fourth moments in memory and the
    # Gaussian plug-in when streaming (one pass), which on Gaussian data differ by sampling
    # error only: O(1/√n) of a correction that is itself O(k/n).
    assert st["b"] == pytest.approx(mem["b"], abs=1e-3)
    np.testing.assert_allclose(st["eigenvalues"], mem["eigenvalues"], rtol=1e-9)


def test_stream_rbf_reports_the_nystrom_bound(files):
    """`--stream --kernel rbf`: Nyström features in one pass; the JSON carries the bound and the
    table says it in words."""
    args = ["spectrum", str(files / "x.npy"), "--stream", "--kernel", "rbf", "--landmarks", "200"]
    out = _json(runner.invoke(app, [*args, "--groups", "5", "--json"]))
    ny = out["nystrom"]
    assert out["kernel"] == "rbf" and out["d"] == 64 and ny["landmarks"] == 200
    assert 0 <= ny["trace_gap"] < out["eigenvalues"][0]
    table = runner.invoke(app, [*args, "--groups", "5"])
    assert table.exit_code == 0 and "Nyström: 200 landmarks" in table.stdout
