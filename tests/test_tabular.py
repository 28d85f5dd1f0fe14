"""nnlearn.datasets.tabular: load_table reads a CSV with a header (any delimiter, string
or numeric target, a chosen subset of features) or an .npz of arrays, and refuses bad
files with errors naming the column, the line and the value."""

import numpy as np
import pytest

from nnlearn.datasets.tabular import load_table


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_a_string_target(tmp_path):
    path = write(tmp_path, "x1,x2,ring\n0.5,-1,inner\n2,3.25,outer\n\n-4,0,inner\n")
    table = load_table(path, target="ring")
    np.testing.assert_array_equal(table.X, [[0.5, -1.0], [2.0, 3.25], [-4.0, 0.0]])
    assert table.X.dtype == np.float64
    np.testing.assert_array_equal(table.y, ["inner", "outer", "inner"])  # blank line skipped
    assert table.feature_names == ["x1", "x2"] and table.target_name == "ring"


def test_numeric_target_chosen_features_and_other_delimiters(tmp_path):
    path = write(tmp_path, "a;target;b;c\n1;0.5;2;3\n4;1.5;5;6\n")
    table = load_table(path, target="target", features=["c", "a"])
    np.testing.assert_array_equal(table.X, [[3.0, 1.0], [6.0, 4.0]])
    assert table.y.dtype == np.float64
    np.testing.assert_array_equal(table.y, [0.5, 1.5])
    assert table.feature_names == ["c", "a"]
    tabs = load_table(write(tmp_path, "p\tq\n1\t2\n", "data.tsv"), target="q")
    np.testing.assert_array_equal(tabs.X, [[1.0]])


def test_a_file_to_predict_on_may_lack_the_target(tmp_path):
    path = write(tmp_path, "x1,x2\n1,2\n3,4\n")
    table = load_table(path, target="ring", require_target=False)
    assert table.y is None and table.target_name is None
    assert table.feature_names == ["x1", "x2"]
    with pytest.raises(ValueError, match="no column 'ring'"):
        load_table(path, target="ring")


@pytest.mark.parametrize("text, kwargs, message", [
    ("x1,x2,ring\n1,2,a\n", {"target": "rign"},
     r"no column 'rign'\. Did you mean 'ring'\? Columns: x1, x2, ring"),
    ("x1,x2,ring\n1,2,a\n", {"target": "ring", "features": ["x3"]},
     "no feature column 'x3'"),
    ("x1,colour,ring\n1,red,a\n2,blue,b\n", {"target": "ring"},
     r"feature column 'colour' is not numeric \(line 2: 'red'\)"),
    ("x1,x2,ring\n1,2,a\n3,,b\n", {"target": "ring"},
     r"feature column 'x2' is not numeric \(line 3: ''\)"),
    ("x1,x2,ring\n1,2,a\n3,4\n", {"target": "ring"}, "line 3: 2 values for 3 columns"),
    ("x1,x2,ring\n1,2,a\n3,4,\n", {"target": "ring"}, "target column 'ring' has empty cells"),
    ("1,2,3\n4,5,6\n", {}, "the first row must be a header"),
    ("x1,x2,ring\n", {"target": "ring"}, "a header row and at least one data row"),
])
def test_bad_csv_files_are_refused_naming_the_problem(tmp_path, text, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_table(write(tmp_path, text), **kwargs)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_table(tmp_path / "missing.csv", target="y")
    with pytest.raises(ValueError, match="expected a .csv or .npz file; got .json"):
        load_table(write(tmp_path, "{}", "data.json"))


def test_npz_arrays(tmp_path):
    images = np.arange(24).reshape(3, 2, 2, 2)
    np.savez(tmp_path / "images.npz", X=images, y=np.array([0, 1, 0]))
    table = load_table(tmp_path / "images.npz")
    assert table.X.shape == (3, 8) and table.X.dtype == np.float64  # flattened per sample
    np.testing.assert_array_equal(table.X[1], np.arange(8, 16))
    np.testing.assert_array_equal(table.y, [0, 1, 0])
    assert table.feature_names == [f"x{i}" for i in range(8)] and table.target_name == "y"
    np.savez(tmp_path / "features.npz", x=np.ones((2, 2)))
    table = load_table(tmp_path / "features.npz", features=["u", "v"])
    assert table.y is None and table.target_name is None and table.feature_names == ["u", "v"]


@pytest.mark.parametrize("arrays, message", [
    ({"inputs": np.ones((2, 2))}, r"expected an array named 'x' \(or 'X'\); found \['inputs'\]"),
    ({"x": np.array([["a", "b"]])}, "array 'x' must be numeric"),
    ({"x": np.ones((3, 2)), "y": np.ones(2)}, "'x' has 3 rows but 'y' has 2"),
])
def test_bad_npz_files_are_refused_naming_the_problem(tmp_path, arrays, message):
    np.savez(tmp_path / "data.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        load_table(tmp_path / "data.npz")


# -- careless and hostile files ---------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    (b"x1,x2,x1,ring\n1,2,3,a\n", r"column 'x1' appears twice in the header \(columns 1 and 3\)"),
    (b"x1,ring\n" + b"1" * 140_000 + b",a\n", r"line 2: field larger than field limit"),
    (b"x1,ring\n1,a\n2\x00,b\n", r"'x1' is not numeric \(line 3: '2\\x00'\)"),
    (b"x1,ring\n1,caf\xe9\n", "not UTF-8 text"),
    (b"x1,x2,ring\n1,nan,a\n2,3,b\n", r"feature column 'x2' holds 'nan' \(line 2\)"),
    (b"x1,x2,ring\n1,2,a\n\n\n2,-inf,b\n", r"feature column 'x2' holds '-inf' \(line 5\)"),
    (b"x1,y\n1,inf\n2,3\n", "target column 'y' holds 'inf'"),
    (b"x1,x2,ring\n1,2,a\n\n3,4\n", "line 4: 2 values for 3 columns"),
])
def test_careless_csv_files_are_refused_naming_column_and_line(tmp_path, content, message):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    target = "y" if b",y\n" in content else "ring"
    with pytest.raises(ValueError, match=message):
        load_table(path, target=target)


