"""Coverage-guided fuzzing of the expression language with atheris (run by hand, not by pytest).

    .venv/bin/pip install atheris
    .venv/bin/python tests/fuzz/fuzz_expr.py -dict=tests/fuzz/expr.dict -max_total_time=300

The property: for any text, `engine.expr.parse` returns an Expression with a finite
value or raises `ExpressionError`; nothing else escapes, nothing hangs (libFuzzer's
-timeout, 25 s by default, reports a slow input) and memory stays bounded (-rss_limit_mb).
A crash writes the input to ./crash-<hash>; replay it with `python tests/fuzz/fuzz_expr.py crash-...`.
"""
from __future__ import annotations

import math
import sys

import atheris

with atheris.instrument_imports():
    from engine import Value
    from engine.expr import ExpressionError, parse

VARIABLES = {"x": 0.7, "y": -1.3, "w": 2.3, "b": -1.2}


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    text = provider.ConsumeUnicode(4096)
    try:
        expression = parse(text, VARIABLES)
    except ExpressionError as error:
        str(error), error.pointer  # rendering the message must not fail either
        return
    if not isinstance(expression.root, Value) or not math.isfinite(expression.root.data):
        raise AssertionError(f"parse({text!r}) gave {expression.root!r}")
    for name, leaf in expression.variables.items():
        if leaf.label != name or not leaf.is_leaf:
            raise AssertionError(f"variable {name} of {text!r} is not a labelled leaf")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
