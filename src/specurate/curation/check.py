r"""``check_strategy``: the Strategy contract as a reusable test suite (like scikit-learn's
``check_estimator``).

Checks, each a named assertion:

1. ``init``: a :class:`State` with ``epoch_length ≥ 1`` and read-only arrays.
2. ``plan``: exactly ``epoch_length`` entries, indices in [0, n), finite multipliers ≥ 0; the
   same (state, epoch) gives the same plan (pure); another seed gives another plan.
3. ``update``: returns a state and leaves the old one untouched (purity); the same inputs give
   the same new state (determinism); NaN statistics, out-of-range indices and wrong lengths
   raise :class:`SpecurateInputError`.
4. Unbiasedness, where a strategy declares it: the expected weighted gradient of a plan equals
   the full-data gradient, (1/m) E[Σ_j mult_j g_{idx_j}] = mean_i g_i. With
   ``expected_weights`` this is checked exactly (every entry 1/n, to 1e-9); otherwise by Monte
   Carlo over ``epochs`` plans for random g, within 5 standard errors of the epoch means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from specurate.curation.base import Plan, State, Strategy
from specurate.curation.combine import declares_unbiased
from specurate.errors import SpecurateInputError

StatsFn = Callable[[np.ndarray, np.random.Generator], Mapping[str, np.ndarray]]


@dataclass
class CheckReport:
    """Names of the checks that passed (a failed check raises ``AssertionError``)."""

    strategy: str
    passed: list[str] = field(default_factory=list)


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


def _states_equal(a: State, b: State) -> bool:
    if (a.n, a.seed, a.epoch_length) != (b.n, b.seed, b.epoch_length):
        return False
    if set(a.arrays) != set(b.arrays):
        return False
    return all(np.array_equal(a.arrays[k], b.arrays[k], equal_nan=True) for k in a.arrays)


def _plans_equal(a: Plan, b: Plan) -> bool:
    return np.array_equal(a.indices, b.indices) and np.array_equal(a.weights, b.weights)


def _snapshot(state: State) -> dict[str, np.ndarray]:
    return {k: np.array(v, copy=True) for k, v in state.arrays.items()}


def check_strategy(
    strategy: Strategy,
    *,
    n: int = 200,
    seed: int = 0,
    epochs: int = 400,
    stats_fn: StatsFn = default_stats,
    warmup: int = 2,
) -> CheckReport:
    """Run the contract checks on ``strategy`` (see the module docstring).

    Args:
        strategy: the strategy under test (configured for ``n`` examples).
        n: data-set size used by the checks.
        seed: seed of the checks.
        epochs: plans drawn for the Monte Carlo unbiasedness check.
        stats_fn: per-example statistics fed to ``update`` (must cover ``strategy.needs``).
        warmup: epochs of observations before the checks on an updated state.

    Returns:
        :class:`CheckReport` listing the passed checks.

    Raises:
        AssertionError: the first failed check, with what was expected.
    """
    rep = CheckReport(strategy.name)
    rng = np.random.default_rng(seed)
    state = strategy.init(n, seed=seed)
    assert isinstance(state, State), f"init must return a State, got {type(state).__name__}"
    assert state.epoch_length >= 1, "epoch_length must be ≥ 1"
    for k, v in state.arrays.items():
        assert not v.flags.writeable, f"state array {k!r} is writeable (state must be immutable)"
    rep.passed.append("init")

    # observe a few epochs so dynamic strategies are checked in a non-trivial state
    for e in range(warmup):
        p = strategy.plan(state, e)
        stats = stats_fn(p.indices, rng)
        missing = set(strategy.needs) - set(stats)
        assert not missing, f"stats_fn does not provide {sorted(missing)}"
        state = strategy.update(state, p.indices, stats)

    p1 = strategy.plan(state, warmup)
    p2 = strategy.plan(state, warmup)
    assert len(p1) == state.epoch_length, (
        f"plan has {len(p1)} entries, epoch_length is {state.epoch_length}"
    )
    assert p1.indices.dtype == np.int64, f"plan indices must be int64, got {p1.indices.dtype}"
    assert p1.indices.min() >= 0 and p1.indices.max() < n, "plan indices out of range"
    assert np.all(np.isfinite(p1.weights)) and np.all(p1.weights >= 0), (
        "plan multipliers must be finite and ≥ 0"
    )
    assert _plans_equal(p1, p2), "plan(state, epoch) is not deterministic"
    rep.passed.append("plan: length, range, determinism")

    other = strategy.init(n, seed=seed + 1)
    assert any(
        not _plans_equal(strategy.plan(state, e), strategy.plan(other, e)) for e in range(3)
    ) or not _plans_equal(strategy.plan(strategy.init(n, seed=seed), 0), strategy.plan(other, 0)), (
        "another seed gives the same plans (is the seed used?)"
    )
    rep.passed.append("plan: seeded")

    before = _snapshot(state)
    stats = stats_fn(p1.indices, rng)
    new1 = strategy.update(state, p1.indices, stats)
    new2 = strategy.update(state, p1.indices, stats)
    assert isinstance(new1, State), "update must return a State"
    assert all(np.array_equal(before[k], state.arrays[k], equal_nan=True) for k in before), (
        "update modified the old state"
    )
    assert _states_equal(new1, new2), "update is not deterministic"
    rep.passed.append("update: pure, deterministic")

    _check_errors(strategy, state, p1, stats)
    rep.passed.append("update: input validation")

    if declares_unbiased(strategy):
        _check_unbiased(strategy, new1, epochs, rng)
        rep.passed.append("unbiased")
    return rep


def _raises(fn: Callable[[], object]) -> bool:
    try:
        fn()
    except SpecurateInputError:
        return True
    return False


def _check_errors(strategy: Strategy, state: State, plan: Plan, stats: Mapping) -> None:
    idx = plan.indices[: max(2, min(8, len(plan)))]
    sub = {k: np.asarray(v)[: idx.size] for k, v in stats.items()}
    bad_idx = idx.copy()
    bad_idx[0] = state.n
    assert _raises(lambda: strategy.update(state, bad_idx, sub)), (
        "out-of-range indices did not raise SpecurateInputError"
    )
    if strategy.needs:
        key = sorted(strategy.needs)[0]
        nan = dict(sub)
        nan[key] = np.full(idx.size, np.nan)
        assert _raises(lambda: strategy.update(state, idx, nan)), (
            f"NaN {key} did not raise SpecurateInputError"
        )
        short = dict(sub)
        short[key] = np.asarray(sub[key])[:-1]
        assert _raises(lambda: strategy.update(state, idx, short)), (
            f"{key} of the wrong length did not raise SpecurateInputError"
        )


def _check_unbiased(
    strategy: Strategy, state: State, epochs: int, rng: np.random.Generator
) -> None:
    ew = strategy.expected_weights(state)
    if ew is not None:
        ew = np.asarray(ew, dtype=float)
        assert np.allclose(ew, 1.0 / state.n, rtol=1e-9, atol=1e-12), (
            "declared unbiased, but the expected loss mass per example is not 1/n "
            f"(range [{ew.min():.3g}, {ew.max():.3g}], 1/n = {1 / state.n:.3g})"
        )
        return
    g = rng.standard_normal(state.n) + 1.0
    est = np.empty(epochs)
    for e in range(epochs):
        p = strategy.plan(state, e)
        est[e] = float(np.dot(p.weights, g[p.indices])) / len(p)
    se = est.std(ddof=1) / np.sqrt(epochs)
    gap = abs(est.mean() - g.mean())
    assert gap <= 5 * se + 1e-12, (
        f"declared unbiased, but the mean weighted gradient {est.mean():.5f} differs from the "
        f"full-data gradient {g.mean():.5f} by {gap / max(se, 1e-300):.1f} standard errors"
    )
