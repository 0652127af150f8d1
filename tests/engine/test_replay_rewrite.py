"""The replay's rewrite pass and scheduler: however a formula is written, replay == eager.

Random formulas are written the way people write them (Python `sum`, binary ops, `w * x`
in loops); the rewrite folds their chains into sums and dots, and the replayed value and
every leaf's gradient must equal eager evaluation to 1e-12 of the terms' magnitude.
"""
from __future__ import annotations

import math
import tracemalloc

import pytest
from hypothesis import given, settings, strategies as st

from engine import Value, compile, topological_order
from engine.kernels import DotMatmul, ScalarRun

TOL = 1e-12


def close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b), scale)


def eager(root: Value, leaves: list[Value]) -> tuple[float, list[float]]:
    for v in leaves:
        v.grad = 0.0
    root.backward()
    return root.data, [v.grad for v in leaves]


def replayed(root: Value, leaves: list[Value], **kwargs) -> tuple[float, list[float]]:
    compiled = compile(root, **kwargs)
    for v in leaves:
        v.grad = 0.0
    value = compiled.forward()
    compiled.backward()
    return value, [v.grad for v in leaves]


# A formula: leaves, then terms built from them, combined by Python sum, + - * and neg.
TERM = st.tuples(st.sampled_from(["leaf", "mul", "neg", "tanh", "sub", "dot"]),
                 st.integers(0, 5), st.integers(0, 5))


def build(numbers: list[float], recipe: list[list[tuple]], glue: list[str]) -> tuple[Value, list[Value]]:
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(numbers)]
    pick = lambda k: leaves[k % len(leaves)]
    partials = []
    for terms in recipe:
        made = []
        for kind, a, b in terms:
            if kind == "leaf":
                made.append(pick(a))
            elif kind == "mul":
                made.append(pick(a) * pick(b))
            elif kind == "neg":
                made.append(-(pick(a) * 0.5))
            elif kind == "tanh":
                made.append((pick(a) - pick(b)).tanh())
            elif kind == "sub":
                made.append(pick(a) - pick(b) * pick(a))
            else:
                made.append(Value.dot([pick(a), pick(b)], [pick(b), 2.0]))
        partials.append(sum(made))  # Python's sum: a chain of adds from the int 0
    total = partials[0]
    for how, p in zip(glue, partials[1:]):
        total = total + p if how == "+" else total - p if how == "-" else total * p.tanh()
    return total, leaves


@settings(max_examples=150, deadline=None)
@given(numbers=st.lists(st.floats(-2, 2), min_size=1, max_size=6),
       recipe=st.lists(st.lists(TERM, min_size=1, max_size=8), min_size=1, max_size=4),
       glue=st.lists(st.sampled_from(["+", "-", "*"]), min_size=3, max_size=3))
def test_formulas_written_with_python_sum_and_binary_ops_replay_as_eager(numbers, recipe, glue):
    root, leaves = build(numbers, recipe, glue)
    order = topological_order(root)
    leaves = [v for v in leaves if v in set(order)]
    scale = sum(abs(v.data) for v in order)  # what cancelling terms can lose
    value, grads = eager(root, leaves)
    for kwargs in ({}, {"wrt": leaves[::-1]}):
        c_value, c_grads = replayed(root, leaves, **kwargs)
        assert close(c_value, value, scale)
        assert all(close(c, e, scale) for c, e in zip(c_grads, grads)), (c_grads, grads)


def test_a_python_sum_chain_is_one_level():
    xs = [Value(0.01 * i) for i in range(300)]
    root = sum(x * x for x in xs) - sum(xs)
    compiled = compile(root)
    assert compiled.n_levels == 1  # 600 adds, 300 products and a sub: one dot
    value, grads = eager(root, xs)
    c_value, c_grads = replayed(root, xs)
    assert close(c_value, value) and all(close(c, e) for c, e in zip(c_grads, grads))


def test_a_neuron_written_as_micrograd_writes_it_becomes_one_matrix_product_per_layer():
    ws = [[Value(0.1 * (i - j)) for j in range(3)] for i in range(4)]
    bs = [Value(0.05 * i) for i in range(4)]
    X = [[Value(0.2 * k + 0.1 * j) for j in range(3)] for k in range(6)]
    outs = [sum((wi * xi for wi, xi in zip(w, x)), b).relu() for x in X for w, b in zip(ws, bs)]
    root = sum(outs)
    compiled = compile(root)
    assert any(isinstance(g, DotMatmul) for g in compiled.groups)
    params = [p for w in ws for p in w] + bs
    value, grads = eager(root, params)
    c_value, c_grads = replayed(root, params, wrt=params)
    assert close(c_value, value) and all(close(c, e) for c, e in zip(c_grads, grads))


