"""Step through the forward and backward pass one record at a time.

`backward_steps` is the chain rule made visible: one `BackwardStep` per interior node in
reverse topological order, naming the upstream gradient, each local partial (formula from
the op table, and its value), the product sent to each parent and the parent's running
total, so a reused node shows its sum over paths. It sets `.grad` as it goes, with the
same float operations in the same order as `engine.backward`, so running every step
leaves exactly (bit for bit) the gradients of `backward()`.

Names come from `names(order)`: a Value's label, or a readable generated one ("mul1",
"tanh1", or the number itself for an unlabelled constant). Derivatives are written in the
documents' notation: dC/dz = dC/da * da/dz.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from .autodiff import check_grads_finite, start_backward, topological_order
from .context import state
from .ops import FloatMath, Op, fmt_number
from .value import ARITHMETIC_ERRORS, Value, as_float, describe

__all__ = [
    "ForwardStep", "BackwardStep", "Edge", "forward_steps", "backward_steps", "explain",
    "names", "expression", "d", "number",
]


# ---------------------------------------------------------------- names and notation

def names(order: Iterable[Value]) -> dict[Value, str]:
    """A display name for every Value in `order`: its label, else a generated one.

    Unlabelled results are named after their op and a counter (`mul1`, `tanh1`, ...),
    skipping names that a label already uses; unlabelled leaves (constants, mostly) are
    shown as their number. Shared by the stepper, the drawings and the player.
    """
    order = list(order)
    taken = {v.label for v in order if v.label}
    counters: dict[str, int] = {}
    result: dict[Value, str] = {}
    for v in order:
        if v.label:
            result[v] = v.label
        elif v._op is None:
            result[v] = number(v.data)
        else:
            base = v._op.name
            k = counters.get(base, 0)
            while True:
                k += 1
                candidate = f"{base}{k}"
                if candidate not in taken:
                    break
            counters[base] = k
            taken.add(candidate)
            result[v] = candidate
    return result


def number(x: float) -> str:
    """How the stepper, drawings and player print a number: short, but exact for integers."""
    if math.isnan(x) or math.isinf(x):
        return repr(x)
    return fmt_number(x)


_BARE = re.compile(r"[A-Za-zα-ωΑ-Ω](_?[0-9]+)?'*")


def d(name: str) -> str:
    """`name` as it follows a `d` in dC/dname: bare when short (dC/dw), else dC/d(mul1)."""
    return name if _BARE.fullmatch(name) else f"({name})"


def ratio(top: str, bottom: str) -> str:
    """The derivative of `top` with respect to `bottom`, e.g. `dC/da`."""
    return f"d{d(top)}/d{d(bottom)}"


def expression(op: Op | None, parent_names: Sequence[str]) -> str:
    """How a node was computed, from its op's symbol: `w * x`, `tanh(z)`, `s**2`, `Σ(a, b)`."""
    if op is None:
        return "input"
    symbol = op.symbol
    if op.name == "dot":
        n = len(parent_names) // 2
        return " + ".join(f"{w}{symbol}{x}" for w, x in zip(parent_names[:n], parent_names[n:]))
    if op.arity == 2 and len(parent_names) == 2:
        return f"{parent_names[0]} {symbol} {parent_names[1]}"
    if op.name == "neg":
        return f"-{parent_names[0]}"
    if op.name == "pow":
        return f"{parent_names[0]}{symbol}"
    return f"{symbol}({', '.join(parent_names)})"


# ---------------------------------------------------------------- records

@dataclass(frozen=True)
class ForwardStep:
    """One node computed in the forward pass (leaves are inputs, shown as given)."""

    index: int
    node: Value
    name: str
    expression: str
    value: float
    parents: tuple[Value, ...]

    @property
    def text(self) -> str:
        if self.node._op is None:
            return f"{self.name} = {number(self.value)}  (input)"
        return f"{self.name} = {self.expression} = {number(self.value)}"


@dataclass(frozen=True)
class Edge:
    """What one backward step sends to one parent: upstream * local partial."""

    parent: Value
    name: str           # the parent's display name
    position: int       # the parent's argument position in the op
    formula: str        # the op table's template with the names filled in, e.g. "1/cosh(z)^2"
    partial: float      # the local derivative's value
    product: float      # upstream * partial: what is added to the parent's grad
    total: float        # the parent's grad after this addition (running sum over paths)
    arrivals: int       # how many products this parent has received so far in this walk


