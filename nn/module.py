"""Modules made of `engine.Value`s: `Neuron`, `Layer` and `MLP`.

A neuron computes `activation(w·x + b)`. By default the weighted sum is one fused `dot`
node (fast, and a drawing shows one node per neuron); with `fused=False` every multiply
and add is its own binary node, the way the documents write `z = w1*x1 + w2*x2 + b`.
Both give the same numbers (the fused dot adds the products in the same order).

Naming, for people and for code:
- scopes and labels are 1-based like the documents: a layer opens the scope "layer 1",
  its neurons "neuron 2", and the parameters are labelled "w1.2.3" (layer 1, neuron 2,
  input 3) and "b1.2"; each example's nodes too: the fused sum "dot1.2", the weighted
  sum z = w·x + b "z1.2" and the activation "a1.2" (a linear neuron's z is its a), so
  drawings, `explain` and the page say z and a; a lone neuron's are "z" and "a";
- `named_parameters()` is 0-based like Python: "layers.0.neurons.1.w.2".
"""
from __future__ import annotations

import math
import random
from functools import lru_cache
from typing import Iterator, Sequence

from engine import Value
from engine.context import scope
from engine.value import lift

from .checks import finite, whole

__all__ = ["ACTIVATIONS", "Module", "Neuron", "Layer", "MLP", "check_activation"]

# name -> the Value method that applies it (None: the identity).
ACTIVATIONS = {"tanh": Value.tanh, "sigmoid": Value.sigmoid, "relu": Value.relu, "linear": None}


def check_activation(name: object) -> str:
    """The activation's name, or a ValueError listing the known ones."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return name


def _rng(rng: random.Random | int | None) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    if rng is None or (isinstance(rng, int) and not isinstance(rng, bool)):
        return random.Random(rng)
    raise TypeError(f"rng must be a random.Random, an int seed or None, got {type(rng).__name__}")


def _inputs(x: object, nin: int, who: str) -> Sequence:
    """The input as a sequence of length `nin` (a bare number is accepted when nin == 1)."""
    try:
        n = len(x)  # type: ignore[arg-type]
    except TypeError:
        if nin == 1 and not isinstance(x, str):
            return (x,)
        raise TypeError(f"{who} takes a sequence of {nin} inputs, got {type(x).__name__}") from None
    if n != nin:
        raise ValueError(f"{who} takes {nin} input{'s' if nin != 1 else ''}, got {n}")
    return x  # type: ignore[return-value]


def lifted(x: Sequence[Value | float], letter: str = "x") -> list[Value]:
    """`x` as Values, each plain number a leaf labelled as the documents do: `x` for a
    single one, else x1, x2, ... (the letter y for targets); Values keep their labels."""
    return [xi if type(xi) is Value else _labelled(xi, name) for xi, name in zip(x, _names(letter, len(x)))]


@lru_cache(maxsize=64)
def _names(letter: str, n: int) -> tuple[str, ...]:
    return (letter,) if n == 1 else tuple(f"{letter}{k}" for k in range(1, n + 1))


def _labelled(number: float, label: str) -> Value:
    v = lift(number)
    v.label = label
    return v


class Module:
    """Anything with parameters: lists them (plain and named) and zeroes their grads."""

    __slots__ = ()

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """(name, Value) pairs, names 0-based and dotted: "layers.0.neurons.2.w.1"."""
        return iter(())

    def parameters(self) -> list[Value]:
        """Every trainable Value, in a fixed order (the order of `named_parameters`)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 (leaves accumulate across `backward()` calls)."""
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """One neuron: `activation(w·x + b)` with `w` a list of Values and `b` a Value.

    `name` is its scope ("neuron 2" inside a layer) and `tag` the middle of its labels
    ("1.2" gives "w1.2.1" and "b1.2"); a layer sets both.
    """

    __slots__ = ("w", "b", "nin", "activation", "fused", "name", "_act", "_labels")

    def __init__(
        self,
        nin: int,
        activation: str = "tanh",
        *,
        fused: bool = True,
        rng: random.Random | int | None = None,
        name: str = "neuron",
        tag: str = "",
    ) -> None:
        self.nin = whole(nin, "nin")
        self.activation = check_activation(activation)
        r = _rng(rng)
        # Uniform with variance 1/nin (2/nin for relu): outputs neither vanish nor saturate.
        limit = math.sqrt((6.0 if activation == "relu" else 3.0) / nin)
        weights = [r.uniform(-limit, limit) for _ in range(nin)]
        self._init(weights, 0.0, fused, name, tag)

    def _init(self, weights: list[float], bias: float, fused: bool, name: str, tag: str) -> None:
        sep = "." if tag else ""
        self.w = [Value(wi, label=f"w{tag}{sep}{i}") for i, wi in enumerate(weights, 1)]
        self.b = Value(bias, label=f"b{tag}")
        self.fused = bool(fused)
        self.name = name
        self._act = ACTIVATIONS[self.activation]
        # The documents' names for the weighted sum and the activation (z2.1, a2.1; z, a
        # for a lone neuron), made once: labelling a node is then one store per example.
        self._labels = (f"dot{tag}", f"z{tag}", f"a{tag}")

    @classmethod
    def from_weights(
        cls, w: Sequence[float], b: float, activation: str = "tanh", *, fused: bool = True,
        name: str = "neuron", tag: str = "",
    ) -> "Neuron":
        """A neuron with exactly these weights and bias (to reproduce a document's numbers)."""
        try:
            weights = [finite(wi, "a weight") for wi in w]
        except TypeError:
            if isinstance(w, (str, bytes)) or not hasattr(w, "__iter__"):
                raise TypeError(f"w must be a sequence of numbers, got {type(w).__name__}") from None
            raise
        neuron = cls.__new__(cls)
        neuron.nin = whole(len(weights), "the number of weights")
        neuron.activation = check_activation(activation)
        neuron._init(weights, finite(b, "the bias"), fused, name, tag)
        return neuron

    def __call__(self, x: Sequence[Value | float]) -> Value:
        if type(x) is not list or len(x) != self.nin:
            x = _inputs(x, self.nin, f"this {self.nin}-input neuron")
        with scope(self.name):
            return self._forward(lifted(x), None)

    def _forward(self, x: Sequence[Value | float], where: str | None) -> Value:
        """The neuron's nodes; a fused neuron inside a layer tags its three nodes with
        `where` directly (cheaper than opening a scope per neuron, same tags)."""
        act = self._act
        if self.fused:
            d = Value.dot(self.w, x)
            z = d + self.b
            a = z if act is None else act(z)
            d.label, z.label, a.label = self._labels  # a linear neuron's z is its a
            if where is not None:
                d.scope = z.scope = a.scope = where
            return a
        if where is not None:  # the teaching form: many nodes, so a real scope
            with scope(self.name):
                return self._forward(x, None)
        w = self.w
        z = w[0] * x[0]
        for i in range(1, self.nin):
            z = z + w[i] * x[i]
        z = z + self.b
        a = z if act is None else act(z)
        z.label, a.label = self._labels[1:]
        return a

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for i, wi in enumerate(self.w):
            yield f"w.{i}", wi
        yield "b", self.b

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, {self.activation!r})"


