"""Checking derivatives: settle a doubted gradient in one call.

- `gradcheck(f, inputs)`: autodiff against central differences on every input, as a
  printable table with a verdict. When it fails, every op in the graph is checked on its
  own (its inputs nudged, its forward re-run, the op table's partial compared), and the
  message names the worst input and the nearest op whose local derivative disagrees.
- `compare(f, inputs, analytic)`: autodiff, hand-derived formulas and finite differences
  side by side (e.g. the documents' dCdw and dCdb).
- `check_nodes(root)`: the per-op check on its own.

Nothing here changes the user's objects: gradients are collected without touching
`.grad`, and every nudged `.data` is put back, also when `f` raises.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from .autodiff import distances, gradients, reverse_walk, topological_order
from .lab import active, describe_tamper
from .notation import count, names, number, table
from .ops import FloatMath
from .value import ARITHMETIC_ERRORS, Number, Value, as_float, describe

__all__ = [
    "gradcheck", "compare", "check_nodes",
    "GradcheckReport", "GradcheckRow", "ComparisonReport", "ComparisonRow", "NodeCheck",
]


# ---------------------------------------------------------------- numbers and tables

def _close(a: float, reference: float, rtol: float, atol: float) -> bool:
    """|a - reference| <= atol + rtol * |reference| (False for NaN)."""
    return abs(a - reference) <= atol + rtol * abs(reference)


def _errors(a: float, b: float) -> tuple[float, float]:
    absolute = abs(a - b)
    scale = max(abs(a), abs(b))
    return absolute, (absolute / scale if scale > 0.0 else 0.0)


def _num(x: float | None) -> str:
    return "-" if x is None else number(x, 12)


def _err(x: float) -> str:
    return f"{x:.2e}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, right-aligned numbers."""
    return table(header, rows, right=range(1, len(header)))


# ---------------------------------------------------------------- running f

def _prepare(inputs: Sequence[Value | Number], what: str) -> tuple[list[Value], list[str]]:
    if isinstance(inputs, Value):
        inputs = [inputs]
    try:
        inputs = list(inputs)
    except TypeError:
        raise TypeError(f"{what} takes a sequence of inputs, got {type(inputs).__name__}") from None
    if not inputs:
        raise ValueError(f"{what} needs at least one input")
    xs = [v if isinstance(v, Value) else Value(as_float(v, f"{what} input {i}"))
          for i, v in enumerate(inputs)]
    labels = [v.label or f"inputs[{i}]" for i, v in enumerate(xs)]
    return xs, labels


def _evaluate(f: Callable[..., Value], xs: list[Value], what: str) -> Value:
    y = f(*xs)
    if isinstance(y, Value):
        return y
    try:
        return Value(as_float(y))
    except TypeError:
        raise TypeError(f"{what}: f must return one Value, got {type(y).__name__}") from None


def _numeric(f: Callable[..., Value], xs: list[Value], i: int, eps: float, what: str) -> float:
    """Central difference of f along input i; the input's data is restored afterwards."""
    v = xs[i]
    x0 = v.data
    try:
        v.data = x0 + eps
        plus = _evaluate(f, xs, what).data
        v.data = x0 - eps
        minus = _evaluate(f, xs, what).data
    except ARITHMETIC_ERRORS:
        return math.nan
    finally:
        v.data = x0
    return (plus - minus) / (2.0 * eps)


def _autodiff(f: Callable[..., Value], xs: list[Value], what: str) -> tuple[Value, list[float]]:
    y = _evaluate(f, xs, what)
    return y, gradients(y, xs)


def _check_tolerances(eps: float, rtol: float, atol: float) -> tuple[float, float, float]:
    eps, rtol, atol = as_float(eps, "eps"), as_float(rtol, "rtol"), as_float(atol, "atol")
    if not eps > 0.0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    if rtol < 0.0 or atol < 0.0:
        raise ValueError(f"rtol and atol must not be negative, got rtol={rtol!r}, atol={atol!r}")
    return eps, rtol, atol


# ---------------------------------------------------------------- the per-node check

@dataclass(frozen=True)
class NodeCheck:
    """One op's local derivative with respect to one of its inputs, table vs numeric."""

    node: Value
    position: int  # the node's index in topological order (explain's # is position + 1)
    input_index: int
    partial: float  # what the op table says
    numeric: float  # central difference of the op's own forward
    ok: bool
    note: str = ""
    name: str = ""  # the node's display name, as `engine.explain` and the drawings show it
    operand_names: tuple[str, ...] = ()

    @property
    def op_name(self) -> str:
        return self.node.op.name

    def describe(self) -> str:
        op = self.node.op
        operands = self.operand_names or tuple(map(describe, self.node.parents))
        name = self.name or op.name
        wrt = operands[self.input_index]
        value = self.node.parents[self.input_index].data
        where = f", scope {self.node.scope!r}" if self.node.scope else ""
        return (
            f"{name} = {op.name}({', '.join(operands)}) (#{self.position + 1} in the forward "
            f"pass{where}): d({name})/d({wrt}) is {_num(self.partial)} by the op table but "
            f"{_num(self.numeric)} by finite differences, at {wrt} = {_num(value)}"
        )


