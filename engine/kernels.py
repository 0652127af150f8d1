"""The replay's kernels: how one group of same-op nodes is computed, forward and back.

Storage is two arrays per batch size (`Arrays`): `u` holds the nodes that do not depend
on the data (parameters, constants and what is computed from them alone), one number
each; `b` holds the nodes that do, one row of numbers per node, one column per example.
Gradients mirror them (`gu`, `gb`). A group's outputs are a contiguous slice of one of
them, its inputs fixed rows (`Rows`).

Every number comes from the op table: unary and binary ops run their own entries over
numpy arrays (`NumpyMath`), `sum` and `dot` get the matrix form of theirs (a dot whose
nodes share weight rows and input rows, as a layer's neurons do, is one matrix product).
numpy does not raise: the replay listens to numpy's floating-point flags during a pass
and, if one rings, replays the examples with floats to raise what eager raises (see
`engine.replay`). In backward a gradient row's first writer writes it and later ones
add (`first_writes`), so a pass zeroes only the rows nobody writes first. Groups too
small for numpy to pay run as `ScalarRun`s, in plain floats through the same table,
which raises as eager does by itself.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .ops import FloatMath, Op
from .value import ARITHMETIC_ERRORS

__all__ = ["NumpyMath", "Arrays", "Rows", "Elementwise", "Sum", "Dot", "DotMatmul", "BatchDot",
           "Broadcast", "ScalarRun", "first_writes"]


class NumpyMath:
    """The op table's backend over numpy float64 arrays (no checks: see `engine.replay`)."""

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    tanh = staticmethod(np.tanh)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    div = staticmethod(np.true_divide)

    @staticmethod
    def sigmoid(a):
        """The float backend's two branches at once: with e = exp(-|a|), 1/(1+e) where
        a >= 0 and e/(1+e) below, the numerator max(e, a >= 0) (e <= 1; NaN stays NaN).
        In place where it can: a fresh array is a page fault per 4 KB on a big batch."""
        e = np.abs(a)
        np.negative(e, out=e)
        np.exp(e, out=e)
        below = e + 1.0
        np.maximum(e, a >= 0.0, out=e)
        e /= below
        return e

    @staticmethod
    def relu(a):
        return np.maximum(a, 0.0)  # NaN stays NaN and -0.0 gives 0.0, as in the float backend

    sign = staticmethod(np.sign)  # 0 at 0 and NaN at NaN, as the float backend's

    @staticmethod
    def step(a):
        return a > 0.0  # booleans: numpy multiplies them as 0.0 and 1.0, without a copy to floats

    @staticmethod
    def sech2(a):
        big = np.abs(a) >= 350.0
        if not big.any():  # the usual case: the float backend's first branch only
            c = np.cosh(a)
            c *= c
            return np.reciprocal(c, out=c)
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


class Arrays:
    """Values and gradients for one batch size: `u`, `gu` (n,) and `b`, `gb` (m, batch)."""

    __slots__ = ("u", "b", "gu", "gb", "suspect", "passed", "clean", "trusted", "fed")

    def __init__(self, n_unbatched: int, n_batched: int, batch: int) -> None:
        self.u, self.gu = np.zeros(n_unbatched), np.zeros(n_unbatched)
        self.b, self.gb = np.zeros((n_batched, batch)), np.zeros((n_batched, batch))
        self.suspect = False  # a partial that no gradient needed was not finite
        self.passed = False  # a float run let a number that is not finite pass (as eager does)
        self.clean = False  # the last forward pass was all finite
        self.trusted = False  # this backward pass trusts numpy's flags (engine.replay)
        self.fed = None  # the read-only batch whose numbers the data rows hold


