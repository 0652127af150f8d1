"""The replay's rewrite pass: chains of adds become one sum, products inside them one dot.

How a formula is written should not decide how fast it replays. Python's `sum()` over
Values, or `z = z + w * x` in a loop, leaves a chain of binary adds as deep as the list
is long; the replay computes one level at a time, so each link would cost a round of
numpy calls. This pass flattens every such chain into one node before scheduling:

- a single-use add, sub, neg or sum feeding another of them is folded into it (its
  inputs become terms of the outer node, with the sign the path gives them);
- a single-use product (mul, or a dot's pairs) that is a term with a + sign becomes a
  pair of a dot.

The result is written with the op table's own n-ary entries: `sum` when every term is a
plain + term, else `dot`, whose pairs are the products and (term, +-1) for the other
terms. The +-1 are constant leaves of the plan, not of the user's graph. Nodes in `keep`
and the root are never folded away, so their values stay readable.

The plan's numbers equal the recorded graph's up to the order of additions (1e-12), and
every leaf of the graph is a leaf of the plan, so gradients land in the same leaves.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import chain
from typing import Collection, Sequence

from . import ops
from .ops import Op
from .value import Value

__all__ = ["Plan", "rewrite"]

LINEAR = frozenset((ops.ADD, ops.SUB, ops.NEG, ops.SUM))  # nodes whose inputs are terms
PRODUCTS = frozenset((ops.MUL, ops.DOT))  # nodes whose terms are products
SIGNS = {ops.ADD: (1, 1), ops.SUB: (1, -1), ops.NEG: (-1,)}  # sum: every sign +1


@dataclass
class Plan:
    """The graph to schedule: node i has op `ops[i]` (None: a leaf) over `parents[i]`.

    `source[i]` is the recorded Value node i computes (None for the constants +1 and -1
    the rewrite adds, whose numbers are in `constants`). Leaves keep their Values, so the
    replay reads their data and writes their gradients; `index` maps a recorded Value
    that survived the rewrite to its node.
    """

    ops: list[Op | None]
    parents: list[tuple[int, ...]]
    source: list[Value | None]
    constants: dict[int, float]
    index: dict[Value, int]


def rewrite(order: Sequence[Value], keep: Collection[Value] = ()) -> Plan:
    """The plan of `order` (a topological order, root last) with chains flattened."""
    root = order[-1]
    uses = Counter(chain.from_iterable(v._parents for v in order))

    def single_use(v: Value) -> bool:
        return uses[v] == 1 and v is not root and v not in keep

    # A linear node is folded into the linear node that is its only consumer.
    folded = {p for v in order if v._op in LINEAR for p in v._parents if p._op in LINEAR and single_use(p)}
    terms: dict[Value, list[tuple[int, Value, Value | None]]] = {}
    absorbed: set[Value] = set()
    for v in order:
        if v._op in LINEAR and v not in folded:
            expanded, products = _terms(v, folded, single_use)
            if products or any(p in folded for p in v._parents):
                terms[v] = expanded
                absorbed.update(products)
    return _build(order, folded | absorbed, terms)


def _terms(v: Value, folded: set, single_use) -> tuple[list, list]:
    """The signed terms of linear node `v`, left to right, and the products split into
    them: (sign, a, b) means sign*a*b and (sign, a, None) sign*a."""
    out: list[tuple[int, Value, Value | None]] = []
    products: list[Value] = []
    stack = list(zip(v._parents, _signs(v)))[::-1]
    while stack:
        node, sign = stack.pop()
        op = node._op
        if node in folded:
            stack.extend(reversed(list(zip(node._parents, (sign * s for s in _signs(node))))))
        elif sign > 0 and op in PRODUCTS and single_use(node):
            products.append(node)
            n = len(node._parents) // 2 if op is ops.DOT else 1
            out.extend((1, w, x) for w, x in zip(node._parents[:n], node._parents[n:]))
        else:
            out.append((sign, node, None))
    return out, products


def _signs(v: Value) -> tuple[int, ...]:
    return SIGNS.get(v._op) or (1,) * len(v._parents)


def _build(order: Sequence[Value], gone: set, terms: dict) -> Plan:
    plan = Plan([], [], [], {}, {})
    index, op_of, parents, source = plan.index, plan.ops, plan.parents, plan.source
    at = index.__getitem__
    unit: dict[int, int] = {}

    def constant(c: int) -> int:  # the plan's own +1 or -1 leaf, made once
        if c not in unit:
            unit[c] = len(op_of)
            op_of.append(None), parents.append(()), source.append(None)
            plan.constants[unit[c]] = float(c)
        return unit[c]

    for v in order:
        if v in gone:
            continue
        if v in terms:
            expanded = terms[v]
            if all(s > 0 and b is None for s, _, b in expanded):
                op, ps = ops.SUM, tuple(index[a] for _, a, _ in expanded)
            else:
                ws = [index[a] for _, a, _ in expanded]
                op, ps = ops.DOT, tuple(ws + [index[b] if b is not None else constant(s) for s, _, b in expanded])
        else:
            op, ps = v._op, tuple(map(at, v._parents))
        index[v] = len(op_of)
        op_of.append(op), parents.append(ps), source.append(v)
    return plan
