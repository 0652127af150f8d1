"""The compiled replay (`engine.compile`, `engine.replay`) against eager evaluation.

Compiled forward values and backward gradients must equal eager ones to 1e-12 (relative
to the magnitude), on random graphs over every op, on MLP-shaped graphs (where dots become
one matrix product), after new leaf data, and it must fail the way eager fails.
"""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from engine import Value, ops
from engine.replay import Compiled, NumpyMath, compile
from engine.ops import Op
from engine.value import apply

TOL = 1e-12


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def eager_grads(root: Value, leaves: list[Value]) -> tuple[float, list[float]]:
    for v in leaves:
        v.grad = 0.0
    root.backward()
    return root.data, [v.grad for v in leaves]


def replay(compiled: Compiled, leaves: list[Value]) -> tuple[float, list[float]]:
    for v in leaves:
        v.grad = 0.0
    value = compiled.forward()
    compiled.backward()
    return value, [v.grad for v in leaves]


# ---------------------------------------------------------------- random graphs over every op

UNARY = {
    "neg": lambda a: -a,
    "exp": lambda a: (a * 0.3).exp(),
    "log": lambda a: (a * a + 0.5).log(),
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "sin": Value.sin,
    "cos": Value.cos,
    "square": lambda a: a**2,
    "cube": lambda a: a**3,
    "sqrt": lambda a: (a * a + 1.0) ** 0.5,
    "inverse": lambda a: (a * a + 1.0) ** -1,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "const": lambda a, b: 2.5 * a - b / 3.0,
}


def random_graph(rng: random.Random, n_leaves: int = 4, n_ops: int = 30) -> tuple[Value, list[Value]]:
    leaves = [Value(rng.uniform(-2, 2), label=f"x{i}") for i in range(n_leaves)]
    nodes = list(leaves)
    for _ in range(n_ops):
        kind = rng.random()
        if kind < 0.4:
            nodes.append(rng.choice(list(UNARY.values()))(rng.choice(nodes)))
        elif kind < 0.8:
            nodes.append(rng.choice(list(BINARY.values()))(rng.choice(nodes), rng.choice(nodes)))
        elif kind < 0.9:
            nodes.append(Value.sum(rng.choice(nodes) for _ in range(rng.randint(1, 5))))
        else:
            k = rng.randint(1, 4)
            nodes.append(Value.dot([rng.choice(nodes) for _ in range(k)], [rng.choice(nodes) for _ in range(k)]))
        if not math.isfinite(nodes[-1].data) or abs(nodes[-1].data) > 1e6:
            nodes[-1] = nodes[-1].tanh()  # keep values tame so exp cannot overflow later
    # The root uses many nodes, so most of the graph matters.
    root = Value.sum(rng.sample(nodes[n_leaves:], min(8, len(nodes) - n_leaves)) + [nodes[-1]])
    return root, leaves


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_over_every_op_match_eager(seed):
    rng = random.Random(seed)
    root, leaves = random_graph(rng)
    value, grads = eager_grads(root, leaves)
    compiled = compile(root)
    c_value, c_grads = replay(compiled, leaves)
    assert close(c_value, value)
    assert all(close(c, e) for c, e in zip(c_grads, grads)), (c_grads, grads)


@pytest.mark.parametrize("seed", range(15))
def test_new_leaf_data_replays_like_a_rebuilt_graph(seed):
    rng = random.Random(1000 + seed)
    root, leaves = random_graph(rng)
    compiled = compile(root)
    for _ in range(3):
        for v in leaves:
            v.data = rng.uniform(-2, 2)
        c_value, c_grads = replay(compiled, leaves)
        # Rebuild eagerly with the same recipe and the new data.
        rebuilt, fresh = random_graph(random.Random(1000 + seed))
        for v, new in zip(fresh, leaves):
            v.data = new.data
        rebuilt = _reevaluate(root)
        value, grads = eager_grads(rebuilt, leaves)
        assert close(c_value, value)
        assert all(close(c, e) for c, e in zip(c_grads, grads))


