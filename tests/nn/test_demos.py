"""The demos, run with fewer epochs than on the command line (their full runs are timed by hand)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import require

DEMOS = Path(__file__).resolve().parents[2] / "demos"


def demo(name: str):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_not_gate_reaches_the_documents_answer_region(tmp_path, capsys):
    assert demo("not_gate").main(["--epochs", "400", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "C(x=0) = 1.21" in text and "accuracy 100%" in text
    layer = json.loads((tmp_path / "not_gate.json").read_text())["layers"][0]
    w, b = layer["W"][0][0], layer["b"][0]
    assert w < -1.5 and b > 1.5 and abs(w + b) < 0.05  # on the line w = -b, like w = -5, b = 5


def test_table10_reproduces_the_worked_example_and_learns(tmp_path, capsys):
    assert demo("table10").main(["--epochs", "600", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    after = text.split("after one step of 0.1: a3 = [")[1].split("]")[0]
    assert [float(v) for v in after.split(",")] == pytest.approx([0.537, 0.893], abs=1.5e-3)  # seed 002 In [37]
    assert "agree at rtol=1e-12" in text
    assert "accuracy 100%" in text
    assert (tmp_path / "table10.json").exists()


def test_moons_reaches_full_training_accuracy(tmp_path, capsys):
    assert demo("moons").main(["--epochs", "150", "--n", "60", "--out", str(tmp_path)]) == 0
    assert "training accuracy 100.0%" in capsys.readouterr().out
    assert (tmp_path / "moons.json").exists()


def test_digits_prints_a_test_accuracy(tmp_path, capsys):
    require(importlib.util.find_spec("sklearn") is not None, "scikit-learn (the 'digits' extra)")
    assert demo("digits").main(["--epochs", "2", "--n", "300", "--hidden", "16", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    accuracy = float(text.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 60.0


def test_demos_are_runnable_scripts():
    for name in ("not_gate", "table10", "moons", "digits"):
        source = (DEMOS / f"{name}.py").read_text()
        assert 'if __name__ == "__main__":' in source and "def main(" in source
