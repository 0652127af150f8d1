"""Derivations as text, Markdown or LaTeX: one explanation, written three ways.

A reader (`explain`, forward mode) builds its explanation once, as `Section`s: a title,
an optional table of plain-text cells, and equations that know how they read in text
and in LaTeX. `render` writes them out: text (aligned tables, the terminal's view),
Markdown (tables, with the equations as display maths) or LaTeX (every equation in an
`align*` block, ready to paste into lecture notes or slides). Markdown and LaTeX come
back as `Markdown` / `Latex` strings, which print as their source and display typeset
in Jupyter.

The equations are built here from names, ops and numbers, so that the chain rule reads
the same in every format: dC/dw = dC/da * da/dz * dz/dw in text is
\\frac{\\partial C}{\\partial w} = \\frac{\\partial C}{\\partial a} ... in LaTeX.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .notation import latex_name, latex_number, latex_ratio, number, ratio, table
from .ops import Op

__all__ = [
    "FORMATS", "Equation", "Section", "Latex", "Markdown", "render", "check_format",
    "computed", "local_partial", "chain_sum",
]

FORMATS = ("text", "markdown", "latex")


@dataclass(frozen=True)
class Equation:
    """One line of a derivation, as it reads in text and in LaTeX."""

    text: str
    latex: str


@dataclass(frozen=True)
class Section:
    """A titled part of an explanation. Text and Markdown show the table when there is
    one, else the equations; LaTeX shows the equations (a section without any is left
    out). `notes` are lines of prose after it: plain lines in text and Markdown, comments
    in LaTeX."""

    title: str
    header: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    right: frozenset[int] = frozenset()
    equations: Sequence[Equation] = ()
    notes: Sequence[str] = ()


class Latex(str):
    """LaTeX source: prints as the source, displays typeset in Jupyter."""

    def _repr_latex_(self) -> str:
        return "\n".join(line for line in self.splitlines() if not line.startswith("%"))


class Markdown(str):
    """Markdown source: prints as the source, displays rendered in Jupyter."""

    def _repr_markdown_(self) -> str:
        return str(self)


def check_format(format: object) -> str:
    """`format` if it is one of FORMATS, else a ValueError listing them."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    return format  # type: ignore[return-value]


def render(sections: Sequence[Section], format: str = "text") -> str:
    """The sections in one of FORMATS: a str for text, a `Markdown` or `Latex` string."""
    check_format(format)
    if format == "latex":
        return Latex("\n\n".join(_latex_section(s) for s in sections if s.equations or s.notes))
    if format == "markdown":
        return Markdown("\n\n".join(_markdown_section(s) for s in sections))
    parts = []
    for s in sections:
        body = table(s.header, s.rows, right=s.right) if s.rows else "\n".join(e.text for e in s.equations)
        parts.append("\n".join(filter(None, [s.title, body, *s.notes])))
    return "\n\n".join(parts)


def _latex_section(s: Section) -> str:
    comments = "".join(f"\n% {line}" for line in s.notes)
    if not s.equations:
        return f"% {s.title}{comments}"
    lines = " \\\\\n".join(f"  {e.latex}" for e in s.equations)
    return f"% {s.title}\n\\begin{{align*}}\n{lines}\n\\end{{align*}}{comments}"


def _markdown_section(s: Section) -> str:
    parts = [f"**{_markdown_text(s.title)}**"]
    if s.rows:
        align = ["---:" if i in s.right else "---" for i in range(len(s.header))]
        parts.append("\n".join("| " + " | ".join(map(_markdown_cell, row)) + " |"
                               for row in [s.header, align, *s.rows]))
    elif s.equations:
        equations = " \\\\\n".join(e.latex for e in s.equations)
        parts.append(f"$$\n\\begin{{aligned}}\n{equations}\n\\end{{aligned}}\n$$")
    if s.notes:
        parts.append("\n".join(_markdown_text(line) for line in s.notes))
    return "\n\n".join(parts)


def _markdown_text(text: str) -> str:
    """Text with Markdown's special characters escaped (in a cell, | would end it)."""
    for c in "\\|*_`<[":
        text = text.replace(c, "\\" + c)
    return text


def _markdown_cell(text: str) -> str:
    return _markdown_text(text) or " "


# ---------------------------------------------------------------- equations

def _factor(x: float) -> str:
    """A number as a factor in a LaTeX product: negative ones in parentheses."""
    shown = latex_number(x)
    return f"({shown})" if shown.startswith("-") else shown


def computed(name: str, op: Op | None, parent_names: Sequence[str], value: float) -> Equation:
    """z = w * x + b = -1.2: how a node was computed and its value (w = 2.3 for an input)."""
    if op is None:
        return Equation(f"{name} = {number(value)}", f"{latex_name(name)} &= {latex_number(value)}")
    text = f"{name} = {op.write(parent_names)} = {number(value)}"
    latex = (f"{latex_name(name)} &= {op.write_latex([latex_name(n) for n in parent_names])}"
             f" = {latex_number(value)}")
    return Equation(text, latex)


def local_partial(name: str, op: Op, parent_names: Sequence[str], i: int, value: float) -> Equation:
    """da/dz = 1/cosh(z)^2 = 0.305: one local partial, its formula from the op table."""
    n = len(parent_names)
    out = {"out": name}
    text = f"{ratio(name, parent_names[i])} = {op.formula(i, n).format(*parent_names, **out)} = {number(value)}"
    lnames = [latex_name(p) for p in parent_names]
    formula = op.formula_latex(i, n).format(*lnames, out=latex_name(name))
    shown = latex_number(value)
    rhs = shown if formula == shown else f"{formula} = {shown}"
    return Equation(text, f"{latex_ratio(name, parent_names[i])} &= {rhs}")


def chain_sum(top: str, bottom: str, terms: Sequence[Sequence[tuple[str, str, float]]],
              total: float) -> Equation:
    """d(top)/d(bottom) as a sum of chain-rule products, each a list of (numerator,
    denominator, value) factors: dC/dw = dC/da * da/dz * dz/dw + ... = (numbers) = total.

    The same equation serves the paths to an input (many factors per term), one backward
    step (upstream times local partial) and one forward step (local partial times tangent).
    """
    text_terms = [" * ".join(ratio(a, b) for a, b, _ in term) for term in terms]
    text_numbers = [" * ".join(number(v) for _, _, v in term) for term in terms]
    latex_terms = [" ".join(latex_ratio(a, b) for a, b, _ in term) for term in terms]
    latex_numbers = [r" \cdot ".join(_factor(v) for _, _, v in term) for term in terms]
    head = ratio(top, bottom)
    if len(terms) == 1 and len(terms[0]) == 1:  # nothing to multiply: the factor is the answer
        text = f"{head} = {text_terms[0]} = {number(total)}"
        latex = f"{latex_ratio(top, bottom)} &= {latex_terms[0]} = {latex_number(total)}"
        return Equation(text, latex)
    text = f"{head} = {' + '.join(text_terms)} = {' + '.join(text_numbers)} = {number(total)}"
    latex = (f"{latex_ratio(top, bottom)} &= {' + '.join(latex_terms)} \\\\\n"
             f"  &= {' + '.join(latex_numbers)} = {latex_number(total)}")
    return Equation(text, latex)
