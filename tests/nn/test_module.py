"""Neuron, Layer and MLP: structure, names, labels, scopes, construction and bad input."""
from __future__ import annotations

import math
import random

import pytest

from engine import Value, scope, topological_order
from engine.notation import names
from nn import MLP, Layer, Module, Neuron
from nn.losses import squared_error


def test_neuron_computes_activation_of_weighted_sum():
    n = Neuron.from_weights([0.5, -2.0], 0.25, "sigmoid")
    out = n([1.0, 3.0])
    z = 0.5 * 1.0 - 2.0 * 3.0 + 0.25
    assert out.data == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-15)
    assert isinstance(n.w, list) and len(n.w) == 2 and isinstance(n.b, Value)


@pytest.mark.parametrize("activation, f", [
    ("tanh", math.tanh), ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
    ("relu", lambda z: max(z, 0.0)), ("linear", lambda z: z),
])
def test_activations_by_name(activation, f):
    for z in (-1.5, 0.7):
        n = Neuron.from_weights([1.0], z, activation)
        assert n([0.0]).data == pytest.approx(f(z), abs=1e-15)


def test_unknown_activation_is_a_value_error():
    with pytest.raises(ValueError, match="unknown activation 'softsign'"):
        MLP(2, [3], activation="softsign")


def test_layer_returns_a_list_even_with_one_neuron():
    layer = Layer.from_weights([[2.0]], [0.0], "linear")
    out = layer([3.0])
    assert isinstance(out, list) and len(out) == 1 and out[0].data == 6.0
    assert isinstance(Layer(2, 3, "tanh", rng=0)([1.0, 2.0]), list)


def test_mlp_shapes_and_parameter_count():
    m = MLP(2, [16, 16, 1], seed=0)
    assert m.nin == 2 and m.nout == 1 and m.sizes == [16, 16, 1]
    assert m.activations == ["tanh", "tanh", "linear"]
    assert len(m.parameters()) == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert len(m([0.1, 0.2])) == 1


def test_named_parameters_are_zero_based_and_dotted():
    m = MLP(3, [4, 2], seed=1)
    names = [name for name, _ in m.named_parameters()]
    assert names[0] == "layers.0.neurons.0.w.0"
    assert "layers.0.neurons.2.w.1" in names
    assert names[-1] == "layers.1.neurons.1.b"
    assert len(names) == len(set(names)) == len(m.parameters())
    assert [p for _, p in m.named_parameters()] == m.parameters()


def test_labels_are_one_based_like_the_documents():
    m = MLP(3, [4, 2], seed=1)
    named = dict(m.named_parameters())
    assert named["layers.0.neurons.2.w.1"].label == "w1.3.2"
    assert named["layers.1.neurons.0.b"].label == "b2.1"
    assert Neuron(2, rng=0).w[1].label == "w2" and Neuron(2, rng=0).b.label == "b"


def test_seeded_initialisation_is_reproducible_and_seeds_differ():
    a = [p.data for p in MLP(2, [5, 1], seed=7).parameters()]
    b = [p.data for p in MLP(2, [5, 1], seed=7).parameters()]
    c = [p.data for p in MLP(2, [5, 1], seed=8).parameters()]
    assert a == b and a != c
    assert all(abs(v) <= math.sqrt(3 / 2) for v in a)  # uniform, variance 1/nin


def test_zero_grad_clears_every_parameter():
    m = MLP(2, [3, 1], seed=0)
    m([1.0, -1.0])[0].backward()
    assert any(p.grad != 0.0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad == 0.0 for p in m.parameters())
    assert isinstance(m, Module)


def _random_layers(r: random.Random, nin: int, sizes: list[int], acts: list[str]):
    widths = [nin, *sizes]
    return [([[r.gauss(0, 1) for _ in range(widths[k])] for _ in range(widths[k + 1])],
             [r.gauss(0, 1) for _ in range(widths[k + 1])], acts[k]) for k in range(len(sizes))]


