"""Reading order: where Graphviz puts a network's nodes, read from its laid-out coordinates.

Inputs x1, x2, x3, the neurons of each layer, a neuron's weights and the targets y1, y2
must come in natural order along each rank (left to right, or top to bottom when the
ranks run left to right), and collapsed layers one after another down the ranks, in
every view: layers collapsed, neurons collapsed, one neuron expanded, all expanded, with
and without the local derivatives.
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest

import engine.draw as drawing
from engine import Value, topological_order
from engine.draw import draw, renderer_available
from engine.layout import constraints
from engine.notation import names, natural
from nn import MLP
from nn.losses import half_squared_error, squared_error
from tests.conftest import require


def mlp_3_442() -> Value:
    return squared_error(MLP(3, [4, 4, 2], seed=0)([0.5, -1.0, 2.0]), [1.0, 0.0])


def document_002() -> Value:
    """Document 002's 2-3-2 sigmoid network at its first point, (1.2, 0.7) -> (0, 1)."""
    W2, B2 = [[-0.124, 0.871], [0.692, -0.036], [0.455, 1.239]], [-0.923, 0.02, -2.918]
    W3, B3 = [[-0.006, 0.295, 0.207], [0.126, 0.399, -0.637]], [-0.07, 1.912]
    model = MLP.from_weights([(W2, B2, "sigmoid"), (W3, B3, "sigmoid")])
    return half_squared_error(model([1.2, 0.7]), [0.0, 1.0])


def document_004() -> Value:
    """Document 004's 3-3-1 network: inputs (2, 3, 1), sigmoid hidden layer, linear output."""
    W1 = [[0.5, 0.3, -0.1], [0.2, 0.4, 0.6], [-0.3, 0.5, 0.2]]
    model = MLP.from_weights([(W1, [0.1, 0.2, 0.3], "sigmoid"), ([[0.9, -0.5, 0.4]], [0.3], "linear")])
    return squared_error(model([2.0, 3.0, 1.0]), [1.0])


def placed(picture: drawing.Drawing, root: Value) -> dict[str, tuple[float, float]]:
    """The centre of every named thing in the layout (points, y up): each Value by its
    display name, each collapsed box and each cluster by its scope."""
    _, program = drawing._renderer()
    layout = json.loads(subprocess.run([program, "-Tjson"], input=picture.source.encode(),
                                       capture_output=True, check=True, timeout=60).stdout)
    at = {}
    for thing in layout["objects"]:
        if "pos" in thing:
            at[thing["name"]] = tuple(map(float, thing["pos"].split(",")))
        elif "bb" in thing:
            x0, y0, x1, y1 = map(float, thing["bb"].split(","))
            at[thing["name"]] = ((x0 + x1) / 2, (y0 + y1) / 2)
    label = names(topological_order(root))
    out = {label[v]: at[node] for v, node in picture.shown.items() if node.startswith("v")}
    out.update({scope: at[node] for scope, node in {**picture.collapsed, **picture.clusters}.items()})
    return out


def along(at: dict[str, tuple[float, float]], rankdir: str, group: str) -> list[str]:
    """The names matching `group`, in the order they are drawn along a rank."""
    found = [name for name in at if re.fullmatch(group, name)]
    return sorted(found, key=lambda n: -at[n][1] if rankdir == "LR" else at[n][0])


def down(at: dict[str, tuple[float, float]], rankdir: str, group: str) -> list[str]:
    """The names matching `group`, in the order they are drawn down the ranks."""
    found = [name for name in at if re.fullmatch(group, name)]
    return sorted(found, key=lambda n: at[n][0] if rankdir == "LR" else -at[n][1])


VIEWS = {
    "layers collapsed": dict(collapse_depth=1),
    "neurons collapsed": dict(collapse_depth=2),
    "one neuron expanded": dict(collapse_depth=2, expand="layer 2/neuron 1"),
    "one layer expanded": dict(collapse_depth=1, expand="layer 1"),
    "everything expanded": dict(max_nodes=500),
    "one layer expanded, local derivatives": dict(collapse_depth=1, expand="layer 1", show_partials=True),
    "everything expanded, local derivatives": dict(max_nodes=500, show_partials=True),
}


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("network", [mlp_3_442, document_002, document_004])
def test_a_network_reads_in_natural_order(network, view, rankdir):
    require(renderer_available(), "Graphviz (the `dot` program)")
    C = network()
    at = placed(draw(C, rankdir=rankdir, **VIEWS[view]), C)
    groups = [r"x\d+", r"y\d+"]
    for layer in (1, 2, 3):
        groups += [rf"layer {layer}/neuron \d+"]
        groups += [rf"{name}{layer}\.\d+" for name in ("dot", "b", "z", "a")]
        groups += [rf"w{layer}\.{neuron}\.\d+" for neuron in range(1, 5)]
    checked = 0
    for group in groups:
        shown = along(at, rankdir, group)
        assert shown == sorted(shown, key=natural), (group, shown)
        checked += len(shown) > 1
    assert checked >= 1  # the inputs at least
    layers = down(at, rankdir, r"layer \d+")
    assert layers == sorted(layers, key=natural)


def test_only_parallel_nodes_share_a_rank():
    """f = (x*y) * y: the op's arguments mul1 and y are not put on one rank, since mul1
    is computed from y; y and x are."""
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    f = x * y * y
    assert [v.label for v in topological_order(f)][:2] == ["x", "y"]
    source = draw(f).source
    assert re.search(r"rank=same\s+v0 -> v1 \[style=invis\]", source)  # x, y
    assert source.count("rank=same") == 1


def test_sibling_clusters_are_anchored_in_their_parent():
    """Expanded neurons of one layer: an invisible point per neuron in the layer's cluster,
    in the neurons' order, each pointing into its neuron."""
    C = mlp_3_442()
    picture = draw(C, collapse_depth=1, expand="layer 1")
    layer = re.search(r"subgraph cluster_\d+ \{\s+[^\n]*label=<layer 1>(.*?)subgraph cluster_", picture.source, re.S)
    anchors = re.findall(r"(a\d+) \[label=\"\" height=0 shape=point style=invis width=0\]", layer.group(1))
    assert len(anchors) == 4
    pairs = re.findall(r"rank=same\s+(a\d+) -> (a\d+)", layer.group(1))
    assert len(pairs) == 3


def test_constraints_skip_what_depends_on_each_other():
    """Layers follow one another (no anchors between them); a layer's neurons do not."""
    C = mlp_3_442()
    order = topological_order(C)
    picture = draw(C, collapse_depth=1)
    boxes = picture.collapsed
    node_of = {v: picture.shown[v] for v in order}
    home = {node: None for node in node_of.values()}
    keep = constraints(order, set(order), node_of, node_of, home, [], boxes)
    assert not keep.anchors
    flat = {frozenset(p) for pairs in keep.pairs.values() for p in pairs}
    assert not any(frozenset((boxes[a], boxes[b])) in flat for a in boxes for b in boxes if a != b)
