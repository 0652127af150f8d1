"""The replay's scheduler: which nodes are computed together, and where each number lives.

Every node gets a level, 1 + the highest level of its parents (leaves are level 0):
nodes of one level depend only on lower levels, so the nodes of one level and one kind
(op, how many inputs, which of them depend on the data) are computed by one kernel over
all of them at once. A node depends on the data if any parent does (data leaves do);
such nodes live in the batch array, one row each, the rest in the plain array. The
scheduler also decides, per batched node, how its kernel reads its inputs (see
`batched_inputs`), adding a broadcast node where a number must be read once per example.

It works in time and memory linear in the nodes: levels in one pass over the plan, the
grouping by one sort (numpy), and runs of tiny groups found by one scan, so a chain
100,000 levels deep costs what 100,000 wide nodes cost.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import ops
from .ops import Op
from .rewrite import Plan
from .value import Value

__all__ = ["BROADCAST", "SCALAR", "Schedule", "schedule"]

SCALAR = 8  # a group with at most this many inputs in all runs in floats: numpy would not pay
BROADCAST = Op(name="broadcast", symbol="⇉", arity=1, written="{0}", forward=lambda m, a: a,
               partials=lambda m, out, a: (1.0,), formulas=("1",))
"""The scheduler's own node: a number that does not depend on the data, once per example."""


@dataclass
class Schedule:
    """Node i (of the plan, then the broadcasts) has `ops[i]` over `parents[i]`; it lives
    in row `pos[i]` of the batch array if `batched[i]`, else of the plain array. `needed[i]`:
    a gradient is wanted from it (it is, or leads to, a leaf of `wrt`). `order` holds the
    interior nodes in the order to compute them, group k being order[starts[k]:stops[k]];
    `scalar[k]` says it runs in floats. Rows 0.. of the plain array hold `read_leaves`
    then the constants; rows 0.. of the batch array the data leaves, in the order given."""

    ops: list[Op | None]
    parents: list[tuple[int, ...]]
    batched: list[bool]
    needed: list[bool]
    levels: int
    kind: list[object]
    pos: np.ndarray
    order: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    scalar: np.ndarray
    sizes: tuple[int, int]
    read_leaves: list[Value]
    constants: dict[int, float]


def schedule(plan: Plan, data: Sequence[Value], wanted: set) -> Schedule:
    """Levels, groups and rows for `plan`, with `data` leaves batched."""
    op_of, parents, source = list(plan.ops), list(plan.parents), list(plan.source)
    fed = set(data)
    n = len(op_of)
    batched, needed, level = [False] * n, [False] * n, [0] * n
    kind: list[object] = [None] * n
    broadcasts: dict[int, int] = {}

    def broadcast(p: int) -> int:
        """The node holding p's number once per example (made once per p)."""
        if p not in broadcasts:
            broadcasts[p] = len(op_of)
            op_of.append(BROADCAST), parents.append((p,)), source.append(source[p]), kind.append(None)
            batched.append(True), needed.append(needed[p]), level.append(level[p] + 1)
        return broadcasts[p]

    is_batched, is_needed, level_of = batched.__getitem__, needed.__getitem__, level.__getitem__
    for i in range(n):
        ps = parents[i]
        if not ps:
            batched[i] = source[i] in fed
            needed[i] = source[i] in wanted
            continue
        if fed and any(map(is_batched, ps)):
            batched[i] = True
            parents[i], kind[i] = batched_inputs(op_of[i], ps, batched, broadcast)
            ps = parents[i]
        needed[i] = any(map(is_needed, ps))
        level[i] = 1 + max(map(level_of, ps))

    order, starts, stops, scalar = _groups(op_of, parents, batched, level, kind)
    pos, sizes, read_leaves, constants = _rows(plan, op_of, batched, order, data, fed)
    return Schedule(op_of, parents, batched, needed, max(level), kind, pos, order, starts, stops, scalar,
                    sizes, read_leaves, constants)


def batched_inputs(op: Op, ps: tuple[int, ...], batched: list[bool], broadcast) -> tuple[tuple[int, ...], object]:
    """A batched node's inputs as its kernel reads them, and the kind of its group.

    A dot puts first in each pair the number that does not depend on the data (a
    weight), so a layer's dot is W @ X; its other inputs, and a sum's, are broadcast.
    Unary and binary ops broadcast by themselves: their kind says which input is batched.
    """
    if op is ops.DOT:
        h = len(ps) // 2
        pairs = [(x, w) if batched[w] and not batched[x] else (w, x) for w, x in zip(ps[:h], ps[h:])]
        w_batched = any(batched[w] for w, _ in pairs)
        ws = [w if batched[w] or not w_batched else broadcast(w) for w, _ in pairs]
        xs = [x if batched[x] else broadcast(x) for _, x in pairs]
        return tuple(ws + xs), w_batched
    if op.arity is None:
        return tuple(p if batched[p] else broadcast(p) for p in ps), None
    return ps, tuple(batched[p] for p in ps)


def _groups(op_of, parents, batched, level, kind):
    """Interior nodes sorted by (batched, level, kind of node), the bounds of each group,
    and which groups are small enough to run in floats. Plain nodes come first: none
    depends on a batched one."""
    codes: dict[tuple, int] = {}
    interior = [i for i, op in enumerate(op_of) if op is not None]
    if not interior:
        empty = np.zeros(0, np.intp)
        return empty, empty, empty, np.zeros(0, bool)
    code = np.array([codes.setdefault((op_of[i], kind[i], len(parents[i])), len(codes)) for i in interior], dtype=np.intp)
    nodes = np.array(interior, dtype=np.intp)
    in_b = np.array(batched, dtype=bool)[nodes]
    lv = np.array(level, dtype=np.intp)[nodes]
    order = np.lexsort((code, lv, in_b))
    nodes, code, lv, in_b = nodes[order], code[order], lv[order], in_b[order]
    cut = np.flatnonzero((code[1:] != code[:-1]) | (lv[1:] != lv[:-1]) | (in_b[1:] != in_b[:-1])) + 1
    starts, stops = np.r_[0, cut], np.r_[cut, len(nodes)]
    arity = np.array([len(parents[i]) for i in nodes[starts].tolist()], dtype=np.intp)
    scalar = ~in_b[starts] & ((stops - starts) * np.maximum(arity, 1) <= SCALAR)
    return nodes, starts, stops, scalar


def _rows(plan: Plan, op_of, batched, order: np.ndarray, data: Sequence[Value], fed: set):
    """Rows of each node: the plain array holds the Values' leaves, the plan's constants,
    then the groups' outputs in order; the batch array the data leaves, then its groups."""
    read_leaves = [v for v, op in zip(plan.source, plan.ops) if op is None and v is not None and v not in fed]
    pos = np.zeros(len(op_of), dtype=np.intp)
    index = plan.index
    for k, v in enumerate(read_leaves):
        pos[index[v]] = k
    constants = {}
    for i, c in plan.constants.items():
        pos[i] = len(read_leaves) + len(constants)
        constants[int(pos[i])] = c
    for k, v in enumerate(data):
        pos[index[v]] = k
    in_b = np.array(batched, dtype=bool)[order] if len(order) else np.zeros(0, bool)
    base_u, base_b = len(read_leaves) + len(constants), len(data)
    plain, batch = order[~in_b], order[in_b]
    pos[plain] = base_u + np.arange(len(plain))
    pos[batch] = base_b + np.arange(len(batch))
    return pos, (base_u + len(plain), base_b + len(batch)), read_leaves, constants
