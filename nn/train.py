"""Training: `fit` runs gradient descent on a model over a data set and returns a History.

One step: zero the grads, build the mean loss over a batch (plus an optional L2
penalty), `backward()`, `optimiser.step()`. By default (`compile=True`) one example's
loss graph is built once, over input and target leaves that `fit` owns, and compiled
with those leaves as data (`engine.compile(..., data=...)`): each step hands the batch
to the replay as an array, whatever its size, and only the parameters are read from and
written to Values. A loss whose graph depends on the numbers (it branches on them, or
folds one in as a constant) cannot be replayed: then `fit` trains eagerly and the
progress line says why.

Everything is checked before the first step (input widths, targets against the loss),
so a bad data set raises a ValueError and leaves the model as it was.
"""
from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence, TextIO

import numpy as np
from tqdm.auto import tqdm

import engine
import engine.autodiff
from engine import Value, lab
from engine.context import gc_paused, no_grad, state

from . import losses as _losses
from .checks import whole
from .data import Dataset
from .module import Module
from .optim import SGD, Optimiser

__all__ = ["History", "fit", "evaluate", "progress_bar"]


@dataclass
class History:
    """Per epoch: the mean training loss and accuracy (None when not classification), and
    the seconds it took (wall clock; not the callback's time).

    Loss and accuracy are measured on the fly during the epoch, as each batch is seen.
    `seconds` is the whole loop's time (the epochs and callbacks, not the set-up before).
    `loss_name` says which loss it was ("hinge", "squared_error", ...), so plots can name it.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    loss_name: str = "loss"
    path: str = "eager"  # how the steps ran: "compiled replay", or "eager" and why

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def __repr__(self) -> str:
        if not self.loss:
            return "History(no epochs)"
        acc = self.accuracy[-1]
        shown = "" if acc is None else f", accuracy {acc:.1%}"
        return f"History({self.epochs} epochs, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}{shown})"


def _watched() -> bool:
    """Someone is looking: stderr is a terminal, or this is a Jupyter kernel (a notebook)."""
    if sys.stderr.isatty():
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in shell.config


# tqdm's layout without the rate: the ETA says it, and 80 columns keep room for the bar.
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


def progress_bar(epochs: int, enabled: bool, file: TextIO | None = None, desc: str = "training") -> tqdm:
    """A tqdm bar over the epochs: a widget in a notebook, one line on a terminal that
    fits its width (and follows it when resized), with the ETA; disabled, it prints nothing."""
    return tqdm(total=epochs, disable=not enabled, file=file, desc=desc, unit="epoch",
                bar_format=BAR_FORMAT, dynamic_ncols=True, mininterval=0.1)


def _show(bar: tqdm, loss: float, accuracy: float | None) -> None:
    """The epoch's loss (and accuracy) as the bar's postfix, then one step forward."""
    if bar.disable:
        return  # nobody looks: formatting the postfix would cost a tenth of a small step
    postfix = {"loss": f"{loss:.4g}"}
    if accuracy is not None:
        postfix["acc"] = f"{accuracy:.1%}"
    bar.set_postfix(postfix, refresh=False)
    bar.update(1)


def _dataset(data: Any) -> tuple[list[Sequence[float]], list[Any]]:
    if isinstance(data, Dataset):
        return data.X, data.y
    try:
        X, y = data
    except (TypeError, ValueError):
        raise TypeError("data must be an nn.data.Dataset or an (X, y) pair") from None
    if len(X) != len(y):
        raise ValueError(f"data has {len(X)} inputs but {len(y)} targets")
    if len(X) == 0:
        raise ValueError("data is empty")
    return list(X), list(y)


def _prepare(model: Module, X: Sequence, y: Sequence, loss: _losses.Loss) -> tuple[list[list[float]], list[list[float]]]:
    """Inputs as float rows of the model's width, targets encoded by the loss: or a ValueError."""
    nin, nout = getattr(model, "nin", None), getattr(model, "nout", None)
    if nin is None or nout is None:
        raise TypeError(f"fit needs a model with nin and nout (an nn.MLP), got {type(model).__name__}")
    rows = []
    for i, row in enumerate(X):
        try:
            n = len(row)
        except TypeError:
            row, n = [row], 1
        if n != nin:
            raise ValueError(f"row {i} of the data has {n} feature{'s' if n != 1 else ''} but the model takes {nin} inputs")
        try:
            values = [float(v) for v in row]
        except (TypeError, ValueError):
            raise TypeError(f"row {i} of the data is not all numbers: {row!r:.80}") from None
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"row {i} of the data has a non-finite value: {values}")
        rows.append(values)
    targets = []
    for i, t in enumerate(y):
        try:
            targets.append(loss.encode(t, nout))
        except (ValueError, TypeError) as error:
            raise type(error)(f"target {i}: {error}") from None
    return rows, targets


