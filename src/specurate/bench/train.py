r"""Training under a curation strategy with compute accounting in passes (imports torch lazily).

The loop is the three-line integration of :class:`specurate.torch.CurationSampler`
(``loss_scale`` on the per-example loss — cross-entropy, or ½‖f(x) − y‖² for ``mse`` tasks —
``observe`` after the step), with SGD (momentum 0.9, constant learning rate). Batches are cut
directly from the sampler's epoch order (``iter(sampler)`` after ``set_epoch``), which is what
a DataLoader with ``batch_size`` and ``sampler=sampler`` would yield, without the per-item
collation cost.

Compute: one trained example = one forward + one backward; the strategy's declared scoring
work (``accounting()["extra_forward"] + ["extra_compute"]``) is charged too. The run stops when
backward + scoring passes reach ``budget_passes`` — the last batch is truncated so the budget is
met to within one example. Test loss/accuracy on the task's test set are evaluated at
``eval_points`` log-spaced compute points (from one batch to the budget), and at the end.
Deterministic given ``seed`` (model init, strategy seed); the global torch RNG is untouched.
A run whose training loss becomes NaN/inf stops there (``diverged=True``, final test loss inf).

``oracle=True`` is the TRUE frontier oracle of the synthetic tasks, for reference only: before
every plan the current per-example losses of the WHOLE training set are given to the strategy
(``strategy.update``) free of charge — exact, fresh residuals where a practical strategy only has
the stale losses of the examples it trained on. With a :class:`~specurate.curation.FrontierSampler`
on the task's true modes this is the paper's oracle (it knows which modes are learned now).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np

from specurate._rng import offset_seed
from specurate._validate import check_choice, check_positive_int, check_real
from specurate.bench._threads import torch_threads
from specurate.bench.result import RunResult
from specurate.bench.tasks import Task
from specurate.errors import SpecurateInputError

__all__ = [
    "LR_GRID",
    "LR_RULES",
    "all_losses",
    "choose_rate",
    "evaluate",
    "per_example_loss",
    "residual",
    "train",
    "tune_lr",
]


def per_example_loss(out: Any, y: Any, kind: str = "ce") -> Any:
    """(b,) losses: cross-entropy of logits (b, K) against labels, or ½‖out − y‖² (``mse``;
    out (b, o) against y (b,) or (b, o))."""
    import torch.nn.functional as F

    if kind == "ce":
        return F.cross_entropy(out, y, reduction="none")
    diff = out.reshape(out.shape[0], -1) - y.reshape(y.shape[0], -1)
    return 0.5 * (diff**2).sum(dim=1)


def residual(out: Any, y: Any, kind: str = "ce") -> Any:
    """(b, o) signed residuals: f(x) − y (``mse``) or softmax(f(x)) − onehot(y) (``ce``), the
    gradient of the loss with respect to the output."""
    import torch

    if kind == "ce":
        p = torch.softmax(out, dim=1)
        return p - torch.nn.functional.one_hot(y, p.shape[1]).to(p.dtype)
    return out.reshape(out.shape[0], -1) - y.reshape(y.shape[0], -1)


def _per_example(
    model: Any, x: Any, y: Any, kind: str, chunk: int = 8192
) -> tuple[np.ndarray, np.ndarray | None]:
    """(n,) per-example losses and (n,) correctness (``ce``; None for ``mse``), one pass, no
    gradient, in the model's current mode."""
    import torch

    losses, correct = [], []
    with torch.no_grad():
        for s in range(0, len(y), chunk):
            out = model(x[s : s + chunk])
            losses.append(per_example_loss(out, y[s : s + chunk], kind).numpy())
            if kind == "ce":
                correct.append((out.argmax(1) == y[s : s + chunk]).numpy())
    return np.concatenate(losses), (np.concatenate(correct) if kind == "ce" else None)


def _evaluated(
    model: Any, x: Any, y: Any, kind: str, chunk: int = 8192
) -> tuple[np.ndarray, float, float]:
    """Per-example losses, mean loss and accuracy (NaN for ``mse``), in eval mode."""
    was = model.training
    model.eval()
    try:
        per, correct = _per_example(model, x, y, kind, chunk)
    finally:
        model.train(was)
    acc = float(correct.mean()) if correct is not None else float("nan")
    return per, float(per.sum(dtype=np.float64)) / len(y), acc


