"""Shared test helpers.

`from tests.conftest import require`; `require(available, what)` is how a test says it needs an external program or package: in CI
(`CI=true`) a missing tool is a failure, so nothing skips silently there; elsewhere the
test is skipped with the reason.
"""
from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, what: str) -> None:
    """Fail in CI, skip elsewhere, when `what` is not available."""
    if available:
        return
    message = f"needs {what}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: required here)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def full_disk(monkeypatch):
    """Writes to regular files stop half way with ENOSPC, as on a full disk (pipes, such
    as the one to Graphviz, still work)."""
    import errno
    import stat

    real_write = os.write

    def write(fd, data):
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return real_write(fd, data)
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", write)
