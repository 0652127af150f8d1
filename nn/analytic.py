"""The documents' hand-derived backpropagation, written independently of `engine`.

Nothing here builds a graph: these are the formulas of the source documents on plain
floats and numpy arrays, so they can check the engine rather than repeat it.

- One tanh neuron, cost C = (a - y)^2 (document 000/001):
  dC/dw = 2(a - y) * 1/cosh(z)^2 * x and dC/db = 2(a - y) * 1/cosh(z)^2.
- Any dense network, the matrix delta rule (document 002/003/004):
  delta_L = dC/da_L * f'(z_L), delta_l = (W_{l+1}^T delta_{l+1}) * f'(z_l),
  dC/dW_l = delta_l a_{l-1}^T, dC/db_l = delta_l.

`compare(model, x, y)` puts the engine's gradients of an `nn.MLP` next to these.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = [
    "a1", "C", "dCdw", "dCdb", "ACTIVATIONS", "forward", "predict", "cost", "backprop",
    "Comparison", "compare", "relative_error",
]

Layers = Sequence[tuple[Any, Any, str]]  # (W, b, activation) per layer, as nn.MLP.weights()


# ---------------------------------------------------------------- one neuron (document 000/001)

def a1(w1: float, b1: float, a0: float) -> float:
    """The neuron's activation tanh(w1 * a0 + b1)."""
    return math.tanh(w1 * a0 + b1)


def C(w1: float, b1: float, x: float, y: float) -> float:
    """The cost of one example, (a1 - y)^2."""
    return (a1(w1, b1, x) - y) ** 2


def dCdw(w1: float, b1: float, x: float, y: float) -> float:
    """dC/dw = dC/da * da/dz * dz/dw = 2(a - y) * 1/cosh(z)^2 * x."""
    z = w1 * x + b1
    dCda = 2 * (a1(w1, b1, x) - y)
    dadz = 1 / math.cosh(z) ** 2
    dzdw = x
    return dCda * dadz * dzdw


def dCdb(w1: float, b1: float, x: float, y: float) -> float:
    """dC/db = dC/da * da/dz * dz/db = 2(a - y) * 1/cosh(z)^2 * 1."""
    z = w1 * x + b1
    dCda = 2 * (a1(w1, b1, x) - y)
    dadz = 1 / math.cosh(z) ** 2
    dzdb = 1
    return dCda * dadz * dzdb


# ---------------------------------------------------------------- networks (document 002/003/004)

def _sigmoid(z: np.ndarray) -> np.ndarray:
    # Stable for large |z|: exp of a non-positive number only.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# name -> (f, f') on numpy arrays; f' takes z (and the already computed a = f(z)).
ACTIVATIONS = {
    "tanh": (np.tanh, lambda z, a: 1.0 / np.cosh(z) ** 2),
    "sigmoid": (_sigmoid, lambda z, a: a * (1.0 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float)),
}

COSTS = ("sum", "half", "mean")


def _layers(layers: Layers) -> list[tuple[np.ndarray, np.ndarray, str]]:
    out = []
    for k, (W, b, act) in enumerate(layers, 1):
        W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ValueError(f"layer {k}: W must be a matrix and b a vector of its row count, got {W.shape} and {b.shape}")
        if out and W.shape[1] != out[-1][0].shape[0]:
            raise ValueError(f"layer {k} takes {W.shape[1]} inputs but layer {k - 1} has {out[-1][0].shape[0]} outputs")
        if act not in ACTIVATIONS:
            raise ValueError(f"layer {k}: unknown activation {act!r}; known: {', '.join(ACTIVATIONS)}")
        out.append((W, b, act))
    if not out:
        raise ValueError("a network needs at least one layer")
    return out


