"""Context state is per thread and per asyncio task; gc_paused is safe across threads.

Real threads, ordered with events and bounded by timeouts, so a regression fails in
seconds instead of hanging.
"""
from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from engine import Value, detect_anomaly, gc_paused, no_grad, scope
from engine.context import state
from tests.threads import TIMEOUT, run_threads, wait

# Each manager, how to read the state it sets, and the value inside and outside it.
MANAGERS = {
    "no_grad": (no_grad, lambda: state().grad_enabled, False, True),
    "scope": (lambda: scope("worker"), lambda: state().scope, "worker", None),
    "detect_anomaly": (detect_anomaly, lambda: state().anomaly, True, False),
}


@pytest.mark.parametrize("name", MANAGERS)
def test_blocks_in_two_threads_exiting_out_of_order_leave_the_default(name):
    manager, read, inside, outside = MANAGERS[name]
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def first():  # enters first, exits first
        with manager():
            a_in.set()
            wait(b_in)
            seen["first inside"] = read()
        a_out.set()
        seen["first after"] = read()

    def second():  # enters second, exits last
        wait(a_in)
        with manager():
            b_in.set()
            wait(a_out)
            seen["second inside"] = read()
        seen["second after"] = read()

    run_threads(first, second)
    assert seen == {"first inside": inside, "first after": outside,
                    "second inside": inside, "second after": outside}
    assert read() == outside
    fresh: list[object] = []
    run_threads(lambda: fresh.append(read()))
    assert fresh == [outside]


@pytest.mark.parametrize("name", MANAGERS)
def test_a_block_in_another_thread_does_not_reach_this_one(name):
    manager, read, inside, outside = MANAGERS[name]
    entered, release = threading.Event(), threading.Event()

    def other():
        with manager():
            entered.set()
            wait(release)

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    try:
        wait(entered)
        here = read()
        x = Value(2.0)
        y = x * x
    finally:
        release.set()
        thread.join(TIMEOUT)
    assert here == outside
    assert y.parents == (x, x) and y.scope is None


def test_scopes_in_threads_tag_only_their_own_values():
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    made: dict[str, list[str | None]] = {}

    def worker(name: str):
        def run():
            with scope(name):
                scopes = []
                for i in range(200):
                    if i % 50 == 0:  # both threads inside their scope, side by side
                        barrier.wait()
                    scopes.append((Value(1.0) * 2.0).scope)
                made[name] = scopes
        return run

    run_threads(worker("a"), worker("b"))
    assert set(made["a"]) == {"a"} and set(made["b"]) == {"b"}
    assert state().scope is None


def test_asyncio_tasks_each_have_their_own_state():
    async def evaluating(inside: asyncio.Event, computed: asyncio.Event):
        with no_grad(), scope("eval"):
            inside.set()
            await asyncio.wait_for(computed.wait(), TIMEOUT)  # suspended inside the blocks
            y = Value(3.0) * 2.0
        return y.is_leaf, y.scope

    async def training(inside: asyncio.Event, computed: asyncio.Event):
        await asyncio.wait_for(inside.wait(), TIMEOUT)
        with scope("train"):
            x = Value(3.0)
            y = x * x
        computed.set()
        return y.parents == (x, x), y.scope

    async def main():
        inside, computed = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(evaluating(inside, computed), training(inside, computed))

    assert asyncio.run(main()) == [(True, "eval"), (True, "train")]
    assert state().grad_enabled and state().scope is None


@pytest.mark.parametrize("last", ["first", "second"])
def test_gc_paused_in_two_threads_restores_the_collector_after_the_last_block(last):
    assert gc.isenabled()
    a_in, b_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first():
        with gc_paused():
            a_in.set()
            wait(b_in)
            if last == "first":
                wait(first_out)
        if last == "second":
            seen["after one exit"] = gc.isenabled()
            first_out.set()

    def second():
        wait(a_in)
        with gc_paused():
            b_in.set()
            if last == "second":
                wait(first_out)
        if last == "first":
            seen["after one exit"] = gc.isenabled()
            first_out.set()

    try:
        run_threads(first, second)
        assert seen == {"after one exit": False}
        assert gc.isenabled()
    finally:
        gc.enable()


def test_the_state_cannot_be_changed_in_place():
    with pytest.raises(AttributeError, match="immutable"):
        state().grad_enabled = False
    assert state().grad_enabled