@dataclass(frozen=True)
class BackwardStep:
    """One interior node's turn in the backward pass, in reverse topological order."""

    index: int
    node: Value
    name: str
    root_name: str
    upstream: float     # d(root)/d(node): the gradient arriving from above
    edges: tuple[Edge, ...]

    def lines(self) -> list[str]:
        """The step in the documents' notation: upstream, then per parent the local
        partial and the product sent (with the running total when a node is reused)."""
        r, n = self.root_name, self.name
        out = [f"upstream  {ratio(r, n)} = {number(self.upstream)}"]
        for e in self.edges:
            local = ratio(n, e.name)
            out.append(f"to {e.name}:")
            out.append(f"  local   {local} = {_shown(e)}")
            out.append(
                f"  sent    {ratio(r, n)} * {local} = {number(self.upstream)} * {number(e.partial)}"
                f" = {number(e.product)}"
            )
            paths = f"  (sum of {e.arrivals} paths so far)" if e.arrivals > 1 else ""
            out.append(f"  total   {ratio(r, e.name)} = {number(e.total)}{paths}")
        return out


def _shown(e: Edge) -> str:
    """A partial's formula and value, once when they read the same ("1", not "1 = 1")."""
    value = number(e.partial)
    return value if e.formula == value else f"{e.formula} = {value}"


# ---------------------------------------------------------------- walking

def forward_steps(root: Value) -> Iterator[ForwardStep]:
    """One record per Value in topological order (parents first, root last).

    The values are the ones already computed (a Value computes when it is made); the
    records say how each was computed, with the op table's symbols and the names.
    """
    _check_value(root)
    order = topological_order(root)
    label = names(order)
    for i, v in enumerate(order):
        parents = v._parents
        yield ForwardStep(i, v, label[v], expression(v._op, [label[p] for p in parents]), v.data, parents)


def backward_steps(root: Value, grad: float = 1.0) -> Iterator[BackwardStep]:
    """The backward pass, one interior node at a time, setting `.grad` as it goes.

    Same semantics as `root.backward(grad)`: interior grads are reset when the walk
    starts, leaves accumulate. Exhaust the iterator to get exactly `backward()`'s
    gradients; stop early and the grads hold the partial sums so far.
    """
    _check_value(root)
    seed = as_float(grad, "backward seed")
    order = topological_order(root)
    label = names(order)
    return _walk(order, label, seed)


def _walk(order: list[Value], label: dict[Value, str], seed: float) -> Iterator[BackwardStep]:
    root = order[-1]
    start_backward(order, seed)  # exactly as backward() starts
    m = FloatMath
    check = state().anomaly
    arrivals: dict[Value, int] = {}
    root_name = label[root]
    index = 0
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        g = node.grad
        parents = node._parents
        n = len(parents)
        try:
            local = op.partials(m, node.data, *[p.data for p in parents])
        except ARITHMETIC_ERRORS as error:
            raise type(error)(
                f"in backward: the local derivative of {op.name}"
                f"({', '.join(map(describe, parents))}): {error}"
            ) from None
        names_in = [label[p] for p in parents]
        edges = []
        for i, (parent, partial) in enumerate(zip(parents, local)):
            product = g * partial
            parent.grad += product
            count = arrivals.get(parent, 0) + 1
            arrivals[parent] = count
            formula = op.formula(i, n).format(*names_in, out=label[node])
            edges.append(Edge(parent, names_in[i], i, formula, partial, product, parent.grad, count))
        if check:
            check_grads_finite(node, parents)
        yield BackwardStep(index, node, label[node], root_name, g, tuple(edges))
        index += 1


def _check_value(root: object) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")


# ---------------------------------------------------------------- the table

