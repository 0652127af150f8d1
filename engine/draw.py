"""Draw a Value's graph with Graphviz: names, data and grads on the nodes, ops as symbols.

`draw` builds a `graphviz.Digraph` in pure Python (DOT source needs no program); `render`
lays it out with a Graphviz program in a subprocess with a timeout and writes SVG, PNG or
PDF. Layout time explodes with size (about a minute for 2,000 nodes, tens of minutes for
5,000), so past `max_nodes` drawing refuses and says how to draw less: collapse scopes
(`collapse_depth`) or look at a neighbourhood (`focus=node, depth=k`).

Renderer: `CHAINRULE_RENDERER=dot` (default, Graphviz's own program) or `graphviz-pure`
(a pip-installable port with the same command line; SVG and PNG only).
"""
from __future__ import annotations

import base64
import html
import os
import pathlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Iterable

import graphviz

from .autodiff import distances, local_partials, topological_order
from .files import write_atomic
from .layout import Constraints, constraints
from .notation import local, names, natural, number, partial
from .value import ARITHMETIC_ERRORS, Value, as_count

__all__ = [
    "draw", "render", "renderer_available", "pipe", "Drawing", "Picture",
    "GraphTooLargeError", "RendererNotFoundError", "RENDERERS", "FORMATS",
]

RENDERERS = ("dot", "graphviz-pure")
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
RANKDIRS = ("LR", "TB", "RL", "BT")

# Colours: calm for the graph, one accent for the highlighted path.
_FONT = "DejaVu Sans"
_HIGHLIGHT = "#ffd54f"
_LEAF = "#e3f2fd"
_NODE = "#ffffff"
_OP = "#eeeeee"
_PENDING = "#9e9e9e"


class GraphTooLargeError(ValueError):
    """The graph has more nodes than `max_nodes`: Graphviz would take minutes or hours."""


class RendererNotFoundError(RuntimeError):
    """The Graphviz program is not installed (the DOT source is still available)."""


INSTALL_HELP = (
    "Install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS), `winget install graphviz` (Windows), "
    "or see https://graphviz.org/download/ ; "
    "or `pip install graphviz-pure` and set CHAINRULE_RENDERER=graphviz-pure. "
    "Without a renderer, draw(root).source still gives the DOT text."
)


class Drawing(graphviz.Digraph):
    """A `graphviz.Digraph` that renders through `pipe` (timeout, chosen renderer).

    In Jupyter it displays inline as SVG; without a renderer it shows a short note
    instead of failing. `shown` maps each drawn Value to the id of the SVG element that
    shows it: its own box, or the box of the collapsed scope it is in; `collapsed` maps
    each collapsed scope to its box's id, `clusters` each scope drawn in full to the
    name of its cluster (its group's id in the SVG).
    """

    shown: dict[Value, str]
    collapsed: dict[str, str]
    clusters: dict[str, str]

    def _repr_image_svg_xml(self) -> str:
        return pipe(self.source, "svg").decode("utf-8")

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        try:
            return {"image/svg+xml": self._repr_image_svg_xml()}
        except (RendererNotFoundError, TimeoutError, RuntimeError) as error:
            return {"text/plain": f"{error}\n\nDOT source:\n{self.source}"}


def mimebundle(root: Value, include=None, exclude=None) -> dict[str, str]:
    """What Jupyter shows for a Value: its drawing, or (too large) why not and what to do."""
    try:
        drawing = draw(root)
    except GraphTooLargeError as error:
        return {"text/plain": f"{root!r}\n{error}"}
    return drawing._repr_mimebundle_(include, exclude)


# ---------------------------------------------------------------- building the drawing

