"""Oracle tests: the networks and worked examples of the source documents, built with nn.

Each test names the seed document and the example. Expected numbers are the documents'
printed results; where a document only prints rounded numbers (seed 002 prints weights
to 3 decimals) the tolerance is the printed precision.
"""
from __future__ import annotations

import math

import pytest

import nn
from nn import MLP, Layer, Neuron, analytic


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# ---------------------------------------------------------------- seed 000 and 001

def test_seed000_tanh_neuron_dCdb_and_dCdw():
    """Seed 000 In [37]/[38]: w1 = 2.3, b1 = -1.2, x = 0, y = 1 -> dCdb = -1.1186026425530913, dCdw = -0.0."""
    n = Neuron.from_weights([2.3], -1.2, "tanh")
    cost = nn.losses.squared_error([n([0.0])], 1.0)
    cost.backward()
    assert n.b.grad == -1.1186026425530913
    assert n.w[0].grad == 0.0
    assert analytic.dCdb(2.3, -1.2, 0, 1) == -1.1186026425530913
    assert analytic.dCdw(2.3, -1.2, 0, 1) == 0.0


def test_seed000_three_input_two_output_tanh_layer():
    """Seed 000 In [29]: W = [[-2, 4, -1], [6, 0, -3]], b = [0.1, -2.5], x = [0.3, 0.4, 0.1]
    -> [0.76159416, -0.76159416]."""
    layer = Layer.from_weights([[-2, 4, -1], [6, 0, -3]], [0.1, -2.5], "tanh")
    out = layer([0.3, 0.4, 0.1])
    assert [round(v.data, 8) for v in out] == [0.76159416, -0.76159416]


def test_seed000_two_output_cost():
    """Seed 000 In [41] (and seed 001 Question 5): the 3-input 2-output tanh layer with the
    'random' W, b, x = [0.7, 0.6, 0.2], y = [0.9, 0.6] -> C = 1.7788340952508737
    (seed 001 prints 1.7788340952508743 and d = [-1.27261408, 0.39910838])."""
    W = [[-0.94529712, -0.2667356, -0.91219181], [2.05529992, 1.21797092, 0.22914497]]
    b = [0.61273249, 1.6422662]
    layer = Layer.from_weights(W, b, "tanh")
    out = layer([0.7, 0.6, 0.2])
    assert [round(o.data - y, 8) for o, y in zip(out, [0.9, 0.6])] == [-1.27261408, 0.39910838]
    cost = nn.losses.squared_error(out, [0.9, 0.6])
    assert cost.data == pytest.approx(1.7788340952508737, rel=1e-15, abs=1e-15)
    model = MLP.from_weights([(W, b, "tanh")])
    assert analytic.compare(model, [0.7, 0.6, 0.2], [0.9, 0.6], "sum")


def test_seed001_not_gate_starting_cost():
    """Seed 001 Question 1: w1 = 1.3, b1 = -0.1, x = 0 -> a1 = -0.09966799462495582,
    C_0 = 1.209269698402472 (seed 000 prints Cost: 1.21)."""
    model = MLP.from_weights([([[1.3]], [-0.1], "tanh")])
    (a,) = model([0.0])
    assert a.data == pytest.approx(-0.09966799462495582, rel=1e-15)
    cost = nn.losses.squared_error([a], 1.0)
    assert cost.data == pytest.approx(1.209269698402472, rel=1e-15)
    assert round(cost.data, 2) == 1.21
    assert analytic.compare(model, [0.0], [1.0])


def test_seed001_not_gate_answer_w_minus5_b5():
    """Seed 001: the answer for NOT is w1 = -5, b1 = 5: outputs near 1 for 0 and 0 for 1."""
    model = MLP.from_weights([([[-5.0]], [5.0], "tanh")])
    assert model([0.0])[0].data > 0.9999 and model([1.0])[0].data == 0.0
    loss, accuracy = nn.evaluate(model, nn.data.load("not", labels="01"), "sse")
    assert accuracy == 1.0 and loss < 1e-8


