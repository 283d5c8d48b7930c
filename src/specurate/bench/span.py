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

Result (JSON-able dict, plain floats/ints/lists/strings): ``setting``, ``config``,
``definition``, ``steps`` (evaluated fine-tuning steps, 0 first), ``curves[source]`` (lists
aligned with ``steps``: ``in_span``, ``out_span``, ``total`` losses and, per setting,
``out_modes_nonzero`` or the accuracies), ``summary[source]`` (start/end values, the ratios
``out_span_ratio = L_out(end)/L_out(0)`` and ``in_span_ratio``), ``student``, ``teacher`` and
``wall_s``. Deterministic given ``seed`` (except ``wall_s``); global RNGs are never touched, and
torch's intra-op thread count is set to ``num_threads`` during the run and restored after.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specurate._progress import progress_iter
from specurate.errors import SpecurateInputError, check_positive, check_positive_int

__all__ = ["SOURCES", "plot_span", "render_span", "span_experiment"]

SOURCES: tuple[str, ...] = ("none", "self", "self-sampled", "teacher", "real")
"""Stage-2 data sources, in report order."""

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
_MOMENTUM = 0.9  # gaussian SGD momentum


# ---------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Set torch's intra-op thread count for the block, restore it afterwards."""
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def _step_grid(steps: int, points: int) -> list[int]:
    """0 plus ``points`` log-spaced integer steps in [1, steps] (deduplicated, ends at steps)."""
    grid = np.unique(np.round(np.geomspace(1, steps, max(points, 1))).astype(int))
    return [0, *[int(s) for s in grid if s >= 1]]


def _config(setting: str, given: dict[str, Any]) -> dict[str, Any]:
    """Merge ``given`` (None = default) with the setting's defaults and validate."""
    if setting not in _DEFAULTS:
        raise SpecurateInputError(f"setting must be 'gaussian' or 'mnist1d', got {setting!r}")
    other = "mnist1d" if setting == "gaussian" else "gaussian"
    for name in _ONLY[other]:
        if given.get(name) is not None:
            raise SpecurateInputError(f"{name} applies to the {other} setting only")
    cfg = dict(_DEFAULTS[setting])
    cfg.update({k: v for k, v in given.items() if v is not None and k in cfg})
    ints = ["n_real", "n_teacher", "n_syn", "steps", "finetune_steps", "batch_size"]
    ints += ["dim", "span"] if setting == "gaussian" else ["n_test", "teacher_steps"]
    for name in ints:
        cfg[name] = check_positive_int(name, cfg[name])
    check_positive("lr", cfg["lr"])
    cfg["lr"] = float(cfg["lr"])
    if setting == "gaussian":
        if cfg["span"] >= cfg["dim"]:
            raise SpecurateInputError(
                f"span must be smaller than dim, got span={cfg['span']} and dim={cfg['dim']}"
            )
        check_positive("a", cfg["a"])
        check_positive("b", cfg["b"])
        check_positive("noise", cfg["noise"], allow_zero=True)
        cfg["a"], cfg["b"], cfg["noise"] = float(cfg["a"]), float(cfg["b"]), float(cfg["noise"])
    elif cfg["labels"] not in ("hard", "soft"):
        raise SpecurateInputError(f"labels must be 'hard' or 'soft', got {cfg['labels']!r}")
    return cfg


def _sources(sources: Sequence[str] | None) -> list[str]:
    if sources is None:
        return list(SOURCES)
    if isinstance(sources, str):
        sources = [sources]
    bad = [s for s in sources if s not in SOURCES]
    if bad or not sources:
        raise SpecurateInputError(
            f"sources must be a non-empty subset of {', '.join(SOURCES)}, got {list(sources)!r}"
        )
    return [s for s in SOURCES if s in sources]  # report order, no duplicates


def _summary(curves: dict[str, dict[str, list]], keys: Sequence[str]) -> dict[str, dict]:
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


