"""The speed paths keep behaviour exact: gc_paused, the topological order's shortcut, apply's.

No timings here (benchmarks/ measures); only that the fast paths give what the plain
ones give.
"""
from __future__ import annotations

import gc
import random

import pytest

from engine import Value, topological_order
from engine.context import gc_paused
from engine.value import apply
from engine import ops


# ---------------------------------------------------------------- gc_paused

def test_gc_paused_pauses_the_collector_and_restores_it():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nests
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_gc_paused_restores_the_collector_after_an_error():
    with pytest.raises(ZeroDivisionError):
        with gc_paused():
            Value(1.0) / 0.0
    assert gc.isenabled()


def test_gc_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def _live_values() -> int:
    return sum(type(o) is Value for o in gc.get_objects())


def test_a_dropped_graph_is_freed_without_the_cyclic_collector():
    """Why pausing is safe: graphs hold no cycles, so reference counting frees them."""
    with gc_paused():
        x = Value(0.5)
        before = _live_values()
        root = Value.dot([x, x.tanh()], [x * 2.0, x.exp()]) + Value.sum([x, x.relu()])
        root.backward()
        assert _live_values() > before
        del root
        assert _live_values() == before


# ---------------------------------------------------------------- topological order

def plain_post_order(root: Value) -> list[Value]:
    """The definition: depth-first post-order over parents in argument order."""
    order, seen = [], set()

    def visit(v: Value) -> None:
        if v in seen:
            return
        seen.add(v)
        for p in v.parents:
            visit(p)
        order.append(v)

    visit(root)
    return order


@pytest.mark.parametrize("seed", range(30))
def test_topological_order_is_the_plain_post_order(seed):
    rng = random.Random(seed)
    nodes = [Value(rng.random()) for _ in range(rng.randint(1, 4))]
    for _ in range(rng.randint(0, 60)):
        k = rng.choice([1, 2, 2, 3, 5])
        ps = [rng.choice(nodes) for _ in range(k)]
        if k == 1:
            nodes.append(ps[0].tanh())
        elif k == 2:
            nodes.append(ps[0] * ps[1])
        else:
            nodes.append(Value.sum(ps))
    root = nodes[-1]
    assert topological_order(root) == plain_post_order(root)


# ---------------------------------------------------------------- apply's shortcut

def test_apply_lifts_numbers_mixed_with_values():
    x = Value(2.0)
    node = apply(ops.SUM, x, 3, 0.5)
    assert node.data == 5.5
    assert node.parents[0] is x and all(type(p) is Value for p in node.parents)
    assert [p.data for p in node.parents[1:]] == [3.0, 0.5]


def test_apply_keeps_value_inputs_as_they_are():
    xs = [Value(float(i)) for i in range(4)]
    node = apply(ops.SUM, *xs)
    assert node.parents == tuple(xs)


def test_apply_with_a_bad_input_names_the_op():
    with pytest.raises(TypeError, match="sum"):
        apply(ops.SUM, Value(1.0), "two")
