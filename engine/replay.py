"""The compiled replay: record a graph once, then recompute it fast for new leaf data.

Training rebuilds the same graph every step: only the numbers in its leaves change (the
parameters after an update, a new batch of the same size). `compile(loss)` walks the
graph once and records it into flat arrays: every node gets an index into one array of
values, and the interior nodes are grouped by *level* (1 + the highest level of their
parents; leaves are level 0) and by op. Nodes of one level depend only on lower levels,
so each (level, op) group is computed with a handful of numpy calls over all its nodes at
once. `forward()` re-reads every leaf's `.data` and recomputes every value;
`backward()` runs the chain rule group by group in reverse and adds the gradients into
the leaves' `.grad`, exactly as `Value.backward()` does.

Where the numbers come from: unary and binary ops (and the `pow` family) are evaluated
by their own op-table entries, `op.forward(NumpyMath, ...)` and `op.partials(NumpyMath,
...)`, over numpy arrays. The two n-ary ops get a matrix form of their table entry:
`sum` adds the rows of a matrix (partials 1); `dot` multiplies and adds (partials: x_i
for w_i and w_i for x_i), and when the nodes of a group share weight rows and input rows,
as the neurons of a layer over a batch do, the whole group is one matrix product.

Results equal eager ones up to rounding (numpy may add in another order): within 1e-12.
Errors also match eager: an op that would raise (division by zero, log of a negative
number, overflow) raises the same error, naming the op and its operands.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from . import ops
from .autodiff import topological_order
from .ops import FloatMath, Op
from .value import ARITHMETIC_ERRORS, Value, as_float

__all__ = ["compile", "Compiled", "NumpyMath"]


class NumpyMath:
    """The op table's backend over numpy float64 arrays (no checks: see `Compiled`)."""

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    tanh = staticmethod(np.tanh)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    div = staticmethod(np.true_divide)

    @staticmethod
    def sigmoid(a):
        e = np.exp(-np.abs(a))  # the float backend's two branches, both at once
        return np.where(a >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))

    @staticmethod
    def relu(a):
        return np.where(a <= 0.0, 0.0, a)  # NaN stays NaN, as in the float backend

    @staticmethod
    def step(a):
        return np.where(a > 0.0, 1.0, 0.0)

    @staticmethod
    def sech2(a):
        big = np.abs(a) >= 350.0
        c = np.cosh(np.where(big, 0.0, a))
        e = np.exp(-2.0 * np.abs(a))
        return np.where(big, 4.0 * e / ((1.0 + e) * (1.0 + e)), 1.0 / (c * c))

    @staticmethod
    def pow(a, p):
        return np.power(a, p)

    @staticmethod
    def sum(xs):
        """Sum over the inputs: a sequence of arrays, or a matrix with one input per row."""
        return np.sum(xs, axis=0)

    @staticmethod
    def dot(ws, xs):
        return np.sum(np.multiply(ws, xs), axis=0)


