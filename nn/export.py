"""The model elsewhere: a PyTorch module, a PyTorch script, an ONNX file, and a parity check.

- `to_torch(model)` / `from_torch(module)`: an `nn.MLP` as a float64 `torch.nn.Sequential`
  of Linear layers and activations, and back;
- `torch_script(model)`: a readable, runnable PyTorch script holding the weights;
- `parity(model, data)`: outputs and every parameter's gradient, chainrule vs PyTorch;
- `to_onnx(model)`: a float64 ONNX graph (MatMul, Add, Tanh/Sigmoid/Relu at opset 17,
  all of which onnxruntime runs in double), with the model's schema as metadata.

PyTorch and onnx are optional extras ('chainrule[torch]', 'chainrule[onnx]'), imported
only inside the functions that need them; the script needs neither.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from engine import Value, no_grad
from engine.cli import EXIT_OK, CommandFailed, UsageError
from engine.files import write_atomic

from .data import Dataset, load_for
from .model_file import load_model
from .module import MLP

__all__ = [
    "to_torch", "from_torch", "torch_script", "save_torch_script", "parity", "Parity",
    "to_onnx", "save_onnx", "OPSET", "TOLERANCE",
]

TORCH_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "ReLU"}  # "linear": none
ONNX_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
OPSET = 17       # onnxruntime's CPU kernels for MatMul, Add, Tanh, Sigmoid, Relu take double here
IR_VERSION = 8   # the file format that opset 17 came with, read by onnxruntime >= 1.13
TOLERANCE = 1e-12
INPUT, OUTPUT = "input", "output"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("this needs PyTorch, an optional extra: pip install 'chainrule[torch]' "
                          "(or pip install torch)") from None
    return torch


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("this needs the onnx package, an optional extra: pip install "
                          "'chainrule[onnx]' (or pip install onnx)") from None
    return onnx


# ---------------------------------------------------------------- PyTorch

def to_torch(model: MLP) -> Any:
    """An equivalent float64 `torch.nn.Sequential`: Linear layers with the same weights,
    each followed by the same activation (none for "linear")."""
    torch = _torch()
    parts = []
    for W, b, activation in _layers(model):
        linear = torch.nn.Linear(len(W[0]), len(W), dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W, dtype=torch.float64))
            linear.bias.copy_(torch.tensor(b, dtype=torch.float64))
        parts.append(linear)
        if activation != "linear":
            parts.append(getattr(torch.nn, TORCH_ACTIVATIONS[activation])())
    return torch.nn.Sequential(*parts)


def from_torch(module: Any) -> MLP:
    """The `nn.MLP` of a `torch.nn.Sequential` (or one Linear) made of Linear layers, each
    followed by at most one Tanh, Sigmoid or ReLU; a ValueError names anything else."""
    torch = _torch()
    kinds = {getattr(torch.nn, cls): name for name, cls in TORCH_ACTIVATIONS.items()}
    if isinstance(module, torch.nn.Linear):
        parts = [module]
    elif isinstance(module, torch.nn.Sequential):
        parts = list(module)
    else:
        raise TypeError(f"from_torch takes a torch.nn.Sequential or a Linear, got {type(module).__name__}")
    layers: list[list[Any]] = []
    for i, part in enumerate(parts):
        if isinstance(part, torch.nn.Linear):
            W = part.weight.detach().double().tolist()
            b = part.bias.detach().double().tolist() if part.bias is not None else [0.0] * len(W)
            layers.append([W, b, "linear"])
        elif type(part) in kinds and layers and layers[-1][2] == "linear":
            layers[-1][2] = kinds[type(part)]
        elif not isinstance(part, torch.nn.Identity):
            if type(part) not in kinds:
                why = "which chainrule's MLP does not have"
            else:
                why = "after an activation" if layers else "before any Linear layer"
            raise ValueError(f"cannot represent part {i} ({type(part).__name__}) of the module, {why}: "
                             "a chainrule MLP is Linear layers, each followed by Tanh, Sigmoid, ReLU or nothing")
    if not layers:
        raise ValueError("the module has no Linear layer")
    return MLP.from_weights([tuple(layer) for layer in layers])


def _layers(model: MLP) -> list[tuple[list[list[float]], list[float], str]]:
    if not isinstance(model, MLP):
        raise TypeError(f"expected an nn.MLP, got {type(model).__name__}")
    return model.weights()


def torch_script(model: MLP, sample: Sequence[float] | None = None, *, filename: str = "model.py",
                 source: str = "") -> str:
    """A PyTorch script (to be saved as `filename`) that builds the model with its weights
    and runs it on `sample` (default: fixed numbers), printing PyTorch's outputs beside
    chainrule's. `source` names the model file it came from."""
    layers = _layers(model)
    if sample is None:
        r = random.Random(0)
        sample = [round(r.uniform(-1.0, 1.0), 2) for _ in range(model.nin)]
    sample = [float(v) for v in sample]
    with no_grad():
        expected = [o.data for o in model(sample)]
    written = f"Written by `chainrule export {source} --torch {filename}`. " if source else ""
    lines = [
        f'"""{model!r} from chainrule, as a float64 PyTorch module.',
        "",
        f"{written}Run it: python {filename}",
        *_schema_lines(model),
    ]
    lines += ['"""', "import torch", "", "model = torch.nn.Sequential("]
    index, slots = 0, []
    for k, (W, _, activation) in enumerate(layers, 1):
        role = " (output)" if k == len(layers) else ""
        lines.append(f"    torch.nn.Linear({len(W[0])}, {len(W)}, dtype=torch.float64),  # {index}: layer {k}{role}")
        slots.append(index)
        index += 1
        if activation != "linear":
            lines.append(f"    torch.nn.{TORCH_ACTIVATIONS[activation]}(),  # {index}")
            index += 1
    lines += [")", "", "# The trained weights: W has one row per neuron (its input weights), b one bias each."]
    for k, (W, b, _) in enumerate(layers, 1):
        lines.append(f"LAYER_{k}_W = {_literal(W)}")
        lines.append(f"LAYER_{k}_B = {_literal(b)}")
    lines += ["", "with torch.no_grad():"]
    for k, slot in enumerate(slots, 1):
        lines.append(f"    model[{slot}].weight.copy_(torch.tensor(LAYER_{k}_W, dtype=torch.float64))")
        lines.append(f"    model[{slot}].bias.copy_(torch.tensor(LAYER_{k}_B, dtype=torch.float64))")
    lines += [
        "",
        'if __name__ == "__main__":',
        f"    sample = torch.tensor([{_literal(sample)}], dtype=torch.float64)",
        f"    chainrule = {_literal(expected)}  # what chainrule computes for this sample",
        "    with torch.no_grad():",
        "        pytorch = model(sample)[0].tolist()",
        '    print("input:    ", sample[0].tolist())',
        '    print("PyTorch:  ", pytorch)',
        '    print("chainrule:", chainrule)',
        '    print("largest difference:", max(abs(a - b) for a, b in zip(pytorch, chainrule)))',
    ]
    return "\n".join(lines) + "\n"


