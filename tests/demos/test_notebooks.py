"""The notebooks of demos/: committed clean, run top to bottom in a fresh kernel of this
interpreter, and showing the documents' numbers (and the formulas' where the documents
print them wrong)."""
from __future__ import annotations

import html
import importlib.util
import json
import math
import re
from pathlib import Path

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "demos"
DOCUMENTS = {  # document number -> its notebook
    "000": "000_tanh_neuron",
    "001": "001_chain_rule_and_not_gate",
    "002": "002_two_three_two_network",
    "003": "003_feed_forward_and_delta_rule",
    "004": "004_three_three_one_network",
}
NUMBER = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """run(name) -> (executed notebook, the folder it ran in); each notebook runs once."""
    require(_available("nbclient") and _available("ipykernel"), "nbclient and ipykernel (the 'dev' extra)")
    from engine.draw import renderer_available

    require(renderer_available(), "Graphviz (the notebooks draw graphs)")
    from tests.demos.notebooks import execute

    done: dict[str, tuple] = {}

    def run(name: str):
        if name not in done:
            folder = tmp_path_factory.mktemp(name)
            done[name] = (execute(DEMOS / f"{name}.ipynb", folder), folder)
        return done[name]

    return run


def shown(nb) -> str:
    """Everything a reader sees as text: printed output, HTML tables (as text), reprs."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                data = out.data
                if "text/html" in data:
                    parts.append(html.unescape(re.sub(r"<[^>]+>", "", data["text/html"])))
                elif not {"image/png", "image/svg+xml"} & set(data) and "text/plain" in data:
                    parts.append(data["text/plain"])
    return "\n".join(parts)


def numbers_after(text: str, prefix: str) -> list[float]:
    """The numbers on the line that starts with `prefix` (after it), in order."""
    for line in text.splitlines():
        if line.lstrip().startswith(prefix):
            return [float(v) for v in re.findall(NUMBER, line.lstrip()[len(prefix):])]
    raise AssertionError(f"no line starts with {prefix!r}")


def mimes(nb) -> list[str]:
    return [m for cell in nb.cells for out in cell.get("outputs", []) for m in out.get("data", {})]


def ulps(a: float, b: float) -> float:
    return abs(a - b) / math.ulp(b)


# ---------------------------------------------------------------- the files as committed

def test_there_is_a_notebook_for_every_document_and_one_to_start_with():
    names = {p.stem for p in DEMOS.glob("*.ipynb")}
    assert names == {"start_here", *DOCUMENTS.values()}


@pytest.mark.parametrize("path", sorted(DEMOS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "widgets" not in nb["metadata"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("document, name", DOCUMENTS.items())
def test_each_notebook_points_out_its_documents_errata(document, name):
    """Every numbered erratum of docs/errata.md is named in its document's notebook."""
    errata = (ROOT / "docs" / "errata.md").read_text()
    numbered = re.findall(r"^\| (\d+) \| (\d{3}), ", errata, flags=re.M)
    assert len(numbered) >= 9
    text = "\n".join("".join(c["source"]) for c in json.loads((DEMOS / f"{name}.ipynb").read_text())["cells"]
                     if c["cell_type"] == "markdown")
    for number, where in numbered:
        if where == document:
            assert f"Erratum {number}." in text, (name, number)


# ---------------------------------------------------------------- run, and the numbers shown

def test_the_kernel_is_this_interpreter_and_imports_this_checkout(run, tmp_path):
    """Not a `python3` kernel spec the machine happens to have: this venv, this code."""
    import sys

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from tests.demos.notebooks import execute

    probe = tmp_path / "probe.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import sys, engine; print(sys.executable); print(engine.__file__)")]),
                   probe)
    executable, engine_file = shown(execute(probe, tmp_path)).split()
    assert executable == sys.executable
    assert Path(engine_file).parent == ROOT / "engine"


