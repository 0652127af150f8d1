"""Bad input: a clear error of the fitting built-in type, naming the op, the operands and
their labels, and the user's objects left untouched. NaN and infinity are accepted as
inputs; `detect_anomaly()` finds the first op that produces one. Sigmoid and tanh are
stable for any float."""
from __future__ import annotations

import math

import numpy as np
import pytest

from engine import Value, detect_anomaly, grad, hessian, ops

NAN, INF = math.nan, math.inf


def _untouched(*values: Value, data: tuple[float, ...]) -> bool:
    return all(v.data == d and v.grad == 0.0 and v.is_leaf for v, d in zip(values, data))


# ---------------------------------------------------------------- not a number: TypeError

@pytest.mark.parametrize("bad", ["2.0", None, [1.0], 1j, np.array([1.0, 2.0]), True, np.True_])
def test_a_non_number_is_a_type_error(bad):
    with pytest.raises(TypeError, match="must be a real number"):
        Value(bad)


@pytest.mark.parametrize(
    "expression, op",
    [
        (lambda w: w + "a", "add"), (lambda w: "a" - w, "sub"), (lambda w: w * None, "mul"),
        (lambda w: [1] / w, "div"), (lambda w: w * True, "mul"), (lambda w: w - 2j, "sub"),
        (lambda w: w ** "2", "pow"), (lambda w: Value.sum([w, "x"]), "sum"),
        (lambda w: Value.dot([w], [None]), "dot"),
    ],
)
def test_a_non_number_operand_names_the_op_and_the_labelled_operand(expression, op):
    w = Value(2.0, label="w")
    with pytest.raises(TypeError, match="must be a real number") as error:
        expression(w)
    message = str(error.value)
    assert message.startswith(f"{op}(") and "w=2.0" in message
    assert _untouched(w, data=(2.0,))


def test_a_bool_is_refused_even_though_it_is_an_int():
    with pytest.raises(TypeError, match="got a bool"):
        Value(1.0) * True
    with pytest.raises(TypeError, match="bool"):
        Value(np.False_)
    with pytest.raises(TypeError, match="bool"):
        Value(1.0).backward(True)


def test_a_value_exponent_is_refused_with_the_workaround():
    with pytest.raises(TypeError, match=r"constant exponent.*\(b \* a.log\(\)\).exp\(\)"):
        Value(2.0) ** Value(3.0)


def test_a_huge_integer_is_an_overflow_error():
    with pytest.raises(OverflowError, match="too large for a float"):
        Value(10**400)


# ---------------------------------------------------------------- domain errors

def test_negative_base_to_a_fractional_power_is_a_value_error_never_complex():
    x = Value(-8.0, label="x")
    for p in (0.5, 1 / 3, -1.5):
        with pytest.raises(ValueError, match=r"pow\(x=-8.0\): negative base -8.0 to the fractional power"):
            x**p
    assert _untouched(x, data=(-8.0,))


def test_a_non_positive_base_for_a_value_exponent_is_a_value_error():
    with pytest.raises(ValueError, match=r"-2.0 \*\* t=1.0 needs a positive base"):
        (-2) ** Value(1.0, label="t")


@pytest.mark.parametrize("p", [-1, -2.0, -0.5])
def test_zero_to_a_negative_power_is_a_zero_division_error(p):
    z = Value(0.0, label="z")
    with pytest.raises(ZeroDivisionError, match=r"pow\(z=0.0\): 0.0 cannot be raised to the negative power"):
        z**p


def test_division_by_zero_names_the_operands():
    a, z = Value(1.0, label="a"), Value(0.0, label="z")
    with pytest.raises(ZeroDivisionError, match=r"div\(a=1.0, z=0.0\): division by zero"):
        a / z
    with pytest.raises(ZeroDivisionError, match=r"div\(3.0, z=0.0\)"):
        3 / z
    with pytest.raises(ZeroDivisionError, match=r"div\(a=1.0, -0.0\)"):
        a / -0.0
    assert _untouched(a, z, data=(1.0, 0.0))


def test_exp_overflow_names_the_input_value():
    with pytest.raises(OverflowError, match=r"exp\(big=710.0\): exp overflows for input 710.0"):
        Value(710.0, label="big").exp()
    assert Value(709.0).exp().data == math.exp(709.0)


@pytest.mark.parametrize("x", [0.0, -0.0, -1.0, -INF])
def test_log_of_a_non_positive_number_is_a_value_error(x):
    with pytest.raises(ValueError, match=r"log\(p=.*\): log of a non-positive number"):
        Value(x, label="p").log()


def test_finite_inputs_that_overflow_are_an_overflow_error():
    with pytest.raises(OverflowError, match=r"mul\(h=1e\+308, 10.0\) overflows to inf"):
        Value(1e308, label="h") * 10
    with pytest.raises(OverflowError, match=r"pow\(1e\+200\) overflows to inf"):
        Value(1e200) ** 2


def test_errors_in_backward_name_the_op_whose_local_derivative_failed():
    v = Value(0.0, label="v")
    root = v**0.5  # sqrt(0) = 0 is fine; its derivative at 0 is infinite
    with pytest.raises(ZeroDivisionError, match=r"in backward: the derivative of v\*\*0.5 is infinite at v=0.0"):
        root.backward()


def test_numbers_agree_with_themselves_in_every_backward_path():
    """Where float backward gives a number (inf included), create_graph, grad and hessian
    give the same number, never an OverflowError about an op the user never wrote."""
    assert grad(lambda x: x / 1e-300)(1.0)[0].data == 1.0 / 1e-300
    x = Value(1.0)
    (x / 1e-300).backward(create_graph=True)
    assert x.grad.data == (1.0 / 1e-300)
    nested = grad(lambda u: grad(lambda v: v.log())(u)[0])(1e-300)[0].data
    assert nested == hessian(lambda v: v.log(), [1e-300])[0][0] == -math.inf
    for make in (lambda v: v**-1, lambda v: 1 / v):  # the same derivative, written two ways
        v = Value(1e-300)
        make(v).backward()
        assert v.grad == -math.inf


