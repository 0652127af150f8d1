"""Quizzes on any graph: the learner fills in the walk, the page checks, the teacher grades.

`make_quiz(root)` turns the walk's own records (`engine.steps`) into questions, in the
walk's order: each forward value, then per backward step each local partial and each
chain-rule product (and the upstream gradient where a node is reused: the sum over
paths), then each input's final gradient. Every
question carries its likely wrong answers ("traps": a flipped sign, the local partial
given for the product, one path of a reused node, the lab's mistakes) with a hint that
names the mistake. `save_quiz(root, path)` writes the page (engine/quiz.html), which
checks each answer as it is entered and shows a hand-in code: the learner's first
answers, packed with a checksum. `grade(quiz, code)` rebuilds nothing from the code but
the answers: the score is the teacher's, recomputed from the formula.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import pathlib
import random
import re
import struct
import textwrap
import zlib
from dataclasses import dataclass, field

from .autodiff import fresh_grads, topological_order
from .draw import draw
from .files import write_atomic
from .lab import MISTAKES
from .notation import names, number, ratio, table
from .player import _CSS as PLAYER_CSS, _json_for_script, laid_out, sized_for
from .steps import backward_steps, forward_steps
from .value import Value, as_count

__all__ = [
    "ASKS", "RTOL", "ATOL", "Question", "Quiz", "Grade", "make_quiz", "save_quiz",
    "encode", "decode", "grade", "random_formula", "close",
]

ASKS = ("all", "forward", "backward", "gradients")
"""What a quiz asks: everything; the forward values; the backward pass (upstream
gradients, local partials, products, final gradients); the gradients only."""

RTOL, ATOL = 5e-3, 5e-4
"""An answer is right when |answer - truth| <= RTOL * |truth| + ATOL: three significant
digits, as a learner writes them by hand. The page and `grade` use these same numbers."""

KINDS = {"value": "forward value", "gradient": "gradient", "partial": "local partial",
         "product": "chain-rule product"}


def close(x: float, truth: float) -> bool:
    """Whether `x` counts as `truth` (see RTOL, ATOL)."""
    return abs(x - truth) <= RTOL * abs(truth) + ATOL


@dataclass(frozen=True)
class Question:
    """One blank of the walk: what is asked, its answer and the mistakes it expects."""

    kind: str      # "value", "gradient", "partial" or "product" (see KINDS)
    prompt: str    # "mul1 = w * x", "dC/d(mul1)", "d(mul1)/dw", "dC/d(mul1) * d(mul1)/dw"
    answer: float
    node: int      # the node it is about, by index in topological order
    parent: int | None = None  # partial and product: the input the edge goes to
    traps: tuple[tuple[float, str], ...] = ()  # (a likely wrong answer, the hint that names it)
    nudge: str = ""  # the hint for any other wrong answer
    total: float | None = None  # what the edge sent: the input's running total once it arrived

    def hint(self, x: float) -> str:
        """What to say to the wrong answer `x`: the trap it fits, else the nudge."""
        for wrong, said in self.traps:
            if close(x, wrong):
                return said
        return self.nudge


@dataclass(frozen=True)
class Quiz:
    """The questions on one graph, and the fingerprint a hand-in code must carry."""

    root: Value
    ask: str
    questions: tuple[Question, ...]
    fingerprint: bytes = field(repr=False)

    def key(self) -> str:
        """The teacher's key: every question and its answer, as a table."""
        rows = [[str(i), KINDS[q.kind], q.prompt, number(q.answer)]
                for i, q in enumerate(self.questions, 1)]
        return table(["#", "step", "question", "answer"], rows, right={0, 3})


# ---------------------------------------------------------------- the questions

