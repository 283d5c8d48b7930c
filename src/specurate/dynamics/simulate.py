r"""Exact integration of mode-space learning under a curation policy.

State: per-mode exponent g_k(s) (relative residual u_k = e^{-g_k}) in the clock s = t^β.
Test loss on the original distribution: L = Σ_k e_k u_k² (+ analytic tail, see ``Modes``).

Engines (chosen by the policy, never a fixed-step scheme whose step sets the answer):

* static weights — closed form g_k = c (ω_k λ_k)^α s;
* hard oracle, fixed κ — event-driven and vectorized: all unlearned modes share one history,
  g_k = c λ_k^α Ψ(s) with dΨ/ds = C_j^α while j modes are learned, so mode j+1 is crossed at
  Ψ_{j+1} = κ / (c λ_{j+1}^α) and the segment lengths are Δs_j = (Ψ_{j+1} − Ψ_j) / C_j^α;
* hard oracle, growing κ(t) — the same Ψ, now a scalar ODE dΨ/ds = C(s)^α (C net of the
  mass that holds learned modes at κ(t)) solved by adaptive Runge–Kutta (scipy ``solve_ivp``);
* refreshing policies — weights constant between refreshes, each piece solved in closed form
  u(s) = ū + (u₀ − ū) e^{−r (s − s₀)};
* continuous feedback (``staleness=0``) — the N-dimensional ODE dg/d ln s = s·c(ω(g) λ)^α
  by adaptive Runge–Kutta with relative tolerance ``rtol``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from specurate import _rng
from specurate.dynamics.modes import LearningLaw, Modes
from specurate.dynamics.policies import Context, Oracle, Piece, Policy, State
from specurate.errors import SpecurateInputError


@dataclass(frozen=True)
class Trajectory:
    r"""A simulated run on a log-spaced time grid.

    Attributes:
        policy: policy name; ``params`` its knobs.
        budget: budget convention of the problem (``operator`` or ``mass``).
        law: learning law (c, α, β).
        n_modes: N; ``closed`` whether the tail beyond N is carried analytically.
        kappa: threshold defining a learned mode for ``k_star`` (g_k ≥ κ).
        t: (T,) training time in passes; ``compute`` (T,) passes charged including scoring,
            helpers and set-up.
        loss: (T,) test loss on the original distribution.
        k_star: (T,) learned modes (continuous: log-interpolated at the crossing).
        max_weight: (T,) largest mode weight used up to t (running maximum).
        wasted: (T,) share of the sampling mass spent on examples that teach nothing.
        span_loss: (T,) loss on the modes outside the real data's span (synthetic policies).
        valid_until: last time at which k* ≤ N/10 (beyond it finite N can bias slopes).
        initial_loss: L(0) = Σ e_k.
        loss_floor: a floor the policy cannot go below (fixed-κ oracle: e^{−2κ} Σ e_k),
            excluded from exponent fits.
        engine: how it was integrated: the policy's engine (``"static"``, ``"oracle"``,
            ``"refresh"`` or ``"ode"``).
        solver: details of the integration (method, steps, pieces, tolerance, seconds).
        notes: caveats found while simulating.
    """

    policy: str
    params: dict[str, Any]
    budget: str
    law: LearningLaw
    n_modes: int
    closed: bool
    kappa: float
    t: np.ndarray
    compute: np.ndarray
    loss: np.ndarray
    k_star: np.ndarray
    max_weight: np.ndarray
    wasted: np.ndarray
    span_loss: np.ndarray | None
    valid_until: float
    engine: str
    solver: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    initial_loss: float = float("nan")
    loss_floor: float = 0.0


def time_grid(t_min: float, t_max: float, points_per_decade: int = 40) -> np.ndarray:
    """Log-spaced times from ``t_min`` to ``t_max`` inclusive."""
    if not (t_min > 0 and t_max > t_min and math.isfinite(t_max)):
        raise SpecurateInputError(f"need 0 < t_min < t_max, got t_min={t_min}, t_max={t_max}")
    if points_per_decade < 2:
        raise SpecurateInputError("points_per_decade must be ≥ 2")
    n = max(2, round(math.log10(t_max / t_min) * points_per_decade) + 1)
    return np.geomspace(t_min, t_max, n)


def frontier(g: np.ndarray, kappa: float) -> float:
    r"""Learned modes #{k: g_k ≥ κ}, log-interpolated when the learned set is a prefix.

    For g_k = A k^{-p} it returns (A/κ)^{1/p} exactly: between modes c and c+1,
    ln k* = ln c + ln(g_c/κ)/ln(g_c/g_{c+1}) · ln((c+1)/c).
    """
    count = int(np.count_nonzero(g >= kappa))
    if 0 < count < g.size:
        return _interpolate_crossing(count, float(g[count - 1]), float(g[count]), kappa)
    return float(count)


def _interpolate_crossing(count: int, gc: float, gn: float, kappa: float) -> float:
    """k* between modes c = ``count`` (g_c = gc ≥ κ) and c+1 (g_{c+1} = gn < κ), in log k."""
    if gc >= kappa > gn > 0 and math.isfinite(gc):
        frac = (math.log(gc) - math.log(kappa)) / (math.log(gc) - math.log(gn))
        return count * ((count + 1) / count) ** min(max(frac, 0.0), 1.0)
    return float(count)


def simulate(
    modes: Modes,
    policy: Policy,
    *,
    law: LearningLaw | None = None,
    t_min: float = 1.0,
    t_max: float = 1e8,
    points_per_decade: int = 40,
    kappa: float = 1.0,
    rtol: float = 1e-8,
    seed: int = 0,
) -> Trajectory:
    r"""Integrate L(t), k*(t) of ``modes`` trained under ``policy``.

    Args:
        modes: the problem (:func:`power_law_modes`, :func:`modes_from_spectrum`).
        policy: a :class:`~specurate.dynamics.policies.Policy`.
        law: learning law (default gradient flow, c = α = β = 1).
        t_min: start of the time range, in passes.
        t_max: end of the time range, in passes.
        points_per_decade: points of the log time grid from ``t_min`` to ``t_max``.
        kappa: g threshold that counts a mode as learned in ``k_star``.
        rtol: relative tolerance of the adaptive solvers (unused by closed forms).
        seed: seed of the policy's randomness (score noise, random pruning).

    Returns:
        :class:`Trajectory`.
    """
    law = law or LearningLaw()
    if not (math.isfinite(kappa) and kappa > 0):
        raise SpecurateInputError(f"κ (kappa) must be > 0, got {kappa}")
    if not (0 < rtol < 1e-2):
        raise SpecurateInputError(f"rtol must be in (0, 0.01), got {rtol}")
    t = time_grid(t_min, t_max, points_per_decade)
    ctx = Context(modes, law, _rng.stream("root", seed), float(kappa))
    start = time.perf_counter()
    engine = policy.engine
    if engine == "static":
        res = _run_static(ctx, policy, t)
    elif engine == "oracle":
        assert isinstance(policy, Oracle)
        res = (
            _run_oracle(ctx, policy, t, rtol)
            if policy.growth == 0
            else _run_oracle_growing(ctx, policy, t, rtol)
        )
    elif engine == "refresh":
        res = _run_refresh(ctx, policy, t)
    elif engine == "ode":
        res = _run_ode(ctx, policy, t, rtol)
    else:  # pragma: no cover - policies declare one of the four
        raise SpecurateInputError(f"unknown engine {engine!r}")
    res.solver["seconds"] = time.perf_counter() - start
    k = res.k_star
    beyond = np.nonzero(k > modes.n_modes / 10)[0]
    valid_until = float(t[max(beyond[0] - 1, 0)]) if beyond.size else float(t[-1])
    notes = list(res.notes)
    if beyond.size:
        notes.append(
            f"the frontier passed N/10 = {modes.n_modes // 10} modes at t = {t[beyond[0]]:.3g}; "
            "later times depend on N"
        )
    return Trajectory(
        policy=policy.name,
        params=policy.params(),
        budget=modes.budget,
        law=law,
        n_modes=modes.n_modes,
        closed=modes.closed,
        kappa=float(kappa),
        t=t,
        compute=res.compute,
        loss=res.loss,
        k_star=k,
        max_weight=np.maximum.accumulate(res.max_weight),
        wasted=res.wasted,
        span_loss=res.span_loss,
        valid_until=valid_until,
        engine=engine,
        solver=res.solver,
        notes=tuple(notes),
        initial_loss=modes.total_energy,
        loss_floor=res.loss_floor,
    )


@dataclass
class _Result:
    compute: np.ndarray
    loss: np.ndarray
    k_star: np.ndarray
    max_weight: np.ndarray
    wasted: np.ndarray
    span_loss: np.ndarray | None = None
    solver: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    loss_floor: float = 0.0


def _evaluate_g(
    ctx: Context, g: np.ndarray, g_rem: float, buf: np.ndarray | None = None
) -> tuple[float, float]:
    """Loss and k* for exponents g (N,) and the tail's leading exponent g_rem.

    ``buf`` (N,) is scratch space: reusing it avoids fresh N-float temporaries (page faults
    dominate at N = 10^6).
    """
    m, law = ctx.modes, ctx.law
    buf = np.empty_like(g) if buf is None else buf
    np.multiply(g, -2.0, out=buf)
    np.exp(buf, out=buf)
    loss = float(np.dot(m.energy, buf)) + float(m.remainder_energy(g_rem, law))
    k = frontier(g, ctx.kappa) + float(m.remainder_learned(g_rem, ctx.kappa, law))
    return loss, k


def _run_static(ctx: Context, policy: Policy, t: np.ndarray) -> _Result:
    omega, omega_rem = policy.weights(ctx)  # type: ignore[attr-defined]
    law, m = ctx.law, ctx.modes
    rate = law.rate(m.lam, omega)
    rate_rem = float(law.rate(m.lam[-1], omega_rem))
    s = law.clock(t)
    loss = np.empty(t.size)
    k = np.empty(t.size)
    g, buf = np.empty_like(rate), np.empty_like(rate)
    for i, si in enumerate(s):
        np.multiply(rate, si, out=g)
        loss[i], k[i] = _evaluate_g(ctx, g, rate_rem * si, buf)
    cmax = max(float(omega.max()), float(omega_rem) if m.closed else 0.0)
    return _Result(
        compute=t.copy(),
        loss=loss,
        k_star=k,
        max_weight=np.full(t.size, cmax),
        wasted=np.zeros(t.size),
        solver={"method": "closed form"},
    )


def _oracle_tables(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """c λ_k^α (N,), unlearned-tail mass P_tail[j] for j learned (N+1,), learned energy prefix."""
    m, law = ctx.modes, ctx.law
    lam_a = law.c * m.lam**law.alpha
    tail = np.concatenate([np.cumsum(m.mass[::-1])[::-1], [0.0]]) + m.p_rem
    e_prefix = np.concatenate([[0.0], np.cumsum(m.energy)])
    return lam_a, tail, e_prefix


def _frontier_sorted(lam_a: np.ndarray, psi: float, kappa: float) -> float:
    """:func:`frontier` of g_k = lam_a_k Ψ for non-increasing lam_a, in O(log N)."""
    if psi <= 0:
        return 0.0
    count = int(np.searchsorted(-lam_a, -kappa / psi, side="right"))
    if 0 < count < lam_a.size:
        return _interpolate_crossing(count, lam_a[count - 1] * psi, lam_a[count] * psi, kappa)
    return float(count)


def _oracle_loss(
    ctx: Context,
    lam_a: np.ndarray,
    e_prefix: np.ndarray,
    j: int,
    psi: float,
    kappa: float,
    work: np.ndarray,
) -> tuple[float, float]:
    """Loss and k* with j modes held at g = κ and the rest at g_k = c λ_k^α Ψ.

    ``work`` (N,) is scratch space. k* uses the virtual (unfrozen) exponents c λ_k^α Ψ, whose
    crossing of the measuring threshold is continuous; a threshold above the oracle's own κ is
    never reached by the held modes.
    """
    m = ctx.modes
    buf = work[: m.n_modes - j]
    np.multiply(lam_a[j:], -2.0 * psi, out=buf)
    np.exp(buf, out=buf)
    loss = e_prefix[j] * math.exp(-2.0 * kappa) + float(np.dot(m.energy[j:], buf))
    loss += float(m.remainder_energy(lam_a[-1] * psi, ctx.law))
    if ctx.kappa > kappa * (1 + 1e-12):
        return loss, 0.0
    k = _frontier_sorted(lam_a, psi, ctx.kappa)
    k += float(m.remainder_learned(lam_a[-1] * psi, ctx.kappa, ctx.law))
    return loss, k


def _run_oracle(ctx: Context, policy: Oracle, t: np.ndarray, rtol: float) -> _Result:
    m, law = ctx.modes, ctx.law
    kappa = policy.kappa
    lam_a, tail, e_prefix = _oracle_tables(ctx)
    psi_cross = kappa / lam_a  # Ψ at which mode j+1 (0-based j) is learned
    psi_prev = np.concatenate([[0.0], psi_cross[:-1]])
    c_seg = 1.0 / tail[:-1]  # weight of the unlearned modes while j are learned
    ds = (psi_cross - psi_prev) / c_seg**law.alpha
    s_start = np.concatenate([[0.0], np.cumsum(ds)])  # (N+1,)
    s = law.clock(t)
    loss = np.empty(t.size)
    k = np.empty(t.size)
    cmax = np.empty(t.size)
    notes: list[str] = []
    work = np.empty(m.n_modes)
    for i, si in enumerate(s):
        j = int(np.searchsorted(s_start, si, side="right")) - 1
        if j >= m.n_modes:
            j = m.n_modes
            psi = psi_cross[-1]
            cmax[i] = c_seg[-1]
        else:
            psi = psi_prev[j] + c_seg[j] ** law.alpha * (si - s_start[j])
            cmax[i] = c_seg[j]
        loss[i], k[i] = _oracle_loss(ctx, lam_a, e_prefix, j, psi, kappa, work)
    if s[-1] >= s_start[-1]:
        notes.append(
            f"the oracle learned all {m.n_modes} modes at t = {law.time(s_start[-1]):.3g}; "
            "weights are frozen after that"
        )
    return _Result(
        compute=t.copy(),
        loss=loss,
        k_star=k,
        max_weight=cmax,
        wasted=np.zeros(t.size),
        solver={
            "method": "event-driven closed form",
            "events": int(min(m.n_modes, np.searchsorted(s_start, s[-1]))),
        },
        notes=notes,
        loss_floor=math.exp(-2.0 * kappa) * m.total_energy,
    )


def _run_oracle_growing(ctx: Context, policy: Oracle, t: np.ndarray, rtol: float) -> _Result:
    m, law = ctx.modes, ctx.law
    lam_a, tail, e_prefix = _oracle_tables(ctx)
    inv_lam_a = 1.0 / lam_a  # increasing
    q_prefix = np.concatenate([[0.0], np.cumsum(m.mass / m.lam)])  # Σ_{k≤j} p_k / λ_k
    beta, alpha, c = law.beta, law.alpha, law.c
    state = {"violation": None, "cmax": 0.0}

    def kappa_s(s: float) -> float:
        return float(policy.kappa_at(s ** (1.0 / beta)))

    def dkappa_ds(s: float) -> float:
        tt = s ** (1.0 / beta)
        return policy.growth / (1.0 + tt) * tt / (beta * s)

    def weights(s: float, psi: float) -> tuple[int, float, float]:
        kap = kappa_s(s)
        j = int(np.searchsorted(inv_lam_a, psi / kap, side="right"))
        j = min(j, m.n_modes)
        keep = (dkappa_ds(s) / c) ** (1.0 / alpha)  # ω_k λ_k needed to hold g_k = κ(s)
        maint = keep * q_prefix[j]
        free = 1.0 - maint
        cw = free / tail[j] if tail[j] > 0 else 0.0
        w_keep = keep / m.lam[j - 1] if j > 0 else 0.0
        return j, cw, w_keep

    def rhs(tau: float, y: np.ndarray) -> np.ndarray:
        s = math.exp(tau)
        j, cw, _ = weights(s, y[0])
        if j >= m.n_modes and tail[j] == 0:
            # every mode learned and held at κ(s): keep Ψ/κ(s) fixed so none is "unlearned"
            return np.array([y[0] * s * dkappa_ds(s) / kappa_s(s)])
        return np.array([s * max(cw, 0.0) ** alpha])

    s_grid = law.clock(t)
    s0 = s_grid[0] * 1e-6
    y0 = np.array([s0])  # Ψ = C₀^α s₀ with C₀ = 1
    sol = solve_ivp(
        rhs,
        (math.log(s0), math.log(s_grid[-1])),
        y0,
        method="RK45",
        t_eval=np.log(s_grid),
        rtol=rtol,
        atol=1e-14,
    )
    if not sol.success:  # pragma: no cover - RK45 on a bounded scalar RHS
        raise RuntimeError(f"oracle ODE failed: {sol.message}")
    loss = np.empty(t.size)
    k = np.empty(t.size)
    cmax = np.empty(t.size)
    notes: list[str] = []
    work = np.empty(m.n_modes)
    for i, (si, psi) in enumerate(zip(s_grid, sol.y[0], strict=True)):
        j, cw, w_keep = weights(si, psi)
        free_mass = cw * tail[j] if tail[j] > 0 else 1.0 - w_keep * m.lam[j - 1] * q_prefix[j]
        if free_mass < 0 or (tail[j] > 0 and j > 0 and w_keep > cw * (1 + 1e-9)):
            state["violation"] = float(t[i]) if state["violation"] is None else state["violation"]
        kap = kappa_s(si)
        loss[i], k[i] = _oracle_loss(ctx, lam_a, e_prefix, j, psi, kap, work)
        cmax[i] = max(cw, w_keep)
    if state["violation"] is not None:
        notes.append(
            f"κ(t) grows faster than the budget can hold learned modes from t = "
            f"{state['violation']:.3g} on (weights needed exceed the tail weight); lower the growth"
        )
    return _Result(
        compute=t.copy(),
        loss=loss,
        k_star=k,
        max_weight=cmax,
        wasted=np.zeros(t.size),
        solver={"method": "RK45 on Ψ(ln s)", "rtol": rtol, "nfev": int(sol.nfev)},
        notes=notes,
    )


def _refresh_interval(policy: Policy, t: float, t_first: float) -> float:
    return max(policy.staleness * t, policy.min_interval, policy.staleness * t_first, 1e-12)


def _advance_g(g: np.ndarray, piece: Piece, ds: float) -> np.ndarray:
    """Exponents after a clock interval ds of a piece (exact; pure reweighting stays additive)."""
    if piece.target is None:
        return g + piece.rate * ds
    target = piece.target
    decay = np.exp(-piece.rate * ds)
    with np.errstate(divide="ignore"):
        moved = -np.log(np.maximum(target + (np.exp(-g) - target) * decay, 0.0))
    return np.where(target == 0, g + piece.rate * ds, moved)


def _run_refresh(ctx: Context, policy: Policy, t: np.ndarray) -> _Result:
    m, law = ctx.modes, ctx.law
    private = policy.init(ctx)
    g = np.zeros(m.n_modes)
    g_rem = 0.0
    span = getattr(policy, "span", None)
    loss = np.empty(t.size)
    k = np.empty(t.size)
    wmax = np.empty(t.size)
    wasted = np.empty(t.size)
    span_loss = np.empty(t.size) if span is not None else None
    refreshes = np.empty(t.size)
    buf = np.empty(m.n_modes)
    i, t_now, n_ref = 0, 0.0, 0
    overhead = policy.train_overhead()
    while i < t.size:
        piece = policy.piece(ctx, State(t_now, g, g_rem), private)
        n_ref += 1
        t_next = t_now + _refresh_interval(policy, t_now, float(t[0]))
        s_now = float(law.clock(t_now))
        rate_rem = float(law.rate(m.lam[-1], piece.rem_weight)) if m.closed else 0.0
        pmax = float(piece.weight.max())
        while i < t.size and t[i] < t_next:
            ds = float(law.clock(t[i])) - s_now
            gi = _advance_g(g, piece, ds)
            loss[i], k[i] = _evaluate_g(ctx, gi, g_rem + rate_rem * ds, buf)
            if span_loss is not None:
                assert span is not None  # span_loss exists only when the policy has a span
                span_loss[i] = _loss_range(m, gi, int(span))
            wmax[i], wasted[i], refreshes[i] = pmax, piece.wasted, n_ref
            i += 1
        ds = float(law.clock(t_next)) - s_now
        g = _advance_g(g, piece, ds)
        g_rem += rate_rem * ds
        policy.advance(ctx, private, piece, ds)
        t_now = t_next
    compute = t * (1.0 + overhead) + policy.setup_cost(ctx) + policy.score_cost * refreshes
    return _Result(
        compute=compute,
        loss=loss,
        k_star=k,
        max_weight=wmax,
        wasted=wasted,
        span_loss=span_loss,
        solver={"method": "piecewise closed form", "refreshes": n_ref},
    )


def _loss_range(m: Modes, g: np.ndarray, span: int) -> float:
    """Loss on the modes k > span (outside the real data) including the analytic tail."""
    return float(np.dot(m.energy[span:], np.exp(-2.0 * g[span:]))) + m.e_rem


def _run_ode(ctx: Context, policy: Policy, t: np.ndarray, rtol: float) -> _Result:
    m, law = ctx.modes, ctx.law
    private = policy.init(ctx)
    n = m.n_modes
    closed = m.closed

    def rates(g: np.ndarray) -> tuple[np.ndarray, float, float]:
        piece = policy.piece(ctx, State(0.0, g[:n], float(g[n])), private)
        if piece.target is not None:  # pragma: no cover - continuous policies reweight only
            raise SpecurateInputError("continuous policies must be pure reweighting")
        rr = float(law.rate(m.lam[-1], piece.rem_weight)) if closed else 0.0
        return piece.rate, rr, float(piece.weight.max())

    def rhs(tau: float, y: np.ndarray) -> np.ndarray:
        s = math.exp(tau)
        r, rr, _ = rates(y)
        out = np.empty_like(y)
        out[:n] = s * r
        out[n] = s * rr
        return out

    s_grid = law.clock(t)
    s0 = s_grid[0] * 1e-6
    r0, rr0, _ = rates(np.zeros(n + 1))
    y0 = np.concatenate([r0 * s0, [rr0 * s0]])
    # Once every mode of a finite problem is learned the budget must go to learned modes and
    # the system turns stiff (rates ~ s Σλ); small problems use LSODA, which switches to BDF
    # with a dense finite-difference Jacobian. Large problems keep an unlearned tail.
    method = "LSODA" if n <= 2000 else "RK45"
    sol = solve_ivp(
        rhs,
        (math.log(s0), math.log(s_grid[-1])),
        y0,
        method=method,
        t_eval=np.log(s_grid),
        rtol=rtol,
        atol=rtol * 1e-6,
    )
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"ODE integration failed: {sol.message}")
    loss = np.empty(t.size)
    k = np.empty(t.size)
    wmax = np.empty(t.size)
    buf = np.empty(n)
    for i in range(t.size):
        y = sol.y[:, i]
        loss[i], k[i] = _evaluate_g(ctx, y[:n], float(y[n]), buf)
        wmax[i] = rates(y)[2]
    return _Result(
        compute=t * (1.0 + policy.train_overhead()) + policy.setup_cost(ctx),
        loss=loss,
        k_star=k,
        max_weight=wmax,
        wasted=np.zeros(t.size),
        solver={"method": f"{method} on g(ln s)", "rtol": rtol, "nfev": int(sol.nfev)},
    )
