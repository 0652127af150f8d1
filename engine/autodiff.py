"""Reverse-mode autodiff: order the graph, then apply the chain rule one edge at a time.

Everything here is iterative (no recursion, so a chain of a million nodes is fine) and
deterministic: the order depends only on the graph's structure and each node's parent
order, never on set iteration or object ids, so gradients are the same bit for bit in
every process.
"""
from __future__ import annotations

import math
from typing import Iterable

from .context import state
from .ops import FloatMath
from .value import ARITHMETIC_ERRORS, Value, as_float, describe

__all__ = ["topological_order", "backward", "start_backward", "check_grads_finite", "zero_grad"]


def topological_order(root: Value) -> list[Value]:
    """Every Value `root` depends on, parents before children, `root` last.

    A depth-first post-order over `_parents` in argument order. A node is placed as soon
    as all its parents are placed (leaves at once; interior nodes whose parents were all
    reached before, which `seen.issuperset` tells in one C call), which gives the same
    order as the plain walk and saves a stack frame for most nodes.
    """
    if not root._parents:
        return [root]
    order: list[Value] = []
    seen = {root}
    nodes, pending = [root], [iter(root._parents)]  # a node on the path, its unvisited parents
    emit, mark, all_seen = order.append, seen.add, seen.issuperset
    while pending:
        for parent in pending[-1]:
            if parent in seen:
                continue
            mark(parent)
            grandparents = parent._parents
            # In a DAG a reached node is never on the path, so "seen" parents are placed.
            if grandparents and not all_seen(grandparents):
                nodes.append(parent)
                pending.append(iter(grandparents))
                break
            emit(parent)
        else:
            pending.pop()
            emit(nodes.pop())
    return order


def backward(root: Value, grad: float = 1.0, *, create_graph: bool = False) -> None:
    """Set `.grad` of everything `root` depends on to d(root)/d(it), scaled by `grad`.

    Leaves accumulate into their existing `.grad` (zero them between steps, as in
    PyTorch); interior nodes are reset first, so they hold this call's gradient only and
    a second call never double-counts through them. With `create_graph=True` each grad
    is itself a Value built from the op table's partials, so it can be differentiated
    again (see `engine.higher`).
    """
    seed = as_float(grad, "backward seed")
    order = topological_order(root)
    if create_graph:
        from .higher import backward_graph

        backward_graph(order, seed)
        return
    start_backward(order, seed)
    try:
        _propagate(order)
    except ARITHMETIC_ERRORS as error:
        raise type(error)(f"in backward: {error}") from None


def start_backward(order: list[Value], seed: float) -> None:
    """Reset the interior grads (leaves keep theirs: they accumulate) and seed the root."""
    for node in order:
        if node._op is not None:
            node.grad = 0.0
    order[-1].grad += seed


def _propagate(order: list[Value]) -> None:
    """The chain rule, node by node from the output: parent.grad += grad * local partial."""
    m = FloatMath
    check = state().anomaly
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        g = node.grad
        parents = node._parents
        try:
            if len(parents) == 2:  # the common case, unrolled
                a, b = parents
                da, db = op.partials(m, node.data, a.data, b.data)
                a.grad += g * da
                b.grad += g * db
            elif len(parents) == 1:
                a = parents[0]
                a.grad += g * op.partials(m, node.data, a.data)[0]
            else:
                local = op.partials(m, node.data, *[p.data for p in parents])
                for parent, d in zip(parents, local):
                    parent.grad += g * d
        except ARITHMETIC_ERRORS as error:
            raise type(error)(
                f"the local derivative of {op.name}({', '.join(map(describe, parents))}): {error}"
            ) from None
        if check:
            check_grads_finite(node, parents)


def check_grads_finite(node: Value, parents: tuple[Value, ...]) -> None:
    """Under detect_anomaly: raise if what `node` just sent made a parent's grad NaN or inf."""
    for parent in parents:
        if not math.isfinite(parent.grad):
            raise FloatingPointError(
                f"anomaly in backward: the gradient flowing from {node._op.name}"
                f"({', '.join(map(describe, parents))}) into {describe(parent)} is {parent.grad!r}"
            )


def zero_grad(roots: Iterable[Value]) -> None:
    """Set `.grad` to 0 on every Value that any of `roots` depends on."""
    for root in roots:
        for node in topological_order(root):
            node.grad = 0.0
