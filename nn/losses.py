"""Losses for one example, built from `engine.Value` ops so gradients flow through them.

Each loss is a small object: `loss(outputs, target) -> Value` for one example, where
`outputs` is the list a model returns. `fit` averages it over a batch. Targets follow
these conventions (a wrong one raises a ValueError saying which is expected):

- squared error: a number (one output) or a list of numbers (one per output);
- hinge: label +1 or -1 (one output), or a class index (several outputs: max-margin);
- binary cross-entropy: label 0 or 1 and one output read as a *logit* (no sigmoid layer);
- softmax cross-entropy: a class index (or a probability vector) and one logit per class.

Internally every target is first `encode`d into a list of floats, one per output; the
graph is then built over those numbers (or over leaf Values holding them, which is how
the compiled replay feeds new targets into an unchanged graph).
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

from engine import Value

from .checks import finite
from .module import lifted

__all__ = [
    "Loss", "SquaredError", "Hinge", "BinaryCrossEntropy", "SoftmaxCrossEntropy",
    "squared_error", "half_squared_error", "mean_squared_error", "hinge",
    "binary_cross_entropy", "softmax_cross_entropy", "l2_penalty", "get",
]

Scorer = Callable[[Sequence[float], Sequence[float]], bool]


def _argmax(xs: "Sequence[float] | np.ndarray") -> "int | np.ndarray":
    """The index of the first largest number. Given a batch as an array with one row per
    output and one column per example (how `fit` scores the replay's outputs), one index
    per example, computed at once."""
    if isinstance(xs, np.ndarray) and xs.ndim == 2:
        if not np.isnan(xs).any():
            return xs.argmax(axis=0)
        return np.array([_argmax(column) for column in xs.T.tolist()])
    best = 0
    for i in range(1, len(xs)):
        if xs[i] > xs[best]:
            best = i
    return best


def _class_index(y: object, nout: int, loss: str) -> int:
    if isinstance(y, bool) or not isinstance(y, int) and not (isinstance(y, float) and y.is_integer()):
        if hasattr(y, "__index__") and not isinstance(y, bool):
            y = y.__index__()  # numpy integers
        else:
            raise ValueError(f"{loss} with {nout} outputs needs a class index 0..{nout - 1}, got {y!r}")
    k = int(y)  # type: ignore[arg-type]
    if not 0 <= k < nout:
        raise ValueError(f"{loss}: class index {k} is out of range for {nout} outputs")
    return k


def _one_hot(k: int, n: int) -> list[float]:
    t = [0.0] * n
    t[k] = 1.0
    return t


class Loss:
    """A loss for one example. Subclasses define `encode`, `forward` and `scorer`."""

    name = "loss"

    def __call__(self, outputs: Sequence[Value], target: object) -> Value:
        """One example's cost, named C as the documents name it (unless already named)."""
        outputs = list(outputs) if not isinstance(outputs, Value) else [outputs]
        cost = self.forward(outputs, self.encode(target, len(outputs)))
        if cost.label is None and not cost.is_leaf:
            cost.label = "C"
        return cost

    def encode(self, target: object, nout: int) -> list[float]:
        """The target as one float per output, or a ValueError saying what was expected."""
        raise NotImplementedError

    def forward(self, outputs: Sequence[Value], t: Sequence[float | Value]) -> Value:
        """The loss graph over `outputs` and an encoded target `t` (floats or leaf Values)."""
        raise NotImplementedError

    def scorer(self, targets: Sequence[Sequence[float]]) -> Scorer | None:
        """How to tell a correct prediction from output numbers, given all encoded
        targets of a data set; None when the task is not classification."""
        return None

    def __repr__(self) -> str:
        return f"nn.losses.{type(self).__name__}()"


def _vector_target(target: object, nout: int, loss: str) -> list[float]:
    if isinstance(target, (str, bytes)):
        raise ValueError(f"{loss}: a target must be a number or a list of numbers, got {target!r}")
    if hasattr(target, "__len__"):
        t = [finite(v, f"{loss} target") for v in target]  # type: ignore[union-attr]
    else:
        t = [finite(target, f"{loss} target")]
    if len(t) != nout:
        raise ValueError(f"{loss}: the model has {nout} output{'s' if nout != 1 else ''} but the target has {len(t)} value{'s' if len(t) != 1 else ''}")
    return t


class SquaredError(Loss):
    """Sum over outputs of (a_i - y_i)^2, as in the documents' C_k.

    `reduction`: "sum" (document 000/001/004), "half" (1/2 of the sum, documents 002/003, whose
    derivative is just a - y) or "mean" (divided by the number of outputs).
    """

    def __init__(self, reduction: str = "sum") -> None:
        if reduction not in ("sum", "half", "mean"):
            raise ValueError(f"reduction must be 'sum', 'half' or 'mean', got {reduction!r}")
        self.reduction = reduction
        self.name = {"sum": "squared_error", "half": "half_squared_error", "mean": "mean_squared_error"}[reduction]

    def encode(self, target: object, nout: int) -> list[float]:
        return _vector_target(target, nout, self.name)

    def forward(self, outputs: Sequence[Value], t: Sequence[float | Value]) -> Value:
        t = lifted(t, "y")  # the documents' targets: y, or y1, y2, ...
        if len(outputs) == 1:
            c = (outputs[0] - t[0]) ** 2
        else:
            c = Value.sum([(o - y) ** 2 for o, y in zip(outputs, t)])
        if self.reduction == "half":
            return 0.5 * c
        if self.reduction == "mean" and len(outputs) > 1:
            return c * (1.0 / len(outputs))
        return c

    def scorer(self, targets: Sequence[Sequence[float]]) -> Scorer | None:
        if targets and len(targets[0]) > 1:
            return lambda out, t: _argmax(out) == _argmax(t)
        labels = {t[0] for t in targets}
        if labels <= {-1.0, 1.0}:
            return lambda out, t: (out[0] > 0.0) == (t[0] > 0.0)
        if labels <= {0.0, 1.0}:
            return lambda out, t: (out[0] > 0.5) == (t[0] > 0.5)
        return None

    def __repr__(self) -> str:
        return f"nn.losses.SquaredError({self.reduction!r})"


class Hinge(Loss):
    """Max-margin: max(0, 1 - y*s) for labels +-1; for several outputs, the multiclass
    form sum over j != y of max(0, s_j - s_y + 1)."""

    name = "hinge"

    def encode(self, target: object, nout: int) -> list[float]:
        if nout == 1:
            y = finite(target[0] if isinstance(target, (list, tuple)) and len(target) == 1 else target, "hinge target")
            if y not in (-1.0, 1.0):
                raise ValueError(f"hinge loss needs labels +1 or -1, got {y!r}")
            return [y]
        return _one_hot(_class_index(target, nout, "hinge"), nout)

    def forward(self, outputs: Sequence[Value], t: Sequence[float | Value]) -> Value:
        if len(outputs) == 1:
            return (1.0 - t[0] * outputs[0]).relu()
        if all(type(v) is float for v in t):
            k = t.index(1.0)  # type: ignore[union-attr]
            sy = outputs[k]
            return Value.sum([(o - sy + 1.0).relu() for j, o in enumerate(outputs) if j != k])
        sy = Value.dot(t, outputs)  # leaves: the correct class's score without indexing
        return Value.sum([(1.0 - tj) * (o - sy + 1.0).relu() for tj, o in zip(t, outputs)])

    def scorer(self, targets: Sequence[Sequence[float]]) -> Scorer:
        if targets and len(targets[0]) > 1:
            return lambda out, t: _argmax(out) == _argmax(t)
        return lambda out, t: (out[0] > 0.0) == (t[0] > 0.0)


class BinaryCrossEntropy(Loss):
    """-[y log p + (1-y) log(1-p)] with p = sigmoid(s), computed from the logit s as
    max(s, 0) - s*y + log(1 + exp(-|s|)): no overflow and no log(0) for any finite s."""

    name = "binary_cross_entropy"

    def encode(self, target: object, nout: int) -> list[float]:
        if nout != 1:
            raise ValueError(f"binary cross-entropy needs a model with 1 output (a logit), this one has {nout}")
        y = finite(target[0] if isinstance(target, (list, tuple)) and len(target) == 1 else target, "binary cross-entropy target")
        if not 0.0 <= y <= 1.0:
            raise ValueError(
                f"binary cross-entropy needs labels 0 or 1 (or a probability), got {y!r}; "
                "for +-1 labels load the data with labels='01'"
            )
        return [y]

    def forward(self, outputs: Sequence[Value], t: Sequence[float | Value]) -> Value:
        s, y = outputs[0], t[0]
        # Two algebraically equal forms; choose the one whose exp cannot overflow.
        if s.data >= 0.0:
            return s - s * y + (1.0 + (-s).exp()).log()
        return (1.0 + s.exp()).log() - s * y

    def scorer(self, targets: Sequence[Sequence[float]]) -> Scorer:
        return lambda out, t: (out[0] > 0.0) == (t[0] > 0.5)


class SoftmaxCrossEntropy(Loss):
    """-log softmax(s)_y = logsumexp(s) - s_y, with logsumexp shifted by max(s) so no
    exp overflows. The target is a class index, or a probability vector t (then the loss
    is logsumexp(s) - t·s)."""

    name = "softmax_cross_entropy"

    def encode(self, target: object, nout: int) -> list[float]:
        if nout < 2:
            raise ValueError("softmax cross-entropy needs a model with at least 2 outputs (one logit per class)")
        if isinstance(target, (list, tuple)) or hasattr(target, "__len__"):
            t = _vector_target(target, nout, self.name)
            if any(v < 0.0 for v in t) or abs(sum(t) - 1.0) > 1e-9:
                raise ValueError(f"{self.name}: a target vector must be probabilities summing to 1, got {t}")
            return t
        return _one_hot(_class_index(target, nout, self.name), nout)

    def forward(self, outputs: Sequence[Value], t: Sequence[float | Value]) -> Value:
        m = max(o.data for o in outputs)  # a constant: any shift gives the same value and gradient
        lse = Value.sum([(o - m).exp() for o in outputs]).log() + m
        if all(type(v) is float for v in t) and t.count(1.0) == 1:  # type: ignore[union-attr]
            return lse - outputs[t.index(1.0)]  # type: ignore[union-attr]
        return lse - Value.dot(t, outputs)

    def scorer(self, targets: Sequence[Sequence[float]]) -> Scorer:
        return lambda out, t: _argmax(out) == _argmax(t)


squared_error = SquaredError("sum")
half_squared_error = SquaredError("half")
mean_squared_error = SquaredError("mean")
hinge = Hinge()
binary_cross_entropy = BinaryCrossEntropy()
softmax_cross_entropy = SoftmaxCrossEntropy()

_BY_NAME = {
    "squared_error": squared_error, "sse": squared_error,
    "half_squared_error": half_squared_error, "half": half_squared_error,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "hinge": hinge,
    "binary_cross_entropy": binary_cross_entropy, "bce": binary_cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy, "cross_entropy": softmax_cross_entropy,
}


NAMES: tuple[str, ...] = tuple(_BY_NAME)
"""Every name `get` knows, short and long ("mse" and "mean_squared_error")."""


def get(loss: "str | Loss") -> Loss:
    """A loss object from itself or its name ("mse", "hinge", "bce", "cross_entropy", ...)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in _BY_NAME:
        return _BY_NAME[loss]
    raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(sorted(_BY_NAME))} or pass an nn.losses.Loss")


def l2_penalty(params: Iterable[Value], strength: float) -> Value:
    """strength * sum of p^2: added to a loss, it pulls weights towards 0 (weight decay)."""
    strength = finite(strength, "l2 strength")
    if strength < 0.0:
        raise ValueError(f"l2 strength must be >= 0, got {strength!r}")
    params = list(params)
    if not params:
        raise ValueError("l2_penalty needs at least one parameter")
    return strength * Value.dot(params, params)
