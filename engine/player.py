"""A self-contained HTML page that steps through the forward and backward pass.

`save_html(root, path)` lays the graph out once with Graphviz and writes one HTML file:
the SVG inline, the frames as JSON, and a few lines of JavaScript that restyle the SVG
per frame (current node highlighted, values and gradients filling in) and show the
step's explanation beside it. Previous/Next buttons, the arrow keys and a slider move
between frames. Nothing is fetched from the network; every text (labels are user input)
is escaped, and the explanations are inserted as text, never as markup.
"""
from __future__ import annotations

import html
import json
import os
import pathlib
import re

from .autodiff import fresh_grads, topological_order
from .draw import draw, pipe
from .files import write_atomic
from .notation import expression, names, number, ratio
from .steps import backward_steps, forward_steps
from .value import Value, as_float

__all__ = ["save_html", "frames"]


def frames(root: Value, grad: float = 1.0) -> list[dict]:
    """The frames of the walk: what each node shows and what the step says.

    Each frame holds only what changed: `data`/`grad` map a node's index (in topological
    order) to its new text (grads also carry the exact float), `current` is the index of
    the node whose turn it is, `parents` the nodes it sends to. Grads are those of one
    fresh backward pass; every `.grad` is put back as it was afterwards.
    """
    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    label = names(order)
    r = label[root]
    with fresh_grads(order):
        fwd = list(forward_steps(root))
        seed = as_float(grad, "backward seed")
        out = [{
            "title": f"The graph of {r}: {len(order)} value{'s' if len(order) != 1 else ''}",
            "lines": ["The inputs are given. Press Next (or the right arrow key) to compute forward."],
            "current": None, "parents": [], "phase": "forward",
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
                "data": {index[s.node]: number(s.value)}, "grad": {},
            })
        out.append({
            "title": f"Backward: start at {r}",
            "lines": [f"{ratio(r, r)} = {number(seed)}",
                      "The gradient of the output with respect to itself seeds the walk."],
            "current": index[root], "parents": [], "phase": "backward", "data": {},
            "grad": {index[root]: [number(seed), seed]},
        })
        steps = list(backward_steps(root, seed))
        for s in steps:
            out.append({
                "title": f"Backward step {s.index + 1} of {len(steps)}: {s.name}",
                "lines": s.lines(),
                "current": index[s.node], "parents": [index[e.parent] for e in s.edges],
                "phase": "backward", "data": {},
                "grad": {index[e.parent]: [number(e.total), e.total] for e in s.edges},
            })
        leaves = [v for v in order if v._op is None]
        out.append({
            "title": "Done: the gradients of backward()",
            "lines": [f"{ratio(r, label[v])} = {number(v.grad)}" for v in leaves],
            "current": None, "parents": [], "phase": "done", "data": {}, "grad": {},
        })
    return out


def save_html(
    root: Value,
    path: str | os.PathLike,
    *,
    grad: float = 1.0,
    rankdir: str = "TB",
    max_nodes: int = 300,
    timeout: float = 120.0,
) -> pathlib.Path:
    """Write the step-through page of `root`'s forward and backward pass to `path`.

    One self-contained HTML file (inline SVG, CSS and JavaScript; no network). The
    Values' grads are left as they were.
    """
    if not isinstance(root, Value):
        raise TypeError(f"save_html expects a Value, got {type(root).__name__}")
    path = pathlib.Path(path)
    if len(topological_order(root)) > max_nodes:
        draw(root, max_nodes=max_nodes)  # raises GraphTooLargeError, with advice, before any work
    all_frames = frames(root, grad)
    order = topological_order(root)
    svg = _svg(root, order, all_frames, rankdir, max_nodes, timeout)
    label = names(order)
    payload = {
        "nodes": [{"id": f"v{i}", "name": label[v], "leaf": v._op is None} for i, v in enumerate(order)],
        "frames": all_frames,
    }
    title = f"chainrule: stepping through {label[root]}"
    page = _PAGE.format(
        title=html.escape(title),
        svg=svg,
        data=_json_for_script(payload),
        css=_CSS,
        js=_JS,
    )
    return write_atomic(path, page)


