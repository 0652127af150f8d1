"""The `chainrule` command, driven as a user drives it: a subprocess, its output, its exit code."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.draw import renderer_available
from nn.cli import main
from tests.conftest import require

NEURON = "tanh(w*x + b)"
COST = "(tanh(w*x + b) - y)**2"
VALUES = ["w=2.3", "b=-1.2", "x=0", "y=1"]  # seed 001, Question 4


def chainrule(*args: str, cwd: Path | None = None, env: dict | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nn", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def usage_error(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit code 2 and exactly one line on stderr that names the cause."""
    return _error(result, 2, *words)


def _error(result: subprocess.CompletedProcess, code: int, *words: str) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chainrule"), lines[0]
    assert "error:" in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


# ---------------------------------------------------------------- help

@pytest.mark.parametrize("command", ["graph", "step", "check", "train", "eval", "demo"])
def test_every_command_has_help_with_examples(command):
    out = ok(chainrule(command, "--help"))
    assert f"chainrule {command}" in out
    assert "examples:" in out


def test_every_help_fits_an_80_column_terminal():
    from nn.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert len(commands) >= 11
    for name, sub in [("", parser), *commands.items()]:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("COLUMNS", "80")
            text = sub.format_help()
        wide = [line for line in text.splitlines() if len(line) > 80]
        assert not wide, (name, wide)


def test_top_level_help_lists_the_commands_and_exit_codes():
    out = ok(chainrule("--help"))
    for command in ("graph", "step", "check", "train", "eval", "demo"):
        assert command in out
    assert "exit codes" in out


def test_no_command_is_a_usage_error():
    usage_error(chainrule(), "required")
    usage_error(chainrule("frobnicate"), "invalid choice")


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "chainrule"
    if not script.exists():
        pytest.skip("the package is not installed with its console script in this environment")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "chainrule" in result.stdout


# ---------------------------------------------------------------- graph

def test_graph_renders_the_neuron(tmp_path):
    require(renderer_available(), "Graphviz dot")
    out = ok(chainrule("graph", NEURON, "w=2.3", "b=-1.2", "x=0", "-o", "neuron.svg", cwd=tmp_path))
    picture = tmp_path / "neuron.svg"
    assert picture.exists() and "<svg" in picture.read_text()
    assert "wrote neuron.svg" in out
    # dtanh/db = 1/cosh(-1.2)^2 = 0.30502, printed with the value
    assert "df/db = 0.30502" in out and "f = -0.833655" in out


def test_graph_without_output_prints_dot_source_with_options():
    out = ok(chainrule("graph", NEURON, "w=2.3", "b=-1.2", "x=0", "--rankdir", "TB", "--partials"))
    assert out.startswith("digraph")
    assert "rankdir=TB" in out
    assert "cosh" in out  # the local derivative of tanh written on its edge
    for name in ("w", "b", "x"):
        assert f">{name}<" in out or f'"{name}"' in out or f"{name} " in out


def test_graph_gradient_of_a_reused_variable_accumulates(tmp_path):
    require(renderer_available(), "Graphviz dot")
    out = ok(chainrule("graph", "x*x + 3*x", "x=2", "-o", "g.svg", cwd=tmp_path))
    assert "df/dx = 7" in out  # 2x + 3 at x = 2: both uses of x add up


def test_graph_refuses_an_unknown_format(tmp_path):
    usage_error(chainrule("graph", NEURON, "w=1", "b=1", "x=1", "-o", "g.gif", cwd=tmp_path), ".svg")
    assert not (tmp_path / "g.gif").exists()


def test_graph_path_from_must_be_a_variable():
    usage_error(chainrule("graph", NEURON, "w=1", "b=1", "x=1", "--path-from", "q"), "--path-from q")


# ---------------------------------------------------------------- step

def test_step_prints_the_backward_table_of_the_documents_cost():
    out = ok(chainrule("step", COST, *VALUES, "--name", "C"))
    assert "Forward pass" in out and "Backward pass" in out
    assert "1/cosh" in out            # the op table's formula for tanh's partial
    assert "dC/db" in out and "-1.1186" in out   # the documents' dCdb
    assert "dC/dw" in out


NAMED = "z = w*x + b; a = tanh(z); C = (a - y)**2"


def test_named_intermediates_name_the_rows_of_step_graph_and_check(tmp_path):
    out = ok(chainrule("step", NAMED, *VALUES))
    assert "dC/dz = -1.1186" in out and "da/dz = 1/cosh(z)^2" in out and "dC/db = -1.1186" in out
    assert "mul1 + b" in out and "tanh(z)" in out
    lines = ok(chainrule("step", NAMED.replace("; ", "\n"), *VALUES))  # one per line reads the same
    assert lines == out
    dot = ok(chainrule("graph", NAMED, *VALUES))
    assert "<B>z</B>" in dot and "<B>a</B>" in dot and "<B>C</B>" in dot
    report = ok(chainrule("check", NAMED, *VALUES))
    assert "passed" in report and [line.split()[0] for line in report.splitlines()[2:6]] == ["w", "x", "b", "y"]
    usage_error(chainrule("step", NAMED, *VALUES, "z=1"), "z is not in the expression")


