"""Optimisers: small classes that move `parameters()` against their gradients.

Usage per step: `opt.zero_grad()`, build the loss, `loss.backward()`, `opt.step()`.
A step first checks every gradient; if one is NaN or infinite it raises
FloatingPointError naming the parameter and changes nothing.

Each rule is written once, over arrays (`update`): `step()` reads the parameters'
numbers and gradients from their Values, updates, and writes them back; `fit` on the
compiled replay calls `update` on the replay's arrays directly, so a step of a network
with thousands of parameters does not go through each parameter's Value. numpy's + - *
/ and sqrt round as Python's floats do, so both give the same numbers, bit for bit.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from engine import Value
from engine.value import as_float

__all__ = ["Optimiser", "SGD", "Adam", "BY_NAME"]


def _positive(x: object, what: str, allow_zero: bool = False) -> float:
    v = as_float(x, what)
    if not math.isfinite(v) or v < 0.0 or (v == 0.0 and not allow_zero):
        raise ValueError(f"{what} must be a finite number {'>=' if allow_zero else '>'} 0, got {v!r}")
    return v


class Optimiser:
    """Holds the parameter list; `zero_grad` clears their grads, `step` updates them."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("an optimiser needs at least one parameter (got an empty list)")
        for p in self.params:
            if not isinstance(p, Value):
                raise TypeError(f"an optimiser takes Values (model.parameters()), got {type(p).__name__}")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("the same parameter appears twice; each would be updated twice")
        self.lr = _positive(lr, "lr")
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Move every parameter against its `.grad` (all checked first)."""
        grads = np.array([p.grad for p in self.params], dtype=float)
        data = self.update(np.array([p.data for p in self.params], dtype=float), grads)
        for p, x in zip(self.params, data.tolist()):
            p.data = x

    def update(self, data: np.ndarray, grads: np.ndarray) -> np.ndarray:
        """One step of the rule over arrays (one entry per parameter, in `params`' order):
        the new numbers. Raises FloatingPointError, changing nothing, if a gradient is
        not finite."""
        bad = np.flatnonzero(~np.isfinite(grads))
        if bad.size:
            i = int(bad[0])
            raise FloatingPointError(
                f"the gradient of parameter {self.params[i].label or i} is {float(grads[i])!r}; no parameter was changed")
        self.steps += 1
        return self._rule(data, grads)

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class SGD(Optimiser):
    """Gradient descent, p -= lr * v with v = momentum * v + grad (plain when momentum=0)."""

    def __init__(self, params: Iterable[Value], lr: float = 0.1, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _positive(momentum, "momentum", allow_zero=True)
        if self.momentum >= 1.0:
            raise ValueError(f"momentum must be below 1, got {self.momentum!r}")
        self.velocity = np.zeros(len(self.params))

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> np.ndarray:
        if self.momentum == 0.0:
            return data - self.lr * grads
        self.velocity = self.momentum * self.velocity + grads
        return data - self.lr * self.velocity

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum})"


class Adam(Optimiser):
    """Adam (Kingma & Ba): per-parameter steps scaled by running moments of the grads."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        try:
            b1, b2 = (as_float(b, "beta") for b in betas)
        except (TypeError, ValueError):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}") from None
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas!r}")
        self.betas = (b1, b2)
        self.eps = _positive(eps, "eps")
        self.m = np.zeros(len(self.params))
        self.v = np.zeros(len(self.params))

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> np.ndarray:
        b1, b2 = self.betas
        c1 = 1.0 - b1**self.steps
        c2 = 1.0 - b2**self.steps
        self.m = b1 * self.m + (1.0 - b1) * grads
        self.v = b2 * self.v + (1.0 - b2) * grads * grads
        return data - self.lr * (self.m / c1) / (np.sqrt(self.v / c2) + self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"


BY_NAME: dict[str, type[Optimiser]] = {"sgd": SGD, "adam": Adam}
"""The optimisers by the names the command line and the playground use."""
