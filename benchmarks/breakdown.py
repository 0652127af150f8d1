"""Where a replayed training step's time goes: a profile of `fit`'s step, piece by piece.

    python -m benchmarks.breakdown digits     # or moons-100, moons-300, moons-1000, moons-3000

The step `fit` runs on the replay, rebuilt from the public API: one example's loss
graph compiled with its inputs and targets as data, then per step `forward(columns=,
leaves=)`, `gradient()`, the optimiser's `update` over the parameter array and the
loss's scorer over the outputs. Each piece is timed alone (the best of several rounds,
so the figures are the machine's floor, not its noise), and so is every kernel, forward
and backward. `benchmarks/run.py` puts this table for each workload in RESULTS.md.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys
import timeit

import numpy as np

from .workloads import FIT_WORKLOADS, Workload

__all__ = ["breakdown", "table", "demo_table", "blas_table"]


def _best(work, number: int = 20, rounds: int = 7) -> float:
    """Seconds per call of `work`: the best of `rounds` rounds of `number` calls."""
    return min(timeit.repeat(work, number=number, repeat=rounds)) / number


def breakdown(w: Workload) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """([(piece of the step, seconds)], [(kernel, seconds)]) for fit's replayed step."""
    from engine import Value, compile
    from nn import MLP, losses, optim

    model = MLP.from_weights([(W.tolist(), b.tolist(), act) for (W, b), act in zip(w.params, w.activations())])
    loss = losses.get("hinge" if w.loss == "hinge" else "sse")
    targets = [loss.encode(y.tolist() if np.ndim(y) else float(y), model.nout) for y in w.Y]
    xs = [Value(0.0, label=f"x{j}") for j in range(w.X.shape[1])]
    ts = [Value(0.0, label=f"y{j}") for j in range(len(targets[0]))]
    outputs = model(xs)
    root = loss.forward(outputs, ts)
    params = model.parameters()
    weights = [p for name, p in model.named_parameters() if not name.endswith(".b")]
    if w.loss == "hinge":
        root = root + losses.l2_penalty(weights, w.reg)
    compiled = compile(root, wrt=params, data=xs + ts, keep=outputs)
    columns = np.ascontiguousarray(np.hstack([w.X, np.array(targets)]).T)
    numbers = np.array([p.data for p in params])
    opt = optim.SGD(params, lr=w.lr)
    scorer = loss.scorer(targets)
    target_columns = columns[len(xs):]

    compiled.forward(columns=columns, leaves=numbers)
    compiled.gradient(1.0 / len(w.X))
    a = compiled._last[0]  # the arrays of this batch size, to time kernels by themselves

    def kernels_forward() -> None:
        for g in compiled.groups:
            g.forward(a)

    def kernels_backward() -> None:
        for g in compiled.backward_groups:
            g.backward(a)

    pieces = [
        ("forward (feed, kernels, checks)", _best(lambda: compiled.forward(columns=columns, leaves=numbers))),
        ("  of which its kernels, in order", _best(kernels_forward)),
        ("gradient (kernels, checks)", _best(lambda: compiled.gradient(1.0 / len(w.X)))),
        ("  of which its kernels, in order", _best(kernels_backward)),
        ("optimiser update (array)", _best(lambda: opt.update(numbers.copy(), numbers))),
        ("outputs and accuracy", _best(lambda: scorer(compiled.values_of(outputs), target_columns)
                                       if scorer is not None else compiled.values_of(outputs))),
    ]
    kernels = [(f"forward {type(g).__name__} {getattr(g, 'op', None) and g.op.name} x{len(g)}", _best(lambda g=g: g.forward(a)))
               for g in compiled.groups]
    kernels += [(f"backward {type(g).__name__} {getattr(g, 'op', None) and g.op.name} x{len(g)}",
                 _best(lambda g=g: g.backward(a))) for g in compiled.backward_groups]
    return pieces, kernels


def table(w: Workload, top: int = 4) -> str:
    """A markdown table of the step's pieces and its `top` most costly kernels, in µs.
    A kernel alone finds its inputs in the cache; in order, it may not."""
    pieces, kernels = breakdown(w)
    lines = [f"| {w.name}: piece of a replayed step | µs |", "|---|---:|"]
    lines += [f"| {what} | {1e6 * s:,.1f} |" for what, s in pieces]
    lines += [f"| one kernel alone: {what} | {1e6 * s:,.1f} |" for what, s in sorted(kernels, key=lambda k: -k[1])[:top]]
    return "\n".join(lines)


def demo_table() -> str:
    """Workload A's step, the replay under micrograd's demo loop as written: the parts
    that are the loop's own (reading and writing parameter Values, zero_grad, the update
    in Python) beside the replay's kernels, in µs."""
    from .approaches import DemoReplay
    from .workloads import moons

    demo = DemoReplay(moons(100))
    compiled, params = demo.compiled, demo.params
    demo.step(0)
    a = compiled._last[0]

    def update() -> None:
        for p in params:
            p.data -= 0.5 * p.grad

    def kernels() -> None:
        for g in compiled.groups:
            g.forward(a)
        for g in compiled.backward_groups:
            g.backward(a)

    rows = [
        ("the whole step, as the loop is written", _best(lambda: demo.step(5))),
        (f"forward(): reads the {len(compiled.read_leaves)} leaf Values (parameters, inputs, labels) and replays",
         _best(compiled.forward)),
        (f"backward(): replays and adds into the {len(compiled.targets)} parameters' .grad", _best(compiled.backward)),
        ("  the replay's kernels, forward and back, in order", _best(kernels)),
        ("model.zero_grad(), the loop's", _best(demo.model.zero_grad)),
        ("p.data -= lr * p.grad for each parameter, the loop's", _best(update)),
    ]
    lines = ["| the demo loop over the replay: piece of a step | µs |", "|---|---:|"]
    return "\n".join(lines + [f"| {what} | {1e6 * s:,.1f} |" for what, s in rows])


def blas_table() -> str:
    """digits' two big products in numpy (its BLAS) and in PyTorch (one thread), in µs."""
    rng = np.random.default_rng(0)
    W, X, G = rng.normal(size=(32, 64)), rng.normal(size=(64, 1797)), rng.normal(size=(32, 1797))
    lines = ["| digits' layer product, float64, one thread | numpy µs | PyTorch µs |", "|---|---:|---:|"]
    try:
        import torch
    except ImportError:
        torch = None
    else:
        torch.set_num_threads(1)
    for what, f in (("forward W @ X (32x64 by 64x1797)", lambda m, w, x, g: m.matmul(w, x)),
                    ("backward G @ X.T (32x1797 by 1797x64)", lambda m, w, x, g: m.matmul(g, x.T))):
        numpy_s = _best(lambda: f(np, W, X, G), 50)
        if torch is not None:
            tw, tx, tg = map(torch.from_numpy, (W, X, G))
            torch_s = f"{1e6 * _best(lambda: f(torch, tw, tx, tg), 50):,.1f}"
        else:
            torch_s = "-"
        lines.append(f"| {what} | {1e6 * numpy_s:,.1f} | {torch_s} |")
    return "\n".join(lines)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["moons-100", "digits"]:
        print(table(FIT_WORKLOADS[name]()))
        print()
    print(demo_table())
    print()
    print(blas_table())
