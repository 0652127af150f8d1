"""Small data sets without heavy dependencies (plain lists of floats).

`load(name, **options)` gives a `Dataset`:
- "table10": the documents' 10 points with labels +-1 (document 002);
- "not": the NOT gate, inputs 0 and 1 (document 000/001);
- "xor": the four corners of the unit square;
- "moons": two interleaving half circles with gaussian noise (seeded);
- "circles": two concentric circles with gaussian noise (seeded);
- "digits": the 8x8 handwritten digits (needs scikit-learn: `pip install chainrule[digits]`).

Label conventions: binary sets have labels +1/-1 (for hinge loss and tanh outputs); pass
`labels="01"` for 0/1 (binary cross-entropy, sigmoid outputs, the documents' NOT gate:
0 -> 1, 1 -> 0). `Dataset.one_hot()` turns labels into target vectors, the documents'
way for two output neurons (-1 -> (1, 0), +1 -> (0, 1)). Digits have class indices 0..9.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from .checks import whole

__all__ = ["Dataset", "load", "NAMES", "TABLE10_X", "TABLE10_Y"]

# Seed 002, "Neural Network implementation with Matrices #1": the data and labels.
TABLE10_X = [
    [1.2, 0.7], [-0.3, -0.5], [3.0, 0.1], [-0.1, -1.0], [-0.0, 1.1],
    [2.1, -1.3], [3.1, -1.8], [1.1, -0.1], [1.5, -2.2], [4.0, -1.0],
]
TABLE10_Y = [1, -1, 1, -1, -1, 1, -1, 1, -1, -1]


@dataclass
class Dataset:
    """Inputs `X` (a list of feature lists) and targets `y` (one per row)."""

    X: list[list[float]]
    y: list[Any]
    name: str = "data"
    description: str = ""
    classes: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.X) != len(self.y):
            raise ValueError(f"dataset {self.name!r}: {len(self.X)} inputs but {len(self.y)} targets")
        if not self.X:
            raise ValueError(f"dataset {self.name!r} is empty")
        widths = {len(row) for row in self.X}
        if len(widths) != 1:
            raise ValueError(f"dataset {self.name!r}: rows have different lengths {sorted(widths)}")

    def __len__(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return len(self.X[0])

    def one_hot(self) -> "Dataset":
        """Targets as vectors over the sorted classes: +-1 labels become (1, 0) and (0, 1)."""
        classes = self.classes or sorted(set(self.y))
        index = {c: i for i, c in enumerate(classes)}
        rows = []
        for label in self.y:
            t = [0.0] * len(classes)
            t[index[label]] = 1.0
            rows.append(t)
        return replace(self, y=rows, name=f"{self.name} (one-hot)", classes=list(classes))

    def split(self, test_fraction: float = 0.25, seed: int = 0) -> tuple["Dataset", "Dataset"]:
        """A shuffled (train, test) split, the same for the same seed."""
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
        order = list(range(len(self)))
        random.Random(seed).shuffle(order)
        n_test = max(1, round(len(self) * test_fraction))
        if n_test >= len(self):
            raise ValueError(f"dataset {self.name!r} has too few rows ({len(self)}) to split")
        pick = lambda idx, part: replace(  # noqa: E731
            self, X=[self.X[i] for i in idx], y=[self.y[i] for i in idx], name=f"{self.name} ({part})"
        )
        return pick(order[n_test:], "train"), pick(order[:n_test], "test")


def _labels(y: Sequence[int], labels: str) -> tuple[list[float], list[float]]:
    if labels == "pm1":
        return [float(v) for v in y], [-1.0, 1.0]
    if labels == "01":
        return [1.0 if v > 0 else 0.0 for v in y], [0.0, 1.0]
    raise ValueError(f"labels must be 'pm1' (+1/-1) or '01' (0/1), got {labels!r}")


def _noise(noise: object) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0.0 <= noise < math.inf:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def table10(labels: str = "pm1") -> Dataset:
    y, classes = _labels(TABLE10_Y, labels)
    return Dataset([row[:] for row in TABLE10_X], y, "table10", "document 002: 10 points, labels +-1", classes)


def not_gate(labels: str = "pm1") -> Dataset:
    # NOT: input 0 -> true, input 1 -> false.
    y, classes = _labels([1, -1], labels)
    return Dataset([[0.0], [1.0]], y, "not", "the NOT gate (document 000/001)", classes)


def xor(labels: str = "pm1") -> Dataset:
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    y, classes = _labels([-1, 1, 1, -1], labels)
    return Dataset(X, y, "xor", "exclusive or of two bits", classes)


def moons(n: int = 100, noise: float = 0.1, seed: int = 0, labels: str = "pm1") -> Dataset:
    """Two interleaving half circles (the upper one label -1, the lower +1), shuffled."""
    n, noise = whole(n, "n", 2), _noise(noise)
    r = random.Random(seed)
    n_out = n // 2
    n_in = n - n_out
    pts = []
    for i in range(n_out):
        t = math.pi * i / max(n_out - 1, 1)
        pts.append(([math.cos(t), math.sin(t)], -1))
    for i in range(n_in):
        t = math.pi * i / max(n_in - 1, 1)
        pts.append(([1.0 - math.cos(t), 0.5 - math.sin(t)], 1))
    r.shuffle(pts)
    X = [[a + r.gauss(0.0, noise), b + r.gauss(0.0, noise)] for (a, b), _ in pts]
    y, classes = _labels([c for _, c in pts], labels)
    return Dataset(X, y, "moons", f"two moons, n={n}, noise={noise}, seed={seed}", classes)


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int = 0, labels: str = "pm1") -> Dataset:
    """Two concentric circles: the outer one label -1, the inner one (radius `factor`) +1."""
    n, noise = whole(n, "n", 2), _noise(noise)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be between 0 and 1, got {factor!r}")
    r = random.Random(seed)
    n_out = n // 2
    n_in = n - n_out
    pts = [([math.cos(2 * math.pi * i / n_out), math.sin(2 * math.pi * i / n_out)], -1) for i in range(n_out)]
    pts += [([factor * math.cos(2 * math.pi * i / n_in), factor * math.sin(2 * math.pi * i / n_in)], 1)
            for i in range(n_in)]
    r.shuffle(pts)
    X = [[a + r.gauss(0.0, noise), b + r.gauss(0.0, noise)] for (a, b), _ in pts]
    y, classes = _labels([c for _, c in pts], labels)
    return Dataset(X, y, "circles", f"concentric circles, n={n}, noise={noise}, seed={seed}", classes)


def digits(n: int | None = None) -> Dataset:
    """The 8x8 digits (1797 images, 64 features scaled to [0, 1], classes 0..9)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError(
            "the 'digits' data set needs scikit-learn, an optional extra: "
            "pip install 'chainrule[digits]' (or pip install scikit-learn)"
        ) from None
    bunch = load_digits()
    X = [[float(v) / 16.0 for v in row] for row in bunch.data]
    y = [int(v) for v in bunch.target]
    if n is not None:
        n = whole(n, "n", 1)
        X, y = X[:n], y[:n]
    return Dataset(X, y, "digits", "8x8 handwritten digits (scikit-learn)", list(range(10)))


_LOADERS = {"table10": table10, "not": not_gate, "xor": xor, "moons": moons, "circles": circles, "digits": digits}
NAMES = tuple(_LOADERS)


def load(name: str, **options: Any) -> Dataset:
    """The data set called `name` (see the module docstring), with its options."""
    try:
        loader = _LOADERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(NAMES)}") from None
    try:
        return loader(**options)
    except TypeError as error:
        if "unexpected keyword" in str(error):
            raise TypeError(f"data set {name!r} has no option {str(error).split('argument ')[-1]}") from None
        raise
