"""The compiled replay: record a graph once, then recompute it fast for new numbers.

Training rebuilds the same graph every step: only the numbers change (the parameters
after an update, a new batch). `compile(loss)` records the graph once and `forward()` /
`backward()` recompute it with numpy, adding gradients into the leaves' `.grad` exactly
as `Value.backward()` does. Three passes, one job each:

1. **rewrite** (`engine.rewrite`): chains of adds and the products in them become one
   sum or dot, so `sum()` over Values is as fast as `Value.sum`.
2. **schedule** (`Compiled._schedule`): every node gets a level (1 + its parents'
   highest; leaves 0) and nodes of one level and op form a group, computed by one
   kernel (`engine.kernels`) over all its nodes at once.
3. **replay**: the kernels in order, forward; in reverse, backward.

**Data as arrays.** `compile(loss, wrt=params, data=leaves)` records one example's graph
over the leaves in `data` (its inputs and targets); `forward(rows)` then runs it over a
whole batch, one row of `rows` per example, as `vmap` does: every node that depends on
the data holds one number per example, and a layer of neurons is one matrix product.
The batch can have any size; compiling costs the same whatever it is. `backward()` adds
the gradient summed over the batch into the parameters.

**As strict as eager.** Leaf data must be a real number (`engine.value.as_float`). numpy
does not raise, so each pass listens to its floating-point flags: a NaN or infinity made
from finite numbers always sets one (overflow, invalid, division by zero), so a pass over
finite inputs that set none is finite throughout. With an input that is not finite, or
under `detect_anomaly()`, the pass sums its results instead. A flag, or a result that is
not finite, runs the examples again with floats through the op table, which raises
exactly what eager raises: division by zero, log of a negative, overflow, a partial eager
cannot take, and under `detect_anomaly()` the first NaN or infinity, naming the op.
Results equal eager ones up to the order of additions: within 1e-12.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from . import ops
from .autodiff import partial_error, reverse_walk, topological_order
from .context import state
from .kernels import (Arrays, BatchDot, Broadcast, Dot, DotMatmul, Elementwise, NumpyMath, ScalarRun, Sum,
                      first_writes)
from .ops import FloatMath, Op
from .rewrite import rewrite
from .schedule import BROADCAST, schedule
from .value import ARITHMETIC_ERRORS, Value, as_float

__all__ = ["compile", "Compiled", "NumpyMath"]

def compile(root: Value, *, wrt: Iterable[Value] | None = None, data: Sequence[Value] | None = None,
            keep: Iterable[Value] = ()) -> "Compiled":
    """Record the graph under `root` for fast replay (see the module docstring).

    `wrt`: the leaves whose `.grad` `backward()` fills (default: every leaf that is not
    data). `data`: leaves fed as arrays, one column each, by `forward(rows)`. `keep`:
    nodes you will read with `values_of` (any node can be read; kept ones cost nothing).
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile needs the Value at the end of a graph, got {type(root).__name__}")
    return Compiled(root, wrt, data, keep)


