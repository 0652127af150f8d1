"""The Value node: construction, identity, comparisons, labels, scopes, no_grad, detach."""
from __future__ import annotations

import pytest

import engine
from engine import Value, no_grad, scope
from engine.context import state


def test_the_issue_example_as_a_newcomer_types_it():
    """Issue 2's opening example: the documents' dCdw and dCdb (document 000, In [37-38]).
    The issue prints w.grad as -0.0 like the document; ours is +0.0, the same number
    (leaves start at +0.0 and accumulate; see docs/errata.md, notes)."""
    from engine import Value as V

    w, b, x, y = V(2.3, label="w"), V(-1.2, label="b"), V(0.0, label="x"), V(1.0, label="y")
    C = ((w * x + b).tanh() - y) ** 2
    C.backward()
    assert (w.grad, b.grad) == (-0.0, -1.1186026425530913)


def test_a_new_value_is_a_leaf_with_zero_grad():
    v = Value(3, label="w")
    assert v.data == 3.0 and type(v.data) is float
    assert v.grad == 0.0 and v.label == "w" and v.scope is None
    assert v.is_leaf and v.op is None and v.parents == ()


def test_an_op_result_records_op_and_parents():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    assert not c.is_leaf and c.op is engine.ops.MUL and c.parents == (a, b)
    assert c.label is None


def test_label_must_be_a_string_and_can_be_set_later():
    with pytest.raises(TypeError, match="label must be a string, got int"):
        Value(1.0, label=3)
    c = Value(1.0) + 2
    c.label = "c"
    assert "c" in repr(c)


def test_repr_shows_label_data_and_grad():
    assert repr(Value(2.5, label="w")) == "Value('w', data=2.5, grad=0.0)"
    assert repr(Value(-1.0)) == "Value(data=-1.0, grad=0.0)"


def test_equality_is_identity_so_values_are_hashable_graph_nodes():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and not (a == 1.0)
    assert len({a, b, a}) == 2
    assert {a: "a", b: "b"}[b] == "b"


def test_comparisons_compare_data():
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a
    assert a < 1.5 and b > 1 and a <= 1.0 and b >= 2
    assert max([a, b]) is b and sorted([b, a]) == [a, b]


def test_truth_value_is_ambiguous():
    with pytest.raises(TypeError, match="truth value of a Value is ambiguous"):
        bool(Value(1.0))


def test_slots_no_instance_dict():
    v = Value(1.0)
    assert not hasattr(v, "__dict__")
    with pytest.raises(AttributeError):
        v.colour = "red"


def test_unary_plus_is_the_same_node():
    v = Value(1.0)
    assert +v is v


# ---------------------------------------------------------------- no_grad and detach

def test_no_grad_records_no_graph_and_restores():
    a = Value(2.0, label="a")
    assert state().grad_enabled
    with no_grad():
        assert not state().grad_enabled
        b = (a * 3).tanh() + 1
    assert state().grad_enabled
    assert b.is_leaf and b.parents == () and b.op is None
    assert b.data == pytest.approx(1 + 0.9999877116507956, rel=1e-15)
    b.backward()
    assert a.grad == 0.0 and b.grad == 1.0


def test_no_grad_nests_and_restores_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            with no_grad():
                pass
            assert not state().grad_enabled
            Value(1.0) / 0
    assert state().grad_enabled
    assert (Value(1.0) * 2).parents != ()


def test_no_grad_for_a_parameter_update_keeps_the_leaf():
    w = Value(0.5, label="w")
    (w * w).backward()
    with no_grad():
        w.data -= 0.1 * w.grad
    assert w.data == pytest.approx(0.4) and w.is_leaf


def test_detach_makes_a_leaf_that_stops_gradients():
    x = Value(3.0, label="x")
    with scope("layer 1"):
        h = (x * x).detach()
    assert h.is_leaf and h.data == 9.0 and h.scope == "layer 1"  # where x * x was made
    y = h * x
    y.backward()
    assert x.grad == 9.0  # only the direct path; nothing flows through the detached x*x
    assert h.grad == 3.0


def test_detach_keeps_label_and_scope():
    with scope("layer 2"):
        v = Value(1.0, label="v") * 2
    v.label = "two"
    d = v.detach()
    assert d is not v and (d.data, d.label, d.scope) == (2.0, "two", "layer 2")


# ---------------------------------------------------------------- scopes

def test_scope_tags_every_value_made_inside_and_nests():
    assert state().scope is None
    x = Value(1.0)
    with scope("layer 1") as outer:
        assert outer == "layer 1"
        w = Value(0.5)
        with scope("neuron 2") as inner:
            assert inner == "layer 1/neuron 2" == state().scope
            z = w * x
            a = z.tanh()
        b = a + 1
    assert x.scope is None and w.scope == "layer 1"
    assert z.scope == a.scope == "layer 1/neuron 2"
    assert b.scope == "layer 1"
    assert state().scope is None
    assert (a * 2).scope is None


def test_scope_constants_lifted_inside_get_the_scope():
    with scope("s"):
        y = Value(1.0) * 3
    assert y.parents[1].scope == "s"


def test_scope_restores_after_an_exception():
    with pytest.raises(ValueError):
        with scope("outer"):
            Value(-1.0).log()
    assert state().scope is None


@pytest.mark.parametrize("bad", ["", "a/b", None, 3])
def test_scope_names_are_checked(bad):
    with pytest.raises(ValueError, match="scope name"):
        with scope(bad):
            pass


def test_context_managers_are_reexported_from_engine():
    assert engine.no_grad is no_grad and engine.scope is scope
    assert callable(engine.detect_anomaly)