# ---------------------------------------------------------------- seed 002

W2 = [[-0.124, 0.871], [0.692, -0.036], [0.455, 1.239]]
B2 = [-0.923, 0.02, -2.918]
W3 = [[-0.006, 0.295, 0.207], [0.126, 0.399, -0.637]]
B3 = [-0.07, 1.912]


def seed002_network(fused: bool = True) -> MLP:
    return MLP.from_weights([(W2, B2, "sigmoid"), (W3, B3, "sigmoid")], fused=fused)


def test_seed002_table_and_labels():
    """Seed 002 In [2]/[3]: the 10 points and their +-1 labels; convert_label: -1 -> (1, 0), 1 -> (0, 1)."""
    data = nn.data.load("table10")
    assert data.X[0] == [1.2, 0.7] and data.X[9] == [4.0, -1.0] and len(data) == 10
    assert data.y == [1, -1, 1, -1, -1, 1, -1, 1, -1, -1]
    hot = data.one_hot()
    assert hot.y[0] == [0.0, 1.0] and hot.y[1] == [1.0, 0.0]


@pytest.mark.parametrize("fused", [True, False])
def test_seed002_forward_pass(fused):
    """Seed 002 In [10]-[14]: z_2 = [-0.462, 0.825, -1.504], a_2 = [0.386, 0.695, 0.182],
    z_3 = [0.17, 2.122], a_3 = [0.542, 0.893] (printed to 3 decimals, from unrounded weights)."""
    model = seed002_network(fused)
    hidden = model.layers[0]([1.2, 0.7])
    assert [h.data for h in hidden] == pytest.approx([0.386, 0.695, 0.182], abs=1e-3)
    out = model([1.2, 0.7])
    assert [o.data for o in out] == pytest.approx([0.542, 0.893], abs=1.5e-3)


def test_seed002_cost_and_delta_rule():
    """Seed 002 In [19]-[33]: C_x = 0.1528..., delta_3 = [0.135, -0.01], delta_2 = [-0, 0.008,
    0.005], dw_3 = [[0.052, 0.094, 0.024], [-0.004, -0.007, -0.002]], dw_2 = [[-0.001, -0],
    [0.009, 0.005], [0.006, 0.004]] (3 decimals): engine and the analytic delta rule."""
    model = seed002_network()
    x, y = [1.2, 0.7], [0.0, 1.0]
    cost = nn.losses.half_squared_error(model(x), y)
    assert cost.data == pytest.approx(0.15280874657485913, abs=5e-4)
    cost.backward()
    dW = [[[w.grad for w in n.w] for n in layer.neurons] for layer in model.layers]
    db = [[n.b.grad for n in layer.neurons] for layer in model.layers]
    assert db[1] == pytest.approx([0.135, -0.01], abs=1e-3)
    assert db[0] == pytest.approx([0.0, 0.008, 0.005], abs=1e-3)
    assert dW[1] == [pytest.approx(r, abs=1e-3) for r in [[0.052, 0.094, 0.024], [-0.004, -0.007, -0.002]]]
    assert dW[0] == [pytest.approx(r, abs=1e-3) for r in [[-0.001, 0.0], [0.009, 0.005], [0.006, 0.004]]]
    report = analytic.compare(model, x, y, "half")
    assert report and len(report.rows) == 17


def test_seed002_one_step_improves_the_output():
    """Seed 002 In [34]-[37]: one step of step_size 0.1 moves a_3 from [0.542, 0.893] to [0.537, 0.893]."""
    model = seed002_network()
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    nn.losses.half_squared_error(model([1.2, 0.7]), [0.0, 1.0]).backward()
    opt.step()
    assert [o.data for o in model([1.2, 0.7])] == pytest.approx([0.537, 0.893], abs=1.5e-3)


# ---------------------------------------------------------------- seed 003

