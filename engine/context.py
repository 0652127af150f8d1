"""The engine's context state, each piece behind a documented context manager.

- `no_grad()`: results are plain numbers in Value clothing: no parents, no op, no graph.
  Use it for evaluation and for parameter updates.
- `scope(name)`: Values made inside record where they were made ("layer 1/neuron 2"), so
  drawings can group nodes without the engine knowing what a neuron is. Scopes nest.
- `detect_anomaly()`: the first op whose result is NaN or infinite raises, naming the op
  and its operands. Off by default because it costs a check per op.
- `gc_paused()`: Python's cyclic garbage collector stays off inside (speed, see below).

`no_grad`, `scope` and `detect_anomaly` are per thread and per asyncio task (like
PyTorch's grad mode): an evaluator in `no_grad` never switches recording off in the
thread that trains. The state lives in one `contextvars.ContextVar` holding a small
immutable `State`; each manager sets a new one and resets its own token on exit, also
when an exception passes through. A new thread starts from the defaults (recording on,
no scope, no anomaly checks), whatever the thread that started it was doing; an asyncio
task starts from a copy of its creator's state. `gc_paused` is the exception: the
collector is one per process (see there).
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

__all__ = [
    "State", "state", "no_grad", "scope", "detect_anomaly", "gc_paused",
]


class State:
    """What ops read when they make a Value: record the graph? which scope? check anomalies?

    Immutable: a context manager installs a new State and never changes one in place, so
    a State read once stays true for the whole op that read it.
    """

    __slots__ = ("grad_enabled", "scope", "anomaly", "derivative")

    def __init__(self, grad_enabled: bool, scope: str | None, anomaly: bool,
                 derivative: bool = False) -> None:
        set_field = object.__setattr__
        set_field(self, "grad_enabled", grad_enabled)
        set_field(self, "scope", scope)
        set_field(self, "anomaly", anomaly)
        set_field(self, "derivative", derivative)  # building gradients as Values: see below

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a context State is immutable; use no_grad, scope or detect_anomaly")

    def __repr__(self) -> str:
        return (f"State(grad_enabled={self.grad_enabled}, scope={self.scope!r}, "
                f"anomaly={self.anomaly}, derivative={self.derivative})")


_STATE: ContextVar[State] = ContextVar("chainrule_state", default=State(True, None, False))

state = _STATE.get
"""The State of the running thread or task (one C call: the hot path reads it once per Value)."""


class _Change:
    """A block that runs under a changed State and puts the old one back on exit,
    whatever order blocks in other threads or tasks exit in (a ContextVar token). A
    class, not a generator: `scope` is entered once per neuron per example."""

    __slots__ = ("_token",)

    def _changed(self, now: State) -> State:
        raise NotImplementedError

    def __enter__(self) -> None:
        self._token = _STATE.set(self._changed(state()))

    def __exit__(self, *exc: object) -> None:
        _STATE.reset(self._token)


class no_grad(_Change):
    """Compute without recording a graph (evaluation, optimiser steps)."""

    __slots__ = ()

    def _changed(self, now: State) -> State:
        return State(False, now.scope, now.anomaly, now.derivative)


class scope(_Change):
    """Tag every Value made inside with `name`, nested under any enclosing scope; the
    block gets the full scope ("layer 1/neuron 2")."""

    __slots__ = ("name", "_where")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"a scope name must be a non-empty string without '/', got {name!r}")
        self.name = name

    def _changed(self, now: State) -> State:
        self._where = self.name if now.scope is None else f"{now.scope}/{self.name}"
        return State(now.grad_enabled, self._where, now.anomaly, now.derivative)

    def __enter__(self) -> str:
        super().__enter__()
        return self._where


class detect_anomaly(_Change):
    """Raise at the first op (forward or backward) that produces NaN or infinity."""

    __slots__ = ()

    def _changed(self, now: State) -> State:
        return State(now.grad_enabled, now.scope, True, now.derivative)


class derivative_graph(_Change):
    """Inside, Values are gradients being built (`create_graph`, `grad`, `hessian`): a
    result that overflows to infinity is a value, as it is in float backward (`1/x` at
    x = 1e-300 has the gradient -inf), not an OverflowError naming an op the user never
    wrote. Anomaly checks still apply."""

    __slots__ = ()

    def _changed(self, now: State) -> State:
        return State(now.grad_enabled, now.scope, now.anomaly, True)


_gc_lock = threading.Lock()
_gc_pauses = 0  # gc_paused blocks open in the whole process
_gc_was_enabled = False  # the collector's state when the first of them opened


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
    once more by the collector's next run.

    The collector is one per process, so this is the one piece of state shared by all
    threads: blocks are counted under a lock and the collector comes back (if it was on
    when the first block opened) only when the last open block, in any thread, exits.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
