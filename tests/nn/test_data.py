"""Data sets: the documents' tables, generated sets (seeded), labels, splits and errors."""
from __future__ import annotations

import math

import pytest

from nn import data
from tests.conftest import require


def test_not_and_xor():
    d = data.load("not")
    assert d.X == [[0.0], [1.0]] and d.y == [1.0, -1.0]
    assert data.load("not", labels="01").y == [1.0, 0.0]  # the documents' targets: NOT 0 = 1, NOT 1 = 0
    x = data.load("xor")
    assert [(row, y) for row, y in zip(x.X, x.y)] == [([0.0, 0.0], -1.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], -1.0)]


def test_table10_labels_01():
    assert data.load("table10", labels="01").y == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]


def test_moons_shape_seed_and_geometry():
    a = data.load("moons", n=60, noise=0.0, seed=1)
    b = data.load("moons", n=60, noise=0.0, seed=1)
    assert a.X == b.X and a.y == b.y and len(a) == 60 and a.n_features == 2
    assert sorted(set(a.y)) == [-1.0, 1.0] and a.y.count(1.0) == 30
    for (x1, x2), y in zip(a.X, a.y):  # without noise, each point lies on its half circle
        if y < 0:
            assert math.hypot(x1, x2) == pytest.approx(1.0) and x2 >= -1e-12
        else:
            assert math.hypot(x1 - 1.0, x2 - 0.5) == pytest.approx(1.0) and x2 <= 0.5 + 1e-12
    c = data.load("moons", n=60, noise=0.1, seed=2)
    assert c.X != data.load("moons", n=60, noise=0.1, seed=3).X


def test_circles_radii():
    d = data.load("circles", n=40, noise=0.0, factor=0.3)
    for (x1, x2), y in zip(d.X, d.y):
        assert math.hypot(x1, x2) == pytest.approx(1.0 if y < 0 else 0.3)


def test_one_hot_and_split():
    d = data.load("moons", n=20)
    hot = d.one_hot()
    assert all(t == ([1.0, 0.0] if y < 0 else [0.0, 1.0]) for t, y in zip(hot.y, d.y))
    train, test = d.split(0.25, seed=0)
    assert len(train) == 15 and len(test) == 5
    assert sorted(map(tuple, train.X + test.X)) == sorted(map(tuple, d.X))
    assert d.split(0.25, seed=0)[1].X == test.X


@pytest.mark.parametrize("name, options, error, message", [
    ("iris", {}, ValueError, "unknown data set 'iris'"),
    ("moons", {"n": 0}, ValueError, "n must be"),
    ("moons", {"noise": -1}, ValueError, "noise"),
    ("moons", {"labels": "yes"}, ValueError, "labels must be"),
    ("moons", {"colour": 1}, TypeError, "no option"),
    ("circles", {"factor": 2}, ValueError, "factor"),
])
def test_bad_options(name, options, error, message):
    with pytest.raises(error, match=message):
        data.load(name, **options)


def test_dataset_checks_its_shape():
    with pytest.raises(ValueError, match="2 inputs but 1 targets"):
        data.Dataset([[1.0], [2.0]], [1])
    with pytest.raises(ValueError, match="different lengths"):
        data.Dataset([[1.0], [2.0, 3.0]], [1, 2])


def test_digits_with_scikit_learn():
    try:
        import sklearn  # noqa: F401
        available = True
    except ImportError:
        available = False
    require(available, "scikit-learn (the 'digits' extra)")
    d = data.load("digits", n=50)
    assert len(d) == 50 and d.n_features == 64 and all(0.0 <= v <= 1.0 for row in d.X for v in row)
    assert set(d.y) <= set(range(10))


def test_digits_without_scikit_learn_gives_a_clear_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"needs scikit-learn.*chainrule\[digits\]"):
        data.load("digits")


# ---------------------------------------------------------------- your own data

def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_built_in_names_are_case_insensitive():
    assert data.builtin("Moons") == "moons" and data.builtin("iris") is None
    assert data.load("XOR").X == data.load("xor").X


