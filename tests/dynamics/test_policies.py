"""Policies (specurate.dynamics.policies): every weighting respects its budget and cap, and bad
settings raise one clear error.

Every reference here is computed in the test itself (direct numpy sums, scipy ``solve_ivp``
with explicit state-dependent weights, hand-written refresh loops, closed forms), and every
tolerance is derived in a comment from the mathematics of the quantity compared.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from specurate.dynamics.simulate import simulate
from specurate.errors import SpecurateInputError

# ------------------------------------------------------------------------------------------ helpers
GF = LearningLaw()  # gradient flow c = α = β = 1


LAW = LearningLaw(c=0.7, alpha=1.3, beta=0.8)  # a generalized law, every constant ≠ 1


FAST = settings(max_examples=20, deadline=None)


def base_loss_sped(modes, law, t, cap):
    """L_baseline(C^{α/β} t) = Σ e_k exp(−2c(Cλ_k)^α t^β) (+ tail with the same weight C)."""
    g = law.c * (cap * modes.lam[None, :]) ** law.alpha * law.clock(t)[:, None]
    g_last = law.c * (cap * modes.lam[-1]) ** law.alpha * law.clock(t)
    return np.exp(-2.0 * g) @ modes.energy + modes.remainder_energy(g_last, law)


def ctx_for(modes, law=GF, seed=0, kappa=1.0):
    return Context(modes, law, np.random.default_rng(seed), kappa)


def budget(modes, piece):
    return float(np.dot(modes.mass, piece.weight) + modes.p_rem * piece.rem_weight)


# -------------------------------------------------------------------------------- budget properties
def test_self_score_tail_budget_share_at_start():
    # Sampling ∝ per-example loss ℓ_k = e_k u_k²/p_k: at u = 1 the budget share of the modes
    # k > N is Σ_{k>N} e_k / Σ_all e_k = e_rem / L(0) exactly (e_rem = ζ(a, N+1) is exact).
    m = power_law_modes(1.5, 2.0, n_modes=1000)
    piece = SelfScore().piece(ctx_for(m), State(0.0, np.zeros(m.n_modes)), {})
    assert budget(m, piece) == pytest.approx(1.0, rel=1e-12)
    share = m.p_rem * piece.rem_weight
    assert share == pytest.approx(m.e_rem / m.total_energy, rel=1e-2)


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


# --------------------------------------------------------------------------------------- validation
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
