"""The selected point's graph, rebuilt from a frame's weights, and what the page reads from it.

Every reader works on its own copy of the network (`MLP.from_weights`), so inspecting
never touches the model being trained. A node is named by its index in the graph's
topological order, the `v<i>` of `engine.draw`'s drawings, so a click on the page's
neuron view and a click on a drawing ask for the same thing.
"""
from __future__ import annotations

import pathlib
import tempfile
from dataclasses import dataclass
from typing import Any, Sequence

from engine import Value, backward_steps, forward_steps, no_grad, topological_order
from engine.draw import draw, pipe
from engine.player import save_html

from .. import losses
from ..module import MLP, Neuron

__all__ = ["PointGraph", "graph", "network_view", "node_step", "nudge", "neuron_drawing", "player_page",
           "MAX_PAGE_NODES", "InspectError"]

MAX_PAGE_NODES = 300  # engine.player's own limit: past it Graphviz takes too long


class InspectError(ValueError):
    """A node, neuron or nudge that does not exist in this graph (the server answers 400)."""


@dataclass
class PointGraph:
    """One example's loss C through a copy of the network, after backward()."""

    model: MLP
    inputs: list[Value]
    targets: list[Value]
    layers: list[list[Value]]  # each layer's outputs, the neurons' activations
    loss_fn: losses.Loss
    root: Value
    order: list[Value]

    def index(self, v: Value) -> int:
        return self._index[v]

    def __post_init__(self) -> None:
        self._index = {v: i for i, v in enumerate(self.order)}

    def is_parameter(self, v: Value) -> bool:
        """A weight or bias of the copied network (what a nudge may move)."""
        return any(v is p for p in self.model.parameters())

    def node(self, i: object) -> Value:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.order):
            raise InspectError(f"no node {i!r} in this graph; it has {len(self.order)} (0 to {len(self.order) - 1})")
        return self.order[i]


def graph(weights: Sequence, x: Sequence[float], target: Any, loss_fn: losses.Loss) -> PointGraph:
    """The loss of input `x` and (unencoded) `target` through a network with `weights`."""
    try:
        model = MLP.from_weights(weights)
        inputs = [Value(v, label=f"x{j}") for j, v in enumerate(x, 1)]
        targets = [Value(v, label=f"y{j}") for j, v in enumerate(loss_fn.encode(target, model.nout), 1)]
        layers, h = [], inputs
        for layer in model.layers:
            h = layer(h)
            layers.append(h)
        root = loss_fn.forward(h, targets)
        root.label = "C"
        root.backward()
    except (OverflowError, ZeroDivisionError, ValueError) as error:  # weights that training blew up
        raise InspectError(f"the selected point's loss cannot be computed ({error}); reset the network") from None
    return PointGraph(model, inputs, targets, layers, loss_fn, root, topological_order(root))


def _leaf(g: PointGraph, v: Value) -> dict[str, Any]:
    return {"name": v.label, "value": v.data, "grad": v.grad, "node": g.index(v)}


def network_view(g: PointGraph) -> dict[str, Any]:
    """Per neuron its activation and dC/da, per weight its value and dC/dw: the page's view."""
    layers = []
    for k, (layer, outputs) in enumerate(zip(g.model.layers, g.layers), 1):
        layers.append({"name": f"layer {k}", "activation": layer.activation, "neurons": [
            {"name": f"neuron {j}", "value": a.data, "grad": a.grad, "node": g.index(a),
             "bias": _leaf(g, n.b), "weights": [_leaf(g, w) for w in n.w]}
            for j, (n, a) in enumerate(zip(layer.neurons, outputs), 1)
        ]})
    return {"inputs": [_leaf(g, v) for v in g.inputs], "targets": [_leaf(g, v) for v in g.targets],
            "layers": layers, "loss": {"name": "C", "value": g.root.data, "node": g.index(g.root)},
            "nodes": len(g.order)}


