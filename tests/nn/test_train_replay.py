"""fit and evaluate through the compiled replay: the default, equal to eager, and honest
about when it cannot run (a loss whose graph changes with the data)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from nn import MLP, data, fit, losses, optim
from nn.train import _hits, evaluate


def _train(loss: str, compile: bool, labels: str = "pm1", sizes=(5, 1), batch_size=None, epochs=3):
    d = data.load("moons", n=26, labels="pm1" if labels == "class" else labels)
    if labels == "class":
        d = data.Dataset(d.X, [int(v > 0) for v in d.y], "moons classes")
    model = MLP(2, list(sizes), seed=2)
    history = fit(model, d, loss=loss, optimiser=optim.SGD(model.parameters(), lr=0.2), epochs=epochs,
                  batch_size=batch_size, l2=0.001, compile=compile, progress=False)
    return history, [p.data for p in model.parameters()]


@pytest.mark.parametrize("loss, labels, sizes", [("mse", "pm1", (5, 1)), ("hinge", "pm1", (4, 1)),
                                                 ("hinge", "class", (4, 2)), ("sse", "pm1", (3, 3, 1))])
@pytest.mark.parametrize("batch_size", [None, 8])  # 26 = 3 * 8 + 2: two batch sizes, one graph
def test_fit_replays_by_default_and_equals_eager(loss, labels, sizes, batch_size):
    replayed, p_replayed = _train(loss, True, labels, sizes, batch_size)
    eager, p_eager = _train(loss, False, labels, sizes, batch_size)
    assert replayed.path == "compiled replay" and eager.path == "eager"
    assert p_replayed == pytest.approx(p_eager, rel=1e-10, abs=1e-13)
    assert replayed.loss == pytest.approx(eager.loss, rel=1e-10)
    assert replayed.accuracy == eager.accuracy


def test_a_loss_that_branches_on_the_data_trains_eagerly_and_says_why():
    """Binary cross-entropy picks one of two forms by the sign of the score."""
    d = data.Dataset([[-3.0, 0.1], [0.2, 0.3], [3.0, 0.5]], [0, 1, 1], "signs")
    model = MLP.from_weights([([[1.0, 0.0]], [0.0], "linear")])  # scores -3, 0.2, 3: both forms
    history = fit(model, d, loss="bce", epochs=2, progress=False)
    assert history.path == "eager: the binary_cross_entropy graph changes with the data"


def test_a_folded_constant_that_does_not_matter_is_replayed_and_checked():
    """Softmax cross-entropy shifts the logits by their largest (a constant it folds in):
    any shift gives the same loss and gradients, so the replay keeps the first one."""
    replayed, params = _train("cross_entropy", True, "class", (4, 2))
    eager, p_eager = _train("cross_entropy", False, "class", (4, 2))
    assert replayed.path == "compiled replay"
    assert params == pytest.approx(p_eager, rel=1e-10, abs=1e-13)
    assert replayed.loss == pytest.approx(eager.loss, rel=1e-10)


def test_a_folded_constant_that_matters_is_refused():
    class Folded(losses.SquaredError):
        """A (wrong) loss that folds the output's number in: (o - y)^2 * o.data."""

        def forward(self, outputs, t):
            return super().forward(outputs, t) * outputs[0].data

    d = data.Dataset([[0.1], [0.5], [0.9]], [0.2, 0.4, 0.6], "line")
    model = MLP.from_weights([([[1.0]], [0.1], "linear")])
    history = fit(model, d, loss=Folded(), epochs=1, progress=False)
    assert history.path == "eager: the squared_error graph folds in numbers that depend on the data"


def test_evaluate_through_the_replay_equals_evaluate_eagerly():
    d = data.load("moons", n=40)
    model = MLP(2, [6, 1], seed=5)
    for loss in ("mse", "hinge"):
        fast, slow = evaluate(model, d, loss), evaluate(model, d, loss, compile=False)
        assert fast[0] == pytest.approx(slow[0], rel=1e-12) and fast[1] == slow[1]


SCORED = [  # (loss, outputs, one raw target from a random draw): every scorer the losses have
    ("mse", 1, lambda r: r.choice([-1.0, 1.0])), ("mse", 1, lambda r: r.choice([0.0, 1.0])),
    ("sse", 3, lambda r: [float(r.randrange(2)) for _ in range(3)]), ("hinge", 1, lambda r: r.choice([-1.0, 1.0])),
    ("hinge", 3, lambda r: r.randrange(3)), ("bce", 1, lambda r: r.choice([0.0, 1.0])),
    ("cross_entropy", 3, lambda r: r.randrange(3)),
]