# ---------------------------------------------------------------------------- gaussian
def _gaussian(cfg: dict[str, Any], seed: int, sources: list[str], grid: list[int], bar: bool):
    import torch

    d, m, noise = cfg["dim"], cfg["span"], cfg["noise"]
    k = np.arange(1, d + 1, dtype=float)
    lam = k ** -cfg["b"]
    signs = np.random.default_rng([seed, 0x59A, 0]).choice([-1.0, 1.0], size=d)
    w = signs * np.sqrt(k ** -cfg["a"] / lam)  # λ_k w_k² = k^-a

    def draw(n: int, stream: int, narrow: bool = False) -> tuple[np.ndarray, np.ndarray]:
        r = np.random.default_rng([seed, 0x59A, stream])
        x = r.standard_normal((n, d)) * np.sqrt(lam)
        if narrow:
            x[:, m:] = 0.0  # the pretraining corpus carries modes 1…m only
        return x, x @ w + noise * r.standard_normal(n)

    def parts(beta: np.ndarray) -> tuple[float, float]:
        e = lam * (beta - w) ** 2
        return float(e[:m].sum()), float(e[m:].sum())

    def sgd(beta0: torch.Tensor, x: torch.Tensor, target, steps: int, stream: int, record=None):
        """SGD(momentum) on ½ mean (βᵀx − ŷ)²; ``target(idx, xb)`` gives ŷ for a batch."""
        beta = beta0.clone().requires_grad_(True)
        opt = torch.optim.SGD([beta], lr=cfg["lr"], momentum=_MOMENTUM)
        gen = torch.Generator().manual_seed(seed * 1_000_003 + stream)
        if record is not None:
            record(0, beta)
        for step in range(1, steps + 1):
            idx = torch.randint(0, x.shape[0], (cfg["batch_size"],), generator=gen)
            xb = x[idx]
            loss = 0.5 * ((xb @ beta - target(idx, xb)) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if record is not None:
                record(step, beta)
        return beta.detach()

    # stage 1: the student on the narrow real corpus, from β = 0
    x1, y1 = (torch.tensor(a) for a in draw(cfg["n_real"], 1, narrow=True))
    beta0 = sgd(torch.zeros(d, dtype=torch.float64), x1, lambda i, xb: y1[i], cfg["steps"], 1)
    b0 = beta0.numpy().copy()
    train_mse = float(((x1 @ beta0 - y1) ** 2).mean())
    # the teacher: least squares on the full distribution
    xt, yt = draw(cfg["n_teacher"], 2)
    beta_t = np.linalg.lstsq(xt, yt, rcond=None)[0]
    # stage 2 pool: fresh full-distribution inputs (+ real labels for the control)
    xs_np, ys_np = draw(cfg["n_syn"], 3)
    xs, ys = torch.tensor(xs_np), torch.tensor(ys_np)
    sampled = xs @ beta0 + math.sqrt(train_mse) * torch.tensor(
        np.random.default_rng([seed, 0x59A, 4]).standard_normal(cfg["n_syn"])
    )
    frozen, bt = beta0.clone(), torch.tensor(beta_t)
    targets = {
        "self": lambda i, xb: xb @ frozen,  # same op, same batch: bitwise β₀ᵀx
        "self-sampled": lambda i, xb: sampled[i],
        "teacher": lambda i, xb: xb @ bt,
        "real": lambda i, xb: ys[i],
    }
    marks = set(grid)
    curves: dict[str, dict[str, list]] = {}
    for src in progress_iter(sources, "span (gaussian)", enabled=bar, total=len(sources)):
        c: dict[str, list] = {"in_span": [], "out_span": [], "total": [], "out_modes_nonzero": []}

        def record(step: int, beta: torch.Tensor, c: dict[str, list] = c) -> None:
            if step in marks:
                b = beta.detach().numpy()
                li, lo = parts(b)
                c["in_span"].append(li)
                c["out_span"].append(lo)
                c["total"].append(li + lo + noise**2)
                c["out_modes_nonzero"].append(int(np.count_nonzero(b[m:])))

        if src == "none":
            for step in grid:
                record(step, beta0)
        else:
            sgd(beta0, xs, targets[src], cfg["finetune_steps"], 10, record)
        curves[src] = c
    li0, lo0 = parts(b0)
    lit, lot = parts(beta_t)
    return {
        "curves": curves,
        "summary": _summary(curves, ("in_span", "out_span", "total", "out_modes_nonzero")),
        "student": {
            "in_span": li0,
            "out_span": lo0,
            "span_modes": int(np.count_nonzero(b0)),
            "train_mse": train_mse,
        },
        "teacher": {"in_span": lit, "out_span": lot, "span_modes": int(np.count_nonzero(beta_t))},
        "noise_floor": noise**2,
    }


# ---------------------------------------------------------------------------- mnist1d
def _mnist1d(cfg: dict[str, Any], seed: int, sources: list[str], grid: list[int], bar: bool):
    import torch
    import torch.nn.functional as F

    from specurate.bench.tasks import make_cnn1d, mnist1d
    from specurate.bench.train import evaluate

    n_real, n_teacher, n_syn = cfg["n_real"], cfg["n_teacher"], cfg["n_syn"]
    task = mnist1d(n_real + n_teacher + n_syn, seed=seed, n_test=cfg["n_test"], model="mlp")
    x = torch.tensor(np.asarray(task.x_train, dtype=np.float32))
    y = torch.tensor(np.asarray(task.y_train, dtype=np.int64))
    x_te = torch.tensor(np.asarray(task.x_test, dtype=np.float32))
    y_te = torch.tensor(np.asarray(task.y_test, dtype=np.int64))
    x_s, y_s = x[:n_real], y[:n_real]
    x_t, y_t = x[n_real : n_real + n_teacher], y[n_real : n_real + n_teacher]
    x_p, y_p = x[n_real + n_teacher :], y[n_real + n_teacher :]
    soft = cfg["labels"] == "soft"

    def fit(model: Any, xx: torch.Tensor, target, steps: int, stream: int, record=None) -> None:
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
        gen = torch.Generator().manual_seed(seed * 1_000_003 + stream)
        model.train()
        if record is not None:
            record(0, model)
        for step in range(1, steps + 1):
            idx = torch.randint(0, xx.shape[0], (cfg["batch_size"],), generator=gen)
            xb = xx[idx]
            loss = F.cross_entropy(model(xb).double(), target(idx, xb))  # float64: see docstring
            opt.zero_grad()
            loss.backward()
            opt.step()
            if record is not None:
                record(step, model)

    student = task.make_model(seed)
    fit(student, x_s, lambda i, xb: y_s[i], cfg["steps"], 1)
    teacher = make_cnn1d(x.shape[1], task.n_classes, channels=32)(seed + 7919)
    fit(teacher, x_t, lambda i, xb: y_t[i], cfg["teacher_steps"], 2)
    for mod in (student, teacher):
        mod.eval()
        for p in mod.parameters():
            p.requires_grad_(False)
    with torch.no_grad():
        wrong = student(x_te).argmax(1) != y_te
        probs = torch.softmax(student(x_p), 1)
    sampled = torch.multinomial(
        probs, 1, generator=torch.Generator().manual_seed(seed * 1_000_003 + 4)
    ).squeeze(1)

    def labeller(model: Any):
        def target(i: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                z = model(xb)
            return torch.softmax(z.double(), 1) if soft else z.argmax(1)

        return target

    targets = {
        "self": labeller(student),  # a frozen copy: the fine-tuned model is a deepcopy
        "self-sampled": lambda i, xb: sampled[i],
        "teacher": labeller(teacher),
        "real": lambda i, xb: y_p[i],
    }
    x_w, y_w, x_r, y_r = x_te[wrong], y_te[wrong], x_te[~wrong], y_te[~wrong]
    marks = set(grid)
    keys = ("in_span", "out_span", "total", "in_span_acc", "out_span_acc", "test_acc")
    curves: dict[str, dict[str, list]] = {}
    for src in progress_iter(sources, "span (mnist1d)", enabled=bar, total=len(sources)):
        c: dict[str, list] = {key: [] for key in keys}

        def record(step: int, model: Any, c: dict[str, list] = c) -> None:
            if step in marks:
                for lk, ak, xx, yy in (
                    ("total", "test_acc", x_te, y_te),
                    ("out_span", "out_span_acc", x_w, y_w),
                    ("in_span", "in_span_acc", x_r, y_r),
                ):
                    loss, acc = evaluate(model, xx, yy) if len(yy) else (math.nan, math.nan)
                    c[lk].append(loss)
                    c[ak].append(acc)

        if src == "none":
            for step in grid:
                record(step, student)
        else:
            model = copy.deepcopy(student)
            for p in model.parameters():
                p.requires_grad_(True)
            fit(model, x_p, targets[src], cfg["finetune_steps"], 10, record)
        curves[src] = c
    s_loss, s_acc = evaluate(student, x_te, y_te)
    t_loss, t_acc = evaluate(teacher, x_te, y_te)
    with torch.no_grad():
        t_wrong_acc = float((teacher(x_w).argmax(1) == y_w).float().mean()) if len(y_w) else 0.0
    return {
        "curves": curves,
        "summary": _summary(curves, keys),
        "student": {
            "model": "mlp",
            "test_loss": s_loss,
            "test_acc": s_acc,
            "n_wrong": int(wrong.sum()),
            "n_test": len(y_te),
        },
        "teacher": {
            "model": "cnn",
            "test_loss": t_loss,
            "test_acc": t_acc,
            "acc_on_student_wrong": t_wrong_acc,
        },
    }


# ---------------------------------------------------------------------------- public API
def span_experiment(
    setting: Literal["gaussian", "mnist1d"] = "gaussian",
    *,
    seed: int = 0,
    dim: int | None = None,
    span: int | None = None,
    a: float | None = None,
    b: float | None = None,
    noise: float | None = None,
    n_real: int | None = None,
    n_teacher: int | None = None,
    n_syn: int | None = None,
    n_test: int | None = None,
    steps: int | None = None,
    teacher_steps: int | None = None,
    finetune_steps: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    labels: Literal["hard", "soft"] | None = None,
    sources: Sequence[str] | None = None,
    eval_points: int = 12,
    num_threads: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the synthetic-data span experiment (module docstring) and return a JSON-able dict.

    Args:
        setting: ``"gaussian"`` (exact mode bookkeeping) or ``"mnist1d"`` (MLP student, CNN
            teacher, previously-wrong test examples as the out-of-span proxy).
        seed: seeds every draw, initialisation and batch order.
        dim, span, a, b, noise: gaussian only — d, the student's learned span m (stage-1
            corpus carries modes 1…m), target exponent (λ_k w_k² = k^-a), spectral exponent
            (λ_k = k^-b), label noise σ. Defaults 100, 10, 2.0, 1.5, 0.3.
        n_real: real labelled examples of the student's stage 1 (2000 / 1000).
        n_teacher: real labelled examples of the teacher (4000 / 4000).
        n_syn: fresh stage-2 inputs (2000 / 3000).
        n_test: mnist1d only — balanced test-set size (4000).
        steps: student's stage-1 steps (2000 / 1000).
        teacher_steps: mnist1d only — the CNN teacher's training steps (3000).
        finetune_steps: stage-2 steps, the same for every source (2000 / 1000).
        batch_size, lr: 64 and 0.1 (gaussian SGD, momentum 0.9) / 2e-3 (mnist1d Adam).
        labels: mnist1d only — ``"hard"`` (argmax) or ``"soft"`` (probabilities) labels.
        sources: subset of :data:`SOURCES` to run (default all).
        eval_points: log-spaced evaluation steps in [1, finetune_steps] (step 0 is added).
        num_threads: torch intra-op threads during the run (small models: 1 is fastest).
        progress: show a progress bar over the sources.

    Raises:
        SpecurateInputError: a bad setting, size, rate or source, or an option of the other
            setting.
    """
    cfg = _config(
        setting,
        {
            "dim": dim,
            "span": span,
            "a": a,
            "b": b,
            "noise": noise,
            "n_real": n_real,
            "n_teacher": n_teacher,
            "n_syn": n_syn,
            "n_test": n_test,
            "steps": steps,
            "teacher_steps": teacher_steps,
            "finetune_steps": finetune_steps,
            "batch_size": batch_size,
            "lr": lr,
            "labels": labels,
        },
    )
    if int(seed) != seed or seed < 0:
        raise SpecurateInputError(f"seed must be a non-negative integer, got {seed}")
    seed = int(seed)
    eval_points = check_positive_int("eval_points", eval_points)
    num_threads = check_positive_int("num_threads", num_threads)
    srcs = _sources(sources)
    grid = _step_grid(cfg["finetune_steps"], eval_points)
    t0 = time.perf_counter()
    with _torch_threads(num_threads):
        run = _gaussian if setting == "gaussian" else _mnist1d
        body = run(cfg, seed, srcs, grid, progress)
    if setting == "gaussian":
        definition = (
            f"span H = supp(student coefficients) = modes 1..{cfg['span']} of {cfg['dim']} "
            "(stage-1 corpus carries only those); out_span = Σ_{k∉H} λ_k (β_k − w_k)², exact"
        )
    else:
        definition = (
            "out_span = test CE on the examples the student misclassified before fine-tuning; "
            f"in_span = on the rest; {cfg['labels']} labels"
        )
    return {
        "setting": setting,
        "seed": seed,
        "config": cfg,
        "definition": definition,
        "sources": srcs,
        "steps": grid,
        **body,
        "wall_s": time.perf_counter() - t0,
    }


def _fmt(v: float) -> str:
    return "nan" if not math.isfinite(v) else f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def render_span(result: dict[str, Any]) -> list[Any]:
    """Rich tables of a :func:`span_experiment` result: per-source summary, then the setup."""
    from rich.table import Table

    setting = result["setting"]
    summ = result["summary"]
    title = (
        f"Synthetic-data span ({setting}, seed {result['seed']}, "
        f"{result['config']['finetune_steps']} fine-tuning steps)"
    )
    t = Table(title=title)
    t.add_column("source")
    t.add_column("out-of-span loss start → end", justify="right")
    t.add_column("ratio", justify="right")
    t.add_column("in-span loss start → end", justify="right")
    t.add_column("ratio", justify="right")
    if setting == "gaussian":
        t.add_column("out-of-span modes β≠0", justify="right")
        t.add_column("test loss end", justify="right")
    else:
        t.add_column("acc on W start → end", justify="right")
        t.add_column("test loss / acc end", justify="right")
    for src in result["sources"]:
        s = summ[src]
        row = [
            src,
            f"{_fmt(s['out_span_start'])} → {_fmt(s['out_span_end'])}",
            _fmt(s["out_span_ratio"]),
            f"{_fmt(s['in_span_start'])} → {_fmt(s['in_span_end'])}",
            _fmt(s["in_span_ratio"]),
        ]
        if setting == "gaussian":
            row += [str(s["out_modes_nonzero_end"]), _fmt(s["total_end"])]
        else:
            row += [
                f"{s['out_span_acc_start']:.3f} → {s['out_span_acc_end']:.3f}",
                f"{_fmt(s['total_end'])} / {s['test_acc_end']:.3f}",
            ]
        t.add_row(*row)
    setup = Table(title="Setup")
    setup.add_column("item")
    setup.add_column("value")
    setup.add_row("definition", result["definition"])
    st, te = result["student"], result["teacher"]
    if setting == "gaussian":
        c = result["config"]
        setup.add_row(
            "data", f"d={c['dim']}, λ_k=k^-{c['b']:g}, λ_k w_k²=k^-{c['a']:g}, σ={c['noise']:g}"
        )
        setup.add_row(
            "student (stage 1)",
            f"{st['span_modes']} non-zero modes, in {_fmt(st['in_span'])}, "
            f"out {_fmt(st['out_span'])}",
        )
        setup.add_row(
            "teacher (least squares)",
            f"{te['span_modes']} non-zero modes, in {_fmt(te['in_span'])}, "
            f"out {_fmt(te['out_span'])}",
        )
        setup.add_row("noise floor σ²", _fmt(result["noise_floor"]))
    else:
        setup.add_row(
            "student (mlp)",
            f"test loss {_fmt(st['test_loss'])}, acc {st['test_acc']:.3f}, "
            f"|W| = {st['n_wrong']} of {st['n_test']}",
        )
        setup.add_row(
            "teacher (cnn)",
            f"test loss {_fmt(te['test_loss'])}, acc {te['test_acc']:.3f}, "
            f"acc on W {te['acc_on_student_wrong']:.3f}",
        )
    setup.add_row("wall time", f"{result['wall_s']:.1f} s")
    return [t, setup]


def plot_span(result: dict[str, Any], path: str | Path) -> Path:
    """Save a PNG: out-of-span (left) and in-span (right) loss vs fine-tuning step per source."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    steps = np.asarray(result["steps"], dtype=float)
    gauss = result["setting"] == "gaussian"
    titles = (
        ("out-of-span excess loss Σ_{k∉H} λ_k(β_k−w_k)²", "in-span excess loss")
        if gauss
        else ("test CE on previously-wrong examples (W)", "test CE on previously-right examples")
    )
    for ax, key, ttl in zip(axes, ("out_span", "in_span"), titles, strict=True):
        for src in result["sources"]:
            v = np.asarray(result["curves"][src][key], dtype=float)
            style = "--" if src in ("none", "real") else "-"
            wide = {"lw": 4, "alpha": 0.4} if src == "none" else {}  # visible under "self"
            ax.plot(steps, v, style, marker=".", label=src, **wide)
        ax.set_xscale("symlog", linthresh=1.0)
        if gauss:
            ax.set_yscale("log")
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel("loss")
        ax.set_title(ttl, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Synthetic-data span ({result['setting']}, seed {result['seed']})", fontsize=10)
    out = Path(path)
    fig.savefig(out, dpi=120)
    return out
