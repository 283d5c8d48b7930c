"""Nyström RBF spectra (specurate.spectrum.nystrom) against the exact kernel eigenvalues: exact with
every row a landmark, within the proved [0, trace_gap] band otherwise, a bound that tightens with
more landmarks, rounding-safe residuals, checked inputs, and a streamed file equal to the array."""

import itertools
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from specurate.errors import SpecurateInputError
from specurate.spectrum.estimate import estimate_spectrum
from specurate.spectrum.nystrom import NystromMap, kernel_spectrum_nystrom
from specurate.spectrum.operators import center_gram, rbf_kernel

EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    """Single-threaded BLAS: faster at these sizes and steady when the cores are shared."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _exact(x: np.ndarray, sigma: float, center: bool = True) -> np.ndarray:
    """Descending eigenvalues of center_gram(K)/n (K/n uncentered), computed independently."""
    k, _ = rbf_kernel(x, bandwidth=sigma)
    g = center_gram(k) if center else k
    return np.linalg.eigvalsh(g)[::-1] / x.shape[0]


@pytest.fixture(scope="module")
def decaying():
    """n = 1000, d = 10 Gaussian with variances k⁻² (a fast-decaying RBF spectrum), its median
    bandwidth and exact centered spectrum."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1000, 10)) / np.arange(1, 11)
    k, sigma = rbf_kernel(x)
    return x, sigma, np.linalg.eigvalsh(center_gram(k))[::-1] / x.shape[0]


@pytest.mark.parametrize("center", [True, False])
def test_all_rows_as_landmarks_give_the_exact_spectrum(center):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 5)) + 1.0
    n = x.shape[0]
    rep = kernel_spectrum_nystrom(x, landmarks=n, groups=0, center=center)
    sigma = rep.bandwidth
    exact = _exact(x, sigma, center)
    lam = rep.eigenvalues
    r = lam.size
    # K̃ = K up to the cutoff, which drops K_mm eigenvalues ≤ 1e-10·λ_max(K) and so moves T by
    # ≤ 1e-10·λ₁(K/n), and rounding: every eigenvalue agrees to 1e-8·λ₁ (measured 2.2e-15)
    np.testing.assert_allclose(lam, exact[:r], rtol=0, atol=1e-8 * exact[0])
    # and the well-resolved ones to 1e-8 relative each (measured ≤ 7.9e-13)
    big = exact[:r] > 1e-4 * exact[0]
    np.testing.assert_allclose(lam[big], exact[:r][big], rtol=1e-8)
    # whatever the cutoff dropped is inside the reported bound (here nothing: gap 5e-16)
    assert np.sum(exact[:r] - lam) + np.sum(exact[r:]) <= rep.extras["nystrom"]["trace_gap"] + 1e-12
    assert rep.extras["nystrom"]["rank"] == r and rep.extras["nystrom"]["landmarks"] == n
    assert rep.kernel == "rbf" and rep.d == 5 and rep.centered == center
    if center:  # the same operator as estimate_spectrum(kernel="rbf"): median σ, centered K/n
        ref = estimate_spectrum(x, kernel="rbf", ci_method="none")
        assert ref.bandwidth == pytest.approx(sigma, rel=1e-12)
        k = min(ref.eigenvalues.size, r)
        np.testing.assert_allclose(lam[:k], ref.eigenvalues[:k], rtol=0, atol=1e-8 * exact[0])


def test_every_eigenvalue_error_is_inside_the_trace_gap(decaying):
    x, sigma, exact = decaying
    rep = kernel_spectrum_nystrom(x, landmarks=200, bandwidth=sigma, groups=4)
    ny = rep.extras["nystrom"]
    gap, lam = ny["trace_gap"], rep.eigenvalues
    r = lam.size
    err = exact[:r] - lam
    # ε: rounding of the two eigensolvers (backward error ≲ n·eps·λ₁ each) and of the features
    # (≤ residual_tol per row, the map's first-order worst-case bound)
    eps = ny["residual_tol"] + 10 * x.shape[0] * EPS * exact[0]
    assert err.min() >= -eps  # measured min 7.3e-6 > 0
    assert err.max() <= gap + eps  # measured max 1.1e-4 vs gap 4.6e-3
    # all n errors together (the unreported tail: λ̃_k = 0 for k > r) are within the gap too
    assert err.sum() + exact[r:].sum() <= gap + eps
    # not vacuous: the gap is 3% of λ₁ and 1.1% of tr T
    assert gap < 0.05 * exact[0] and ny["relative_trace_gap"] < 0.02
    assert 0 < rep.eig_error_bound <= 1


def test_trace_gap_shrinks_as_landmarks_grow(decaying):
    x, sigma, _ = decaying
    gaps = [
        kernel_spectrum_nystrom(x, landmarks=m, bandwidth=sigma, groups=0).extras["nystrom"][
            "trace_gap"
        ]
        for m in (25, 50, 100, 200)
    ]
    # one seed gives nested landmark sets, so the gap cannot grow; measured 0.069, 0.032,
    # 0.0125, 0.0046
    assert all(a > b for a, b in itertools.pairwise(gaps))
    assert gaps[-1] < gaps[0] / 10