def test_step_writes_the_step_through_page(tmp_path):
    require(renderer_available(), "Graphviz dot")
    out = ok(chainrule("step", COST, *VALUES, "--html", "steps.html", cwd=tmp_path))
    page = tmp_path / "steps.html"
    assert page.exists() and "<html" in page.read_text().lower()
    assert "wrote steps.html" in out


# ---------------------------------------------------------------- check

def test_check_passes_for_the_documents_cost():
    out = ok(chainrule("check", COST, *VALUES))
    for name in ("w", "b", "x", "y"):
        assert any(line.split()[:1] == [name] for line in out.splitlines()), name
    assert "autodiff" in out and "numeric" in out


def test_check_with_the_hand_derived_derivative_agrees():
    analytic = "b=2*(tanh(w*x + b) - y) * (1 - tanh(w*x + b)**2)"
    out = ok(chainrule("check", COST, *VALUES, "--analytic", analytic))
    assert "analytic" in out


def test_check_fails_with_exit_1_for_a_wrong_hand_derivative():
    wrong = "b=2*(tanh(w*x + b) - y)"  # forgot da/dz
    result = chainrule("check", COST, *VALUES, "--analytic", wrong)
    _error(result, 1, "disagree", "'b'")
    assert "analytic" in result.stdout  # the table still shows all three


def test_check_fails_with_exit_1_at_a_kink():
    result = chainrule("check", "relu(x)", "x=0")
    _error(result, 1, "disagree")


def test_check_analytic_name_must_be_a_variable():
    usage_error(chainrule("check", COST, *VALUES, "--analytic", "q=1"), "q")
    usage_error(chainrule("check", COST, *VALUES, "--analytic", "b=z"), "z")


# ---------------------------------------------------------------- bad input (exit 2, one line)

@pytest.mark.parametrize("args, words", [
    ((COST, "w=2.3", "b=-1.2", "x=0"), ["no value for the variable y", "y=NUMBER"]),
    ((COST, *VALUES, "z=1"), ["z is not in the expression", "w, x, b, y"]),
    ((NEURON, "w=1", "b=1", "x=abc"), ["value of x", "'abc'"]),
    ((NEURON, "w=1", "b=1", "x=inf"), ["finite"]),
    ((NEURON, "w=1", "b=1", "x"), ["name=value"]),
    ((NEURON, "w=1", "w=2", "b=1", "x=1"), ["w is given twice"]),
    (("tanh(w*x + b).real", "w=1", "b=1", "x=1"), ["attribute", "column 1"]),
    (("w*x[0]", "w=1", "x=1"), ["indexing", "column 3"]),
    (("tanh(w*x + b", "w=1", "b=1", "x=1"), ["never closed"]),
    (("ln(x)", "x=1"), ["unknown function 'ln'", "log(x)"]),
    (("x**y", "x=1", "y=2"), ["exponent must be a constant"]),
    (("log(x)", "x=-1"), ["log", "non-positive"]),
    (("x / (x - 1)", "x=1"), ["division by zero"]),
    (("exp(x)", "x=1000"), ["overflows"]),
    (("2**10**10",), ["overflows"]),
    (("9" * 500,), ["too large"]),
    (("(" * 300 + "x" + ")" * 300, "x=1"), ["nested too deeply"]),
    (("x" + "+x" * 2000, "x=1"), ["too long"]),
    (("z = w*x; z = z + 1", "w=1", "x=1"), ["z is computed twice"]),
    (("x^2", "x=1"), ["for a power write x**2"]),
    (("tanh(x=1)",), ["keyword"]),
    (("'hello'",), ["string"]),
    (("1if x else 2", "x=1"), ["conditional"]),  # and no SyntaxWarning on stderr
])
@pytest.mark.parametrize("command", ["step"])
def test_bad_expressions_and_values_are_usage_errors(command, args, words):
    usage_error(chainrule(command, *args), *words)


@pytest.mark.parametrize("command", ["graph", "check"])
def test_the_same_errors_for_graph_and_check(command):
    usage_error(chainrule(command, COST, "w=1"), "no value for the variables x, b, y")
    usage_error(chainrule(command, "x.__class__", "x=1"), "attribute")