def _schema_lines(model: MLP) -> list[str]:
    schema = model.schema
    if schema is None:
        return []
    lines = ["", f"Inputs, in this order: {', '.join(schema.features)}."]
    if schema.labels == "values":
        lines.append(f"Output: {schema.target} (a number).")
    elif schema.labels == "classes":
        lines.append(f"Outputs: one score per class of {schema.target}: {', '.join(schema.classes)} "
                     "(the largest wins).")
    else:
        low, high = ("-1", "+1") if schema.labels == "pm1" else ("0", "1")
        lines.append(f"Output: {schema.target}, {schema.classes[0]} = {low}, {schema.classes[1]} = {high} "
                     f"(trained with the {schema.loss or 'mse'} loss).")
    return [wrapped for line in lines for wrapped in (textwrap.wrap(line, 88) or [""])]


def _literal(values: Any, indent: str = "") -> str:
    """A Python literal of floats (exact reprs), wrapped to stay readable."""
    if values and isinstance(values[0], list):
        rows = [f"{indent}    {_literal(row, indent + '    ')}," for row in values]
        return "[\n" + "\n".join(rows) + f"\n{indent}]"
    text = "[" + ", ".join(repr(float(v)) for v in values) + "]"
    if len(text) + len(indent) <= 96:
        return text
    body = textwrap.wrap(", ".join(repr(float(v)) for v in values), 88 - len(indent))
    return "[\n" + "\n".join(f"{indent}    {line}" for line in body) + f"\n{indent}]"


def save_torch_script(model: MLP, path: str | os.PathLike, sample: Sequence[float] | None = None,
                      source: str = "") -> Path:
    """Write `torch_script(model)` to `path` (a .py file), atomically."""
    return write_atomic(path, torch_script(model, sample, filename=Path(path).name, source=source))


# ---------------------------------------------------------------- parity

@dataclass
class Mismatch:
    """One number on which chainrule and PyTorch disagree beyond the tolerance."""

    what: str
    ours: float
    theirs: float


