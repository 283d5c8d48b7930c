"""Mode-local SGD allocations: exact expected decay, budget optimum, Theorem 1 in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import minimize

from specurate.dynamics.allocation import (
    budget_optimal,
    expected_loss,
    sgd_decay,
    steps_to_loss,
)
from specurate.errors import SpecurateInputError


def _power_law(k: int, a: float = 2.0, b: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(1, k + 1, dtype=float)
    p, e = idx**-b, idx**-a
    return p / p.sum(), e / e.sum()


@pytest.mark.parametrize("q", [0.0, 0.013, 0.3, 1.0])
@pytest.mark.parametrize(("lr", "batch"), [(1.0, 7), (0.4, 32)])
def test_decay_is_the_binomial_expectation(q: float, lr: float, batch: int) -> None:
    # independent: sum over the binomial pmf of (1 - lr n / B)^2
    n = np.arange(batch + 1)
    exact = float(np.sum(stats.binom.pmf(n, batch, q) * (1 - lr * n / batch) ** 2))
    assert sgd_decay(np.array([q]), lr, batch)[0] == pytest.approx(exact, rel=1e-12, abs=1e-15)


def test_expected_loss_and_its_inverse() -> None:
    p, e = _power_law(500)
    steps = np.array([0, 1, 10, 1000])
    loss = expected_loss(e, p, steps, lr=0.5, batch=64)
    assert loss[0] == pytest.approx(1.0)
    assert np.all(np.diff(loss) < 0)
    for s, v in zip(steps[1:], loss[1:], strict=True):
        assert steps_to_loss(e, p, float(v), lr=0.5, batch=64) == pytest.approx(s, rel=1e-7)
    assert steps_to_loss(e, p, 2.0, lr=0.5, batch=64) == 0.0
    q = p.copy()
    q[-1] = 0.0  # a mode never sampled keeps its energy: a floor
    assert steps_to_loss(e, q / q.sum(), e[-1] / 2, lr=0.5, batch=64) == math.inf


@pytest.mark.parametrize("cap", [None, 2.0, 8.0])
@pytest.mark.parametrize("steps", [1, 30, 400])
def test_budget_optimal_matches_a_generic_solver(cap: float | None, steps: int) -> None:
    p, e = _power_law(12)
    lr = 0.8
    q = budget_optimal(e, p, lr=lr, steps=steps, cap=cap)
    upper = np.full(p.size, 1 / lr) if cap is None else np.minimum(cap * p, 1 / lr)
    assert q.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(q >= 0) and np.all(q <= upper * (1 + 1e-9))

    def objective(x: np.ndarray) -> float:
        return float(np.sum(e * (1 - lr * x) ** (2 * steps)))

    ref = minimize(
        objective,
        np.minimum(p, upper),
        method="SLSQP",
        bounds=list(zip(np.zeros(p.size), upper, strict=True)),
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    # ours is the KKT point of a convex problem: never worse than the generic solver
    assert objective(q) <= ref.fun * (1 + 1e-6) + 1e-15


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(2, 40),
    steps=st.integers(1, 5000),
    cap=st.one_of(st.none(), st.floats(1.0, 1e3)),
    lr=st.floats(0.05, 5.0),
    seed=st.integers(0, 2**16),
)
def test_budget_optimal_is_always_feasible(
    k: int, steps: int, cap: float | None, lr: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k))
    e = rng.random(k) ** 3
    q = budget_optimal(e, p, lr=lr, steps=steps, cap=cap)
    assert q.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(q >= 0)
    upper = np.full(k, 1 / lr) if cap is None else np.minimum(cap * p, 1 / lr)
    if upper.sum() >= 1:  # q ≤ 1/lr is feasible (else every mode must overshoot)
        assert np.all(q <= 1 / lr * (1 + 1e-9))
    if cap is not None:
        assert np.all(q <= cap * p * (1 + 1e-9) + 1e-15)


@pytest.mark.parametrize("cap", [2.0, 4.0, 16.0])
def test_theorem_1_in_closed_form(cap: float) -> None:
    # no allocation bounded by C can reach uniform's loss more than C times sooner; the
    # budget-optimal one gets close to C once the budget is large (speed-up/C ≥ 0.95)
    p, e = _power_law(20_000)
    lr = 0.05  # near gradient flow, where the theorem is stated
    ratios = []
    for steps in (200, 2000, 20_000, 200_000):
        q = budget_optimal(e, p, lr=lr, steps=steps, cap=cap)
        loss = float(expected_loss(e, q, [steps], lr=lr, batch=4096)[0])
        ratios.append(steps_to_loss(e, p, loss, lr=lr, batch=4096) / steps / cap)
    # In discrete time one step at weight C decays mode k by ln d(Cp_k) / ln d(p_k) times
    # uniform's step — a little more than C for head modes. That per-step ratio over C is the
    # exact slack of the discrete bound (→ 1 as lr → 0).
    q = np.minimum(cap * p, 1.0)
    slack = float(np.max(np.log(sgd_decay(q, lr, 4096)) / np.log(sgd_decay(p, lr, 4096)))) / cap
    assert 1.0 <= slack < 1.03
    assert max(ratios) <= slack
    assert ratios[-1] >= 0.95


def test_greedy_replanning_follows_every_budgets_optimum() -> None:
    # the module's claim: re-solving on the current energies at every plan tracks the budget
    # optimum of every budget (expected dynamics, plans every 2 % of the step count)
    p, e = _power_law(5000)
    lr, batch = 1.0, 10**9  # batch → ∞: the deterministic flow the optimum is defined for
    energy, step = e.copy(), 0
    for budget in (10, 100, 1000):
        while step < budget:
            m = min(max(1, int(0.02 * step)), budget - step)
            q = budget_optimal(energy, p, lr=lr, steps=m)
            energy = energy * sgd_decay(q, lr, batch) ** m
            step += m
        best = budget_optimal(e, p, lr=lr, steps=budget)
        optimum = float(expected_loss(e, best, [budget], lr=lr, batch=batch)[0])
        assert energy.sum() <= optimum * 1.02


def test_bad_inputs_are_named() -> None:
    p, e = _power_law(5)
    with pytest.raises(SpecurateInputError, match="lr"):
        budget_optimal(e, p, lr=0.0, steps=3)
    with pytest.raises(SpecurateInputError, match="same shape"):
        budget_optimal(e[:3], p, lr=0.5, steps=3)
    with pytest.raises(SpecurateInputError, match="not all 0"):
        budget_optimal(np.zeros(5), p, lr=0.5, steps=3)
    with pytest.raises(SpecurateInputError, match="cap"):
        budget_optimal(e, p, lr=0.5, steps=3, cap=0.5)


def test_allocation_speedups_symmetric_modes_gain_nothing() -> None:
    """Equal masses and equal energies: uniform is already optimal (by symmetry and convexity),
    so every rule's speed-up is 1 to the bisection's precision."""
    from specurate.dynamics.allocation import allocation_speedups

    k = 20
    r = allocation_speedups(
        np.full(k, 1 / k), np.full(k, 1 / k), lr=1.0, batch=256, budgets=np.array([5, 50, 500])
    )
    for row in r["rules"].values():
        np.testing.assert_allclose(row["speedup"], 1.0, rtol=1e-6)
        np.testing.assert_allclose(row["largest_weight"], 1.0, rtol=1e-6)


def test_allocation_speedups_obey_the_bound_and_order() -> None:
    """Long-tailed masses, balanced energies: a rule bounded by C gains at most Theorem 1's
    discrete-time bound R_C = max_k ln d_k(C p_k) / ln d_k(p_k) (every mode decays at most R_C
    times faster per step than under uniform, so L_q(S) ≥ L_uniform(R_C S); R_C → C as η p → 0),
    larger bounds gain more, and the unbounded rule gains the most."""
    from specurate.dynamics.allocation import allocation_speedups, sgd_decay

    k = np.arange(1, 41)
    p = k**-1.5 / np.sum(k**-1.5)
    r = allocation_speedups(
        np.full(40, 1 / 40), p, lr=1.0, batch=1024, budgets=np.array([10, 100, 1000])
    )
    rules = r["rules"]
    for c in (2.0, 4.0, 16.0):
        q = np.minimum(c * p, 1.0)
        with np.errstate(divide="ignore"):  # q = 1/η learns a mode in one step: R = inf
            bound = np.max(np.log(sgd_decay(q, 1.0, 1024)) / np.log(sgd_decay(p, 1.0, 1024)))
        assert bound >= c
        assert np.all(np.array(rules[f"static C={c:g}"]["speedup"]) <= bound * (1 + 1e-6))
        assert np.all(np.array(rules[f"static C={c:g}"]["largest_weight"]) <= c * (1 + 1e-9))
    s2, s4, s16 = (np.array(rules[f"static C={c}"]["speedup"]) for c in (2, 4, 16))
    free = np.array(rules["dynamic (unbounded)"]["speedup"])
    assert np.all(s2 <= s4 * (1 + 1e-9)) and np.all(s4 <= s16 * (1 + 1e-9))
    assert np.all(s16 <= free * (1 + 1e-6)) and free[-1] > 4.0
