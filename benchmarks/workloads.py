"""The benchmark workloads: data, network shape, initial weights, loss and learning rate.

Every approach in `benchmarks.approaches` trains exactly this: the same data, the same
initial weights (drawn here once, with numpy, and handed to every approach), the same
loss and the same schedule, so their loss trajectories must agree.

Workload A (`demo`): micrograd's demo.ipynb on 100 two-moons points (noise 0.1, fixed
seed, labels +-1), MLP 2-16-16-1 (relu hidden, linear output), loss = mean(relu(1 -
y*score)) + 1e-4*sum(p*p) over every parameter, full-batch SGD with lr = 1.0 -
0.9*k/steps at step k.

Workload B (`fit`): `nn.fit` as a user calls it, full batch, constant lr:
- moons-N (N = 100, 300, 1,000, 3,000): MLP 2-16-16-1 as above, loss = mean hinge +
  1e-4 * sum(w*w) over the weights (fit's `l2`, biases excluded), lr 0.1;
- digits: the 1,797 8x8 digits of scikit-learn (pixels / 16), MLP 64-32-10 with sigmoid
  on both layers, loss = mean over inputs of sum((out - t)^2) (fit's "sse"), lr 0.5.
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
    reg: float = REG  # weight of the L2 term (hinge only)
    reg_biases: bool = True  # does it cover the biases (micrograd's demo) or not (fit's l2)?
    lr: float | None = None  # constant learning rate; None: the demo's schedule

    def rate(self, k: int) -> float:
        return learning_rate(k, self.steps) if self.lr is None else self.lr

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


def fit_moons(n: int, steps: int = 100) -> Workload:
    X, y = make_moons(n)
    sizes = (2, 16, 16, 1)
    return Workload(f"moons-{n}", X, y, sizes, "relu", "linear", "hinge", init_params(sizes), steps,
                    reg_biases=False, lr=0.1)


def fit_digits(steps: int = 100) -> Workload:
    """The full 8x8 digits set (scikit-learn's copy of the UCI data), one-hot targets."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    sizes = (64, 32, 10)
    return Workload("digits", digits.data / 16.0, np.eye(10)[digits.target], sizes, "sigmoid", "sigmoid",
                    "squared", init_params(sizes), steps, reg=0.0, lr=0.5)


WORKLOADS = {"moons-100": lambda: moons(100), "moons-1000": lambda: moons(1000), "digits-sized": digits_sized}
"""The benchmark's own idiom (fused nodes), kept for benchmarks.context_state."""
FIT_WORKLOADS = {f"moons-{n}": (lambda n=n: fit_moons(n)) for n in (100, 300, 1000, 3000)}
FIT_WORKLOADS["digits"] = fit_digits
