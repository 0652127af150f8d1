"""How the engine writes things down: names, numbers, derivatives, expressions, tables.

Every reader that shows a graph (the stepper, `explain`, the drawings, the page, the
checks, the command line) takes its words from here, so they all say the same thing:
the same display name for a node, the same digits for a number, the documents'
notation for a derivative (dC/dz, dC/d(mul1)).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Sequence

from .ops import Op, fmt_number
from .value import Value

__all__ = ["number", "names", "d", "ratio", "local", "count", "product", "expression", "partial",
           "natural", "reading_order", "table", "latex_name", "latex_number", "latex_ratio"]

number = fmt_number
"""A number as every table, label and formula shows it: exact for integers, else six
significant digits (`number(x, 12)` for more); inf and nan as Python writes them."""


def names(order: Iterable[Value]) -> dict[Value, str]:
    """A display name for every Value in `order`, never the same for two of them.

    A Value shows its label, an unlabelled leaf (a constant, mostly) its number, and an
    unlabelled result its op and a counter (`mul1`, `tanh1`, ...), skipping names that a
    label already uses. When two different Values would read the same (two constants 1,
    two nodes labelled x), the later ones get `#2`, `#3`: `1`, `1#2`.
    """
    order = list(order)
    taken = {v.label for v in order if v.label}
    counters: dict[str, int] = {}
    result: dict[Value, str] = {}
    seen: dict[str, int] = {}
    for v in order:
        if v.label:
            name = v.label
        elif v._op is None:
            name = number(v.data)
        else:
            base = v._op.name
            k = counters.get(base, 0)
            while True:
                k += 1
                name = f"{base}{k}"
                if name not in taken:
                    break
            counters[base] = k
            taken.add(name)
        copies = seen[name] = seen.get(name, 0) + 1
        result[v] = name if copies == 1 else f"{name}#{copies}"
    return result


def natural(text: str) -> list:
    """A sort key comparing the numbers in `text` as numbers: "neuron 2" before "neuron 10"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def reading_order(values: Iterable[Value]) -> list[Value]:
    """`values` (in topological order) as a reader looks for them: unscoped first, then
    scope by scope in natural order ("layer 1/neuron 2" before "layer 1/neuron 10"), each
    scope's in the order they were used (w1.2.1, w1.2.2, b1.2)."""
    return sorted(values, key=lambda v: natural(v.scope or ""))


_BARE = re.compile(r"[A-Za-zα-ωΑ-Ω](_?[0-9]+)?'*")


def d(name: str) -> str:
    """`name` as it follows a `d` in dC/dname: bare when short (dC/dw), else dC/d(mul1)."""
    return name if _BARE.fullmatch(name) else f"({name})"


def ratio(top: str, bottom: str) -> str:
    """The derivative of `top` with respect to `bottom`, e.g. `dC/da`."""
    return f"d{d(top)}/d{d(bottom)}"


def local(top: str, bottom: str, root: str) -> str:
    """A local partial, d(top)/d(bottom) through one op; written with ∂ when `top` is the
    root, where dC/dx would read as the total derivative (`∂f/∂x = x` beside `df/dx = 2`)."""
    return ratio(top, bottom) if top != root else f"∂{d(top)}/∂{d(bottom)}"


def count(n: int, noun: str) -> str:
    """`1 value`, `9 values`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def product(factors: Sequence[str]) -> str:
    """Numbers multiplied, each negative one after the first bracketed: `-3.7 * (-1)`."""
    return " * ".join(f if k == 0 or not f.startswith("-") else f"({f})" for k, f in enumerate(factors))


def expression(op: Op | None, parent_names: Sequence[str]) -> str:
    """How a node was computed, as its op writes it: `w * x`, `tanh(z)`, `s**2`; "input"
    for a leaf. A negative number is bracketed where an operator would bind it:
    `(-1.83365)**2`, `w * (-1.2)`, but `tanh(-1.2)`."""
    return "input" if op is None else op.write(_operands(op.write, parent_names))


def partial(op: Op, i: int, parent_names: Sequence[str], out: str) -> str:
    """The formula of d(out)/d(input i), with the inputs' names: `1/cosh(z)^2`, `2 * (-0.5)`."""
    template = op.formula(i, len(parent_names))
    return template.format(*_operands(lambda names: template.format(*names, out=out), parent_names), out=out)


_SLOT = "\x00{}\x00"


def _operands(write, parent_names: Sequence[str]) -> list[str]:
    """The names, each negative one bracketed unless `write` puts it alone between
    brackets or commas (a function's argument) or alone altogether."""
    names = list(parent_names)
    if not any(n.startswith("-") for n in names):
        return names
    probe = write([_SLOT.format(k) for k in range(len(names))])
    for k, name in enumerate(names):
        slot = _SLOT.format(k)
        at = probe.find(slot)
        before = probe[:at].rstrip()[-1:] if at >= 0 else ""
        after = probe[at + len(slot):].lstrip()[:1] if at >= 0 else ""
        enclosed = (before in ("(", ",") and after in (")", ",")) or (before == after == "")
        if name.startswith("-") and not enclosed:
            names[k] = f"({name})"
    return names


def table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Iterable[int] = ()) -> str:
    """An aligned text table: a header, a rule, one line per row; columns in `right` are
    right-aligned (numbers), the others left-aligned."""
    rows = [list(header), *map(list, rows)]
    right = set(right)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------- the same, in LaTeX

_LATEX_NAME = re.compile(r"([A-Za-z]+|[α-ω])([0-9]+(?:\.[0-9]+)*)?('*)")
_LATEX_TEXT = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
               "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}"}
_NUMBER = re.compile(r"-?(?:[0-9.]+(?:e[-+]?[0-9]+)?|inf|nan)")


def latex_number(x: float, digits: int = 6) -> str:
    """`number(x)` in LaTeX: 1.5 \\times 10^{-7} for 1.5e-07, \\infty for inf."""
    return _latex_number_text(number(x, digits))


def _latex_number_text(text: str) -> str:
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    if body == "inf":
        return sign + r"\infty"
    if body == "nan":
        return r"\text{nan}"
    mantissa, e, exponent = body.partition("e")
    return sign + (mantissa if not e else rf"{mantissa} \times 10^{{{int(exponent)}}}")


def latex_name(name: str) -> str:
    """A display name in LaTeX: w, x_{1}, \\mathrm{mul}_{1}, w_{1.2.3}, \\delta_{2}; a constant's
    number (negative ones in parentheses); anything else as escaped upright text."""
    match = _LATEX_NAME.fullmatch(name)
    if match:
        letters, index, primes = match.groups()
        if "α" <= letters <= "ω":  # δ, σ: the letter's command, \\delta, \\sigma
            head = "\\" + unicodedata.name(letters).rsplit(" ", 1)[1].lower().replace("lamda", "lambda")
        else:
            head = letters if len(letters) == 1 else rf"\mathrm{{{letters}}}"
        return head + (f"_{{{index}}}" if index else "") + primes
    if _NUMBER.fullmatch(name):
        shown = _latex_number_text(name)
        return f"({shown})" if shown.startswith("-") else shown
    return r"\text{" + "".join(_LATEX_TEXT.get(c, c) for c in name) + "}"


def latex_ratio(top: str, bottom: str) -> str:
    """`ratio` in LaTeX, as the documents write it: \\frac{\\partial C}{\\partial w}."""
    return rf"\frac{{\partial {latex_name(top)}}}{{\partial {latex_name(bottom)}}}"
