"""Exercises on networks: the break-it lab (honest vs tampered training, gradcheck's verdict,
the plot, the command and the demo) and the quiz on one example's walk."""
from __future__ import annotations

import json
import warnings

import pytest

from engine import RepeatedBackwardWarning, explain
from engine.draw import renderer_available
from engine.lab import MISTAKES, active
from engine.player import frames
from nn import MLP, data, fit
from nn.optim import SGD
from nn.cli import main
from nn.exercises import run_lab, save_quiz
from tests.conftest import require
from tests.nn.test_demos import demo
from tests.nn.test_plot import HAVE_MPL


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_the_lab_trains_twice_and_gradcheck_names_the_tampered_op(mistake):
    run = run_lab(mistake, epochs=4)
    assert len(run.honest.loss) == 4 and run.honest.loss[-1] < run.honest.loss[0]
    assert run.tampered.loss != run.honest.loss
    assert not run.verdict.ok and f"the backward of {run.op} is tampered with" in run.verdict.message
    assert run.op == MISTAKES[mistake].op and active() is None
    text = run.summary()
    assert f"mistake {mistake!r} in {run.op}" in text and "honest" in text and "tampered" in text


def test_a_subtle_mistake_still_trains():
    run = run_lab("tanh-as-1-minus-tanh", epochs=20)
    assert run.tampered.loss[-1] < 0.7 * run.tampered.loss[0]  # it learns, and yet:
    assert not run.verdict.ok and run.verdict.bad_nodes[0].op_name == "tanh"


def test_a_mistake_that_blows_up_ends_the_tampered_run_and_says_why():
    run = run_lab("wrong-input", epochs=30)
    assert len(run.honest.loss) == 30 and len(run.tampered.loss) < 30
    assert "nan" in run.stopped and "stopped after epoch" in run.summary()


def test_the_lab_command_prints_both_and_plots(tmp_path, capsys):
    require(HAVE_MPL, "matplotlib (the 'plot' extra)")
    picture = tmp_path / "lab.png"
    assert main(["lab", "overwrite", "--epochs", "3", "--plot", str(picture)]) == 0
    out = capsys.readouterr().out
    assert "mistake 'overwrite' in mul" in out and "gradcheck FAILED" in out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("argv, message", [
    (["lab", "typo"], "invalid choice: 'typo'"),
    (["lab", "sign", "--op", "tan"], "unknown op 'tan'"),
    (["lab", "tanh-as-1-minus-tanh", "--op", "mul"], "made in tanh, not in mul"),
])
def test_bad_lab_commands_are_one_line(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own refusal
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_demo_writes_one_plot_per_mistake(tmp_path, capsys):
    require(HAVE_MPL, "matplotlib (the 'plot' extra)")
    assert demo("lab").main(["sign", "no-chain", "--epochs", "2", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab-no-chain.png", "lab-sign.png"]
    assert capsys.readouterr().out.count("gradcheck FAILED") == 2


def test_a_network_quiz_labels_inputs_and_targets_as_the_documents_do(tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")
    model = MLP(2, [2, 1], seed=0)
    page = save_quiz(model, [0.5, -1.0], 1.0, tmp_path / "net.html", ask="gradients").read_text("utf-8")
    payload = json.loads(page.split('<script id="quiz-data" type="application/json">')[1].split("</script>")[0])
    names = {n["name"] for n in payload["nodes"]}
    assert {"x1", "x2", "y1", "C", "w1.1.1", "b2.1"} <= names
    prompts = [q["prompt"] for q in payload["questions"]]
    assert "dC/d(w1.1.1)" in prompts and "dC/dx1" in prompts and all(q["kind"] == "gradient" for q in payload["questions"])


def test_training_and_the_pages_never_warn_about_a_second_backward():
    model = MLP(2, [4, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepeatedBackwardWarning)
        fit(model, data.load("moons", n=20, seed=0), optimiser=SGD(model.parameters(), lr=0.1),
            epochs=3, progress=False)
        fit(model, data.load("moons", n=20, seed=0), optimiser=SGD(model.parameters(), lr=0.1),
            epochs=2, batch_size=5, progress=False)
        loss = (model([0.5, -0.2])[0] - 1.0) ** 2
        loss.backward()
        explain(loss)
        frames(loss)
