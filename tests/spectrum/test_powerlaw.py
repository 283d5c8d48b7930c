"""Power-law fits against closed forms: exact spectra, planted floors, heads, alternatives."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specurate.errors import SpecurateInputError
from specurate.spectrum.powerlaw import compare_models, estimate_floor, fit_power_law

K = np.arange(1, 1001, dtype=float)


@settings(max_examples=40, deadline=None)
@given(b=st.floats(0.3, 4.0), logc=st.floats(-20, 20))
def test_exact_power_law_recovered_to_rounding(b, logc):
    # log λ is exactly linear in log k, so OLS alone recovers b to float64 rounding; the floor
    # fit (an iterative optimizer with ~1e-8 relative tolerance) may report a spurious floor
    # just above 1e-6 of the smallest value over 12 decades, whose subtraction moves b by
    # < 1e-6 at most.
    lam = np.exp(logc) * K**-b
    fit = fit_power_law(lam)
    assert fit.b == pytest.approx(b, abs=1e-6)
    assert fit.log_c == pytest.approx(logc, abs=1e-5)
    assert fit.alpha == pytest.approx(1 + 1 / fit.b)
    assert fit.floor <= 1e-5 * lam[fit.fit_range[1] - 1]


@settings(max_examples=20, deadline=None)
@given(b=st.floats(0.5, 3.0), scale=st.floats(1e-6, 1e6))
def test_scale_invariance(b, scale):
    lam = K[:300] ** -b + 1e-6
    f1, f2 = fit_power_law(lam), fit_power_law(scale * lam)
    assert f1.fit_range == f2.fit_range
    assert f1.b == pytest.approx(f2.b, abs=1e-8)


@pytest.mark.parametrize("b", [1.1, 1.5, 2.0, 2.5, 3.0])
def test_noise_floor_is_excluded_and_removed(b):
    # λ_k = k^-b + 1e-5: the floor is found, ranks where it exceeds 0.5% of the signal are cut,
    # and the fitted floor is subtracted, so b is recovered to the floor fit's accuracy.
    lam = K[:512] ** -b + 1e-5
    fit = fit_power_law(lam, n_samples=20_000)
    k_max = fit.fit_range[1]
    if b >= 1.5:  # for b = 1.1 the floor never exceeds 1% of λ_k within 512 ranks
        assert fit.floor == pytest.approx(1e-5, rel=0.02)
        assert 1e-5 <= 0.005 * k_max**-b * 1.05
    assert fit.b == pytest.approx(b, abs=2e-3)


def test_floor_estimate_on_pure_power_law_is_zero():
    assert estimate_floor(K**-1.3) == 0.0


def test_head_outliers_are_dropped():
    lam = K[:400] ** -1.5
    lam[:3] *= [8.0, 3.0, 1.5]  # a head that is not part of the power law
    fit = fit_power_law(lam)
    assert fit.fit_range[0] >= 3
    assert fit.b == pytest.approx(1.5, abs=1e-6)


def test_finite_sample_cap():
    lam = K[:500] ** -2.0
    fit = fit_power_law(lam, n_samples=200)  # cap at min(0.5·500, 0.1·200, 2·√100) = 20
    assert fit.fit_range[1] <= 20
    assert fit.cap == 20


def test_model_comparison_signs():
    # R > 0 favours the power law: true for a power law with noise, false for an exponential.
    rng = np.random.default_rng(0)
    noise = np.exp(0.01 * rng.standard_normal(200))
    pl = compare_models(K[:200] ** -1.5 * noise, (1, 200))
    ex = compare_models(np.exp(-0.05 * K[:200]) * noise, (1, 200))
    assert {c.alternative for c in pl} == {"exponential", "cutoff"}
    assert pl[0].loglik_ratio > 0 and pl[0].p_value < 0.01
    assert ex[0].loglik_ratio < 0 and ex[0].p_value < 0.01
    # The cutoff model nests the power law: R ≤ 0 always; on a pure power law it is not
    # significant (p > 0.01), on an exponential it is.
    assert pl[1].loglik_ratio <= 0 and pl[1].p_value > 0.01
    assert ex[1].loglik_ratio < 0 and ex[1].p_value < 0.01


@pytest.mark.parametrize(
    "values, fit_range",
    [
        (np.ones(3), None),
        (np.array([1.0, np.nan, 0.5, 0.2, 0.1, 0.05]), None),
        (K**-1.0, (5, 2)),
        (K**-1.0, (1, 5000)),
        (np.zeros(10), None),
    ],
)
def test_bad_input_raises(values, fit_range):
    with pytest.raises(SpecurateInputError):
        fit_power_law(values, fit_range=fit_range)
