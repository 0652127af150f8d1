"""`Value`: one scalar in a computation, and the node of the graph it leaves behind.

Every op on Values makes a new Value that remembers its op (an entry of the op table) and
its parents. There are no per-node closures and no references from parents to children,
so a graph holds no reference cycles: dropping the output frees the whole graph at once
through reference counting, without waiting for the cyclic garbage collector.

Equality is identity (Values are hashable graph nodes); `<`, `<=`, `>`, `>=` compare data.
"""
from __future__ import annotations

import decimal
import math
import numbers
import unicodedata
from typing import Iterable, Union

from . import ops
from .context import state
from .ops import FloatMath, Op

__all__ = ["Value", "Number", "as_float", "as_count", "check_label", "apply"]

Number = Union[int, float, numbers.Real]
ARITHMETIC_ERRORS = (ValueError, ZeroDivisionError, OverflowError)


def as_float(x: object, what: str = "value") -> float:
    """Turn any real number (int, float, Fraction, Decimal, numpy scalar) into a float.

    bool is refused: `True * w` is almost always a bug, not arithmetic.
    """
    if type(x) is float:
        return x
    if isinstance(x, (bool,)) or type(x).__name__ == "bool_":
        raise TypeError(f"{what} must be a real number, got a bool ({x!r})")
    if isinstance(x, (numbers.Real, decimal.Decimal)):
        try:
            result = float(x)
        except OverflowError:
            result = math.inf
        if result in (math.inf, -math.inf) and abs(x) != math.inf:  # Decimal, longdouble: no error
            raise OverflowError(f"{what} {_brief(x)} is too large for a float (at most about 1.8e308)")
        return result
    if isinstance(x, numbers.Complex):
        raise TypeError(f"{what} must be a real number, got the complex number {x!r}")
    raise TypeError(f"{what} must be a real number, got {type(x).__name__} ({x!r:.60})")


