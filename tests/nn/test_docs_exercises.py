"""docs/exercises.md: the pictures it shows exist and are small, and the README links it
(tests/test_docs.py runs its sessions and snippets)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "exercises.md"
TEXT = DOC.read_text(encoding="utf-8")


def test_the_pictures_exist_and_are_small():
    pictures = re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", TEXT)
    assert pictures
    for picture in pictures:
        data = (DOC.parent / picture).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 80_000, picture


def test_the_readme_links_here():
    assert "docs/exercises.md" in (ROOT / "README.md").read_text(encoding="utf-8")