@dataclass
class Parity:
    """Outputs and gradients, chainrule vs PyTorch; true when every number agrees.

    "Agree" means |chainrule - PyTorch| <= tolerance * max(1, |PyTorch|).
    """

    rows: int
    outputs: int
    parameters: int
    worst_output: tuple[float, str]
    worst_gradient: tuple[float, str]
    output_mismatches: list[Mismatch] = field(default_factory=list)
    gradient_mismatches: list[Mismatch] = field(default_factory=list)
    tolerance: float = TOLERANCE
    torch_version: str = ""
    source: str = ""

    def __bool__(self) -> bool:
        return not (self.output_mismatches or self.gradient_mismatches)

    def __str__(self) -> str:
        lines = [
            f"chainrule vs PyTorch {self.torch_version} (float64) on {self.rows} rows{self.source}",
            f"  outputs    {self.rows} x {self.outputs}: largest difference {self.worst_output[0]:.2g} "
            f"({self.worst_output[1]})",
            f"  gradients  {self.parameters} parameters, dS/dp for S = the sum of all outputs:",
            f"             largest difference {self.worst_gradient[0]:.2g} ({self.worst_gradient[1]})",
        ]
        lines.append(f"agree to {self.tolerance:g}: {'yes' if self else 'NO'}")
        for kind, found in (("outputs", self.output_mismatches), ("gradients", self.gradient_mismatches)):
            if found:
                verb = f"{kind} differ" if len(found) > 1 else f"{kind[:-1]} differs"
                lines.append(f"  {len(found)} {verb}; the largest:")
                ranked = sorted(found, key=lambda m: -abs(m.ours - m.theirs))
                lines += [f"    {m.what}: chainrule {m.ours!r}, PyTorch {m.theirs!r}" for m in ranked[:5]]
        return "\n".join(lines)


def parity(model: MLP, data: Dataset | Sequence[Sequence[float]] | None = None, *,
           tolerance: float = TOLERANCE, rows: int = 32) -> Parity:
    """Compare chainrule and PyTorch on `data` (default: `rows` seeded random inputs in
    [-2, 2]): every output, and every parameter's gradient of S = the sum of all outputs."""
    torch = _torch()
    layers = _layers(model)
    X = _inputs(model, data, rows)
    twin = MLP.from_weights(layers)  # the caller's model keeps its grads
    outs = [twin(x) for x in X]
    flat = [o for out in outs for o in out]
    (Value.sum(flat) if len(flat) > 1 else flat[0]).backward()
    ours_out = [o.data for o in flat]
    ours_grad = [(p.label, p.grad) for p in twin.parameters()]

    net = to_torch(model)
    result = net(torch.tensor(X, dtype=torch.float64))
    result.sum().backward()
    theirs_out = result.detach().reshape(-1).tolist()
    theirs_grad = []
    for index, part in enumerate(net):
        if isinstance(part, torch.nn.Linear):
            for j, (row, bias) in enumerate(zip(part.weight.grad.tolist(), part.bias.grad.tolist())):
                theirs_grad += [(f"{index}.weight[{j}, {i}]", g) for i, g in enumerate(row)]
                theirs_grad.append((f"{index}.bias[{j}]", bias))

    names = model.schema.outputs if model.schema is not None else [str(j + 1) for j in range(model.nout)]
    output_mismatches: list[Mismatch] = []
    gradient_mismatches: list[Mismatch] = []
    worst_output = _compare(
        [(f"row {k // model.nout + 1}, output {names[k % model.nout]!r}", a, b)
         for k, (a, b) in enumerate(zip(ours_out, theirs_out))], tolerance, output_mismatches)
    worst_gradient = _compare(
        [(f"{label}, PyTorch {name}", a, b) for (label, a), (name, b) in zip(ours_grad, theirs_grad)],
        tolerance, gradient_mismatches)
    source = f" of {data.name}" if isinstance(data, Dataset) else " (random inputs)" if data is None else ""
    return Parity(len(X), model.nout, len(ours_grad), worst_output, worst_gradient, output_mismatches,
                  gradient_mismatches, tolerance, torch.__version__, source)


def _inputs(model: MLP, data: Any, rows: int) -> list[list[float]]:
    if data is None:
        r = random.Random(0)
        return [[r.uniform(-2.0, 2.0) for _ in range(model.nin)] for _ in range(rows)]
    X = data.X if isinstance(data, Dataset) else [list(map(float, row)) for row in data]
    if not X or any(len(row) != model.nin for row in X):
        raise ValueError(f"parity needs rows of {model.nin} inputs (the model's), got "
                         f"{sorted({len(row) for row in X}) or 'none'}")
    return X