@pytest.mark.parametrize("name, nout, draw", SCORED)
def test_scoring_a_batch_at_once_equals_scoring_example_by_example(name, nout, draw):
    loss, rng = losses.get(name), random.Random(nout)
    targets = [loss.encode(draw(rng), nout) for _ in range(30)]
    scorer = loss.scorer(targets)
    outputs = np.array([[round(rng.uniform(-2, 2), 0) for _ in range(nout)] for _ in targets])  # ties too
    plain = sum(scorer(o, t) for o, t in zip(outputs.tolist(), targets))
    assert 0 < plain < len(targets)  # a mix of right and wrong, so a miscount shows
    assert _hits(scorer, outputs, targets) == plain
    assert _hits(scorer, outputs, iter(targets), np.array(targets)) == plain  # as fit calls it
    at_once = scorer(outputs.T, np.array(targets).T)  # every scorer takes the batch whole: no loop per example
    assert isinstance(at_once, np.ndarray) and at_once.shape == (len(targets),)
    outputs[3, 0] = np.nan  # a NaN output scores as it does one example at a time
    assert _hits(scorer, outputs, targets) == sum(scorer(o, t) for o, t in zip(outputs.tolist(), targets))


# ---------------------------------------------------------------- the parameters as arrays

def _fit_moons(monkeypatch=None, optimiser=optim.SGD, callback=None, **options):
    d = data.load("moons", n=30, labels="pm1")
    model = MLP(2, [6, 1], seed=4)
    opt = optimiser(model.parameters(), lr=0.05)
    history = fit(model, d, loss="hinge", optimiser=opt, epochs=4, l2=0.001, progress=False,
                  callback=None if callback is None else lambda *a: callback(model, *a), **options)
    return history, model


@pytest.mark.parametrize("optimiser", [optim.SGD, optim.Adam])
def test_fit_keeps_the_parameters_in_arrays_with_the_numbers_of_stepping_values(monkeypatch, optimiser):
    """The array step (the replay and Optimiser.update, no Value touched) gives the very
    numbers of the replay stepping Values, grads included."""
    import nn.train

    fast, fast_model = _fit_moons(optimiser=optimiser, batch_size=7)
    monkeypatch.setattr(nn.train._Replay, "arrays_for", lambda self, optimiser: None)
    slow, slow_model = _fit_moons(optimiser=optimiser, batch_size=7)
    assert fast.loss == slow.loss and fast.accuracy == slow.accuracy
    assert [(p.data, p.grad) for p in fast_model.parameters()] == [(p.data, p.grad) for p in slow_model.parameters()]


def test_a_callback_sees_the_model_as_it_is_and_may_change_it():
    seen = []

    def look_and_reset(model, epoch, loss, accuracy):
        seen.append([p.data for p in model.parameters()])
        if epoch == 2:
            model.parameters()[0].data = 0.0  # a learner switches a weight off mid-run

    fast, fast_model = _fit_moons(callback=look_and_reset)
    fast_seen, seen[:] = seen[:], []
    eager, eager_model = _fit_moons(callback=look_and_reset, compile=False)
    assert np.allclose(fast_seen, seen, rtol=1e-10, atol=0.0) and len(seen) == 4  # eager takes the change, so must the replay
    untouched, _ = _fit_moons()
    assert untouched.loss[:2] == fast.loss[:2] and untouched.loss[3] != fast.loss[3]
    assert [p.data for p in fast_model.parameters()] == pytest.approx([p.data for p in eager_model.parameters()], rel=1e-10)


def test_a_callback_that_changes_a_weight_and_stops_the_run_keeps_its_change():
    class Stop(Exception):
        pass

    def clip_and_stop(model, epoch, loss, accuracy):
        model.parameters()[0].data = 0.25
        raise Stop

    d = data.load("moons", n=30, labels="pm1")
    model = MLP(2, [6, 1], seed=4)
    with pytest.raises(Stop):
        fit(model, d, loss="hinge", epochs=4, progress=False, callback=lambda *a: clip_and_stop(model, *a))
    assert model.parameters()[0].data == 0.25


def test_a_step_that_fails_leaves_the_last_good_numbers_in_the_values():
    d = data.Dataset([[1e100, 1.0], [1.0, -1.0]], [1.0, -1.0], "huge")  # the first step is fine, the second overflows
    results = []
    for compile in (True, False):
        model = MLP.from_weights([([[0.5, -0.5]], [0.0], "linear")])
        epochs = []
        with pytest.raises(OverflowError) as raised:
            fit(model, d, loss="mse", epochs=3, progress=False, compile=compile, callback=lambda *a: epochs.append(a))
        results.append((type(raised.value), len(epochs), [(p.data, p.grad) for p in model.parameters()]))
    assert results[0][:2] == results[1][:2] == (OverflowError, 1)
    assert np.allclose(results[0][2], results[1][2], rtol=1e-12, atol=0)
    assert results[0][2][0][0] != 0.5  # the first step's update is kept


def test_an_optimiser_over_some_parameters_trains_only_those_as_eager_does():
    """A frozen first layer: the optimiser moves the others; the replay steps Values then."""
    results = []
    for compile in (True, False):
        d = data.load("moons", n=30, labels="pm1")
        model = MLP(2, [4, 1], seed=5)
        frozen = model.layers[0].parameters()
        opt = optim.SGD(model.layers[1].parameters(), lr=0.1)
        history = fit(model, d, loss="hinge", optimiser=opt, epochs=3, progress=False, compile=compile)
        assert [p.data for p in frozen] == [p.data for p in MLP(2, [4, 1], seed=5).layers[0].parameters()]
        results.append((history.path, [p.data for p in model.parameters()]))
    assert results[0][0] == "compiled replay"
    assert np.allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-13)
