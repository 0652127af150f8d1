"""What per-thread context state costs: the old global object against the ContextVar.

Every Value an op makes reads the context state (record the graph? which scope?). The
engine used to read two attributes of one process-wide object; it now reads one
immutable State from a ContextVar (`engine.context.state()`, one C call) and two of its
attributes. This puts the old read back into the engine for a moment (a copy of the old
`engine.value._node`, swapped in) and times both in the same run, alternating rounds:

- one op (`a * b`), the path every Value of a training step takes;
- an eager training step on moons-100 (the workload of `python -m benchmarks`), fused
  and binary.

    .venv/bin/python -m benchmarks.context_state
"""
from __future__ import annotations

import statistics
import sys
import time
from typing import Callable

import engine.value
from engine.value import Value, _non_finite

from .approaches import EagerBinary, EagerFused
from .workloads import WORKLOADS

ROUNDS = 7


class _GlobalState:
    """The old engine/context.py STATE: one mutable object shared by every thread."""

    __slots__ = ("grad_enabled", "scope", "anomaly")

    def __init__(self) -> None:
        self.grad_enabled, self.scope, self.anomaly = True, None, False


OLD_STATE = _GlobalState()
_new = Value.__new__


def old_node(op, data, parents):
    """engine.value._node as it was, reading the global object (body otherwise unchanged)."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    if OLD_STATE.grad_enabled:
        v._op = op
        v._parents = parents
    else:
        v._op = None
        v._parents = ()
    v.label = None
    v.scope = OLD_STATE.scope
    if data - data != 0.0:  # inf or NaN
        _non_finite(op, parents, data)
    return v


NEW_NODE = engine.value._node


def _timed(node: Callable, work: Callable[[], None]) -> float:
    """CPU seconds of `work` with `node` as the engine's node maker."""
    engine.value._node = node
    try:
        started = time.process_time()
        work()
        return time.process_time() - started
    finally:
        engine.value._node = NEW_NODE


def compare(work: Callable[[], None], rounds: int = ROUNDS) -> tuple[float, float]:
    """Median CPU seconds of `work` with the old and the new read, rounds alternating."""
    old, new = [], []
    for _ in range(rounds):
        old.append(_timed(old_node, work))
        new.append(_timed(NEW_NODE, work))
    return statistics.median(old), statistics.median(new)


def ops_work(n: int = 200_000) -> Callable[[], None]:
    a, b = Value(1.5), Value(-0.5)

    def work() -> None:
        for _ in range(n):
            a * b

    work.n = n
    return work


def step_work(approach, steps: int) -> Callable[[], None]:
    trainer = approach(WORKLOADS["moons-100"]())

    def work() -> None:
        for k in range(steps):
            trainer.step(k)

    work.n = steps
    return work


def main() -> int:
    print(f"{sys.version.split()[0]}, median of {ROUNDS} alternating rounds (CPU time)")
    print(f"{'workload':34} {'old':>10} {'new':>10} {'new/old':>8}")
    rows = [("one op, a * b", ops_work(), 1e9, "ns"),
            ("eager step, fused (moons-100)", step_work(EagerFused, 5), 1e3, "ms"),
            ("eager step, binary (moons-100)", step_work(EagerBinary, 2), 1e3, "ms")]
    for name, work, scale, unit in rows:
        work()  # warm up
        old, new = compare(work)
        per = lambda t: f"{t / work.n * scale:.1f} {unit}"  # noqa: E731
        print(f"{name:34} {per(old):>10} {per(new):>10} {new / old:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
