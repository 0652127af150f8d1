"""Oracles from document 002 (seeds/002_090ecf401a0f3b12.txt): the 2-3-2 sigmoid network
in matrix form, its forward pass, its delta-rule backward pass and one update step.

The document draws its weights with np.random.randn and prints them (and everything else)
with 3 decimals (np.set_printoptions(precision=3)). We take the printed weights as exact
inputs, build the network from raw Values, and compare every printed intermediate value at
its printed precision. Because the printed weights are themselves rounded (by up to
0.0005 each), a value computed from them can differ from the document's by more than half
a unit in the last place; each comparison therefore allows half a printed unit plus the
first-order effect of that rounding: sum over the 17 printed parameters p of
|q(p + 0.0005) - q(p - 0.0005)| / 2, measured by re-running the engine with each
parameter nudged. The deltas are read from the engine as gradients of the weighted sums
(dC/dz), so the document's delta rule is checked against reverse mode, not re-derived.
"""
from __future__ import annotations

import itertools

import pytest

from engine import Value, ops

from . import reference as ref

W2 = [[-0.124, 0.871], [0.692, -0.036], [0.455, 1.239]]
B2 = [-0.923, 0.02, -2.918]
W3 = [[-0.006, 0.295, 0.207], [0.126, 0.399, -0.637]]
B3 = [-0.07, 1.912]
X = [1.2, 0.7]  # data[0], label 1
Y = [0.0, 1.0]  # convert_label(1) == (0, 1)
STEP = 0.1  # In [34]: step_size

PRINTED = {  # In [n]: what the document prints, 3 decimals
    "z_2": [-0.462, 0.825, -1.504],  # In [10]
    "a_2": [0.386, 0.695, 0.182],  # In [12]
    "z_3": [0.17, 2.122],  # In [13]
    "a_3": [0.542, 0.893],  # In [14]
    "a_3 - y": [0.542, -0.107],  # In [20]
    "sigma'(z_3)": [0.248, 0.096],  # In [21], In [22]
    "delta_3": [0.135, -0.01],  # In [23], and db_3 in In [28]
    "w_3.T @ delta_3": [-0.002, 0.036, 0.034],  # In [25]
    "sigma'(z_2)": [0.237, 0.212, 0.149],  # In [26]
    "delta_2": [-0.0, 0.008, 0.005],  # In [27], and db_2 in In [29]
    "dw_3": [0.052, 0.094, 0.024, -0.004, -0.007, -0.002],  # In [31], row by row
    "dw_2": [-0.001, -0.0, 0.009, 0.005, 0.006, 0.004],  # In [33], row by row
    "new a_3": [0.537, 0.893],  # In [37], after one step
}
PRINTED_COST = 0.15280874657485913  # In [19]: from the unrounded random weights


def _sigmoid_partial(out: Value) -> float:
    """sigma'(z) from the op table itself: the partial the engine uses."""
    return ops.SIGMOID.partials(ops.FloatMath, out.data, None)[0]


def network(params: list[float]) -> dict[str, list[float]]:
    """Forward, cost, backward and one update step, from raw Values; every quantity the
    document prints, by name. `params` is W2, B2, W3, B3 flattened (17 numbers)."""
    it = iter(params)
    w2 = [[Value(next(it), label=f"w2[{i},{j}]") for j in range(2)] for i in range(3)]
    b2 = [Value(next(it), label=f"b2[{i}]") for i in range(3)]
    w3 = [[Value(next(it), label=f"w3[{i},{j}]") for j in range(3)] for i in range(2)]
    b3 = [Value(next(it), label=f"b3[{i}]") for i in range(2)]
    z2, a2 = ref.dense(w2, b2, X, "sigmoid")
    z3, a3 = ref.dense(w3, b3, a2, "sigmoid")
    cost = 0.5 * Value.sum((a - y) ** 2 for a, y in zip(a3, Y))  # C_x, the quadratic cost
    cost.backward()
    q = {
        "cost": [cost.data],
        "z_2": [z.data for z in z2],
        "a_2": [a.data for a in a2],
        "z_3": [z.data for z in z3],
        "a_3": [a.data for a in a3],
        "a_3 - y": [a.grad for a in a3],  # dC/da_3, which the document says is (a_3 - y)
        "sigma'(z_3)": [_sigmoid_partial(a) for a in a3],
        "delta_3": [z.grad for z in z3],  # dC/dz_3
        "w_3.T @ delta_3": [a.grad for a in a2],  # dC/da_2
        "sigma'(z_2)": [_sigmoid_partial(a) for a in a2],
        "delta_2": [z.grad for z in z2],  # dC/dz_2
        "dw_3": [w.grad for row in w3 for w in row],
        "dw_2": [w.grad for row in w2 for w in row],
        "db_3": [b.grad for b in b3],
        "db_2": [b.grad for b in b2],
    }
    # In [34]: w -= dw * step_size for every weight and bias, then In [37]: forward again.
    stepped = [p.data - STEP * p.grad for p in itertools.chain(*w2, b2, *w3, b3)]
    it = iter(stepped)
    nw2 = [[next(it) for _ in range(2)] for _ in range(3)]
    nb2 = [next(it) for _ in range(3)]
    nw3 = [[next(it) for _ in range(3)] for _ in range(2)]
    nb3 = [next(it) for _ in range(2)]
    _, na2 = ref.dense(nw2, nb2, [Value(x) for x in X], "sigmoid")
    _, na3 = ref.dense(nw3, nb3, na2, "sigmoid")
    q["new a_3"] = [a.data for a in na3]
    return q


