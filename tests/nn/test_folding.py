"""nn.fold: the delta rule's matrices beside the scalar graph's gradients, layer by layer."""
from __future__ import annotations

import random

import pytest
from markdown_it import MarkdownIt

import nn
from nn import MLP, analytic
from nn.losses import SquaredError
from tests.nn.test_analytic import random_layers

SEED002 = [([[-0.124, 0.871], [0.692, -0.036], [0.455, 1.239]], [-0.923, 0.02, -2.918], "sigmoid"),
           ([[-0.006, 0.295, 0.207], [0.126, 0.399, -0.637]], [-0.07, 1.912], "sigmoid")]


def backward_grads(model, x, y, cost):
    """The gradients of every weight and of each neuron's z, by a plain backward()."""
    model.zero_grad()
    C = SquaredError(cost)(model(x), y)
    C.backward()
    return [[[w.grad for w in n.w] for n in layer.neurons] for layer in model.layers]


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("cost", ["sum", "half", "mean"])
def test_the_document_002_network_folds_and_agrees(fused, cost):
    model = MLP.from_weights(SEED002, fused=fused)
    x, y = [1.2, 0.7], [0.0, 1.0]
    before = [p.grad for p in model.parameters()]
    folded = nn.fold(model, x, y, cost)
    assert [p.grad for p in model.parameters()] == before  # folding changes nothing
    assert folded and folded.error < 1e-14
    assert [layer.shapes for layer in folded.layers] == [
        {"W": (3, 2), "b": (3,), "z": (3,), "a": (3,)}, {"W": (2, 3), "b": (2,), "z": (2,), "a": (2,)}]
    for layer, (dW, db), graph in zip(folded.layers, analytic.backprop(model.weights(), x, y, cost),
                                      backward_grads(model, x, y, cost)):
        assert layer.delta == db.tolist() and layer.dW == dW.tolist()  # the documents' formulas
        assert layer.graph_dW == graph  # the scalar graph's own gradients, bit for bit
        assert isinstance(layer.delta, list) and isinstance(layer.dW[0], list)  # plain data
    x_layer = folded.layers[0]
    assert x_layer.a_in == x and folded.layers[1].a_in == x_layer.a


def test_random_networks_of_every_activation_agree():
    r = random.Random(3)
    for acts in (["tanh", "relu", "linear"], ["sigmoid", "tanh", "sigmoid"], ["relu", "relu", "tanh"]):
        model = MLP.from_weights(random_layers(r, 3, [4, 3, 2], acts))
        folded = nn.fold(model, [0.3, -1.1, 0.8], [0.5, -0.5])
        assert folded, folded.text()
        last = folded.layers[-1]
        assert len(last.graph_delta) == 2 and len(folded.layers[0].graph_dW) == 4


def test_a_wrong_delta_rule_is_caught(monkeypatch):
    f, _ = analytic.ACTIVATIONS["tanh"]
    monkeypatch.setitem(analytic.ACTIVATIONS, "tanh", (f, lambda z, a: 1.0 - a))  # 1 - tanh, not 1 - tanh^2
    model = MLP.from_weights(random_layers(random.Random(1), 2, [3, 1], ["tanh", "tanh"]))
    folded = nn.fold(model, [0.4, 0.9], [1.0])
    assert not folded and folded.error > 1e-3
    assert "DISAGREE" in folded.text()


def test_the_report_in_text_and_markdown():
    folded = nn.fold(MLP.from_weights(SEED002), [1.2, 0.7], [0.0, 1.0], "half")
    text = str(folded)
    assert "δ      3      (W2ᵀ δ2) ⊙ σ'(z1)" in text and "dC/dW  2x3    δ2 a1ᵀ" in text
    assert "scalar graph: dC/dz2" in text and "agree: largest difference" in text
    assert max(map(len, text.splitlines())) <= 80
    html = MarkdownIt("commonmark").enable("table").render(folded.markdown())
    assert html.count("<table>") == 2 and "(W2ᵀ δ2) ⊙ σ'(z1)" in html
    assert "$$" not in html and "<p>C = 0.152873 (half of squared errors)" in html  # the verdict is prose


def test_fold_refuses_what_is_not_a_network():
    with pytest.raises(TypeError, match="nn.MLP"):
        nn.fold("model", [1.0], [1.0])
    with pytest.raises(ValueError, match="takes 2 inputs"):
        nn.fold(MLP.from_weights(SEED002), [1.0], [1.0, 0.0])
