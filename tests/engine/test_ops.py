"""The op table (engine/ops.py): each op defined once, with forward, partials and formulas,
and the operators and methods of Value that reach it."""
from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from engine import Value, ops
from engine.ops import FloatMath

FIXED = ["add", "sub", "neg", "mul", "div", "exp", "log", "tanh", "sech2", "sigmoid", "relu", "sin", "cos", "sqrt", "abs",
         "sum", "dot"]

# name -> (reference forward on floats, points to check it at)
REFERENCE = {
    "add": (lambda a, b: a + b, [(1.5, -2.25), (0.0, 3.0)]),
    "sub": (lambda a, b: a - b, [(1.5, -2.25), (0.0, 3.0)]),
    "neg": (lambda a: -a, [(1.5,), (-0.3,)]),
    "mul": (lambda a, b: a * b, [(1.5, -2.25), (0.1, 3.0)]),
    "div": (lambda a, b: a / b, [(1.5, -2.25), (-0.1, 3.0)]),
    "exp": (math.exp, [(0.7,), (-3.0,)]),
    "log": (math.log, [(0.7,), (30.0,)]),
    "tanh": (math.tanh, [(0.7,), (-2.0,)]),
    "sech2": (lambda a: 1 / math.cosh(a) ** 2, [(0.7,), (-2.0,)]),
    "sigmoid": (lambda a: 1 / (1 + math.exp(-a)), [(0.7,), (-2.0,)]),
    "relu": (lambda a: max(a, 0.0), [(0.7,), (-2.0,)]),
    "sin": (math.sin, [(0.7,), (-2.0,)]),
    "cos": (math.cos, [(0.7,), (-2.0,)]),
    "sqrt": (math.sqrt, [(0.7,), (30.0,)]),
    "abs": (abs, [(0.7,), (-2.0,)]),
    "sum": (lambda *xs: math.fsum(xs), [(1.0, -2.5, 0.25), (4.0,)]),
    "dot": (lambda *xs: math.fsum(w * x for w, x in zip(xs[: len(xs) // 2], xs[len(xs) // 2 :])),
            [(1.0, -2.0, 0.5, 3.0), (0.3, 0.6, 0.9, -1.0, 2.0, 0.5)]),
}


def test_the_table_holds_every_fixed_op_once():
    assert sorted(ops.TABLE) == sorted(FIXED)
    assert all(op.name == name for name, op in ops.TABLE.items())
    assert len({id(op) for op in ops.TABLE.values()}) == len(FIXED)
    assert ops.by_name("tanh") is ops.TANH


def test_unknown_op_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown op .softmax.*known: abs, add"):
        ops.by_name("softmax")


def test_power_is_one_cached_op_per_exponent():
    assert ops.power(2) is ops.power(2.0)
    assert ops.power(3).param == 3.0 and ops.power(3).name == "pow"
    assert ops.power(0.5) is not ops.power(2)
    assert (Value(3.0) ** 2).op is ops.power(2)


@pytest.mark.parametrize("name", FIXED)
def test_forward_matches_the_float_reference(name):
    op, (reference, points) = ops.TABLE[name], REFERENCE[name]
    for args in points:
        assert op.forward(FloatMath, *args) == pytest.approx(reference(*args), rel=1e-15, abs=1e-300)


def _central(f, args: tuple, i: int, h: float = 1e-6) -> float:
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


@pytest.mark.parametrize("name", FIXED)
def test_partials_match_central_differences_of_the_forward(name):
    op, (reference, points) = ops.TABLE[name], REFERENCE[name]
    for args in points:
        out = op.forward(FloatMath, *args)
        partials = op.partials(FloatMath, out, *args)
        assert len(partials) == len(args)
        for i, d in enumerate(partials):
            assert d == pytest.approx(_central(reference, args, i), rel=1e-7, abs=1e-8), (name, args, i)


@pytest.mark.parametrize("p", [2.0, 3.0, -1.0, 0.5, 1.5, 0.0, 1.0])
def test_pow_forward_partial_and_formula(p):
    op = ops.power(p)
    a = 1.7
    assert op.forward(FloatMath, a) == a**p
    (d,) = op.partials(FloatMath, a**p, a)
    assert d == pytest.approx(p * a ** (p - 1), rel=1e-15)
    assert d == pytest.approx(_central(lambda x: x**p, (a,), 0), rel=1e-7, abs=1e-9)
    written = {0.0: "0", 1.0: "1", 2.0: "2 * x"}  # as a person writes them, not 2 * x^1
    general = f"{ops.fmt_number(p)} * x^{ops.fmt_number(p - 1)}"
    assert op.formula(0, 1).format("x") == written.get(p, general)


def test_pow_of_a_negative_base_with_an_integer_exponent_is_real():
    v = Value(-2.0)
    out = v**3
    out.backward()
    assert out.data == -8.0 and v.grad == 12.0
    assert (Value(-2.0) ** -1).data == -0.5


def test_tanh_partial_is_the_documents_one_over_cosh_squared():
    """Document 000 differentiates tanh as 1/cosh(z)^2; the table uses exactly that."""
    for z in (-1.2, 0.3, 2.0):
        (d,) = ops.TANH.partials(FloatMath, math.tanh(z), z)
        assert d == 1 / math.cosh(z) ** 2


def test_abs_partial_is_its_sign_and_zero_at_the_kink():
    assert [ops.ABS.partials(FloatMath, abs(a), a) for a in (-2.0, 0.0, 3.0)] == [(-1.0,), (0.0,), (1.0,)]


def test_sqrt_has_no_derivative_at_zero_and_no_real_value_below():
    x = Value(0.0, label="x")
    y = x.sqrt()
    assert y.data == 0.0
    with pytest.raises(ZeroDivisionError, match="sqrt"):
        y.backward()
    with pytest.raises(ValueError, match="sqrt.*no real value"):
        Value(-1.0).sqrt()
    z = Value(2.25).sqrt()
    assert z.data == 1.5


def test_relu_partial_is_zero_at_the_kink():
    assert ops.RELU.partials(FloatMath, 0.0, 0.0) == (0.0,)
    assert ops.RELU.partials(FloatMath, 2.0, 2.0) == (1.0,)


@pytest.mark.parametrize("name", FIXED)
def test_every_partial_has_a_formula_template(name):
    op = ops.TABLE[name]
    n = len(REFERENCE[name][1][0])
    names = [f"v{i}" for i in range(n)]
    for i in range(n):
        text = op.formula(i, n).format(*names, out="out")
        assert text and "{" not in text


def test_formulas_read_like_the_maths():
    assert ops.MUL.formula(0, 2).format("w", "x") == "x"
    assert ops.MUL.formula(1, 2).format("w", "x") == "w"
    assert ops.DIV.formula(1, 2).format("a", "b") == "-(a/b)/b"
    assert ops.TANH.formula(0, 1).format("z") == "1/cosh(z)^2"
    assert ops.SIGMOID.formula(0, 1).format("z") == "σ(z) * (1 - σ(z))"
    assert ops.DOT.formula(0, 4).format("w1", "w2", "x1", "x2") == "x1"
    assert ops.DOT.formula(3, 4).format("w1", "w2", "x1", "x2") == "w2"
    assert ops.SUM.formula(2, 3) == "1"
    assert ops.power(2).formula(0, 1).format("d") == "2 * d"
    assert ops.power(3).formula(0, 1).format("d") == "3 * d^2"
    assert ops.SECH2.formula(0, 1).format("z") == "-2 * sech²(z) * tanh(z)"


METHODS = {
    "exp": ops.EXP, "log": ops.LOG, "tanh": ops.TANH, "sigmoid": ops.SIGMOID,
    "relu": ops.RELU, "sin": ops.SIN, "cos": ops.COS,
}


@pytest.mark.parametrize("method", list(METHODS))
def test_value_methods_make_one_node_of_the_table_op(method):
    x = Value(0.8, label="x")
    y = getattr(x, method)()
    assert y.op is METHODS[method] and y.parents == (x,)
    assert y.data == METHODS[method].forward(FloatMath, 0.8)
    y.backward()
    assert x.grad == METHODS[method].partials(FloatMath, y.data, 0.8)[0]


def test_operators_make_nodes_with_parents_in_argument_order():
    a, b = Value(3.0, label="a"), Value(-4.0, label="b")
    for node, op in [(a + b, ops.ADD), (a - b, ops.SUB), (a * b, ops.MUL), (a / b, ops.DIV), (-a, ops.NEG)]:
        assert node.op is op
        assert node.parents == ((a, b) if op is not ops.NEG else (a,))
    assert (+a) is a


@pytest.mark.parametrize(
    "expression, data, grad",
    [
        (lambda v: 2 * v, 8.0, 2.0),
        (lambda v: 2 + v, 6.0, 1.0),
        (lambda v: 1 - v, -3.0, -1.0),
        (lambda v: 2 / v, 0.5, -2 / 16),
        (lambda v: 2**v, 16.0, 16.0 * math.log(2)),
        (lambda v: v - 1, 3.0, 1.0),
        (lambda v: v / 2, 2.0, 0.5),
    ],
)
def test_reflected_and_mixed_operators(expression, data, grad):
    v = Value(4.0, label="v")
    out = expression(v)
    out.backward()
    assert out.data == pytest.approx(data, rel=1e-15)
    assert v.grad == pytest.approx(grad, rel=1e-15)


def test_reflected_operator_puts_the_constant_first():
    v = Value(4.0)
    node = 1 - v
    assert node.parents[1] is v and node.parents[0].is_leaf and node.parents[0].data == 1.0


@pytest.mark.parametrize(
    "number",
    [3, 2.5, np.float64(2.5), np.float32(2.5), np.int64(3), np.int8(-3), Fraction(5, 2), Decimal("2.5"), 10**20],
    ids=lambda x: type(x).__name__,
)
def test_any_real_number_becomes_a_float_on_the_way_in(number):
    expected = float(number)
    assert type(Value(number).data) is float and Value(number).data == expected
    v = Value(1.0)
    for node in (v * number, number * v, v + number, number + v, v - number, number - v):
        assert type(node.data) is float
        assert all(type(p.data) is float for p in node.parents)
    assert (v * number).data == expected and (number - v).data == expected - 1.0
    assert (Value(1.0) ** number).op.param == expected


def test_float_of_a_value_is_its_data():
    assert float(Value(2.5)) == 2.5
    assert math.sqrt(Value(4.0)) == 2.0  # anything that takes a float takes a Value


def test_sum_is_one_n_ary_node():
    xs = [Value(float(i), label=f"x{i}") for i in range(5)]
    s = Value.sum(x * x for x in xs)
    assert s.op is ops.SUM and len(s.parents) == 5
    assert s.data == sum(float(i * i) for i in range(5))
    s.backward()
    assert [x.grad for x in xs] == [2.0 * i for i in range(5)]


def test_sum_accepts_numbers_and_repeated_values():
    a = Value(2.0)
    s = Value.sum([a, a, 3, a])
    s.backward()
    assert s.data == 9.0 and a.grad == 3.0


def test_dot_is_one_fused_node_with_partials_x_for_w_and_w_for_x():
    w = [Value(0.5), Value(-1.0), Value(2.0)]
    x = [Value(3.0), Value(4.0), Value(-0.25)]
    d = Value.dot(w, x)
    assert d.op is ops.DOT and d.parents == (*w, *x)
    assert d.data == 0.5 * 3.0 - 4.0 - 0.5
    d.backward()
    assert [wi.grad for wi in w] == [3.0, 4.0, -0.25]
    assert [xi.grad for xi in x] == [0.5, -1.0, 2.0]


def test_dot_with_constant_inputs_and_shared_values():
    w = Value(2.0)
    d = Value.dot([w, w], [3, w])  # 3w + w^2
    d.backward()
    assert d.data == 10.0 and w.grad == 3 + 2 * 2.0


def test_dot_needs_equal_non_empty_lengths():
    with pytest.raises(ValueError, match="equal length, got 2 and 1"):
        Value.dot([Value(1.0), Value(2.0)], [Value(1.0)])
    with pytest.raises(ValueError, match="non-empty"):
        Value.dot([], [])


def test_apply_is_the_generic_door_and_checks_arity():
    from engine.value import apply

    y = apply(ops.MUL, Value(2.0), 3)
    assert y.data == 6.0 and y.op is ops.MUL
    with pytest.raises(TypeError, match="mul takes 2 inputs, got 3"):
        apply(ops.MUL, 1, 2, 3)
