"""Optimisers: small classes that move `parameters()` against their gradients.

Usage per step: `opt.zero_grad()`, build the loss, `loss.backward()`, `opt.step()`.
A step first checks every gradient; if one is NaN or infinite it raises
FloatingPointError naming the parameter and changes nothing.
"""
from __future__ import annotations

import math
from typing import Iterable

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

    def _check_grads(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad
            if g - g != 0.0:
                raise FloatingPointError(
                    f"the gradient of parameter {p.label or i} is {g!r}; no parameter was changed"
                )

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimiser):
    """Gradient descent, p -= lr * v with v = momentum * v + grad (plain when momentum=0)."""

    def __init__(self, params: Iterable[Value], lr: float = 0.1, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _positive(momentum, "momentum", allow_zero=True)
        if self.momentum >= 1.0:
            raise ValueError(f"momentum must be below 1, got {self.momentum!r}")
        self.velocity = [0.0] * len(self.params)

    def step(self) -> None:
        self._check_grads()
        lr, mu = self.lr, self.momentum
        if mu == 0.0:
            for p in self.params:
                p.data -= lr * p.grad
        else:
            v = self.velocity
            for i, p in enumerate(self.params):
                v[i] = mu * v[i] + p.grad
                p.data -= lr * v[i]
        self.steps += 1

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
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def step(self) -> None:
        self._check_grads()
        self.steps += 1
        b1, b2 = self.betas
        c1 = 1.0 - b1**self.steps
        c2 = 1.0 - b2**self.steps
        lr, eps, m, v = self.lr, self.eps, self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p.data -= lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"


BY_NAME: dict[str, type[Optimiser]] = {"sgd": SGD, "adam": Adam}
"""The optimisers by the names the command line and the playground use."""