def _forward(op, xs: list[float]) -> float:
    return op.forward(FloatMath, *xs)


def _check_partial(op, xs: list[float], j: int, partial: float, eps: float,
                   rtol: float, atol: float) -> tuple[float, bool, str]:
    """(numeric, ok, note) for d op/d input j at xs."""
    def at(x: float) -> float:
        moved = list(xs)
        moved[j] = x
        return _forward(op, moved)

    x0 = xs[j]
    try:
        mid = at(x0)
    except ARITHMETIC_ERRORS:
        return math.nan, True, "undefined at this point"
    try:
        plus = at(x0 + eps)
    except ARITHMETIC_ERRORS:
        plus = None
    try:
        minus = at(x0 - eps)
    except ARITHMETIC_ERRORS:
        minus = None
    if plus is None and minus is None:
        return math.nan, True, "undefined next to this point"
    if plus is None or minus is None:  # at the edge of the domain: one-sided
        numeric = (mid - minus) / eps if plus is None else (plus - mid) / eps
        ok = _close(partial, numeric, max(rtol, math.sqrt(eps)), max(atol, math.sqrt(eps)))
        return numeric, ok, "one-sided (edge of the domain)"
    numeric = (plus - minus) / (2.0 * eps)
    if _close(partial, numeric, rtol, atol):
        return numeric, True, ""
    # A kink (relu at 0): the one-sided slopes differ and the table picks one of them.
    right, left = (plus - mid) / eps, (mid - minus) / eps
    loose = max(rtol, math.sqrt(eps))
    if not _close(left, right, loose, loose) and (
        _close(partial, right, loose, loose) or _close(partial, left, loose, loose)
    ):
        return numeric, True, "kink: one-sided slopes differ"
    return numeric, False, ""


def check_nodes(root: Value, *, eps: float = 1e-6, rtol: float = 1e-5,
                atol: float = 1e-8) -> list[NodeCheck]:
    """Check every op of `root`'s graph on its own: the op table's partial against a
    central difference of the op's forward, input by input. Returns one NodeCheck per
    (node, input), in topological order; `ok` is False where they disagree.
    """
    if not isinstance(root, Value):
        raise TypeError(f"check_nodes needs a Value, got {type(root).__name__}")
    eps, rtol, atol = _check_tolerances(eps, rtol, atol)
    order = topological_order(root)
    shown = names(order)  # the names explain() and the drawings use
    position = {node: i for i, node in enumerate(order)}
    results = []
    for visit in reverse_walk(order, {root: 1.0}):
        node = visit.node
        xs = [p.data for p in node.parents]
        for j, partial in enumerate(visit.partials):
            partial = float(partial)
            numeric, ok, note = _check_partial(node.op, xs, j, partial, eps, rtol, atol)
            results.append(NodeCheck(node, position[node], j, partial, numeric, ok, note, shown[node],
                                     tuple(shown[p] for p in node.parents)))
    results.sort(key=lambda c: (c.position, c.input_index))
    return results


def _nearest(bad: list[NodeCheck], root: Value, start: Value) -> list[NodeCheck]:
    """The disagreeing checks, nearest to `start` first (ties: topological order)."""
    order = topological_order(root)
    distance = distances(order, start)
    far = len(order) + 1
    return sorted(bad, key=lambda c: (distance.get(c.node, far), c.position, c.input_index))


# ---------------------------------------------------------------- gradcheck

@dataclass(frozen=True)
class GradcheckRow:
    """One input: autodiff against the central difference."""

    label: str
    autodiff: float
    numeric: float
    abs_error: float
    rel_error: float
    ok: bool


