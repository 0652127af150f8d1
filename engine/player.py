"""The step-through page: the forward and backward pass of a graph, one frame at a time.

`page(root)` lays the graph out with Graphviz and returns one self-contained HTML
document: the SVG inline, the frames as JSON, and a few lines of JavaScript that restyle
the SVG per frame (the current node highlighted, values and gradients filling in, in a
backward frame the gradient travelling back along its edge with the amount it carries)
and show the step's explanation beside it. `save_html` writes it to a file; `show`
returns it for a notebook, inside an iframe, so that page and notebook never restyle
each other and two pages in one notebook never share an id or a key press.

For networks, `collapse_depth=k` draws each scope k levels deep ("layer 1", "layer
1/neuron 2") as one box and lays out one more view per box with that box expanded; the
page follows the walk into the box of the current node, and a click expands any box.
`focus=node, depth=k` draws only a neighbourhood, as `draw` does. Nothing is fetched
from the network; every text (labels are user input) is escaped, and the explanations
are inserted as text, never as markup.
"""
from __future__ import annotations

import html
import json
import os
import pathlib
import re
from contextlib import contextmanager
from typing import Iterator

from .autodiff import fresh_grads, topological_order
from .draw import draw, pipe
from .files import write_atomic
from .notation import count, expression, names, natural, number, ratio, reading_order
from .steps import backward_steps, forward_steps
from .value import Value, as_count, as_float

__all__ = ["frames", "page", "save_html", "show", "Inline", "Printed"]


def frames(root: Value, grad: float = 1.0) -> list[dict]:
    """The frames of the walk: what each node shows and what the step says.

    Each frame holds only what changed: `data`/`grad` map a node's index (in topological
    order) to its new text (grads also carry the exact float), `current` is the index of
    the node whose turn it is, `parents` the nodes it sends to, and in a backward frame
    `sent` says what travels back along each edge: [parent, argument position, amount].
    Grads are those of one fresh backward pass; every `.grad` is put back afterwards.
    """
    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    label = names(order)
    r = label[root]
    with fresh_grads(order):
        fwd = list(forward_steps(root))
        seed = as_float(grad, "backward seed")
        out = [{
            "title": f"The graph of {r}: {count(len(order), 'value')}",
            "lines": ["The inputs are given. Press Next (or the right arrow key) to compute forward."],
            "current": None, "parents": [], "phase": "forward", "sent": [],
            "data": {index[s.node]: number(s.value) for s in fwd if s.node._op is None}, "grad": {},
        }]
        for s in fwd:
            if s.node._op is None:
                continue
            values = expression(s.node._op, [number(p.data) for p in s.parents])
            out.append({
                "title": f"Forward: {s.name}",
                "lines": [f"{s.name} = {s.expression}", f"   = {values}", f"   = {number(s.value)}"],
                "current": index[s.node], "parents": [index[p] for p in s.parents], "phase": "forward",
                "sent": [], "data": {index[s.node]: number(s.value)}, "grad": {},
            })
        out.append({
            "title": f"Backward: start at {r}",
            "lines": [f"{ratio(r, r)} = {number(seed)}",
                      "The gradient of the output with respect to itself seeds the walk."],
            "current": index[root], "parents": [], "phase": "backward", "sent": [], "data": {},
            "grad": {index[root]: [number(seed), seed]},
        })
        steps = list(backward_steps(root, seed))
        for s in steps:
            out.append({
                "title": f"Backward step {s.index + 1} of {len(steps)}: {s.name}",
                "lines": s.lines(),
                "current": index[s.node], "parents": [index[e.parent] for e in s.edges],
                "phase": "backward", "data": {},
                "sent": [[index[e.parent], e.position, number(e.product)] for e in s.edges],
                "grad": {index[e.parent]: [number(e.total), e.total] for e in s.edges},
            })
        out.append({
            "title": "Done: the gradients of backward()",
            "lines": _gradient_lines(order, label, r),
            "current": None, "parents": [], "phase": "done", "sent": [], "data": {}, "grad": {},
        })
    return out


