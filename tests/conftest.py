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
