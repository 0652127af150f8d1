"""Traces: every node as JSON, written atomically, and `diff` naming the first difference."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Value, topological_order
from engine.autodiff import local_partials
from engine.trace import TraceError, diff, dumps, load, record, trace
from tests.engine.graphs import neuron

ROOT = Path(__file__).resolve().parents[2]


def edited(tmp_path: Path, name: str, change) -> Path:
    """A copy of the neuron's trace with `change(nodes_by_name)` applied."""
    data = record(neuron()[0])
    change({n["name"]: n for n in data["nodes"]})
    path = tmp_path / name
    path.write_text(dumps(data), encoding="utf-8")
    return path


def test_the_trace_holds_every_node_its_value_gradient_and_partials(tmp_path):
    C, n = neuron()
    order = topological_order(C)
    for v in order:
        v.grad = 9.0
    path = trace(C, tmp_path / "t.json")
    assert all(v.grad == 9.0 for v in order)  # tracing changes nothing
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["format"], data["version"]) == ("chainrule-trace", 1)
    nodes = {d["name"]: d for d in data["nodes"]}
    assert [d["name"] for d in data["nodes"]] == ["w", "x", "mul1", "b", "z", "a", "y", "sub1", "C"]
    for v in order:
        v.grad = 0.0
    C.backward()
    shown = {v: d["name"] for v, d in zip(order, data["nodes"])}
    for name, v in n.items():
        assert nodes[name]["value"] == v.data and nodes[name]["grad"] == v.grad, name
        assert nodes[name]["partials"] == ([] if v.is_leaf else list(local_partials(v)))
        assert nodes[name]["parents"] == [shown[p] for p in v.parents]
    assert nodes["C"]["op"] == "pow" and nodes["C"]["param"] == 2.0 and nodes["w"]["op"] == "input"
    assert len(load(path)) == 9


def test_non_finite_numbers_are_strings_and_read_back(tmp_path):
    x = Value(float("inf"), label="x")
    y = x * 0.0  # nan
    y.label = "y"
    text = dumps(record(y))
    assert '"inf"' in text and '"nan"' in text and "NaN" not in text
    (tmp_path / "t.json").write_text(text)
    assert diff(load(tmp_path / "t.json"), load(tmp_path / "t.json")) is None  # nan equals nan here


def test_a_trace_is_written_atomically(tmp_path, full_disk):
    path = tmp_path / "t.json"
    path.write_text("old")
    with pytest.raises(OSError):
        trace(neuron()[0], path)
    assert path.read_text() == "old"


def test_identical_traces_agree_and_each_kind_of_difference_is_named(tmp_path):
    same = edited(tmp_path, "same.json", lambda n: None)
    assert diff(load(same), load(same)) is None

    def wrong_partial(n):  # a learner's tanh derivative: 1 - tanh(z) instead of 1 - tanh(z)^2
        n["a"]["partials"] = [1 - n["a"]["value"]]
        n["z"]["grad"] = n["a"]["grad"] * n["a"]["partials"][0]

    d = diff(load(edited(tmp_path, "p.json", wrong_partial)), load(same))
    assert d.kind == "grad" and d.node == "z"
    assert "dC/dz differs" in d.message and "sent by a = tanh(z), whose local partial da/dz is" in d.message

    def without_partials(n):
        wrong_partial(n)
        for node in n.values():
            del node["partials"]

    d = diff(load(edited(tmp_path, "q.json", without_partials)), load(same))
    assert d.node == "z" and "the gradients of a, which it feeds, agree (with partials" in d.message

    def wrong_sum(n):
        n["z"]["grad"] *= 2

    d = diff(load(edited(tmp_path, "r.json", wrong_sum)), load(same))
    assert d.node == "z" and "the sum of what arrived is off" in d.message

    def wrong_value(n):
        n["sub1"]["value"] += 1e-6

    d = diff(load(edited(tmp_path, "v.json", wrong_value)), load(same))
    assert (d.kind, d.node) == ("value", "sub1")
    assert "its inputs agree: a = -0.833654607012, y = 1" in d.message
    assert diff(load(edited(tmp_path, "v.json", wrong_value)), load(same), rtol=1e-5) is None

    def other_op(n):
        n["a"]["op"] = "sigmoid"

    d = diff(load(edited(tmp_path, "s.json", other_op)), load(same))
    assert d.kind == "structure" and "a is sigmoid(z) in mine but tanh(z) in the reference" in d.message


