"""Reading order for `engine.draw`: which drawn nodes Graphviz must keep side by side.

Left alone, dot orders each rank to reduce crossings, and a network has many orders with
equally few (every neuron reads every input): which one it picks is an accident of its
passes, so weights came out w2.1.2, w2.1.3, w2.1.4, w2.1.1. Only a *flat* edge (its two
ends on one rank) is a hard left-to-right constraint, and dot keeps one only between
nodes of the same cluster; between two sub-clusters it drops it. So:

- nodes of one cluster that feed one op are kept in argument order (x1, x2, x3;
  w2.1.1 ... w2.1.4; the layer box before y1) by an invisible edge on a shared rank;
- sibling scopes (the neurons of a layer, drawn as boxes or as clusters) are kept in
  the natural order of their names: a box directly, a cluster through an invisible
  point (an anchor) in the parent cluster with an edge into the cluster, whose order
  dot then follows.

Only *parallel* things are put on one rank (neither depends on the other): a rank shared
by a node and something computed from it would turn an edge sideways.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .notation import natural
from .value import Value

__all__ = ["Constraints", "constraints"]


@dataclass
class Constraints:
    """Per cluster (None: the top level): `pairs` of node ids to draw side by side on
    one rank, in this order; `anchors` the invisible points to declare there, each with
    the node it points to."""

    pairs: dict[str | None, list[tuple[str, str]]] = field(default_factory=dict)
    anchors: dict[str | None, list[tuple[str, str]]] = field(default_factory=dict)


class _Ranks:
    """Nodes merged into groups that share a rank, each group with what its members
    depend on (`anc`) and what they are (`own`), as bit sets over the drawn Values."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.own: dict[str, int] = {}
        self.anc: dict[str, int] = {}

    def add(self, node: str, own: int, anc: int) -> None:
        self.parent[node], self.own[node], self.anc[node] = node, own, anc

    def find(self, node: str) -> str:
        while self.parent[node] != node:
            self.parent[node] = node = self.parent[self.parent[node]]
        return node

    def join(self, a: str, b: str) -> bool:
        """Put `a` and `b` on one rank if nothing on either depends on the other."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.own[ra] & self.anc[rb] or self.own[rb] & self.anc[ra]:
            return False
        self.parent[rb] = ra
        self.own[ra] |= self.own[rb]
        self.anc[ra] |= self.anc[rb]
        return True


def constraints(order: list[Value], visible: set[Value], node_of: dict[Value, str],
                top_of: dict[Value, str], home: dict[str, str | None],
                scopes: Iterable[str], boxes: dict[str, str]) -> Constraints:
    """The constraints that make a drawing read in order.

    `node_of` is the drawn node of each visible Value (its box when collapsed), `top_of`
    the node an edge into it reaches first (its op node, else itself), `home` the
    cluster each drawn node is declared in, `scopes` the drawn clusters and `boxes` the
    collapsed scopes' node ids.
    """
    bit: dict[Value, int] = {}
    anc: dict[Value, int] = {}
    for v in order:
        if v in visible:
            a = 0
            for p in v._parents:
                if p in bit:
                    a |= anc[p] | bit[p]
            bit[v], anc[v] = 1 << len(bit), a
    ranks = _Ranks()
    own_of: dict[str, int] = {}
    anc_of: dict[str, int] = {}
    for v in bit:
        n = node_of[v]
        own_of[n] = own_of.get(n, 0) | bit[v]
        anc_of[n] = anc_of.get(n, 0) | anc[v]
    for n in own_of:
        ranks.add(n, own_of[n], anc_of[n])
    out = Constraints()
    seen: set[tuple[str, str]] = set()

    def pair(where: str | None, a: str, b: str) -> bool:
        if (b, a) in seen or not ranks.join(a, b):
            return False
        if (a, b) not in seen:
            seen.add((a, b))
            out.pairs.setdefault(where, []).append((a, b))
        return True

    # Arguments of one op, where dot can keep them: in one cluster.
    for v in bit:
        if v._op is None:
            continue
        sources: list[str] = []
        for p in v._parents:
            if p in bit and node_of[p] != node_of[v] and node_of[p] not in sources:
                sources.append(node_of[p])
        for a, b in zip(sources, sources[1:]):
            if home[a] == home[b]:
                pair(home[a], a, b)

    # Sibling scopes in the natural order of their names: boxes as they are, clusters
    # through an anchor just above their second rank, so on their first: no height.
    scopes = list(scopes)
    first: dict[str, str] = {}  # the cluster's first node
    below: dict[str, str] = {}  # its first node fed from inside: a rank below the top
    inside: dict[str, tuple[int, int]] = {}
    box_scope = {node: s for s, node in boxes.items()}
    for v in bit:
        n = node_of[v]
        for s in _enclosing(box_scope.get(n, home[n])):
            own, a = inside.get(s, (0, 0))
            inside[s] = (own | bit[v], a | anc[v])
            first.setdefault(s, top_of[v])
            if s not in below and any(p in bit and _within(home[node_of[p]], s) for p in v._parents):
                below[s] = top_of[v]
    children: dict[str | None, list[tuple[list, str, str | None]]] = {}
    for s in scopes:
        if s in inside:
            parent = s.rpartition("/")[0] or None
            children.setdefault(parent, []).append((natural(s), s, None))
    for s, node in boxes.items():
        children.setdefault(home[node], []).append((natural(s), s, node))
    count = 0
    for where, kids in children.items():
        run: list[tuple[str, str | None]] = []  # (node, the scope an anchor stands for)
        for _, s, node in sorted(kids, key=lambda kid: kid[0]):
            if node is None:
                node, count = f"a{count}", count + 1
                ranks.add(node, *inside[s])
                run.append((node, s))
            else:
                run.append((node, None))
        placed: set[str] = set()
        for (a, _), (b, _) in zip(run, run[1:]):
            if pair(where, a, b):
                placed |= {a, b}
        for node, s in run:
            if s is not None and node in placed:
                out.anchors.setdefault(where, []).append((node, below.get(s, first[s])))
    return out


def _enclosing(scope: str | None) -> list[str]:
    """`scope` and every scope around it: "a/b" -> ["a/b", "a"]."""
    out = []
    while scope:
        out.append(scope)
        scope = scope.rpartition("/")[0] or None
    return out


def _within(scope: str | None, outer: str) -> bool:
    return scope is not None and (scope == outer or scope.startswith(outer + "/"))
