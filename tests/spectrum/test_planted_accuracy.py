"""Slow: CI coverage of planted exponents over seeds (run with `pytest -m slow`).

The full 40-seed study over five (b, a) pairs is `benchmarks/bench_planted.py`; this is its
smaller, assertable version, with the default (jackknife) intervals. With 10 seeds and a true
coverage of 90%, at least 7 covered seeds happen with probability 0.99 (binomial), so the test
fails only if coverage is off.
"""

import numpy as np
import pytest

from specurate.datasets import planted_powerlaw
from specurate.spectrum.estimate import estimate_spectrum


@pytest.mark.slow
@pytest.mark.parametrize("b, a", [(1.1, 2.0), (3.0, 1.5)])
def test_planted_coverage(b, a):
    rows = []
    for seed in range(10):
        ds = planted_powerlaw(20_000, 512, b=b, a=a, seed=100 + seed)
        rep = estimate_spectrum(ds.x, ds.y, seed=seed)
        rows.append((rep.b, *rep.b_ci, rep.target.a, *rep.target.a_ci))
    r = np.array(rows)
    assert np.abs(r[:, 0] - b).max() <= 0.05
    assert np.abs(r[:, 3] - a).max() <= 0.05
    assert np.sum((r[:, 1] <= b) & (b <= r[:, 2])) >= 7
    assert np.sum((r[:, 4] <= a) & (a <= r[:, 5])) >= 7
