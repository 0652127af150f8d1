"""The engine against PyTorch (float64): value, gradient and Hessian agree to 1e-10.

Random expressions over every op (hypothesis; inputs kept inside each op's domain) and
random MLPs built from Values. Runs when torch is installed; required in CI (`.ci/run`
installs the CPU build). "Agree to 1e-10" means |engine - torch| <= 1e-10 * max(1, the
largest magnitude in the compared array): relative where numbers are large, absolute
where they are small.
"""
from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import engine
from engine import Value
from engine.autodiff import gradients
from tests.conftest import require
from tests.engine.graphs import mlp_loss

try:
    import torch
except ImportError:  # the comparison is optional outside CI
    torch = None

pytestmark = pytest.mark.torch
TOL = 1e-10
N_VARS = 3


@pytest.fixture(autouse=True, scope="module")
def _torch_one_thread():
    require(torch is not None, "PyTorch (pip install torch)")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def assert_agree(ours, theirs, what):
    flat_ours, flat_theirs = _flatten(ours), _flatten(theirs)
    assert len(flat_ours) == len(flat_theirs), what
    scale = max([1.0] + [abs(t) for t in flat_theirs])
    for i, (a, b) in enumerate(zip(flat_ours, flat_theirs)):
        assert abs(a - b) <= TOL * scale, f"{what}[{i}]: engine {a!r}, torch {b!r}"


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flatten(item)]
    return [float(x)]


# ---------------------------------------------------------------- expressions

UNARY = ["neg", "exp", "log", "tanh", "sech2", "sigmoid", "relu", "sin", "cos", "sqrt", "abs"]
BINARY = ["add", "sub", "mul", "div"]
POWERS = [2.0, 3.0, 0.5, 1.5, -1.0, -2.0]


def evaluate(expr, xs, lib):
    """Evaluate an expression tree with Values (lib=None) or torch tensors (lib=torch).

    Domain guards are part of the expression: log, sqrt, division and non-integer or negative
    powers act on u*u + 0.5, which is positive.
    """
    kind = expr[0]
    if kind == "var":
        return xs[expr[1]]
    if kind == "const":
        return expr[1] if lib is None else torch.tensor(expr[1], dtype=torch.float64)
    if kind == "pow":
        u = evaluate(expr[2], xs, lib)
        p = expr[1]
        base = u if p in (2.0, 3.0) else u * u + 0.5
        return base**p
    if kind in BINARY:
        a, b = evaluate(expr[1], xs, lib), evaluate(expr[2], xs, lib)
        if kind == "add":
            return a + b
        if kind == "sub":
            return a - b
        if kind == "mul":
            return a * b
        return a / (b * b + 0.5)
    if kind == "sum":
        terms = [evaluate(e, xs, lib) for e in expr[1]]
        if lib is None:
            return Value.sum(terms)
        return torch.stack([torch.as_tensor(t, dtype=torch.float64) for t in terms]).sum()
    if kind == "dot":
        ws = [evaluate(e, xs, lib) for e in expr[1]]
        vs = [evaluate(e, xs, lib) for e in expr[2]]
        if lib is None:
            return Value.dot(ws, vs)
        stack = lambda ts: torch.stack([torch.as_tensor(t, dtype=torch.float64) for t in ts])  # noqa: E731
        return (stack(ws) * stack(vs)).sum()
    u = evaluate(expr[1], xs, lib)
    if kind == "neg":
        return -u
    if kind in ("log", "sqrt"):
        u = u * u + 0.5
    if lib is None:
        return getattr(Value(u) if not isinstance(u, Value) else u, kind)()
    if kind == "sech2":
        return 1.0 / torch.cosh(torch.as_tensor(u, dtype=torch.float64)) ** 2
    return getattr(torch, kind)(torch.as_tensor(u, dtype=torch.float64))


def leaves():
    return st.one_of(
        st.integers(0, N_VARS - 1).map(lambda i: ("var", i)),
        st.integers(0, N_VARS - 1).map(lambda i: ("var", i)),
        st.floats(-2.0, 2.0, allow_nan=False).map(lambda c: ("const", c)),
    )


def extend(children):
    pairs = st.lists(st.tuples(children, children), min_size=1, max_size=3)
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), children),
        st.tuples(st.just("pow"), st.sampled_from(POWERS), children),
        st.tuples(st.sampled_from(BINARY), children, children),
        st.tuples(st.just("sum"), st.lists(children, min_size=1, max_size=3)),
        pairs.map(lambda ps: ("dot", [p[0] for p in ps], [p[1] for p in ps])),
    )


EXPRESSIONS = st.recursive(leaves(), extend, max_leaves=8)
POINTS = st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=N_VARS, max_size=N_VARS)


