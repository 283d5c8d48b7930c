r"""Experiment 1 of the paper, static-limit validation, on real training.

Static curation keeps a fixed subset of the data (or bounded fixed weights 0 ≤ w ≤ C, mean 1).
In the operator picture (theory.md §2) the curated operator is
:math:`T_w = M_{\sqrt w}\, T\, M_{\sqrt w}` with :math:`0 \preceq T_w \preceq C\,T`; pruning a
fraction f of n examples is :math:`w \in \{0,\ 1/(1-f)\}`, so C = n / n_kept ≈ 1/(1 − f).
By Courant–Fischer :math:`\lambda_k(T_w) \le C\,\lambda_k(T)` for every k: the tail exponent b
cannot improve, and static curation can at most shift the loss-vs-compute curve by a constant
factor in compute inside a finite region (its log-log slope is unchanged). Over-pruning can make
the kept data's spectrum decay faster (*spectral narrowing*: b_kept > b_full).

:func:`static_sweep` tests both sides on one :class:`~specurate.bench.tasks.Task`:

**Training.** For every scorer (``random``, ``el2n``, ``prototype``), fraction pruned f and
keep direction (``easy``: lowest scores kept, ``hard``: highest kept; ``random`` has none), the
kept subset is selected by :class:`~specurate.curation.StaticSubset` (k = round(n(1 − f)),
halves up, ties by index; per class with ``class_balanced``) and trained on as a
:class:`~specurate.curation.KeepMask` by :func:`specurate.bench.train` for ``budget_passes`` of
compute; the reference is the full data (:class:`~specurate.curation.Uniform`). Every run is
repeated over the seeds; seed s seeds the model initialisation, the data order, the random
subset and the scorers.

* Scorers (higher = harder). ``random``: no score, no cost. ``el2n``: EL2N
  (:func:`specurate.curation.static.el2n_scores`) after ``score_epochs`` epochs of early
  training of ``score_models`` fresh models
  (:func:`specurate.torch.scores.early_training_scores`); the passes that function reports
  (its training passes plus its scoring passes, which include a GraNd forward+backward) are
  CHARGED to the pruned run: it trains for ``budget_passes − scoring`` passes and its curve is
  shifted right by the scoring passes, so every run spends the same total compute.
  ``prototype``: :func:`specurate.curation.static.prototype_scores` on the raw (flattened)
  training features, Euclidean distance to the nearest of ``prototype_clusters`` k-means
  centroids (``normalize=False``); it runs no model and is charged 0 passes.
* Exponent and offset. :math:`\log L = \log c - x \log p` is fitted by least squares
  (:func:`specurate.dynamics.fit.fit_exponent`) on the second half of the evaluation points,
  the window of :func:`specurate.bench.metrics.loss_exponent`, with p the TRAINING passes
  (charged passes minus scoring passes: a constant additive cost would bend a log-log fit);
  log c is the intercept :math:`\overline{\log L + x \log p}` over the same points. Reported per
  seed and as a mean with a two-sided t interval (:func:`specurate.bench.metrics.mean_ci`).
* Targets. Unless given, ``n_targets`` test losses geometrically spaced from
  :math:`L_\mathrm{start}` down to :math:`L_\mathrm{end}`: :math:`L_\mathrm{end}` is the largest
  final test loss of the full-data seeds (so every full-data seed reaches every target) and
  :math:`L_\mathrm{start}` the largest full-data test loss at the first evaluation at or after
  ``budget_passes / target_span`` passes.
* Speed-up at target t: :math:`S(t) = p_\mathrm{full}(t)/p_\mathrm{pruned}(t)`, the charged
  passes to first reach t (:func:`specurate.bench.metrics.passes_to_target`), paired by seed,
  geometric mean and t interval over the seeds
  (:func:`specurate.bench.metrics.speedup_vs_uniform`). The pruned run *reaches* t when every
  seed does; it is *ahead* at t when it reaches t and S(t) > 1. ``speedup_train`` is the same
  without the scoring charge (training passes only).
* Measured finite region. Targets are ordered by decreasing loss (increasing compute),
  t_0 > t_1 > … . :math:`C_\mathrm{front} = \max_j S(t_j)` over the reached targets (None if
  none is reached; it is < 1 when the pruned run is never ahead). The finite region ends at
  :math:`t_{j^*}` with :math:`j^* = 1 + \max\{j : \text{ahead at } t_j\}` (:math:`j^* = 0` if
  never ahead): the first target after which the pruned run is never ahead again.
  ``finite_end`` reports that target loss and the full-data (geometric-mean) passes to reach it,
  i.e. the compute at which the pruned run has stopped being ahead; it is None when the pruned
  run is still ahead at the last (lowest) target, in particular when it is ahead at every
  target (no end observed within the budget).

**Operator.** The same kept masks are analysed by
:func:`specurate.spectrum.reweight.analyze_reweighting`, weights = the 0/1 mask (normalized
there to mean 1, so C = n_sub / n_kept_sub), on a seeded random subsample of at most
``spectral_n`` training examples (the same subsample for every configuration; the masks are
restricted to it). The operator is the centered ``spectral_kernel`` (RBF, median bandwidth, by
default; or the linear covariance) of the flattened raw features; its feature form
(:func:`specurate.spectrum.estimate.operator_features`, exact for ≤ 3000 examples) is computed
once and cut to its top ``n_sub // 5`` kernel-PCA modes (power-law fits never use ranks beyond
n/10), then passed to ``analyze_reweighting(..., kernel="linear", center=False)`` — what
``analyze_reweighting(x, w, kernel="rbf", top=n_sub // 5)`` computes (there with the randomized
eigensolver), without redoing the kernel eigendecomposition per mask. On the top-r modes
:math:`T_w` is compressed to T's top-r eigenspace; the Loewner bound and Courant–Fischer still
hold for the compression. Reported: C, the largest eigenvalue ratio, the Loewner check, K₀ and
the frontier gain (the operator's finite region), b of the full data on its automatic fit range
(``b_full``) and on the common rank range (``b_full_common``: T's range cut at T_w's own
finite-sample limit), b of the kept data (``b_kept``, the fit of :math:`T_w` on the common
range) and Δb = b_kept − b_full_common with its paired bootstrap CI; ``narrowing`` is Δb > 0
beyond the CI (needs ``spectral_bootstrap`` > 0). The kept data's fit uses fewer examples, so
Δb carries a finite-sample bias even for random pruning: ``delta_b_vs_random`` = Δb − Δb(random
pruning at the same fraction) is the control-corrected change (when ``random`` is among the
scorers). With several seeds the per-seed values are summarized by their mean and t interval
over seeds; the bootstrap CI is per seed.

torch is imported only inside the functions that train, so importing this module needs
numpy/scipy only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specurate._progress import progress_iter
from specurate.bench.metrics import mean_ci, passes_to_target, speedup_vs_uniform
from specurate.bench.result import RunResult
from specurate.bench.tasks import Task
from specurate.errors import SpecurateInputError

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["SCORERS", "keep_mask", "plot_static_sweep", "render_static_sweep", "static_sweep"]

SCORERS: tuple[str, ...] = ("random", "el2n", "prototype")
KEEPS: tuple[str, ...] = ("easy", "hard")
KERNELS: tuple[str, ...] = ("rbf", "linear")
FULL = "full"
_SCORE_SEED = 10_007  # offset of the scoring models' seeds from the training seeds
_SPECTRAL_STREAM = 0x5E  # stream of the spectral subsample


# ---------------------------------------------------------------------------------- validation
def _check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    try:
        fr = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise SpecurateInputError(
            f"fractions must be a sequence of numbers in (0, 1), got {fractions!r}"
        ) from None
    if not fr:
        raise SpecurateInputError("fractions must hold at least one fraction pruned in (0, 1)")
    for f in fr:
        if not (math.isfinite(f) and 0 < f < 1):
            raise SpecurateInputError(f"every fraction pruned must lie in (0, 1), got {f}")
    if len(set(fr)) != len(fr):
        raise SpecurateInputError(f"fractions must be distinct, got {list(fr)}")
    return fr


def _check_names(kind: str, values: Sequence[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    vals = tuple(values)
    if not vals:
        raise SpecurateInputError(f"{kind} must name at least one of {list(allowed)}")
    for v in vals:
        if v not in allowed:
            raise SpecurateInputError(f"unknown {kind[:-1]} {v!r}; choose from {list(allowed)}")
    if len(set(vals)) != len(vals):
        raise SpecurateInputError(f"{kind} must be distinct, got {list(vals)}")
    return vals


def _check_seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(seeds, Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise SpecurateInputError(
                f"seeds must be ≥ 1 (a count) or a list of seeds, got {seeds}"
            )
        return tuple(range(int(seeds)))
    try:
        out = tuple(int(s) for s in seeds)  # type: ignore[union-attr]
        ok = all(int(s) == s for s in seeds)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        out, ok = (), False
    if not out or not ok or len(set(out)) != len(out) or min(out) < 0:
        raise SpecurateInputError(
            f"seeds must be a count ≥ 1 or distinct non-negative integers, got {seeds!r}"
        )
    return out


def _check_int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Real) or int(value) != value or value < lo:
        raise SpecurateInputError(f"{name} must be an integer ≥ {lo}, got {value!r}")
    return int(value)


def _check_real(name: str, value: Any, *, lo: float, strict: bool = True) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    ok = ok and (float(value) > lo if strict else float(value) >= lo)
    if not ok:
        raise SpecurateInputError(f"{name} must be a finite number {'>' if strict else '≥'} {lo}")
    return float(value)


# ---------------------------------------------------------------------------------- helpers
def _label(scorer: str, keep: str | None, fraction: float) -> str:
    return f"{scorer}-{keep}-{fraction:g}" if keep else f"{scorer}-{fraction:g}"


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def _num(v: Any) -> float | None:
    """A plain float, None for None/NaN/inf (JSON-able)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _fit_curve(curve: Sequence[Mapping[str, float]], key: str = "train_passes") -> dict[str, Any]:
    """log L = log c − x log p on the second half of the points (the loss_exponent window)."""
    from specurate.dynamics.fit import fit_exponent

    p = np.array([float(c[key]) for c in curve])
    y = np.array([float(c["test_loss"]) for c in curve])
    mask = np.zeros(p.size, bool)
    mask[p.size // 2 :] = True
    mask &= (p > 0) & (y > 0)
    with np.errstate(all="ignore"):
        fit = fit_exponent(p, y, mask, sign=-1.0)
    x = fit.exponent
    log_c = float(np.mean(np.log(y[mask]) + x * np.log(p[mask]))) if math.isfinite(x) else math.nan
    return {
        "exponent": _num(x),
        "log_c": _num(log_c),
        "drift": _num(fit.drift),
        "stable": bool(fit.stable),
        "n_points": int(fit.n_points),
        "passes_range": [_num(fit.t_range[0]), _num(fit.t_range[1])],
    }


def _summary(values: Sequence[float | None], level: float) -> dict[str, Any]:
    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    m, lo, hi = mean_ci(vals, level)
    return {"mean": _num(m), "lo": _num(lo), "hi": _num(hi), "values": vals}


def _charged(run: RunResult, scoring: float, label: str) -> RunResult:
    """``run`` (trained for budget − scoring) with the scoring passes charged up front."""
    curve = tuple(
        {**c, "passes": float(c["passes"]) + scoring, "train_passes": float(c["passes"])}
        for c in run.curve
    )
    return replace(
        run,
        strategy=label,
        curve=curve,
        scoring_passes=run.scoring_passes + scoring,
        forward_passes=run.forward_passes + scoring,
        budget_passes=run.budget_passes + scoring,
    )


def _run_dict(run: RunResult) -> dict[str, Any]:
    return {
        "seed": int(run.seed),
        "backward_passes": float(run.backward_passes),
        "scoring_passes": float(run.scoring_passes),
        "charged_passes": float(run.charged_passes),
        "test_loss": float(run.test_loss),
        "test_acc": float(run.test_acc),
        "wall_s": float(run.wall_s),
        "curve": [
            {k: float(c[k]) for k in ("passes", "train_passes", "test_loss", "test_acc", "wall_s")}
            for c in run.curve
        ],
    }


def _targets(full: Sequence[RunResult], budget: float, n_targets: int, span: float) -> list[float]:
    l_end = max(float(r.curve[-1]["test_loss"]) for r in full)
    starts = []
    for r in full:
        late = [c for c in r.curve if float(c["passes"]) >= budget / span - 1e-12]
        starts.append(float((late or r.curve[-1:])[0]["test_loss"]))
    l_start = max(starts)
    if not (l_start > l_end > 0):
        return [l_end]
    return [float(t) for t in np.geomspace(l_start, l_end, n_targets)]


def _speedups(
    full: Sequence[RunResult],
    runs: Sequence[RunResult],
    label: str,
    targets: Sequence[float],
    level: float,
    key: str,
) -> list[dict[str, Any]]:
    """Per target: geometric-mean speed-up over seeds, CI, reached counts (``key`` = x axis)."""
    if key != "passes":  # re-axis both curves on the training passes
        runs = [replace(r, curve=tuple({**c, "passes": c[key]} for c in r.curve)) for r in runs]
    out = []
    for t in targets:
        sp = speedup_vs_uniform([*full, *runs], target=t, baseline=FULL, level=level)[label]
        reached = sp["n_reached"] == sp["n"] and sp["n"] > 0
        out.append(
            {
                "target": float(t),
                "mean": _num(sp["mean"]) if sp["n_reached"] else None,
                "lo": _num(sp["lo"]),
                "hi": _num(sp["hi"]),
                "n_reached": int(sp["n_reached"]),
                "reached": bool(reached),
                "ahead": bool(reached and sp["mean"] > 1.0),
            }
        )
    return out


def _finite_region(
    speed: Sequence[Mapping[str, Any]], full: Sequence[RunResult]
) -> tuple[float | None, dict[str, Any] | None]:
    """C_front and the end of the measured finite region (module docstring)."""
    reached = [s["mean"] for s in speed if s["reached"] and s["mean"] is not None]
    c_front = max(reached) if reached else None
    ahead = [j for j, s in enumerate(speed) if s["ahead"]]
    j = ahead[-1] + 1 if ahead else 0
    if j >= len(speed):  # still ahead at the last (lowest) target: no end observed
        return c_front, None
    t = float(speed[j]["target"])
    p = [passes_to_target(r.curve, t) for r in full]
    p_ok = [v for v in p if v is not None and v > 0]
    return c_front, {
        "index": int(j),
        "target_loss": t,
        "passes_full": float(np.exp(np.mean(np.log(p_ok)))) if p_ok else None,
        "ever_ahead": bool(ahead),
    }


def _scores(
    scorer: str,
    task: Task,
    seed: int,
    *,
    score_epochs: int,
    score_models: int,
    prototype_clusters: int,
    batch_size: int,
    lr: float,
) -> tuple[np.ndarray | None, float]:
    """(scores, charged scoring passes) of one scorer for training seed ``seed``."""
    if scorer == "random":
        return None, 0.0
    if scorer == "prototype":
        from specurate.curation.static import prototype_scores

        s = prototype_scores(
            _flat(task.x_train), n_clusters=prototype_clusters, seed=seed, normalize=False
        )
        return s, 0.0
    from specurate.torch.scores import early_training_scores

    base = _SCORE_SEED + seed * score_models
    seeds = tuple(base + j for j in range(score_models))
    # make_model() is called once per scoring seed, in order: give each its own seed.
    it = iter(seeds)
    es = early_training_scores(
        lambda: task.make_model(next(it)),
        np.array(task.x_train, dtype=np.float32),  # writable copies for torch
        np.array(task.y_train, dtype=np.int64),
        epochs=score_epochs,
        seeds=seeds,
        batch_size=batch_size,
        lr=lr,
    )
    return np.asarray(es.el2n), (es.train_passes + es.score_passes) / task.n_train


def _operator(
    phi: np.ndarray,
    sub: np.ndarray,
    mask: np.ndarray,
    *,
    bootstrap: int,
    seed: int,
    level: float,
) -> dict[str, Any]:
    """analyze_reweighting of the 0/1 mask restricted to the spectral subsample."""
    from specurate.spectrum.reweight import analyze_reweighting

    w = mask[sub].astype(np.float64)
    n_kept = int(w.sum())
    base: dict[str, Any] = {"n_sub": int(sub.size), "n_kept_sub": n_kept}
    try:
        r = analyze_reweighting(
            phi, w, kernel="linear", center=False, bootstrap=bootstrap, ci=level, seed=seed
        )
    except SpecurateInputError as exc:
        return {**base, "error": str(exc)}
    return {
        **base,
        "C": float(r.C),
        "C_expected": float(sub.size / max(n_kept, 1)),
        "loewner_upper_ok": bool(r.loewner_upper_ok),
        "max_eig_ratio": _num(r.max_eig_ratio),
        "tail_ratio": _num(r.tail_ratio),
        "k0": int(r.k0),
        "frontier_gain": _num(r.frontier_gain),
        "b_full": _num(r.b),
        "b_full_ci": [_num(v) for v in r.b_ci],
        "b_full_common": _num(r.b_common),
        "b_kept": _num(r.b_w),
        "b_kept_ci": [_num(v) for v in r.b_w_ci],
        "fit_range": [int(v) for v in r.fit.fit_range],
        "common_range": [int(v) for v in r.fit_w.fit_range],
        "delta_b": _num(r.delta_b),
        "delta_b_ci": [_num(v) for v in r.delta_b_ci],
        "narrowing": bool(r.narrowing),
    }


def _operator_summary(per_seed: Sequence[Mapping[str, Any]], level: float) -> dict[str, Any]:
    ok = [o for o in per_seed if "error" not in o]
    out: dict[str, Any] = {"per_seed": list(per_seed), "n_ok": len(ok)}
    if not ok:
        out["error"] = per_seed[0].get("error") if per_seed else "no analysis"
        return out
    for k in ("C", "max_eig_ratio", "k0", "frontier_gain", "b_full_common", "b_kept", "delta_b"):
        out[k] = _summary([o[k] for o in ok], level)
    out["b_full"] = ok[0]["b_full"]
    out["loewner_upper_ok"] = all(o["loewner_upper_ok"] for o in ok)
    out["narrowing"] = sum(o["narrowing"] for o in ok)
    return out


@contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    """Limit torch's intra-op threads and the BLAS/OpenMP pools (threadpoolctl) inside the
    block, then restore them; a no-op for None."""
    if threads is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(limits=threads):
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)


