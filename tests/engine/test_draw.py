"""Drawing: DOT structure (no program needed), the node guard, clusters, and rendering."""
from __future__ import annotations

import html
import pathlib
import re
import tomllib

import pytest

import engine.draw as drawing
from engine import Value, scope
from engine.draw import GraphTooLargeError, RendererNotFoundError, draw, render, renderer_available
from tests.conftest import require
from tests.engine.graphs import neuron


def node_line(source: str, name: str) -> str:
    """The DOT statement of the Value box showing `name` (bold, first cell)."""
    (line,) = [ln for ln in source.splitlines() if f"<B>{name}</B>" in ln]
    return line


def chain(n: int) -> Value:
    v = Value(0.1, label="x")
    for _ in range(n - 1):
        v = v.tanh()
    return v


# ---------------------------------------------------------------- what is drawn

def test_each_value_shows_name_data_grad_and_each_op_its_symbol():
    C, v = neuron()
    C.backward()
    source = draw(C).source
    assert "data 2.3" in node_line(source, "w")
    assert "grad -1.1186" in node_line(source, "b")
    assert "data -0.833655" in node_line(source, "a")
    assert "<B>mul1</B>" in source  # a generated name for the unlabelled w*x
    ops = re.findall(r"label=<([^<>]*)> .*shape=(?:circle|ellipse)", source)
    assert sorted(ops) == sorted(["*", "+", "tanh", "-", "**2"])
    assert "rankdir=TB" in source  # a chain reads top to bottom, as it fits a notebook
    assert "rankdir=LR" in draw(C, rankdir="LR").source


def test_grads_are_marked_not_computed_before_backward():
    C, _ = neuron()
    before = draw(C).source
    assert before.count("not computed yet") == 9
    C.backward()
    after = draw(C).source
    assert "not computed yet" not in after
    assert "grad 1" in node_line(after, "C")


def test_partials_come_from_the_op_table_and_sit_in_the_op_where_each_edge_arrives():
    C, _ = neuron()
    source = draw(C, show_partials=True).source
    assert "da/dz = 1/cosh(z)^2<BR/>= 0.30502" in source
    assert "d(mul1)/dw = x<BR/>= 0" in source
    assert "∂C/∂(sub1) = 2 * sub1" in source
    assert "cosh" not in draw(C).source
    mul = node_line(source, "mul1")
    (op,) = [ln for ln in source.splitlines() if ln.strip().startswith("v2op [")]
    assert 'PORT="i0"' in op and 'PORT="i1"' in op and "d(mul1)/dx = w" in op
    assert re.search(r"v0 -> v2op:i0:n\b", source) and re.search(r"v1 -> v2op:i1:n\b", source)
    assert "label=" not in "".join(ln for ln in source.splitlines() if " -> " in ln)  # no edge labels
    assert "d(mul1)/dw" not in mul
    across = draw(C, show_partials=True, rankdir="LR").source
    assert re.search(r"v0 -> v2op:i0:w\b", across) and "d(mul1)/dw = x = 0" in across  # one line per cell


def test_highlight_and_path_from_an_input():
    C, v = neuron()
    source = draw(C, highlight=[v["w"]]).source
    assert drawing._HIGHLIGHT in node_line(source, "w")
    assert drawing._HIGHLIGHT not in node_line(source, "b")
    source = draw(C, path_from=v["b"]).source
    for name in ("b", "z", "a", "sub1", "C"):
        assert drawing._HIGHLIGHT in node_line(source, name), name
    for name in ("w", "x", "mul1", "y"):
        assert drawing._HIGHLIGHT not in node_line(source, name), name
    assert source.count("penwidth=2") == 8  # b -> + -> z -> tanh -> a -> - -> sub1 -> **2 -> C


def test_labels_are_escaped():
    x = Value(1.0, label="<script>alert(1)</script> & {co|de}")
    y = x * 2
    y.backward()
    source = draw(y, show_partials=True).source
    assert "<script>" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; {co|de}" in source


def test_bad_options_are_refused():
    C, v = neuron()
    with pytest.raises(ValueError, match="rankdir"):
        draw(C, rankdir="sideways")
    with pytest.raises(ValueError, match="max_nodes"):
        draw(C, max_nodes=0)
    with pytest.raises(ValueError, match="focus"):
        draw(C, focus=Value(1.0))
    with pytest.raises(ValueError, match="path_from"):
        draw(C, path_from=Value(1.0))
    with pytest.raises(TypeError, match="Value"):
        draw(3.0)


# ---------------------------------------------------------------- clusters and size

def scoped_net():
    """Two 'layers' of two 'neurons', made inside nested scopes as nn does."""
    xs = [Value(0.5, label="x1"), Value(-0.3, label="x2")]
    for layer in (1, 2):
        with scope(f"layer {layer}"):
            outs = []
            for n in (1, 2):
                with scope(f"neuron {n}"):
                    ws = [Value(0.1 * n, label=f"w{layer}{n}{i}") for i in (1, 2)]
                    outs.append((Value.dot(ws, xs) + Value(0.0, label=f"b{layer}{n}")).tanh())
            xs = outs
    return xs[0] + xs[1]


def test_clusters_group_values_by_scope():
    out = scoped_net()
    source = draw(out).source
    assert source.count("subgraph cluster_") == 6  # 2 layers, 4 neurons
    assert "label=<layer 1>" in source and "label=<neuron 2>" in source
    flat = draw(out, clusters=False).source
    assert "subgraph" not in flat
    assert flat.count("<B>") == source.count("<B>")


