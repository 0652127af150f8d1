"""Step through the forward and backward pass one record at a time.

`backward_steps` is the chain rule made visible: one `BackwardStep` per interior node, as
the reverse walk (`engine.autodiff.reverse_walk`) visits it, naming the upstream
gradient, each local partial (formula from the op table, and its value), the product
sent to each parent and the parent's running total, so a reused node shows its sum over
paths. It is the walk itself, not a copy of it: running every step leaves exactly (bit
for bit) the gradients of `backward()`.

Names and notation come from `engine.notation`: dC/dz = dC/da * da/dz.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

from .autodiff import fresh_grads, reverse_walk, topological_order
from . import notation
from .derivation import Equation, Section, chain_sum, check_format, computed, local_partial, render
from .forward import forward_sections
from .notation import expression, names, number, ratio, reading_order, table
from .value import Value, as_count, as_float

__all__ = ["ForwardStep", "BackwardStep", "Edge", "forward_steps", "backward_steps", "explain"]


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
    total: float        # d(root)/d(parent) so far in this pass: the running sum over paths
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
            local = notation.local(n, e.name, r)
            out.append(f"to {e.name}:")
            out.append(f"  local   {local} = {_shown(e)}")
            out.append(
                f"  sent    {ratio(r, n)} * {local} = {notation.product([number(self.upstream), number(e.partial)])}"
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
        written = expression(v._op, [label[p] for p in parents]) if v._op or v.label else "constant"
        yield ForwardStep(i, v, label[v], written, v.data, parents)


def backward_steps(root: Value, grad: float = 1.0) -> Iterator[BackwardStep]:
    """The backward pass, one interior node at a time, setting `.grad` as it goes.

    Same semantics as `root.backward(grad)`: interior grads hold this pass's gradient,
    leaves add it to theirs. Exhaust the iterator to get exactly `backward()`'s
    gradients; stop early and the grads hold the partial sums so far.
    """
    _check_value(root)
    seed = as_float(grad, "backward seed")
    order = topological_order(root)
    return _steps(order, names(order), seed)


def _steps(order: list[Value], label: dict[Value, str], seed: float) -> Iterator[BackwardStep]:
    root = order[-1]
    base = {v: v.grad for v in order if v._op is None}  # leaves add this pass to what they had
    for v in order:
        if v._op is not None:
            v.grad = 0.0
    root.grad = base.get(root, 0.0) + seed
    arrivals: dict[Value, int] = {}
    for index, visit in enumerate(reverse_walk(order, {root: seed})):
        node, parents = visit.node, visit.node._parents
        names_in = [label[p] for p in parents]
        edges = []
        for i, (parent, partial, product, total) in enumerate(
                zip(parents, visit.partials, visit.products, visit.totals)):
            parent.grad = base[parent] + total if parent in base else total
            arrivals[parent] = count = arrivals.get(parent, 0) + 1
            formula = notation.partial(node._op, i, names_in, label[node])
            edges.append(Edge(parent, names_in[i], i, formula, partial, product, total, count))
        yield BackwardStep(index, node, label[node], label[root], visit.upstream, tuple(edges))


def _check_value(root: object) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")


# ---------------------------------------------------------------- the table

WIDTH = 100
"""The columns `explain` fits by default: a 100-column terminal."""


def explain(root: Value, grad: float = 1.0, *, format: str = "text", mode: str = "reverse",
            wrt: Sequence[Value] | None = None, width: int = WIDTH) -> str:
    """The forward and backward pass of `root` as aligned tables, using the labels.

    Computes the gradients of one fresh backward pass (leaf grads start at 0) and puts
    every `.grad` back as it was afterwards: explaining changes nothing. `format` is
    "text", "markdown" or "latex" (the chain rule along every path, ready for notes;
    the result displays typeset in Jupyter). `mode="forward"` shows forward mode instead:
    one pass of tangents per input of `wrt` (default: the labelled inputs), and the work
    it takes beside reverse mode. `width`: the text's backward table and chains fit
    this many columns where they can (the command gives its terminal's).
    """
    _check_value(root)
    check_format(format)
    as_count(width, "width (columns)", minimum=1)
    if mode == "forward":
        if grad != 1.0:
            raise ValueError("grad seeds reverse mode; forward mode seeds each input of wrt with 1")
        return render(forward_sections(root, wrt, width if format == "text" else None), format)
    if mode != "reverse":
        raise ValueError(f"mode must be 'reverse' or 'forward', got {mode!r}")
    if wrt is not None:
        raise ValueError("wrt is for mode='forward': reverse mode gives every input's gradient at once")
    return render(_reverse_sections(root, grad, width if format == "text" else None), format)


def _reverse_sections(root: Value, grad: float, width: int | None = None) -> list[Section]:
    """explain's parts; a backward table wider than `width` (a terminal's) takes fewer
    columns, in two steps (None: every column, for Markdown and LaTeX)."""
    order = topological_order(root)
    with fresh_grads(order):
        fwd = list(forward_steps(root))
        bwd = list(backward_steps(root, grad))
    label = names(order)
    r = label[root]

    forward_rows = [[str(s.index + 1), s.name, s.expression, number(s.value)] for s in fwd]
    computed_lines = [computed(s.name, s.node._op, [label[p] for p in s.parents], s.value) for s in fwd]
    backward_rows = []
    for s in bwd:
        first = True
        for e in s.edges:
            local = notation.local(s.name, e.name, r)
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

    fresh = dict(_fresh_leaf_grads(order, bwd, as_float(grad)))
    fresh = [(v, fresh[v]) for v in reading_order(fresh)]  # by layer and neuron, each in order
    grads = [[f"{ratio(r, label[v])}", number(g)] for v, g in fresh if v.label or v is root]
    constants = [label[v] for v, _ in fresh if not (v.label or v is root)]
    unlisted = [f"(not listed: the constant{'s' if len(constants) > 1 else ''} {', '.join(constants)}; "
                "label a Value to list its gradient)"] if constants else []
    header = ["#", "node", "upstream", "local partial", "chain rule product", "sent", "running total"]
    right = frozenset({5})
    too_wide = lambda: width is not None and max(map(len, table(header, backward_rows, right=right).splitlines())) > width
    if too_wide():
        header, backward_rows, right = _narrow(header, backward_rows)
    if too_wide():
        header, backward_rows, right = _narrower(header, backward_rows)
    sections = [
        Section(f"Forward pass ({notation.count(len(fwd), 'value')})", ["#", "node", "computed as", "value"],
                forward_rows, frozenset({3}), computed_lines),
        Section(f"Backward pass ({notation.count(len(bwd), 'step')}): each parent receives upstream * local partial",
                header, backward_rows, right, _backward_equations(bwd, r)),
        Section(f"Gradients of the inputs ({len(grads)})", ["gradient", "value"], grads, frozenset({1}),
                notes=unlisted),
    ]
    chains = _chains(order, bwd, label, width or WIDTH)
    if chains:
        sections.append(Section("The chain rule along every path to each input", equations=chains))
    return sections


def _narrow(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]], frozenset[int]]:
    """The backward table in fewer columns: each step's upstream on a row of its own."""
    narrow = []
    for row in rows:
        if row[2]:
            narrow.append(row[:2] + [f"upstream {row[2]}", "", "", ""])
        narrow.append(["", ""] + row[3:])
    return header[:2] + header[3:], narrow, frozenset({4})