def test_fused_and_unfused_give_the_same_values_and_gradients():
    r = random.Random(3)
    layers = _random_layers(r, 4, [5, 3, 2], ["tanh", "sigmoid", "linear"])
    results = []
    for fused in (True, False):
        m = MLP.from_weights(layers, fused=fused)
        out = m([0.3, -1.2, 0.8, 2.0])
        loss = Value.sum([(o - 0.5) ** 2 for o in out])
        loss.backward()
        results.append(([o.data for o in out], [p.grad for p in m.parameters()]))
    (o1, g1), (o2, g2) = results
    assert o1 == pytest.approx(o2, rel=1e-12, abs=1e-12)
    assert g1 == pytest.approx(g2, rel=1e-12, abs=1e-12)


def test_fused_uses_one_dot_node_per_neuron_and_unfused_binary_ops():
    layers = [([[1.0, 2.0, 3.0]], [0.5], "tanh")]
    fused = MLP.from_weights(layers)([1.0, 1.0, 1.0])[0]
    unfused = MLP.from_weights(layers, fused=False)([1.0, 1.0, 1.0])[0]
    f_ops = [v.op.name for v in topological_order(fused) if v.op]
    u_ops = [v.op.name for v in topological_order(unfused) if v.op]
    assert f_ops == ["dot", "add", "tanh"]
    assert u_ops.count("mul") == 3 and u_ops.count("add") == 3 and "dot" not in u_ops


