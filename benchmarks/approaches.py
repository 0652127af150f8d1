"""The contenders: one class per way of training a workload, all with the same interface.

`Approach(workload)` builds its network from the workload's initial weights;
`step(k)` runs one full-batch SGD step (forward, backward, update) and returns the loss
*before* the update; `graph_nodes()` counts the nodes of one step's graph (None where
there is no graph). Every approach trains the same network from the same weights.
"""
from __future__ import annotations

import sys

import numpy as np

from engine import Value, topological_order
from engine.context import gc_paused, no_grad

from . import textbook
from .workloads import REG, Workload, learning_rate

__all__ = ["APPROACHES", "DEMO", "FIT", "Textbook", "EagerBinary", "EagerFused", "Compiled", "NumpyDelta",
           "Torch", "Jax", "Micrograd", "Fit"]


# ---------------------------------------------------------------- scalar-graph engines

class _ScalarGraph:
    """Shared by the engines that build a graph of scalar Values (textbook and chainrule)."""

    value_type: type = Value
    fused = False
    label = ""

    def __init__(self, w: Workload) -> None:
        self.w = w
        V = self.value_type
        self.layers = [
            ([[V(float(x)) for x in row] for row in W], [V(float(x)) for x in b]) for W, b in w.params
        ]
        self.params = [p for W, b in self.layers for row, bias in zip(W, b) for p in (*row, bias)]
        self.X = [[V(float(x)) for x in row] for row in w.X]
        self.Y = self._targets(w)

    def _targets(self, w: Workload):
        Y = w.Y
        if w.loss == "hinge":
            return [self.value_type(float(y)) for y in Y]
        return [[self.value_type(float(t)) for t in row] for row in Y]

    # -- building the graph
    def neuron(self, ws, b, xs):
        z = ws[0] * xs[0]  # as nn.Neuron(fused=False) writes it: w1*x1 + w2*x2 + ... + b
        for wi, xi in zip(ws[1:], xs[1:]):
            z = z + wi * xi
        return z + b

    def activate(self, z, activation: str):
        if activation == "relu":
            return z.relu()
        if activation == "sigmoid":
            return z.sigmoid()
        return z

    def total(self, terms):
        """The sum of `terms` as a chain of binary adds."""
        it = iter(terms)
        s = next(it)
        for t in it:
            s = s + t
        return s

    def sum_of_squares(self, values):
        return self.total(v * v for v in values)

    def forward(self, x):
        for (W, b), activation in zip(self.layers, self.w.activations()):
            x = [self.activate(self.neuron(row, bias, x), activation) for row, bias in zip(W, b)]
        return x

    def loss(self):
        w, n = self.w, self.w.n
        if w.loss == "hinge":
            terms = [(1.0 - y * self.forward(x)[0]).relu() for x, y in zip(self.X, self.Y)]
            return self.total(terms) * (1.0 / n) + self.sum_of_squares(self.params) * REG
        terms = []
        for x, t in zip(self.X, self.Y):
            terms.extend(o - ti for o, ti in zip(self.forward(x), t))
        return self.sum_of_squares(terms) * (1.0 / n)

    def update(self, lr: float) -> None:
        for p in self.params:
            p.data -= lr * p.grad


class Textbook(_ScalarGraph):
    """The closure-per-node engine of `benchmarks/textbook.py`, as a learner writes it."""

    value_type = textbook.Value
    label = "textbook (closures, recursive sort)"

    def __init__(self, w: Workload) -> None:
        super().__init__(w)
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))  # its sort recurses once per chain link

    def step(self, k: int) -> float:
        loss = self.loss()
        for p in self.params:
            p.grad = 0.0
        loss.backward()
        self.update(learning_rate(k, self.w.steps))
        return loss.data

    def graph_nodes(self) -> int:
        seen, stack = set(), [self.loss()]
        while stack:
            v = stack.pop()
            if v not in seen:
                seen.add(v)
                stack.extend(v._prev)
        return len(seen)