def draw(
    root: Value,
    *,
    rankdir: str = "TB",
    show_partials: bool = False,
    highlight: Iterable[Value] = (),
    path_from: Value | None = None,
    clusters: bool = True,
    collapse_depth: int | None = None,
    expand: str | None = None,
    max_nodes: int = 300,
    focus: Value | None = None,
    depth: int | None = None,
    show_grads: bool | None = None,
) -> Drawing:
    """The graph of `root` as a `graphviz.Digraph` (no Graphviz program needed).

    Each Value is a box with its name (label, or a generated one), data and grad; each
    op a small node with its symbol. `show_partials` writes each op's local derivatives
    (formula from the op table and value) into it, one cell per input where that input's
    edge arrives; `highlight` fills the given Values;
    `path_from=x` highlights every path from input `x` to `root`. `clusters` groups
    Values by scope ("layer 1/neuron 2"); `collapse_depth=k` draws each scope k levels
    deep as one box, except the scope `expand` (and what is inside it), drawn in full.
    `rankdir="TB"` reads a chain top to bottom, as it fits a notebook. `focus=node, depth=k` draws only what is within k edges of `node`
    (`depth` alone focuses on `root`). `show_grads=None` shows grads once `root.grad` is
    set (after backward) and marks them "not computed yet" before.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw expects a Value, got {type(root).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    as_count(max_nodes, "max_nodes")
    if collapse_depth is not None:
        as_count(collapse_depth, "collapse_depth (or None)")
    if depth is not None:
        as_count(depth, "depth (or None)", minimum=0)

    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    for what, v in (("focus", focus), ("path_from", path_from)):
        if v is not None and v not in index:
            raise ValueError(f"{what} must be a Value that {_name(root)} depends on; {v!r} is not in its graph")
    highlight = list(highlight)
    for v in highlight:
        if v not in index:
            raise ValueError(f"highlight: {v!r} is not in the graph of {_name(root)}")

    visible = _neighbourhood(order, focus if focus is not None else root, 2 if depth is None else depth) \
        if (focus is not None or depth is not None) else set(order)
    group_of = _groups(order, visible, collapse_depth, expand)
    shown = len({group_of.get(v, v) for v in visible})
    if shown > max_nodes:
        raise GraphTooLargeError(_too_large(len(order), shown, max_nodes, order, collapse_depth))

    marked = set(highlight)
    path_edges: set[tuple[Value, Value]] = set()
    if path_from is not None:
        on_path = _on_path(order, path_from)
        marked |= on_path
        path_edges = {(p, v) for v in on_path for p in v._parents if p in on_path}
    plan = _Plan(order, index, names(order), visible, group_of, marked, path_from is not None,
                 path_edges, root.grad != 0.0 if show_grads is None else show_grads, show_partials, rankdir)

    g = Drawing(name="chainrule", graph_attr={
        "rankdir": rankdir, "fontname": _FONT, "fontsize": "11", "nodesep": "0.25",
        "ranksep": "0.35", "bgcolor": "white",
        # dot's last pass reorders inside clusters without their flat edges, which would
        # undo the reading order (engine.layout): skipped.
        "remincross": "false",
    }, node_attr={"fontname": _FONT, "fontsize": "11"}, edge_attr={
        "fontname": _FONT, "fontsize": "9", "color": "#616161", "arrowsize": "0.7",
    })
    boxes = _add_nodes(g, plan, clusters)
    _add_edges(g, plan, boxes)
    g.collapsed = boxes
    g.shown = {v: boxes[group_of[v]] if v in group_of else f"v{index[v]}" for v in order if v in visible}
    return g


@dataclass
class _Plan:
    """What one drawing shows: which Values, under which names, grouped and marked how."""

    order: list[Value]
    index: dict[Value, int]
    label: dict[Value, str]
    visible: set[Value]
    group_of: dict[Value, str]  # a Value inside a collapsed scope -> that scope
    marked: set[Value]
    tracing: bool  # path_from was given: marked op -> result edges are drawn on the path
    path_edges: set[tuple[Value, Value]]
    show_grads: bool
    show_partials: bool
    rankdir: str


def _add_nodes(g: graphviz.Digraph, plan: _Plan, clusters: bool) -> dict[str, str]:
    """A box per shown Value and a small node per op, each in its scope's cluster; one box
    per collapsed scope; kept in reading order (`engine.layout`). Returns the collapsed
    scopes' node ids."""
    items: dict[str | None, list[tuple[str, dict]]] = {}  # cluster -> its nodes
    home: dict[str, str | None] = {}  # node -> its cluster
    node_of: dict[Value, str] = {}
    top_of: dict[Value, str] = {}

    def place(scope: str | None, node_id: str, attrs: dict) -> None:
        home[node_id] = scope if clusters else None
        items.setdefault(home[node_id], []).append((node_id, attrs))

    boxes: dict[str, str] = {}
    for v in plan.order:
        if v not in plan.visible:
            continue
        grp = plan.group_of.get(v)
        if grp is not None:
            if grp not in boxes:
                boxes[grp] = f"s{len(boxes)}"
                count = sum(1 for u in plan.order if plan.group_of.get(u) == grp and u in plan.visible)
                place(grp.rpartition("/")[0] or None, boxes[grp], {
                    "label": _html(f"{grp}\n{count} values (collapsed)"), "shape": "box3d",
                    "style": "filled", "fillcolor": "#fff3e0", "id": boxes[grp],
                })
            node_of[v] = top_of[v] = boxes[grp]
            continue
        i = plan.index[v]
        marked = v in plan.marked
        truncated = any(p not in plan.visible for p in v._parents)
        node_of[v] = top_of[v] = f"v{i}"
        place(v.scope, f"v{i}", _value_attrs(f"v{i}", v, plan.label[v], plan.show_grads, marked, truncated))
        if v._op is not None and not truncated:
            top_of[v] = f"v{i}op"
            cells = _cells(plan, v)
            place(v.scope, f"v{i}op", _op_attrs(f"v{i}op", v, marked, cells, plan.rankdir) if cells else {
                "label": _html(v._op.symbol), "shape": "circle" if len(v._op.symbol) <= 2 else "ellipse",
                "style": "filled", "fillcolor": _HIGHLIGHT if marked else _OP,
                "width": "0.3", "height": "0.3", "margin": "0.02", "fontsize": "10", "id": f"v{i}op",
            })
    scopes = _scopes(items)
    keep = constraints(plan.order, plan.visible, node_of, top_of, home, scopes, boxes)
    g.clusters = _emit_clusters(g, items, scopes, keep)
    return boxes