class Rows:
    """Fixed rows of a value or gradient array: read them, or add amounts into them.

    A contiguous run of rows is a slice (a view, no copy). Amounts go only to the rows
    `wanted` says a gradient is wanted from (not to data or constants); repeated rows
    (a weight used by many nodes) must receive every amount, so those are first summed.
    """

    def __init__(self, index: Sequence[int] | np.ndarray, wanted: np.ndarray | None = None) -> None:
        index = np.asarray(index, dtype=np.intp)
        self.shape = index.shape
        flat = index.ravel()
        self.key = _slice(flat)
        picked = None if wanted is None or wanted.all() else np.flatnonzero(np.ravel(wanted))
        into = flat if picked is None else flat[picked]
        self.pick = None if picked is None else _slice(picked)
        self.into = _slice(into)
        order = np.argsort(into, kind="stable")
        ranked = into[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]]) if into.size else np.zeros(0, np.intp)
        self.repeated = len(starts) < into.size
        self.order, self.starts, self.targets = order, starts, ranked[starts]
        self.first = False  # the first amounts its rows get in a pass: written, not added (see first_writes)
        self.plain = self.pick is None and not self.repeated and isinstance(self.into, slice)  # one run, each row once

    def get(self, array: np.ndarray) -> np.ndarray:
        if len(self.shape) == 1:
            return array[self.key]  # already (rows,) or (rows, batch)
        return array[self.key].reshape(self.shape + array.shape[1:])

    def fresh(self, array: np.ndarray) -> np.ndarray | None:
        """The rows as a view to compute their first amounts straight into (no temporary),
        when this is their first write in a pass and they are one plain run; else None."""
        if self.first and self.plain:
            return array[self.into].reshape(self.shape + array.shape[1:])
        return None

    def add(self, array: np.ndarray, amounts) -> None:
        full = self.shape + array.shape[1:]
        if self.plain:
            into = array[self.into].reshape(full)  # a view: amounts broadcast into it, never copied out
            if self.first:
                into[...] = amounts
            else:
                into += amounts
            return
        if np.shape(amounts) != full:
            amounts = np.broadcast_to(amounts, full)
        amounts = amounts.reshape((-1,) + array.shape[1:])
        if self.pick is not None:
            amounts = amounts[self.pick]
        if self.repeated:
            amounts = np.add.reduceat(amounts[self.order], self.starts, axis=0)
            if self.first:
                array[self.targets] = amounts
            else:
                array[self.targets] += amounts
        elif self.first:
            array[self.into] = amounts
        else:
            array[self.into] += amounts


def first_writes(groups: Sequence["Group | ScalarRun"], written: set[int], rows: range) -> np.ndarray:
    """Mark the batch gradients' first writers, in backward order; return the rows that
    need zeros (nobody writes them first). `written`: rows set before the pass (the seed).

    A node's gradient is complete before its own group reads it (its users come later
    in the graph, so earlier in backward). So a row's first amount can be written, not
    added to a zero: the pass then zeroes almost nothing, and a big batch is not
    filled with zeros every step."""
    written, zeroed = set(written), set()
    for group in groups:
        for r in group.batch_gradient_rows():
            mine = set(r.targets.tolist())
            r.first = written.isdisjoint(mine)
            if not r.first:
                zeroed |= mine - written  # added to along with rows written before: they need zeros
            written |= mine
    return np.array(sorted(zeroed | (set(rows) - written)), dtype=np.intp)


def _slice(flat: np.ndarray) -> slice | np.ndarray:
    """`flat` as a slice when it is a contiguous run of indices (reads become views)."""
    if flat.size and flat[-1] - flat[0] == flat.size - 1 and np.array_equal(np.diff(flat), np.ones(flat.size - 1)):
        return slice(int(flat[0]), int(flat[-1]) + 1)
    return flat


def _space(arrays: Arrays, batched: bool) -> tuple[np.ndarray, np.ndarray]:
    return (arrays.b, arrays.gb) if batched else (arrays.u, arrays.gu)


class Group:
    """The nodes of one (level, op, shape): outputs rows start:stop of `u` or `b`."""

    def __init__(self, op: Op, start: int, stop: int, batched: bool) -> None:
        self.op, self.start, self.stop, self.batched = op, start, stop, batched
        self.out = slice(start, stop)

    def __len__(self) -> int:
        return self.stop - self.start

    def batch_gradient_rows(self) -> list[Rows]:
        """The Rows this group's backward adds into `gb`, in the order it adds them."""
        return []