def make_quiz(root: Value, *, ask: str = "all") -> Quiz:
    """The quiz on `root`'s walk: what `ask` (one of ASKS) chooses, in the walk's order.

    Edges into constants (unlabelled leaves: the 2 of 2*x) are not asked. The Values'
    grads are left as they were.
    """
    if not isinstance(root, Value):
        raise TypeError(f"a quiz needs a Value, got {type(root).__name__}")
    if ask not in ASKS:
        raise ValueError(f"ask must be one of {', '.join(ASKS)}, got {ask!r}")
    if root.is_leaf:
        raise ValueError("a quiz needs a computed Value: this one is an input, with no walk to fill in")
    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    label = names(order)
    with fresh_grads(order):
        fwd = list(forward_steps(root))
        bwd = list(backward_steps(root))
    questions: list[Question] = []
    if ask in ("all", "forward"):
        questions += [_value(s, index) for s in fwd if s.node._op is not None]
    if ask != "forward":
        arrived: dict[Value, list[float]] = {}  # the products each node received, in order
        final: dict[Value, float] = {}  # each node's running total after its last arrival
        r = label[root]
        for step in bwd:
            # An interior gradient is asked where it is news: at a reused node (the sum
            # over paths), or when only gradients are asked; else it is the product just sent.
            if step.node is not root and (ask == "gradients" or len(arrived[step.node]) > 1):
                questions.append(_gradient(step.node, step.upstream, arrived, label, r, index))
            for e in step.edges:
                arrived.setdefault(e.parent, []).append(e.product)
                final[e.parent] = e.total
                if ask != "gradients" and _asked(e.parent):
                    questions += _edge(step, e, label, index, at_root=step.node is root)
        questions += [_gradient(v, final[v], arrived, label, r, index)
                      for v in order if v._op is None and _asked(v) and v in arrived]
    return Quiz(root, ask, tuple(questions), _fingerprint(ask, questions))


def _asked(v: Value) -> bool:
    """A variable or a computed node; not a constant."""
    return v._op is not None or bool(v.label)


def _sign(truth: float) -> tuple[tuple[float, str], ...]:
    return ((-truth, "Check the sign: this is the right size with the wrong sign."),) if truth else ()


def _value(s, index) -> Question:
    return Question("value", f"{s.name} = {s.expression}", s.value, index[s.node],
                    traps=_sign(s.value),
                    nudge=f"Compute {s.expression} from the values of its inputs.")


def _gradient(v: Value, truth: float, arrived: dict, label: dict, r: str, index: dict) -> Question:
    """dC/dv: the sum of every product that reached v; one path of several is a trap."""
    paths = arrived.get(v, [])
    traps = list(_sign(truth))
    if len(paths) > 1:
        users = f"{label[v]} is used {'twice' if len(paths) == 2 else f'{len(paths)} times'}"
        forgot = (f"That is only part of it: {users}, and {ratio(r, label[v])} is the sum over "
                  "every path (add what each use sends back).")
        traps += [(p, forgot) for p in paths]
        running = 0.0
        for p in paths[:-1]:
            running += p
            traps.append((running, forgot))
    return Question("gradient", ratio(r, label[v]), truth, index[v], traps=_distinct(traps, truth),
                    nudge=f"Add up what every op that uses {label[v]} sent back to it.")


