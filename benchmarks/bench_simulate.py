r"""Benchmark: exact mode-space engines of ``simulate`` vs a fixed-step RK4 integrator.

Problem: ``power_law_modes(a, b, n_modes=N, budget="operator", closure=True)`` (defaults
a = 2, b = 1.5), gradient flow (c = α = β = 1), times t ∈ [1, 1e8] on the log grid of
``simulate`` (40 points per decade, 321 points). Policies: ``Baseline()``, ``Static()``
(prune-easy, strength 0.5, head mass 0.5) and ``Oracle(kappa=5)`` (hard oracle, fixed κ).

(a) Exact engine: wall time of the whole ``simulate(modes, policy, t_min, t_max,
    points_per_decade)`` call (closed form for baseline/static, event-driven closed form for
    the oracle), median of ``--repeats`` runs, at N = ``--n`` (default 10^6) and at every
    ``--n-ref``. The problem (``Modes``) is built once, outside the timings.

(b) Reference: classic RK4 with a fixed step h in τ = ln t on the (N+1)-dimensional ODE dg_k/dτ
    = e^τ ω_k(g) λ_k, k = 1..N, plus the tail's leading exponent g_rem (dg_rem/dτ = e^τ ω_rem
    λ_N), with ω recomputed from the stage state at every stage: baseline ω = 1; static ω = the
    policy's fixed weights (``policy.weights(ctx)``); oracle ω_k = 0 if g_k ≥ κ else C, C = 1 /
    (Σ_{g_k<κ} p_k + p_rem) (the tail mass counts in the budget), ω_rem = C while mode N is
    unlearned (the engine freezes the tail with Ψ once all N modes are learned); a learned mode
    keeps the value its step reached. The threshold makes the oracle's right-hand side
    discontinuous, so its reference is only first order. The reference starts at t_min from the
    closed form g = ω λ t_min (exact: no mode reaches κ before t_min, checked) and reports L = Σ
    e_k e^{−2 g_k} + ``modes.remainder_energy(g_rem)`` (exactly the loss of ``simulate``) at the
    grid points its steps land on. Step counts are n = 320·2^j, 320 the grid intervals (j may be
    negative: then only every 2^−j-th grid point is computed and compared, which favours the
    reference). Starting at ≥ 1 step per decade, n is doubled until the max relative error of L
    against the exact engine on the compared points is ≤ ``--tol`` (1e-6), or until the next run
    would exceed the time cap ``--ref-cap`` (seconds spent on one policy and N, all runs
    together). The reference time reported is that of the single run that reached the tolerance
    (and, when that run skips grid points, also of a run with one step per grid interval, which
    computes all 321 points like ``simulate``). When the cap stops the search, the steps and
    time needed are *extrapolated*, and marked as such: for the oracle with order 1 (the order
    of RK4 on a discontinuous right-hand side; the observed order fluctuates around 1 because
    the error's constant depends on where in a step the head modes cross κ) and the smallest
    err·steps of the last three runs, i.e. the constant that gives the reference the fewest
    steps; time per step from the last two runs.

For a policy whose reference reaches the tolerance, the engine, the reference at the steps
needed and the one-step-per-interval reference are then re-timed ``--repeats`` times,
interleaved, and the summary uses those medians (on a shared machine, contention then hits both
sides alike). For the oracle the summary uses the engine median of (a).

Printed: the timings of (a); per policy and N, the convergence table of the reference
(steps, points compared, max rel. error, observed order, err·steps, seconds), which shows the
reference converging to the exact engine; and a summary table with the speed ratio reference /
exact engine at equal accuracy, all measured in this one process. Elementwise numpy is
single-threaded; the dot products go to BLAS; both sides use the same operations, and
``--threads`` (default 1) limits BLAS for both, because a two-thread dot stalls for a scheduler
tick whenever another process holds the other core. Other processes sharing the machine show in
the load average printed before and after; the minor page faults of the engine runs are printed
too (its temporaries of N floats, allocated per grid point, fault in fresh pages, which makes
its time depend on the allocator's state).

Usage::

    python benchmarks/bench_simulate.py            # default, 2.5-5 minutes on 2 cores
    python benchmarks/bench_simulate.py --quick    # N = 10^5, reference at 10^4, < 1 minute
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import math
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import scipy
from threadpoolctl import threadpool_info, threadpool_limits

from specurate.dynamics.modes import LearningLaw, Modes, power_law_modes
from specurate.dynamics.policies import Baseline, Context, Oracle, Policy, Static
from specurate.dynamics.simulate import Trajectory, simulate, time_grid


@dataclass
class RefRun:
    steps: int
    points: int
    err: float
    seconds: float


@dataclass
class RefSearch:
    runs: list[RefRun] = field(default_factory=list)
    converged: bool = False
    steps_needed: float = float("nan")
    seconds_needed: float = float("nan")
    order: float = float("nan")
    extrapolated: bool = False
    full: RefRun | None = None  # a run at ≥ 1 step per grid interval (all points computed)
    assumed_order: float = float("nan")
    constant: float = float("nan")  # K in err ≈ K · steps^−p used by the extrapolation
    paired: dict[str, list[float]] = field(default_factory=dict)  # interleaved re-timings


def make_rhs(modes: Modes, policy: Policy, law: LearningLaw, kappa_policy: float | None):
    """f(τ, y, out) of the (N+1)-dim ODE in τ = ln t; returns f and the initial rates ω λ."""
    n = modes.n_modes
    lam = modes.lam
    if isinstance(policy, Oracle):
        mass, p_rem, kap = modes.mass, modes.p_rem, float(kappa_policy)
        unl = np.empty(n)  # 1.0 for unlearned modes

        def f(tau: float, y: np.ndarray, out: np.ndarray) -> np.ndarray:
            np.less(y[:n], kap, out=unl, casting="unsafe")
            c = 1.0 / (float(np.dot(mass, unl)) + p_rem)
            scale = math.exp(tau) * c
            np.multiply(lam, unl, out=out[:n])
            out[:n] *= scale
            out[n] = scale * lam[-1] * unl[-1]
            return out

        c0 = 1.0 / (float(mass.sum()) + p_rem)  # = 1: nothing learned yet
        return f, np.concatenate([lam, [lam[-1]]]) * c0
    ctx = Context(modes, law, np.random.default_rng(0), 1.0)
    omega, omega_rem = policy.weights(ctx)  # type: ignore[attr-defined]
    rate = np.concatenate([law.rate(lam, omega), [float(law.rate(lam[-1], omega_rem))]])

    def f(tau: float, y: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.multiply(rate, math.exp(tau), out=out)
        return out

    return f, rate


def loss_of(modes: Modes, law: LearningLaw, y: np.ndarray, tmp: np.ndarray) -> float:
    """L = Σ e_k e^{−2 g_k} + remainder_energy(g_rem), as ``simulate`` computes it."""
    n = modes.n_modes
    np.multiply(y[:n], -2.0, out=tmp)
    np.exp(tmp, out=tmp)
    return float(np.dot(modes.energy, tmp)) + float(modes.remainder_energy(y[n], law))


def rk4_reference(
    modes: Modes, policy: Policy, t: np.ndarray, steps: int, kappa: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-step RK4 in τ = ln t over [t[0], t[-1]] with ``steps`` steps.

    Returns (indices of the grid points computed, L there).
    """
    law = LearningLaw()
    intervals = t.size - 1
    if steps >= intervals:
        assert steps % intervals == 0
        per_point, stride = steps // intervals, 1
    else:
        assert intervals % steps == 0
        per_point, stride = 1, intervals // steps
    idx = np.arange(0, t.size, stride)
    tau0, tau1 = math.log(t[0]), math.log(t[-1])
    h = (tau1 - tau0) / steps
    f, rate0 = make_rhs(modes, policy, law, kappa)
    n1 = modes.n_modes + 1
    y = rate0 * t[0]  # closed form before the first crossing
    if kappa is not None and float(y[:-1].max()) >= kappa:
        raise RuntimeError("a mode reaches κ before t_min: the closed-form start is not exact")
    k1, k2, k3, k4, ys = (np.empty(n1) for _ in range(5))
    tmp = np.empty(n1 - 1)
    out = np.empty(idx.size)
    out[0] = loss_of(modes, law, y, tmp)
    tau = tau0
    step = 0
    for i in range(1, idx.size):
        for _ in range(per_point):
            f(tau, y, k1)
            np.multiply(k1, 0.5 * h, out=ys)
            ys += y
            f(tau + 0.5 * h, ys, k2)
            np.multiply(k2, 0.5 * h, out=ys)
            ys += y
            f(tau + 0.5 * h, ys, k3)
            np.multiply(k3, h, out=ys)
            ys += y
            f(tau + h, ys, k4)
            k2 += k3
            k2 *= 2.0
            k1 += k2
            k1 += k4
            k1 *= h / 6.0
            y += k1
            step += 1
            tau = tau0 + step * h
        out[i] = loss_of(modes, law, y, tmp)
    return idx, out