def evaluate(
    model: Any, x: Any, y: Any, chunk: int = 8192, kind: str = "ce"
) -> tuple[float, float]:
    """Mean loss and accuracy (NaN for ``mse``) of ``model`` on tensors (x, y), in eval mode."""
    _, loss, acc = _evaluated(model, x, y, kind, chunk)
    return loss, acc


def all_losses(model: Any, x: Any, y: Any, kind: str, chunk: int = 8192) -> np.ndarray:
    """(n,) per-example losses of the whole set (no gradient; training mode kept)."""
    return _per_example(model, x, y, kind, chunk)[0]


def all_residuals(model: Any, x: Any, y: Any, kind: str, chunk: int = 8192) -> np.ndarray:
    """(n, o) signed residuals (:func:`residual`) of the whole set, in eval mode, no gradient."""
    import torch

    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = [
                residual(model(x[s : s + chunk]), y[s : s + chunk], kind).numpy()
                for s in range(0, len(y), chunk)
            ]
    finally:
        model.train(was)
    return np.concatenate(parts).astype(np.float64)


def train(
    task: Task,
    strategy: Any,
    *,
    seed: int,
    budget_passes: float,
    batch_size: int = 128,
    lr: float = 0.05,
    eval_points: int = 20,
    label: str | None = None,
    progress: bool = False,
    oracle: bool = False,
    track: np.ndarray | None = None,
    directions: np.ndarray | None = None,
    threads: int | None = 1,
) -> RunResult:
    """Train ``task.make_model(seed)`` under ``strategy`` for a fixed compute budget.

    Args:
        task: the :class:`~specurate.bench.tasks.Task`.
        strategy: a :class:`~specurate.curation.base.Strategy` (fresh state per run).
        seed: seeds the model initialisation and the strategy.
        budget_passes: backward + scoring passes (examples / n_train) to spend.
        batch_size: SGD batch size.
        lr: SGD learning rate (momentum 0.9).
        eval_points: log-spaced evaluations of the test loss and accuracy.
        label: name of the run in results (default ``strategy.name``).
        progress: print one line per evaluation.
        oracle: give the strategy the exact losses of all training examples before every plan,
            free (the reference oracle; see the module docstring).
        track: optional (n_train,) bool mask (e.g. mislabeled examples); every evaluation then
            records ``tracked_share``, the fraction of the examples trained since the previous
            evaluation that are in the mask (weighted by their loss multipliers).
        directions: optional (n_test, r) projections z_ik of the test inputs on r directions
            (e.g. whitened eigen-directions of the data); every evaluation then records
            ``direction_energy``, E_k = Σ_o (Σ_i z_ik r_io)² / n_test² of the signed test
            residual r (the learning frontier on directions, when the true modes are unknown).
        threads: torch intra-op threads during the run (restored after; None keeps the
            current setting). One thread is fastest for these small models and keeps
            concurrent runs from oversubscribing the cores.
    """
    check_real("budget_passes", budget_passes, lo=0, lo_open=True)
    check_positive_int("batch_size", batch_size)
    check_positive_int("eval_points", eval_points)
    n_threads = None if threads is None else check_positive_int("threads", threads)
    with torch_threads(n_threads):
        run = _Run(task, strategy, seed=int(seed), lr=lr, track=track, label=label)
        if directions is not None:
            z = np.asarray(directions, dtype=np.float64)
            if z.ndim != 2 or z.shape[0] != task.y_test.shape[0]:
                raise SpecurateInputError(
                    f"directions must be (n_test, r) = ({task.y_test.shape[0]}, r), got {z.shape}"
                )
            run.directions = z
        return run.train(
            float(budget_passes),
            int(batch_size),
            int(eval_points),
            oracle=oracle,
            progress=progress,
        )


