"""A safe expression language: the formula from the course, typed as text, becomes a graph.

    >>> e = parse("(tanh(w*x + b) - y)**2", {"w": 2.3, "b": -1.2, "x": 0, "y": 1})
    >>> e.root.backward(); e.variables["b"].grad
    -1.1186026425530913

The text is parsed with Python's `ast` and then checked against a whitelist; it is never
passed to `eval` or `exec`. Allowed: numbers (always floats), variables, `+ - * / **`,
unary minus and plus, parentheses, and calls of the op table's functions by name
(`FUNCTIONS`). Everything else (attributes, indexing, lambdas, comprehensions, strings,
keyword arguments, names without a value, ...) raises `ExpressionError` pointing at the
offending part. Limits on length, nesting and size run *before* `ast.parse`, which itself
recurses, so no text can hang the parser or exhaust memory.

A variable used twice is one leaf: its gradient accumulates over both uses.

Intermediate results may be named, as the documents name them, one per line or separated
by `;`: `z = w*x + b; a = tanh(z); C = (a - y)**2`. Each name labels its node (so tables
say dC/dz and da/dz); the last line is the result, a bare formula or an assignment.
`e` and `pi` are the constants unless given a value.
"""
from __future__ import annotations

import ast
import math
import operator
import warnings
from dataclasses import dataclass, field
from typing import Mapping

from . import ops
from .value import ARITHMETIC_ERRORS, Value, as_float

__all__ = [
    "parse", "free_names", "Expression", "ExpressionError", "FUNCTIONS",
    "MAX_LENGTH", "MAX_DEPTH", "MAX_NODES",
]

MAX_LENGTH = 2000
"""Longest accepted text, in characters (a course formula is well under 200)."""
MAX_DEPTH = 100
"""Deepest accepted nesting: of brackets in the text, and of the parsed tree."""
MAX_NODES = 1000
"""Most syntax-tree nodes in one expression."""
CONSTANTS = {"e": math.e, "pi": math.pi}
"""Names that stand for a number unless the formula's values give them one."""

UNARY_FUNCTIONS = tuple(
    name for name, op in ops.TABLE.items()
    if op.arity == 1 and name != "neg" and callable(getattr(Value, name, None))
)
FUNCTIONS: tuple[str, ...] = UNARY_FUNCTIONS + ("sum", "dot", "pow")
"""The functions an expression may call: the op table's one-input functions
(exp log tanh sigmoid relu sin cos), `sum(a, b, ...)` (one n-ary node),
`dot([w1, w2], [x1, x2])` (one fused node) and `pow(x, constant)`."""

# Common functions outside the op table, and how to write them with it.
_HINTS = {
    "ln": ": write log(x)", "tan": ": write sin(x)/cos(x)", "max": ": write relu(a - b) + b",
    "cosh": ": write (exp(x) + exp(-x))/2", "sinh": ": write (exp(x) - exp(-x))/2",
    "σ": ": write sigmoid(x)", "sigma": ": write sigmoid(x) (or tanh(x), as in the notes)",
}

# The allowed binary operators and what each does to Values (** is checked first: constant exponent).
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_REFUSED_OPERATORS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not",
}
# Characters that a formula copied from a document may hold, and what to type instead.
_TYPOGRAPHY = {"−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/", "²": "**2", "³": "**3"}