def test_unsafe_text_is_never_run(tmp_path):
    marker = tmp_path / "pwned"
    text = f"__import__('os').system('touch {marker}')"
    usage_error(chainrule("step", text, cwd=tmp_path), "attribute access", "__import__('os').system")
    usage_error(chainrule("check", f"exec('open(\"{marker}\", \"w\")')", cwd=tmp_path), "exec")
    assert not marker.exists()


def test_a_formula_starting_with_minus_goes_after_double_dash():
    usage_error(chainrule("step", "-x*y", "x=1", "y=2"), "goes after --")
    out = ok(chainrule("step", "--", "-x*y", "x=1", "y=2"))
    assert "Backward pass" in out


def test_bad_option_values_are_usage_errors():
    usage_error(chainrule("check", "x*x", "x=1", "--eps", "0"), "--eps")
    usage_error(chainrule("graph", "x*x", "x=1", "--rankdir", "UP"), "--rankdir")
    usage_error(chainrule("graph", "x*x", "x=1", "--max-nodes", "-3"), "--max-nodes")


# ---------------------------------------------------------------- train and eval

def test_train_the_not_gate():
    out = ok(chainrule("train", "not", "--quiet"))
    assert "MLP(1 -> 1 tanh)" in out
    assert "accuracy 100.0%" in out


def test_train_save_plot_then_eval(tmp_path):
    result = chainrule("train", "moons", "--points", "30", "--hidden", "4", "--epochs", "5",
                       "--seed", "1", "--save", "model.json", "--plot", "moons.png",
                       "--quiet", cwd=tmp_path)
    out = ok(result)
    assert "MLP(2 -> 4 tanh, 1 tanh)" in out and "5 epochs" in out
    model = json.loads((tmp_path / "model.json").read_text())
    assert model["nin"] == 2 and model["sizes"] == [4, 1]
    for name in ("moons.png", "moons-loss.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    out = ok(chainrule("eval", "model.json", "0.5,0.2", "1.5,-0.4", cwd=tmp_path))
    lines = [line for line in out.splitlines() if "->" in line]
    assert len(lines) == 2 and lines[0].startswith("0.5,0.2 ->")
    assert all(-1.0 <= float(line.split("->")[1].split()[0]) <= 1.0 for line in lines)  # a tanh output
    out = ok(chainrule("eval", "model.json", "--", "-1,0.3", cwd=tmp_path))
    assert out.startswith("-1,0.3 ->")
    out = ok(chainrule("eval", "model.json", "--data", "moons", cwd=tmp_path))
    assert "accuracy" in out and "loss" in out

    usage_error(chainrule("eval", "model.json", "1", cwd=tmp_path), "takes 2 inputs")
    usage_error(chainrule("eval", "model.json", "1,a", cwd=tmp_path), "numbers")
    usage_error(chainrule("eval", "model.json", cwd=tmp_path), "--data")


def test_train_is_reproducible_with_a_seed(tmp_path):
    args = ["train", "xor", "--epochs", "20", "--seed", "7", "--quiet"]
    ok(chainrule(*args, "--save", "a.json", cwd=tmp_path))
    ok(chainrule(*args, "--save", "b.json", cwd=tmp_path))
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()


def test_train_options_reach_the_model(tmp_path):
    out = ok(chainrule("train", "circles", "--points", "20", "--hidden", "3,2", "--activation",
                       "relu", "--output", "linear", "--loss", "hinge", "--optimiser", "sgd",
                       "--lr", "0.05", "--epochs", "2", "--batch-size", "5", "--quiet",
                       "--save", "c.json", cwd=tmp_path))
    assert "MLP(2 -> 3 relu, 2 relu, 1 linear)" in out and "hinge" in out and "batch 5" in out
    spec = json.loads((tmp_path / "c.json").read_text())
    assert spec["activations"] == ["relu", "relu", "linear"]


@pytest.mark.parametrize("args, words", [
    (("nope",), ["unknown data set 'nope'"]),
    (("moons", "--epochs", "0"), ["--epochs"]),
    (("moons", "--hidden", "16,x"), ["--hidden"]),
    (("moons", "--loss", "bogus"), ["unknown loss 'bogus'"]),
    (("moons", "--lr", "-1"), ["--lr"]),
    (("moons", "--optimiser", "rmsprop"), ["--optimiser"]),
    (("moons", "--plot", "moons.svg"), [".png"]),
    (("not", "--points", "10"), ["moons and circles"]),
])
def test_train_usage_errors(tmp_path, args, words):
    usage_error(chainrule("train", *args, cwd=tmp_path), *words)
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


@pytest.mark.parametrize("option, destination, words", [
    ("--save", "blocker/m.json", ["blocker/m.json", "blocker is not a folder"]),
    ("--plot", "blocker/moons.png", ["blocker/moons.png", "blocker is not a folder"]),
    ("--save", "fifo", ["fifo", "it is a FIFO", "refusing to replace it"]),
    ("--save", "folder", ["folder", "it is a folder"]),
    ("--plot", "folder-loss.png", ["folder-loss.png", "it is a folder"]),
])
def test_train_checks_where_it_writes_before_training(tmp_path, option, destination, words):
    (tmp_path / "blocker").write_text("a file, not a folder")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder-loss.png").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    plot = ["--plot", "folder.png"] if destination == "folder-loss.png" else [option, destination]
    result = chainrule("train", "moons", "--points", "20", "--epochs", "1", "--quiet", *plot,
                       cwd=tmp_path)
    usage_error(result, *words)
    assert "training" not in result.stdout  # refused before the run, not after it
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_eval_bad_model_files(tmp_path):
    usage_error(chainrule("eval", "missing.json", "1", cwd=tmp_path), "no such model file")
    (tmp_path / "bad.json").write_text('{"x": 1}')
    usage_error(chainrule("eval", "bad.json", "1", cwd=tmp_path), "bad.json")
    (tmp_path / "cut.json").write_text('{"format": "chainrule-mlp", "ver')
    usage_error(chainrule("eval", "cut.json", "1", cwd=tmp_path), "JSON")


# ---------------------------------------------------------------- the guided tour

def test_demo_runs_the_whole_tour(tmp_path):
    require(renderer_available(), "Graphviz dot")
    out = ok(chainrule("demo", "--out", "tour", cwd=tmp_path))
    for heading in ("tanh neuron", "one step at a time", "dC/dw, dC/db", "graph",
                    "step-through page", "NOT gate", "two moons", "Files written"):
        assert heading in out, heading
    assert "-1.1186" in out           # the documents' dCdb in the backward table
    assert "all agree" in out         # autodiff = dCdw/dCdb = numeric
    tour = tmp_path / "tour"
    for name in ("neuron.svg", "steps.html", "not.json", "moons.json"):
        assert (tour / name).exists(), name
        assert str(tour / name) in out or f"tour/{name}" in out
    assert "accuracy 100.0%" in out   # the NOT gate


def test_demo_without_graphviz_says_how_to_install_and_goes_on(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path / "empty"), CHAINRULE_RENDERER="dot")
    out = ok(chainrule("demo", "--out", "tour", cwd=tmp_path, env=env))
    assert "Graphviz" in out and "install" in out.lower()
    assert (tmp_path / "tour" / "neuron.dot").read_text().startswith("digraph")
    assert (tmp_path / "tour" / "moons.json").exists()  # the training still ran
    assert "Files written" in out


