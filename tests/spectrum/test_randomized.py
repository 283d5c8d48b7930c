"""Tests of :func:`specurate.spectrum.randomized.randomized_eigh` against dense ``eigh``.

Test matrices have a known spectrum: A = U diag(λ) Uᵀ with U a random orthogonal basis and a
power law λ_j = j^-b. For b = 2 neighbouring eigenvalues are well separated relative to their
size (λ_i − λ_{i+1} ≈ 2 λ_i / i), which is the regime where the quadratic residual bound
|λ_i − θ_i| ≤ ‖r_i‖² / gap_i (Kato–Temple) applies.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator, aslinearoperator
from threadpoolctl import threadpool_limits

from specurate.errors import SpecurateInputError
from specurate.spectrum.randomized import RandomizedEig, randomized_eigh

N = 1000
K = 20


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    """Run this module with one BLAS thread (restored afterwards).

    The matrices here are small (n ≤ 1000): threading them only adds synchronisation, which on
    a shared, busy machine costs more than the work itself (up to ~0.1 s per small LAPACK call).
    """
    with threadpool_limits(1):
        yield


def _haar_basis(n: int, seed: int) -> np.ndarray:
    """Haar-random orthogonal (n, n): the Q factor of a Gaussian matrix, by Cholesky QR2.

    Two passes of G = RᵀR, U ← U R⁻¹ (κ(U) ~ n, so κ²·eps ≪ 1 and the result is orthonormal to
    ~eps); cheaper than Householder QR, which is slow on a busy machine with threaded BLAS.
    """
    u = np.random.default_rng(seed).standard_normal((n, n))
    for _ in range(2):
        r = np.linalg.cholesky(u.T @ u).T
        u = scipy.linalg.solve_triangular(r, u.T, trans="T").T
    return u


def _known_spectrum(n: int, b: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, λ): A = U diag(λ) Uᵀ, λ_j = j^-b descending, U = _haar_basis(n, seed)."""
    u = _haar_basis(n, seed)
    lam = np.arange(1, n + 1, dtype=np.float64) ** (-b)
    a = (u * lam) @ u.T
    return 0.5 * (a + a.T), lam


@pytest.fixture(scope="module")
def power_law() -> tuple[np.ndarray, np.ndarray]:
    return _known_spectrum(N, 2.0, seed=1)