def as_count(n: object, what: str, minimum: int = 1) -> int:
    """`n` as an int of at least `minimum`: sizes, depths, epochs (bool is not a count)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {n!r}")
    return n


def _brief(x: object) -> str:
    """repr(x) for an error message, at most 40 characters; an int too long to print
    (Python refuses past 4,300 digits) by its size."""
    if isinstance(x, int) and x.bit_length() > 128:
        return f"~{'-' if x < 0 else ''}10**{round(math.log10(abs(x)))}"
    try:
        text = repr(x)
    except ValueError:  # e.g. a Fraction of such ints
        return f"a {type(x).__name__} too long to print"
    return text if len(text) <= 40 else f"{text[:36]}...{text[-1]}"


def check_label(label: object) -> str | None:
    """`label` if it can name a Value: None or a string without control characters, lone
    surrogates or the noncharacters U+FFFE/U+FFFF (they break the stepper's tables,
    terminals and Graphviz's XML). Anything else is refused at once, naming the character."""
    if label is None or (type(label) is str and label.isprintable()):
        return label
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    for ch in label:
        kind = unicodedata.category(ch)
        if kind in ("Cc", "Cs") or ch in "\ufffe\uffff":
            what = {"Cc": "the control character", "Cs": "a lone surrogate"}.get(kind, "the noncharacter")
            raise ValueError(f"label {_brief(label)} contains {what} U+{ord(ch):04X}; "
                             "a label must be printable text")
    return label


def describe(v: "Value") -> str:
    """How error messages name an operand: its label if it has one, and its data."""
    return f"{v.label}={v.data!r}" if v.label else repr(v.data)


def _operator(op: Op, reflected: bool = False):
    """Value's operator for `op`: `a op b`, or with `reflected` `b op a` (as `2 * w` calls it)."""
    if reflected:
        return lambda self, other: _binary(op, other, self)
    return lambda self, other: _binary(op, self, other)


class Value:
    """A scalar that records how it was computed, so gradients can flow back through it.

    `data` is the number, `grad` the derivative of the last `backward()` output with
    respect to it, `label` an optional name used by the stepper, drawings and errors,
    and `scope` where it was made (see `engine.scope`).
    """

    __slots__ = ("data", "grad", "_op", "_parents", "label", "scope")

    def __init__(self, data: Number, label: str | None = None) -> None:
        check_label(label)
        self.data = as_float(data, f"Value({label})" if label else "Value")
        self.grad = 0.0
        self._op: Op | None = None
        self._parents: tuple[Value, ...] = ()
        self.label = label
        self.scope = state().scope

    # ---------------------------------------------------------------- reading the node
    @property
    def op(self) -> Op | None:
        """The op-table entry that made this Value, or None for a leaf."""
        return self._op

    @property
    def parents(self) -> tuple["Value", ...]:
        """The inputs of the op that made this Value, in argument order."""
        return self._parents

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def __repr__(self) -> str:
        name = f"{self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data!r}, grad={self.grad!r})"

    def __float__(self) -> float:
        return self.data

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a Value is ambiguous; compare its data (v.data > 0) instead"
        )

    def __lt__(self, other: "Value | Number") -> bool:
        return self.data < _data(other)

    def __le__(self, other: "Value | Number") -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: "Value | Number") -> bool:
        return self.data > _data(other)

    def __ge__(self, other: "Value | Number") -> bool:
        return self.data >= _data(other)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # ---------------------------------------------------------------- arithmetic
    # a + b, a - b, a * b, a / b with a Value on either side (a number is lifted)
    __add__, __radd__ = _operator(ops.ADD), _operator(ops.ADD, reflected=True)
    __sub__, __rsub__ = _operator(ops.SUB), _operator(ops.SUB, reflected=True)
    __mul__, __rmul__ = _operator(ops.MUL), _operator(ops.MUL, reflected=True)
    __truediv__, __rtruediv__ = _operator(ops.DIV), _operator(ops.DIV, reflected=True)

    def __neg__(self) -> "Value":
        return _unary(ops.NEG, self)

    def __pos__(self) -> "Value":
        return self

    def __pow__(self, exponent: Number) -> "Value":
        if isinstance(exponent, Value):
            raise TypeError(
                "pow takes a constant exponent; for a Value exponent write (b * a.log()).exp()"
            )
        try:
            p = as_float(exponent, "exponent")
        except TypeError as error:
            raise TypeError(f"pow({_show((self, exponent))}): {error}") from None
        return _unary(ops.power(p), self)

    def __rpow__(self, base: Number) -> "Value":
        base = as_float(base, "base")
        if not base > 0.0:
            raise ValueError(
                f"{base!r} ** {describe(self)} needs a positive base (it is exp(x * log(base)))"
            )
        return (self * math.log(base)).exp()

    # ---------------------------------------------------------------- functions
    # exp, log, tanh, sech2, sigmoid, relu, sin, cos: one method per one-input op of the
    # table, made below the class, so an op added to the table is a method at once.

    @staticmethod
    def sum(values: Iterable["Value | Number"]) -> "Value":
        """One n-ary sum node over all `values` (one node instead of a chain of adds)."""
        return apply(ops.SUM, *values)

    @staticmethod
    def dot(weights: Iterable["Value | Number"], inputs: Iterable["Value | Number"]) -> "Value":
        """One fused node for sum(w_i * x_i): d/dw_i = x_i, d/dx_i = w_i."""
        weights, inputs = list(weights), list(inputs)
        if len(weights) != len(inputs) or not weights:
            raise ValueError(
                f"dot needs two non-empty sequences of equal length, got {len(weights)} and {len(inputs)}"
            )
        return apply(ops.DOT, *weights, *inputs)

    # ---------------------------------------------------------------- gradients
    def backward(self, grad: Number = 1.0, *, create_graph: bool = False) -> None:
        """Fill `.grad` of every Value this one depends on with d(self)/d(that Value).

        Leaves accumulate across calls (like PyTorch leaves: zero them between steps);
        interior nodes hold the gradient of this call only. With `create_graph=True` the
        gradients are Values themselves (see `engine.autodiff.backward`).
        """
        _autodiff().backward(self, grad, create_graph=create_graph)

    def zero_grad(self) -> None:
        """Set the grad of this Value and everything it depends on back to 0."""
        _autodiff().zero_grad([self])

    def detach(self) -> "Value":
        """A new leaf with the same data and label: gradients stop here."""
        v = Value(self.data, self.label)
        v.scope = self.scope
        return v


def _method(op: Op):
    def method(self: Value) -> Value:
        return _unary(op, self)

    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = f"{op.write(['self'])}, with d/dself = {op.formula(0, 1).format('self', out='out')}."
    return method