def search_reference(
    modes: Modes,
    policy: Policy,
    traj: Trajectory,
    tol: float,
    cap: float,
    log,
) -> RefSearch:
    """Double the RK4 step count until max rel. error ≤ tol or the time cap would be passed."""
    t = traj.t
    intervals = t.size - 1
    decades = math.log10(t[-1] / t[0])
    steps = intervals
    while steps % 2 == 0 and steps // 2 >= decades:  # start at ≥ 1 step per decade
        steps //= 2
    kappa = policy.kappa if isinstance(policy, Oracle) else None
    res = RefSearch()
    spent = 0.0
    log(
        f"    {'steps':>9} {'h (τ)':>9} {'points':>6} {'max rel err L':>13} {'order':>6} "
        f"{'err·steps':>9} {'s':>8}"
    )
    while True:
        t0 = time.perf_counter()
        idx, lref = rk4_reference(modes, policy, t, steps, kappa)
        sec = time.perf_counter() - t0
        spent += sec
        err = float(np.max(np.abs(lref - traj.loss[idx]) / traj.loss[idx]))
        run = RefRun(steps, idx.size, err, sec)
        order = ""
        if res.runs and res.runs[-1].err > 0 and err > 0:
            order = f"{math.log2(res.runs[-1].err / err):6.2f}"
        res.runs.append(run)
        h = math.log(t[-1] / t[0]) / steps
        log(
            f"    {steps:9d} {h:9.2e} {idx.size:6d} {err:13.3e} {order:>6} {err * steps:9.3g} "
            f"{sec:8.2f}"
        )
        if err <= tol:
            res.converged = True
            res.steps_needed, res.seconds_needed = steps, sec
            break
        if spent + 2.2 * sec > cap:  # the next run would pass the cap
            break
        steps *= 2
    fit = [r for r in res.runs[-3:] if r.err > 0]
    if len(fit) >= 2:  # least-squares slope of log2 err vs log2 steps, last ≤ 3 runs
        xs = np.log2([r.steps for r in fit])
        ys = np.log2([r.err for r in fit])
        res.order = -float(np.polyfit(xs, ys, 1)[0])
    if res.runs[-1].steps >= intervals:
        res.full = res.runs[-1]
    else:  # the same step size cannot give every grid point: time ≥ 1 step per interval
        t0 = time.perf_counter()
        idx, lfull = rk4_reference(modes, policy, t, intervals, kappa)
        sec = time.perf_counter() - t0
        err = float(np.max(np.abs(lfull - traj.loss) / traj.loss))
        res.full = RefRun(intervals, idx.size, err, sec)
        log(
            f"    {intervals:9d} {math.log(t[-1] / t[0]) / intervals:9.2e} {idx.size:6d} "
            f"{err:13.3e} {'':>6} {err * intervals:9.3g} {sec:8.2f}   (every grid point: "
            "≥ 1 step per interval)"
        )
    if not res.converged and len(res.runs) >= 2:
        last, prev = res.runs[-1], res.runs[-2]
        # The oracle's threshold makes the RHS discontinuous: RK4 is first order there, and the
        # error's constant jumps with where in a step the head modes cross κ, so observed orders
        # fluctuate around 1. Assume p = 1 with the smallest err·steps of the last three runs
        # (the choice that gives the reference the fewest steps); other policies: fitted p.
        p_use = 1.0 if isinstance(policy, Oracle) else res.order
        if p_use > 0.1:
            res.assumed_order = p_use
            res.constant = min(r.err * r.steps**p_use for r in fit)
            res.steps_needed = (res.constant / tol) ** (1.0 / p_use)
            per_step = (last.seconds - prev.seconds) / (last.steps - prev.steps)
            per_step = max(per_step, last.seconds / last.steps * 0.5)
            res.seconds_needed = last.seconds + per_step * (res.steps_needed - last.steps)
            res.extrapolated = True
    return res


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_engine(
    modes: Modes, policy: Policy, kw: dict, repeats: int
) -> tuple[list[float], list[int], Trajectory]:
    walls: list[float] = []
    faults: list[int] = []
    traj = None
    for _ in range(repeats):
        f0 = minor_faults()
        t0 = time.perf_counter()
        traj = simulate(modes, policy, **kw)
        walls.append(time.perf_counter() - t0)
        faults.append(minor_faults() - f0)
    assert traj is not None
    return walls, faults, traj


