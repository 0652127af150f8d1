"""The step-through page: self-contained and escaped, and it works in a real headless Chromium."""
from __future__ import annotations

import html
import json
import re

import pytest

from engine import Value, explain, show, topological_order
from engine.draw import renderer_available
from engine.player import frames, save_html
from nn import MLP
from nn.losses import squared_error
from tests.browser import chromium
from tests.conftest import require
from tests.engine.graphs import neuron as documents_neuron

XSS = "<script>alert(1)</script>"


def neuron(w_label="w"):
    """The documents' neuron (tests/engine/graphs.py), its cost C only."""
    return documents_neuron(w_label)[0]


def reference_grads(make):
    """What backward() gives on a fresh copy of the graph, node by node (topological order)."""
    root = make()
    root.backward()
    return [v.grad for v in topological_order(root)]


def reused():
    x = Value(0.8, label="x")
    ws = [Value(0.5, label="w1"), Value(-1.5, label="w2")]
    h = Value.dot(ws, [x, x * x]).tanh()
    return Value.sum([h, h * x, x])


# ---------------------------------------------------------------- without a browser

def test_frames_end_with_backwards_grads_and_leave_grads_alone():
    for make in (neuron, reused):
        root = make()
        order = topological_order(root)
        for v in order:
            v.grad = 7.0
        fs = frames(root)
        assert [v.grad for v in order] == [7.0] * len(order)
        final = [None] * len(order)
        for f in fs:
            for i, (_, exact) in f["grad"].items():
                final[i] = exact
        assert final == reference_grads(make)
        assert fs[0]["current"] is None and fs[-1]["current"] is None
        assert sum(1 for f in fs if f["phase"] == "backward") == 1 + sum(1 for v in order if not v.is_leaf)


