"""Reading user files: every format, and one clear sentence for every kind of bad input."""

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specurate.errors import SpecurateInputError
from specurate.io import load_array

X = np.random.default_rng(0).standard_normal((60, 4))


def _write(tmp_path, name, arr=X):
    p = tmp_path / name
    if name.endswith(".npy"):
        np.save(p, arr)
    elif name.endswith(".npz"):
        np.savez(p, x=arr)
    elif name.endswith(".parquet"):
        pq.write_table(pa.table({f"f{i}": arr[:, i] for i in range(arr.shape[1])}), p)
    else:
        np.savetxt(
            p,
            arr,
            delimiter=",",
            header=",".join(f"f{i}" for i in range(arr.shape[1])),
            comments="",
        )
    return p


@pytest.mark.parametrize("name", ["a.npy", "a.npz", "a.parquet", "a.csv"])
def test_formats_round_trip(tmp_path, name):
    got = load_array(_write(tmp_path, name))
    np.testing.assert_allclose(got, X, rtol=1e-15 if not name.endswith(".csv") else 1e-12)


def test_csv_without_header_keeps_first_row(tmp_path):
    p = tmp_path / "nohead.csv"
    np.savetxt(p, X, delimiter=",")  # %.18e: float64 round-trips to the last bit but one
    got = load_array(p)
    assert got.shape == X.shape
    np.testing.assert_allclose(got, X, rtol=1e-15)  # row 0 is data, not a header


def test_labels_and_weights_roles(tmp_path):
    p = tmp_path / "y.npy"
    np.save(p, np.arange(60) % 3)
    y = load_array(p, role="labels")
    assert y.dtype == np.int64 and y.shape == (60,)
    np.testing.assert_array_equal(y, np.arange(60) % 3)
    np.save(p, np.linspace(0.5, 2.0, 60)[:, None])  # a one-column matrix is a weight vector
    w = load_array(p, role="weights")
    assert w.dtype == np.float64 and w.shape == (60,)
    np.testing.assert_array_equal(w, np.linspace(0.5, 2.0, 60))


@pytest.mark.parametrize(
    "setup, fragment",
    [
        (lambda d: d / "missing.npy", "no such file"),
        (lambda d: _touch(d / "a.txt"), "unsupported format"),
        (lambda d: _save(d / "v.npy", np.ones(80)), "2-D"),
        (lambda d: _save(d / "few.npy", np.ones((10, 3))), "at least 50"),
        (lambda d: _save(d / "nan.npy", _with(X, (7, 1), np.nan)), "row 7"),
        (lambda d: _save(d / "inf.npy", _with(X, (3, 0), np.inf)), "NaN or infinite"),
        (lambda d: _text(d / "t.csv", "a,b\n" + "1,x\n" * 60), "column 'b' is not numeric"),
        (lambda d: _text(d / "bad.npy", "not numpy"), "not a NumPy .npy file (it looks like text"),
        (lambda d: _npz2(d / "two.npz"), "holds arrays"),
    ],
)
def test_bad_files_name_file_and_problem(tmp_path, setup, fragment):
    p = setup(tmp_path)
    with pytest.raises(SpecurateInputError) as err:
        load_array(p)
    msg = str(err.value)
    assert p.name in msg and fragment in msg
    assert "\n" not in msg


def test_bad_weights_shape(tmp_path):
    p = _save(tmp_path / "w.npy", np.ones((60, 2)))
    with pytest.raises(SpecurateInputError, match="one weight per example"):
        load_array(p, role="weights")


def _touch(p):
    p.write_text("1")
    return p


def _text(p, s):
    p.write_text(s)
    return p


def _save(p, a):
    np.save(p, a)
    return p


def _with(a, idx, val):
    a = a.copy()
    a[idx] = val
    return a


def _npz2(p):
    np.savez(p, foo=X, bar=X)
    return p


@pytest.mark.parametrize(
    "content, message",
    [
        (b"a,b\n1,2\n", "not a NumPy .npy file (it looks like text: save it as .csv)."),
        (b"", "not a NumPy .npy file."),
        (b"\x00\x01\x02\x03\x04\x05\x06", "not a NumPy .npy file."),
    ],
)
def test_a_file_that_is_not_npy_is_named_as_such(tmp_path, content, message):
    p = tmp_path / "x.npy"
    p.write_bytes(content)
    with pytest.raises(SpecurateInputError) as err:
        load_array(p)
    assert str(err.value) == f"x.npy: {message}"
    assert "pickle" not in str(err.value)


def test_a_text_file_named_npz_is_not_a_zip(tmp_path):
    p = tmp_path / "x.npz"
    p.write_text("1,2,3\n")
    with pytest.raises(SpecurateInputError, match=r"x\.npz: not a NumPy \.npz \(zip\) file"):
        load_array(p)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    p = tmp_path / "pipe.npy"
    os.mkfifo(p)
    with pytest.raises(SpecurateInputError, match="is not a regular file"):
        load_array(p)
