"""Tests for the streaming covariance (specurate.spectrum.streaming).

Tolerances. Every covariance entry is a sum of n products accumulated in float64 (unit
roundoff u = 2⁻⁵³ ≈ 1.1e-16). The worst-case bound of recursive summation is γ_n ≈ n·u times
the sum of |terms|; with chunk_rows=1 each row is added to the accumulator separately, which is
that recursive case: for n ≤ 1500 rows, γ_n ≈ 1.7e-13. Because the data below have a mean of
the same order as their spread (and we shift by the first chunk's mean), Σ|terms| is within a
small factor (< 5) of n·max|Σ|, so both our result and numpy's two-pass reference lie within
about 1e-12 · max|Σ| of the exact covariance. We therefore compare entries with
``atol = 1e-12 · max|Σ|`` ("~1e-12 relative" in the max norm); the observed errors are
1e-16 – 1e-14.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specurate.errors import SpecurateInputError
from specurate.io import load_array
from specurate.spectrum.streaming import (
    StreamingCovariance,
    StreamingMoments,
    iter_row_chunks,
    streaming_covariance,
    streaming_eigvalsh,
)

RTOL = 1e-12  # max-norm relative tolerance justified in the module docstring


def _data(n: int = 1003, d: int = 13, seed: int = 0, dtype: type = np.float64) -> np.ndarray:
    """Correlated Gaussian rows with a non-zero mean and unequal scales."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d)) / np.sqrt(d)
    x = rng.standard_normal((n, d)) @ a * rng.uniform(0.2, 3.0, d) + rng.normal(0.0, 2.0, d)
    return x.astype(dtype)


def _close(actual: np.ndarray, expected: np.ndarray, rtol: float = RTOL) -> None:
    scale = float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=0.0, atol=rtol * scale)


def _write_parquet(path: Path, x: np.ndarray, row_group_size: int = 97) -> Path:
    table = pa.table({f"f{j}": x[:, j] for j in range(x.shape[1])})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def _source(kind: str, x: np.ndarray, tmp_path: Path):
    if kind == "array":
        return x
    if kind == "npy":
        path = tmp_path / "data.npy"
        np.save(path, x)
        return path
    return _write_parquet(tmp_path / "data.parquet", x)


# --------------------------------------------------------------------------------------------
# Accuracy against numpy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["array", "npy", "parquet"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk_rows", [None, 1, 64, 100, 5000])
def test_matches_numpy(kind, dtype, chunk_rows, tmp_path):
    x = _data(dtype=dtype)  # n = 1003: 64 and 100 do not divide n; 5000 > n
    src = _source(kind, x, tmp_path)
    x64 = x.astype(np.float64)  # exact for float32
    res = streaming_covariance(src, chunk_rows=chunk_rows)
    assert isinstance(res, StreamingCovariance)
    assert (res.n, res.d) == x.shape
    _close(res.covariance, np.cov(x64, rowvar=False, bias=True))
    np.testing.assert_array_equal(res.covariance, res.covariance.T)
    _close(res.mean, x64.mean(axis=0))
    raw = streaming_covariance(src, center=False, chunk_rows=chunk_rows)
    _close(raw.covariance, x64.T @ x64 / x.shape[0])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 300),
    d=st.integers(1, 9),
    chunk_rows=st.integers(1, 400),
    seed=st.integers(0, 2**16),
)
def test_matches_numpy_property(n, d, chunk_rows, seed):
    x = _data(n=n, d=d, seed=seed)
    res = streaming_covariance(x, chunk_rows=chunk_rows)
    _close(res.covariance, np.cov(x, rowvar=False, bias=True).reshape(d, d))


def test_integer_and_bool_columns(tmp_path):
    rng = np.random.default_rng(3)
    n = 500
    table = pa.table(
        {
            "i8": rng.integers(-100, 100, n).astype(np.int8),
            "u32": rng.integers(0, 10**6, n).astype(np.uint32),
            "flag": rng.random(n) < 0.3,
            "f32": rng.standard_normal(n).astype(np.float32),
        }
    )
    path = tmp_path / "mixed.parquet"
    pq.write_table(table, path, row_group_size=128)
    x = np.column_stack([table.column(c).to_numpy().astype(np.float64) for c in table.column_names])
    res = streaming_covariance(path, chunk_rows=70)
    _close(res.covariance, np.cov(x, rowvar=False, bias=True))
    chunks = list(iter_row_chunks(path, chunk_rows=70))
    np.testing.assert_array_equal(np.concatenate(chunks), x)


