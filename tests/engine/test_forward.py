"""Forward mode beside reverse mode: jvp, jacobian(mode="forward"), the tangent steps.

Random expression trees over every op (the recipes of test_properties) and a dense
network's Jacobian: forward and reverse mode agree to 1e-12, with each other and with
the reverse-mode `jacobian` of before.
"""
from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Value, detect_anomaly, explain, forward_mode_steps, grad, hessian, jacobian, jvp, no_grad
from engine.autodiff import gradients, topological_order
from engine.forward import forward_walk
from engine.value import apply
from tests.engine.graphs import neuron
from tests.engine.test_one_walk import SOFTPLUS
from tests.engine.test_properties import KINDS, N_VARS, SETTINGS, _Values, _lift, _usable, evaluate, points, rooted

TOL = 1e-12


def close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b), scale)


def tree_function(tree):
    return lambda *xs: _lift(_Values, evaluate(tree, list(xs), _Values))


directions = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=N_VARS, max_size=N_VARS)


@pytest.mark.parametrize("kind", KINDS)
@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_forward_and_reverse_mode_agree_on_random_trees_rooted_at_every_op(kind, data):
    tree = data.draw(rooted(kind), label="tree")
    point = data.draw(points, label="point")
    direction = data.draw(directions, label="direction")
    _usable(tree, point)
    f = tree_function(tree)
    forward = jacobian(f, point, mode="forward")[0]
    reverse = jacobian(f, point, mode="reverse")[0]
    before = jacobian(f, point)[0]  # the default is reverse mode, as it always was
    scale = max(map(abs, reverse))
    assert all(close(a, b, scale) for a, b in zip(forward, reverse)), (forward, reverse)
    assert forward and before == reverse
    value, derivative = jvp(f, point, direction)
    assert value == f(*point).data
    expected = math.fsum(g * t for g, t in zip(reverse, direction))
    assert close(derivative, expected, scale * sum(map(abs, direction)))


def dense(params, sizes, x):
    """A tanh-then-sigmoid network of Values: its outputs, one per unit of the last layer."""
    it = iter(params)
    a = list(x)
    for k, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        z = [Value.dot([next(it) for _ in range(nin)], a) + next(it) for _ in range(nout)]
        a = [zi.sigmoid() if k == len(sizes) - 2 else zi.tanh() for zi in z]
    return a


def test_an_mlps_jacobian_is_the_same_by_columns_and_by_rows():
    rng = random.Random(4)
    sizes = [4, 5, 3]
    params = [rng.uniform(-1, 1) for _ in range(sum((i + 1) * o for i, o in zip(sizes, sizes[1:])))]
    x = [rng.uniform(-2, 2) for _ in range(sizes[0])]
    f = lambda *xs: dense(params, sizes, xs)
    forward, reverse = jacobian(f, x, mode="forward"), jacobian(f, x, mode="reverse")
    assert len(forward) == 3 and all(len(row) == 4 for row in forward)
    for row_f, row_r in zip(forward, reverse):
        assert all(close(a, b) for a, b in zip(row_f, row_r)), (row_f, row_r)
    # and against the parameters: 3 outputs, 43 inputs
    g = lambda *ps: dense(ps, sizes, x)
    jf, jr = jacobian(g, params, mode="forward"), jacobian(g, params, mode="reverse")
    assert all(close(a, b) for ra, rb in zip(jf, jr) for a, b in zip(ra, rb))


def test_forward_over_reverse_is_the_hessian():
    f = lambda x, y: (x * y).tanh() * x.exp() + y ** 3
    xs = [0.4, -0.7]
    by_columns = jacobian(lambda x, y: list(grad(f)(x, y)), xs, mode="forward")
    reverse = hessian(f, xs)
    assert all(close(a, b) for ra, rb in zip(by_columns, reverse) for a, b in zip(ra, rb))
    second = jacobian(lambda x, y: list(grad(f)(x, y)), xs, mode="forward", create_graph=True)
    assert isinstance(second[0][0], Value) and close(second[0][0].data, reverse[0][0])


def test_the_forward_walk_takes_its_partials_from_the_table_and_leaves_grads_alone():
    C, n = neuron()
    order = topological_order(C)
    for v in order:
        v.grad = 5.0
    tangents = {n["b"]: 1.0}
    visits = list(forward_walk(order, tangents))
    assert [v.node for v in visits] == [v for v in order if v.op is not None]
    assert tangents[C] == gradients(C, [n["b"]])[0]
    assert all(v.grad == 5.0 for v in order)