def test_seed003_feed_forward_example():
    """Seed 003 section 3.2: w1 rows 0.2/0.4/0.6, b1 = 0.8, w2 = 0.5, b2 = 0.2, x = [1.5, 2, 3]
    -> h = [0.8909, 0.9677, 0.9909] and output 0.8354 (sigmoid everywhere)."""
    model = MLP.from_weights([
        ([[0.2] * 3, [0.4] * 3, [0.6] * 3], [0.8] * 3, "sigmoid"),
        ([[0.5, 0.5, 0.5]], [0.2], "sigmoid"),
    ])
    x = [1.5, 2.0, 3.0]
    # printed to 4 decimals (0.9909 is sigmoid(4.7) = 0.990995 cut, not rounded)
    assert [h.data for h in model.layers[0](x)] == pytest.approx([0.8909, 0.9677, 0.9909], abs=1e-4)
    assert model(x)[0].data == pytest.approx(0.8354, abs=1e-4)  # 0.835456, printed as 0.8354
    # Section 4.5-4.6: J = 1/2 ||y - h||^2 and the delta rule; y = 1 as a training target.
    assert analytic.compare(model, x, [1.0], "half")


# ---------------------------------------------------------------- seed 004

def test_seed004_network_and_backprop():
    """Seed 004: inputs [2, 3, 1], sigmoid hidden layer, linear output, loss (y - y_hat)^2,
    actual = 1. z1 = [1.9, 2.4, 1.4] as printed. The document's h = [0.86999, 0.916527,
    0.402153] and predicted 0.853 contain slips (sigmoid(1.9) = 0.86989, sigmoid(2.4) =
    0.91683, sigmoid(1.4) = 0.80218); the test uses the correct values, computed here."""
    w1 = [[0.5, 0.3, -0.1], [0.2, 0.4, 0.6], [-0.3, 0.5, 0.2]]
    model = MLP.from_weights([(w1, [0.1, 0.2, 0.3], "sigmoid"), ([[0.9, -0.5, 0.4]], [0.3], "linear")])
    x = [2.0, 3.0, 1.0]
    zs, _ = analytic.forward(model.weights(), x)
    assert list(zs[0]) == pytest.approx([1.9, 2.4, 1.4], abs=1e-12)
    h = [sigmoid(1.9), sigmoid(2.4), sigmoid(1.4)]
    assert [v.data for v in model.layers[0](x)] == pytest.approx(h, abs=1e-12)
    assert round(h[0], 4) == 0.8699 and round(h[1], 4) == 0.9168  # the document: 0.86999, 0.916527
    y_hat = 0.9 * h[0] - 0.5 * h[1] + 0.4 * h[2] + 0.3
    (out,) = model(x)
    assert out.data == pytest.approx(y_hat, abs=1e-12)
    loss = nn.losses.squared_error([out], 1.0)
    assert loss.data == pytest.approx((1 - y_hat) ** 2, abs=1e-12)
    loss.backward()
    # The document's steps 1-7: dL/dy_hat = -2(y - y_hat), dL/dw2 = dL/dy_hat * h, dL/db2 = dL/dy_hat,
    # dL/dz_i = dL/dy_hat * w2_i * sigma'(z_i), dL/dw1_ij = dL/dz_i * x_j, dL/db1_i = dL/dz_i.
    dy = -2 * (1 - y_hat)
    out_neuron = model.layers[1].neurons[0]
    assert out_neuron.b.grad == pytest.approx(dy, abs=1e-12)
    assert [w.grad for w in out_neuron.w] == pytest.approx([dy * v for v in h], abs=1e-12)
    for i, n in enumerate(model.layers[0].neurons):
        dz = dy * [0.9, -0.5, 0.4][i] * h[i] * (1 - h[i])
        assert n.b.grad == pytest.approx(dz, abs=1e-12)
        assert [w.grad for w in n.w] == pytest.approx([dz * xj for xj in x], abs=1e-12)
    assert analytic.compare(model, x, [1.0], "sum")
