"""The experiments' config dataclasses (validation naming the field, canonical values), the
bench layer's helpers (JSON values, torch threads) and the layering rule: specurate.bench
imports nothing from the presentation or application layers."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from specurate._json import jsonable
from specurate.bench import clusters
from specurate.bench.noise import NoiseConfig
from specurate.bench.oracle import OracleConfig
from specurate.bench.span import SpanConfig
from specurate.bench.static_sweep import StaticSweepConfig
from specurate.errors import SpecurateInputError


@pytest.fixture(scope="module")
def task():
    return clusters(n_train=200, n_clusters=4, dim=4, seed=0, n_test=50)


# ---------------------------------------------------------------------------- validation
STATIC_BAD = [
    ("budget_passes", -1.0),
    ("budget_passes", math.nan),
    ("budget_passes", 2.0),  # does not cover EL2N's 3 charged passes
    ("seeds", 0),
    ("seeds", [1, 1]),
    ("seeds", [-1]),
    ("seeds", "ab"),
    ("fractions", (0.0,)),
    ("fractions", ()),
    ("fractions", (0.3, 0.3)),
    ("fractions", "0.3"),
    ("scorers", ("forgetting",)),
    ("scorers", ()),
    ("scorers", ("random", "random")),
    ("keeps", ("medium",)),
    ("batch_size", 0),
    ("batch_size", 1.5),
    ("lr", 0.0),
    ("eval_points", 1),
    ("score_epochs", 0),
    ("score_models", 0),
    ("prototype_clusters", 0),
    ("prototype_clusters", 10**6),
    ("targets", ()),
    ("targets", (0.5, -1.0)),
    ("n_targets", 0),
    ("target_span", 0.5),
    ("spectral", "yes"),
    ("spectral_n", 10),
    ("spectral_kernel", "poly"),
    ("spectral_bootstrap", -1),
    ("spectral_seed", -1),
    ("class_balanced", 1),
    ("level", 1.5),
    ("level", 0.0),
    ("threads", 0),
]

ORACLE_BAD = [
    ("a", 1.0),
    ("b", 0.0),
    ("n_train", 0),
    ("n_modes", 0),
    ("budget_passes", 0.0),
    ("seeds", 0),
    ("seed", -1),
    ("lr", -0.1),
    ("lr_grid", ()),
    ("lr_grid", (0.1, 0.0)),
    ("simulate", "no"),
    ("sample_level", None),
]

SPAN_BAD = [
    ({"setting": "cifar"}, "setting"),
    ({"dim": 0}, "dim"),
    ({"span": 10, "dim": 10}, "span"),
    ({"a": 0.0}, "a"),
    ({"b": -1.0}, "b"),
    ({"noise": -0.1}, "noise"),
    ({"n_real": 0}, "n_real"),
    ({"n_teacher": 0}, "n_teacher"),
    ({"n_syn": 0}, "n_syn"),
    ({"steps": 0}, "steps"),
    ({"finetune_steps": 0}, "finetune_steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"lr": -1.0}, "lr"),
    ({"labels": "soft"}, "labels"),  # an option of the mnist1d setting
    ({"n_test": 100}, "n_test"),
    ({"setting": "mnist1d", "dim": 10}, "dim"),
    ({"setting": "mnist1d", "labels": "medium"}, "labels"),
    ({"setting": "mnist1d", "n_test": 0}, "n_test"),
    ({"setting": "mnist1d", "teacher_steps": 0}, "teacher_steps"),
    ({"sources": ["bogus"]}, "sources"),
    ({"sources": []}, "sources"),
    ({"seed": -1}, "seed"),
    ({"eval_points": 0}, "eval_points"),
    ({"num_threads": 0}, "num_threads"),
]

NOISE_BAD = [
    ("rates", (1.0,)),
    ("rates", (-0.1,)),
    ("rates", ()),
    ("rates", (0.1, 0.1)),
    ("strategies", ("oracle",)),
    ("strategies", ("nope",)),
    ("strategies", ()),
    ("seeds", 0),
    ("budget_passes", 0.0),
    ("lr", 0.0),
    ("seed", -1),
    ("make_task", 5),
]


def _raises_naming(field: str, make) -> None:
    with pytest.raises(SpecurateInputError) as info:
        make()
    msg = str(info.value)
    assert field in msg, msg
    assert msg.count(". ") == 0  # one sentence


@pytest.mark.parametrize(("field", "value"), STATIC_BAD)
def test_static_config_rejects_each_bad_field(task, field, value):
    _raises_naming(field, lambda: StaticSweepConfig(task, **{field: value}))


@pytest.mark.parametrize(("field", "value"), ORACLE_BAD)
def test_oracle_config_rejects_each_bad_field(field, value):
    _raises_naming(field, lambda: OracleConfig(**{field: value}))


@pytest.mark.parametrize(("kw", "field"), SPAN_BAD)
def test_span_config_rejects_each_bad_field(kw, field):
    _raises_naming(field, lambda: SpanConfig(**kw))


@pytest.mark.parametrize(("field", "value"), NOISE_BAD)
def test_noise_config_rejects_each_bad_field(task, field, value):
    _raises_naming(field, lambda: NoiseConfig(task, **{field: value}))


@pytest.mark.parametrize("make", [StaticSweepConfig, NoiseConfig])
def test_configs_need_a_task(make):
    _raises_naming("task", lambda: make("clusters"))


# ---------------------------------------------------------------------------- canonical values
def test_static_config_canonical_values(task):
    c = StaticSweepConfig(task, seeds=3, targets=(0.2, 0.9, 0.5), fractions=[0.5, 0.25])
    assert c.seeds == (0, 1, 2) and c.fractions == (0.5, 0.25)
    assert c.targets == (0.9, 0.5, 0.2)  # decreasing
    assert c.prototype_clusters == task.n_classes
    assert StaticSweepConfig(task, seeds=[5, 2]).seeds == (5, 2)
    assert StaticSweepConfig(task, scorers="random").scorers == ("random",)
    # random has no keep direction; scored pruners one configuration per keep
    c = StaticSweepConfig(task, fractions=(0.3,), scorers=("random", "el2n"), keeps=("hard",))
    assert c.pruning == [("random", None, 0.3), ("el2n", "hard", 0.3)]
    s = c.settings()
    assert s["seeds"] == [0, 1] and s["scorers"] == ["random", "el2n"] and s["threads"] is None
    assert list(s)[:3] == ["budget_passes", "seeds", "fractions"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr = 1.0  # type: ignore[misc]


def test_oracle_and_noise_config_canonical_values(task):
    c = OracleConfig(lr_grid=[0.1, 0.2], a=3)
    assert c.lr_grid == (0.1, 0.2) and c.a == 3.0 and isinstance(c.a, float)
    t = c.make_task(0)
    assert t.name == "mode-local" and t.n_train == 200_000
    n = NoiseConfig(task, strategies=("loss", "uniform", "frontier"), rates=[0, 0.5])
    assert n.strategies == ("uniform", "loss", "frontier")  # uniform first, always
    assert NoiseConfig(task, strategies=("loss",)).strategies == ("uniform", "loss")
    assert n.rates == (0.0, 0.5)


# ---------------------------------------------------------------------------- helpers
def test_jsonable_converts_numpy_and_non_finite():
    doc = jsonable(
        {
            1: np.float32(0.5),
            "a": (np.int64(3), np.bool_(True), math.nan, -math.inf),
            "b": np.arange(2),
            "c": [None, "x"],
        }
    )
    assert doc == {"1": 0.5, "a": [3, True, None, None], "b": [0, 1], "c": [None, "x"]}
    assert type(doc["a"][0]) is int and type(doc["a"][1]) is bool and type(doc["1"]) is float


def test_torch_threads_sets_and_restores():
    torch = pytest.importorskip("torch")
    from specurate.bench._threads import torch_threads

    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with torch_threads(target):
        assert torch.get_num_threads() == target
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(target):
        raise RuntimeError
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
