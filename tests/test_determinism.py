"""Every command gives the same JSON twice in one process (issue 16, "Determinism and seeds").

Each command runs twice in-process (typer's runner) on a small input; the two JSON documents
must be equal to the bit once timing fields (wall-clock seconds, throughput, creation time) are
dropped and the output folder's name is replaced. ``spectrum``, ``reweight`` and
``simulate --compare`` run in the default suite; ``bench`` (torch) and ``run`` (a whole study)
take longer and are integration tests.

Also here: the seed reaches generated data (``planted``), the JSON records its provenance, and
a bench run is named by its actual seed and the comparison's first seed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from specurate.cli import app

runner = CliRunner()
#: timing fields: the only values that may differ between two identical runs
TIMING = frozenset({"wall_s", "wall", "seconds", "examples_per_s", "created"})


def _untimed(doc: Any) -> Any:
    """``doc`` without timing fields, at any depth."""
    if isinstance(doc, dict):
        return {k: _untimed(v) for k, v in doc.items() if k not in TIMING}
    if isinstance(doc, list):
        return [_untimed(v) for v in doc]
    return doc


def _json(args: list[str]) -> dict[str, Any]:
    res = runner.invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _twice(args: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    return _untimed(_json(args)), _untimed(_json(args))


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Per-example weights for digits' 1,797 examples (a fifth dropped, the rest in 0.5–1.5)."""
    rng = np.random.default_rng(4)
    w = rng.uniform(0.5, 1.5, 1797) * (rng.random(1797) > 0.2)
    path = tmp_path_factory.mktemp("w") / "w.npy"
    np.save(path, w)
    return path


def test_spectrum_is_bit_identical():
    one, two = _twice(["spectrum", "digits", "--groups", "10", "--json"])
    assert one == two
    assert one["jackknife_repeats"] == 3 and one["bootstrap"] == 30
    assert one["provenance"]["seed"] == 0 and one["provenance"]["options"]["groups"] == 10


def test_reweight_is_bit_identical(weights: Path):
    one, two = _twice(["reweight", "digits", "--weights", str(weights), "--groups", "10", "--json"])
    assert one == two and one["delta_b_ci"][0] is not None


def test_simulate_compare_is_bit_identical():
    args = ["simulate", "--compare", "--modes", "2000", "--t-max", "1e4", "--no-samples"]
    one, two = _twice([*args, "--json"])
    assert one == two and one["provenance"]["command"] == "simulate"


def test_provenance_records_versions_seed_and_options():
    doc = _json(["spectrum", "digits", "--ci-method", "none", "--seed", "3", "--json"])
    prov = doc["provenance"]
    assert set(prov["versions"]) == {"specurate", "numpy", "scipy", "torch", "python"}
    assert prov["versions"]["numpy"] == np.__version__
    assert prov["seed"] == 3 and prov["command"] == "spectrum"
    assert prov["options"]["ci_method"] == "none" and prov["options"]["data"] == "digits"
    assert prov["blas_threads"] is None or prov["blas_threads"] >= 1
    assert "b" in doc and "b_ci" in doc  # the existing keys stay


@pytest.mark.integration  # 2 s: two spectra of the 20,000-row planted set
def test_planted_follows_the_seed():
    def b(seed: int) -> float:
        args = ["spectrum", "planted", "--ci-method", "none", "--seed", str(seed), "--json"]
        return _json(args)["b"]

    # a different draw for another seed, the same draw for the same seed
    assert b(0) != b(1)
    from specurate.datasets import load_builtin

    assert not np.array_equal(load_builtin("planted", seed=0).x, load_builtin("planted", seed=1).x)


@pytest.mark.integration
def test_bench_is_bit_identical_and_names_runs_by_their_seeds():
    pytest.importorskip("torch")
    args = ["bench", "--dataset", "mode-local", "--n-train", "300", "--epochs", "0.2"]
    args += ["--seeds", "2", "--strategies", "uniform", "--lr", "0.1", "--json"]
    one, two = _twice(args)
    assert one == two
    assert [(r["seed"], r["first_seed"]) for r in one["runs"]] == [(0, 0), (1, 0)]
    # run seed 1 of --seed 1 is another run (another task draw): its label says so
    other = _untimed(_json([*args, "--seed", "1"]))
    assert [(r["seed"], r["first_seed"]) for r in other["runs"]] == [(1, 1), (2, 1)]


@pytest.mark.integration
def test_run_is_bit_identical(tmp_path: Path):
    from specurate.datasets import planted_powerlaw

    ds = planted_powerlaw(400, 16, seed=2)
    np.save(tmp_path / "x.npy", ds.x)
    np.save(tmp_path / "y.npy", (ds.y > 0).astype(np.int64))
    docs = []
    for name in ("a", "b"):
        out = tmp_path / name
        data = [str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy")]
        doc = _json(["run", *data, "--quick", "--out", str(out), "--json"])
        results = json.loads((out / "results.json").read_text())
        text = json.dumps({"cli": doc, "results": _untimed(results)}, sort_keys=True)
        docs.append(json.loads(text.replace(str(out), "OUT")))
    assert docs[0] == docs[1]
