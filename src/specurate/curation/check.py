r"""The Strategy contract as a reusable test suite (like scikit-learn's estimator checks).

Each property is one small function ``check_*(strategy, setup)`` that raises
``AssertionError`` naming what failed. :func:`strategy_checks` lists them,
:func:`parametrize_with_checks` turns them into pytest cases (one id per strategy and
property, so a failure names the property), and :func:`check_strategy` runs them all.

Checks:

* ``init`` — a :class:`StrategyState` with ``epoch_length ≥ 1`` and read-only arrays;
* ``plan_shape`` — exactly ``epoch_length`` entries, indices in [0, n), finite scales ≥ 0;
* ``plan_deterministic`` — the same (state, epoch) gives the same plan;
* ``plan_seeded`` — another seed gives other plans;
* ``update_pure`` — update leaves the old state untouched and is deterministic;
* ``update_split_invariant`` — update(update(s, A), B) equals update(s, A ⧺ B): what lets the
  torch sampler fold a whole plan's observations at once;
* ``input_validation`` — out-of-range indices, NaN / wrong-length statistics, a state of
  another data-set size raise :class:`SpecurateInputError`, and the state is unchanged;
* ``accounting_composed`` — inside a chain (behind a keep-all filter) the strategy's scoring
  work is counted once per trained example, exactly as alone;
* ``ddp_agreement`` — R ranks that each observe their shard (``r::R``) of a plan and fold the
  gathered observations once per plan end in the same state as one process folding batch by
  batch;
* ``unbiased`` (where declared) — the expected scaled gradient of a plan equals the full-data
  gradient, (1/m) E[Σ_j scale_j g_{idx_j}] = mean_i g_i: exactly via ``expected_weights``
  (every entry 1/n, to 1e-9), else by Monte Carlo within 5 standard errors.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specurate import _rng
from specurate.curation.base import Plan, Strategy, StrategyState, states_equal
from specurate.curation.combine import chain, declares_unbiased
from specurate.errors import SpecurateInputError

__all__ = [
    "CheckReport",
    "CheckSetup",
    "check_strategy",
    "default_stats",
    "parametrize_with_checks",
    "strategy_checks",
]

StatsFn = Callable[[np.ndarray, np.random.Generator], Mapping[str, np.ndarray]]


def default_stats(indices: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Synthetic per-example statistics for every key a built-in strategy may need."""
    m = indices.size
    base = 0.1 + (indices % 7) / 7.0  # example-dependent, so scores differ across examples
    return {
        "loss": base + 0.05 * rng.random(m),
        "loss_other": 0.5 * base + 0.05 * rng.random(m),
        "probe_loss": base + 0.1 * rng.random(m),
        "disagreement": 0.2 * base * rng.random(m),
    }


@dataclass(frozen=True)
class CheckSetup:
    """Where the checks run: ``n`` examples, init ``data`` (a mapping, or a function of n),
    ``seed``, synthetic statistics, ``warmup`` observed epochs, ``epochs`` Monte Carlo plans."""

    n: int = 200
    seed: int = 0
    data: Mapping[str, Any] | Callable[[int], Mapping[str, Any]] | None = None
    stats_fn: StatsFn = default_stats
    warmup: int = 2
    epochs: int = 400

    def init_data(self, n: int | None = None) -> dict[str, Any]:
        d = self.data(self.n if n is None else n) if callable(self.data) else self.data
        return dict(d or {})

    def init(self, strategy: Strategy, *, seed: int | None = None) -> StrategyState:
        s = self.seed if seed is None else seed
        return strategy.init(self.n, seed=s, **self.init_data())

    def warmed(self, strategy: Strategy) -> tuple[StrategyState, np.random.Generator]:
        """A state after ``warmup`` epochs of observations (dynamic strategies non-trivial)."""
        rng = _rng.stream("root", self.seed)
        state = self.init(strategy)
        for e in range(self.warmup):
            p = strategy.plan(state, e)
            stats = self.stats_fn(p.indices, rng)
            missing = set(strategy.needs) - set(stats)
            assert not missing, f"stats_fn does not provide {sorted(missing)}"
            state = strategy.update(state, p.indices, stats)
        return state, rng