class EagerBinary(_ScalarGraph):
    """chainrule eager with `nn.MLP(..., fused=False)`: every multiply and add is a node."""

    label = "chainrule eager, binary ops"

    def __init__(self, w: Workload) -> None:
        from nn import MLP

        self.w = w
        self.model = MLP.from_weights(
            [(W.tolist(), b.tolist(), act) for (W, b), act in zip(w.params, w.activations())], fused=self.fused
        )
        self.params = self.model.parameters()
        self.X = [[Value(float(x)) for x in row] for row in w.X]
        self.Y = self._targets(w)

    def forward(self, x):
        return self.model(x)

    def step(self, k: int) -> float:
        with gc_paused():
            loss = self.loss()
            for p in self.params:
                p.grad = 0.0
            loss.backward()
            with no_grad():
                self.update(learning_rate(k, self.w.steps))
            value = loss.data
            del loss  # free the graph while the collector is paused, or its next run scans it all
        return value

    def graph_nodes(self) -> int:
        return len(topological_order(self.loss()))


class EagerFused(EagerBinary):
    """chainrule eager with `nn.MLP` (one fused `dot` per neuron) and n-ary sum/dot losses."""

    fused = True
    label = "chainrule eager, fused dot/sum"

    def total(self, terms):
        return Value.sum(terms)

    def sum_of_squares(self, values):
        values = list(values)
        return Value.dot(values, values)


class Compiled(EagerFused):
    """The fused graph recorded once by `engine.compile`, replayed with numpy each step."""

    label = "chainrule compiled replay"

    def __init__(self, w: Workload) -> None:
        super().__init__(w)
        from engine import compile

        with gc_paused():
            self.compiled = compile(self.loss(), wrt=self.params)

    def step(self, k: int) -> float:
        loss = self.compiled.forward()
        self.compiled.backward()  # adds into .grad, which the last update left at 0
        lr = learning_rate(k, self.w.steps)
        for p in self.params:
            p.data -= lr * p.grad
            p.grad = 0.0
        return loss


# ---------------------------------------------------------------- array baselines

