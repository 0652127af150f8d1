"""chainrule's network layer: modules, losses, optimisers, data and training on `engine` Values.

    >>> import nn
    >>> model = nn.MLP(2, [16, 16, 1], seed=0)
    >>> history = nn.fit(model, nn.data.load("moons"), loss="hinge", optimiser=nn.optim.Adam(model.parameters()))

`nn.analytic` holds the documents' hand-derived backpropagation (independent of the
engine), `nn.fold` puts it beside the scalar graph layer by layer (`nn.folding`), and
`nn.plot` the matplotlib figures (optional extra "plot"). `nn.to_torch`,
`nn.from_torch`, `nn.parity` and `nn.to_onnx` take a model elsewhere (`nn.export`);
`nn.save_quiz` and `nn.run_lab` are the exercises (`nn.exercises`).
"""
from __future__ import annotations

from . import data, losses, optim
from .exercises import run_lab, save_quiz
from .export import from_torch, parity, to_onnx, to_torch
from .folding import fold
from .model_file import ModelFileError, load_model, save_model
from .module import MLP, Layer, Module, Neuron
from .train import History, evaluate, fit

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "fit", "evaluate", "History",
    "save_model", "load_model", "ModelFileError", "data", "losses", "optim",
    "to_torch", "from_torch", "parity", "to_onnx", "fold", "save_quiz", "run_lab",
]
