"""Mode-space dynamics (modes, policies, simulate) checked against independent computations.

Every reference here is computed in the test itself (direct numpy sums, scipy ``solve_ivp``
with explicit state-dependent weights, hand-written refresh loops, closed forms), and every
tolerance is derived in a comment from the mathematics of the quantity compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from scipy.integrate import solve_ivp

from specurate.dynamics.modes import LearningLaw, modes_from_arrays, power_law_modes
from specurate.dynamics.policies import (
    Baseline,
    Context,
    Ensemble,
    Oracle,
    Probe,
    SelfScore,
    SoftOracle,
    State,
    Static,
    SyntheticSelf,
    SyntheticTeacher,
    make_policy,
)
from specurate.dynamics.simulate import frontier, simulate
from specurate.errors import SpecurateInputError

GF = LearningLaw()  # gradient flow c = α = β = 1
LAW = LearningLaw(c=0.7, alpha=1.3, beta=0.8)  # a generalized law, every constant ≠ 1
LAW2 = LearningLaw(c=2.0, alpha=0.7, beta=1.5)
FAST = settings(max_examples=20, deadline=None)


# ----------------------------------------------------------------------------- helpers
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


def base_loss_sped(modes, law, t, cap):
    """L_baseline(C^{α/β} t) = Σ e_k exp(−2c(Cλ_k)^α t^β) (+ tail with the same weight C)."""
    g = law.c * (cap * modes.lam[None, :]) ** law.alpha * law.clock(t)[:, None]
    g_last = law.c * (cap * modes.lam[-1]) ** law.alpha * law.clock(t)
    return np.exp(-2.0 * g) @ modes.energy + modes.remainder_energy(g_last, law)


def ctx_for(modes, law=GF, seed=0, kappa=1.0):
    return Context(modes, law, np.random.default_rng(seed), kappa)


def budget(modes, piece):
    return float(np.dot(modes.mass, piece.weight) + modes.p_rem * piece.rem_weight)


# ------------------------------------------------------------------- 1. closed forms
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


def test_frontier_is_exact_for_power_law_exponents():
    # frontier(A k^-p, κ) log-interpolates between the modes around the crossing: exact for a
    # pure power law, (A/κ)^{1/p}, whenever the crossing lies inside the array.
    k = np.arange(1, 501, dtype=float)
    for amp, p, kap in [(1e3, 1.5, 1.0), (37.0, 2.2, 0.3), (5.0, 0.7, 2.0)]:
        assert frontier(amp * k**-p, kap) == pytest.approx((amp / kap) ** (1 / p), rel=1e-12)
    assert frontier(np.zeros(10), 1.0) == 0.0
    assert frontier(np.full(10, 5.0), 1.0) == 10.0


def test_frontier_tolerates_tiny_exponents():
    # found by hypothesis: a static custom weight of 1e-310 on the modes after the frontier,
    # so g_c/g_{c+1} > 1.8e308. The interpolation itself is well defined in logs:
    # frac = ln(g_c/κ) / (ln g_c − ln g_{c+1}).
    m = power_law_modes(2.0, 1.5, n_modes=20, closure=False)
    w = np.ones(20)
    w[5:] = 1e-310
    tr = simulate(
        m, Static(shape="custom", weights_=w), t_min=10.0, t_max=100.0, points_per_decade=2
    )
    assert np.all(np.isfinite(tr.k_star))
    frac = math.log(2.0) / (math.log(2.0) - math.log(1e-310))
    assert frontier(np.r_[2.0, 1e-310], 1.0) == pytest.approx(2.0**frac, rel=1e-12)


# ------------------------------------------------------------------ 2. baseline exponents
@pytest.mark.parametrize(
    ("a", "b", "law"),
    [(2.0, 1.5, GF), (2.5, 2.0, GF), (3.0, 1.2, GF), (2.0, 1.5, LAW), (2.5, 2.0, LAW2)],
)
def test_baseline_exponent_and_frontier_speed(a, b, law):
    # L(t) = Σ k^-a exp(−2c k^{−bα} t^β) → Γ(·)/(bα)·(2ct^β)^{−(a−1)/(bα)}: exponent (a−1)ρ/b,
    # ρ = β/α; the frontier k* = (c t^β/κ)^{1/(bα)} ~ t^{ρ/b}. In the window 30 ≤ k* ≤ N/100 the
    # discreteness corrections are exponentially small in k* (Poisson summation of a smooth
    # sum) and the tail is carried by the closure: 0.5 % is a loose bound.
    n = 20_000
    m = power_law_modes(a, b, n_modes=n)

    def t_at(k):
        return (k ** (b * law.alpha) / law.c) ** (1 / law.beta)

    tr = simulate(m, Baseline(), law=law, t_min=t_at(30), t_max=t_at(n / 100), points_per_decade=20)
    assert 30 * (1 - 1e-9) <= tr.k_star.min() and tr.k_star.max() <= n / 100 * (1 + 1e-9)
    rho = law.rho
    np.testing.assert_allclose(slopes(tr), (a - 1) * rho / b, rtol=5e-3)
    # the continuous frontier is exact for a power law (log-interpolation of k^{-bα})
    k_exact = (law.c * law.clock(tr.t)) ** (1 / (b * law.alpha))
    np.testing.assert_allclose(tr.k_star, k_exact, rtol=1e-9)
    ks = np.diff(np.log(tr.k_star)) / np.diff(np.log(tr.t))
    np.testing.assert_allclose(ks, rho / b, rtol=1e-6)


# ----------------------------------------------------------------------- 3. hard oracle
def brute_oracle(modes, law, kappa, s_eval):
    """Hard oracle by explicit integration: w_k = 0 if g_k ≥ κ else C = 1/Σ_{unlearned} p_k.

    The right-hand side is constant between threshold crossings, so solve_ivp is run with a
    terminal event at the next crossing (located by root finding to ~1e-15 relative) and
    restarted with the weights recomputed from the state. Returns g at s_eval and C(s_eval).
    """
    lam, p, n = modes.lam, modes.mass, modes.n_modes
    g = np.zeros(n)
    learned = np.zeros(n, bool)
    out = np.empty((s_eval.size, n))
    c_at = np.empty(s_eval.size)
    s0, i, cw = 0.0, 0, 1.0
    while i < s_eval.size:
        unl = np.nonzero(~learned)[0]
        if unl.size == 0:  # everything learned: nothing moves; the last weight was 1/p_N
            out[i:], c_at[i:] = g, cw
            break
        cw = 1.0 / p[unl].sum()
        rate = np.zeros(n)
        rate[unl] = law.c * (cw * lam[unl]) ** law.alpha

        def crossing(_s, y, unl=unl):
            return np.max(y[unl]) - kappa

        crossing.terminal, crossing.direction = True, 1
        sol = solve_ivp(
            lambda _s, _y, r=rate: r,
            (s0, s_eval[-1] * (1 + 1e-9)),
            g,
            events=crossing,
            dense_output=True,
            rtol=1e-12,
            atol=1e-14,
        )
        s_end = sol.t_events[0][0] if sol.t_events[0].size else np.inf
        while i < s_eval.size and s_eval[i] < s_end:
            out[i], c_at[i] = sol.sol(s_eval[i]), cw
            i += 1
        if np.isfinite(s_end):
            g = sol.y_events[0][0].copy()
            kk = unl[np.argmax(g[unl])]
            g[kk] = kappa
            learned[kk] = True
            s0 = s_end
    return out, c_at


@pytest.mark.parametrize(
    ("law", "budget_kind"), [(GF, "operator"), (LAW, "operator"), (GF, "mass"), (LAW2, "mass")]
)
def test_hard_oracle_matches_event_brute_force(law, budget_kind):
    # Both sides integrate a piecewise-constant ODE exactly; the only errors are the event
    # locations (root finding ~1e-14) and rounding: 1e-9 relative is generous.
    n, kappa = 60, 3.0
    m = power_law_modes(2.0, 1.5, n_modes=n, closure=False, budget=budget_kind)
    t_all = ((kappa / m.lam[-1] ** law.alpha / law.c) ** (1 / law.beta)) * 40
    tr = simulate(
        m,
        Oracle(kappa=kappa),
        law=law,
        t_min=0.13,
        t_max=t_all,
        points_per_decade=12,
        kappa=kappa,
    )
    g, c_at = brute_oracle(m, law, kappa, law.clock(tr.t))
    loss = np.exp(-2 * g) @ m.energy
    np.testing.assert_allclose(tr.loss, loss, rtol=1e-9)
    # k* (measured at the oracle's own κ) lies in [#learned, #learned + 1)
    count = np.count_nonzero(g >= kappa * (1 - 1e-12), axis=1)
    assert np.all(np.floor(tr.k_star + 1e-9) == count)
    # the recorded weight is C = 1/P_tail of the segment at each grid time (C grows with the
    # learned count, so the running maximum is the current C)
    np.testing.assert_allclose(tr.max_weight, np.maximum.accumulate(c_at), rtol=1e-9)
    assert tr.k_star[-1] == n  # the run reaches the end of the problem


def test_hard_oracle_fixed_kappa_floor():
    # Learned modes stay at g = κ forever: L(t) ≥ e^{−2κ} Σe (every unlearned mode has g < κ)
    # and, once all N modes are learned, L = e^{−2κ} Σ e_k exactly (to rounding).
    m = power_law_modes(2.0, 1.5, n_modes=50, closure=False)
    kappa = 2.5
    tr = simulate(m, Oracle(kappa=kappa), t_min=1.0, t_max=1e5, points_per_decade=5)
    floor = math.exp(-2 * kappa) * m.energy.sum()
    assert tr.loss_floor == pytest.approx(floor, rel=1e-14)
    assert np.all(tr.loss >= floor * (1 - 1e-12))
    assert np.all(np.diff(tr.loss) <= 0)
    assert tr.loss[-1] == pytest.approx(floor, rel=1e-12)
    assert any("learned all 50 modes" in note for note in tr.notes)


def test_growing_oracle_small_growth_limit_agrees_with_event_engine():
    # growth = 1e-12 changes κ(t) by < 1e-10: the growing engine (RK45 on Ψ) must reproduce the
    # event-driven engine. dΨ/ds jumps at every crossing, so RK45's local error control costs
    # O(rtol) relative in Ψ per crossing: |δΨ/Ψ| ≲ J·rtol for J crossings, and the loss carries
    # δL/L ≲ 2κ·δΨ/Ψ (the unlearned modes that matter have g ≤ κ). Tolerance 2κ·J·rtol·4.
    n, kappa, rtol = 2000, 4.0, 1e-9
    m = power_law_modes(2.0, 1.5, n_modes=n)
    kw = dict(t_min=1.1, t_max=200.0, points_per_decade=10)
    ref = simulate(m, Oracle(kappa=kappa), **kw)
    tr = simulate(m, Oracle(kappa=kappa, growth=1e-12), rtol=rtol, **kw)
    assert ref.engine == tr.engine == "oracle"
    jumps = ref.solver["events"]
    assert 0 < jumps and ref.k_star[-1] < n / 10
    tol = 2 * kappa * jumps * rtol * 4
    np.testing.assert_allclose(tr.loss, ref.loss, rtol=tol)
    np.testing.assert_allclose(tr.k_star, ref.k_star, rtol=tol)
    np.testing.assert_allclose(tr.max_weight, ref.max_weight, rtol=tol)


def test_growing_oracle_holds_learned_modes_at_growing_kappa():
    # Without closure, once every mode is learned they are all held at κ(t) = κ0 + γ ln(1+t):
    # L(t) = e^{−2κ(t)} Σ e_k exactly (the holding weights fit in the budget here).
    # (rtol = 1e-4 keeps the run short. Only mode N can sit off κ(t), by an RK45 step error
    # δg: δL/L ≤ 2δg·e_N/Σe = 2δg·2.4e-4, so 1e-5 allows δg up to 0.02.)
    m = power_law_modes(2.0, 1.5, n_modes=50, closure=False)
    k0, gam = 3.0, 0.1
    tr = simulate(
        m, Oracle(kappa=k0, growth=gam), t_min=200, t_max=1e3, points_per_decade=5, rtol=1e-4
    )
    pred = np.exp(-2 * (k0 + gam * np.log1p(tr.t))) * m.energy.sum()
    np.testing.assert_allclose(tr.loss, pred, rtol=1e-5)
    # with the analytic tail: no floor, the loss falls below the fixed-κ floor e^{−2κ0} Σe
    mc = power_law_modes(2.0, 1.5, n_modes=200)
    fixed = simulate(mc, Oracle(kappa=1.0), t_min=1, t_max=1e5, points_per_decade=5)
    grow = simulate(mc, Oracle(kappa=1.0, growth=0.5), t_min=1, t_max=1e5, points_per_decade=5)
    # (with closure the fixed-κ run freezes once N modes are learned, the tail above its floor)
    assert np.all(fixed.loss >= fixed.loss_floor) and fixed.loss[-1] < 1.1 * fixed.loss_floor
    assert grow.loss[-1] < 0.5 * fixed.loss_floor


def brute_growing_oracle(modes, law, k0, gam, s_eval):
    """Growing-κ oracle by explicit integration of the unlearned modes, learned ones held.

    κ(s) = κ0 + γ ln(1 + t), t = s^{1/β}. Learned modes sit at g = κ(s), which takes
    ω_k λ_k = (κ'(s)/c)^{1/α} of weight; the unlearned modes share the rest of the budget,
    C(s) = (1 − keep(s) Σ_learned p_k/λ_k) / Σ_unlearned p_k. A mode joins the learned set (for
    good) when its g reaches κ(s): a terminal event, then the integration restarts.
    """
    lam, p, n = modes.lam, modes.mass, modes.n_modes

    def kappa(s):
        return k0 + gam * math.log1p(s ** (1 / law.beta))

    def keep(s):
        t = s ** (1 / law.beta)
        return (gam / (1 + t) * t / (law.beta * s) / law.c) ** (1 / law.alpha)

    learned = np.zeros(n, bool)
    g = np.zeros(n)
    s0, i = 0.0, 0
    loss = np.empty(s_eval.size)
    while i < s_eval.size:
        unl = np.nonzero(~learned)[0]
        q = float(np.sum(p[learned] / lam[learned]))

        def rhs(s, y, unl=unl, q=q):
            cw = (1 - (keep(s) * q if q else 0.0)) / p[unl].sum()
            return law.c * (cw * lam[unl]) ** law.alpha

        def crossing(s, y):
            return np.max(y) - kappa(s)

        crossing.terminal, crossing.direction = True, 1
        sol = solve_ivp(
            rhs,
            (s0, s_eval[-1] * (1 + 1e-9)),
            g[unl],
            method="DOP853",
            events=crossing,
            dense_output=True,
            rtol=1e-12,
            atol=1e-14,
        )
        s_end = sol.t_events[0][0] if sol.t_events[0].size else np.inf
        while i < s_eval.size and s_eval[i] < s_end:
            gu = sol.sol(s_eval[i])
            kap = kappa(s_eval[i])
            held = modes.energy[learned].sum() * math.exp(-2 * kap)
            loss[i] = held + modes.energy[unl] @ np.exp(-2 * gu)
            i += 1
        if np.isfinite(s_end):
            g[unl] = sol.y_events[0][0]
            learned[unl[np.argmax(g[unl])]] = True
            s0 = s_end
    return loss


@pytest.mark.parametrize(("law", "t_max"), [(GF, 25.0), (LAW, 150.0)])
def test_growing_oracle_matches_brute_force(law, t_max):
    # The engine integrates one scalar Ψ with RK45 (rtol 1e-10) through J crossings where
    # dΨ/ds jumps: |δL/L| ≲ 2κ·J·rtol (see the small-growth test), ×4 for safety, plus the
    # reference's own error (DOP853 1e-12, events to ~1e-14): tolerance 2κ_max·J·rtol·4 + 1e-9.
    m = power_law_modes(2.0, 1.5, n_modes=40, closure=False)
    k0, gam, rtol = 2.0, 0.3, 1e-10
    # t_max: before every mode is learned (the brute force below stops there)
    tr = simulate(
        m,
        Oracle(kappa=k0, growth=gam),
        law=law,
        t_min=0.7,
        t_max=t_max,
        points_per_decade=10,
        rtol=rtol,
    )
    assert not any("grows faster" in note for note in tr.notes)
    loss = brute_growing_oracle(m, law, k0, gam, law.clock(tr.t))
    kmax = k0 + gam * math.log1p(tr.t[-1])
    assert 5 < np.floor(tr.k_star[-1]) < 40  # crossings happen, not everything learned
    np.testing.assert_allclose(tr.loss, loss, rtol=2 * kmax * 40 * rtol * 4 + 1e-9)


def test_growing_oracle_no_spurious_violation_note_when_all_learned():
    # growth = 1e-12: holding weights are ~1e-12/λ_k, nowhere near the budget; the only
    # 'problem' is that nothing is left unlearned, which is not a violation.
    m = power_law_modes(2.0, 1.5, n_modes=50, closure=False)
    tr = simulate(
        m, Oracle(kappa=3.0, growth=1e-12), t_min=1.1, t_max=300, points_per_decade=5, rtol=1e-6
    )
    assert tr.k_star[-1] == 50
    assert not any("grows faster" in note for note in tr.notes)


def test_growing_oracle_solver_cost_stays_bounded_after_all_learned():
    # Same problem with closure needs ~8e3 RHS evaluations up to t = 1e3; without closure the
    # solver needs 86k by t = 150 at rtol 1e-6 (18.5M, ~100 s, by t = 300 at the default 1e-8).
    m = power_law_modes(2.0, 1.5, n_modes=50, closure=False)
    tr = simulate(
        m, Oracle(kappa=3.0, growth=0.1), t_min=1.1, t_max=150, points_per_decade=5, rtol=1e-6
    )
    assert tr.solver["nfev"] < 20_000


# --------------------------------------------------------------------- 4. convergence
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


def test_self_score_tail_budget_share_at_start():
    # Sampling ∝ per-example loss ℓ_k = e_k u_k²/p_k: at u = 1 the budget share of the modes
    # k > N is Σ_{k>N} e_k / Σ_all e_k = e_rem / L(0) exactly (e_rem = ζ(a, N+1) is exact).
    m = power_law_modes(1.5, 2.0, n_modes=1000)
    piece = SelfScore().piece(ctx_for(m), State(0.0, np.zeros(m.n_modes)), {})
    assert budget(m, piece) == pytest.approx(1.0, rel=1e-12)
    share = m.p_rem * piece.rem_weight
    assert share == pytest.approx(m.e_rem / m.total_energy, rel=1e-2)


def test_soft_oracle_ode_engine_converges_in_rtol():
    # RK45 global error scales ~ rtol; 1e-6 vs 1e-9 must agree to ≲ 10·rtol·(2 g_max) ~ 1e-5.
    m = power_law_modes(2.0, 1.5, n_modes=2000)
    kw = dict(t_min=1.0, t_max=1e3, points_per_decade=10)
    lo = simulate(m, SoftOracle(), rtol=1e-6, **kw)
    hi = simulate(m, SoftOracle(), rtol=1e-9, **kw)
    assert lo.engine == hi.engine == "ode"
    assert hi.solver["nfev"] > lo.solver["nfev"]
    np.testing.assert_allclose(lo.loss, hi.loss, rtol=1e-5)


@pytest.mark.parametrize(("law", "power"), [(GF, 2.0), (GF, 1.0), (LAW, 2.0)])
def test_soft_oracle_ode_engine_matches_brute_force(law, power):
    # Independent: DOP853 (rtol 1e-12) directly in s on dg/ds = c (ω(g) λ)^α with
    # ω_k = e^{−q g_k}/Σ p e^{−q g}. The engine (RK45 in ln s, rtol 1e-10) has relative error
    # ≲ rtol·g per step, accumulated over ~25 e-folds of s; δL/L ≈ 2 δg ≲ 1e3·rtol = 1e-7.
    m = power_law_modes(2.0, 1.5, n_modes=50, closure=False)
    tr = simulate(
        m, SoftOracle(power=power), law=law, t_min=0.5, t_max=1e3, points_per_decade=10, rtol=1e-10
    )

    def rhs(_s, g):
        w = np.exp(-power * g)
        w /= np.dot(m.mass, w)
        return law.c * (w * m.lam) ** law.alpha

    s = law.clock(tr.t)
    sol = solve_ivp(
        rhs, (0.0, s[-1]), np.zeros(50), t_eval=s, method="DOP853", rtol=1e-12, atol=1e-14
    )
    loss = m.energy @ np.exp(-2 * sol.y)
    np.testing.assert_allclose(tr.loss, loss, rtol=1e-7)


def test_soft_oracle_refresh_engine_converges_to_ode_engine():
    # Stale weights lag the state by one refresh interval (∝ staleness): the error is first
    # order, so it must shrink monotonically and roughly in proportion (≥ 2× per 3.3×).
    m = power_law_modes(2.0, 1.5, n_modes=2000)
    kw = dict(t_min=1.0, t_max=1e3, points_per_decade=10)
    ode = simulate(m, SoftOracle(), rtol=1e-9, **kw)
    errs = []
    for stale in (0.1, 0.03, 0.01):
        tr = simulate(m, SoftOracle(staleness=stale), **kw)
        assert tr.engine == "refresh"
        errs.append(np.max(np.abs(tr.loss / ode.loss - 1)))
    assert errs[0] > errs[1] > errs[2]
    assert errs[1] < errs[0] / 2 and errs[2] < errs[1] / 2
    assert errs[2] < 5e-3


def test_probe_without_noise_or_lag_converges_to_hard_oracle():
    # bias 1, noise 0: the probe zeroes exactly the modes with g ≥ κ and spreads the budget
    # evenly on the rest, i.e. the hard oracle seen through stale refreshes: → oracle as
    # staleness → 0 (first order).
    m = power_law_modes(2.0, 1.5, n_modes=2000)
    kw = dict(t_min=1.1, t_max=200.0, points_per_decade=10)
    ref = simulate(m, Oracle(kappa=4.0), **kw)
    errs = []
    for stale in (0.1, 0.01, 0.003):
        probe = Probe(bias=1.0, noise=0.0, kappa=4.0, staleness=stale, min_interval=0.0)
        errs.append(np.max(np.abs(simulate(m, probe, **kw).loss / ref.loss - 1)))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 2e-3


@pytest.mark.parametrize("mint", [0.5, 0.0])
def test_self_score_refresh_engine_matches_hand_written_pieces(mint):
    # Independent piecewise integration: refresh at t_{n+1} = t_n + max(σ t_n, m, σ t_grid[0]),
    # weights ω ∝ (e u²/p)^{1/T} normalized to Σ p ω = 1, and g += c (ω λ)^α Δs in between.
    # Both are closed forms composed the same number of times: agreement to rounding.
    m = power_law_modes(2.0, 1.5, n_modes=80, closure=False)
    law, temp, stale = LAW, 0.7, 0.2
    pol = SelfScore(temperature=temp, staleness=stale, min_interval=mint, score_cost=0.25)
    tr = simulate(m, pol, law=law, t_min=0.3, t_max=300, points_per_decade=8)
    g, t_now, n_ref = np.zeros(m.n_modes), 0.0, 0
    loss, refreshes = [], []
    grid = list(tr.t)
    while grid:
        u = np.exp(-g)
        w = (m.energy * u**2 / m.mass) ** (1 / temp)
        w /= np.dot(m.mass, w)
        rate = law.c * (w * m.lam) ** law.alpha
        n_ref += 1
        t_next = t_now + max(stale * t_now, mint, stale * tr.t[0])
        while grid and grid[0] < t_next:
            tt = grid.pop(0)
            gi = g + rate * (law.clock(tt) - law.clock(t_now))
            loss.append(m.energy @ np.exp(-2 * gi))
            refreshes.append(n_ref)
        g = g + rate * (law.clock(t_next) - law.clock(t_now))
        t_now = t_next
    np.testing.assert_allclose(tr.loss, loss, rtol=1e-10)
    np.testing.assert_allclose(tr.compute, tr.t + 0.25 * np.array(refreshes), rtol=1e-14)
    assert tr.solver["refreshes"] == n_ref


# ------------------------------------------------------------------ 5. budget properties
# weights are 0 or ≥ 1e-6 (tiny positive weights: test_frontier_tolerates_tiny_exponents)
WEIGHT = st.one_of(st.just(0.0), st.floats(1e-6, 50.0))


@FAST
@given(
    w=st.lists(WEIGHT, min_size=30, max_size=30).filter(lambda v: v[-1] > 0),
    closure=st.booleans(),
)
def test_static_custom_weights_budget_and_closed_form(w, closure):
    # normalize: ω = w / (Σ p w + p_rem w_N) so that Σ p ω + p_rem ω_rem = 1 (ω_rem = ω_N);
    # the trajectory is the closed form g = c (ω λ)^α s (checked without closure), and the
    # speed bound L(t) ≥ L_base(C^{α/β} t) holds with C = max ω (rounding only).
    m = power_law_modes(2.0, 1.5, n_modes=30, closure=closure)
    w = np.array(w)
    omega, omega_rem = Static(shape="custom", weights_=w).weights(ctx_for(m))
    assert float(np.dot(m.mass, omega) + m.p_rem * omega_rem) == pytest.approx(1.0, rel=1e-12)
    z = np.dot(m.mass, w) + m.p_rem * w[-1]
    np.testing.assert_allclose(omega, w / z, rtol=1e-12)
    assert omega_rem == pytest.approx(w[-1] / z, rel=1e-12)
    tr = simulate(
        m, Static(shape="custom", weights_=w), law=LAW, t_min=0.1, t_max=1e3, points_per_decade=4
    )
    if not closure:
        g = LAW.c * (omega[None, :] * m.lam) ** LAW.alpha * LAW.clock(tr.t)[:, None]
        np.testing.assert_allclose(tr.loss, np.exp(-2 * g) @ m.energy, rtol=1e-12)
    cap = max(float(omega.max()), float(omega_rem) if closure else 0.0)
    np.testing.assert_allclose(tr.max_weight, cap, rtol=1e-15)
    assert np.all(tr.loss >= base_loss_sped(m, LAW, tr.t, cap) * (1 - 1e-12))


@FAST
@given(
    strength=st.floats(0.0, 1.0),
    head=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**31),
    budget_kind=st.sampled_from(["operator", "mass"]),
)
def test_static_prune_easy_and_random_budget(strength, head, seed, budget_kind):
    m = power_law_modes(2.0, 1.5, n_modes=200, budget=budget_kind)
    pe = Static(shape="prune-easy", strength=strength, head_mass=head)
    omega, omega_rem = pe.weights(ctx_for(m, seed=seed))
    assert np.dot(m.mass, omega) + m.p_rem * omega_rem == pytest.approx(1.0, rel=1e-12)
    # head = modes starting inside the first head_mass of the mass: ω = (1−f)C there, C after,
    # with C = 1/(1 − f P_head) (P_head = their mass).
    head_modes = (np.cumsum(m.mass) - m.mass) < head
    c_tail = 1.0 / (1.0 - strength * m.mass[head_modes].sum())
    np.testing.assert_allclose(
        omega, np.where(head_modes, (1 - strength) * c_tail, c_tail), rtol=1e-12
    )
    if strength <= 0.9:  # (strength → 1 removes every example: an input error, by design)
        rnd = Static(shape="random", strength=strength, n_examples=5000)
        w_r, w_r_rem = rnd.weights(ctx_for(m, seed=seed))
        assert np.all(w_r >= 0)
        assert np.dot(m.mass, w_r) + m.p_rem * w_r_rem == pytest.approx(1.0, rel=1e-12)


def _state(modes, seed, t, spread):
    """A learning state u = e^{−g} with g ≤ 100 (underflow: the late-training cap tests)."""
    rng = np.random.default_rng(seed)
    g = t * modes.lam * np.exp(spread * rng.standard_normal(modes.n_modes))
    return np.exp(-np.minimum(g, 100.0))


@FAST
@given(
    seed=st.integers(0, 2**31),
    t=st.floats(0.0, 1e4),
    spread=st.floats(0.0, 2.0),
    power=st.floats(0.5, 4.0),
    temperature=st.floats(0.7, 3.0),
    noise=st.floats(0.0, 1.0),
    mix=st.floats(0.0, 1.0),
    cap=st.one_of(st.none(), st.floats(1.0, 20.0)),
    budget_kind=st.sampled_from(["operator", "mass"]),
)
def test_refresh_policy_pieces_respect_budget_and_caps(
    seed, t, spread, power, temperature, noise, mix, cap, budget_kind
):
    # Every reweighting piece: ω ≥ 0 finite, Σ p ω + p_rem ω_rem = 1, ω ≤ cap, rate = c(ωλ)^α,
    # no target. Probe zeroes k̂ modes and the cap bounds the tail weight, so its budget is
    # min(1, cap·P_tail) (the cap wins when the unzeroed mass cannot hold the budget).
    m = power_law_modes(2.0, 1.5, n_modes=300, budget=budget_kind)
    u = _state(m, seed, t, spread)
    ctx = ctx_for(m, LAW, seed)
    pols = [
        SoftOracle(power=power, cap=cap),
        SelfScore(temperature=temperature, noise=noise, mix=mix, cap=cap),
        Probe(bias=0.8, noise=noise, kappa=1.0 + power, cap=cap),
        Ensemble(coevolve=True, mix=mix),
        Ensemble(coevolve=False, mix=mix, t_fix=1.0 + t),
    ]
    for pol in pols:
        private = pol.init(ctx)
        if "u_b" in private:
            private["u_b"] = _state(m, seed + 1, t, spread)
        p = pol.piece(ctx, State(t, -np.log(u)), private)
        assert p.target is None and p.wasted == 0.0
        assert np.all(np.isfinite(p.weight)) and np.all(p.weight >= 0) and p.rem_weight >= 0
        np.testing.assert_allclose(p.rate, LAW.c * (p.weight * m.lam) ** LAW.alpha, rtol=1e-12)
        bound = getattr(pol, "cap", None)
        if bound is not None:
            assert p.weight.max() <= bound * (1 + 1e-9) and p.rem_weight <= bound * (1 + 1e-9)
        if isinstance(pol, Probe) and bound is not None:
            open_mass = m.mass[p.weight > 0].sum() + m.p_rem
            assert budget(m, p) == pytest.approx(min(1.0, bound * open_mass), rel=1e-9)
        else:
            assert budget(m, p) == pytest.approx(1.0, rel=1e-9)


@FAST
@given(
    seed=st.integers(0, 2**31),
    t=st.floats(0.0, 1e4),
    nu=st.floats(0.01, 0.9),
    mix=st.floats(0.0, 1.0),
    cap=st.one_of(st.none(), st.floats(1.0, 20.0)),
    noisy_loss=st.one_of(st.none(), st.floats(1e-4, 10.0)),
)
def test_self_score_label_noise_budget_identity(seed, t, nu, mix, cap, noisy_loss):
    # Clean examples hold mass (1−ν)p_k, mislabeled ones ν. The piece returns operator weights
    # ω_op = (1−ν)ω_sampling and wasted = ν ω_noise, so Σ p ω_op + p_rem ω_rem + wasted = 1.
    m = power_law_modes(2.0, 1.5, n_modes=300)
    u = _state(m, seed, t, 1.0)
    pol = SelfScore(label_noise=nu, mix=mix, cap=cap, noisy_loss=noisy_loss)
    p = pol.piece(ctx_for(m), State(t, -np.log(u)), {})
    assert 0.0 < p.wasted < 1.0 and np.all(p.weight >= 0)
    assert budget(m, p) + p.wasted == pytest.approx(1.0, rel=1e-9)
    if cap is not None:
        assert p.weight.max() <= cap * (1 + 1e-9) and p.wasted <= nu * cap * (1 + 1e-12)
    # simulate records the wasted share
    tr = simulate(m, pol, t_min=1, t_max=10, points_per_decade=3)
    assert np.all((tr.wasted > 0) & (tr.wasted < 1))


@FAST
@given(
    span=st.integers(1, 150),
    teacher_span=st.integers(1, 199),
    fraction=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**31),
    budget_kind=st.sampled_from(["operator", "mass"]),
)
def test_synthetic_pieces_respect_budget(span, teacher_span, fraction, seed, budget_kind):
    # Real data restricted to span modes (mass renormalized) plus a fraction f of synthetic
    # data restricted to its own span: Σ p ω = (1−f)·1 + f·1 = 1 whenever both spans < N, the
    # tail gets nothing, rate = c (ωλ)^α, and the targets lie in [0, 1].
    m = power_law_modes(2.0, 1.5, n_modes=200, budget=budget_kind)
    u = _state(m, seed, 100.0, 1.0)
    ctx = ctx_for(m, LAW)
    for pol in (
        SyntheticSelf(span=span, fraction=fraction),
        SyntheticTeacher(
            span=span, fraction=fraction, teacher_span=teacher_span, teacher_time=50.0
        ),
    ):
        p = pol.piece(ctx, State(0.0, -np.log(u)), {})
        assert budget(m, p) == pytest.approx(1.0, rel=1e-12) and p.rem_weight == 0.0
        np.testing.assert_allclose(p.rate, LAW.c * (p.weight * m.lam) ** LAW.alpha, rtol=1e-12)
        assert np.all((p.target >= 0) & (p.target <= 1))


def test_capped_refresh_policies_never_exceed_cap_late_in_training():
    # b = 1.2: learned head modes hold much mass; at t ~ 6e3 their u² underflows to 0, the
    # capped budget cannot be met and _cap returns weights up to ~70× the cap.
    m = power_law_modes(2.0, 1.2, n_modes=200)
    for pol in (
        SoftOracle(cap=1.5, staleness=0.1),
        SelfScore(cap=1.5, staleness=0.1, min_interval=0.0),
    ):
        tr = simulate(m, pol, t_min=100, t_max=1e4, points_per_decade=10)
        assert tr.max_weight.max() <= 1.5 * (1 + 1e-9)


def test_capped_soft_oracle_ode_engine_runs_late_in_training():
    # N = 1000, a = b = 2: by t ≈ 250 mode 1 (61 % of the mass) has g > 372, u² = 0; the
    # water-filled weight of mode 1 drops from ≈0.7 to 0 and RK45's trial stages explode.
    m = power_law_modes(2.0, 2.0, n_modes=1000)
    tr = simulate(m, SoftOracle(cap=1.5), t_min=1.0, t_max=1e3, points_per_decade=5)
    assert np.all(np.isfinite(tr.loss)) and tr.max_weight.max() <= 1.5 * (1 + 1e-9)


# --------------------------------------------------------------------- 6. speed bound
@pytest.mark.parametrize("law", [GF, LAW])
def test_speed_bound_for_capped_and_static_policies(law):
    # Weights ≤ C ⇒ dg_k/ds ≤ c(Cλ_k)^α ⇒ g_k(t) ≤ c(Cλ_k)^α t^β ⇒ L(t) ≥ L_base(C^{α/β} t).
    # Closed-form engines: rounding only (1e-12). ODE engine: RK45 error δL/L ≲ 1e-6 at
    # rtol 1e-8 (see the brute-force test). t ≤ 80 keeps every g < 372 (no u² underflow).
    m = power_law_modes(2.0, 1.5, n_modes=2000)
    kw = dict(law=law, t_min=0.5, t_max=80.0, points_per_decade=10)
    cap = 2.0
    cases = [
        (Static(strength=0.6, head_mass=0.4), None, 1e-12),
        (Static(shape="random", strength=0.5, n_examples=20_000), None, 1e-12),
        (SoftOracle(cap=cap), cap, 1e-6),
        (SoftOracle(cap=cap, staleness=0.05), cap, 1e-12),
        (SelfScore(cap=cap, staleness=0.05, min_interval=0.0), cap, 1e-12),
        (SelfScore(cap=cap, temperature=0.7, noise=0.5, mix=0.1), cap, 1e-12),
        (Probe(cap=cap, staleness=0.05), cap, 1e-12),
    ]
    for pol, c, tiny in cases:
        tr = simulate(m, pol, **kw)
        c_eff = tr.max_weight[-1] if c is None else c
        assert tr.max_weight[-1] <= c_eff * (1 + 1e-9)
        bound = base_loss_sped(m, law, tr.t, c_eff)
        assert np.all(tr.loss >= bound * (1 - tiny)), pol
    # the bound is not vacuous: the uncapped hard oracle (weights up to 5.5) beats L_base(2t)
    if law is GF:
        free = simulate(m, Oracle(kappa=4.0), **kw)
        assert np.any(free.loss < base_loss_sped(m, law, free.t, cap))


# -------------------------------------------------------------------- 7. static limit
def test_static_prune_easy_keeps_baseline_exponent_time_rescaled():
    # Prune-easy: ω = C on every mode past the head, so once the head is learned
    # L_static(t) = L_base(C t) up to the head's residual Σ_head e_k e^{−2(1−f)Cλ_k t} (here
    # < 1e-30 relative), and the exponent is the baseline's (a−1)/b (0.5 % requested; exact).
    a, b, n = 2.0, 1.5, 20_000
    m = power_law_modes(a, b, n_modes=n)
    pol = Static(strength=0.5, head_mass=0.5)
    kw = dict(t_min=30**b, t_max=(n / 100) ** b, points_per_decade=10)
    tr = simulate(m, pol, **kw)
    base = simulate(m, Baseline(), **kw)
    np.testing.assert_allclose(slopes(tr), slopes(base), rtol=5e-3)
    np.testing.assert_allclose(slopes(tr), (a - 1) / b, rtol=5e-3)
    omega, _ = pol.weights(ctx_for(m))
    c = float(omega.max())
    np.testing.assert_allclose(tr.loss, base_loss_sped(m, GF, tr.t, c), rtol=1e-12)
    head = (np.cumsum(m.mass) - m.mass) < 0.5  # modes 1 and 2 (p_1 = 1/ζ(1.5) = 0.38)
    assert head.sum() == 2 and c == pytest.approx(1 / (1 - 0.5 * m.mass[head].sum()), rel=1e-12)


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


# ------------------------------------------------------------------------ 8. synthetic
def test_synthetic_self_never_learns_outside_its_span():
    # Modes k > span get rate 0 (neither real nor self-generated data covers them): their
    # loss stays Σ_{k>span} e_k + e_rem for ever, and the total loss never goes below it.
    m = power_law_modes(2.0, 1.5, n_modes=2000)
    span = 100
    tr = simulate(
        m,
        SyntheticSelf(span=span, fraction=0.5, staleness=0.1),
        t_min=1,
        t_max=1e4,
        points_per_decade=5,
    )
    outside = m.energy[span:].sum() + m.e_rem
    assert np.all(tr.span_loss >= outside * (1 - 1e-12))
    np.testing.assert_allclose(tr.span_loss, outside, rtol=1e-12)
    assert np.all(tr.loss >= outside * (1 - 1e-12))
    assert tr.loss[-1] < tr.loss[0]  # it does learn inside its span


@pytest.mark.parametrize("law", [GF, LAW])
def test_synthetic_teacher_learns_outside_span_in_closed_form(law):
    # Outside the real span only synthetic data acts: Λ_k = f λ_k/P_T (P_T = teacher-span
    # mass), target ū_k = u^T_k = exp(−c λ_k^α t_T^β), so u_k(s) = ū + (1 − ū) e^{−cΛ_k^α s};
    # modes beyond the teacher's span never move. Closed forms composed: rounding only.
    m = power_law_modes(2.0, 1.5, n_modes=2000)
    span, tspan, f, t_teach = 100, 1000, 0.4, 3e3
    pol = SyntheticTeacher(span=span, fraction=f, teacher_span=tspan, teacher_time=t_teach)
    tr = simulate(m, pol, law=law, t_min=1, t_max=1e4, points_per_decade=5)
    k = slice(span, tspan)
    p_t = m.mass[:tspan].sum()
    u_t = np.exp(-law.c * m.lam[k] ** law.alpha * law.clock(t_teach))
    lam_eff = f * m.lam[k] / p_t
    s = law.clock(tr.t)[:, None]
    u = u_t + (1 - u_t) * np.exp(-law.c * lam_eff**law.alpha * s)
    expect = (u**2) @ m.energy[k] + m.energy[tspan:].sum() + m.e_rem
    np.testing.assert_allclose(tr.span_loss, expect, rtol=1e-12)
    outside = m.energy[span:].sum() + m.e_rem
    # with gradient flow the teacher (t_T = 3e3) has learned ~200 modes: half the loss goes
    assert tr.span_loss[-1] < (0.5 if law is GF else 1.0) * outside


def test_synthetic_with_no_synthetic_data_and_full_span_is_the_baseline():
    # fraction 0 and a span covering every mode: the real data are the original distribution,
    # so the run must be the baseline (closed forms: rounding only).
    m = power_law_modes(2.0, 1.5, n_modes=1000)
    kw = dict(t_min=1.0, t_max=1e3, points_per_decade=5)
    base = simulate(m, Baseline(), **kw)
    tr = simulate(m, SyntheticTeacher(span=10**6, fraction=0.0, teacher_span=10**6), **kw)
    assert base.k_star[-1] <= 1000 / 10
    np.testing.assert_allclose(tr.loss, base.loss, rtol=1e-9)


# ------------------------------------------------------------------------ 9. validation
@pytest.mark.parametrize(
    "bad",
    [
        lambda: power_law_modes(1.0, 1.5),
        lambda: power_law_modes(0.5, 1.5),
        lambda: power_law_modes(2.0, 0.0),
        lambda: power_law_modes(2.0, -1.0),
        lambda: power_law_modes(2.0, float("nan")),
        lambda: power_law_modes(2.0, 1.5, n_modes=9),
        lambda: power_law_modes(2.0, 1.5, n_modes=10.5),
        lambda: power_law_modes(2.0, 1.5, n_modes=100, budget="flat"),
        lambda: modes_from_arrays(np.ones(5), np.ones(5)),
        lambda: modes_from_arrays(-np.ones(20), np.ones(20)),
        lambda: modes_from_arrays(np.ones(20), -np.ones(20)),
        lambda: Oracle(kappa=0.0),
        lambda: Oracle(kappa=-1.0),
        lambda: Oracle(growth=-0.1),
        lambda: Probe(kappa=0.0),
        lambda: make_policy("not-a-policy"),
        lambda: make_policy("oracle", kapa=3.0),
        lambda: make_policy("static", shape="custom"),
        lambda: SoftOracle(cap=0.5),
        lambda: SelfScore(label_noise=1.0),
        lambda: LearningLaw(alpha=0.0),
        lambda: simulate(power_law_modes(2.0, 1.5, n_modes=50), Baseline(), kappa=0.0),
        lambda: simulate(power_law_modes(2.0, 1.5, n_modes=50), Baseline(), kappa=-1.0),
        lambda: simulate(power_law_modes(2.0, 1.5, n_modes=50), Baseline(), t_min=10, t_max=10),
        lambda: simulate(power_law_modes(2.0, 1.5, n_modes=50), Baseline(), t_min=10, t_max=1),
        lambda: simulate(power_law_modes(2.0, 1.5, n_modes=50), Baseline(), t_min=0.0),
        lambda: simulate(power_law_modes(2.0, 1.5, n_modes=50), Baseline(), rtol=0.1),
        lambda: simulate(
            power_law_modes(2.0, 1.5, n_modes=50),
            make_policy("static", shape="custom", weights_=np.r_[-1.0, np.ones(49)]),
        ),
        lambda: simulate(
            power_law_modes(2.0, 1.5, n_modes=50),
            make_policy("static", shape="custom", weights_=np.ones(49)),
        ),
        lambda: simulate(
            power_law_modes(2.0, 1.5, n_modes=50, closure=False),
            make_policy("static", shape="custom", weights_=np.zeros(50)),
        ),
    ],
)
def test_bad_parameters_raise_input_error(bad):
    with pytest.raises(SpecurateInputError):
        bad()


def test_make_policy_builds_every_policy_with_its_knobs():
    pol = make_policy("soft-oracle", power=3.0, cap=2.0)
    assert isinstance(pol, SoftOracle) and pol.power == 3.0 and pol.cap == 2.0
    assert pol.params()["cap"] == 2.0 and pol.engine == "ode"
    assert make_policy("soft-oracle", staleness=0.1).engine == "refresh"
    for name in (
        "baseline",
        "static",
        "oracle",
        "self-score",
        "probe",
        "ensemble",
        "synthetic-teacher",
        "synthetic-self",
    ):
        assert make_policy(name).name == name


# ----------------------------------------------------------------------- 10. determinism
@pytest.mark.parametrize(
    "pol",
    [SelfScore(noise=0.5), Probe(), Static(shape="random", n_examples=5000)],
    ids=["self-score-noise", "probe", "static-random"],
)
def test_noisy_policies_are_deterministic_per_seed(pol):
    m = power_law_modes(2.0, 1.5, n_modes=1000)
    kw = dict(t_min=1.0, t_max=1e3, points_per_decade=5)
    r1 = simulate(m, pol, seed=7, **kw)
    r2 = simulate(m, pol, seed=7, **kw)
    r3 = simulate(m, pol, seed=8, **kw)
    np.testing.assert_array_equal(r1.loss, r2.loss)
    np.testing.assert_array_equal(r1.k_star, r2.k_star)
    np.testing.assert_array_equal(r1.max_weight, r2.max_weight)
    assert not np.array_equal(r1.loss, r3.loss)


# ------------------------------------------------------------------------ bookkeeping
def test_trajectory_bookkeeping():
    # compute = t (1 + overhead) + set-up + score_cost · refreshes; max_weight is a running max.
    m = power_law_modes(2.0, 1.5, n_modes=500)
    kw = dict(t_min=1.0, t_max=1e3, points_per_decade=5)
    ens = simulate(m, Ensemble(coevolve=False, t_fix=50.0, helper_cost=0.5, score_cost=0.0), **kw)
    np.testing.assert_allclose(ens.compute, ens.t + 2 * 0.5 * 50.0, rtol=1e-14)
    co = simulate(m, Ensemble(coevolve=True, helper_cost=0.5, score_cost=0.0), **kw)
    np.testing.assert_allclose(co.compute, 1.5 * co.t, rtol=1e-14)
    ss = simulate(m, SelfScore(), **kw)
    assert np.all(np.diff(ss.max_weight) >= 0)
    assert np.all(ss.compute > ss.t) and np.all(np.diff(ss.compute - ss.t) >= 0)
    assert ss.initial_loss == pytest.approx(m.total_energy, rel=1e-15)
    assert ss.valid_until <= ss.t[-1] and ss.params["temperature"] == 1.0
