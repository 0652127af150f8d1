"""Stepping: every backward step's records, and that the walk gives backward()'s grads exactly."""
from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Value, backward_steps, explain, forward_steps, topological_order
from engine.notation import names
from tests.engine.graphs import neuron


def grads(root):
    return [v.grad for v in topological_order(root)]


def both_ways(make):
    """Grads of every node after backward() and after exhausting backward_steps()."""
    root = make()
    root.backward()
    expected = grads(root)
    root = make()
    list(backward_steps(root))
    return expected, grads(root)


# ---------------------------------------------------------------- the documents' neuron

def test_seed000_neuron_steps_reproduce_the_documents_dCdb_and_dCdw():
    C, v = neuron()
    steps = list(backward_steps(C))
    assert v["b"].grad == -1.1186026425530913  # seed 000: print(dCdb(2.3, -1.2, 0, 1))
    assert v["w"].grad == 0.0                  # seed 000: print(dCdw(...)) is -0.0
    assert [s.name for s in steps] == ["C", "sub1", "a", "z", "mul1"]
    tanh_step = steps[2]
    (edge,) = tanh_step.edges
    assert edge.name == "z" and edge.formula == "1/cosh(z)^2"
    assert edge.partial == pytest.approx(1 / math.cosh(-1.2) ** 2)
    # the documents' product dCda * dadz: upstream 2*(a - y), times 1/cosh(z)^2
    assert tanh_step.upstream == pytest.approx(2 * (math.tanh(-1.2) - 1))
    assert edge.product == tanh_step.upstream * edge.partial
    mul_step = steps[4]
    assert [(e.name, e.formula) for e in mul_step.edges] == [("w", "x"), ("x", "w")]
    assert mul_step.edges[0].partial == 0.0  # dz/dw = x = 0


def test_steps_set_grads_as_they_go():
    C, v = neuron()
    walk = backward_steps(C)
    first = next(walk)
    assert first.node is C and C.grad == 1.0
    assert v["a"].grad == 0.0  # not reached yet
    next(walk)
    assert v["a"].grad == first.edges[0].product


def test_explain_uses_the_documents_notation_and_labels():
    C, v = neuron()
    text = explain(C)
    assert "dC/da * da/dz" in text
    assert "da/dz = 1/cosh(z)^2" in text
    assert "dC/db" in text and "-1.1186" in text
    assert "tanh(z)" in text and "w * x" in text


def test_explain_table_is_aligned():
    C, _ = neuron()
    text = explain(C)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and "local partial" in line)
    header = lines[start]
    column = header.index("local partial")
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append(line)
    # one row per (step, parent): 1 + 2 + 1 + 2 + 2, and in the narrow layout (100 columns)
    # a row of its own for each step's upstream
    assert len(rows) == 8 + 5 * ("upstream" not in header)
    for row in rows:
        assert row[column - 2:column] == "  " and row[column] != " ", row
    assert max(map(len, lines)) <= 100


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_explain_fits_an_80_column_terminal_and_still_says_everything(mode):
    C, _ = neuron()
    wide, narrow = explain(C, mode=mode), explain(C, mode=mode, width=80)
    assert max(map(len, wide.splitlines())) > 80 >= max(map(len, narrow.splitlines()))
    words = lambda text: sorted(re.findall(r"\S+", text.replace("|", "")))
    numbers = lambda text: sorted(re.findall(r"-?\d+\.\d+", text))
    assert numbers(narrow) == numbers(wide)  # the same numbers, in other places
    if mode == "reverse":
        assert "dC/da * da/dz" in narrow and "da/dz = 1/cosh(z)^2 = 0.30502" in narrow
    assert len(words(narrow)) >= len(words(wide)) - 12  # only headers reworded


@pytest.mark.parametrize("width", ["80", 0, True, 80.0])
def test_a_width_that_is_not_a_count_of_columns_is_refused(width):
    C, _ = neuron()
    with pytest.raises(ValueError, match=r"width \(columns\) must be an int >= 1"):
        explain(C, width=width)


