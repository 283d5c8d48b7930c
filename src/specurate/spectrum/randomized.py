r"""Randomized top-k eigensolver for symmetric positive semi-definite operators, with accuracy.

For a symmetric positive semi-definite (PSD) operator :math:`A` (shape (n, n)) with eigenvalues
:math:`\lambda_1 \ge \lambda_2 \ge \dots \ge \lambda_n \ge 0`, :func:`randomized_eigh` returns
Ritz approximations :math:`(\theta_i, v_i)`, :math:`i = 1..k`, of the top-k eigenpairs together
with an a-posteriori report of their accuracy computed from quantities the iteration already has.

The method is randomized block subspace iteration with Rayleigh–Ritz extraction (Halko, Martinsson
and Tropp, "Finding structure with randomness", SIAM Review 53(2), 2011, Algorithms 4.3/4.4 and
5.3), specialised to symmetric :math:`A` so that every iteration costs **one** block product
:math:`A Q` (a randomized SVD of a general matrix needs both :math:`A Q` and :math:`A^\top Q`).

Convergence (HMT 2011, Sec. 4.5 and 10.4): with block size :math:`\ell = k + p` and :math:`q`
power iterations the subspace angle to the i-th eigenvector shrinks like
:math:`(\lambda_{\ell+1}/\lambda_i)^{q}`, and Ritz values, being quadratic in that angle, have
relative error of order :math:`(\lambda_{\ell+1}/\lambda_i)^{2q}`.

Each Rayleigh–Ritz step also yields the residuals :math:`\|A v_i - \theta_i v_i\|` for free,
from which an a-posteriori error estimate per eigenvalue is reported (:class:`RandomizedEig`).
Optionally (``sketch_dtype=np.float32``) the power iterations run on a float32 copy of a
float64 matrix and only the final Rayleigh–Ritz product is float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.sparse.linalg import LinearOperator

from specurate._validate import check_int, check_positive
from specurate.errors import SpecurateInputError

__all__ = ["RandomizedEig", "randomized_eigh"]

_DEFAULT_TOL = 1e-3


@dataclass(frozen=True)
class RandomizedEig:
    r"""Top-k Ritz pairs of a symmetric PSD operator and their accuracy report.

    Returned by :func:`randomized_eigh`; the arrays are read-only.

    Attributes:
        eigenvalues: (k,) Ritz values :math:`\theta_1 \ge \dots \ge \theta_k` (descending). By
            Cauchy interlacing :math:`\theta_i \le \lambda_i` up to rounding.
        eigenvectors: (n, k) orthonormal Ritz vectors :math:`v_i` (columns); ``None`` when
            ``return_vectors=False``.
        residual_norms: (k,) :math:`\|r_i\| = \|A v_i - \theta_i v_i\|_2`.
        error_bounds: (k,) a-posteriori estimate of :math:`|\lambda_i - \theta_i|`,
            :math:`\min(\|r_i\|, \|r_i\|^2/\mathrm{gap}_i) + \sqrt{n}\,\varepsilon\,\theta_1`
            (see :func:`randomized_eigh`, Notes).
        relative_error_bounds: (k,) ``error_bounds / eigenvalues`` (``inf`` where a Ritz value
            is not positive and its bound is not zero, ``0`` where both are zero).
        n_iter: power iterations done after the initial range finder (0 for the dense
            fallback).
        n_products: block products with ``a`` (applications of ``a`` to an (n, ℓ) block): the
            dominant cost.
        converged: whether all of the leading ``n_check`` relative error bounds are ``<= tol``
            after the last iteration (``tol`` = 1e-3 when ``n_iter`` was given). Always ``True``
            for the dense fallback, a direct backward-stable solve.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray | None
    residual_norms: np.ndarray
    error_bounds: np.ndarray
    relative_error_bounds: np.ndarray
    n_iter: int
    n_products: int
    converged: bool