def node_step(g: PointGraph, i: object) -> dict[str, Any]:
    """The chain rule at node `i`: how it was computed, what reached it, what it sends on."""
    node = g.node(i)
    forward = list(forward_steps(g.root))[g.index(node)]
    for v in g.order:  # one fresh walk: leaves start from 0, as in explain()
        v.grad = 0.0
    steps = list(backward_steps(g.root))
    received = [f"from {s.name}: upstream {s.upstream:.6g} * local {e.formula} = {e.partial:.6g}"
                f"  ->  {e.product:.6g} (total {e.total:.6g})"
                for s in steps for e in s.edges if e.parent is node]
    own = next((s for s in steps if s.node is node), None)
    return {
        "node": g.index(node), "name": forward.name, "forward": forward.text,
        "value": node.data, "grad": node.grad,
        "received": received,
        "sends": own.lines() if own is not None else [],
        "parameter": g.is_parameter(node),
    }


def nudge(g: PointGraph, i: object, delta: object) -> dict[str, Any]:
    """Move parameter `i` by `delta`: the predicted change of C (grad x delta) and the actual one."""
    node = g.node(i)
    if not g.is_parameter(node):
        raise InspectError(f"node {i} ({node.label or 'an interior node'}) is not a weight or bias; only those can be nudged")
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not -10.0 <= delta <= 10.0:
        raise InspectError(f"a nudge must be a number from -10 to 10, got {delta!r}")
    before, grad = g.root.data, node.grad
    node.data += delta
    try:
        with no_grad():
            after = g.loss_fn.forward(g.model([v.data for v in g.inputs]), [t.data for t in g.targets]).data
    finally:
        node.data -= delta
    return {"node": g.index(node), "name": node.label, "grad": grad, "delta": float(delta),
            "before": before, "after": after, "predicted": grad * delta, "actual": after - before}


def neuron_drawing(g: PointGraph, layer: object, neuron: object) -> tuple[str, dict[str, int]]:
    """One neuron expanded, drawn by engine.draw (Graphviz SVG): its inputs, weights, dot,
    bias, z and activation with each edge's local derivative; and which node of the
    point's graph each drawn `v<i>` is.

    The drawing is the neuron alone, rebuilt by `Neuron.from_weights` over leaf copies of
    its inputs, with backward seeded by dC/da: so its weights, bias and interior nodes show
    the point's gradients exactly, and its inputs the share of dC/dx this neuron sends.
    (A focused drawing of the whole graph would show every sibling neuron as well.)
    """
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= len(g.layers):
        raise InspectError(f"no layer {layer!r}; the network has layers 1 to {len(g.layers)}")
    outputs = g.layers[layer - 1]
    if isinstance(neuron, bool) or not isinstance(neuron, int) or not 1 <= neuron <= len(outputs):
        raise InspectError(f"no neuron {neuron!r} in layer {layer}; it has neurons 1 to {len(outputs)}")
    source = g.model.layers[layer - 1].neurons[neuron - 1]
    inputs = g.inputs if layer == 1 else g.layers[layer - 2]
    alone = Neuron.from_weights([w.data for w in source.w], source.b.data, source.activation,
                                name=f"layer {layer}, neuron {neuron}", tag=f"{layer}.{neuron}")
    a = alone([Value(x.data) for x in inputs])
    a.backward(outputs[neuron - 1].grad)
    names = {step.node: step.name for step in forward_steps(g.root)}
    twin, pairs = {}, [(a, outputs[neuron - 1])]
    while pairs:  # the same structure, node for node, down to the copied inputs
        mine, theirs = pairs.pop()
        twin[mine] = theirs
        mine.label = names[theirs]
        pairs.extend(zip(mine.parents, theirs.parents))
    svg = pipe(draw(a, show_partials=True, rankdir="LR").source, "svg").decode("utf-8")
    ids = {f"v{i}": g.index(twin[v]) for i, v in enumerate(topological_order(a))}
    return svg[svg.index("<svg"):], ids


def player_page(g: PointGraph) -> bytes:
    """engine.player's step-through page of this point's loss, as one HTML document."""
    if len(g.order) > MAX_PAGE_NODES:
        raise InspectError(f"the step-through page draws graphs of up to {MAX_PAGE_NODES} nodes and this "
                           f"point's graph has {len(g.order)}: choose fewer or narrower hidden layers")
    with tempfile.TemporaryDirectory() as folder:
        return save_html(g.root, pathlib.Path(folder) / "steps.html", max_nodes=MAX_PAGE_NODES).read_bytes()
