"""What a Value refuses at the door: numbers no float can hold, labels that cannot be shown."""
from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Value
from engine.draw import render, renderer_available
from engine.value import as_float
from tests.conftest import require

HUGE = [10**5000, 10**400, -10**400, Decimal("1e400"), Decimal("-1e99999"), Fraction(10**400),
        Fraction(10**5000, 3)]
if np.finfo(np.longdouble).max > 1e308:  # an 80-bit long double holds 1e400
    HUGE.append(np.longdouble("1e400"))


@pytest.mark.parametrize("x", HUGE, ids=lambda x: type(x).__name__)
def test_a_number_too_large_for_a_float_is_an_overflow_error_with_a_short_message(x):
    for make in (Value, lambda x: Value(1.0) * x, lambda x: as_float(x, "w")):
        with pytest.raises(OverflowError, match="too large for a float") as caught:
            make(x)
        assert len(str(caught.value)) < 110


def test_infinities_and_nan_given_as_such_are_still_accepted():
    assert Value(Decimal("Infinity")).data == float("inf")
    assert Value(Decimal("-Infinity")).data == float("-inf")
    assert Value(float("inf")).data == float("inf")
    nan = Value(Decimal("NaN")).data
    assert nan != nan


@pytest.mark.parametrize("label, named", [
    ("a\x00", "control character U+0000"),
    ("w\n", "control character U+000A"),
    ("\x1b[31mred", "control character U+001B"),
    ("b\x85", "control character U+0085"),
    ("x\ud800", "lone surrogate U+D800"),
    ("y\ufffe", "noncharacter U+FFFE"),
])
def test_a_label_that_cannot_be_shown_is_refused_naming_the_character(label, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        Value(1, label=label)


def test_unusual_but_printable_labels_are_accepted():
    for label in ("w₁", "δ", "a b", "x<y>&\"'", "😀", "", "a\u00a0b", "zero\u200bwidth"):
        assert Value(1.0, label=label).label == label


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.text(max_size=12))
def test_every_accepted_label_draws(tmp_path_factory, label):
    require(renderer_available(), "Graphviz dot")
    try:
        w = Value(2.0, label=label)
    except ValueError as error:
        assert "U+" in str(error)
        return
    out = w * 3.0
    out.backward()
    picture = render(out, tmp_path_factory.mktemp("label") / "g.svg")
    assert picture.read_text(encoding="utf-8").startswith("<?xml")
