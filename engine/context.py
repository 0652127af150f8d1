"""The engine's only mutable global state, each piece behind a documented context manager.

- `no_grad()`: results are plain numbers in Value clothing: no parents, no op, no graph.
  Use it for evaluation and for parameter updates.
- `scope(name)`: Values made inside record where they were made ("layer 1/neuron 2"), so
  drawings can group nodes without the engine knowing what a neuron is. Scopes nest.
- `detect_anomaly()`: the first op whose result is NaN or infinite raises, naming the op
  and its operands. Off by default because it costs a check per op.
- `gc_paused()`: Python's cyclic garbage collector stays off inside (speed, see below).

The state is per thread only in the sense that Python's GIL makes each switch atomic; the
managers restore the previous state on exit, also when an exception passes through.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

__all__ = ["no_grad", "scope", "detect_anomaly", "gc_paused", "grad_enabled", "current_scope"]


class _State:
    __slots__ = ("grad_enabled", "scope", "anomaly")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope: str | None = None
        self.anomaly = False


STATE = _State()


@contextmanager
def no_grad() -> Iterator[None]:
    """Compute without recording a graph (evaluation, optimiser steps)."""
    previous, STATE.grad_enabled = STATE.grad_enabled, False
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextmanager
def scope(name: str) -> Iterator[str]:
    """Tag every Value made inside with `name`, nested under any enclosing scope."""
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"a scope name must be a non-empty string without '/', got {name!r}")
    previous = STATE.scope
    STATE.scope = name if previous is None else f"{previous}/{name}"
    try:
        yield STATE.scope
    finally:
        STATE.scope = previous


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise at the first op (forward or backward) that produces NaN or infinity."""
    previous, STATE.anomaly = STATE.anomaly, True
    try:
        yield
    finally:
        STATE.anomaly = previous


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, e.g. around one training step.

    Why it is safe: a graph of Values holds no reference cycles (no closures, no links
    from parents to children), so reference counting frees it the moment its output is
    dropped; the cyclic collector can only ever find nothing in it. Why it pays: the
    collector starts every few hundred allocations and, as a step makes tens of
    thousands of nodes, rescans the ones still alive: half the time of a training step
    goes there. Cycles made elsewhere inside the block are collected after it, as usual.
    Drop the step's graph inside the block: a graph still alive at the exit is scanned
    once more by the collector's next run. Nests; restores the previous state on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def grad_enabled() -> bool:
    """Whether ops record the graph right now (False inside `no_grad`)."""
    return STATE.grad_enabled


def current_scope() -> str | None:
    """The scope new Values are tagged with, or None outside any scope."""
    return STATE.scope
