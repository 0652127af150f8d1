"""Independent references for the oracle tests: exact decimal arithmetic and raw-Value layers.

The documents' printed numbers are checked against two things that do not use the engine's
op table: the same formula evaluated in 50-digit decimal arithmetic (`decimal`, standard
library), and the printed value itself at its printed precision.
"""
from __future__ import annotations

import math
from decimal import Decimal, localcontext
from typing import Sequence

from engine import Value

DIGITS = 50


def dec(x: float | int | str) -> Decimal:
    """The exact value of a float (or a decimal literal given as a string)."""
    return Decimal(x)


def exp(x: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = DIGITS
        return (+x).exp()


def sigmoid(x: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = DIGITS
        return 1 / (1 + exp(-x))


def tanh(x: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = DIGITS
        e = exp(2 * x)
        return (e - 1) / (e + 1)


def cos(x: Decimal) -> Decimal:
    """Taylor series; plenty for the small arguments of the documents' examples."""
    with localcontext() as ctx:
        ctx.prec = DIGITS + 5
        term, total, k = Decimal(1), Decimal(1), 0
        while abs(term) > Decimal(10) ** -(DIGITS + 2):
            k += 2
            term = -term * x * x / (k * (k - 1))
            total += term
    return +total


def ulps(a: float, exact: Decimal | float) -> float:
    """How many units in the last place `a` is from `exact` (the distance, in ulps of a)."""
    return float(abs(dec(a) - dec(exact))) / math.ulp(a)


def printed(x: float | Decimal, places: int) -> float:
    """`x` as a document prints it with `places` decimals (round half to even, like numpy)."""
    return round(float(x), places)


def dense(
    W: Sequence[Sequence[Value | float]],
    b: Sequence[Value | float],
    x: Sequence[Value | float],
    activation: str | None,
    *,
    fused: bool = False,
) -> tuple[list[Value], list[Value]]:
    """One fully connected layer from raw Values: (weighted sums z, activations).

    `fused=False` builds each z as the documents write it, w_1*x_1 + w_2*x_2 + ... + b,
    one binary node per operation; `fused=True` uses one `Value.dot` node plus the bias.
    """
    zs, outs = [], []
    for row, bias in zip(W, b):
        if fused:
            z = Value.dot(row, x) + bias
        else:
            acc = row[0] * x[0] if isinstance(row[0], Value) else Value(row[0]) * x[0]
            for w, xi in zip(row[1:], x[1:]):
                acc = acc + w * xi
            z = acc + bias
        zs.append(z)
        outs.append(getattr(z, activation)() if activation else z)
    return zs, outs


def leaves(matrix: Sequence[Sequence[float]], name: str) -> list[list[Value]]:
    """A matrix of labelled leaf Values, `name[i,j]` (1-based like the documents)."""
    return [
        [Value(w, label=f"{name}[{i + 1},{j + 1}]") for j, w in enumerate(row)]
        for i, row in enumerate(matrix)
    ]


def leaf_vector(vector: Sequence[float], name: str) -> list[Value]:
    return [Value(v, label=f"{name}[{i + 1}]") for i, v in enumerate(vector)]
