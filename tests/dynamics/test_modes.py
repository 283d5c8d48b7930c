"""Problems (specurate.dynamics.modes): the power law's analytic tail beyond N, convergence in N,
and the budget convention, checked through the uniform baseline against direct sums.

Every reference here is computed in the test itself (direct numpy sums, scipy ``solve_ivp``
with explicit state-dependent weights, hand-written refresh loops, closed forms), and every
tolerance is derived in a comment from the mathematics of the quantity compared.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from specurate.dynamics.modes import LearningLaw, power_law_modes
from specurate.dynamics.policies import (
    Baseline,
    Oracle,
    SelfScore,
    SoftOracle,
)
from specurate.dynamics.simulate import simulate

# ------------------------------------------------------------------------------------------ helpers
GF = LearningLaw()  # gradient flow c = α = β = 1


LAW = LearningLaw(c=0.7, alpha=1.3, beta=0.8)  # a generalized law, every constant ≠ 1


LAW2 = LearningLaw(c=2.0, alpha=0.7, beta=1.5)


def direct_loss(a, b, t, n, law=GF):
    """Σ_{k≤n} k^-a exp(-2 c k^{-bα} t^β) by a plain numpy sum (chunked in k)."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    s = law.c * t**law.beta
    out = np.zeros(t.size)
    for lo in range(1, n + 1, 200_000):
        k = np.arange(lo, min(n, lo + 199_999) + 1, dtype=float)
        out += k**-a @ np.exp(-2.0 * np.outer(k ** (-b * law.alpha), s))
    return out


def slopes(tr):
    """Local exponent −d ln L / d ln t between consecutive grid points."""
    return -np.diff(np.log(tr.loss)) / np.diff(np.log(tr.t))


# ---------------------------------------------------------------------- analytic tail: closed forms
@pytest.mark.parametrize(
    ("a", "b", "law"),
    [(2.0, 1.5, GF), (2.5, 2.0, GF), (3.0, 1.2, LAW), (1.5, 0.8, LAW2), (2.0, 3.0, LAW)],
)
def test_baseline_equals_direct_sum_without_closure(a, b, law):
    # Baseline = closed form g_k = c λ_k^α t^β; with closure=False the problem is exactly the N
    # modes, so the engine and a direct numpy sum differ only by summation rounding (N·eps).
    n = 3000
    m = power_law_modes(a, b, n_modes=n, closure=False)
    assert not m.closed and m.e_rem == 0 and m.p_rem == 0
    tr = simulate(m, Baseline(), law=law, t_min=1e-2, t_max=1e4, points_per_decade=8)
    np.testing.assert_allclose(tr.loss, direct_loss(a, b, tr.t, n, law), rtol=1e-12, atol=0)
    assert tr.initial_loss == pytest.approx(np.sum(np.arange(1, n + 1.0) ** -a), rel=1e-13)
    np.testing.assert_array_equal(tr.compute, tr.t)
    np.testing.assert_array_equal(tr.max_weight, 1.0)


@pytest.mark.parametrize(("a", "b", "law"), [(2.0, 1.5, GF), (2.5, 2.0, GF), (3.0, 1.2, LAW)])
def test_baseline_closure_equals_much_larger_direct_sum(a, b, law):
    # Reference: N' = 50 N simulated modes summed directly plus ζ(a, N'+1) for k > N' counted as
    # unlearned; that overestimates by Σ_{k>N'} k^-a (1 − e^{−2g_k}) ≤ 2 c t^β ζ(a+bα, N'+1).
    # Closure error: the tail's learned energy D = Σ_{k>N} k^-a (1 − e^{−2g_k}) ≤ 2ct^β ζ(a+bα,
    # N+1) is taken from the midpoint integral from N+½ (scaled exact at g = 0), whose
    # Euler–Maclaurin error is O(f''/24) ≈ D·(a+bα)²/(24 N²); we allow D·(a+bα+1)²/N².
    n, n_ref = 2000, 100_000
    m = power_law_modes(a, b, n_modes=n)
    assert m.closed and m.e_rem == pytest.approx(special.zeta(a, n + 1), rel=1e-14)
    # times with the frontier far inside N: k* ≤ N/20
    t_max = ((n / 20) ** (b * law.alpha) / law.c) ** (1 / law.beta)
    tr = simulate(m, Baseline(), law=law, t_min=1e-1, t_max=t_max, points_per_decade=6)
    assert tr.k_star[-1] <= n / 20 * (1 + 1e-9)
    ref = direct_loss(a, b, tr.t, n_ref, law) + special.zeta(a, n_ref + 1)
    s2 = 2 * law.c * law.clock(tr.t)
    p = a + b * law.alpha
    tol = s2 * special.zeta(p, n_ref + 1) + s2 * special.zeta(p, n + 1) * (p + 1) ** 2 / n**2
    tol += 1e-13 * ref
    assert np.all(np.abs(tr.loss - ref) <= tol)
    assert np.max(np.abs(tr.loss / ref - 1)) < 1e-6
    assert tr.initial_loss == pytest.approx(special.zeta(a), rel=1e-13)