# What each refused kind of node is called in an error message.
_REFUSED_NODES: dict[type, str] = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[...])",
    ast.Slice: "slicing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Compare: "a comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "a conditional (a if c else b)",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "unpacking (*)",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Tuple: "a tuple (a comma outside a call)",
    ast.List: "a list (lists are only for dot's two arguments)",
    ast.JoinedStr: "a string",
    ast.FormattedValue: "a string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class ExpressionError(ValueError):
    """Unsafe or malformed expression text, with where in the text the problem is.

    `str(error)` is one line: the reason, the offending part and its column.
    `error.pointer` is the offending line with a caret underline, for a terminal.
    `start`/`end` are character offsets into `text` (None when the problem has no place).
    """

    def __init__(self, reason: str, text: str = "", start: int | None = None,
                 end: int | None = None) -> None:
        self.reason, self.text, self.start = reason, text, start
        self.end = end if end is not None and start is not None and end > start else (
            None if start is None else start + 1)
        super().__init__(self._one_line())

    @property
    def line(self) -> int | None:
        """1-based line of the offending part."""
        return None if self.start is None else self.text.count("\n", 0, self.start) + 1

    @property
    def column(self) -> int | None:
        """1-based column (in characters) of the offending part within its line."""
        if self.start is None:
            return None
        return self.start - (self.text.rfind("\n", 0, self.start) + 1) + 1

    @property
    def fragment(self) -> str:
        """The offending part of the text (shortened when long)."""
        if self.start is None:
            return ""
        part = self.text[self.start:self.end]
        return part if len(part) <= 40 else part[:37] + "..."

    @property
    def pointer(self) -> str:
        """Two lines: the offending line of the text and a caret under the offending part."""
        if self.start is None or not self.text:
            return ""
        line_start = self.text.rfind("\n", 0, self.start) + 1
        line_end = self.text.find("\n", self.start)
        line_end = len(self.text) if line_end < 0 else line_end
        line = "".join(c if c.isprintable() else " " if c == "\t" else "?"
                       for c in self.text[line_start:line_end])
        width = max(1, min(self.end, line_end) - self.start)
        return f"  {line}\n  {' ' * (self.start - line_start)}{'^' * width}"

    def _one_line(self) -> str:
        if self.start is None:
            return self.reason
        where = f"column {self.column}" if self.line == 1 else f"line {self.line}, column {self.column}"
        fragment = self.fragment.replace("\n", " ")
        shown = f": {fragment!r}" if fragment.strip() else ""
        return f"{self.reason} (at {where}{shown})"


@dataclass
class Expression:
    """A parsed expression: its graph (`root`), its variables as labelled leaves, its text.

    Calling it, `expression(*values)`, builds the same formula again on new inputs (one per
    name in `names`, in order): the form `engine.check.gradcheck` expects.
    """

    text: str
    root: Value
    variables: dict[str, Value]
    names: tuple[str, ...] = ()
    _statements: list[tuple[str | None, ast.expr]] = field(default_factory=list, repr=False)

    def __call__(self, *values: "Value | float") -> Value:
        if len(values) != len(self.names):
            raise TypeError(f"this expression takes {len(self.names)} inputs "
                            f"({', '.join(self.names) or 'none'}), got {len(values)}")
        leaves = {n: v if isinstance(v, Value) else Value(v, label=n) for n, v in zip(self.names, values)}
        return _Builder(_lines(self.text), leaves).run(self._statements)


def parse(text: str, variables: Mapping[str, float] | None = None) -> Expression:
    """Parse `text` into a graph whose variables take the values in `variables`.

    Every name in the text must have a value in `variables` (extra entries are ignored).
    Raises `ExpressionError` for anything outside the language and for an arithmetic
    error while building the graph (log of a negative number, 1/0, overflow), pointing
    at the operation; `TypeError` for a value that is not a real number.
    """
    source = _lines(text)
    statements, order = _checked(source)
    values = {} if variables is None else dict(variables)
    missing = [name for name, _ in order if name not in values and name not in CONSTANTS]
    if missing:
        first = next(node for name, node in order if name == missing[0])
        plural = "s" if len(missing) > 1 else ""
        raise _error(source, first, f"no value for the variable{plural} {', '.join(missing)} "
                                  f"(give {' '.join(m + '=NUMBER' for m in missing)})")
    names = tuple(name for name, _ in order if name in values)
    leaves = {n: Value(as_float(values[n], f"variable {n}"), label=n) for n in names}
    constants = {n: Value(CONSTANTS[n], label=n) for n, _ in order if n not in values}
    root = _Builder(source, {**leaves, **constants}).run(statements)
    return Expression(text=text, root=root, variables=leaves, names=names, _statements=statements)


def free_names(text: str) -> tuple[str, ...]:
    """The names of `text` that need a value (e and pi may have one), in order of first
    appearance; the text is checked first. Named intermediates are not among them."""
    return tuple(name for name, _ in _checked(_lines(text))[1])


# ---------------------------------------------------------------- checking