def test_start_here_shows_the_neuron_its_gradients_a_drawing_the_checks_and_training(run):
    nb, folder = run("start_here")
    text = shown(nb)
    assert "dC/db = -1.1186026425530913" in text and "dC/dw = 0.0" in text
    assert "Backward pass (5 steps)" in text and "da/dz * dz/db = -3.66731 * 1 * 0.30502 * 1 = -1.1186" in text
    assert "gradcheck passed: 4 inputs agree" in text and "all agree" in text
    assert "image/svg+xml" in mimes(nb)  # the Value drew itself
    assert mimes(nb).count("image/png") == 3  # the neuron, the boundary, the loss curve
    accuracy = numbers_after(text, "337 parameters; History(100 epochs")[-1]
    assert accuracy >= 95.0
    for picture in ("neuron.png", "moons.png", "moons-loss.png"):
        assert (folder / "out" / picture).stat().st_size > 1000


def test_start_here_trains_with_a_progress_widget(run):
    """In a notebook fit's bar is a tqdm widget; its last state is the finished bar."""
    nb, _ = run("start_here")
    assert "application/vnd.jupyter.widget-view+json" in mimes(nb)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert [(b["value"], b["max"]) for b in bars] == [(100.0, 100.0)]
    labels = " ".join(m["state"]["value"] for m in state.values() if m["model_name"] == "HTMLModel")
    labels = labels.replace("\u2007", " ")  # tqdm pads with figure spaces
    assert "training (replay): 100%" in labels and re.search(r"100/100 \[\d\d:\d\d&lt;00:00, loss=[\d.e+-]+, acc=\d+\.\d%\]", labels)


def test_000_the_tanh_neuron(run):
    text = shown(run("000_tanh_neuron")[0])
    assert "a1 = [0.76159416, -0.76159416]" in text
    assert "Cost:1.21" in text
    # autodiff, what the document prints, the document's function
    assert re.search(r"^dC/db +-1\.1186026425530913 +-1\.1186026425530913 +-1\.1186026425530913$", text, re.M)
    assert re.search(r"^dC/dw +0\.0 +-0\.0 +-0\.0$", text, re.M)
    assert "True 1.0 -1.0" in text  # 0.0 == -0.0, with different sign bits
    assert text.count("all agree") == 2
    (C,) = numbers_after(text, "C =")
    assert ulps(C, 1.7788340952508739) <= 4
    assert "8 parameters, cost 'sum'" in text and "(agree at rtol=1e-12)" in text


def test_001_the_multivariate_chain_rule_and_the_not_gate(run):
    text = shown(run("001_chain_rule_and_not_gate")[0])
    autodiff, formula = numbers_after(text, "df/dt: autodiff")[0], numbers_after(text, "df/dt: autodiff")[-1]
    t = 0.4
    x1, x2, x3 = 2 * t, 1 - t * t, math.exp(t)
    by_hand = (6 * x1**2 * math.cos(x2) * math.exp(x3) + 2 * t * x1**3 * math.sin(x2) * math.exp(x3)
               + x1**3 * math.cos(x2) * math.exp(x3) * math.exp(t))
    assert autodiff == pytest.approx(by_hand, rel=1e-13) and formula == pytest.approx(by_hand, rel=1e-13)
    assert "(sum of 3 paths)" in text
    assert numbers_after(text, "J_f dx/dt =")[0] == pytest.approx(by_hand, rel=1e-13)
    _, dCdw, dCdb = numbers_after(text, "C = ")[:3]
    assert dCdw > 0 > dCdb  # descent lowers w and raises b, towards (-5, 5)
    w, b = numbers_after(text, "after 400 steps: w =")[:2]
    assert w < -1.5 and b > 1.5 and abs(w + b) < 0.05
    assert "a1  = -0.09966799462495582" in text and "C_0 = 1.209269698402472" in text
    assert "dC/db = -1.1186026425530913" in text
    assert "d = [-1.27261408, 0.39910838]" in text
    cost = float(re.search(r"^C = (1\.77\d+)", text, re.M).group(1))  # Question 5
    assert ulps(cost, 1.7788340952508739) <= 4