class Layer(Module):
    """`nout` neurons reading the same inputs; calling it always returns a list."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "tanh",
        *,
        fused: bool = True,
        rng: random.Random | int | None = None,
        index: int | None = None,
    ) -> None:
        whole(nin, "nin"), whole(nout, "nout"), check_activation(activation)
        r = _rng(rng)
        self.neurons = [
            Neuron(nin, activation, fused=fused, rng=r, name=f"neuron {i}", tag=_tag(index, i))
            for i in range(1, nout + 1)
        ]
        self._setup(index)

    def _setup(self, index: int | None) -> None:
        self.index = index
        self.name = "layer" if index is None else f"layer {index}"
        self.nin = self.neurons[0].nin
        self.nout = len(self.neurons)
        self.activation = self.neurons[0].activation
        self._where: str | None = None
        self._tags: list[str] = []

    @classmethod
    def from_weights(
        cls,
        W: Sequence[Sequence[float]],
        b: Sequence[float],
        activation: str = "tanh",
        *,
        fused: bool = True,
        index: int | None = None,
    ) -> "Layer":
        """A layer with weight matrix `W` (one row per neuron) and bias vector `b`."""
        rows, bias = _matrix(W, "W"), _vector(b, "b")
        if len(rows) != len(bias):
            raise ValueError(f"W has {len(rows)} rows (neurons) but b has {len(bias)} entries")
        check_activation(activation)
        layer = cls.__new__(cls)
        layer.neurons = [
            Neuron.from_weights(row, bi, activation, fused=fused, name=f"neuron {i}", tag=_tag(index, i))
            for i, (row, bi) in enumerate(zip(rows, bias), 1)
        ]
        layer._setup(index)
        return layer

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        x = _inputs(x, self.nin, self.name)
        x = lifted(x)  # once, not per neuron
        with scope(self.name) as where:
            if where != self._where:  # the enclosing scope changed: new tags, made once
                self._where = where
                self._tags = [f"{where}/{n.name}" for n in self.neurons]
                for neuron, tag in zip(self.neurons, self._tags):  # drawings put weights in their neuron
                    for p in neuron.parameters():
                        p.scope = tag
            return [n._forward(x, tag) for n, tag in zip(self.neurons, self._tags)]

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for i, n in enumerate(self.neurons):
            for name, p in n.named_parameters():
                yield f"neurons.{i}.{name}", p

    def weights(self) -> tuple[list[list[float]], list[float], str]:
        """(W, b, activation) as plain floats: what `from_weights` takes back."""
        return [[w.data for w in n.w] for n in self.neurons], [n.b.data for n in self.neurons], self.activation

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, {self.activation!r})"


class MLP(Module):
    """A stack of dense layers: hidden layers use `activation`, the last one `output`.

    `MLP(2, [16, 16, 1])` has 2 inputs, two hidden layers of 16 and one output. The same
    `seed` gives the same initial weights in every process. Calling it returns a list.
    `schema` (an `nn.data.Schema`, saved in its model file) says what data it was
    trained on: None unless set, as `chainrule train` and `load_model` do.
    """

    schema = None

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = "tanh",
        output: str = "linear",
        *,
        fused: bool = True,
        seed: int | None = None,
    ) -> None:
        whole(nin, "nin")
        if isinstance(sizes, int) or not sizes:
            raise ValueError(f"sizes must be a non-empty list of layer widths, got {sizes!r}")
        sizes = [whole(s, "each layer size") for s in sizes]
        check_activation(activation), check_activation(output)
        r = _rng(seed)
        widths = [nin, *sizes]
        self.layers = [
            Layer(widths[k], widths[k + 1], output if k == len(sizes) - 1 else activation,
                  fused=fused, rng=r, index=k + 1)
            for k in range(len(sizes))
        ]
        self.fused = bool(fused)

    @classmethod
    def from_weights(
        cls, layers: Sequence[tuple[Sequence[Sequence[float]], Sequence[float], str]], *, fused: bool = True
    ) -> "MLP":
        """An MLP with exactly these layers: `[(W1, b1, "sigmoid"), (W2, b2, "sigmoid")]`."""
        if isinstance(layers, (str, bytes)) or not layers:
            raise ValueError("from_weights needs a non-empty list of (W, b, activation) triples")
        built = []
        for k, spec in enumerate(layers, 1):
            try:
                W, b, activation = spec
            except (TypeError, ValueError):
                raise ValueError(f"layer {k}: expected a (W, b, activation) triple, got {spec!r:.80}") from None
            try:
                built.append(Layer.from_weights(W, b, activation, fused=fused, index=k))
            except (ValueError, TypeError) as error:
                raise type(error)(f"layer {k}: {error}") from None
        for k in range(1, len(built)):
            if built[k].nin != built[k - 1].nout:
                raise ValueError(
                    f"layer {k + 1} takes {built[k].nin} inputs but layer {k} has {built[k - 1].nout} outputs"
                )
        model = cls.__new__(cls)
        model.layers = built
        model.fused = bool(fused)
        return model

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nout(self) -> int:
        return self.layers[-1].nout

    @property
    def sizes(self) -> list[int]:
        """The width of every layer, input excluded: `MLP(2, [16, 1]).sizes == [16, 1]`."""
        return [layer.nout for layer in self.layers]

    @property
    def activations(self) -> list[str]:
        return [layer.activation for layer in self.layers]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        x = _inputs(x, self.layers[0].nin, "the network")
        for layer in self.layers:
            x = layer(x)
        return x  # type: ignore[return-value]

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for k, layer in enumerate(self.layers):
            for name, p in layer.named_parameters():
                yield f"layers.{k}.{name}", p

    def weights(self) -> list[tuple[list[list[float]], list[float], str]]:
        """Every layer's (W, b, activation) as plain floats (for files and `nn.analytic`)."""
        return [layer.weights() for layer in self.layers]

    def __repr__(self) -> str:
        inner = ", ".join(f"{l.nout} {l.activation}" for l in self.layers)
        return f"MLP({self.nin} -> {inner})"


def _tag(index: int | None, neuron: int) -> str:
    return f"{neuron}" if index is None else f"{index}.{neuron}"


def _vector(v: object, what: str) -> list[float]:
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        raise TypeError(f"{what} must be a sequence of numbers, got {type(v).__name__}")
    out = [finite(x, f"{what}[{i}]") for i, x in enumerate(v)]  # type: ignore[union-attr]
    if not out:
        raise ValueError(f"{what} is empty")
    return out


def _matrix(m: object, what: str) -> list[list[float]]:
    if isinstance(m, (str, bytes)) or not hasattr(m, "__iter__"):
        raise TypeError(f"{what} must be a list of rows, got {type(m).__name__}")
    rows = [_vector(row, f"{what}[{i}]") for i, row in enumerate(m)]  # type: ignore[union-attr]
    if not rows:
        raise ValueError(f"{what} has no rows")
    if any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"{what} is ragged: row lengths {[len(r) for r in rows]}")
    return rows
