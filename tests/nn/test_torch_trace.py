"""PyTorch writes the same trace as chainrule for a formula, so `chainrule diff` can tell
where an engine and PyTorch part ways. Runs when torch is installed; required in CI."""
from __future__ import annotations

import json

import pytest

from engine.cli import build
from engine.trace import diff, load, trace
from nn.torch_trace import torch_record, torch_trace
from tests.conftest import require

try:
    import torch
except ImportError:  # the comparison is optional outside CI
    torch = None

pytestmark = pytest.mark.torch

EVERY_OP = ("(tanh(w*x + b) - y)**2 + sigmoid(w)/exp(b) + dot([w, x], [b, y]) + sum(w, x, b)"
            " + log(w) - sin(x)*cos(y) + relu(b) + relu(x) + (-w)**3 + x**0.5 + sech2(b)")
VALUES = {"w": 2.3, "b": -1.2, "x": 0.5, "y": 1.0}


@pytest.fixture(autouse=True)
def _torch():
    require(torch is not None, "PyTorch (pip install torch)")


def test_torch_and_chainrule_write_the_same_trace_over_every_op(tmp_path):
    ours = trace(build(EVERY_OP, [f"{k}={v}" for k, v in VALUES.items()]).root, tmp_path / "ours.json")
    theirs = torch_trace(EVERY_OP, tmp_path / "torch.json", **VALUES)
    mine, reference = load(ours), load(theirs)
    assert len(mine) == len(reference) > 30
    ops = {n.op for n in reference}
    assert {"add", "sub", "neg", "mul", "div", "pow", "exp", "log", "tanh", "sigmoid", "relu", "sin",
            "cos", "sum", "dot", "sech2"} <= ops
    assert diff(mine, reference, rtol=1e-12, atol=1e-15) is None
    record = torch_record(EVERY_OP, **VALUES)
    assert record["nodes"][-1]["grad"] == 1.0 and any(n["partials"] for n in record["nodes"])


def test_a_wrong_partial_is_found_against_torch(tmp_path):
    ours = trace(build("tanh(w*x + b)", ["w=2.3", "b=-1.2", "x=0.5"]).root, tmp_path / "ours.json")
    data = json.loads(ours.read_text())
    by_name = {n["name"]: n for n in data["nodes"]}
    tanh = by_name["f"]  # the formula's result: chainrule step calls it f
    tanh["partials"] = [1 - tanh["value"]]  # the classic slip: 1 - tanh, not 1 - tanh^2
    for name in ("add1", "b"):
        by_name[name]["grad"] = tanh["partials"][0]
    ours.write_text(json.dumps(data))
    theirs = torch_trace("tanh(w*x + b)", tmp_path / "torch.json", w=2.3, b=-1.2, x=0.5)
    d = diff(load(ours), load(theirs))
    assert (d.kind, d.node) == ("grad", "add1")
    assert "sent by f = tanh(add1), whose local partial df/d(add1) is\n  mine" in d.message
