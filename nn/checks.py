"""Argument checks shared by the network layer, so each kind of bad input reads the same."""
from __future__ import annotations

import math

from engine.value import as_count as whole
from engine.value import as_float

__all__ = ["finite", "whole"]


def finite(x: object, what: str) -> float:
    """`x` as a float; a TypeError for a non-number, a ValueError for NaN or infinity."""
    v = as_float(x, what)
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {v!r}")
    return v