def _as_operator(a: Any) -> tuple[Callable[[np.ndarray], np.ndarray], int, np.dtype, Any]:
    """Return (matmat, n, compute dtype, dense-or-operator) for an ndarray/LinearOperator.

    ``a`` and the returned operator are typed ``Any``: an ndarray, a scipy sparse matrix or a
    scipy ``LinearOperator`` (scipy ships no type information).
    """
    if isinstance(a, LinearOperator) or scipy.sparse.issparse(a):
        shape = a.shape
        dtype = np.dtype(a.dtype) if a.dtype is not None else np.dtype(np.float64)
        if isinstance(a, LinearOperator):

            def matmat(block: np.ndarray) -> np.ndarray:
                return np.asarray(a.matmat(block))

        else:

            def matmat(block: np.ndarray) -> np.ndarray:
                return np.asarray(a @ block)

        obj = a
    else:
        arr = np.asarray(a)
        if arr.dtype.kind not in "biuf":
            raise SpecurateInputError(
                f"a must be a real symmetric matrix, got an array of dtype {arr.dtype}."
            )
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        shape = arr.shape
        dtype = arr.dtype

        def matmat(block: np.ndarray) -> np.ndarray:
            return arr @ block

        obj = arr
    if len(shape) != 2 or shape[0] != shape[1]:
        raise SpecurateInputError(f"a must be a square (n, n) matrix, got shape {tuple(shape)}.")
    if dtype.kind == "c":
        raise SpecurateInputError("a must be real symmetric; complex operators are not supported.")
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    return matmat, int(shape[0]), dtype, obj


def _finite_or_raise(y: np.ndarray) -> None:
    # A NaN/inf anywhere in `a` reaches the product with a Gaussian block (NaN * x = NaN,
    # inf * 0 = NaN), so checking the (n, l) product is a cheap check of the (n, n) input.
    if not np.isfinite(y).all():
        raise SpecurateInputError(
            "a contains non-finite values (NaN or inf): its product with a block is not finite."
        )


def _householder(y: np.ndarray) -> np.ndarray:
    """Orthonormal basis of range(y) by economic Householder QR (always orthonormal)."""
    return scipy.linalg.qr(y, mode="economic", overwrite_a=True, check_finite=False)[0]


def _orth(y: np.ndarray) -> np.ndarray:
    r"""Orthonormal basis of range(y), shape (n, ℓ), by column-equilibrated Cholesky QR2.

    With :math:`Z = Y D^{-1}` (unit columns), one pass is :math:`Z^\top Z = R^\top R`,
    :math:`Z \leftarrow Z R^{-1}`; two passes give an orthonormal basis to working precision
    when :math:`\kappa(Z)^2 \varepsilon \ll 1` (Yamamoto et al., ETNA 44, 2015). This is a
    few large BLAS-3 calls instead of Householder's many panel steps. In the iteration the
    block is :math:`Y S = A V` (Ritz-aligned, near-orthogonal columns :math:`\approx \theta_i v_i`)
    so the condition holds; whenever a pass fails (a Cholesky breakdown or a second factor
    far from the identity, e.g. for a rank-deficient block) Householder QR is used instead.
    """
    norms = np.linalg.norm(y, axis=0)
    if not np.all(norms > 0):
        return _householder(y)
    z = y / norms
    for pass_ in range(2):
        try:
            r = np.linalg.cholesky(z.T @ z).T  # upper factor: ZᵀZ = RᵀR
        except np.linalg.LinAlgError:
            return _householder(y)
        # The second pass's factor measures how orthonormal the first pass left Z.
        if pass_ == 1 and not np.max(np.abs(r - np.eye(r.shape[0], dtype=r.dtype))) <= 0.1:
            return _householder(y)
        z = scipy.linalg.solve_triangular(r, z.T, trans="T", check_finite=False).T
    if not np.isfinite(z).all():
        return _householder(y)
    return z