def test_demo_refuses_a_file_as_its_folder(tmp_path):
    (tmp_path / "out").write_text("")
    usage_error(chainrule("demo", "--out", "out", cwd=tmp_path), "folder")


# ---------------------------------------------------------------- in-process details

def test_result_is_called_f_unless_named():
    out = ok(chainrule("step", "x*x", "x=3"))
    assert "df/dx" in out and "6" in out
    out = ok(chainrule("step", "f*f", "f=3"))
    assert "dC/df" in out  # f is taken by a variable


@pytest.mark.parametrize("command", ["step", "graph", "check"])
def test_the_result_cannot_take_a_variables_name(command):
    usage_error(chainrule(command, "x**2", "x=3", "--name", "x"),
                "--name x", "x is a variable of the expression")


def test_the_result_name_must_be_printable():
    usage_error(chainrule("step", "x**2", "x=3", "--name", "C\x1b[31m"),
                "--name", "control character U+001B")


def test_on_a_terminal_the_error_shows_a_caret(monkeypatch, capsys):
    import engine.cli

    monkeypatch.setattr(engine.cli, "_stderr_is_terminal", lambda: True)
    assert main(["step", "w * x + foo(b)", "w=1", "x=1", "b=1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("chainrule step: error: unknown function 'foo'")
    assert err[1] == "  w * x + foo(b)"
    assert err[2] == "  " + " " * 8 + "^^^"


def test_main_returns_the_exit_code_in_process(capsys):

    assert main(["check", COST, *VALUES]) == 0
    assert main(["check", "relu(x)", "x=0"]) == 1
    assert main(["step", COST]) == 2
    assert "gradcheck passed" in capsys.readouterr().out


def test_plots_without_matplotlib_are_one_clear_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    code = main(["train", "xor", "--epochs", "1", "--quiet", "--plot", str(tmp_path / "xor.png")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "matplotlib" in err and "Traceback" not in err
    code = main(["demo", "--out", str(tmp_path / "tour")])
    out = capsys.readouterr().out
    assert code == 0 and "plots skipped" in out and "matplotlib" in out