@pytest.mark.parametrize("fused", [True, False])
def test_nodes_are_tagged_with_layer_and_neuron_scopes(fused):
    m = MLP.from_weights([([[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0], "tanh"),
                          ([[1.0, -1.0]], [0.0], "linear")], fused=fused)
    out = m([0.5, 0.25])[0]
    scopes = {v.scope for v in topological_order(out) if v.op}
    assert scopes == {"layer 1/neuron 1", "layer 1/neuron 2", "layer 2/neuron 1"}
    with scope("model"):
        out = m([0.5, 0.25])[0]
    assert out.scope == "model/layer 2/neuron 1"


def test_standalone_neuron_opens_its_own_scope():
    out = Neuron.from_weights([1.0], 0.0)([2.0])
    assert out.scope == "neuron"


def test_from_weights_reproduces_the_given_numbers():
    W, b = [[-2.0, 4.0, -1.0], [6.0, 0.0, -3.0]], [0.1, -2.5]
    layer = Layer.from_weights(W, b, "tanh")
    assert [[w.data for w in n.w] for n in layer.neurons] == W
    assert [n.b.data for n in layer.neurons] == b
    assert layer.weights() == (W, b, "tanh")


def test_from_weights_accepts_numpy_arrays():
    np = pytest.importorskip("numpy")
    layer = Layer.from_weights(np.array([[1.0, 2.0]]), np.array([3.0]), "linear")
    assert layer([1.0, 1.0])[0].data == 6.0


@pytest.mark.parametrize("W, b, message", [
    ([[1.0, 2.0], [3.0]], [0.0, 0.0], "ragged"),
    ([[1.0, 2.0]], [0.0, 1.0], "1 rows .* but b has 2"),
    ([], [], "empty|no rows"),
    ([[1.0, float("nan")]], [0.0], "finite"),
])
def test_bad_weights_are_value_errors(W, b, message):
    with pytest.raises(ValueError, match=message):
        Layer.from_weights(W, b, "tanh")


def test_mlp_from_weights_checks_that_layers_connect():
    with pytest.raises(ValueError, match="layer 2 takes 3 inputs but layer 1 has 2 outputs"):
        MLP.from_weights([([[1.0], [2.0]], [0.0, 0.0], "tanh"), ([[1.0, 2.0, 3.0]], [0.0], "linear")])
    with pytest.raises(ValueError, match="triple"):
        MLP.from_weights([([[1.0]], [0.0])])
    with pytest.raises(ValueError, match="layer 1: W is ragged"):
        MLP.from_weights([([[1.0], [1.0, 2.0]], [0.0, 0.0], "tanh")])


def test_a_three_input_network_fed_two_inputs_is_a_clear_value_error():
    m = MLP(3, [4, 1], seed=0)
    with pytest.raises(ValueError, match=r"takes 3 inputs, got 2"):
        m([1.0, 2.0])
    with pytest.raises(ValueError, match=r"takes 3 inputs, got 2"):
        Neuron(3, rng=0)([1.0, 2.0])


def test_non_numeric_input_is_a_type_error():
    m = MLP(2, [1], seed=0)
    with pytest.raises(TypeError):
        m(["a", 1.0])
    with pytest.raises(TypeError):
        m(2.0)  # two inputs expected, a bare number given


def test_one_input_network_accepts_a_bare_number():
    m = MLP.from_weights([([[2.0]], [1.0], "linear")])
    assert m(3.0)[0].data == 7.0 and m([3.0])[0].data == 7.0


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_sizes_are_value_errors(bad):
    with pytest.raises(ValueError):
        MLP(2, [bad])
    with pytest.raises(ValueError):
        MLP(bad, [1])


def test_input_values_receive_gradients():
    m = MLP.from_weights([([[2.0, -3.0]], [0.0], "linear")])
    x = [Value(1.0), Value(1.0)]
    m(x)[0].backward()
    assert [v.grad for v in x] == [2.0, -3.0]


def test_a_layer_tags_its_parameters_with_their_neurons_scope():
    model = MLP(2, [3, 1], seed=0)
    out = model([0.5, 0.2])[0]
    first = model.layers[0].neurons[1]
    assert {p.scope for p in first.parameters()} == {"layer 1/neuron 2"}
    assert out.scope == "layer 2/neuron 1" == model.layers[1].neurons[0].b.scope


def test_inputs_and_targets_lifted_by_nn_are_labelled_as_the_documents_do():
    model = MLP(2, [3, 2], seed=0)
    C = squared_error(model([0.5, 1.0]), [1.0, 0.0])
    leaves = {v.label: v.data for v in topological_order(C) if v.is_leaf and not v.label.startswith(("w", "b"))}
    assert leaves == {"x1": 0.5, "x2": 1.0, "y1": 1.0, "y2": 0.0}
    shown = names(topological_order(C))
    assert len(set(shown.values())) == len(shown)
    one = squared_error(Neuron(1, rng=0)([0.3]), 1.0)
    assert {v.label for v in topological_order(one) if v.is_leaf} >= {"x", "y"}
    given = Value(0.5, label="pixel")
    assert model([given, 1.0])[0] is not None and given.label == "pixel"


@pytest.mark.parametrize("fused", [True, False])
def test_a_neurons_sum_and_activation_are_named_z_and_a_as_the_documents_do(fused):
    """z = w·x + b and a = f(z) per neuron (z2.1, a2.1; the fused sum before the bias is
    dot2.1); a linear neuron's z is its a. Every displayed name stays unique, also when
    one graph holds two examples."""
    model = MLP(2, [3, 1], output="linear", fused=fused, seed=0)
    out = model([0.5, 1.0])[0]
    assert out.label == "a2.1" and out.parents[1].label == "b2.1"
    hidden = model.layers[0]([0.5, 1.0])[1]
    assert hidden.label == "a1.2" and hidden.parents[0].label == "z1.2"
    assert (hidden.parents[0].parents[0].label == "dot1.2") == fused
    lone = Neuron(2, "sigmoid", rng=0)([0.5, 1.0])
    assert (lone.label, lone.parents[0].label) == ("a", "z")
    twice = squared_error(model([0.5, 1.0]), 1.0) + squared_error(model([0.2, 0.1]), 0.0)
    shown = names(topological_order(twice))
    assert len(set(shown.values())) == len(shown)
    assert {"a2.1", "a2.1#2", "z1.3", "z1.3#2"} <= set(shown.values())


def test_naming_nodes_lives_in_the_neuron_not_in_each_call():
    """The labels are made once per neuron: a forward pass only stores them."""
    neuron = Neuron.from_weights([1.0, 2.0], 0.5, tag="3.1")
    first, second = neuron([1.0, 1.0]), neuron([2.0, 2.0])
    assert first.label is second.label == "a3.1"