def _edge(step, e, label: dict, index: dict, at_root: bool) -> list[Question]:
    """The local partial along one edge, then the product it sends (at the root, whose
    upstream is the seed 1, the product is the partial: only the partial is asked)."""
    node, n, r = step.node, step.name, step.root_name
    local, upstream = ratio(n, e.name), ratio(r, n)
    if node._parents.count(e.parent) > 1:  # a * a: one question per use, each named
        local += f" (input {e.position + 1} of {len(node._parents)})"
    partial_traps = list(_sign(e.partial))
    product_traps = list(_sign(e.product))
    honest = tuple(x.partial for x in step.edges)
    for mistake in MISTAKES.values():  # the lab's op-specific mistakes, made at this node
        if mistake.partials is None or mistake.ops is None or node._op.name not in mistake.ops:
            continue
        wrong = mistake.partials(_Floats, honest, node.data, *[p.data for p in node._parents])
        said = f"Looks like {mistake.sentence}."
        partial_traps.append((wrong[e.position], said))
        product_traps.append((step.upstream * wrong[e.position], said))
    partial_traps.append((e.product, f"That is the chain-rule product {upstream} * {local}; "
                                     "the local partial is without the upstream factor."))
    product_traps.append((e.partial, f"That is the local partial {local} alone: {MISTAKES['no-chain'].sentence}. "
                                     f"Multiply it by the upstream gradient {upstream}."))
    product_traps.append((step.upstream, f"That is the upstream gradient {upstream} alone: "
                                         f"multiply it by the local partial {local}."))
    written = node._op.write([label[p] for p in node._parents])
    partial = Question("partial", local, e.partial, index[node], index[e.parent],
                       traps=_distinct(partial_traps, e.partial), total=e.total if at_root else None,
                       nudge=f"Differentiate {n} = {written} with respect to {e.name}, the other inputs held fixed.")
    if at_root:
        return [partial]
    return [
        partial,
        Question("product", f"{upstream} * {local}", e.product, index[node], index[e.parent],
                 traps=_distinct(product_traps, e.product), total=e.total,
                 nudge=f"Multiply the upstream gradient {upstream} by the local partial {local}."),
    ]


class _Floats:
    """The float backend the lab's mistakes are evaluated in (they only do arithmetic)."""

    @staticmethod
    def of(x: float) -> float:
        return x


def _distinct(traps: list[tuple[float, str]], truth: float) -> tuple[tuple[float, str], ...]:
    """The traps that a right answer cannot hit, each value once (the first hint wins)."""
    kept: list[tuple[float, str]] = []
    for wrong, said in traps:
        if not close(wrong, truth) and not close(truth, wrong) and not any(close(wrong, k) for k, _ in kept):
            kept.append((wrong, said))
    return tuple(kept)


def _fingerprint(ask: str, questions: list[Question]) -> bytes:
    """Four bytes that name this quiz: a code made for another quiz is refused."""
    text = json.dumps([ask, [[q.kind, q.prompt, repr(q.answer)] for q in questions]])
    return hashlib.sha256(text.encode("utf-8")).digest()[:4]


# ---------------------------------------------------------------- hand-in codes
# A code is base32 of: version (1 byte), the quiz's fingerprint (4), the answers as
# nibbles (each character of "0123456789.-e", "," between answers, 15 to pad), and a
# CRC-32 of all that (4). It carries answers only, never a score.

VERSION = 1
_DIGITS = "0123456789.-e,"
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)(e-?\d+)?")


def _canonical(text: str) -> str | None:
    """An entry as a code stores it ("" for blank), or None if it is not a number."""
    text = re.sub(r"^\+|(?<=e)\+", "", text.strip().lower().replace("\u2212", "-"))
    return text if text == "" or _NUMBER.fullmatch(text) else None


