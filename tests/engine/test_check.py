"""Gradient checking: gradcheck on every op and an MLP, the per-op diagnosis, compare."""
from __future__ import annotations

import math
import random

import pytest

import engine
from engine import Value
from engine.check import check_nodes, compare, gradcheck
from engine.ops import Op
from engine.value import apply
from tests.engine.graphs import mlp_loss


# ---------------------------------------------------------------- helpers

def neuron_cost(w, b, x, y):
    """Document 000's tanh neuron and its cost, C = (tanh(w x + b) - y)^2."""
    return ((w * x + b).tanh() - y) ** 2


def dCdw(w1, b1, x, y):
    """Document 000's dCdw, transcribed (np.tanh/np.cosh become math's)."""
    z = w1 * x + b1
    dCda = 2 * (math.tanh(w1 * x + b1) - y)
    dadz = 1 / math.cosh(z) ** 2
    dzdw = x
    return dCda * dadz * dzdw


def dCdb(w1, b1, x, y):
    """Document 000's dCdb, transcribed."""
    z = w1 * x + b1
    dCda = 2 * (math.tanh(w1 * x + b1) - y)
    dadz = 1 / math.cosh(z) ** 2
    dzdb = 1
    return dCda * dadz * dzdb


def make_mlp(sizes, seed):
    rng = random.Random(seed)
    count = sum((nin + 1) * nout for nin, nout in zip(sizes, sizes[1:]))
    return [Value(rng.uniform(-1, 1), label=f"p{i}") for i in range(count)]


# A test double: tanh with a wrong local derivative (1 - out instead of 1 - out^2).
BAD_TANH = Op(
    name="bad_tanh", symbol="tanh?", arity=1, written="tanh?({0})",
    forward=lambda m, a: m.tanh(a), partials=lambda m, out, a: (1.0 - out,), formulas=("1 - {out}",),
)
# Another test double: sin whose partial is off by a factor of 2.
BAD_SIN = Op(
    name="bad_sin", symbol="sin?", arity=1, written="sin?({0})",
    forward=lambda m, a: m.sin(a), partials=lambda m, out, a: (2.0 * m.cos(a),), formulas=("2 cos({0})",),
)


# ---------------------------------------------------------------- gradcheck passes

OPS = [
    ("add", lambda a, b: a + b, [0.7, -1.3]),
    ("sub", lambda a, b: a - b, [0.7, -1.3]),
    ("neg", lambda a: -a, [0.7]),
    ("mul", lambda a, b: a * b, [0.7, -1.3]),
    ("div", lambda a, b: a / b, [0.7, -1.3]),
    ("pow 3", lambda a: a**3, [-0.7]),
    ("pow 0.5", lambda a: a**0.5, [0.7]),
    ("pow -2", lambda a: a**-2, [0.7]),
    ("exp", lambda a: a.exp(), [0.7]),
    ("log", lambda a: a.log(), [0.7]),
    ("tanh", lambda a: a.tanh(), [0.7]),
    ("sech2", lambda a: a.sech2(), [0.7]),
    ("sigmoid", lambda a: a.sigmoid(), [-0.7]),
    ("relu", lambda a: a.relu(), [0.7]),
    ("relu (negative side)", lambda a: a.relu(), [-0.7]),
    ("sin", lambda a: a.sin(), [0.7]),
    ("cos", lambda a: a.cos(), [0.7]),
    ("sqrt", lambda a: a.sqrt(), [0.7]),
    ("abs", lambda a: a.abs(), [-0.7]),
    ("sum", lambda a, b, c: Value.sum([a, b, c, a]), [0.7, -1.3, 2.0]),
    ("dot", lambda a, b, c, d: Value.dot([a, b], [c, d]), [0.7, -1.3, 2.0, 0.4]),
]


@pytest.mark.parametrize("name,f,xs", OPS, ids=[c[0] for c in OPS])
def test_gradcheck_passes_on_every_op(name, f, xs):
    report = gradcheck(f, xs)
    assert report, str(report)
    assert len(report.rows) == len(xs)
    assert all(c.ok for c in check_nodes(f(*map(Value, xs))))


def test_gradcheck_covers_every_op_of_the_table():
    names = {n.split()[0] for n, _, _ in OPS}
    assert set(engine.ops.TABLE) | {"pow"} <= names


def test_gradcheck_passes_on_an_mlp_and_reads_parameters_in_place():
    sizes = [3, 4, 4, 2]
    params = make_mlp(sizes, seed=1)
    x, y = [0.7, 0.6, 0.2], [0.9, 0.6]  # document 000's training example
    acts = ["tanh", "sigmoid", None]
    report = gradcheck(lambda *ps: mlp_loss(ps, sizes, acts, x, y), params)
    assert report, str(report)
    assert len(report.rows) == 4 * 4 + 5 * 4 + 5 * 2
    # f may also ignore its arguments and read the model's parameters itself
    report = gradcheck(lambda *_: mlp_loss(params, sizes, acts, x, y), params)
    assert report


