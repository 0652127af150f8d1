"""docs/data-and-export.md: every console session prints what the page shows, and every
Python snippet runs. Sessions run in order in one folder holding a copy of docs/examples,
through bash, with `chainrule` and `python` meaning this interpreter; durations ("in
0.1 s") are the only text allowed to differ."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "data-and-export.md"

pytestmark = pytest.mark.torch


def sessions(text: str) -> list[tuple[str, str]]:
    """(command, expected output) for every `$ ` line of the console blocks, in order."""
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in steps]


def normalise(text: str) -> str:
    text = re.sub(r"\bin \d+(\.\d+)? s\b", "in T s", text)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


def folder(tmp_path: Path) -> dict[str, str]:
    """The examples copied into tmp_path, and an environment whose chainrule and python are ours."""
    for item in (DOC.parent / "examples").iterdir():
        shutil.copy(item, tmp_path)
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    for name, args in (("chainrule", f'"{sys.executable}" -m nn'), ("python", f'"{sys.executable}"')):
        (bin_dir / name).write_text(f'#!/bin/sh\nexec {args} "$@"\n')
        (bin_dir / name).chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def test_the_sessions_print_what_the_page_shows_and_the_snippets_run(tmp_path):
    try:
        import onnxruntime  # noqa: F401
        import torch  # noqa: F401
        available = True
    except ImportError:
        available = False
    require(available, "PyTorch and onnxruntime (the page runs both)")
    env = folder(tmp_path)
    text = DOC.read_text(encoding="utf-8")
    steps = sessions(text)
    assert len(steps) >= 15
    for command, expected in steps:
        result = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=300)
        assert "Traceback" not in result.stderr, (command, result.stderr)
        assert normalise(result.stdout + result.stderr) == normalise(expected), command
    for snippet in re.findall(r"```python\n(.*?)```", text, re.S):
        result = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (snippet, result.stderr)