class Elementwise(Group):
    """A unary or binary op (or pow): forward and partials straight from the op table.

    In a batched group an input column that does not depend on the data is one number
    per node, broadcast over the batch; its gradient is summed over the batch.
    """

    def __init__(self, op: Op, start: int, stop: int, batched: bool,
                 columns: list[tuple[np.ndarray, bool]], need: np.ndarray) -> None:
        super().__init__(op, start, stop, batched)
        self.columns = [(Rows(idx, need[:, j]), col_batched) for j, (idx, col_batched) in enumerate(columns)]
        self.needed = need.any(axis=0).tolist()

    def batch_gradient_rows(self) -> list[Rows]:
        return [rows for (rows, col_batched), needed in zip(self.columns, self.needed) if needed and col_batched]

    def forward(self, a: Arrays) -> None:
        ins = []
        for rows, col_batched in self.columns:
            x = rows.get(a.b if col_batched else a.u)
            ins.append(x[:, None] if self.batched and not col_batched else x)
        self.ins = ins
        (a.b if self.batched else a.u)[self.out] = self.op.forward(NumpyMath, *ins)

    def backward(self, a: Arrays) -> None:
        values, grads = (a.b, a.gb) if self.batched else (a.u, a.gu)
        g = grads[self.out]
        partials = self.op.partials(NumpyMath, values[self.out], *self.ins)
        for (rows, col_batched), needed, d in zip(self.columns, self.needed, partials):
            if not needed:
                if not a.trusted and not np.isfinite(np.sum(d)):  # trusted: a flag would ring
                    a.suspect = True  # eager would compute it (and may raise): let the check see
                continue
            if col_batched and type(d) is not float and (into := rows.fresh(a.gb)) is not None:
                np.multiply(g, d, out=into)
                continue
            amount = g if type(d) is float and d == 1.0 else g * d
            if self.batched and not col_batched:
                amount = np.sum(amount, axis=1)
            rows.add(a.gb if col_batched else a.gu, amount)


class Sum(Group):
    """n-ary sum: each node adds one row of the gathered inputs; every partial is 1."""

    def __init__(self, op: Op, start: int, stop: int, batched: bool, parents: np.ndarray, need: np.ndarray) -> None:
        super().__init__(op, start, stop, batched)
        self.rows, self.needed = Rows(parents, need), bool(need.any())

    def batch_gradient_rows(self) -> list[Rows]:
        return [self.rows] if self.needed and self.batched else []

    def forward(self, a: Arrays) -> None:
        values = _space(a, self.batched)[0]
        values[self.out] = np.sum(self.rows.get(values), axis=1)

    def backward(self, a: Arrays) -> None:
        if self.needed:
            grads = _space(a, self.batched)[1]
            self.rows.add(grads, grads[self.out][:, None])


class Dot(Group):
    """n-ary dot over numbers that do not depend on the data, row by row:
    out = sum_i w_i x_i; d/dw_i = x_i, d/dx_i = w_i."""

    def __init__(self, op: Op, start: int, stop: int, w: np.ndarray, x: np.ndarray, need_w: np.ndarray,
                 need_x: np.ndarray) -> None:
        super().__init__(op, start, stop, False)
        self.read_w, self.read_x = Rows(w, need_w), Rows(x, need_x)
        self.need_w, self.need_x = bool(need_w.any()), bool(need_x.any())

    def forward(self, a: Arrays) -> None:
        self.W, self.X = self.read_w.get(a.u), self.read_x.get(a.u)
        a.u[self.out] = np.einsum("ij,ij->i", self.W, self.X)

    def backward(self, a: Arrays) -> None:
        g = a.gu[self.out][:, None]
        if self.need_w:
            self.read_w.add(a.gu, g * self.X)
        if self.need_x:
            self.read_x.add(a.gu, g * self.W)


