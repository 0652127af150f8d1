"""Backward: iterative topological order, accumulation over reused nodes, determinism,
second-call semantics, zero_grad, a million-node chain, and graphs freed by refcounting."""
from __future__ import annotations

import gc
import importlib.util
import inspect
import math
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import engine
from engine import Value, topological_order

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _count_values() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Value)


# ---------------------------------------------------------------- order

def test_topological_order_parents_first_root_last_each_node_once():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order[-1] is e
    assert len(order) == len(set(order)) == 5
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[parent] < position[node]


def test_topological_order_follows_argument_order():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a + b
    assert [v.label for v in topological_order(c)[:2]] == ["a", "b"]
    assert topological_order(b + a)[:2] == [b, a]


def test_topological_order_of_a_leaf_is_itself():
    a = Value(1.0)
    assert topological_order(a) == [a]


# ---------------------------------------------------------------- accumulation

def test_reused_node_accumulates_the_issue_example():
    """Issue 2: b = a + a; c = b * b. c = 4a^2, so dc/da = 8a and dc/db = 2b."""
    a = Value(3.0, label="a")
    b = a + a
    c = b * b
    c.backward()
    assert (c.data, b.grad, a.grad) == (36.0, 12.0, 24.0)


def test_diamond_sums_both_paths():
    x = Value(0.5, label="x")
    u, v = x.sin(), x.exp()
    y = u * v
    y.backward()
    assert x.grad == pytest.approx(math.cos(0.5) * math.exp(0.5) + math.sin(0.5) * math.exp(0.5), rel=1e-15)


def test_seed_scales_the_gradients():
    x = Value(2.0)
    y = x * x
    y.backward(0.5)
    assert x.grad == 2.0


# ---------------------------------------------------------------- calling backward again

@pytest.mark.filterwarnings("ignore::engine.RepeatedBackwardWarning")  # on purpose
def test_second_backward_accumulates_into_leaves_only():
    """Documented semantics: leaves accumulate across calls, like PyTorch leaves (zero them
    between steps); interior nodes are reset, so they hold the last call's gradient."""
    a = Value(3.0, label="a")
    b = a + a
    c = b * b
    c.backward()
    c.backward()
    assert a.grad == 2 * 24.0
    assert b.grad == 12.0 and c.grad == 1.0


def test_backward_from_two_outputs_adds_their_gradients_in_shared_leaves():
    x = Value(2.0)
    (x * x).backward()
    (x * 3).backward()
    assert x.grad == 4.0 + 3.0


def test_backward_of_a_leaf_adds_the_seed():
    x = Value(2.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_zero_grad_then_backward_reproduces_bit_for_bit():
    a = Value(0.7)
    out = ((a * 1.3).tanh() * a.sigmoid()).exp()
    out.backward()
    first = a.grad
    out.zero_grad()
    assert a.grad == 0.0 and all(n.grad == 0.0 for n in topological_order(out))
    out.backward()
    assert a.grad == first


def test_zero_grad_helper_over_several_roots():
    x, y = Value(1.0), Value(2.0)
    p, q = x * y, y.exp()
    p.backward()
    q.backward()
    engine.zero_grad([p, q])
    assert (x.grad, y.grad, p.grad, q.grad) == (0.0, 0.0, 0.0, 0.0)


# ---------------------------------------------------------------- no recursion anywhere

@pytest.mark.slow
def test_a_million_node_chain_backpropagates():
    """Issue 2: no recursion anywhere, so a chain of 1,000,000 nodes backpropagates (and is
    dropped) without RecursionError; the gradient is the product of the local partials."""
    x = Value(0.5, label="x")
    y, expected = x, 1.0
    for _ in range(1_000_000):
        expected *= math.cos(y.data)
        y = y.sin()
    y.backward()
    assert x.grad == pytest.approx(expected, rel=1e-9)
    assert len(topological_order(y)) == 1_000_001
    del y  # freed through a million-deep chain of references: must not crash


def test_order_backward_and_zero_grad_use_no_python_recursion():
    """With the recursion limit a few frames above the current depth, every graph walk
    still works on a 20,000-deep chain with a wide fan-in."""
    x = Value(1.0)
    y = x
    for i in range(20_000):
        y = y * 0.9999 + x if i % 2 else Value.sum([y, x, 1.0]) * 0.5
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 30)
    try:
        order = topological_order(y)
        y.backward()
        y.zero_grad()
        engine.zero_grad([y])
        y.backward()
        grad = x.grad
        repr(y)
    finally:
        sys.setrecursionlimit(limit)
    assert len(order) > 40_000 and math.isfinite(grad) and grad != 0.0


# ---------------------------------------------------------------- determinism

DETERMINISM_SCRIPT = textwrap.dedent(
    """
    import random
    from engine import Value
    rng = random.Random(7)
    xs = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(30)]
    nodes = list(xs)
    for k in range(400):
        a, b = rng.choice(nodes), rng.choice(nodes)
        op = k % 6
        if op == 0:
            n = a * b
        elif op == 1:
            n = (a + b).tanh()
        elif op == 2:
            n = Value.sum(rng.sample(nodes, 5))
        elif op == 3:
            n = Value.dot(rng.sample(nodes, 3), rng.sample(nodes, 3)).sigmoid()
        elif op == 4:
            n = a.sin() - b * 0.3
        else:
            n = (a - b).cos()
        nodes.append(n)
    out = Value.sum(nodes[-50:])
    out.backward()
    print(" ".join(x.grad.hex() for x in xs))
    """
)


def test_gradients_are_identical_bit_for_bit_across_processes_and_hash_seeds():
    """No iteration over sets or ids: a different PYTHONHASHSEED (and a different process,
    so different object addresses) gives the same gradients, bit for bit."""
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        result = subprocess.run(
            [sys.executable, "-c", DETERMINISM_SCRIPT], env=env, cwd=ROOT,
            capture_output=True, text=True, timeout=120, check=True,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
    grads = outputs.pop().split()
    assert len(grads) == 30 and any(float.fromhex(g) != 0.0 for g in grads)


# ---------------------------------------------------------------- memory: no cycles

def _textbook():
    spec = importlib.util.spec_from_file_location("textbook", ROOT / "benchmarks" / "textbook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(value_type, n: int = 300):
    x = value_type(0.5)
    y = x
    for _ in range(n):
        y = (y * 1.01 + 0.1).relu()
    return x, y


@pytest.fixture
def gc_disabled():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def test_a_dropped_graph_is_freed_at_once_by_reference_counting(gc_disabled):
    """No closures and no parent-to-child links: dropping the output frees every node
    immediately, with the cyclic collector switched off."""
    before = _count_values()
    x, y = _build(Value)
    y.backward()
    assert _count_values() - before > 1000
    refs = sys.getrefcount(x)
    del y
    assert _count_values() - before == 1  # only x is left
    assert sys.getrefcount(x) < refs
    del x
    assert _count_values() == before


def test_a_dropped_graph_leaves_no_cyclic_garbage(gc_disabled):
    """gc.collect() finds nothing to free: the graph had no reference cycles. The same test
    on the textbook closure-per-node engine finds its whole graph (so the test can fail)."""
    x, y = _build(Value)
    y.backward()
    del x, y
    assert gc.collect() == 0
    textbook = _textbook()
    x, y = _build(textbook.Value)
    y.backward()
    del x, y
    assert gc.collect() > 1000
