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