def _add_edges(g: graphviz.Digraph, plan: _Plan, boxes: dict[str, str]) -> None:
    """Parent -> op -> result for every shown node (once between collapsed boxes). With
    `show_partials` each input's edge ends in the op's cell for it (see `_cells`)."""
    index = plan.index
    seen_box_edges: set[tuple[str, str]] = set()
    for v in plan.order:
        if v not in plan.visible or v._op is None:
            continue
        gv = plan.group_of.get(v)
        target = boxes[gv] if gv is not None else f"v{index[v]}op"
        if gv is None:
            if any(p not in plan.visible for p in v._parents):
                continue
            on_path = v in plan.marked and plan.tracing
            g.edge(f"v{index[v]}op", f"v{index[v]}", **({"color": "#e65100", "penwidth": "2"} if on_path else {}))
        uses = _uses(v) if gv is None else []
        for pos, p in enumerate(v._parents):
            gp = plan.group_of.get(p)
            source = boxes[gp] if gp is not None else f"v{index[p]}"
            attrs: dict[str, str] = {}
            if (p, v) in plan.path_edges:
                attrs.update(color="#e65100", penwidth="2")
            if plan.show_partials and gv is None:
                g.edge(source, f"{target}:i{pos}:{_ENTRY[plan.rankdir]}", **attrs)
                continue
            if gv is not None or gp is not None:
                if source != target and (source, target) not in seen_box_edges:
                    seen_box_edges.add((source, target))
                    g.edge(source, target)
                continue
            if uses[pos]:
                attrs["label"] = _html(uses[pos])
            g.edge(source, target, **attrs)


