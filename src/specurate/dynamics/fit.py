r"""Measurements on simulated trajectories: exponents, time-to-target, finite regions, bounds.

* Local slopes d ln L / d ln t on the log grid, and a least-squares exponent over a window in
  which the frontier is past its transient (k* ≥ ``k_lo``) and well inside N (k* ≤ N/10), with a
  stability check: the drift of the slope between the first and last third of the window.
* Time-to-target: the first (log-log interpolated) compute at which L reaches a target loss;
  the speed-up of a policy is t_baseline / t_policy at equal target.
* Static finite region (paper's open question 1): the frontier ratio R(t) = k*_w(t)/k*(t);
  C_front is its final value and K₀ the frontier position after which R stays within
  ``tol`` of C_front.
* Weight bound: a policy whose weights never exceed C has g_k(t) ≤ c (C λ_k)^α t^β, so its
  speed-up is at most C^{α/β} at any target; :func:`bound_speedup` reports that number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from specurate.dynamics.simulate import Trajectory


@dataclass(frozen=True)
class ExponentFit:
    r"""A power law y ∝ t^{±exponent} fitted on a window of a trajectory.

    Attributes:
        exponent: decay exponent for losses (L ~ t^{-x}), growth exponent for k* (k* ~ t^{x}).
        t_range: first and last time of the window.
        n_points: grid points in the window.
        drift: exponent on the last third minus exponent on the first third of the window.
        stable: |drift| ≤ 0.05·|exponent| + 0.01 (a straight line in log-log).
    """

    exponent: float
    t_range: tuple[float, float]
    n_points: int
    drift: float
    stable: bool


def local_slopes(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d ln y / d ln t by second-order differences on the grid (NaN where y ≤ 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.nan)
    return np.gradient(ly, np.log(t))


def _ols_slope(x: np.ndarray, y: np.ndarray) -> float:
    xc = x - x.mean()
    return float(np.dot(xc, y - y.mean()) / np.dot(xc, xc))


def fit_window(
    traj: Trajectory,
    *,
    k_lo: float = 30.0,
    k_hi: float | None = None,
    loss_floor: float | None = None,
) -> np.ndarray:
    """Boolean mask of grid points usable for exponent fits (longest contiguous run).

    Points qualify when k_lo ≤ k* ≤ k_hi, t ≤ ``traj.valid_until``, and L > 10·``loss_floor``
    (a known floor; default ``traj.loss_floor``, e.g. the fixed-κ oracle's e^{−2κ} Σ e_k).
    Default k_hi: N/10 when the tail beyond N is closed analytically, N/1000 for a truncated
    N-mode problem (there the missing tail Σ_{k>N} e_k biases the local slope by ~(k*/N)^{a−1}).
    """
    if k_hi is None:
        k_hi = traj.n_modes / 10 if traj.closed else traj.n_modes / 1000
    if loss_floor is None:
        loss_floor = traj.loss_floor
    ok = (
        (traj.k_star >= k_lo)
        & (traj.k_star <= k_hi)
        & (traj.t <= traj.valid_until)
        & (traj.loss > 10 * loss_floor)
        & np.isfinite(traj.loss)
        & (traj.loss > 0)
    )
    best = np.zeros_like(ok)
    i, n = 0, ok.size
    while i < n:
        if ok[i]:
            j = i
            while j < n and ok[j]:
                j += 1
            if j - i > best.sum():
                best = np.zeros_like(ok)
                best[i:j] = True
            i = j
        else:
            i += 1
    return best


def fit_exponent(t: np.ndarray, y: np.ndarray, mask: np.ndarray, *, sign: float) -> ExponentFit:
    """Least-squares exponent of y ~ t^{sign·x} on ``mask`` (sign −1 for losses, +1 for k*)."""
    idx = np.nonzero(mask)[0]
    if idx.size < 6:
        return ExponentFit(
            float("nan"), (float("nan"), float("nan")), int(idx.size), float("nan"), False
        )
    lt, ly = np.log(t[idx]), np.log(y[idx])
    x = sign * _ols_slope(lt, ly)
    third = max(idx.size // 3, 3)
    first = sign * _ols_slope(lt[:third], ly[:third])
    last = sign * _ols_slope(lt[-third:], ly[-third:])
    drift = last - first
    stable = bool(abs(drift) <= 0.05 * abs(x) + 0.01)
    return ExponentFit(x, (float(t[idx[0]]), float(t[idx[-1]])), int(idx.size), drift, stable)


def loss_exponent(
    traj: Trajectory, *, loss_floor: float | None = None, k_lo: float = 30.0
) -> ExponentFit:
    """Exponent x of L ~ t^{-x} on the trajectory's fit window."""
    mask = fit_window(traj, k_lo=k_lo, loss_floor=loss_floor)
    return fit_exponent(traj.t, traj.loss, mask, sign=-1.0)


def frontier_exponent(
    traj: Trajectory, *, loss_floor: float | None = None, k_lo: float = 30.0
) -> ExponentFit:
    """Exponent x of k* ~ t^{x} on the trajectory's fit window."""
    mask = fit_window(traj, k_lo=k_lo, loss_floor=loss_floor)
    return fit_exponent(traj.t, traj.k_star, mask, sign=1.0)


def weight_growth_exponent(traj: Trajectory, mask: np.ndarray | None = None) -> float:
    """Exponent of the largest weight used, max_weight ~ t^{x} (0 for bounded policies)."""
    mask = fit_window(traj) if mask is None else mask
    idx = np.nonzero(mask)[0]
    if idx.size < 6:
        return float("nan")
    return _ols_slope(np.log(traj.t[idx]), np.log(traj.max_weight[idx]))


def time_to_loss(traj: Trajectory, target: float, *, axis: str = "compute") -> float:
    """First compute (or time, ``axis="t"``) at which L ≤ ``target``; NaN if never reached.

    Log-log interpolation between the two grid points that bracket the crossing.
    """
    x = traj.compute if axis == "compute" else traj.t
    below = np.nonzero(traj.loss <= target)[0]
    if below.size == 0:
        return float("nan")
    i = int(below[0])
    if i == 0:
        return float(x[0]) if traj.loss[0] == target else float("nan")
    l0, l1 = math.log(traj.loss[i - 1]), math.log(traj.loss[i])
    x0, x1 = math.log(x[i - 1]), math.log(x[i])
    frac = (l0 - math.log(target)) / (l0 - l1) if l0 != l1 else 1.0
    return math.exp(x0 + frac * (x1 - x0))


def default_targets(base: Trajectory, n: int = 3) -> list[float]:
    """Target losses: the baseline's loss at ``n`` log-spaced times inside its fit window."""
    mask = fit_window(base)
    idx = np.nonzero(mask)[0]
    if idx.size < 2:
        idx = np.arange(base.t.size // 4, base.t.size)
    picks = np.unique(np.linspace(idx[0], idx[-1], n + 1)[1:].round().astype(int))
    return [float(base.loss[i]) for i in picks]


def speedups(traj: Trajectory, base: Trajectory, targets: list[float]) -> dict[str, float | None]:
    """Compute-to-target ratio baseline/policy at each target (None if the policy never gets there).

    Keys are the targets formatted with 4 significant digits.
    """
    out: dict[str, float | None] = {}
    for target in targets:
        tb, tp = time_to_loss(base, target), time_to_loss(traj, target)
        out[f"{target:.4g}"] = tb / tp if math.isfinite(tb) and math.isfinite(tp) else None
    return out


def bound_speedup(traj: Trajectory) -> float:
    """C^{α/β} with C the largest weight the policy used: the most time compression it allows."""
    return float(traj.max_weight[-1] ** (traj.law.alpha / traj.law.beta))


@dataclass(frozen=True)
class FrontierRegion:
    """Finite-region gain of a static policy (paper's OQ1).

    Attributes:
        c_front: final frontier ratio k*_w/k* (the constant the frontier moves by).
        k0: frontier position (of the curated run) from which the ratio stays within ``tol``
            of ``c_front``: past it, the frontier moves at the baseline's rate.
        max_ratio: largest ratio seen.
        ratio: (T,) the ratio on the grid (NaN where k* < 1).
    """

    c_front: float
    k0: float
    max_ratio: float
    ratio: np.ndarray


def frontier_region(traj: Trajectory, base: Trajectory, *, tol: float = 0.02) -> FrontierRegion:
    """K₀ and C_front of ``traj`` against ``base`` on the common fit window of the baseline."""
    mask = fit_window(base, k_lo=1.0) & (traj.k_star >= 1.0) & (traj.t <= traj.valid_until)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mask, traj.k_star / base.k_star, np.nan)
    idx = np.nonzero(mask)[0]
    if idx.size == 0:
        return FrontierRegion(float("nan"), float("nan"), float("nan"), ratio)
    c_front = float(ratio[idx[-1]])
    off = np.abs(np.log(ratio[idx] / c_front)) > math.log1p(tol)
    last_off = int(idx[np.nonzero(off)[0][-1]]) if off.any() else int(idx[0]) - 1
    k0 = float(traj.k_star[min(last_off + 1, idx[-1])])
    return FrontierRegion(c_front, k0, float(np.nanmax(ratio)), ratio)
