"""`specurate run DATA`: the study of a user's data set — parts, findings first, streaming past the
in-memory size, two worker processes, progress lines, and bad input."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specurate import study
from specurate.datasets import planted_powerlaw
from specurate.io import load_user_data
from specurate.study import user as user_module


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A planted data set (n = 600, d = 24) as Parquet: an embedding list column, string labels
    (the sign of the target), a long-tailed source column and a weight column."""
    ds = planted_powerlaw(600, 24, b=1.5, a=2.0, seed=3)
    rng = np.random.default_rng(0)
    k = np.arange(1, 9)
    p = k**-1.5 / np.sum(k**-1.5)
    src = np.array([f"s{i}" for i in rng.choice(8, 600, p=p)])
    emb = pa.FixedSizeListArray.from_arrays(pa.array(ds.x.astype(np.float32).ravel()), 24)
    t = pa.table(
        {
            "emb": emb,
            "label": np.where(ds.y > 0, "pos", "neg"),
            "source": src,
            "w": rng.uniform(0.5, 2.0, 600),
        }
    )
    path = tmp_path_factory.mktemp("user") / "planted.parquet"
    pq.write_table(t, path)
    return path


def test_user_study_parts_and_report(table, tmp_path):
    data = load_user_data(table, labels="label", groups="source", weights=["w"])
    parts = study.user_parts(data, quick=True, seed=0)
    keys = [p.key for p in parts]
    assert keys[:2] == ["spectrum-linear", "spectrum-rbf"]
    assert "reweight-user-w" in keys and "reweight-random-prune" in keys
    assert keys[-2:] == ["simulate", "groups"]
    # a smaller subset of parts, for speed: spectrum, the user's weighting, simulator, groups
    pick = [
        p for p in parts if p.key in ("spectrum-linear", "reweight-user-w", "simulate", "groups")
    ]
    doc = study.run_study(tmp_path, data=data, quick=True, progress=False, parts=pick)
    assert doc["data_name"] == "planted.parquet"
    found = doc["findings"]
    assert found[0].startswith("The spectrum of planted.parquet")
    assert any("Your weighting 'w'" in f for f in found)
    assert any(f.startswith("The 8 groups of planted.parquet") for f in found)
    assert all("{" not in f for f in found)  # plain text in results.json
    g = doc["parts"]["groups"]
    assert g["n_groups"] == 8 and g["mass"] == sorted(g["mass"], reverse=True)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert list(saved)[:4] == ["specurate_version", "data_name", "findings", "headline"]
    html = (tmp_path / "report.html").read_text()
    assert html.index("What this data says") < html.index("<h2", html.index("What this data"))


def test_large_data_is_streamed_and_subsampled(table, tmp_path, monkeypatch):
    """Past the in-memory size the spectrum reads every row in chunks and the weightings use a
    random subsample; the streamed b agrees with the in-memory one on the same rows."""
    monkeypatch.setitem(user_module.IN_MEMORY, True, 300)
    data = load_user_data(table, features="emb", labels="label")
    parts = {p.key: p for p in study.user_parts(data, quick=True, seed=0)}
    assert "all 600 rows, streamed" in parts["spectrum-linear"].title
    assert "random 300 of 600 rows" in parts["reweight-keep-easy"].title
    res = parts["spectrum-linear"].compute(tmp_path / "s.png")
    assert res["streamed"] and res["n"] == 600
    from specurate.spectrum.estimate import estimate_spectrum

    mem = estimate_spectrum(data.load(), data.labels, ci_method="none")
    # same covariance, same rank range: the two fits differ only by the finite-sample debiasing
    assert res["fit_range"] == list(mem.fit.fit_range)
    assert res["b"] == pytest.approx(mem.fit.b, abs=0.02)


def test_fingerprint_changes_with_the_options(table):
    from specurate.study.run import fingerprint

    a = fingerprint(load_user_data(table, features="emb", labels="label"))
    assert a == fingerprint(load_user_data(table, features="emb", labels="label"))
    assert a != fingerprint(load_user_data(table, features="emb", labels="source"))
    assert a != fingerprint(load_user_data(table, labels="label", weights=["w"]))