def _compare(pairs: list[tuple[str, float, float]], tolerance: float,
             mismatches: list[Mismatch]) -> tuple[float, str]:
    """The largest difference and where; each pair beyond the tolerance is recorded."""
    worst = (0.0, pairs[0][0])
    for what, a, b in pairs:
        diff = abs(a - b)
        if not diff <= tolerance * max(1.0, abs(b)):  # NaN is a mismatch too
            mismatches.append(Mismatch(what, a, b))
        if diff > worst[0] or math.isnan(diff):
            worst = (diff, what)
    return worst


# ---------------------------------------------------------------- ONNX

def to_onnx(model: MLP) -> Any:
    """A checked float64 ONNX model: input "input" [N, nin], output "output" [N, nout],
    one MatMul and Add per layer and its activation; the schema goes in the metadata."""
    onnx = _onnx()
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    layers = _layers(model)
    nodes, weights = [], []
    current = INPUT
    for k, (W, b, activation) in enumerate(layers, 1):
        last = k == len(layers)
        weights += [numpy_helper.from_array(np.array(W, dtype=np.float64).T, f"layer{k}.W"),
                    numpy_helper.from_array(np.array(b, dtype=np.float64), f"layer{k}.b")]
        z = OUTPUT if last and activation == "linear" else f"layer{k}.z"
        nodes.append(helper.make_node("MatMul", [current, f"layer{k}.W"], [f"layer{k}.xW"], name=f"layer{k}.matmul"))
        nodes.append(helper.make_node("Add", [f"layer{k}.xW", f"layer{k}.b"], [z], name=f"layer{k}.add"))
        current = z
        if activation != "linear":
            current = OUTPUT if last else f"layer{k}.a"
            nodes.append(helper.make_node(ONNX_ACTIVATIONS[activation], [z], [current], name=f"layer{k}.{activation}"))
    schema = model.schema
    features = schema.features if schema else [f"x{i}" for i in range(1, model.nin + 1)]
    outputs = schema.outputs if schema else [f"output {j}" for j in range(1, model.nout + 1)]
    graph = helper.make_graph(
        nodes, "chainrule_mlp",
        [helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE, ["N", model.nin],
                                       doc_string=f"one row per example: {', '.join(features)}")],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.DOUBLE, ["N", model.nout],
                                       doc_string=f"one row per example: {', '.join(outputs)}")],
        weights)
    proto = helper.make_model(graph, producer_name="chainrule", doc_string=f"{model!r}",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    meta = {"activations": json.dumps(model.activations), "features": json.dumps(features)}
    if schema is not None:
        meta.update(target=schema.target, labels=schema.labels, classes=json.dumps(schema.classes),
                    loss=schema.loss or "")
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def save_onnx(model: MLP, path: str | os.PathLike) -> Path:
    """Write `to_onnx(model)` to `path`, atomically."""
    return write_atomic(path, to_onnx(model).SerializeToString())


# ---------------------------------------------------------------- the command

def run_export(args: argparse.Namespace) -> int:
    """`chainrule export MODEL [--torch PATH.py] [--onnx PATH.onnx] [--check] [--data DATA]`."""
    if not (args.torch or args.onnx or args.check):
        raise UsageError("say what to do: --torch PATH.py, --onnx PATH.onnx and/or --check")
    for path, suffix, option in ((args.torch, ".py", "--torch"), (args.onnx, ".onnx", "--onnx")):
        if path and Path(path).suffix.lower() != suffix:
            raise UsageError(f"{option} writes a {suffix} file: end the name in {suffix}, got {path!r}")
        if path and Path(path).is_dir():
            raise UsageError(f"{path} is a folder; give a file name")
    if not Path(args.model).is_file():
        raise UsageError(f"{args.model}: no such model file")
    model = load_model(args.model)
    dataset = load_for(args.data, model.schema) if args.data else None
    try:
        if args.torch:
            sample = dataset.X[0] if dataset is not None else None
            path = save_torch_script(model, args.torch, sample, source=Path(args.model).name)
            print(f"wrote {path}  (run it: python {path})")
        if args.onnx:
            path = save_onnx(model, args.onnx)
            print(f"wrote {path}  (ONNX opset {OPSET}, float64: {INPUT!r} [N, {model.nin}] -> "
                  f"{OUTPUT!r} [N, {model.nout}])")
        if args.check:
            report = parity(model, dataset)
            print(report)
            if not report:
                raise CommandFailed("chainrule and PyTorch disagree (see above)")
    except ImportError as error:
        raise CommandFailed(str(error)) from None
    return EXIT_OK
