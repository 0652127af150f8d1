"""Traces: every node of a graph as JSON, and the first place two traces disagree.

A trace is a file any engine can write, in any language, so that "my engine disagrees
with the reference: where?" has an answer node by node. Format `chainrule-trace`,
version 1 (docs/views.md has the full description):

    {"format": "chainrule-trace", "version": 1,
     "nodes": [{"name": "w", "op": "input", "parents": [], "value": 2.3, "grad": 0.0,
                "partials": []},
               {"name": "mul1", "op": "mul", "parents": ["w", "x"], "value": 0.0,
                "grad": -1.1186, "partials": [0.0, 2.3]}, ...]}

Nodes are in topological order (parents first), the output last; names are unique;
`grad` is d(output)/d(node) of one backward pass seeded with 1; `partials[i]` is
d(node)/d(parents[i]); `param`, when there, is a constant of the op (pow's exponent). Numbers are JSON numbers, or the strings "nan", "inf" and "-inf".
Two traces are matched by node name.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .autodiff import reverse_walk, topological_order
from .files import write_atomic
from .notation import names, number, ratio
from .value import Value

__all__ = ["FORMAT", "VERSION", "TraceError", "record", "dumps", "trace", "load", "Node", "Difference", "diff"]

FORMAT, VERSION = "chainrule-trace", 1


class TraceError(ValueError):
    """A file that is not a trace this version can read, naming the file and the problem."""


def record(root: Value) -> dict[str, Any]:
    """The trace of `root` as a dict: every node, its value, gradient and local partials.

    The gradients are those of one fresh backward pass; no `.grad` is touched.
    """
    if not isinstance(root, Value):
        raise TypeError(f"trace needs a Value, got {type(root).__name__}")
    order = topological_order(root)
    label = names(order)
    grads = {root: 1.0}
    partials = {visit.node: visit.partials for visit in reverse_walk(order, grads)}
    nodes = []
    for v in order:
        node = {
            "name": label[v], "op": "input" if v._op is None else v._op.name,
            "parents": [label[p] for p in v._parents], "value": v.data, "grad": grads.get(v, 0.0),
            "partials": [float(d) for d in partials.get(v, ())],
        }
        if v._op is not None and v._op.param is not None:
            node["param"] = v._op.param  # the exponent of pow
        nodes.append(node)
    return {"format": FORMAT, "version": VERSION, "nodes": nodes}


def _number(x: float) -> float | str:
    return x if math.isfinite(x) else repr(float(x))  # "nan", "inf", "-inf": JSON has none


def dumps(data: dict[str, Any]) -> str:
    """A trace as JSON text, one node per line (easy to read and to diff by eye)."""
    head = json.dumps({k: v for k, v in data.items() if k != "nodes"})[:-1]
    lines = []
    for node in data["nodes"]:
        shown = dict(node, value=_number(node["value"]), grad=_number(node["grad"]),
                     partials=[_number(d) for d in node.get("partials", [])])
        lines.append(json.dumps(shown, allow_nan=False, ensure_ascii=False))
    return f'{head}, "nodes": [\n  ' + ",\n  ".join(lines) + "\n]}\n"


def trace(root: Value, path: str | os.PathLike) -> Path:
    """Write the trace of `root` to `path` (JSON, atomically). Returns the path."""
    return write_atomic(path, dumps(record(root)))


# ---------------------------------------------------------------- reading

@dataclass(frozen=True)
class Node:
    name: str
    op: str
    parents: tuple[str, ...]
    value: float
    grad: float
    partials: tuple[float, ...]

    @property
    def written(self) -> str:
        return "input" if self.op == "input" else f"{self.op}({', '.join(self.parents)})"


def load(path: str | os.PathLike) -> list[Node]:
    """The nodes of a trace file, checked: a clear TraceError for anything malformed."""
    where = os.fspath(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise TraceError(f"{where}: not a text file") from None
    except json.JSONDecodeError as error:
        raise TraceError(f"{where}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TraceError(f"{where}: not a trace (expected \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise TraceError(f"{where}: trace version {data.get('version')!r}; this reads version {VERSION}")
    raw = data.get("nodes")
    if not isinstance(raw, list) or not raw:
        raise TraceError(f"{where}: \"nodes\" must be a non-empty list")
    nodes: list[Node] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        nodes.append(_node(item, seen, f"{where}: node {i + 1}"))
        seen.add(nodes[-1].name)
    return nodes


def _node(item: object, seen: set[str], where: str) -> Node:
    if not isinstance(item, dict):
        raise TraceError(f"{where} is not an object")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise TraceError(f"{where}: \"name\" must be a non-empty string")
    where = f"{where} ({name})"
    if name in seen:
        raise TraceError(f"{where}: the name is used twice")
    op, parents = item.get("op"), item.get("parents", [])
    if not isinstance(op, str):
        raise TraceError(f"{where}: \"op\" must be a string")
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise TraceError(f"{where}: \"parents\" must be a list of names")
    for p in parents:
        if p not in seen:
            raise TraceError(f"{where}: parent {p!r} does not come before it (nodes go parents first)")
    partials = item.get("partials", [])
    if not isinstance(partials, list) or partials and len(partials) != len(parents):
        raise TraceError(f"{where}: \"partials\" must be a list with one number per parent")
    return Node(name, op, tuple(parents), _read_number(item.get("value"), where, "value"),
                _read_number(item.get("grad"), where, "grad"),
                tuple(_read_number(d, where, "a partial") for d in partials))


def _read_number(x: object, where: str, what: str) -> float:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    if x in ("nan", "inf", "-inf"):
        return float(x)  # type: ignore[arg-type]
    raise TraceError(f"{where}: {what} must be a number, got {x!r}")


# ---------------------------------------------------------------- comparing

@dataclass(frozen=True)
class Difference:
    """Where two traces first disagree, and a sentence saying so."""

    kind: str        # "structure", "value" or "grad"
    node: str
    message: str


def _both(a: float, b: float) -> str:
    """Two numbers that differ, with enough digits to show that they do."""
    digits = next((d for d in (12, 17) if number(a, d) != number(b, d)), 17)
    return f"mine {number(a, digits)}, reference {number(b, digits)}"


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def diff(mine: list[Node], reference: list[Node], *, rtol: float = 1e-9,
         atol: float = 1e-12) -> Difference | None:
    """The first difference between two traces, or None when they agree.

    Structure first (the same names, ops and parents), then values in topological order
    (the first wrong value is where the forward pass goes wrong), then gradients from
    the output back (the first wrong gradient is where the backward pass goes wrong:
    the node's children are right, so one of their local partials is not).
    """
    theirs = {n.name: n for n in reference}
    ours = {n.name: n for n in mine}
    for n in mine:
        other = theirs.get(n.name)
        if other is None:
            return Difference("structure", n.name, f"{n.name} = {n.written} is in mine only")
        if (n.op, n.parents) != (other.op, other.parents):
            return Difference("structure", n.name,
                              f"{n.name} is {n.written} in mine but {other.written} in the reference")
    extra = [n.name for n in reference if n.name not in ours]
    if extra:
        return Difference("structure", extra[0], f"{extra[0]} = {theirs[extra[0]].written} is in the reference only")
    for n in mine:
        other = theirs[n.name]
        if not _close(n.value, other.value, rtol, atol):
            inputs = ", ".join(f"{p} = {number(ours[p].value, 12)}" for p in n.parents)
            return Difference("value", n.name, (
                f"the value of {n.name} = {n.written} differs\n  {_both(n.value, other.value)}\n  "
                + (f"its inputs agree: {inputs}" if inputs else "it is an input")))
    root = mine[-1].name
    children: dict[str, list[Node]] = {}
    for n in mine:
        for p in n.parents:
            children.setdefault(p, []).append(n)
    for n in reversed(mine):
        other = theirs[n.name]
        if _close(n.grad, other.grad, rtol, atol):
            continue
        message = f"the gradient {ratio(root, n.name)} differs\n  {_both(n.grad, other.grad)}\n  "
        return Difference("grad", n.name, message + _culprit(n, children.get(n.name, []), theirs, rtol, atol))
    return None


def _culprit(node: Node, children: list[Node], theirs: dict[str, Node], rtol: float, atol: float) -> str:
    """Which local partial into `node` disagrees (its children's gradients agree)."""
    for child in children:
        other = theirs[child.name]
        for i, p in enumerate(child.parents):
            if p == node.name and child.partials and other.partials and not _close(
                    child.partials[i], other.partials[i], rtol, atol):
                return (f"it is sent by {child.name} = {child.written}, whose local partial "
                        f"{ratio(child.name, p)} is\n  {_both(child.partials[i], other.partials[i])}")
    if not children:
        return "it is the output's own gradient, the seed"
    fed = ", ".join(c.name for c in children)
    if any(not c.partials or not theirs[c.name].partials for c in children):
        return f"the gradients of {fed}, which it feeds, agree (with partials in both traces, the local one is named)"
    return f"{fed}, which it feeds, agree, and so do their local partials: the sum of what arrived is off"