class _Run:
    """The state of one training run: data as tensors, model, optimizer, sampler, the learning
    curve and the clocks. :meth:`train` is the loop; each method is one step of it."""

    def __init__(
        self,
        task: Task,
        strategy: Any,
        *,
        seed: int,
        lr: float,
        track: np.ndarray | None,
        label: str | None,
    ) -> None:
        import torch

        from specurate.torch import CurationSampler

        self.task, self.strategy, self.seed, self.lr = task, strategy, seed, lr
        self.n = n = task.n_train
        self.name = label or strategy.name
        self.kind = task.loss
        y_dtype = np.int64 if self.kind == "ce" else np.float32
        self.x_tr = torch.tensor(np.asarray(task.x_train, dtype=np.float32))
        self.y_tr = torch.tensor(np.asarray(task.y_train, dtype=y_dtype))
        self.x_te = torch.tensor(np.asarray(task.x_test, dtype=np.float32))
        self.y_te = torch.tensor(np.asarray(task.y_test, dtype=y_dtype))
        self.model = task.make_model(seed)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)
        self.sampler = CurationSampler(strategy, n, seed=seed)  # 1. the sampler
        self.g_te = None if task.test_groups is None else np.asarray(task.test_groups)
        self.track = None if track is None else np.asarray(track, dtype=bool)
        if self.track is not None and self.track.shape != (n,):
            raise SpecurateInputError(
                f"track has shape {self.track.shape} for {n} training examples"
            )
        self.track_t = None if self.track is None else torch.as_tensor(self.track)
        # multiplier mass in the mask and in total since the last evaluation
        self.tracked_in, self.tracked_all = 0.0, 0.0
        self.curve: list[dict[str, Any]] = []
        self.directions: np.ndarray | None = None
        self.wall = 0.0
        self.diverged = False
        self.progress = False

    def charged(self) -> tuple[float, float]:
        """(backward + scoring examples spent, scoring examples spent)."""
        acc = self.sampler.accounting()
        scoring = acc["extra_forward"] + acc["extra_compute"]
        return acc["trained"] + scoring, scoring

    def record(self, spent: float) -> None:
        """Evaluate on the test set (one pass) and append a point to the curve."""
        per, loss, accuracy = _evaluated(self.model, self.x_te, self.y_te, self.kind)
        point: dict[str, Any] = {
            "passes": spent / self.n,
            "test_loss": loss,
            "test_acc": accuracy,
            "wall_s": self.wall,
        }
        if self.track is not None:
            share = self.tracked_in / self.tracked_all if self.tracked_all > 0 else float("nan")
            point["tracked_share"] = share
            self.tracked_in = self.tracked_all = 0.0
        if self.g_te is not None:  # mean test loss of every true mode (the learning frontier)
            k = int(self.g_te.max()) + 1
            cnt = np.bincount(self.g_te, minlength=k)
            point["mode_loss"] = (
                np.bincount(self.g_te, weights=per, minlength=k) / np.maximum(cnt, 1)
            ).tolist()
        if self.directions is not None:
            r = all_residuals(self.model, self.x_te, self.y_te, self.kind)
            energy = ((self.directions.T @ r) ** 2).sum(axis=1) / r.shape[0] ** 2
            point["direction_energy"] = energy.tolist()
        self.curve.append(point)
        if self.progress:
            print(
                f"[{self.name} seed {self.seed}] {spent / self.n:8.3f} passes  "
                f"loss {loss:.4f}  acc {accuracy:.3f}"
            )

    def oracle_look(self) -> bool:
        """Give the strategy every example's exact loss, free; False if the losses diverged."""
        exact = all_losses(self.model, self.x_tr, self.y_tr, self.kind)
        if not np.all(np.isfinite(exact)):
            return False
        stats = {"loss": exact}
        if "residual" in self.strategy.needs:
            stats["residual"] = all_residuals(self.model, self.x_tr, self.y_tr, self.kind)
        before = self.sampler.state
        new = self.strategy.update(before, np.arange(self.n), stats)
        new = dataclasses.replace(new, accounting=before.accounting)  # free: not charged
        if self.strategy.accounting(new) != self.strategy.accounting(before):
            raise SpecurateInputError("the oracle needs a strategy with a flat state")
        self.sampler.state = new
        return True

    def step(self, idx: Any) -> bool:
        """One SGD step on the examples ``idx``; False (nothing updated) if their loss is not
        finite — the learning rate is too large."""
        import torch

        out = self.model(self.x_tr[idx])
        per_example = per_example_loss(out, self.y_tr[idx], self.kind)
        if not bool(torch.isfinite(per_example).all()):
            return False
        scale = self.sampler.loss_scale(idx)
        loss = (per_example * scale).mean()  # 2. plan multipliers
        if self.track_t is not None:
            self.tracked_in += float(scale[self.track_t[idx]].sum())
            self.tracked_all += float(scale.sum())
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        extra = {}
        if "residual" in self.strategy.needs:  # signed residual: f − y (mse), p − onehot (ce)
            extra["residual"] = residual(out.detach(), self.y_tr[idx], self.kind)
        self.sampler.observe(idx, per_example.detach(), **extra)  # 3. feed the strategy
        return True

    def epoch_order(self, epoch: int) -> Any:
        """The sampler's order for ``epoch`` (what iterating it yields), timed."""
        import torch

        t0 = time.perf_counter()
        self.sampler.set_epoch(epoch)
        order = torch.as_tensor(self.sampler.shard())
        self.wall += time.perf_counter() - t0
        if order.numel() == 0:
            raise SpecurateInputError(f"strategy {self.name!r} planned an empty epoch")
        return order

    def train(
        self,
        budget_passes: float,
        batch_size: int,
        eval_points: int,
        *,
        oracle: bool,
        progress: bool,
    ) -> RunResult:
        """Train until backward + scoring passes reach the budget (or the loss diverges)."""
        self.progress = progress
        self.loop(budget_passes, batch_size, eval_points, oracle=oracle)
        return self.result(budget_passes)

    def loop(
        self,
        budget_passes: float,
        batch_size: int,
        eval_points: int,
        *,
        oracle: bool,
        resume: tuple[int, int, int] | None = None,
        after_step: Callable[[int, int, int, bool], None] | None = None,
    ) -> None:
        """The training loop: epochs of the strategy's plan in batches until the budget (in
        examples, backward + scoring) is spent, evaluating on a geometric grid of
        ``eval_points`` budgets.

        Args:
            resume: ``(epoch, first batch start, next evaluation)`` to continue a run whose
                plan for that epoch the sampler already holds (a checkpoint), or None.
            after_step: called after every step as ``after_step(epoch, next start, next
                evaluation, done)`` (checkpoints, fault injection).
        """
        n = self.n
        budget = budget_passes * n  # in examples
        lo = min(float(batch_size), budget)
        grid = np.geomspace(lo, budget, eval_points) if eval_points > 1 else np.array([budget])
        grid[-1] = budget
        epoch, start, next_eval = (0, 0, 0) if resume is None else resume
        self.model.train()
        done = False
        while not done:
            if start == 0:
                # free, exact residuals of every example (reference only; not charged)
                if oracle and not self.oracle_look():
                    self.diverged = True
                    break
                order = self.epoch_order(epoch)
            else:  # a resumed epoch keeps its restored plan
                import torch

                order = torch.as_tensor(self.sampler.shard())
            for s in range(start, order.numel(), batch_size):
                t0 = time.perf_counter()
                spent, _ = self.charged()
                remaining = round(budget - spent)
                if remaining <= 0:
                    done = True
                    self.wall += time.perf_counter() - t0
                    break
                if not self.step(order[s : s + min(batch_size, remaining)]):
                    self.diverged = done = True
                    self.wall += time.perf_counter() - t0
                    break
                self.wall += time.perf_counter() - t0
                spent, _ = self.charged()
                while next_eval < grid.size and spent >= grid[next_eval] - 0.5:
                    self.record(spent)
                    next_eval += 1
                    while next_eval < grid.size and spent >= grid[next_eval] - 0.5:
                        next_eval += 1  # several grid points passed by one step: one evaluation
                done = spent >= budget - 0.5
                if after_step is not None:
                    after_step(epoch, s + batch_size, next_eval, done)
                if done:
                    break
            start = 0
            epoch += 1

    def result(self, budget_passes: float) -> RunResult:
        """The finished run: a last evaluation if needed, accounting in passes."""
        n = self.n
        spent, scoring = self.charged()
        if self.diverged:  # the run ends here: its loss is infinite from now on
            self.curve.append(
                {
                    "passes": max(spent, 1.0) / n,
                    "test_loss": math.inf,
                    "test_acc": math.nan,
                    "wall_s": self.wall,
                }
            )
        elif not self.curve or self.curve[-1]["passes"] * n < spent - 0.5:
            self.record(spent)
        acc = self.sampler.accounting()
        return RunResult(
            strategy=self.name,
            seed=self.seed,
            forward_passes=(acc["trained"] + acc["extra_forward"]) / n,
            backward_passes=acc["trained"] / n,
            scoring_passes=scoring / n,
            wall_s=self.wall,
            test_loss=self.curve[-1]["test_loss"],
            test_acc=self.curve[-1]["test_acc"],
            curve=tuple(self.curve),
            task=self.task.name,
            budget_passes=float(budget_passes),
            n_train=n,
            diverged=self.diverged,
            lr=float(self.lr),
        )


