"""chainrule's engine: scalar reverse-mode autodiff you can read, step through and draw.

    >>> from engine import Value
    >>> w, b, x, y = Value(2.3, label="w"), Value(-1.2, label="b"), Value(0.0), Value(1.0)
    >>> C = ((w * x + b).tanh() - y) ** 2
    >>> C.backward()
    >>> b.grad
    -1.1186026425530913

Everything is imported here at once, except the compiled replay: it needs numpy, which
takes longer to import than the rest of the engine, so `engine.compile` loads
`engine.replay` on first use.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from . import ops
from .autodiff import RepeatedBackwardWarning, backward, topological_order, zero_grad
from .check import gradcheck
from .context import detect_anomaly, gc_paused, no_grad, scope
from .draw import mimebundle
from .expr import parse
from .forward import forward_mode_steps
from .higher import grad, hessian, jacobian, jvp
from .player import show
from .quiz import save_quiz
from .steps import backward_steps, explain, forward_steps
from .trace import trace
from .value import Value

__all__ = [
    "Value", "ops", "backward", "topological_order", "zero_grad", "RepeatedBackwardWarning",
    "no_grad", "scope", "detect_anomaly", "gc_paused",
    "forward_steps", "backward_steps", "forward_mode_steps", "explain", "trace",
    "gradcheck", "grad", "jacobian", "hessian", "jvp", "compile", "parse", "save_quiz", "show",
]

# Jupyter shows a Value as its graph. Wired here, at the top, so that the node class
# itself knows nothing of drawing.
Value._repr_mimebundle_ = mimebundle


def compile(root: Value, *, wrt: Iterable[Value] | None = None, data: Sequence[Value] | None = None,
            keep: Iterable[Value] = ()):
    """Record the graph under `root` for fast replay with numpy: see `engine.replay.compile`."""
    from .replay import compile as record  # numpy, imported when first needed

    return record(root, wrt=wrt, data=data, keep=keep)