def _reevaluate(root: Value) -> Value:
    """The same graph recomputed eagerly from its (updated) leaves, through the op table."""
    from engine import topological_order

    made: dict[Value, Value] = {}
    for v in topological_order(root):
        made[v] = v if v.is_leaf else apply(v.op, *[made[p] for p in v.parents])
    return made[root]


def test_every_fixed_op_and_pow_family_matches_eager_elementwise():
    rng = random.Random(7)
    for name, op in ops.TABLE.items():
        if op.arity is None:
            continue
        xs = [Value(rng.uniform(0.2, 2.0)) for _ in range(op.arity)]
        root = apply(op, *xs)
        value, grads = eager_grads(root, xs)
        c_value, c_grads = replay(compile(root), xs)
        assert close(c_value, value), name
        assert all(close(c, e) for c, e in zip(c_grads, grads)), name
    for p in (0.0, 0.5, 1.0, 2.0, -1.0, -2.5, 3.0):
        x = Value(1.7)
        value, grads = eager_grads(x**p, [x])
        c_value, c_grads = replay(compile(x**p), [x])
        assert close(c_value, value) and close(c_grads[0], grads[0]), p


def test_activations_at_their_edges_match_eager():
    """relu at 0 and below, sigmoid and tanh far out: the numpy backend mirrors the float one."""
    for x0 in (-800.0, -400.0, -3.0, 0.0, 1e-300, 2.0, 400.0, 800.0):
        x = Value(x0)
        for f in (Value.relu, Value.sigmoid, Value.tanh):
            root = f(x)
            value, grads = eager_grads(root, [x])
            c_value, c_grads = replay(compile(root), [x])
            assert close(c_value, value) and close(c_grads[0], grads[0]), (f.__name__, x0)


# ---------------------------------------------------------------- MLP-shaped graphs (the matmul path)