class Compiled:
    """A recorded graph: `forward()` and `backward()` replay it for new numbers.

    It holds the recorded graph's Values (to read leaves, write gradients and explain
    errors). The graph's shape is fixed: after building a different one, compile that.
    """

    def __init__(self, root: Value, wrt: Iterable[Value] | None = None,
                 data: Sequence[Value] | None = None, keep: Iterable[Value] = ()) -> None:
        self.root = root
        self.order = topological_order(root)
        leaves = [v for v in self.order if v._op is None]
        known = set(leaves)
        self.data = _distinct_leaves(data or [], known, "data")
        fed = set(self.data)
        if wrt is None:
            self.targets = [v for v in leaves if v not in fed]
        else:
            self.targets = _distinct_leaves(wrt, known, "wrt")
            both = fed.intersection(self.targets)
            if both:
                raise ValueError(f"a leaf cannot be both data and in wrt: {next(iter(both))!r}")
        self.keep = set(keep)
        self._schedule()
        self._arrays: dict[int, Arrays] = {}
        self._last: tuple[Arrays, np.ndarray | None] | None = None
        if not self.data:
            self.forward()

    def __repr__(self) -> str:
        return (f"Compiled({len(self.order)} nodes, {self.n_nodes} after rewriting: {self.n_leaves} leaves, "
                f"{self.n_levels} levels, {len(self.groups)} groups)")

    # ---------------------------------------------------------------- scheduling
    def _schedule(self) -> None:
        """Rewrite, schedule, then choose a kernel per group (tiny ones join float runs)."""
        plan = rewrite(self.order, self.keep | set(self.data))
        s = schedule(plan, self.data, set(self.targets))
        for op in set(s.ops) - {None, BROADCAST}:
            _check_replayable(op)
        kernels: list = []
        backward_kernels: list = []  # those with a gradient to send, or partials eager would check
        # Consecutive tiny groups run as one float run; the others get a kernel each.
        flips = np.flatnonzero(s.scalar[1:] != s.scalar[:-1]) + 1
        bounds = zip(np.r_[0, flips].tolist(), np.r_[flips, len(s.scalar)].tolist()) if len(s.scalar) else ()
        for first, last in bounds:
            if s.scalar[first]:
                members = s.order[s.starts[first]:s.stops[last - 1]]
                kernels.append(ScalarRun(members, s, self._explain, lambda a: self._check_forward(a, None)))
                backward_kernels.append(kernels[-1])
                continue
            for g in range(first, last):
                members = s.order[s.starts[g]:s.stops[g]].tolist()
                i = members[0]
                kernels.append(_kernel(s.ops[i], s.kind[i], s.batched[i], members, s.parents, s.pos, s.needed))
                if isinstance(kernels[-1], Elementwise) or any(s.needed[i] for i in members):
                    backward_kernels.append(kernels[-1])
        self.groups, self.backward_groups = kernels, backward_kernels[::-1]
        self._plan, self._s = plan, s
        self.read_leaves, self.constants, self.sizes = s.read_leaves, s.constants, s.sizes
        self.n_nodes, self.n_leaves, self.n_levels = len(s.ops), s.ops.count(None), s.levels
        root = plan.index[self.root]
        self.root_pos, self.root_batched = int(s.pos[root]), s.batched[root]
        self.target_pos = s.pos[[plan.index[v] for v in self.targets]]
        wrt = set(self.targets)
        others = [(v, k) for k, v in enumerate(self.read_leaves) if v not in wrt]  # read even when given `leaves`
        self._others = ([v for v, _ in others], [k for _, k in others])
        self._computed = (len(self.read_leaves) + len(self.constants), len(self.data))  # first computed rows of u, b
        seeded = {self.root_pos} if self.root_batched else set()
        self._unwritten = first_writes(self.backward_groups, seeded, range(len(self.data), s.sizes[1]))

    # ---------------------------------------------------------------- replay
    def forward(self, rows: object = None, *, columns: object = None, leaves: object = None) -> "float | np.ndarray":
        """Read the leaves' `.data` (and a batch's `rows`, one per example, when the graph
        was compiled with `data`), recompute every node; return the root's value (one
        per example with `data`).

        `columns`: the batch as `rows.T` (one row per data leaf, one column per example),
        the replay's own layout: given so, it is copied without a transpose, and a
        read-only array that owns its numbers is copied once, not at every pass. `leaves`:
        numbers for the `wrt` leaves, in their order, read instead of their Values (a
        training loop that keeps its parameters in an array, with `gradient`).
        """
        if columns is not None:
            rows = self._transposed(rows, columns)
        batch = self._rows(rows)
        a = self._arrays_for(1 if batch is None else len(batch))
        if leaves is None:
            self._read(a, self.read_leaves, slice(0, len(self.read_leaves)))  # a slice: numpy takes a range as a list
        else:
            a.u[self.target_pos] = self._numbers_for_wrt(leaves)
            if self._others[0]:
                self._read(a, *self._others)
        if batch is not None:
            _feed(a, batch, columns)
        alarm, a.passed = _Alarm(), False
        with alarm.listening():
            trusted = _trusted(a.u[:self._computed[0]], a.b[:self._computed[1]])
            for group in self.groups:
                group.forward(a)
        finite = not alarm.rang if trusted and not a.passed else _finite(a.u[self._computed[0]:], a.b[self._computed[1]:])
        a.clean = finite  # so backward may trust numpy's flags too
        self._last = (a, batch)
        if not finite:
            self._check_forward(a, batch)
        return a.b[self.root_pos].copy() if self.root_batched else float(a.u[self.root_pos])

    def backward(self, grad: object = 1.0) -> None:
        """Add d(root)/d(leaf), times `grad`, into the `.grad` of each leaf of `wrt`.

        With `data`, `grad` is one number for every example or one per example, and each
        leaf gets the sum over the batch (a mean loss: `grad=1/len(rows)`).
        """
        for v, g in zip(self.targets, self.gradient(grad).tolist()):
            v.grad += g

    def gradient(self, grad: object = 1.0) -> np.ndarray:
        """d(root)/d(leaf), times `grad`, for the leaves of `wrt` in their order, as an
        array (summed over the batch as `backward` does); no Value is touched."""
        if self._last is None:
            raise RuntimeError("backward needs a forward pass first: call forward(rows)")
        a, batch = self._last
        a.gu.fill(0.0)
        a.gb[self._unwritten] = 0.0  # the other rows are written, not added to, first (kernels.first_writes)
        a.suspect = False
        if self.root_batched:
            a.gb[self.root_pos] = self._seed(grad, a.b.shape[1])
        else:
            a.gu[self.root_pos] = as_float(grad, "backward seed")
        alarm = _Alarm()
        with alarm.listening():
            seed = a.gb[self.root_pos] if self.root_batched else a.gu[self.root_pos]
            a.trusted = a.clean and _trusted(seed)
            for group in self.backward_groups:
                group.backward(a)
        finite = not alarm.rang if a.trusted else _finite(a.gu, a.gb[self._computed[1]:])
        if a.suspect or not finite:
            self._check_backward(a, batch, grad)
        return a.gu[self.target_pos]

    def _read(self, a: Arrays, leaves: Sequence[Value], rows: "Sequence[int] | slice") -> None:
        """The leaves' `.data` into their rows of `u`, each a real number (as eager checks)."""
        numbers = [v.data for v in leaves]
        if set(map(type, numbers)) - {float}:
            numbers = [as_float(x, f"the leaf {v!r}") for x, v in zip(numbers, leaves)]
        a.u[rows] = numbers

    def _numbers_for_wrt(self, leaves: object) -> np.ndarray:
        numbers = np.asarray(leaves)
        if numbers.dtype.kind not in "fiu" or numbers.dtype == np.bool_:
            raise TypeError(f"leaves must be real numbers, got an array of {numbers.dtype}")
        if numbers.shape != (len(self.targets),):
            raise ValueError(f"leaves must hold one number per leaf of wrt ({len(self.targets)}), got shape {numbers.shape}")
        return numbers

    def values_of(self, nodes: Iterable[Value]) -> "list[float] | np.ndarray":
        """The last replay's values of recorded nodes (e.g. a model's outputs): a list of
        floats, or with `data` an array with one row per node and one column per example.

        The Values themselves keep the numbers of the eager pass that built the graph. A
        node the rewrite folded away is kept from then on (compiled once more).
        """
        nodes = list(nodes)
        if self._last is None:
            raise RuntimeError("values_of needs a forward pass first: call forward(rows)")
        recorded = self._plan.index
        if any(v not in recorded for v in nodes):
            if not set(nodes) <= set(self.order):
                raise ValueError("values_of takes nodes of the compiled graph")
            self.keep.update(nodes)
            self._schedule()
            self._arrays.clear()
            self.forward(self._last[1])
            recorded = self._plan.index
        a = self._last[0]
        rows = [(self._s.batched[recorded[v]], self._s.pos[recorded[v]]) for v in nodes]
        if self.data:
            return np.array([a.b[p] if in_b else np.full(a.b.shape[1], a.u[p]) for in_b, p in rows])
        return [float(a.u[p]) for _, p in rows]

    def _transposed(self, rows: object, columns: object) -> np.ndarray:
        if rows is not None:
            raise TypeError("forward takes the batch as rows or as columns, not both")
        columns = np.asarray(columns)
        if columns.ndim != 2 or columns.shape[0] != len(self.data):
            raise ValueError(f"the batch as columns must have shape ({len(self.data)}, examples), got {columns.shape}")
        return columns.T

    def _rows(self, rows: object) -> np.ndarray | None:
        if not self.data:
            if rows is not None:
                raise TypeError("forward takes rows only for a graph compiled with data=")
            return None
        if rows is None:
            raise TypeError(f"forward needs the batch: rows of {len(self.data)} numbers, one row per example")
        batch = np.asarray(rows)
        if batch.dtype.kind not in "fiu" or batch.dtype == np.bool_:
            raise TypeError(f"the batch must hold real numbers, got an array of {batch.dtype}")
        if batch.ndim != 2 or batch.shape[1] != len(self.data) or not len(batch):
            raise ValueError(f"the batch must have shape (examples, {len(self.data)}), got {batch.shape}")
        return batch.astype(float, copy=False)

    def _seed(self, grad: object, batch: int) -> np.ndarray | float:
        if isinstance(grad, np.ndarray) or isinstance(grad, (list, tuple)):
            seed = np.asarray(grad)
            if seed.dtype.kind not in "fiu" or seed.shape != (batch,):
                raise ValueError(f"backward's seed must be one number or {batch} numbers, got shape {seed.shape}")
            return seed.astype(float)
        return as_float(grad, "backward seed")

    def _arrays_for(self, batch: int) -> Arrays:
        if batch not in self._arrays:
            a = self._arrays[batch] = Arrays(self.sizes[0], self.sizes[1], batch)
            for p, c in self.constants.items():
                a.u[p] = c
        return self._arrays[batch]

    # ---------------------------------------------------------------- errors, as eager raises them
    def _explain(self, row: int, inputs: list[float], error: Exception | None, out: float = 0.0,
                 backward: bool = False) -> Exception | None:
        """The error eager raises at the plan node in row `row` of `u`, or None."""
        i = next(i for i, p in enumerate(self._s.pos.tolist()) if p == row and not self._s.batched[i])
        sources = [self._plan.source[p] for p in self._s.parents[i]]
        return _error(self._s.ops[i], sources, inputs, error, out, backward)

    def _columns(self, a: Arrays, batch: np.ndarray | None, grads: bool) -> list[int | None]:
        """The examples to run again with floats: those with a number that is not finite."""
        if batch is None:
            return [None]
        bad = ~np.isfinite(a.b).all(axis=0)
        if grads:
            bad |= ~np.isfinite(a.gb).all(axis=0)
        columns = np.flatnonzero(bad).tolist()
        return columns or list(range(a.b.shape[1]))

    def _numbers(self, a: Arrays, batch: np.ndarray | None, column: int | None) -> dict[Value, float]:
        """One example, forward in floats through the op table, as eager computes it."""
        index, pos, batched = self._plan.index, self._s.pos, self._s.batched
        numbers: dict[Value, float] = {}
        for v in self.order:
            if v._op is None:
                numbers[v] = float(a.b[pos[index[v]], column]) if batched[index[v]] \
                    else float(a.u[pos[index[v]]])
                continue
            inputs = [numbers[p] for p in v._parents]
            try:
                out = v._op.forward(FloatMath, *inputs)
            except ARITHMETIC_ERRORS as error:
                raise _error(v._op, v._parents, inputs, error) from None
            if out - out != 0.0:
                problem = _error(v._op, v._parents, inputs, None, out)
                if problem is not None:
                    raise problem
            numbers[v] = out
        return numbers

    def _check_forward(self, a: Arrays, batch: np.ndarray | None) -> None:
        for column in self._columns(a, batch, grads=False):
            self._numbers(a, batch, column)

    def _check_backward(self, a: Arrays, batch: np.ndarray | None, grad: object) -> None:
        seed = self._seed(grad, a.b.shape[1]) if self.root_batched else as_float(grad, "backward seed")
        for column in self._columns(a, batch, grads=True):
            numbers = self._numbers(a, batch, column)
            s = float(seed[column]) if isinstance(seed, np.ndarray) else seed
            for _ in reverse_walk(self.order, {self.root: s}, _Replayed(numbers)):
                pass


