"""Real threads for tests: each runs to the end or fails the test within TIMEOUT seconds."""
from __future__ import annotations

import threading

TIMEOUT = 10.0


def run_threads(*targets) -> None:
    """Run each target in its own thread; re-raise the first failure in the test."""
    errors: list[BaseException] = []

    def guarded(target):
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a thread did not finish in time"
    if errors:
        raise errors[0]


def wait(event: threading.Event) -> None:
    assert event.wait(TIMEOUT), "the other thread never got there"
