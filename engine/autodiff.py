"""Reverse-mode autodiff: order the graph, then apply the chain rule one edge at a time.

`reverse_walk` is the chain rule, written once. From the output back to the inputs, it
takes each interior node's gradient, asks the op table for the node's local partials
(through a math backend: floats, or Values so that gradients can be differentiated
again), and sends upstream * partial to each parent, adding it into the parent's entry
of a dict. Everything that needs a backward pass consumes it: `backward`, `gradients`
(and through it grad, jacobian and hessian), the stepper (`engine.steps`) and
gradcheck's search for a wrong partial. The one exception is speed, kept in one marked
place: `_backward_floats`, the same walk unrolled for plain floats (tested equal to it).

Everything is iterative (no recursion, so a chain of a million nodes is fine) and
deterministic: the order depends only on the graph's structure and each node's parent
order, never on set iteration or object ids, so gradients are the same bit for bit in
every process.
"""
from __future__ import annotations

import math
import os
import sys
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

from .context import derivative_graph, state
from .ops import FloatMath
from . import ops
from .value import ARITHMETIC_ERRORS, Number, Value, apply, as_float, describe, lift

__all__ = [
    "topological_order", "reverse_walk", "Visit", "local_partials", "backward", "gradients",
    "zero_grad", "fresh_grads", "distances", "ValueMath", "Tamper", "TAMPER",
    "RepeatedBackwardWarning",
]


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


# ---------------------------------------------------------------- the Value backend

class ValueMath:
    """The op table's backend over Values: every primitive builds graph nodes.

    With it, a node's local partials are Values whose own graph can be differentiated:
    that is all higher-order derivatives need. Each primitive is the op of the same name
    (generated below from the table); no derivative is restated here.
    """

    zero = None  # nothing has reached a node yet: no node is built for it

    @staticmethod
    def of(node: Value) -> Value:
        return node

    @staticmethod
    def chain(upstream: Value, partial) -> Value | None:
        """upstream * partial, building no node where the partial is the constant 0, 1 or -1."""
        if type(partial) is float or type(partial) is int:
            if partial == 1.0:
                return upstream
            if partial == 0.0:
                return None
            if partial == -1.0:
                return -upstream
        return upstream * partial

    @staticmethod
    def div(a, b) -> Value:
        return a / b

    @staticmethod
    def pow(a: Value, p: float) -> Value:
        return apply(ops.power(p), a)

    @staticmethod
    def step(a: Value) -> float:
        """A constant 0 or 1: the step is flat wherever it has a derivative."""
        return FloatMath.step(a.data)

    @staticmethod
    def sign(a: Value) -> float:
        """A constant -1, 0 or 1, flat wherever it has a derivative (as step)."""
        return FloatMath.sign(a.data)

    @staticmethod
    def dot(ws, xs) -> Value:
        return apply(ops.DOT, *ws, *xs)

    @staticmethod
    def sum(xs) -> Value:
        return apply(ops.SUM, *xs)


for _op in ops.TABLE.values():  # exp, log, tanh, sech2, sigmoid, relu, sin, cos
    if _op.arity == 1 and hasattr(FloatMath, _op.name) and not hasattr(ValueMath, _op.name):
        setattr(ValueMath, _op.name, staticmethod(lambda a, _op=_op: apply(_op, a)))
del _op


# ---------------------------------------------------------------- a deliberate mistake

@dataclass(frozen=True)
class Tamper:
    """One classic mistake in one op's backward, for `engine.lab.tamper` (which sets it).

    `partials(m, honest, out, *inputs)`, if given, replaces the op's local partials (it
    receives the honest ones); `chain=False` sends the partial without the upstream
    factor; `accumulate=False` assigns a parent's gradient instead of adding to it.
    """

    op: str  # the op's name in the table ("pow" for every exponent)
    mistake: str
    partials: Callable[..., tuple] | None = None
    chain: bool = True
    accumulate: bool = True

    def applies_to(self, node: Value) -> bool:
        return self.op == node._op.name


