"""Higher-order derivatives: gradients that are Values, so they can be differentiated again.

The op table's partials are written once against a math backend `m`. `FloatMath` makes
them floats (ordinary backward); `ValueMath` here makes them Values, so the chain rule
itself is recorded as a graph. Differentiating that graph gives second derivatives, and
so on. Nothing restates a derivative: every partial still comes from `engine.ops`.

Two layers:
- `gradients(root, wrt, create_graph=...)`: the core. It collects d(root)/d(node) in a
  dict keyed by node (lookups only, never iterated) and returns one gradient per entry
  of `wrt`, leaving every `.grad` field alone.
- `backward_graph(order, seed)`: what `Value.backward(create_graph=True)` runs; it writes
  the Value gradients into `.grad` (interior nodes reset, leaves accumulate).

The functional API builds on the core: `grad(f)` (Values, differentiable again),
`jacobian(f, xs)` and `hessian(f, xs)` (floats by default, Values with
`create_graph=True`).
"""
from __future__ import annotations

from typing import Callable, Sequence

from .context import state
from .ops import FloatMath, Op
from .value import Number, Value, apply, as_float, lift

__all__ = ["ValueMath", "gradients", "backward_graph", "grad", "jacobian", "hessian"]


# ---------------------------------------------------------------- the Value backend

class ValueMath:
    """The backend over Values: every primitive builds graph nodes instead of floats.

    With it, `op.partials(ValueMath, out, *inputs)` returns Values whose own graph can be
    differentiated, which is all that higher-order derivatives need.
    """

    @staticmethod
    def div(a, b):
        return a / b

    @staticmethod
    def exp(a: Value) -> Value:
        return a.exp()

    @staticmethod
    def log(a: Value) -> Value:
        return a.log()

    @staticmethod
    def tanh(a: Value) -> Value:
        return a.tanh()

    @staticmethod
    def sigmoid(a: Value) -> Value:
        return a.sigmoid()

    @staticmethod
    def relu(a: Value) -> Value:
        return a.relu()

    @staticmethod
    def step(a: Value) -> float:
        """A constant 0 or 1: the step is flat wherever it has a derivative."""
        return FloatMath.step(a.data)

    @staticmethod
    def sin(a: Value) -> Value:
        return a.sin()

    @staticmethod
    def cos(a: Value) -> Value:
        return a.cos()

    @staticmethod
    def sech2(a: Value) -> Value:
        return a.sech2()

    @staticmethod
    def pow(a: Value, p: float) -> Value:
        return a**p

    @staticmethod
    def sum(xs) -> Value:
        return Value.sum(xs)

    @staticmethod
    def dot(ws, xs) -> Value:
        return Value.dot(ws, xs)


# ---------------------------------------------------------------- the core

def _times(g, d):
    """g * d, skipping the node where the local derivative is the constant 0, 1 or -1."""
    if type(d) is float or type(d) is int:
        if d == 1.0:
            return g
        if d == 0.0:
            return None
        if d == -1.0:
            return -g
    return g * d


def _reverse(order: list[Value], seed, m) -> dict:
    """d(root)/d(node) for every node of `order` that anything flows into.

    `seed` is a float (m = FloatMath) or a Value (m = ValueMath). The dict is keyed by
    node and only ever looked up, so the result does not depend on hashing or ids.
    """
    grads = {order[-1]: seed}
    values = m is ValueMath
    get = grads.get
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        g = get(node)
        if g is None:  # only zeros flow here
            continue
        parents = node._parents
        if values:
            local = op.partials(m, node, *parents)
        else:
            local = op.partials(m, node.data, *[p.data for p in parents])
        for parent, d in zip(parents, local):
            c = _times(g, d)
            if c is None:
                continue
            previous = get(parent)
            grads[parent] = c if previous is None else previous + c
    return grads


def _check_root(root: object, what: str) -> Value:
    if isinstance(root, Value):
        return root
    raise TypeError(f"{what} needs a Value to differentiate, got {type(root).__name__} ({root!r:.60})")


def gradients(
    root: Value, wrt: Sequence[Value], *, seed: Number = 1.0, create_graph: bool = False
) -> list:
    """d(root)/d(w) for each w in `wrt`, without touching any `.grad` field.

    Floats by default; with `create_graph=True`, Values built from the op table's partials
    (differentiate them again for higher derivatives). A `w` that `root` does not depend
    on gets 0. `wrt` may hold interior nodes as well as leaves.
    """
    from .autodiff import topological_order

    root = _check_root(root, "gradients")
    wrt = list(wrt)
    for i, w in enumerate(wrt):
        if not isinstance(w, Value):
            raise TypeError(f"gradients: wrt[{i}] must be a Value, got {type(w).__name__}")
    seed = as_float(seed, "gradient seed")
    order = topological_order(root)
    if create_graph:
        grads = _reverse(order, lift(seed), ValueMath)
        return [_as_value(grads.get(w, 0.0)) for w in wrt]
    grads = _reverse(order, seed, FloatMath)
    return [float(grads.get(w, 0.0)) for w in wrt]


