"""Break-it labs: swap one op's backward for a classic mistake, and watch gradcheck catch it.

    >>> from engine import Value, gradcheck
    >>> from engine.lab import tamper
    >>> with tamper("sub", "sign"):
    ...     report = gradcheck(lambda a, b: (a - b) ** 2, [Value(1.0, label="a"), Value(3.0, label="b")])
    >>> report.ok
    False

`tamper(op_name, mistake)` sets `engine.autodiff.TAMPER` for the block: per thread and per
asyncio task, restored on exit whatever happens. Inside, `backward`, `gradients` and
everything built on the reverse walk make the mistake at that op's nodes; the forward pass
is untouched, so finite differences still tell the truth. The compiled replay
(`engine.compile`) records the op table and is not tampered with.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from . import ops
from .autodiff import TAMPER, Tamper

__all__ = ["MISTAKES", "Mistake", "tamper", "active", "describe_tamper"]


@dataclass(frozen=True)
class Mistake:
    """A classic backprop mistake: what it is in a sentence, where it fits, what it does.

    `ops` are the ops it can be made in (None: any op); `op` the one a lab uses by
    default. `partials`, `chain` and `accumulate` are what `engine.autodiff.Tamper` applies.
    """

    name: str
    sentence: str
    op: str
    ops: tuple[str, ...] | None = None
    partials: Callable[..., tuple] | None = None
    chain: bool = True
    accumulate: bool = True


def _last_sign_flipped(m, honest, out, *inputs):
    return honest[:-1] + (-honest[-1],)


def _one_minus_tanh(m, honest, out, a):
    return (1.0 - out,)


def _swapped(m, honest, out, a, b):
    return honest[::-1]


MISTAKES: dict[str, Mistake] = {mistake.name: mistake for mistake in (
    Mistake("sign", "the sign of the last input's partial is flipped: a - b sends +1 to b "
                    "instead of -1", op="sub", partials=_last_sign_flipped),
    Mistake("tanh-as-1-minus-tanh", "tanh's derivative taken as 1 - tanh(z) instead of "
                                    "1 - tanh(z)^2", op="tanh", ops=("tanh",), partials=_one_minus_tanh),
    Mistake("no-chain", "the local partial is sent on without the upstream factor: "
                        "dz/dx instead of dC/dz * dz/dx", op="tanh", chain=False),
    Mistake("overwrite", "a reused node's gradient is assigned, not added (= for +=): "
                         "only the last path's share survives", op="mul", accumulate=False),
    Mistake("wrong-input", "a two-input op's partials are swapped: d(a*b)/da taken as a "
                           "instead of b", op="mul", ops=("mul", "div", "sub"), partials=_swapped),
)}
"""Every mistake `tamper` knows, by name, with a sentence each."""


def _known_op(op_name: str) -> str:
    if op_name == "pow" or op_name in ops.TABLE:
        return op_name
    raise ValueError(f"unknown op {op_name!r}; known: {', '.join(sorted([*ops.TABLE, 'pow']))}")


def _mistake(name: str) -> Mistake:
    try:
        return MISTAKES[name]
    except KeyError:
        raise ValueError(f"unknown mistake {name!r}; known: {', '.join(MISTAKES)}") from None


@contextmanager
def tamper(op_name: str, mistake: str) -> Iterator[Tamper]:
    """Make `mistake` (a name in `MISTAKES`) in the backward of every `op_name` node for
    the duration of the block, in this thread or task only; restored on exit, also when
    an exception passes through. Blocks nest: the innermost mistake is in force."""
    op_name = _known_op(op_name)
    chosen = _mistake(mistake)
    if chosen.ops is not None and op_name not in chosen.ops:
        raise ValueError(f"the mistake {mistake!r} is made in {', '.join(chosen.ops)}, not in {op_name}")
    made = Tamper(op=op_name, mistake=chosen.name, partials=chosen.partials, chain=chosen.chain,
                  accumulate=chosen.accumulate)
    token = TAMPER.set(made)
    try:
        yield made
    finally:
        TAMPER.reset(token)


def active() -> Tamper | None:
    """The mistake in force in this thread or task (None outside every `tamper` block)."""
    return TAMPER.get()


def describe_tamper(made: Tamper) -> str:
    """One sentence naming a tamper: which op, which mistake, what it does."""
    return f"the backward of {made.op} is tampered with ({made.mistake!r}: {MISTAKES[made.mistake].sentence})"