_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

TAMPER: ContextVar[Tamper | None] = ContextVar("chainrule_tamper", default=None)
"""The mistake in force in this thread or task, if any: `backward` reads it once per
call and, when set, runs the plain walk, where `_tampered` applies it."""


def _tampered(tamper: Tamper, node: Value, m, honest: tuple) -> tuple:
    """The partials the walk uses at a tampered node: the mistake's, or the honest ones."""
    if tamper.partials is None:
        return honest
    return tuple(tamper.partials(m, honest, m.of(node), *[m.of(p) for p in node._parents]))


# ---------------------------------------------------------------- THE reverse walk

class Visit(NamedTuple):
    """One interior node's turn in the walk: what arrived, and what it sent on.

    `products[i]` went to `node.parents[i]` (None: nothing, a constant-zero partial with
    Values); `totals[i]` is that parent's gradient right after it arrived, the running
    sum over the paths walked so far.
    """

    node: Value
    upstream: object
    partials: tuple
    products: list
    totals: list


def local_partials(node: Value, m=FloatMath) -> tuple:
    """d(node)/d(parent) for each parent, from the op table, in backend `m`."""
    op = node._op
    parents = node._parents
    inputs = [m.of(p) for p in parents]
    try:
        return op.partials(m, m.of(node), *inputs)
    except ARITHMETIC_ERRORS as error:  # the backend's numbers (a replay's, say), not .data
        raise partial_error(op, [p.label for p in parents], [float(x) for x in inputs], error) from None


def partial_error(op, labels: Sequence[str | None], numbers: Sequence[float], error: Exception) -> Exception:
    """The error backward raises when `op`'s local derivative fails at `numbers`, in the
    user's terms (the replay raises the same)."""
    shown = ", ".join(f"{label}={x!r}" if label else repr(x) for label, x in zip(labels, numbers))
    if isinstance(error, ZeroDivisionError):  # e.g. x**0.5 at x = 0: defined, but not its slope
        written = op.write([label or repr(x) for label, x in zip(labels, numbers)])
        return ZeroDivisionError(f"in backward: the derivative of {written} is infinite at {shown} ({error})")
    return type(error)(f"in backward: the local derivative of {op.name}({shown}): {error}")


def reverse_walk(order: Sequence[Value], grads: dict, m=FloatMath) -> Iterator[Visit]:
    """The chain rule, from the output back: for each interior node of `order` (parents
    before children, as `topological_order` gives), send upstream * local partial to
    every parent, adding it into `grads[parent]`; yield a `Visit` per node.

    `grads` starts with the seed (`{root: 1.0}`) and ends holding d(root)/d(node) for
    every node anything flowed into. Under `detect_anomaly`, the first NaN or infinite
    gradient raises, naming the op that sent it. Inside `engine.lab.tamper`, the
    tampered op's nodes make its mistake (see `Tamper`).
    """
    anomaly = state().anomaly
    tamper = TAMPER.get()
    zero = m.zero
    for node in reversed(order):
        if node._op is None:
            continue
        upstream = grads.get(node, zero)
        if upstream is None:  # nothing flows through this node
            continue
        parents = node._parents
        partials = local_partials(node, m)
        mistake = tamper if tamper is not None and tamper.applies_to(node) else None
        if mistake is not None:
            partials = _tampered(mistake, node, m, partials)
        products, totals = [], []
        for parent, partial in zip(parents, partials):
            product = m.chain(upstream, partial) if mistake is None or mistake.chain else partial
            if product is not None:
                before = grads.get(parent, zero)
                if before is None or (mistake is not None and not mistake.accumulate):
                    grads[parent] = product
                else:
                    grads[parent] = before + product
            products.append(product)
            totals.append(grads.get(parent))
        if anomaly:
            _check_finite(node, totals)
        yield Visit(node, upstream, partials, products, totals)