def _bounds(
    theta_all: np.ndarray, res: np.ndarray, rounding: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Error estimates :math:`\min(\|r_i\|, \|r_i\|^2/\mathrm{gap}_i) + \rho`, relative form.

    ``theta_all`` holds all ℓ Ritz values (descending), ``res`` the residual norms of the first
    m of them; gap_i is the distance from θ_i to the nearest other Ritz value; ρ = ``rounding``.
    Returns (bound, relative bound, residual part without ρ).
    """
    m = res.shape[0]
    theta = theta_all[:m]
    gap = np.full(m, np.inf, dtype=theta_all.dtype)
    if theta_all.shape[0] > 1:
        diffs = np.abs(np.diff(theta_all))  # descending: neighbours are the nearest values
        gap = np.minimum(
            np.concatenate(([np.inf], diffs))[:m], np.concatenate((diffs, [np.inf]))[:m]
        )
    quad = np.full(m, np.inf, dtype=res.dtype)
    np.divide(res * res, gap, out=quad, where=gap > 0)
    part = np.minimum(res, quad)
    bound = part + np.asarray(rounding, dtype=res.dtype)
    rel = np.where(bound > 0, np.inf, 0.0).astype(res.dtype)
    np.divide(bound, theta, out=rel, where=theta > 0)
    return bound, rel, part


def _rounding(n: int, dtype: np.dtype, theta_max: float) -> float:
    """Rounding floor ρ = sqrt(n) · eps · θ_max of a Ritz value computed from a product."""
    return float(np.sqrt(n) * np.finfo(dtype).eps * max(theta_max, 0.0))


def _psd_tol(n: int, dtype: np.dtype) -> float:
    """Relative size of a negative Rayleigh quotient that rounding cannot explain."""
    eps = float(np.finfo(dtype).eps)
    return max(100.0 * np.sqrt(n) * eps, np.sqrt(eps))


def _symmetric_or_raise(omega: np.ndarray, y: np.ndarray, n: int) -> None:
    """Free symmetry check: C = Ωᵀ(AΩ) is symmetric when A is (up to rounding ~ sqrt(n)·eps)."""
    eps = float(np.finfo(y.dtype).eps)
    c = omega.T @ y
    scale = float(np.linalg.norm(c))
    asym = float(np.linalg.norm(c - c.T))
    if not asym <= max(100.0 * np.sqrt(n) * eps, 1e-6) * scale:
        raise SpecurateInputError(
            f"a must be symmetric: a random compression of it is asymmetric by "
            f"{asym / max(scale, float(np.finfo(y.dtype).tiny)):.2g} (relative)."
        )


def _sketch_operator(
    obj: Any, dtype: np.dtype, sketch_dtype: type | np.dtype | str | None, *, copy: bool
) -> Any | None:
    """Validate ``sketch_dtype``; the low-precision copy of ``a`` (if ``copy``), or None."""
    if sketch_dtype is None:
        return None
    try:
        lo = np.dtype(sketch_dtype)
    except TypeError as exc:
        raise SpecurateInputError(
            f"sketch_dtype must be numpy.float32, got {sketch_dtype!r}."
        ) from exc
    if lo != np.float32:
        raise SpecurateInputError(f"sketch_dtype must be numpy.float32, got {lo}.")
    if lo == dtype:
        return None
    if isinstance(obj, LinearOperator):
        raise SpecurateInputError(
            "sketch_dtype needs a as an array or sparse matrix, not a LinearOperator."
        )
    return obj.astype(lo) if copy else None


def _freeze(*arrays: np.ndarray | None) -> None:
    for arr in arrays:
        if arr is not None:
            arr.flags.writeable = False


def randomized_eigh(
    a: np.ndarray | LinearOperator,
    k: int,
    *,
    oversample: int = 16,
    n_iter: int | None = None,
    tol: float | None = None,
    n_check: int | None = None,
    max_iter: int = 30,
    seed: int | np.random.Generator = 0,
    return_vectors: bool = True,
    sketch_dtype: type | np.dtype | str | None = None,
) -> RandomizedEig:
    r"""Top-k eigenpairs of a symmetric PSD operator by randomized subspace iteration.

    Args:
        a: (n, n) symmetric positive semi-definite operator: an array, a
            :class:`scipy.sparse.linalg.LinearOperator` or a scipy sparse matrix. A
            float32/float64 array is used in its dtype (other real dtypes are converted to
            float64); a LinearOperator is applied as ``a.matmat(block)``.
        k: number of leading eigenpairs, ``1 <= k <= n``.
        oversample: extra block columns p; the block size is ℓ = min(k + p, n). When ℓ > n/2
            the randomized method has no advantage and a dense ``scipy.linalg.eigh`` is used
            instead.
        n_iter: if given (>= 1), do exactly this many power iterations after the range finder
            (``n_iter + 1`` products) and no stopping test. Exclusive with ``tol``.
        tol: target relative accuracy, default 1e-3 when ``n_iter`` is None: iterate until
            ``relative_error_bounds[:n_check] <= tol``, or ``max_iter`` iterations, or until
            every unmet pair's residual term is below the rounding term ρ (no further progress
            is possible; ``converged`` is then ``False``).
        n_check: how many leading eigenvalues the stopping test watches (default ``k``).
        max_iter: most power iterations when stopping by ``tol``.
        seed: seed of the Gaussian test block, through ``np.random.default_rng(seed)``.
        return_vectors: whether to return the (n, k) Ritz vectors.
        sketch_dtype: None or ``numpy.float32``. Mixed precision for a float64 array (or sparse
            matrix) ``a``: a float32 copy of ``a`` (half its memory) serves the range finder and
            the power iterations, and the remaining iterations, at least the last one, use
            ``a`` itself, so the returned Ritz pairs, residuals and bounds are all float64
            quantities of the final subspace. With ``n_iter`` only the last product is float64;
            with ``tol`` the float32 iterations run until their own report meets ``tol``
            (ignoring float32 rounding) and float64 iterations follow until the float64 report
            does. float32 rounding only perturbs the subspace, which the float64 residuals
            measure; the float32 products are about twice as fast. Not available for a
            LinearOperator.

    Returns:
        The Ritz pairs and their accuracy report (:class:`RandomizedEig`): eigenvalues (k,) in
            descending order, eigenvectors (n, k) or None, residual_norms, error_bounds,
            relative_error_bounds (each (k,)), n_iter, n_products, converged.

    Raises:
        SpecurateInputError: non-square or non-real input; bad k, oversample, n_iter, tol,
            n_check, max_iter or sketch_dtype; non-finite values; an operator that is
            detectably non-symmetric or not PSD.

    Notes:
        Algorithm (block size :math:`\ell = k + p`; Halko, Martinsson & Tropp 2011, Algorithm 4.4
        with the Rayleigh–Ritz step of Algorithm 5.3, using the symmetry of :math:`A`):

        1. Range finder: :math:`\Omega \in \mathbb{R}^{n\times\ell}` Gaussian,
           :math:`Q_0 = \mathrm{orth}(A\Omega)` (economic Householder QR).
        2. For :math:`j = 1, 2, \dots` (one product per iteration): :math:`Y = A Q_{j-1}` (n, ℓ);
           Rayleigh–Ritz :math:`B = \mathrm{sym}(Q_{j-1}^\top Y)` (ℓ, ℓ),
           :math:`B = S\Theta S^\top`, Ritz vectors :math:`V = Q_{j-1} S`; residuals
           :math:`R = Y S - V\Theta = A V - V\Theta`, so :math:`\|r_i\| = \|A v_i - \theta_i v_i\|`
           costs no extra product; then :math:`Q_j = \mathrm{orth}(Y S)`, the same span as
           :math:`Y`: the columns of :math:`Y S = AV \approx V\Theta` are nearly orthogonal, so
           column-scaled Cholesky QR2 (BLAS-3) is accurate, with Householder QR as the fallback.

        Products are counted in ``n_products`` (= ``n_iter + 1``). Only the (n, ℓ) blocks are stored
        besides ``a`` (plus a float32 copy of ``a`` with ``sketch_dtype``).

        After q iterations the Ritz values come from :math:`\mathrm{span}(A^q\Omega)`, whose angle
        to the i-th eigenvector is of order :math:`(\lambda_{\ell+1}/\lambda_i)^q`; Ritz values are
        quadratic in that angle, so :math:`(\lambda_i - \theta_i)/\lambda_i =
        O\bigl((\lambda_{\ell+1}/\lambda_i)^{2q}\bigr)` (HMT 2011, Sec. 4.5 and 10.4).

        Accuracy report. For a unit vector :math:`v` with Rayleigh quotient :math:`\theta` and
        residual :math:`r = Av - \theta v`, some eigenvalue of :math:`A` lies within
        :math:`\|r\|` of :math:`\theta`; if moreover :math:`(\theta - \delta, \theta + \delta)`
        contains only that eigenvalue, then :math:`|\lambda - \theta| \le \|r\|^2/\delta`
        (Kato–Temple; Parlett, *The Symmetric Eigenvalue Problem*, 1998). The report is

        .. math:: \mathrm{err}_i = \min\bigl(\|r_i\|,\ \|r_i\|^2 / \mathrm{gap}_i\bigr) + \rho,
                  \qquad \mathrm{gap}_i = \min_{j \ne i} |\theta_i - \theta_j|,
                  \qquad \rho = \sqrt{n}\,\varepsilon\,\theta_1,

        with the gap taken over all ℓ Ritz values and ε the machine epsilon of the compute dtype;
        ρ accounts for rounding in the products (without it the quadratic term of a converged pair
        falls far below what any floating-point computation, this one or a dense ``eigh``, attains).

        The quadratic term uses the nearest *Ritz* value as a proxy for the distance from
        :math:`\theta_i` to the rest of the spectrum, i.e. it assumes the Ritz values are separated
        from the eigenvalues the subspace does not resolve. ``error_bounds`` is therefore an
        **estimate, not a guarantee**: reliable once the neighbouring Ritz values have converged,
        it can underestimate the error on clusters or poorly resolved tails. The linear term
        :math:`\|r_i\|` alone rigorously bounds the distance from :math:`\theta_i` to *some*
        eigenvalue.

    References:
        N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure with randomness:
        probabilistic algorithms for constructing approximate matrix decompositions",
        SIAM Review 53(2):217–288, 2011.
    """
    matmat, n, dtype, obj = _as_operator(a)
    k = check_int("k", k, lo=1)
    if k > n:
        raise SpecurateInputError(f"k must be at most n = {n}, got k = {k}.")
    oversample = check_int("oversample", oversample, lo=0)
    max_iter = check_int("max_iter", max_iter, lo=1)
    if n_iter is not None:
        n_iter = check_int("n_iter", n_iter, lo=1)
        if tol is not None:
            raise SpecurateInputError("give either n_iter or tol, not both.")
    if tol is None:
        tol = _DEFAULT_TOL
    else:
        check_positive("tol", tol)
    n_check = k if n_check is None else check_int("n_check", n_check, lo=1)
    if n_check > k:
        raise SpecurateInputError(f"n_check must be at most k = {k}, got {n_check}.")
    rng = np.random.default_rng(seed)

    ell = min(k + oversample, n)
    a_lo = _sketch_operator(obj, dtype, sketch_dtype, copy=2 * ell <= n)
    if 2 * ell > n:
        return _dense_eigh(obj, matmat, n, k, dtype, return_vectors, _psd_tol(n, dtype))

    # Range finder (in the sketch precision when mixed).
    omega = rng.standard_normal((n, ell), dtype=dtype if a_lo is None else a_lo.dtype)
    y = np.asarray(matmat(omega), dtype=dtype) if a_lo is None else np.asarray(a_lo @ omega)
    n_products = 1
    _finite_or_raise(y)
    _symmetric_or_raise(omega, y, n)
    del omega
    q = _orth(y)

    fixed = n_iter is not None
    n_total = n_iter if n_iter is not None else max_iter  # n_iter is not None iff fixed
    it = 0
    while True:
        it += 1
        if a_lo is not None and it >= n_total:  # the last allowed iteration reports in dtype
            a_lo = None
        if a_lo is None and q.dtype != dtype:  # leave the sketch precision: re-orthonormalize
            q = _orth(q.astype(dtype))
        y = np.asarray(matmat(q), dtype=dtype) if a_lo is None else np.asarray(a_lo @ q)
        n_products += 1
        _finite_or_raise(y)
        # Rayleigh–Ritz on span(q); every iteration, as W = Y S is also the well-conditioned
        # block to orthogonalize for the next one.
        b = q.T @ y
        b += b.T
        b *= 0.5
        theta, s = np.linalg.eigh(b)
        theta, s = theta[::-1], s[:, ::-1]
        if theta[-1] < -_psd_tol(n, y.dtype) * max(abs(theta[0]), abs(theta[-1])):
            raise SpecurateInputError(
                f"a must be positive semi-definite, but it has a Rayleigh quotient of "
                f"{theta[-1]:.3g} (largest {theta[0]:.3g})."
            )
        w = y @ s  # A V for all ℓ Ritz vectors
        del y
        v = q @ s[:, :k]
        r = w[:, :k] - v * theta[:k]
        res = np.linalg.norm(r, axis=0)
        del r
        rounding = _rounding(n, w.dtype, float(theta[0]))
        bound, rel, part = _bounds(theta, res, rounding)
        unmet_at_floor = np.all((rel[:n_check] <= tol) | (part[:n_check] <= rounding))
        if a_lo is not None:
            # Sketch precision: switch to dtype once the residual terms meet tol (the sketch
            # rounding term aside) or sit at the sketch rounding floor.
            if not fixed and np.all(
                (part[:n_check] <= tol * theta[:n_check]) | (part[:n_check] <= rounding)
            ):
                a_lo = None
            q = _orth(w)
            del w
            continue
        converged = bool(np.all(rel[:n_check] <= tol))
        if it >= n_total or (not fixed and converged):
            break
        # Stop early when the unmet pairs sit at the rounding floor (no progress possible).
        if not fixed and unmet_at_floor:
            break
        q = _orth(w)
        del w

    return _result(theta, v, res, bound, rel, k, return_vectors, it, n_products, converged)


def _result(
    theta: np.ndarray,
    v: np.ndarray,
    res: np.ndarray,
    bound: np.ndarray,
    rel: np.ndarray,
    k: int,
    return_vectors: bool,
    n_iter: int,
    n_products: int,
    converged: bool,
) -> RandomizedEig:
    """The frozen result of the top-k Ritz pairs (shared by the iterative and dense paths)."""
    eigvals = np.ascontiguousarray(theta[:k])
    vecs = v if return_vectors else None
    _freeze(eigvals, vecs, res, bound, rel)
    return RandomizedEig(
        eigenvalues=eigvals,
        eigenvectors=vecs,
        residual_norms=res,
        error_bounds=bound,
        relative_error_bounds=rel,
        n_iter=n_iter,
        n_products=n_products,
        converged=converged,
    )


def _dense_eigh(
    obj: object,
    matmat: Callable[[np.ndarray], np.ndarray],
    n: int,
    k: int,
    dtype: np.dtype,
    return_vectors: bool,
    psd_tol: float,
) -> RandomizedEig:
    """Dense fallback (ℓ > n/2): all eigenpairs by ``scipy.linalg.eigh``, same report."""
    n_products = 0
    if isinstance(obj, np.ndarray):
        dense = obj
    else:
        dense = np.asarray(matmat(np.eye(n, dtype=dtype)), dtype=dtype)
        n_products += 1
    if not np.isfinite(dense).all():
        raise SpecurateInputError("a contains non-finite values (NaN or inf).")
    scale = max(float(np.max(np.abs(dense), initial=0.0)), np.finfo(dtype).tiny)
    if not np.allclose(dense, dense.T, rtol=0.0, atol=1e-6 * scale):
        raise SpecurateInputError("a must be symmetric, but a differs from its transpose.")
    theta, s = scipy.linalg.eigh(0.5 * (dense + dense.T), check_finite=False)
    theta, s = theta[::-1].astype(dtype), s[:, ::-1].astype(dtype)
    if theta[-1] < -psd_tol * max(abs(theta[0]), abs(theta[-1])):
        raise SpecurateInputError(
            f"a must be positive semi-definite, but it has an eigenvalue of {theta[-1]:.3g}."
        )
    v = np.ascontiguousarray(s[:, :k])
    r = np.asarray(matmat(v), dtype=dtype) - v * theta[:k]
    n_products += 1
    res = np.linalg.norm(r, axis=0)
    bound, rel, _ = _bounds(theta, res, _rounding(n, dtype, float(theta[0])))
    return _result(theta, v, res, bound, rel, k, return_vectors, 0, n_products, True)