def fmt_n(n: int) -> str:
    e = round(math.log10(n))
    return f"10^{e}" if 10**e == n else str(n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="modes for the engine timing")
    ap.add_argument(
        "--n-ref",
        type=str,
        default="10000,100000,1000000",
        help="comma-separated N at which the RK4 reference is run (default 10^4,10^5,10^6)",
    )
    ap.add_argument("--a", type=float, default=2.0, help="target exponent a (e_k = k^-a)")
    ap.add_argument("--b", type=float, default=1.5, help="spectral exponent b (λ_k = k^-b)")
    ap.add_argument("--t-min", type=float, default=1.0)
    ap.add_argument("--t-max", type=float, default=1e8)
    ap.add_argument("--ppd", type=int, default=40, help="grid points per decade")
    ap.add_argument("--kappa", type=float, default=5.0, help="oracle threshold κ")
    ap.add_argument("--repeats", type=int, default=3, help="engine timings (median kept)")
    ap.add_argument("--tol", type=float, default=1e-6, help="max relative error of L")
    ap.add_argument(
        "--ref-cap", type=float, default=60.0, help="seconds per policy and N for the reference"
    )
    ap.add_argument("--quick", action="store_true", help="N=10^5, ref at 10^4, cap 15 s (<1 min)")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads (np.dot) for both sides; 0 = library default (default 1: a threaded "
        "dot stalls whenever another process holds the other core)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.n_ref, args.ref_cap = 100_000, "10000", 15.0
    limit = threadpool_limits(args.threads) if args.threads > 0 else contextlib.nullcontext()
    with limit:
        return bench(args)


def bench(args: argparse.Namespace) -> int:
    n_refs = sorted({int(float(v)) for v in args.n_ref.split(",") if v.strip()})
    kw = {"t_min": args.t_min, "t_max": args.t_max, "points_per_decade": args.ppd}
    policies: list[Policy] = [Baseline(), Static(), Oracle(kappa=args.kappa)]

    def log(s: str = "") -> None:
        print(s, flush=True)

    start = time.perf_counter()
    log("== specurate simulate benchmark: exact engines vs fixed-step RK4 ==")
    log(f"date        {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    log(
        f"versions    python {platform.python_version()} ({platform.machine()}), "
        f"numpy {np.__version__}, scipy {scipy.__version__}"
    )
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    log(f"cpus        os.cpu_count()={os.cpu_count()}, usable={cpus}")
    blas = ", ".join(
        f"{i['internal_api']} {i.get('version') or ''}: {i['num_threads']} threads"
        for i in threadpool_info()
    )
    log(f"threads     {blas} (np.dot; elementwise numpy is single-threaded)")
    log(f"load avg    {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) before")
    t = time_grid(args.t_min, args.t_max, args.ppd)
    log(
        f"problem     power law a={args.a}, b={args.b}, operator budget, tail closure; "
        f"t ∈ [{args.t_min:g}, {args.t_max:g}], {args.ppd}/decade = {t.size} points; "
        f"policies baseline, static (prune-easy 0.5/0.5), oracle κ={args.kappa:g}"
    )
    log(
        f"reference   RK4, fixed step in ln t, tol {args.tol:g}, cap {args.ref_cap:g} s per "
        f"policy and N, at N = {', '.join(fmt_n(n) for n in n_refs)}"
    )

    engine: dict[tuple[str, int], tuple[float, Trajectory]] = {}
    all_n = sorted(set(n_refs) | {args.n})
    modes_by_n: dict[int, Modes] = {}
    log(f"\n(a) exact engine, wall time of simulate(), median of {args.repeats} runs")
    for n in all_n:
        t0 = time.perf_counter()
        modes_by_n[n] = power_law_modes(args.a, args.b, n_modes=n, budget="operator", closure=True)
        log(f"  N={fmt_n(n)}: modes built in {time.perf_counter() - t0:.2f} s (not timed below)")
        for p in policies:
            walls, faults, traj = time_engine(modes_by_n[n], p, kw, args.repeats)
            med = statistics.median(walls)
            engine[(p.name, n)] = (med, traj)
            log(
                f"    N={fmt_n(n):>5} {p.name:8s} median {med:7.3f} s  (runs "
                f"{', '.join(f'{w:.3f}' for w in walls)}; minor page faults "
                f"{int(statistics.median(faults))})  [{traj.solver.get('method')}] "
                f"L(t_min)={traj.loss[0]:.4e} L(t_max)={traj.loss[-1]:.4e}"
            )
            for note in traj.notes:
                log(f"        note: {note}")

    log(
        "\n(b) RK4 reference: convergence to the exact engine (max rel. error of L on the "
        "compared grid points)"
    )
    searches: dict[tuple[str, int], RefSearch] = {}
    for n in n_refs:
        for p in policies:
            log(f"  {p.name}, N={fmt_n(n)}:")
            res = search_reference(
                modes_by_n[n], p, engine[(p.name, n)][1], args.tol, args.ref_cap, log
            )
            searches[(p.name, n)] = res
            errs = [r.err for r in res.runs]
            mono = all(e1 < e0 for e0, e1 in itertools.pairwise(errs))
            verdict = "reached tol" if res.converged else "cap hit"
            log(
                f"    -> {verdict}; error decreasing at every doubling: "
                f"{'yes' if mono else 'NO'}; order fitted on the last ≤ 3 runs {res.order:.2f}"
            )
            if res.converged:  # re-time both sides interleaved: contention hits them alike
                runs = {"engine": [], "needed": [], "full": []}
                assert res.full is not None
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    simulate(modes_by_n[n], p, **kw)
                    runs["engine"].append(time.perf_counter() - t0)
                    for key, st in (("needed", int(res.steps_needed)), ("full", res.full.steps)):
                        if key == "full" and st == int(res.steps_needed):
                            runs["full"].append(runs["needed"][-1])
                            continue
                        t0 = time.perf_counter()
                        kap = p.kappa if isinstance(p, Oracle) else None
                        rk4_reference(modes_by_n[n], p, engine[(p.name, n)][1].t, st, kap)
                        runs[key].append(time.perf_counter() - t0)
                res.paired = runs
                log(
                    "    -> interleaved re-timing (s): "
                    + "; ".join(
                        f"{k} " + ", ".join(f"{v:.3f}" for v in vals) for k, vals in runs.items()
                    )
                )
            if res.extrapolated:
                log(
                    f"    -> EXTRAPOLATED to tol assuming order {res.assumed_order:g}, "
                    f"err ≈ {res.constant:.3g} / steps^{res.assumed_order:g}: "
                    f"{res.steps_needed:.3g} steps, {res.seconds_needed:.3g} s "
                    "(time linear in steps, from the last two runs)"
                )

    log(
        f"\nsummary (tol {args.tol:g} relative on L; speed ratio = RK4 s / exact-engine s, "
        "same process)"
    )
    log(
        "(1) RK4 at the fewest steps reaching tol on the grid points it lands on; "
        f"(2) RK4 with ≥ 1 step per grid interval, i.e. all {t.size} points like simulate()"
    )
    log(
        "| policy | N | exact engine (s) | RK4 steps | points | RK4 (s) | max rel err "
        "| ratio (1) | RK4 all points: steps, s, err | ratio (2) |"
    )
    log("|---|---|---|---|---|---|---|---|---|---|")
    for p in policies:
        for n in n_refs:
            res = searches[(p.name, n)]
            ours = engine[(p.name, n)][0]
            last = res.runs[-1]
            if res.converged:
                ours = statistics.median(res.paired["engine"])
                need = statistics.median(res.paired["needed"])
                steps, secs = f"{int(res.steps_needed)}", f"{need:.3f}"
                ratio = f"{need / ours:.2f}"
            elif res.extrapolated:
                steps = f"~{res.steps_needed:.2g} (extrap.; ran {last.steps})"
                secs = f"~{res.seconds_needed:.3g} (extrap.; ran {last.seconds:.2f})"
                ratio = f"~{res.seconds_needed / ours:.2g} (extrap.)"
            else:
                steps, secs, ratio = f"> {last.steps}", f"> {last.seconds:.2f}", "n/a"
            full = res.full
            assert full is not None
            if res.converged and full.err <= args.tol:
                fsec = statistics.median(res.paired["full"])
                fcell = f"{full.steps}, {fsec:.3f}, {full.err:.1e}"
                fratio = f"{fsec / ours:.2f}"
            elif res.extrapolated:  # the extrapolated run already computes every point
                fcell, fratio = "as (1)", f"~{res.seconds_needed / ours:.2g} (extrap.)"
            else:
                fcell, fratio = f"{full.steps}, {full.seconds:.3f}, {full.err:.1e}", "n/a"
            log(
                f"| {p.name} | {fmt_n(n)} | {ours:.3f} | {steps} | {last.points} | {secs} "
                f"| {last.err:.2e} | {ratio} | {fcell} | {fratio} |"
            )
    if args.n not in n_refs:
        for p in policies:
            log(
                f"| {p.name} | {fmt_n(args.n)} | {engine[(p.name, args.n)][0]:.3f} | – | – | – "
                "| – | – | – | – |"
            )
    log(
        f"\nload avg    {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) after; "
        f"total {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
