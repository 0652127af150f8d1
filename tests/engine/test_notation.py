"""Notation: every displayed name is unique, and a negative number reads unambiguously."""
from __future__ import annotations

from engine import Value, ops, topological_order
from engine.notation import expression, names, partial


def test_two_constants_with_one_number_get_different_names():
    x = Value(2.0, label="x")
    root = (x + 1) * 1
    shown = names(topological_order(root))
    ones = [shown[v] for v in topological_order(root) if v.is_leaf and v.label is None]
    assert ones == ["1", "1#2"]
    assert len(set(shown.values())) == len(shown)


def test_two_nodes_with_one_label_get_different_names():
    a, b = Value(1.0, label="x"), Value(2.0, label="x")
    shown = names(topological_order(a * b))
    assert sorted([shown[a], shown[b]]) == ["x", "x#2"]


def test_negative_numbers_are_bracketed_where_an_operator_binds_them():
    assert expression(ops.power(2), ["-1.83365"]) == "(-1.83365)**2"
    assert expression(ops.MUL, ["w", "-1.2"]) == "w * (-1.2)"
    assert expression(ops.SUB, ["a", "-1"]) == "a - (-1)"
    assert expression(ops.TANH, ["-1.2"]) == "tanh(-1.2)"      # a function's argument: no brackets
    assert expression(ops.SUM, ["-1", "2"]) == "Σ(-1, 2)"
    assert expression(ops.MUL, ["w", "x"]) == "w * x"


def test_a_partials_formula_brackets_a_negative_input():
    assert partial(ops.power(2), 0, ["-0.5"], "s") == "2 * (-0.5)"
    assert partial(ops.MUL, 0, ["w", "-1.2"], "z") == "-1.2"
    assert partial(ops.TANH, 0, ["-1.2"], "a") == "1/cosh(-1.2)^2"