LR_GRID = (0.025, 0.05, 0.1, 0.2, 0.4)


def tune_lr(
    make_task: Any,
    strategy: str = "uniform",
    *,
    budget_passes: float,
    grid: tuple[float, ...] = LR_GRID,
    seed: int = 0,
    batch_size: int = 128,
    progress: bool = False,
    seeds: int = 2,
) -> tuple[float, dict[float, float]]:
    r"""The learning rate at which built-in ``strategy`` reaches the lowest final test loss.

    Tuned on an independent draw of the task — ``make_task(seed + 1000)`` — so that the
    benchmark's test sets never choose a learning rate. Tuning every strategy (uniform
    included) compares each at its best rate: a speed-up over an under-tuned uniform baseline
    would be inflated, and a strategy that reweights may need a smaller rate to stay stable.

    Args:
        make_task: ``make_task(seed) -> Task``.
        strategy: a name of :data:`specurate.bench.strategies.STRATEGIES`.
        budget_passes: the benchmark's budget (the best rate depends on it).
        grid: candidate rates (SGD, momentum 0.9); diverged runs count as infinite loss.
        seed: the benchmark's seed (the tuning draw is ``seed + 1000``, run seeds ``seed …``).
        seeds: runs per rate; a rate scores its WORST final loss over them, so a rate at the edge
            of stability (diverging for one seed) is not chosen. A rate is chosen only if the
            next larger grid rate also trains (a factor-2 margin: the benchmark's draws and
            seeds differ from the tuning draw's), so the largest grid rate never is, unless
            no other rate trains.

    Returns:
        (best rate, {rate: worst final test loss}); ties go to the smaller rate.
    """
    from specurate._progress import progress_iter
    from specurate.bench.strategies import make_strategy, needs_oracle

    if not grid:
        raise SpecurateInputError("the learning-rate grid is empty")
    for lr in grid:
        if not (math.isfinite(lr) and lr > 0):
            raise SpecurateInputError(f"learning rates must be > 0, got {lr}")
    task = make_task(offset_seed("tune", int(seed)))
    losses: dict[float, float] = {}
    seeds = int(seeds)
    if seeds < 1:
        raise SpecurateInputError(f"seeds must be ≥ 1, got {seeds}")
    jobs = [(float(lr), int(seed) + j) for lr in grid for j in range(seeds)]
    for lr, s in progress_iter(jobs, f"tuning the learning rate of {strategy}", enabled=progress):
        r = train(
            task,
            make_strategy(strategy, task, budget_passes=budget_passes, batch_size=batch_size),
            seed=s,
            budget_passes=budget_passes,
            batch_size=batch_size,
            lr=lr,
            eval_points=2,
            oracle=needs_oracle(strategy),
        )
        loss = r.test_loss if math.isfinite(r.test_loss) else math.inf
        losses[lr] = max(losses.get(lr, -math.inf), loss)
    return choose_rate(losses, "margin"), losses


