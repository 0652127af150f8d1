"""The documents' hand-derived backprop (nn.analytic) against the engine, and on its own."""
from __future__ import annotations

import ast
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn import MLP, analytic


def random_layers(r: random.Random, nin: int, sizes: list[int], acts: list[str]):
    widths = [nin, *sizes]
    return [([[r.gauss(0, 1) for _ in range(widths[k])] for _ in range(widths[k + 1])],
             [r.gauss(0, 1) for _ in range(widths[k + 1])], acts[k]) for k in range(len(sizes))]


def test_analytic_does_not_use_the_engine():
    tree = ast.parse(Path(analytic.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.split(".")[0] == "engine" for m in imported)
    # `compare` reaches the engine only through nn.losses, inside the function
    assert imported - {"__future__", "math", "dataclasses", "typing", "numpy"} == {"losses"}


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    nin=st.integers(1, 4),
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    acts=st.lists(st.sampled_from(["tanh", "sigmoid", "linear"]), min_size=4, max_size=4),
    cost=st.sampled_from(["sum", "half", "mean"]),
    fused=st.booleans(),
)
def test_engine_agrees_with_the_delta_rule_on_random_networks(seed, nin, sizes, acts, cost, fused):
    r = random.Random(seed)
    model = MLP.from_weights(random_layers(r, nin, sizes, acts[: len(sizes)]), fused=fused)
    x = [r.uniform(-2, 2) for _ in range(nin)]
    y = [r.uniform(-1, 1) for _ in range(sizes[-1])]
    report = analytic.compare(model, x, y, cost, rtol=1e-12)
    assert report, str(report)
    assert len(report.rows) == len(model.parameters())


def test_relu_networks_agree_too():
    r = random.Random(11)
    model = MLP.from_weights(random_layers(r, 3, [6, 4, 2], ["relu", "relu", "linear"]))
    assert analytic.compare(model, [0.3, -0.2, 1.1], [0.5, -0.5])


def test_compare_detects_a_wrong_gradient(monkeypatch):
    model = MLP.from_weights([([[0.5, -1.0]], [0.2], "tanh")])
    good = analytic.compare(model, [1.0, 2.0], [0.3])
    assert good and good.max_error < 1e-15
    real = analytic.ACTIVATIONS["tanh"]
    monkeypatch.setitem(analytic.ACTIVATIONS, "tanh", (real[0], lambda z, a: 1.0 - a))  # a wrong derivative
    bad = analytic.compare(model, [1.0, 2.0], [0.3])
    assert not bad and "DISAGREE" in str(bad)


def test_compare_restores_the_grads():
    model = MLP(2, [3, 1], seed=0)
    for i, p in enumerate(model.parameters()):
        p.grad = float(i)
    analytic.compare(model, [0.1, 0.2], [1.0])
    assert [p.grad for p in model.parameters()] == [float(i) for i in range(len(model.parameters()))]


def test_report_lists_every_parameter_with_its_label():
    model = MLP.from_weights([([[1.0, 2.0]], [0.0], "sigmoid")])
    text = str(analytic.compare(model, [0.5, 0.5], [1.0]))
    for name in ("layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b", "w1.1.2", "b1.1"):
        assert name in text
    assert "engine" in text and "analytic" in text and "rel. error" in text


def test_one_neuron_formulas_against_finite_differences():
    """Seed 000: dCdw and dCdb are the chain-rule products of the tanh neuron."""
    w, b, x, y, h = 0.7, -0.3, 1.5, 0.2, 1e-6
    assert analytic.dCdw(w, b, x, y) == pytest.approx((analytic.C(w + h, b, x, y) - analytic.C(w - h, b, x, y)) / (2 * h), rel=1e-7)
    assert analytic.dCdb(w, b, x, y) == pytest.approx((analytic.C(w, b + h, x, y) - analytic.C(w, b - h, x, y)) / (2 * h), rel=1e-7)


