"""Oracles from document 001 (seeds/001_44867b68afbe4f4f.txt): the multivariate chain rule,
neural networks in matrix form, and its quizzes and exercises.
"""
from __future__ import annotations

import math

import pytest

from engine import Value

from . import reference as ref


def _document_dfdt(t: float) -> float:
    """The document's result, transcribed: df/dt = (3 x1^2 cos(x2) e^x3 * 2)
    + (-x1^3 sin(x2) e^x3 * -2t) + (x1^3 cos(x2) e^x3 * e^t)."""
    x1, x2, x3 = 2 * t, 1 - t**2, math.exp(t)
    return (
        3 * x1**2 * math.cos(x2) * math.exp(x3) * 2
        + (-(x1**3) * math.sin(x2) * math.exp(x3)) * (-2 * t)
        + x1**3 * math.cos(x2) * math.exp(x3) * math.exp(t)
    )


@pytest.mark.parametrize("t0", [-1.5, -0.3, 0.0, 0.4, 1.0, 1.7])
def test_seed001_multivariate_chain_rule_df_dt(t0):
    """'Let's take an example': f = x1^3 cos(x2) e^x3 with x1 = 2t, x2 = 1 - t^2, x3 = e^t.
    Reverse mode through the whole composition equals the document's df/dt formula."""
    t = Value(t0, label="t")
    x1, x2, x3 = 2 * t, 1 - t**2, t.exp()
    f = x1**3 * x2.cos() * x3.exp()
    f.backward()
    assert t.grad == pytest.approx(_document_dfdt(t0), rel=1e-12, abs=1e-12)
    # and the value itself, against 50-digit arithmetic
    T = ref.dec(t0)
    exact = (2 * T) ** 3 * ref.cos(1 - T * T) * ref.exp(ref.exp(T))
    assert f.data == pytest.approx(float(exact), rel=1e-13, abs=1e-300)


def test_seed001_quiz1_not_function_neuron():
    """Quiz one, Question 1: a tanh neuron a1 = tanh(w1 a0 + b1) meant to compute NOT.
    The initial w1 = 1.3, b1 = -0.1 is 'not very good'; the answer w1 = -5, b1 = 5 is.
    (The document prints no outputs: we check the NOT behaviour and that the answer's cost
    over both training pairs is far below the initial one, and that autodiff's gradient
    at the initial point points towards the answer.)"""
    def cost(w1: Value, b1: Value) -> Value:
        return Value.sum((((w1 * a0 + b1).tanh() - y) ** 2) for a0, y in [(0, 1), (1, 0)])

    w, b = Value(1.3, label="w1"), Value(-0.1, label="b1")
    initial = cost(w, b)
    initial.backward()
    answer = cost(Value(-5.0), Value(5.0))
    assert (Value(-5.0) * 1 + 5.0).tanh().data == 0.0  # NOT 1 = 0
    assert (Value(-5.0) * 0 + 5.0).tanh().data > 0.9999  # NOT 0 = 1
    assert answer.data < 1e-7 < 1.0 < initial.data
    assert w.grad > 0 and b.grad < 0  # descent lowers w1 and raises b1, towards (-5, 5)


def test_seed001_quiz1_question2_tanh_layer():
    """Quiz one, Question 2 (In [2]): the 3-input 2-output tanh layer prints
    array([ 0.76159416, -0.76159416])."""
    _, a1 = ref.dense([[-2, 4, -1], [6, 0, -3]], [0.1, -2.5], [Value(0.3), Value(0.4), Value(0.1)], "tanh")
    assert [ref.printed(a.data, 8) for a in a1] == [0.76159416, -0.76159416]


def test_seed001_exercise_question1_two_node_network():
    """Exercise, Question 1 (In [5]): w1 = 1.3, b1 = -0.1, x = 0 prints
    a1 = -0.09966799462495582 and C_0 = (a1 - 1)(a1 - 1) = 1.209269698402472."""
    a1 = (Value(1.3, label="w1") * 0 + Value(-0.1, label="b1")).tanh()
    C0 = (a1 - 1) * (a1 - 1)
    assert ref.ulps(a1.data, -0.09966799462495582) <= 1
    assert ref.ulps(C0.data, 1.209269698402472) <= 1
    assert ref.ulps(a1.data, ref.tanh(ref.dec(-0.1))) <= 1


def test_seed001_exercise_question4_dCdb():
    """Exercise, Question 4: dCdb(w1=2.3, b1=-1.2, x=0, y=1) = -1.1186026425530913."""
    w, b = Value(2.3, label="w1"), Value(-1.2, label="b1")
    (((w * 0 + b).tanh() - 1) ** 2).backward()
    assert b.grad == -1.1186026425530913


def test_seed001_exercise_question5_two_output_layer():
    """Exercise, Question 5 (In [3]): prints d = [-1.27261408  0.39910838] and
    C = 1.7788340952508743 (document 000 prints the same cell as ...737; both are within
    2 ulps of the exact value: see test_oracles_000 and docs/errata.md)."""
    W = [[-0.94529712, -0.2667356, -0.91219181], [2.05529992, 1.21797092, 0.22914497]]
    b, x, y = [0.61273249, 1.6422662], [0.7, 0.6, 0.2], [0.9, 0.6]
    _, a1 = ref.dense(ref.leaves(W, "W"), ref.leaf_vector(b, "b"), x, "tanh", fused=True)
    d = [a - yi for a, yi in zip(a1, y)]
    assert [ref.printed(di.data, 8) for di in d] == [-1.27261408, 0.39910838]
    C = d[0] * d[0] + d[1] * d[1]
    assert abs(C.data - 1.7788340952508743) <= 4 * math.ulp(1.7788340952508743)
