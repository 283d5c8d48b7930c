r"""Feature form of a data operator, and its eigenpairs.

Every operator is handled in *feature form*: a matrix :math:`\Phi` (n, r) such that the
operator's non-zero eigenvalues are those of the r×r matrix

.. math::  T(w) = \Phi^\top \operatorname{diag}(w)\, \Phi / n ,

with w ≡ 1 for the data itself. For linear features Φ is the (centered) data; for a kernel,
:math:`\Phi = \sqrt{n}\, U \Lambda^{1/2}` from the eigendecomposition :math:`K/n = U\Lambda U^\top`
(kernel PCA features, exact when r = rank K). A bootstrap replicate over examples is T(c) with
multinomial counts c (:mod:`specurate.spectrum.resample`); a curation weighting w gives the
curated operator :math:`T_w = M_{\sqrt w} T M_{\sqrt w}`, whose non-zero eigenvalues are those of
T(w) (:mod:`specurate.spectrum.reweight`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from specurate.errors import SpecurateInputError
from specurate.io import validate_array
from specurate.spectrum.operators import center_features, center_gram, rbf_kernel

__all__ = [
    "MIN_EXAMPLES",
    "RANK_TOL",
    "FeatureOperator",
    "Kernel",
    "check_data",
    "operator_features",
    "scale_exponent",
    "scaled_data",
    "small_eigh",
    "unscale_eigenvalues",
    "weighted_eigh",
]

Kernel = Literal["linear", "rbf", "gram"]
MIN_EXAMPLES = 50
#: eigenvalues below RANK_TOL·λ₁ are treated as exact zeros (rank deficiency)
RANK_TOL = 1e-12


@dataclass(frozen=True)
class FeatureOperator:
    r"""An operator in feature form: eigenvalues of :math:`\Phi^\top \mathrm{diag}(w)\Phi/n`.

    Attributes:
        features: Φ, shape (n, r), float64.
        kernel: ``"linear"``, ``"rbf"`` or ``"gram"`` (a precomputed Gram matrix, e.g. an NTK).
        centered: whether the operator is centered under the data distribution.
        bandwidth: RBF bandwidth σ (None for other kernels).
        truncated: True when Φ holds only the top r modes of an n×n Gram matrix.
        eig_error_bound: largest a-posteriori relative error bound of the kernel eigenvalues
            up to rank n/10 (the ranks a fit may use) for the randomized solver; 0 when exact.
    """

    features: np.ndarray
    kernel: str
    centered: bool
    bandwidth: float | None = None
    truncated: bool = False
    eig_error_bound: float = 0.0

    @property
    def n(self) -> int:
        return int(self.features.shape[0])


def check_data(x: np.ndarray) -> np.ndarray:
    """Validate an (n, d) data matrix for spectral analysis: 2-D, ≥ 50 rows, finite (float64).

    The same checks as for data files (:func:`specurate.io.validate_array`), for in-memory arrays.
    """
    return validate_array(np.asarray(x), source="data", role="data", min_rows=MIN_EXAMPLES)


#: data whose largest |value| lies outside [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] (about
#: 1e-18 … 1e18) are analysed as x·2^k with a largest |value| in [0.5, 1): fourth powers and
#: sums over n·d products then stay inside float64, and the eigenvalues are scaled back
#: exactly (powers of two) at the end (:func:`unscale_eigenvalues`)
SAFE_EXPONENT = 60


def scale_exponent(x: np.ndarray) -> int:
    """k such that x·2^k has its largest |value| in [0.5, 1) when that value lies outside
    [2^-:data:`SAFE_EXPONENT`, 2^:data:`SAFE_EXPONENT`]; else 0 (no scaling: results are
    bit-identical for ordinary data)."""
    m = float(np.max(np.abs(x))) if x.size else 0.0
    if m == 0.0 or 2.0**-SAFE_EXPONENT <= m <= 2.0**SAFE_EXPONENT:
        return 0
    return -int(np.frexp(m)[1])


def scaled_data(
    x: np.ndarray, kernel: str, bandwidth: float | None
) -> tuple[np.ndarray, float | None, int]:
    """``(x·2^k, bandwidth·2^k, k)`` with k from :func:`scale_exponent` (k = 0 for a Gram
    matrix, which is not scaled). Linear eigenvalues scale by 2^(2k); an RBF kernel with its
    bandwidth scaled alike is unchanged, so rbf on data of 1e-160 uses the same kernel as on
    data of 1."""
    k = 0 if kernel == "gram" else scale_exponent(x)
    if k == 0:
        return x, bandwidth, 0
    bw = None if bandwidth is None else float(np.ldexp(float(bandwidth), k))
    return np.ldexp(x, k), bw, k


def unscale_eigenvalues(lam: np.ndarray, k: int, kernel: str, source: str) -> np.ndarray:
    """Eigenvalues of the data x from those of x·2^k (:func:`scaled_data`): λ·2^(−2k) for
    the linear kernel (kernels are scale-free). Raises when they leave float64's normal range
    (the data's scale, not its spectrum's shape, is then the problem)."""
    if k == 0 or kernel != "linear":
        return lam
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(lam, -2 * k)
    top = float(out[0]) if out.size else 0.0
    if not np.isfinite(top):
        raise SpecurateInputError(
            f"{source}: its values are so large that the covariance eigenvalues exceed float64 "
            f"(largest ≈ 2^{int(np.log2(lam[0])) - 2 * k}); divide the data by a constant (b, "
            "α and a do not change)."
        )
    if top < np.finfo(np.float64).tiny:
        raise SpecurateInputError(
            f"{source}: its values are so small that the covariance eigenvalues fall below "
            f"float64's normal range (largest ≈ 2^{int(np.log2(lam[0])) - 2 * k}); multiply the "
            "data by a constant (b, α and a do not change)."
        )
    return out


def _gram_features(
    gram: np.ndarray, *, top: int | None, seed: int
) -> tuple[np.ndarray, bool, float]:
    """Φ = √n U Λ^{1/2} from the top eigenpairs of K/n (exact LAPACK or randomized)."""
    n = gram.shape[0]
    if top is None or top >= n // 2:
        lam, u = scipy.linalg.eigh(gram / n, check_finite=False)
        lam, u, truncated, err = lam[::-1], u[:, ::-1], False, 0.0
    else:
        from specurate.spectrum.randomized import randomized_eigh

        # Accuracy is requested (and reported) on the ranks a fit can use (≤ n/10).
        n_check = max(1, min(top, n // 10))
        res = randomized_eigh(gram / n, top, seed=seed, tol=1e-3, n_check=n_check)
        lam, u, truncated = res.eigenvalues, res.eigenvectors, True
        err = float(np.max(res.relative_error_bounds[:n_check]))
    keep = lam > max(lam[0], 0.0) * RANK_TOL
    return np.sqrt(n) * u[:, keep] * np.sqrt(lam[keep]), truncated, err


def operator_features(
    x: np.ndarray,
    *,
    kernel: Kernel = "linear",
    center: bool = True,
    bandwidth: float | None = None,
    top: int | None = None,
    seed: int = 0,
) -> FeatureOperator:
    r"""Build the feature form Φ (n, r) of a data operator.

    Args:
        x: (n, d) examples, or for ``kernel="gram"`` a precomputed (n, n) PSD Gram matrix.
        kernel: ``"linear"`` (covariance :math:`X^\top X/n`), ``"rbf"`` (Gaussian kernel, median
            bandwidth unless ``bandwidth``), or ``"gram"``.
        center: center the features (linear) or double-center the Gram matrix (kernels).
        bandwidth: RBF bandwidth σ; default the median heuristic (``kernel="rbf"`` only).
        top: for kernels, keep only the top ``top`` modes, computed with the randomized solver
            (:func:`specurate.spectrum.randomized.randomized_eigh`) when ``top < n/2``;
            default all modes up to n = 3000, else the top n/5.
        seed: seed of the randomized solver and of the bandwidth subsample.
    """
    x = np.asarray(x, dtype=np.float64)
    if kernel != "linear" and top is None and x.shape[0] > 3000:
        # Exact LAPACK on n > 3000 takes minutes, and fits never use ranks beyond n/5 (the
        # floor fit) or n/10 (the power law), so the top n/5 modes are computed.
        top = x.shape[0] // 5
    if kernel == "linear":
        return FeatureOperator(center_features(x) if center else x.copy(), "linear", center)
    if kernel == "rbf":
        gram, sigma = rbf_kernel(x, bandwidth=bandwidth)
    elif kernel == "gram":
        if x.ndim != 2 or x.shape[0] != x.shape[1]:
            raise SpecurateInputError(f"a Gram matrix must be square, got shape {x.shape}.")
        gram, sigma = 0.5 * (x + x.T), None
    else:
        raise SpecurateInputError(f"unknown kernel '{kernel}'; choose linear, rbf or gram.")
    if center:
        gram = center_gram(gram)
    phi, truncated, err = _gram_features(gram, top=top, seed=seed)
    return FeatureOperator(phi, kernel, center, sigma, truncated, err)


def small_eigh(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of a symmetric (r, r) matrix, eigenvalues descending (clipped at 0).

    Runs LAPACK single-threaded: for r ≲ 2000 the threaded reduction is latency-bound and
    several times slower, catastrophically so when the cores are shared.
    """
    with threadpool_limits(limits=1 if g.shape[0] <= 2048 else None, user_api="blas"):
        lam, v = scipy.linalg.eigh(0.5 * (g + g.T), check_finite=False, driver="evd")
    return np.clip(lam[::-1], 0.0, None), v[:, ::-1]


def weighted_eigh(
    phi: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Eigenpairs of :math:`\Phi^\top \mathrm{diag}(w)\Phi / n`, eigenvalues descending.

    Returns (λ (r,), V (r, r)) in float64. Uses LAPACK ``syevd`` on the r×r matrix.
    """
    n = phi.shape[0]
    g = (phi.T * weights) @ phi / n if weights is not None else phi.T @ phi / n
    return small_eigh(g)