def test_iter_row_chunks_views_and_sizes(tmp_path):
    x = _data(n=250, d=5, dtype=np.float32)
    path = tmp_path / "rows.npy"
    np.save(path, x)
    chunks = list(iter_row_chunks(path, chunk_rows=64))
    assert [c.shape[0] for c in chunks] == [64, 64, 64, 58]
    assert all(c.dtype == np.float32 for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), x)
    default = list(iter_row_chunks(x))  # d = 5: default is the 64-row minimum
    assert default[0].shape == (64, 5)
    assert np.shares_memory(default[0], x)


def test_large_offset_stability():
    """Mean 1e6, unit spread: the one-pass E[xxᵀ] − x̄x̄ᵀ loses everything, ours does not."""
    rng = np.random.default_rng(7)
    n, d = 4000, 6
    a = np.eye(d) + 0.3 * rng.standard_normal((d, d))
    x = 1e6 + rng.standard_normal((n, d)) @ a
    ref = np.cov(x, rowvar=False, bias=True)  # two-pass: centers first, accurate
    scale = np.max(np.abs(ref))
    # Naive one pass: entries of XᵀX/n are ~1e12, their rounding (~1e12 · 1e-16 · growth) is
    # of the order of the unit covariance itself.
    mu = x.mean(axis=0)
    naive = x.T @ x / n - np.outer(mu, mu)
    naive_err = np.max(np.abs(naive - ref)) / scale
    assert naive_err > 1e-4
    # Shifted sums: x − s is exact for |x − s| ≪ |x| (Sterbenz), leaving the float64
    # representation error of the data (ulp(1e6) ≈ 1.2e-10) and ordinary summation error.
    for chunk_rows in (None, 1, 333):
        ours = streaming_covariance(x, chunk_rows=chunk_rows).covariance
        assert np.max(np.abs(ours - ref)) / scale < 1e-9
    # float32 data with a large offset: ours agrees with the float64 two-pass on the same
    # (float32) values far better than float32 precision.
    x32 = (1e4 + rng.standard_normal((n, d))).astype(np.float32)
    ref32 = np.cov(x32.astype(np.float64), rowvar=False, bias=True)
    _close(streaming_covariance(x32, chunk_rows=500).covariance, ref32, rtol=1e-10)


# --------------------------------------------------------------------------------------------
# Targets and jackknife groups
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["array", "npy", "parquet"])
def test_cross_covariance(kind, tmp_path):
    x = _data(n=801, d=7, dtype=np.float32)
    x64 = x.astype(np.float64)
    rng = np.random.default_rng(1)
    y2 = x64[:, :2] @ np.array([[1.0, -2.0], [0.5, 3.0]]) + rng.standard_normal((801, 2)) + 5.0
    src = _source(kind, x, tmp_path)
    xc = x64 - x64.mean(axis=0)
    for y in (y2, y2[:, 0]):
        res = streaming_covariance(src, targets=y, chunk_rows=90)
        ym = y.reshape(len(y), -1)
        yc = ym - ym.mean(axis=0)
        assert res.cross is not None and res.target_var is not None
        assert res.cross.shape == (7, ym.shape[1])
        _close(res.cross, xc.T @ yc / len(y))
        _close(res.target_var, ym.var(axis=0))
        _close(res.target_mean, ym.mean(axis=0))
    raw = streaming_covariance(src, targets=y2, center=False)
    _close(raw.cross, x64.T @ y2 / len(y2))
    _close(raw.target_var, (y2**2).mean(axis=0))