def test_values_of_a_node_the_rewrite_folded_away_is_still_exact():
    x, y = Value(1.5, label="x"), Value(-0.5, label="y")
    inner = x * y + x  # folded into the outer sum below
    root = inner + y.tanh()
    compiled = compile(root)
    x.data = 2.0
    compiled.forward()
    assert compiled.values_of([inner, root]) == pytest.approx([2.0 * -0.5 + 2.0, 1.0 + math.tanh(-0.5)], rel=TOL)


def test_the_order_of_wrt_does_not_change_the_compiled_layout():
    params = [Value(0.1 * i) for i in range(12)]
    xs = [Value(0.3 * k) for k in range(5)]
    root = sum((sum(p * x for p in params[:6]) + params[6]).tanh() for x in xs) + sum(p * p for p in params)
    layouts = []
    for wrt in (params, params[::-1], params[3:] + params[:3]):
        compiled = compile(root, wrt=wrt)
        layouts.append([(type(g).__name__, len(g)) for g in compiled.groups])
        value, grads = eager(root, params)
        c_value, c_grads = replayed(root, params, wrt=wrt)
        assert close(c_value, value) and all(close(c, e) for c, e in zip(c_grads, grads))
    assert layouts[0] == layouts[1] == layouts[2]


# ---------------------------------------------------------------- deep graphs

def chain(depth: int) -> tuple[Value, Value]:
    x = Value(0.3, label="x")
    v = x
    for _ in range(depth):
        v = (v * 0.9).tanh()
    return v, x


def test_a_long_chain_of_tiny_groups_runs_as_one_float_run_and_matches_eager():
    root, x = chain(3000)
    compiled = compile(root, wrt=[x])
    assert [type(g) for g in compiled.groups] == [ScalarRun]  # no numpy call per level
    value, grads = eager(root, [x])
    c_value, c_grads = replayed(root, [x], wrt=[x])
    assert c_value == value and c_grads == grads  # floats through the same table: bit for bit


def _compile_peak(depth: int) -> tuple[int, int]:
    root, _ = chain(depth)
    nodes = len(topological_order(root))
    tracemalloc.start()
    compile(root)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, nodes


def test_compiling_a_chain_takes_memory_linear_in_its_depth():
    small, n_small = _compile_peak(2000)
    large, n_large = _compile_peak(8000)
    assert large / small < 1.3 * n_large / n_small  # linear, not worse
    assert large / n_large < 1500  # bytes per node: no per-level kernel objects


@settings(max_examples=100, deadline=None)
@given(numbers=st.lists(st.floats(-2, 2), min_size=2, max_size=6),
       recipe=st.lists(st.lists(TERM, min_size=1, max_size=8), min_size=1, max_size=4),
       glue=st.lists(st.sampled_from(["+", "-", "*"]), min_size=3, max_size=3), fed=st.integers(1, 5))
def test_the_same_formulas_with_some_leaves_fed_as_a_batch_replay_as_eager(numbers, recipe, glue, fed):
    """Half the graph batched, half not, with the reuse people write: three equal rows
    give eager's value three times and three times eager's gradient, after a pass over
    other numbers (each pass starts clean)."""
    import numpy as np

    root, leaves = build(numbers, recipe, glue)
    order = set(topological_order(root))
    leaves = [v for v in leaves if v in order]
    data, wrt = leaves[: min(fed, len(leaves) - 1)], leaves[min(fed, len(leaves) - 1):]
    if not data or not wrt:
        return
    scale = sum(abs(v.data) for v in topological_order(root))
    value, grads = eager(root, wrt)
    compiled = compile(root, wrt=wrt, data=data)
    row = [v.data for v in data]
    compiled.forward(np.array([row] * 3) * 0.5 - 0.3)  # the same batch size: the same arrays
    compiled.gradient(2.0)
    values = compiled.forward(np.array([row] * 3))
    got = compiled.gradient(1.0)
    assert all(close(v, value, scale) for v in values.tolist())
    assert all(close(g, 3 * e, 3 * scale) for g, e in zip(got.tolist(), grads)), (got, grads)