def _checked(text: str) -> tuple[list[tuple[str | None, ast.expr]], list[tuple[str, ast.Name]]]:
    """Check `text` against the limits and the whitelist; return its statements (the name
    each assigns, or None for a bare formula, and the formula's tree) and its free names.

    Call it with `_lines(text)`: positions are computed on that text.
    """
    _check_text(text)
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal" for 1if: we refuse it anyway
            warnings.simplefilter("ignore")
            module = ast.parse(text, mode="exec")
    except SyntaxError as error:
        raise _syntax(text, error) from None
    except (RecursionError, MemoryError):  # the limits above should make this unreachable
        raise ExpressionError(f"the expression is nested too deeply (at most {MAX_DEPTH} levels)",
                              text) from None
    except ValueError as error:  # e.g. null bytes on some Python versions
        raise ExpressionError(f"not a valid expression: {error}", text) from None
    statements = _statements(text, module)
    order: list[tuple[str, ast.Name]] = []
    known: set[str] = set()  # names met so far: the free ones and the computed ones
    computed: set[str] = set()
    for target, tree in statements:
        _walk(text, tree, order, known)
        if target is not None:
            node = next(st for st in module.body if isinstance(st, ast.Assign) and st.value is tree)
            if target in computed:
                raise _error(text, node.targets[0], f"{target} is computed twice; give each result its own name")
            if target in known:
                raise _error(text, node.targets[0], f"{target} is used before the line that computes it")
            computed.add(target)
            known.add(target)
    return statements, order


def _statements(text: str, module: ast.Module) -> list[tuple[str | None, ast.expr]]:
    """`name = formula` lines, the last of which may be a bare formula."""
    if not module.body:
        raise ExpressionError("the expression is empty", text)
    out: list[tuple[str | None, ast.expr]] = []
    for k, st in enumerate(module.body):
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
            name = st.targets[0].id
            if name in FUNCTIONS:
                raise _error(text, st.targets[0], f"{name} is a function; name the result differently")
            out.append((name, st.value))
        elif isinstance(st, ast.Expr) and k == len(module.body) - 1:
            out.append((None, st.value))
        elif isinstance(st, ast.Expr):
            raise _error(text, st, "only the last line may be a bare formula; name the others, "
                                   "as in z = w*x + b")
        elif isinstance(st, ast.Assign):
            raise _error(text, st, "assign one name at a time, as in z = w*x + b")
        else:
            raise _error(text, st, "only formulas and name = formula lines are allowed "
                                   "(one per line, or separated by ;)")
    return out


def _lines(text: str) -> str:
    """The text with Python's other line endings as "\n", keeping every offset:
    "\r\n" becomes " \n" and a lone "\r" becomes "\n" (as the tokenizer reads them)."""
    if not isinstance(text, str) or "\r" not in text:
        return text
    return text.replace("\r\n", " \n").replace("\r", "\n")


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is too long ({len(text)} characters; "
                              f"at most {MAX_LENGTH})", text)
    if not text.strip():
        raise ExpressionError("the expression is empty", text)
    depth = 0
    for i, ch in enumerate(text):
        if not (ch.isprintable() or ch in " \t\n\r"):
            raise ExpressionError(f"character U+{ord(ch):04X} is not allowed in an expression",
                                  text, i)
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(f"the expression is nested too deeply "
                                      f"(at most {MAX_DEPTH} brackets)", text, i)
        elif ch in ")]}":
            depth -= 1
    # Unary operators and `**` chains nest without brackets: bound them as well.
    signs = sum(text.count(c) for c in "-+~") + text.count("**") + text.count("not ")
    if signs > MAX_NODES:
        raise ExpressionError(f"the expression has too many operators ({signs}; "
                              f"at most {MAX_NODES})", text)


def _syntax(text: str, error: SyntaxError) -> ExpressionError:
    msg = (error.msg or "invalid syntax").split(". Maybe you meant")[0]
    if "Exceeds the limit" in msg and "digits" in msg:
        msg = "a number with that many digits is too large for a float"
    elif msg.startswith("invalid character") and any(c in msg for c in _TYPOGRAPHY):
        typed = next(c for c in _TYPOGRAPHY if c in msg)
        msg = f"{msg}: type {_TYPOGRAPHY[typed]} instead of {typed}"
    elif msg == "invalid decimal literal":
        msg = "a number followed by a name: write 2*x for 2 times x"
    start = None
    if error.lineno is not None and error.offset is not None:
        lines = text.split("\n")
        line = min(max(error.lineno, 1), len(lines))
        start = sum(len(l) + 1 for l in lines[: line - 1]) + max(error.offset - 1, 0)
        start = min(start, max(len(text) - 1, 0))
    end = None
    if start is not None and error.end_lineno == error.lineno and error.end_offset:
        end = start + max(error.end_offset - error.offset, 1)
    return ExpressionError(f"not a valid expression: {msg}", text, start, end)