def test_forward_mode_steps_show_every_tangent_in_the_notation_of_the_reverse_steps():
    C, n = neuron()
    steps = list(forward_mode_steps(C, n["b"]))
    assert [s.name for s in steps] == ["w", "x", "mul1", "b", "z", "a", "y", "sub1", "C"]
    by_name = {s.name: s for s in steps}
    assert by_name["b"].tangent == 1.0 and by_name["w"].tangent == 0.0 and not by_name["b"].terms
    assert by_name["C"].tangent == gradients(C, [n["b"]])[0]
    assert by_name["a"].text == f"da/db = da/dz * dz/db = {by_name['a'].terms[0].partial:.6g} * 1 = " \
                                f"{by_name['a'].tangent:.6g}"
    assert by_name["a"].terms[0].formula == "1/cosh(z)^2"
    assert by_name["b"].text == "db/db = 1  (seed)"
    # a general direction is d/dt
    along = list(forward_mode_steps(C, {n["w"]: 1.0, n["b"]: 2.0}))
    assert along[-1].direction == "t"
    expected = sum(g * t for g, t in zip(gradients(C, [n["w"], n["b"]]), (1.0, 2.0)))
    assert close(along[-1].tangent, expected)


def test_explain_forward_counts_the_work_against_one_backward_pass():
    C, n = neuron()
    before = [v.grad for v in topological_order(C)]
    text = explain(C, mode="forward")
    assert [v.grad for v in topological_order(C)] == before
    assert text.count("Forward mode along") == 4  # w, x, b, y: the labelled inputs
    edges = sum(len(v.parents) for v in topological_order(C))
    assert f"forward mode: 4 passes (one per input), {4 * edges} chain-rule products" in text
    assert f"reverse mode: 1 pass (one per output), {edges} products" in text
    only_b = explain(C, mode="forward", wrt=[n["b"]])
    assert only_b.count("Forward mode along") == 1 and "dC/db = -1.1186" in only_b


def test_forward_mode_refuses_bad_input_naming_it():
    C, n = neuron()
    with pytest.raises(ValueError, match="mode must be"):
        explain(C, mode="sideways")
    with pytest.raises(ValueError, match="wrt: z=-1.2 is not an input"):
        explain(C, mode="forward", wrt=[n["z"]])
    with pytest.raises(TypeError, match="wrt: expected the graph's input Values, got float"):
        explain(C, mode="forward", wrt=[1.0])
    with pytest.raises(ValueError, match="wrt is for mode='forward'"):
        explain(C, wrt=[n["b"]])
    with pytest.raises(ValueError, match="2 inputs but 1 tangents"):
        jvp(lambda a, b: a * b, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="mode must be"):
        jacobian(lambda a: a, [1.0], mode="both")
    with pytest.raises(TypeError, match="tangents must be"):
        list(forward_mode_steps(C, [1.0]))
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        jvp(lambda a: a, [1.0], [1.0])
    with pytest.raises(ValueError, match="grad seeds reverse mode"):
        explain(C, 2.0, mode="forward")


def test_under_detect_anomaly_the_first_infinite_tangent_names_its_op():
    x = Value(float("inf"), label="x")
    y = x * x + 1.0  # built outside: inside detect_anomaly an infinite value raises at once
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"tangent of mul\(x=inf, x=inf\) is inf"):
        list(forward_mode_steps(y, x))
    assert math.isinf(list(forward_mode_steps(y, x))[-1].tangent)  # outside it, the infinity is shown


def test_a_single_input_is_explained_in_every_mode_and_format():
    x = Value(2.0, label="x")
    assert "x = 2" in explain(x, format="latex").replace("&", "")
    assert "dx/dx = 1" in explain(x, mode="forward")


def test_jvp_of_a_list_an_input_given_twice_and_a_constant():
    assert jvp(lambda a, b: [a * b, a + b], [2.0, 3.0], [1.0, 0.0]) == ([6.0, 5.0], [3.0, 1.0])
    x = Value(1.5)
    assert jvp(lambda a, b: a * b, [x, x], [1.0, 1.0]) == (2.25, 6.0)  # x moves at 2
    assert jvp(lambda a: 4.0, [1.0], [1.0]) == (4.0, 0.0)


def test_a_new_op_gets_forward_mode_for_free():
    f = lambda x, y: apply(SOFTPLUS, x * y) * x
    assert all(close(a, b) for a, b in zip(jacobian(f, [0.4, -1.3], mode="forward")[0],
                                          jacobian(f, [0.4, -1.3])[0]))