def test_csv_with_header_and_class_names(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,cat\n3,4.5,dog\n-1e-3,6,cat\n")
    d = data.load_csv(path, target="label")
    assert d.X == [[1.0, 2.0], [3.0, 4.5], [-0.001, 6.0]]
    assert (d.features, d.target, d.labels, d.class_names) == (["a", "b"], "label", "pm1", ["cat", "dog"])
    assert d.y == [-1.0, 1.0, -1.0] and d.classes == [-1.0, 1.0]
    assert d.schema("mse") == data.Schema(["a", "b"], "label", "pm1", ["cat", "dog"], "mse")


def test_csv_delimiters_are_sniffed_and_headerless_columns_are_x1_x2(tmp_path):
    for sep in (";", "\t", " ", "|"):
        d = data.load_csv(write(tmp_path, f"1{sep}2{sep}0\n3{sep}4{sep}1\n"))
        assert d.features == ["x1", "x2"] and d.target == "x3"
        assert d.X == [[1.0, 2.0], [3.0, 4.0]] and d.labels == "01" and d.y == [0.0, 1.0]


def test_features_and_target_pick_columns(tmp_path):
    path = write(tmp_path, "id,h,w,kind\n1,0.5,2,x\n2,0.7,3,y\n3,0.1,1,z\n")
    d = data.load_csv(path, target="kind", features=["w", "h"])
    assert d.X == [[2.0, 0.5], [3.0, 0.7], [1.0, 0.1]] and d.features == ["w", "h"]
    assert d.labels == "classes" and d.y == [0, 1, 2] and d.class_names == ["x", "y", "z"]


@pytest.mark.parametrize("values, labels, y", [
    ("1,-1,1", None, [1.0, -1.0, 1.0]),          # +-1 stays +-1
    ("0,1,1", None, [0.0, 1.0, 1.0]),            # 0/1 stays 0/1
    ("2,5,2", None, [-1.0, 1.0, -1.0]),          # two other numbers: the smaller is -1
    ("0,1,1", "pm1", [-1.0, 1.0, 1.0]),
    ("1.5,2.5,7", None, [1.5, 2.5, 7.0]),        # more than two numbers: regression
    ("1,2,3", "classes", [0, 1, 2]),
])
def test_label_conventions_from_the_data_or_chosen(tmp_path, values, labels, y):
    rows = "".join(f"{i},{v}\n" for i, v in enumerate(values.split(",")))
    d = data.load_csv(write(tmp_path, "x,t\n" + rows), labels=labels)
    assert d.y == y


def test_numpy_files(tmp_path):
    import numpy as np
    np.save(tmp_path / "a.npy", np.array([[1.0, 2.0, 1.0], [3.0, 4.0, -1.0]]))
    d = data.load_file(tmp_path / "a.npy")
    assert d.X == [[1.0, 2.0], [3.0, 4.0]] and d.y == [1.0, -1.0] and d.features == ["x1", "x2"]
    np.savez(tmp_path / "b.npz", X=np.array([[1, 2], [3, 4], [5, 6]]), y=np.array(["b", "a", "c"]),
             features=np.array(["p", "q"]))
    d = data.load_file(tmp_path / "b.npz")
    assert d.features == ["p", "q"] and d.target == "y" and d.class_names == ["a", "b", "c"] and d.y == [1, 0, 2]
    np.save(tmp_path / "c.npy", np.array([[1.0, float("inf")], [1.0, 2.0]]))
    with pytest.raises(data.DataFileError, match=r"c\.npy, row 1, column 'x2' must be finite, got inf"):
        data.load_file(tmp_path / "c.npy")
    np.save(tmp_path / "o.npy", np.array([[1, None]], dtype=object))
    with pytest.raises(data.DataFileError, match="no pickle"):
        data.load_file(tmp_path / "o.npy")
    np.savez(tmp_path / "n.npz", X=np.ones((2, 2)))
    with pytest.raises(data.DataFileError, match="no array y"):
        data.load_file(tmp_path / "n.npz")


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("a,b,c\n", "no data rows"),
    ("a,b,c\n1,2,x\n3,4\n", r"row 3: 2 cells, but there are 3 columns \(a, b, c\)"),
    ("a,b,c\n1,2,x\n3,four,y\n", r"row 3, column 'b': 'four' is not a number"),
    ("a,b,c\n1,nan,x\n3,4,y\n", r"row 2, column 'b' must be finite, got nan"),
    ("a,b,c\n1,-inf,x\n3,4,y\n", r"row 2, column 'b' must be finite, got -inf"),
    ("a,b,c\n1,,x\n3,4,y\n", r"row 2, column 'b': the cell is empty"),
    ("a,b,c\n1,2,x\n3,4,x\n", r"the target 'c' has only one class \('x'\)"),
    ("a,b,c\n1,2,inf\n3,4,5\n", r"row 2, column 'c' must be finite, got inf"),
    ("a,a,c\n1,2,x\n3,4,y\n", "names column 'a' twice"),
    ("a,t\n1,0.5\n2,1.5\n3,oops\n", r"row 4, column 't': 'oops' is not a number but other targets are"),
    ("label\n1\n2\n", "no feature column besides the target 'label'"),
])
def test_bad_csv_files_name_the_file_row_and_column(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(data.DataFileError, match=message) as error:
        data.load_csv(path)
    assert str(path) in str(error.value)


def test_bad_column_choices(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,x\n3,4,y\n")
    with pytest.raises(data.DataFileError, match=r"no column 'label' for the target; the columns are a, b, c"):
        data.load_csv(path, target="label")
    with pytest.raises(data.DataFileError, match="no column 'z'"):
        data.load_csv(path, features=["a", "z"])
    with pytest.raises(data.DataFileError, match="is the target"):
        data.load_csv(path, features=["a", "c"])
    with pytest.raises(data.DataFileError, match="labels 'values' needs a numeric target"):
        data.load_csv(path, labels="values")
    with pytest.raises(data.DataFileError, match="need two classes"):
        data.load_csv(write(tmp_path, "a,c\n1,x\n2,y\n3,z\n"), labels="pm1")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(data.DataFileError, match="not UTF-8"):
        data.load_csv(tmp_path / "bin.csv")


def test_reading_with_a_models_schema_keeps_its_classes_and_columns(tmp_path):
    schema = data.Schema(["b", "a"], "kind", "classes", ["x", "y", "z"], "cross_entropy")
    d = data.load_csv(write(tmp_path, "a,b,kind,extra\n1,2,z,9\n3,4,x,9\n"), schema=schema)
    assert d.X == [[2.0, 1.0], [4.0, 3.0]] and d.y == [2, 0] and d.schema("cross_entropy") == schema
    with pytest.raises(data.DataFileError, match=r"class 'w' is not one the model was trained on \(x, y, z\)"):
        data.load_csv(write(tmp_path, "a,b,kind\n1,2,w\n"), schema=schema)
    with pytest.raises(data.DataFileError, match="no column 'b'"):
        data.load_csv(write(tmp_path, "a,kind\n1,x\n"), schema=schema)


def test_schema_reads_outputs_as_classes_the_way_the_loss_scores_them():
    pm1 = data.Schema(["x1"], "y", "pm1", ["no", "yes"], "mse")
    assert pm1.predicted([0.2]) == "yes" and pm1.predicted([-0.2]) == "no"
    sigmoid = data.Schema(["x1"], "y", "01", ["no", "yes"], "mse")
    assert sigmoid.predicted([0.4]) == "no" and sigmoid.predicted([0.6]) == "yes"
    logit = data.Schema(["x1"], "y", "01", ["no", "yes"], "bce")
    assert logit.predicted([0.4]) == "yes" and logit.predicted([-0.1]) == "no"
    many = data.Schema(["x1"], "y", "classes", ["a", "b", "c"], "cross_entropy")
    assert many.predicted([0.1, 2.0, -1.0]) == "b" and many.outputs == ["a", "b", "c"]
    assert data.Schema(["x1"], "price").predicted([3.0]) is None


@pytest.mark.parametrize("spec, message", [
    ({"features": [], "target": "y", "labels": "pm1"}, "features"),
    ({"features": ["a"], "target": 3, "labels": "pm1"}, "target"),
    ({"features": ["a"], "target": "y", "labels": "odd"}, "labels must be"),
    ({"features": ["a"], "target": "y", "labels": "pm1", "classes": ["x"]}, "needs 2 class names"),
    ({"features": ["a"], "target": "y", "labels": "values", "loss": "nope"}, "unknown loss"),
])
def test_schema_from_dict_checks_every_field(spec, message):
    with pytest.raises(ValueError, match=message):
        data.Schema.from_dict(spec)


def test_the_header_rule_and_saying_it_outright(tmp_path):
    words = write(tmp_path, "up,down,kind\n1,2,x\n3,4,y\n", "words.csv")
    assert data.load_csv(words).features == ["up", "down"]  # words above numbers: a header
    numbers = write(tmp_path, "1,2,7\n3,4,8\n5,6,7\n", "numbers.csv")
    assert data.load_csv(numbers).features == ["x1", "x2"] and len(data.load_csv(numbers)) == 3
    named = data.load_csv(numbers, header=True)
    assert named.features == ["1", "2"] and named.target == "7" and len(named) == 2
    with pytest.raises(data.DataFileError, match=r"row 1, column 'x1': 'up' is not a number"):
        data.load_csv(words, header=False)