def _arrays(state: Any) -> Iterator[tuple[str, np.ndarray]]:
    for f in dataclasses.fields(state):
        v = getattr(state, f.name)
        if isinstance(v, np.ndarray):
            yield f.name, v
        elif isinstance(v, Mapping):
            yield from ((f"{f.name}.{k}", a) for k, a in v.items() if isinstance(a, np.ndarray))
        elif isinstance(v, tuple):
            for i, c in enumerate(v):
                if isinstance(c, np.ndarray):
                    yield f"{f.name}[{i}]", c
                elif dataclasses.is_dataclass(c):
                    yield from ((f"{f.name}[{i}].{k}", a) for k, a in _arrays(c))


def _plans_equal(a: Plan, b: Plan) -> bool:
    return np.array_equal(a.indices, b.indices) and np.array_equal(a.loss_scale, b.loss_scale)


def _snapshot(state: StrategyState) -> dict[str, np.ndarray]:
    return {k: np.array(v, copy=True) for k, v in _arrays(state)}


def _unchanged(before: dict[str, np.ndarray], state: StrategyState) -> bool:
    now = dict(_arrays(state))
    return set(now) == set(before) and all(
        np.array_equal(before[k], now[k], equal_nan=now[k].dtype.kind in "fc") for k in before
    )


# ----------------------------------------------------------------------------- the checks
def check_init(strategy: Strategy, setup: CheckSetup) -> None:
    state = setup.init(strategy)
    assert isinstance(state, StrategyState), (
        f"init must return a StrategyState, got {type(state).__name__}"
    )
    assert state.epoch_length >= 1, "epoch_length must be ≥ 1"
    assert state.n == setup.n, f"state.n is {state.n}, expected {setup.n}"
    for k, v in _arrays(state):
        assert not v.flags.writeable, f"state array {k!r} is writeable (state must be immutable)"


def check_plan_shape(strategy: Strategy, setup: CheckSetup) -> None:
    state, _ = setup.warmed(strategy)
    p = strategy.plan(state, setup.warmup)
    assert len(p) == state.epoch_length, (
        f"plan has {len(p)} entries, epoch_length is {state.epoch_length}"
    )
    assert p.loss_scale.shape == p.indices.shape, "plan indices and loss scales differ in shape"
    assert p.indices.dtype == np.int64, f"plan indices must be int64, got {p.indices.dtype}"
    assert p.indices.min() >= 0 and p.indices.max() < setup.n, "plan indices out of range"
    assert np.all(np.isfinite(p.loss_scale)) and np.all(p.loss_scale >= 0), (
        "plan loss scales must be finite and ≥ 0"
    )


def check_plan_deterministic(strategy: Strategy, setup: CheckSetup) -> None:
    state, _ = setup.warmed(strategy)
    assert _plans_equal(strategy.plan(state, 3), strategy.plan(state, 3)), (
        "plan(state, epoch) is not deterministic"
    )


def check_plan_seeded(strategy: Strategy, setup: CheckSetup) -> None:
    a = setup.init(strategy)
    b = setup.init(strategy, seed=setup.seed + 1)
    assert any(not _plans_equal(strategy.plan(a, e), strategy.plan(b, e)) for e in range(3)), (
        "another seed gives the same plans (is the seed used?)"
    )


def check_update_pure(strategy: Strategy, setup: CheckSetup) -> None:
    state, rng = setup.warmed(strategy)
    p = strategy.plan(state, setup.warmup)
    stats = setup.stats_fn(p.indices, rng)
    before = _snapshot(state)
    new1 = strategy.update(state, p.indices, stats)
    new2 = strategy.update(state, p.indices, stats)
    assert isinstance(new1, StrategyState), "update must return a StrategyState"
    assert _unchanged(before, state), "update modified the old state"
    assert states_equal(new1, new2), "update is not deterministic"


