"""Tail closure of feedback policies (issue 13): the analytic tail beyond N gets the mean weight
its own modes would get, so a closed N-mode run is the infinite problem inside k* ≤ N/10.

Reference: the same power law with 30·N real modes (same total example mass; its own tail
beyond 30·N is negligible inside k* ≤ N/10).
"""

from __future__ import annotations

import numpy as np
import pytest

from specurate.dynamics.modes import LearningLaw, power_law_modes
from specurate.dynamics.policies import SelfScore, SoftOracle
from specurate.dynamics.simulate import simulate

N = 1000
# Max relative L error inside k* ≤ N/10 (closed N = 1000 vs 30 000 real modes), before → after
# the fix (tail weight e^{−q g_N} / power-law continuation → the tail's mean weight):
#   soft-oracle (2, 1.2) 9.0 % → 0.18 %, (2, 1.3) 5.0 % → 0.10 %, (2.5, 1.5) 2.6 % → 0.02 %
#   self-score  (2, 1.2) 0.77 % → 0.21 %, (2, 1.3) 0.72 % → 0.17 %, (2.5, 1.5) 0.10 % → 0.02 %
CASES = [
    (SoftOracle(), 2.0, 1.2),
    (SoftOracle(), 2.0, 1.3),
    (SoftOracle(), 2.5, 1.5),
    (SelfScore(), 2.0, 1.2),
    (SelfScore(), 2.0, 1.3),
    (SelfScore(), 2.5, 1.5),
]


@pytest.mark.parametrize(("policy", "a", "b"), CASES, ids=lambda x: getattr(x, "name", str(x)))
def test_closed_tail_matches_a_run_with_the_tail_made_of_real_modes(policy, a, b):
    kw = dict(t_min=1.0, t_max=1e4, points_per_decade=20)
    closed = simulate(power_law_modes(a, b, n_modes=N), policy, **kw)
    exact = simulate(power_law_modes(a, b, n_modes=30 * N), policy, **kw)
    inside = (exact.k_star >= 1) & (exact.k_star <= N / 10)
    assert inside.sum() >= 20  # the window spans ≥ 1 decade of t on this grid
    err = np.abs(closed.loss[inside] / exact.loss[inside] - 1.0)
    # benchmark goal of issue 13: ≤ 0.5 % relative L error inside the validity window
    assert err.max() <= 0.005, err.max()


def test_tail_sum_is_the_sum_over_real_tail_modes():
    # Σ_{k>N} (k/N)^{-p} e^{−q g_N (N/k)^{bα}} against a direct sum to 10^7 plus the exact
    # remainder beyond (ζ tail, where the exponential is 1 to within q g_N (N/10^7)^{bα} ≈ 1e-5)
    from scipy import special

    m = power_law_modes(2.0, 1.3, n_modes=100)
    law = LearningLaw(alpha=1.2)
    k = np.arange(101, 10**7 + 1, dtype=float)
    for g in (0.0, 0.3, 3.0, 30.0):
        ref = np.sum((k / 100) ** -1.3 * np.exp(-2 * g * (100 / k) ** (1.3 * 1.2)))
        ref += float(special.zeta(1.3, 10**7 + 1)) * 100**1.3
        assert m.tail_sum(1.3, 2.0, g, law) == pytest.approx(ref, rel=2e-4)
