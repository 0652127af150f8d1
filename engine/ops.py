"""The op table: every operation defined exactly once.

An `Op` knows its name, its display symbol, its forward function on floats, its local
partial derivatives and a human-readable formula for each partial. Nothing else in the
project restates a derivative: backward, the stepper, the drawings, higher-order
derivatives and the compiled replay all read this table.

Forwards and partials are written once, generically, against a small math *backend* `m`:
`FloatMath` here (plain floats, with the domain checks), one over Values in
`engine.autodiff` (`ValueMath`: derivatives of derivatives) and one over numpy arrays in `engine.replay`
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
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from typing import Callable, Sequence

__all__ = [
    "Op", "FloatMath", "TABLE", "by_name", "power", "fmt_number",
    "ADD", "SUB", "NEG", "MUL", "DIV", "EXP", "LOG", "TANH", "SIGMOID", "RELU", "SIN", "COS",
    "SUM", "DOT", "SECH2", "SQRT", "ABS",
]


@dataclass(frozen=True, eq=False, kw_only=True)
class Op:
    """One operation, everything about it in one place.

    `forward(m, *inputs)` computes it and `partials(m, out, *inputs)` returns one local
    derivative per input, both written against a math backend `m`. `formulas` says each
    partial in words (`str.format` templates: `{0}`, `{1}` for the inputs, `{out}` for
    the result; a function `(i, n) -> template` for an n-ary op); a test checks that they
    agree with `partials`. `written` is how a node of this op is shown, from its inputs'
    names: a template such as `"{0} * {1}"`, or a function of the list of names.
    `arity` is the number of inputs (None: any); `param` a constant baked into the op
    (the exponent of `pow`). `latex` and `latex_formulas` say the same two things in
    LaTeX, for derivations in lecture notes; an op without them is written as in text.
    """

    name: str
    symbol: str
    arity: int | None
    forward: Callable[..., object]
    partials: Callable[..., tuple]
    formulas: tuple[str, ...] | Callable[[int, int], str]
    written: str | Callable[[Sequence[str]], str]
    param: float | None = None
    latex: str | Callable[[Sequence[str]], str] | None = None
    latex_formulas: tuple[str, ...] | Callable[[int, int], str] | None = None

    def formula(self, i: int, n: int) -> str:
        """The template of the partial with respect to input `i` of `n`."""
        f = self.formulas
        return f[i] if isinstance(f, tuple) else f(i, n)

    def write(self, names: Sequence[str]) -> str:
        """How a node of this op reads, given its inputs' names: `w * x`, `tanh(z)`."""
        return _fill(self.written, names)

    def write_latex(self, names: Sequence[str]) -> str:
        """`write` in LaTeX, from the inputs' LaTeX names: `w \\cdot x`, `\\tanh(z)`."""
        return _fill(self.written if self.latex is None else self.latex, names)

    def formula_latex(self, i: int, n: int) -> str:
        """The LaTeX template of the partial with respect to input `i` of `n`."""
        f = self.latex_formulas
        if f is None:
            return self.formula(i, n)
        return f[i] if isinstance(f, tuple) else f(i, n)

    def __repr__(self) -> str:
        return f"Op({self.symbol})"


def _fill(template: str | Callable[[Sequence[str]], str], names: Sequence[str]) -> str:
    return template.format(*names) if isinstance(template, str) else template(names)


def fmt_number(x: float, digits: int = 6) -> str:
    """A number as every table, label and formula shows it: exact for integers, else
    `digits` significant digits; inf and nan as Python writes them."""
    if not math.isfinite(x):
        return repr(float(x))
    if abs(x) < 1e15 and x == int(x):
        return str(int(x))
    return f"{x:.{digits}g}"


# ---------------------------------------------------------------- float backend

class FloatMath:
    """The backend for plain floats: the primitives every formula may call, with checks.

    Where a float result would be complex, infinite from finite inputs, or undefined,
    these raise the built-in error that fits; `engine.value` adds the op and operands.
    """

    tanh = staticmethod(math.tanh)
    zero = 0.0  # where a gradient starts before anything reaches it

    @staticmethod
    def of(node) -> float:
        """A graph node's number in this backend."""
        return node.data

    @staticmethod
    def chain(upstream: float, partial: float) -> float:
        """What the chain rule sends along one edge: upstream * local partial."""
        return upstream * partial

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
    def sign(a: float) -> float:
        """-1, 0 or 1: the derivative of abs (0 at the kink, by convention; NaN stays NaN)."""
        return 1.0 if a > 0.0 else -1.0 if a < 0.0 else a * 0.0

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
        except OverflowError:  # infinity, as 1/x gives: the Value layer says if it is an error
            return -math.inf if a < 0.0 and p % 2.0 == 1.0 else math.inf

    @staticmethod
    def sum(xs) -> float:
        return sum(xs, 0.0)

    @staticmethod
    def dot(ws, xs) -> float:
        return sum(map(mul, ws, xs), 0.0)