def compile(root: Value, *, wrt: Iterable[Value] | None = None) -> "Compiled":
    """Record the graph under `root` for fast replay (see the module docstring).

    `wrt` optionally names the leaves whose `.grad` `backward()` fills (default: every
    leaf); asking for fewer, e.g. a model's parameters, skips writing the others.
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile needs the Value at the end of a graph, got {type(root).__name__}")
    return Compiled(root, wrt)


class Compiled:
    """A recorded graph: `forward()` and `backward()` replay it for new leaf data.

    It holds the recorded graph's Values (to read leaves, write gradients and explain
    errors). The graph's shape is fixed: after building a different graph (another batch
    size, another network), compile that one.
    """

    def __init__(self, root: Value, wrt: Iterable[Value] | None = None) -> None:
        order = topological_order(root)
        leaves = [v for v in order if v._op is None]
        if wrt is None:
            self.targets = leaves
        else:
            self.targets = list(dict.fromkeys(wrt))  # each leaf once, in the order given
            known = set(leaves)
            missing = [v for v in self.targets if v not in known]
            if missing:
                raise ValueError(
                    f"wrt must list leaves of the compiled graph; {len(missing)} are not (first: {missing[0]!r})"
                )
        # The leaves asked for come first, in the order given: a model's parameters (each
        # neuron's weights, then its bias) then lie in the value array as each layer's
        # weight matrix, so kernels read and update them through views, not copies.
        wanted = set(self.targets)
        self.leaves = self.targets + [v for v in leaves if v not in wanted]
        index = {v: i for i, v in enumerate(self.leaves)}
        level = dict.fromkeys(self.leaves, 0)
        groups: dict[tuple, list[Value]] = {}
        for v in order:
            if v._op is not None:
                lv = level[v] = 1 + max(level[p] for p in v._parents)
                groups.setdefault((lv, v._op, len(v._parents)), []).append(v)
        # Number the interior nodes group by group, so each group's outputs are a slice.
        self.nodes = list(self.leaves)
        layout = []
        for (lv, op, n), members in sorted(groups.items(), key=lambda kv: kv[0][0]):
            start = len(self.nodes)
            for v in members:
                index[v] = len(self.nodes)
                self.nodes.append(v)
            layout.append((op, start, np.array([[index[p] for p in v._parents] for v in members], dtype=np.intp)))
        self.values = np.zeros(len(self.nodes))
        self.grads = np.zeros(len(self.nodes))
        self.target_grads = self.grads[: len(self.targets)]
        # A node's gradient is needed if it is a target or leads to one; the rest is skipped.
        needed = np.zeros(len(self.nodes), dtype=bool)
        needed[: len(self.targets)] = True
        for op, start, parents in layout:
            needed[start : start + len(parents)] = needed[parents].any(axis=1)
        self.groups: list[_Group] = [
            _kernel(op, start, parents, needed, self.values, self.grads) for op, start, parents in layout
        ]
        self.backward_groups = [g for g in reversed(self.groups) if needed[g.start : g.stop].any()]
        self.n_levels = max(level.values())
        self.root_index = index[root]
        self.forward()

    def __repr__(self) -> str:
        return (
            f"Compiled({len(self.nodes)} nodes: {len(self.leaves)} leaves, "
            f"{self.n_levels} levels, {len(self.groups)} groups)"
        )

    # ---------------------------------------------------------------- replay
    def forward(self) -> float:
        """Re-read every leaf's `.data`, recompute every node; return the root's value."""
        values, n = self.values, len(self.leaves)
        try:
            values[:n] = [v.data for v in self.leaves]
        except (TypeError, ValueError):
            bad = next(v for v in self.leaves if not isinstance(v.data, (int, float)))
            raise TypeError(f"a leaf's data must be a number, got {bad.data!r} in {bad!r}") from None
        with np.errstate(all="ignore"):
            for group in self.groups:
                group.forward(values)
        if not math.isfinite(values.sum()):  # one reduction: finite iff every value is (or the sum overflows)
            self._check_forward()
        return float(values[self.root_index])

    def backward(self, grad: float = 1.0) -> None:
        """Add d(root)/d(leaf), times `grad`, into the `.grad` of each leaf (or of `wrt`)."""
        grads = self.grads
        grads.fill(0.0)
        grads[self.root_index] = as_float(grad, "backward seed")
        with np.errstate(all="ignore"):
            for group in self.backward_groups:
                group.backward(self.values, grads)
        result = self.target_grads
        if not math.isfinite(result.sum()):
            self._check_backward()
        for v, g in zip(self.targets, result.tolist()):
            v.grad += g

    def values_of(self, nodes: Iterable[Value]) -> list[float]:
        """The last replay's values of recorded nodes (e.g. a model's outputs, for accuracy).

        The Values themselves keep the numbers of the eager pass that built the graph.
        """
        try:
            return self.values[[self._index(v) for v in nodes]].tolist()
        except KeyError:
            raise ValueError("values_of takes nodes of the compiled graph") from None

    # ---------------------------------------------------------------- errors, as eager raises them
    def _operands(self, v: Value) -> tuple[list[float], str]:
        data = [float(self.values[self._index(p)]) for p in v._parents]
        shown = ", ".join(f"{p.label}={d!r}" if p.label else repr(d) for p, d in zip(v._parents, data))
        return data, shown

    def _index(self, v: Value) -> int:
        if not hasattr(self, "_indices"):
            self._indices = {node: i for i, node in enumerate(self.nodes)}
        return self._indices[v]

    def _check_forward(self) -> None:
        """Find the first node that eager evaluation would reject, and raise its error."""
        for i, v in enumerate(self.nodes[len(self.leaves):], len(self.leaves)):
            data, shown = self._operands(v)
            try:
                v._op.forward(FloatMath, *data)
            except ARITHMETIC_ERRORS as error:
                raise type(error)(f"{v._op.name}({shown}): {error}") from None
            if not np.isfinite(self.values[i]) and all(map(np.isfinite, data)):
                raise OverflowError(f"{v._op.name}({shown}) overflows to {float(self.values[i])!r}")

    def _check_backward(self) -> None:
        for v in reversed(self.nodes[len(self.leaves):]):
            data, shown = self._operands(v)
            try:
                v._op.partials(FloatMath, float(self.values[self._index(v)]), *data)
            except ARITHMETIC_ERRORS as error:
                raise type(error)(f"in backward: the local derivative of {v._op.name}({shown}): {error}") from None


# ---------------------------------------------------------------- kernels: one per (level, op) group
# The value and gradient arrays are made once per Compiled and only ever written in place,
# so a kernel can hold views into them, made once at compile time: reading or adding
# through a view costs no index arithmetic and no copy at replay time.

def _view(array: np.ndarray, idx: np.ndarray) -> np.ndarray | None:
    """array[idx] as a view when the indices form an even grid (base + i*step per axis)."""
    if idx.size == 0:
        return None
    base = int(idx.flat[0])
    steps = [int(np.take(idx, 1, axis=d).flat[0]) - base if idx.shape[d] > 1 else 0 for d in range(idx.ndim)]
    if min(steps) < 0:
        return None
    grid = base + sum(np.arange(n).reshape([-1 if a == d else 1 for a in range(idx.ndim)]) * step
                      for d, (n, step) in enumerate(zip(idx.shape, steps)))
    if not np.array_equal(idx, grid):
        return None
    return np.lib.stride_tricks.as_strided(array[base:], idx.shape, [step * array.itemsize for step in steps])


class _Read:
    """values[idx], through a view made once when the indices allow it."""

    def __init__(self, values: np.ndarray, idx: np.ndarray) -> None:
        self.view, self.idx = _view(values, idx), idx

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.view if self.view is not None else values[self.idx]


class _Scatter:
    """grads[where] += amounts for one fixed index array, done the cheapest correct way.

    Distinct indices are one add, through a view when they form a grid; repeated
    indices (a weight used by every row of a batch) must add every copy, so their
    amounts are summed per index first: as the columns of a matrix when the same
    indices repeat in the same order (a layer's biases, once per input), else with
    `np.bincount`.
    """

    def __init__(self, grads: np.ndarray, where: np.ndarray) -> None:
        flat = where.ravel()
        self.where = where
        self.index, inverse = np.unique(flat, return_inverse=True)
        inverse = inverse.ravel()
        repeats, rest = divmod(flat.size, len(self.index)) if len(self.index) else (0, 1)
        if repeats > 1 and not rest and np.array_equal(inverse, np.tile(np.arange(len(self.index)), repeats)):
            self.add, self.tiles = self._add_tiled, (repeats, len(self.index))
        elif len(self.index) < flat.size:
            self.add, self.inverse = self._add_repeated, inverse
        else:
            self.view = _view(grads, where)
            self.add = self._add_distinct if self.view is None else self._add_view
        if self.add != self._add_distinct and self.add != self._add_view:
            self.target = _view(grads, self.index)  # where the per-index sums go

    def _add_view(self, grads: np.ndarray, amounts) -> None:
        self.view += amounts

    def _add_distinct(self, grads: np.ndarray, amounts) -> None:
        grads[self.where] += amounts

    def _add_tiled(self, grads: np.ndarray, amounts) -> None:
        self._add_sums(grads, np.reshape(amounts, self.tiles).sum(axis=0))

    def _add_repeated(self, grads: np.ndarray, amounts) -> None:
        self._add_sums(grads, np.bincount(self.inverse, np.ravel(amounts), len(self.index)))

    def _add_sums(self, grads: np.ndarray, sums: np.ndarray) -> None:
        if self.target is not None:
            self.target += sums
        else:
            grads[self.index] += sums


class _Group:
    """The nodes of one (level, op): outputs values[start:stop], inputs values[parents]."""

    def __init__(self, op: Op, start: int, parents: np.ndarray, values: np.ndarray, grads: np.ndarray) -> None:
        self.op, self.start, self.stop = op, start, start + len(parents)
        self.parents = parents
        self.out, self.out_grad = values[self.start : self.stop], grads[self.start : self.stop]


class _TableOp(_Group):
    """A unary or binary op (or pow): forward and partials straight from the op table."""

    def __init__(self, op: Op, start: int, parents: np.ndarray, needed: np.ndarray, values, grads) -> None:
        super().__init__(op, start, parents, values, grads)
        columns = [np.ascontiguousarray(parents[:, j]) for j in range(parents.shape[1])]
        self.reads = [_Read(values, c) for c in columns]
        # Only inputs a gradient is wanted from (not data or constants) get a scatter.
        self.scatters = [_Scatter(grads, c) if needed[c].any() else None for c in columns]

    def forward(self, values: np.ndarray) -> None:
        self.inputs = [read(values) for read in self.reads]
        self.out[...] = self.op.forward(NumpyMath, *self.inputs)

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        g = self.out_grad
        for scatter, d in zip(self.scatters, self.op.partials(NumpyMath, self.out, *self.inputs)):
            if scatter is not None:
                scatter.add(grads, g if type(d) is float and d == 1.0 else g * d)


class _Sum(_Group):
    """n-ary sum: each node adds one row of the gathered matrix; every partial is 1."""

    def __init__(self, op: Op, start: int, parents: np.ndarray, needed: np.ndarray, values, grads) -> None:
        super().__init__(op, start, parents, values, grads)
        self.read, self.scatter = _Read(values, parents), _Scatter(grads, parents)
        self.spread = np.broadcast_to(self.out_grad[:, None], parents.shape)  # each node's grad, once per input

    def forward(self, values: np.ndarray) -> None:
        self.out[...] = NumpyMath.sum(self.read(values).T)

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        self.scatter.add(grads, self.spread)


class _Dot(_Group):
    """n-ary dot, row by row: out = sum_i w_i x_i; d/dw_i = x_i, d/dx_i = w_i."""

    def __init__(self, op: Op, start: int, parents: np.ndarray, needed: np.ndarray, values, grads) -> None:
        super().__init__(op, start, parents, values, grads)
        n = parents.shape[1] // 2
        w, x = parents[:, :n], parents[:, n:]
        self.read_w, self.read_x = _Read(values, w), _Read(values, x)
        self.scatter_w = _Scatter(grads, w) if needed[w].any() else None
        self.scatter_x = _Scatter(grads, x) if needed[x].any() else None

    def forward(self, values: np.ndarray) -> None:
        self.W, self.X = self.read_w(values), self.read_x(values)
        self.out[...] = np.einsum("ij,ij->i", self.W, self.X)

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        g = self.out_grad[:, None]
        if self.scatter_w:
            self.scatter_w.add(grads, g * self.X)
        if self.scatter_x:
            self.scatter_x.add(grads, g * self.W)


class _DotMatmul(_Group):
    """A group of dots that pairs a few weight rows with a few input rows, as one matmul.

    The neurons of a layer applied to a batch are such a group: node k takes weight row
    a_k and input row b_k. One product P = X @ W.T gives every pair; node k reads
    P[b_k, a_k]. Backward is the same chain rule in matrix form: with G holding each
    node's gradient at its pair, dW = G.T @ X and dX = G @ W. When the nodes come
    input by input, as a batch does, P *is* the group's output: no gather, no scatter.
    """

    def __init__(self, op: Op, start: int, parents: np.ndarray, needed: np.ndarray, values, grads,
                 w_rows, a, x_rows, b) -> None:
        super().__init__(op, start, parents, values, grads)
        self.shape = (len(x_rows), len(w_rows))
        self.pair = b * len(w_rows) + a  # flat index of node k's pair in P
        self.dense = np.array_equal(self.pair, np.arange(len(self.pair)))
        self.G = None if self.dense else np.zeros(self.shape[0] * self.shape[1])  # pairs' grads, reused
        self.scatter_pair = None if self.dense else _Scatter(self.G, self.pair)
        self.read_w, self.read_x = _Read(values, w_rows), _Read(values, x_rows)
        self.scatter_w = _Scatter(grads, w_rows) if needed[w_rows].any() else None
        self.scatter_x = _Scatter(grads, x_rows) if needed[x_rows].any() else None

    def forward(self, values: np.ndarray) -> None:
        self.W, self.X = self.read_w(values), self.read_x(values)
        if self.dense:
            np.matmul(self.X, self.W.T, out=self.out.reshape(self.shape))
        else:
            self.out[...] = (self.X @ self.W.T).ravel()[self.pair]

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        if self.dense:
            G = self.out_grad.reshape(self.shape)
        else:
            self.G.fill(0.0)
            self.scatter_pair.add(self.G, self.out_grad)
            G = self.G.reshape(self.shape)
        if self.scatter_w:
            self.scatter_w.add(grads, G.T @ self.X)
        if self.scatter_x:
            self.scatter_x.add(grads, G @ self.W)


def _kernel(op: Op, start: int, parents: np.ndarray, needed: np.ndarray, values: np.ndarray, grads: np.ndarray) -> _Group:
    """Choose how to compute one group, or say clearly why it cannot be compiled.

    `needed[i]` says whether node i's gradient is wanted (it is, or leads to, a target).
    """
    if op is ops.SUM:
        return _Sum(op, start, parents, needed, values, grads)
    if op is ops.DOT:
        n = parents.shape[1] // 2
        w_rows, a = np.unique(parents[:, :n], axis=0, return_inverse=True)
        x_rows, b = np.unique(parents[:, n:], axis=0, return_inverse=True)
        if len(parents) > 1 and len(w_rows) * len(x_rows) <= 2 * len(parents):
            return _DotMatmul(op, start, parents, needed, values, grads, w_rows, a.ravel(), x_rows, b.ravel())
        return _Dot(op, start, parents, needed, values, grads)
    if op.arity is None:
        raise NotImplementedError(
            f"compile has no matrix form for the n-ary op {op.name!r}; only sum and dot are n-ary"
        )
    group = _TableOp(op, start, parents, needed, values, grads)
    try:  # an op whose formulas call something numpy lacks fails here, not mid-training
        with np.errstate(all="ignore"):
            probe = [np.ones(1) for _ in range(op.arity)]
            op.partials(NumpyMath, op.forward(NumpyMath, *probe), *probe)
    except (AttributeError, TypeError) as error:
        raise NotImplementedError(f"the op {op.name!r} cannot be replayed with numpy: {error}") from None
    return group