def test_a_local_partial_never_reads_like_a_total_and_constants_are_not_inputs():
    x = Value(1.0, label="x")
    f = x * x + 3
    f.label = "f"
    text = explain(f)
    assert "∂f/∂(mul1) = 1" in text and "df/dx = 2 (sum of 2 paths)" in text
    assert "df/dx = x = 1" not in text.replace("d(mul1)/dx = x = 1", "")
    grads_table = text.split("Gradients of the inputs")[1].split("\n\n")[0]
    assert "df/dx" in grads_table and "d(3)" not in grads_table
    assert "not listed: the constant 3" in grads_table
    assert "3     constant" in text
    assert "Forward pass (4 values)" in text and "Backward pass (2 steps)" in text
    one = explain(x * 2)
    assert "(1 step)" in one


def test_explain_changes_no_grad():
    C, v = neuron()
    v["w"].grad = 5.0
    before = grads(C)
    explain(C)
    assert grads(C) == before


# ---------------------------------------------------------------- bit-for-bit equality

def test_reused_node_shows_its_sum_over_paths():
    x = Value(1.5, label="x")
    y = x * x + x.tanh() + x  # x reaches y along four edges
    y.label = "y"
    steps = list(backward_steps(y))
    edges = [e for s in steps for e in s.edges if e.parent is x]
    assert [e.arrivals for e in edges] == [1, 2, 3, 4]
    running = 0.0
    for e in edges:
        running += e.product
        assert e.total == running
    assert edges[-1].total == x.grad
    y2 = Value(1.5)
    expected = y2 * y2 + y2.tanh() + y2
    expected.backward()
    assert x.grad == y2.grad


def test_dot_partial_wrt_each_weight_is_its_input():
    ws = [Value(0.5, label=f"w{i}") for i in range(3)]
    xs = [Value(float(i) + 0.25, label=f"x{i}") for i in range(3)]
    d = Value.dot(ws, xs)
    (step,) = list(backward_steps(d))
    by_name = {e.name: e for e in step.edges}
    for i in range(3):
        assert by_name[f"w{i}"].formula == f"x{i}"
        assert by_name[f"w{i}"].partial == xs[i].data
        assert by_name[f"x{i}"].formula == f"w{i}"
    assert step.lines()[0].startswith("upstream")


@pytest.mark.parametrize("make", [
    lambda: neuron()[0],
    lambda: (lambda x: x * x * x + x)(Value(0.7)),
    lambda: (lambda a, b: Value.sum([a, b, a * b, a]) / (b + 3))(Value(0.3), Value(-1.1)),
    lambda: (lambda w, x: Value.dot(w, x + [w[0]]).sigmoid())(
        [Value(0.1), Value(-0.4), Value(2.0)], [Value(1.0), Value(0.5)]),
    lambda: (lambda a: ((a.exp() - a.log()) ** 1.5).relu() * a.sin() - a.cos())(Value(1.3)),
], ids=["neuron", "reuse", "sum", "dot", "unary"])
def test_all_steps_leave_exactly_backwards_grads(make):
    expected, stepped = both_ways(make)
    assert stepped == expected  # bit for bit, every node


def test_leaves_accumulate_like_backward():
    C1, v1 = neuron()
    C2, v2 = neuron()
    v1["b"].grad = v2["b"].grad = 0.25
    C1.backward()
    list(backward_steps(C2))
    assert v2["b"].grad == v1["b"].grad == 0.25 + -1.1186026425530913


def test_seed_scales_like_backward():
    expected = neuron()[0]
    expected.backward(3.0)
    got = neuron()[0]
    list(backward_steps(got, 3.0))
    assert grads(got) == grads(expected)


@st.composite
def graphs(draw):
    leaves = [Value(draw(st.floats(-2, 2)), label=f"p{i}") for i in range(3)]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["add", "mul", "tanh", "sum", "dot", "sub", "sigmoid"]))
        pick = lambda: nodes[draw(st.integers(0, len(nodes) - 1))]  # noqa: E731
        if kind == "add":
            nodes.append(pick() + pick())
        elif kind == "sub":
            nodes.append(pick() - pick())
        elif kind == "mul":
            nodes.append(pick() * pick())
        elif kind == "tanh":
            nodes.append(pick().tanh())
        elif kind == "sigmoid":
            nodes.append(pick().sigmoid())
        elif kind == "sum":
            nodes.append(Value.sum([pick(), pick(), pick()]))
        else:
            nodes.append(Value.dot([pick(), pick()], [pick(), pick()]))
    return Value.sum(nodes[3:])