class DotMatmul(Group):
    """Dots that pair a few weight rows with a few input rows, as one matrix product.

    The neurons of a layer applied to a recorded batch are such a group: node k takes
    weight row a_k and input row b_k. One product P = X @ W.T gives every pair; node k
    reads P[b_k, a_k]. Backward is the chain rule in matrix form: with G holding each
    node's gradient at its pair, dW = G.T @ X and dX = G @ W.
    """

    def __init__(self, op: Op, start: int, stop: int, w_rows, a, x_rows, b, need_w: bool, need_x: bool) -> None:
        super().__init__(op, start, stop, False)
        self.shape = (len(x_rows), len(w_rows))
        self.pair = b * len(w_rows) + a  # flat index of node k's pair in P
        self.dense = np.array_equal(self.pair, np.arange(len(self.pair)))
        self.scatter_pair = None if self.dense else Rows(self.pair)
        self.read_w, self.read_x = Rows(w_rows, need_w), Rows(x_rows, need_x)
        self.need_w, self.need_x = bool(need_w.any()), bool(need_x.any())

    def forward(self, a: Arrays) -> None:
        self.W, self.X = self.read_w.get(a.u), self.read_x.get(a.u)
        P = self.X @ self.W.T
        a.u[self.out] = P.ravel() if self.dense else P.ravel()[self.pair]

    def backward(self, a: Arrays) -> None:
        g = a.gu[self.out]
        if self.dense:
            G = g.reshape(self.shape)
        else:
            G = np.zeros(self.shape[0] * self.shape[1])
            self.scatter_pair.add(G, g)
            G = G.reshape(self.shape)
        if self.need_w:
            self.read_w.add(a.gu, G.T @ self.X)
        if self.need_x:
            self.read_x.add(a.gu, G @ self.W)


class BatchDot(Group):
    """Dots over the batch: the x side depends on the data; the w side does too, or not.

    When no weight depends on the data and every node reads the same input row (a layer
    of neurons over one example's activations), the group is one matrix product W @ X
    with X of shape (inputs, batch): the batch is the matrix's second axis.
    """

    def __init__(self, op: Op, start: int, stop: int, w: np.ndarray, x: np.ndarray, w_batched: bool,
                 need_w: bool, need_x: bool) -> None:
        super().__init__(op, start, stop, True)
        self.w_batched = w_batched
        self.shared = not w_batched and bool((x == x[0]).all())
        self.read_w = Rows(w, need_w)
        self.read_x = Rows(x[0], need_x.any(axis=0)) if self.shared else Rows(x, need_x)
        self.need_w, self.need_x = bool(need_w.any()), bool(need_x.any())

    def batch_gradient_rows(self) -> list[Rows]:
        return [self.read_w] * (self.need_w and self.w_batched) + [self.read_x] * self.need_x

    def forward(self, a: Arrays) -> None:
        W = self.W = self.read_w.get(a.b if self.w_batched else a.u)
        X = self.X = self.read_x.get(a.b)
        if self.shared:
            np.matmul(W, X, out=a.b[self.out])  # straight into its rows: no temporary
        elif self.w_batched:
            a.b[self.out] = np.einsum("knB,knB->kB", W, X)
        else:
            a.b[self.out] = np.einsum("kn,knB->kB", W, X)

    def backward(self, a: Arrays) -> None:
        G = a.gb[self.out]
        W, X = self.W, self.X
        if self.shared:
            if self.need_w:
                self.read_w.add(a.gu, G @ X.T)
            if self.need_x:
                into = self.read_x.fresh(a.gb)
                if into is None:
                    self.read_x.add(a.gb, W.T * G if len(W) == 1 else W.T @ G)  # one neuron: an outer product, 7x faster so
                elif len(W) == 1:
                    np.multiply(W.T, G, out=into)
                else:
                    np.matmul(W.T, G, out=into)
            return
        if self.need_w:
            self.read_w.add(a.gb if self.w_batched else a.gu,
                            G[:, None, :] * X if self.w_batched else np.einsum("kB,knB->kn", G, X))
        if self.need_x:
            self.read_x.add(a.gb, G[:, None, :] * (W if self.w_batched else W[:, :, None]))


class Broadcast(Group):
    """A number that does not depend on the data, copied into every example's column
    (so a batched sum or dot reads one kind of input); its gradient is their sum."""

    def __init__(self, op: Op, start: int, stop: int, sources: np.ndarray, need: np.ndarray) -> None:
        super().__init__(op, start, stop, True)
        self.rows, self.needed = Rows(sources, need), bool(need.any())

    def forward(self, a: Arrays) -> None:
        a.b[self.out] = self.rows.get(a.u)[:, None]

    def backward(self, a: Arrays) -> None:
        if self.needed:
            self.rows.add(a.gu, np.sum(a.gb[self.out], axis=1))