def _feed(a: Arrays, batch: np.ndarray, columns: object) -> None:
    """The batch into the data's rows of `b`. A read-only array that owns its numbers
    cannot change, so given again it is not copied again (fit hands its data so)."""
    if columns is not None and columns is a.fed:
        return
    a.b[: batch.shape[1]] = batch.T
    owned = isinstance(columns, np.ndarray) and columns.base is None and not columns.flags.writeable
    a.fed = columns if owned else None


def _trusted(*inputs: np.ndarray) -> bool:
    """May a pass over these inputs trust numpy's flags to tell whether its results are
    finite? Yes when every input is finite, and not under detect_anomaly: a number that
    is not finite, made from finite ones, always sets a flag (overflow, invalid,
    division by zero). Called while an `_Alarm` listens: a sum that overflows rings it,
    which only costs a check."""
    return not state().anomaly and all(np.isfinite(np.sum(x)) for x in inputs)


def _finite(*results: np.ndarray) -> bool:
    """One sum each: finite iff all its numbers are (or the sum overflows). Leaves are
    not results: eager minds a number only where an op computes with it."""
    with np.errstate(all="ignore"):
        return all(np.isfinite(np.sum(r)) for r in results)


class _Alarm:
    """numpy's floating-point flags as one switch: overflow, an invalid operation or a
    division by zero in any kernel sets it (underflow to 0 is fine). Checking the flags
    costs nothing; summing every result to find a NaN costs a pass over memory."""

    __slots__ = ("rang",)

    def __init__(self) -> None:
        self.rang = False

    def __call__(self, kind: str, flag: int) -> None:
        self.rang = True

    def listening(self) -> np.errstate:
        return np.errstate(over="call", invalid="call", divide="call", under="ignore", call=self)