def _svg(root: Value, order: list[Value], all_frames: list[dict], rankdir: str, max_nodes: int,
         timeout: float) -> str:
    """Lay the graph out once, each grad cell sized for the longest text it will show."""
    longest: dict[int, tuple[int, float]] = {}
    for f in all_frames:
        for i, (text, value) in f["grad"].items():
            if len(text) > longest.get(i, (0, 0.0))[0]:
                longest[i] = (len(text), value)
    with fresh_grads(order):
        for i, v in enumerate(order):
            v.grad = longest.get(i, (0, 0.0))[1]
        dot = draw(root, rankdir=rankdir, max_nodes=max_nodes, show_grads=True, clusters=True)
    svg = pipe(dot.source, "svg", timeout=timeout).decode("utf-8")
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = svg.replace("<svg ", '<svg id="graph" ', 1)  # the page scales it (zoom buttons)
    return svg


def _json_for_script(payload: object) -> str:
    """JSON that cannot end its <script> element or open markup: < > & escaped."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_CSS = """
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0; color: #212121; }
header { padding: 10px 16px; background: #263238; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
main { display: flex; gap: 16px; padding: 12px 16px; align-items: flex-start; flex-wrap: wrap; }
#picture { flex: 3 1 560px; min-width: 320px; overflow: auto; border: 1px solid #cfd8dc;
  border-radius: 6px; max-height: calc(100vh - 80px); }
#graph { display: block; }
#zoom { margin-left: auto; }
aside { flex: 2 1 420px; min-width: 300px; }
#controls { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; }
#controls button { font-size: 15px; padding: 4px 12px; white-space: nowrap; }
#slider { flex: 1; }
#counter { font-variant-numeric: tabular-nums; white-space: nowrap; text-align: right; }
#title { font-size: 16px; margin: 6px 0; }
#explain { background: #f5f5f5; border-radius: 6px; padding: 10px; white-space: pre-wrap;
  font-family: "DejaVu Sans Mono", monospace; font-size: 13px; line-height: 1.5; margin: 0; }