def _narrower(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]], frozenset[int]]:
    """The narrow table in fewer columns still: each local partial on a row of its own,
    the product that uses it below, indented."""
    narrower = []
    for row in rows:
        if row[3] or row[4] or row[5]:
            narrower += [row[:3] + ["", ""], ["", "", "  " + row[3], row[4], row[5]]]
        else:
            narrower.append(row[:3] + ["", ""])
    return header[:2] + ["local partial, then upstream * it"] + header[4:], narrower, frozenset({3})


def _backward_equations(bwd: list[BackwardStep], r: str) -> list[Equation]:
    """For LaTeX: each local partial, then each node's gradient as the sum of what its
    children sent (upstream * local partial), in the order the walk completes them."""
    partials = [local_partial(s.name, s.node._op, [e.name for e in s.edges], e.position, e.partial)
                for s in bwd for e in s.edges]
    received: dict[Value, list] = {}
    for s in bwd:
        upstream = [] if s.index == 0 else [(r, s.name, s.upstream)]  # the root's dC/dC = 1 is no factor
        for e in s.edges:
            received.setdefault(e.parent, []).append([*upstream, (s.name, e.name, e.partial)])
    last = {e.parent: e for s in bwd for e in s.edges}
    sums = [chain_sum(r, e.name, received[parent], e.total) for parent, e in last.items()
            if len(received[parent][0]) > 1 or len(received[parent]) > 1]  # not dC/dp = dC/dp
    return partials + sums



MAX_CHAINS = 16
"""`explain` writes out every path's product only for graphs with at most this many paths."""


def _chains(order: list[Value], bwd: list[BackwardStep], label: dict[Value, str], width: int = WIDTH) -> list[Equation]:
    """Per input, one line per path from the root to it: dC/dw = dC/da * da/dz * dz/dw = ...
    (in LaTeX, one equation summing the paths, equal to the gradient).

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
    leaf_grads = {e.parent: e.total for s in bwd for e in s.edges}
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
        found = paths.get(leaf, [])
        text = []
        for k, path in enumerate(found):
            if len(path) == 1:  # the root's own local partial: written ∂, not to read as the total
                factors = [notation.local(r, label[leaf], r)]
            else:
                factors = [ratio(label[v], label[v._parents[i]]) for v, i in path]
            values = [number(partial[step]) for step in path]
            total = 1.0
            for step in path:
                total *= partial[step]
            head = f"{ratio(r, label[leaf])} =" if k == 0 else " " * len(ratio(r, label[leaf])) + " +"
            text.append(_wrapped(f"{head} {' * '.join(factors)} = {notation.product(values)} = {number(total)}", width))
        if found:
            terms = [[(label[v], label[v._parents[i]], partial[(v, i)]) for v, i in path] for path in found]
            latex = chain_sum(r, label[leaf], terms, leaf_grads[leaf]).latex
            lines.append(Equation("\n".join(text), latex))
    return lines


def _wrapped(line: str, width: int) -> str:
    """A long chain-rule line broken before an "=", the rest indented, to fit `width`."""
    parts = line.split(" = ")
    out = [parts[0]]
    for part in parts[1:]:
        if len(out[-1]) + 3 + len(part) <= width:
            out[-1] += " = " + part
        else:
            out.append(" " * 8 + "= " + part)
    return "\n".join(out)


def _fresh_leaf_grads(order, bwd, seed):
    """Each leaf's total after the walk (its last running total; the seed for a leaf root)."""
    totals: dict[Value, float] = {}
    for s in bwd:
        for e in s.edges:
            totals[e.parent] = e.total
    if len(order) == 1:
        totals[order[0]] = seed
    return [(v, totals.get(v, 0.0)) for v in order if v._op is None]