@pytest.mark.parametrize("kind", ["array", "npy", "parquet"])
@pytest.mark.parametrize("groups", [2, 5])
def test_jackknife_leave_one_out(kind, groups, tmp_path):
    x = _data(n=603, d=6)
    y = x[:, 0] - 2.0 * x[:, 3] + np.random.default_rng(2).standard_normal(603)
    src = _source(kind, x, tmp_path)
    res = streaming_covariance(src, groups=groups, targets=y, chunk_rows=77)
    np.testing.assert_array_equal(res.group_bounds, (np.arange(groups + 1) * 603) // groups)
    assert res.group_count.sum() == 603
    assert res.group_scatter.shape == (groups, 6, 6)
    _close(res.covariance, np.cov(x, rowvar=False, bias=True))
    for g in range(groups):
        lo, hi = res.group_bounds[g], res.group_bounds[g + 1]
        xr = np.delete(x, np.s_[lo:hi], axis=0)
        yr = np.delete(y, np.s_[lo:hi])
        _close(res.leave_one_out(g), np.cov(xr, rowvar=False, bias=True))
        cross, tvar = res.leave_one_out_targets(g)
        _close(cross[:, 0], (xr - xr.mean(axis=0)).T @ (yr - yr.mean()) / len(yr))
        _close(tvar, np.array([yr.var()]))
    raw = streaming_covariance(src, groups=groups, center=False)
    lo, hi = raw.group_bounds[1], raw.group_bounds[2]
    xr = np.delete(x, np.s_[lo:hi], axis=0)
    _close(raw.leave_one_out(1), xr.T @ xr / len(xr))


def test_eigvalsh_groups_and_errors():
    x = _data(n=300, d=5)
    _, mom = streaming_eigvalsh(x, groups=3)
    assert type(mom) is StreamingMoments
    _close(mom.leave_one_out(-1), np.cov(x[:200], rowvar=False, bias=True))
    with pytest.raises(SpecurateInputError, match="out of range"):
        mom.leave_one_out(3)
    plain = streaming_covariance(x)
    with pytest.raises(SpecurateInputError, match="groups > 0"):
        plain.leave_one_out(0)
    with pytest.raises(SpecurateInputError, match="groups"):
        streaming_covariance(x, groups=1)


# --------------------------------------------------------------------------------------------
# Eigenvalues, precision, memory
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["array", "npy", "parquet"])
def test_eigvalsh_matches_numpy(kind, tmp_path):
    x = _data(n=900, d=20, dtype=np.float32)
    w, mom = streaming_eigvalsh(_source(kind, x, tmp_path), chunk_rows=128)
    ref = np.linalg.eigvalsh(np.cov(x.astype(np.float64), rowvar=False, bias=True))[::-1]
    assert w.shape == (20,)
    assert np.all(np.diff(w) <= 0)  # descending
    # eigenvalues are perturbed by at most ‖E‖₂ ≤ d · max|E| (Weyl), E the covariance error
    _close(w, ref, rtol=20 * RTOL)
    assert isinstance(mom, StreamingMoments) and not hasattr(mom, "covariance")
    _close(mom.mean, x.astype(np.float64).mean(axis=0))


def test_mixed_precision_accuracy():
    x = _data(n=5000, d=30, dtype=np.float32)
    ref = np.cov(x.astype(np.float64), rowvar=False, bias=True)
    res = streaming_covariance(x, precision="mixed")
    # float32 rounding of x − s (2⁻²⁴ ≈ 6e-8) and float32 sums over ≤ 4096-row blocks
    _close(res.covariance, ref, rtol=1e-5)
    assert res.precision == "mixed"
    w, _ = streaming_eigvalsh(x.astype(np.float64), precision="mixed", chunk_rows=333)
    _close(w, np.linalg.eigvalsh(ref)[::-1], rtol=1e-5)