def test_two_workers_give_the_same_results(tmp_path):
    """Parts on two forked processes: same results as in order, dependencies respected."""
    from specurate.study.parts import Part, compute_parts

    def make(key, value):
        return Part(key, key, lambda p: (p.write_bytes(b"png"), {"v": value})[1])

    twice = Part(
        "twice", "twice", lambda p, a: (p.write_bytes(b"png"), {"v": 2 * a["v"]})[1], needs=("a",)
    )
    parts = [make("a", 1), make("b", 2), twice, make("c", 3)]
    one = compute_parts(parts, (tmp_path / "1").mkdir() or tmp_path / "1", "t", progress=False)
    two = compute_parts(
        parts, (tmp_path / "2").mkdir() or tmp_path / "2", "t", progress=False, jobs=2
    )
    assert one == two and two["twice"]["v"] == 2


def test_progress_lines_name_the_part_and_the_time(tmp_path, capsys):
    from specurate._progress import log_progress
    from specurate.study.parts import Part, compute_parts

    part = Part("x", "a part", lambda p: (p.write_bytes(b"png"), {})[1])
    with log_progress(tmp_path / "run.log"):
        compute_parts([part], tmp_path, "t", progress=True, label="study")
    err = capsys.readouterr().err.splitlines()  # pytest's stderr is not a terminal
    assert err[0].startswith("study: [1/1] a part (started at 0:00)")
    assert err[1].startswith("study: 1/1 done (0:0") and err[1].endswith("): a part")
    assert "study: 1/1 done" in (tmp_path / "run.log").read_text()


def _cli(*argv):
    """``specurate run ARGV`` in this process (typer's runner: the same exit code and streams)."""
    from typer.testing import CliRunner

    from specurate.cli import app

    return CliRunner().invoke(app, ["run", *argv], catch_exceptions=False)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--features", "emb", "--labels", "nope"], "no column 'nope'"),
        (["--features", "emb", "--weights", "label"], "label"),
        (["--features", "source"], "source"),
        ([], "--features"),  # a list column and a numeric column: which one is meant?
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(table, tmp_path, argv, words):
    r = _cli(str(table), *argv, "--out", str(tmp_path / "o"), "--quick")
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "o" / "report.html").exists()  # no partial report


def test_options_without_data_are_refused(tmp_path):
    r = _cli("--labels", "y", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "need a DATA file or folder" in r.stderr


def test_file_names_in_findings_are_not_read_as_formulas():
    from specurate.report.html import _findings_html

    doc = {
        "data_name": "my_data.parquet",
        "parts": {
            "g": {
                "kind": "groups",
                "data": "my_data.parquet",
                "n_groups": 2,
                "mass": [0.6, 0.4],
                "mass_exponent": None,
                "imbalance": 1.5,
                "budgets": [10],
                "rules": {},
            }
        },
    }
    out = _findings_html(doc)
    assert "<code>my_data.parquet</code>" in out and "<msub>" not in out.split("hold")[0]


@pytest.mark.integration
def test_dask_engine_computes_the_full_spectrum_on_a_local_cluster(table, tmp_path):
    """`run DATA --engine dask`: the covariance spectrum of every row comes from the cluster's
    workers (labels and the other columns left out of the features, as locally) and equals the
    local streaming pass on the same groups of rows; results are kept apart from a local run."""
    pytest.importorskip("distributed")
    from typer.testing import CliRunner

    from specurate.cli import app
    from specurate.spectrum.large import estimate_spectrum_streaming

    args = ["run", str(table), "--labels", "label", "--groups", "source", "--weights", "w"]
    res = CliRunner().invoke(
        app,
        [*args, "--engine", "dask", "--workers", "2", "--quick", "--out", str(tmp_path), "--json"],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "results.json").read_text())
    part = doc["parts"]["spectrum-linear"]
    assert part["engine"] == "dask" and part["n"] == 600 and part["d"] == 24
    data = load_user_data(table, labels="label", groups="source", weights=["w"])
    ref = estimate_spectrum_streaming(data.rows, data.labels, task="classification", groups=10)
    assert part["b"] == pytest.approx(ref.fit.b, rel=1e-9)
    assert part["b_ci"] == pytest.approx(list(ref.b_ci), rel=1e-8)
    saved = list((tmp_path / "parts").glob("*.json"))
    assert saved and all(p.stem.endswith("-dask") for p in saved)
    bad = CliRunner().invoke(app, ["run", "--engine", "dask", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "--engine dask studies your DATA" in bad.stderr