def _check_finite(node: Value, totals: list) -> None:
    for parent, total in zip(node._parents, totals):
        if total is not None and not math.isfinite(total):
            raise FloatingPointError(
                f"anomaly in backward: the gradient flowing from {node._op.name}"
                f"({', '.join(map(describe, node._parents))}) into {describe(parent)} is {float(total)!r}"
            )


# ---------------------------------------------------------------- its consumers

class RepeatedBackwardWarning(UserWarning):
    """`backward()` ran again through a root whose leaves already hold a gradient, so
    they now hold the sum of both passes. Silence it with
    `warnings.simplefilter("ignore", engine.RepeatedBackwardWarning)`."""


class _Warned(float):
    """A root's `.grad` once its repeated backward was warned about: the same float,
    marked so that the warning comes once per root (Value has no room for a flag)."""

    __slots__ = ()


def backward(root: Value, grad: Number = 1.0, *, create_graph: bool = False) -> None:
    """Set `.grad` of everything `root` depends on to d(root)/d(it), scaled by `grad`.

    Leaves accumulate: this call's gradient is added to their `.grad` (zero them between
    steps, as in PyTorch). Interior nodes hold this call's gradient only, so a second
    call never double-counts through them. With `create_graph=True` each gradient is a
    Value built from the op table's partials, so it can be differentiated again.
    Running it again through the same root while its leaves hold a gradient warns once
    per root (`RepeatedBackwardWarning`): that sum is rarely what was meant.
    """
    seed = as_float(grad, "backward seed")
    order = topological_order(root)
    warned = type(root.grad) is _Warned
    if not warned and root._op is not None and root.grad != 0.0:  # a backward passed here
        warned = _warn_if_accumulating(root, order)
    if not create_graph and TAMPER.get() is None:
        _backward_floats(order, seed)
    elif not create_graph:  # engine.lab.tamper: the plain walk, which applies the mistake
        grads = {root: seed}
        for _ in reverse_walk(order, grads):
            pass
        for node in order:
            new = grads.get(node, 0.0)
            node.grad = new if node._op is not None else node.grad + new
    else:
        _backward_values(order, lift(seed))
    if warned and type(root.grad) is float:
        root.grad = _Warned(root.grad)


def _backward_values(order: list[Value], seed: Value) -> None:
    """backward(create_graph=True): every gradient a Value (leaves add theirs to it)."""
    grads = {order[-1]: seed}
    with derivative_graph():
        for _ in reverse_walk(order, grads, ValueMath):
            pass
    for node in order:  # interior nodes: this call's gradient; leaves: add it to theirs
        new, old = grads.get(node), node.grad
        if node._op is not None:
            node.grad = lift(0.0) if new is None else new
        elif new is None:
            node.grad = old if isinstance(old, Value) else lift(old)
        elif isinstance(old, Value) or old != 0.0:
            node.grad = lift(old) + new
        else:
            node.grad = new


def _warn_if_accumulating(root: Value, order: list[Value]) -> bool:
    """Warn (and return True) when `root`'s leaves hold a gradient this call adds to."""
    holding = [v for v in order if v._op is None and v.grad is not None and v.grad != 0.0]
    if not holding:
        return False
    holding = [v for v in holding if v.label] or holding  # variables first, constants if none
    shown = ", ".join(f"{v.label}.grad" if v.label else f"the grad of the leaf {v.data!r}"
                      for v in holding[:3])
    more = f" and {len(holding) - 3} more" if len(holding) > 3 else ""
    name = root.label or "root"
    warnings.warn(
        f"backward() ran again through {name} while its leaves hold a gradient from before: "
        f"{shown}{more} now {'hold' if len(holding) > 1 else 'holds'} the sum of both passes "
        f"(leaves accumulate, as in PyTorch). For a fresh gradient, zero them first "
        f"({name}.zero_grad(), or an optimiser's zero_grad()) or use engine.autodiff.gradients, "
        "which touches no .grad; to silence this: "
        "warnings.simplefilter('ignore', engine.RepeatedBackwardWarning)",
        RepeatedBackwardWarning, stacklevel=_first_caller_outside_engine(),
    )
    return True


