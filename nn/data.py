"""Small data sets without heavy dependencies (plain lists of floats).

`load(name, **options)` gives a `Dataset`:
- "table10": the documents' 10 points with labels +-1 (document 002);
- "not": the NOT gate, inputs 0 and 1 (document 000/001);
- "xor": the four corners of the unit square;
- "moons": two interleaving half circles with gaussian noise (seeded);
- "circles": two concentric circles with gaussian noise (seeded);
- "digits": the 8x8 handwritten digits (needs scikit-learn: `pip install chainrule[digits]`).
Names are case-insensitive ("Moons" is "moons").

Your own data: `load_csv(path, target=...)`, `load_array(path)` (.npy, .npz) or
`load_file(path)` for either; see those functions for the layouts and the rules for
headers, delimiters and labels. Every bad cell raises a `DataFileError` naming the file,
the row and the column.

Label conventions: binary sets have labels +1/-1 (for hinge loss and tanh outputs); pass
`labels="01"` for 0/1 (binary cross-entropy, sigmoid outputs, the documents' NOT gate:
0 -> 1, 1 -> 0). `Dataset.one_hot()` turns labels into target vectors, the documents'
way for two output neurons (-1 -> (1, 0), +1 -> (0, 1)). Digits have class indices 0..9.
"""
from __future__ import annotations

import csv
import io
import math
import os
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from . import losses
from .checks import finite, whole

__all__ = [
    "Dataset", "Schema", "DataFileError", "LABELS", "load", "builtin", "load_csv", "load_array",
    "load_file", "load_for", "resolve", "NAMES", "TABLE10_X", "TABLE10_Y",
]

# The label conventions: +-1 (one output), 0/1 (one output), one output per class, or
# plain numbers (regression).
LABELS = ("pm1", "01", "classes", "values")

# Seed 002, "Neural Network implementation with Matrices #1": the data and labels.
TABLE10_X = [
    [1.2, 0.7], [-0.3, -0.5], [3.0, 0.1], [-0.1, -1.0], [-0.0, 1.1],
    [2.1, -1.3], [3.1, -1.8], [1.1, -0.1], [1.5, -2.2], [4.0, -1.0],
]
TABLE10_Y = [1, -1, 1, -1, -1, 1, -1, 1, -1, -1]


@dataclass
class Schema:
    """What a model was trained on, so a saved model can name its outputs and refuse data
    laid out differently: the feature columns in input order, the target column, the
    label convention (one of LABELS), the class names in output order ("pm1": the -1
    class, then the +1 class; "01": 0, then 1; "classes": one per output) and the loss,
    which decides how an output reads as a class."""

    features: list[str]
    target: str = "y"
    labels: str = "values"
    classes: list[str] = field(default_factory=list)
    loss: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"features": self.features, "target": self.target, "labels": self.labels,
                "classes": self.classes, "loss": self.loss}

    @classmethod
    def from_dict(cls, spec: object) -> "Schema":
        """A Schema from its dict, or a ValueError naming the bad field."""
        if not isinstance(spec, dict):
            raise ValueError(f"the data description must be an object, got {type(spec).__name__}")
        features, target = spec.get("features"), spec.get("target")
        labels, classes, loss = spec.get("labels"), spec.get("classes", []), spec.get("loss")
        if not isinstance(features, list) or not features or not all(_is_name(f) for f in features):
            raise ValueError(f"features must be a non-empty list of column names, got {features!r:.80}")
        if not _is_name(target):
            raise ValueError(f"target must be a column name, got {target!r:.80}")
        if labels not in LABELS:
            raise ValueError(f"labels must be one of {', '.join(LABELS)}, got {labels!r:.80}")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise ValueError(f"classes must be a list of names, got {classes!r:.80}")
        wanted, fits = {"pm1": ("2", len(classes) == 2), "01": ("2", len(classes) == 2),
                        "classes": ("at least 2", len(classes) >= 2), "values": ("no", not classes)}[labels]
        if not fits:
            raise ValueError(f"labels {labels!r} needs {wanted} class names, got {len(classes)}")
        if loss is not None:
            losses.get(loss)
        return cls(list(features), target, labels, list(classes), loss)

    @property
    def outputs(self) -> list[str]:
        """A name for each output: the classes for "classes", else the target column."""
        return list(self.classes) if self.labels == "classes" else [self.target]

    def predicted(self, outputs: Sequence[float]) -> str | None:
        """The class name that `outputs` stand for (None for "values"), read the way the
        loss scores them (a tanh output against 0, a sigmoid against 0.5, a logit against 0)."""
        if self.labels == "values":
            return None
        if self.labels == "classes":
            return self.classes[max(range(len(outputs)), key=outputs.__getitem__)]
        loss = losses.get(self.loss or "mse")
        targets = [loss.encode(v, 1) for v in ((-1.0, 1.0) if self.labels == "pm1" else (0.0, 1.0))]
        scorer = loss.scorer(targets)
        return next((name for name, t in zip(self.classes, targets) if scorer(outputs, t)), None)

    def check(self, other: "Schema", where: str) -> None:
        """A ValueError unless data described by `other` fits a model trained on this."""
        if other.features != self.features:
            raise ValueError(f"{where} has features {', '.join(other.features)} but the model was "
                             f"trained on {', '.join(self.features)}")
        if other.labels != self.labels or other.classes != self.classes:
            raise ValueError(f"{where} has labels {_describe(other)} but the model was trained on "
                             f"{_describe(self)}")


