"""SGD (with momentum) and Adam against their update formulas; bad gradients change nothing."""
from __future__ import annotations

import math

import pytest

from engine import Value
from nn.optim import SGD, Adam


def test_sgd_step():
    p = Value(1.0)
    p.grad = 0.5
    SGD([p], lr=0.1).step()
    assert p.data == pytest.approx(0.95)


def test_sgd_momentum_accumulates_velocity():
    p = Value(0.0)
    opt = SGD([p], lr=1.0, momentum=0.9)
    p.grad = 1.0
    opt.step()
    opt.step()
    assert p.data == pytest.approx(-(1.0 + 1.9))


def test_adam_first_step_moves_by_lr_in_the_sign_of_the_gradient():
    p, q = Value(0.0), Value(0.0)
    p.grad, q.grad = 3.0, -0.001
    Adam([p, q], lr=0.01).step()
    assert p.data == pytest.approx(-0.01, rel=1e-6) and q.data == pytest.approx(0.01, rel=1e-4)


def test_adam_matches_the_formula_over_steps():
    p = Value(1.0)
    opt = Adam([p], lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    m = v = 0.0
    x = 1.0
    for t in range(1, 4):
        g = 2 * x  # gradient of x^2
        p.grad = g
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        x -= 0.1 * (m / (1 - 0.9**t)) / (math.sqrt(v / (1 - 0.99**t)) + 1e-8)
        assert p.data == pytest.approx(x, rel=1e-12)


def test_zero_grad():
    ps = [Value(1.0), Value(2.0)]
    for p in ps:
        p.grad = 3.0
    SGD(ps, lr=0.1).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_a_non_finite_gradient_raises_and_changes_nothing(cls):
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    a.grad, b.grad = 0.5, float("nan")
    with pytest.raises(FloatingPointError, match="gradient of parameter b is nan"):
        cls([a, b], lr=0.1).step()
    assert (a.data, b.data) == (1.0, 2.0)


@pytest.mark.parametrize("kwargs, error", [
    ({"lr": 0.0}, ValueError), ({"lr": -1.0}, ValueError), ({"lr": float("inf")}, ValueError),
])
def test_bad_settings(kwargs, error):
    with pytest.raises(error):
        SGD([Value(1.0)], **kwargs)
    with pytest.raises(ValueError, match="momentum"):
        SGD([Value(1.0)], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="empty"):
        Adam([], lr=0.1)
    with pytest.raises(TypeError):
        Adam([1.0], lr=0.1)
    p = Value(1.0)
    with pytest.raises(ValueError, match="twice"):
        SGD([p, p], lr=0.1)


def _by_hand(kind: str, xs: list[float], grads: list[list[float]]) -> list[float]:
    """The rules one parameter at a time in Python floats, as written in the textbooks."""
    xs, vel, m, v = list(xs), [0.0] * len(xs), [0.0] * len(xs), [0.0] * len(xs)
    for t, gs in enumerate(grads, 1):
        for i, g in enumerate(gs):
            if kind == "sgd":
                xs[i] -= 0.1 * g
            elif kind == "momentum":
                vel[i] = 0.9 * vel[i] + g
                xs[i] -= 0.1 * vel[i]
            else:
                m[i] = 0.9 * m[i] + (1.0 - 0.9) * g
                v[i] = 0.999 * v[i] + (1.0 - 0.999) * g * g
                xs[i] -= 0.01 * (m[i] / (1.0 - 0.9**t)) / (math.sqrt(v[i] / (1.0 - 0.999**t)) + 1e-8)
    return xs


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_the_array_rule_gives_the_textbook_numbers_bit_for_bit(kind):
    import random

    rng = random.Random(kind)
    start = [rng.uniform(-3, 3) for _ in range(50)]
    grads = [[rng.uniform(-1, 1) * 10 ** rng.randint(-8, 3) for _ in start] for _ in range(6)]
    ps = [Value(x) for x in start]
    opt = {"sgd": lambda: SGD(ps, lr=0.1), "momentum": lambda: SGD(ps, lr=0.1, momentum=0.9),
           "adam": lambda: Adam(ps, lr=0.01)}[kind]()
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = g
        opt.step()
    assert [p.data for p in ps] == _by_hand(kind, start, grads)  # exactly, not approximately
    assert all(type(p.data) is float for p in ps)
