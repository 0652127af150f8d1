"""Exercises on networks: a quiz on one example's walk, and the break-it lab.

- `save_quiz(model, x, target, path)`: the quiz page (`engine.quiz`) on the loss of one
  example, its inputs and targets labelled as the documents do (x1, y1).
- `run_lab(mistake)`: the same small network trained twice, honestly and with one classic
  backprop mistake (`engine.lab.tamper`), and gradcheck's verdict on the mistake. That
  subtly wrong gradients still train for a while is the lesson: a loss curve going down
  proves little; gradcheck names the op.
"""
from __future__ import annotations

import os
import pathlib
import textwrap
from dataclasses import dataclass
from typing import Any, Sequence

from engine import Value, gradcheck
from engine.check import GradcheckReport
from engine.lab import MISTAKES, tamper
from engine.quiz import save_quiz as save_graph_quiz

from . import data, losses
from .module import MLP
from .optim import SGD
from .train import History, fit

__all__ = ["save_quiz", "LabRun", "run_lab"]


def save_quiz(model: Any, x: Sequence[float], target: Any, path: str | os.PathLike, *,
              loss: "str | losses.Loss" = "mse", **options: Any) -> pathlib.Path:
    """Write the quiz page on the walk of `model`'s loss C for input `x` and `target`
    (as `fit` encodes it for `loss`); `options` go to `engine.quiz.save_quiz` (ask,
    show_values, title)."""
    loss_fn = losses.get(loss)
    xs = [Value(v, label=f"x{i}") for i, v in enumerate(x, 1)]
    ts = [Value(v, label=f"y{j}") for j, v in enumerate(loss_fn.encode(target, model.nout), 1)]
    C = loss_fn.forward(model(xs), ts)
    C.label = "C"
    return save_graph_quiz(C, path, **options)


@dataclass(frozen=True)
class LabRun:
    """Both trainings and gradcheck's report on the tampered backward."""

    mistake: str
    op: str
    honest: History
    tampered: History
    verdict: GradcheckReport
    stopped: str = ""  # why the tampered training stopped early, if it did

    def summary(self) -> str:
        def line(what: str, h: History, why: str = "") -> str:
            if not h.loss:
                return f"  {what:9} stopped in the first epoch: {why}"
            accuracy = h.accuracy[-1]
            score = "" if accuracy is None else f", training accuracy {accuracy:.0%}"
            stopped = f"; stopped after epoch {len(h.loss)}: {why}" if why else ""
            return (f"  {what:9} loss {h.loss[0]:.4g} -> {h.loss[-1]:.4g} (lowest {min(h.loss):.4g})"
                    f"{score}{stopped}")

        verdict = self.verdict.message.splitlines()
        lines = [
            f"mistake {self.mistake!r} in {self.op}: {MISTAKES[self.mistake].sentence}",
            line("honest", self.honest), line("tampered", self.tampered, self.stopped),
            "gradcheck on the tampered backward:", *(f"  {v}" for v in verdict),
        ]
        indent = lambda text: " " * (len(text) - len(text.lstrip()) + 4)  # noqa: E731
        return "\n".join(textwrap.fill(text, 80, subsequent_indent=indent(text), break_on_hyphens=False)
                         for text in lines)


def _model(seed: int) -> MLP:
    # Unfused, so that every multiply is a mul node and every op of the table can be tampered with.
    return MLP(2, [8, 1], activation="tanh", output="linear", fused=False, seed=seed)


def run_lab(mistake: str, op: str | None = None, *, epochs: int = 60, seed: int = 0,
            points: int = 60, lr: float = 0.1) -> LabRun:
    """Train an MLP 2-8-1 on two moons (hinge loss, full-batch SGD) with and without
    `mistake` in `op` (default: the mistake's own op), and gradcheck the tampered one."""
    if mistake not in MISTAKES:
        raise ValueError(f"unknown mistake {mistake!r}; known: {', '.join(MISTAKES)}")
    op = op or MISTAKES[mistake].op
    moons = data.load("moons", n=points, seed=seed)
    honest, _ = _train(moons, seed, epochs, lr)
    with tamper(op, mistake):
        tampered, stopped = _train(moons, seed, epochs, lr)
    model = _model(seed)
    hinge = losses.get("hinge")
    few = [(row, target) for row, target in zip(moons.X[:4], moons.y[:4])]

    def cost(*_params: Value) -> Value:  # the parameters are read from the model
        return Value.sum([hinge.forward(model(x), [t]) for x, t in few]) * 0.25

    with tamper(op, mistake):
        verdict = gradcheck(cost, model.parameters())
    return LabRun(mistake, op, honest, tampered, verdict, stopped)


def _train(moons: data.Dataset, seed: int, epochs: int, lr: float) -> tuple[History, str]:
    """fit's history, epoch by epoch, and why it stopped early ("" if it did not): wrong
    gradients can blow the weights up, and the optimiser refuses a NaN gradient."""
    model = _model(seed)
    history = History(loss_name="hinge")

    def record(epoch: int, loss: float, accuracy: float | None) -> None:
        history.loss.append(loss)
        history.accuracy.append(accuracy)

    try:
        fit(model, moons, loss="hinge", optimiser=SGD(model.parameters(), lr=lr), epochs=epochs,
            seed=seed, progress=False, callback=record)
    except (FloatingPointError, OverflowError) as error:
        return history, str(error)
    return history, ""