def encode(quiz: Quiz, entries: list[str]) -> str:
    """The hand-in code for `entries` (the text typed for each question, "" for none)."""
    if len(entries) != len(quiz.questions):
        raise ValueError(f"the quiz has {len(quiz.questions)} questions, got {len(entries)} entries")
    cleaned = []
    for i, entry in enumerate(entries, 1):
        c = _canonical(entry)
        if c is None:
            raise ValueError(f"entry {i} is not a number: {entry!r}")
        cleaned.append(c)
    nibbles = [_DIGITS.index(ch) for ch in ",".join(cleaned)]
    if len(nibbles) % 2:
        nibbles.append(15)
    body = bytes([VERSION]) + quiz.fingerprint + bytes(
        (hi << 4) | lo for hi, lo in zip(nibbles[::2], nibbles[1::2]))
    raw = body + struct.pack(">I", zlib.crc32(body))
    text = base64.b32encode(raw).decode("ascii").rstrip("=")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def decode(quiz: Quiz, code: str) -> list[str]:
    """The entries a hand-in code carries; ValueError, saying what is wrong, for a code
    that is mistyped, cut short, or made for another quiz."""
    text = re.sub(r"[\s-]", "", str(code)).upper()
    bad = sorted(set(re.sub(r"[A-Z2-7]", "", text)))
    if bad:
        raise ValueError(f"a hand-in code has only the letters A-Z and digits 2-7; this one has "
                         f"{' '.join(map(repr, bad))}")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        raise ValueError("the hand-in code is cut short or mistyped (its length is wrong)") from None
    if len(raw) < 10:
        raise ValueError("the hand-in code is too short to be one")
    body, (crc,) = raw[:-4], struct.unpack(">I", raw[-4:])
    if zlib.crc32(body) != crc:
        raise ValueError("the hand-in code is mistyped or incomplete: its checksum does not match")
    if body[0] != VERSION:
        raise ValueError(f"the hand-in code is of version {body[0]}, this chainrule reads version {VERSION}")
    if body[1:5] != quiz.fingerprint:
        raise ValueError(f"the hand-in code was made for another quiz (quiz {body[1:5].hex()}, "
                         f"this is quiz {quiz.fingerprint.hex()}): check the formula, its values, "
                         "--ask, or the seed and level")
    nibbles = [n for byte in body[5:] for n in (byte >> 4, byte & 15)]
    if 14 in nibbles or 15 in nibbles[:-1]:
        raise ValueError("the hand-in code holds something that is not an answer")
    entries = "".join(_DIGITS[n] for n in nibbles if n != 15).split(",")
    if len(entries) != len(quiz.questions) or any(_canonical(e) is None for e in entries):
        raise ValueError(f"the hand-in code holds {len(entries)} answers, the quiz has "
                         f"{len(quiz.questions)} questions")
    return entries


@dataclass(frozen=True)
class Grade:
    """What `grade` found: the score and, per question not right, why."""

    quiz: Quiz
    entries: tuple[str, ...]
    right: tuple[bool, ...]

    @property
    def score(self) -> int:
        return sum(self.right)

    def report(self, width: int = 80) -> str:
        """The score, then one paragraph per question not right (wrapped to `width`)."""
        total = len(self.quiz.questions)
        lines = [f"score {self.score} of {total} ({100 * self.score / total:.0f}%)"]
        for i, (q, entry, ok) in enumerate(zip(self.quiz.questions, self.entries, self.right), 1):
            if ok:
                continue
            if entry == "":
                lines.append(f"#{i} {q.prompt} ({KINDS[q.kind]}): not answered; it is {number(q.answer)}")
            else:
                lines.append(f"#{i} {q.prompt} ({KINDS[q.kind]}): answered {entry}, it is "
                             f"{number(q.answer)}. {q.hint(float(entry))}")
        return "\n".join(textwrap.fill(line, width, subsequent_indent="    ", break_on_hyphens=False)
                         for line in lines)


def grade(quiz: Quiz, code: str) -> Grade:
    """Re-grade a hand-in code against `quiz`, recomputed by the teacher."""
    entries = decode(quiz, code)
    right = tuple(e != "" and close(float(e), q.answer) for e, q in zip(entries, quiz.questions))
    return Grade(quiz, tuple(entries), right)


# ---------------------------------------------------------------- a fresh formula per seed

_SHAPES = {  # {a} {b} ... variables, {f} a function, {op} a binary operator
    1: ["{a} * {b} + {c}", "({a} + {b}) * {c}", "{a} * {b} - {c}", "({a} - {b}) * {c}",
        "{a} * ({b} + {c})"],
    2: ["{f}({a} * {b} + {c})", "({f}({a} * {b} + {c}) - {d})**2", "{f}({a} {op} {b}) * {c}",
        "({a} * {b} {op} {c})**2", "{f}({a} * {b}) {op} {c}"],
    3: ["{a} * {b} + {a} * {c}", "{f}({a} * {b}) * {a}", "({a} + {b}) * ({a} - {c})",
        "{f}({a} * {b} + {c}) + {b} * {a}", "({a} * {b} {op} {c})**2 * {a}"],
}
_LETTERS = ["w x b y", "a b c d", "p q r s", "u v k t", "m n g h"]