_ENTRY = {"TB": "n", "BT": "s", "LR": "w", "RL": "e"}  # the side of an op its inputs reach


def _uses(v: Value) -> list[str]:
    """For a parent used twice by one op (a * a), which use each edge is, so that neither
    hides the other (the parent's gradient is the sum over both); else empty."""
    n = len(v._parents)
    return [f"input {pos + 1} of {n}" if v._parents.count(p) > 1 else "" for pos, p in enumerate(v._parents)]


def _cells(plan: _Plan, v: Value) -> list[str]:
    """With `show_partials`, what each input's cell in the op says: which use it is (see
    `_uses`) and its local derivative, formula and value, in two lines across a rank (TB,
    BT), in one where the cells stack (LR, RL).

    The derivatives sit in the op, one cell per input where that input's edge arrives,
    not as labels on the edges: where many edges meet (a neuron's dot, a loss over many
    outputs) such labels land far from their edges and over each other, and a label on
    any edge makes dot double every rank, which lets it reorder sibling clusters."""
    if not plan.show_partials:
        return []
    sep = "\n" if plan.rankdir in ("TB", "BT") else " "
    label = plan.label
    partials = _partials(v)
    cells = []
    for pos, (p, use) in enumerate(zip(v._parents, _uses(v))):
        formula = partial(v._op, pos, [label[q] for q in v._parents], label[v])
        value = "error" if isinstance(partials, Exception) else number(partials[pos])
        shown = value if formula == value else f"{formula}{sep}= {value}"
        cells.append(f"{use + sep if use else ''}{local(label[v], label[p], label[plan.order[-1]])} = {shown}")
    return cells


def _op_attrs(node_id: str, v: Value, marked: bool, cells: list[str], rankdir: str) -> dict:
    """An op drawn as a table: its symbol, and one cell per input in argument order on
    the side its edges arrive (port i<position>), holding that input's local derivative."""
    fill = _HIGHLIGHT if marked else _OP
    inputs = [f'<TD PORT="i{pos}" BGCOLOR="#fafafa">{_lines(text)}</TD>' for pos, text in enumerate(cells)]
    symbol = f'<FONT POINT-SIZE="14">{html.escape(v._op.symbol, quote=False)}</FONT>'
    across = len(inputs)
    if rankdir in ("TB", "BT"):
        row = "<TR>" + "".join(inputs) + "</TR>"
        op = f'<TR><TD COLSPAN="{across}" BGCOLOR="{fill}">{symbol}</TD></TR>'
        rows = [row, op] if rankdir == "TB" else [op, row]
    else:
        op = f'<TD ROWSPAN="{across}" BGCOLOR="{fill}">{symbol}</TD>'
        rows = []
        for k, cell in enumerate(inputs):
            beside = op if k == 0 else ""
            rows.append(f"<TR>{cell}{beside}</TR>" if rankdir == "LR" else f"<TR>{beside}{cell}</TR>")
    label = '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">' + "".join(rows) + "</TABLE>>"
    return {"label": label, "shape": "plain", "fontsize": "9", "id": node_id}


def _lines(text: str) -> str:
    """`text` escaped for an HTML-like label, its newlines as breaks."""
    return "<BR/>".join(html.escape(line, quote=False) for line in text.split("\n"))


def _name(v: Value) -> str:
    return repr(v.label) if v.label else "the root"


def _html(text: str) -> str:
    """An HTML-like Graphviz label showing `text` literally (escaped; newlines as breaks)."""
    return "<" + _lines(text) + ">"