def test_002_the_two_three_two_network(run):
    text = shown(run("002_two_three_two_network")[0])
    printed = {"z_2": [-0.462, 0.825, -1.504], "a_2": [0.386, 0.695, 0.182], "z_3": [0.17, 2.122], "a_3": [0.542, 0.893]}
    for name, values in printed.items():
        row = numbers_after(text, name)
        assert row[: len(values)] == values  # the document's column
        assert row[len(values):] == pytest.approx(values, abs=1.5e-3)  # ours, from its rounded weights
    assert numbers_after(text, "C_x =")[0] == pytest.approx(0.15280874657485913, abs=5e-4)
    dCdz1, delta = numbers_after(text, "dC/dz1 =")[0], numbers_after(text, "dC/dz1 =")[-1]
    assert dCdz1 == pytest.approx(delta, rel=1e-12) and dCdz1 == pytest.approx(0.135, abs=1e-3)
    assert numbers_after(text, "delta_2[0] =")[0] < 0  # the document's "-0."
    assert "17 parameters, cost 'half'" in text and "(agree at rtol=1e-12)" in text
    assert "a_3 after:  [0.537, 0.893]" in text
    assert "accuracy 100.0%" in text


def test_003_feed_forward_gradient_descent_and_the_delta_rule(run):
    text = shown(run("003_feed_forward_and_delta_rule")[0])
    assert "h^(2) = 0.8909, 0.9677, 0.9910" in text and "h^(3) = 0.8355" in text  # errata 1 and 2
    assert "truncated: [0.8909, 0.9677, 0.9909, 0.8354]" in text  # what the document printed
    assert "autodiff: The local minimum occurs at 2.249965 (70 steps)" in text
    assert "by hand: The local minimum occurs at 2.249965 (70 steps)" in text
    assert 1e-5 < numbers_after(text, "distance to 2.25:")[0] < 1e-4  # erratum 9
    assert "16 parameters, cost 'half'" in text and "(agree at rtol=1e-12)" in text
    small, whole = numbers_after(text, "dJ/dw11 =")
    assert small == pytest.approx(whole, rel=1e-12)


def test_004_the_three_three_one_network_and_its_errata(run):
    text = shown(run("004_three_three_one_network")[0])
    assert "z1 = [1.9, 2.4, 1.4]" in text
    for row, (printed, formula) in {"h1": (0.86999, 0.869892), "h2": (0.916527, 0.916827), "h3": (0.402153, 0.802184),
                                    "w2 . h": (0.554, 0.645362), "predicted": (0.853, 0.945362),
                                    "loss": (0.02006, 0.002985)}.items():
        assert numbers_after(text, row + " ")[-2:] == [printed, formula], row
    assert numbers_after(text, "w2 . (the printed h) =") == [0.485589]
    lines = text.splitlines()
    hand = [i for i, line in enumerate(lines) if " by hand " in line]
    assert len(hand) == 5
    for i in hand:
        assert re.findall(NUMBER, lines[i].split("by hand")[1]) == re.findall(NUMBER, lines[i + 1].split("autodiff")[1])
    dL_dh = numbers_after(text, "(4) dL/dh, by hand:")[:3]  # step (4): the gradient at the activations
    for i in range(3):
        assert float(re.search(rf"d\(loss\)/d\(a1\.{i + 1}\) = ({NUMBER})$", text, re.M).group(1)) == pytest.approx(
            dL_dh[i], rel=1e-5)  # explain prints 6 digits
    assert "16 parameters, cost 'sum'" in text and "(agree at rtol=1e-12)" in text
    before, after = numbers_after(text, "loss before")[0], numbers_after(text, "loss before")[-1]
    assert after < before