def _gradient_lines(order: list[Value], label: dict[Value, str], r: str) -> list[str]:
    """Every input's gradient, in reading order, under a heading per scope (constants,
    unlabelled leaves, are not inputs)."""
    lines, heading = [], None
    for v in reading_order([v for v in order if v._op is None and (v.label or v is order[-1])]):
        if v.scope != heading:
            heading = v.scope
            lines.append(f"{heading}:" if heading else "")
        lines.append(f"{'  ' if heading else ''}{ratio(r, label[v])} = {number(v.grad)}")
    return lines[1:] if lines and lines[0] == "" else lines


def page(
    root: Value,
    *,
    grad: float = 1.0,
    rankdir: str = "TB",
    collapse_depth: int | None = None,
    focus: Value | None = None,
    depth: int | None = None,
    max_nodes: int = 300,
    timeout: float = 120.0,
) -> str:
    """The step-through page of `root` as one self-contained HTML document.

    `collapse_depth`, `focus` and `depth` choose what is drawn, as in `engine.draw.draw`.
    The Values' grads are left as they were.
    """
    if not isinstance(root, Value):
        raise TypeError(f"the step-through page needs a Value, got {type(root).__name__}")
    if collapse_depth is not None:
        as_count(collapse_depth, "collapse_depth (or None)")
    options = {"rankdir": rankdir, "collapse_depth": collapse_depth, "focus": focus, "depth": depth,
               "max_nodes": max_nodes}
    order = topological_order(root)
    if len(order) > max_nodes:
        draw(root, **options)  # too large even as drawn: GraphTooLargeError, with advice, before any work
    all_frames = frames(root, grad)
    label = names(order)
    views = _views(root, order, all_frames, options, timeout)
    payload = {
        "nodes": _nodes(order, label),
        "frames": all_frames,
        "views": [{"scope": v["scope"], "shown": v["shown"], "boxes": v["boxes"]} for v in views],
    }
    title = f"chainrule: stepping through {label[root]}"
    chooser = ""
    if len(views) > 1:
        items = "".join(f'<option value="{k}">{html.escape(v["scope"] or "every scope collapsed")}</option>'
                        for k, v in enumerate(views))
        chooser = (f'<label>view <select id="view">{items}</select></label>'
                   '<label><input id="follow" type="checkbox" checked> follow the walk</label>')
    return _PAGE.format(
        title=html.escape(title),
        svgs="".join(v["svg"] for v in views),
        chooser=chooser,
        data=_json_for_script(payload),
        css=_CSS,
        js=_JS,
    )


def _nodes(order: list[Value], label: dict[Value, str]) -> list[dict]:
    """Each node's name and parents (by index): what the page needs to find a neighbourhood."""
    index = {v: i for i, v in enumerate(order)}
    return [{"name": label[v], "leaf": v._op is None, "parents": [index[p] for p in v._parents]}
            for v in order]


def save_html(root: Value, path: str | os.PathLike, **options) -> pathlib.Path:
    """Write the step-through page of `root` (see `page` for the options) to `path`."""
    if not isinstance(root, Value):
        raise TypeError(f"save_html expects a Value, got {type(root).__name__}")
    return write_atomic(pathlib.Path(path), page(root, **options))


class Inline:
    """A step-through page as a notebook shows it: an isolated iframe (`_repr_html_`).

    Inside the iframe element, where a browser never shows it, is a note for the viewers
    that strip iframes and scripts from an output they do not trust (JupyterLab and
    Notebook 7 opening a notebook whose outputs were saved elsewhere): they keep that
    text, so the learner reads why the page is missing and how to get it back."""

    __slots__ = ("html", "height", "name")

    def __init__(self, document: str, height: int, name: str = "the graph") -> None:
        self.html, self.height, self.name = document, height, name

    def _repr_html_(self) -> str:
        # sandbox without allow-same-origin: its own origin, so no style, id, key or
        # script of the notebook and the page reaches the other. Block and border-box:
        # exactly the output's width (no sideways scrollbar), no gap under the frame.
        name = html.escape(self.name)
        note = (f"<p><b>The step-through page of {name} is not shown here:</b> this viewer does not "
                "run the page&#39;s script (Jupyter runs it only in a trusted notebook). Run the cell "
                "again, or trust the notebook (JupyterLab: the command palette, &quot;Trust Notebook&quot;; "
                "Notebook 7: click &quot;Not Trusted&quot;), or write the page to a file with "
                "<code>save_html</code> and open it in a browser.</p>")
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
                f'title="chainrule step-through page of {name}" style="display: block; box-sizing: border-box; '
                f'width: 100%; height: {self.height}px; border: 1px solid #cfd8dc; border-radius: 6px;">'
                f"{note}</iframe>")

    def __repr__(self) -> str:
        return (f"<chainrule step-through page of {self.name}, {len(self.html):,} characters: a notebook "
                "shows it inline; save_html writes it to a file>")


