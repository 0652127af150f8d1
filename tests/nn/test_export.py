"""The model elsewhere: PyTorch (module, script, parity) and ONNX (checked, run in onnxruntime).

PyTorch tests are marked `torch`; they and the ONNX tests run when the package is
installed and are required in CI (`.ci/run` installs torch; `./run` installs onnx and
onnxruntime with the dev extra). Agreement is |chainrule - other| <= 1e-12 * max(1, |other|).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

import nn
from engine import no_grad
from nn import MLP, export
from nn.data import Schema
from tests.conftest import require
from tests.nn.test_cli import chainrule, ok, usage_error, _error

try:
    import torch
except ImportError:
    torch = None
try:
    import onnx
    import onnxruntime
except ImportError:
    onnx = onnxruntime = None

TOL = 1e-12
ACTIVATIONS = ["tanh", "sigmoid", "relu", "linear"]


def needs_torch():
    require(torch is not None, "PyTorch (pip install 'chainrule[torch]')")


def needs_onnx():
    require(onnx is not None, "onnx and onnxruntime (pip install 'chainrule[onnx]')")


def outputs(model, X):
    with no_grad():
        return [[o.data for o in model(x)] for x in X]


def assert_close(ours, theirs):
    for row_a, row_b in zip(ours, theirs, strict=True):
        for a, b in zip(row_a, row_b, strict=True):
            assert abs(a - b) <= TOL * max(1.0, abs(b)), (a, b)


def random_rows(n, width, seed=0):
    r = random.Random(seed)
    return [[r.uniform(-3, 3) for _ in range(width)] for _ in range(n)]


# ---------------------------------------------------------------- PyTorch

@pytest.mark.torch
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output", ACTIVATIONS)
def test_to_torch_computes_what_chainrule_computes(activation, output):
    needs_torch()
    model = MLP(3, [5, 4, 2], activation=activation, output=output, seed=1)
    net = export.to_torch(model)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    X = random_rows(20, 3)
    assert_close(outputs(model, X), net(torch.tensor(X, dtype=torch.float64)).tolist())
    back = export.from_torch(net)
    assert back.weights() == model.weights() and back.activations == model.activations


@pytest.mark.torch
def test_from_torch_reads_torch_made_modules_and_refuses_what_it_cannot_represent():
    needs_torch()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Identity(),
                              torch.nn.Linear(3, 1, bias=False))
    model = export.from_torch(net)
    assert model.activations == ["relu", "linear"] and model.layers[1].weights()[1] == [0.0]
    X = random_rows(5, 2)
    assert_close(outputs(model, X), net.double()(torch.tensor(X, dtype=torch.float64)).tolist())
    with pytest.raises(ValueError, match=r"part 1 \(Dropout\).*does not have"):
        export.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()))
    with pytest.raises(ValueError, match=r"part 0 \(Tanh\).*before any Linear"):
        export.from_torch(torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(2, 2)))
    with pytest.raises(ValueError, match=r"part 2 \(Sigmoid\).*after an activation"):
        export.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Sigmoid()))
    with pytest.raises(ValueError, match="layer 2 takes 4 inputs but layer 1 has 3 outputs"):
        export.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(4, 1)))
    with pytest.raises(TypeError, match="torch.nn.Sequential or a Linear"):
        export.from_torch(torch.nn.Conv1d(1, 1, 1))


@pytest.mark.torch
def test_parity_agrees_on_data_and_names_the_number_that_differs(monkeypatch):
    needs_torch()
    model = MLP(2, [4, 3], activation="sigmoid", output="tanh", seed=2)
    data = nn.data.load("moons", n=30)
    report = export.parity(model, data)
    assert report and report.rows == 30 and report.parameters == len(model.parameters())
    assert report.worst_output[0] <= TOL and report.worst_gradient[0] <= TOL
    assert "agree to 1e-12: yes" in str(report) and "of moons" in str(report)
    assert all(p.grad == 0.0 for p in model.parameters())  # the caller's model is untouched

    real = export.to_torch

    def nudged_weight(m):
        net = real(m)
        with torch.no_grad():
            net[2].weight[1, 3] += 1e-6  # layer 2, neuron 2, input 4: output 2 moves
        return net

    monkeypatch.setattr(export, "to_torch", nudged_weight)
    report = export.parity(model, data)
    assert not report and report.output_mismatches
    assert {m.what.split(", ")[1] for m in report.output_mismatches} == {"output '2'"}
    assert "agree to 1e-12: NO" in str(report) and "outputs differ" in str(report)

    def nudged_gradient(m):
        net = real(m)
        bump = torch.zeros_like(net[2].weight)
        bump[1, 3] = 1e-6
        net[2].weight.register_hook(lambda grad: grad + bump)  # only dS/dw2.2.4 is off
        return net

    monkeypatch.setattr(export, "to_torch", nudged_gradient)
    report = export.parity(model, data)
    assert not report and not report.output_mismatches
    assert [m.what for m in report.gradient_mismatches] == ["w2.2.4, PyTorch 2.weight[1, 3]"]
    assert "1 gradient differs" in str(report) and "w2.2.4, PyTorch 2.weight[1, 3]" in str(report)


@pytest.mark.torch
def test_the_script_runs_and_prints_chainrules_numbers(tmp_path):
    needs_torch()
    model = MLP(3, [70, 2], activation="relu", output="sigmoid", seed=3)  # wide rows get wrapped
    model.schema = Schema(["a", "b", "c"], "kind", "classes", ["x", "y"], "mse")
    path = export.save_torch_script(model, tmp_path / "net.py", sample=[0.1, -0.2, 0.3], source="net.json")
    text = path.read_text()
    assert "Inputs, in this order: a, b, c." in text and "torch.nn.ReLU()" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = {key.strip(): value for key, value in (line.split(":", 1) for line in result.stdout.splitlines())}
    expected = outputs(model, [[0.1, -0.2, 0.3]])[0]
    assert json.loads(lines["chainrule"]) == expected
    assert_close([json.loads(lines["PyTorch"])], [expected])
    assert float(lines["largest difference"]) <= TOL


@pytest.mark.torch
def test_export_command_writes_the_script_and_checks_parity(tmp_path):
    needs_torch()
    (tmp_path / "d.csv").write_text("p,q,t\n0.1,0.2,a\n0.3,-0.4,b\n-0.5,0.6,a\n")
    ok(chainrule("train", "d.csv", "--epochs", "3", "--save", "m.json", "--quiet", cwd=tmp_path))
    out = ok(chainrule("export", "m.json", "--torch", "m.py", "--check", "--data", "d.csv", cwd=tmp_path))
    assert "wrote m.py" in out and "on 3 rows of d.csv" in out and "agree to 1e-12: yes" in out
    run = subprocess.run([sys.executable, "m.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0 and "input:     [0.1, 0.2]" in run.stdout
    out = ok(chainrule("export", "m.json", "--check", cwd=tmp_path))
    assert "on 32 rows (random inputs)" in out


def test_without_torch_or_onnx_the_commands_say_how_to_install_them(tmp_path):
    hidden = tmp_path / "hidden"
    for package in ("torch", "onnx"):
        (hidden / package).mkdir(parents=True)
        (hidden / package / "__init__.py").write_text(f"raise ImportError('No module named {package}')\n")
    ok(chainrule("train", "xor", "--epochs", "1", "--save", "m.json", "--quiet", cwd=tmp_path))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hidden), os.environ.get("PYTHONPATH", "")]))
    line = _error(chainrule("export", "m.json", "--check", cwd=tmp_path, env=env), 1, "chainrule[torch]")
    assert "needs PyTorch" in line
    line = _error(chainrule("export", "m.json", "--onnx", "m.onnx", cwd=tmp_path, env=env), 1, "chainrule[onnx]")
    assert "needs the onnx package" in line and not (tmp_path / "m.onnx").exists()
    out = ok(chainrule("export", "m.json", "--torch", "m.py", cwd=tmp_path, env=env))  # needs neither
    assert "wrote m.py" in out


@pytest.mark.parametrize("args, words", [
    (("m.json",), ["--torch PATH.py, --onnx PATH.onnx and/or --check"]),
    (("m.json", "--torch", "m.txt"), ["end the name in .py"]),
    (("m.json", "--onnx", "m.pb"), ["end the name in .onnx"]),
    (("nope.json", "--check"), ["nope.json: no such model file"]),
    (("m.json", "--check", "--data", "circlez"), ["unknown data set 'circlez'"]),
    (("m.json", "--check", "--data", "moons"), ["moons has features x1, x2 but the model was trained on"]),
])
def test_export_usage_errors(tmp_path, args, words):
    (tmp_path / "d.csv").write_text("a,b,c,t\n1,2,3,x\n4,5,6,y\n")
    ok(chainrule("train", "d.csv", "--epochs", "1", "--save", "m.json", "--quiet", cwd=tmp_path))
    usage_error(chainrule("export", *args, cwd=tmp_path), *words)


# ---------------------------------------------------------------- ONNX

def run_onnx(proto, X):
    import numpy as np

    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.array(X, dtype=np.float64)})[0].tolist()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output", ACTIVATIONS)
@pytest.mark.parametrize("sizes", [[1], [6, 1], [5, 4, 3]])
def test_onnx_is_valid_double_and_computes_what_chainrule_computes(activation, output, sizes):
    needs_onnx()
    model = MLP(3, sizes, activation=activation, output=output, seed=len(sizes))
    proto = export.to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    graph = proto.graph
    assert [i.name for i in graph.input] == ["input"] and [o.name for o in graph.output] == ["output"]
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert all(t.data_type == onnx.TensorProto.DOUBLE for t in graph.initializer)
    X = random_rows(25, 3, seed=7)
    assert_close(outputs(model, X), run_onnx(proto, X))


def test_onnx_metadata_carries_the_schema_and_the_command_writes_it(tmp_path):
    needs_onnx()
    model = MLP(2, [3, 3], seed=0)
    model.schema = Schema(["h", "w"], "kind", "classes", ["a", "b", "c"], "cross_entropy")
    meta = {p.key: p.value for p in export.to_onnx(model).metadata_props}
    assert json.loads(meta["features"]) == ["h", "w"] and json.loads(meta["classes"]) == ["a", "b", "c"]
    assert meta["labels"] == "classes" and meta["target"] == "kind" and meta["loss"] == "cross_entropy"
    assert json.loads(meta["activations"]) == ["tanh", "linear"]

    nn.save_model(model, tmp_path / "m.json")
    out = ok(chainrule("export", "m.json", "--onnx", "m.onnx", cwd=tmp_path))
    assert "wrote m.onnx" in out and "'input' [N, 2] -> 'output' [N, 3]" in out
    loaded = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(loaded, full_check=True)
    X = random_rows(10, 2)
    assert_close(outputs(model, X), run_onnx(loaded, X))
    assert "h, w" in loaded.graph.input[0].doc_string and "a, b, c" in loaded.graph.output[0].doc_string
