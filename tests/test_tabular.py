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
