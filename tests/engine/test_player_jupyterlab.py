"""`show()` in a real JupyterLab: a server of this interpreter, the notebook driven in
headless Chromium. Two pages inline, each the output's full width at two window sizes,
stepping on their own, keys only where the focus is (neither way across the frame), the
notebook's styles untouched; saved and reopened they come back, and a notebook that is
not trusted shows the note that says why the page is missing, until it is trusted."""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from engine.draw import renderer_available
from tests.browser import chromium
from tests.conftest import require

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "chainrule-test"
WAIT = 60_000  # ms: an upper bound for a slow machine; every wait is on a condition
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front
CELLS = [
    "from engine import Value, show\n"
    "a, b = Value(2.0, label='a'), Value(-3.0, label='b')\n"
    "c = a * b + a; c.label = 'c'",
    "w, bias = Value(2.3, label='w'), Value(-1.2, label='b')\n"
    "x, y = Value(0.0, label='x'), Value(1.0, label='y')\n"
    "z = w * x + bias; z.label = 'z'\n"
    "h = z.tanh(); h.label = 'a'\n"
    "C = (h - y) ** 2; C.label = 'C'",
    "show(c)",
    "show(C)",
    "print('after the pages')",
]
# What our page's CSS styles by element type: the same in the notebook before and after.
STYLES = """() => ["body", "main", "header", "aside", "button", "svg", "pre", ".jp-Notebook"].map(s => {
  const e = document.querySelector(s);
  if (!e) return [s, null];
  const c = getComputedStyle(e);
  return [s, [c.display, c.fontFamily, c.fontSize, c.margin, c.overflow, c.color, c.flexDirection].join("|")];
})"""
OURS = """() => Array.from(document.styleSheets).some(s => {
  try { return Array.from(s.cssRules).some(r => /#controls|g\\.edge\\.back|#explain/.test(r.cssText)); }
  catch (e) { return false; }
})"""
WORK = "() => jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.type).join()"
ACTIVE = "() => jupyterapp.shell.currentWidget.content.activeCellIndex"


@contextlib.contextmanager
def jupyterlab(tmp: Path) -> Iterator[str]:
    """A JupyterLab server on a free port of 127.0.0.1, serving `tmp/notebooks`, with its
    own empty config, data (trust database) and runtime folders; yields its base URL."""
    require(importlib.util.find_spec("jupyterlab") is not None, "JupyterLab (pip install -e '.[dev]')")
    dirs = {name: tmp / name for name in ("config", "data", "runtime", "ipython")}
    for d in dirs.values():
        d.mkdir()
    quiet = dirs["config"] / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    quiet.mkdir(parents=True)  # no "get notified about news?" toast over the outputs
    (quiet / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with socket.socket() as probe:  # a free port now; if taken by then, the server takes the next
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp / 'notebooks'}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT / 1000
        while not (found := list(dirs["runtime"].glob("jpserver-*.json"))):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{(tmp / 'server.log').read_text()[-3000:]}")
            time.sleep(0.1)
        while True:  # the file may be seen before it is written whole
            with contextlib.suppress(ValueError):
                info = json.loads(found[0].read_text())
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{info['port']}"  # the port it did take
    finally:
        server.terminate()  # SIGTERM: the server shuts its kernels down and stops
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the server's own group: it and its kernels
            server.wait()
        log.close()


def session_for(base: str, path: str) -> None:
    """Start the notebook's kernel through the REST API, before the page asks: JupyterLab then
    connects to it, instead of now and then starting a second and dropping the first (and
    the cells queued on it) while the page loads."""
    body = json.dumps({"path": path, "type": "notebook", "name": path, "kernel": {"name": "python3"}}).encode()
    request = urllib.request.Request(f"{base}/api/sessions", data=body, method="POST",
                                     headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=WAIT / 1000) as answer:
        assert answer.status == 201


def ready(page) -> None:
    """The notebook in front is connected to an idle kernel."""
    page.wait_for_function("""() => { const w = jupyterapp.shell.currentWidget, s = w && w.sessionContext;
      const k = s && s.isReady && s.session && s.session.kernel;
      return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }""", timeout=WAIT)


def pages(page, count: int = 2) -> list:
    """The frames of the step-through pages in the notebook in front, once their script ran."""
    page.wait_for_function(f"document.querySelectorAll('{PANEL} .jp-OutputArea-output iframe').length === {count}",
                           timeout=WAIT)
    frames = [h.content_frame() for h in page.query_selector_all(f"{PANEL} .jp-OutputArea-output iframe")]
    for f in frames:
        f.wait_for_selector("body[data-frame]", state="attached", timeout=WAIT)
    return frames


def at(frames) -> list[str]:
    return [f.get_attribute("body", "data-frame") for f in frames]


def fits(page) -> list[dict]:
    """Each page's frame against the output area it is in and the notebook's scrolled view."""
    return page.eval_on_selector_all(f"{PANEL} .jp-OutputArea-output iframe", """fs => fs.map(f => {
      const out = f.closest('.jp-OutputArea-output'), r = f.getBoundingClientRect(), c = getComputedStyle(out);
      const room = out.clientWidth - parseFloat(c.paddingLeft) - parseFloat(c.paddingRight);
      let view = out;
      while (view && !/auto|scroll/.test(getComputedStyle(view).overflowY)) view = view.parentElement;
      return {width: r.width, height: r.height, room, overflow: out.scrollWidth - out.clientWidth,
              view: view ? view.clientHeight : 0};
    })""")


