r"""Experiment 3 of the paper (theory.md §4, §6): does synthetic data stay in the student's span?

Claim under test (paper A.4): fine-tuning a model on inputs labelled by ITSELF keeps it inside
its span H_θ and cannot lower the test loss on target modes outside H_θ; labels from a
DIFFERENT teacher (a model with a larger span) can add those modes.

Every run has two stages, with the same data-source-independent batch schedule in stage 2
(common random numbers: the same example indices at every step, only the labels differ):

* stage 1 — train the student on ``n_real`` real labelled examples;
* stage 2 — fine-tune a copy of it for ``finetune_steps`` SGD/Adam steps on ``n_syn`` fresh
  inputs labelled by one *source*:

  ``none`` (no fine-tuning, control), ``self`` (the student's own prediction on the input, i.e.
  synthetic-self), ``self-sampled`` (a label *sampled* from the student's own predictive
  distribution, as a generative model produces synthetic data), ``teacher`` (the different
  teacher's prediction, synthetic-teacher), ``real`` (the true labels, control).

  Deterministic labellers (``self``, ``teacher``) are frozen copies evaluated on each batch,
  which equals labelling the pool once (they are fixed functions of x) and makes the
  self-labelled residual *bitwise* zero at the first step (see below).

Setting ``"gaussian"`` — exact spectral bookkeeping
----------------------------------------------------
Inputs x ∈ ℝ^d with independent coordinates x_k ~ N(0, λ_k), λ_k = k^-b (k = 1…d): the
coordinates ARE the eigenfunctions' directions of the covariance operator (φ_k(x) = x_k/√λ_k).
Target y = f*(x) + σ ε, f*(x) = Σ_k w_k x_k with λ_k w_k² = k^-a (random signs). Student and
teacher are linear functions f_β(x) = βᵀx with β ∈ ℝ^d (a full linear model: its parameters can
represent EVERY mode). On the original distribution the test loss splits exactly:

    E[(f_β(x) − y)²] = Σ_k λ_k (β_k − w_k)² + σ²  =  L_in(β) + L_out(β) + σ²,
    L_in = Σ_{k∈H} λ_k (β_k − w_k)²,   L_out = Σ_{k∉H} λ_k (β_k − w_k)²

(the residual projected on each mode coordinate; population values, no test-sample noise).

Definition of the span used here (the "learned span"): H = H_θ = supp(β₀) = {k : β₀_k ≠ 0},
the modes on which the student's function at the start of stage 2 has a non-zero coefficient.
Why this one: if the span were fixed by the architecture (a linear model on the first m
coordinates), the out-of-span error would be irreducible for EVERY data source, and the
experiment could not separate self from teacher. Here the parameters can reach every mode;
whether they do is decided by the data. To make H exact, stage 1 trains β (from β = 0) on a
real corpus in which only modes 1…m vary (x_k ≡ 0 for k > m: a pretraining corpus lacking the
tail "skills"). The gradient on β_k, k > m, is then identically 0, so H = {1…m} exactly and
L_out(β₀) = Σ_{k>m} k^-a.

What each source does in stage 2 (loss ½ mean (βᵀx − ŷ)², SGD with momentum, no weight decay):

* ``self``: ŷ = β₀ᵀx, so the per-example residual (β − β₀)ᵀx is bitwise 0 at step 0; the
  gradient and momentum stay exactly 0 and β = β₀ forever: L_in and L_out are EXACTLY unchanged.
  Synthetic-self data is a fixed point — it cannot add any mode.
* ``self-sampled``: ŷ = β₀ᵀx + σ̂ ξ with σ̂² the student's stage-1 training MSE. For k ∉ H the
  stage-2 gradient on β_k is driven only by (β − β₀)ᵀx and σ̂ ξ, both independent of w_k, so
  E[β_k] = 0 stays and E[L_out] = L_out(β₀) + Σ_{k∉H} λ_k Var(β_k) ≥ L_out(β₀): sampling from
  oneself moves the coefficients (noise), but never towards the target's tail.
* ``teacher``: ŷ = β_Tᵀx with β_T the least-squares fit on ``n_teacher`` real examples from the
  FULL distribution (a model whose span is all d modes); β_k, k ∉ H, moves towards β_T,k ≈ w_k.
* ``real``: ŷ = y; same, up to label noise.

Setting ``"mnist1d"`` — the same protocol on a real network
------------------------------------------------------------
``specurate.bench.mnist1d(n_train = n_real + n_teacher + n_syn)``: the first ``n_real``
training examples train the student (the task's MLP), the next ``n_teacher`` train the teacher
(a 1-D CNN, :func:`~specurate.bench.tasks.make_cnn1d`: another architecture, more data), the
last ``n_syn`` are the fresh inputs of stage 2 (their labels are used by ``real`` only). All
training is Adam (cross-entropy) with batches drawn with replacement from a seeded
``torch.Generator``. Labels (``labels``):

* ``"hard"`` (default): argmax of the labeller's logits (``self-sampled``: a class drawn from
  the student's softmax). Hard self-labels have a non-zero gradient — they sharpen the student's
  own decision rule (entropy minimisation) but carry no information it does not already have.
* ``"soft"``: the labeller's softmax probabilities (soft cross-entropy). Soft self-distillation
  has gradient softmax(z)·Σq − q with q = softmax(z₀): zero in exact arithmetic at step 0, so
  ``self`` stays equal to ``none`` (the network analogue of the gaussian fixed point). In
  float32 that gradient is ~1e-8 of rounding, the size of Adam's ε, and Adam (scale-invariant)
  would turn it into lr-sized random steps; the loss is therefore computed in float64 (logits
  cast up), which leaves ~1e-17 gradients and parameter changes ~lr·1e-9 — nil in practice.

The span of a network has no closed form, so the proxy is empirical: the test examples the
student misclassifies before fine-tuning (set W) stand for "out of span", the ones it gets right
for "in span". Reported on the ORIGINAL balanced test set: cross-entropy and accuracy on all
examples, on W (``out_span``) and on its complement (``in_span``).

Result (:func:`run_span` on a :class:`SpanConfig` gives a :class:`SpanResult`; its
``to_dict()`` is plain JSON): ``setting``, ``config``, ``definition``, ``steps`` (evaluated
fine-tuning steps, 0 first), ``curves[source]`` (lists aligned with ``steps``: ``in_span``,
``out_span``, ``total`` losses and, per setting, ``out_modes_nonzero`` or the accuracies),
``summary[source]`` (start/end values, the ratios ``out_span_ratio = L_out(end)/L_out(0)`` and
``in_span_ratio``), ``student``, ``teacher`` and ``wall_s``. Deterministic given ``seed`` (except
``wall_s``); global RNGs are never touched, and torch's intra-op thread count is set to
``num_threads`` during the run and restored after.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from specurate._json import jsonable
from specurate._progress import progress_iter
from specurate._rng import stream
from specurate._validate import (
    check_choice,
    check_names,
    check_positive_int,
    check_real,
    check_seed,
)
from specurate.bench._threads import torch_threads
from specurate.errors import SpecurateInputError

__all__ = ["SOURCES", "SpanConfig", "SpanResult", "run_span"]

SOURCES: tuple[str, ...] = ("none", "self", "self-sampled", "teacher", "real")
"""Stage-2 data sources, in report order."""

SETTINGS: tuple[str, ...] = ("gaussian", "mnist1d")

_DEFAULTS: dict[str, dict[str, Any]] = {
    "gaussian": {
        "dim": 100,
        "span": 10,
        "a": 2.0,
        "b": 1.5,
        "noise": 0.3,
        "n_real": 2000,
        "n_teacher": 4000,
        "n_syn": 2000,
        "steps": 2000,
        "finetune_steps": 2000,
        "batch_size": 64,
        "lr": 0.1,
    },
    "mnist1d": {
        "n_real": 1000,
        "n_teacher": 4000,
        "n_syn": 3000,
        "n_test": 4000,
        "steps": 1000,
        "teacher_steps": 3000,
        "finetune_steps": 1000,
        "batch_size": 64,
        "lr": 2e-3,
        "labels": "hard",
    },
}
_ONLY = {
    "gaussian": ("dim", "span", "a", "b", "noise"),
    "mnist1d": ("n_test", "teacher_steps", "labels"),
}
_INTS: tuple[str, ...] = ("dim", "span", "n_real", "n_teacher", "n_syn", "n_test", "steps")
_INTS += ("teacher_steps", "finetune_steps", "batch_size")
_MOMENTUM = 0.9  # gaussian SGD momentum

# numpy sub-streams of "experiments.span" (the gaussian setting's draws)
_SIGNS, _STUDENT_DATA, _TEACHER_DATA, _POOL_DATA, _SAMPLED_NOISE = 0, 1, 2, 3, 4

# torch batch generators are seeded seed * _TORCH_STRIDE + sub-stream (values unchanged since
# the first release): one per training stage, and one for the self-sampled labels
_TORCH_STRIDE = 1_000_003
_TORCH_STREAMS = {"student": 1, "teacher": 2, "self-sampled": 4, "finetune": 10}
_TEACHER_INIT = 7919  # the mnist1d teacher's initialisation seed is seed + this offset


def _torch_seed(seed: int, name: str) -> int:
    """The seed of torch sub-stream ``name`` (:data:`_TORCH_STREAMS`) for the user's seed."""
    return seed * _TORCH_STRIDE + _TORCH_STREAMS[name]


