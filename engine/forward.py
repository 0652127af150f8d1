"""Forward mode: tangents carried from the inputs to the output, beside reverse mode.

Move the inputs along a direction, x(t) = x + t·ẋ. Every node then moves too, at the rate
d(node)/dt = Σ_i d(node)/d(parent_i) · d(parent_i)/dt: the chain rule again, with the
same local partials from the op table (`engine.autodiff.local_partials`), applied from
the inputs up in topological order instead of from the output down. Each node carries
its value and its tangent, as a dual number would; nothing here restates a derivative.

`forward_walk` is the forward counterpart of `engine.autodiff.reverse_walk`.
One forward pass gives one directional derivative of every node (one column of a
Jacobian); one reverse pass gives the gradient of one output (one row). A cost has one
output and many parameters, so backprop is reverse mode: `forward_sections` counts it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Mapping, NamedTuple, Sequence

from .autodiff import local_partials, reverse_walk, topological_order
from .context import state
from .derivation import Section, chain_sum
from .notation import expression, names, number, ratio, table
from .ops import FloatMath
from .value import Value, as_float, describe

__all__ = ["TangentVisit", "forward_walk", "Term", "TangentStep", "forward_mode_steps",
           "forward_sections"]


class TangentVisit(NamedTuple):
    """One interior node's turn in the forward walk: `products[i]` is
    d(node)/d(parent_i) · tangent(parent_i) (None where the parent does not move), and
    `tangent` their sum."""

    node: Value
    partials: tuple
    products: list
    tangent: object


def forward_walk(order: Sequence[Value], tangents: dict, m=FloatMath) -> Iterator[TangentVisit]:
    """The chain rule, from the inputs up: for each interior node of `order` (parents
    before children), set `tangents[node]` to Σ local partial · parent's tangent and
    yield a `TangentVisit`.

    `tangents` starts with the seeds (`{x: 1.0}` for d/dx) and ends holding the tangent of
    every node that moves. Seeded nodes keep their seed, even interior ones (they are
    then treated as inputs). With `m=ValueMath` tangents are Values, differentiable again.
    Under `detect_anomaly`, the first NaN or infinite tangent raises, naming its op.
    """
    seeds = set(tangents)
    zero = m.zero
    anomaly = state().anomaly
    for node in order:
        if node._op is None or node in seeds:
            continue
        incoming = [tangents.get(p, zero) for p in node._parents]
        if zero is None and all(t is None for t in incoming):
            continue  # nothing moves this node: no Value is built for it
        partials = local_partials(node, m)
        products = [None if t is None else m.chain(t, d) for t, d in zip(incoming, partials)]
        tangent = None
        for product in products:
            if product is not None:
                tangent = product if tangent is None else tangent + product
        if tangent is not None:
            tangents[node] = tangent
            if anomaly and not math.isfinite(tangent):
                raise FloatingPointError(f"anomaly in forward mode: the tangent of {node._op.name}"
                                         f"({', '.join(map(describe, node._parents))}) is {float(tangent)!r}")
        yield TangentVisit(node, partials, products, tangent)


# ---------------------------------------------------------------- records

@dataclass(frozen=True)
class Term:
    """One parent's share of a node's tangent: local partial · the parent's tangent."""

    parent: Value
    name: str
    formula: str        # the op table's template with the names filled in
    partial: float
    tangent: float      # the parent's tangent
    product: float


@dataclass(frozen=True)
class TangentStep:
    """One node in forward mode: its value and its tangent d(node)/d(direction)."""

    index: int
    node: Value
    name: str
    direction: str      # what the tangent is the derivative by: an input's name, or "t"
    expression: str
    value: float
    terms: tuple[Term, ...]  # empty for an input: its tangent is its seed
    tangent: float

    @property
    def text(self) -> str:
        if not self.terms:
            return f"{ratio(self.name, self.direction)} = {number(self.tangent)}  (seed)"
        return chain_sum(self.name, self.direction, self.factors(), self.tangent).text

    def factors(self) -> list[list[tuple[str, str, float]]]:
        """Each term as (numerator, denominator, value) factors: d(node)/d(parent), then
        d(parent)/d(direction)."""
        return [[(self.name, t.name, t.partial), (t.name, self.direction, t.tangent)] for t in self.terms]