def _describe(schema: Schema) -> str:
    return schema.labels + (f" ({', '.join(schema.classes)})" if schema.classes else "")


def _is_name(x: object) -> bool:
    return isinstance(x, str) and bool(x.strip())


def _convention(classes: Sequence[Any]) -> str:
    """The label convention of a built-in set, read from its classes."""
    if not classes:
        return "values"
    floats = all(isinstance(c, float) for c in classes)
    if floats and list(classes) == [-1.0, 1.0]:
        return "pm1"
    if floats and list(classes) == [0.0, 1.0]:
        return "01"
    return "classes"


@dataclass
class Dataset:
    """Inputs `X` (a list of feature lists) and targets `y` (one per row).

    `features` names the columns of X (default x1, x2, ...) and `target` the column of y;
    `labels` is the label convention (derived from `classes` when not given) and
    `class_names` names each of `classes` for people.
    """

    X: list[list[float]]
    y: list[Any]
    name: str = "data"
    description: str = ""
    classes: list[Any] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    target: str = "y"
    labels: str = ""
    class_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.X) != len(self.y):
            raise ValueError(f"dataset {self.name!r}: {len(self.X)} inputs but {len(self.y)} targets")
        if not self.X:
            raise ValueError(f"dataset {self.name!r} is empty")
        widths = {len(row) for row in self.X}
        if len(widths) != 1:
            raise ValueError(f"dataset {self.name!r}: rows have different lengths {sorted(widths)}")
        self.features = self.features or [f"x{i}" for i in range(1, len(self.X[0]) + 1)]
        self.labels = self.labels or _convention(self.classes)
        self.class_names = self.class_names or [_number_name(c) for c in self.classes]

    def schema(self, loss: str | None = None) -> Schema:
        """What a model trained on this data (with `loss`) should remember about it."""
        return Schema(list(self.features), self.target, self.labels, list(self.class_names), loss)

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
        return replace(self, y=rows, name=f"{self.name} (one-hot)", classes=list(classes), labels="classes")

    def for_loss(self, loss: "str | losses.Loss") -> "Dataset":
        """The targets as `loss` takes them: one-hot vectors when a squared error is fitted
        to one output per class, else unchanged."""
        if self.labels == "classes" and self.y and not isinstance(self.y[0], list) \
                and isinstance(losses.get(loss), losses.SquaredError):
            return self.one_hot()
        return self

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


def builtin(name: object) -> str | None:
    """The built-in data set's name for `name` in any case ("Moons" -> "moons"), or None."""
    key = name.lower() if isinstance(name, str) else None
    return key if key in _LOADERS else None


def load(name: str, **options: Any) -> Dataset:
    """The data set called `name` (see the module docstring), with its options."""
    try:
        loader = _LOADERS[builtin(name)]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(NAMES)}") from None
    try:
        return loader(**options)
    except TypeError as error:
        if "unexpected keyword" in str(error):
            raise TypeError(f"data set {name!r} has no option {str(error).split('argument ')[-1]}") from None
        raise


