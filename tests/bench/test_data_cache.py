"""Generated task data made once: the data_cache folder keeps what a slow generator made, and a
file that does not load is made again (never trusted, never fatal)."""

import numpy as np

from specurate.bench.tasks import _cached_arrays, data_cache


def test_generated_arrays_are_saved_once_and_read_back(tmp_path):
    calls = []

    def make():
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0, 1, 0])

    x0, y0 = _cached_arrays("k", make)  # no cache active: made every time, nothing written
    assert len(calls) == 1 and not list(tmp_path.iterdir())
    with data_cache(tmp_path / "data"):
        x1, _ = _cached_arrays("k", make)
        x2, y2 = _cached_arrays("k", make)
    assert len(calls) == 2  # the second call read the file
    np.testing.assert_array_equal(x1, x0)
    np.testing.assert_array_equal(x2, x0)
    np.testing.assert_array_equal(y2, y0)
    assert x2.dtype == np.float32 and [p.name for p in (tmp_path / "data").iterdir()] == ["k.npz"]


def test_a_corrupt_cache_file_is_made_again(tmp_path):
    (tmp_path / "k.npz").write_bytes(b"not a zip")
    with data_cache(tmp_path):
        x, _ = _cached_arrays("k", lambda: (np.ones((2, 2)), np.zeros(2)))
        np.testing.assert_array_equal(x, np.ones((2, 2)))
        x, _ = _cached_arrays("k", lambda: (np.zeros((1, 1)), np.zeros(1)))  # now cached
    np.testing.assert_array_equal(x, np.ones((2, 2)))
