"""docs/exercises.md: every console session prints what the page shows, every Python
snippet runs, and the pictures it shows exist and are small."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from engine.draw import renderer_available
from nn.cli import main
from tests.conftest import require
from tests.nn.test_docs_data import normalise, sessions

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "exercises.md"
TEXT = DOC.read_text(encoding="utf-8")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    require(renderer_available(), "Graphviz (the `dot` program)")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_console_session_prints_what_the_page_shows(in_tmp, capsys):
    steps = sessions(TEXT)
    assert len(steps) >= 3
    for command, expected in steps:
        words = shlex.split(command)
        assert words[0] == "chainrule"
        main(words[1:])
        captured = capsys.readouterr()
        assert normalise(captured.out + captured.err) == normalise(expected), command


def test_every_python_snippet_runs(in_tmp):
    snippets = re.findall(r"```python\n(.*?)```", TEXT, re.S)
    assert len(snippets) >= 2
    namespace: dict = {}
    for snippet in snippets:
        exec(compile(snippet, str(DOC), "exec"), namespace)  # the page's own snippets
    assert (in_tmp / "quiz.html").exists() and (in_tmp / "network-quiz.html").exists()


def test_the_pictures_exist_and_are_small():
    pictures = re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", TEXT)
    assert pictures
    for picture in pictures:
        data = (DOC.parent / picture).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 80_000, picture


def test_the_readme_links_here():
    assert "docs/exercises.md" in (ROOT / "README.md").read_text(encoding="utf-8")
