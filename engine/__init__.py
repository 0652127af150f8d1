"""chainrule's engine: scalar reverse-mode autodiff you can read, step through and draw.

    >>> from engine import Value
    >>> w, b, x, y = Value(2.3, label="w"), Value(-1.2, label="b"), Value(0.0), Value(1.0)
    >>> C = ((w * x + b).tanh() - y) ** 2
    >>> C.backward()
    >>> b.grad
    -1.1186026425530913

The functions below the core (stepping, checking, higher-order derivatives, the compiled
replay) load on first use, so `import engine` stays light.
"""
from __future__ import annotations

from importlib import import_module

from . import ops
from .autodiff import backward, topological_order, zero_grad
from .context import detect_anomaly, gc_paused, no_grad, scope
from .value import Value

__all__ = [
    "Value", "ops", "backward", "topological_order", "zero_grad",
    "no_grad", "scope", "detect_anomaly", "gc_paused",
    "forward_steps", "backward_steps", "explain",
    "gradcheck", "grad", "jacobian", "hessian", "compile", "parse",
]

# name -> module that defines it, imported on first access.
_LAZY = {
    "forward_steps": "steps",
    "backward_steps": "steps",
    "explain": "steps",
    "gradcheck": "check",
    "grad": "higher",
    "jacobian": "higher",
    "hessian": "higher",
    "compile": "compile",
    "parse": "expr",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this hook (and beat the submodule name)
    return value