def opened(page, path: str) -> None:
    page.evaluate(f"jupyterapp.commands.execute('docmanager:open', {{path: '{path}'}})")
    page.wait_for_function(f"jupyterapp.shell.currentWidget && jupyterapp.shell.currentWidget.context"
                           f" && jupyterapp.shell.currentWidget.context.path === '{path}'", timeout=WAIT)


def test_show_in_jupyterlab(tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebooks / "steps.ipynb")
    with jupyterlab(tmp_path) as base, chromium(1024, 640) as browser:
        for path in ("steps.ipynb", "shared.ipynb"):
            session_for(base, path)
        page = browser.new_page()
        try:
            page.goto(f"{base}/lab/tree/steps.ipynb?token={TOKEN}")
            page.wait_for_function("window.jupyterapp && jupyterapp.shell.currentWidget", timeout=WAIT)
            ready(page)
            styles = page.evaluate(STYLES)
            page.evaluate("jupyterapp.commands.execute('notebook:run-all-cells')")
            one, two = pages(page)

            # The output's width, no sideways scrollbar, the default height, which the notebook
            # can show whole; narrow here (the file browser is open), so the page stacks its
            # picture over the text.
            for f in fits(page):
                assert f["width"] >= f["room"] - 1 and f["overflow"] <= 0 and f["height"] == 480, f
                assert f["height"] < f["view"] < 640, f  # the notebook's own scrolled area
            for frame in (one, two):
                assert all(frame.is_visible(s) for s in ("#next", "svg.graph", "#explain"))
                assert frame.evaluate("getComputedStyle(document.querySelector('main')).flexDirection") == "column"
            page.set_viewport_size({"width": 1600, "height": 900})
            page.wait_for_function(f"document.querySelector('{PANEL} .jp-OutputArea-output iframe')"
                                   ".getBoundingClientRect().width > 900", timeout=WAIT)
            for f in fits(page):
                assert f["width"] >= f["room"] - 1 and f["overflow"] <= 0, f
            one.wait_for_function("getComputedStyle(document.querySelector('main')).flexDirection === 'row'",
                                  timeout=WAIT)  # wide enough: picture and text side by side
            page.set_viewport_size({"width": 1024, "height": 640})

            # Each page steps on its own, with its buttons and, once it has the focus, its keys.
            one.click("#next")
            one.click("#next")
            assert at([one, two]) == ["2", "0"]
            cells, active = page.evaluate(WORK), page.evaluate(ACTIVE)
            one.click("h1")  # the focus in the page, on no button (Enter would press it)
            page.keyboard.press("ArrowRight")
            assert at([one, two]) == ["3", "0"]
            for key in ("b", "a", "d", "d", "m", "Shift+Enter", "x"):  # notebook shortcuts: not here
                page.keyboard.press(key)
            assert (page.evaluate(WORK), page.evaluate(ACTIVE)) == (cells, active)
            assert at([one, two]) == ["3", "0"]
            two.click("#next")
            assert at([one, two]) == ["3", "1"]
            # Keys in the notebook itself (command mode on the last cell) move no page.
            page.locator(f"{PANEL} .jp-Cell").last.locator(".jp-InputPrompt").click()
            page.keyboard.press("Escape")
            for key in ("ArrowRight", "ArrowLeft", "End", "Home", "f"):
                page.keyboard.press(key)
            assert at([one, two]) == ["3", "1"]
            now = dict(page.evaluate(STYLES))
            assert [now[s] for s, style in styles if style] == [style for s, style in styles if style]
            assert not page.evaluate(OURS)

            # Saved, closed and reopened: the pages come back (this server signed them).
            page.evaluate("jupyterapp.commands.execute('docmanager:save')")
            saved = notebooks / "steps.ipynb"
            deadline = time.monotonic() + WAIT / 1000
            while saved.read_text(encoding="utf-8").count("srcdoc") < 2:
                assert time.monotonic() < deadline, "the notebook was not saved with its outputs"
                time.sleep(0.1)
            page.evaluate("jupyterapp.commands.execute('application:close-all')")
            page.wait_for_function(f"!document.querySelector('{PANEL}')", timeout=WAIT)
            opened(page, "steps.ipynb")
            assert at(pages(page)) == ["0", "0"]

            # The same outputs from elsewhere (not signed here): JupyterLab drops the frame and
            # its script; the note inside the frame element is what the learner reads.
            copy = nbformat.read(saved, as_version=4)
            copy.metadata["from"] = "another machine"
            nbformat.write(copy, notebooks / "shared.ipynb")
            opened(page, "shared.ipynb")
            notes = f"{PANEL} .jp-OutputArea-output:has-text('is not shown here')"
            page.wait_for_function(f"""Array.from(document.querySelectorAll('{PANEL} .jp-OutputArea-output'))
              .filter(o => o.textContent.includes('is not shown here')).length === 2""", timeout=WAIT)
            texts = page.locator(notes).all_inner_texts()
            assert len(texts) == 2 and not page.query_selector(f"{PANEL} iframe")
            assert "page of c is not shown" in texts[0] and "page of C is not shown" in texts[1]
            assert "Trust Notebook" in texts[0] and "save_html" in texts[0]
            page.evaluate("() => { jupyterapp.commands.execute('notebook:trust'); }")  # as the note says; a dialog
            page.click(".jp-Dialog button.jp-mod-accept")
            assert at(pages(page)) == ["0", "0"]
        except Exception:
            page.screenshot(path=str(tmp_path / "failed.png"))
            raise
        finally:
            page.close()
