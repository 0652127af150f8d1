"""fit: learning, history, determinism, batches, progress bar, bad data, the compiled path."""
from __future__ import annotations

import fcntl
import importlib.util
import io
import os
import pty
import re
import select
import struct
import sys
import termios
import threading

import pytest

import nn
from engine import no_grad
from engine.context import state
from nn import MLP, data, fit, optim
from nn.train import progress_bar
from tests.threads import run_threads


def test_fit_learns_xor_and_returns_a_history():
    model = MLP(2, [8, 1], seed=0)
    d = data.load("xor")
    h = fit(model, d, loss="mse", optimiser=optim.Adam(model.parameters(), lr=0.05), epochs=150, progress=False)
    assert h.epochs == 150 and len(h.accuracy) == 150
    assert h.loss[-1] < h.loss[0] * 0.1
    assert nn.evaluate(model, d, "mse")[1] == 1.0


def test_fit_is_deterministic_under_a_seed():
    def run(seed):
        model = MLP(2, [6, 1], seed=3)
        h = fit(model, data.load("moons", n=40), loss="hinge", optimiser=optim.SGD(model.parameters(), lr=0.05),
                epochs=5, batch_size=8, seed=seed, progress=False)
        return h.loss, [p.data for p in model.parameters()]

    assert run(1) == run(1)
    assert run(1) != run(2)  # the seed shuffles the batches


def test_full_batch_step_equals_a_manual_step():
    d = data.load("table10")
    a, b = MLP(2, [3, 1], seed=5), MLP(2, [3, 1], seed=5)
    fit(a, d, loss="mse", optimiser=optim.SGD(a.parameters(), lr=0.1), epochs=1, progress=False)
    opt = optim.SGD(b.parameters(), lr=0.1)
    terms = [nn.losses.mean_squared_error(b(x), y) for x, y in zip(d.X, d.y)]
    (sum(terms[1:], terms[0]) * (1 / len(terms))).backward()
    opt.step()
    assert [p.data for p in a.parameters()] == pytest.approx([p.data for p in b.parameters()], abs=1e-14)


def test_history_accuracy_is_none_for_regression():
    model = MLP(1, [1], seed=0)
    h = fit(model, ([[0.0], [1.0]], [0.3, 2.5]), loss="mse", epochs=2, progress=False)
    assert h.accuracy == [None, None]


def test_bce_and_cross_entropy_train():
    model = MLP(2, [8, 1], seed=1)
    d = data.load("xor", labels="01")
    fit(model, d, loss="bce", optimiser=optim.Adam(model.parameters(), lr=0.05), epochs=200, progress=False)
    assert nn.evaluate(model, d, "bce")[1] == 1.0
    model = MLP(2, [8, 2], seed=1)
    d = data.Dataset([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0], "xor classes")
    fit(model, d, loss="cross_entropy", optimiser=optim.Adam(model.parameters(), lr=0.05), epochs=200, progress=False)
    assert nn.evaluate(model, d, "cross_entropy")[1] == 1.0


def test_l2_pulls_weights_towards_zero():
    def norm(l2):
        model = MLP(2, [4, 1], seed=2)
        fit(model, data.load("xor"), loss="mse", optimiser=optim.SGD(model.parameters(), lr=0.1),
            epochs=30, l2=l2, progress=False)
        return sum(p.data ** 2 for name, p in model.named_parameters() if ".w." in name)

    assert norm(0.5) < norm(0.0)


def test_callback_sees_every_epoch():
    seen = []
    model = MLP(2, [2, 1], seed=0)
    fit(model, data.load("xor"), epochs=3, progress=False, callback=lambda e, l, a: seen.append(e))
    assert seen == [1, 2, 3]


