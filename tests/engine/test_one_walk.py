"""The engine's shape: one reverse walk, one op table, imports that only point down.

These tests keep the structure true: a formula that disagrees with its partial, an op
that needs a second file, an import cycle or a fast path that drifts from the plain walk
each fails one of them.
"""
from __future__ import annotations

import ast
import math
import random
from pathlib import Path

import pytest

import engine
from engine import Value, backward_steps, explain, gradcheck, hessian, ops
from engine.autodiff import _backward_floats, reverse_walk, topological_order
from engine.draw import draw
from engine.ops import FloatMath, Op
from engine.value import apply

ENGINE = Path(engine.__file__).parent


# ---------------------------------------------------------------- one statement per derivative

def _evaluate_formula(text: str, names: list[str], xs: tuple, out: float) -> float:
    """Read a formula as a person would, and compute it."""
    env = {"cosh": math.cosh, "tanh": math.tanh, "exp": math.exp, "sin": math.sin, "cos": math.cos,
           "sigmoid": lambda a: 1.0 / (1.0 + math.exp(-a)), "sech2": lambda a: 1.0 / math.cosh(a) ** 2,
           "sqrt": math.sqrt, "out": out, **dict(zip(names, xs))}
    python = text.replace("^", "**").replace("σ(", "sigmoid(").replace("sech²(", "sech2(")
    return float(eval(python, {"__builtins__": {}}, env))  # our own formula strings only


POINTS = {1: [(0.7,), (-1.9,), (2.4,)], 2: [(1.5, -2.25), (-0.3, 0.8)], None: [(0.3, -1.2, 2.0, 0.5)]}


@pytest.mark.parametrize("op", [*ops.TABLE.values(), ops.power(2), ops.power(3), ops.power(-1.5),
                                ops.power(0.5), ops.power(1), ops.power(0)], ids=repr)
def test_each_formula_says_what_its_partial_computes(op):
    for xs in POINTS[op.arity]:
        if op in (ops.LOG, ops.SQRT) or op.param not in (None, 0, 1, 2, 3):
            xs = tuple(abs(x) for x in xs)
        out = op.forward(FloatMath, *xs)
        names = [f"v{i}" for i in range(len(xs))]
        for i, partial in enumerate(op.partials(FloatMath, out, *xs)):
            text = op.formula(i, len(xs)).format(*names, out="out")
            assert _evaluate_formula(text, names, xs, out) == pytest.approx(partial, rel=1e-12, abs=1e-15), text


def test_no_reader_branches_on_op_names():
    """How an op is written and differentiated lives in its entry, not in the readers."""
    for path in ENGINE.glob("*.py"):
        if path.name != "ops.py":
            assert ".name ==" not in path.read_text(encoding="utf-8").replace("__name__ ==", ""), path.name


# ---------------------------------------------------------------- a new op is one entry

SOFTPLUS = Op(
    name="softplus", symbol="softplus", arity=1, written="softplus({0})",
    forward=lambda m, a: m.log(1.0 + m.exp(a)),
    partials=lambda m, out, a: (m.sigmoid(a),), formulas=("σ({0})",),
)


def _softplus_cost(x: Value, y: Value) -> Value:
    return apply(SOFTPLUS, x * y) * x


def test_a_new_op_gets_backward_steps_drawing_higher_order_gradcheck_and_replay():
    x, y = Value(0.4, label="x"), Value(-1.3, label="y")
    C = _softplus_cost(x, y)
    C.label = "C"
    C.backward()
    s = 1.0 / (1.0 + math.exp(-x.data * y.data))  # d softplus(u)/du = sigmoid(u)
    assert x.grad == pytest.approx(math.log1p(math.exp(x.data * y.data)) + x.data * s * y.data, rel=1e-12)
    assert y.grad == pytest.approx(x.data * s * x.data, rel=1e-12)
    expected = (x.grad, y.grad)
    assert explain(C) and (x.grad, y.grad) == expected  # explaining changes nothing
    steps = list(backward_steps(C))
    assert any(e.formula == "σ(mul1)" for step in steps for e in step.edges)
    assert "softplus(mul1)" in explain(C)
    assert "softplus" in draw(C).source
    assert gradcheck(_softplus_cost, [x, y])
    h = hessian(lambda u: apply(SOFTPLUS, u), [0.3])[0][0]
    assert h == pytest.approx(s_prime(0.3), rel=1e-12)
    compiled = engine.compile(C, wrt=[x, y])
    x.grad = y.grad = 0.0
    assert compiled.forward() == pytest.approx(C.data, rel=1e-12)
    compiled.backward()
    assert (x.grad, y.grad) == pytest.approx(expected, rel=1e-12)