@pytest.fixture(scope="module")
def reference(power_law: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    a, _ = power_law
    return scipy.linalg.eigh(a, eigvals_only=True, subset_by_index=[N - K, N - 1])[::-1]


def test_matches_dense_eigh_within_reported_tolerance(power_law, reference) -> None:
    a, lam = power_law
    res = randomized_eigh(a, K, tol=1e-8)
    assert isinstance(res, RandomizedEig)
    assert res.converged
    assert res.eigenvalues.shape == (K,)
    assert res.eigenvectors is not None and res.eigenvectors.shape == (N, K)
    assert res.n_products == res.n_iter + 1
    # The dense reference itself is exact to ~ n·eps·λ_1 ≈ 2e-13, far below tol.
    np.testing.assert_allclose(reference, lam[:K], rtol=1e-10)
    rel = np.abs(res.eigenvalues - reference) / reference
    # converged means relative_error_bounds <= tol; the bounds are estimates, so allow 2x.
    assert rel.max() <= 2.0 * 1e-8
    assert np.all(res.relative_error_bounds <= 1e-8)


@pytest.mark.parametrize("n_iter", [1, 2, 4, 8])
def test_error_bounds_bound_true_error(power_law, n_iter: int) -> None:
    a, lam = power_law
    res = randomized_eigh(a, K, n_iter=n_iter)
    err = np.abs(lam[:K] - res.eigenvalues)
    # On this well-separated spectrum the Ritz gap is a good proxy for the true gap: the
    # neighbours' errors are ≤ their bounds, small next to gap_i ≈ 2 λ_i / i, so the Kato–Temple
    # bound ‖r‖²/gap holds up to the ratio true gap / Ritz gap, which is within 1 ± 5% here.
    # The slack 1.1 covers that ratio; the rounding term covers the dense-level noise.
    assert np.all(err <= 1.1 * res.error_bounds)
    np.testing.assert_allclose(
        res.relative_error_bounds, res.error_bounds / res.eigenvalues, rtol=1e-12
    )
    # The bound must also be informative, not just true: within a few orders of the truth
    # for pairs above the rounding floor.
    above = err > 1e3 * np.sqrt(N) * np.finfo(np.float64).eps * lam[0]
    assert np.all(res.error_bounds[above] <= 1e3 * err[above])


def test_ritz_values_improve_with_iterations(power_law) -> None:
    a, lam = power_law
    # Theory: the relative error of θ_i decays like (λ_{ℓ+1}/λ_i)^{2q}; the slowest pair is
    # i = K = 20 with ℓ = 36: (λ_37/λ_20)² = (20/37)⁴ ≈ 0.085 per iteration, so the worst bound
    # must shrink with q (until the rounding floor). Also θ_i ≤ λ_i (interlacing).
    prev = np.inf
    for q in (1, 2, 3):
        res = randomized_eigh(a, K, n_iter=q)
        assert np.all(res.eigenvalues <= lam[:K] * (1 + 1e-12))
        worst = float(res.relative_error_bounds.max())
        assert worst <= prev
        prev = worst


def test_linear_operator_matches_ndarray(power_law) -> None:
    a, _ = power_law
    dense = randomized_eigh(a, K, n_iter=3, seed=7)
    via_aslinop = randomized_eigh(aslinearoperator(a), K, n_iter=3, seed=7)
    custom = LinearOperator(a.shape, matvec=lambda x: a @ x, matmat=lambda x: a @ x, dtype=a.dtype)
    via_custom = randomized_eigh(custom, K, n_iter=3, seed=7)
    for other in (via_aslinop, via_custom):
        # Same Gaussian block and the same products: equal up to BLAS rounding.
        np.testing.assert_allclose(other.eigenvalues, dense.eigenvalues, rtol=1e-12)
        np.testing.assert_allclose(
            np.abs(other.eigenvectors.T @ dense.eigenvectors).diagonal(), 1.0, atol=1e-8
        )
        assert other.n_products == dense.n_products == 4


def test_deterministic_for_a_seed_and_accurate_for_any(power_law) -> None:
    a, lam = power_law
    r1 = randomized_eigh(a, K, tol=1e-6, seed=3)
    r2 = randomized_eigh(a, K, tol=1e-6, seed=3)
    np.testing.assert_array_equal(r1.eigenvalues, r2.eigenvalues)
    np.testing.assert_array_equal(r1.eigenvectors, r2.eigenvectors)
    np.testing.assert_array_equal(r1.error_bounds, r2.error_bounds)
    assert (r1.n_iter, r1.n_products, r1.converged) == (r2.n_iter, r2.n_products, r2.converged)
    for seed in (4, np.random.default_rng(5)):
        r3 = randomized_eigh(a, K, tol=1e-6, seed=seed)
        assert r3.converged
        assert np.max(np.abs(r3.eigenvalues - lam[:K]) / lam[:K]) <= 2e-6


def test_tol_mode_stops_at_first_iteration_meeting_tol(power_law) -> None:
    a, _ = power_law
    res = randomized_eigh(a, K, tol=1e-9, n_check=5)
    assert res.converged and np.all(res.relative_error_bounds[:5] <= 1e-9)
    # The subspace sequence does not depend on the stopping rule: the fixed-iteration run with
    # the same seed reproduces the result, and one iteration fewer had not met tol yet.
    same = randomized_eigh(a, K, n_iter=res.n_iter)
    np.testing.assert_allclose(same.eigenvalues, res.eigenvalues, rtol=1e-13)
    if res.n_iter > 1:
        fewer = randomized_eigh(a, K, n_iter=res.n_iter - 1)
        assert np.any(fewer.relative_error_bounds[:5] > 1e-9)


def test_max_iter_caps_the_iteration(power_law) -> None:
    a, _ = power_law
    res = randomized_eigh(a, K, tol=1e-15, max_iter=2)
    assert res.n_iter <= 2 and res.n_products == res.n_iter + 1
    assert not res.converged


def test_eigenvectors_orthonormal_and_residuals_consistent(power_law) -> None:
    a, lam = power_law
    res = randomized_eigh(a, K, n_iter=2)
    v, theta = res.eigenvectors, res.eigenvalues
    np.testing.assert_allclose(v.T @ v, np.eye(K), atol=1e-12)
    r = a @ v - v * theta
    # The reported residuals come from Y S − V Θ with Y = A Q from the iteration; recomputing
    # A V directly differs only by rounding, ~ sqrt(n)·eps·λ_1 ≈ 7e-15.
    np.testing.assert_allclose(np.linalg.norm(r, axis=0), res.residual_norms, rtol=0, atol=1e-12)
    # Eigenvector accuracy: sin∠(v_i, u_i) ≤ ‖r_i‖ / gap_i (Davis–Kahan), against the known
    # eigenvectors u_i (columns of the basis A was built from).
    u = _haar_basis(N, seed=1)[:, :K]
    gap = np.minimum(np.abs(lam[:K] - lam[1 : K + 1]), np.r_[np.inf, lam[: K - 1] - lam[1:K]])
    sin = np.sqrt(np.clip(1.0 - (u * v).sum(axis=0) ** 2, 0.0, None))
    assert np.all(sin <= 1.1 * res.residual_norms / gap + 1e-7)


def test_no_vectors_when_not_requested(power_law) -> None:
    a, _ = power_law
    res = randomized_eigh(a, K, n_iter=2, return_vectors=False)
    assert res.eigenvectors is None
    with pytest.raises(ValueError):
        res.eigenvalues[0] = 0.0  # read-only result


def test_float32_input_is_computed_in_float32() -> None:
    a, lam = _known_spectrum(600, 2.0, seed=2)
    res = randomized_eigh(a.astype(np.float32), 10, tol=1e-3)
    assert res.eigenvalues.dtype == np.float32
    assert res.eigenvectors.dtype == np.float32
    # float32 rounding term ρ = sqrt(n)·eps32·λ_1 ≈ 2.9e-6, i.e. 2.9e-4 relative to λ_10 = 1e-2:
    # 1e-3 relative is reachable on the top 10, and the truth lies within the bound (slack 2).
    assert res.converged
    err = np.abs(res.eigenvalues.astype(np.float64) - lam[:10])
    assert np.all(err <= 2.0 * res.error_bounds)


def test_float32_sketch_gives_float64_accuracy(power_law) -> None:
    a, lam = power_law
    full = randomized_eigh(a, K, n_iter=3)
    mixed = randomized_eigh(a, K, n_iter=3, sketch_dtype=np.float32)
    assert mixed.eigenvalues.dtype == np.float64 and mixed.eigenvectors.dtype == np.float64
    assert mixed.n_products == full.n_products == 4
    # float32 products only perturb the subspace (angles ~ eps32·λ_1/gap ≲ 1e-4 here); the Ritz
    # values are quadratic in the angles and the last product, Rayleigh–Ritz and residuals are
    # float64, so the report is a float64 one and still bounds the truth.
    err = np.abs(mixed.eigenvalues - lam[:K])
    assert np.all(err <= 1.1 * mixed.error_bounds)
    assert np.max(mixed.relative_error_bounds) <= 10 * max(np.max(full.relative_error_bounds), 1e-9)
    np.testing.assert_allclose(mixed.eigenvectors.T @ mixed.eigenvectors, np.eye(K), atol=1e-12)
    # tol mode: float32 iterations until their own report meets tol, then float64 ones.
    tol_run = randomized_eigh(a, K, tol=1e-9, sketch_dtype=np.float32)
    assert tol_run.converged and np.all(tol_run.relative_error_bounds <= 1e-9)
    assert np.max(np.abs(tol_run.eigenvalues - lam[:K]) / lam[:K]) <= 2e-9
    # float32 input: the sketch precision is its own, nothing changes.
    a32 = a.astype(np.float32)
    np.testing.assert_array_equal(
        randomized_eigh(a32, K, n_iter=2, sketch_dtype=np.float32).eigenvalues,
        randomized_eigh(a32, K, n_iter=2).eigenvalues,
    )


def test_rank_deficient_and_sparse_inputs() -> None:
    # Rank 5 with k + p > 5: the block has exactly-null directions, Cholesky QR breaks down and
    # the Householder fallback must keep the basis orthonormal; zero Ritz values must not
    # produce division warnings (RuntimeWarnings are errors in this package's tests).
    u = _haar_basis(300, seed=4)[:, :5]
    a = (u * np.array([5.0, 4.0, 3.0, 2.0, 1.0])) @ u.T
    res = randomized_eigh(a, 8, n_iter=2)
    np.testing.assert_allclose(res.eigenvalues[:5], [5.0, 4.0, 3.0, 2.0, 1.0], rtol=1e-12)
    assert np.all(np.abs(res.eigenvalues[5:]) <= 1e-12)
    np.testing.assert_allclose(res.eigenvectors.T @ res.eigenvectors, np.eye(8), atol=1e-12)
    tol_run = randomized_eigh(a, 8, n_check=5)
    assert tol_run.converged and tol_run.n_iter == 1
    # A scipy sparse matrix is applied as a @ block.
    diag = scipy.sparse.diags(np.arange(1, 401, dtype=np.float64) ** -2.0)
    res = randomized_eigh(diag.tocsr(), 10, tol=1e-10)
    np.testing.assert_allclose(res.eigenvalues, np.arange(1, 11) ** -2.0, rtol=1e-9)


def test_dense_fallback_when_k_close_to_n() -> None:
    a, lam = _known_spectrum(60, 1.0, seed=3)
    res = randomized_eigh(a, 50)  # ℓ = min(66, 60) > n/2: dense eigh
    assert res.n_iter == 0 and res.converged
    np.testing.assert_allclose(res.eigenvalues, lam[:50], rtol=1e-10)
    via_op = randomized_eigh(aslinearoperator(a), 50)
    np.testing.assert_allclose(via_op.eigenvalues, lam[:50], rtol=1e-10)
    assert via_op.n_products == 2  # form the matrix, then A V for the residuals


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(8, 80),
    k=st.integers(1, 6),
    oversample=st.integers(0, 10),
    b=st.floats(0.3, 3.0),
    n_iter=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_property_descending_and_interlacing(n, k, oversample, b, n_iter, seed) -> None:
    a, lam = _known_spectrum(n, b, seed)
    k = min(k, n)
    res = randomized_eigh(a, k, oversample=oversample, n_iter=n_iter, seed=seed)
    theta = res.eigenvalues
    assert theta.shape == (k,)
    assert np.all(np.diff(theta) <= 0.0)
    # Cauchy interlacing: a Ritz value of a compression never exceeds the matching eigenvalue.
    # λ is the spectrum of U diag(λ) Uᵀ before rounding; the stored A differs by ~ n·eps·λ_1
    # ≤ 2e-14, hence the 1e-12 tolerance.
    assert np.all(theta <= lam[:k] + 1e-12)
    assert theta[0] <= lam[0] + res.error_bounds[0] + 1e-12
    assert np.all(res.error_bounds >= 0.0) and np.all(res.residual_norms >= 0.0)


def test_bad_input_raises() -> None:
    a, _ = _known_spectrum(100, 2.0, seed=0)
    with pytest.raises(SpecurateInputError, match="square"):
        randomized_eigh(np.ones((10, 12)), 2)
    with pytest.raises(SpecurateInputError, match="square"):
        randomized_eigh(np.ones(10), 2)
    with pytest.raises(SpecurateInputError, match="k must be"):
        randomized_eigh(a, 0)
    with pytest.raises(SpecurateInputError, match="k must be"):
        randomized_eigh(a, 101)
    bad = a.copy()
    bad[3, 7] = bad[7, 3] = np.nan
    with pytest.raises(SpecurateInputError, match="non-finite"):
        randomized_eigh(bad, 5)  # randomized path: caught on the product
    with pytest.raises(SpecurateInputError, match="non-finite"):
        randomized_eigh(bad, 80)  # dense fallback
    with pytest.raises(SpecurateInputError, match="n_iter"):
        randomized_eigh(a, 5, n_iter=0)
    with pytest.raises(SpecurateInputError, match="not both"):
        randomized_eigh(a, 5, n_iter=2, tol=1e-3)
    with pytest.raises(SpecurateInputError, match="tol"):
        randomized_eigh(a, 5, tol=-1.0)
    with pytest.raises(SpecurateInputError, match="n_check"):
        randomized_eigh(a, 5, n_check=6)
    with pytest.raises(SpecurateInputError, match="symmetric"):
        randomized_eigh(a + np.triu(np.full_like(a, 0.01)), 5)
    with pytest.raises(SpecurateInputError, match="positive semi-definite"):
        randomized_eigh(-a, 5)
    with pytest.raises(SpecurateInputError, match="real"):
        randomized_eigh(a.astype(np.complex128), 5)
    with pytest.raises(SpecurateInputError, match="sketch_dtype"):
        randomized_eigh(a, 5, sketch_dtype=np.float16)
    with pytest.raises(SpecurateInputError, match="LinearOperator"):
        randomized_eigh(aslinearoperator(a), 5, sketch_dtype=np.float32)
    assert issubclass(SpecurateInputError, ValueError)
