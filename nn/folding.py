"""From scalars to the delta rule: a network's scalar graph folded back into matrices.

`fold(model, x, y)` puts, for every layer, the matrices of the documents beside the
scalar graph the engine built: W, b, z and a with their shapes; the delta rule's
δ_L = dC/da ⊙ f'(z_L), δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ f'(z_l) and dC/dW_l = δ_l a_{l-1}ᵀ from
`nn.analytic` (the documents' formulas, engine-free); and the same numbers read out
of the scalar graph: δ_i is dC/dz_i of neuron i's z node, a sum over every path from
the cost, and dC/dW_ij the gradient of weight w_ij. They agree: that is what the
delta rule is, the chain rule summed over paths, a layer at a time.

The result is plain data (per layer: the delta list, the dW matrix, ...) and prints as a
report, in text or Markdown (`.markdown()`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from engine.autodiff import gradients
from engine.derivation import Section, render
from engine.notation import number

from . import analytic
from .losses import SquaredError
from .module import MLP

__all__ = ["fold", "Fold", "LayerFold"]

Matrix = list[list[float]]

PRIME = {"tanh": "tanh'", "sigmoid": "σ'", "relu": "relu'", "linear": "1"}  # f' as the report writes it
NAME = {"tanh": "tanh", "sigmoid": "σ", "relu": "relu", "linear": ""}


@dataclass(frozen=True)
class LayerFold:
    """One layer, 1-based as in the documents: its matrices by the documents' formulas
    and the same numbers out of the scalar graph (`graph_...`)."""

    index: int
    activation: str
    W: Matrix
    b: list[float]
    a_in: list[float]       # a_{l-1}: the layer's input (x for layer 1)
    z: list[float]
    a: list[float]
    delta: list[float]      # δ_l by the delta rule
    dW: Matrix              # δ_l a_{l-1}ᵀ
    graph_z: list[float]
    graph_a: list[float]
    graph_delta: list[float]  # dC/dz_i of each neuron's z node
    graph_dW: Matrix          # dC/dw_ij of each weight

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {"W": (len(self.W), len(self.W[0])), "b": (len(self.b),), "z": (len(self.z),),
                "a": (len(self.a),)}

    @property
    def error(self) -> float:
        """The largest difference between formula and graph, relative to the largest
        magnitude of the quantity it is in (z, a, δ or dC/dW)."""
        pairs = [(self.z, self.graph_z), (self.a, self.graph_a), (self.delta, self.graph_delta),
                 (_flat(self.dW), _flat(self.graph_dW))]
        return max(_relative(p, q) for p, q in pairs)


def _flat(m: Matrix) -> list[float]:
    return [x for row in m for x in row]


def _relative(p: Sequence[float], q: Sequence[float]) -> float:
    scale = max([abs(x) for x in (*p, *q)] + [0.0])
    return 0.0 if scale == 0.0 else max(abs(a - b) for a, b in zip(p, q)) / scale


@dataclass(frozen=True)
class Fold:
    """Every layer folded (`layers`), the cost, and whether formula and graph agree."""

    layers: list[LayerFold]
    cost: float
    kind: str
    rtol: float

    @property
    def error(self) -> float:
        return max(layer.error for layer in self.layers)

    def __bool__(self) -> bool:
        return self.error <= self.rtol

    def sections(self) -> list[Section]:
        n = len(self.layers)
        out = []
        for layer in self.layers:
            l, prev = layer.index, "x" if layer.index == 1 else f"a{layer.index - 1}"
            f, shapes = layer.activation, layer.shapes
            if l == n:
                rule = f"dC/da{l} ⊙ {PRIME[f]}(z{l})"
            else:
                rule = f"(W{l + 1}ᵀ δ{l + 1}) ⊙ {PRIME[f]}(z{l})"
            if f == "linear":
                rule = rule.rsplit(" ⊙ ", 1)[0]
            rows: list[list[str]] = []

            def add(name: str, shape: tuple[int, ...], how: str, matrix: Matrix) -> None:
                for k, row in enumerate(matrix):  # a row of the table per row of the matrix
                    rows.append([name if k == 0 else "", _shape(shape) if k == 0 else "",
                                 how if k == 0 else "", _vector(row)])

            add("W", shapes["W"], f"W{l}: the leaves w{l}.i.j", layer.W)
            add("b", shapes["b"], f"b{l}: the leaves b{l}.i", [layer.b])
            add("z", shapes["z"], f"W{l} {prev} + b{l}", [layer.z])
            add("", (), "scalar graph: the z nodes", [layer.graph_z])
            add("a", shapes["a"], f"{NAME[f]}(z{l})" if NAME[f] else f"z{l}", [layer.a])
            add("", (), "scalar graph: the a nodes", [layer.graph_a])
            add("δ", shapes["z"], rule, [layer.delta])
            add("", (), f"scalar graph: dC/dz{l}", [layer.graph_delta])
            add("dC/dW", shapes["W"], f"δ{l} {prev}ᵀ", layer.dW)
            add("", (), f"scalar graph: dC/dw{l}.i.j", layer.graph_dW)
            title = f"Layer {l} of {n} ({f}): largest difference {layer.error:.1e}"
            out.append(Section(title, ["", "shape", "computed as", "numbers"], rows))
        verdict = "agree" if self else "DISAGREE"
        out.append(Section("Verdict", notes=[
            f"C = {number(self.cost)} ({self.kind} of squared errors). The documents' delta rule",
            f"and the scalar graph's gradients {verdict}: largest difference {self.error:.1e}",
            f"(relative to each quantity's largest entry; rtol {self.rtol:g}).",
        ]))
        return out

    def text(self) -> str:
        return render(self.sections(), "text")

    def markdown(self) -> str:
        return render(self.sections(), "markdown")

    __str__ = text


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _vector(v: Sequence[float]) -> str:
    return "[" + ", ".join(number(x) for x in v) + "]"


def fold(model: MLP, x: Sequence[float], y: Any, cost: str = "sum", *, rtol: float = 1e-12) -> Fold:
    """Each layer of `model` at the example (x, y): the delta rule's matrices (from
    `nn.analytic`) beside the scalar graph's gradients of the squared-error cost.

    No `.grad` is changed: the graph's gradients come from `engine.autodiff.gradients`.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"fold takes an nn.MLP, got {type(model).__name__}")
    weights = model.weights()
    zs, acts = analytic.forward(weights, x)
    by_formula = analytic.backprop(weights, x, y, cost)
    a_nodes, z_nodes = [], []
    inputs = list(map(float, x))
    a = inputs
    for layer in model.layers:
        a = layer(a)
        a_nodes.append(a)
        z_nodes.append(a if layer.activation == "linear" else [ai.parents[0] for ai in a])
    C = SquaredError(cost)(a, y)
    params = [w for layer in model.layers for n in layer.neurons for w in n.w]
    flat_z = [z for layer in z_nodes for z in layer]
    found = gradients(C, flat_z + params)
    dz, dw = iter(found[: len(flat_z)]), iter(found[len(flat_z):])
    layers = []
    for l, layer in enumerate(model.layers):
        W, b, act = weights[l]
        dW, delta = by_formula[l]
        graph_delta = [next(dz) for _ in layer.neurons]
        graph_dW = [[next(dw) for _ in n.w] for n in layer.neurons]
        layers.append(LayerFold(
            l + 1, act, [list(row) for row in W], list(b), [float(v) for v in acts[l]],
            zs[l].tolist(), acts[l + 1].tolist(), delta.tolist(), dW.tolist(),
            [z.data for z in z_nodes[l]], [ai.data for ai in a_nodes[l]], graph_delta, graph_dW))
    return Fold(layers, C.data, cost, rtol)
