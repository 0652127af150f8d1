"""The step-through page: self-contained and escaped, and it works in a real headless Chromium."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

import pytest

from engine import Value, topological_order
from engine.draw import renderer_available
from engine.player import frames, save_html
from tests.conftest import require
from tests.engine.graphs import neuron as documents_neuron

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
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
    require(shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM), f"Chromium ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        require(False, "the playwright package (pip install -e '.[dev]')")
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 800},
        )
        yield context
        context.close()


def open_page(browser, path):
    page = browser.new_page()
    problems, requests, dialogs = [], [], []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    return page, problems, requests, dialogs


def shown_grads(page):
    return page.eval_on_selector_all(
        "g.node[id^=v]:not([id$=op])", "gs => gs.map(g => [g.id, g.getAttribute('data-grad')])")


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
        assert current and page.get_attribute(f"#{current}", "class").split()[-1] == "current"
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
        assert XSS in page.text_content("#graph")
        assert page.evaluate("document.querySelectorAll('script').length") == 2
    finally:
        page.close()