def engine_results(expr, point):
    def f(*xs):
        y = evaluate(expr, xs, None)
        return y if isinstance(y, Value) else Value(y)

    xs = [Value(x) for x in point]
    y = f(*xs)
    y.backward()  # the ordinary float backward, as users run it
    return y.data, [x.grad for x in xs], engine.hessian(f, point)


def torch_results(expr, point):
    def f(x):
        y = evaluate(expr, [x[i] for i in range(N_VARS)], torch)
        return torch.as_tensor(y, dtype=torch.float64) + 0.0 * x.sum()

    x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    y = f(x)
    (g,) = torch.autograd.grad(y, x)
    H = torch.autograd.functional.hessian(f, x.detach())
    return y.item(), g.tolist(), H.tolist()


def compare_with_torch(expr, point):
    try:
        ours = engine_results(expr, point)
    except (OverflowError, ZeroDivisionError):
        reject()  # out of floats' range: nothing to compare
    theirs = torch_results(expr, point)
    if not all(math.isfinite(v) and abs(v) < 1e12 for v in _flatten(theirs)):
        reject()
    assert_agree(ours[0], theirs[0], "value")
    assert_agree(ours[1], theirs[1], "gradient")
    assert_agree(ours[2], theirs[2], "Hessian")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, POINTS)
def test_random_expressions_agree_with_torch(expr, point):
    compare_with_torch(expr, point)


def test_an_expression_with_every_op_agrees_with_torch():
    x, y, z = ("var", 0), ("var", 1), ("var", 2)
    expr = ("sum", [
        ("mul", ("exp", ("sin", x)), ("log", ("tanh", ("sech2", y)))),
        ("div", ("sigmoid", ("cos", z)), ("sub", x, ("neg", y))),
        ("relu", ("add", x, ("const", 0.25))),
        ("mul", ("sqrt", ("abs", y)), ("abs", ("sub", z, x))),
        ("dot", [("pow", 3.0, x), ("pow", 0.5, y)], [("pow", -1.0, z), ("pow", 2.0, ("mul", x, z))]),
    ])
    used = set()

    def walk(e):
        used.add(e[0])
        for part in e[1:]:
            if isinstance(part, tuple):
                walk(part)
            elif isinstance(part, list):
                for p in part:
                    walk(p)

    walk(expr)
    assert set(engine.ops.TABLE) | {"pow"} <= used | {"var", "const"}
    compare_with_torch(expr, [0.4, -0.8, 1.1])


# ---------------------------------------------------------------- MLPs

ACTIVATIONS = ["tanh", "sigmoid", "relu", None]


def torch_mlp(p, sizes, acts, x, y):
    k = 0
    a = torch.tensor(x, dtype=torch.float64)
    for (nin, nout), act in zip(zip(sizes, sizes[1:]), acts):
        outs = []
        for _ in range(nout):
            w, b = p[k:k + nin], p[k + nin]
            k += nin + 1
            z = (w * a).sum() + b
            outs.append(getattr(torch, act)(z) if act else z)
        a = torch.stack(outs)
    return ((a - torch.tensor(y, dtype=torch.float64)) ** 2).sum()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(1, 3), min_size=2, max_size=4),
    st.lists(st.sampled_from(ACTIVATIONS), min_size=3, max_size=3),
    st.integers(0, 2**32 - 1),
)
def test_random_mlps_agree_with_torch(sizes, acts, seed):
    rng = random.Random(seed)
    count = sum((nin + 1) * nout for nin, nout in zip(sizes, sizes[1:]))
    start = [rng.uniform(-1.5, 1.5) for _ in range(count)]
    x = [rng.uniform(-1, 1) for _ in range(sizes[0])]
    y = [rng.uniform(-1, 1) for _ in range(sizes[-1])]
    acts = acts[: len(sizes) - 1]

    params = [Value(v) for v in start]
    loss = mlp_loss(params, sizes, acts, x, y)
    loss.backward()
    ours_grad = [p.grad for p in params]
    assert ours_grad == gradients(loss, params)  # the dict core agrees with backward exactly
    ours_H = engine.hessian(lambda *ps: mlp_loss(ps, sizes, acts, x, y), start)

    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    their_loss = torch_mlp(p, sizes, acts, x, y)
    (their_grad,) = torch.autograd.grad(their_loss, p)
    their_H = torch.autograd.functional.hessian(
        lambda q: torch_mlp(q, sizes, acts, x, y), p.detach()
    )
    assert_agree(loss.data, their_loss.item(), "loss")
    assert_agree(ours_grad, their_grad.tolist(), "gradient")
    assert_agree(ours_H, their_H.tolist(), "Hessian")