# ---------------------------------------------------------------- your own data

class DataFileError(ValueError):
    """A data file that cannot be read as examples; the message names the file, row and column."""


def resolve(source: str) -> str | Path:
    """A built-in set's name (any case: "Moons" -> "moons") or the Path of an existing
    file; a DataFileError when `source` is neither."""
    name = builtin(source)
    if name is not None:
        return name
    if not Path(source).is_file():
        raise DataFileError(f"unknown data set {source!r}: no such file, and not a built-in set "
                            f"({', '.join(NAMES)})")
    return Path(source)


def load_for(source: str, schema: Schema | None, **options: Any) -> Dataset:
    """Data to evaluate a trained model on: a built-in set's name (with `options`) or a
    file, read with the model's columns and labels; a ValueError when they do not fit."""
    name = resolve(source)
    if isinstance(name, Path):
        return load_file(name, schema=schema)
    if schema is not None and schema.labels in ("pm1", "01") and name != "digits":
        options["labels"] = schema.labels
    dataset = load(name, **options)
    if schema is not None:
        schema.check(dataset.schema(), name)
    return dataset


def load_file(path: str | os.PathLike, **options: Any) -> Dataset:
    """`load_array` for .npy and .npz files, `load_csv` for anything else."""
    if Path(path).suffix.lower() in (".npy", ".npz"):
        return load_array(path, **options)
    return load_csv(path, **options)


def load_csv(
    path: str | os.PathLike,
    target: str | None = None,
    features: Sequence[str] | None = None,
    labels: str | None = None,
    *,
    header: bool | None = None,
    schema: Schema | None = None,
) -> Dataset:
    """A data set from a delimited text file, one example per row.

    The delimiter (comma, semicolon, tab, bar or space) is sniffed. The first row is a
    header when one of its cells is not a number while the cell below it is (`header`
    True or False says so instead); without a header the columns are called x1, x2, ...
    `target` names the target column (default: the last one) and `features` the input
    columns (default: all the others). Features must be finite numbers; the target may be
    numbers or class names, and `labels` (one of LABELS) picks the convention, chosen
    from the data when left out: two classes -> "pm1" (+-1; numbers 0 and 1 -> "01"),
    more class names -> "classes", more than two distinct numbers -> "values".
    With `schema` (a trained model's), the columns, labels and classes are the model's.
    """
    names, rows = _read_csv(path, header)
    return _table(path, names, rows, target, features, labels, schema)


def load_array(
    path: str | os.PathLike,
    target: str | None = None,
    features: Sequence[str] | None = None,
    labels: str | None = None,
    *,
    schema: Schema | None = None,
) -> Dataset:
    """A data set from numpy's files, read without pickle.

    - .npy: one 2-D array of numbers, one example per row, laid out like a CSV file
      without a header: columns x1, x2, ..., the target the last one unless `target` names
      another;
    - .npz: arrays `X` (2-D numbers, one row per example) and `y` (1-D numbers or
      strings, one per example), and optionally `features` (1-D strings, a name per
      column of X); the target column is called y.

    `features`, `labels` and `schema` work as in `load_csv`.
    """
    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataFileError(f"{path}: holds Python objects, which are not read (no pickle); "
                                "save arrays of numbers or strings") from None
        raise DataFileError(f"{path}: not a numpy file ({error})") from None
    if isinstance(loaded, np.ndarray):
        array = _numeric(loaded, path, "the array", dims=2)
        names = [f"x{i}" for i in range(1, array.shape[1] + 1)]
        rows = [(i, row) for i, row in enumerate(array.tolist(), 1)]
        return _table(path, names, rows, target, features, labels, schema)
    with loaded:
        missing = [key for key in ("X", "y") if key not in loaded.files]
        if missing:
            raise DataFileError(f"{path}: no array {' or '.join(missing)} (an .npz file holds X, y and "
                                f"optionally features; it has {', '.join(loaded.files) or 'nothing'})")
        X = _numeric(loaded["X"], path, "X", dims=2)
        y = loaded["y"]
        names = loaded["features"].tolist() if "features" in loaded.files else None
    if y.ndim != 1 or len(y) != len(X):
        raise DataFileError(f"{path}: y must be 1-D with one value per row of X ({len(X)}), got shape {y.shape}")
    if y.dtype.kind not in "iufUS":
        raise DataFileError(f"{path}: y must hold numbers or strings, got {y.dtype}")
    if names is None:
        names = [f"x{i}" for i in range(1, X.shape[1] + 1)]
    elif not isinstance(names, list) or len(names) != X.shape[1] or not all(isinstance(n, str) for n in names):
        raise DataFileError(f"{path}: features must be {X.shape[1]} strings, one per column of X")
    if target not in (None, "y"):
        raise DataFileError(f"{path}: the target of an .npz file is its array y, not {target!r}")
    targets = [v.decode() if isinstance(v, bytes) else v for v in y.tolist()]
    rows = [(i, [*row, t]) for i, (row, t) in enumerate(zip(X.tolist(), targets), 1)]
    return _table(path, [*names, "y"], rows, "y", features, labels, schema)


