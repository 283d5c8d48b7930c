r"""Headline metrics of benchmark runs: passes-to-target, speed-ups with CIs, summary tables.

* :func:`passes_to_target` — the first compute at which a run's test loss reaches a target,
  interpolated linearly in (log passes, log loss) between the two evaluations that bracket the
  first crossing; ``None`` when the curve never reaches it.
* :func:`speedup_vs_uniform` — per strategy, the ratio baseline passes / strategy passes at
  equal target, paired by seed. Ratios are averaged on a LOG scale: ``mean`` is the geometric
  mean and ``lo``/``hi`` a two-sided t interval (scipy.stats.t) on the mean log ratio,
  exponentiated, over the seeds that reach the target (``n_reached`` of ``n``). A seed whose
  strategy run never reaches it is CENSORED, not dropped: its passes-to-target exceed the
  budget it ran for, B, so its speed-up is below baseline passes / B. ``bound`` is the geometric
  mean over all seeds with a target (``n_target``: the baseline defines and reaches it) with
  every censored seed at that bound: an upper bound on their speed-up (``mean`` if none is
  censored).
* :func:`passes_to_accuracy` — the same for test accuracy reaching a target.
* :func:`summarize` — one dict per strategy: final test loss (geometric mean, t CI on logs) and
  accuracy (mean, t CI) over seeds at equal compute; passes-to-target of the baseline's final
  loss; speed-up with CI over the seeds that reach it, ``n_reached`` of ``n_compared``, and
  ``speedup_bound`` (all seeds, censored ones at their bound); the speed-up at equal accuracy
  (uniform's final accuracy − 0.3 points; classification), with ``acc_n_reached`` and
  ``acc_speedup_bound``; the fraction of the true oracle's log speed-up recovered
  (ln s / ln s_oracle, when an ``oracle`` ran); the wall-clock ratio (training seconds over
  the budget) and the wall-clock speed-up (uniform's seconds / the strategy's seconds to
  uniform's final loss, with ``wall_speedup_bound`` likewise); and
  the loss-vs-passes exponent L ∝ passes^−x fitted (:func:`specurate.dynamics.fit.fit_exponent`)
  over the second half of the evaluation points (mean and t CI over seeds; ``exponent_range`` is
  that window in passes).
* :func:`runs_to_parquet` / :func:`runs_from_parquet` — one row per run and evaluation point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from specurate._files import atomic_write
from specurate.bench.result import RunResult
from specurate.errors import SpecurateInputError

__all__ = [
    "frontier_counts",
    "geo_ci",
    "leader",
    "mean_ci",
    "passes_to_accuracy",
    "passes_to_target",
    "runs_from_parquet",
    "runs_to_parquet",
    "speedup_vs_uniform",
    "summarize",
    "wall_at",
]


def mean_ci(values: Iterable[float], level: float = 0.9) -> tuple[float, float, float]:
    """Mean and two-sided t interval (NaN bounds for fewer than two values)."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if v.size < 2:
        return (m, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return (m, m - half, m + half)


def _arrays(curve: Sequence[Mapping[str, float]], key: str = "test_loss"):
    if len(curve) == 0:
        raise SpecurateInputError("empty curve")
    p = np.array([float(c["passes"]) for c in curve])
    y = np.array([float(c[key]) for c in curve])
    return p, y


def passes_to_target(curve: Sequence[Mapping[str, float]], target_loss: float) -> float | None:
    """First compute (passes) at which the curve's test loss is ≤ ``target_loss``.

    Log-log interpolation between the bracketing evaluations (exact on a power law); the first
    evaluation's passes when it is already at or below the target; None if never reached.
    """
    p, y = _arrays(curve)
    hit = np.nonzero(y <= target_loss)[0]
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0:
        return float(p[0])
    p0, p1, y0, y1 = p[i - 1], p[i], y[i - 1], y[i]
    if not (p0 > 0 and p1 > 0 and y0 > 0 and y1 > 0 and target_loss > 0) or y0 == y1:
        f = (y0 - target_loss) / (y0 - y1) if y0 != y1 else 1.0  # linear fallback
        return float(p0 + f * (p1 - p0))
    f = (math.log(y0) - math.log(target_loss)) / (math.log(y0) - math.log(y1))
    return float(math.exp(math.log(p0) + f * (math.log(p1) - math.log(p0))))


def passes_to_accuracy(curve: Sequence[Mapping[str, float]], target_acc: float) -> float | None:
    """First compute (passes) at which the curve's test accuracy is ≥ ``target_acc``.

    Linear interpolation of accuracy in log passes between the bracketing evaluations; None if
    never reached (or the task has no accuracy).
    """
    p, a = _arrays(curve, "test_acc")
    hit = np.nonzero(a >= target_acc)[0]
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0:
        return float(p[0])
    f = (target_acc - a[i - 1]) / (a[i] - a[i - 1])
    return float(math.exp(math.log(p[i - 1]) + f * (math.log(p[i]) - math.log(p[i - 1]))))


def _by_strategy(runs: Iterable[RunResult]) -> dict[str, dict[int, RunResult]]:
    out: dict[str, dict[int, RunResult]] = {}
    for r in runs:
        out.setdefault(r.strategy, {})[r.seed] = r
    return out


def speedup_vs_uniform(
    runs: Sequence[RunResult],
    target: float | None = None,
    *,
    baseline: str = "uniform",
    level: float = 0.9,
    accuracy_slack: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Speed-up baseline passes / strategy passes at equal test loss, per strategy.

    ``target``: a test loss, or None for each seed's baseline FINAL test loss (paired by seed).
    ``accuracy_slack=s``: compare at equal ACCURACY instead — the passes to reach the baseline's
    final accuracy minus s (e.g. 0.003 = 0.3 points), for both runs.
    Returns {strategy: {mean, lo, hi, n, n_target, n_reached, bound, values}}: geometric mean
    and t CI on logs over the seeds that reach the target, ``n_target`` the seeds on which the
    baseline defines and reaches it (a diverged baseline seed has no target), and ``bound``,
    the geometric mean over those seeds with censored ones at their upper bound (see the
    module docstring).
    """
    groups = _by_strategy(runs)
    if baseline not in groups:
        raise SpecurateInputError(f"no {baseline!r} runs to compare against")
    base = groups[baseline]
    out: dict[str, dict[str, Any]] = {}
    for name, by_seed in groups.items():
        vals: list[float] = []
        bounds: list[float] = []  # every seed: its speed-up, or its upper bound if censored
        n = 0
        n_target = 0  # seeds on which the baseline defines and reaches the target
        for seed, r in sorted(by_seed.items()):
            if seed not in base:
                continue
            n += 1
            b = base[seed]
            if accuracy_slack is not None:
                acc = b.test_acc - float(accuracy_slack)
                pb, ps = passes_to_accuracy(b.curve, acc), passes_to_accuracy(r.curve, acc)
            else:
                tgt = b.test_loss if target is None else float(target)
                if not math.isfinite(tgt):  # the baseline diverged: no target for this seed
                    continue
                pb, ps = passes_to_target(b.curve, tgt), passes_to_target(r.curve, tgt)
            if pb is None:  # the baseline never reaches it: no ratio, no bound for this seed
                continue
            n_target += 1
            if ps is not None and ps > 0:
                vals.append(pb / ps)
                bounds.append(pb / ps)
            elif ps is None:
                # censored at the budget: it did not reach the target within it (a run that
                # diverged early did not either — its few passes are no bound)
                spent = max(r.charged_passes, r.budget_passes)
                if spent > 0:
                    bounds.append(pb / spent)
        m, lo, hi = mean_ci([math.log(v) for v in vals], level)
        # an all-seed statement needs a value or a bound for every seed with a target
        complete = bool(bounds) and len(bounds) == n_target
        bound = math.exp(float(np.mean(np.log(bounds)))) if complete else math.nan
        out[name] = {
            "mean": math.exp(m) if math.isfinite(m) else math.nan,
            "lo": math.exp(lo) if math.isfinite(lo) else math.nan,
            "hi": math.exp(hi) if math.isfinite(hi) else math.nan,
            "n": n,
            "n_reached": len(vals),
            "n_target": n_target,
            "bound": bound,
            "values": vals,
        }
    return out


def loss_exponent(run: RunResult) -> float:
    """x of test loss ∝ passes^−x over the second half of the evaluation points (NaN if < 6)."""
    p, y = _arrays(run.curve)
    mask = np.zeros(p.size, bool)
    mask[p.size // 2 :] = True
    mask &= (p > 0) & (y > 0)
    from specurate.dynamics.fit import fit_exponent

    return float(fit_exponent(p, y, mask, sign=-1.0).exponent)


def geo_ci(values: Iterable[float], level: float = 0.9) -> tuple[float, float, float]:
    """Geometric mean and t interval computed on logs (positive values, e.g. losses)."""
    v = [math.log(x) for x in values if x is not None and math.isfinite(x) and x > 0]
    m, lo, hi = mean_ci(v, level)
    return tuple(math.exp(x) if math.isfinite(x) else math.nan for x in (m, lo, hi))  # type: ignore[return-value]


def frontier_counts(
    run: RunResult, key: str, kappa: float = 1.0
) -> tuple[np.ndarray, np.ndarray] | None:
    """(passes, k*) of a run whose evaluations record a per-mode quantity ``key`` (the test
    loss of every true mode, ``mode_loss``; the test residual energy on every direction,
    ``direction_energy``): k* = how many entries fell to ≤ e^{−2κ} × their value at the first
    evaluation that has them. None if no evaluation has ``key`` (a diverged run's last point
    has none)."""
    points = [c for c in run.curve if key in c]
    if not points:
        return None
    first = np.asarray(points[0][key], dtype=float)
    passes = np.array([c["passes"] for c in points], dtype=float)
    k = np.array([int(np.sum(np.asarray(c[key]) <= math.exp(-2 * kappa) * first)) for c in points])
    return passes, k


def wall_at(curve: Sequence[Mapping[str, float]], passes: float) -> float:
    """Training wall-clock seconds at ``passes`` (linear interpolation along the curve)."""
    p, w = _arrays(curve, "wall_s")
    return float(np.interp(passes, np.concatenate([[0.0], p]), np.concatenate([[0.0], w])))


def _wall_speedup(
    base: Mapping[int, RunResult], runs: Mapping[int, RunResult], level: float
) -> dict[str, float]:
    """Wall-clock speed-up to the baseline's final loss: the baseline's training seconds when
    it FIRST reaches its final loss / the run's seconds when it first reaches it (the same
    crossing as the pass speed-up, so the baseline against itself is exactly 1 even when its
    test loss rises before the end); geometric mean and t CI over the seeds that reach it. The
    strategy's own work (planning, updates) is inside its seconds. ``wall_speedup_bound``: the
    all-seed geometric mean with a censored seed at baseline seconds / its whole run's seconds
    (an upper bound, as in :func:`speedup_vs_uniform`)."""
    vals, bounds, n = [], [], 0
    for seed, r in runs.items():
        b = base.get(seed)
        if b is None or not math.isfinite(b.test_loss) or not b.wall_s > 0:
            continue
        pb = passes_to_target(b.curve, b.test_loss)
        wb = wall_at(b.curve, pb) if pb is not None else math.nan
        if not wb > 0:
            continue
        n += 1
        ps = passes_to_target(r.curve, b.test_loss)
        ws = wall_at(r.curve, ps) if ps is not None else math.nan
        if ws > 0:
            vals.append(wb / ws)
            bounds.append(wb / ws)
        elif ps is None and r.wall_s > 0 and not r.diverged:
            bounds.append(wb / r.wall_s)  # (a diverged run's seconds bound nothing)
    m, lo, hi = geo_ci(vals, level)
    bound = geo_ci(bounds, level)[0] if bounds and len(bounds) == n else math.nan
    return {
        "wall_speedup": m,
        "wall_speedup_lo": lo,
        "wall_speedup_hi": hi,
        "wall_speedup_bound": bound,
    }


def _fit_range(runs: Sequence[RunResult]) -> list[float]:
    """[first, last] passes of the window :func:`loss_exponent` fits (mean over runs)."""
    lo = [r.curve[len(r.curve) // 2]["passes"] for r in runs if r.curve]
    hi = [r.curve[-1]["passes"] for r in runs if r.curve]
    return [float(np.mean(lo)), float(np.mean(hi))] if lo else [math.nan, math.nan]


def summarize(
    runs: Sequence[RunResult], *, baseline: str = "uniform", level: float = 0.9
) -> list[dict[str, Any]]:
    """One row per strategy (baseline first); see the module docstring for the columns."""
    groups = _by_strategy(runs)
    speed = speedup_vs_uniform(runs, baseline=baseline, level=level) if baseline in groups else {}
    has_acc = all(math.isfinite(r.test_acc) for r in runs)
    speed_acc = (
        speedup_vs_uniform(runs, baseline=baseline, level=level, accuracy_slack=0.003)
        if baseline in groups and has_acc
        else {}
    )
    base_wall = (
        float(np.mean([r.wall_s for r in groups[baseline].values()]))
        if baseline in groups
        else math.nan
    )
    names = sorted(groups, key=lambda s: (s != baseline, list(groups).index(s)))
    oracle = speed.get("oracle", {}).get("mean", math.nan)
    rows = []
    for name in names:
        rs = list(groups[name].values())
        loss = geo_ci([r.test_loss for r in rs], level)
        acc = mean_ci([r.test_acc for r in rs], level)
        ptt = []
        for r in rs:
            b = groups.get(baseline, {}).get(r.seed)
            if b is not None and math.isfinite(b.test_loss):
                ptt.append(passes_to_target(r.curve, b.test_loss))
        with np.errstate(all="ignore"):
            expo = mean_ci([loss_exponent(r) for r in rs], level)
        sp = speed.get(name, {})
        wall = float(np.mean([r.wall_s for r in rs]))
        rows.append(
            {
                "strategy": name,
                "n_seeds": len(rs),
                "lr": float(np.mean([r.lr for r in rs])),
                "passes": float(np.mean([r.charged_passes for r in rs])),
                "scoring_passes": float(np.mean([r.scoring_passes for r in rs])),
                "test_loss": loss[0],
                "test_loss_lo": loss[1],
                "test_loss_hi": loss[2],
                "test_acc": acc[0],
                "test_acc_lo": acc[1],
                "test_acc_hi": acc[2],
                "passes_to_target": (
                    float(np.mean([v for v in ptt if v is not None]))
                    if any(v is not None for v in ptt)
                    else None
                ),
                "speedup": sp.get("mean", math.nan),
                "speedup_lo": sp.get("lo", math.nan),
                "speedup_hi": sp.get("hi", math.nan),
                "n_reached": sp.get("n_reached", 0),
                "n_compared": sp.get("n_target", 0),
                "speedup_bound": sp.get("bound", math.nan),
                "oracle_fraction": (
                    math.log(sp.get("mean", math.nan)) / math.log(oracle)
                    if math.isfinite(oracle) and oracle > 1 and sp.get("mean", 0) > 0
                    else math.nan
                ),
                "acc_speedup": speed_acc.get(name, {}).get("mean", math.nan),
                "acc_speedup_lo": speed_acc.get(name, {}).get("lo", math.nan),
                "acc_speedup_hi": speed_acc.get(name, {}).get("hi", math.nan),
                "acc_n_reached": speed_acc.get(name, {}).get("n_reached", 0),
                "acc_speedup_bound": speed_acc.get(name, {}).get("bound", math.nan),
                "loss_exponent": expo[0],
                "loss_exponent_lo": expo[1],
                "loss_exponent_hi": expo[2],
                "exponent_range": _fit_range(rs),
                "wall_s": wall,
                "wall_ratio": wall / base_wall if base_wall > 0 else math.nan,
                **_wall_speedup(groups.get(baseline, {}), groups[name], level),
            }
        )
    return rows


def leader(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The summary row (:func:`summarize`) of the strategy that leads on ALL seeds: the largest
    speed-up among the strategies that reach the target on every seed with one (a strategy
    that misses it on a seed cannot lead: its all-seed speed-up is only bounded above);
    uniform and the free-look ``oracle`` reference excluded; None if no strategy qualifies."""
    rivals = [
        r
        for r in rows
        if r["strategy"] not in ("uniform", "oracle")
        and r.get("n_compared", 0) > 0
        and r.get("n_reached") == r.get("n_compared")
        and r.get("speedup") is not None
        and math.isfinite(r["speedup"])
    ]
    return max(rivals, key=lambda r: r["speedup"]) if rivals else None


_SCALARS = (
    "diverged",
    "lr",
    "task",
    "strategy",
    "seed",
    "budget_passes",
    "n_train",
    "forward_passes",
    "backward_passes",
    "scoring_passes",
    "wall_s",
    "test_loss",
    "test_acc",
)
_POINT = ("passes", "test_loss", "test_acc", "wall_s")
_OPTIONAL = ("mode_loss", "tracked_share")  # per-mode test losses (list), mislabeled share


def runs_to_parquet(runs: Sequence[RunResult], path: Any) -> None:
    """Write one row per (run, evaluation point); point columns are prefixed ``point_``
    (``point_mode_loss``, a list per row, and ``point_tracked_share`` when recorded).
    The file is written atomically (a fresh temporary name, then renamed); a ``path`` that is
    a symlink or a folder is refused (:func:`specurate._files.atomic_write`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, list] = {k: [] for k in (*_SCALARS, "run", "point")}
    cols.update({f"point_{k}": [] for k in _POINT})
    optional: dict[str, list] = {k: [] for k in _OPTIONAL}
    for j, r in enumerate(runs):
        for i, c in enumerate(r.curve):
            for k in _SCALARS:
                cols[k].append(getattr(r, k))
            cols["run"].append(j)
            cols["point"].append(i)
            for k in _POINT:
                cols[f"point_{k}"].append(float(c[k]))
            for k in _OPTIONAL:
                optional[k].append(c.get(k))
    for k, v in optional.items():
        if any(x is not None for x in v):
            cols[f"point_{k}"] = v
    table = pa.table(cols)
    atomic_write(path, lambda tmp: pq.write_table(table, str(tmp)))


def runs_from_parquet(path: Any) -> list[RunResult]:
    """Read back what :func:`runs_to_parquet` wrote (runs without evaluation points are lost)."""
    import pyarrow.parquet as pq

    rows = pq.read_table(str(path)).to_pylist()
    runs: dict[int, dict[str, Any]] = {}
    for row in rows:
        r = runs.setdefault(row["run"], {**{k: row[k] for k in _SCALARS}, "curve": []})
        point = {k: row[f"point_{k}"] for k in _POINT}
        point.update({k: row[f"point_{k}"] for k in _OPTIONAL if row.get(f"point_{k}") is not None})
        r["curve"].append((row["point"], point))
    out = []
    for j in sorted(runs):
        d = runs[j]
        d["curve"] = tuple(c for _, c in sorted(d["curve"], key=lambda t: t[0]))
        out.append(RunResult(**d))
    return out