def random_formula(seed: int, level: int = 2) -> tuple[str, dict[str, float]]:
    """A fresh formula and its values, a function of `seed` and `level` only: level 1
    multiplies and adds; level 2 adds a function (tanh, sigmoid, exp) or a square;
    level 3 uses a variable twice, so its gradient is a sum over paths."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"the seed must be a whole number, got {seed!r}")
    as_count(level, "level")
    if level > 3:
        raise ValueError(f"level must be 1, 2 or 3, got {level}")
    rng = random.Random(f"chainrule quiz {level} {seed}")
    shape = rng.choice(_SHAPES[level])
    letters = rng.choice(_LETTERS).split()
    text = shape.format(a=letters[0], b=letters[1], c=letters[2], d=letters[3],
                        f=rng.choice(["tanh", "sigmoid", "exp"]), op=rng.choice(["+", "-", "*"]))
    values = {}
    for name in letters:
        if re.search(rf"\b{name}\b", text):
            values[name] = rng.choice([-1, 1]) * rng.randint(1, 20) / 10
    return text, values


# ---------------------------------------------------------------- the page

_TEMPLATE = pathlib.Path(__file__).with_name("quiz.html")


def save_quiz(root: Value, path: str | os.PathLike, *, ask: str = "all", show_values: bool = True,
              title: str | None = None, rankdir: str = "TB", max_nodes: int = 300,
              timeout: float = 120.0) -> pathlib.Path:
    """Write the quiz page on `root`'s walk to `path`: one self-contained HTML file.

    `ask` chooses the questions (see ASKS); `show_values=False` hides the forward values
    when they are not asked, so the learner computes them too. The Values' grads are
    left as they were.
    """
    quiz = make_quiz(root, ask=ask)
    order = topological_order(root)
    label = names(order)
    with fresh_grads(order):
        for _ in backward_steps(root):
            pass
        widths = [{"grad": {i: (number(v.grad), v.grad) for i, v in enumerate(order)}}]
    with sized_for(order, widths):
        dot = draw(root, rankdir=rankdir, max_nodes=max_nodes, show_grads=True, clusters=True)
    svg = laid_out(dot, timeout).replace("<svg ", '<svg id="graph" ', 1)  # the page scales it
    asked_values = ask in ("all", "forward")
    payload = {
        "nodes": [{"id": f"v{i}", "name": label[v], "leaf": v._op is None,
                   "data": number(v.data) if v._op is None or (show_values and not asked_values) else None}
                  for i, v in enumerate(order)],
        "questions": [{"kind": q.kind, "what": KINDS[q.kind], "prompt": q.prompt, "answer": q.answer,
                       "shown": number(q.answer), "node": q.node, "parent": q.parent,
                       "traps": q.traps, "nudge": q.nudge,
                       "total": None if q.total is None else number(q.total)} for q in quiz.questions],
        "rtol": RTOL, "atol": ATOL, "version": VERSION, "fingerprint": list(quiz.fingerprint),
        "digits": _DIGITS,
    }
    title = title or f"chainrule quiz: the walk of {label[root]}"
    parts = {"title": html.escape(title), "svg": svg, "data": _json_for_script(payload), "css": PLAYER_CSS,
             "count": str(len(quiz.questions))}
    page = re.sub(r"@@(\w+)@@", lambda m: parts[m.group(1)], _TEMPLATE.read_text(encoding="utf-8"))
    return write_atomic(pathlib.Path(path), page)