class Printed:
    """Text as printed (explain's tables, reports): in a notebook it scrolls sideways in a
    narrow window instead of wrapping its lines."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        style = "white-space: pre; overflow-x: auto; font-family: var(--jp-code-font-family, monospace)"
        return f'<pre style="{style}">{html.escape(self.text)}</pre>'

    def __repr__(self) -> str:
        return self.text


def show(what: object, *, height: int = 480, **options) -> Inline | Printed:
    """Show `what` inline in Jupyter (JupyterLab, classic Notebook, VS Code, Colab): a Value
    as its step-through page (the options of `save_html`, and the frame's height in pixels),
    anything else (explain's tables, a gradcheck report) as the text it prints.

    480 px fits whole in JupyterLab's notebook area in a 1024 x 640 window (about 520 px),
    so the buttons, the picture and the step stay in view together."""
    if isinstance(what, Value):
        height = as_count(height, "height")
        return Inline(page(what, **options), height, names(topological_order(what))[what])
    if options:
        raise TypeError(f"show: {', '.join(options)} apply to the page of a Value, not to text")
    return Printed(str(what))


# ---------------------------------------------------------------- the pictures

def _views(root: Value, order: list[Value], all_frames: list[dict], options: dict,
           timeout: float) -> list[dict]:
    """One laid-out SVG per view: the drawing as asked, then (when scopes are collapsed)
    the same with each collapsed box expanded in turn."""
    index = {v: i for i, v in enumerate(order)}
    views: list[dict] = []
    with sized_for(order, all_frames):
        scopes: list[str | None] = [None]
        while len(views) < len(scopes):
            scope = scopes[len(views)]
            dot = draw(root, show_grads=True, clusters=True, expand=scope, **options)
            if scope is None:
                scopes += sorted(dot.collapsed, key=natural)
            prefix = f"V{len(views)}_"
            svg = laid_out(dot, timeout, prefix)
            svg = svg.replace("<svg ", f'<svg class="graph" data-view="{len(views)}" ', 1)
            views.append({
                "scope": scope, "svg": svg,
                "shown": {index[v]: prefix + element for v, element in dot.shown.items()},
                "boxes": {prefix + box: name for name, box in dot.collapsed.items()},
            })
    return views


@contextmanager
def sized_for(order: list[Value], all_frames: list[dict]) -> Iterator[None]:
    """Inside, each node's grad is the value whose text is the longest any frame shows, so
    a drawing made here lays out every grad cell wide enough; afterwards, as they were."""
    longest: dict[int, tuple[int, float]] = {}
    for f in all_frames:
        for i, (text, value) in f["grad"].items():
            if len(text) > longest.get(i, (0, 0.0))[0]:
                longest[i] = (len(text), value)
    with fresh_grads(order):
        for i, v in enumerate(order):
            v.grad = longest.get(i, (0, 0.0))[1]
        yield


def laid_out(dot, timeout: float, prefix: str = "") -> str:
    """A drawing laid out by Graphviz as inline SVG, comments dropped and every id given
    `prefix` (so two views, or two pages, in one document never share an id)."""
    svg = pipe(dot.source, "svg", timeout=timeout).decode("utf-8")
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return re.sub(r'(<[^>]*?\s)id="', rf'\1id="{prefix}', svg) if prefix else svg


def _json_for_script(payload: object) -> str:
    """JSON that cannot end its <script> element or open markup: < > & escaped."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_CSS = """
html, body { height: 100%; }
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0; color: #212121;
  display: flex; flex-direction: column; overflow: hidden; }
header { padding: 6px 12px; background: #263238; color: #fff; display: flex; gap: 12px;
  align-items: center; flex-wrap: wrap; }
header h1 { font-size: 15px; margin: 0; font-weight: 600; }
#controls { display: flex; gap: 6px; align-items: center; flex: 1; min-width: 300px; }
#controls button { font-size: 14px; padding: 3px 10px; white-space: nowrap; }
#slider { flex: 1; min-width: 60px; }
#counter { font-variant-numeric: tabular-nums; white-space: nowrap; font-size: 13px; }
#tools { display: flex; gap: 6px; align-items: center; font-size: 13px; flex-wrap: wrap; }
#tools button { font-size: 13px; padding: 2px 8px; }
main { flex: 1; min-height: 0; display: flex; gap: 10px; padding: 8px 10px; }
#picture { flex: 3 1 0; min-width: 0; overflow: auto; border: 1px solid #cfd8dc; border-radius: 6px;
  position: relative; }
