"""Run a notebook of demos/ top to bottom in a kernel of this very interpreter.

The kernel is started from `sys.executable` (not whatever `python3` kernel spec a
machine has installed), with the checkout first on PYTHONPATH, so the notebooks test
this venv and this code. Used by the tests, and by hand to write executed copies:

    python -m tests.demos.notebooks OUT_FOLDER      # every notebook, executed, into OUT_FOLDER
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "demos"


class ThisInterpreter(KernelSpecManager):
    """Every kernel name means an ipykernel on the interpreter running the tests."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                          display_name="chainrule (this interpreter)", language="python")


def execute(notebook: Path, cwd: Path, timeout: float = 120) -> nbformat.NotebookNode:
    """The notebook with its outputs, run in `cwd` (where it writes its files)."""
    nb = nbformat.read(notebook, as_version=4)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())
    client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=False, store_widget_state=True,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute(env=env)
    return nb


def notebooks() -> list[Path]:
    return sorted(DEMOS.glob("*.ipynb"))


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for path in notebooks():
        nbformat.write(execute(path, out), out / path.name)
        print("wrote", out / path.name)
