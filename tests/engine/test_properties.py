"""Property tests (hypothesis): random expression trees over every op against central finite
differences, and algebraic identities that gradients must satisfy.

A tree is a recipe (nested tuples) evaluated by two independent interpreters: one builds
engine Values, one computes with plain floats and `math`. Ops with a restricted domain
get inputs that are in it by construction (log, fractional and negative powers and
divisors see `t*t + 0.5`), so no example is wasted; examples that overflow, grow huge or
sit on relu's kink are discarded.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import Value

N_VARS = 3
SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)

UNARY = ["neg", "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos"]
BINARY = ["add", "sub", "mul", "div"]
EXPONENTS = [2.0, 3.0, -1.0, 0.5, 1.5, -2.0, 0.0, 1.0]

leaf = st.one_of(
    st.tuples(st.just("var"), st.integers(0, N_VARS - 1)),
    st.tuples(st.just("const"), st.floats(-2.0, 2.0, allow_nan=False).filter(lambda c: abs(c) > 1e-3)),
)


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), children),
        st.tuples(st.just("pow"), st.sampled_from(EXPONENTS), children),
        st.tuples(st.sampled_from(BINARY), children, children),
        st.tuples(st.just("sum"), st.lists(children, min_size=1, max_size=4)),
        st.tuples(st.just("dot"), st.lists(st.tuples(children, children), min_size=1, max_size=3)),
    )


trees = st.recursive(leaf, _extend, max_leaves=10)
KINDS = UNARY + ["pow"] + BINARY + ["sum", "dot"]


def rooted(kind: str):
    """Random trees whose root is `kind`, so every op is exercised in every run."""
    if kind in UNARY:
        return st.tuples(st.just(kind), trees)
    if kind == "pow":
        return st.tuples(st.just("pow"), st.sampled_from(EXPONENTS), trees)
    if kind in BINARY:
        return st.tuples(st.just(kind), trees, trees)
    if kind == "sum":
        return st.tuples(st.just("sum"), st.lists(trees, min_size=1, max_size=4))
    return st.tuples(st.just("dot"), st.lists(st.tuples(trees, trees), min_size=1, max_size=3))
points = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=N_VARS, max_size=N_VARS)


class Kink(Exception):
    """The float interpreter met relu too close to 0, where no derivative exists."""


class _Floats:
    """The reference interpreter: floats and `math`, nothing from the engine."""

    exp, log, tanh, sin, cos = math.exp, math.log, math.tanh, math.sin, math.cos

    @staticmethod
    def sigmoid(a: float) -> float:
        return 1 / (1 + math.exp(-a)) if a >= 0 else math.exp(a) / (1 + math.exp(a))

    @staticmethod
    def relu(a: float) -> float:
        if abs(a) < 1e-4:
            raise Kink
        return max(a, 0.0)

    @staticmethod
    def total(xs: list[float]) -> float:
        return math.fsum(xs)

    @staticmethod
    def dot(ws: list[float], xs: list[float]) -> float:
        return math.fsum(w * x for w, x in zip(ws, xs))


class _Values:
    """The engine: every op through the operators, methods, Value.sum and Value.dot."""

    exp, log, tanh, sin, cos = Value.exp, Value.log, Value.tanh, Value.sin, Value.cos
    sigmoid, relu = Value.sigmoid, Value.relu

    @staticmethod
    def total(xs: list[Value]) -> Value:
        return Value.sum(xs)

    @staticmethod
    def dot(ws: list, xs: list) -> Value:
        return Value.dot(ws, xs)


def _lift(m, x):
    return x if m is _Floats or isinstance(x, Value) else Value(x)


def evaluate(tree, xs, m):
    """Evaluate a recipe on inputs `xs` with interpreter `m` (_Floats or _Values)."""
    kind = tree[0]
    if kind == "var":
        return xs[tree[1]]
    if kind == "const":
        return tree[1]
    if kind == "pow":
        p, a = tree[1], _lift(m, evaluate(tree[2], xs, m))
        if p != int(p) or p < 0:
            a = a * a + 0.5  # a positive base, away from 0
        return a**p
    if kind == "sum":
        return m.total([_lift(m, evaluate(c, xs, m)) for c in tree[1]])
    if kind == "dot":
        pairs = [(evaluate(w, xs, m), evaluate(x, xs, m)) for w, x in tree[1]]
        return m.dot([_lift(m, w) for w, _ in pairs], [_lift(m, x) for _, x in pairs])
    if kind in BINARY:
        a, b = _lift(m, evaluate(tree[1], xs, m)), evaluate(tree[2], xs, m)
        if kind == "add":
            return a + b
        if kind == "sub":
            return a - b
        if kind == "mul":
            return a * b
        return a / (b * b + 0.5)
    a = _lift(m, evaluate(tree[1], xs, m))
    if kind == "neg":
        return -a
    if kind == "log":
        return m.log(a * a + 0.5)
    return getattr(m, kind)(a)


def autodiff(tree, point):
    xs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    out = _lift(_Values, evaluate(tree, xs, _Values))
    out.backward()
    return out.data, [x.grad for x in xs]


def reference(tree, point) -> float:
    return evaluate(tree, list(point), _Floats)


def central_difference(tree, point, i: int, h: float = 1e-4) -> float:
    """d/dx_i by central differences with one Richardson step (error O(h^4))."""
    def d(step: float) -> float:
        up, down = list(point), list(point)
        up[i] += step
        down[i] -= step
        return (reference(tree, up) - reference(tree, down)) / (2 * step)

    return (4 * d(h / 2) - d(h)) / 3


def _usable(tree, point) -> float:
    """The float value of the tree at `point`, or discard the example."""
    try:
        value = reference(tree, point)
        for i in range(N_VARS):  # the finite-difference stencil must avoid kinks and overflow too
            for step in (-1e-4, 1e-4):
                moved = list(point)
                moved[i] += step
                reference(tree, moved)
    except (Kink, OverflowError, ZeroDivisionError, ValueError):
        assume(False)
    assume(abs(value) < 1e4)
    return value


def _check_against_central_differences(tree, point) -> None:
    value = _usable(tree, point)
    data, grads = autodiff(tree, point)
    assert data == pytest.approx(value, rel=1e-12, abs=1e-12)
    for i, g in enumerate(grads):
        numeric = central_difference(tree, point, i)
        assume(abs(numeric) < 1e5)
        assert g == pytest.approx(numeric, rel=1e-5, abs=1e-5 * (1 + abs(value))), (i, tree)


@SETTINGS
@given(trees, points)
def test_random_expression_trees_match_central_differences(tree, point):
    _check_against_central_differences(tree, point)


@pytest.mark.parametrize("kind", KINDS)
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_every_op_at_the_root_of_random_trees_matches_central_differences(kind, data):
    tree = data.draw(rooted(kind), label="tree")
    point = data.draw(points, label="point")
    _check_against_central_differences(tree, point)


@SETTINGS
@given(trees, points)
def test_gradients_are_reproducible_bit_for_bit(tree, point):
    _usable(tree, point)
    assert autodiff(tree, point) == autodiff(tree, point)


def _combined(trees_, point, combine):
    """Gradient wrt the inputs of combine(*nodes) where nodes are the trees on shared leaves."""
    xs = [Value(x) for x in point]
    nodes = [_lift(_Values, evaluate(t, xs, _Values)) for t in trees_]
    combine(*nodes).backward()
    return [x.grad for x in xs], [n.data for n in nodes]


def _close(a: list[float], b: list[float], scale: float) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12 * scale) for x, y in zip(a, b))


@SETTINGS
@given(trees, trees, points, st.floats(-3, 3), st.floats(-3, 3))
def test_linearity_of_the_gradient(f, g, point, alpha, beta):
    """grad(alpha f + beta g) = alpha grad f + beta grad g."""
    _usable(f, point), _usable(g, point)
    _, gf = autodiff(f, point)
    _, gg = autodiff(g, point)
    got, _ = _combined([f, g], point, lambda u, v: alpha * u + beta * v)
    expected = [alpha * a + beta * b for a, b in zip(gf, gg)]
    assert _close(got, expected, 1 + max(map(abs, gf + gg)))


@SETTINGS
@given(trees, trees, points)
def test_product_rule(f, g, point):
    """grad(f g) = f grad g + g grad f."""
    fv, gv = _usable(f, point), _usable(g, point)
    _, gf = autodiff(f, point)
    _, gg = autodiff(g, point)
    got, (fd, gd) = _combined([f, g], point, lambda u, v: u * v)
    expected = [fd * b + gd * a for a, b in zip(gf, gg)]
    assert _close(got, expected, (1 + abs(fv) + abs(gv)) * (1 + max(map(abs, gf + gg))))


@SETTINGS
@given(st.lists(trees, min_size=1, max_size=4), points)
def test_nary_sum_gradient_is_the_sum_of_gradients(fs, point):
    for f in fs:
        _usable(f, point)
    parts = [autodiff(f, point)[1] for f in fs]
    got, _ = _combined(fs, point, lambda *nodes: Value.sum(nodes))
    expected = [math.fsum(p[i] for p in parts) for i in range(N_VARS)]
    assert _close(got, expected, 1 + max(abs(x) for p in parts for x in p))


@SETTINGS
@given(st.lists(st.tuples(trees, trees), min_size=1, max_size=3), points)
def test_fused_dot_equals_its_binary_expansion(pairs, point):
    """Value.dot(w, x) and w_1*x_1 + w_2*x_2 + ... have the same gradients."""
    for w, x in pairs:
        _usable(w, point), _usable(x, point)
    flat = [t for pair in pairs for t in pair]
    n = len(pairs)
    fused, _ = _combined(flat, point, lambda *v: Value.dot(v[0::2], v[1::2]))
    def expanded(*v):
        acc = v[0] * v[1]
        for k in range(1, n):
            acc = acc + v[2 * k] * v[2 * k + 1]
        return acc
    binary, values = _combined(flat, point, expanded)
    scale = (1 + max(map(abs, values))) ** 2 * (1 + max(map(abs, binary)))
    assert _close(fused, binary, scale)