# ---------------------------------------------------------------- the table
# Forwards are (m, *inputs) -> result; partials are (m, out, *inputs) -> one per input.

ADD = Op(name="add", symbol="+", arity=2, written="{0} + {1}",
         forward=lambda m, a, b: a + b,
         partials=lambda m, out, a, b: (1.0, 1.0), formulas=("1", "1"))
SUB = Op(name="sub", symbol="-", arity=2, written="{0} - {1}",
         forward=lambda m, a, b: a - b,
         partials=lambda m, out, a, b: (1.0, -1.0), formulas=("1", "-1"))
NEG = Op(name="neg", symbol="neg", arity=1, written="-{0}",
         forward=lambda m, a: -a,
         partials=lambda m, out, a: (-1.0,), formulas=("-1",))
MUL = Op(name="mul", symbol="*", arity=2, written="{0} * {1}", latex=r"{0} \cdot {1}",
         forward=lambda m, a, b: a * b,
         partials=lambda m, out, a, b: (b, a), formulas=("{1}", "{0}"))
DIV = Op(name="div", symbol="/", arity=2, written="{0} / {1}", latex=r"\frac{{{0}}}{{{1}}}",
         forward=lambda m, a, b: m.div(a, b),
         # -(a/b)/b, not -a/(b*b): b*b under- or overflows for |b| beyond 1e+-154 where the
         # derivative itself is an ordinary float (a=1e-300, b=1e-200 gives -1e100).
         partials=lambda m, out, a, b: (1.0 / b, -out / b), formulas=("1/{1}", "-({0}/{1})/{1}"),
         latex_formulas=(r"\frac{{1}}{{{1}}}", r"-\frac{{{0}}}{{{1}^{{2}}}}"))
EXP = Op(name="exp", symbol="exp", arity=1, written="exp({0})", latex="e^{{{0}}}",
         forward=lambda m, a: m.exp(a),
         partials=lambda m, out, a: (out,), formulas=("exp({0})",), latex_formulas=("e^{{{0}}}",))
LOG = Op(name="log", symbol="log", arity=1, written="log({0})", latex=r"\ln({0})",
         forward=lambda m, a: m.log(a),
         partials=lambda m, out, a: (1.0 / a,), formulas=("1/{0}",), latex_formulas=(r"\frac{{1}}{{{0}}}",))
TANH = Op(name="tanh", symbol="tanh", arity=1, written="tanh({0})", latex=r"\tanh({0})",
          forward=lambda m, a: m.tanh(a),
          # the documents' 1/cosh^2: their numbers, bit for bit
          partials=lambda m, out, a: (m.sech2(a),), formulas=("1/cosh({0})^2",),
          latex_formulas=(r"\frac{{1}}{{\cosh^{{2}}({0})}}",))
SIGMOID = Op(name="sigmoid", symbol="σ", arity=1, written="σ({0})", latex=r"\sigma({0})",
             forward=lambda m, a: m.sigmoid(a),
             partials=lambda m, out, a: (out * (1.0 - out),), formulas=("σ({0}) * (1 - σ({0}))",),
             latex_formulas=(r"\sigma({0})\,(1 - \sigma({0}))",))
RELU = Op(name="relu", symbol="relu", arity=1, written="relu({0})",
          latex=r"\operatorname{{relu}}({0})",
          forward=lambda m, a: m.relu(a),
          partials=lambda m, out, a: (m.step(a),), formulas=("1 if {0} > 0 else 0",),
          latex_formulas=(r"\begin{{cases}} 1 & {0} > 0 \\ 0 & \text{{otherwise}} \end{{cases}}",))
# 1/cosh(a)^2, tanh's derivative as a node: gradients of tanh stay exact when
# differentiated again (1 - tanh^2 would cancel to 0 for large a).
SECH2 = Op(name="sech2", symbol="sech²", arity=1, written="sech²({0})",
           latex=r"\operatorname{{sech}}^{{2}}({0})",
           forward=lambda m, a: m.sech2(a),
           partials=lambda m, out, a: (-2.0 * out * m.tanh(a),),
           formulas=("-2 * sech²({0}) * tanh({0})",),
           latex_formulas=(r"-2 \operatorname{{sech}}^{{2}}({0}) \tanh({0})",))