def _activate(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    return z


class NumpyDelta:
    """Hand-written batched backprop with numpy: the documents' matrix delta rule."""

    label = "numpy delta rule (hand-written)"

    def __init__(self, w: Workload) -> None:
        self.w = w
        self.params = [(W.copy(), b.copy()) for W, b in w.params]
        self.X = np.ascontiguousarray(w.X)
        self.Y = w.Y
        self.acts = w.activations()

    def step(self, k: int) -> float:
        w, n = self.w, self.w.n
        a, tape = self.X, []
        for (W, b), act in zip(self.params, self.acts):
            z = a @ W.T + b
            tape.append((a, z))
            a = _activate(z, act)
        if w.loss == "hinge":
            s = a[:, 0]
            margin = 1.0 - self.Y * s
            loss = np.maximum(margin, 0.0).sum() / n + w.reg * sum(
                (W * W).sum() + (b * b).sum() * w.reg_biases for W, b in self.params)
            delta = (-(self.Y / n) * (margin > 0.0))[:, None]
        else:
            diff = a - self.Y
            loss = (diff * diff).sum() / n
            delta = 2.0 / n * diff
        grads = []
        for (W, b), act, (a_in, z) in zip(reversed(self.params), reversed(self.acts), reversed(tape)):
            if act == "relu":
                delta = delta * (z > 0.0)
            elif act == "sigmoid":
                s = 1.0 / (1.0 + np.exp(-z))
                delta = delta * s * (1.0 - s)
            grads.append((delta.T @ a_in, delta.sum(axis=0)))
            delta = delta @ W
        lr = w.rate(k)
        for (W, b), (gW, gb) in zip(self.params, reversed(grads)):
            if w.loss == "hinge":
                gW, gb = gW + 2 * w.reg * W, gb + 2 * w.reg * w.reg_biases * b
            W -= lr * gW
            b -= lr * gb
        return float(loss)

    def graph_nodes(self) -> None:
        return None


class Torch:
    """PyTorch CPU, batched tensors (float64, one thread), autograd and plain SGD."""

    label = "PyTorch CPU batched (float64)"

    def __init__(self, w: Workload) -> None:
        import torch

        self.torch, self.w = torch, w
        self.params = [
            (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in w.params
        ]
        self.flat = [p for pair in self.params for p in pair]
        self.X, self.Y = torch.tensor(w.X), torch.tensor(w.Y)
        self.acts = w.activations()

    def step(self, k: int) -> float:
        torch, w = self.torch, self.w
        a = self.X
        for (W, b), act in zip(self.params, self.acts):
            a = torch.addmm(b, a, W.t())
            if act == "relu":
                a = torch.relu(a)
            elif act == "sigmoid":
                a = torch.sigmoid(a)
        if w.loss == "hinge":
            loss = torch.relu(1.0 - self.Y * a[:, 0]).mean() + w.reg * sum(
                (W * W).sum() + (b * b).sum() * w.reg_biases for W, b in self.params)
        else:
            loss = ((a - self.Y) ** 2).sum() / w.n
        for p in self.flat:
            p.grad = None
        loss.backward()
        lr = w.rate(k)
        with torch.no_grad():
            for p in self.flat:
                p -= lr * p.grad
        return float(loss.detach())

    def graph_nodes(self) -> None:
        return None


class Jax:
    """JAX jit on CPU (float64, one thread): the whole step, forward, grad and update, one
    compiled XLA function. The anchor: what compiling the array program gets."""

    label = "JAX jit CPU (float64)"

    def __init__(self, w: Workload) -> None:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        self.w = w
        self.params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in w.params]
        X, Y, acts = jnp.asarray(w.X), jnp.asarray(w.Y), w.activations()

        def loss(params):
            a = X
            for (W, b), act in zip(params, acts):
                a = a @ W.T + b
                a = jnp.maximum(a, 0.0) if act == "relu" else jax.nn.sigmoid(a) if act == "sigmoid" else a
            if w.loss == "hinge":
                reg = sum((W * W).sum() + (b * b).sum() * w.reg_biases for W, b in params)
                return jnp.maximum(1.0 - Y * a[:, 0], 0.0).mean() + w.reg * reg
            return ((a - Y) ** 2).sum() / w.n

        def step(params, lr):
            value, grads = jax.value_and_grad(loss)(params)
            return value, [(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(params, grads)]

        self.jitted = jax.jit(step)
        self.jitted(self.params, 0.0)[0].block_until_ready()  # compile outside the timing

    def step(self, k: int) -> float:
        value, self.params = self.jitted(self.params, self.w.rate(k))
        return float(value)

    def graph_nodes(self) -> None:
        return None


# ---------------------------------------------------------------- workload A: micrograd's demo loop

def demo_loss(model, X, y, V):
    """micrograd's demo.ipynb `loss()`, unchanged but for its arguments: Python `sum`
    over Values, binary ops, the L2 term over every parameter."""
    inputs = [list(map(V, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


class Micrograd:
    """micrograd from PyPI, its own `nn.MLP` and the demo loop: the textbook anchor.

    Subclasses run the same micrograd `nn` code over another engine's Values (its
    neurons only ever add and multiply what they are given)."""

    label = "micrograd (PyPI), demo loop"

    def __init__(self, w: Workload) -> None:
        from micrograd import nn as micro_nn

        V = self.value_type()
        self.w, self.V = w, V
        self.model = micro_nn.MLP(w.sizes[0], list(w.sizes[1:]))
        for layer, (W, b) in zip(self.model.layers, w.params):
            for neuron, row, bias in zip(layer.neurons, W, b):
                neuron.w, neuron.b = [V(float(x)) for x in row], V(float(bias))
        self.params = self.model.parameters()
        self.X, self.y = w.X.tolist(), w.Y.tolist()
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))

    @staticmethod
    def value_type():
        from micrograd.engine import Value as MicroValue

        return MicroValue

    def step(self, k: int) -> float:
        total_loss, _ = demo_loss(self.model, self.X, self.y, self.V)
        self.model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in self.model.parameters():
            p.data -= learning_rate * p.grad
        return total_loss.data

    def graph_nodes(self) -> None:
        return None


class DemoTextbook(Micrograd):
    label = "in-repo textbook engine, demo loop"

    @staticmethod
    def value_type():
        return textbook.Value


class DemoEager(Micrograd):
    label = "chainrule eager, demo loop"

    @staticmethod
    def value_type():
        return Value

    def graph_nodes(self) -> int:
        return len(topological_order(demo_loss(self.model, self.X, self.y, self.V)[0]))


class DemoReplay(DemoEager):
    """The demo's graph built once, `engine.compile`d, and replayed each step."""

    label = "chainrule replay, demo loop"
    wrt = True

    def __init__(self, w: Workload) -> None:
        super().__init__(w)
        from engine import compile

        loss, _ = demo_loss(self.model, self.X, self.y, self.V)
        self.compiled = compile(loss, wrt=self.params if self.wrt else None)

    def step(self, k: int) -> float:
        value = self.compiled.forward()
        self.model.zero_grad()
        self.compiled.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in self.params:
            p.data -= learning_rate * p.grad
        return value


class DemoReplayAll(DemoReplay):
    label = "chainrule replay, demo loop, compile(loss) without wrt"
    wrt = False


# ---------------------------------------------------------------- workload B: nn.fit

class Fit:
    """`nn.fit` on the workload, full batch (its default: the compiled replay), called as a
    user calls it: no callback (a callback makes fit write the parameters into their
    Values every epoch, so it can look at the model). One step is one epoch."""

    label = "chainrule nn.fit (replay, the default)"
    compile = True

    def __init__(self, w: Workload) -> None:
        self.w = w
        self.data = (w.X.tolist(), w.Y.tolist())
        self.loss = "hinge" if w.loss == "hinge" else "sse"

    def _fit(self, epochs: int):
        from nn import MLP, fit, optim

        w = self.w
        model = MLP.from_weights([(W.tolist(), b.tolist(), act) for (W, b), act in zip(w.params, w.activations())])
        return fit(model, self.data, loss=self.loss, optimiser=optim.SGD(model.parameters(), lr=w.lr),
                   epochs=epochs, l2=w.reg if w.loss == "hinge" else 0.0, compile=self.compile, progress=False)

    def run(self, steps: int) -> tuple[list[float], list[float], float]:
        """(seconds per step after the first, loss per step, seconds from calling fit to
        the first step's end: graph, compile and one step), as fit's History times them."""
        import time

        start = time.perf_counter()
        history = self._fit(steps)
        before_loop = time.perf_counter() - start - history.seconds
        self.path = history.path
        return history.epoch_seconds[1:], history.loss, before_loop + history.epoch_seconds[0]

    def graph_nodes(self) -> None:
        return None


class FitEager(Fit):
    label = "chainrule nn.fit(compile=False) (eager)"
    compile = False


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


DEMO = {"micrograd": Micrograd, "textbook": DemoTextbook, "eager": DemoEager, "replay": DemoReplay,
        "replay-all": DemoReplayAll, "numpy": NumpyDelta, "torch": Torch, "jax": Jax}
"""Workload A: micrograd's demo loop, and the array baselines doing the same."""
FIT = {"fit": Fit, "fit-eager": FitEager, "numpy": NumpyDelta, "torch": Torch, "jax": Jax}
"""Workload B: nn.fit, and the array baselines doing the same."""

APPROACHES = {
    "textbook": Textbook,
    "eager-binary": EagerBinary,
    "eager-fused": EagerFused,
    "compiled": Compiled,
    "numpy": NumpyDelta,
    "torch": Torch,
}