@pytest.mark.parametrize("law", [GF, LAW])
def test_baseline_frontier_continues_into_the_analytic_tail(law):
    # The tail follows g_k = g_N (N/k)^{bα}, exactly the baseline's c k^{−bα} t^β, so the
    # number of learned modes (incl. the remainder's N((g_N/κ)^{1/(bα)} − 1)) stays
    # k* = (c t^β/κ)^{1/(bα)} after the frontier passes N; the run is flagged past N/10.
    n, b, kappa = 200, 1.5, 0.5
    m = power_law_modes(2.0, b, n_modes=n)
    t_max = ((5 * n) ** (b * law.alpha) * kappa / law.c) ** (1 / law.beta)
    tr = simulate(m, Baseline(), law=law, t_min=1.0, t_max=t_max, points_per_decade=6, kappa=kappa)
    expect = (law.c * law.clock(tr.t) / kappa) ** (1 / (b * law.alpha))
    np.testing.assert_allclose(tr.k_star, expect, rtol=1e-9)
    assert tr.k_star[-1] == pytest.approx(5 * n, rel=1e-9)
    assert tr.valid_until < tr.t[-1] and any("N/10" in note for note in tr.notes)
    assert tr.k_star[tr.t <= tr.valid_until].max() <= n / 10


# --------------------------------------------------------------------------------- convergence in N
def test_results_converge_in_n_with_closure():
    # Hard oracle: all unlearned modes share one history and the tail follows mode N exactly,
    # so N vs 4N differ only by the closure's integral error, O(D/N²) ≪ 1e-7 relative.
    # Soft oracle: the tail weight is taken from mode N (u_N^q), exact while u_N ≈ 1; the
    # error scales with the tail's learned share, so it must shrink when N grows (here by
    # ≥ 4× per 4× in N) and be < 1 % once k* ≤ N/30.
    kw = dict(t_min=1.0, t_max=300.0, points_per_decade=10)
    runs = {}
    for n in (1000, 4000, 16_000):
        m = power_law_modes(2.0, 1.5, n_modes=n)
        runs[n] = (
            simulate(m, Baseline(), **kw),
            simulate(m, Oracle(kappa=4.0), **kw),
            simulate(m, SoftOracle(), rtol=1e-7, **kw),  # solver error ~1e-6 ≪ differences
        )

    def diff(i, n1, n2):
        return np.max(np.abs(runs[n1][i].loss / runs[n2][i].loss - 1))

    assert diff(0, 4000, 16_000) < 1e-9
    assert diff(1, 1000, 4000) < 1e-7 and diff(1, 4000, 16_000) < 1e-9
    assert runs[4000][2].k_star[-1] < 4000 / 30
    assert diff(2, 4000, 16_000) < 1e-2
    assert diff(2, 4000, 16_000) < diff(2, 1000, 4000) / 4


def test_self_score_converges_in_n_with_closure():
    # The module promises the infinite problem while the frontier stays well inside N.
    # With a = 1.5, b = 2 and k* ≤ N/100 the result should not move by 0.5 % from N to 4N.
    kw = dict(t_min=1.0, t_max=100.0, points_per_decade=10)
    pol = SelfScore(staleness=0.1, min_interval=0.0)
    r1 = simulate(power_law_modes(1.5, 2.0, n_modes=8000), pol, **kw)
    r2 = simulate(power_law_modes(1.5, 2.0, n_modes=32_000), pol, **kw)
    assert r1.k_star[-1] < 8000 / 100
    assert np.max(np.abs(r1.loss / r2.loss - 1)) < 5e-3


# -------------------------------------------------------------------------------- budget convention
@pytest.mark.parametrize(("a", "b"), [(2.0, 1.5), (2.5, 2.0)])
def test_oracle_exponent_depends_on_budget_convention(a, b):
    # Operator budget: C = 1/P_tail(k*) ∝ k*^{b−1}, so dΨ/dt ∝ Ψ^{(b−1)/b}: k* ∝ t and
    # L ∝ k*^{1−a} ∝ t^{−(a−1)} instead of t^{−(a−1)/b}. The approach is O(1/k*); within 5 %
    # at k* ≈ N/100. Mass budget: C = 1/(1 − j/N) ∈ [1, 1.0102] for k* ≤ N/100, so the local
    # exponent is the baseline's (same N-mode problem) times tC/Ψ ∈ [1, C]: within 1.1 %.
    # κ = 10 puts the floor e^{−20}Σe below 1e-4 of the loss in the window.
    n = 20_000
    m = power_law_modes(a, b, n_modes=n)
    orc = simulate(m, Oracle(kappa=10.0), t_min=1.0, t_max=1e3, points_per_decade=10)
    sel = (orc.k_star[1:] >= 30) & (orc.k_star[:-1] >= 30) & (orc.k_star[1:] <= n / 100)
    sl = slopes(orc)[sel]
    assert sel.sum() >= 4 and orc.loss_floor < 1e-4 * orc.loss[1:][sel].min()
    assert np.all(sl > 1.3 * (a - 1) / b)  # far from the baseline's exponent
    assert sl[-1] == pytest.approx(a - 1, rel=0.05)
    mm = power_law_modes(a, b, n_modes=n, budget="mass")
    kw = dict(t_min=30**b, t_max=200**b, points_per_decade=10)
    orc_m = simulate(mm, Oracle(kappa=10.0), **kw)
    base_m = simulate(mm, Baseline(), **kw)
    ratio = slopes(orc_m) / slopes(base_m)
    assert np.all((ratio >= 1 - 1e-9) & (ratio <= 1.011))
    assert orc_m.max_weight[-1] <= 1 / (1 - 0.01)