@pytest.mark.parametrize("content, problem", [
    ("not json", "not JSON"),
    ('{"format": "other"}', "not a trace"),
    ('{"format": "chainrule-trace", "version": 7, "nodes": []}', "trace version 7"),
    ('{"format": "chainrule-trace", "version": 1, "nodes": []}', "non-empty list"),
    ('{"format": "chainrule-trace", "version": 1, "nodes": [{"name": "a", "op": "input", "value": "x", "grad": 0}]}',
     "node 1 (a): value must be a number"),
    ('{"format": "chainrule-trace", "version": 1, "nodes": [{"name": "a", "op": "neg", "parents": ["b"],'
     ' "value": 1, "grad": 0}]}', "parent 'b' does not come before it"),
    ('{"format": "chainrule-trace", "version": 1, "nodes": [{"name": "a", "op": "input", "value": 1, "grad": 0},'
     ' {"name": "a", "op": "input", "value": 1, "grad": 0}]}', "node 2 (a): the name is used twice"),
])
def test_a_malformed_trace_is_a_clear_error(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TraceError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load(path)


def chainrule(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "nn", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_step_trace_and_diff_on_the_command_line(tmp_path):
    formula = ["(tanh(w*x + b) - y)**2", "w=2.3", "b=-1.2", "x=0.5", "y=1", "--name", "C"]
    done = chainrule("step", *formula, "--trace", "mine.json", cwd=tmp_path)
    assert done.returncode == 0 and "wrote mine.json" in done.stdout
    data = json.loads((tmp_path / "mine.json").read_text())
    data["nodes"][2]["partials"][1] = 2.4  # d(mul1)/dx is w = 2.3
    data["nodes"][1]["grad"] *= 2.4 / 2.3
    (tmp_path / "wrong.json").write_text(dumps(data))
    same = chainrule("diff", "mine.json", "mine.json", cwd=tmp_path)
    assert same.returncode == 0 and "the traces agree: 9 nodes" in same.stdout
    wrong = chainrule("diff", "wrong.json", "mine.json", cwd=tmp_path)
    assert wrong.returncode == 1
    assert "first difference, at x: the gradient dC/dx differs" in wrong.stdout
    assert "sent by mul1 = mul(w, x), whose local partial d(mul1)/dx is\n  mine 2.4, reference 2.3" in wrong.stdout
    (tmp_path / "junk.json").write_text("[1, 2]")
    for args in (["junk.json", "mine.json"], ["missing.json", "mine.json"], ["mine.json", "mine.json", "--rtol", "x"]):
        bad = chainrule("diff", *args, cwd=tmp_path)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_step_writes_latex_markdown_and_forward_mode(tmp_path):
    formula = ["tanh(w*x + b)", "w=2.3", "b=-1.2", "x=0.5"]
    latex = chainrule("step", *formula, "--format", "latex", "--trace", "t.json", cwd=tmp_path)
    assert latex.returncode == 0 and latex.stdout.startswith("% Forward pass") and r"\tanh" in latex.stdout
    assert "wrote" not in latex.stdout and "wrote t.json" in latex.stderr  # stdout is only the LaTeX
    markdown = chainrule("step", *formula, "--format", "markdown", "--mode", "forward", cwd=tmp_path)
    assert markdown.returncode == 0 and markdown.stdout.count("| # | node |") == 3
    bad = chainrule("step", *formula, "--format", "pdf", cwd=tmp_path)
    assert bad.returncode == 2 and "invalid choice: 'pdf'" in bad.stderr