def npz_with(tmp_path, members: dict):
    import zipfile

    path = tmp_path / "data.npz"
    with zipfile.ZipFile(path, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    return path


def npy_bytes(array, allow_pickle=False):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_hostile_npz_files_are_refused_before_anything_is_allocated(tmp_path):
    import hostile

    cases = {
        "forged shape": ({"x.npy": hostile.npy_header((10**12, 8), "<f8") + bytes(64)},
                         r"declares an array of shape \(1000000000000, 8\)"),
        "pickled object array": ({"x.npy": npy_bytes(np.array([hostile._Payload()], object),
                                                     allow_pickle=True)}, "holds dtype '|O'"),
        "pickled labels": ({"x.npy": npy_bytes(np.ones((1, 2))),
                            "y.npy": npy_bytes(np.array([hostile._Payload()], object),
                                               allow_pickle=True)}, "holds dtype '|O'"),
        "structured": ({"x.npy": npy_bytes(np.zeros(2, [("a", "<f4")]))}, "holds dtype"),
        "scalar x": ({"x.npy": npy_bytes(np.float64(3.0))}, "at least one row"),
        "empty x": ({"x.npy": npy_bytes(np.zeros((0, 3)))}, "at least one row"),
        "no features": ({"x.npy": npy_bytes(np.zeros((3, 0)))}, "has no features"),
        "nan": ({"x.npy": npy_bytes(np.array([[np.nan, 1.0]]))}, "contains NaN or infinity"),
        "2-d y": ({"x.npy": npy_bytes(np.ones((2, 2))), "y.npy": npy_bytes(np.ones((2, 2)))},
                  "one value per row"),
        "scalar y": ({"x.npy": npy_bytes(np.ones((2, 2))), "y.npy": npy_bytes(np.float64(1))},
                     "one value per row"),
        "not a zip": (None, "not a readable NumPy .npz file"),
    }
    for members, message in cases.values():
        path = npz_with(tmp_path, members) if members is not None else tmp_path / "data.npz"
        if members is None:
            path.write_bytes(b"\x93NUMPY not a zip")
        with pytest.raises(ValueError, match=message):
            load_table(path)
    assert not (tmp_path / hostile.MARKER).exists()


def test_npz_features_must_match_the_names_given(tmp_path):
    np.savez(tmp_path / "data.npz", x=np.ones((2, 3)))
    with pytest.raises(ValueError, match="has 3 features per row; expected 2"):
        load_table(tmp_path / "data.npz", features=["a", "b"])


# -- fuzz: only ValueError (or a Table) comes out, whatever the bytes -----------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CSV_PIECES = st.sampled_from(["x1", "x2", "ring", ",", ";", "\t", "\n", "\r\n", '"', "1",
                              "-2.5", "nan", "inf", "1e400", "", " ", "a", "\x00", "\xe9",
                              "1_0", "x1,x1"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.lists(CSV_PIECES, max_size=40).map("".join) | st.text(max_size=200) | st.binary(
    max_size=200), st.sampled_from([None, "ring", "x2"]), st.booleans())
def test_fuzz_load_table_csv(tmp_path, content, target, require):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content if isinstance(content, bytes) else
                     content.encode("utf-8", "surrogatepass"))
    try:
        table = load_table(path, target=target, require_target=require)
    except ValueError:
        return
    assert table.X.dtype == np.float64 and np.isfinite(table.X).all()
    assert len(set(table.feature_names)) == len(table.feature_names)


VALID_NPZ = npy_bytes(np.arange(6.0).reshape(3, 2))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_load_table_npz(tmp_path, data):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("x.npy", VALID_NPZ)
        z.writestr("y.npy", npy_bytes(np.array([0, 1, 0])))
    raw = bytearray(buffer.getvalue())
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw) - 1))
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if kind == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "cut":
            del raw[max(at, 1):]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    path = tmp_path / "fuzz.npz"
    path.write_bytes(bytes(raw))
    try:
        load_table(path)
    except ValueError:
        pass