# ---------------------------------------------------------------------------------- main
def keep_mask(
    n: int,
    scores: np.ndarray | None,
    fraction: float,
    keep: str | None,
    *,
    seed: int,
    class_labels: np.ndarray | None = None,
) -> np.ndarray:
    """(n,) bool mask of the examples kept after pruning ``fraction`` of them.

    :class:`~specurate.curation.StaticSubset` with ``keep = 1 − fraction``: k = round(n(1 − f))
    (halves up) examples with the lowest scores (``keep="easy"``), the highest (``"hard"``), or
    a random subset seeded by ``seed`` (``keep=None``, ``scores`` ignored). With
    ``class_labels`` the rule is applied within every class (round(n_c(1 − f)) kept per class).
    """
    from specurate.curation import StaticSubset

    fraction = _check_fractions((fraction,))[0]
    if keep is not None and keep not in KEEPS:
        raise SpecurateInputError(f"unknown keep direction {keep!r}; choose from {list(KEEPS)}")
    if keep is not None and scores is None:
        raise SpecurateInputError(f'keep="{keep}" needs scores')
    strategy = StaticSubset(keep=1.0 - fraction, prefer=keep or "random")
    data = {"scores": None if keep is None else scores, "class_labels": class_labels}
    mask = np.zeros(int(n), bool)
    mask[strategy.init(int(n), seed=int(seed), **data).kept] = True
    return mask


