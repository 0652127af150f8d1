"""The trace of a formula computed by PyTorch, to diff against chainrule's or your own.

    >>> torch_trace("(tanh(w*x + b) - y)**2", "torch.json", w=2.3, b=-1.2, x=0.0, y=1.0)

then `chainrule diff mine.json torch.json`. The formula is parsed as `chainrule step`
parses it, so the nodes and their names are the same; every number is PyTorch's own
(float64): each node's value is computed by running the op table's forwards on tensors
(a torch math backend, the way the compiled replay runs them on numpy arrays), and its
gradient and local partials come from torch.autograd, not from the op table's partials.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.autodiff import topological_order
from engine.cli import build
from engine.files import write_atomic
from engine.notation import names
from engine.trace import FORMAT, VERSION, dumps

from .export import _torch

__all__ = ["torch_trace", "torch_record"]


class _TorchMath:
    """The op table's primitives on 0-d float64 tensors (forwards only: torch differentiates)."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        for name in ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos"):
            setattr(self, name, getattr(torch, name))

    def div(self, a, b):
        return a / b

    def pow(self, a, p: float):
        return a ** p

    def sech2(self, a):
        return 1.0 / self.torch.cosh(a) ** 2

    def sum(self, xs):
        return self.torch.stack(list(xs)).sum()

    def dot(self, ws, xs):
        return self.torch.stack([w * x for w, x in zip(ws, xs)]).sum()


def torch_record(formula: str, **values: float) -> dict[str, Any]:
    """The trace (as `engine.trace.record` returns it) of `formula` at `values`, by PyTorch."""
    torch = _torch()
    root = build(formula, [f"{name}={value!r}" for name, value in values.items()]).root
    order = topological_order(root)
    label = names(order)
    m = _TorchMath(torch)
    tensor: dict = {}
    for v in order:
        if v.op is None:
            tensor[v] = torch.tensor(v.data, dtype=torch.float64, requires_grad=True)
        else:
            tensor[v] = v.op.forward(m, *[tensor[p] for p in v.parents])
    local = {v: torch.autograd.grad(tensor[v], [tensor[p] for p in v.parents], retain_graph=True,
                                    allow_unused=True)
             for v in order if v.op is not None}
    for v in order:  # only now: retained gradients would also collect the local ones above
        if v.op is not None:
            tensor[v].retain_grad()
    tensor[root].backward()
    nodes = []
    for v in order:
        t = tensor[v]
        node = {"name": label[v], "op": "input" if v.op is None else v.op.name,
                "parents": [label[p] for p in v.parents], "value": float(t.detach()),
                "grad": 0.0 if t.grad is None else float(t.grad),
                "partials": [0.0 if d is None else float(d) for d in local.get(v, ())]}
        if v.op is not None and v.op.param is not None:
            node["param"] = v.op.param
        nodes.append(node)
    return {"format": FORMAT, "version": VERSION, "nodes": nodes}


def torch_trace(formula: str, path: str | os.PathLike, **values: float) -> Path:
    """Write PyTorch's trace of `formula` at `values` to `path` (atomically)."""
    return write_atomic(path, dumps(torch_record(formula, **values)))
