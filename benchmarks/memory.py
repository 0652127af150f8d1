"""Bytes per graph node, measured with tracemalloc, against the textbook engine.

The workload is one dense relu layer (N_IN inputs, N_OUT neurons) summed into a scalar,
built three ways:
  - textbook:    benchmarks/textbook.py, a closure per node and a set of children;
  - binary ops:  chainrule Values, the weighted sum as w1*x1 + w2*x2 + ... + b;
  - fused dot:   chainrule Values, the weighted sum as one Value.dot node plus b.
The leaves (weights, biases, inputs) exist before measuring; what is counted is what the
forward pass allocates: the new nodes with their parent tuples, floats, constants (and,
for the textbook engine, closures, cells and sets). It also counts the nodes still alive
after the output is dropped with the cyclic garbage collector off: reference counting
frees a chainrule graph at once, while the textbook graph is all reference cycles.

    .venv/bin/python benchmarks/memory.py
"""
from __future__ import annotations

import gc
import importlib.util
import pathlib
import random
import sys
import tracemalloc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from engine import Value, topological_order  # noqa: E402

N_IN, N_OUT = 100, 100


def _textbook():
    path = pathlib.Path(__file__).with_name("textbook.py")
    spec = importlib.util.spec_from_file_location("textbook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leaves(make, rng: random.Random):
    W = [[make(rng.uniform(-1, 1)) for _ in range(N_IN)] for _ in range(N_OUT)]
    b = [make(0.0) for _ in range(N_OUT)]
    x = [make(rng.uniform(-1, 1)) for _ in range(N_IN)]
    return W, b, x


def build_textbook(tb, W, b, x):
    outs = [sum((wi * xi for wi, xi in zip(row, x)), bias).relu() for row, bias in zip(W, b)]
    total = outs[0]
    for o in outs[1:]:
        total = total + o
    return total


def build_binary(W, b, x):
    outs = []
    for row, bias in zip(W, b):
        acc = row[0] * x[0]
        for wi, xi in zip(row[1:], x[1:]):
            acc = acc + wi * xi
        outs.append((acc + bias).relu())
    return Value.sum(outs)


def build_fused(W, b, x):
    return Value.sum((Value.dot(row, x) + bias).relu() for row, bias in zip(W, b))


def _textbook_nodes(root) -> int:
    seen, stack = {root}, [root]
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return len(seen)


def _alive(node_type) -> int:
    return sum(1 for o in gc.get_objects() if type(o) is node_type)


def measure(build, count_nodes, leaves_count: int, node_type) -> dict[str, float]:
    """Bytes the forward pass allocates, per new node, and how many nodes outlive the output."""
    build()  # warm caches (op table, interned constants, code objects)
    gc.collect()
    gc.disable()
    try:
        alive_before = _alive(node_type)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        root = build()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        nodes = count_nodes(root) - leaves_count
        del root
        kept = _alive(node_type) - alive_before
    finally:
        gc.enable()
        gc.collect()
    return {"nodes": nodes, "bytes": after - before, "per_node": (after - before) / nodes, "kept": kept}


def main() -> None:
    tb = _textbook()
    leaves = N_OUT * N_IN + N_OUT + N_IN
    rows = []
    W, b, x = _leaves(tb.Value, random.Random(0))
    rows.append(("textbook (closures)", measure(lambda: build_textbook(tb, W, b, x), _textbook_nodes, leaves, tb.Value)))
    W, b, x = _leaves(Value, random.Random(0))
    count = lambda root: len(topological_order(root))  # noqa: E731
    rows.append(("chainrule binary ops", measure(lambda: build_binary(W, b, x), count, leaves, Value)))
    rows.append(("chainrule fused dot", measure(lambda: build_fused(W, b, x), count, leaves, Value)))

    base = rows[0][1]
    weights = N_IN * N_OUT
    print(f"one dense relu layer, {N_IN} inputs x {N_OUT} neurons, summed ({weights} weights)")
    print(f"{'graph':<22}{'nodes':>8}{'bytes/node':>12}{'vs textbook':>13}{'bytes/weight':>14}"
          f"{'vs textbook':>13}{'nodes alive after drop':>24}")
    for name, r in rows:
        print(
            f"{name:<22}{r['nodes']:>8}{r['per_node']:>12.1f}{base['per_node'] / r['per_node']:>12.2f}x"
            f"{r['bytes'] / weights:>14.1f}{base['bytes'] / r['bytes']:>12.2f}x{r['kept']:>24}"
        )
    print("(ratios: how many times less memory than the textbook engine; 'nodes alive after")
    print(" drop' counts the nodes still in memory after `del root` with the cyclic garbage")
    print(" collector off: reference cycles keep the textbook graph until a collection runs)")


if __name__ == "__main__":
    main()
