r"""Experiment 1 of the paper, static-limit validation, on real training.

Static curation keeps a fixed subset of the data (or bounded fixed weights 0 ≤ w ≤ C, mean 1).
In the operator picture (theory.md §2) the curated operator is
:math:`T_w = M_{\sqrt w}\, T\, M_{\sqrt w}` with :math:`0 \preceq T_w \preceq C\,T`; pruning a
fraction f of n examples is :math:`w \in \{0,\ 1/(1-f)\}`, so C = n / n_kept ≈ 1/(1 − f).
By Courant–Fischer :math:`\lambda_k(T_w) \le C\,\lambda_k(T)` for every k: the tail exponent b
cannot improve, and static curation can at most shift the loss-vs-compute curve by a constant
factor in compute inside a finite region (its log-log slope is unchanged). Over-pruning can make
the kept data's spectrum decay faster (*spectral narrowing*: b_kept > b_full).

:func:`run_static_sweep` (settings in a :class:`StaticSweepConfig`) tests both sides on one
:class:`~specurate.bench.tasks.Task`:

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
beyond the CI (needs ``spectral_bootstrap`` > 0). Both fits are corrected for their
finite-sample bias (:func:`~specurate.spectrum.reweight.analyze_reweighting`), so random pruning
gives Δb ≈ 0; ``delta_b_vs_random`` = Δb − Δb(random pruning at the same fraction) is kept as a
control-corrected change (when ``random`` is among the scorers). With several seeds the
per-seed values are summarized by their mean and t interval over seeds; the bootstrap CI is
per seed.

torch is imported only inside the functions that train, so importing this module needs
numpy/scipy only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Real
from typing import Any, Literal, cast

import numpy as np

from specurate._json import jsonable
from specurate._progress import progress_iter
from specurate._rng import offset_seed, stream
from specurate._validate import (
    check_bool,
    check_choice,
    check_int,
    check_names,
    check_positive_int,
    check_real,
    check_reals,
    check_seed,
)
from specurate.bench._threads import torch_threads
from specurate.bench.metrics import mean_ci, passes_to_target, speedup_vs_uniform
from specurate.bench.result import RunResult
from specurate.bench.tasks import Task, check_task
from specurate.errors import SpecurateInputError

__all__ = [
    "KEEPS",
    "KERNELS",
    "SCORERS",
    "StaticSweepConfig",
    "StaticSweepResult",
    "keep_mask",
    "run_static_sweep",
]

SCORERS: tuple[str, ...] = ("random", "el2n", "prototype")
KEEPS: tuple[str, ...] = ("easy", "hard")
KERNELS: tuple[str, ...] = ("rbf", "linear")
FULL = "full"

Pruning = tuple[str, "str | None", float]  # (scorer, keep direction or None, fraction pruned)


# ---------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class StaticSweepConfig:
    """Settings of the static-limit validation (module docstring). Validated on construction;
    ``seeds`` then holds the training seeds themselves, ``prototype_clusters`` its value and
    ``targets`` (when given) the losses in decreasing order.

    Attributes:
        task: the :class:`~specurate.bench.tasks.Task` (e.g. ``TASKS["clusters"](seed=0)``).
        budget_passes: total compute of every run, training plus charged scoring, in passes.
        seeds: a count (seeds 0…S−1) or the training seeds themselves (distinct, ≥ 0).
        fractions: fractions of the training set pruned, each in (0, 1), distinct.
        scorers: any of ``"random"``, ``"el2n"``, ``"prototype"``.
        keeps: keep directions for the scored pruners, ``"easy"`` and/or ``"hard"``.
        batch_size: SGD batch size of :func:`specurate.bench.train` (also the early training
            of the EL2N models).
        lr: SGD learning rate (likewise).
        eval_points: evaluations per run, ≥ 2.
        score_epochs: early-training epochs of the EL2N models.
        score_models: number of EL2N models.
        prototype_clusters: k-means clusters of the prototype score (default: task.n_classes;
            at most the training-set size).
        targets: test losses for the speed-ups (default: ``n_targets`` spaced as documented,
            from the full data's loss at ``budget_passes / target_span`` to its final loss).
        n_targets: number of default targets (≥ 1).
        target_span: the span of the default targets (≥ 1).
        spectral: run the operator analysis of the kept masks.
        spectral_n: subsample size of the operator analysis (≥ 50).
        spectral_kernel: its kernel, ``"rbf"`` or ``"linear"``.
        spectral_bootstrap: its bootstrap replicates.
        spectral_seed: the seed of its subsample.
        class_balanced: prune within every class (the same fraction of each class) instead
            of over the whole training set.
        level: confidence level of every interval, in (0, 1).
        threads: torch intra-op threads and BLAS/OpenMP threads (threadpoolctl) for the whole
            sweep, restored afterwards; None keeps the current settings. 1 is fastest for the
            small built-in models and the ≤ 3000-example eigendecompositions on a shared
            machine (threads that spin on busy cores slow each step many-fold).
    """

    task: Task
    budget_passes: float = 5.0
    seeds: int | Sequence[int] = 2
    fractions: Sequence[float] = (0.1, 0.3, 0.5, 0.7)
    scorers: Sequence[str] = SCORERS
    keeps: Sequence[str] = KEEPS
    batch_size: int = 128
    lr: float = 0.05
    eval_points: int = 20
    score_epochs: int = 1
    score_models: int = 1
    prototype_clusters: int | None = None
    targets: Sequence[float] | None = None
    n_targets: int = 8
    target_span: float = 30.0
    spectral: bool = True
    spectral_n: int = 2000
    spectral_kernel: Literal["rbf", "linear"] = "rbf"
    spectral_bootstrap: int = 20
    spectral_seed: int = 0
    class_balanced: bool = False
    level: float = 0.9
    threads: int | None = None

    def __post_init__(self) -> None:
        task = check_task(self.task)
        fields = {
            "budget_passes": check_real("budget_passes", self.budget_passes, lo=0, lo_open=True),
            "seeds": _check_seeds(self.seeds),
            "fractions": check_reals(
                "fractions", self.fractions, lo=0, hi=1, lo_open=True, hi_open=True, distinct=True
            ),
            "scorers": check_names("scorers", self.scorers, SCORERS),
            "keeps": check_names("keeps", self.keeps, KEEPS),
            "batch_size": check_positive_int("batch_size", self.batch_size),
            "lr": check_real("lr", self.lr, lo=0, lo_open=True),
            "eval_points": check_int("eval_points", self.eval_points, lo=2),
            "score_epochs": check_positive_int("score_epochs", self.score_epochs),
            "score_models": check_positive_int("score_models", self.score_models),
            "prototype_clusters": _check_clusters(self.prototype_clusters, task),
            "targets": _check_targets(self.targets),
            "n_targets": check_positive_int("n_targets", self.n_targets),
            "target_span": check_real("target_span", self.target_span, lo=1.0),
            "spectral": check_bool("spectral", self.spectral),
            "spectral_n": check_int("spectral_n", self.spectral_n, lo=50),
            "spectral_kernel": check_choice("spectral_kernel", self.spectral_kernel, KERNELS),
            "spectral_bootstrap": check_int("spectral_bootstrap", self.spectral_bootstrap, lo=0),
            "spectral_seed": check_seed(self.spectral_seed, "spectral_seed"),
            "class_balanced": check_bool("class_balanced", self.class_balanced),
            "level": check_real("level", self.level, lo=0, hi=1, lo_open=True, hi_open=True),
            "threads": None
            if self.threads is None
            else check_positive_int("threads", self.threads),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        if "el2n" in self.scorers:
            cost = self.score_models * (self.score_epochs + 2)  # what early_training_scores reports
            if cost >= self.budget_passes:
                raise SpecurateInputError(
                    f"budget_passes={self.budget_passes:g} does not cover the {cost:g} passes EL2N "
                    "scoring is charged: raise budget_passes or lower score_epochs/score_models"
                )

    @property
    def seed_list(self) -> tuple[int, ...]:
        """The training seeds."""
        return cast("tuple[int, ...]", self.seeds)

    @property
    def pruning(self) -> list[Pruning]:
        """Every pruning configuration (scorer, keep or None for random, fraction), in order."""
        return [
            (scorer, keep, f)
            for scorer in self.scorers
            for f in self.fractions
            for keep in ((None,) if scorer == "random" else self.keeps)
        ]

    def settings(self) -> dict[str, Any]:
        """The resolved settings (the result's ``config``)."""
        return {
            "budget_passes": self.budget_passes,
            "seeds": list(self.seed_list),
            "fractions": list(self.fractions),
            "scorers": list(self.scorers),
            "keeps": list(self.keeps),
            "batch_size": self.batch_size,
            "lr": self.lr,
            "eval_points": self.eval_points,
            "score_epochs": self.score_epochs,
            "score_models": self.score_models,
            "prototype_clusters": self.prototype_clusters,
            "n_targets": self.n_targets,
            "target_span": self.target_span,
            "level": self.level,
            "spectral": self.spectral,
            "spectral_n": self.spectral_n,
            "spectral_kernel": self.spectral_kernel,
            "spectral_bootstrap": self.spectral_bootstrap,
            "spectral_seed": self.spectral_seed,
            "class_balanced": self.class_balanced,
            "threads": self.threads,
        }


def _check_seeds(seeds: Any) -> tuple[int, ...]:
    """A count ≥ 1 (seeds 0…S−1) or distinct non-negative integer seeds."""
    if isinstance(seeds, Real) and not isinstance(seeds, bool):
        return tuple(range(check_positive_int("seeds", seeds)))
    if isinstance(seeds, str) or not isinstance(seeds, Sequence | np.ndarray):
        raise SpecurateInputError(f"seeds must be a count ≥ 1 or a list of seeds, got {seeds!r}")
    out = tuple(check_seed(s, "seeds") for s in seeds)
    if not out or len(set(out)) != len(out):
        raise SpecurateInputError(f"seeds must be distinct and at least one, got {list(out)}")
    return out


def _check_clusters(value: Any, task: Task) -> int:
    k = check_positive_int("prototype_clusters", task.n_classes if value is None else value)
    if k > task.n_train:
        raise SpecurateInputError(
            f"prototype_clusters must be at most the {task.n_train} training examples"
        )
    return k


def _check_targets(targets: Any) -> tuple[float, ...] | None:
    if targets is None:
        return None
    return tuple(sorted(check_reals("targets", targets, lo=0, lo_open=True), reverse=True))


# ---------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class StaticSweepResult:
    """The static-limit validation (module docstring).

    Attributes:
        task: ``{name, description, n_train}``.
        config: the resolved settings (:meth:`StaticSweepConfig.settings`).
        targets: the target test losses, decreasing.
        full: the full-data reference: ``label``, ``runs``, ``fits`` and their summaries.
        configs: one dict per pruning configuration: label, scorer, keep, fraction, n_kept,
            scoring passes, runs, exponent/log_c summaries, speedup and speedup_train per
            target, C_front, finite_end, operator.
        spectrum: the spectral subsample and b of the full data.
        wall_s: wall-clock seconds of the sweep.
        experiment: ``"static_limit_validation"``.
    """

    task: Mapping[str, Any]
    config: Mapping[str, Any]
    targets: tuple[float, ...]
    full: Mapping[str, Any]
    configs: tuple[Mapping[str, Any], ...]
    spectrum: Mapping[str, Any]
    wall_s: float
    experiment: str = "static_limit_validation"

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON document of the result (NaN and ±inf as None)."""
        return jsonable(
            {
                "experiment": self.experiment,
                "task": dict(self.task),
                "config": dict(self.config),
                "targets": list(self.targets),
                "full": dict(self.full),
                "configs": list(self.configs),
                "spectrum": dict(self.spectrum),
                "wall_s": self.wall_s,
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StaticSweepResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            task=dict(d["task"]),
            config=dict(d["config"]),
            targets=tuple(d["targets"]),
            full=dict(d["full"]),
            configs=tuple(d["configs"]),
            spectrum=dict(d["spectrum"]),
            wall_s=d["wall_s"],
            experiment=d["experiment"],
        )


# ---------------------------------------------------------------------------------- the sweep
def run_static_sweep(config: StaticSweepConfig, *, progress: bool = False) -> StaticSweepResult:
    """Static-limit validation: prune by score, train, compare with the full data (module doc).

    Args:
        config: the settings (validated when the config is built).
        progress: show a progress bar over the training runs.
    """
    t_start = time.perf_counter()
    task = config.task
    with torch_threads(config.threads, blas=True):
        trained = _train_all(config, progress)
        full = trained.runs[FULL]
        tg = (
            list(config.targets)
            if config.targets is not None
            else _targets(full, config.budget_passes, config.n_targets, config.target_span)
        )
        basis = _spectral_basis(config) if config.spectral else None
        entries = [_entry(config, p, trained, tg, basis) for p in config.pruning]
        entries = _with_random_control(entries)
        full_fits = [_fit_curve(r.curve) for r in full]
        return StaticSweepResult(
            task={"name": task.name, "description": task.description, "n_train": task.n_train},
            config=config.settings(),
            targets=tuple(float(t) for t in tg),
            full={"label": FULL, **_group(full, full_fits, config.level)},
            configs=tuple(entries),
            spectrum=_spectrum_info(config, basis, entries),
            wall_s=time.perf_counter() - t_start,
        )


@dataclass(frozen=True)
class _Trained:
    """Every training run by label (``full`` and each pruning label), with the kept masks and
    the scoring passes charged to each pruned run."""

    runs: dict[str, list[RunResult]]
    masks: dict[str, list[np.ndarray]]
    charges: dict[str, list[float]]


def _jobs(config: StaticSweepConfig) -> Iterator[tuple[int, str, Pruning | None]]:
    """Training runs in order: (seed, FULL, None) for every seed, then per (seed, scorer) every
    pruning configuration of that scorer (scored once, then trained per (fraction, keep))."""
    for seed in config.seed_list:
        yield seed, FULL, None
    for seed in config.seed_list:
        for scorer in config.scorers:
            for p in config.pruning:
                if p[0] == scorer:
                    yield seed, scorer, p


def _train_all(config: StaticSweepConfig, progress: bool) -> _Trained:
    from specurate.bench.train import train
    from specurate.curation import Uniform

    task = config.task
    jobs = list(_jobs(config))
    out = _Trained(runs={FULL: []}, masks={}, charges={})
    scored: dict[tuple[int, str], tuple[np.ndarray | None, float]] = {}
    for seed, scorer, p in progress_iter(jobs, "static sweep: training", enabled=progress):
        if p is None:
            run = train(task, Uniform(), seed=seed, label=FULL, **_train_kw(config, 0.0))
            out.runs[FULL].append(_charged(run, 0.0, FULL))
            continue
        if (seed, scorer) not in scored:
            scored[(seed, scorer)] = _scores(scorer, task, seed, config)
        scores, charge = scored[(seed, scorer)]
        label, mask, run = _pruned_run(config, p, seed, scores, charge)
        out.runs.setdefault(label, []).append(run)
        out.masks.setdefault(label, []).append(mask)
        out.charges.setdefault(label, []).append(charge)
    return out


def _train_kw(config: StaticSweepConfig, charge: float) -> dict[str, Any]:
    """:func:`specurate.bench.train` settings of a run charged ``charge`` scoring passes."""
    return {
        "budget_passes": config.budget_passes - charge,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "eval_points": config.eval_points,
    }


def _pruned_run(
    config: StaticSweepConfig,
    p: Pruning,
    seed: int,
    scores: np.ndarray | None,
    charge: float,
) -> tuple[str, np.ndarray, RunResult]:
    """(label, kept mask, charged run) of one pruning configuration and seed."""
    from specurate.bench.train import train
    from specurate.curation import KeepMask, bind

    task = config.task
    scorer, keep, f = p
    label = _label(scorer, keep, f)
    labels = np.asarray(task.y_train) if config.class_balanced else None
    mask = keep_mask(task.n_train, scores, f, keep, seed=seed, class_labels=labels)
    run = train(
        task, bind(KeepMask(), mask=mask), seed=seed, label=label, **_train_kw(config, charge)
    )
    return label, mask, _charged(run, charge, label)


@dataclass(frozen=True)
class _Basis:
    """The operator's feature form on the spectral subsample (computed once)."""

    phi: np.ndarray
    sub_idx: np.ndarray
    bandwidth: float | None


def _spectral_basis(config: StaticSweepConfig) -> _Basis:
    from specurate.spectrum.estimate import operator_features

    n = config.task.n_train
    rng = stream("experiments.static.spectral_subsample", config.spectral_seed)
    m = min(n, config.spectral_n)
    sub_idx = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
    kernel = config.spectral_kernel
    op = operator_features(_flat(config.task.x_train)[sub_idx], kernel=kernel, seed=0)
    phi = op.features[:, : max(m // 5, 10)] if kernel != "linear" else op.features
    return _Basis(phi=phi, sub_idx=sub_idx, bandwidth=_num(op.bandwidth))


def _entry(
    config: StaticSweepConfig,
    p: Pruning,
    trained: _Trained,
    targets: Sequence[float],
    basis: _Basis | None,
) -> dict[str, Any]:
    """Everything reported for one pruning configuration."""
    scorer, keep, f = p
    label = _label(scorer, keep, f)
    level = config.level
    full, rs = trained.runs[FULL], trained.runs[label]
    fits = [_fit_curve(r.curve) for r in rs]
    speed = _speedups(full, rs, label, targets, level, "passes")
    speed_train = _speedups(full, rs, label, targets, level, "train_passes")
    c_front, end = _finite_region(speed, full)
    c_front_train, end_train = _finite_region(speed_train, full)
    n = config.task.n_train
    n_kept = int(trained.masks[label][0].sum())
    entry: dict[str, Any] = {
        "label": label,
        "scorer": scorer,
        "keep": keep,
        "fraction": float(f),
        "n_kept": n_kept,
        "kept_fraction": n_kept / n,
        "scoring_passes": float(np.mean(trained.charges[label])),
        **_group(rs, fits, level),
        "speedup": speed,
        "speedup_train": speed_train,
        "C_front": _num(c_front),
        "finite_end": end,
        "C_front_train": _num(c_front_train),
        "finite_end_train": end_train,
    }
    if basis is not None:
        per_seed = [
            _operator(
                basis.phi,
                basis.sub_idx,
                mk,
                bootstrap=config.spectral_bootstrap,
                seed=config.spectral_seed,
                level=level,
            )
            for mk in trained.masks[label]
        ]
        entry["operator"] = _operator_summary(per_seed, level)
    return entry


def _with_random_control(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The entries with ``operator.delta_b_vs_random``: Δb − Δb(random pruning at the same
    fraction), the finite-sample bias of the kept-data fit being shared by every mask that
    keeps the same number of examples."""
    rand_db = {
        c["fraction"]: c["operator"]["delta_b"]["mean"]
        for c in entries
        if c["scorer"] == "random" and c.get("operator", {}).get("n_ok")
    }
    out = []
    for c in entries:
        op = c.get("operator")
        if op is None or not op.get("n_ok"):
            out.append(dict(c))
            continue
        ref, db = rand_db.get(c["fraction"]), op["delta_b"]["mean"]
        control = None if ref is None or db is None else db - ref
        out.append({**c, "operator": {**op, "delta_b_vs_random": control}})
    return out


def _spectrum_info(
    config: StaticSweepConfig, basis: _Basis | None, entries: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The subsample and b of the full data (from the first configuration analysed)."""
    spectrum: dict[str, Any] = {"enabled": config.spectral}
    if basis is None:
        return spectrum
    spectrum |= {
        "kernel": config.spectral_kernel,
        "n_sub": int(basis.sub_idx.size),
        "rank": int(basis.phi.shape[1]),
        "bandwidth": basis.bandwidth,
        "bootstrap": config.spectral_bootstrap,
        "seed": config.spectral_seed,
    }
    for c in entries:
        ok = [o for o in c["operator"]["per_seed"] if "error" not in o]
        if ok:
            first = ok[0]
            spectrum |= {k: first[k] for k in ("b_full", "b_full_ci", "fit_range")}
            break
    return spectrum


class _InOrder:
    """``make_model()`` for :func:`~specurate.torch.scores.early_training_scores`, which calls it
    once per scoring seed, in order: the i-th call builds ``make_model(seeds[i])``."""

    def __init__(self, make_model: Callable[[int], Any], seeds: Sequence[int]) -> None:
        self._make = make_model
        self._seeds = iter(seeds)

    def __call__(self) -> Any:
        return self._make(next(self._seeds))


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
    scorer: str, task: Task, seed: int, config: StaticSweepConfig
) -> tuple[np.ndarray | None, float]:
    """(scores, charged scoring passes) of one scorer for training seed ``seed``."""
    if scorer == "random":
        return None, 0.0
    if scorer == "prototype":
        from specurate.curation.static import prototype_scores

        s = prototype_scores(
            _flat(task.x_train), n_clusters=config.prototype_clusters, seed=seed, normalize=False
        )
        return s, 0.0
    from specurate.torch.scores import early_training_scores

    base = offset_seed("static.scoring_models", seed * config.score_models)
    seeds = tuple(base + j for j in range(config.score_models))
    es = early_training_scores(
        _InOrder(task.make_model, seeds),
        np.array(task.x_train, dtype=np.float32),  # writable copies for torch
        np.array(task.y_train, dtype=np.int64),
        epochs=config.score_epochs,
        seeds=seeds,
        batch_size=config.batch_size,
        lr=config.lr,
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
            phi,
            w,
            kernel="linear",
            center=False,
            ci_method="bootstrap" if bootstrap else "none",
            bootstrap=bootstrap,
            ci=level,
            seed=seed,
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

    fraction = check_real("fraction", fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    if keep is not None:
        keep = check_choice("keep", keep, KEEPS)
    if keep is not None and scores is None:
        raise SpecurateInputError(f'keep="{keep}" needs scores')
    prefer = cast("Literal['easy', 'hard', 'random']", keep or "random")
    strategy = StaticSubset(keep=1.0 - fraction, prefer=prefer)
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