@settings(max_examples=40, deadline=None)
@given(graphs())
def test_property_steps_equal_backward_on_random_graphs(root):
    order = topological_order(root)
    for v in order:
        v.grad = 0.0
    root.backward()
    expected = grads(root)
    for v in order:
        v.grad = 0.0
    steps = list(backward_steps(root))
    assert grads(root) == expected
    assert len(steps) == sum(1 for v in order if not v.is_leaf)
    # each step's upstream is that node's final gradient: all its children came first
    for s in steps:
        assert s.upstream == s.node.grad


# ---------------------------------------------------------------- forward, names, errors

def test_forward_steps_follow_topological_order_with_expressions():
    C, v = neuron()
    steps = list(forward_steps(C))
    assert [s.node for s in steps] == topological_order(C)
    text = {s.name: s.expression for s in steps}
    assert text["z"] == "mul1 + b" and text["a"] == "tanh(z)" and text["C"] == "sub1**2"
    assert text["w"] == "input"
    assert steps[-1].value == C.data
    assert "a = tanh(z) = " in next(s.text for s in steps if s.name == "a")


def test_names_are_labels_else_readable_and_unique():
    a = Value(1.0, label="mul1")  # a label that a generated name would take
    b = Value(2.0)
    c = a * b * 3
    n = names(topological_order(c))
    assert n[a] == "mul1"
    assert n[b] == "2"  # an unlabelled leaf shows its number
    generated = [n[v] for v in topological_order(c) if not v.is_leaf]
    assert generated == ["mul2", "mul3"]
    assert re.fullmatch(r"[a-z]+\d+", generated[0])


def test_bad_input_is_refused_clearly():
    with pytest.raises(TypeError, match="Value"):
        list(backward_steps(3.0))
    with pytest.raises(TypeError, match="Value"):
        explain("C")
    with pytest.raises(TypeError):
        list(backward_steps(Value(1.0), "one"))


def test_a_failing_local_derivative_raises_like_backward():
    def make():
        return Value(0.0, label="x") ** 0.5  # forward is 0; d/dx = 0.5 * x^-0.5 has no value

    with pytest.raises(ZeroDivisionError) as by_backward:
        make().backward()
    with pytest.raises(ZeroDivisionError, match="x=0.0") as by_steps:
        list(backward_steps(make()))
    assert str(by_steps.value) == str(by_backward.value)


def test_leaf_root_has_no_steps_and_gets_the_seed():
    x = Value(2.0, label="x")
    assert list(backward_steps(x, 2.0)) == []
    assert x.grad == 2.0
    assert "dx/dx = 1" in explain(x)


def test_explain_writes_each_inputs_chain_in_the_documents_notation():
    C, v = neuron()
    text = explain(C)
    # seed 000: dCdb = dCda * dadz * dzdb (here a - y is its own node, sub1)
    line = next(ln for ln in text.splitlines() if ln.startswith("dC/db = dC/d(sub1)"))
    assert "d(sub1)/da * da/dz * dz/db" in line
    assert line.endswith("= -1.1186")
    x = Value(1.5, label="x")
    q = x * x + x
    q.label = "q"
    lines = explain(q).splitlines()
    start = lines.index("The chain rule along every path to each input")
    assert len(lines[start + 1:]) == 3  # three paths from q to x, one line each
    assert lines[start + 2].lstrip().startswith("+")


def test_anomaly_mode_stops_the_walk_like_backward():
    from engine import detect_anomaly

    def make():
        return Value(1e-310, label="x").log() * 1e10  # d/dx = 1/x overflows to inf

    messages = []
    for run in (lambda r: r.backward(), lambda r: list(backward_steps(r))):
        with detect_anomaly(), pytest.raises(FloatingPointError) as error:
            run(make())
        messages.append(str(error.value))
    assert messages[0] == messages[1] and "x=1e-310" in messages[0]