# ---------------------------------------------------------------------------- config / result
@dataclass(frozen=True)
class SpanConfig:
    """Settings of the synthetic-data span experiment (module docstring).

    Options left None take the setting's default; after construction every option of the
    setting holds its value (:attr:`settings`), those of the other setting stay None.

    Attributes:
        setting: ``"gaussian"`` (exact mode bookkeeping) or ``"mnist1d"`` (MLP student, CNN
            teacher, previously-wrong test examples as the out-of-span proxy).
        seed: seeds every draw, initialisation and batch order.
        dim: gaussian only — the input dimension d (default 100).
        span: gaussian only — the student's learned span m: the stage-1 corpus carries modes
            1…m, m < d (default 10).
        a: gaussian only — the target exponent, λ_k w_k² = k^-a (default 2.0).
        b: gaussian only — the spectral exponent, λ_k = k^-b (default 1.5).
        noise: gaussian only — the label noise σ (default 0.3).
        n_real: real labelled examples of the student's stage 1 (2000 / 1000).
        n_teacher: real labelled examples of the teacher (4000 / 4000).
        n_syn: fresh stage-2 inputs (2000 / 3000).
        n_test: mnist1d only — balanced test-set size (4000).
        steps: student's stage-1 steps (2000 / 1000).
        teacher_steps: mnist1d only — the CNN teacher's training steps (3000).
        finetune_steps: stage-2 steps, the same for every source (2000 / 1000).
        batch_size: 64 (both settings).
        lr: 0.1 (gaussian: SGD, momentum 0.9) / 2e-3 (mnist1d: Adam).
        labels: mnist1d only — ``"hard"`` (argmax) or ``"soft"`` (probabilities) labels.
        sources: subset of :data:`SOURCES` to run (default all), kept in report order.
        eval_points: log-spaced evaluation steps in [1, finetune_steps] (step 0 is added).
        num_threads: torch intra-op threads during the run (small models: 1 is fastest).
    """

    setting: Literal["gaussian", "mnist1d"] = "gaussian"
    seed: int = 0
    dim: int | None = None
    span: int | None = None
    a: float | None = None
    b: float | None = None
    noise: float | None = None
    n_real: int | None = None
    n_teacher: int | None = None
    n_syn: int | None = None
    n_test: int | None = None
    steps: int | None = None
    teacher_steps: int | None = None
    finetune_steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    labels: Literal["hard", "soft"] | None = None
    sources: Sequence[str] | None = None
    eval_points: int = 12
    num_threads: int = 1

    def __post_init__(self) -> None:
        setting = check_choice("setting", self.setting, SETTINGS)
        other = "mnist1d" if setting == "gaussian" else "gaussian"
        for name in _ONLY[other]:
            if getattr(self, name) is not None:
                raise SpecurateInputError(f"{name} applies to the {other} setting only")
        given = {k: getattr(self, k) for k in _DEFAULTS[setting]}
        values = {k: v if given[k] is None else given[k] for k, v in _DEFAULTS[setting].items()}
        fields = {k: _check_option(k, v) for k, v in values.items()}
        if setting == "gaussian" and fields["span"] >= fields["dim"]:
            raise SpecurateInputError(
                f"span must be smaller than dim, got span={fields['span']} and dim={fields['dim']}"
            )
        srcs = SOURCES if self.sources is None else self.sources
        chosen = check_names("sources", srcs, SOURCES)
        fields |= {
            "seed": check_seed(self.seed),
            "eval_points": check_positive_int("eval_points", self.eval_points),
            "num_threads": check_positive_int("num_threads", self.num_threads),
            "sources": tuple(s for s in SOURCES if s in chosen),  # report order
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @property
    def source_list(self) -> tuple[str, ...]:
        """The sources to run, in report order."""
        return cast("tuple[str, ...]", self.sources)

    @property
    def settings(self) -> dict[str, Any]:
        """The setting's options with their values (the result's ``config``)."""
        return {k: getattr(self, k) for k in _DEFAULTS[self.setting]}


def _check_option(name: str, value: Any) -> Any:
    """One option of a setting, validated and converted."""
    if name in _INTS:
        return check_positive_int(name, value)
    if name == "labels":
        return check_choice("labels", value, ("hard", "soft"))
    if name == "noise":
        return check_real("noise", value, lo=0.0)
    return check_real(name, value, lo=0.0, lo_open=True)  # lr, a, b


@dataclass(frozen=True)
class SpanResult:
    """The span experiment's curves and summaries (module docstring).

    Attributes:
        setting: as configured.
        seed: as configured.
        config: the setting's options (:attr:`SpanConfig.settings`).
        definition: how the span and the out-of-span loss are defined in this setting.
        sources: the stage-2 sources run, in report order.
        steps: evaluated fine-tuning steps (0 first).
        curves: {source: {metric: values aligned with ``steps``}}.
        summary: {source: start / end values and ``in_span_ratio`` / ``out_span_ratio``}.
        student: the student model before fine-tuning.
        teacher: the teacher model.
        wall_s: wall-clock seconds of the run.
        noise_floor: σ² (gaussian only; None for mnist1d).
    """

    setting: str
    seed: int
    config: Mapping[str, Any]
    definition: str
    sources: tuple[str, ...]
    steps: tuple[int, ...]
    curves: Mapping[str, Mapping[str, list[Any]]]
    summary: Mapping[str, Mapping[str, Any]]
    student: Mapping[str, Any]
    teacher: Mapping[str, Any]
    wall_s: float
    noise_floor: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON document of the result (NaN and ±inf as None)."""
        out: dict[str, Any] = {
            "setting": self.setting,
            "seed": self.seed,
            "config": dict(self.config),
            "definition": self.definition,
            "sources": list(self.sources),
            "steps": list(self.steps),
            "curves": dict(self.curves),
            "summary": dict(self.summary),
            "student": dict(self.student),
            "teacher": dict(self.teacher),
        }
        if self.noise_floor is not None:
            out["noise_floor"] = self.noise_floor
        out["wall_s"] = self.wall_s
        return jsonable(out)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SpanResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            setting=d["setting"],
            seed=d["seed"],
            config=dict(d["config"]),
            definition=d["definition"],
            sources=tuple(d["sources"]),
            steps=tuple(d["steps"]),
            curves=dict(d["curves"]),
            summary=dict(d["summary"]),
            student=dict(d["student"]),
            teacher=dict(d["teacher"]),
            wall_s=d["wall_s"],
            noise_floor=d.get("noise_floor"),
        )


def run_span(config: SpanConfig, *, progress: bool = False) -> SpanResult:
    """Run the synthetic-data span experiment (module docstring).

    Args:
        config: the settings (validated when the config is built).
        progress: show a progress bar over the sources.
    """
    cfg = config.settings
    grid = _step_grid(cfg["finetune_steps"], config.eval_points)
    t0 = time.perf_counter()
    with torch_threads(config.num_threads):
        run = _gaussian if config.setting == "gaussian" else _mnist1d
        body = run(cfg, config.seed, config.source_list, grid, progress)
    return SpanResult(
        setting=config.setting,
        seed=config.seed,
        config=cfg,
        definition=_definition(config.setting, cfg),
        sources=config.source_list,
        steps=tuple(grid),
        **body,
        wall_s=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------- helpers
def _definition(setting: str, cfg: Mapping[str, Any]) -> str:
    if setting == "gaussian":
        return (
            f"span H = supp(student coefficients) = modes 1..{cfg['span']} of {cfg['dim']} "
            "(stage-1 corpus carries only those); out_span = Σ_{k∉H} λ_k (β_k − w_k)², exact"
        )
    return (
        "out_span = test CE on the examples the student misclassified before fine-tuning; "
        f"in_span = on the rest; {cfg['labels']} labels"
    )


def _step_grid(steps: int, points: int) -> list[int]:
    """0 plus ``points`` log-spaced integer steps in [1, steps] (deduplicated, ends at steps)."""
    grid = np.unique(np.round(np.geomspace(1, steps, max(points, 1))).astype(int))
    return [0, *[int(s) for s in grid if s >= 1]]


def _columns(points: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, list]:
    """Per-step measurement dicts → {key: values in step order}."""
    return {key: [p[key] for p in points] for key in keys}


def _summary(curves: Mapping[str, Mapping[str, list]], keys: Sequence[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for src, c in curves.items():
        row: dict[str, Any] = {}
        for key in keys:
            row[f"{key}_start"], row[f"{key}_end"] = c[key][0], c[key][-1]
        for key in ("in_span", "out_span"):
            start = c[key][0]
            row[f"{key}_ratio"] = float(c[key][-1] / start) if start > 0 else math.nan
        out[src] = row
    return out


Target = Callable[[Any, Any], Any]  # target(batch indices, batch inputs) -> labels


def _train_steps(
    opt: Any,
    loss_of: Callable[[Any], Any],
    n: int,
    *,
    steps: int,
    batch_size: int,
    gen_seed: int,
    measure: Callable[[], Any] | None = None,
    marks: Iterable[int] = (),
) -> list[Any]:
    """``steps`` optimizer steps on batches of ``batch_size`` indices drawn with replacement
    from range(n) by a torch Generator seeded ``gen_seed``; ``loss_of(idx)`` is the batch loss.
    Returns ``measure()`` at every step in ``marks`` (0 = before the first step)."""
    import torch

    marks = set(marks)
    gen = torch.Generator().manual_seed(gen_seed)
    points = [measure()] if measure is not None and 0 in marks else []
    for step in range(1, steps + 1):
        idx = torch.randint(0, n, (batch_size,), generator=gen)
        loss = loss_of(idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if measure is not None and step in marks:
            points.append(measure())
    return points


# ---------------------------------------------------------------------------- gaussian
@dataclass(frozen=True)
class _Modes:
    """The gaussian setting's law: x_k ~ N(0, λ_k), λ_k = k^-b, y = wᵀx + σε, λ_k w_k² = k^-a."""

    lam: np.ndarray
    w: np.ndarray
    span: int
    noise: float
    seed: int

    def draw(self, n: int, sub: int, narrow: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """n examples of numpy sub-stream ``sub``; ``narrow``: modes 1…span only."""
        r = stream("experiments.span", self.seed, sub)
        x = r.standard_normal((n, self.lam.size)) * np.sqrt(self.lam)
        if narrow:
            x[:, self.span :] = 0.0  # the pretraining corpus carries modes 1…m only
        return x, x @ self.w + self.noise * r.standard_normal(n)

    def parts(self, beta: np.ndarray) -> tuple[float, float]:
        """(L_in, L_out) of coefficients ``beta``."""
        e = self.lam * (beta - self.w) ** 2
        return float(e[: self.span].sum()), float(e[self.span :].sum())

    def point(self, beta: Any) -> dict[str, Any]:
        """The curves' values at coefficients ``beta`` (a tensor)."""
        b = beta.detach().numpy()
        li, lo = self.parts(b)
        return {
            "in_span": li,
            "out_span": lo,
            "total": li + lo + self.noise**2,
            "out_modes_nonzero": int(np.count_nonzero(b[self.span :])),
        }


def _modes(cfg: Mapping[str, Any], seed: int) -> _Modes:
    d = cfg["dim"]
    k = np.arange(1, d + 1, dtype=float)
    lam = k ** -cfg["b"]
    signs = stream("experiments.span", seed, _SIGNS).choice([-1.0, 1.0], size=d)
    w = signs * np.sqrt(k ** -cfg["a"] / lam)  # λ_k w_k² = k^-a
    return _Modes(lam=lam, w=w, span=cfg["span"], noise=cfg["noise"], seed=seed)


def _sgd(
    beta0: Any,
    x: Any,
    target: Target,
    cfg: Mapping[str, Any],
    *,
    steps: int,
    gen_seed: int,
    modes: _Modes | None = None,
    marks: Iterable[int] = (),
) -> tuple[Any, list[dict[str, Any]]]:
    """SGD(momentum) on ½ mean (βᵀx − ŷ)² from ``beta0``; ``target(idx, xb)`` gives ŷ.
    Returns the final β and, with ``modes``, the curve points at ``marks``."""
    import torch

    beta = beta0.clone().requires_grad_(True)
    opt = torch.optim.SGD([beta], lr=cfg["lr"], momentum=_MOMENTUM)

    def loss_of(idx: Any) -> Any:
        xb = x[idx]
        return 0.5 * ((xb @ beta - target(idx, xb)) ** 2).mean()

    points = _train_steps(
        opt,
        loss_of,
        x.shape[0],
        steps=steps,
        batch_size=cfg["batch_size"],
        gen_seed=gen_seed,
        measure=None if modes is None else (lambda: modes.point(beta)),
        marks=marks,
    )
    return beta.detach(), points


@dataclass(frozen=True)
class _GaussianModels:
    beta0: Any  # the student's coefficients after stage 1 (tensor)
    train_mse: float
    beta_t: np.ndarray  # the teacher's least-squares coefficients


def _gaussian_models(modes: _Modes, cfg: Mapping[str, Any], seed: int) -> _GaussianModels:
    """Stage 1 (the student on the narrow real corpus, from β = 0) and the teacher (least
    squares on the full distribution)."""
    import torch

    x1, y1 = (torch.tensor(a) for a in modes.draw(cfg["n_real"], _STUDENT_DATA, narrow=True))
    zero = torch.zeros(cfg["dim"], dtype=torch.float64)
    beta0, _ = _sgd(
        zero,
        x1,
        lambda i, xb: y1[i],
        cfg,
        steps=cfg["steps"],
        gen_seed=_torch_seed(seed, "student"),
    )
    train_mse = float(((x1 @ beta0 - y1) ** 2).mean())
    xt, yt = modes.draw(cfg["n_teacher"], _TEACHER_DATA)
    beta_t = np.linalg.lstsq(xt, yt, rcond=None)[0]
    return _GaussianModels(beta0=beta0, train_mse=train_mse, beta_t=beta_t)


def _gaussian_targets(
    modes: _Modes, models: _GaussianModels, cfg: Mapping[str, Any]
) -> tuple[Any, dict[str, Target]]:
    """The stage-2 pool (fresh full-distribution inputs) and each source's labeller."""
    import torch

    xs_np, ys_np = modes.draw(cfg["n_syn"], _POOL_DATA)
    xs, ys = torch.tensor(xs_np), torch.tensor(ys_np)
    beta0 = models.beta0
    draw = stream("experiments.span", modes.seed, _SAMPLED_NOISE).standard_normal(cfg["n_syn"])
    sampled = xs @ beta0 + math.sqrt(models.train_mse) * torch.tensor(draw)
    frozen, bt = beta0.clone(), torch.tensor(models.beta_t)
    return xs, {
        "self": lambda i, xb: xb @ frozen,  # same op, same batch: bitwise β₀ᵀx
        "self-sampled": lambda i, xb: sampled[i],
        "teacher": lambda i, xb: xb @ bt,
        "real": lambda i, xb: ys[i],
    }


def _gaussian(
    cfg: Mapping[str, Any], seed: int, sources: Sequence[str], grid: list[int], bar: bool
) -> dict[str, Any]:
    modes = _modes(cfg, seed)
    models = _gaussian_models(modes, cfg, seed)
    xs, targets = _gaussian_targets(modes, models, cfg)
    keys = ("in_span", "out_span", "total", "out_modes_nonzero")
    curves: dict[str, dict[str, list]] = {}
    for src in progress_iter(sources, "span (gaussian)", enabled=bar, total=len(sources)):
        if src == "none":
            points = [modes.point(models.beta0) for _ in grid]
        else:
            _, points = _sgd(
                models.beta0,
                xs,
                targets[src],
                cfg,
                steps=cfg["finetune_steps"],
                gen_seed=_torch_seed(seed, "finetune"),
                modes=modes,
                marks=grid,
            )
        curves[src] = _columns(points, keys)
    b0 = models.beta0.numpy().copy()
    li0, lo0 = modes.parts(b0)
    lit, lot = modes.parts(models.beta_t)
    return {
        "curves": curves,
        "summary": _summary(curves, keys),
        "student": {
            "in_span": li0,
            "out_span": lo0,
            "span_modes": int(np.count_nonzero(b0)),
            "train_mse": models.train_mse,
        },
        "teacher": {
            "in_span": lit,
            "out_span": lot,
            "span_modes": int(np.count_nonzero(models.beta_t)),
        },
        "noise_floor": modes.noise**2,
    }


# ---------------------------------------------------------------------------- mnist1d
_MNIST_KEYS = ("in_span", "out_span", "total", "in_span_acc", "out_span_acc", "test_acc")


@dataclass(frozen=True)
class _Mnist1dData:
    """The three disjoint training slices (student, teacher, stage-2 pool) and the test set."""

    task: Any
    x_s: Any
    y_s: Any
    x_t: Any
    y_t: Any
    x_p: Any
    y_p: Any
    x_te: Any
    y_te: Any


def _mnist1d_data(cfg: Mapping[str, Any], seed: int) -> _Mnist1dData:
    import torch

    from specurate.bench.tasks import mnist1d

    n_real, n_teacher, n_syn = cfg["n_real"], cfg["n_teacher"], cfg["n_syn"]
    task = mnist1d(n_real + n_teacher + n_syn, seed=seed, n_test=cfg["n_test"], model="mlp")
    x = torch.tensor(np.asarray(task.x_train, dtype=np.float32))
    y = torch.tensor(np.asarray(task.y_train, dtype=np.int64))
    cut = n_real + n_teacher
    return _Mnist1dData(
        task=task,
        x_s=x[:n_real],
        y_s=y[:n_real],
        x_t=x[n_real:cut],
        y_t=y[n_real:cut],
        x_p=x[cut:],
        y_p=y[cut:],
        x_te=torch.tensor(np.asarray(task.x_test, dtype=np.float32)),
        y_te=torch.tensor(np.asarray(task.y_test, dtype=np.int64)),
    )


def _fit(
    model: Any,
    xx: Any,
    target: Target,
    cfg: Mapping[str, Any],
    *,
    steps: int,
    gen_seed: int,
    measure: Callable[[Any], dict[str, Any]] | None = None,
    marks: Iterable[int] = (),
) -> list[dict[str, Any]]:
    """Adam on the cross-entropy to ``target(idx, xb)`` (float64 loss: see the module
    docstring); returns ``measure(model)`` at ``marks``."""
    import torch
    import torch.nn.functional as F

    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    model.train()

    def loss_of(idx: Any) -> Any:
        xb = xx[idx]
        return F.cross_entropy(model(xb).double(), target(idx, xb))

    return _train_steps(
        opt,
        loss_of,
        xx.shape[0],
        steps=steps,
        batch_size=cfg["batch_size"],
        gen_seed=gen_seed,
        measure=None if measure is None else (lambda: measure(model)),
        marks=marks,
    )


def _mnist1d_models(data: _Mnist1dData, cfg: Mapping[str, Any], seed: int) -> tuple[Any, Any]:
    """The student (the task's MLP on the first slice) and the teacher (a 1-D CNN on the
    second), trained and frozen."""
    from specurate.bench.tasks import make_cnn1d

    student = data.task.make_model(seed)
    _fit(
        student,
        data.x_s,
        lambda i, xb: data.y_s[i],
        cfg,
        steps=cfg["steps"],
        gen_seed=_torch_seed(seed, "student"),
    )
    n_in, n_out = data.x_s.shape[1], data.task.n_classes
    teacher = make_cnn1d(n_in, n_out, channels=32)(seed + _TEACHER_INIT)
    _fit(
        teacher,
        data.x_t,
        lambda i, xb: data.y_t[i],
        cfg,
        steps=cfg["teacher_steps"],
        gen_seed=_torch_seed(seed, "teacher"),
    )
    for mod in (student, teacher):
        mod.eval()
        for p in mod.parameters():
            p.requires_grad_(False)
    return student, teacher


def _labeller(model: Any, soft: bool) -> Target:
    """A frozen model's labels of a batch: softmax probabilities (``soft``) or argmax."""
    import torch

    def target(i: Any, xb: Any) -> Any:
        with torch.no_grad():
            z = model(xb)
        return torch.softmax(z.double(), 1) if soft else z.argmax(1)

    return target


def _mnist1d_targets(
    data: _Mnist1dData, student: Any, teacher: Any, cfg: Mapping[str, Any], seed: int
) -> dict[str, Target]:
    import torch

    with torch.no_grad():
        probs = torch.softmax(student(data.x_p), 1)
    gen = torch.Generator().manual_seed(_torch_seed(seed, "self-sampled"))
    sampled = torch.multinomial(probs, 1, generator=gen).squeeze(1)
    soft = cfg["labels"] == "soft"
    return {
        "self": _labeller(student, soft),  # a frozen copy: the fine-tuned model is a deepcopy
        "self-sampled": lambda i, xb: sampled[i],
        "teacher": _labeller(teacher, soft),
        "real": lambda i, xb: data.y_p[i],
    }


def _mnist1d_point(model: Any, splits: Sequence[tuple[str, str, Any, Any]]) -> dict[str, Any]:
    """Loss and accuracy of ``model`` on every (loss key, accuracy key, x, y) split."""
    from specurate.bench.train import evaluate

    point: dict[str, Any] = {}
    for lk, ak, xx, yy in splits:
        point[lk], point[ak] = evaluate(model, xx, yy) if len(yy) else (math.nan, math.nan)
    return point


def _mnist1d(
    cfg: Mapping[str, Any], seed: int, sources: Sequence[str], grid: list[int], bar: bool
) -> dict[str, Any]:
    import torch

    from specurate.bench.train import evaluate

    data = _mnist1d_data(cfg, seed)
    student, teacher = _mnist1d_models(data, cfg, seed)
    with torch.no_grad():
        wrong = student(data.x_te).argmax(1) != data.y_te
    targets = _mnist1d_targets(data, student, teacher, cfg, seed)
    x_w, y_w = data.x_te[wrong], data.y_te[wrong]
    splits = (
        ("total", "test_acc", data.x_te, data.y_te),
        ("out_span", "out_span_acc", x_w, y_w),
        ("in_span", "in_span_acc", data.x_te[~wrong], data.y_te[~wrong]),
    )
    curves: dict[str, dict[str, list]] = {}
    for src in progress_iter(sources, "span (mnist1d)", enabled=bar, total=len(sources)):
        curves[src] = _columns(
            _mnist1d_curve(src, student, data, targets, cfg, seed, grid, splits), _MNIST_KEYS
        )
    s_loss, s_acc = evaluate(student, data.x_te, data.y_te)
    t_loss, t_acc = evaluate(teacher, data.x_te, data.y_te)
    with torch.no_grad():
        t_wrong_acc = float((teacher(x_w).argmax(1) == y_w).float().mean()) if len(y_w) else 0.0
    return {
        "curves": curves,
        "summary": _summary(curves, _MNIST_KEYS),
        "student": {
            "model": "mlp",
            "test_loss": s_loss,
            "test_acc": s_acc,
            "n_wrong": int(wrong.sum()),
            "n_test": len(data.y_te),
        },
        "teacher": {
            "model": "cnn",
            "test_loss": t_loss,
            "test_acc": t_acc,
            "acc_on_student_wrong": t_wrong_acc,
        },
    }


def _mnist1d_curve(
    src: str,
    student: Any,
    data: _Mnist1dData,
    targets: Mapping[str, Target],
    cfg: Mapping[str, Any],
    seed: int,
    grid: list[int],
    splits: Sequence[tuple[str, str, Any, Any]],
) -> list[dict[str, Any]]:
    """The measurements of one source at the grid steps (``none``: the student unchanged)."""
    if src == "none":
        return [_mnist1d_point(student, splits) for _ in grid]
    model = copy.deepcopy(student)
    for p in model.parameters():
        p.requires_grad_(True)
    return _fit(
        model,
        data.x_p,
        targets[src],
        cfg,
        steps=cfg["finetune_steps"],
        gen_seed=_torch_seed(seed, "finetune"),
        measure=lambda m: _mnist1d_point(m, splits),
        marks=grid,
    )