def _numeric(array: Any, path: object, what: str, dims: int) -> Any:
    if array.ndim != dims or 0 in array.shape:
        raise DataFileError(f"{path}: {what} must be a non-empty {dims}-D array, got shape {array.shape}")
    if array.dtype.kind not in "iuf":
        raise DataFileError(f"{path}: {what} must hold numbers, got {array.dtype}")
    return array


def _read_csv(path: str | os.PathLike, header: bool | None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The column names and the non-blank rows, each with its line number in the file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not a text file (not UTF-8); give a CSV file, .npy or .npz") from None
    if not text.strip():
        raise DataFileError(f"{path}: the file is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t| ")
    except csv.Error:  # one column, or nothing regular: read it as commas
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = [(reader.line_num, [cell.strip() for cell in cells])
                for cells in reader if any(cell.strip() for cell in cells)]
    except csv.Error as error:
        raise DataFileError(f"{path}, row {reader.line_num}: {error}") from None
    if header is None:
        header = _looks_like_header(rows)
    if not header:
        return [f"x{i}" for i in range(1, len(rows[0][1]) + 1)], rows
    (line, names), rows = rows[0], rows[1:]
    for i, name in enumerate(names, 1):
        if not name:
            raise DataFileError(f"{path}, row {line}: column {i} of the header has no name")
        if name in names[:i - 1]:
            raise DataFileError(f"{path}, row {line}: the header names column {name!r} twice")
    return names, rows


def _looks_like_header(rows: list[tuple[int, list[str]]]) -> bool:
    """The header rule: a cell of the first row is not a number but the one below it is
    (a file of one row: a header when none of its cells is a number)."""
    first = rows[0][1]
    if len(rows) == 1:
        return not any(_is_number(c) for c in first)
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, rows[1][1]))


def _is_number(cell: object) -> bool:
    try:
        float(cell)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False


def _number_name(v: Any) -> str:
    """A class value as people write it: 1.0 -> "1", 0.5 -> "0.5" (exact, never rounded)."""
    if not isinstance(v, float):
        return str(v)
    short = f"{v:g}"
    return short if float(short) == v else repr(v)


def _table(
    source: str | os.PathLike, names: list[str], rows: list[tuple[int, list[Any]]],
    target: str | None, features: Sequence[str] | None, labels: str | None, schema: Schema | None,
) -> Dataset:
    """Pick the columns, check every cell and encode the targets: the common end of every reader."""
    if not rows:
        raise DataFileError(f"{source}: no data rows (only a header)")
    if schema is not None:
        target, features, labels = schema.target, schema.features, schema.labels
    target = names[-1] if target is None else target
    if target not in names:
        raise DataFileError(f"{source}: no column {target!r} for the target; the columns are {', '.join(names)}")
    if features is None:
        features = [n for n in names if n != target]
    else:
        features = list(features)
        for name in features:
            if name not in names:
                raise DataFileError(f"{source}: no column {name!r}; the columns are {', '.join(names)}")
        if target in features:
            raise DataFileError(f"{source}: column {target!r} is the target; it cannot be a feature too")
    if not features:
        raise DataFileError(f"{source}: there is no feature column besides the target {target!r}")
    where = [names.index(n) for n in features]
    t = names.index(target)
    X, raw = [], []
    for line, cells in rows:
        if len(cells) != len(names):
            raise DataFileError(f"{source}, row {line}: {len(cells)} cells, but there are {len(names)} "
                                f"columns ({', '.join(names)})")
        X.append([_feature(cells[i], source, line, names[i]) for i in where])
        if cells[t] == "":
            raise DataFileError(f"{source}, row {line}, column {target!r}: the target is empty")
        raw.append((line, cells[t]))
    y, classes, class_names, labels = _targets(raw, source, target, labels, schema)
    return Dataset(X, y, Path(source).name, f"{len(X)} rows of {source}, target {target!r}", classes,
                   features, target, labels, class_names)


