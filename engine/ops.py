"""The op table: every operation defined exactly once.

An `Op` knows its name, its display symbol, its forward function on floats, its local
partial derivatives and a human-readable formula for each partial. Nothing else in the
project restates a derivative: backward, the stepper, the drawings, higher-order
derivatives and the compiled replay all read this table.

Partials are written once, generically, against a small math *backend* `m` (see
`FloatMath` here; `engine.autodiff` supplies one over Values for higher-order derivatives
and `engine.compile` one over numpy arrays). They receive `(m, out, *inputs)`, where `out`
is the op's own result, and return one local derivative per input. Plain arithmetic
(`+ - * /`) works on every backend, so most partials need nothing from `m` at all.

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
    "SUM", "DOT",
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
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def _fixed(*templates: str) -> Callable[[int, int], str]:
    return lambda i, n: templates[i]


def _operands(*xs: float) -> str:
    return ", ".join(repr(float(x)) for x in xs)


# ---------------------------------------------------------------- float backend

class FloatMath:
    """The backend partials use when differentiating on plain floats."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    tanh = staticmethod(math.tanh)

    @staticmethod
    def sech2(x: float) -> float:
        """1/cosh(x)^2, the derivative of tanh, without overflow for any finite x."""
        if abs(x) < 350.0:
            c = math.cosh(x)
            return 1.0 / (c * c)
        e = math.exp(-2.0 * abs(x))
        return 4.0 * e / ((1.0 + e) * (1.0 + e))

    @staticmethod
    def step(x: float) -> float:
        """Heaviside step, the derivative of relu (0 at the kink, by convention)."""
        return 1.0 if x > 0.0 else 0.0

    @staticmethod
    def pow(x: float, p: float) -> float:
        """x ** p that says `inf` where the true derivative blows up, never complex."""
        if x == 0.0 and p < 0.0:
            return math.inf
        return x**p


# ---------------------------------------------------------------- forward functions

def _div(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"division by zero ({_operands(a, b)})")
    return a / b


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        raise OverflowError(f"exp overflows for input {a!r} (largest is about 709.78)") from None


def _log(a: float) -> float:
    if not a > 0.0:  # also catches NaN
        if math.isnan(a):
            return math.nan
        raise ValueError(f"log of a non-positive number ({a!r})")
    return math.log(a)


def _sigmoid(a: float) -> float:
    # Two branches so exp never overflows: stable for |a| up to the largest float.
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _relu(a: float) -> float:
    return a if a > 0.0 else 0.0


def _sin(a: float) -> float:
    if math.isinf(a):
        return math.nan
    return math.sin(a)


def _cos(a: float) -> float:
    if math.isinf(a):
        return math.nan
    return math.cos(a)


def _pow_forward(p: float) -> Callable[[float], float]:
    integral = p == int(p)

    def forward(a: float) -> float:
        if a < 0.0 and not integral:
            raise ValueError(
                f"negative base {a!r} to the fractional power {p!r} has no real value"
            )
        if a == 0.0 and p < 0.0:
            raise ZeroDivisionError(f"0.0 cannot be raised to the negative power {p!r}")
        try:
            return a**p
        except OverflowError:
            raise OverflowError(f"{a!r} ** {p!r} overflows") from None

    return forward


# ---------------------------------------------------------------- the table

ADD = Op("add", "+", 2, lambda a, b: a + b, lambda m, out, a, b: (1.0, 1.0), _fixed("1", "1"))
SUB = Op("sub", "-", 2, lambda a, b: a - b, lambda m, out, a, b: (1.0, -1.0), _fixed("1", "-1"))
NEG = Op("neg", "neg", 1, lambda a: -a, lambda m, out, a: (-1.0,), _fixed("-1"))
MUL = Op("mul", "*", 2, lambda a, b: a * b, lambda m, out, a, b: (b, a), _fixed("{1}", "{0}"))
DIV = Op(
    "div", "/", 2, _div,
    lambda m, out, a, b: (1.0 / b, -a / (b * b)),
    _fixed("1/{1}", "-{0}/{1}^2"),
)
EXP = Op("exp", "exp", 1, _exp, lambda m, out, a: (out,), _fixed("exp({0})"))
LOG = Op("log", "log", 1, _log, lambda m, out, a: (1.0 / a,), _fixed("1/{0}"))
TANH = Op(
    "tanh", "tanh", 1, math.tanh,
    lambda m, out, a: (m.sech2(a),),
    _fixed("1/cosh({0})^2"),
)
SIGMOID = Op(
    "sigmoid", "σ", 1, _sigmoid,
    lambda m, out, a: (out * (1.0 - out),),
    _fixed("σ({0}) * (1 - σ({0}))"),
)
RELU = Op("relu", "relu", 1, _relu, lambda m, out, a: (m.step(a),), _fixed("1 if {0} > 0 else 0"))
SIN = Op("sin", "sin", 1, _sin, lambda m, out, a: (m.cos(a),), _fixed("cos({0})"))
COS = Op("cos", "cos", 1, _cos, lambda m, out, a: (-m.sin(a),), _fixed("-sin({0})"))
SUM = Op(
    "sum", "Σ", None, lambda *xs: sum(xs, 0.0),
    lambda m, out, *xs: (1.0,) * len(xs),
    lambda i, n: "1",
)


def _dot(*xs: float) -> float:
    n = len(xs) // 2
    return sum(map(mul, xs[:n], xs[n:]), 0.0)


def _dot_partials(m, out, *xs):
    n = len(xs) // 2
    return xs[n:] + xs[:n]  # d/dw_i = x_i and d/dx_i = w_i


DOT = Op(
    "dot", "·", None, _dot, _dot_partials,
    lambda i, n: "{%d}" % ((i + n // 2) % n),
    doc="w·x over inputs (w_1..w_n, x_1..x_n): one node for a whole weighted sum",
)


@lru_cache(maxsize=None)
def power(p: float) -> Op:
    """The `pow` op for one constant exponent `p` (cached, so each exponent is one Op)."""
    p = float(p)
    shown = fmt_number(p)
    return Op(
        "pow", f"**{shown}", 1, _pow_forward(p),
        lambda m, out, a: (0.0 if p == 0.0 else p * m.pow(a, p - 1.0),),
        _fixed(f"{shown} * {{0}}^{fmt_number(p - 1.0)}"),
        param=p,
    )


TABLE: dict[str, Op] = {
    op.name: op
    for op in (ADD, SUB, NEG, MUL, DIV, EXP, LOG, TANH, SIGMOID, RELU, SIN, COS, SUM, DOT)
}
"""Every fixed op by name. `pow` is a family, one Op per exponent: see `power`."""


def by_name(name: str) -> Op:
    """Look an op up by name, with a clear error for an unknown one."""
    try:
        return TABLE[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}; known: {', '.join(sorted(TABLE))}, pow") from None
