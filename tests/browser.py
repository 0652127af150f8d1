"""Headless Chromium for the page tests: Debian's own browser, driven by playwright (which
never downloads one of its own), with the flags this machine's closed network needs."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator

from tests.conftest import require

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@contextmanager
def chromium(width: int, height: int, **options) -> Iterator[object]:
    """A fresh browser context (its own empty profile) with a `width` x `height` window;
    fails in CI, skips elsewhere, when Chromium or playwright is missing."""
    require(shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM), f"Chromium ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        require(False, "the playwright package (pip install -e '.[dev]')")
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": width, "height": height}, **options)
        try:
            yield context
        finally:
            context.close()