def _as_value(x) -> Value:
    return x if isinstance(x, Value) else lift(x)


def backward_graph(order: list[Value], seed: float) -> None:
    """`backward(create_graph=True)`: fill `.grad` with Values built from the partials.

    Same semantics as the float backward: interior nodes hold this call's gradient only;
    leaves accumulate (a float `.grad` becomes `Value(old) + new`).
    """
    grads = _reverse(order, lift(seed), ValueMath)
    for node in order:
        new = grads.get(node)
        if node._op is not None:
            node.grad = _as_value(0.0 if new is None else new)
            continue
        old = node.grad
        if new is None:
            node.grad = _as_value(old)
        elif isinstance(old, Value):
            node.grad = old + new
        elif old == 0.0:
            node.grad = new
        else:
            node.grad = lift(old) + new


# ---------------------------------------------------------------- the functional API

def _needs_graph(what: str) -> None:
    if not state().grad_enabled:
        raise RuntimeError(f"engine.{what} needs the graph, but it was called inside no_grad()")


def _inputs(args: Sequence, what: str) -> list[Value]:
    """The arguments as Values: Values as given (so nested derivatives see them), numbers
    as fresh leaves."""
    return [a if isinstance(a, Value) else Value(as_float(a, f"{what} argument {i}"))
            for i, a in enumerate(args)]


def _scalar(y: object, what: str) -> Value:
    if isinstance(y, Value):
        return y
    try:
        return lift(as_float(y, f"the result of the function given to {what}"))
    except TypeError:
        raise TypeError(
            f"{what}: the function must return one Value (a scalar), got {type(y).__name__}"
        ) from None


def _check_callable(f: object, what: str) -> None:
    if not callable(f):
        raise TypeError(f"{what} takes a function, got {type(f).__name__} ({f!r:.60})")


def grad(f: Callable[..., Value]) -> Callable[..., tuple[Value, ...]]:
    """The gradient function of `f`: it takes f's arguments and returns one d f/d arg per
    argument, as Values, so `grad(lambda x: grad(g)(x)[0])` is g's second derivative.

    Arguments that are Values are differentiated as they are (no copies); numbers become
    fresh leaves. No `.grad` field is touched.
    """
    _check_callable(f, "grad")

    def gradient(*args: Value | Number) -> tuple[Value, ...]:
        _needs_graph("grad")
        xs = _inputs(args, "grad")
        y = _scalar(f(*xs), "grad")
        return tuple(gradients(y, xs, create_graph=True))

    gradient.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    gradient.__doc__ = f"The gradient of {getattr(f, '__name__', 'f')}, one Value per argument."
    return gradient


def jacobian(
    f: Callable[..., Sequence[Value] | Value], xs: Sequence[Value | Number], *,
    create_graph: bool = False,
) -> list[list]:
    """The Jacobian of `f` at `xs`: row i holds d f_i/d x_j for every j.

    `f(*xs)` returns a list of Values (a single Value counts as a one-row list). Entries
    are floats, or Values with `create_graph=True`.
    """
    _check_callable(f, "jacobian")
    _needs_graph("jacobian")
    inputs = _inputs(_sequence(xs, "jacobian"), "jacobian")
    ys = f(*inputs)
    if isinstance(ys, Value):
        ys = [ys]
    try:
        ys = list(ys)
    except TypeError:
        raise TypeError(
            f"jacobian: the function must return a list of Values, got {type(ys).__name__}"
        ) from None
    return [gradients(_scalar(y, "jacobian"), inputs, create_graph=create_graph) for y in ys]


def hessian(
    f: Callable[..., Value], xs: Sequence[Value | Number], *, create_graph: bool = False
) -> list[list]:
    """The Hessian of the scalar `f` at `xs`: entry [i][j] is d^2 f/(d x_i d x_j).

    Reverse over reverse: the gradient is built as Values once, then each of its entries
    is differentiated again. Floats by default, Values with `create_graph=True`.
    """
    _check_callable(f, "hessian")
    _needs_graph("hessian")
    inputs = _inputs(_sequence(xs, "hessian"), "hessian")
    y = _scalar(f(*inputs), "hessian")
    first = gradients(y, inputs, create_graph=True)
    return [gradients(g, inputs, create_graph=create_graph) for g in first]


def _sequence(xs: object, what: str) -> list:
    if isinstance(xs, Value) or isinstance(xs, (str, bytes)):
        raise TypeError(f"{what} takes a sequence of inputs (e.g. [x, y]), got {type(xs).__name__}")
    try:
        return list(xs)
    except TypeError:
        raise TypeError(f"{what} takes a sequence of inputs, got {type(xs).__name__}") from None

