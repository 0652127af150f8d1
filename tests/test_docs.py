"""Every Python snippet and command in README.md and docs/*.md runs, in order, and prints
what the page shows.

Each document runs in a fresh folder holding a copy of docs/examples, with demos/ and
docs/ beside it, where `chainrule`, `python`, `.venv/bin/python` and `.venv/bin/chainrule`
mean this interpreter:
- ```python blocks run in one namespace, in order; a block with no language (or `text`)
  right after one, with nothing but blank lines between, is what it prints; a block whose
  first line is `# file: NAME` is written to that file instead (a script the page runs);
- ```sh blocks: every command succeeds;
- ```console blocks, and `text` blocks opening with "$ ": each `$ command` is followed by
  what it prints (stdout and stderr); `text` blocks opening with ">>> " are Python lines
  in the document's namespace, each followed by what it prints;
- shown output may leave lines out where it has a line "...", and durations ("in 0.1 s")
  may differ;
- a block right after `<!-- not run by the tests: REASON -->` is skipped, and
  test_few_blocks_are_skipped_and_each_says_why keeps that list short.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!-- not run by the tests: (.+?) -->")


@dataclass
class Block:
    info: str
    text: str
    line: int
    skip: str | None
    after_code: bool  # only blank lines since the previous block closed


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a markdown text, in order."""
    out: list[Block] = []
    lines = text.splitlines()
    k, skip, blank_run, last_closed = 0, None, False, -2
    while k < len(lines):
        line = lines[k]
        marker = SKIP.search(line)
        if marker:
            skip = marker.group(1)
        elif line.startswith("```"):
            start, info, body = k, line[3:].strip(), []
            k += 1
            while not lines[k].startswith("```"):
                body.append(lines[k])
                k += 1
            adjacent = all(not lines[j].strip() for j in range(last_closed + 1, start))
            out.append(Block(info, "\n".join(body) + "\n", start + 1, skip, adjacent and last_closed >= 0))
            last_closed, skip = k, None
        elif line.strip():
            skip = None if not SKIP.search(line) else skip
        k += 1
    return out


def normalise(text: str) -> str:
    text = re.sub(r"\bin \d+(\.\d+)? s\b", "in T s", text)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


def shows(expected: str, actual: str) -> bool:
    """`actual` prints what `expected` shows: the same, or every part between "..." lines
    in order."""
    expected, actual = normalise(expected), normalise(actual)
    if "\n...\n" not in f"\n{expected}\n":
        return expected == actual
    at = 0
    for part in re.split(r"(?m)^\.\.\.$", expected):
        part = part.strip("\n")
        if part:
            found = actual.find(part, at)
            if found < 0:
                return False
            at = found + len(part)
    return True


def folder(tmp_path: Path) -> dict[str, str]:
    """tmp_path made ready to run a document; returns the environment to run commands in."""
    for item in (ROOT / "docs" / "examples").iterdir():
        shutil.copy(item, tmp_path)
    for name in ("demos", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, args in (("chainrule", f'"{sys.executable}" -m nn'), ("python", f'"{sys.executable}"')):
        (bin_dir / name).write_text(f'#!/bin/sh\nexec {args} "$@"\n')
        (bin_dir / name).chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg",
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def run_shell(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def commands(block: Block) -> list[str]:
    """The commands of an sh block: one a line, a trailing backslash continuing it."""
    joined = block.text.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def sessions(text: str, prompt: str) -> list[tuple[str, str]]:
    """(input, expected output) for every prompt line of a session block, in order."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith(prompt):
            steps.append((line[len(prompt):], []))
        elif steps:
            steps[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in steps]


def captured(source: str, namespace: dict, where: str, mode: str = "exec") -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(source, where, mode), namespace)
    return out.getvalue()


NEEDS_TORCH = ("data-and-export.md", "views.md")  # pages that run PyTorch


def needs(document: Path) -> list[pytest.MarkDecorator]:
    return [pytest.mark.torch] if document.name in NEEDS_TORCH else []


@pytest.mark.parametrize("document", [pytest.param(d, id=d.name, marks=needs(d)) for d in DOCUMENTS])
def test_every_snippet_and_command_runs_and_prints_what_the_page_shows(document, tmp_path, monkeypatch):
    if document.name in NEEDS_TORCH:
        try:
            import onnxruntime  # noqa: F401
            import torch  # noqa: F401
            available = True
        except ImportError:
            available = False
        require(available, "PyTorch and onnxruntime (the page runs them)")
    env = folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    parts = blocks(document.read_text(encoding="utf-8"))
    for k, block in enumerate(parts):
        if block.skip:
            continue
        where = f"{document.name}:{block.line}"
        following = parts[k + 1] if k + 1 < len(parts) else None
        if block.info == "python" and block.text.startswith("# file: "):
            (tmp_path / block.text.splitlines()[0][len("# file: "):].strip()).write_text(block.text)
        elif block.info == "python":
            printed = captured(block.text, namespace, where)
            if following and following.after_code and following.info in ("", "text") \
                    and not following.text.startswith(("$ ", ">>> ")):
                assert shows(following.text, printed), f"{where} prints:\n{printed}"
        elif block.info == "sh":
            for command in commands(block):
                result = run_shell(command, tmp_path, env)
                assert result.returncode == 0 and "Traceback" not in result.stderr, (where, command, result.stderr)
        elif block.info == "console" or block.text.startswith("$ "):
            for command, expected in sessions(block.text, "$ "):
                result = run_shell(command, tmp_path, env)
                assert "Traceback" not in result.stderr, (where, command, result.stderr)
                assert shows(expected, result.stdout + result.stderr), (where, command, result.stdout + result.stderr)
        elif block.text.startswith(">>> "):
            for statement, expected in sessions(block.text, ">>> "):
                printed = captured(statement, namespace, where, "single")
                assert shows(expected, printed), f"{where}: {statement} prints:\n{printed}"


def test_few_blocks_are_skipped_and_each_says_why():
    skipped = [(d.name, b.line, b.skip) for d in DOCUMENTS for b in blocks(d.read_text(encoding="utf-8"))
               if b.skip]
    assert all(reason.strip() for _, _, reason in skipped)
    assert len(skipped) <= 6, skipped
    ran = sum(1 for d in DOCUMENTS for b in blocks(d.read_text(encoding="utf-8"))
              if not b.skip and b.info in ("python", "sh", "console"))
    assert ran >= 30


def test_the_rules_for_shown_output():
    assert shows("a\n...\nc", "a\nb\nc") and shows("b\n...", "a\nb\nc")
    assert not shows("c\n...\na", "a\nb\nc") and not shows("a\nc", "a\nb\nc")
    assert shows("done in 0.1 s", "done in 2.25 s  ")
    parsed = blocks("<!-- not run by the tests: a server -->\n```sh\nx\n```\n```python\n1\n```\n\n```\nout\n```\n")
    assert [(b.info, b.skip, b.after_code) for b in parsed] == [("sh", "a server", False), ("python", None, True),
                                                               ("", None, True)]