class _Report:
    """What both reports share: `bool(report)` is the verdict over the rows' `ok`,
    `str(report)` the table and the message, `repr` one line."""

    verdicts = ("passed", "FAILED")

    def __bool__(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def ok(self) -> bool:
        return bool(self)

    def __str__(self) -> str:
        return f"{self.table()}\n{self.message}"

    def __repr__(self) -> str:
        word = self.verdicts[0] if self else self.verdicts[1]
        return f"<{type(self).__name__} {word}: {len(self.rows)} inputs>"


@dataclass(repr=False)
class GradcheckReport(_Report):
    """What `gradcheck` found. `bool(report)` is the verdict; `str(report)` a table."""

    rows: list[GradcheckRow]
    eps: float
    rtol: float
    atol: float
    bad_nodes: list[NodeCheck] = field(default_factory=list)  # nearest to the worst input first
    message: str = ""

    @property
    def worst(self) -> GradcheckRow:
        """The input with the largest error relative to what was allowed."""
        def badness(row: GradcheckRow) -> float:
            if math.isnan(row.abs_error):
                return math.inf
            return row.abs_error / (self.atol + self.rtol * abs(row.numeric))

        return max(self.rows, key=badness)

    def table(self) -> str:
        header = ("input", "autodiff", "numeric", "abs error", "rel error", "ok")
        rows = [
            (r.label, _num(r.autodiff), _num(r.numeric), _err(r.abs_error), _err(r.rel_error),
             "yes" if r.ok else "NO")
            for r in self.rows
        ]
        return _table(header, rows)


def gradcheck(f: Callable[..., Value], inputs: Sequence[Value | Number], *, eps: float = 1e-6,
              rtol: float = 1e-5, atol: float = 1e-8) -> GradcheckReport:
    """Compare autodiff with central differences on every input of `f(*inputs)`.

    `inputs` are Values (nudged in place and restored, so `f` may also read them from a
    model instead of its arguments) or numbers (wrapped in fresh leaves). An input agrees
    when |autodiff - numeric| <= atol + rtol * |numeric|. On failure every op is checked
    on its own and `report.message` names the worst input and the nearest op whose
    local derivative disagrees.
    """
    if not callable(f):
        raise TypeError(f"gradcheck takes a function first, got {type(f).__name__}")
    eps, rtol, atol = _check_tolerances(eps, rtol, atol)
    xs, labels = _prepare(inputs, "gradcheck")
    y, auto = _autodiff(f, xs, "gradcheck")
    rows = []
    for i, (label, a) in enumerate(zip(labels, auto)):
        n = _numeric(f, xs, i, eps, "gradcheck")
        absolute, relative = _errors(a, n)
        rows.append(GradcheckRow(label, a, n, absolute, relative, _close(a, n, rtol, atol)))
    report = GradcheckReport(rows, eps, rtol, atol)
    if report:
        report.message = f"gradcheck passed: {count(len(rows), 'input')} {'agrees' if len(rows) == 1 else 'agree'} (eps={eps:g}, rtol={rtol:g}, atol={atol:g})"
        return report
    worst = report.worst
    start = xs[rows.index(worst)]
    checks = check_nodes(y, eps=eps, rtol=rtol, atol=atol)
    bad = [c for c in checks if not c.ok]
    report.bad_nodes = _nearest(bad, y, start) if bad else []
    kinks = [c for c in checks if c.note.startswith("kink")]
    report.message = _failure_message(worst, report.bad_nodes, kinks, _tampered(y))
    return report


def _tampered(y: Value) -> str:
    """What `engine.lab.tamper` is doing to this graph's backward ("" if nothing): it may
    be no wrong partial at all (a missing upstream factor, `=` for `+=`)."""
    made = active()
    if made is None or not any(v._op is not None and made.applies_to(v) for v in topological_order(y)):
        return ""
    return f"Inside engine.lab.tamper, {describe_tamper(made)}."


def _failure_message(worst: GradcheckRow, bad: list[NodeCheck], kinks: list[NodeCheck],
                     tampered: str) -> str:
    head = (
        f"gradcheck FAILED: the worst input is {worst.label!r}: autodiff {_num(worst.autodiff)}, "
        f"numeric {_num(worst.numeric)} (abs error {_err(worst.abs_error)}, "
        f"rel error {_err(worst.rel_error)})."
    )
    if math.isnan(worst.numeric):
        return head + " f is undefined within eps of this point, so there is no numeric derivative."
    if bad:
        others = f" ({len(bad) - 1} more disagreeing)" if len(bad) > 1 else ""
        found = f"{head}\nNearest op whose local derivative disagrees: {bad[0].describe()}{others}."
        return f"{found}\n{tampered}" if tampered else found
    if tampered:
        return (f"{head}\nEvery op's local derivative agrees with finite differences: the "
                f"mistake is in how backward combines them. {tampered}")
    if kinks:
        k = kinks[0]
        operands = ", ".join(map(describe, k.node.parents))
        return (
            f"{head}\nEvery op's local derivative agrees with finite differences, but "
            f"{k.op_name}({operands}) sits on a kink, where the slopes to the left and right "
            "differ and the derivative is a convention: move the point, not the code."
        )
    return (
        f"{head}\nEvery op's local derivative agrees with finite differences, so the graph "
        "itself differs from f: f may read .data or plain floats (that dependence is "
        "invisible to backward), sit on a kink or discontinuity, or eps may not suit f."
    )


# ---------------------------------------------------------------- compare

@dataclass(frozen=True)
class ComparisonRow:
    """One input: autodiff, the hand-derived value (None if not given) and numeric."""

    label: str
    autodiff: float
    analytic: float | None
    numeric: float
    ok: bool


@dataclass(repr=False)
class ComparisonReport(_Report):
    """What `compare` found. `bool(report)` is agreement; `str(report)` a table."""

    verdicts = ("agrees", "DISAGREES")

    rows: list[ComparisonRow]
    rtol: float
    atol: float
    message: str = ""

    def table(self) -> str:
        header = ("input", "autodiff", "analytic", "numeric", "agree")
        rows = [
            (r.label, _num(r.autodiff), _num(r.analytic), _num(r.numeric), "yes" if r.ok else "NO")
            for r in self.rows
        ]
        return _table(header, rows)


def compare(f: Callable[..., Value], inputs: Sequence[Value | Number],
            analytic: Mapping[str, float | Callable[..., float]], *, eps: float = 1e-6,
            rtol: float = 1e-5, atol: float = 1e-8) -> ComparisonReport:
    """Autodiff, your hand-derived derivatives and finite differences, side by side.

    `analytic` maps an input's label to its derivative: a number, or a callable that
    takes the input values (floats, in `inputs` order), like the documents'
    `dCdw(w1, b1, x, y)`. Inputs without an entry are compared autodiff vs numeric only.
    """
    if not callable(f):
        raise TypeError(f"compare takes a function first, got {type(f).__name__}")
    if not isinstance(analytic, Mapping):
        raise TypeError(f"analytic must map input labels to derivatives, got {type(analytic).__name__}")
    eps, rtol, atol = _check_tolerances(eps, rtol, atol)
    xs, labels = _prepare(inputs, "compare")
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"compare needs distinct input labels; repeated: {', '.join(repeated)}")
    unknown = [key for key in analytic if key not in labels]
    if unknown:
        raise ValueError(
            f"analytic has no input labelled {', '.join(map(repr, unknown))}; "
            f"the inputs are {', '.join(map(repr, labels))}"
        )
    data = [v.data for v in xs]
    hand = {label: _analytic_value(label, analytic[label], data) for label in analytic}
    _, auto = _autodiff(f, xs, "compare")
    rows = []
    for i, (label, a) in enumerate(zip(labels, auto)):
        n = _numeric(f, xs, i, eps, "compare")
        h = hand.get(label)
        ok = _close(a, n, rtol, atol)
        if h is not None:
            ok = ok and _close(h, a, rtol, atol) and _close(h, n, rtol, atol)
        rows.append(ComparisonRow(label, a, h, n, ok))
    report = ComparisonReport(rows, rtol, atol)
    report.message = (
        f"all agree (rtol={rtol:g}, atol={atol:g})" if report
        else "DISAGREE: " + "; ".join(_disagreement(r, rtol, atol) for r in rows if not r.ok)
    )
    return report