def check_update_split_invariant(strategy: Strategy, setup: CheckSetup) -> None:
    state, rng = setup.warmed(strategy)
    p = strategy.plan(state, setup.warmup)
    stats = setup.stats_fn(p.indices, rng)
    whole = strategy.update(state, p.indices, stats)
    cut = sorted({len(p) // 3, (2 * len(p)) // 3})
    parts = np.split(np.arange(len(p)), cut)
    folded = state
    for part in parts:
        folded = strategy.update(
            folded, p.indices[part], {k: np.asarray(v)[part] for k, v in stats.items()}
        )
    assert states_equal(whole, folded, rtol=1e-9), (
        "update(update(s, A), B) differs from update(s, A ⧺ B): the state depends on how "
        "observations are split into updates (the torch sampler folds a plan at once)"
    )


def _raises(fn: Callable[[], object]) -> bool:
    try:
        fn()
    except SpecurateInputError:
        return True
    return False


def check_input_validation(strategy: Strategy, setup: CheckSetup) -> None:
    state, rng = setup.warmed(strategy)
    p = strategy.plan(state, setup.warmup)
    idx = p.indices[: max(2, min(8, len(p)))]
    sub = {k: np.asarray(v) for k, v in setup.stats_fn(idx, rng).items()}
    before = _snapshot(state)
    bad_idx = idx.copy()
    bad_idx[0] = state.n
    assert _raises(lambda: strategy.update(state, bad_idx, sub)), (
        "out-of-range indices did not raise SpecurateInputError"
    )
    for key in sorted(strategy.needs):
        nan = dict(sub)
        nan[key] = np.full(idx.size, np.nan)
        assert _raises(functools.partial(strategy.update, state, idx, nan)), (
            f"NaN {key} did not raise SpecurateInputError"
        )
        short = dict(sub)
        short[key] = sub[key][:-1]
        assert _raises(functools.partial(strategy.update, state, idx, short)), (
            f"{key} of the wrong length did not raise SpecurateInputError"
        )
    n2 = max(1, setup.n // 2)
    small = strategy.init(n2, seed=setup.seed, **_halved(setup))
    one = {k: v[:1] for k, v in sub.items()}
    assert _raises(lambda: strategy.update(small, np.array([n2]), one)), (
        "a state of a smaller data set accepted an index beyond its size"
    )
    assert _unchanged(before, state), "a rejected update changed the state"


def _halved(setup: CheckSetup) -> dict[str, Any]:
    """Init data for n // 2 examples (per-example arrays cut to their first half)."""
    n2 = max(1, setup.n // 2)
    if callable(setup.data):
        return dict(setup.data(n2))
    out = {}
    for k, v in setup.init_data().items():
        a = np.asarray(v)
        out[k] = a[:n2] if a.ndim and a.shape[0] == setup.n else v
    return out


def check_accounting_composed(strategy: Strategy, setup: CheckSetup) -> None:
    from specurate.curation.static import KeepMask

    composed = chain(KeepMask(), strategy)
    data = {**setup.init_data(), "mask": np.ones(setup.n, dtype=bool)}
    alone = setup.init(strategy)
    inside = composed.init(setup.n, seed=setup.seed, **data)
    rng = _rng.stream("root", setup.seed)
    for e in range(2):
        p = strategy.plan(alone, e)
        stats = setup.stats_fn(p.indices, rng)
        alone = strategy.update(alone, p.indices, stats)
        inside = composed.update(inside, p.indices, stats)
    a, b = strategy.accounting(alone), composed.accounting(inside)
    assert a.trained == b.trained, f"trained {b.trained} composed vs {a.trained} alone"
    assert np.isclose(a.extra_forward, b.extra_forward) and np.isclose(
        a.extra_compute, b.extra_compute
    ), f"scoring work composed {b} differs from alone {a} (a chain must sum its stages)"
    c = strategy.cost(a.trained)
    assert c.trained == a.trained and np.isclose(c.scoring, a.scoring), (
        f"cost({a.trained}) = {c} disagrees with the accounting of that many observations {a}"
    )


def check_ddp_agreement(strategy: Strategy, setup: CheckSetup, *, ranks: int = 2) -> None:
    state, rng = setup.warmed(strategy)
    p = strategy.plan(state, setup.warmup)
    stats = setup.stats_fn(p.indices, rng)
    batch = 8
    # one process, batch by batch: rank r's share of each global step, ranks in order
    step_of = np.arange(len(p)) // (batch * ranks)
    rank_of = np.arange(len(p)) % ranks
    order = np.lexsort((rank_of, step_of))  # step-major, rank-minor: a per-batch all-gather
    serial = state
    for s in np.unique(step_of):
        rows = order[step_of[order] == s]
        serial = strategy.update(
            serial, p.indices[rows], {k: np.asarray(v)[rows] for k, v in stats.items()}
        )
    # every rank buffers its shard, one gather per plan, rows re-sorted by step (stable)
    gathered = np.concatenate([np.flatnonzero(rank_of == r) for r in range(ranks)])
    rows = gathered[np.argsort(step_of[gathered], kind="stable")]
    finals = [
        strategy.update(state, p.indices[rows], {k: np.asarray(v)[rows] for k, v in stats.items()})
        for _ in range(ranks)
    ]
    assert all(states_equal(finals[0], f) for f in finals[1:]), "ranks ended in different states"
    assert states_equal(serial, finals[0], rtol=1e-9), (
        "folding a plan's gathered observations once differs from per-batch updates"
    )


def check_unbiased(strategy: Strategy, setup: CheckSetup) -> None:
    state, rng = setup.warmed(strategy)
    ew = strategy.expected_weights(state)
    if ew is not None:
        ew = np.asarray(ew, dtype=float)
        assert np.allclose(ew, 1.0 / state.n, rtol=1e-9, atol=1e-12), (
            "declared unbiased, but the expected loss mass per example is not 1/n "
            f"(range [{ew.min():.3g}, {ew.max():.3g}], 1/n = {1 / state.n:.3g})"
        )
        return
    g = rng.standard_normal(state.n) + 1.0
    est = np.empty(setup.epochs)
    for e in range(setup.epochs):
        p = strategy.plan(state, e)
        est[e] = float(np.dot(p.loss_scale, g[p.indices])) / len(p)
    se = est.std(ddof=1) / np.sqrt(setup.epochs)
    gap = abs(est.mean() - g.mean())
    assert gap <= 5 * se + 1e-12, (
        f"declared unbiased, but the mean scaled gradient {est.mean():.5f} differs from the "
        f"full-data gradient {g.mean():.5f} by {gap / max(se, 1e-300):.1f} standard errors"
    )


_CHECKS: tuple[Callable[[Strategy, CheckSetup], None], ...] = (
    check_init,
    check_plan_shape,
    check_plan_deterministic,
    check_plan_seeded,
    check_update_pure,
    check_update_split_invariant,
    check_input_validation,
    check_accounting_composed,
    check_ddp_agreement,
)


def strategy_checks(strategy: Strategy) -> list[Callable[[Strategy, CheckSetup], None]]:
    """The checks that apply to ``strategy`` (``check_unbiased`` only where declared)."""
    checks = list(_CHECKS)
    if declares_unbiased(strategy):
        checks.append(check_unbiased)
    return checks


def _check_name(fn: Callable[..., None]) -> str:
    return fn.__name__.removeprefix("check_")


@dataclass
class CheckReport:
    """Names of the checks that passed (a failed check raises ``AssertionError``)."""

    strategy: str
    passed: list[str] = field(default_factory=list)


def check_strategy(
    strategy: Strategy,
    *,
    n: int = 200,
    seed: int = 0,
    epochs: int = 400,
    stats_fn: StatsFn = default_stats,
    warmup: int = 2,
    data: Mapping[str, Any] | Callable[[int], Mapping[str, Any]] | None = None,
) -> CheckReport:
    """Run every applicable check on ``strategy`` (see the module docstring).

    Args:
        strategy: the strategy under test.
        n: data-set size used by the checks.
        seed: seed of the checks.
        epochs: plans drawn for the Monte Carlo unbiasedness check.
        stats_fn: per-example statistics fed to ``update`` (must cover ``strategy.needs``).
        warmup: epochs of observations before the checks on an updated state.
        data: init data (e.g. ``{"groups": labels}``), or a function ``n -> data``.

    Returns:
        :class:`CheckReport` listing the passed checks.

    Raises:
        AssertionError: the first failed check, named.
    """
    setup = CheckSetup(n=n, seed=seed, data=data, stats_fn=stats_fn, warmup=warmup, epochs=epochs)
    rep = CheckReport(strategy.name)
    for check in strategy_checks(strategy):
        try:
            check(strategy, setup)
        except AssertionError as err:
            raise AssertionError(f"{strategy.name}: {_check_name(check)}: {err}") from None
        rep.passed.append(_check_name(check))
    return rep


def parametrize_with_checks(
    strategies: Mapping[str, Strategy | tuple[Strategy, CheckSetup]],
) -> Any:
    """A ``pytest.mark.parametrize("strategy, setup, check", …)`` over every (strategy, check).

    Usage (ids read ``loss-update_split_invariant``)::

        @parametrize_with_checks({"loss": LossProportional(), "frontier":
                                  (FrontierSampler(), CheckSetup(data={"groups": g}))})
        def test_contract(strategy, setup, check):
            check(strategy, setup)
    """
    import pytest

    params = []
    for sid, value in strategies.items():
        strategy, setup = value if isinstance(value, tuple) else (value, CheckSetup())
        for check in strategy_checks(strategy):
            params.append(pytest.param(strategy, setup, check, id=f"{sid}-{_check_name(check)}"))
    return pytest.mark.parametrize("strategy, setup, check", params)