def test_gradcheck_checks_a_second_derivative():
    g = engine.grad(lambda x, y: (x * y).sin() * x)
    assert gradcheck(lambda x, y: g(x, y)[0], [0.4, 1.3])
    assert gradcheck(lambda x, y: g(x, y)[1], [0.4, 1.3])


def test_gradcheck_leaves_the_users_values_untouched():
    w, b = Value(2.3, label="w"), Value(-1.2, label="b")
    w.grad = 5.0
    gradcheck(lambda w, b: neuron_cost(w, b, 0.5, 1.0), [w, b])
    assert (w.data, b.data, w.grad, b.grad) == (2.3, -1.2, 5.0, 0.0)

    def exploding(w, b):
        if w.data != 2.3:
            raise RuntimeError("boom")
        return w * b

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(exploding, [w, b])
    assert w.data == 2.3


def test_report_prints_as_a_table_with_labels_and_errors():
    report = gradcheck(neuron_cost, [Value(2.3, label="w"), Value(-1.2, label="b"), 0.5, 1.0])
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split() == ["input", "autodiff", "numeric", "abs", "error", "rel", "error", "ok"]
    assert lines[2].startswith("w ") and lines[3].startswith("b ")
    assert lines[4].startswith("inputs[2]")
    assert "passed" in report.message and bool(report) is True
    row = report.rows[1]
    assert row.abs_error == abs(row.autodiff - row.numeric)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="function"):
        gradcheck(3, [1.0])
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda: Value(1.0), [])
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda x: x, [1.0], eps=0.0)
    with pytest.raises(TypeError, match="must return one Value"):
        gradcheck(lambda x: [x], [1.0])


# ---------------------------------------------------------------- gradcheck fails and names the op

def test_a_wrong_partial_is_caught_and_named_by_the_per_node_check():
    w, b = Value(2.3, label="w"), Value(-1.2, label="b")

    def f(w, b):
        return (apply(BAD_TANH, w * 0.5 + b) - 1.0) ** 2

    report = gradcheck(f, [w, b])
    assert not report
    assert report.worst.label == "b"
    assert "'b'" in report.message and "bad_tanh" in report.message
    assert report.bad_nodes[0].node.op is BAD_TANH
    # named as the stepper and the drawings name it
    assert "bad_tanh1 = bad_tanh(add1)" in report.message
    assert "d(bad_tanh1)/d(add1)" in report.message
    assert "6  bad_tanh1" in engine.explain(f(w, b)) and "(#6 in the forward pass)" in report.message
    # the op table's partial vs the op's own forward, at that node
    z = 2.3 * 0.5 - 1.2
    assert report.bad_nodes[0].partial == pytest.approx(1 - math.tanh(z))
    assert report.bad_nodes[0].numeric == pytest.approx(1 - math.tanh(z) ** 2, rel=1e-8)
    assert str(report).endswith(report.message)


def test_the_named_op_is_the_one_nearest_the_worst_input():
    # x feeds only bad_tanh, y only bad_sin; y's error is the larger (bad_sin is 2x off),
    # so the message names bad_sin, and bad_tanh comes second.
    x, y = Value(0.3, label="x"), Value(0.9, label="y")

    def f(x, y):
        return apply(BAD_TANH, x) * 1.0 + apply(BAD_SIN, y * 1.0) * 3.0

    report = gradcheck(f, [x, y])
    assert not report and report.worst.label == "y"
    assert [c.node.op.name for c in report.bad_nodes] == ["bad_sin", "bad_tanh"]
    assert "bad_sin" in report.message and "bad_tanh(" not in report.message
    report_x = gradcheck(lambda x: f(x, Value(0.9)), [x])
    assert report_x.bad_nodes[0].node.op is BAD_TANH


def test_a_graph_that_misses_a_dependence_is_explained():
    # A classic slip: reading .data takes the dependence out of the graph.
    report = gradcheck(lambda x: x * x.data, [Value(3.0, label="x")])
    assert not report and report.bad_nodes == []
    assert ".data" in report.message


def test_a_kink_is_reported_as_a_kink_not_as_a_wrong_op():
    report = gradcheck(lambda x: x.relu(), [0.0])
    assert not report and report.bad_nodes == []
    assert "kink" in report.message and "relu" in report.message
    (check,) = check_nodes(Value(0.0).relu())
    assert check.ok and check.note.startswith("kink")