def _analytic_value(label: str, given: float | Callable[..., float], data: list[float]) -> float:
    if callable(given):
        try:
            given = given(*data)
        except TypeError as error:
            raise TypeError(
                f"analytic[{label!r}] is called with the {len(data)} input values: {error}"
            ) from error
    return as_float(given, f"analytic[{label!r}]")


def _disagreement(row: ComparisonRow, rtol: float, atol: float) -> str:
    """Which of the three is the odd one out."""
    auto_numeric = _close(row.autodiff, row.numeric, rtol, atol)
    if row.analytic is None:
        return f"{row.label!r}: autodiff {_num(row.autodiff)} vs numeric {_num(row.numeric)}"
    formula_numeric = _close(row.analytic, row.numeric, rtol, atol)
    if auto_numeric and not formula_numeric:
        return (f"{row.label!r}: the formula gives {_num(row.analytic)}, autodiff and numeric "
                f"{_num(row.autodiff)} (check the formula)")
    if formula_numeric and not auto_numeric:
        return (f"{row.label!r}: autodiff {_num(row.autodiff)} differs from the formula and "
                f"numeric {_num(row.analytic)} (check the graph: gradcheck names the op)")
    return (f"{row.label!r}: autodiff {_num(row.autodiff)}, formula {_num(row.analytic)}, "
            f"numeric {_num(row.numeric)}")