def _span(text: str, node: ast.AST) -> tuple[int | None, int | None]:
    """Character offsets of `node` (ast gives UTF-8 byte columns)."""
    if getattr(node, "lineno", None) is None:
        return None, None
    lines = text.split("\n")

    def offset(lineno: int, col: int) -> int:
        line = lines[lineno - 1]
        before = sum(len(l) + 1 for l in lines[: lineno - 1])
        return before + len(line.encode("utf-8")[:col].decode("utf-8", "replace"))

    start = offset(node.lineno, node.col_offset)
    end = None
    if getattr(node, "end_lineno", None) is not None:
        end = offset(node.end_lineno, node.end_col_offset)
    return start, end


def _error(text: str, node: ast.AST, reason: str) -> ExpressionError:
    start, end = _span(text, node)
    return ExpressionError(reason, text, start, end)


def _walk(text: str, root: ast.expr, order: list[tuple[str, ast.Name]], seen: set[str]) -> None:
    """Whitelist check, iteratively, with the size and depth limits; collect the names
    not `seen` before (and add them to it)."""
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the expression is too large (more than {MAX_NODES} parts)", text)
        if depth > MAX_DEPTH:
            hint = "; for long sums use sum(a, b, ...)" if isinstance(node, ast.BinOp) else ""
            raise _error(text, node, f"the expression is nested too deeply "
                                     f"(at most {MAX_DEPTH} levels{hint})")
        children = _children(text, node)
        if isinstance(node, ast.Name) and node.id not in seen:
            seen.add(node.id)
            order.append((node.id, node))
        stack.extend((child, depth + 1) for child in reversed(children))
    # `order` must follow the text: the walk is pre-order left to right already.


def _children(text: str, node: ast.AST) -> list[ast.AST]:
    """The children of an allowed node; an error for a refused one."""
    if isinstance(node, ast.Constant):
        _number(text, node)
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise _error(text, node, f"{node.id} is a function: call it, as in {node.id}(x)")
        return []
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
            power = "; for a power write x**2" if isinstance(node.op, ast.BitXor) else ""
            raise _error(text, node, f"the operator {symbol} is not supported "
                                     f"(allowed: + - * / ** and unary -){power}")
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
            raise _error(text, node, f"the operator {symbol} is not supported "
                                     f"(allowed: + - * / ** and unary -)")
        return [node.operand]
    if isinstance(node, ast.Call):
        return _call_children(text, node)
    what = _REFUSED_NODES.get(type(node), type(node).__name__)
    raise _error(text, node, f"{what} is not allowed in an expression")


def _call_children(text: str, node: ast.Call) -> list[ast.AST]:
    if isinstance(node.func, ast.Attribute):  # np.tanh(x), math.exp(x), x.real(), ...
        raise _error(text, node.func, "attribute access (a.b) is not allowed: call functions "
                                      "by their bare name, as in tanh(x)")
    if not isinstance(node.func, ast.Name):
        raise _error(text, node.func, "only functions called by name are allowed, "
                                      f"as in tanh(x) (functions: {', '.join(FUNCTIONS)})")
    name = node.func.id
    if name not in FUNCTIONS:
        hint = _HINTS.get(name, "")
        raise _error(text, node.func, f"unknown function {name!r}{hint} "
                                      f"(functions: {', '.join(FUNCTIONS)})")
    if node.keywords:
        raise _error(text, node.keywords[0], f"keyword arguments are not allowed ({name} "
                                             "takes its arguments by position)")
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise _error(text, arg, "unpacking (*) is not allowed in an expression")
    args = node.args
    if name in UNARY_FUNCTIONS or name == "pow":
        want = 1 if name in UNARY_FUNCTIONS else 2
        if len(args) != want:
            usage = f"{name}(x)" if want == 1 else "pow(x, 2)"
            raise _error(text, node, f"{name} takes {want} argument{'s' if want > 1 else ''}, "
                                     f"got {len(args)} (as in {usage})")
        return list(args)
    if name == "sum":
        if len(args) == 1 and isinstance(args[0], ast.List):
            args = args[0].elts
        if not args:
            raise _error(text, node, "sum needs at least one argument, as in sum(a, b, c)")
        return list(args)
    # dot([w1, w2], [x1, x2])
    if (len(args) != 2 or not all(isinstance(a, ast.List) for a in args)
            or len(args[0].elts) != len(args[1].elts) or not args[0].elts):
        raise _error(text, node, "dot takes two lists of equal length, as in dot([w1, w2], [x1, x2])")
    return list(args[0].elts) + list(args[1].elts)