def _value_attrs(node_id: str, v: Value, name: str, show_grads: bool, marked: bool, truncated: bool) -> dict:
    grad = f"grad {number(v.grad)}" if show_grads else "grad: not computed yet"
    grad_cell = (f'<TD>{html.escape(grad, quote=False)}</TD>' if show_grads
                 else f'<TD><FONT COLOR="{_PENDING}"><I>{html.escape(grad, quote=False)}</I></FONT></TD>')
    fill = _HIGHLIGHT if marked else (_LEAF if v._op is None else _NODE)
    more = '<TD><FONT COLOR="#757575">…</FONT></TD>' if truncated else ""
    label = (
        f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" BGCOLOR="{fill}">'
        f"<TR>{more}<TD><B>{html.escape(name, quote=False)}</B></TD>"
        f"<TD>data {html.escape(number(v.data), quote=False)}</TD>{grad_cell}</TR></TABLE>>"
    )
    return {"label": label, "shape": "plain", "id": node_id}


def _partials(v: Value):
    try:
        return local_partials(v)
    except ARITHMETIC_ERRORS as error:
        return error


def _scopes(items: dict[str | None, list]) -> list[str]:
    """Every scope drawn as a cluster: those with nodes and every prefix of them."""
    every: set[str] = set()
    for s in items:
        if s is not None:
            parts = s.split("/")
            every.update("/".join(parts[:k]) for k in range(1, len(parts) + 1))
    return sorted(every, key=natural)


def _emit_clusters(g: graphviz.Digraph, items: dict[str | None, list[tuple[str, dict]]],
                   scopes: list[str], keep: Constraints) -> dict[str, str]:
    """Nested clusters, one per scope ("layer 1" holds "layer 1/neuron 2"), each with its
    nodes and the constraints that keep them in reading order (a constraint holds only
    where both its ends are declared in the same cluster). Returns each scope's cluster.

    How dot reads the text, as the laid-out coordinates show: it starts a cluster's order
    from the nodes and sub-clusters given last, so they are given in reverse; under
    rankdir LR or RL it flips a flat edge inside a cluster (not at the top level), so
    there the pair and its anchors' order are given the other way round."""
    flipped = g.graph_attr["rankdir"] in ("LR", "RL")
    tree: dict[str | None, list[str]] = {}
    for s in scopes:
        tree.setdefault(s.rpartition("/")[0] or None, []).append(s)
    ids = {s: f"cluster_{k}" for k, s in enumerate(scopes)}

    def fill(target: graphviz.Digraph, scope: str | None) -> None:
        for node_id, attrs in reversed(items.get(scope, [])):
            target.node(node_id, **attrs)
        for anchor, below in (iter if flipped else reversed)(keep.anchors.get(scope, [])):
            target.node(anchor, label="", shape="point", style="invis", width="0", height="0")
            target.edge(anchor, below, style="invis")
        for a, b in keep.pairs.get(scope, []):
            with target.subgraph() as same:
                same.attr(rank="same")
                same.edge(*((b, a) if flipped and scope is not None else (a, b)), style="invis")
        for child in reversed(tree.get(scope, [])):
            with target.subgraph(name=ids[child]) as sub:
                sub.attr(label=_html(child.rpartition("/")[2]), style="rounded,dashed",
                         color="#90a4ae", fontcolor="#546e7a", fontsize="10")
                fill(sub, child)

    fill(g, None)
    return ids


# ---------------------------------------------------------------- choosing what to draw

def _neighbourhood(order: list[Value], centre: Value, depth: int) -> set[Value]:
    """Everything within `depth` edges of `centre`, following edges both ways."""
    return {v for v, k in distances(order, centre).items() if k <= depth}


def _on_path(order: list[Value], source: Value) -> set[Value]:
    """The Values on some path from `source` up to the root (the root is order[-1])."""
    down = {source}
    for v in order:
        if any(p in down for p in v._parents):
            down.add(v)
    return down


def _groups(order: list[Value], visible: set[Value], collapse_depth: int | None,
            expand: str | None = None) -> dict[Value, str]:
    """Value -> the scope box it collapses into (only Values scoped at least that deep,
    and none inside the scope `expand`)."""
    if collapse_depth is None:
        return {}
    out = {}
    for v in order:
        if v in visible and v.scope and not (expand and (v.scope + "/").startswith(expand + "/")):
            parts = v.scope.split("/")
            if len(parts) >= collapse_depth:
                out[v] = "/".join(parts[:collapse_depth])
    return out


