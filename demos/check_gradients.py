"""Check a derivative three ways, then take a second derivative.

The documents' tanh neuron (document 000): a = tanh(z), z = w*x + b, C = (a - y)^2, with
their hand-derived chain-rule products

    dC/dw = 2(a - y) * 1/cosh(z)^2 * x        dC/db = 2(a - y) * 1/cosh(z)^2 * 1

Run it:  .venv/bin/python demos/check_gradients.py
"""
import math

import engine
from engine import Value
from engine.check import compare, gradcheck
from engine.ops import Op
from engine.value import apply
from nn.analytic import dCdb, dCdw  # the documents' formulas, on plain floats


def cost(w, b, x, y):
    """The neuron and its cost, built from Values so autodiff can run backwards."""
    return ((w * x + b).tanh() - y) ** 2


def heading(text):
    print(f"\n== {text}")


# 1. The documents' own point: w=2.3, b=-1.2, x=0, y=1 (they print dCdb = -1.1186026425530913).
heading("autodiff vs the documents' dCdw, dCdb vs finite differences (w=2.3, b=-1.2, x=0, y=1)")
inputs = [Value(2.3, label="w"), Value(-1.2, label="b"), Value(0.0, label="x"), Value(1.0, label="y")]
print(compare(cost, inputs, {"w": dCdw, "b": dCdb}))

# At x = 0 the weight cannot matter (dC/dw = 0 * ...), so look at a point where it does.
heading("the same at x=0.7, where the weight matters")
inputs[2].data = 0.7
print(compare(cost, inputs, {"w": dCdw, "b": dCdb}))

# 2. A second derivative: differentiate the gradient function again.
heading("second derivative d2C/db2 at w=2.3, b=-1.2, x=0.7, y=1")
w, b, x, y = 2.3, -1.2, 0.7, 1.0
dC_db = engine.grad(lambda b: cost(Value(w), b, x, y))        # b -> (dC/db,)
d2C_db2 = engine.grad(lambda b: dC_db(b)[0])                  # b -> (d2C/db2,)
autodiff = d2C_db2(b)[0].data
z = w * x + b
a, s = math.tanh(z), 1 / math.cosh(z) ** 2
by_hand = 2 * s * s - 4 * a * s * (a - y)    # d/db of 2(a - y) s, with da/db = s, ds/db = -2 a s
eps = 1e-5
numeric = (dCdb(w, b + eps, x, y) - dCdb(w, b - eps, x, y)) / (2 * eps)
print(f"autodiff (grad of grad)   {autodiff:.12g}")
print(f"by hand 2s^2 - 4as(a - y) {by_hand:.12g}")
print(f"numeric (dCdb at b±eps)   {numeric:.12g}")

heading("the whole Hessian of C in (w, b)")
for row, name in zip(engine.hessian(lambda w, b: cost(w, b, x, y), [w, b]), "wb"):
    print(f"d2C/d{name}d(w, b) = " + "  ".join(f"{h:12.9f}" for h in row))

# 3. What a failure looks like: a tanh whose local derivative is wrong (1 - a, not 1 - a^2).
heading("gradcheck on a neuron with a deliberately wrong tanh derivative")
broken_tanh = Op(name="broken_tanh", symbol="tanh?", arity=1, written="tanh?({0})",
                 forward=lambda m, z: m.tanh(z), partials=lambda m, out, z: (1.0 - out,),
                 formulas=("1 - {out}",))
report = gradcheck(lambda w, b: (apply(broken_tanh, w * x + b) - y) ** 2,
                   [Value(w, label="w"), Value(b, label="b")])
print(report)