class _Replayed(FloatMath):
    """The float backend reading one example's replayed numbers (not the Values' own)."""

    def __init__(self, numbers: dict[Value, float]) -> None:
        self.of = numbers.__getitem__


def _error(op: Op, sources: Sequence[Value | None], inputs: list[float], error: Exception | None,
           out: float = 0.0, backward: bool = False) -> Exception | None:
    """What eager raises for `op` on `inputs`: the arithmetic `error`, or for a result
    that is not finite an OverflowError (finite inputs) or, under detect_anomaly, a
    FloatingPointError; None when eager lets it pass."""
    shown = ", ".join(f"{v.label}={x!r}" if v is not None and v.label else repr(x) for v, x in zip(sources, inputs))
    if error is not None and backward:
        return partial_error(op, [v.label if v is not None else None for v in sources], inputs, error)
    if error is not None:
        return type(error)(f"{op.name}({shown}): {error}")
    finite_param = op.param is None or np.isfinite(op.param)
    if finite_param and all(x - x == 0.0 for x in inputs):
        return OverflowError(f"{op.name}({shown}) overflows to {out!r}")
    if state().anomaly:
        return FloatingPointError(f"anomaly: {op.name}({shown}) produced {out!r}")
    return None


def _distinct_leaves(given: Iterable[Value], leaves: set, what: str) -> list[Value]:
    chosen = list(dict.fromkeys(given))  # each leaf once, in the order given
    missing = [v for v in chosen if v not in leaves]
    if missing:
        raise ValueError(f"{what} must list leaves of the compiled graph; {len(missing)} are not (first: {missing[0]!r})")
    return chosen