def test_bad_shapes_are_value_errors_and_leave_the_model_untouched():
    model = MLP(3, [4, 1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match="row 0 of the data has 2 features but the model takes 3 inputs"):
        fit(model, data.load("xor"), epochs=1, progress=False)
    with pytest.raises(ValueError, match="target 1: .*1 output but the target has 2 values"):
        fit(model, ([[1, 2, 3], [4, 5, 6]], [1.0, [1.0, 0.0]]), epochs=1, progress=False)
    with pytest.raises(ValueError, match="labels 0 or 1"):
        fit(model, ([[1, 2, 3]], [-1]), loss="bce", epochs=1, progress=False)
    with pytest.raises(ValueError, match="2 inputs but 1 targets"):
        fit(model, ([[1, 2, 3], [1, 2, 3]], [1.0]), epochs=1, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, ([[1, 2, 3]], [1.0]), epochs=1, batch_size=0, progress=False)
    assert [p.data for p in model.parameters()] == before


def _on_a_terminal(monkeypatch, columns: int, train) -> str:
    """What `train()` writes to stderr when stderr is a terminal `columns` wide (a pty)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    with os.fdopen(slave, "w", encoding="utf-8") as tty:
        monkeypatch.setattr(sys, "stderr", tty)
        train()
        tty.flush()
        monkeypatch.undo()
    chunks = []
    while select.select([master], [], [], 0)[0]:
        try:
            chunks.append(os.read(master, 65536))
        except OSError:  # the terminal's other end is closed: all read
            break
    os.close(master)
    return b"".join(chunks).decode("utf-8")


def test_progress_bar_on_a_terminal_fits_its_width_with_eta_loss_and_accuracy(monkeypatch):
    text = _on_a_terminal(monkeypatch, 80, lambda: fit(MLP(2, [2, 1], seed=0), data.load("xor"),
                                                       loss="hinge", epochs=3))  # progress=None
    lines = [line for line in re.split(r"[\r\n]+", text) if line]
    final = lines[-1]
    assert final.startswith("training (replay): 100%") and "3/3" in final  # the path that runs
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d", final)  # elapsed < remaining: the ETA
    assert re.search(r"loss=[\d.e+-]+, acc=\d+\.\d%\]", final)
    assert max(len(line.rstrip()) for line in lines) < 80  # one line that never wraps
    narrow = _on_a_terminal(monkeypatch, 50, lambda: fit(MLP(2, [2, 1], seed=0), data.load("xor"), epochs=3))
    assert max(len(line.rstrip()) for line in re.split(r"[\r\n]+", narrow)) < 50


def test_progress_bar_leaves_out_accuracy_when_there_is_none(capsys):
    fit(MLP(1, [1], seed=0), ([[0.0], [1.0]], [0.3, 2.5]), epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "2/2" in err and "loss=" in err and "acc=" not in err


def test_disabled_progress_bar_prints_nothing():
    quiet = io.StringIO()
    with progress_bar(5, enabled=False, file=quiet) as bar:
        bar.update(5)
    assert quiet.getvalue() == ""


def test_fit_is_quiet_when_not_a_terminal(capsys):
    fit(MLP(2, [2, 1], seed=0), data.load("xor"), epochs=2)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize("loss, labels, sizes", [
    ("mse", "pm1", [6, 1]), ("hinge", "pm1", [6, 1]), ("bce", "01", [6, 1]),
    ("cross_entropy", "class", [6, 2]), ("hinge", "class", [6, 2]),
])
def test_compiled_training_matches_eager_training(loss, labels, sizes):
    d = data.load("moons", n=30, labels="01" if labels == "01" else "pm1")
    if labels == "class":
        d = data.Dataset(d.X, [int(v > 0) for v in d.y], "moons classes")
    results = []
    for compile_ in (False, True):
        model = MLP(2, sizes, seed=4)
        h = fit(model, d, loss=loss, optimiser=optim.SGD(model.parameters(), lr=0.1), epochs=4,
                batch_size=8, seed=1, l2=0.01, compile=compile_, progress=False)
        results.append((h, [p.data for p in model.parameters()]))
    (h1, p1), (h2, p2) = results
    assert p2 == pytest.approx(p1, rel=1e-9, abs=1e-12)
    assert h2.loss == pytest.approx(h1.loss, rel=1e-9)
    assert h2.accuracy[-1] is not None



def test_each_step_runs_with_the_cyclic_collector_paused(monkeypatch):
    import contextlib

    import nn.train

    steps = []

    @contextlib.contextmanager
    def counting():
        steps.append(1)
        yield

    monkeypatch.setattr(nn.train, "gc_paused", counting)
    fit(MLP(2, [2, 1], seed=0), data.load("xor"), epochs=3, batch_size=2, progress=False, compile=False)
    assert len(steps) == 3 * 2  # every step that builds a graph (the replay's array steps build none)


# ---------------------------------------------------------------- beside other threads

def _train_moons(model: MLP) -> list[float]:
    moons = data.load("moons", n=40, seed=1)
    fit(model, moons, loss="mse", optimiser=optim.SGD(model.parameters(), lr=0.1), epochs=15,
        progress=False)
    return [p.data for p in model.parameters()]


def test_training_beside_an_evaluator_in_no_grad_gives_the_same_parameters():
    """no_grad is per thread: an evaluator never switches recording off in the trainer."""
    assert state().grad_enabled
    start = [p.data for p in MLP(2, [8, 1], seed=3).parameters()]
    alone = _train_moons(MLP(2, [8, 1], seed=3))
    assert alone != start
    evaluations = 0
    trained: list[list[float]] = []
    done = threading.Event()

    def evaluator():
        nonlocal evaluations
        watched = MLP(2, [8, 1], seed=4)
        while not done.is_set():
            with no_grad():
                assert watched([0.3, -0.2])[0].is_leaf  # nothing recorded here
            evaluations += 1

    def trainer():
        try:
            trained.append(_train_moons(MLP(2, [8, 1], seed=3)))
        finally:
            done.set()

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so the two really interleave
    try:
        run_threads(evaluator, trainer)
    finally:
        sys.setswitchinterval(switch)
    assert evaluations > 10
    assert trained == [alone]  # bit for bit


def test_inside_a_lab_tamper_fit_trains_eagerly_and_says_why():
    """The replay computes honest partials, so a tampered backward needs the walk."""
    from engine.lab import tamper

    d = data.load("xor")
    honest = fit(MLP(2, [3, 1], seed=2), d, epochs=3, progress=False)
    with tamper("tanh", "tanh-as-1-minus-tanh"):
        tampered = fit(MLP(2, [3, 1], seed=2), d, epochs=3, progress=False)
    assert honest.path == "compiled replay"
    assert tampered.path.startswith("eager: the backward of tanh is tampered with")
    assert tampered.loss != honest.loss
