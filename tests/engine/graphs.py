"""Graphs several test modules build: the documents' neuron and a small MLP of Values."""
from __future__ import annotations

from engine import Value


def neuron(w_label: str = "w") -> tuple[Value, dict[str, Value]]:
    """Document 000's single tanh neuron, C = (tanh(w*x + b) - y)^2 at w=2.3, b=-1.2, x=0,
    y=1, labelled in the documents' notation. Returns C and every named node."""
    w, b = Value(2.3, label=w_label), Value(-1.2, label="b")
    x, y = Value(0.0, label="x"), Value(1.0, label="y")
    z = w * x + b
    z.label = "z"
    a = z.tanh()
    a.label = "a"
    C = (a - y) ** 2
    C.label = "C"
    return C, dict(w=w, b=b, x=x, y=y, z=z, a=a, C=C)


def mlp_loss(params, sizes, activations, x, y) -> Value:
    """Squared error of a dense network built from Values (a fused dot per neuron), with
    weights and biases taken in order from `params`; an activation of None is linear."""
    it = iter(params)
    a = list(x)
    for (nin, nout), act in zip(zip(sizes, sizes[1:]), activations):
        layer = []
        for _ in range(nout):
            w = [next(it) for _ in range(nin)]
            z = Value.dot(w, a) + next(it)
            layer.append(getattr(z, act)() if act else z)
        a = layer
    return Value.sum([(ai - yi) ** 2 for ai, yi in zip(a, y)])
