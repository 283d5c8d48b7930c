"""Issue 13: local slopes, range uncertainty, shape verdicts, spurious floors, energy range."""

import json

import numpy as np
import pytest

from specurate.datasets import planted_powerlaw
from specurate.report.json import spectrum_dict
from specurate.spectrum.estimate import estimate_spectrum
from specurate.spectrum.powerlaw import (
    estimate_floor,
    fit_power_law,
    floor_is_real,
    local_slopes,
    range_spread,
)

K = np.arange(1, 1001, dtype=float)


def gaussian_features(lam, n, *, a=2.0, seed=0):
    """Gaussian features with covariance spectrum ``lam`` and a linear target of energy k^-a."""
    rng = np.random.default_rng(seed)
    k = np.arange(1, lam.size + 1, dtype=float)
    z = rng.standard_normal((n, lam.size)) * np.sqrt(lam)
    beta = np.sqrt(k**-a / lam) * rng.choice([-1.0, 1.0], size=lam.size)
    return z, z @ beta


def broken(k, b1, b2, k_b):
    return np.where(k <= k_b, k**-b1, k_b**-b1 * (k / k_b) ** -b2)


def test_local_slopes_of_exact_spectra():
    assert all(b == pytest.approx(1.7) for _, b in local_slopes(K**-1.7, (1, 300)))
    s = local_slopes(broken(K, 1.0, 2.0, 30), (1, 300))
    ks = np.array([k for k, _ in s])
    bs = np.array([b for _, b in s])
    assert np.allclose(bs[ks * 10**0.25 < 30], 1.0)  # windows before the break
    assert np.allclose(bs[ks / 10**0.25 > 31], 2.0)  # windows after it
    assert ks[0] < ks[-1]


def test_range_spread_is_zero_for_power_law_and_wide_for_cutoff():
    pl = range_spread(K**-1.3, (2, 100))
    assert all(b == pytest.approx(1.3) for *_, b in pl)
    assert {(lo, hi) for lo, hi, _ in pl} >= {(2, 100), (2, 75), (2, 125)}
    cut = [b for *_, b in range_spread(K**-1.0 * np.exp(-K / 100), (5, 100))]
    assert max(cut) - min(cut) > 0.15  # local slope 1.05 at k = 5, 2.0 at k = 100


@pytest.mark.parametrize("b", [1.1, 1.5, 2.5])
def test_planted_power_law_says_power_law(b):
    ds = planted_powerlaw(20_000, 512, b=b, a=2.0, seed=1)
    rep = estimate_spectrum(ds.x, ds.y, seed=0, repeats=1)  # shape: one fold draw is enough
    assert rep.shape == "power law" and rep.single_power_law
    assert "single power law" in rep.shape_note
    lo, hi = rep.b_ci_total
    assert lo <= min(rep.b_ci[0], rep.b_range[0]) and hi >= max(rep.b_ci[1], rep.b_range[1])
    assert rep.b_range[0] <= rep.b <= rep.b_range[1]
    assert rep.fit.local_slopes and rep.fit.slope_drift < 0.05


@pytest.mark.parametrize(
    "lam",
    [
        K[:512] ** -1.2 * np.exp(-K[:512] / 100) + 1e-5,  # power law with exponential cutoff
        broken(K[:512], 1.1, 1.8, 60) + 1e-5,  # broken power law, break inside the fit range
    ],
    ids=["cutoff", "broken"],
)
def test_planted_bent_spectrum_says_bent(lam):
    x, y = gaussian_features(lam, 20_000)
    rep = estimate_spectrum(x, y, seed=0, repeats=1)
    assert rep.shape == "bent: cutoff favoured" and not rep.single_power_law
    assert "not a clean power law" in rep.shape_note
    # The range spread is part of the total interval and wider than the statistical CI.
    assert rep.b_range[1] - rep.b_range[0] > rep.b_ci[1] - rep.b_ci[0]
    assert rep.b_ci_total[0] <= rep.b_range[0] and rep.b_ci_total[1] >= rep.b_range[1]


def _keeps_falling():
    """Slope 1.1 to rank 40, 1.45 to rank 300, then 1.33: it flattens a little, never flat."""
    lk = np.log(K)
    y = -1.1 * np.minimum(lk, np.log(40))
    y -= 1.45 * np.clip(lk - np.log(40), 0, np.log(300 / 40))
    y -= 1.33 * np.clip(lk - np.log(300), 0, None)
    return np.exp(y + 0.01 * np.random.default_rng(0).standard_normal(K.size))


def test_spectrum_that_keeps_falling_gets_no_floor():
    lam = np.sort(_keeps_falling())[::-1]
    eps = estimate_floor(lam, cap=1000, start=20)
    assert eps > 0  # the three-parameter fit reads the flattening as a floor …
    assert not floor_is_real(lam, eps, cap=1000, start=20)  # … that the data do not show
    fit = fit_power_law(lam, n_samples=5000)
    assert fit.floor == 0.0


@pytest.mark.parametrize("b", [2.0, 3.0])
def test_planted_floor_is_still_found(b):
    ds = planted_powerlaw(20_000, 512, b=b, a=2.0, seed=2)
    rep = estimate_spectrum(ds.x, ds.y, ci_method="none")
    assert rep.fit.floor == pytest.approx(1e-5, rel=0.1)
    assert abs(rep.b - b) <= 0.05


def test_energy_range_is_decoupled_from_eigenvalue_cap():
    # n = 2,000: eigenvalues are resolved up to rank ≈ b·√(n/2) ≈ 35 only, energies further.
    ds = planted_powerlaw(2_000, 512, b=1.1, a=2.0, seed=0)
    rep = estimate_spectrum(ds.x, ds.y, ci_method="none")
    assert rep.fit.fit_range[1] <= 40
    assert rep.target.fit_range[1] >= 150
    assert abs(rep.target.a - 2.0) <= 0.05
    assert abs(rep.target.a_binned - 2.0) <= 0.05
    assert rep.target.a_range[0] <= rep.target.a <= rep.target.a_range[1]


def test_json_has_shape_fields():
    ds = planted_powerlaw(4_000, 64, b=1.5, a=2.0, seed=0)
    out = spectrum_dict(estimate_spectrum(ds.x, ds.y, ci_method="none"))
    for key in ("b_range", "b_ci_total", "local_slopes", "slope_drift", "shape"):
        assert key in out
    assert isinstance(out["single_power_law"], bool) and isinstance(out["shape_note"], str)
    assert out["b_ci"] == [None, None]  # no CI: NaN → null
    assert {"k", "b"} <= set(out["local_slopes"][0])
    assert len(out["a_range"]) == 2 and "a_binned" in out
    json.dumps(out, allow_nan=False)
