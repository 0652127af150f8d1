"""Higher-order derivatives: Value-valued gradients, grad, jacobian, hessian, Newton."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import Value, no_grad
from engine.autodiff import ValueMath, gradients
from engine.ops import SECH2

sech2 = lambda a: 1.0 / math.cosh(a) ** 2  # noqa: E731
sig = lambda a: 1.0 / (1.0 + math.exp(-a))  # noqa: E731


def close(a: float, b: float, tol: float = 1e-12) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


# ---------------------------------------------------------------- backward(create_graph=True)

def test_create_graph_gives_value_grads_equal_to_the_float_backward_bit_for_bit():
    # Document 000, the tanh neuron C = (tanh(w x + b) - y)^2, at a point where x != 0.
    def build():
        w, b, x, y = Value(2.3, label="w"), Value(-1.2, label="b"), Value(0.7), Value(1.0)
        return (w, b, x, y), ((w * x + b).tanh() - y) ** 2

    leaves, C = build()
    C.backward()
    floats = [v.grad for v in leaves]
    leaves, C = build()
    C.backward(create_graph=True)
    assert all(isinstance(v.grad, Value) for v in leaves)
    assert [v.grad.data for v in leaves] == floats


def test_create_graph_on_the_documents_point_gives_their_dCdb():
    # Document 000: w1=2.3, b1=-1.2, x=0, y=1 prints dCdb = -1.1186026425530913.
    w, b = Value(2.3), Value(-1.2)
    C = ((w * 0.0 + b).tanh() - 1.0) ** 2
    C.backward(create_graph=True)
    assert b.grad.data == -1.1186026425530913
    assert w.grad.data == 0.0


@pytest.mark.filterwarnings("ignore::engine.RepeatedBackwardWarning")  # on purpose
def test_create_graph_leaves_accumulate_and_interior_nodes_reset():
    x = Value(1.5)
    x.grad = 0.25
    h = x * x
    y = h * 3.0
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == 0.25 + 6 * 1.5
    assert h.grad.data == 3.0
    y.backward(create_graph=True)  # leaf accumulates again, interior h does not
    assert x.grad.data == 0.25 + 2 * 6 * 1.5
    assert h.grad.data == 3.0


def test_second_derivative_through_backward_create_graph():
    x = Value(0.8)
    y = x.sin() * x
    y.backward(create_graph=True)
    dydx = x.grad
    x.grad = 0.0
    dydx.backward()
    # d2/dx2 (x sin x) = 2 cos x - x sin x
    assert close(x.grad, 2 * math.cos(0.8) - 0.8 * math.sin(0.8))


def test_value_backend_offers_every_primitive_of_the_float_backend():
    # a primitive added to FloatMath for a new op needs its Value form too
    primitives = {n for n in vars(engine.ops.FloatMath) if not n.startswith("_")}
    assert primitives <= {n for n in vars(ValueMath) if not n.startswith("_")}


def test_tanh_partial_goes_through_the_exact_sech2_node():
    a = Value(30.0)
    (d,) = engine.ops.TANH.partials(ValueMath, a.tanh(), a)
    assert d.op is SECH2
    assert d.data == engine.ops.FloatMath.sech2(30.0) > 0.0  # 1 - tanh^2 would give 0


def test_gradients_leave_every_grad_field_alone():
    x, y = Value(2.0), Value(3.0)
    x.grad, y.grad = 7.0, -1.0
    z = x * y + x
    dx, dy = gradients(z, [x, y])
    assert (dx, dy) == (4.0, 2.0)
    assert (x.grad, y.grad, z.grad) == (7.0, -1.0, 0.0)
    gx, gy = engine.grad(lambda a, b: a * b + a)(x, y)
    assert (gx.data, gy.data) == (4.0, 2.0)
    assert (x.grad, y.grad) == (7.0, -1.0)


def test_gradients_of_an_unused_input_and_of_an_interior_node():
    x, u = Value(2.0), Value(5.0)
    h = x * x
    z = h.exp()
    assert gradients(z, [u]) == [0.0]
    assert gradients(z, [h]) == [math.exp(4.0)]
    (zero,) = gradients(z, [u], create_graph=True)
    assert isinstance(zero, Value) and zero.data == 0.0


# ---------------------------------------------------------------- second derivatives of every op

def hess(f, xs):
    return engine.hessian(f, xs)


UNARY_SECOND = [
    # (name, f, point, analytic f'')
    ("neg", lambda a: -a, 0.7, lambda a: 0.0),
    ("exp", lambda a: a.exp(), 0.7, math.exp),
    ("log", lambda a: a.log(), 0.7, lambda a: -1.0 / a**2),
    ("tanh", lambda a: a.tanh(), 0.7, lambda a: -2 * math.tanh(a) * sech2(a)),
    ("sigmoid", lambda a: a.sigmoid(), 0.7, lambda a: sig(a) * (1 - sig(a)) * (1 - 2 * sig(a))),
    ("relu", lambda a: a.relu(), 0.7, lambda a: 0.0),
    ("relu (negative side)", lambda a: a.relu(), -0.7, lambda a: 0.0),
    ("sin", lambda a: a.sin(), 0.7, lambda a: -math.sin(a)),
    ("cos", lambda a: a.cos(), 0.7, lambda a: -math.cos(a)),
    ("pow 2", lambda a: a**2, 0.7, lambda a: 2.0),
    ("pow 3", lambda a: a**3, -0.7, lambda a: 6 * a),
    ("pow 0.5", lambda a: a**0.5, 0.7, lambda a: -0.25 * a**-1.5),
    ("pow -1", lambda a: a**-1, 0.7, lambda a: 2 * a**-3),
    ("pow 1", lambda a: a**1, 0.7, lambda a: 0.0),
    ("pow 0", lambda a: a**0, 0.7, lambda a: 0.0),
    ("rpow 2**a", lambda a: 2**a, 0.7, lambda a: math.log(2) ** 2 * 2**a),
]


@pytest.mark.parametrize("name,f,x,analytic", UNARY_SECOND, ids=[c[0] for c in UNARY_SECOND])
def test_second_derivative_of_every_unary_op(name, f, x, analytic):
    ((h,),) = hess(f, [x])
    assert close(h, analytic(x)), (name, h, analytic(x))
    # and the nested functional form gives the same number
    second = engine.grad(lambda a: engine.grad(f)(a)[0])(x)[0]
    assert close(second.data, analytic(x))


BINARY_SECOND = [
    # (name, f, (a, b), analytic Hessian [[faa, fab], [fab, fbb]])
    ("add", lambda a, b: a + b, (0.7, -1.3), lambda a, b: [[0, 0], [0, 0]]),
    ("sub", lambda a, b: a - b, (0.7, -1.3), lambda a, b: [[0, 0], [0, 0]]),
    ("mul", lambda a, b: a * b, (0.7, -1.3), lambda a, b: [[0, 1], [1, 0]]),
    ("div", lambda a, b: a / b, (0.7, -1.3),
     lambda a, b: [[0, -1 / b**2], [-1 / b**2, 2 * a / b**3]]),
    ("sum", lambda a, b: Value.sum([a, b, a]), (0.7, -1.3), lambda a, b: [[0, 0], [0, 0]]),
    ("dot", lambda a, b: Value.dot([a, b], [b, 2.0]), (0.7, -1.3), lambda a, b: [[0, 1], [1, 0]]),
]


@pytest.mark.parametrize("name,f,xs,analytic", BINARY_SECOND, ids=[c[0] for c in BINARY_SECOND])
def test_second_derivatives_of_every_binary_and_nary_op(name, f, xs, analytic):
    H = hess(f, list(xs))
    expected = analytic(*xs)
    for i in range(2):
        for j in range(2):
            assert close(H[i][j], expected[i][j]), (name, i, j, H, expected)


def test_dot_hessian_pairs_each_weight_with_its_input():
    # d^2/(dw_i dx_j) (w . x) = 1 if i == j else 0
    H = hess(lambda w1, w2, x1, x2: Value.dot([w1, w2], [x1, x2]), [0.5, -2.0, 1.5, 3.0])
    expected = [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert H == expected


def test_third_derivative_of_tanh_by_nesting_grad():
    g1 = engine.grad(lambda a: a.tanh())
    g2 = engine.grad(lambda a: g1(a)[0])
    g3 = engine.grad(lambda a: g2(a)[0])
    a = 0.3
    t, s = math.tanh(a), sech2(a)
    assert close(g1(a)[0].data, s)
    assert close(g2(a)[0].data, -2 * t * s)
    assert close(g3(a)[0].data, -2 * s * s + 4 * t * t * s)


def test_second_derivatives_of_the_documents_tanh_neuron():
    # Document 000: C = (tanh(w x + b) - y)^2. By hand: d2C/db2 = 2 s^2 - 4 a s (a - y)
    # with a = tanh(z), s = 1/cosh(z)^2; d2C/dw2 = x^2 d2C/db2, d2C/dwdb = x d2C/db2.
    w, b, x, y = 2.3, -1.2, 0.7, 1.0
    z = w * x + b
    a, s = math.tanh(z), sech2(z)
    cbb = 2 * s * s - 4 * a * s * (a - y)
    H = engine.hessian(lambda w, b: ((w * x + b).tanh() - y) ** 2, [w, b])
    assert close(H[0][0], x * x * cbb) and close(H[1][1], cbb)
    assert close(H[0][1], x * cbb) and close(H[1][0], x * cbb)


# ---------------------------------------------------------------- the functional API

def test_grad_returns_one_value_per_argument():
    g = engine.grad(lambda x, y, z: x * y + z.exp())
    out = g(2.0, 3.0, 0.0)
    assert isinstance(out, tuple) and len(out) == 3
    assert all(isinstance(v, Value) for v in out)
    assert [v.data for v in out] == [3.0, 2.0, 1.0]


def test_grad_of_a_constant_function_is_zero():
    assert [v.data for v in engine.grad(lambda x: 4.0)(1.0)] == [0.0]


def test_grad_errors_are_clear():
    with pytest.raises(TypeError, match="takes a function"):
        engine.grad(3.0)
    with pytest.raises(TypeError, match="one Value"):
        engine.grad(lambda x: [x, x])(1.0)
    with pytest.raises(TypeError, match="real number"):
        engine.grad(lambda x: x)("one")
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        engine.grad(lambda x: x * x)(1.0)


def test_jacobian_returns_rows_of_floats_and_values_on_request():
    J = engine.jacobian(lambda x, y: [x * y, x + y, x.exp()], [1.0, 2.0])
    assert J == [[2.0, 1.0], [1.0, 1.0], [math.e, 0.0]]
    Jv = engine.jacobian(lambda x, y: [x * y], [1.0, 2.0], create_graph=True)
    assert all(isinstance(v, Value) for v in Jv[0])
    assert engine.jacobian(lambda x: x * x, [3.0]) == [[6.0]]  # one Value: one row
    with pytest.raises(TypeError, match="sequence"):
        engine.jacobian(lambda x: [x], Value(1.0))


def test_hessian_is_symmetric_and_matches_the_analytic_one():
    # f = x^3 y + sin(x y): fxx = 6xy - y^2 sin(xy), fxy = 3x^2 + cos(xy) - xy sin(xy),
    # fyy = -x^2 sin(xy)
    x, y = 1.1, 2.0
    H = engine.hessian(lambda x, y: x**3 * y + (x * y).sin(), [x, y])
    assert close(H[0][0], 6 * x * y - y * y * math.sin(x * y))
    assert close(H[0][1], 3 * x * x + math.cos(x * y) - x * y * math.sin(x * y))
    assert close(H[1][0], H[0][1])
    assert close(H[1][1], -x * x * math.sin(x * y))


def test_hessian_with_create_graph_gives_third_derivatives():
    x = Value(1.5)
    ((h,),) = engine.hessian(lambda x: x**4, [x], create_graph=True)
    assert isinstance(h, Value) and close(h.data, 12 * 1.5**2)
    assert close(gradients(h, [x])[0], 24 * 1.5)


# ---------------------------------------------------------------- the documents' chain rule

def test_jacobian_of_the_multivariate_chain_rule_example_is_the_product_of_jacobians():
    # Document 001, "Let's take an example": f(x1, x2, x3) = x1^3 cos(x2) e^x3 with
    # x1 = 2t, x2 = 1 - t^2, x3 = e^t; the document's total derivative is
    # df/dt = 3x1^2 cos(x2) e^x3 * 2 + (-x1^3 sin(x2) e^x3) * (-2t) + x1^3 cos(x2) e^x3 * e^t.
    def f(x1, x2, x3):
        return [x1**3 * x2.cos() * x3.exp()]

    def x_of_t(t):
        return [2 * t, 1 - t**2, t.exp()]

    t = 0.4
    x_values = [v.data for v in x_of_t(Value(t))]
    Jf = engine.jacobian(f, x_values)  # 1 x 3
    Jx = engine.jacobian(x_of_t, [t])  # 3 x 1
    product = sum(Jf[0][k] * Jx[k][0] for k in range(3))
    ((whole,),) = engine.jacobian(lambda t: f(*x_of_t(t)), [t])
    x1, x2, x3 = x_values
    document = (3 * x1**2 * math.cos(x2) * math.exp(x3) * 2
                + (-(x1**3) * math.sin(x2) * math.exp(x3)) * (-2 * t)
                + x1**3 * math.cos(x2) * math.exp(x3) * math.exp(t))
    assert close(whole, product)
    assert close(whole, document)


def test_three_stage_chain_f_of_x_of_u_of_t_multiplies_three_jacobians():
    # Document 001's f(x(u(t))): the same example written through u(t) = (t, e^t),
    # x(u) = (2 u1, 1 - u1^2, u2), so df/dt = J_f J_x J_u (1x3 times 3x2 times 2x1).
    def f(x1, x2, x3):
        return [x1**3 * x2.cos() * x3.exp()]

    def x_of_u(u1, u2):
        return [2 * u1, 1 - u1**2, u2 + 0.0]

    def u_of_t(t):
        return [t + 0.0, t.exp()]

    t = -0.3
    u = [v.data for v in u_of_t(Value(t))]
    x = [v.data for v in x_of_u(*map(Value, u))]
    Jf, Jx, Ju = engine.jacobian(f, x), engine.jacobian(x_of_u, u), engine.jacobian(u_of_t, [t])
    assert (len(Jx), len(Jx[0]), len(Ju), len(Ju[0])) == (3, 2, 2, 1)
    JxJu = [[sum(Jx[i][k] * Ju[k][0] for k in range(2))] for i in range(3)]
    product = sum(Jf[0][i] * JxJu[i][0] for i in range(3))
    ((whole,),) = engine.jacobian(lambda t: f(*x_of_u(*u_of_t(t))), [t])
    assert close(whole, product)


# ---------------------------------------------------------------- Newton's method

def newton(f, point, steps):
    """Newton's method in 2-D with the engine's gradient and Hessian; returns the path."""
    path = [list(point)]
    for _ in range(steps):
        gx, gy = (v.data for v in engine.grad(f)(*point))
        (a, b), (c, d) = engine.hessian(f, point)
        det = a * d - b * c
        point = [point[0] - (d * gx - b * gy) / det, point[1] - (a * gy - c * gx) / det]
        path.append(point)
    return path


def test_newton_solves_a_quadratic_in_one_step():
    # f = 3x^2 + 2xy + y^2 - 4x + 2y: gradient zero at 6x + 2y = 4, 2x + 2y = -2,
    # so the minimum is (x, y) = (1.5, -2.5). Newton's model is exact: one step.
    f = lambda x, y: 3 * x**2 + 2 * x * y + y**2 - 4 * x + 2 * y  # noqa: E731
    path = newton(f, [10.0, -7.0], 1)
    assert close(path[1][0], 1.5) and close(path[1][1], -2.5)


def test_newton_on_rosenbrock_converges_quadratically_in_a_few_steps():
    # f = (1 - x)^2 + 100 (y - x^2)^2 from the classic start (-1.2, 1): the minimum (1, 1).
    f = lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2  # noqa: E731
    path = newton(f, [-1.2, 1.0], 8)
    errors = [math.hypot(p[0] - 1.0, p[1] - 1.0) for p in path]
    first = next(i for i, e in enumerate(errors) if e < 1e-10)
    assert first <= 6, errors
    assert errors[-1] < 1e-14
    # quadratic convergence at the end: each error is at most a few times the square of
    # the one before (linear convergence would fail this within two steps)
    for k in range(first - 3, first):
        assert errors[k + 1] <= 10 * errors[k] ** 2, errors


# ---------------------------------------------------------------- property: Hessian vs numeric

@settings(max_examples=40, deadline=None)
@given(st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_hessian_matches_central_differences_of_the_gradient(x, y):
    def f(x, y):
        return (x * y).tanh() * (x.sin() + 2.0) + (x * x + y * y + 1.0).log() / (y.sigmoid() + 1.0)

    H = engine.hessian(f, [x, y])
    eps = 1e-5
    for j in range(2):
        plus, minus = [x, y], [x, y]
        plus[j] += eps
        minus[j] -= eps
        gp = [v.data for v in engine.grad(f)(*plus)]
        gm = [v.data for v in engine.grad(f)(*minus)]
        for i in range(2):
            numeric = (gp[i] - gm[i]) / (2 * eps)
            assert abs(H[i][j] - numeric) <= 1e-6 * max(1.0, abs(numeric))
    assert H[0][1] == pytest.approx(H[1][0], rel=1e-12, abs=1e-14)


# ---------------------------------------------------------------- property: same numbers as backward

UNARY_BUILDERS = [
    lambda u: -u, lambda u: u.exp(), lambda u: (u * u + 0.5).log(), lambda u: u.tanh(),
    lambda u: u.sigmoid(), lambda u: u.relu(), lambda u: u.sin(), lambda u: u.cos(),
    lambda u: u**2, lambda u: u**3, lambda u: (u * u + 0.5) ** 0.5, lambda u: (u * u + 0.5) ** -1,
]
BINARY_BUILDERS = [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / (b * b + 0.5),
    lambda a, b: Value.sum([a, b, a]), lambda a, b: Value.dot([a, b], [b, 1.5]),
]


def programs():
    """Expression recipes: ("x", i), (unary index, e) or (binary index, e, e)."""
    leaf = st.integers(0, 2).map(lambda i: ("x", i))
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.tuples(st.integers(0, len(UNARY_BUILDERS) - 1), kids),
            st.tuples(st.integers(0, len(BINARY_BUILDERS) - 1), kids, kids),
        ),
        max_leaves=10,
    )


def build(program, xs):
    if program[0] == "x":
        return xs[program[1]]
    if len(program) == 2:
        return UNARY_BUILDERS[program[0]](build(program[1], xs))
    return BINARY_BUILDERS[program[0]](build(program[1], xs), build(program[2], xs))


@pytest.mark.filterwarnings("ignore::engine.RepeatedBackwardWarning")  # on purpose
@settings(max_examples=60, deadline=None)
@given(programs(), st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3))
def test_value_gradients_equal_the_float_backward_bit_for_bit(program, point):
    try:
        xs = [Value(v) for v in point]
        y = build(program, xs)
        y.backward()
    except OverflowError:
        return  # out of floats' range: nothing to compare
    floats = [x.grad for x in xs]
    assert gradients(y, xs) == floats
    assert [g.data for g in gradients(y, xs, create_graph=True)] == floats
    for x in xs:
        x.grad = 0.0
    y.backward(create_graph=True)
    assert [float(x.grad) for x in xs] == floats  # leaves off the graph keep their float