def s_prime(u: float) -> float:
    s = 1.0 / (1.0 + math.exp(-u))
    return s * (1.0 - s)


# ---------------------------------------------------------------- one walk, and its fast path

def _random_graph(rng: random.Random, leaves: list[Value], size: int) -> Value:
    nodes = list(leaves)
    for _ in range(size):
        a, b = rng.choice(nodes), rng.choice(nodes)
        kind = rng.randrange(7)
        if kind == 0:
            v = a + b
        elif kind == 1:
            v = a * b
        elif kind == 2:
            v = a - b
        elif kind == 3:
            v = a.tanh()
        elif kind == 4:
            v = Value.dot([a, b], [b, a])
        elif kind == 5:
            v = Value.sum([a, b, a])
        else:
            v = (a * 0.5).sin()
        nodes.append(v)
    return nodes[-1] + Value.sum(nodes[-5:])


@pytest.mark.parametrize("seed", range(20))
def test_the_fast_float_backward_is_the_plain_walk_bit_for_bit(seed):
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-1.5, 1.5), label=f"x{i}") for i in range(4)]
    root = _random_graph(rng, leaves, 30)
    order = topological_order(root)
    before = {v: rng.choice([0.0, rng.uniform(-2, 2)]) for v in order if v.op is None}
    seed_grad = rng.uniform(-2, 2)

    grads = {root: seed_grad}
    for _ in reverse_walk(order, grads):
        pass
    expected = [before[v] + grads.get(v, 0.0) if v.op is None else grads.get(v, 0.0) for v in order]

    for v, g in before.items():
        v.grad = g
    _backward_floats(order, seed_grad)
    assert [v.grad for v in order] == expected  # the same floats, not merely close

    for v, g in before.items():
        v.grad = g
    for _ in backward_steps(root, seed_grad):
        pass
    assert [v.grad for v in order] == expected


def test_backward_twice_doubles_a_leaf_exactly():
    x = Value(0.7)
    y = x * x.tanh() + x.exp()
    y.backward()
    once = x.grad
    with pytest.warns(engine.RepeatedBackwardWarning):  # leaves accumulate, and it says so
        y.backward()
    assert x.grad == 2 * once


# ---------------------------------------------------------------- imports only point down

def _imports(path: Path) -> tuple[set[str], list[tuple[str, int]]]:
    """The engine modules a file imports at its top, and those it imports inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top, local = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            targets = [node.module] if node.module else [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("engine"):
            targets = [node.module.partition(".")[2] or a.name for a in node.names]
        else:
            continue
        inside = any(isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef)) for p in _ancestors(tree, node))
        for t in targets:
            if (ENGINE / f"{t}.py").exists():
                (local.append((t, node.lineno)) if inside else top.add(t))
    return top, local


def _ancestors(tree: ast.AST, target: ast.AST) -> list[ast.AST]:
    path: list[ast.AST] = []

    def visit(node: ast.AST, trail: list[ast.AST]) -> bool:
        if node is target:
            path.extend(trail)
            return True
        return any(visit(child, trail + [node]) for child in ast.iter_child_nodes(node))

    visit(tree, [])
    return path


def test_engine_imports_form_no_cycle_and_hide_none_in_functions():
    graph, hidden = {}, {}
    for path in ENGINE.glob("*.py"):
        top, local = _imports(path)
        graph[path.stem] = top - {path.stem}
        if local:
            hidden[path.stem] = sorted(t for t, _ in local)
    # The two kept on purpose: Value.backward reaches the walk made of Values, and the
    # package's `compile` loads numpy only when first called.
    assert hidden == {"value": ["autodiff"], "__init__": ["replay"]}
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        if state.get(module) == 1:
            raise AssertionError("import cycle: " + " -> ".join(trail + [module]))
        if state.get(module) == 2:
            return
        state[module] = 1
        for other in sorted(graph.get(module, ())):
            visit(other, trail + [module])
        state[module] = 2

    for module in sorted(graph):
        visit(module, [])
    assert "draw" not in graph["value"] and graph["ops"] == set()
