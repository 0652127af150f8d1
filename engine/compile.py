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

import sys
import types
from operator import attrgetter
from typing import Iterable

import numpy as np

from . import ops
from .autodiff import topological_order
from .ops import FloatMath, Op
from .value import ARITHMETIC_ERRORS, Value

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
        return np.where(a > 0.0, a, 0.0)

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


_data = attrgetter("data")


class Compiled:
    """A recorded graph: `forward()` and `backward()` replay it for new leaf data.

    It holds the recorded graph's Values (to read leaves, write gradients and explain
    errors). The graph's shape is fixed: after building a different graph (another batch
    size, another network), compile that one.
    """

    def __init__(self, root: Value, wrt: Iterable[Value] | None = None) -> None:
        order = topological_order(root)
        self.leaves = [v for v in order if v._op is None]
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
        if wrt is None:
            self.targets = self.leaves
        else:
            self.targets = list(wrt)
            missing = [v for v in self.targets if not (v in index and index[v] < len(self.leaves))]
            if missing:
                raise ValueError(
                    f"wrt must list leaves of the compiled graph; {len(missing)} are not (first: {missing[0]!r})"
                )
        self.target_index = np.array([index[v] for v in self.targets], dtype=np.intp)
        # A node's gradient is needed if it is a target or leads to one; the rest is skipped.
        needed = np.zeros(len(self.nodes), dtype=bool)
        needed[self.target_index] = True
        for op, start, parents in layout:
            needed[start : start + len(parents)] = needed[parents].any(axis=1)
        self.groups: list[_Group] = [_kernel(op, start, parents, needed) for op, start, parents in layout]
        self.backward_groups = [g for g in reversed(self.groups) if needed[g.start : g.stop].any()]
        self.n_levels = max(level.values())
        self.root_index = index[root]
        self.values = np.zeros(len(self.nodes))
        self.grads = np.zeros(len(self.nodes))
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
            values[:n] = np.fromiter(map(_data, self.leaves), np.float64, n)
        except (TypeError, ValueError):
            bad = next(v for v in self.leaves if not isinstance(v.data, (int, float)))
            raise TypeError(f"a leaf's data must be a number, got {bad.data!r} in {bad!r}") from None
        with np.errstate(all="ignore"):
            for group in self.groups:
                group.forward(values)
        if not np.isfinite(values.sum()):  # one reduction: finite iff every value is (or the sum overflows)
            self._check_forward()
        return float(values[self.root_index])

    def backward(self, grad: float = 1.0) -> None:
        """Add d(root)/d(leaf), times `grad`, into the `.grad` of each leaf (or of `wrt`)."""
        grads = self.grads
        grads.fill(0.0)
        grads[self.root_index] = grad
        with np.errstate(all="ignore"):
            for group in self.backward_groups:
                group.backward(self.values, grads)
        result = grads[self.target_index]
        if not np.isfinite(result.sum()):
            self._check_backward()
        for v, g in zip(self.targets, result.tolist()):
            v.grad += g

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

class _Group:
    """The nodes of one (level, op): outputs values[start:stop], inputs values[parents]."""

    def __init__(self, op: Op, start: int, parents: np.ndarray) -> None:
        self.op, self.start, self.stop = op, start, start + len(parents)
        self.parents = parents


class _Scatter:
    """grads[where] += amounts for one fixed index array, done the cheapest correct way.

    A run of consecutive indices is a slice (no copy); distinct indices are one fancy
    add; repeated indices (a weight used by every row of a batch) must add every copy,
    so their amounts are summed per index first: as the columns of a matrix when the
    same indices repeat in the same order, else with `np.bincount`.
    """

    def __init__(self, where: np.ndarray) -> None:
        flat = where.ravel()
        self.where, self.shape = where, where.shape
        self.index, inverse = np.unique(flat, return_inverse=True)
        inverse = inverse.ravel()
        repeats, rest = divmod(flat.size, len(self.index)) if len(self.index) else (0, 1)
        if repeats > 1 and not rest and np.array_equal(inverse, np.tile(np.arange(len(self.index)), repeats)):
            self.kind, self.tiles = "tiled", (repeats, len(self.index))  # e.g. a layer's biases, once per input
        elif len(self.index) < flat.size:
            self.kind, self.inverse = "repeated", inverse
        elif len(flat) and np.array_equal(flat, np.arange(flat[0], flat[0] + len(flat))):
            self.kind, self.index = "slice", slice(int(flat[0]), int(flat[0]) + len(flat))
        else:
            self.kind, self.index = "distinct", where
        self.add = getattr(self, f"_add_{self.kind}")  # chosen once, called every step

    def _add_tiled(self, grads: np.ndarray, amounts) -> None:
        grads[self.index] += np.reshape(amounts, self.tiles).sum(axis=0)

    def _add_repeated(self, grads: np.ndarray, amounts) -> None:
        grads[self.index] += np.bincount(self.inverse, np.ravel(amounts), len(self.index))

    def _add_slice(self, grads: np.ndarray, amounts) -> None:
        view = grads[self.index].reshape(self.shape)  # a view: adding into it adds into grads
        view += amounts

    def _add_distinct(self, grads: np.ndarray, amounts) -> None:
        grads[self.where] += amounts


