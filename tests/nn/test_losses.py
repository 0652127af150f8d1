"""Losses: values against their formulas, gradients against finite differences, stability, targets."""
from __future__ import annotations

import math

import pytest

from engine import Value
from nn import losses


def finite_difference(f, xs: list[float], i: int, h: float = 1e-6) -> float:
    up, down = xs[:], xs[:]
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)


def check_gradients(loss, outputs: list[float], target) -> None:
    vs = [Value(o) for o in outputs]
    value = loss(vs, target)
    value.backward()
    for i in range(len(outputs)):
        numeric = finite_difference(lambda xs: loss([Value(x) for x in xs], target).data, outputs, i)
        assert vs[i].grad == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_squared_error_reductions():
    out, y = [Value(0.5), Value(-1.0)], [1.0, 1.0]
    total = (0.5 - 1.0) ** 2 + (-1.0 - 1.0) ** 2
    assert losses.squared_error(out, y).data == total
    assert losses.half_squared_error(out, y).data == 0.5 * total
    assert losses.mean_squared_error(out, y).data == total / 2
    check_gradients(losses.half_squared_error, [0.5, -1.0], y)


def test_half_squared_error_gradient_is_a_minus_y():
    """Seed 002: with the 1/2, dC/da = a - y."""
    a = [Value(0.542), Value(0.893)]
    losses.half_squared_error(a, [0.0, 1.0]).backward()
    assert a[0].grad == pytest.approx(0.542) and a[1].grad == pytest.approx(0.893 - 1.0)


def test_hinge_binary_and_multiclass():
    assert losses.hinge([Value(0.3)], 1).data == pytest.approx(0.7)
    assert losses.hinge([Value(2.0)], 1).data == 0.0
    assert losses.hinge([Value(0.3)], -1).data == pytest.approx(1.3)
    s = [1.0, 2.5, 0.2]
    expected = max(0, s[0] - s[1] + 1) + max(0, s[2] - s[1] + 1)
    assert losses.hinge([Value(v) for v in s], 1).data == pytest.approx(expected)
    check_gradients(losses.hinge, [1.0, 2.3, 1.9], 1)


def test_hinge_with_target_leaves_equals_hinge_with_numbers():
    s = [0.4, -0.2, 0.9]
    plain = losses.hinge.forward([Value(v) for v in s], [0.0, 0.0, 1.0]).data
    leaves = losses.hinge.forward([Value(v) for v in s], [Value(0.0), Value(0.0), Value(1.0)]).data
    assert leaves == pytest.approx(plain, abs=1e-15)


def test_hinge_rejects_labels_other_than_plus_minus_one():
    with pytest.raises(ValueError, match=r"labels \+1 or -1"):
        losses.hinge([Value(0.3)], 0)


def test_binary_cross_entropy_formula_and_gradient():
    for s, y in [(0.3, 1), (-2.0, 0), (0.0, 1), (4.0, 0)]:
        p = 1 / (1 + math.exp(-s))
        expected = -(y * math.log(p) + (1 - y) * math.log(1 - p))
        v = Value(s)
        loss = losses.binary_cross_entropy([v], y)
        assert loss.data == pytest.approx(expected, rel=1e-12)
        loss.backward()
        assert v.grad == pytest.approx(p - y, rel=1e-12, abs=1e-15)  # d/ds = sigmoid(s) - y


@pytest.mark.parametrize("s", [-800.0, -60.0, 60.0, 800.0])
def test_binary_cross_entropy_is_stable_for_large_logits(s):
    for y in (0, 1):
        v = Value(s)
        loss = losses.binary_cross_entropy([v], y)
        wrong = (s > 0) != (y == 1)
        assert math.isfinite(loss.data)
        assert loss.data == pytest.approx(abs(s) if wrong else 0.0, abs=1e-12)
        loss.backward()
        assert math.isfinite(v.grad)


def test_binary_cross_entropy_needs_zero_one_labels():
    with pytest.raises(ValueError, match="labels 0 or 1.*labels='01'"):
        losses.binary_cross_entropy([Value(0.1)], -1)
    with pytest.raises(ValueError, match="1 output"):
        losses.binary_cross_entropy([Value(0.1), Value(0.2)], 1)


def test_softmax_cross_entropy_formula_and_gradient():
    s = [1.0, 2.0, 0.5]
    z = sum(math.exp(v) for v in s)
    vs = [Value(v) for v in s]
    loss = losses.softmax_cross_entropy(vs, 2)
    assert loss.data == pytest.approx(-math.log(math.exp(0.5) / z), rel=1e-12)
    loss.backward()
    assert [v.grad for v in vs] == pytest.approx([math.exp(v) / z - (i == 2) for i, v in enumerate(s)], rel=1e-12)
    check_gradients(losses.softmax_cross_entropy, s, 0)


def test_softmax_cross_entropy_is_stable_log_sum_exp():
    vs = [Value(1000.0), Value(0.0), Value(-1000.0)]
    loss = losses.softmax_cross_entropy(vs, 1)
    assert loss.data == pytest.approx(1000.0)
    loss.backward()
    assert [v.grad for v in vs] == pytest.approx([1.0, -1.0, 0.0])


def test_softmax_cross_entropy_accepts_a_probability_vector():
    s = [0.2, -0.4]
    by_index = losses.softmax_cross_entropy([Value(v) for v in s], 0).data
    by_vector = losses.softmax_cross_entropy([Value(v) for v in s], [1.0, 0.0]).data
    assert by_vector == pytest.approx(by_index, abs=1e-15)
    with pytest.raises(ValueError, match="summing to 1"):
        losses.softmax_cross_entropy([Value(v) for v in s], [0.5, 0.7])
    with pytest.raises(ValueError, match="out of range"):
        losses.softmax_cross_entropy([Value(v) for v in s], 2)


def test_target_shape_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="2 outputs but the target has 3 values"):
        losses.squared_error([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])


def test_l2_penalty_value_and_gradient():
    ps = [Value(1.0), Value(-2.0)]
    pen = losses.l2_penalty(ps, 0.1)
    assert pen.data == pytest.approx(0.5)
    pen.backward()
    assert [p.grad for p in ps] == pytest.approx([0.2, -0.4])
    with pytest.raises(ValueError):
        losses.l2_penalty(ps, -1.0)


def test_get_by_name():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("cross_entropy") is losses.softmax_cross_entropy
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        losses.get("nope")


@pytest.mark.parametrize("name, target", [("sse", [1.0, 0.0]), ("hinge", 1), ("cross_entropy", 0)])
def test_one_example_s_cost_is_named_c_as_the_documents_name_it(name, target):
    from nn import MLP

    outputs = MLP(2, [3, 2], seed=1)([0.5, -1.0])
    cost = losses.get(name)(outputs, target)
    assert cost.label == "C"
    from engine import explain

    cost.backward()
    assert "dC/d(w1.1.1)" in explain(cost)
