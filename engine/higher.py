"""Higher-order derivatives: gradients that are Values, so they can be differentiated again.

The reverse walk (`engine.autodiff`) runs over any math backend. Over Values
(`ValueMath`) it records the chain rule itself as a graph, and differentiating that graph
gives second derivatives, and so on. Nothing here restates a derivative or walks the
graph: every partial comes from the op table, every walk from `autodiff.gradients`.

`grad(f)` returns Values (differentiable again); `jacobian(f, xs)` and `hessian(f, xs)`
return floats by default, Values with `create_graph=True`. `jvp` and
`jacobian(..., mode="forward")` run forward mode (`engine.forward.forward_walk`) over the
same graph and the same table.
"""
from __future__ import annotations

from typing import Callable, Sequence

from .autodiff import ValueMath, gradients, topological_order
from .context import state
from .forward import forward_walk
from .ops import FloatMath
from .value import Number, Value, as_float, lift

__all__ = ["grad", "jacobian", "hessian", "jvp"]

MODES = ("reverse", "forward")


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
    create_graph: bool = False, mode: str = "reverse",
) -> list[list]:
    """The Jacobian of `f` at `xs`: row i holds d f_i/d x_j for every j.

    `f(*xs)` returns a list of Values (a single Value counts as a one-row list). Entries
    are floats, or Values with `create_graph=True`. `mode="reverse"` builds it row by row
    (one backward pass per output), `mode="forward"` column by column (one forward pass
    per input): the same numbers, with the work the other way round.
    """
    _check_callable(f, "jacobian")
    _needs_graph("jacobian")
    if mode not in MODES:
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    inputs = _inputs(_sequence(xs, "jacobian"), "jacobian")
    ys = _outputs(f(*inputs), "jacobian")
    if mode == "reverse":
        return [gradients(y, inputs, create_graph=create_graph) for y in ys]
    columns = [_tangents(ys, {x: 1.0}, create_graph) for x in inputs]
    return [[column[i] for column in columns] for i in range(len(ys))]


def jvp(
    f: Callable[..., Sequence[Value] | Value], xs: Sequence[Value | Number],
    tangents: Sequence[Number],
) -> tuple:
    """f's value at `xs` and its directional derivative along `tangents`, by forward mode.

    Returns `(value, derivative)`: floats when `f` returns one Value, lists of floats
    when it returns a list. The derivative is Σ_j d f/d x_j · tangents[j], carried from
    the inputs up with the op table's partials, in one pass.
    """
    _check_callable(f, "jvp")
    _needs_graph("jvp")
    inputs = _inputs(_sequence(xs, "jvp"), "jvp")
    rates = [as_float(t, f"jvp tangent {i}") for i, t in enumerate(_sequence(tangents, "jvp"))]
    if len(rates) != len(inputs):
        raise ValueError(f"jvp: {len(inputs)} inputs but {len(rates)} tangents; give one tangent per input")
    seeds: dict[Value, float] = {}
    for x, t in zip(inputs, rates):  # an input given twice moves at the sum of its rates
        seeds[x] = seeds.get(x, 0.0) + t
    result = f(*inputs)
    if isinstance(result, Value) or not hasattr(result, "__iter__"):  # one output
        y = _scalar(result, "jvp")
        return y.data, _tangents([y], seeds, False)[0]
    ys = _outputs(result, "jvp")
    return [y.data for y in ys], _tangents(ys, seeds, False)


def _outputs(ys: object, what: str) -> list[Value]:
    """f's result as a list of Values (one Value counts as a list of one)."""
    if isinstance(ys, Value):
        return [ys]
    try:
        ys = list(ys)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{what}: the function must return a list of Values, got {type(ys).__name__}") from None
    return [_scalar(y, what) for y in ys]


def _tangents(ys: list[Value], seeds: dict, create_graph: bool) -> list:
    """d y/dt for every y in `ys`, the inputs moving at the rates of `seeds`: one forward
    pass over every node any y depends on."""
    order, seen = [], set()
    for y in ys:  # one order for all outputs: each output's order, nodes already placed skipped
        for node in topological_order(y):
            if node not in seen:
                seen.add(node)
                order.append(node)
    m = ValueMath if create_graph else FloatMath
    found = {x: lift(t) for x, t in seeds.items()} if create_graph else dict(seeds)
    for _ in forward_walk(order, found, m):
        pass
    if create_graph:
        return [lift(found.get(y, 0.0)) for y in ys]
    return [float(found.get(y, 0.0)) for y in ys]


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

