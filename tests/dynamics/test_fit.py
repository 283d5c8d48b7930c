"""Measurements on trajectories (exponents, time-to-target, finite region) and the comparison."""

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from specurate.dynamics import fit
from specurate.dynamics.compare import REFERENCE_ORACLE, analyze, compare
from specurate.dynamics.modes import LearningLaw, power_law_modes
from specurate.dynamics.policies import Baseline, Oracle, Static
from specurate.dynamics.simulate import simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def small_compare():
    # N = 20,000 modes and 5 decades: every policy runs in well under a second.
    return compare(2.0, 1.5, n_modes=20_000, t_max=1e5, sweep=(0.3, 0.9), mass_modes=200_000)


def test_fit_exponent_exact_power_law():
    # y = 3 t^-0.7 exactly: OLS in log-log returns 0.7 to rounding, drift 0.
    t = np.geomspace(1, 1e6, 241)
    y = 3 * t**-0.7
    res = fit.fit_exponent(t, y, np.ones(t.size, bool), sign=-1.0)
    assert res.exponent == pytest.approx(0.7, rel=1e-12)
    assert abs(res.drift) < 1e-10 and res.stable


def test_fit_exponent_flags_a_bend():
    # a broken power law (slope 0.5 then 1.0) is not a straight line: drift ≈ 0.5, unstable.
    t = np.geomspace(1, 1e6, 241)
    y = np.where(t < 1e3, t**-0.5, 1e3**0.5 * t**-1.0)
    res = fit.fit_exponent(t, y, np.ones(t.size, bool), sign=-1.0)
    assert res.drift > 0.4 and not res.stable


def test_local_slopes_of_power_law():
    t = np.geomspace(1, 1e4, 161)
    assert np.allclose(fit.local_slopes(t, t**-1.3), -1.3, atol=1e-12)


def test_time_to_loss_interpolates_log_log():
    m = power_law_modes(2.0, 1.5, n_modes=20_000)
    base = simulate(m, Baseline(), t_max=1e5)
    # the loss at a grid point is reached exactly at that grid time
    i = 100
    assert fit.time_to_loss(base, float(base.loss[i])) == pytest.approx(base.t[i], rel=1e-9)
    # a target below every loss is never reached
    assert math.isnan(fit.time_to_loss(base, float(base.loss[-1]) / 10))


def test_static_speedup_is_exactly_its_weight():
    # prune-easy weights are constant (= C) on every mode past the head, so at targets reached
    # after the head is learned the run is the baseline with time compressed by C exactly:
    # speed-up = C = bound_speedup (Theorem 1's finite gain, saturated).
    m = power_law_modes(2.0, 1.5, n_modes=20_000)
    base = simulate(m, Baseline(), t_max=1e5)
    tr = simulate(m, Static(strength=0.6), t_max=1e5)
    targets = fit.default_targets(base)
    an = analyze(tr, base, targets)
    for s in an.speedup_at_target.values():
        assert s == pytest.approx(an.bound_speedup, rel=1e-3)
    region = fit.frontier_region(tr, base)
    # frontier ratio C^{1/b}: k* ∝ (C t)^{1/b}
    assert region.c_front == pytest.approx(an.max_weight ** (1 / 1.5), rel=1e-3)


def test_weight_growth_bounded_vs_oracle():
    m = power_law_modes(2.0, 1.5, n_modes=20_000)
    st = simulate(m, Static(strength=0.5), t_max=1e5)
    orc = simulate(m, Oracle(kappa=10.0), t_max=1e5)
    assert fit.weight_growth_exponent(st) == pytest.approx(0.0, abs=1e-12)
    # C(t) = 1/P_tail(k*) ~ k*^{b-1} ~ t^{(b-1)ρ} = t^{0.5} under the oracle
    assert fit.weight_growth_exponent(orc) == pytest.approx(0.5, abs=0.03)