def _group(runs: Sequence[Any], fits: list[dict[str, Any]], level: float) -> dict[str, Any]:
    """Runs, fits and their summaries (mean and CI over seeds) for one configuration."""
    return {
        "runs": [_run_dict(r) for r in runs],
        "fits": fits,
        "exponent": _summary([ft["exponent"] for ft in fits], level),
        "log_c": _summary([ft["log_c"] for ft in fits], level),
        "final_loss": _summary([r.test_loss for r in runs], level),
        "final_acc": _summary([r.test_acc for r in runs], level),
    }


def static_sweep(
    task: Task,
    *,
    budget_passes: float = 5.0,
    seeds: int | Sequence[int] = 2,
    fractions: Sequence[float] = (0.1, 0.3, 0.5, 0.7),
    scorers: Sequence[str] = SCORERS,
    keeps: Sequence[str] = KEEPS,
    batch_size: int = 128,
    lr: float = 0.05,
    eval_points: int = 20,
    score_epochs: int = 1,
    score_models: int = 1,
    prototype_clusters: int | None = None,
    targets: Sequence[float] | None = None,
    n_targets: int = 8,
    target_span: float = 30.0,
    spectral: bool = True,
    spectral_n: int = 2000,
    spectral_kernel: str = "rbf",
    spectral_bootstrap: int = 20,
    spectral_seed: int = 0,
    class_balanced: bool = False,
    level: float = 0.9,
    threads: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Static-limit validation: prune by score, train, compare with the full data (module doc).

    Args:
        task: the :class:`~specurate.bench.tasks.Task` (e.g. ``TASKS["clusters"](seed=0)``).
        budget_passes: total compute of every run, training plus charged scoring, in passes.
        seeds: a count (seeds 0…S−1) or the training seeds themselves.
        fractions: fractions of the training set pruned, each in (0, 1).
        scorers: any of ``"random"``, ``"el2n"``, ``"prototype"``.
        keeps: keep directions for the scored pruners, ``"easy"`` and/or ``"hard"``.
        batch_size, lr, eval_points: :func:`specurate.bench.train` settings (also the early
            training of the EL2N models).
        score_epochs, score_models: early-training epochs and number of models for EL2N.
        prototype_clusters: k-means clusters of the prototype score (default: task.n_classes).
        targets: test losses for the speed-ups (default: ``n_targets`` spaced as documented,
            from the full data's loss at ``budget_passes / target_span`` to its final loss).
        spectral: run the operator analysis of the kept masks.
        spectral_n, spectral_kernel, spectral_bootstrap, spectral_seed: subsample size
            (≥ 50), kernel (``"rbf"`` or ``"linear"``), bootstrap replicates and seed of it.
        class_balanced: prune within every class (the same fraction of each class) instead
            of over the whole training set.
        level: confidence level of every interval.
        threads: torch intra-op threads and BLAS/OpenMP threads (threadpoolctl) for the whole
            sweep, restored afterwards; None keeps the current settings. 1 is fastest for the
            small built-in models and the ≤ 3000-example eigendecompositions on a shared
            machine (threads that spin on busy cores slow each step many-fold).
        progress: show a progress bar over the training runs.

    Returns:
        A JSON-able dict: ``config``, ``task``, ``targets``, ``full`` (reference runs and fit),
        ``configs`` (one dict per pruning configuration: label, scorer, keep, fraction,
        n_kept, scoring passes, runs, exponent/log_c summaries, speedup and speedup_train per
        target, C_front, finite_end, operator), ``spectrum`` (subsample and b of the full
        data) and ``wall_s``.

    Raises:
        SpecurateInputError: for any invalid argument (one sentence naming it).
    """
    t_start = time.perf_counter()
    if not isinstance(task, Task):
        raise SpecurateInputError(f"task must be a specurate.bench.Task, got {type(task).__name__}")
    budget = _check_real("budget_passes", budget_passes, lo=0.0)
    seed_list = _check_seeds(seeds)
    fracs = _check_fractions(fractions)
    scorer_list = _check_names("scorers", scorers, SCORERS)
    keep_list = _check_names("keeps", keeps, KEEPS)
    batch_size = _check_int("batch_size", batch_size, 1)
    lr = _check_real("lr", lr, lo=0.0)
    eval_points = _check_int("eval_points", eval_points, 2)
    score_epochs = _check_int("score_epochs", score_epochs, 1)
    score_models = _check_int("score_models", score_models, 1)
    k_proto = _check_int(
        "prototype_clusters",
        task.n_classes if prototype_clusters is None else prototype_clusters,
        1,
    )
    if k_proto > task.n_train:
        raise SpecurateInputError(
            f"prototype_clusters must be at most the {task.n_train} training examples"
        )
    n_targets = _check_int("n_targets", n_targets, 1)
    target_span = _check_real("target_span", target_span, lo=1.0, strict=False)
    if targets is not None:
        try:
            tg = [float(t) for t in targets]
        except (TypeError, ValueError):
            tg = []
        if not tg or not all(math.isfinite(t) and t > 0 for t in tg):
            raise SpecurateInputError("targets must be a non-empty list of positive test losses")
        targets = sorted(tg, reverse=True)
    spectral_n = _check_int("spectral_n", spectral_n, 50)
    if spectral_kernel not in KERNELS:
        raise SpecurateInputError(
            f"unknown spectral_kernel {spectral_kernel!r}; choose from {list(KERNELS)}"
        )
    spectral_bootstrap = _check_int("spectral_bootstrap", spectral_bootstrap, 0)
    spectral_seed = _check_int("spectral_seed", spectral_seed, 0)
    if not (isinstance(level, Real) and 0 < level < 1):
        raise SpecurateInputError(f"level must be a confidence level in (0, 1), got {level!r}")
    if threads is not None:
        threads = _check_int("threads", threads, 1)
    if "el2n" in scorer_list:
        cost = score_models * (score_epochs + 2)  # what early_training_scores reports
        if cost >= budget:
            raise SpecurateInputError(
                f"budget_passes={budget:g} does not cover the {cost:g} passes EL2N scoring is "
                "charged: raise budget_passes or lower score_epochs/score_models"
            )

    with _threads(threads):
        from specurate.bench.train import train
        from specurate.curation import KeepMask, Uniform, bind

        n = task.n_train
        configs: list[tuple[str, str | None, float]] = []
        for scorer in scorer_list:
            for f in fracs:
                for keep in (None,) if scorer == "random" else keep_list:
                    configs.append((scorer, keep, f))

        train_kw = {"budget_passes": budget, "batch_size": batch_size, "lr": lr}
        train_kw["eval_points"] = eval_points
        # One job per (seed, scorer): the full run, or score once then train every (f, keep).
        jobs: list[tuple[int, str]] = [(s, FULL) for s in seed_list]
        jobs += [(s, sc) for s in seed_list for sc in scorer_list]
        runs: dict[str, list[RunResult]] = {FULL: []}
        masks: dict[str, list[np.ndarray]] = {}
        charges: dict[str, list[float]] = {}
        n_runs = len(seed_list) * (1 + len(configs))
        bar = progress_iter(
            _expand(jobs, configs), "static sweep: training", enabled=progress, total=n_runs
        )
        scored: dict[tuple[int, str], tuple[np.ndarray | None, float]] = {}
        labels = np.asarray(task.y_train) if class_balanced else None
        for seed, scorer, cfg in bar:
            if scorer == FULL:
                r = train(task, Uniform(), seed=seed, label=FULL, **train_kw)
                runs[FULL].append(_charged(r, 0.0, FULL))
                continue
            if (seed, scorer) not in scored:
                scored[(seed, scorer)] = _scores(
                    scorer,
                    task,
                    seed,
                    score_epochs=score_epochs,
                    score_models=score_models,
                    prototype_clusters=k_proto,
                    batch_size=batch_size,
                    lr=lr,
                )
            s, charge = scored[(seed, scorer)]
            _, keep, f = cfg
            label = _label(scorer, keep, f)
            mask = keep_mask(n, s, f, keep, seed=seed, class_labels=labels)
            r = train(
                task,
                bind(KeepMask(), mask=mask),
                seed=seed,
                label=label,
                **{**train_kw, "budget_passes": budget - charge},
            )
            runs.setdefault(label, []).append(_charged(r, charge, label))
            masks.setdefault(label, []).append(mask)
            charges.setdefault(label, []).append(charge)

        full = runs[FULL]
        tg = (
            list(targets) if targets is not None else _targets(full, budget, n_targets, target_span)
        )

        # ---- operator analysis (feature form computed once, on one subsample)
        spectrum: dict[str, Any] = {"enabled": bool(spectral)}
        phi = sub_idx = None
        if spectral:
            from specurate.spectrum.estimate import operator_features

            rng = np.random.default_rng([spectral_seed, _SPECTRAL_STREAM])
            m = min(n, spectral_n)
            sub_idx = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
            op = operator_features(_flat(task.x_train)[sub_idx], kernel=spectral_kernel, seed=0)
            phi = op.features[:, : max(m // 5, 10)] if spectral_kernel != "linear" else op.features
            spectrum.update(
                {
                    "kernel": spectral_kernel,
                    "n_sub": int(m),
                    "rank": int(phi.shape[1]),
                    "bandwidth": _num(op.bandwidth),
                    "bootstrap": spectral_bootstrap,
                    "seed": spectral_seed,
                }
            )

        full_fits = [_fit_curve(r.curve) for r in full]
        out_configs = []
        for scorer, keep, f in configs:
            label = _label(scorer, keep, f)
            rs = runs[label]
            fits = [_fit_curve(r.curve) for r in rs]
            speed = _speedups(full, rs, label, tg, level, "passes")
            speed_train = _speedups(full, rs, label, tg, level, "train_passes")
            c_front, end = _finite_region(speed, full)
            c_front_train, end_train = _finite_region(speed_train, full)
            n_kept = int(masks[label][0].sum())
            entry: dict[str, Any] = {
                "label": label,
                "scorer": scorer,
                "keep": keep,
                "fraction": float(f),
                "n_kept": n_kept,
                "kept_fraction": n_kept / n,
                "scoring_passes": float(np.mean(charges[label])),
                **_group(rs, fits, level),
                "speedup": speed,
                "speedup_train": speed_train,
                "C_front": _num(c_front),
                "finite_end": end,
                "C_front_train": _num(c_front_train),
                "finite_end_train": end_train,
            }
            if spectral:
                per_seed = [
                    _operator(
                        phi,
                        sub_idx,
                        mk,
                        bootstrap=spectral_bootstrap,
                        seed=spectral_seed,
                        level=level,
                    )
                    for mk in masks[label]
                ]
                entry["operator"] = _operator_summary(per_seed, level)
                ok = [o for o in per_seed if "error" not in o]
                if ok and "b_full" not in spectrum:
                    spectrum["b_full"] = ok[0]["b_full"]
                    spectrum["b_full_ci"] = ok[0]["b_full_ci"]
                    spectrum["fit_range"] = ok[0]["fit_range"]
            out_configs.append(entry)

        # spectral control: Δb of random pruning at the same fraction (the finite-sample bias of
        # the kept-data fit is shared by every mask that keeps the same number of examples)
        rand_db = {
            c["fraction"]: c["operator"]["delta_b"]["mean"]
            for c in out_configs
            if c["scorer"] == "random" and c.get("operator", {}).get("n_ok")
        }
        for c in out_configs:
            op = c.get("operator")
            if op is not None and op.get("n_ok"):
                ref = rand_db.get(c["fraction"])
                db = op["delta_b"]["mean"]
                op["delta_b_vs_random"] = None if ref is None or db is None else db - ref

        return {
            "experiment": "static_limit_validation",
            "task": {"name": task.name, "description": task.description, "n_train": int(n)},
            "config": {
                "budget_passes": budget,
                "seeds": list(seed_list),
                "fractions": list(fracs),
                "scorers": list(scorer_list),
                "keeps": list(keep_list),
                "batch_size": batch_size,
                "lr": lr,
                "eval_points": eval_points,
                "score_epochs": score_epochs,
                "score_models": score_models,
                "prototype_clusters": k_proto,
                "n_targets": n_targets,
                "target_span": target_span,
                "level": float(level),
                "spectral": bool(spectral),
                "spectral_n": spectral_n,
                "spectral_kernel": spectral_kernel,
                "spectral_bootstrap": spectral_bootstrap,
                "spectral_seed": spectral_seed,
                "class_balanced": bool(class_balanced),
                "threads": threads,
            },
            "targets": [float(t) for t in tg],
            "full": {
                "label": FULL,
                **_group(full, full_fits, level),
            },
            "configs": out_configs,
            "spectrum": spectrum,
            "wall_s": time.perf_counter() - t_start,
        }


def _expand(jobs: Sequence[tuple[int, str]], configs: Sequence[tuple[str, str | None, float]]):
    """Training runs in order: (seed, FULL, None) or (seed, scorer, config)."""
    for seed, scorer in jobs:
        if scorer == FULL:
            yield seed, FULL, None
        else:
            for cfg in configs:
                if cfg[0] == scorer:
                    yield seed, scorer, cfg


# ---------------------------------------------------------------------------------- reporting
def _fmt(v: Any, spec: str = ".3g") -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


def _pm(s: Mapping[str, Any], spec: str = ".3f") -> str:
    if s.get("mean") is None:
        return "–"
    if s.get("lo") is None or s.get("hi") is None:
        return _fmt(s["mean"], spec)
    return f"{s['mean']:{spec}} [{s['lo']:{spec}}, {s['hi']:{spec}}]"


def render_static_sweep(result: Mapping[str, Any]) -> list[Table]:
    """Rich tables of a :func:`static_sweep` result: learning curves, speed-ups, operator."""
    from rich.table import Table

    cfg = result["config"]
    lvl = round(100 * cfg["level"])
    full = result["full"]
    title = (
        f"Static-limit validation on {result['task']['name']} (n={result['task']['n_train']}, "
        f"{cfg['budget_passes']:g} passes, seeds {cfg['seeds']})"
    )
    t1 = Table(title=title)
    x_col = f"exponent x [{lvl}% CI over seeds]"
    for col in ("config", "kept", "scoring", x_col, "log c", "final loss"):
        t1.add_column(col, justify="left" if col == "config" else "right")
    t1.add_column("C_front (train-only)", justify="right")
    t1.add_column("ahead until: loss @ passes", justify="right")
    t1.add_row(
        "full",
        "1.00",
        "0",
        _pm(full["exponent"]),
        _pm({"mean": full["log_c"]["mean"]}),
        _fmt(full["final_loss"]["mean"], ".4f"),
        "1",
        "",
        style="bold",
    )
    for c in result["configs"]:
        end = c["finite_end"]
        if end is None:
            end_s = "ahead at all"
        elif not end["ever_ahead"]:
            end_s = "never ahead"
        else:
            end_s = f"{end['target_loss']:.4f} @ {_fmt(end['passes_full'], '.3g')}"
        t1.add_row(
            c["label"],
            f"{c['kept_fraction']:.2f}",
            _fmt(c["scoring_passes"], ".3g"),
            _pm(c["exponent"]),
            _pm({"mean": c["log_c"]["mean"]}),
            _fmt(c["final_loss"]["mean"], ".4f"),
            f"{_fmt(c['C_front'], '.3g')} ({_fmt(c['C_front_train'], '.3g')})",
            end_s,
        )
    t2 = Table(title="Speed-up vs full data (charged passes; geometric mean over seeds)")
    t2.add_column("config")
    for t in result["targets"]:
        t2.add_column(f"L={t:.3g}", justify="right")
    for c in result["configs"]:
        cells = []
        for s in c["speedup"]:
            if s["mean"] is None:
                cells.append("–")
            else:
                mark = "" if s["reached"] else "*"
                cells.append(f"{s['mean']:.2f}{mark}")
        t2.add_row(c["label"], *cells)
    tables = [t1, t2]
    spec = result.get("spectrum", {})
    if spec.get("enabled"):
        t3 = Table(
            title=(
                f"Operator of the kept masks ({spec.get('kernel')} kernel, {spec.get('n_sub')} "
                f"examples, top {spec.get('rank')} modes): b_full = {_fmt(spec.get('b_full'))}"
            )
        )
        ci_kind = "over seeds" if len(cfg["seeds"]) > 1 else "bootstrap"
        for col in (
            "config",
            "C",
            "1/(1−f)",
            "max λ_w/λ",
            "T_w ⪯ C·T",
            "k0",
            "frontier gain",
            "b_full (common range)",
            "b_kept",
            f"Δb [{lvl}% CI {ci_kind}]",
            "Δb − Δb(random)",
            "narrowing",
        ):
            t3.add_column(col, justify="left" if col == "config" else "right")
        for c in result["configs"]:
            op = c.get("operator", {})
            if not op.get("n_ok"):
                t3.add_row(c["label"], *(["–"] * 10), str(op.get("error", ""))[:40])
                continue
            first = next(o for o in op["per_seed"] if "error" not in o)
            db = op["delta_b"]
            ci = first["delta_b_ci"]
            db_s = _fmt(db["mean"], ".3f")
            if ci[0] is not None and len(op["per_seed"]) == 1:
                db_s += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
            elif db.get("lo") is not None:
                db_s = _pm(db)
            t3.add_row(
                c["label"],
                _fmt(op["C"]["mean"], ".3f"),
                _fmt(1.0 / (1.0 - c["fraction"]), ".3f"),
                _fmt(op["max_eig_ratio"]["mean"], ".3f"),
                "yes" if op["loewner_upper_ok"] else "NO",
                _fmt(op["k0"]["mean"], ".3g"),
                _fmt(op["frontier_gain"]["mean"], ".3f"),
                _fmt(op["b_full_common"]["mean"], ".3f"),
                _fmt(op["b_kept"]["mean"], ".3f"),
                db_s,
                _fmt(op.get("delta_b_vs_random"), "+.3f"),
                f"{op['narrowing']}/{op['n_ok']}",
            )
        tables.append(t3)
    return tables


def _mean_curve(
    runs: Sequence[Mapping[str, Any]], key: str = "passes"
) -> tuple[np.ndarray, np.ndarray]:
    """Geometric-mean test loss over seeds on the first seed's ``key`` axis (log-log interp)."""
    p0 = np.array([c[key] for c in runs[0]["curve"]])
    logs = []
    for r in runs:
        p = np.array([c[key] for c in r["curve"]])
        y = np.array([c["test_loss"] for c in r["curve"]])
        logs.append(np.interp(np.log(p0), np.log(p), np.log(y)))
    return p0, np.exp(np.mean(logs, axis=0))


def plot_static_sweep(result: Mapping[str, Any], path: str | Path) -> Path:
    """Log-log test loss vs compute, one line per configuration (seed mean), full data thick
    black; left: charged passes (scoring included), right: training passes only. Saves a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    colors = {"random": "tab:blue", "el2n": "tab:red", "prototype": "tab:green"}
    styles = {None: ":", "easy": "-", "hard": "--"}
    fracs = result["config"]["fractions"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    for ax, key, xlabel in (
        (axes[0], "passes", "compute (passes, scoring charged)"),
        (axes[1], "train_passes", "training passes (scoring not charged)"),
    ):
        for c in result["configs"]:
            p, y = _mean_curve(c["runs"], key)
            shade = 0.35 + 0.65 * (fracs.index(c["fraction"]) + 1) / len(fracs)
            ax.plot(
                p,
                y,
                styles[c["keep"]],
                color=colors[c["scorer"]],
                alpha=shade,
                lw=1.2,
                label=c["label"],
            )
        p, y = _mean_curve(result["full"]["runs"], key)
        ax.plot(p, y, "-", color="black", lw=3, label="full data", zorder=5)
        for t in result["targets"]:
            ax.axhline(t, color="0.85", lw=0.6, zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("test loss")
    axes[0].legend(fontsize=7, ncol=2, loc="lower left")
    fig.suptitle(f"Static pruning on {result['task']['name']}: test loss vs compute")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
