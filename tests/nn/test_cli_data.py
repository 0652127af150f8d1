"""`chainrule train` and `eval` on files of your own: columns, labels, splits and bad files."""
from __future__ import annotations

import json
import random

import pytest

from tests.nn.test_cli import chainrule, ok, usage_error


def pets(path, n=40, seed=0, header="height,weight,kind", classes=("cat", "dog")):
    """Two separable classes: cats are light for their height, dogs heavy."""
    r = random.Random(seed)
    lines = [header] if header else []
    for i in range(n):
        h = round(r.uniform(-1, 1), 3)
        kind = classes[i % 2]
        w = round(h + (0.8 if kind == classes[1] else -0.8) + r.uniform(-0.3, 0.3), 3)
        lines.append(f"{h},{w},{kind}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_a_csv_split_save_then_eval_names_the_classes(tmp_path):
    pets(tmp_path / "pets.csv")
    out = ok(chainrule("train", "pets.csv", "--target", "kind", "--test-fraction", "0.25",
                       "--epochs", "60", "--save", "pets.json", "--quiet", cwd=tmp_path))
    assert "features: height, weight\n  target:   kind (labels pm1): cat = -1, dog = +1\n" in out
    assert "on pets.csv (30 examples, 10 held out)" in out
    test_line = next(line for line in out.splitlines() if line.startswith("test (10 examples)"))
    assert float(test_line.split("accuracy ")[1].rstrip("%")) >= 80.0
    spec = json.loads((tmp_path / "pets.json").read_text())
    assert spec["data"] == {"features": ["height", "weight"], "target": "kind", "labels": "pm1",
                            "classes": ["cat", "dog"], "loss": "mse"}

    out = ok(chainrule("eval", "pets.json", "0,1", "0,-1", cwd=tmp_path))
    first, second = out.splitlines()
    assert first.startswith("0,1 -> ") and first.endswith("(kind: dog)")
    assert second.endswith("(kind: cat)")
    out = ok(chainrule("eval", "pets.json", "--data", "pets.csv", cwd=tmp_path))
    assert out.startswith("pets.csv (40 examples): loss ") and "accuracy" in out

    (tmp_path / "other.csv").write_text("height,size,kind\n1,2,cat\n")
    usage_error(chainrule("eval", "pets.json", "--data", "other.csv", cwd=tmp_path), "no column 'weight'")
    pets(tmp_path / "birds.csv", classes=("cat", "bird"))
    usage_error(chainrule("eval", "pets.json", "--data", "birds.csv", cwd=tmp_path),
                "class 'bird' is not one the model was trained on (cat, dog)")
    usage_error(chainrule("eval", "pets.json", "--data", "moons", cwd=tmp_path),
                "moons has features x1, x2 but the model was trained on height, weight")


def test_many_classes_get_one_output_each_and_names_in_eval(tmp_path):
    path = tmp_path / "three.tsv"
    r = random.Random(1)
    rows = ["a\tb\tspecies"] + [f"{r.gauss(c, 0.1):.3f}\t{r.gauss(-c, 0.1):.3f}\t{name}"
                                for _ in range(10) for c, name in ((-1, "x"), (0, "y"), (1, "z"))]
    path.write_text("\n".join(rows) + "\n")
    out = ok(chainrule("train", "three.tsv", "--epochs", "40", "--save", "m.json", "--quiet", cwd=tmp_path))
    assert "species (labels classes): x, y, z" in out and "MLP(2 -> 16 tanh, 3 linear)" in out
    assert "cross_entropy" in out
    out = ok(chainrule("eval", "m.json", "--", "1,-1", cwd=tmp_path))
    assert out.startswith("1,-1 -> x ") and ", y " in out and ", z " in out and out.rstrip().endswith("(species: z)")
    out = ok(chainrule("train", "three.tsv", "--loss", "mse", "--epochs", "5", "--quiet", cwd=tmp_path))
    assert "3 linear" in out  # squared error over one-hot targets


def test_regression_features_and_labels_options(tmp_path):
    rows = ["id,rooms,area,price"] + [f"{i},{i % 5},{i / 10},{(i % 5) + i / 10}" for i in range(20)]
    (tmp_path / "houses.csv").write_text("\n".join(rows) + "\n")
    out = ok(chainrule("train", "houses.csv", "--features", "rooms,area", "--target", "price",
                       "--epochs", "20", "--save", "h.json", "--quiet", cwd=tmp_path))
    assert "features: rooms, area\n  target:   price (labels values): numbers, a regression" in out
    assert "MLP(2 -> 16 tanh, 1 linear)" in out
    out = ok(chainrule("eval", "h.json", "1,0.5", cwd=tmp_path))
    assert out.startswith("1,0.5 -> ") and out.rstrip().endswith("(price)")
    out = ok(chainrule("train", "houses.csv", "--target", "rooms", "--labels", "classes",
                       "--epochs", "2", "--quiet", cwd=tmp_path))
    assert "rooms (labels classes): 0, 1, 2, 3, 4" in out and "5 linear" in out


def test_built_in_names_ignore_case(tmp_path):
    out = ok(chainrule("train", "Moons", "--points", "20", "--epochs", "2", "--quiet",
                       "--test-fraction", "0.5", cwd=tmp_path))
    assert "on moons (10 examples, 10 held out)" in out and "test (10 examples): loss" in out


@pytest.mark.parametrize("text, words", [
    ("", ["data.csv: the file is empty"]),
    ("a,b,c\n1,2,x\n3,4\n", ["data.csv, row 3: 2 cells, but there are 3 columns"]),
    ("a,b,c\n1,2,x\n3,four,y\n", ["data.csv, row 3, column 'b': 'four' is not a number"]),
    ("a,b,c\n1,NaN,x\n3,4,y\n", ["row 2, column 'b' must be finite, got nan"]),
    ("a,b,c\n1,2,x\n3,inf,y\n", ["row 3, column 'b' must be finite, got inf"]),
    ("a,b,c\n1,2,x\n3,4,x\n", ["only one class ('x')"]),
    ("a,b,c\n", ["no data rows"]),
])
def test_bad_files_are_one_line_usage_errors(tmp_path, text, words):
    (tmp_path / "data.csv").write_text(text)
    usage_error(chainrule("train", "data.csv", "--quiet", cwd=tmp_path), *words)


@pytest.mark.parametrize("args, words", [
    (("missing.csv",), ["unknown data set 'missing.csv'"]),
    (("pets.csv", "--target", "colour"), ["no column 'colour' for the target; the columns are height, weight, kind"]),
    (("pets.csv", "--features", "height,age"), ["no column 'age'"]),
    (("pets.csv", "--features", "height,"), ["--features"]),
    (("pets.csv", "--labels", "values"), ["needs a numeric target"]),
    (("pets.csv", "--labels", "bogus"), ["--labels"]),
    (("pets.csv", "--test-fraction", "1"), ["--test-fraction"]),
    (("pets.csv", "--points", "5"), ["not a data file"]),
    (("moons", "--target", "y"), ["--target and --features are for data files"]),
])
def test_bad_choices_are_one_line_usage_errors(tmp_path, args, words):
    pets(tmp_path / "pets.csv")
    usage_error(chainrule("train", *args, "--quiet", cwd=tmp_path), *words)