def test_check_nodes_is_one_entry_per_op_input():
    a, b = Value(0.5), Value(2.0)
    root = (a * b).exp() + Value.dot([a, b], [b, a])
    checks = check_nodes(root)
    assert len(checks) == 2 + 1 + 4 + 2  # mul, exp, dot, add
    assert all(c.ok for c in checks)
    assert [c.position for c in checks] == sorted(c.position for c in checks)


def test_an_undefined_point_gives_nan_and_fails():
    # log at 1e-7 with eps 1e-6: f is undefined at x - eps
    report = gradcheck(lambda x: x.log(), [1e-7])
    assert not report and math.isnan(report.rows[0].numeric)
    assert "undefined" in report.message


# ---------------------------------------------------------------- compare

def test_compare_the_documents_dCdw_dCdb_with_autodiff_and_numeric():
    # Document 000: w1=2.3, b1=-1.2, x=0, y=1 prints dCdb = -1.1186026425530913, dCdw = -0.0.
    inputs = [Value(2.3, label="w"), Value(-1.2, label="b"), Value(0.0, label="x"),
              Value(1.0, label="y")]
    report = compare(neuron_cost, inputs, {"w": dCdw, "b": dCdb})
    assert report, str(report)
    rows = {r.label: r for r in report.rows}
    assert rows["b"].autodiff == -1.1186026425530913
    assert rows["b"].analytic == -1.1186026425530913
    assert rows["b"].numeric == pytest.approx(-1.1186026425530913, rel=1e-8)
    assert rows["w"].autodiff == 0.0 and rows["w"].analytic == 0.0
    assert rows["x"].analytic is None  # no formula given: autodiff vs numeric only
    assert str(report).splitlines()[0].split() == ["input", "autodiff", "analytic", "numeric", "agree"]


def test_compare_at_another_point_and_with_plain_numbers():
    args = (2.3, -1.2, 0.7, 1.0)
    inputs = [Value(v, label=n) for v, n in zip(args, "wbxy")]
    report = compare(neuron_cost, inputs, {"w": dCdw(*args), "b": dCdb})
    assert report
    assert report.rows[0].analytic == dCdw(*args)


def test_compare_names_a_wrong_formula():
    def wrong_dCdb(w1, b1, x, y):  # forgot the derivative of tanh
        return 2 * (math.tanh(w1 * x + b1) - y)

    inputs = [Value(2.3, label="w"), Value(-1.2, label="b"), Value(0.7, label="x"),
              Value(1.0, label="y")]
    report = compare(neuron_cost, inputs, {"w": dCdw, "b": wrong_dCdb})
    assert not report
    assert [r.label for r in report.rows if not r.ok] == ["b"]
    assert "'b'" in report.message and "check the formula" in report.message


def test_compare_names_a_wrong_autodiff():
    x = Value(0.4, label="x")
    report = compare(lambda x: apply(BAD_SIN, x), [x], {"x": math.cos})
    assert not report and "check the graph" in report.message


def test_compare_errors():
    inputs = [Value(1.0, label="w")]
    with pytest.raises(ValueError, match="no input labelled 'v'"):
        compare(lambda w: w * w, inputs, {"v": 2.0})
    with pytest.raises(ValueError, match="distinct"):
        compare(lambda a, b: a * b, [Value(1.0, label="w"), Value(2.0, label="w")], {})
    with pytest.raises(TypeError, match="called with the 1 input values"):
        compare(lambda w: w * w, inputs, {"w": lambda a, b: a})
    with pytest.raises(TypeError, match="map input labels"):
        compare(lambda w: w * w, inputs, [2.0])


# ---------------------------------------------------------------- the network layer and the demo

def test_gradcheck_passes_on_an_nn_mlp():
    nn = pytest.importorskip("nn.module")
    model = nn.MLP(3, [4, 2], activation="tanh", output="sigmoid", seed=3)
    x, y = [0.7, 0.6, 0.2], [0.9, 0.6]  # document 000's training example

    def loss(*_):
        return Value.sum([(a - t) ** 2 for a, t in zip(model(x), y)])

    params = list(model.parameters())
    report = gradcheck(loss, params)
    assert report, str(report)
    assert len(report.rows) == 4 * 4 + 5 * 2


def test_the_demo_prints_the_three_way_comparison_and_a_second_derivative(capsys):
    import pathlib
    import runpy

    demo = pathlib.Path(__file__).parents[2] / "demos" / "check_gradients.py"
    runpy.run_path(str(demo), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("all agree") == 2
    assert "-1.11860264255  -1.11860264255" in out  # document 000's dCdb, autodiff and by hand
    assert "autodiff (grad of grad)" in out and "by hand" in out
    assert "gradcheck FAILED" in out and "broken_tanh" in out
