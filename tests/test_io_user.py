"""A user's own data set: embeddings list columns, folders of Parquet files, and labels, groups
and weights given as columns or files (specurate.io.load_user_data)."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specurate.errors import SpecurateInputError
from specurate.io import (
    check_path,
    encode_categories,
    load_array,
    load_user_data,
    open_rows,
    read_rows,
    read_table,
)

N, D = 60, 5
X = np.random.default_rng(0).standard_normal((N, D)).astype(np.float32)


def _lists(x, *, fixed=False, large=False):
    """An arrow list column holding the rows of ``x``."""
    values = pa.array(x.ravel())
    if fixed:
        return pa.FixedSizeListArray.from_arrays(values, x.shape[1])
    offsets = np.arange(0, x.size + 1, x.shape[1])
    if large:
        return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _emb_table(x=X, **kw):
    ids = pa.array([f"doc{i}" for i in range(len(x))], pa.string())
    return pa.table({"id": ids, "emb": _lists(x, **kw)})


def _write(path, table):
    pq.write_table(table, path)
    return path


def _stack(src, rows):
    return np.concatenate([chunk for _, chunk in src.chunks(rows)])


def _error(fn, *args, **kwargs):
    with pytest.raises(SpecurateInputError) as err:
        fn(*args, **kwargs)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


# --------------------------------------------------------------------------------------------
# Embeddings list columns
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "large_list", "fixed_size_list"])
def test_a_list_column_is_the_features(tmp_path, kind):
    p = _write(
        tmp_path / "e.parquet",
        _emb_table(fixed=kind == "fixed_size_list", large=kind == "large_list"),
    )
    np.testing.assert_array_equal(load_array(p, features="emb"), X.astype(np.float64))
    src = open_rows(p, features="emb")
    assert (src.n, src.d, src.dtype, src.format) == (N, D, np.float32, ".parquet")
    chunks = list(src.chunks(7))
    assert [r0 for r0, _ in chunks] == list(range(0, N, 7))
    assert all(c.dtype == np.float32 and c.shape[1] == D and c.flags.writeable for _, c in chunks)
    np.testing.assert_array_equal(_stack(src, 7), X)


def test_the_one_list_column_is_found_without_features(tmp_path):
    # the id (string) column is not a feature candidate once the list column is picked
    p = _write(tmp_path / "e.parquet", _emb_table(X.astype(np.float64)))
    src = open_rows(p)
    assert (src.d, src.dtype) == (D, np.float64)
    np.testing.assert_array_equal(load_array(p), X)


def test_a_list_column_and_numeric_columns_need_features(tmp_path):
    t = _emb_table().append_column("score", pa.array(np.ones(N)))
    p = _write(tmp_path / "e.parquet", t)
    msg = _error(load_array, p)
    assert "e.parquet" in msg and "'emb'" in msg and "'score'" in msg and "--features" in msg
    np.testing.assert_array_equal(load_array(p, features="score"), np.ones((N, 1)))


def test_ragged_lists_name_the_column_and_row(tmp_path):
    rows = [list(r) for r in X]
    rows[41] = rows[41][:3]
    p = _write(tmp_path / "r.parquet", pa.table({"emb": pa.array(rows, pa.list_(pa.float32()))}))
    for read in (lambda: load_array(p, features="emb"), lambda: _stack(open_rows(p), 10)):
        msg = _error(read)
        assert msg.startswith("r.parquet: column 'emb' has 3 values in row 41, not 5"), msg


@pytest.mark.parametrize("where", ["row", "value"])
def test_missing_lists_and_values_name_the_row(tmp_path, where):
    rows = [list(map(float, r)) for r in X]
    if where == "row":
        rows[17] = None
    else:
        rows[17][2] = None
    p = _write(tmp_path / "m.parquet", pa.table({"emb": pa.array(rows, pa.list_(pa.float64()))}))
    msg = _error(lambda: _stack(open_rows(p, features="emb"), 8))
    assert msg == "m.parquet: column 'emb' has a missing value in row 17."


def test_a_list_of_strings_is_not_features(tmp_path):
    t = pa.table({"tok": pa.array([["a", "b"]] * N)})
    p = _write(tmp_path / "s.parquet", t)
    assert "'tok' is a list of string" in _error(load_array, p, features="tok")


# --------------------------------------------------------------------------------------------
# Folders of Parquet files
# --------------------------------------------------------------------------------------------


def _folder(tmp_path, sizes=(23, 1, 36), name="parts"):
    d = tmp_path / name
    d.mkdir()
    x = np.random.default_rng(1).standard_normal((sum(sizes), D)).astype(np.float32)
    labels = np.array(["cat", "dog", "emu"])[np.arange(sum(sizes)) % 3]
    r0 = 0
    for i, m in enumerate(sizes):
        t = _emb_table(x[r0 : r0 + m]).append_column(
            "y", pa.array(labels[r0 : r0 + m], pa.string())
        )
        _write(d / f"part-{i:03d}.parquet", t)
        r0 += m
    (d / "_SUCCESS").write_text("")
    return d, x, labels


def test_a_folder_reads_as_its_files_concatenated(tmp_path):
    d, x, labels = _folder(tmp_path)
    assert check_path(d) == d
    src = open_rows(d, exclude=["y"])
    assert (src.n, src.d, src.label) == (60, D, "parts")
    for rows in (1, 5, 23, 24, 100):
        np.testing.assert_array_equal(_stack(src, rows), x)
    r0s = [r0 for r0, _ in src.chunks(10)]
    assert r0s == [0, 10, 20, 23, 24, 34, 44, 54]  # chunks end at each file's end
    np.testing.assert_array_equal(load_array(d, drop_column="y"), x)
    table, columns = read_table(d, columns=["y"])
    assert columns == ["y"] and table.column("y").to_pylist() == list(labels)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 30), min_size=1, max_size=4).filter(lambda s: sum(s) >= 2),
    rows=st.integers(1, 40),
)
def test_chunks_of_a_folder_match_the_whole(tmp_path_factory, sizes, rows):
    d, x, _ = _folder(tmp_path_factory.mktemp("h"), tuple(sizes))
    src = open_rows(d, features="emb", min_rows=2)
    got = list(src.chunks(rows))
    assert all(0 < c.shape[0] <= rows for _, c in got)
    assert [r0 for r0, _ in got] == list(np.cumsum([0] + [c.shape[0] for _, c in got])[:-1])
    np.testing.assert_array_equal(np.concatenate([c for _, c in got]), x)


def test_a_file_with_another_schema_is_named(tmp_path):
    d, _, _ = _folder(tmp_path)
    t = pa.table({"id": ["a"], "emb": _lists(X[:1].astype(np.float64)), "y": ["cat"]})
    pq.write_table(t, d / "z.parquet")
    msg = _error(open_rows, d)
    assert msg.startswith("parts/z.parquet: has column 'emb' of type list<element: double>"), msg
    assert "part-000.parquet" in msg
    pq.write_table(pa.table({"emb": _lists(X[:1])}), d / "z.parquet")
    assert _error(load_array, d).startswith("parts/z.parquet: has no column 'id'")


@pytest.mark.parametrize("content", [None, "notes.txt"])
def test_a_folder_without_parquet_files_is_an_error(tmp_path, content):
    d = tmp_path / "empty"
    d.mkdir()
    if content:
        (d / content).write_text("x")
    for fn in (check_path, open_rows, load_array, load_user_data):
        msg = _error(fn, d)
        assert str(d) in msg and "is a directory with no .parquet files" in msg


# --------------------------------------------------------------------------------------------
# Labels, groups and weights
# --------------------------------------------------------------------------------------------


def test_columns_of_the_data_are_labels_groups_and_weights(tmp_path):
    d, x, labels = _folder(tmp_path)
    w = np.linspace(0.0, 2.0, 60)
    t = pa.table(
        {
            "a": x[:, 0],
            "b": x[:, 1],
            "y": labels,
            "src": pa.array(np.array(["web", "books"])[np.arange(60) % 2]).dictionary_encode(),
            "w": w,
        }
    )
    p = _write(tmp_path / "t.parquet", t)
    u = load_user_data(p, labels="y", groups="src", weights=["w"])
    assert (u.name, u.n, u.d) == ("t.parquet", 60, 2)  # y, src and w are not features
    assert u.label_names == ["cat", "dog", "emu"] and u.labels.dtype == np.int64
    np.testing.assert_array_equal(u.labels, np.arange(60) % 3)
    assert u.group_names == ["books", "web"]
    np.testing.assert_array_equal(u.groups, 1 - np.arange(60) % 2)
    assert list(u.weights) == ["w"] and u.weights["w"].dtype == np.float64
    np.testing.assert_array_equal(u.weights["w"], w)
    np.testing.assert_array_equal(u.load(), x[:, :2].astype(np.float64))
    # the labels of a folder, read from the folder's own column
    u = load_user_data(d, labels="y")
    assert u.label_names == ["cat", "dog", "emu"] and u.d == D and u.rows.dtype == np.float32


def test_labels_and_weights_from_files(tmp_path):
    p = _write(tmp_path / "e.parquet", _emb_table())
    (tmp_path / "y.csv").write_text("label\n" + "".join(f"{'ab'[i % 2]}\n" for i in range(N)))
    np.save(tmp_path / "g.npy", (np.arange(N) % 4).astype(float))  # whole-number floats
    _write(tmp_path / "side.parquet", pa.table({"q": np.ones(N), "r": np.arange(N) % 2 == 0}))
    np.savez(tmp_path / "more.npz", w=np.full(N, 2.0), other=np.ones(3))
    u = load_user_data(
        p,
        labels=str(tmp_path / "y.csv"),
        groups=str(tmp_path / "g.npy"),
        weights=[f"{tmp_path / 'side.parquet'}:q", str(tmp_path / "more.npz")],
    )
    assert u.label_names == ["a", "b"] and u.labels[:3].tolist() == [0, 1, 0]
    assert u.group_names == ["0", "1", "2", "3"] and u.groups[:5].tolist() == [0, 1, 2, 3, 0]
    assert sorted(u.weights) == ["more", "q"]
    # path:col for labels too; booleans are classes
    u = load_user_data(p, labels=f"{tmp_path / 'side.parquet'}:r")
    assert u.label_names == ["False", "True"] and u.labels[:2].tolist() == [1, 0]


def test_npz_data_names_its_labels_array(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, emb=X, y=np.arange(N) % 2, w=np.ones(N))
    u = load_user_data(p, labels="y", weights=["w"])  # emb is the only array left
    assert (u.n, u.d, u.label_names, list(u.weights)) == (N, D, ["0", "1"], ["w"])
    np.testing.assert_array_equal(u.load(dtype=np.float32), X)


def test_a_table_file_of_several_columns_needs_one_named(tmp_path):
    p = _write(tmp_path / "e.parquet", _emb_table())
    side = _write(tmp_path / "side.parquet", pa.table({"q": np.ones(N), "r": np.ones(N)}))
    msg = _error(load_user_data, p, labels=str(side))
    assert msg == "side.parquet: has 2 columns; name one as side.parquet:COLUMN."
    assert _error(load_user_data, p, labels=f"{side}:nope") == "side.parquet: no column 'nope'."


def test_an_unknown_name_is_neither_column_nor_file(tmp_path):
    p = _write(tmp_path / "e.parquet", _emb_table())
    msg = _error(load_user_data, p, labels="label")
    assert msg == "e.parquet: no column 'label' and no file 'label'."
    assert _error(load_user_data, p, features="vec") == "e.parquet: no column 'vec'."


@pytest.mark.parametrize(
    "w, fragment",
    [
        (np.r_[np.ones(N - 1), -0.5], "weights must be ≥ 0, but row 59 holds -0.5"),
        (np.r_[np.ones(7), np.nan, np.ones(N - 8)], "NaN or infinite values (first in row 7)"),
        (np.zeros(N), "every weight is zero"),
        (np.ones(N - 1), "has 59 rows but e.parquet has 60 examples"),
    ],
)
def test_bad_weights(tmp_path, w, fragment):
    p = _write(tmp_path / "e.parquet", _emb_table())
    np.save(tmp_path / "w.npy", w)
    msg = _error(load_user_data, p, weights=[str(tmp_path / "w.npy")])
    assert msg.startswith("w.npy: ") and fragment in msg, msg


def test_labels_of_the_wrong_length_name_both_files(tmp_path):
    p = _write(tmp_path / "e.parquet", _emb_table())
    (tmp_path / "y.csv").write_text("y\n" + "a\n" * (N + 2))
    msg = _error(load_user_data, p, labels=str(tmp_path / "y.csv"))
    assert msg == "y.csv: has 62 rows but e.parquet has 60 examples."


def test_labels_must_be_classes(tmp_path):
    msg = _error(encode_categories, np.r_[np.zeros(5), 0.5], "y.npy")
    assert msg == "y.npy: labels must be classes, but row 5 holds 0.5."
    msg = _error(encode_categories, pa.array([1, None, 2]), "t.parquet:y", what="groups")
    assert msg == "t.parquet:y: has a missing value in row 1."
    codes, names = encode_categories(pa.chunked_array([["b", "a"], ["b"]]), "t")
    assert codes.tolist() == [1, 0, 1] and names == ["a", "b"]


def test_a_text_column_among_features_suggests_features(tmp_path):
    t = pa.table({"id": [str(i) for i in range(N)], "a": X[:, 0], "y": np.arange(N) % 2})
    p = _write(tmp_path / "t.parquet", t)
    msg = _error(load_user_data, p, labels="y")
    assert msg == (
        "t.parquet: column 'id' is not numeric (string); name the feature column with --features."
    )
    u = load_user_data(p, features="a", labels="y")  # the label column is never a feature
    assert (u.d, u.label_names) == (1, ["0", "1"])


# --------------------------------------------------------------------------------------------
# Reading all rows or a subsample
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "folder", "npy", "csv"])
def test_loading_chosen_rows_equals_indexing_the_whole(tmp_path, fmt):
    if fmt == "parquet":
        p = _write(tmp_path / "e.parquet", _emb_table())
        x = X
    elif fmt == "folder":
        p, x, _ = _folder(tmp_path)
    elif fmt == "npy":
        p, x = tmp_path / "x.npy", X
        np.save(p, X)
    else:
        p, x = tmp_path / "x.csv", X[:, :2].astype(np.float64)
        np.savetxt(p, x, delimiter=",", header="a,b", comments="")
    u = load_user_data(p)
    whole = u.load()
    np.testing.assert_allclose(whole, x, rtol=1e-15)
    idx = np.sort(np.random.default_rng(2).choice(u.n, 17, replace=False))
    np.testing.assert_array_equal(u.load(rows=idx), whole[idx])
    np.testing.assert_array_equal(u.load(rows=[0, 0, u.n - 1]), whole[[0, 0, -1]])
    assert u.load(rows=[]).shape == (0, u.d)


def test_read_rows_names_a_bad_row_and_bad_indices(tmp_path):
    x = X.astype(np.float64)
    x[33, 1] = np.inf
    src = open_rows(_write(tmp_path / "e.parquet", _emb_table(x)))
    assert "first in row 33" in _error(read_rows, src)
    assert "first in row 33" in _error(read_rows, src, [1, 33, 40])
    np.testing.assert_array_equal(read_rows(src, [1, 40]), x[[1, 40]])
    assert "sorted and in [0, 60)" in _error(read_rows, src, [5, 2])
    assert "sorted and in [0, 60)" in _error(read_rows, src, [60])
    assert "1-D array of row indices" in _error(read_rows, src, [0.5])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=4),
        min_size=1,
        max_size=30,
    )
)
def test_string_codes_are_numpys_unique(strings):
    """Arrow's codes for a string column (sorted by UTF-8 bytes = code points) are exactly
    np.unique's. Surrogates are not text (no UTF-8, so no Parquet or Arrow string holds one) and
    numpy drops trailing NULs from its strings, so neither is drawn."""
    import pyarrow as pa

    from specurate.io import encode_categories

    codes, names = encode_categories(pa.array(strings, pa.string()), "f:col")
    uniq, inv = np.unique(np.array(strings, dtype=str), return_inverse=True)
    assert names == [str(u) for u in uniq]
    np.testing.assert_array_equal(codes, inv.reshape(-1))
