"""docs/views.md: every example prints what the page shows under it.

The page is run top to bottom in one folder: a ```python block whose first line is
`# file: NAME` is written to NAME; any other ```python block is run and its output must
be the ```text block after it; every `$ ` line of a ```console block runs through bash
(with `chainrule` and `python` meaning this interpreter) and must print the lines after
it. The page runs PyTorch, so the test needs it (required in CI).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require
from tests.nn.test_docs_data import normalise

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "views.md"
BLOCK = re.compile(r"```(python|console|text|json)\n(.*?)```", re.S)

pytestmark = pytest.mark.torch


def environment(folder: Path) -> dict[str, str]:
    bin_dir = folder / ".bin"
    bin_dir.mkdir()
    for name, args in (("chainrule", f'"{sys.executable}" -m nn'), ("python", f'"{sys.executable}"')):
        (bin_dir / name).write_text(f'#!/bin/sh\nexec {args} "$@"\n')
        (bin_dir / name).chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", COLUMNS="80",
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def run(text: str, folder: Path) -> list[tuple[str, str, str]]:
    """(what ran, the output the page shows, the output it printed) for every example."""
    env = environment(folder)
    blocks = BLOCK.findall(text)
    results = []
    for k, (kind, body) in enumerate(blocks):
        if kind == "python" and body.startswith("# file: "):
            name = body.split("\n", 1)[0].removeprefix("# file: ").strip()
            (folder / name).write_text(body, encoding="utf-8")
        elif kind == "python":
            shown = blocks[k + 1][1] if k + 1 < len(blocks) and blocks[k + 1][0] == "text" else ""
            done = subprocess.run([sys.executable, "-c", body], cwd=folder, env=env, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, (body, done.stderr)
            results.append((body, shown, done.stdout))
        elif kind == "console":
            steps: list[tuple[str, list[str]]] = []
            for line in body.splitlines():
                if line.startswith("$ "):
                    steps.append((line[2:], []))
                else:
                    steps[-1][1].append(line)
            for command, lines in steps:
                done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True,
                                      text=True, timeout=300)
                assert "Traceback" not in done.stderr, (command, done.stderr)
                results.append((command, "\n".join(lines), done.stdout + done.stderr))
    return results


def test_every_example_prints_what_the_page_shows(tmp_path):
    try:
        import torch  # noqa: F401
    except ImportError:
        require(False, "PyTorch (the page compares with it)")
    results = run(DOC.read_text(encoding="utf-8"), tmp_path)
    assert len(results) >= 10
    for what, shown, printed in results:
        assert normalise(printed) == normalise(shown), what