def test_backprop_against_finite_differences_without_the_engine():
    r = random.Random(5)
    layers = random_layers(r, 3, [4, 2], ["sigmoid", "tanh"])
    x, y = [0.2, -0.4, 0.9], [0.1, -0.3]
    grads = analytic.backprop(layers, x, y, "half")
    h = 1e-6
    for k, (W, b, act) in enumerate(layers):
        for i in range(len(W)):
            for j in range(len(W[i])):
                up = [(np.array(Wl, dtype=float), np.array(bl, dtype=float), a) for Wl, bl, a in layers]
                down = [(np.array(Wl, dtype=float), np.array(bl, dtype=float), a) for Wl, bl, a in layers]
                up[k][0][i, j] += h
                down[k][0][i, j] -= h
                numeric = (analytic.cost(up, x, y, "half") - analytic.cost(down, x, y, "half")) / (2 * h)
                assert grads[k][0][i, j] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_predict_matches_the_model_on_many_inputs():
    model = MLP(2, [5, 3], activation="sigmoid", output="tanh", seed=2)
    X = [[0.1, 0.2], [-1.0, 3.0], [2.0, -0.5]]
    out = analytic.predict(model.weights(), X)
    assert out.tolist() == [pytest.approx([o.data for o in model(x)], abs=1e-14) for x in X]


def test_bad_shapes_are_value_errors():
    layers = [([[1.0, 2.0, 3.0]], [0.0], "tanh")]
    with pytest.raises(ValueError, match="takes 3 inputs"):
        analytic.forward(layers, [1.0, 2.0])
    with pytest.raises(ValueError, match="1 outputs but the target"):
        analytic.backprop(layers, [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="cost must be"):
        analytic.backprop(layers, [1.0, 2.0, 3.0], [1.0], "l1")
    with pytest.raises(ValueError, match="layer 2 takes 2 inputs"):
        analytic.forward(layers + [([[1.0, 1.0]], [0.0], "tanh")], [1.0, 2.0, 3.0])


def test_documents_worked_examples_all_agree():
    """Every network of the documents: engine gradients equal the hand-derived ones."""
    cases = [
        # seed 000/001: the tanh neuron (w = 2.3, b = -1.2, x = 0, y = 1) and the NOT gate start
        ([([[2.3]], [-1.2], "tanh")], [0.0], [1.0], "sum"),
        ([([[1.3]], [-0.1], "tanh")], [0.0], [1.0], "sum"),
        # seed 000: the 3-input 2-output tanh layer with its cost
        ([([[-0.94529712, -0.2667356, -0.91219181], [2.05529992, 1.21797092, 0.22914497]],
           [0.61273249, 1.6422662], "tanh")], [0.7, 0.6, 0.2], [0.9, 0.6], "sum"),
        # seed 002: the 2-3-2 sigmoid network, half squared error
        ([([[-0.124, 0.871], [0.692, -0.036], [0.455, 1.239]], [-0.923, 0.02, -2.918], "sigmoid"),
          ([[-0.006, 0.295, 0.207], [0.126, 0.399, -0.637]], [-0.07, 1.912], "sigmoid")],
         [1.2, 0.7], [0.0, 1.0], "half"),
        # seed 003: the 3-3-1 sigmoid network, J = 1/2 ||y - h||^2
        ([([[0.2] * 3, [0.4] * 3, [0.6] * 3], [0.8] * 3, "sigmoid"), ([[0.5] * 3], [0.2], "sigmoid")],
         [1.5, 2.0, 3.0], [1.0], "half"),
        # seed 004: sigmoid hidden layer, linear output, (y - y_hat)^2
        ([([[0.5, 0.3, -0.1], [0.2, 0.4, 0.6], [-0.3, 0.5, 0.2]], [0.1, 0.2, 0.3], "sigmoid"),
          ([[0.9, -0.5, 0.4]], [0.3], "linear")], [2.0, 3.0, 1.0], [1.0], "sum"),
    ]
    for layers, x, y, cost in cases:
        for fused in (True, False):
            report = analytic.compare(MLP.from_weights(layers, fused=fused), x, y, cost)
            assert report, str(report)
            assert all(math.isfinite(r[2]) for r in report.rows)
