"""Property tests of the Python API on generated bad input: only ``SpecurateInputError``
escapes (never a plain ValueError, LinAlgError, TypeError or IndexError), no RuntimeWarning
leaks, and a result presented as valid holds no NaN/inf (α NaN only with its reason).
Deterministic: hypothesis is derandomized."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

api_cases = sys.modules["api_cases"]

FAST = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@FAST
@given(st.integers(0, 2**32 - 1))
def test_generated_calls(seed):
    call = api_cases.draw_call(np.random.default_rng(seed))
    verdict = api_cases.run_call(call)
    assert verdict in ("ok", "SpecurateInputError"), f"{call.describe()}: {verdict}"


@pytest.mark.parametrize("seed", [-1, -(2**40), 2**70, 1.5, "0", True])
def test_bad_seeds(seed):
    from specurate.errors import SpecurateInputError
    from specurate.spectrum.estimate import estimate_spectrum

    x = np.random.default_rng(0).standard_normal((60, 4))
    with pytest.raises(SpecurateInputError):
        estimate_spectrum(x, seed=seed, ci_method="none")


def test_frontier_update_on_an_empty_batch():
    from specurate.curation import FrontierSampler

    s = FrontierSampler(rank=2)
    state = s.init(20, seed=0, groups=np.arange(20) % 3)
    assert s.update(state, np.array([], dtype=np.int64), {"loss": np.array([])}) is state


def test_huge_labels_stay_distinct():
    from specurate.io import encode_categories, validate_array

    y = np.array([1e300, -1e300, 1e300, 2.0])
    codes, names = encode_categories(y, "labels")
    assert len(names) == 3 and codes.tolist() == [2, 0, 2, 1]
    assert validate_array(y, source="y", role="labels").dtype == np.float64


@pytest.mark.parametrize("scale", [1e-160, 1e-100, 1e100, 1e150])
def test_scale_free_exponent(scale):
    from specurate.spectrum.estimate import estimate_spectrum
    from specurate.spectrum.reweight import analyze_reweighting

    rng = np.random.default_rng(1)
    x = rng.standard_normal((120, 8)) * np.arange(1, 9) ** -0.75
    w = rng.random(120) + 0.1
    if scale < 1e-150:  # rbf only: linear eigenvalues would be subnormal (a clear error)
        ref = estimate_spectrum(x, kernel="rbf", ci_method="none")
        got = estimate_spectrum(x * scale, kernel="rbf", ci_method="none")
        assert got.b == pytest.approx(ref.b, rel=1e-9)
        assert got.bandwidth == pytest.approx(ref.bandwidth * scale, rel=1e-12)
        return
    ref = estimate_spectrum(x, ci_method="none")
    got = estimate_spectrum(x * scale, ci_method="none")
    assert got.b == pytest.approx(ref.b, rel=1e-9)
    np.testing.assert_allclose(got.eigenvalues, ref.eigenvalues * scale**2, rtol=1e-9)
    rw_ref = analyze_reweighting(x, w, ci_method="none")
    rw = analyze_reweighting(x * scale, w, ci_method="none")
    assert rw.b_w == pytest.approx(rw_ref.b_w, rel=1e-9) and math.isfinite(rw.C)


@pytest.mark.integration
@settings(
    max_examples=600,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(st.integers(0, 2**32 - 1))
def test_generated_calls_long(seed):
    call = api_cases.draw_call(np.random.default_rng(seed))
    verdict = api_cases.run_call(call)
    assert verdict in ("ok", "SpecurateInputError"), f"{call.describe()}: {verdict}"
