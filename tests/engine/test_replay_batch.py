"""Data as arrays: one example's graph, replayed over a batch as an array axis.

`compile(root, wrt=params, data=leaves)` then `forward(rows)` must give, for every
example, what eager gives when the data leaves hold that row; `backward()` must add the
gradients summed over the batch (each example's seed, times eager's gradient).
"""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine import Value, compile
from engine.kernels import BatchDot

TOL = 1e-12


def close(a, b, scale: float = 1.0) -> bool:
    return bool(np.all(np.abs(np.asarray(a) - np.asarray(b)) <= TOL * np.maximum(scale, np.maximum(np.abs(a), np.abs(b)))))


def network(rng: random.Random, sizes: list[int], activation: str):
    """One example's loss over an MLP written as people write it, inputs and a target as leaves."""
    params, layers = [], []
    for nin, nout in zip(sizes[:-1], sizes[1:]):
        W = [[Value(rng.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)]
        b = [Value(rng.uniform(-0.2, 0.2)) for _ in range(nout)]
        layers.append((W, b))
        params += [p for row, bi in zip(W, b) for p in (*row, bi)]
    xs = [Value(0.0, label=f"x{j}") for j in range(sizes[0])]
    t = Value(0.0, label="t")
    a = xs
    for k, (W, b) in enumerate(layers):
        a = [sum((w * x for w, x in zip(row, a)), bi) if k % 2 else Value.dot(row, a) + bi for row, bi in zip(W, b)]
        a = [getattr(z, activation)() for z in a] if k < len(layers) - 1 else a
    loss = (a[0] - t) ** 2 + 0.01 * sum(p * p for p in params)
    return loss, params, xs + [t], a


def eager_per_example(loss, params, leaves, rows, seeds):
    values, grads = [], np.zeros(len(params))
    for row, seed in zip(rows, seeds):
        for leaf, v in zip(leaves, row):
            leaf.data = float(v)
        rebuilt = _rebuild(loss)
        for p in params:
            p.grad = 0.0
        rebuilt.backward(seed)
        values.append(rebuilt.data)
        grads += [p.grad for p in params]
    return np.array(values), grads


def _rebuild(root: Value) -> Value:
    from engine import topological_order
    from engine.value import apply

    made = {}
    for v in topological_order(root):
        made[v] = v if v.is_leaf else apply(v.op, *[made[p] for p in v.parents])
    return made[root]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 9),
       activation=st.sampled_from(["tanh", "relu", "sigmoid"]), depth=st.integers(2, 4))
def test_a_batch_replays_like_eager_example_by_example(seed, batch, activation, depth):
    rng = random.Random(seed)
    sizes = [rng.randint(1, 4) for _ in range(depth)] + [1]
    loss, params, leaves, _ = network(rng, sizes, activation)
    rows = np.array([[rng.uniform(-2, 2) for _ in leaves] for _ in range(batch)])
    seeds = [rng.uniform(0.1, 1.0) for _ in range(batch)]
    compiled = compile(loss, wrt=params, data=leaves)
    compiled.forward(rows[::-1] * 1.7)  # a pass before, same size (same arrays): the checked one must not see it
    compiled.gradient(2.0)
    for p in params:
        p.grad = 0.0
    values = compiled.forward(rows)
    compiled.backward(np.array(seeds))
    got = np.array([p.grad for p in params])
    expected_values, expected_grads = eager_per_example(loss, params, leaves, rows, seeds)
    assert close(values, expected_values)
    assert close(got, expected_grads, scale=float(np.max(np.abs(expected_grads), initial=1.0)))


def test_any_batch_size_reuses_one_compiled_graph_and_layers_are_one_matrix_product():
    loss, params, leaves, outputs = network(random.Random(3), [3, 5, 4, 1], "relu")
    compiled = compile(loss, wrt=params, data=leaves, keep=outputs)
    assert sum(isinstance(g, BatchDot) and g.shared for g in compiled.groups) >= 3  # W @ X for each layer
    rng = np.random.default_rng(0)
    for size in (1, 7, 64):
        rows = rng.uniform(-1, 1, size=(size, len(leaves)))
        for p in params:
            p.grad = 0.0
        values = compiled.forward(rows)
        compiled.backward(1.0 / size)
        got = [p.grad for p in params]
        assert compiled.values_of(outputs).shape == (1, size)
        expected_values, expected_grads = eager_per_example(loss, params, leaves, rows, [1.0 / size] * size)
        assert values.shape == (size,) and close(values, expected_values)
        assert close(got, expected_grads)


def test_data_leaves_must_be_leaves_and_not_also_in_wrt():
    x, w = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match="data must list leaves"):
        compile(w * x, data=[w * x])
    with pytest.raises(ValueError, match="both data and in wrt"):
        compile(w * x, wrt=[w, x], data=[x])
    compiled = compile(w * x, data=[x])
    with pytest.raises(TypeError, match="needs the batch"):
        compiled.forward()
    with pytest.raises(RuntimeError, match="forward pass first"):
        compiled.backward()