svg.graph { display: block; }
svg.graph.hidden { display: none; }
aside { flex: 2 1 0; min-width: 260px; max-width: 520px; overflow: auto; }
#title { font-size: 15px; margin: 2px 0 6px; font-weight: 600; }
#explain { background: #f5f5f5; border-radius: 6px; padding: 8px; white-space: pre-wrap;
  font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; line-height: 1.45; margin: 0; }
#where { font-size: 12px; color: #546e7a; margin: 0 0 6px; min-height: 1em; }
#legend { font-size: 12px; color: #546e7a; margin-top: 8px; line-height: 1.8; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #90a4ae; vertical-align: middle; }
@media (max-width: 720px) {
  main { flex-direction: column; }
  #picture { flex: 3 1 0; }
  aside { flex: 2 1 0; max-width: none; min-width: 0; }
}
g.node.current polygon, g.node.current ellipse { fill: #ffb74d; }
g.node.parent polygon { fill: #c5e1a5; }
g.node.pending text { fill: #9e9e9e; }
g.node.box { cursor: zoom-in; }
g.edge.flow path { stroke: #e65100; stroke-width: 2.5; }
g.edge.flow polygon { fill: #e65100; stroke: #e65100; }
g.edge.back path { stroke: #1565c0; stroke-width: 2.5; stroke-dasharray: 7 4;
  animation: travel 0.9s linear infinite; }
g.edge.back > polygon:not(.backhead) { display: none; }
g.edge polygon.backhead { fill: #1565c0; stroke: #1565c0; }
@keyframes travel { to { stroke-dashoffset: 22; } }
@media (prefers-reduced-motion: reduce) { g.edge.back path { animation: none; } }
text.sent { font: bold 11px "DejaVu Sans", sans-serif; fill: #0d47a1; }
rect.sent { fill: #e3f2fd; stroke: #1565c0; stroke-width: 0.8; }
svg.graph .far { opacity: 0.18; }
"""

_JS = r"""
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("frames").textContent);
  const nodes = DATA.nodes, frames = DATA.frames, N = frames.length;
  const picture = document.getElementById("picture");
  const SVG = "http://www.w3.org/2000/svg";
  const views = Array.from(picture.querySelectorAll("svg.graph")).map((svg, k) => {
    const spec = DATA.views[k], el = {}, own = {}, cells = {}, edges = {};
    for (const i in spec.shown) {
      el[i] = document.getElementById(spec.shown[i]);
      own[i] = spec.shown[i].endsWith("_v" + i);
      if (el[i] && own[i]) {
        const texts = el[i].querySelectorAll("text");
        cells[i] = {data: texts[texts.length - 2], grad: texts[texts.length - 1]};
      }
    }
    svg.querySelectorAll("g.edge").forEach(e => {
      const t = e.querySelector("title");
      if (t) (edges[t.textContent] = edges[t.textContent] || []).push(e);
    });
    for (const id in spec.boxes) {
      const box = document.getElementById(id);
      if (!box) continue;
      box.classList.add("box");
      box.addEventListener("click", () => {
        const to = DATA.views.findIndex(v => v.scope === spec.boxes[id]);
        if (to >= 0) { follow(false); choose(to); }
      });
    }
    return {svg, spec, el, own, cells, edges, w: svg.width.baseVal.value, h: svg.height.baseVal.value};
  });
  // Cumulative state for each frame, so any frame can be shown directly.
  const states = [];
  let data = nodes.map(() => null), grad = nodes.map(() => null);
  frames.forEach(f => {
    data = data.slice(); grad = grad.slice();
    for (const k in f.data) data[k] = f.data[k];
    for (const k in f.grad) grad[k] = f.grad[k];
    states.push({data, grad});
  });
  const slider = document.getElementById("slider"), chooser = document.getElementById("view");
  const following = document.getElementById("follow");
  slider.max = String(N - 1);
  let at = 0, view = 0, scale = 1, focused = false;
  const active = () => views[view];

  function edgesOf(v, from, to) { return v.edges[from + "->" + to] || []; }
  function choose(k) {
    view = k;
    views.forEach((v, j) => v.svg.classList.toggle("hidden", j !== k));
    if (chooser) chooser.value = String(k);
    zoom(fitScale());
    show(at);
  }
  function follow(on) { if (following) following.checked = on; }
  function placeFor(i) {  // follow the walk: stay if the node is drawn here, else go where it is
    if (i === null || active().own[i]) return view;
    const k = views.findIndex(v => v.own[i]);
    return k < 0 ? view : k;
  }
  function back(edge, text) {  // an arrowhead at the edge's start (the way back), and the amount it carries
    const path = edge.querySelector("path");
    if (!path) return;
    edge.classList.add("back");
    const length = path.getTotalLength(), mid = path.getPointAtLength(length * 0.3);  // near the receiver
    const tip = path.getPointAtLength(0), back = path.getPointAtLength(Math.min(9, length));
    const dx = tip.x - back.x, dy = tip.y - back.y, n = Math.hypot(dx, dy) || 1;
    const ux = dx / n, uy = dy / n, head = document.createElementNS(SVG, "polygon");
    head.setAttribute("class", "backhead added");
    head.setAttribute("points", [[tip.x, tip.y], [back.x - uy * 4, back.y + ux * 4],
      [back.x + uy * 4, back.y - ux * 4]].map(p => p.join(",")).join(" "));
    edge.appendChild(head);
    if (text === undefined) return;
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("class", "sent added");
    t.setAttribute("x", mid.x + 6); t.setAttribute("y", mid.y + 4);
    t.textContent = "sent " + text;
    edge.appendChild(t);
    const b = t.getBBox(), r = document.createElementNS(SVG, "rect");
    r.setAttribute("class", "sent added");
    r.setAttribute("x", b.x - 3); r.setAttribute("y", b.y - 1);
    r.setAttribute("width", b.width + 6); r.setAttribute("height", b.height + 2); r.setAttribute("rx", 3);
    edge.insertBefore(r, t);
  }
  function near(i, depth) {  // nodes within `depth` edges of i, both ways
    const adj = nodes.map(() => []);
    nodes.forEach((n, j) => n.parents.forEach(p => { adj[j].push(p); adj[p].push(j); }));
    const seen = new Set([i]);
    let ring = [i];
    for (let d = 0; d < depth; d++) {
      const next = [];
      ring.forEach(j => adj[j].forEach(k => { if (!seen.has(k)) { seen.add(k); next.push(k); } }));
      ring = next;
    }
    return seen;
  }
  function show(k) {
    at = Math.max(0, Math.min(N - 1, k));
    const f = frames[at], s = states[at];
    if (following && following.checked) {
      const to = placeFor(f.current);
      if (to !== view) { view = to; views.forEach((v, j) => v.svg.classList.toggle("hidden", j !== to));
        if (chooser) chooser.value = String(to); zoom(fitScale()); }
    }
    const v = active();
    v.svg.querySelectorAll(".current, .parent, .flow, .back, .far").forEach(
      e => e.classList.remove("current", "parent", "flow", "back", "far"));
    v.svg.querySelectorAll(".added").forEach(e => e.remove());
    for (const i in v.cells) {
      const c = v.cells[i], g = v.el[i];
      c.data.textContent = "data " + (s.data[i] === null ? "?" : s.data[i]);
      c.grad.textContent = "grad " + (s.grad[i] === null ? "?" : s.grad[i][0]);
      g.classList.toggle("pending", s.data[i] === null);
      if (s.grad[i] === null) g.removeAttribute("data-grad");
      else g.setAttribute("data-grad", String(s.grad[i][1]));
    }
    let where = "";
    if (f.current !== null) {
      const i = f.current, g = v.el[i];
      if (g) g.classList.add("current");
      if (v.own[i]) { const op = document.getElementById(v.spec.shown[i] + "op"); if (op) op.classList.add("current"); }
      else if (g) where = nodes[i].name + " is inside " + v.spec.boxes[v.spec.shown[i]] + " (click the box to expand it)";
      f.parents.forEach(p => { if (v.el[p] && v.own[p]) v.el[p].classList.add("parent"); });
      const me = "v" + i, mine = edgesOf(v, me + "op", me);
      if (f.phase === "forward") {
        mine.forEach(e => e.classList.add("flow"));
        f.parents.forEach(p => edgesOf(v, "v" + p, me + "op").forEach(e => e.classList.add("flow")));
      } else {
        mine.forEach(e => back(e));
        const used = {};
        f.sent.forEach(([p, , amount]) => {
          const list = edgesOf(v, "v" + p, me + "op"), e = list[used[p] || 0] || list[0];
          used[p] = (used[p] || 0) + 1;
          if (e) back(e, amount);
        });
      }
      if (focused) {
        const keep = near(i, 2);
        for (const j in v.el) if (v.el[j] && !keep.has(Number(j)) && v.own[j]) v.el[j].classList.add("far");
        v.svg.querySelectorAll("g.edge").forEach(e => {
          const t = e.querySelector("title"), ends = t ? t.textContent.split("->") : [];
          const idx = ends.map(x => Number(x.replace(/^v/, "").replace(/op$/, "")));
          if (ends.length === 2 && !(keep.has(idx[0]) && keep.has(idx[1]))) e.classList.add("far");
        });
        for (const j in v.el) if (v.own[j] && !keep.has(Number(j))) {
          const op = document.getElementById(v.spec.shown[j] + "op"); if (op) op.classList.add("far"); }
      }
      if (g) reveal(g, focused);
    }
    document.getElementById("where").textContent = where;
    document.getElementById("title").textContent = f.title;
    document.getElementById("explain").textContent = f.lines.join("\n");
    document.getElementById("counter").textContent = "frame " + (at + 1) + " of " + N;
    document.body.setAttribute("data-frame", String(at));
    document.body.setAttribute("data-current", f.current === null ? "" : "v" + f.current);
    document.body.setAttribute("data-view", String(view));
    slider.value = String(at);
    document.getElementById("prev").disabled = at === 0;
    document.getElementById("next").disabled = at === N - 1;
    try { if (location.hash !== "#" + (at + 1)) history.replaceState(null, "", "#" + (at + 1)); }
    catch (e) { /* a sandboxed frame may refuse: the page works the same */ }
  }
  // Zoom about a point (the current node, else the middle of the panel), so what you
  // look at stays where it is.
  function zoom(s, anchor) {
    const v = active(), r = picture.getBoundingClientRect();
    const ax = anchor ? anchor[0] : picture.clientWidth / 2, ay = anchor ? anchor[1] : picture.clientHeight / 2;
    const cx = (picture.scrollLeft + ax) / scale, cy = (picture.scrollTop + ay) / scale;
    scale = Math.max(0.1, Math.min(4, s));
    views.forEach(w => { w.svg.style.width = (w.w * scale) + "px"; w.svg.style.height = (w.h * scale) + "px"; });
    picture.scrollLeft = cx * scale - ax; picture.scrollTop = cy * scale - ay;
    document.getElementById("scale").textContent = Math.round(scale * 100) + "%";
  }
  function fitScale() {
    const v = active();
    return Math.max(0.7, Math.min(1.2, (picture.clientWidth - 6) / v.w, (picture.clientHeight - 6) / v.h));
  }
  function anchorOfCurrent() {
    const f = frames[at], g = f.current === null ? null : active().el[f.current];
    if (!g) return null;
    const r = g.getBoundingClientRect(), p = picture.getBoundingClientRect();
    return [(r.left + r.right) / 2 - p.left, (r.top + r.bottom) / 2 - p.top];
  }
  function reveal(g, centre) {  // scroll the panel (not the page) so the node is in view
    const r = g.getBoundingClientRect(), p = picture.getBoundingClientRect();
    if (centre || r.left < p.left || r.right > p.right) picture.scrollLeft += (r.left + r.right - p.left - p.right) / 2;
    if (centre || r.top < p.top || r.bottom > p.bottom) picture.scrollTop += (r.top + r.bottom - p.top - p.bottom) / 2;
  }
  function focusMode(on) {
    focused = on;
    document.getElementById("focus").setAttribute("aria-pressed", String(on));
    document.getElementById("focus").textContent = on ? "all" : "focus";
    if (on) zoom(Math.max(scale, 1), anchorOfCurrent());
    show(at);
  }
  document.getElementById("zoom-in").addEventListener("click", () => zoom(scale * 1.25, anchorOfCurrent()));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(scale / 1.25, anchorOfCurrent()));
  document.getElementById("zoom-fit").addEventListener("click", () => zoom(fitScale()));
  document.getElementById("focus").addEventListener("click", () => focusMode(!focused));
  document.getElementById("prev").addEventListener("click", () => show(at - 1));
  document.getElementById("next").addEventListener("click", () => show(at + 1));
  slider.addEventListener("input", () => show(Number(slider.value)));
  if (chooser) chooser.addEventListener("change", () => { follow(false); choose(Number(chooser.value)); });
  if (following) following.addEventListener("change", () => show(at));
  document.addEventListener("keydown", e => {
    if (e.target === slider || e.target === chooser) return;  // they handle their own keys
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { show(at + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { show(at - 1); e.preventDefault(); }
    else if (e.key === "Home") show(0);
    else if (e.key === "End") show(N - 1);
    else if (e.key === "+" || e.key === "=") zoom(scale * 1.25, anchorOfCurrent());
    else if (e.key === "-") zoom(scale / 1.25, anchorOfCurrent());
    else if (e.key === "f") focusMode(!focused);
  });
  window.addEventListener("hashchange", () => {  // page.html#7 shows frame 7
    const m = /^#(\d+)$/.exec(location.hash);
    if (m && Number(m[1]) - 1 !== at) show(Number(m[1]) - 1);
  });
  const start = /^#(\d+)$/.exec(location.hash);
  views.forEach((v, j) => v.svg.classList.toggle("hidden", j !== 0));
  zoom(fitScale());
  show(start ? Number(start[1]) - 1 : 0);
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>{title}</h1>
<div id="controls">
<button id="prev" type="button" title="Previous (left arrow)">&#9664; Previous</button>
<input id="slider" type="range" min="0" max="0" value="0" aria-label="frame">
<button id="next" type="button" title="Next (right arrow)">Next &#9654;</button>
<span id="counter"></span>
</div>
</header>
<main>
<div id="picture">{svgs}</div>
<aside>
<div id="tools">{chooser}
<button id="focus" type="button" aria-pressed="false" title="Dim all but two edges around the current node (f)">focus</button>
<button id="zoom-out" type="button" title="Zoom out (-)">&minus;</button>
<span id="scale"></span>
<button id="zoom-in" type="button" title="Zoom in (+)">+</button>
<button id="zoom-fit" type="button" title="Fit the panel">fit</button></div>
<div id="title"></div>
<div id="where"></div>
<pre id="explain"></pre>
<div id="legend"><span class="swatch" style="background:#ffb74d"></span> this step's node &nbsp;
<span class="swatch" style="background:#c5e1a5"></span> its inputs &nbsp;
<span class="swatch" style="background:#1565c0"></span> a gradient travelling back, with the amount sent &nbsp; ? not computed yet</div>
</aside>
</main>
<script id="frames" type="application/json">{data}</script>
<script>{js}</script>
</body>
</html>
"""