def mlp_loss(rng: random.Random, n: int, sizes: list[int], fused: bool):
    """A batch hinge loss over an MLP built from Values, like nn builds it."""
    layers = [
        ([[Value(rng.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)], [Value(rng.uniform(-0.1, 0.1)) for _ in range(nout)])
        for nin, nout in zip(sizes[:-1], sizes[1:])
    ]
    params = [p for W, b in layers for row, bi in zip(W, b) for p in (*row, bi)]
    X = [[Value(rng.uniform(-1, 1)) for _ in range(sizes[0])] for _ in range(n)]
    Y = [Value(rng.choice((-1.0, 1.0))) for _ in range(n)]

    def neuron(w, b, x):
        if fused:
            return Value.dot(w, x) + b
        z = w[0] * x[0]
        for wi, xi in zip(w[1:], x[1:]):
            z = z + wi * xi
        return z + b

    terms = []
    for x, y in zip(X, Y):
        a = x
        for k, (W, b) in enumerate(layers):
            a = [neuron(w, bi, a) for w, bi in zip(W, b)]
            if k < len(layers) - 1:
                a = [ai.relu() for ai in a]
        terms.append((1.0 - y * a[0]).relu())
    if fused:
        loss = Value.sum(terms) * (1.0 / n) + 1e-4 * Value.dot(params, params)
    else:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        reg = params[0] * params[0]
        for p in params[1:]:
            reg = reg + p * p
        loss = total * (1.0 / n) + 1e-4 * reg
    return loss, params, X, Y


@pytest.mark.parametrize("fused", [True, False])
def test_mlp_batch_matches_eager_and_uses_matrix_products(fused):
    loss, params, X, _ = mlp_loss(random.Random(3), n=12, sizes=[3, 5, 4, 1], fused=fused)
    value, grads = eager_grads(loss, params)
    compiled = compile(loss, wrt=params)
    c_value, c_grads = replay(compiled, params)
    assert close(c_value, value)
    assert all(close(c, e) for c, e in zip(c_grads, grads))
    kinds = {type(g).__name__ for g in compiled.groups}
    assert "DotMatmul" in kinds  # binary chains are rewritten into the same dots


def test_eager_binary_and_fused_networks_give_the_same_gradients():
    loss_b, params_b, _, _ = mlp_loss(random.Random(5), n=7, sizes=[2, 6, 6, 1], fused=False)
    loss_f, params_f, _, _ = mlp_loss(random.Random(5), n=7, sizes=[2, 6, 6, 1], fused=True)
    value_b, grads_b = eager_grads(loss_b, params_b)
    value_f, grads_f = eager_grads(loss_f, params_f)
    c_value, c_grads = replay(compile(loss_f, wrt=params_f), params_f)
    assert close(value_b, value_f) and close(c_value, value_f)
    assert all(close(b, f) and close(c, f) for b, f, c in zip(grads_b, grads_f, c_grads))


def test_training_steps_with_new_batches_track_eager():
    """SGD with fresh inputs every step: the replay follows the eager run step for step."""
    rng = random.Random(11)
    loss, params, X, Y = mlp_loss(rng, n=6, sizes=[2, 4, 1], fused=True)
    compiled = compile(loss, wrt=params)
    for step in range(5):
        for row in X:
            for v in row:
                v.data = rng.uniform(-1, 1)
        for y in Y:
            y.data = rng.choice((-1.0, 1.0))
        c_value, c_grads = replay(compiled, params)
        value, grads = eager_grads(_reevaluate(loss), params)
        assert close(c_value, value)
        assert all(close(c, e) for c, e in zip(c_grads, grads))
        for p in params:
            p.data -= 0.5 * p.grad


# ---------------------------------------------------------------- semantics

@pytest.mark.filterwarnings("ignore::engine.RepeatedBackwardWarning")  # on purpose
def test_backward_accumulates_into_leaves_like_eager():
    x, y = Value(1.5), Value(-0.5)
    root = x * y + x.tanh()
    compiled = compile(root)
    compiled.backward()
    compiled.backward()
    root2 = x * y + x.tanh()
    x_grad, y_grad = x.grad, y.grad
    x.grad = y.grad = 0.0
    root2.backward()
    root2.backward()
    assert close(x_grad, x.grad) and close(y_grad, y.grad)


def test_the_same_leaf_used_many_times_gets_every_contribution():
    x = Value(0.7)
    ps = [x, x, Value(2.0), x]
    root = Value.dot(ps, ps) + x * x + Value.sum([x, x, x])
    value, grads = eager_grads(root, [x])
    c_value, c_grads = replay(compile(root), [x])
    assert close(c_value, value) and close(c_grads[0], grads[0])


def test_backward_seed_scales_the_gradients():
    x = Value(0.3)
    compiled = compile((x * 3.0).sin())
    compiled.backward(2.0)
    assert close(x.grad, 2.0 * 3.0 * math.cos(0.9))


def test_wrt_fills_only_the_named_leaves():
    x, y = Value(2.0), Value(3.0)
    compiled = compile(x * y, wrt=[x])
    compiled.backward()
    assert x.grad == 3.0 and y.grad == 0.0


def test_a_leaf_root_compiles():
    x = Value(4.0)
    compiled = compile(x)
    x.data = 5.0
    assert compiled.forward() == 5.0
    compiled.backward()
    assert x.grad == 1.0


def test_nan_data_flows_through_without_an_error_as_in_eager():
    x = Value(1.0)
    compiled = compile(x * 2.0 + 1.0)
    x.data = math.nan
    assert math.isnan(compiled.forward())
    compiled.backward()  # the gradient of x * 2 + 1 does not depend on x
    assert x.grad == 2.0


def test_repr_says_the_size():
    x = Value(1.0)
    shown = repr(compile(x * x + 1.0))  # x*x is folded into the add: one dot, x·x + 1.0·1
    assert "4 nodes, 4 after rewriting: 3 leaves, 1 levels" in shown


# ---------------------------------------------------------------- errors, as eager raises them

def test_compile_needs_a_value():
    with pytest.raises(TypeError, match="compile needs the Value"):
        compile(3.0)


def test_wrt_must_name_leaves_of_the_graph():
    x = Value(1.0)
    mid = x * 2.0
    with pytest.raises(ValueError, match="wrt must list leaves"):
        compile(mid + 1.0, wrt=[mid])
    with pytest.raises(ValueError, match="wrt must list leaves"):
        compile(mid + 1.0, wrt=[Value(3.0)])


def test_division_by_zero_in_new_data_raises_like_eager():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    compiled = compile(x / y)
    y.data = 0.0
    with pytest.raises(ZeroDivisionError, match=r"div\(x=1.0, y=0.0\)"):
        compiled.forward()


def test_log_of_a_negative_number_raises_like_eager():
    x = Value(1.0, label="x")
    compiled = compile(x.log())
    x.data = -1.0
    with pytest.raises(ValueError, match=r"log\(x=-1.0\)"):
        compiled.forward()


def test_overflow_raises_like_eager():
    x = Value(1.0, label="x")
    compiled = compile(x.exp() * 2.0)
    x.data = 1000.0
    with pytest.raises(OverflowError, match="exp"):
        compiled.forward()


def test_a_partial_that_eager_rejects_raises_in_backward():
    x = Value(1.0, label="x")
    compiled = compile(x**0.5)
    x.data = 0.0
    assert compiled.forward() == 0.0
    with pytest.raises(ZeroDivisionError, match=r"in backward: the derivative of x\*\*0.5 is infinite at x=0.0"):
        compiled.backward()


def test_a_leaf_holding_a_non_number_is_a_type_error():
    x = Value(1.0)
    compiled = compile(x + 1.0)
    x.data = "one"
    with pytest.raises(TypeError, match="must be a real number, got str"):
        compiled.forward()


def test_an_unknown_n_ary_op_is_refused_clearly():
    prod = Op(name="prod", symbol="Π", arity=None, written=lambda names: f"Π({', '.join(names)})",
              forward=lambda m, *xs: math.prod(xs), partials=lambda m, out, *xs: (1.0,) * len(xs),
              formulas=lambda i, n: "1")
    root = apply(prod, Value(2.0), Value(3.0), Value(4.0))
    with pytest.raises(NotImplementedError, match="n-ary op 'prod'"):
        compile(root)


def test_an_op_numpy_cannot_run_is_refused_clearly():
    floor = Op(name="floor", symbol="floor", arity=1, written="floor({0})",
               forward=lambda m, a: float(math.floor(a)), partials=lambda m, out, a: (0.0,), formulas=("0",))
    root = apply(floor, Value(np.float64(2.5)))
    with pytest.raises(NotImplementedError, match="op 'floor' cannot be replayed with numpy"):
        compile(root)


def test_numpy_backend_sum_and_dot_take_sequences_or_matrices():
    rows = np.arange(6.0).reshape(3, 2)
    assert np.array_equal(NumpyMath.sum(rows), NumpyMath.sum(list(rows)))
    assert np.array_equal(NumpyMath.dot(rows, rows), np.sum(rows * rows, axis=0))


def test_engine_compile_is_a_function_whatever_was_imported_first():
    import engine.replay
    from engine import compile as public

    assert callable(public) and type(public).__name__ == "function"
    assert engine.compile is public and engine.replay.compile is compile
    x = Value(3.0)
    for f in (public, compile):
        compiled = f(x * x)
        x.grad = 0.0
        compiled.backward()
        assert x.grad == 6.0


def test_wrt_in_any_order_and_with_repeats_gives_each_leaf_its_gradient_once():
    loss, params, _, _ = mlp_loss(random.Random(8), n=5, sizes=[2, 3, 1], fused=True)
    value, grads = eager_grads(loss, params)
    shuffled = params[::-1] + params[:3]  # another layout, and three leaves named twice
    compiled = compile(loss, wrt=shuffled)
    c_value, c_grads = replay(compiled, params)
    assert close(c_value, value)
    assert all(close(c, e) for c, e in zip(c_grads, grads))


def test_values_of_reads_replayed_nodes():
    x = Value(1.0)
    hidden = x.tanh()
    out = hidden * 2.0
    compiled = compile(out)
    x.data = 0.5
    compiled.forward()
    assert compiled.values_of([hidden, out]) == pytest.approx([math.tanh(0.5), 2.0 * math.tanh(0.5)], rel=TOL)
    assert hidden.data == math.tanh(1.0)  # the eager numbers stay
    with pytest.raises(ValueError, match="nodes of the compiled graph"):
        compiled.values_of([Value(3.0)])