def explain(root: Value, grad: float = 1.0) -> str:
    """The forward and backward pass of `root` as aligned text tables, using the labels.

    Computes the gradients of one fresh backward pass (leaf grads start at 0) and puts
    every `.grad` back as it was afterwards: explaining changes nothing.
    """
    _check_value(root)
    order = topological_order(root)
    saved = [v.grad for v in order]
    try:
        for v in order:
            v.grad = 0.0
        fwd = list(forward_steps(root))
        bwd = list(backward_steps(root, grad))
    finally:
        for v, g in zip(order, saved):
            v.grad = g
    label = names(order)
    r = label[root]

    forward_rows = [["#", "node", "computed as", "value"]]
    for s in fwd:
        forward_rows.append([str(s.index + 1), s.name, s.expression, number(s.value)])

    backward_rows = [["#", "node", "upstream", "local partial", "chain rule product", "sent", "running total"]]
    for s in bwd:
        first = True
        for e in s.edges:
            local = ratio(s.name, e.name)
            backward_rows.append([
                str(s.index + 1) if first else "",
                s.name if first else "",
                f"{ratio(r, s.name)} = {number(s.upstream)}" if first else "",
                f"{local} = {_shown(e)}",
                f"{ratio(r, s.name)} * {local}",
                number(e.product),
                f"{ratio(r, e.name)} = {number(e.total)}"
                + (f" (sum of {e.arrivals} paths)" if e.arrivals > 1 else ""),
            ])
            first = False
    if not bwd:
        backward_rows.append(["", r, f"{ratio(r, r)} = {number(as_float(grad))}", "", "", "", ""])

    leaves = [v for v in order if v._op is None]
    grads = [[f"{ratio(r, label[v])}", number(g)] for v, g in _fresh_leaf_grads(order, bwd, as_float(grad))]
    chains = _chains(order, bwd, label)
    parts = [
        f"Forward pass ({len(fwd)} values)",
        _table(forward_rows, right={3}),
        "",
        f"Backward pass ({len(bwd)} steps): each parent receives upstream * local partial",
        _table(backward_rows, right={5}),
        "",
        f"Gradients of the inputs ({len(leaves)})",
        _table([["gradient", "value"]] + grads, right={1}),
    ]
    if chains:
        parts += ["", "The chain rule along every path to each input", *chains]
    return "\n".join(parts)


MAX_CHAINS = 16
"""`explain` writes out every path's product only for graphs with at most this many paths."""


def _chains(order: list[Value], bwd: list[BackwardStep], label: dict[Value, str]) -> list[str]:
    """One line per path from the root to an input: dC/dw = dC/da * da/dz * dz/dw = ...

    Empty when the graph has more than MAX_CHAINS such paths (they multiply quickly).
    """
    root = order[-1]
    count = {root: 1}
    for v in reversed(order):
        for p in v._parents:
            count[p] = count.get(p, 0) + count.get(v, 0)
    leaves = [v for v in order if v._op is None and v is not root]
    if not leaves or sum(count.get(v, 0) for v in leaves) > MAX_CHAINS:
        return []
    partial = {(s.node, e.position): e.partial for s in bwd for e in s.edges}
    paths: dict[Value, list[list[tuple[Value, int]]]] = {}
    stack: list[tuple[Value, list[tuple[Value, int]]]] = [(root, [])]
    while stack:
        v, path = stack.pop()
        if v._op is None:
            paths.setdefault(v, []).append(path)
            continue
        for i, p in reversed(list(enumerate(v._parents))):
            stack.append((p, path + [(v, i)]))
    r = label[root]
    lines = []
    for leaf in leaves:
        for k, path in enumerate(paths.get(leaf, [])):
            factors = [ratio(label[v], label[v._parents[i]]) for v, i in path]
            values = [number(partial[step]) for step in path]
            product = 1.0
            for step in path:
                product *= partial[step]
            head = f"{ratio(r, label[leaf])} =" if k == 0 else " " * len(ratio(r, label[leaf])) + " +"
            lines.append(f"{head} {' * '.join(factors)} = {' * '.join(values)} = {number(product)}")
    return lines


def _fresh_leaf_grads(order, bwd, seed):
    """Each leaf's total after the walk (its last running total; the seed for a leaf root)."""
    totals: dict[Value, float] = {}
    for s in bwd:
        for e in s.edges:
            totals[e.parent] = e.total
    if len(order) == 1:
        totals[order[0]] = seed
    return [(v, totals.get(v, 0.0)) for v in order if v._op is None]


def _table(rows: list[list[str]], right: set[int] = frozenset()) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