def forward_mode_steps(root: Value, tangents: Mapping[Value, float] | Value) -> Iterator[TangentStep]:
    """Forward mode, one record per node in topological order (inputs first).

    `tangents` maps inputs to their rate of change (a Value alone means {it: 1}, so the
    tangents are d(node)/d(it)); inputs not given stay still. Changes no `.grad`.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")
    seeds = _seeds(tangents)
    order = topological_order(root)
    label = names(order)
    direction = _direction(seeds, label)
    found = dict(seeds)
    visits = {visit.node: visit for visit in forward_walk(order, found)}
    for index, node in enumerate(order):
        parents = node._parents
        parent_names = [label[p] for p in parents]
        visit = visits.get(node)
        terms = () if visit is None else tuple(
            Term(p, parent_names[i], node._op.formula(i, len(parents)).format(*parent_names, out=label[node]),
                 visit.partials[i], found.get(p, 0.0), visit.products[i])
            for i, p in enumerate(parents))
        yield TangentStep(index, node, label[node], direction, expression(node._op, parent_names),
                          node.data, terms, found.get(node, 0.0))


def _seeds(tangents: Mapping[Value, float] | Value) -> dict[Value, float]:
    if isinstance(tangents, Value):
        return {tangents: 1.0}
    if not isinstance(tangents, Mapping):
        raise TypeError(f"tangents must be a Value or a dict of Values to numbers, got {type(tangents).__name__}")
    seeds = {}
    for v, t in tangents.items():
        if not isinstance(v, Value):
            raise TypeError(f"tangents: every key must be a Value, got {type(v).__name__}")
        seeds[v] = as_float(t, f"the tangent of {v.label or 'an input'}")
    return seeds


def _direction(seeds: dict[Value, float], label: dict[Value, str]) -> str:
    """d/dx when one input moves at rate 1 (and it is in the graph), else d/dt."""
    if len(seeds) == 1:
        (v, t), = seeds.items()
        if t == 1.0 and v in label:
            return label[v]
    return "t"


# ---------------------------------------------------------------- explain(mode="forward")

def _narrow(rows: list[list[str]]) -> list[list[str]]:
    """A pass's rows in four columns: an input's tangent beside it, a computed node's on
    a row of its own, under its rule."""
    out = []
    for r in rows:
        if r[3] in ("", "seed"):
            out.append(r[:3] + [f"{r[3]}: {r[4]}" if r[3] else r[4]])
        else:
            out += [r[:4], ["", "", "", "  " + r[4]]]
    return out


def forward_sections(root: Value, wrt: Sequence[Value] | None = None, width: int | None = None) -> list[Section]:
    """One forward-mode pass per input of `wrt` (default: the labelled inputs, or every
    input when none is labelled), then the work counted against one reverse pass. A
    table wider than `width` puts each tangent on a row of its own, under its rule."""
    order = topological_order(root)
    leaves = [v for v in order if v._op is None]
    if wrt is None:
        wrt = [v for v in leaves if v.label] or leaves
    wrt = list(wrt)
    for v in wrt:
        if not isinstance(v, Value):
            raise TypeError(f"wrt: expected the graph's input Values, got {type(v).__name__}")
        if v not in leaves:
            raise ValueError(f"wrt: {describe(v)} is not an input of this graph")
    passes = [list(forward_mode_steps(root, x)) for x in wrt]
    header = ["#", "node", "value", "tangent rule", "tangent"]
    tables = [[[str(s.index + 1), s.name, number(s.value), _rule(s),
                f"{ratio(s.name, s.direction)} = {number(s.tangent)}"] for s in steps] for steps in passes]
    if width is not None and any(len(line) > width for rows in tables
                                 for line in table(header, rows, right=frozenset({2})).splitlines()):
        header, tables = ["#", "node", "value", "tangent rule, then the tangent"], [_narrow(rows) for rows in tables]
    sections, products = [], 0
    for steps, rows in zip(passes, tables):
        equations = [chain_sum(s.name, s.direction, s.factors(), s.tangent) for s in steps if s.terms]
        products += sum(len(s.terms) for s in steps)
        sections.append(Section(
            f"Forward mode along {steps[-1].direction}: each tangent sums local partial * parent's tangent",
            header, rows, frozenset({2}), equations))
    backward = sum(len(visit.products) for visit in reverse_walk(order, {root: 1.0}))
    n = len(wrt)
    work = [
        f"forward mode: {n} pass{'es' if n != 1 else ''} (one per input), {products} chain-rule "
        f"products for {n} derivative{'s' if n != 1 else ''}",
        f"reverse mode: 1 pass (one per output), {backward} products for every input's derivative",
        "For n inputs and m outputs, forward mode takes n passes (the Jacobian's columns)",
        "and reverse mode m (its rows). A cost has one output and many parameters:",
        "backprop is reverse mode.",
    ]
    sections.append(Section("The work, forward against reverse", notes=work))
    return sections


def _rule(s: TangentStep) -> str:
    """The tangent rule of one node in the notation of the reverse steps."""
    if not s.terms:
        return "seed" if s.tangent else ""
    return " + ".join(f"{ratio(s.name, t.name)} * {ratio(t.name, s.direction)}" for t in s.terms)