def _number(text: str, node: ast.Constant) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        what = {str: "a string", bytes: "a string", bool: "True/False", type(None): "None",
                complex: "a complex number", type(...): "..."}.get(type(value), type(value).__name__)
        raise _error(text, node, f"{what} is not allowed in an expression (only real numbers)")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if math.isinf(number):
        raise _error(text, node, "the number is too large for a float (at most about 1.8e308)")
    return number


# ---------------------------------------------------------------- building

class _Builder:
    """Builds Values from a checked tree: constants are unlabelled leaves, names the given leaves."""

    def __init__(self, text: str, leaves: Mapping[str, Value]) -> None:
        self.text, self.leaves = text, dict(leaves)

    def run(self, statements: list[tuple[str | None, ast.expr]]) -> Value:
        """Build each line in turn, labelling each named result; the last one is the root."""
        value = None
        for target, tree in statements:
            value = self.build(tree)
            if target is not None:
                if value in self.leaves.values() and value.is_leaf:
                    raise _error(self.text, tree, f"{target} = ... only gives a second name to a "
                                                  "value; use the name it has")
                value.label = target
                self.leaves[target] = value
        return value

    def build(self, node: ast.AST) -> Value:
        value = self._build(node)
        return value if isinstance(value, Value) else Value(value)

    def _build(self, node: ast.AST) -> "Value | float":
        # Depth is bounded by MAX_DEPTH, so recursion is safe here.
        try:
            return self._node(node)
        except ExpressionError:
            raise
        except ARITHMETIC_ERRORS as error:  # log(-1), 1/0, 10**400: say where
            raise _error(self.text, node, str(error)) from None

    def _node(self, node: ast.AST) -> "Value | float":
        if isinstance(node, ast.Constant):
            return Value(_number(self.text, node))
        if isinstance(node, ast.Name):
            return self.leaves[node.id]
        if isinstance(node, ast.UnaryOp):
            folded = self._signed_number(node)
            if folded is not None:
                return Value(folded)
            operand = self._build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                return self._power(node.left, node.right, node)
            return _BINARY[type(node.op)](self._build(node.left), self._build(node.right))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        name, args = node.func.id, node.args
        if name in UNARY_FUNCTIONS:
            return getattr(self._build(args[0]), name)()
        if name == "pow":
            return self._power(args[0], args[1], node)
        if name == "sum":
            items = args[0].elts if len(args) == 1 and isinstance(args[0], ast.List) else args
            return Value.sum([self._build(a) for a in items])
        ws, xs = args[0].elts, args[1].elts
        return Value.dot([self._build(w) for w in ws], [self._build(x) for x in xs])

    def _signed_number(self, node: ast.UnaryOp) -> float | None:
        """-2.5 is the number -2.5 (one leaf), not neg applied to 2.5."""
        sign = 1.0
        while isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                sign = -sign
            node = node.operand
        if isinstance(node, ast.Constant):
            return sign * _number(self.text, node)
        return None

    def _power(self, base: ast.AST, exponent: ast.AST, where: ast.AST) -> Value:
        if _has_name(exponent):
            if not _has_name(base):
                # constant ** variable: the engine writes it as exp(x * log(base)).
                return self._constant(base) ** self.build(exponent)
            raise _error(self.text, exponent,
                         "the exponent must be a constant; for a variable exponent "
                         "write exp(y * log(x)) instead of x**y")
        return self.build(base) ** self._constant(exponent)

    def _constant(self, node: ast.AST) -> float:
        """The value of a subexpression without variables (e.g. the exponent 1/2)."""
        value = self._build(node)
        return value.data if isinstance(value, Value) else value


def _has_name(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and not _is_function(n) for n in ast.walk(node))


def _is_function(node: ast.Name) -> bool:
    return node.id in FUNCTIONS
