"""The op table: every operation defined exactly once.

An `Op` knows its name, its display symbol, its forward function on floats, its local
partial derivatives and a human-readable formula for each partial. Nothing else in the
project restates a derivative: backward, the stepper, the drawings, higher-order
derivatives and the compiled replay all read this table.

Forwards and partials are written once, generically, against a small math *backend* `m`:
`FloatMath` here (plain floats, with the domain checks), one over Values in
`engine.higher` (derivatives of derivatives) and one over numpy arrays in `engine.compile`
(the vectorised replay). A forward receives `(m, *inputs)`; a partial receives
`(m, out, *inputs)`, where `out` is the op's own result, and returns one local derivative
per input. Plain arithmetic (`+ - * /`) works on every backend; anything else (exp, log,
sech2, step, ...) is a primitive the backend provides.

Formulas are `str.format` templates: `{0}`, `{1}`, ... stand for the inputs and `{out}`
for the result, so the stepper can print `dz/dw = x` with the user's labels.

This module knows floats and formulas and nothing else: it imports no other module of
the project.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from operator import mul
from typing import Callable

__all__ = [
    "Op", "FloatMath", "TABLE", "by_name", "power", "fmt_number",
    "ADD", "SUB", "NEG", "MUL", "DIV", "EXP", "LOG", "TANH", "SIGMOID", "RELU", "SIN", "COS",
    "SUM", "DOT", "SECH2",
]


@dataclass(frozen=True, eq=False)
class Op:
    """One operation: forward on floats, local partials, and how to explain them.

    `arity` is the number of inputs, or None for an n-ary op. `formula(i, n)` returns the
    template of the partial with respect to input `i` of `n`. `param` is a constant baked
    into the op (the exponent of `pow`), or None.
    """

    name: str
    symbol: str
    arity: int | None
    forward: Callable[..., float]
    partials: Callable[..., tuple]
    formula: Callable[[int, int], str]
    param: float | None = None
    doc: str = field(default="", compare=False)

    def __repr__(self) -> str:
        return f"Op({self.symbol})"


def fmt_number(x: float) -> str:
    """A short, exact-enough rendering of a number for labels and formulas."""
    if abs(x) < 1e15 and x == int(x):  # abs first: int() of inf or NaN raises
        return str(int(x))
    return f"{x:.6g}"


def _fixed(*templates: str) -> Callable[[int, int], str]:
    return lambda i, n: templates[i]


# ---------------------------------------------------------------- float backend

class FloatMath:
    """The backend for plain floats: the primitives every formula may call, with checks.

    Where a float result would be complex, infinite from finite inputs, or undefined,
    these raise the built-in error that fits; `engine.value` adds the op and operands.
    """

    tanh = staticmethod(math.tanh)

    @staticmethod
    def div(a: float, b: float) -> float:
        if b == 0.0:
            raise ZeroDivisionError("division by zero")
        return a / b

    @staticmethod
    def exp(a: float) -> float:
        try:
            return math.exp(a)
        except OverflowError:
            raise OverflowError(f"exp overflows for input {a!r} (the largest is about 709.78)") from None

    @staticmethod
    def log(a: float) -> float:
        if not a > 0.0:
            if math.isnan(a):
                return math.nan
            raise ValueError(f"log of a non-positive number ({a!r})")
        return math.log(a)

    @staticmethod
    def sigmoid(a: float) -> float:
        # Two branches so exp never overflows: stable for |a| up to the largest float.
        if a >= 0.0:
            return 1.0 / (1.0 + math.exp(-a))
        e = math.exp(a)
        return e / (1.0 + e)

    @staticmethod
    def relu(a: float) -> float:
        return 0.0 if a <= 0.0 else a  # NaN stays NaN, so detect_anomaly can see it

    @staticmethod
    def step(a: float) -> float:
        """Heaviside step, the derivative of relu (0 at the kink, by convention)."""
        return 1.0 if a > 0.0 else 0.0

    @staticmethod
    def sin(a: float) -> float:
        return math.nan if math.isinf(a) else math.sin(a)

    @staticmethod
    def cos(a: float) -> float:
        return math.nan if math.isinf(a) else math.cos(a)

    @staticmethod
    def sech2(a: float) -> float:
        """1/cosh(a)^2, the derivative of tanh, without overflow for any finite a."""
        if abs(a) < 350.0:
            c = math.cosh(a)
            return 1.0 / (c * c)
        e = math.exp(-2.0 * abs(a))
        return 4.0 * e / ((1.0 + e) * (1.0 + e))

    @staticmethod
    def pow(a: float, p: float) -> float:
        if a < 0.0 and not float(p).is_integer():  # (not int(p): it raises for inf and NaN)
            raise ValueError(f"negative base {a!r} to the fractional power {p!r} has no real value")
        if a == 0.0 and p < 0.0:
            raise ZeroDivisionError(f"0.0 cannot be raised to the negative power {p!r}")
        try:
            return a**p
        except OverflowError:
            raise OverflowError(f"{a!r} ** {p!r} overflows") from None

    @staticmethod
    def sum(xs) -> float:
        return sum(xs, 0.0)

    @staticmethod
    def dot(ws, xs) -> float:
        return sum(map(mul, ws, xs), 0.0)


# ---------------------------------------------------------------- the table
# Forwards are (m, *inputs) -> result; partials are (m, out, *inputs) -> one per input.

ADD = Op("add", "+", 2, lambda m, a, b: a + b, lambda m, out, a, b: (1.0, 1.0), _fixed("1", "1"))
SUB = Op("sub", "-", 2, lambda m, a, b: a - b, lambda m, out, a, b: (1.0, -1.0), _fixed("1", "-1"))
NEG = Op("neg", "neg", 1, lambda m, a: -a, lambda m, out, a: (-1.0,), _fixed("-1"))
MUL = Op("mul", "*", 2, lambda m, a, b: a * b, lambda m, out, a, b: (b, a), _fixed("{1}", "{0}"))
DIV = Op(
    "div", "/", 2, lambda m, a, b: m.div(a, b),
    # -out/b, not -a/b^2: b*b under- or overflows for |b| beyond 1e+-154 where the
    # derivative itself is a perfectly ordinary float (a=1e-300, b=1e-200 gives -1e100).
    lambda m, out, a, b: (1.0 / b, -out / b),
    _fixed("1/{1}", "-{0}/{1}^2"),
)
EXP = Op("exp", "exp", 1, lambda m, a: m.exp(a), lambda m, out, a: (out,), _fixed("exp({0})"))
LOG = Op("log", "log", 1, lambda m, a: m.log(a), lambda m, out, a: (1.0 / a,), _fixed("1/{0}"))
TANH = Op(
    "tanh", "tanh", 1, lambda m, a: m.tanh(a),
    lambda m, out, a: (m.sech2(a),),  # the documents' 1/cosh^2: their numbers, bit for bit
    _fixed("1/cosh({0})^2"),
)
SIGMOID = Op(
    "sigmoid", "σ", 1, lambda m, a: m.sigmoid(a),
    lambda m, out, a: (out * (1.0 - out),),
    _fixed("σ({0}) * (1 - σ({0}))"),
)
RELU = Op(
    "relu", "relu", 1, lambda m, a: m.relu(a),
    lambda m, out, a: (m.step(a),),
    _fixed("1 if {0} > 0 else 0"),
)
SECH2 = Op(
    "sech2", "sech²", 1, lambda m, a: m.sech2(a),
    lambda m, out, a: (-2.0 * out * m.tanh(a),),
    _fixed("-2 * sech²({0}) * tanh({0})"),
    doc="1/cosh(a)^2, tanh's derivative as a node: gradients of tanh stay exact when "
    "differentiated again (1 - tanh^2 would cancel to 0 for large a)",
)
SIN = Op("sin", "sin", 1, lambda m, a: m.sin(a), lambda m, out, a: (m.cos(a),), _fixed("cos({0})"))
COS = Op("cos", "cos", 1, lambda m, a: m.cos(a), lambda m, out, a: (-m.sin(a),), _fixed("-sin({0})"))
SUM = Op(
    "sum", "Σ", None, lambda m, *xs: m.sum(xs),
    lambda m, out, *xs: (1.0,) * len(xs),
    lambda i, n: "1",
)


def _dot_partials(m, out, *xs):
    n = len(xs) // 2
    return xs[n:] + xs[:n]  # d/dw_i = x_i and d/dx_i = w_i


DOT = Op(
    "dot", "·", None, lambda m, *xs: m.dot(xs[: len(xs) // 2], xs[len(xs) // 2 :]),
    _dot_partials,
    lambda i, n: "{%d}" % ((i + n // 2) % n),
    doc="w·x over inputs (w_1..w_n, x_1..x_n): one node for a whole weighted sum",
)


def _power_partial(p: float) -> str:
    """The formula of d(a^p)/da, written as a person would: 2 * a, not 2 * a^1."""
    if p == 0.0:
        return "0"
    if p == 1.0:
        return "1"
    shown = fmt_number(p)
    return f"{shown} * {{0}}" if p == 2.0 else f"{shown} * {{0}}^{fmt_number(p - 1.0)}"


def power(p: float) -> Op:
    """The `pow` op for one constant exponent `p` (cached, so each exponent is one Op)."""
    return _power(float(p))  # float first: power(2) and power(2.0) are the same Op


@lru_cache(maxsize=None)
def _power(p: float) -> Op:
    shown = fmt_number(p)
    return Op(
        "pow", f"**{shown}", 1, lambda m, a: m.pow(a, p),
        lambda m, out, a: (0.0 if p == 0.0 else p * m.pow(a, p - 1.0),),
        _fixed(_power_partial(p)),
        param=p,
    )


TABLE: dict[str, Op] = {
    op.name: op
    for op in (ADD, SUB, NEG, MUL, DIV, EXP, LOG, TANH, SECH2, SIGMOID, RELU, SIN, COS, SUM, DOT)
}
"""Every fixed op by name. `pow` is a family, one Op per exponent: see `power`."""


def by_name(name: str) -> Op:
    """Look an op up by name, with a clear error for an unknown one."""
    try:
        return TABLE[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}; known: {', '.join(sorted(TABLE))}, pow") from None
