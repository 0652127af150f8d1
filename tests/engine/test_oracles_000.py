"""Oracles from document 000 (seeds/000_39b804071f0cfa51.txt): tanh neurons and their costs.

Every worked example of the document that has a number in it, reproduced with the engine.
"""
from __future__ import annotations

import math

import pytest

from engine import Value

from . import reference as ref


def test_seed000_in29_three_input_two_output_tanh_layer():
    """In [29]: sigma = tanh, W = [[-2, 4, -1], [6, 0, -3]], b = [0.1, -2.5],
    x = [0.3, 0.4, 0.1] gives array([ 0.76159416, -0.76159416])."""
    W, b, x = [[-2, 4, -1], [6, 0, -3]], [0.1, -2.5], [0.3, 0.4, 0.1]
    for fused in (False, True):
        _, a1 = ref.dense(ref.leaves(W, "W"), ref.leaf_vector(b, "b"), x, "tanh", fused=fused)
        assert [ref.printed(a.data, 8) for a in a1] == [0.76159416, -0.76159416]
        # z is 1 and -1 up to the rounding of 0.3, 0.4 and 0.1: tanh(+-1) to a few ulps.
        assert a1[0].data == pytest.approx(float(ref.tanh(ref.dec(1))), rel=1e-15)
        assert a1[1].data == pytest.approx(float(ref.tanh(ref.dec(-1))), rel=1e-15)


def test_seed000_in34_single_neuron_cost():
    """In [34]: w1 = 1.3, b1 = -0.1, x = 0, y = 1 prints Cost:1.21."""
    w, b = Value(1.3, label="w1"), Value(-0.1, label="b1")
    cost = ((w * 0 + b).tanh() - 1) ** 2
    assert round(cost.data, 2) == 1.21
    exact = (ref.tanh(ref.dec(-0.1)) - 1) ** 2
    assert ref.ulps(cost.data, exact) <= 2


def test_seed000_in37_in38_dCdb_and_dCdw_of_the_unfit_neuron():
    """In [37] and [38]: w1 = 2.3, b1 = -1.2, x = 0, y = 1 print dCdb = -1.1186026425530913
    and dCdw = -0.0.

    The engine's tanh partial is the document's own 1/cosh(z)^2, so dCdb comes out bit for
    bit. dCdw: our leaves start at +0.0 and accumulate, and +0.0 + (-0.0) is +0.0, so
    w.grad is 0.0 where the document's plain product prints -0.0. The two are the same
    number (0.0 == -0.0); only the IEEE sign of zero differs (see docs/errata.md, notes).
    """
    w, b = Value(2.3, label="w"), Value(-1.2, label="b")
    x, y = Value(0.0, label="x"), Value(1.0, label="y")
    C = ((w * x + b).tanh() - y) ** 2
    C.backward()
    assert b.grad == -1.1186026425530913
    assert w.grad == 0.0  # and so == -0.0, the document's printout
    assert math.copysign(1.0, w.grad) == 1.0  # +0.0: a leaf's grad starts at +0.0


def _dCdw_dCdb_of_the_document(w1: float, b1: float, x: float, y: float) -> tuple[float, float]:
    """The document's In [36] functions, transcribed (numpy replaced by math)."""
    z = w1 * x + b1
    dCda = 2 * (math.tanh(z) - y)
    dadz = 1 / math.cosh(z) ** 2
    return dCda * dadz * x, dCda * dadz * 1


@pytest.mark.parametrize(
    "w1, b1, x, y", [(2.3, -1.2, 0.0, 1.0), (1.3, -0.1, 1.0, 0.0), (-5.0, 5.0, 0.0, 1.0), (0.7, 0.2, -1.5, 0.3)]
)
def test_seed000_in36_autodiff_equals_the_documents_dCdw_dCdb_functions(w1, b1, x, y):
    """In [36]: the hand-derived chain rule dCdw = 2(a - y) / cosh(z)^2 * x, dCdb likewise."""
    w, b = Value(w1, label="w1"), Value(b1, label="b1")
    (((w * x + b).tanh() - y) ** 2).backward()
    dCdw, dCdb = _dCdw_dCdb_of_the_document(w1, b1, x, y)
    assert w.grad == pytest.approx(dCdw, rel=1e-13, abs=1e-300)
    assert b.grad == pytest.approx(dCdb, rel=1e-13, abs=1e-300)


W41 = [[-0.94529712, -0.2667356, -0.91219181], [2.05529992, 1.21797092, 0.22914497]]
B41 = [0.61273249, 1.6422662]
X41, Y41 = [0.7, 0.6, 0.2], [0.9, 0.6]


def _exact_cost_in41() -> ref.Decimal:
    d = [
        ref.tanh(sum(ref.dec(w) * ref.dec(xj) for w, xj in zip(row, X41)) + ref.dec(bi)) - ref.dec(yi)
        for row, bi, yi in zip(W41, B41, Y41)
    ]
    return sum(di * di for di in d)


def test_seed000_in41_two_output_cost():
    """In [41]: the 3-input 2-output tanh layer with the 'random' W and b, x = [0.7, 0.6, 0.2],
    y = [0.9, 0.6]: C = d @ d prints 1.7788340952508737.

    Document 001 prints the same cell as 1.7788340952508743. The exact value of the formula
    at these float inputs is 1.77883409525087379..., whose nearest float is
    1.7788340952508739: the two printouts are 1 and 2 ulps from it, different summation
    orders inside numpy's matrix product. Both are right; the engine must be within a few
    ulps too (docs/errata.md, notes).
    """
    exact = _exact_cost_in41()
    for fused in (False, True):
        _, a1 = ref.dense(ref.leaves(W41, "W"), ref.leaf_vector(B41, "b"), X41, "tanh", fused=fused)
        d = [a - y for a, y in zip(a1, Y41)]
        C = Value.sum(di * di for di in d)
        assert ref.ulps(C.data, exact) <= 4
    for printed_value in (1.7788340952508737, 1.7788340952508743):
        assert ref.ulps(printed_value, exact) <= 4
    assert float(exact) == 1.7788340952508739


def test_seed000_in41_gradients_follow_the_documents_vector_chain_rule():
    """The document's dC/dW = dC/da * da/dz * dz/dW for the In [41] layer, element by
    element: dC/dW_ij = 2 (a_i - y_i) / cosh(z_i)^2 * x_j and dC/db_i without the x_j."""
    W, b = ref.leaves(W41, "W"), ref.leaf_vector(B41, "b")
    z, a1 = ref.dense(W, b, X41, "tanh")
    Value.sum((a - y) ** 2 for a, y in zip(a1, Y41)).backward()
    for i in range(2):
        delta = 2 * (a1[i].data - Y41[i]) / math.cosh(z[i].data) ** 2
        assert b[i].grad == pytest.approx(delta, rel=1e-13)
        for j in range(3):
            assert W[i][j].grad == pytest.approx(delta * X41[j], rel=1e-13)
