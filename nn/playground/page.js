// The playground page: draws the frames the server streams (server-sent events) and sends
// the user's changes back as small JSON requests. Every text from the server goes into the
// page as text (textContent), never as markup; the one exception, engine.draw's SVG, is
// parsed as an XML document and its nodes imported, so no script in it could ever run.
(function () {
  "use strict";
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  const $ = id => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const POS = [245, 147, 34], NEG = [8, 119, 189];

  let frame = null, frames = 0, events = null;
  let chosen = null;       // the node in the detail panel: {node}, {node, layer, neuron} or {node, drawnFrom}
  let drag = null;         // {index, x, y, moved} while a point is held
  let network = null;      // the network view's elements, rebuilt when the shape changes

  function url(path, params) {
    return path + "?" + new URLSearchParams(Object.assign({token: TOKEN}, params || {}));
  }
  async function request(path, body, params) {  // the response, or an Error with the server's message
    const response = await fetch(url(path, params), {
      method: body === undefined ? "GET" : "POST",
      headers: {"X-Chainrule-Token": TOKEN, "Content-Type": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      const json = (response.headers.get("Content-Type") || "").startsWith("application/json");
      throw new Error(json ? (await response.json()).error : response.statusText);
    }
    return response;
  }
  const api = (path, body, params) => request(path, body, params).then(r => r.json());
  const file = path => request(path).then(r => r.blob());
  function say(text, isError) {
    $("status").textContent = text;
    $("status").classList.toggle("error", !!isError);
  }
  const complain = error => say(error.message, true);
  function num(x, digits) {
    if (x === null || x === undefined) return "-";
    const a = Math.abs(x);
    return a !== 0 && (a < 1e-3 || a >= 1e4) ? x.toExponential(2) : x.toFixed(digits === undefined ? 4 : digits);
  }
  function colour(score, strength) {
    const t = Math.tanh(score), base = t >= 0 ? POS : NEG, k = Math.abs(t) * strength;
    return base.map(c => Math.round(255 + (c - 255) * k));
  }
  const rgb = c => "rgb(" + c.join(",") + ")";

  // ---------------------------------------------------------------- start
  async function start() {
    const info = await api("/api/choices");
    $("dataname").textContent = "· " + info.data;
    for (const key in info.choices) {
      const select = $(key);
      info.choices[key].forEach(name => {
        const option = document.createElement("option");
        option.value = name; option.textContent = name;
        select.appendChild(option);
      });
    }
    $("hidden").title = "hidden layer widths, e.g. 8,8 (up to " + info.limits.layers + " layers of " + info.limits.width + ")";
    events = new EventSource(url("/events"));
    events.addEventListener("frame", e => show(JSON.parse(e.data)));
    events.onerror = () => { if (events) say("lost the connection to the server; retrying...", true); };
    wire();
    new ResizeObserver(() => frame && show(frame)).observe($("right"));
  }

  function wire() {
    const control = action => () => api("/api/control", {action}).catch(complain);
    $("play").onclick = control("play");
    $("pause").onclick = control("pause");
    $("step").onclick = control("step");
    $("reset").onclick = () => { chosen = null; clearDetail(); control("reset")(); };
    $("stop").onclick = () => api("/api/control", {action: "stop"}).then(() => {
      events.close(); events = null;
      say("the server has stopped; close this tab");
      document.body.dataset.stopped = "true";
    }).catch(complain);
    document.querySelectorAll("[data-setting]").forEach(input => {
      input.addEventListener("change", () => {
        const key = input.dataset.setting;
        const value = input.type === "number" ? Number(input.value) : input.value;
        api("/api/settings", {[key]: value}).then(() => say("")).catch(complain);
      });
    });
    const canvas = $("boundary");
    canvas.addEventListener("pointerdown", pressed);
    canvas.addEventListener("pointermove", moved);
    canvas.addEventListener("pointerup", released);
    $("nudge-slider").addEventListener("input", nudged);
    $("export-model").onclick = () => file("/export/model.json").then(b => save(b, "playground-model.json")).catch(complain);
    $("export-steps").onclick = () => file("/export/steps.html").then(b => save(b, "playground-steps.html")).catch(complain);
    $("export-png").onclick = () => $("boundary").toBlob(b => save(b, "playground-boundary.png"));
    $("export-svg").onclick = () => save(new Blob([boundarySvg()], {type: "image/svg+xml"}), "playground-boundary.svg");
  }

  function save(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 5000);
  }

  // ---------------------------------------------------------------- one frame
  function show(f) {
    const fresh = !frame || f.version !== frame.version;
    frame = f;
    if (fresh) frames += 1;
    const b = document.body.dataset;
    b.version = f.version; b.step = f.step; b.playing = f.playing; b.frames = frames;
    b.loss = f.loss === null ? "" : f.loss;
    for (const key in f.settings) {
      const input = $(key);
      if (input && document.activeElement !== input) input.value = f.settings[key];
    }
    $("play").disabled = f.playing; $("pause").disabled = !f.playing;
    drawBoundary(); drawCurve(); drawNetwork();
    if (f.error) say(f.error, true);
    else if (!$("status").classList.contains("error") || f.playing) {
      say("step " + f.step + (f.loss === null ? "" : "  ·  loss " + num(f.loss)) +
          (f.accuracy === null ? "" : "  ·  accuracy " + (100 * f.accuracy).toFixed(0) + "%") +
          "  ·  " + (f.playing ? "training" : "paused") + "  ·  " + f.points.length + " points");
    }
    if (fresh && !f.playing && chosen) open(chosen);  // paused or stepped: the panel shows this frame
  }

  // ---------------------------------------------------------------- the data and the boundary
  function fit(canvas) {  // the canvas's pixels follow its CSS size
    const r = window.devicePixelRatio || 1, w = Math.round(canvas.clientWidth * r), h = Math.round(canvas.clientHeight * r);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    return [w, h, r];
  }
  function toCanvas(x, y, w, h) {
    const [[x0, x1], [y0, y1]] = frame.bounds;
    return [(x - x0) / (x1 - x0) * w, (y1 - y) / (y1 - y0) * h];
  }
  function toData(px, py, w, h) {
    const [[x0, x1], [y0, y1]] = frame.bounds;
    return [x0 + px / w * (x1 - x0), y1 - py / h * (y1 - y0)];
  }
  function drawBoundary() {
    const canvas = $("boundary"), [w, h, r] = fit(canvas), ctx = canvas.getContext("2d");
    const n = frame.grid.size, small = document.createElement("canvas");
    small.width = small.height = n;
    const sctx = small.getContext("2d"), image = sctx.createImageData(n, n);
    frame.grid.scores.forEach((s, k) => {
      const c = colour(s, 0.65);
      image.data.set([c[0], c[1], c[2], 255], 4 * k);
    });
    sctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, w, h);
    ctx.beginPath();
    contour().forEach(([x1, y1, x2, y2]) => { ctx.moveTo(x1 * w, y1 * h); ctx.lineTo(x2 * w, y2 * h); });
    ctx.strokeStyle = "rgba(255, 255, 255, 0.9)"; ctx.lineWidth = 2 * r; ctx.stroke();
    frame.points.forEach((p, i) => {
      const [x, y] = drag && drag.index === i ? [drag.x, drag.y] : toCanvas(p[0], p[1], w, h);
      ctx.beginPath();
      ctx.arc(x, y, 4.5 * r, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(frame.labels[i] > 0 ? POS : NEG);
      ctx.fill();
      ctx.lineWidth = r; ctx.strokeStyle = "#fff"; ctx.stroke();
      if (i === frame.selected) {
        ctx.beginPath(); ctx.arc(x, y, 9 * r, 0, 2 * Math.PI);
        ctx.lineWidth = 2 * r; ctx.strokeStyle = "#212121"; ctx.stroke();
      }
    });
  }
  function contour() {  // the boundary (score 0) by marching squares: segments in 0..1 coordinates
    const n = frame.grid.size, s = frame.grid.scores, out = [];
    const score = (i, j) => s[j * n + i], at = v => (v + 0.5) / n;
    for (let j = 0; j + 1 < n; j++) {
      for (let i = 0; i + 1 < n; i++) {
        const corners = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], cross = [];
        corners.forEach(([ai, aj], k) => {
          const [bi, bj] = corners[(k + 1) % 4], a = score(ai, aj), b = score(bi, bj);
          if ((a > 0) !== (b > 0)) {
            const t = a / (a - b);
            cross.push([at(ai + (bi - ai) * t), at(aj + (bj - aj) * t)]);
          }
        });
        for (let k = 0; k + 1 < cross.length; k += 2) out.push([...cross[k], ...cross[k + 1]]);
      }
    }
    return out;
  }
  function nearest(px, py, w, h) {
    let best = -1, bestD = 10 * (window.devicePixelRatio || 1);
    frame.points.forEach((p, i) => {
      const [x, y] = toCanvas(p[0], p[1], w, h), d = Math.hypot(x - px, y - py);
      if (d < bestD) { best = i; bestD = d; }
    });
    return best;
  }
  function where(e) {
    const canvas = $("boundary"), rect = canvas.getBoundingClientRect();
    return [(e.clientX - rect.left) * canvas.width / rect.width, (e.clientY - rect.top) * canvas.height / rect.height,
            canvas.width, canvas.height];
  }
  function pressed(e) {
    if (!frame) return;
    const [px, py, w, h] = where(e), i = nearest(px, py, w, h);
    if (i >= 0) {
      drag = {index: i, x: px, y: py, moved: false};
      $("boundary").setPointerCapture(e.pointerId);
      return;
    }
    const [x, y] = toData(px, py, w, h);
    const label = Number(document.querySelector("input[name=cls]:checked").value);
    api("/api/points", {action: "add", x, y, label}).catch(complain);
  }
  function moved(e) {
    if (!drag) return;
    const [px, py, w, h] = where(e);
    drag.x = Math.max(0, Math.min(w, px)); drag.y = Math.max(0, Math.min(h, py)); drag.moved = true;
    drawBoundary();
  }
  function released(e) {
    if (!drag) return;
    const d = drag, canvas = $("boundary");
    drag = null;
    if (d.moved) {
      const [x, y] = toData(d.x, d.y, canvas.width, canvas.height);
      api("/api/points", {action: "move", index: d.index, x, y}).catch(complain);
    } else {
      api("/api/points", {action: "select", index: d.index}).catch(complain);
    }
    drawBoundary();
  }
  function boundarySvg() {  // the picture as vector graphics: grid cells, the boundary, the points
    const n = frame.grid.size, size = 600, cell = size / n, parts = [];
    frame.grid.scores.forEach((s, k) => {
      parts.push('<rect x="' + (k % n) * cell + '" y="' + Math.floor(k / n) * cell + '" width="' + (cell + 0.5) +
                 '" height="' + (cell + 0.5) + '" fill="' + rgb(colour(s, 0.65)) + '"/>');
    });
    parts.push('<path fill="none" stroke="#fff" stroke-width="2" d="' + contour().map(([x1, y1, x2, y2]) =>
      "M" + (x1 * size).toFixed(1) + " " + (y1 * size).toFixed(1) + "L" + (x2 * size).toFixed(1) + " " + (y2 * size).toFixed(1)).join("") + '"/>');
    frame.points.forEach((p, i) => {
      const [x, y] = toCanvas(p[0], p[1], size, size);
      parts.push('<circle cx="' + x.toFixed(2) + '" cy="' + y.toFixed(2) + '" r="4.5" fill="' +
                 rgb(frame.labels[i] > 0 ? POS : NEG) + '" stroke="#fff"/>');
    });
    return '<svg xmlns="' + SVG + '" width="' + size + '" height="' + size + '" viewBox="0 0 ' + size + " " + size +
           '" shape-rendering="crispEdges">' + parts.join("") + "</svg>";
  }

  // ---------------------------------------------------------------- the loss curve
  function drawCurve() {
    const canvas = $("curve"), [w, h, r] = fit(canvas), ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    const pts = frame.curve.filter(p => p[1] !== null && p[1] > 0);
    ctx.fillStyle = "#546e7a"; ctx.font = (10 * r) + "px sans-serif";
    if (pts.length < 2) { ctx.fillText("the loss curve appears as training runs", 8 * r, h / 2); return; }
    const ys = pts.map(p => Math.log10(p[1])), lo = Math.min(...ys), hi = Math.max(...ys), span = Math.max(hi - lo, 1e-6);
    const last = pts[pts.length - 1][0], pad = 14 * r;
    ctx.strokeStyle = "#1565c0"; ctx.lineWidth = 1.5 * r; ctx.beginPath();
    pts.forEach((p, k) => {
      const x = pad + (p[0] - 1) / Math.max(last - 1, 1) * (w - 2 * pad), y = pad + (hi - ys[k]) / span * (h - 2 * pad);
      k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
    ctx.fillText("loss " + num(Math.pow(10, hi)) + " (log scale)", pad, 10 * r);
    ctx.fillText(num(Math.pow(10, lo)), pad, h - 3 * r);
    ctx.textAlign = "right"; ctx.fillText("step " + last, w - pad, h - 3 * r); ctx.textAlign = "left";
  }

  // ---------------------------------------------------------------- the network of the selected point
  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function buildNetwork(net, w, h) {
    const svg = $("network");
    svg.replaceChildren();
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    const columns = [net.inputs, ...net.layers.map(l => l.neurons), [net.loss]];
    const gap = (w - 140) / (columns.length - 1);  // room on the right for the loss's text
    const at = columns.map((col, c) => col.map((_, j) => [30 + c * gap, (j + 1) * h / (col.length + 1)]));
    const edges = el("g", {}, svg), nodes = el("g", {}, svg), view = {key: key(net, w, h), edges: [], nodes: []};
    net.layers.forEach((layer, k) => layer.neurons.forEach((neuron, j) => {
      neuron.weights.forEach((_, i) => {
        const [x1, y1] = at[k][i], [x2, y2] = at[k + 1][j], g = el("g", {class: "edge"}, edges);
        const line = el("line", {class: "line", x1, y1, x2, y2}, g);
        el("line", {class: "hit", x1, y1, x2, y2}, g);
        const title = el("title", {}, g);
        g.addEventListener("click", () => choose({node: neuron.weights[i].node}));
        view.edges.push({g, line, title, k, j, i});
      });
    }));
    const last = net.layers.length - 1;
    net.layers[last].neurons.forEach((_, j) => {  // the outputs feed the loss
      const [x1, y1] = at[last + 1][j], [x2, y2] = at[last + 2][0];
      el("line", {x1, y1, x2, y2, stroke: "#90a4ae", "stroke-dasharray": "3 3"}, edges);
    });
    columns.forEach((col, c) => col.forEach((item, j) => {
      const [x, y] = at[c][j], g = el("g", {class: c === 0 ? "input" : c === columns.length - 1 ? "loss" : "neuron"}, nodes);
      const shape = c === 0 ? el("rect", {x: x - 11, y: y - 11, width: 22, height: 22, rx: 3}, g)
                            : el("circle", {cx: x, cy: y, r: 11}, g);
      shape.setAttribute("stroke", "#37474f");
      const name = el("text", {x, y: y - 14, "text-anchor": "middle"}, g);
      const value = el("text", {x: x + 15, y: y + 1}, g), grad = el("text", {x: x + 15, y: y + 12}, g);
      const title = el("title", {}, g);
      const pick = c === 0 || c === columns.length - 1 ? {node: item.node} : {node: item.node, layer: c, neuron: j + 1};
      g.addEventListener("click", () => choose(pick));
      view.nodes.push({shape, name, value, grad, title, c, j});
    }));
    return view;
  }
  function key(net, w, h) {
    return [w, h, net.nodes, net.inputs.length, ...net.layers.map(l => l.neurons.length + l.activation)].join(" ");
  }
  function drawNetwork() {
    const svg = $("network"), w = svg.clientWidth, h = svg.clientHeight, net = frame.network;
    if (!net) { svg.replaceChildren(); network = null; return; }  // diverged: nothing to show
    if (!w || !h) return;
    if (!network || network.key !== key(net, w, h)) network = buildNetwork(net, w, h);
    const columns = [net.inputs, ...net.layers.map(l => l.neurons), [net.loss]];
    const biggest = Math.max(1e-9, ...net.layers.flatMap(l => l.neurons.flatMap(n => n.weights.map(q => Math.abs(q.value)))));
    network.edges.forEach(e => {
      const wt = net.layers[e.k].neurons[e.j].weights[e.i];
      e.line.setAttribute("stroke", rgb(wt.value >= 0 ? POS : NEG));
      e.line.setAttribute("stroke-width", (0.4 + 3.6 * Math.abs(wt.value) / biggest).toFixed(2));
      e.title.textContent = wt.name + " = " + num(wt.value) + ",  dC/d" + wt.name + " = " + num(wt.grad);
      e.g.classList.toggle("chosen", !!chosen && chosen.node === wt.node && chosen.layer === undefined);
    });
    network.nodes.forEach(n => {
      const item = columns[n.c][n.j], isLoss = n.c === columns.length - 1;
      n.shape.setAttribute("fill", n.c === 0 ? "#e3f2fd" : isLoss ? "#fff3e0" : rgb(colour(item.value, 0.8)));
      n.shape.classList.toggle("chosen", !!chosen && chosen.node === item.node);
      n.name.textContent = n.c === 0 ? item.name : isLoss ? "C" : "";
      n.value.textContent = (n.c === 0 ? "" : isLoss ? "C " : "a ") + num(item.value, 3);
      n.grad.textContent = isLoss ? "y " + net.targets.map(t => num(t.value, 0)).join(",") : "dC/d" + (n.c === 0 ? item.name : "a") + " " + num(item.grad, 3);
      n.title.textContent = n.c === 0 ? item.name + " = " + num(item.value) :
        isLoss ? "the loss C of the selected point = " + num(item.value) :
        "layer " + n.c + ", neuron " + (n.j + 1) + " (" + net.layers[n.c - 1].activation + "): a = " + num(item.value) +
        ", dC/da = " + num(item.grad) + "; bias " + item.bias.name + " = " + num(item.bias.value);
    });
  }

  // ---------------------------------------------------------------- the detail panel: the chain rule at one node
  function clearDetail() {
    $("detail-title").textContent = "Pause, then click a neuron or a weight to see the chain rule there.";
    $("detail-text").textContent = $("detail-value").textContent = "";
    $("nudge").hidden = true;
    $("drawing").replaceChildren();
  }
  async function choose(pick) {
    chosen = pick;
    if (frame && frame.playing) await api("/api/control", {action: "pause"}).catch(complain);  // inspecting pauses
    open(pick);
    if (frame) drawNetwork();
  }
  async function open(pick) {
    try {
      const step = await api("/api/node", undefined, {i: pick.node});
      if (chosen !== pick) return;
      const where = pick.layer !== undefined ? "layer " + pick.layer + ", neuron " + pick.neuron + ": " : "";
      $("detail-title").textContent = where + step.name + "  (at step " + frame.step + ")";
      $("detail-value").textContent = step.forward + "\nvalue " + num(step.value, 6) + ",  dC/d" + step.name + " = " + num(step.grad, 6);
      const lines = [];
      if (step.received.length) lines.push("what reached it (the chain rule, one product per edge):", ...step.received, "");
      if (step.sends.length) lines.push("what it sends on:", ...step.sends);
      $("detail-text").textContent = lines.join("\n");
      $("nudge").hidden = !step.parameter;
      if (step.parameter) nudged();
      const neuron = pick.layer !== undefined ? pick : pick.drawnFrom;  // a neuron, or a node of its drawing
      if (neuron) {
        const picture = await api("/api/neuron", undefined, {layer: neuron.layer, neuron: neuron.neuron});
        if (chosen === pick) showDrawing(picture, neuron);
      } else {
        $("drawing").replaceChildren();
      }
      markDrawing(pick.node);
    } catch (error) { complain(error); }
  }
  function showDrawing(picture, from) {  // picture.nodes: drawn id -> node of the point's graph
    const doc = new DOMParser().parseFromString(picture.svg, "image/svg+xml");
    if (doc.querySelector("parsererror")) throw new Error("the drawing could not be read");
    const svg = document.importNode(doc.documentElement, true);
    svg.querySelectorAll("script, foreignObject").forEach(e => e.remove());
    for (const side of ["width", "height"]) {  // Graphviz sizes in pt; 70% of that fits the panel
      const size = parseFloat(svg.getAttribute(side));
      if (size) svg.setAttribute(side, (size * 0.7 * 4 / 3).toFixed(0) + "px");
    }
    svg.querySelectorAll("g.node").forEach(g => {
      const node = picture.nodes[g.id];
      if (node === undefined) return;
      g.dataset.node = node;
      g.addEventListener("click", () => choose({node, drawnFrom: from}));
    });
    $("drawing").replaceChildren(svg);
  }
  function markDrawing(node) {
    $("drawing").querySelectorAll("g.node.chosen").forEach(g => g.classList.remove("chosen"));
    const g = $("drawing").querySelector('g.node[data-node="' + node + '"]');
    if (g) g.classList.add("chosen");
  }
  let nudging = 0;
  async function nudged() {
    const delta = Number($("nudge-slider").value), ticket = ++nudging;
    $("nudge-amount").textContent = (delta >= 0 ? "+" : "") + delta.toFixed(2);
    try {
      const r = await api("/api/nudge", undefined, {i: chosen.node, delta});
      if (ticket !== nudging) return;
      $("nudge-result").textContent =
        "predicted  dC = dC/d" + r.name + " x nudge = " + num(r.grad, 5) + " x " + delta.toFixed(2) + " = " + num(r.predicted, 6) +
        "\nactual     dC = C(" + r.name + " + nudge) - C = " + num(r.after, 6) + " - " + num(r.before, 6) + " = " + num(r.actual, 6);
      document.body.dataset.nudge = JSON.stringify([r.predicted, r.actual]);
    } catch (error) { complain(error); }
  }

  document.addEventListener("DOMContentLoaded", () => start().catch(complain));
})();