class _TableOp(_Group):
    """A unary or binary op (or pow): forward and partials straight from the op table."""

    def __init__(self, op: Op, start: int, parents: np.ndarray, needed: np.ndarray) -> None:
        super().__init__(op, start, parents)
        self.columns = [_Scatter(parents[:, j]) for j in range(parents.shape[1])]
        self.reads = [c.index if c.kind == "slice" else c.where for c in self.columns]  # a slice reads without copying
        self.needed = [bool(needed[parents[:, j]].any()) for j in range(parents.shape[1])]

    def forward(self, values: np.ndarray) -> None:
        self.inputs = [values[r] for r in self.reads]
        values[self.start : self.stop] = self.op.forward(NumpyMath, *self.inputs)

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        g = grads[self.start : self.stop]
        out = values[self.start : self.stop]
        partials = self.op.partials(NumpyMath, out, *self.inputs)
        for scatter, needed, d in zip(self.columns, self.needed, partials):
            if needed:  # skip inputs no gradient is wanted from (data, constants)
                scatter.add(grads, g if type(d) is float and d == 1.0 else g * d)


class _Sum(_Group):
    """n-ary sum: each node adds one row of the gathered matrix; every partial is 1."""

    def __init__(self, op: Op, start: int, parents: np.ndarray, needed: np.ndarray) -> None:
        super().__init__(op, start, parents)
        self.scatter = _Scatter(parents)

    def forward(self, values: np.ndarray) -> None:
        values[self.start : self.stop] = NumpyMath.sum(values[self.parents].T)

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        self.scatter.add(grads, np.broadcast_to(grads[self.start : self.stop, None], self.parents.shape))


class _Dot(_Group):
    """n-ary dot, row by row: out = sum_i w_i x_i; d/dw_i = x_i, d/dx_i = w_i."""

    def __init__(self, op: Op, start: int, parents: np.ndarray, needed: np.ndarray) -> None:
        super().__init__(op, start, parents)
        n = parents.shape[1] // 2
        self.w, self.x = parents[:, :n], parents[:, n:]
        self.scatter_w = _Scatter(self.w) if needed[self.w].any() else None
        self.scatter_x = _Scatter(self.x) if needed[self.x].any() else None

    def forward(self, values: np.ndarray) -> None:
        self.W, self.X = values[self.w], values[self.x]
        values[self.start : self.stop] = np.einsum("ij,ij->i", self.W, self.X)

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        g = grads[self.start : self.stop, None]
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

    def __init__(self, op: Op, start: int, parents: np.ndarray, needed: np.ndarray, w_rows, a, x_rows, b) -> None:
        super().__init__(op, start, parents)
        self.shape = (len(x_rows), len(w_rows))
        pair = b * len(w_rows) + a  # flat index of node k's pair in P
        self.dense = np.array_equal(pair, np.arange(len(pair)))
        self.scatter_pair = None if self.dense else _Scatter(pair)
        self.pair = pair
        self.read_w, self.read_x = _reader(w_rows), _reader(x_rows)
        self.scatter_w = _Scatter(w_rows) if needed[w_rows].any() else None
        self.scatter_x = _Scatter(x_rows) if needed[x_rows].any() else None

    def forward(self, values: np.ndarray) -> None:
        self.W, self.X = self.read_w(values), self.read_x(values)
        P = self.X @ self.W.T
        values[self.start : self.stop] = P.ravel() if self.dense else P.ravel()[self.pair]

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        g = grads[self.start : self.stop]
        if self.dense:
            G = g.reshape(self.shape)
        else:
            G = np.zeros(self.shape[0] * self.shape[1])
            self.scatter_pair.add(G, g)
            G = G.reshape(self.shape)
        if self.scatter_w:
            self.scatter_w.add(grads, G.T @ self.X)
        if self.scatter_x:
            self.scatter_x.add(grads, G @ self.W)


def _reader(rows: np.ndarray):
    """values -> values[rows], as a view when the rows are one consecutive block."""
    flat = rows.ravel()
    if len(flat) and np.array_equal(flat, np.arange(flat[0], flat[0] + len(flat))):
        block, shape = slice(int(flat[0]), int(flat[0]) + len(flat)), rows.shape
        return lambda values: values[block].reshape(shape)
    return lambda values: values[rows]


def _kernel(op: Op, start: int, parents: np.ndarray, needed: np.ndarray) -> _Group:
    """Choose how to compute one group, or say clearly why it cannot be compiled.

    `needed[i]` says whether node i's gradient is wanted (it is, or leads to, a target).
    """
    if op is ops.SUM:
        return _Sum(op, start, parents, needed)
    if op is ops.DOT:
        n = parents.shape[1] // 2
        w_rows, a = np.unique(parents[:, :n], axis=0, return_inverse=True)
        x_rows, b = np.unique(parents[:, n:], axis=0, return_inverse=True)
        if len(parents) > 1 and len(w_rows) * len(x_rows) <= 2 * len(parents):
            return _DotMatmul(op, start, parents, needed, w_rows, a.ravel(), x_rows, b.ravel())
        return _Dot(op, start, parents, needed)
    if op.arity is None:
        raise NotImplementedError(
            f"compile has no matrix form for the n-ary op {op.name!r}; only sum and dot are n-ary"
        )
    group = _TableOp(op, start, parents, needed)
    try:  # an op whose formulas call something numpy lacks fails here, not mid-training
        with np.errstate(all="ignore"):
            probe = [np.ones(1) for _ in range(op.arity)]
            op.partials(NumpyMath, op.forward(NumpyMath, *probe), *probe)
    except (AttributeError, TypeError) as error:
        raise NotImplementedError(f"the op {op.name!r} cannot be replayed with numpy: {error}") from None
    return group


class _CallableModule(types.ModuleType):
    """`engine.compile` is this function, but names this module once the module has been
    imported directly (`from engine.compile import NumpyMath`): calling it works either way."""

    def __call__(self, root: Value, *, wrt: Iterable[Value] | None = None) -> Compiled:
        return compile(root, wrt=wrt)


sys.modules[__name__].__class__ = _CallableModule