def _accuracy(hits: int, seen: int, scorer: Any) -> float | None:
    return None if scorer is None else hits / seen


def evaluate(model: Module, data: Any, loss: "str | _losses.Loss" = "mse", *,
             compile: bool = True) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) of `model` on `data`, changing nothing.

    Through the compiled replay, all examples at once as one array (`compile=False`, or a
    loss whose graph depends on the numbers: one example at a time, eagerly).
    """
    loss = _losses.get(loss)
    X, y = _dataset(data)
    rows, targets = _prepare(model, X, y, loss)
    scorer = loss.scorer(targets)
    replay, _ = _Replay.make(model, loss, [], 0.0, rows, targets) if compile else (None, "")
    if replay is not None:
        mean, outputs = replay.run(range(len(rows)))
    else:
        losses, outputs = [], []
        with no_grad():
            for x, t in zip(rows, targets):
                out = model(x)
                losses.append(loss.forward(out, t).data)
                outputs.append([o.data for o in out])
        mean = sum(losses) / len(rows)
    if scorer is None:
        return mean, None
    as_array = replay.targets(range(len(rows))) if replay is not None else None
    return mean, _hits(scorer, outputs, targets, as_array) / len(rows)


def fit(
    model: Module,
    data: Any,
    loss: "str | _losses.Loss" = "mse",
    optimiser: Optimiser | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
    compile: bool = True,
    l2: float = 0.0,
    callback: Callable[[int, float, float | None], Any] | None = None,
) -> History:
    """Train `model` on `data` for `epochs` and return the History.

    `loss`: an `nn.losses` object or name ("mse", "sse", "half", "hinge", "bce",
    "cross_entropy"); `optimiser`: defaults to SGD(lr=0.1); `batch_size` None means the
    whole data set per step; batches are shuffled per epoch with `seed` (same seed, same
    run). `progress`: a tqdm bar on stderr (a widget in a notebook); None shows it where
    someone is looking, on a terminal or in a notebook. `l2` adds l2 * sum(w^2) over the
    weights (not biases). `callback(epoch, loss, accuracy)` runs after each epoch.
    """
    loss_fn = _losses.get(loss)
    whole(epochs, "epochs", minimum=0)
    X, y = _dataset(data)
    rows, targets = _prepare(model, X, y, loss_fn)
    batch_size, optimiser, l2 = _settings(len(rows), batch_size, optimiser, l2, model)
    weights = [p for name, p in model.named_parameters() if not name.endswith(".b") and name != "b"]
    step, path = _path(compile, model, loss_fn, weights, l2, rows, targets)
    bar = progress_bar(epochs, _watched() if progress is None else bool(progress),
                       desc=f"training ({path.split(':')[0].replace('compiled ', '')})")
    history = History(loss_name=loss_fn.name, path=path)
    scorer, rng, order = loss_fn.scorer(targets), random.Random(seed), list(range(len(rows)))
    started = time.perf_counter()
    arrays = step.arrays_for(optimiser) if step is not None else None
    try:
        with bar:
            for epoch in range(1, epochs + 1):
                began = time.perf_counter()
                if batch_size < len(rows):
                    rng.shuffle(order)
                mean, hits = _epoch(step, arrays, model, loss_fn, rows, targets, order, batch_size, optimiser,
                                    weights, l2, scorer)
                history.loss.append(mean)
                history.accuracy.append(_accuracy(hits, len(rows), scorer))
                history.epoch_seconds.append(time.perf_counter() - began)
                _show(bar, history.loss[-1], history.accuracy[-1])
                if callback is not None:
                    if arrays is not None:
                        arrays.write()  # the callback sees the model as it is, and may change it
                    try:
                        callback(epoch, history.loss[-1], history.accuracy[-1])
                    finally:
                        if arrays is not None:
                            arrays.read()  # also when it stops the run by raising
    finally:
        if arrays is not None:
            arrays.write()  # also when a step raised: the Values hold the last good numbers
    history.seconds = time.perf_counter() - started
    return history


def _settings(n: int, batch_size: int | None, optimiser: Optimiser | None, l2: float,
              model: Module) -> tuple[int, Optimiser, float]:
    """fit's batch size (at most the data), optimiser (SGD lr=0.1 by default) and l2, checked."""
    batch_size = n if batch_size is None else whole(batch_size, "batch_size (or None)")
    if optimiser is None:
        optimiser = SGD(model.parameters(), lr=0.1)
    elif not isinstance(optimiser, Optimiser):
        raise TypeError(f"optimiser must be an nn.optim optimiser, got {type(optimiser).__name__}")
    l2 = float(l2)
    if not (math.isfinite(l2) and l2 >= 0.0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    return min(batch_size, n), optimiser, l2


def _path(compile: bool, model: Module, loss_fn: _losses.Loss, weights: list[Value], l2: float,
          rows: list, targets: list) -> tuple["_Replay | None", str]:
    """The replay where it gives eager's results, else None; and the path's name, with why."""
    tampered = lab.active()  # the replay computes honest partials: a lab's mistake needs the walk
    if compile and tampered is None:
        step, why_not = _Replay.make(model, loss_fn, weights, l2, rows, targets)
    else:
        step, why_not = None, lab.describe_tamper(tampered) if tampered else ""
    return step, "compiled replay" if step is not None else f"eager: {why_not}" if why_not else "eager"


def _epoch(step: "_Replay | None", arrays: "_Parameters | None", model: Module, loss_fn: _losses.Loss,
           rows: list, targets: list, order: list[int], batch_size: int, optimiser: Optimiser,
           weights: list[Value], l2: float, scorer) -> tuple[float, int]:
    """One pass over the data, batch by batch: (mean loss, examples scored right)."""
    total, hits = 0.0, 0
    for start in range(0, len(rows), batch_size):
        batch = order[start:start + batch_size]
        if arrays is not None:
            value, outputs = arrays.step(batch, optimiser)
        else:
            with gc_paused():  # the step's graph has no cycles: reference counting frees it
                optimiser.zero_grad()
                if step is not None:
                    value, outputs = step.run(batch, backward=True)
                else:
                    value, outputs = _eager_step(model, loss_fn, rows, targets, batch, weights, l2)
                optimiser.step()
        total += value * len(batch)
        if scorer is not None:
            hits += _hits(scorer, outputs, map(targets.__getitem__, batch),
                          step.targets(batch) if step is not None else None)
    return total / len(rows), hits


def _eager_step(
    model: Module, loss_fn: _losses.Loss, rows: list, targets: list, batch: list[int],
    weights: list[Value], l2: float,
) -> tuple[float, list[list[float]]]:
    """Forward over the batch, backward once; returns (mean loss, the output numbers)."""
    terms, outputs = [], []
    for i in batch:
        out = model(rows[i])
        terms.append(loss_fn.forward(out, targets[i]))
        outputs.append([o.data for o in out])
    total = terms[0] if len(terms) == 1 else Value.sum(terms) * (1.0 / len(terms))
    if l2:
        total = total + _losses.l2_penalty(weights, l2)
    total.backward()
    return total.data, outputs


class _Replay:
    """One example's loss graph, compiled once with its inputs and targets as data, and
    replayed over any batch of the data set (an array; any batch size)."""

    def __init__(self, compiled: Any, outputs: list[Value], table: np.ndarray) -> None:
        self.compiled, self.outputs, self.table = compiled, outputs, table
        self.columns = np.array(table.T, order="C")  # the replay's layout: one row per leaf, one column per example
        self.columns.flags.writeable = False  # read-only and its own: the replay copies it in once
        self.width = table.shape[1] - len(outputs)  # the inputs' columns; the targets' follow

    @classmethod
    def make(cls, model: Module, loss_fn: _losses.Loss, weights: list[Value], l2: float,
             rows: list, targets: list) -> tuple["_Replay | None", str]:
        """The replay for this model and loss, or (None, why it cannot be one).

        The graph is built for a few examples (the first, a middle one, the last): if its
        ops differ between them, the loss branches on the numbers and cannot be replayed.
        If only a constant it folds in differs (softmax's shift by the largest logit),
        the replay keeps the first example's: it must then give the other examples'
        eager loss and gradients, or the replay is refused.
        """
        if not state().grad_enabled:
            return None, "no_grad is on, so no graph is recorded"
        probes = sorted({0, len(rows) // 2, len(rows) - 1})
        graphs = [cls._graph(model, loss_fn, weights, l2, rows[k], targets[k]) for k in probes]
        shapes = [_shape(root, leaves) for root, leaves, _ in graphs]
        if len({tuple(op for op, _, _ in shape) + tuple(ps for _, ps, _ in shape) for shape in shapes}) > 1:
            return None, f"the {loss_fn.name} graph changes with the data"
        root, leaves, outputs = graphs[0]
        compiled = engine.compile(root, wrt=model.parameters(), data=leaves, keep=outputs)
        replay = cls(compiled, outputs, np.hstack([np.array(rows, dtype=float), np.array(targets, dtype=float)]))
        if len(set(shapes)) > 1 and not all(replay._agrees(k, graph[0], model.parameters()) for k, graph in zip(probes, graphs)):
            return None, f"the {loss_fn.name} graph folds in numbers that depend on the data"
        return replay, ""

    def _agrees(self, k: int, eager_loss: Value, params: list[Value]) -> bool:
        """Does the replay give example k's eager loss and gradients (to 1e-9)?"""
        saved = [p.grad for p in params]
        try:
            for p in params:
                p.grad = 0.0
            value = float(self.compiled.forward(self.table[[k]])[0])
            self.compiled.backward()
            replayed = [p.grad for p in params]
        finally:
            for p, g in zip(params, saved):
                p.grad = g
        expected = engine.autodiff.gradients(eager_loss, params)
        close = lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
        return close(value, eager_loss.data) and all(map(close, replayed, expected))

    @staticmethod
    def _graph(model: Module, loss_fn: _losses.Loss, weights: list[Value], l2: float,
               row: list[float], target: list[float]) -> tuple[Value, list[Value], list[Value]]:
        """One example's loss (+ the L2 penalty) over input and target leaves we own."""
        xs = [Value(v, label=f"x{j}") for j, v in enumerate(row, 1)]
        ts = [Value(v, label=f"y{j}") for j, v in enumerate(target, 1)]
        outputs = model(xs)
        root = loss_fn.forward(outputs, ts)
        if l2:
            root = root + _losses.l2_penalty(weights, l2)
        return root, xs + ts, outputs

    def run(self, batch: Sequence[int], backward: bool = False, leaves: np.ndarray | None = None
            ) -> tuple[float, np.ndarray]:
        """The mean loss over `batch` (indices into the data) and the model's outputs, one
        row per example; with `backward`, the mean's gradient is added into the parameters.
        `leaves`: the parameters' numbers as an array (see `_Parameters`), not their Values."""
        whole = len(batch) == len(self.table)  # every example: fit never shuffles a whole batch, so in order
        columns = self.columns if whole else self.columns[:, np.asarray(batch, dtype=np.intp)]
        values = self.compiled.forward(columns=columns, leaves=leaves)
        if backward:
            self.compiled.backward(1.0 / len(values))
        return float(np.mean(values)), self.compiled.values_of(self.outputs).T

    def arrays_for(self, optimiser: Optimiser) -> "_Parameters | None":
        """The parameters as arrays for `optimiser`, when it moves exactly the compiled ones
        (else None: the optimiser steps the Values)."""
        wrt, moved = self.compiled.targets, optimiser.params
        if len(moved) != len(wrt) or set(moved) != set(wrt):
            return None
        return _Parameters(self, optimiser)

    def targets(self, batch: Sequence[int]) -> np.ndarray:
        """The encoded targets of `batch`, one row per example."""
        if len(batch) == len(self.table):  # as in run
            return self.table[:, self.width:]
        return self.table[np.asarray(batch, dtype=np.intp), self.width:]

class _Parameters:
    """The replay's parameters kept in an array while `fit` trains: each step is the
    replay forward and back and the optimiser's rule (`Optimiser.update`) over arrays,
    with no Value read or written. `write()` puts the numbers (and the last gradients)
    into the Values; `read()` takes them back (a callback may have changed them)."""

    def __init__(self, replay: _Replay, optimiser: Optimiser) -> None:
        self.replay, self.values = replay, replay.compiled.targets
        at = {v: k for k, v in enumerate(self.values)}
        self.moved = np.array([at[p] for p in optimiser.params], dtype=np.intp)  # optimiser's order -> wrt's
        self.grads = np.array([v.grad for v in self.values], dtype=float)
        self.read()

    def read(self) -> None:
        self.numbers = np.array([v.data for v in self.values], dtype=float)

    def write(self) -> None:
        for v, x, g in zip(self.values, self.numbers.tolist(), self.grads.tolist()):
            v.data, v.grad = x, g

    def step(self, batch: Sequence[int], optimiser: Optimiser) -> tuple[float, np.ndarray]:
        self.grads = np.zeros(len(self.values))  # as zero_grad: a step that raises leaves no gradient
        mean, outputs = self.replay.run(batch, leaves=self.numbers)
        compiled = self.replay.compiled
        grads = compiled.gradient(1.0 / len(batch))
        moved, self.grads = self.moved, grads
        self.numbers[moved] = optimiser.update(self.numbers[moved], grads[moved])  # raises before changing
        return mean, outputs


def _hits(scorer: Any, outputs: "np.ndarray | list", targets: Iterable, as_array: np.ndarray | None = None) -> int:
    """How many examples `scorer` calls correct (`targets`: one encoded target per
    output row, read only when scoring example by example; `as_array`: the same as rows
    of numbers).

    Speed, in one place (tested equal to the plain loop): a scorer written with
    elementwise comparisons, such as `(out[0] > 0) == (t[0] > 0)`, or with the losses'
    `_argmax`, scores a whole batch of the replay's arrays at once when handed their
    columns; any other (a user's, that loops or branches) is called once per example.
    """
    if isinstance(outputs, np.ndarray):
        if as_array is None:
            targets = list(targets)
            as_array = np.array(targets)
        try:
            scored = scorer(outputs.T, as_array.T)
        except (TypeError, ValueError, IndexError):
            scored = None
        if isinstance(scored, np.ndarray) and scored.dtype == np.bool_ and scored.shape == (len(outputs),):
            return int(np.count_nonzero(scored))
        outputs = outputs.tolist()
    return sum(map(scorer, outputs, targets))


def _shape(root: Value, leaves: list[Value]) -> tuple:
    """The graph's shape: each node's op and parents, the numbers it folds in as
    constants (its leaves other than `leaves`, which are data), and nothing of the data."""
    order = engine.topological_order(root)
    at = {v: i for i, v in enumerate(order)}
    data = set(leaves)
    return tuple((v.op, tuple(at[p] for p in v.parents), v.data if v.is_leaf and v not in data else None)
                 for v in order)