LrRule = Literal["margin", "best"]
LR_RULES: tuple[LrRule, ...] = ("margin", "best")


def choose_rate(losses: Mapping[float, float], rule: LrRule = "margin") -> float:
    r"""The learning rate a tuning run picks from ``{rate: worst final test loss over seeds}``.

    ``"best"``: the rate with the lowest worst-seed loss among the rates that train on every
    tuning seed (finite loss). ``"margin"``: the same, but a rate counts only if the next larger
    grid rate ALSO trains — a factor-2 margin from the edge of stability, since the
    benchmark's draws and seeds differ from the tuning draw's; so the largest grid rate never
    wins unless no other rate trains. The margin penalizes a strategy whose best rate sits next
    to an unstable one — it is what separates the two rules, and comparing strategies under
    both shows how much a verdict rests on stability. Ties go to the smaller rate; if no rate
    trains, the smallest wins.
    """
    rule = check_choice("lr_rule", rule, LR_RULES)  # type: ignore[assignment]
    rates = sorted(losses)
    trains = [r for r in rates if math.isfinite(losses[r])]
    pool = trains
    if rule == "margin":
        safe = [r for r, up in itertools.pairwise(rates) if math.isfinite(losses[up])]
        pool = [r for r in safe if math.isfinite(losses[r])] or trains
    return min(pool or rates, key=lambda k: (losses[k], k))