#legend { font-size: 12px; color: #546e7a; margin-top: 8px; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #90a4ae; vertical-align: middle; }
g.node.current polygon { fill: #ffb74d; }
g.node.current ellipse { fill: #ffb74d; }
g.node.parent polygon { fill: #c5e1a5; }
g.node.pending text { fill: #9e9e9e; }
g.edge.flow path { stroke: #e65100; stroke-width: 2.5; }
g.edge.flow polygon { fill: #e65100; stroke: #e65100; }
"""

_JS = r"""
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("frames").textContent);
  const nodes = DATA.nodes, frames = DATA.frames, N = frames.length;
  const svg = document.getElementById("graph");
  const groups = nodes.map(n => document.getElementById(n.id));
  const ops = nodes.map(n => document.getElementById(n.id + "op"));
  const cells = groups.map(g => {
    const texts = g ? g.querySelectorAll("text") : [];
    return {data: texts[texts.length - 2], grad: texts[texts.length - 1]};
  });
  const edges = {};
  svg.querySelectorAll("g.edge").forEach(e => {
    const t = e.querySelector("title");
    if (t) edges[t.textContent.replace("&#45;", "-")] = e;
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
  const slider = document.getElementById("slider");
  slider.max = String(N - 1);
  let at = 0;
  function edgeGroups(i, parents) {
    const out = [], id = nodes[i].id;
    if (edges[id + "op->" + id]) out.push(edges[id + "op->" + id]);
    parents.forEach(p => { const e = edges[nodes[p].id + "->" + id + "op"]; if (e) out.push(e); });
    return out;
  }
  function show(k) {
    at = Math.max(0, Math.min(N - 1, k));
    const f = frames[at], s = states[at];
    svg.querySelectorAll(".current, .parent, .flow").forEach(e => e.classList.remove("current", "parent", "flow"));
    nodes.forEach((n, i) => {
      const g = groups[i], c = cells[i];
      if (!g || !c.grad) return;
      c.data.textContent = "data " + (s.data[i] === null ? "?" : s.data[i]);
      c.grad.textContent = "grad " + (s.grad[i] === null ? "?" : s.grad[i][0]);
      g.classList.toggle("pending", s.data[i] === null);
      if (s.grad[i] === null) g.removeAttribute("data-grad");
      else g.setAttribute("data-grad", String(s.grad[i][1]));
    });
    if (f.current !== null) {
      groups[f.current] && groups[f.current].classList.add("current");
      ops[f.current] && ops[f.current].classList.add("current");
      f.parents.forEach(p => groups[p] && groups[p].classList.add("parent"));
      edgeGroups(f.current, f.parents).forEach(e => e.classList.add("flow"));
      if (groups[f.current]) reveal(groups[f.current]);
    }
    document.getElementById("title").textContent = f.title;
    document.getElementById("explain").textContent = f.lines.join("\n");
    document.getElementById("counter").textContent = "frame " + (at + 1) + " of " + N;
    document.body.setAttribute("data-frame", String(at));
    document.body.setAttribute("data-current", f.current === null ? "" : nodes[f.current].id);
    slider.value = String(at);
    document.getElementById("prev").disabled = at === 0;
    document.getElementById("next").disabled = at === N - 1;
  }
  // Zoom: start at the scale that fits the panel, but never so small the text is unreadable.
  const picture = document.getElementById("picture");
  const nw = svg.width.baseVal.value, nh = svg.height.baseVal.value;
  let scale = 1;
  function zoom(s) {
    scale = Math.max(0.1, Math.min(4, s));
    svg.style.width = (nw * scale) + "px";
    svg.style.height = (nh * scale) + "px";
  }
  function fitScale() {
    const room = window.innerHeight - 84;  // the panel's max-height, less its border
    return Math.min(1, (picture.clientWidth - 4) / nw, Math.max(200, room) / nh);
  }
  zoom(Math.max(fitScale(), 0.6));
  function reveal(g) {  // scroll the panel (not the page) so the current node is in view
    const r = g.getBoundingClientRect(), p = picture.getBoundingClientRect();
    if (r.left < p.left || r.right > p.right) picture.scrollLeft += (r.left + r.right - p.left - p.right) / 2;
    if (r.top < p.top || r.bottom > p.bottom) picture.scrollTop += (r.top + r.bottom - p.top - p.bottom) / 2;
  }
  document.getElementById("zoom-in").addEventListener("click", () => zoom(scale * 1.25));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(scale / 1.25));
  document.getElementById("zoom-fit").addEventListener("click", () => zoom(fitScale()));
  document.getElementById("prev").addEventListener("click", () => show(at - 1));
  document.getElementById("next").addEventListener("click", () => show(at + 1));
  slider.addEventListener("input", () => show(Number(slider.value)));
  document.addEventListener("keydown", e => {
    if (e.target === slider) return;  // the slider handles its own arrow keys
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { show(at + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { show(at - 1); e.preventDefault(); }
    else if (e.key === "Home") show(0);
    else if (e.key === "End") show(N - 1);
    else if (e.key === "+" || e.key === "=") zoom(scale * 1.25);
    else if (e.key === "-") zoom(scale / 1.25);
  });
  const start = /^#(\d+)$/.exec(location.hash);  // page.html#7 opens at frame 7
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
<header><h1>{title}</h1></header>
<main>
<div id="picture">{svg}</div>
<aside>
<div id="controls">
<button id="prev" type="button" title="Previous (left arrow)">&#9664; Previous</button>
<input id="slider" type="range" min="0" max="0" value="0" aria-label="frame">
<button id="next" type="button" title="Next (right arrow)">Next &#9654;</button>
<span id="counter"></span>
</div>
<div id="title"></div>
<pre id="explain"></pre>
<div id="legend"><span class="swatch" style="background:#ffb74d"></span> this step's node &nbsp;
<span class="swatch" style="background:#c5e1a5"></span> its inputs (receiving gradient) &nbsp; ? not computed yet
<span id="zoom"><button id="zoom-out" type="button" title="Zoom out (-)">&minus;</button>
<button id="zoom-fit" type="button" title="Fit the panel">fit</button>
<button id="zoom-in" type="button" title="Zoom in (+)">+</button></span></div>
</aside>
</main>
<script id="frames" type="application/json">{data}</script>
<script>{js}</script>
</body>
</html>
"""
