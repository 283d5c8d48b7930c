"""What a new user hits first: --version, output paths checked before any work, messages that
name the file and the flag, and a matplotlib backend left as the caller set it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from specurate import __version__
from specurate.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("paths")
    np.save(d / "x.npy", np.random.default_rng(0).standard_normal((200, 8)))
    np.save(d / "three.npy", np.ones((60, 3)))
    (d / "afile").write_text("not a folder")
    return d


def _error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.strip() == f"specurate {__version__}"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["spectrum", "{d}/x.npy", "--plot", "{d}/out.xyz"], "unsupported file type '.xyz'"),
        (["spectrum", "{d}/x.npy", "--plot", "{d}"], "is a folder"),
        (["spectrum", "{d}/x.npy", "--plot", "{d}/no/such/p.png"], "does not exist"),
        (["reweight", "{d}/x.npy", "--weights", "{d}/x.npy", "--plot", "{d}/p.txt"], "'.txt'"),
        (["simulate", "--plot", "{d}/missing/p.png"], "does not exist"),
        (["simulate", "--compare", "--out", "{d}/afile"], "is not a folder"),
        (["run", "--out", "{d}/afile"], "exists and is not a folder"),
        (["run", "--out", "{d}/no/such/out"], "does not exist"),
        (["bench", "--out", "{d}/no/such/runs.parquet"], "does not exist"),
        (["bench", "--out", "{d}/runs.csv"], "unsupported file type"),
    ],
)
def test_bad_output_paths_fail_before_any_work(small, args, fragment):
    args = [a.format(d=small) for a in args]
    err = _error(runner.invoke(app, args))
    assert fragment in err and err.count("\n") == 1
    # nothing was created on the way, and no output was written
    assert not (small / "no").exists() and not (small / "missing").exists()
    assert not list(small.glob("*.png")) and not list(small.glob("*.parquet"))


def test_unknown_data_lists_the_builtins():
    err = _error(runner.invoke(app, ["spectrum", "no-such-data"]))
    assert "digits" in err and "mnist5k" in err and "planted" in err


def test_library_errors_name_the_file(small):
    err = _error(runner.invoke(app, ["spectrum", str(small / "three.npy")]))
    assert err.startswith("error: three.npy:")


@pytest.mark.parametrize(
    "args, flag",
    [
        (["bench", "--epochs", "0"], "--epochs"),
        (["bench", "--lr", "-1"], "--lr"),
        (["bench", "--lr-grid", "a,b"], "--lr-grid"),
        (["bench", "--strategies", ","], "--strategies"),
    ],
)
def test_messages_name_the_flag_not_the_internal_parameter(args, flag):
    err = _error(runner.invoke(app, args))
    assert flag in err and "budget_passes" not in err


def test_negative_seed_is_a_usage_error(small):
    r = runner.invoke(app, ["spectrum", str(small / "x.npy"), "--seed", "-1"])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_plotting_leaves_the_callers_matplotlib_backend_alone(tmp_path):
    code = (
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "import specurate.report.plots as p, specurate.report.style as s\n"
        "fig, _ = s.new_figure(2)\n"
        f"p.save(fig, {str(tmp_path / 'f.png')!r})\n"
        "print(matplotlib.get_backend())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "svg"
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