def forward(layers: Layers, x: Sequence[float]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """z_l = W_l a_{l-1} + b_l and a_l = f(z_l) for every layer: (zs, activations), a_0 = x."""
    net = _layers(layers)
    a = np.asarray(x, dtype=float)
    if a.shape != (net[0][0].shape[1],):
        raise ValueError(f"the network takes {net[0][0].shape[1]} inputs, got shape {a.shape}")
    zs, acts = [], [a]
    for W, b, act in net:
        z = W @ a + b
        a = ACTIVATIONS[act][0](z)
        zs.append(z)
        acts.append(a)
    return zs, acts


def predict(layers: Layers, X: Any) -> np.ndarray:
    """Outputs for many inputs at once (rows of X): fast evaluation, e.g. for plots."""
    A = np.asarray(X, dtype=float)
    for W, b, act in _layers(layers):
        A = ACTIVATIONS[act][0](A @ np.asarray(W, dtype=float).T + b)
    return A


def _dcda(a: np.ndarray, y: np.ndarray, kind: str) -> np.ndarray:
    if kind == "sum":  # C = sum (a - y)^2
        return 2.0 * (a - y)
    if kind == "half":  # C = 1/2 sum (a - y)^2
        return a - y
    if kind == "mean":  # C = 1/n sum (a - y)^2
        return 2.0 * (a - y) / a.size
    raise ValueError(f"cost must be one of {COSTS}, got {kind!r}")


def _target(y: Any, n: int) -> np.ndarray:
    t = np.atleast_1d(np.asarray(y, dtype=float))
    if t.shape != (n,):
        raise ValueError(f"the network has {n} outputs but the target has shape {t.shape}")
    return t


def cost(layers: Layers, x: Sequence[float], y: Any, kind: str = "sum") -> float:
    """The squared-error cost of one example: "sum", "half" (1/2 sum) or "mean"."""
    _, acts = forward(layers, x)
    d = acts[-1] - _target(y, acts[-1].size)
    scale = {"sum": 1.0, "half": 0.5, "mean": 1.0 / d.size}
    if kind not in scale:
        raise ValueError(f"cost must be one of {COSTS}, got {kind!r}")
    return float(scale[kind] * (d @ d))


def backprop(layers: Layers, x: Sequence[float], y: Any, kind: str = "sum",
             _magnitude: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """(dC/dW_l, dC/db_l) for every layer, by the delta rule of the documents."""
    net = _layers(layers)
    zs, acts = forward(layers, x)
    t = _target(y, acts[-1].size)
    grads: list[tuple[np.ndarray, np.ndarray]] = []
    mag = np.abs if _magnitude else (lambda v: v)
    delta = None
    for l in range(len(net) - 1, -1, -1):
        W, _, act = net[l]
        fprime = mag(ACTIVATIONS[act][1](zs[l], acts[l + 1]))
        if delta is None:
            delta = mag(_dcda(acts[-1], t, kind)) * fprime  # delta_L = dC/da * f'(z_L)
        else:
            delta = (mag(net[l + 1][0]).T @ delta) * fprime  # delta_l = (W_{l+1}^T delta_{l+1}) * f'(z_l)
        grads.append((np.outer(delta, mag(acts[l])), delta.copy()))  # dW_l = delta_l a_{l-1}^T, db_l = delta_l
    return grads[::-1]


# ---------------------------------------------------------------- engine vs documents

def relative_error(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|), and 0 when both are 0."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale


@dataclass
class Comparison:
    """Every parameter with its engine gradient, analytic gradient and relative error."""

    rows: list[tuple[str, str, float, float, float]]  # (name, label, engine, analytic, rel. error)
    cost: str
    rtol: float
    scales: list[float]  # per row: the same formula over absolute values (see `compare`)

    @property
    def max_error(self) -> float:
        return max((r[4] for r in self.rows), default=0.0)

    def agrees(self, name: str | None = None) -> bool:
        picked = [(r, s) for r, s in zip(self.rows, self.scales) if name is None or r[0] == name]
        return all(abs(e - a) <= self.rtol * max(abs(e), abs(a), s) for (_, _, e, a, _), s in picked)

    def __bool__(self) -> bool:
        return self.agrees()

    def __str__(self) -> str:
        width = max([len(r[0]) for r in self.rows] + [9])
        lab = max([len(r[1]) for r in self.rows] + [5])
        lines = [f"{'parameter':<{width}}  {'label':<{lab}}  {'engine':>22}  {'analytic':>22}  {'rel. error':>10}"]
        for name, label, e, a, rel in self.rows:
            lines.append(f"{name:<{width}}  {label:<{lab}}  {e:>22.15g}  {a:>22.15g}  {rel:>10.2e}")
        verdict = "agree" if self else "DISAGREE"
        lines.append(f"{len(self.rows)} parameters, cost {self.cost!r}: largest relative error "
                     f"{self.max_error:.2e} ({verdict} at rtol={self.rtol:g})")
        return "\n".join(lines)


def compare(model: Any, x: Sequence[float], y: Any, cost: str = "sum", *, rtol: float = 1e-12) -> Comparison:
    """Engine gradients of the squared-error cost of (x, y) beside the delta rule's.

    `model` is an `nn.MLP`; its parameters' grads are restored afterwards, so comparing
    does not disturb training. A parameter agrees when the two differ by at most `rtol`
    times the larger of them, or of its *scale*: the delta rule run on absolute values
    (|W|, |f'|, |a|), the sum of the sizes of the terms that were added. Where terms
    cancel, rounding is relative to that sum, not to the small result.
    """
    from .losses import SquaredError  # the engine side, only for the comparison

    if cost not in COSTS:
        raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
    analytic = backprop(model.weights(), x, y, cost)
    magnitude = backprop(model.weights(), x, y, cost, _magnitude=True)
    named = list(model.named_parameters())
    saved = [p.grad for _, p in named]
    try:
        for _, p in named:
            p.grad = 0.0
        SquaredError(cost)(model(list(x)), y).backward()
        engine_grads = {name: p.grad for name, p in named}
    finally:
        for (_, p), g in zip(named, saved):
            p.grad = g
    rows, scales = [], []
    for name, p in named:
        parts = name.split(".")  # layers.K.neurons.I.w.J or layers.K.neurons.I.b
        k, i = int(parts[1]), int(parts[3])
        pick = (lambda g: float(g[0][i, int(parts[5])])) if parts[4] == "w" else (lambda g: float(g[1][i]))
        a, e = pick(analytic[k]), engine_grads[name]
        rows.append((name, p.label or "", e, a, relative_error(e, a)))
        scales.append(pick(magnitude[k]))
    return Comparison(rows, cost, rtol, scales)