@pytest.mark.parametrize("precision", ["double", "mixed"])
def test_peak_memory_eigvalsh(precision, tmp_path):
    n, d = 20000, 256
    path = tmp_path / "mem.npy"
    np.save(path, np.random.default_rng(0).standard_normal((n, d), dtype=np.float32))
    streaming_eigvalsh(_data(n=100, d=3))  # one-time imports / LAPACK lookups, not per call
    matrix_bytes = d * d * 8
    tracemalloc.start()
    try:
        w, _ = streaming_eigvalsh(path, precision=precision)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 2 * matrix_bytes, f"peak {peak / matrix_bytes:.2f} × the d×d matrix"
    # and the low-memory result is the covariance spectrum (mixed: float32 sums, see above)
    ref = np.linalg.eigvalsh(np.cov(np.load(path).astype(np.float64), rowvar=False, bias=True))
    _close(w, ref[::-1], rtol=d * RTOL if precision == "double" else 1e-5)


def test_peak_memory_covariance(tmp_path):
    n, d = 20000, 256
    path = tmp_path / "mem.npy"
    np.save(path, np.random.default_rng(0).standard_normal((n, d), dtype=np.float32))
    tracemalloc.start()
    try:
        res = streaming_covariance(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 2 * d * d * 8
    _close(res.covariance, np.cov(np.load(path).astype(np.float64), rowvar=False, bias=True))


def test_progress_bar(tmp_path, capsys):
    x = _data(n=200, d=4)
    res = streaming_covariance(x, progress=True, chunk_rows=50)
    _close(res.covariance, np.cov(x, rowvar=False, bias=True))
    assert "covariance" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Errors: SpecurateInputError naming the file
# --------------------------------------------------------------------------------------------


def _raises(src, fragments, **kwargs):
    with pytest.raises(SpecurateInputError) as info:
        streaming_covariance(src, **kwargs)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(SpecurateInputError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def _bad_files(d: Path) -> dict[str, Path]:
    """One file per problem a data file can have (each named after its problem)."""
    x = _data(n=300, d=3)
    holes = x.copy()
    holes[211, 1] = np.nan
    files = {
        "missing": d / "absent.npy",
        "directory": d / "folder.npy",
        "unsupported": d / "table.txt",
        "not_numpy": d / "garbage.npy",
        "not_parquet": d / "garbage.parquet",
        "one_d": d / "vector.npy",
        "three_d": d / "cube.npy",
        "one_row": d / "one_row.npy",
        "one_row_parquet": d / "one_row.parquet",
        "strings_npy": d / "strings.npy",
        "complex_npy": d / "complex.npy",
        "two_arrays": d / "two.npz",
        "nan_npy": d / "holes.npy",
        "nan_parquet": d / "holes.parquet",
        "nan_csv": d / "holes.csv",
        "null_parquet": d / "nulls.parquet",
        "text_parquet": d / "strings.parquet",
        "text_csv": d / "strings.csv",
    }
    files["directory"].mkdir()
    files["unsupported"].write_text("1,2\n3,4\n")
    files["not_numpy"].write_text("not numpy")
    files["not_parquet"].write_text("not parquet")
    np.save(files["one_d"], np.ones(10))
    np.save(files["three_d"], np.ones((4, 3, 2)))
    np.save(files["one_row"], np.ones((1, 4)))
    _write_parquet(files["one_row_parquet"], np.ones((1, 4)))
    np.save(files["strings_npy"], np.array([["a", "b"], ["c", "d"]]))
    np.save(files["complex_npy"], np.ones((5, 2), dtype=complex))
    np.savez(files["two_arrays"], foo=x, bar=x)
    np.save(files["nan_npy"], holes)
    _write_parquet(files["nan_parquet"], holes)
    np.savetxt(files["nan_csv"], holes, delimiter=",", header="a,b,c", comments="")
    nulls = pa.table({"a": pa.array([1.0, 2.0, None, 4.0]), "b": [1.0, 2.0, 3.0, 4.0]})
    pq.write_table(nulls, files["null_parquet"])
    pq.write_table(
        pa.table({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]}), files["text_parquet"]
    )
    files["text_csv"].write_text("x,label\n" + "1.0,a\n" * 4)
    return files


#: what each message must say (besides the file name)
_PROBLEMS = {
    "missing": "no such file",
    "directory": "is a directory",
    "unsupported": "unsupported format '.txt'",
    "not_numpy": "not a NumPy .npy file (it looks like text",
    "not_parquet": "not a readable Parquet file",
    "one_d": "expected a 2-D array",
    "three_d": "expected a 2-D array",
    "one_row": "has 1 examples; at least 2 are needed",
    "one_row_parquet": "has 1 examples; at least 2 are needed",
    "strings_npy": "is not numeric",
    "complex_npy": "is not numeric",
    "two_arrays": "holds arrays",
    "nan_npy": "NaN or infinite values (first in row 211)",
    "nan_parquet": "NaN or infinite values (first in row 211)",
    "nan_csv": "column 'b' has a missing value in row 211",  # pyarrow reads nan as null
    "null_parquet": "column 'a' has a missing value in row 2",
    "text_parquet": "column 'label' is not numeric",
    "text_csv": "column 'label' is not numeric",
}


@pytest.mark.parametrize("problem", sorted(_PROBLEMS))
def test_bad_file_same_message_as_load_array(problem, tmp_path):
    # The streaming reader and load_array share io.py's checks: one bad file, one sentence.
    path = _bad_files(tmp_path)[problem]
    streamed = _message(streaming_covariance, path, chunk_rows=50)
    loaded = _message(load_array, path, min_rows=2)
    assert streamed == loaded
    assert path.name in streamed and _PROBLEMS[problem] in streamed, streamed
    assert "\n" not in streamed
    if not problem.startswith("nan"):  # iter_row_chunks yields values unchecked
        assert _message(lambda: list(iter_row_chunks(path, chunk_rows=7))) == loaded


def test_every_format_streams(tmp_path):
    # .npy, .npz, .parquet and .csv (the formats of load_array) give the same covariance
    x = _data(n=400, d=5)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", x=x)
    _write_parquet(tmp_path / "x.parquet", x)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", fmt="%.17g")
    ref = np.cov(x, rowvar=False, bias=True)
    for name in ("x.npy", "x.npz", "x.parquet", "x.csv"):
        res = streaming_covariance(tmp_path / name, chunk_rows=64)
        assert res.n == 400
        _close(res.covariance, ref)  # CSV round-trips float64 exactly with %.17g


def test_error_in_memory_sources():
    with pytest.raises(SpecurateInputError, match="must be a path"):
        streaming_covariance([[1.0, 2.0], [3.0, 4.0]])
    for shape in [(10,), (4, 3, 2)]:
        with pytest.raises(SpecurateInputError, match="the input array: expected a 2-D array"):
            streaming_covariance(np.ones(shape))
    with pytest.raises(SpecurateInputError, match="the input array: has 1 examples"):
        streaming_covariance(np.ones((1, 3)))


@pytest.mark.parametrize("bad_row", [0, 37, 1002])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_error_nonfinite_npy(bad_row, value, tmp_path):
    x = _data()
    x[bad_row, 4] = value
    path = tmp_path / "holes.npy"
    np.save(path, x)
    msg = _raises(path, ["holes.npy", f"first in row {bad_row}"], chunk_rows=100)
    assert "NaN or infinite" in msg
    with pytest.raises(SpecurateInputError, match=f"row {bad_row}"):
        streaming_eigvalsh(path, precision="mixed")


def test_error_nonfinite_parquet_chunks(tmp_path):
    x = _data(n=300, d=3)
    x[211, 1] = np.nan
    path = _write_parquet(tmp_path / "holes.parquet", x)
    _raises(path, ["holes.parquet", "row 211"], chunk_rows=50)


def test_error_targets(tmp_path):
    x = _data(n=50, d=3)
    path = tmp_path / "feat.npy"
    np.save(path, x)
    _raises(path, ["feat.npy", "49", "50"], targets=np.zeros(49))
    y = np.zeros(50)
    y[17] = np.nan
    _raises(path, ["feat.npy", "targets", "row 17"], targets=y)


def test_error_bad_options(tmp_path):
    x = _data(n=50, d=3)
    with pytest.raises(SpecurateInputError, match="chunk_rows"):
        streaming_covariance(x, chunk_rows=0)
    with pytest.raises(SpecurateInputError, match="precision"):
        streaming_covariance(x, precision="half")
    with pytest.raises(SpecurateInputError, match="groups"):
        streaming_covariance(x, groups=51)
