r"""Operators induced by data: linear features and the RBF kernel.

On n examples the integral operator :math:`(Tf)(x) = \int k(x, y) f(y)\, d\mu(y)` becomes the
Gram matrix :math:`K/n` (shape (n, n)); for linear features :math:`k(x, y) = x^\top y` it has the
same non-zero eigenvalues as the covariance :math:`X^\top X / n` (shape (d, d)).

Every operator is represented downstream by a *feature matrix* :math:`\Phi` (n, r) with
:math:`\Phi \Phi^\top = K` on the retained modes, so that bootstrap resampling and curation
weights act on rows of :math:`\Phi` (see :mod:`specurate.spectrum.estimate`).
"""

from __future__ import annotations

import numpy as np

from specurate import _rng
from specurate.errors import SpecurateInputError


def center_features(x: np.ndarray) -> np.ndarray:
    r"""Subtract the column means: :math:`X - \mathbf{1}\bar x^\top` (shape (n, d), float64)."""
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=0, keepdims=True)


def center_gram(k: np.ndarray) -> np.ndarray:
    r"""Double-center a Gram matrix: :math:`H K H` with :math:`H = I - \mathbf{1}\mathbf{1}^\top/n`.

    This is the Gram matrix of the features centered in the kernel's feature space (kernel PCA).
    Computed in O(n²) without forming H.
    """
    k = np.asarray(k, dtype=np.float64)
    row = k.mean(axis=0)
    return k - row[None, :] - row[:, None] + row.mean()


def median_bandwidth(x: np.ndarray, *, max_points: int = 2000, seed: int = 0) -> float:
    r"""Median heuristic: the median pairwise Euclidean distance between examples.

    Uses a random subset of at most ``max_points`` rows (the median of O(max_points²) distances
    is stable to about 1%). Raises if all sampled points coincide.
    """
    x = np.asarray(x, dtype=np.float64)
    rng = _rng.stream("root", seed)
    if x.shape[0] > max_points:
        x = x[rng.choice(x.shape[0], max_points, replace=False)]
    with np.errstate(over="ignore", invalid="ignore"):
        sq = np.einsum("ij,ij->i", x, x)
        d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    if not np.all(np.isfinite(d2)):
        raise SpecurateInputError(
            "the data's values are so large that squared distances overflow float64; rescale "
            "the data or give --bandwidth."
        )
    iu = np.triu_indices(x.shape[0], k=1)
    med = float(np.sqrt(max(np.median(np.clip(d2[iu], 0.0, None)), 0.0)))
    if not med > 0.0:
        raise SpecurateInputError("the RBF bandwidth is zero because all examples coincide.")
    return med


def rbf_gamma(sigma: float) -> float:
    """1/(2σ²) of a bandwidth σ > 0; raises when it is 0 or infinite in float64 (σ beyond
    about 1e154 or below about 1e-154): every kernel value would be 1, or 0 off the
    diagonal."""
    gamma = 0.5 / sigma / sigma  # no OverflowError: 0 or inf at the ends of float64
    if gamma == 0.0 or not np.isfinite(gamma):
        what = "large" if gamma == 0.0 else "small"
        raise SpecurateInputError(
            f"the RBF bandwidth {sigma:g} is too {what} for float64: 1/(2σ²) is "
            f"{'0' if gamma == 0.0 else 'infinite'}; give a bandwidth near the typical distance "
            "between examples."
        )
    return gamma


def rbf_kernel(
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    bandwidth: float | None = None,
    block_rows: int = 2048,
    dtype: type = np.float64,
) -> tuple[np.ndarray, float]:
    r"""Gaussian (RBF) kernel :math:`k(x, y) = \exp(-\|x - y\|^2 / (2\sigma^2))`.

    Args:
        x: (n, d) examples.
        y: (m, d) second set, default ``x``.
        bandwidth: σ; default the median heuristic on ``x`` (:func:`median_bandwidth`).
        block_rows: rows computed at once, bounding temporaries to ``block_rows × m`` values.
        dtype: dtype of the returned matrix.

    Returns:
        (K, σ): K of shape (n, m) and the bandwidth used.
    """
    x = np.asarray(x, dtype=np.float64)
    yy = x if y is None else np.asarray(y, dtype=np.float64)
    sigma = median_bandwidth(x) if bandwidth is None else float(bandwidth)
    if not (np.isfinite(sigma) and sigma > 0):
        raise SpecurateInputError(f"the RBF bandwidth must be a positive number, got {bandwidth}.")
    gamma = rbf_gamma(sigma)
    sq_y = np.einsum("ij,ij->i", yy, yy)
    out: np.ndarray = np.empty((x.shape[0], yy.shape[0]), dtype=dtype)
    # distances far beyond σ underflow to a kernel value of 0, as they should
    with np.errstate(over="ignore", under="ignore"):
        for start in range(0, x.shape[0], block_rows):
            xb = x[start : start + block_rows]
            d2 = np.einsum("ij,ij->i", xb, xb)[:, None] + sq_y[None, :]
            d2 -= 2.0 * (xb @ yy.T)
            np.clip(d2, 0.0, None, out=d2)
            d2 *= -gamma
            np.exp(d2, out=d2)
            out[start : start + block_rows] = d2
    if y is None:  # exact symmetry despite rounding
        out = 0.5 * (out + out.T) if out.shape[0] <= 4096 else out
    return out, sigma