def _kernel(op: Op, kind: object, in_b: bool, members: list[int], parents: list, pos: np.ndarray, needed: list):
    """Choose how to compute one group (`need[k, j]`: is input j of node k wanted?)."""
    start, stop = int(pos[members[0]]), int(pos[members[0]]) + len(members)
    flat = np.array([parents[i] for i in members], dtype=np.intp)
    rows = pos[flat]
    need = np.array(needed, dtype=bool)[flat]
    if op is BROADCAST:
        return Broadcast(op, start, stop, rows[:, 0], need[:, 0])
    if op is ops.SUM:
        return Sum(op, start, stop, in_b, rows, need)
    if op is ops.DOT:
        h = rows.shape[1] // 2
        w, x, need_w, need_x = rows[:, :h], rows[:, h:], need[:, :h], need[:, h:]
        if in_b:
            return BatchDot(op, start, stop, w, x, bool(kind), need_w, need_x)
        w_rows, a = np.unique(w, axis=0, return_inverse=True)
        x_rows, b = np.unique(x, axis=0, return_inverse=True)
        if len(members) > 1 and len(w_rows) * len(x_rows) <= 2 * len(members):
            return DotMatmul(op, start, stop, w_rows, a.ravel(), x_rows, b.ravel(),
                             _rows_wanted(w_rows, w, need_w), _rows_wanted(x_rows, x, need_x))
        return Dot(op, start, stop, w, x, need_w, need_x)
    flags = kind if in_b else (False,) * rows.shape[1]
    columns = [(rows[:, j], flags[j]) for j in range(rows.shape[1])]
    return Elementwise(op, start, stop, in_b, columns, need)


def _rows_wanted(unique: np.ndarray, rows: np.ndarray, need: np.ndarray) -> np.ndarray:
    """For each entry of the distinct rows, whether its gradient is wanted (a row is a
    node, so every copy of it says the same)."""
    wanted = dict(zip(rows.ravel().tolist(), need.ravel().tolist()))
    return np.array([wanted[r] for r in unique.ravel().tolist()], dtype=bool).reshape(unique.shape)


def _check_replayable(op: Op) -> None:
    """An op whose formulas call something numpy lacks fails here, not mid-training."""
    if op.arity is None:
        if op is not ops.SUM and op is not ops.DOT:
            raise NotImplementedError(f"compile has no matrix form for the n-ary op {op.name!r}; only sum and dot are n-ary")
        return
    try:
        with np.errstate(all="ignore"):
            probe = [np.ones(1) for _ in range(op.arity)]
            op.partials(NumpyMath, op.forward(NumpyMath, *probe), *probe)
    except (AttributeError, TypeError) as error:
        raise NotImplementedError(f"the op {op.name!r} cannot be replayed with numpy: {error}") from None