def _too_large(total: int, shown: int, max_nodes: int, order: list[Value], collapse_depth) -> str:
    hint = []
    if any(v.scope for v in order):
        for k in (1, 2):
            if collapse_depth is None or k < collapse_depth:
                boxes = len({_groups(order, set(order), k).get(v, v) for v in order})
                hint.append(f"collapse scopes with collapse_depth={k} ({boxes} nodes)")
    hint.append("draw a neighbourhood with focus=node, depth=2")
    hint.append("or raise max_nodes (Graphviz needs about a minute for 2,000 nodes)")
    return (
        f"the graph has {total} values and the drawing would have {shown} nodes, more than "
        f"max_nodes={max_nodes}; laying it out could take minutes. Draw less of it: "
        + "; ".join(hint)
    )


# ---------------------------------------------------------------- rendering

def _renderer() -> tuple[str, str | None]:
    choice = os.environ.get("CHAINRULE_RENDERER", "").strip() or "dot"
    if choice not in RENDERERS:
        raise ValueError(f"CHAINRULE_RENDERER must be one of {', '.join(RENDERERS)}, got {choice!r}")
    exe = shutil.which(choice)
    if exe is None:  # a pip-installed program sits next to the interpreter, maybe not on PATH
        local = pathlib.Path(sys.executable).parent / choice
        exe = str(local) if local.exists() else None
    return choice, exe


def renderer_available() -> bool:
    """Whether the chosen renderer (CHAINRULE_RENDERER, default Graphviz `dot`) is installed."""
    try:
        return _renderer()[1] is not None
    except ValueError:
        return False


def pipe(source: str, fmt: str, *, timeout: float = 120.0) -> bytes:
    """Lay out DOT `source` and return the `fmt` ("svg", "png", "pdf") bytes.

    Runs the renderer as a subprocess and stops it after `timeout` seconds.
    """
    if fmt not in FORMATS.values():
        raise ValueError(f"format must be one of {', '.join(FORMATS.values())}, got {fmt!r}")
    choice, exe = _renderer()
    if exe is None:
        raise RendererNotFoundError(f"the Graphviz program {choice!r} was not found. {INSTALL_HELP}")
    if choice == "graphviz-pure" and fmt == "pdf":
        raise ValueError("graphviz-pure writes SVG and PNG only; use .svg or .png, or Graphviz `dot` for PDF")
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise TimeoutError(
            f"{choice} did not finish the layout within {timeout:g} s and was stopped; "
            "draw less of the graph (collapse_depth=1, or focus=node, depth=2)"
        ) from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{choice} failed (exit code {done.returncode}): {message}")
    return done.stdout


class Picture(type(pathlib.Path())):
    """The path of a picture that `render` wrote; in Jupyter it shows the picture."""

    def _repr_mimebundle_(self, include=None, exclude=None, **_) -> dict[str, str]:
        kind = self.suffix.lower()
        if kind == ".svg":
            return {"image/svg+xml": self.read_text(encoding="utf-8"), "text/plain": str(self)}
        if kind == ".png":
            return {"image/png": base64.b64encode(self.read_bytes()).decode("ascii"), "text/plain": str(self)}
        return {"text/plain": str(self)}


def render(root: Value, path: str | os.PathLike, *, timeout: float = 120.0, **draw_options) -> Picture:
    """Draw `root` and write the picture to `path`: SVG, PNG or PDF by the file's ending.

    Returns the path, which a notebook displays as the picture."""
    path = pathlib.Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the format of {str(path)!r}: end the name in .svg, .png or .pdf")
    data = pipe(draw(root, **draw_options).source, fmt, timeout=timeout)
    return Picture(write_atomic(path, data))