SIN = Op(name="sin", symbol="sin", arity=1, written="sin({0})", latex=r"\sin({0})",
         forward=lambda m, a: m.sin(a),
         partials=lambda m, out, a: (m.cos(a),), formulas=("cos({0})",), latex_formulas=(r"\cos({0})",))
COS = Op(name="cos", symbol="cos", arity=1, written="cos({0})", latex=r"\cos({0})",
         forward=lambda m, a: m.cos(a),
         partials=lambda m, out, a: (-m.sin(a),), formulas=("-sin({0})",), latex_formulas=(r"-\sin({0})",))
# Not differentiable at 0, where the partial 1/(2*sqrt(0)) is a division by zero: backward
# raises ZeroDivisionError there (finite differences cannot settle it either).
SQRT = Op(name="sqrt", symbol="√", arity=1, written="sqrt({0})",
          forward=lambda m, a: m.pow(a, 0.5),
          partials=lambda m, out, a: (m.div(0.5, out),), formulas=("1/(2*sqrt({0}))",))
# A kink at 0: the partial there is 0 by convention, as relu's is.
ABS = Op(name="abs", symbol="abs", arity=1, written="abs({0})",
         forward=lambda m, a: m.relu(a) + m.relu(-a),
         partials=lambda m, out, a: (m.sign(a),),
         formulas=("1 if {0} > 0 else (-1 if {0} < 0 else 0)",))
SUM = Op(name="sum", symbol="Σ", arity=None, written=lambda names: f"Σ({', '.join(names)})",
         latex=lambda names: " + ".join(names),
         forward=lambda m, *xs: m.sum(xs),
         partials=lambda m, out, *xs: (1.0,) * len(xs), formulas=lambda i, n: "1")


def _dot_partials(m, out, *xs):
    n = len(xs) // 2
    return xs[n:] + xs[:n]  # d/dw_i = x_i and d/dx_i = w_i


def _dot_written(names: Sequence[str]) -> str:
    n = len(names) // 2
    return " + ".join(f"{w}·{x}" for w, x in zip(names[:n], names[n:]))


def _dot_latex(names: Sequence[str]) -> str:
    n = len(names) // 2
    return " + ".join(f"{w} {x}" for w, x in zip(names[:n], names[n:]))


# w·x over inputs (w_1..w_n, x_1..x_n): one node for a whole weighted sum.
DOT = Op(name="dot", symbol="·", arity=None, written=_dot_written, latex=_dot_latex,
         forward=lambda m, *xs: m.dot(xs[: len(xs) // 2], xs[len(xs) // 2 :]),
         partials=_dot_partials, formulas=lambda i, n: "{%d}" % ((i + n // 2) % n))


def _power_partial(p: float) -> str:
    """The formula of d(a^p)/da, written as a person would: 2 * a, not 2 * a^1."""
    if p == 0.0:
        return "0"
    if p == 1.0:
        return "1"
    shown = fmt_number(p)
    return f"{shown} * {{0}}" if p == 2.0 else f"{shown} * {{0}}^{fmt_number(p - 1.0)}"


def _power_partial_latex(p: float) -> str:
    """`_power_partial` in LaTeX: 2 a, 3 a^{2}, -1.5 a^{-2.5}."""
    if p in (0.0, 1.0):
        return _power_partial(p)
    shown = fmt_number(p)
    return f"{shown} {{0}}" if p == 2.0 else f"{shown} {{0}}^{{{{{fmt_number(p - 1.0)}}}}}"


def power(p: float) -> Op:
    """The `pow` op for one constant exponent `p` (cached, so each exponent is one Op)."""
    return _power(float(p))  # float first: power(2) and power(2.0) are the same Op


@lru_cache(maxsize=None)
def _power(p: float) -> Op:
    shown = fmt_number(p)
    return Op(
        name="pow", symbol=f"**{shown}", arity=1, written=f"{{0}}**{shown}",
        latex=f"{{0}}^{{{{{shown}}}}}", latex_formulas=(_power_partial_latex(p),),
        forward=lambda m, a: m.pow(a, p),
        partials=lambda m, out, a: (0.0 if p == 0.0 else p * m.pow(a, p - 1.0),),
        formulas=(_power_partial(p),), param=p,
    )


TABLE: dict[str, Op] = {
    op.name: op
    for op in (ADD, SUB, NEG, MUL, DIV, EXP, LOG, TANH, SECH2, SIGMOID, RELU, SIN, COS, SQRT, ABS, SUM, DOT)
}
"""Every fixed op by name. `pow` is a family, one Op per exponent: see `power`."""


def by_name(name: str) -> Op:
    """Look an op up by name, with a clear error for an unknown one."""
    try:
        return TABLE[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}; known: {', '.join(sorted(TABLE))}, pow") from None
