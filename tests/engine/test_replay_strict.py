"""The replay is as strict as eager: the same refusals, the same errors, the same anomalies.

Each case is one that eager refuses or raises on and that an earlier replay let through.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from engine import Value, compile, detect_anomaly


def wide(x: Value, n: int = 40) -> Value:
    """A graph whose groups are big enough for numpy (not the float runs)."""
    ws = [Value(0.1 * i) for i in range(n)]
    return Value.sum([(w * x).tanh() for w in ws])


@pytest.mark.parametrize("bad", [None, "3", True, b"3", np.bool_(True), 1 + 2j])
def test_leaf_data_eager_refuses_is_refused(bad):
    with pytest.raises(TypeError):
        Value(bad)
    x = Value(1.0, label="x")
    compiled = compile(x * 2.0 + 1.0)
    x.data = bad
    with pytest.raises(TypeError, match="must be a real number"):
        compiled.forward()


def test_leaf_data_of_any_real_type_is_read_as_eager_reads_it():
    from fractions import Fraction

    x = Value(1.0)
    compiled = compile(x * 2.0)
    for number in (3, Fraction(1, 4), np.float32(0.5)):
        x.data = number
        assert compiled.forward() == 2.0 * float(number)


@pytest.mark.parametrize("build", [lambda x: x * 2.0 + 1.0, wide], ids=["float run", "numpy groups"])
def test_detect_anomaly_names_the_op_that_made_nan(build):
    x = Value(1.0, label="x")
    compiled = compile(build(x))
    x.data = math.nan
    assert math.isnan(compiled.forward())  # outside detect_anomaly NaN flows, as in eager
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"anomaly: mul\("):
            build(Value(math.nan, label="x"))
        with pytest.raises(FloatingPointError, match=r"anomaly: mul\("):
            compiled.forward()


@pytest.mark.parametrize("build", [lambda x: (x * 1e200).sin() * 1e200,
                                   lambda x: Value.sum([(Value(0.1 + 0.1 * i) * (x * 1e200)).sin() for i in range(30)]) * 1e200],
                         ids=["float run", "numpy groups"])
def test_detect_anomaly_in_backward_raises_where_eager_does(build):
    x = Value(1.0, label="x")
    root = build(x)  # finite forward; the gradient into x is infinite
    compiled = compile(root)
    compiled.backward()
    assert not math.isfinite(x.grad)  # without detect_anomaly it is just a number, as in eager
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match="anomaly in backward"):
            root.backward()
        with pytest.raises(FloatingPointError, match="anomaly in backward"):
            compiled.backward()


def test_a_partial_eager_refuses_raises_even_when_no_gradient_needs_it():
    w, a = Value(2.0, label="w"), Value(0.0, label="a")
    root = w * a ** 0.5
    with pytest.raises(ZeroDivisionError):
        root.backward()
    compiled = compile(root, wrt=[w])  # eager computes every partial; so does the replay
    compiled.forward()
    with pytest.raises(ZeroDivisionError, match=r"the derivative of a\*\*0.5 is infinite at a=0.0"):
        compiled.backward()


def test_a_partial_eager_refuses_raises_in_numpy_groups_too():
    a = Value(1.0, label="a")
    ws = [Value(0.5 + i) for i in range(30)]
    root = Value.sum([w * (a * float(i)) ** 0.5 for i, w in enumerate(ws, 1)])
    compiled = compile(root, wrt=ws)
    a.data = 0.0
    compiled.forward()
    with pytest.raises(ZeroDivisionError, match=r"the derivative of 0.0\*\*0.5 is infinite at 0.0"):
        compiled.backward()


def test_overflow_in_one_example_of_a_batch_raises_like_eager():
    x, t = Value(0.0, label="x"), Value(0.0, label="t")
    w = Value(2.0, label="w")
    compiled = compile((w * x).exp() - t, wrt=[w], data=[x, t])
    rows = np.array([[1.0, 0.0]] * 5 + [[600.0, 0.0]])
    with pytest.raises(OverflowError, match="exp"):
        compiled.forward(rows)


def test_division_by_zero_in_one_example_of_a_batch_names_the_op_and_operands():
    x, w = Value(1.0, label="x"), Value(3.0, label="w")
    compiled = compile(w / x, wrt=[w], data=[x])
    with pytest.raises(ZeroDivisionError, match=r"div\(w=3.0, x=0.0\)"):
        compiled.forward(np.array([[1.0], [2.0], [0.0]]))


def test_nan_data_in_a_batch_flows_through_unless_anomalies_are_checked():
    x, w = Value(1.0, label="x"), Value(3.0, label="w")
    compiled = compile((w * x).tanh(), wrt=[w], data=[x])
    values = compiled.forward(np.array([[1.0], [math.nan]]))
    assert math.isnan(values[1]) and values[0] == math.tanh(3.0)
    with detect_anomaly(), pytest.raises(FloatingPointError, match="anomaly: mul"):
        compiled.forward(np.array([[1.0], [math.nan]]))


def test_a_batch_of_strings_or_bools_is_refused():
    x = Value(1.0)
    compiled = compile(x * 2.0, wrt=[], data=[x])
    for rows in (np.array([["3"]]), np.array([[True]]), [[None]]):
        with pytest.raises(TypeError, match="real numbers"):
            compiled.forward(rows)
    with pytest.raises(ValueError, match=r"shape \(examples, 1\)"):
        compiled.forward(np.ones((3, 2)))