class ScalarRun:
    """Consecutive groups too small for numpy to pay, run node by node in plain floats.

    A long chain of tiny groups (100,000 tanh in a row) would otherwise pay numpy's cost
    per call at every level. Here each node is the op table's float forward and
    partials, as in eager. At the first error or number that is not finite, `check(a)`
    runs the recorded graph as eager does and raises what eager raises (a rewritten node
    is not what the user wrote); `explain(row, inputs, error, backward=True)` names the
    op whose partial fails in backward.
    """

    def __init__(self, members: np.ndarray, s, explain, check) -> None:
        """`members`: plan nodes in order, whose rows of `u` (in schedule `s`) are contiguous."""
        self.start = int(s.pos[members[0]])
        self.stop = self.start + len(members)
        nodes = members.tolist()
        arity = [len(s.parents[i]) for i in nodes]
        rows = s.pos[np.array([p for i in nodes for p in s.parents[i]], dtype=np.intp)]
        # Local slots: the run's outside inputs first, then its own nodes.
        inside = rows >= self.start
        self.outside = np.unique(rows[~inside])
        local = np.where(inside, rows - self.start + len(self.outside), np.searchsorted(self.outside, rows)).tolist()
        ends = np.cumsum(arity).tolist()
        self.nodes = [(s.ops[i].forward, s.ops[i].partials, tuple(local[e - k:e]), s.needed[i])
                      for i, k, e in zip(nodes, arity, ends)]
        self.explain, self.check = explain, check

    def __len__(self) -> int:
        return self.stop - self.start

    def batch_gradient_rows(self) -> list[Rows]:
        return []  # floats, in `u` only

    def forward(self, a: Arrays) -> None:
        # Unrolled by arity, as autodiff._backward_floats: the list and the call with *args
        # for every node cost as much as the op itself.
        local, m, checked = a.u[self.outside].tolist(), FloatMath, False
        try:
            for forward, _, parents, _ in self.nodes:
                if len(parents) == 1:
                    out = forward(m, local[parents[0]])
                elif len(parents) == 2:
                    out = forward(m, local[parents[0]], local[parents[1]])
                else:
                    out = forward(m, *[local[p] for p in parents])
                if out - out != 0.0 and not checked:  # inf or NaN: overflow, or an anomaly if checked
                    self.check(a)
                    checked = a.passed = True  # eager let it pass: it flows on, as NaN data does
                local.append(out)
        except ARITHMETIC_ERRORS as error:
            k = len(local) - len(self.outside)
            ins = [local[p] for p in self.nodes[k][2]]
            self.check(a)  # raises what eager raises, naming the op as the user wrote it
            raise self.explain(self.start + k, ins, error) from None
        self.local = local
        a.u[self.start:self.stop] = local[len(self.outside):]

    def backward(self, a: Arrays) -> None:
        local, base, m, nodes = self.local, len(self.outside), FloatMath, self.nodes
        grads = [0.0] * base + a.gu[self.start:self.stop].tolist()
        k = len(nodes) - 1
        try:
            while k >= 0:
                _, partials, parents, needed = nodes[k]
                g = grads[base + k]
                if len(parents) == 1:
                    p = parents[0]
                    d = partials(m, local[base + k], local[p])[0]
                    if needed:
                        grads[p] += g * d
                elif len(parents) == 2:
                    p, q = parents
                    dp, dq = partials(m, local[base + k], local[p], local[q])
                    if needed:
                        grads[p] += g * dp
                        grads[q] += g * dq
                else:
                    ds = partials(m, local[base + k], *[local[p] for p in parents])
                    if needed:
                        for p, d in zip(parents, ds):
                            grads[p] += g * d
                k -= 1
        except ARITHMETIC_ERRORS as error:
            ins = [local[p] for p in nodes[k][2]]
            raise self.explain(self.start + k, ins, error, backward=True) from None
        a.gu[self.outside] += grads[:base]
        a.gu[self.start:self.stop] = grads[base:]