def test_a_failed_op_leaves_the_operands_and_their_graph_untouched():
    w = Value(-1.0, label="w")
    y = w * 2
    y.backward()
    with pytest.raises(ValueError):
        y.log()
    assert w.grad == 2.0 and y.grad == 1.0 and y.parents[0] is w


# ---------------------------------------------------------------- NaN and infinity

def test_nan_and_infinity_are_accepted_as_inputs_and_propagate():
    n, i = Value(NAN, label="n"), Value(INF, label="i")
    assert math.isnan((n + 1).data) and math.isnan((i * 0).data)
    assert (i + 1).data == INF and (-i).data == -INF
    assert math.isnan(i.sin().data) and math.isnan(i.cos().data)  # math.sin(inf) would raise
    assert math.isnan(n.log().data)
    out = i.tanh()
    out.backward()
    assert out.data == 1.0 and i.grad == 0.0


def test_detect_anomaly_raises_at_the_first_op_that_produces_nan_or_infinity():
    i = Value(INF, label="i")
    with detect_anomaly():
        a = i.tanh()  # finite result: fine
        with pytest.raises(FloatingPointError, match=r"anomaly: mul\(i=inf, 0.0\) produced nan"):
            i * 0
        with pytest.raises(FloatingPointError, match=r"anomaly: add\(n=nan, 1.0\) produced nan"):
            Value(NAN, label="n") + 1
        with pytest.raises(FloatingPointError, match=r"anomaly: exp\(i=inf\) produced inf"):
            i.exp()
    assert a.data == 1.0
    assert math.isnan((i * 0).data)  # off again outside


def test_detect_anomaly_in_backward_names_the_op():
    x = Value(1e-200, label="x")
    y = 1 / x  # 1e200: fine; its derivative -1e400 is not a float
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"anomaly in backward: .*div\(1.0, x=1e-200\).*x=1e-200.*-inf"):
            y.backward()


def test_detect_anomaly_restores_after_an_exception():
    with pytest.raises(FloatingPointError):
        with detect_anomaly():
            Value(NAN) * 2
    assert math.isnan((Value(NAN) * 2).data)


def test_tiny_divisors_give_ordinary_gradients():
    """d(a/b)/db = -a/b^2 is computed as -(a/b)/b: b*b would underflow to 0 for b = 1e-200
    although the derivative, -1e100, is an ordinary float."""
    a, b = Value(1e-300, label="a"), Value(1e-200, label="b")
    (a / b).backward()
    assert b.grad == pytest.approx(-1e100, rel=1e-15)
    assert a.grad == pytest.approx(1e200, rel=1e-15)


# ---------------------------------------------------------------- stability

@pytest.mark.parametrize("x", [1e308, -1e308, 710.0, -710.0, 1e4, -1e4, INF, -INF])
def test_sigmoid_and_tanh_are_stable_for_any_float(x):
    s, t = Value(x, label="x"), Value(x, label="x")
    out_s, out_t = s.sigmoid(), t.tanh()
    assert out_s.data == pytest.approx(1.0 if x > 0 else 0.0, abs=1e-300)  # e^-710 is subnormal
    assert out_t.data == (1.0 if x > 0 else -1.0)
    out_s.backward()
    out_t.backward()
    assert s.grad == pytest.approx(0.0, abs=1e-300) and t.grad == 0.0
    assert 0.0 <= out_s.data <= 1.0 and s.grad >= 0.0


@pytest.mark.parametrize("x", [-745.0, -700.0, -30.0, -1e-300, 0.0, 30.0, 700.0])
def test_sigmoid_is_accurate_in_both_tails(x):
    """Two branches: 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) below, so no overflow and full
    relative accuracy in the left tail (where 1 - sigmoid(-x) would lose everything)."""
    got = ops.SIGMOID.forward(ops.FloatMath, x)
    assert got == pytest.approx(math.exp(-math.log1p(math.exp(-x))) if x > -700 else math.exp(x), rel=1e-14)


@pytest.mark.parametrize("x", [349.0, 351.0, -400.0, 20.0, 1e-8])
def test_tanh_partial_is_finite_and_accurate_for_large_inputs(x):
    (d,) = ops.TANH.partials(ops.FloatMath, math.tanh(x), x)
    expected = 4 * math.exp(-2 * abs(x)) / (1 + math.exp(-2 * abs(x))) ** 2
    assert math.isfinite(d) and d == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("p", [INF, -INF, NAN])
def test_an_infinite_or_nan_exponent_is_accepted_like_any_non_finite_input(p):
    """0.5 ** inf is 0.0 and 0.5 ** nan is nan, as with floats; a negative base is still a
    ValueError, and detect_anomaly names pow when the result is not finite."""
    x = Value(0.5, label="x")
    y = x**p
    assert y.data == 0.5**p or (math.isnan(p) and math.isnan(y.data))
    assert y.op.param == p or math.isnan(y.op.param)
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** p
    if not math.isfinite(y.data):
        with detect_anomaly(), pytest.raises(FloatingPointError, match=r"anomaly: pow\(x=0.5\)"):
            x**p


def test_relu_of_nan_is_nan_so_anomaly_detection_sees_it():
    assert math.isnan(Value(math.nan).relu().data)
    with detect_anomaly(), pytest.raises(FloatingPointError, match="relu"):
        Value(math.nan, label="z").relu()