@settings(max_examples=30, deadline=None)
@given(
    s=st.integers(2, 25),
    k=st.integers(1, 20),
    d=st.integers(1, 4),
    m=st.integers(1, 30),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    log_sigma=st.floats(-2, 2),
    data_seed=st.integers(0, 2**16),
    dup=st.booleans(),
)
def test_residuals_are_nonnegative_up_to_rounding(s, k, d, m, scale, log_sigma, data_seed, dup):
    rng = np.random.default_rng(data_seed)
    sample = scale * rng.standard_normal((s, d)) + scale * 10
    if dup:  # repeated rows make K_mm singular: the cutoff must cope
        sample[s // 2 :] = sample[0]
    sigma = scale * 10.0**log_sigma
    nmap = NystromMap.fit(sample, landmarks=m, bandwidth=sigma, seed=data_seed)
    chunk = np.vstack([sample, scale * rng.standard_normal((k, d)) + scale * 10])
    phi = nmap.transform(chunk)
    assert phi.shape == (s + k, nmap.rank) and np.isfinite(phi).all()
    raw = 1.0 - np.sum(phi**2, axis=1)
    assert raw.min() >= -nmap.residual_tol
    res = nmap.residual(chunk)
    assert res.min() >= 0.0 and res.max() <= 1.0 + nmap.residual_tol
    assert 1 <= nmap.rank <= min(m, s)


def test_map_is_picklable_and_nested():
    x = np.random.default_rng(3).standard_normal((120, 4))
    nmap = NystromMap.fit(x, landmarks=30, seed=5)
    back = pickle.loads(pickle.dumps(nmap))
    np.testing.assert_array_equal(back.transform(x), nmap.transform(x))
    bigger = NystromMap.fit(x, landmarks=60, seed=5)
    rows = {tuple(r) for r in bigger.landmarks}
    assert all(tuple(r) in rows for r in nmap.landmarks)
    assert bigger.residual(x).mean() <= nmap.residual(x).mean()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda x: NystromMap.fit(x, landmarks=0), "landmarks"),
        (lambda x: NystromMap.fit(x, bandwidth=0.0), "bandwidth"),
        (lambda x: NystromMap.fit(x, bandwidth=-1.0), "bandwidth"),
        (lambda x: NystromMap.fit(np.where(x > 1, np.nan, x)), "sample"),
        (lambda x: NystromMap.fit(x, landmarks=5).transform(x[:, :2]), "chunk"),
        (lambda x: NystromMap.fit(x, landmarks=5).residual(np.full((2, 3), np.inf)), "chunk"),
        (lambda x: kernel_spectrum_nystrom(x, landmarks=0), "landmarks"),
        (lambda x: kernel_spectrum_nystrom(x, bandwidth=-2.0), "bandwidth"),
        (lambda x: kernel_spectrum_nystrom(x, groups=1), "groups"),
        (lambda x: kernel_spectrum_nystrom(x, ci=1.5), "ci"),
        (lambda x: kernel_spectrum_nystrom(x, y=np.zeros(7)), "targets"),
    ],
)
def test_bad_input_raises_one_sentence(call, name):
    x = np.random.default_rng(2).standard_normal((60, 3))
    with pytest.raises(SpecurateInputError) as info:
        call(x)
    msg = str(info.value)
    assert name in msg and "\n" not in msg


def test_nonfinite_data_names_the_row():
    x = np.random.default_rng(2).standard_normal((60, 3))
    x[41, 1] = np.nan
    with pytest.raises(SpecurateInputError, match="row 41"):
        kernel_spectrum_nystrom(x, landmarks=10)


def test_streamed_file_equals_in_memory_array(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((600, 6)) / np.arange(1, 7)
    y = x[:, 0] - 0.5 * x[:, 1] + 0.1 * rng.standard_normal(600)
    path = tmp_path / "x.npy"
    np.save(path, x)
    kw = {"landmarks": 80, "groups": 5, "seed": 3}
    mem = kernel_spectrum_nystrom(x, y, **kw)
    disk = kernel_spectrum_nystrom(path, y, **kw)
    chunked = kernel_spectrum_nystrom(path, y, chunk_rows=77, **kw)
    for rep in (disk, chunked):
        np.testing.assert_allclose(rep.eigenvalues, mem.eigenvalues, rtol=0, atol=1e-13)
        assert rep.b == pytest.approx(mem.b, rel=1e-9)
        assert rep.b_ci == pytest.approx(mem.b_ci, rel=1e-9)
        assert rep.target.a == pytest.approx(mem.target.a, rel=1e-9)
        assert rep.extras["nystrom"]["trace_gap"] == pytest.approx(
            mem.extras["nystrom"]["trace_gap"], rel=1e-12
        )
    assert disk.extras == mem.extras and disk.bandwidth == mem.bandwidth