for _op in ops.TABLE.values():
    if _op.arity == 1 and _op is not ops.NEG:  # -v is __neg__
        setattr(Value, _op.name, _method(_op))
del _op


def _autodiff():
    """`engine.autodiff`, imported when a Value first calls it: the one import in the
    engine that points up, because the walk that `backward` runs is made of Values."""
    from . import autodiff

    return autodiff


def _data(x: "Value | Number") -> float:
    return x.data if type(x) is Value else as_float(x, "operand")


def lift(x: "Value | Number") -> Value:
    """A Value for `x`: itself if it already is one, else a constant leaf."""
    if isinstance(x, Value):
        return x
    v = Value.__new__(Value)
    v.data = as_float(x, "operand")
    v.grad = 0.0
    v._op = None
    v._parents = ()
    v.label = None
    v.scope = state().scope
    return v


def _show(operands: Iterable[object]) -> str:
    """Operands for an error message: Values by label and data, anything else by repr."""
    shown = [describe(o) if isinstance(o, Value) else f"{o!r:.60}" for o in operands]
    return ", ".join(shown if len(shown) <= 6 else shown[:5] + [f"... ({len(shown)} in all)"])


def _lift_operands(op: Op, a: object, b: object) -> tuple[Value, Value]:
    """Both operands of a binary operator as Values; a non-number is a TypeError naming
    the op and both operands."""
    try:
        return lift(a), lift(b)
    except TypeError as error:
        raise TypeError(f"{op.name}({_show((a, b))}): {error}") from None


_new = Value.__new__
_ONLY_VALUES = {Value}


def apply(op: Op, *inputs: "Value | Number") -> Value:
    """Run `op` forward on `inputs` and return the new node. The one door into the graph.

    `_unary` and `_binary` are the same door with the argument handling unrolled, for the
    operators that run millions of times in training.
    """
    if set(map(type, inputs)) == _ONLY_VALUES:  # all Values already (checked in C): nothing to lift
        parents = inputs
    else:
        try:
            parents = tuple(map(lift, inputs))
        except TypeError as error:
            raise TypeError(f"{op.name}({_show(inputs)}): {error}") from None
    if op.arity is not None and len(parents) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} inputs, got {len(parents)}")
    try:
        data = op.forward(FloatMath, *[p.data for p in parents])
    except ARITHMETIC_ERRORS as error:
        raise _explained(error, op, parents) from None
    return _node(op, data, parents)


def _unary(op: Op, a: Value) -> Value:
    try:
        data = op.forward(FloatMath, a.data)
    except ARITHMETIC_ERRORS as error:
        raise _explained(error, op, (a,)) from None
    return _node(op, data, (a,))


def _binary(op: Op, a: "Value | Number", b: "Value | Number") -> Value:
    if type(a) is not Value or type(b) is not Value:  # a number on one side: lift it
        a, b = _lift_operands(op, a, b)
    try:
        data = op.forward(FloatMath, a.data, b.data)
    except ARITHMETIC_ERRORS as error:
        raise _explained(error, op, (a, b)) from None
    return _node(op, data, (a, b))


def _node(op: Op, data: float, parents: tuple[Value, ...]) -> Value:
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    now = state()
    if now.grad_enabled:
        v._op = op
        v._parents = parents
    else:
        v._op = None
        v._parents = ()
    v.label = None
    v.scope = now.scope
    if data - data != 0.0:  # inf or NaN
        _non_finite(op, parents, data)
    return v


def _explained(error: Exception, op: Op, parents: tuple[Value, ...]) -> Exception:
    """The same kind of error, saying which op failed on which operands (with labels)."""
    return type(error)(f"{op.name}({', '.join(map(describe, parents))}): {error}")


def _non_finite(op: Op, parents: tuple[Value, ...], data: float) -> None:
    """Finite inputs that give infinity overflowed (except in a gradient being built, where
    infinity is a value as in float backward); any non-finite result is an anomaly."""
    operands = ", ".join(map(describe, parents))
    param = op.param
    finite_param = param is None or math.isfinite(param)  # v ** nan: a NaN input, not overflow
    now = state()
    if finite_param and all(math.isfinite(p.data) for p in parents) and not now.derivative:
        raise OverflowError(f"{op.name}({operands}) overflows to {data!r}")
    if now.anomaly:
        raise FloatingPointError(f"anomaly: {op.name}({operands}) produced {data!r}")
