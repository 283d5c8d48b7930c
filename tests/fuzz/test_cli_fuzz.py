"""Fuzz the command line with generated bad files and options (issue 16, "Inputs").

Every run ends with exit 0 and a valid result (JSON without NaN/inf; b, α, C numbers or null
beside their reason) or exit 2 and one line ``error: …`` naming the file or option (click's
own usage errors for out-of-range option values also exit 2 and name the option). The
targeted cases are the signatures the first fuzz run found; the random ones are drawn from a
fixed seed. ``benchmarks/fuzz_long.py`` runs the same generator for 10,000+ cases.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

cases = sys.modules["cases"]
Case = cases.Case

_RNG = np.random.default_rng(123)
_X = _RNG.standard_normal((120, 6)) * np.arange(1, 7) ** -0.75


def _case(name, args, **files):
    return Case(name, args, files)


TARGETED = [
    # 1. huge magnitudes: scaled by a power of 2 before the covariance (b is scale-free)
    _case(
        "huge",
        ["spectrum", "{d}/x.npy", "--ci-method", "none", "--json"],
        **{"x.npy": cases.npy_writer(_X * 1e100)},
    ),
    _case(
        "huger",
        ["spectrum", "{d}/x.npy", "--ci-method", "none", "--json"],
        **{"x.npy": cases.npy_writer(_X * 1e300)},
    ),
    # 2. isotropic data: α explained, never a bare null; tables print
    _case(
        "isotropic",
        ["spectrum", "{d}/x.npy", "--groups", "4"],
        **{"x.npy": cases.npy_writer(_RNG.standard_normal((60, 40)))},
    ),
    # 3. .npz members
    _case(
        "npz-object",
        ["spectrum", "{d}/x.npz"],
        **{"x.npz": cases.npz_writer({"x": np.array([1, "a"], dtype=object)})},
    ),
    _case("npz-raw", ["spectrum", "{d}/x.npz"], **{"x.npz": cases.npz_writer({"x": b"not a npy"})}),
    _case(
        "npz-badzip",
        ["spectrum", "{d}/x.npz"],
        **{"x.npz": cases.npz_writer({"arr_0": _X}, corrupt="flip")},
    ),
    _case(
        "npz-truncated",
        ["spectrum", "{d}/x.npz"],
        **{"x.npz": cases.npz_writer({"arr_0": _X}, corrupt="truncate")},
    ),
    # 4. CSV headers
    _case(
        "csv-duplicate",
        ["spectrum", "{d}/x.csv"],
        **{"x.csv": cases.csv_writer(_X, header="duplicate")},
    ),
    _case(
        "csv-latin1", ["spectrum", "{d}/x.csv"], **{"x.csv": cases.csv_writer(_X, header="latin1")}
    ),
    _case(
        "parquet-duplicate",
        ["spectrum", "{d}/x.parquet"],
        **{"x.parquet": cases.parquet_writer(_X, layout="duplicate")},
    ),
    # 5. labels
    _case(
        "complex-labels",
        ["spectrum", "{d}/x.npy", "--labels", "{d}/y.npy"],
        **{"x.npy": cases.npy_writer(_X), "y.npy": cases.npy_writer(np.ones(120) + 1j)},
    ),
    _case("complex-data", ["spectrum", "{d}/x.npy"], **{"x.npy": cases.npy_writer(_X + 1j)}),
    _case(
        "huge-labels",
        ["spectrum", "{d}/x.npy", "--labels", "{d}/y.npy", "--ci-method", "none", "--json"],
        **{
            "x.npy": cases.npy_writer(_X),
            "y.npy": cases.npy_writer(np.where(np.arange(120) % 2, 1e300, -1e300)),
        },
    ),
    # 6. --stream with the guards of the in-memory path
    _case(
        "stream-empty", ["spectrum", "{d}/x.npy", "--stream"], **{"x.npy": cases.bytes_writer(b"")}
    ),
    _case(
        "stream-folder", ["spectrum", "{d}/x.npy", "--stream"], **{"x.npy": cases.folder_writer()}
    ),
    _case(
        "stream-strings",
        ["spectrum", "{d}/x.npy", "--stream"],
        **{"x.npy": cases.npy_writer(_X.astype("U5"))},
    ),
    # 7. options and tiny scales
    _case("seed", ["spectrum", "{d}/x.npy", "--seed", "-1"], **{"x.npy": cases.npy_writer(_X)}),
    _case(
        "rbf-tiny",
        ["spectrum", "{d}/x.npy", "--kernel", "rbf", "--ci-method", "none", "--json"],
        **{"x.npy": cases.npy_writer(_X * 1e-160)},
    ),
    _case(
        "rbf-bandwidth",
        ["spectrum", "{d}/x.npy", "--kernel", "rbf", "--bandwidth", "1e300"],
        **{"x.npy": cases.npy_writer(_X)},
    ),
    _case(
        "reweight-sparse",
        ["reweight", "{d}/x.npy", "--weights", "{d}/w.npy"],
        **{
            "x.npy": cases.npy_writer(_X),
            "w.npy": cases.npy_writer((np.arange(120) % 20 == 0).astype(float)),
        },
    ),
    # 8. special files are refused before opening
    _case("fifo", ["spectrum", "{d}/x.npy"], **{"x.npy": cases.fifo_writer()}),
    _case(
        "fifo-labels",
        ["spectrum", "{d}/x.npy", "--labels", "{d}/y.npy"],
        **{"x.npy": cases.npy_writer(_X), "y.npy": cases.fifo_writer()},
    ),
]


@pytest.mark.parametrize("case", TARGETED, ids=[c.name for c in TARGETED])
def test_targeted(case, tmp_path):
    if "fifo" in case.name and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    out = cases.run_cli(case, tmp_path)
    assert out.kind in ("ok", "error", "usage"), out.detail


def test_huge_data_gives_the_exponent_of_the_scaled_data(tmp_path):
    """b is scale-free: data of 1e100 give the b of the same data at scale 1."""
    import json

    from typer.testing import CliRunner

    from specurate.cli import app

    bs = []
    for scale in (1.0, 1e100, 1e-100):
        np.save(tmp_path / "x.npy", _X * scale)
        r = CliRunner().invoke(
            app, ["spectrum", str(tmp_path / "x.npy"), "--ci-method", "none", "--json"]
        )
        assert r.exit_code == 0, r.output
        bs.append(json.loads(r.stdout)["b"])
    assert bs[1] == pytest.approx(bs[0], rel=1e-9) and bs[2] == pytest.approx(bs[0], rel=1e-9)


def test_isotropic_alpha_is_explained(tmp_path):
    import json

    from typer.testing import CliRunner

    from specurate.cli import app

    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((400, 20)))
    r = CliRunner().invoke(app, ["spectrum", str(tmp_path / "x.npy"), "--groups", "4", "--json"])
    if r.exit_code == 2:  # no fit at all: one sentence
        assert r.stderr.startswith("error: x.npy") and r.stderr.count("\n") == 1
        return
    out = json.loads(r.stdout)
    if out["alpha"] is None:
        assert "not defined" in out["alpha_note"]
    if out["alpha_ci"] is not None and None not in out["alpha_ci"]:
        assert out["alpha_ci"][0] <= out["alpha"] <= out["alpha_ci"][1]


def test_one_line_at_80_columns(tmp_path):
    """A long message stays one line when stderr is not a terminal."""
    import subprocess

    bad = tmp_path / ("a_rather_long_file_name_" * 4 + ".npy")
    bad.write_text("1,2\n")
    env = {**os.environ, "COLUMNS": "80"}
    r = subprocess.run(
        [sys.executable, "-m", "specurate", "spectrum", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and bad.name in r.stderr


@pytest.mark.parametrize("seed", range(2))
def test_random_cases(seed, tmp_path):
    bad = []
    for i, case in enumerate(cases.generate(12, seed=1000 + seed)):
        out = cases.run_cli(case, tmp_path / str(i))
        if out.kind not in ("ok", "error", "usage"):
            bad.append((" ".join(case.args), out.detail))
    assert not bad, bad


@pytest.mark.integration
def test_many_random_cases(tmp_path):
    """≈ 600 cases (about 30 s): the default suite runs 24."""
    bad = []
    for i, case in enumerate(cases.generate(600, seed=7)):
        out = cases.run_cli(case, tmp_path / str(i))
        if out.kind not in ("ok", "error", "usage"):
            bad.append((" ".join(case.args), out.detail))
    assert not bad, bad[:10]