def test_fixed_kappa_floor_is_excluded_from_fits():
    m = power_law_modes(2.0, 1.5, n_modes=20_000)
    orc = simulate(m, Oracle(kappa=3.0), t_max=1e5)
    assert orc.loss_floor == pytest.approx(math.exp(-6.0) * m.total_energy)
    mask = fit.fit_window(orc)
    assert np.all(orc.loss[mask] > 10 * orc.loss_floor)


def test_compare_paper_table(small_compare):
    rows = {p.claim.split(",")[0]: p for p in small_compare.paper}
    base = rows["baseline loss exponent"]
    assert base.agrees and base.measured == pytest.approx(2 / 3, rel=0.005)
    # §5.3's frontier speed holds; A.3's loss exponent a/b = 4/3 does not, (a−1) = 1 does
    oracle_loss = next(p for p in small_compare.paper if p.source == "A.3")
    assert not oracle_loss.agrees and oracle_loss.alternative_agrees
    floor = next(p for p in small_compare.paper if "floor" in p.claim)
    assert floor.agrees


def test_compare_recovered_fractions(small_compare):
    by = {r.label: r for r in small_compare.rows}
    assert by[REFERENCE_ORACLE].exponent_gain_recovered is None
    # a noise-free soft oracle recovers most of the hard oracle's exponent gain; label noise
    # makes self-scoring worse than uniform (negative fraction: oracle collapse)
    assert by["soft-oracle"].exponent_gain_recovered > 0.7
    assert by["self-score, 10% label noise"].exponent_gain_recovered < 0
    assert by["static (prune 50% of head)"].exponent_gain_recovered == pytest.approx(0, abs=0.01)
    sweep = small_compare.static_sweep
    assert sweep[0]["C"] < sweep[1]["C"]
    assert all(abs(s["loss_exponent"] - 2 / 3) < 0.005 for s in sweep)


def test_generalized_law_in_paper_table():
    law = LearningLaw(alpha=0.8, beta=1.2)
    cmp = compare(
        2.0,
        1.5,
        n_modes=20_000,
        t_max=1e5,
        law=law,
        policies={"baseline": Baseline(), REFERENCE_ORACLE: Oracle(kappa=10.0)},
        sweep=(),
        mass_modes=100_000,
    )
    base = cmp.paper[0]
    assert base.paper == pytest.approx(1.0 * 1.5 / 1.5)
    assert base.measured == pytest.approx(base.paper, rel=0.01)


def test_measured_modes_are_rescaled_to_unit_top_eigenvalue():
    from specurate.dynamics.modes import modes_from_arrays

    m = modes_from_arrays(np.array([2.0, 8.0, 4.0] * 4), np.arange(12.0), rescale=True)
    assert m.lam[0] == 1.0 and np.all(np.diff(m.lam) <= 0)
    # energies follow their eigenvalues through the sort
    assert m.energy[0] in (1.0, 4.0, 7.0, 10.0)
    raw = modes_from_arrays(np.array([2.0, 8.0, 4.0] * 4), np.arange(12.0), rescale=False)
    assert raw.lam[0] == 8.0


def test_static_upweight_tail_gives_the_tail_exactly_c():
    m = power_law_modes(2.0, 1.5, n_modes=20_000)
    base = simulate(m, Baseline(), t_max=1e5)
    tr = simulate(m, Static(shape="upweight-tail", factor=1.4), t_max=1e5)
    # tail weight C = 1.4 is the largest weight, and late targets are reached 1.4× sooner
    assert tr.max_weight[-1] == pytest.approx(1.4, rel=1e-12)
    sp = fit.speedups(tr, base, fit.default_targets(base)[-1:])
    assert next(iter(sp.values())) == pytest.approx(1.4, rel=1e-3)
    with pytest.raises(Exception, match="exceeds 1/P_tail"):
        simulate(m, Static(shape="upweight-tail", factor=50.0), t_max=10.0)
