"""The benchmark workloads: data, network shape, initial weights, loss and learning rate.

Every approach in `benchmarks.approaches` trains exactly this: the same data, the same
initial weights (drawn here once, with numpy, and handed to every approach), the same
loss and the same schedule, so their loss trajectories must agree.

- moons-100 / moons-1000: two-moons points (noise 0.1, fixed seed, labels +-1), MLP
  2-16-16-1 (relu hidden, linear output), loss = mean(relu(1 - y*score)) + 1e-4*sum(p*p).
- digits-sized: 500 inputs of 64 features (synthetic, shaped like the 8x8 digits), MLP
  64-30-10 with sigmoid on both layers, loss = mean over inputs of sum((out - t)^2).

Full-batch SGD with lr = 1.0 - 0.9*k/steps at step k.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Workload", "WORKLOADS", "make_moons", "make_digits_sized", "learning_rate"]

REG = 1e-4  # weight of the L2 term in the hinge loss


@dataclass(frozen=True)
class Workload:
    """One benchmark problem. `params` is [(W, b), ...] with W of shape (nout, nin)."""

    name: str
    X: np.ndarray  # (n, nin)
    Y: np.ndarray  # (n,) labels +-1 for "hinge", (n, nout) targets for "squared"
    sizes: tuple[int, ...]  # (nin, hidden..., nout)
    hidden: str  # activation of hidden layers: "relu" or "sigmoid"
    output: str  # activation of the last layer: "linear" or "sigmoid"
    loss: str  # "hinge" (+ L2) or "squared"
    params: tuple[tuple[np.ndarray, np.ndarray], ...]
    steps: int

    @property
    def n(self) -> int:
        return len(self.X)

    def activations(self) -> list[str]:
        return [self.hidden] * (len(self.sizes) - 2) + [self.output]

    def n_params(self) -> int:
        return sum(W.size + b.size for W, b in self.params)


def learning_rate(k: int, steps: int) -> float:
    """The issue's schedule: 1.0 at the first step, falling linearly towards 0.1."""
    return 1.0 - 0.9 * k / steps


def make_moons(n: int, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's make_moons), labels -1 and +1."""
    rng = np.random.default_rng(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)]),
    ])
    y = np.hstack([-np.ones(n_out), np.ones(n_in)])
    X += rng.normal(scale=noise, size=X.shape)
    perm = rng.permutation(n)
    return X[perm], y[perm]


def make_digits_sized(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n inputs shaped like the 8x8 digits (64 pixels in [0, 1]) with one-hot targets."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    prototypes = rng.uniform(0, 1, size=(10, 64))
    X = np.clip(prototypes[labels] + rng.normal(scale=0.2, size=(n, 64)), 0.0, 1.0)
    return X, np.eye(10)[labels]


def init_params(sizes: tuple[int, ...], seed: int = 1) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Uniform(-1, 1)/sqrt(nin) weights and zero biases, one (W, b) per layer."""
    rng = np.random.default_rng(seed)
    return tuple(
        (rng.uniform(-1, 1, size=(nout, nin)) / np.sqrt(nin), np.zeros(nout))
        for nin, nout in zip(sizes[:-1], sizes[1:])
    )


def moons(n: int, steps: int = 100) -> Workload:
    X, y = make_moons(n)
    sizes = (2, 16, 16, 1)
    return Workload(f"moons-{n}", X, y, sizes, "relu", "linear", "hinge", init_params(sizes), steps)


def digits_sized(n: int = 500, steps: int = 100) -> Workload:
    X, T = make_digits_sized(n)
    sizes = (64, 30, 10)
    return Workload("digits-sized", X, T, sizes, "sigmoid", "sigmoid", "squared", init_params(sizes), steps)


WORKLOADS = {"moons-100": lambda: moons(100), "moons-1000": lambda: moons(1000), "digits-sized": digits_sized}