def _first_caller_outside_engine() -> int:
    """The `stacklevel` that points a warning at the user's line, not the engine's."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_ENGINE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def gradients(root: Value, wrt: Sequence[Value], *, seed: Number = 1.0,
              create_graph: bool = False) -> list:
    """d(root)/d(w) for each w in `wrt`, without touching any `.grad` field.

    Floats by default; with `create_graph=True`, Values built from the op table's partials
    (differentiate them again for higher derivatives). A `w` that `root` does not depend
    on gets 0. `wrt` may hold interior nodes as well as leaves.
    """
    if not isinstance(root, Value):
        raise TypeError(f"gradients needs a Value to differentiate, got {type(root).__name__} ({root!r:.60})")
    wrt = list(wrt)
    for i, w in enumerate(wrt):
        if not isinstance(w, Value):
            raise TypeError(f"gradients: wrt[{i}] must be a Value, got {type(w).__name__}")
    seed = as_float(seed, "gradient seed")
    if create_graph:
        grads = {root: lift(seed)}
        with derivative_graph():
            for _ in reverse_walk(topological_order(root), grads, ValueMath):
                pass
        return [lift(grads.get(w, 0.0)) for w in wrt]
    grads = {root: seed}
    for _ in reverse_walk(topological_order(root), grads):
        pass
    return [float(grads.get(w, 0.0)) for w in wrt]


@contextmanager
def fresh_grads(order: Sequence[Value]) -> Iterator[None]:
    """Inside, every `.grad` of `order` starts at 0; afterwards each is put back as it
    was: how readers (explain, the page) run a backward pass without changing anything."""
    saved = [v.grad for v in order]
    try:
        for v in order:
            v.grad = 0.0
        yield
    finally:
        for v, g in zip(order, saved):
            v.grad = g


def distances(order: Sequence[Value], start: Value) -> dict[Value, int]:
    """Edges from `start` to every node of `order`, following edges both ways (breadth first)."""
    neighbours: dict[Value, list[Value]] = {node: [] for node in order}
    for node in order:
        for parent in node._parents:
            neighbours[node].append(parent)
            neighbours[parent].append(node)
    distance = {start: 0}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for other in neighbours.get(node, ()):
                if other not in distance:
                    distance[other] = distance[node] + 1
                    following.append(other)
        frontier = following
    return distance


def zero_grad(roots: Iterable[Value]) -> None:
    """Set `.grad` to 0 on every Value that any of `roots` depends on."""
    for root in roots:
        for node in topological_order(root):
            node.grad = 0.0


# ---------------------------------------------------------------- speed, in one place

def _backward_floats(order: list[Value], seed: float) -> None:
    """`reverse_walk` over floats, unrolled into the nodes' own `.grad` fields.

    The same float operations in the same order as running the walk from `{root: seed}`
    and then adding each leaf's result to its old `.grad` (tests/engine/test_speed_paths.py
    proves it bit for bit); about twice as fast, because it builds no dict, no records
    and no generator frame. Training spends a quarter of its time here.
    """
    saved = [(v, v.grad) for v in order if v._op is None]
    for v in order:
        v.grad = 0.0
    order[-1].grad = seed
    anomaly = state().anomaly
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        g = node.grad
        parents = node._parents
        try:
            if len(parents) == 2:
                a, b = parents
                da, db = op.partials(FloatMath, node.data, a.data, b.data)
                a.grad += g * da
                b.grad += g * db
            elif len(parents) == 1:
                a = parents[0]
                a.grad += g * op.partials(FloatMath, node.data, a.data)[0]
            else:
                for parent, d in zip(parents, op.partials(FloatMath, node.data, *[p.data for p in parents])):
                    parent.grad += g * d
        except ARITHMETIC_ERRORS:
            local_partials(node)  # raises the walk's own error, naming the op
            raise
        if anomaly:
            _check_finite(node, [p.grad for p in parents])
    for v, old in saved:
        v.grad = old + v.grad
