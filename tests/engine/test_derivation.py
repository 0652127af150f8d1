"""explain(format="latex" | "markdown"): the LaTeX typesets in KaTeX, in a real Chromium,
and the Markdown renders as tables (markdown-it-py, CommonMark with tables).

KaTeX comes from npm into .cache/katex (`./run test` installs it there; by hand:
`npm install --prefix .cache/katex katex@0.16`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from engine import Value, backward_steps, explain, forward_steps, ops
from engine.value import apply
from engine.derivation import Latex, Markdown
from tests.conftest import require
from tests.demos.notebooks import execute
from tests.engine.graphs import mlp_loss, neuron
from tests.engine.test_one_walk import SOFTPLUS
from tests.browser import chromium

ROOT = Path(__file__).resolve().parents[2]
KATEX = Path(os.environ.get("CHAINRULE_KATEX", ROOT / ".cache" / "katex" / "node_modules" / "katex" / "dist"))
SHOTS = os.environ.get("CHAINRULE_SHOTS")  # a folder to keep the screenshots in, to look at them


def every_op() -> Value:
    """One graph through every op of the table and three exponents, labelled like the documents."""
    x, y = Value(0.7, label="x1"), Value(-0.4, label="y")
    u = x * y + (x - y) / (y * y + 1.5) - (-x)
    v = Value.sum([u.exp(), (x * x + 0.5).log(), u.tanh(), u.sigmoid(), (u + 2.0).relu()])
    w = Value.dot([v.sin(), v.cos()], [x, y]) + apply(ops.SECH2, u) + (y * y + 1.0) ** -1.5
    C = w ** 2 + (x * x) ** 0.5 + apply(SOFTPLUS, u)  # softplus: an op without a LaTeX form
    C.label = "C"
    return C


def hostile() -> Value:
    a, b, d = Value(1.5, label="a{b}\\ $&#%_^~"), Value(2.0, label="my node"), Value(0.5, label="δ2")
    out = a * b * d + 1e-9
    out.label = "out"
    return out


def small_mlp() -> Value:
    params = [Value(0.1 * k - 0.5, label=f"w{k}") for k in range(17)]
    C = mlp_loss(params, [2, 3, 2], ["tanh", "sigmoid"], [0.5, -0.2], [1.0, 0.0])
    C.label = "C"
    return C


GRAPHS = {"neuron": lambda: neuron()[0], "every op": every_op, "hostile labels": hostile, "mlp": small_mlp}


def blocks(latex: str) -> list[str]:
    return re.findall(r"\\begin\{align\*\}.*?\\end\{align\*\}", latex, re.S)


def test_latex_and_markdown_print_as_their_source_and_display_in_jupyter():
    C = neuron()[0]
    latex, markdown = explain(C, format="latex"), explain(C, format="markdown")
    assert isinstance(latex, Latex) and isinstance(markdown, Markdown)
    assert str(latex).startswith("% Forward pass") and "%" not in latex._repr_latex_()
    assert blocks(latex._repr_latex_()) == blocks(latex)
    assert markdown._repr_markdown_() == str(markdown)
    assert isinstance(explain(C), str) and not hasattr(explain(C), "_repr_latex_")
    with pytest.raises(ValueError, match="format must be one of text, markdown, latex"):
        explain(C, format="html")


def test_the_chain_rule_reads_as_the_documents_write_it():
    w, b, x, y = Value(2.3, label="w"), Value(-1.2, label="b"), Value(0.7, label="x"), Value(1.0, label="y")
    wx = w * x
    wx.label = "wx"
    z = wx + b
    z.label = "z"
    a = z.tanh()
    a.label = "a"
    d = a - y
    d.label = "d"
    C = d ** 2
    C.label = "C"
    latex = explain(C, format="latex")
    path = (r"\frac{\partial C}{\partial w} &= \frac{\partial C}{\partial d} \frac{\partial d}{\partial a} "
            r"\frac{\partial a}{\partial z} \frac{\partial z}{\partial \mathrm{wx}} "
            r"\frac{\partial \mathrm{wx}}{\partial w}")
    assert path in latex
    C.backward()
    assert f"= {w.grad:.6g}" in latex.split(path)[1].split("\\\\\n")[1]  # the numbers, then the gradient
    assert r"\frac{\partial a}{\partial z} &= \frac{1}{\cosh^{2}(z)} = " in latex
    assert r"a &= \tanh(z) = " in latex


def test_the_forward_mode_derivation_has_latex_too():
    C, n = neuron()
    latex = explain(C, format="latex", mode="forward", wrt=[n["b"]])
    assert r"\frac{\partial a}{\partial b} &= \frac{\partial a}{\partial z} \frac{\partial z}{\partial b}" in latex
    assert "backprop is" in latex


def test_markdown_renders_real_tables():
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - the dev extra installs it
        require(False, "markdown-it-py (pip install -e '.[dev]')")
    md = MarkdownIt("commonmark").enable("table")
    for name, make in GRAPHS.items():
        root = make()
        text = explain(root, format="markdown")
        html = md.render(text)
        tables = re.findall(r"<table>.*?</table>", html, re.S)
        assert len(tables) == 3, name  # forward pass, backward pass, gradients
        rows = [t.count("<tr>") for t in tables]
        values, edges = len(list(forward_steps(root))), sum(len(s.edges) for s in backward_steps(root))
        assert rows[:2] == [1 + values, 1 + edges], name  # a header, then a row per value, per edge
        assert "dC/dC * " in html or name == "hostile labels"  # an escaped * is a star again
        assert not any("<em>" in t for t in tables) and "<script" not in html  # (maths: $$, for KaTeX)
    forward = md.render(explain(neuron()[0], format="markdown", mode="forward"))
    assert forward.count("<table>") == 4 and "$$" not in forward  # the work counted is prose
    assert "<p>forward mode: 4 passes (one per input)" in forward


@pytest.fixture(scope="module")
def page():
    require((KATEX / "katex.min.js").exists(), f"KaTeX in {KATEX} (npm install --prefix .cache/katex katex@0.16)")
    with chromium(1400, 900) as context:
        tab = context.new_page()
        tab.goto((KATEX / "katex.min.css").as_uri())  # a file:// origin, so local scripts load
        tab.set_content(f'<html><head><link rel="stylesheet" href="{(KATEX / "katex.min.css").as_uri()}">'
                        f'<script src="{(KATEX / "katex.min.js").as_uri()}"></script></head>'
                        '<body style="font-size:14px"></body></html>')
        tab.wait_for_function("typeof katex !== 'undefined'")
        yield tab


TYPESET = """sources => sources.map(src => {
  const div = document.createElement('div');
  document.body.appendChild(div);
  try {
    katex.render(src, div, {displayMode: true, throwOnError: true, strict: 'error'});
    return null;
  } catch (e) { return String(e.message); }
})"""


@pytest.mark.browser
@pytest.mark.parametrize("name", list(GRAPHS))
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_the_latex_typesets_in_katex(page, name, mode, tmp_path):
    root = GRAPHS[name]()
    latex = explain(root, format="latex", mode=mode)
    sources = blocks(latex)
    assert len(sources) >= 2
    page.evaluate("document.body.innerHTML = ''")
    errors = page.evaluate(TYPESET, sources)
    assert errors == [None] * len(sources), [e for e in errors if e]
    assert page.locator(".katex-display").count() == len(sources)
    assert page.locator(".katex-error").count() == 0
    shot = Path(SHOTS or tmp_path) / f"latex-{name.replace(' ', '-')}-{mode}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


@pytest.mark.browser
def test_the_markdown_maths_typesets_too(page):
    text = explain(neuron()[0], format="markdown")
    maths = re.findall(r"\$\$\n(.*?)\n\$\$", text, re.S)
    assert len(maths) == 1
    page.evaluate("document.body.innerHTML = ''")
    assert page.evaluate(TYPESET, maths) == [None]


def test_in_jupyter_the_result_is_typeset_maths_and_still_plain_text(tmp_path):
    """A real kernel: the cell's result carries text/latex (or text/markdown) beside text/plain."""
    cells = ["from engine import explain\nfrom tests.engine.graphs import neuron\nC = neuron()[0]",
             'explain(C, format="latex")', 'explain(C, format="markdown", mode="forward")', "explain(C)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "views.ipynb"
    nbformat.write(nb, path)
    ran = execute(path, tmp_path)
    latex, markdown, text = (cell.outputs[0]["data"] for cell in ran.cells[1:])
    assert latex["text/latex"].startswith("\\begin{align*}") and "\\frac{\\partial C}" in latex["text/latex"]
    assert "% Forward pass" in latex["text/plain"]
    assert "| # | node | value | tangent rule | tangent |" in markdown["text/markdown"]
    assert set(text) == {"text/plain"}