def _feature(cell: Any, source: object, line: int, column: str) -> float:
    if cell == "":
        raise DataFileError(f"{source}, row {line}, column {column!r}: the cell is empty (missing values "
                            "are not supported: fill them in or drop the row)")
    try:
        value = float(cell)
    except (TypeError, ValueError):
        raise DataFileError(f"{source}, row {line}, column {column!r}: {cell!r} is not a number "
                            "(features must be numbers)") from None
    return _finite(value, source, line, column)


def _finite(value: float, source: object, line: int, column: str) -> float:
    try:
        return finite(value, f"{source}, row {line}, column {column!r}")
    except ValueError as error:
        raise DataFileError(str(error)) from None


def _targets(
    raw: list[tuple[int, Any]], source: object, column: str, labels: str | None, schema: Schema | None,
) -> tuple[list[Any], list[Any], list[str], str]:
    """(y, classes, class names, convention) for the target cells, by the rules of `load_csv`."""
    numeric = all(_is_number(v) for _, v in raw)
    if numeric:
        values = [_finite(float(v), source, line, column) for line, v in raw]
        names = [_number_name(v) for v in values]
        distinct = [_number_name(v) for v in sorted(set(values))]
    else:
        names = [str(v) for _, v in raw]
        distinct = sorted(set(names))
        mixed = next(((line, v) for line, v in raw if not _is_number(v)), None)
        if labels is None and schema is None and any(_is_number(v) for _, v in raw):
            raise DataFileError(f"{source}, row {mixed[0]}, column {column!r}: {mixed[1]!r} is not a number "
                                "but other targets are; if they are all class names, say --labels classes")
    if schema is not None:
        distinct = schema.classes
        unknown = next(((line, n) for (line, _), n in zip(raw, names) if distinct and n not in distinct), None)
        if unknown:
            raise DataFileError(f"{source}, row {unknown[0]}, column {column!r}: class {unknown[1]!r} is not "
                                f"one the model was trained on ({', '.join(distinct)})")
    elif labels is None:
        if len(distinct) > 2 and numeric:
            labels = "values"
        elif len(distinct) == 2:
            labels = "01" if numeric and sorted(set(values)) == [0.0, 1.0] else "pm1"
        else:
            labels = "classes"
    elif labels not in LABELS:
        raise ValueError(f"labels must be one of {', '.join(LABELS)}, got {labels!r}")
    if labels == "values":
        if not numeric:
            line, cell = next((line, v) for line, v in raw if not _is_number(v))
            raise DataFileError(f"{source}, row {line}, column {column!r}: {cell!r} is not a number "
                                "(labels 'values' needs a numeric target)")
        if schema is None and len(distinct) < 2:
            raise DataFileError(f"{source}: the target {column!r} has only one value ({distinct[0]})")
        return values, [], [], labels
    if schema is None and len(distinct) < 2:
        raise DataFileError(f"{source}: the target {column!r} has only one class ({distinct[0]!r}); "
                            "a classifier needs examples of at least two")
    if labels in ("pm1", "01") and len(distinct) != 2:
        raise DataFileError(f"{source}: labels {labels!r} need two classes, but the target {column!r} has "
                            f"{len(distinct)} ({', '.join(distinct[:10])}{', ...' if len(distinct) > 10 else ''})")
    index = {name: k for k, name in enumerate(distinct)}
    if labels == "classes":
        return [index[n] for n in names], list(range(len(distinct))), distinct, labels
    codes = [-1.0, 1.0] if labels == "pm1" else [0.0, 1.0]
    return [codes[index[n]] for n in names], codes, distinct, labels