def test_leaves_given_as_an_array_and_the_gradient_as_an_array():
    """forward(rows, leaves=...) reads the wrt leaves from the array, not their Values;
    gradient() returns what backward() would add, touching no Value."""
    loss, params, leaves, _ = network(random.Random(3), [3, 4, 1], "tanh")
    rows = np.random.default_rng(3).normal(size=(9, len(leaves)))
    c = compile(loss, wrt=params, data=leaves)
    numbers = np.array([p.data for p in params]) * 1.5
    given = c.forward(rows, leaves=numbers)
    from_array = c.gradient(0.5)
    assert all(p.grad == 0.0 for p in params)
    for p, x in zip(params, numbers.tolist()):
        p.data = x
    assert np.array_equal(c.forward(rows), given)
    c.backward(0.5)
    assert np.array_equal(np.array([p.grad for p in params]), from_array)
    with pytest.raises(ValueError, match="one number per leaf of wrt"):
        c.forward(rows, leaves=numbers[:-1])
    with pytest.raises(TypeError, match="real numbers"):
        c.forward(rows, leaves=np.array(["a"] * len(params)))


def test_the_batch_as_columns_is_the_batch_as_rows():
    loss, params, leaves, _ = network(random.Random(5), [3, 2, 1], "sigmoid")
    rows = np.random.default_rng(5).normal(size=(6, len(leaves)))
    c = compile(loss, wrt=params, data=leaves)
    by_rows = c.forward(rows)
    c.backward()
    grads = [p.grad for p in params]
    assert np.array_equal(c.forward(columns=np.ascontiguousarray(rows.T)), by_rows)
    c.backward()
    assert [p.grad for p in params] == [2 * g for g in grads]
    assert not c._last[0].gb[: len(leaves)].any()  # the data's rows never hold a gradient
    with pytest.raises(ValueError, match=r"as columns must have shape \(4, examples\)"):
        c.forward(columns=rows)
    with pytest.raises(TypeError, match="not both"):
        c.forward(rows, columns=rows.T)


def test_each_pass_starts_from_clean_gradients_though_it_zeroes_almost_nothing():
    """Gradient rows are written by their first user in backward, not zeroed then added
    to: a pass must not see the last one's numbers, whatever the reuse in the graph."""
    x, y, w = Value(0.0, label="x"), Value(0.0, label="y"), Value(0.7, label="w")
    h = (w * x).tanh()
    root = Value.sum([h * h, h * y, (h + x).relu(), Value.sum([h, h, x * y])])  # reuse, twice in one sum
    c = compile(root, wrt=[w], data=[x, y])
    rng = np.random.default_rng(1)
    first, second = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    c.forward(first)
    g1 = c.gradient(1.0)
    c.forward(second)
    g2 = c.gradient(3.0)
    c.forward(second)
    assert np.allclose(c.gradient(1.0) * 3.0, g2, rtol=1e-13, atol=0)
    expected = sum(_eager_grad(root, [x, y], w, row) for row in second)
    assert np.allclose(g2, 3.0 * expected, rtol=1e-12) and not np.allclose(g1 * 3.0, g2)
    assert len(c._unwritten) < c.sizes[1] - 2 - 2  # rows written first need no zeros (2 data rows, 2 more zeroed here)


def _eager_grad(root: Value, leaves: list[Value], w: Value, row) -> float:
    for leaf, v in zip(leaves, row):
        leaf.data = float(v)
    rebuilt = _rebuild(root)
    w.grad = 0.0
    rebuilt.backward()
    return w.grad


@pytest.mark.parametrize("hide", ["relu", "sigmoid", "tanh"])
def test_an_overflow_a_later_op_hides_still_raises_as_eager(hide):
    """-inf through relu is 0, through sigmoid 0, through tanh -1: the root is finite, but
    eager raised where the number overflowed, and so must the replay."""
    x, w = Value(1.0, label="x"), Value(2.0, label="w")
    root = getattr(-(w * x * 1e300), hide)() + w
    c = compile(root, wrt=[w], data=[x])
    assert np.all(np.isfinite(c.forward(np.array([[1.0], [2.0]]))))
    x.data = 1e10
    with pytest.raises(OverflowError) as eager:
        getattr(-(w * x * 1e300), hide)()
    with pytest.raises(OverflowError) as replayed:
        c.forward(np.array([[1.0], [1e10], [2.0]]))
    assert str(replayed.value) == str(eager.value)


def test_a_writable_batch_is_read_at_every_pass_a_read_only_one_once():
    x, w = Value(0.0, label="x"), Value(1.5, label="w")
    c = compile((w * x).tanh(), wrt=[w], data=[x])
    columns = np.array([[0.1, 0.2, 0.3]])
    first = c.forward(columns=columns)
    columns *= 2.0  # changed in place: the next pass must see it
    assert np.allclose(c.forward(columns=columns), np.tanh(1.5 * columns[0]))
    frozen = np.array([[0.5, -0.5, 1.0]])
    frozen.flags.writeable = False
    assert np.allclose(c.forward(columns=frozen), np.tanh(1.5 * frozen[0]))
    assert c._last[0].fed is frozen  # kept: its numbers cannot change
    assert np.allclose(c.forward(columns=frozen), np.tanh(1.5 * frozen[0]))
    assert np.allclose(c.forward(columns=np.array([[0.1, 0.2, 0.3]])), first)
    assert c._last[0].fed is None