PARAMS = [p for row in W2 for p in row] + B2 + [p for row in W3 for p in row] + B3
HALF_UNIT = 0.0005  # half a unit in the 3rd decimal


@pytest.fixture(scope="module")
def computed() -> tuple[dict, dict]:
    """The quantities at the printed weights, and each one's weight-rounding allowance."""
    base = network(PARAMS)
    allowance = {name: [0.0] * len(values) for name, values in base.items()}
    for k in range(len(PARAMS)):
        up = network(PARAMS[:k] + [PARAMS[k] + HALF_UNIT] + PARAMS[k + 1 :])
        down = network(PARAMS[:k] + [PARAMS[k] - HALF_UNIT] + PARAMS[k + 1 :])
        for name in base:
            for i, (u, d) in enumerate(zip(up[name], down[name])):
                allowance[name][i] += abs(u - d) / 2
    return base, allowance


@pytest.mark.parametrize("name", list(PRINTED))
def test_seed002_printed_intermediate_values(computed, name):
    """Each printed array of the example (In [10] to In [37]), at its printed precision."""
    values, allowance = computed
    for shown, value, extra in zip(PRINTED[name], values[name], allowance[name], strict=True):
        assert abs(value - shown) <= HALF_UNIT + extra + 1e-12, (name, value, shown, extra)


def test_seed002_negative_zeros_are_negative(computed):
    """The document prints delta_2[0] and dw_2[0, 1] as '-0.': tiny but negative."""
    values, _ = computed
    assert values["delta_2"][0] < 0 and values["dw_2"][1] < 0


def test_seed002_bias_gradients_are_the_deltas(computed):
    """In [28], In [29]: db_3 = delta_3 and db_2 = delta_2 ('its derivative is equal to 1')."""
    values, _ = computed
    assert values["db_3"] == values["delta_3"]
    assert values["db_2"] == values["delta_2"]


def test_seed002_delta_rule_equals_reverse_mode(computed):
    """The document's matrix formulas, evaluated on the engine's forward values, agree with
    the gradients reverse mode found: delta_3 = (a_3 - y) * a_3 (1 - a_3),
    delta_2 = (w_3.T delta_3) * a_2 (1 - a_2), dw_3 = delta_3 a_2.T, dw_2 = delta_2 a_1.T."""
    v, _ = computed
    a2, a3 = v["a_2"], v["a_3"]
    d3 = [(a - y) * a * (1 - a) for a, y in zip(a3, Y)]
    d2 = [sum(W3[i][j] * d3[i] for i in range(2)) * a2[j] * (1 - a2[j]) for j in range(3)]
    assert v["delta_3"] == pytest.approx(d3, rel=1e-13)
    assert v["delta_2"] == pytest.approx(d2, rel=1e-12)
    assert v["dw_3"] == pytest.approx([d3[i] * a2[j] for i in range(2) for j in range(3)], rel=1e-13)
    assert v["dw_2"] == pytest.approx([d2[i] * X[j] for i in range(3) for j in range(2)], rel=1e-12)


def test_seed002_cost_and_the_step_improves_it(computed):
    """In [19]: C_x = 0.15280874657485913 (from the unrounded random weights: ours, from the
    printed ones, agrees within the weight-rounding allowance), and In [37]: 'This result
    is better than the previous one': one step lowers the first output towards its label 0."""
    values, allowance = computed
    assert abs(values["cost"][0] - PRINTED_COST) <= allowance["cost"][0]
    assert values["new a_3"][0] < values["a_3"][0]