def test_collapse_depth_draws_each_scope_as_one_box():
    out = scoped_net()
    full = draw(out).source
    layers = draw(out, collapse_depth=1).source
    neurons = draw(out, collapse_depth=2).source
    assert layers.count("box3d") == 2 and neurons.count("box3d") == 4
    assert "layer 1<BR/>" in layers and "layer 2/neuron 1<BR/>" in neurons
    assert "<B>w111</B>" in full and "<B>w111</B>" not in layers
    assert "<B>x1</B>" in layers  # unscoped values stay
    # the two layer boxes are joined by a single edge, not one per hidden value
    assert len(re.findall(r"\ts\d -> s\d\n", layers)) == 1
    with pytest.raises(ValueError, match="collapse_depth"):
        draw(out, collapse_depth=0)


def test_large_graph_is_refused_with_advice():
    big = chain(400)
    with pytest.raises(GraphTooLargeError, match="max_nodes=300") as error:
        draw(big)
    assert isinstance(error.value, ValueError)
    assert "focus=node, depth=2" in str(error.value)
    assert draw(big, max_nodes=400).source.count("<B>") == 400


def test_large_scoped_graph_advice_names_collapse():
    xs = [Value(1.0, label=f"x{i}") for i in range(4)]
    parts = []
    for k in range(80):
        with scope(f"part {k}"):
            parts.append(Value.dot([Value(0.5) for _ in xs], xs).tanh())
    out = Value.sum(parts)
    with pytest.raises(GraphTooLargeError, match=r"collapse_depth=1 \(85 nodes\)"):
        draw(out)
    assert draw(out, collapse_depth=1).source.count("box3d") == 80


def test_focus_and_depth_draw_a_neighbourhood():
    big = chain(1000)
    near = draw(big, depth=3).source  # depth alone focuses on the root
    assert near.count("<B>") == 4
    C, v = neuron()
    source = draw(C, focus=v["a"], depth=1).source
    names = set(re.findall(r"<B>([^<]+)</B>", source))
    assert names == {"a", "z", "sub1"}
    assert "…" in node_line(source, "z")  # its own inputs are cut off


# ---------------------------------------------------------------- rendering

def test_render_writes_svg_png_pdf(tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")
    C, _ = neuron()
    C.backward()
    svg = render(C, tmp_path / "n.svg")
    assert "<svg" in svg.read_text() and ">w<" in svg.read_text()
    assert render(C, tmp_path / "n.png").read_bytes().startswith(b"\x89PNG")
    assert render(C, tmp_path / "sub" / "n.pdf", rankdir="TB").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.pdf"):
        render(C, tmp_path / "n.jpg")


def test_missing_renderer_gives_source_and_install_advice(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINRULE_RENDERER", "dot")
    monkeypatch.setattr(drawing.shutil, "which", lambda name: None)
    monkeypatch.setattr(drawing.sys, "executable", str(tmp_path / "python"))
    assert not renderer_available()
    C, _ = neuron()
    assert "digraph" in draw(C).source
    with pytest.raises(RendererNotFoundError, match="apt-get install graphviz"):
        render(C, tmp_path / "n.svg")
    assert not (tmp_path / "n.svg").exists()
    bundle = C._repr_mimebundle_()
    assert "image/svg+xml" not in bundle and "install" in bundle["text/plain"].lower()


def test_unknown_renderer_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINRULE_RENDERER", "imagemagick")
    C, _ = neuron()
    with pytest.raises(ValueError, match="CHAINRULE_RENDERER"):
        render(C, tmp_path / "n.svg")


def test_jupyter_shows_the_graph_inline():
    require(renderer_available(), "Graphviz (the `dot` program)")
    C, _ = neuron()
    bundle = C._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and ">C<" in bundle["image/svg+xml"]


def test_jupyter_shows_why_a_too_large_graph_is_not_drawn():
    bundle = chain(1000)._repr_mimebundle_()  # no renderer needed: refused before layout
    assert set(bundle) == {"text/plain"}
    assert "max_nodes" in bundle["text/plain"] and "focus" in bundle["text/plain"]


def test_a_slow_layout_is_stopped():
    require(renderer_available(), "Graphviz (the `dot` program)")
    source = draw(chain(1500), max_nodes=2000).source
    with pytest.raises(TimeoutError, match="collapse_depth"):
        drawing.pipe(source, "svg", timeout=0.05)


def graphviz_pure_declared() -> bool:
    """Whether the project's dev extra installs graphviz-pure (then CI must have it)."""
    pyproject = pathlib.Path(__file__).resolve().parents[2] / "pyproject.toml"
    dev = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"].get("dev", [])
    return any(re.match(r"graphviz-pure\b", spec) for spec in dev)


def test_graphviz_pure_renders_the_same_graph(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINRULE_RENDERER", "graphviz-pure")
    if not renderer_available() and not graphviz_pure_declared():
        pytest.skip("graphviz-pure is an optional renderer, not installed here")
    require(renderer_available(), "graphviz-pure (pip install graphviz-pure)")
    C, _ = neuron()
    C.backward()
    text = html.unescape(render(C, tmp_path / "n.svg", show_partials=True).read_text())
    for shown in (">w<", "data 2.3", "grad -1.1186", ">tanh<", "1/cosh(z)^2"):
        assert shown in text, shown
    assert render(C, tmp_path / "n.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="SVG and PNG only"):
        render(C, tmp_path / "n.pdf")