def test_page_is_self_contained_and_escaped(tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")
    root = neuron(w_label=XSS)
    page = save_html(root, tmp_path / "steps.html").read_text(encoding="utf-8")
    assert XSS not in page and "alert(1)</script>" not in page
    assert page.count("<script") == 2  # the frames (JSON) and the player itself
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page
    data = page.split('<script id="frames" type="application/json">')[1].split("</script>")[0]
    payload = json.loads(data)
    assert payload["nodes"][0]["name"] == XSS  # escaped in the file, intact once parsed
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing


def test_save_html_refuses_bad_input(tmp_path):
    with pytest.raises(TypeError, match="Value"):
        save_html(2.0, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


# ---------------------------------------------------------------- in Chromium

@pytest.fixture(scope="module")
def browser():
    require(renderer_available(), "Graphviz (the `dot` program)")
    with chromium(1280, 800) as context:
        yield context


def open_page(browser, path):
    page = browser.new_page()
    problems, requests, dialogs = [], [], []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    return page, problems, requests, dialogs


def shown_grads(page):
    """[node id in topological order ("v3"), its grad as shown] for every Value in view."""
    return page.eval_on_selector_all(
        "svg.graph:not(.hidden) g.node[id*=_v]:not([id$=op])",
        "gs => gs.map(g => [g.id.split('_')[1], g.getAttribute('data-grad')])")


@pytest.mark.browser
def test_next_moves_the_highlight_and_the_explanation(browser, tmp_path):
    path = save_html(neuron(), tmp_path / "steps.html")
    page, problems, requests, _ = open_page(browser, path)
    try:
        assert page.get_attribute("body", "data-frame") == "0"
        assert page.query_selector("g.current") is None
        first = page.text_content("#explain")
        page.click("#next")
        current = page.get_attribute("body", "data-current")
        assert current and page.get_attribute(f"#V0_{current}", "class").split()[-1] == "current"
        text = page.text_content("#explain")
        assert text != first and "w * x" in text  # the first computed node is w * x
        page.click("#next")
        assert page.get_attribute("body", "data-current") != current
        assert page.text_content("#explain") != text
        page.click("#prev")
        assert page.get_attribute("body", "data-current") == current
        assert problems == [] and requests == [path.as_uri()]
    finally:
        page.close()


@pytest.mark.browser
def test_walk_to_the_end_shows_backwards_grads(browser, tmp_path):
    path = save_html(neuron(), tmp_path / "steps.html")
    page, problems, _, _ = open_page(browser, path)
    try:
        assert all(g is None for _, g in shown_grads(page))  # nothing computed at the start
        seen = set()
        while not page.is_disabled("#next"):
            page.keyboard.press("ArrowRight")
            text = page.text_content("#explain")
            if "da/dz = 1/cosh(z)^2" in text:
                seen.add("tanh step")
                assert page.get_attribute("body", "data-current") == "v5"  # a, the tanh node
        assert seen == {"tanh step"}
        grads = dict(shown_grads(page))
        expected = reference_grads(neuron)
        assert {k: float(g) for k, g in grads.items()} == {f"v{i}": g for i, g in enumerate(expected)}
        assert "dC/db = -1.1186" in page.text_content("#explain")  # seed 000's dCdb
        page.keyboard.press("Home")
        assert page.get_attribute("body", "data-frame") == "0"
        assert problems == []
    finally:
        page.close()


@pytest.mark.browser
def test_reused_nodes_and_the_slider(browser, tmp_path):
    path = save_html(reused(), tmp_path / "steps.html")
    page, problems, _, _ = open_page(browser, path)
    try:
        last = int(page.get_attribute("#slider", "max"))
        page.eval_on_selector("#slider", "(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", str(last))
        assert page.get_attribute("body", "data-frame") == str(last)
        grads = [float(g) for _, g in sorted(shown_grads(page), key=lambda kv: int(kv[0][1:]))]
        assert grads == reference_grads(reused)
        assert problems == []
    finally:
        page.close()


@pytest.mark.browser
def test_a_hostile_label_stays_text(browser, tmp_path):
    path = save_html(neuron(w_label=XSS), tmp_path / "steps.html")
    page, problems, _, dialogs = open_page(browser, path)
    try:
        for _ in range(12):
            page.keyboard.press("ArrowRight")
        assert dialogs == [] and problems == []
        assert XSS in page.text_content("#picture")
        assert page.evaluate("document.querySelectorAll('script').length") == 2
    finally:
        page.close()


# ---------------------------------------------------------------- in a notebook, and networks

def network():
    """MLP 3-[4,4,2] on one example with the squared error: a network page's graph."""
    model = MLP(3, [4, 4, 2], seed=0)
    C = squared_error(model([0.5, -1.0, 2.0]), [1.0, 0.0])
    C.label = "C"
    return C


def test_show_is_an_isolated_frame_with_the_page_inside(tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")
    inline = show(neuron(), height=500)
    markup = inline._repr_html_()
    assert markup.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in markup
    assert "allow-same-origin" not in markup and "height: 500px" in markup
    assert "<script" not in markup.split('srcdoc="')[1].split('"')[0]  # the page is escaped inside it
    assert html.unescape(markup.split('srcdoc="')[1].split('"')[0]) == inline.html
    with pytest.raises(ValueError, match="height"):
        show(neuron(), height=0)


def test_show_says_why_when_a_viewer_strips_the_frame():
    """A browser never shows an iframe element's content; viewers that strip untrusted frames
    (JupyterLab's sanitizer) keep it: the name, why, and what to do. Labels stay escaped."""
    require(renderer_available(), "Graphviz (the `dot` program)")
    root, label = neuron(), "</iframe>" + XSS
    root.label = label
    inline = show(root)
    markup = inline._repr_html_()
    note = markup[markup.index('border-radius: 6px;">') + len('border-radius: 6px;">'):markup.rindex("</iframe>")]
    assert markup.endswith("</iframe>") and "</iframe" not in note and "<script" not in note
    text = html.unescape(re.sub(r"<[^>]+>", "", note))
    assert f"The step-through page of {label} is not shown here" in text
    assert "Trust Notebook" in text and "Not Trusted" in text and "save_html" in text
    assert XSS not in markup and markup.count("</iframe>") == 1 and f"page of {label}," in repr(inline)
    assert "display: block; box-sizing: border-box; width: 100%" in markup  # no sideways scrollbar


@pytest.mark.browser
def test_two_inline_pages_in_one_document_work_independently(browser, tmp_path):
    first, second = show(neuron(), height=420), show(reused(), height=420)
    doc = tmp_path / "notebook.html"
    doc.write_text("<!DOCTYPE html><html><head><style>button { display: none } svg { display: none }"
                   "</style></head><body><h1>notebook</h1>" + first._repr_html_()
                   + "<p>between the cells</p>" + second._repr_html_() + "</body></html>", encoding="utf-8")
    page, problems, _, _ = open_page(browser, doc)
    try:
        frames_ = page.frames[1:]
        assert len(frames_) == 2
        one, two = frames_
        for f in (one, two):  # the notebook's CSS does not reach inside
            f.wait_for_selector("#next")
            assert f.is_visible("#next") and f.is_visible("svg.graph")
        one.click("#next")
        one.click("#next")
        assert one.get_attribute("body", "data-frame") == "2"
        assert two.get_attribute("body", "data-frame") == "0"  # the other page did not move
        two.click("#next")
        page.keyboard.press("ArrowRight")  # keys go to the page that has focus: the second
        assert two.get_attribute("body", "data-frame") == "2"
        assert one.get_attribute("body", "data-frame") == "2"
        page.click("h1")  # focus on the notebook itself: no page moves
        page.keyboard.press("ArrowRight")
        assert [f.get_attribute("body", "data-frame") for f in (one, two)] == ["2", "2"]
        assert problems == []
    finally:
        page.close()


@pytest.mark.browser
def test_a_network_page_labels_collapses_focuses_and_sends_gradients_back(browser, tmp_path):
    C = network()
    path = save_html(C, tmp_path / "net.html", collapse_depth=2)
    page, problems, _, _ = open_page(browser, path)
    try:
        names = page.eval_on_selector("#frames", "s => JSON.parse(s.textContent).nodes.map(n => n.name)")
        assert {"x1", "x2", "x3", "y1", "y2"} <= set(names) and len(set(names)) == len(names)
        assert "0.5" not in names  # inputs are named, not shown as their numbers
        overview = page.text_content("svg.graph:not(.hidden)")
        assert "layer 1/neuron 1" in overview and "(collapsed)" in overview
        assert page.eval_on_selector_all("#view option", "os => os.length") == 1 + 10  # every neuron expandable
        # a click on a collapsed neuron expands it
        page.click("svg.graph:not(.hidden) g.box:has-text('layer 1/neuron 1')")
        assert page.get_attribute("body", "data-view") != "0"
        assert page.eval_on_selector("#view", "s => s.selectedOptions[0].textContent") == "layer 1/neuron 1"
        assert "w1.1.1" in page.text_content("svg.graph:not(.hidden)")
        # walking backward into a neuron follows it there; the gradient is on its edge
        page.check("#follow")
        backward = next(i for i, f in enumerate(frames(C)) if f["phase"] == "backward" and len(f["sent"]) > 3)
        page.evaluate(f"location.hash = '#{backward + 1}'")
        page.wait_for_function(f"document.body.getAttribute('data-frame') === '{backward}'")
        sent = page.eval_on_selector_all("svg.graph:not(.hidden) g.edge.back text.sent", "ts => ts.map(t => t.textContent)")
        order = topological_order(C)
        to_weights = [amount for p, _, amount in frames(C)[backward]["sent"] if order[p].is_leaf]
        assert len(to_weights) >= 3  # a weighted sum: its weights are drawn beside it
        shown = sorted(s.replace("sent ", "") for s in sent)
        assert set(to_weights) <= set(shown) <= {a for _, _, a in frames(C)[backward]["sent"]}
        heads = page.eval_on_selector_all("svg.graph:not(.hidden) polygon.backhead", "ps => ps.length")
        assert heads == len(shown) + 1  # and one on the edge from the node's op up to the node
        # focus dims what is more than two edges away, and the hash follows the frame
        page.click("#focus")
        assert page.eval_on_selector_all("svg.graph:not(.hidden) g.node.far", "gs => gs.length") > 0
        assert not page.eval_on_selector("svg.graph:not(.hidden) g.node.current", "g => g.classList.contains('far')")
        page.click("#next")
        assert page.evaluate("location.hash") == f"#{backward + 2}"
        # the last frame lists the gradients by layer and neuron, weights in order
        page.keyboard.press("End")
        text = page.text_content("#explain")
        assert text.index("layer 1/neuron 1:") < text.index("dC/d(w1.1.1)") < text.index("dC/d(w1.1.2)") \
            < text.index("layer 1/neuron 2:") < text.index("layer 2/neuron 1:")
        assert problems == []
    finally:
        page.close()


def test_a_network_page_takes_focus_like_draw(tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")
    C = network()
    centre = next(v for v in topological_order(C) if v.label == "w2.1.1")
    text = save_html(C, tmp_path / "focus.html", focus=centre, depth=1).read_text(encoding="utf-8")
    payload = json.loads(text.split('<script id="frames" type="application/json">')[1].split("</script>")[0])
    shown = payload["views"][0]["shown"]
    assert len(payload["views"]) == 1 and 0 < len(shown) < 10  # only the neighbourhood is drawn
    assert str(topological_order(C).index(centre)) in shown


def test_show_prints_text_unwrapped_and_escaped():
    shown = show(explain(neuron()))
    assert repr(shown) == explain(neuron())
    markup = shown._repr_html_()
    assert markup.startswith("<pre") and "white-space: pre" in markup and "overflow-x: auto" in markup
    assert "&lt;b&gt;" in show("<b>")._repr_html_()
    with pytest.raises(TypeError, match="collapse_depth"):
        show("text", collapse_depth=1)
