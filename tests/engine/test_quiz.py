"""Quizzes: questions from the walk, hints for the likely mistakes, hand-in codes that
round-trip through the grader, the command, and the page in a real headless Chromium."""
from __future__ import annotations

import json
import math
import re

import pytest

from engine import Value, topological_order
from engine.cli import build, main
from engine.draw import renderer_available
from engine.quiz import (
    ASKS, _canonical, close, decode, encode, grade, make_quiz, random_formula, save_quiz,
)
from engine.steps import backward_steps
from tests.conftest import require
from tests.engine.test_player import XSS, browser  # noqa: F401 (the Chromium fixture)

NEURON = ("(tanh(w*x + b) - y)**2", ["w=2.3", "b=-1.2", "x=0.5", "y=1"])


def neuron():
    return build(*NEURON, name="C").root


def reused():
    x, y = Value(0.5, label="x"), Value(-2.0, label="y")
    f = x * x * y + x.tanh()
    f.label = "f"
    return f


def typed(answer: float) -> str:
    """An answer as a learner writes it: four significant digits."""
    return f"{answer:.4g}"


# ---------------------------------------------------------------- the questions

def test_the_answers_are_the_walks_own_records_in_its_order():
    root = neuron()
    quiz = make_quiz(root)
    steps = list(backward_steps(neuron()))
    kinds = [q.kind for q in quiz.questions]
    assert kinds[:5] == ["value"] * 5 and kinds[-4:] == ["gradient"] * 4
    products = [q.answer for q in quiz.questions if q.kind == "product"]
    assert products == [e.product for s in steps[1:] for e in s.edges]  # at the root, product = partial
    partials = [q.answer for q in quiz.questions if q.kind == "partial"]
    assert partials == [e.partial for s in steps for e in s.edges]
    root.backward()
    finals = {q.prompt: q.answer for q in quiz.questions if q.kind == "gradient"}
    assert finals == {f"dC/d{v.label}": v.grad for v in topological_order(root) if v.is_leaf}


def test_asking_chooses_the_kinds():
    root = neuron()
    seen = {ask: {q.kind for q in make_quiz(root, ask=ask).questions} for ask in ASKS}
    assert seen == {"all": {"value", "partial", "product", "gradient"}, "forward": {"value"},
                    "backward": {"partial", "product", "gradient"}, "gradients": {"gradient"}}
    with pytest.raises(ValueError, match="ask must be one of all, forward"):
        make_quiz(root, ask="some")
    with pytest.raises(ValueError, match="an input"):
        make_quiz(Value(1.0))
    with pytest.raises(TypeError, match="needs a Value"):
        make_quiz(3.0)


def test_a_node_used_twice_by_one_op_is_asked_once_per_use():
    quiz = make_quiz(reused())
    uses = [q.prompt for q in quiz.questions if q.kind == "partial" and "/dx" in q.prompt and "mul1" in q.prompt]
    assert uses == ["d(mul1)/dx (input 1 of 2)", "d(mul1)/dx (input 2 of 2)"]


def test_hints_name_the_likely_mistake():
    quiz = make_quiz(reused())
    q = {q.prompt: q for q in quiz.questions}
    dx = q["df/dx"]
    tanh_part = [p for p in quiz.questions if p.kind == "product" and "tanh1" in p.prompt][0]
    assert "sum over every path" in dx.hint(tanh_part.answer)  # one path of three
    assert "sign" in dx.hint(-dx.answer)
    local = q["d(tanh1)/dx"]
    assert "1 - tanh(z) instead of 1 - tanh(z)^2" in local.hint(1 - math.tanh(0.5))
    product = q["df/d(mul1) * d(mul1)/dx (input 1 of 2)"]
    assert "the local partial" in product.hint(0.5) and "upstream" in product.hint(0.5)
    assert "swapped" in q["d(mul2)/d(mul1)"].hint(0.25)  # y's partial given for mul1's
    assert q["d(mul2)/d(mul1)"].hint(17.0).startswith("Differentiate mul2 = mul1 * y")
    for question in quiz.questions:  # no trap is ever the right answer
        assert not any(close(question.answer, wrong) for wrong, _ in question.traps)


# ---------------------------------------------------------------- hand-in codes

def test_a_code_round_trips_and_grades_each_wrong_step():
    quiz = make_quiz(neuron())
    entries = [typed(q.answer) for q in quiz.questions]
    flipped = next(i for i, q in enumerate(quiz.questions) if q.kind == "partial" and q.answer < 0)
    entries[flipped] = typed(-quiz.questions[flipped].answer)
    entries[2] = ""
    code = encode(quiz, entries)
    assert re.fullmatch(r"[A-Z2-7]{1,4}(-[A-Z2-7]{1,4})*", code)
    assert decode(quiz, code) == entries
    result = grade(make_quiz(neuron()), code.lower().replace("-", " "))  # the teacher rebuilds it
    total = len(quiz.questions)
    assert result.score == total - 2
    report = " ".join(result.report().split())  # the report is wrapped to 80 columns
    assert max(map(len, result.report().splitlines())) <= 80
    assert report.startswith(f"score {total - 2} of {total}")
    assert f"#3 {quiz.questions[2].prompt} (forward value): not answered" in report
    assert f"#{flipped + 1} " in report and "Check the sign" in report


def test_a_code_carries_answers_not_a_score():
    quiz = make_quiz(neuron())
    wrong = encode(quiz, ["1"] * len(quiz.questions))
    assert grade(quiz, wrong).score < len(quiz.questions) // 2


@pytest.mark.parametrize("damage, message", [
    (lambda c: c[:-6], "mistyped|cut short|checksum"),
    (lambda c: c[:8] + ("A" if c[8] != "A" else "B") + c[9:], "checksum"),
    (lambda c: c + "1", "only the letters A-Z and digits 2-7"),
    (lambda c: "AB", "too short|cut short"),
])
def test_malformed_codes_get_a_clear_error(damage, message):
    quiz = make_quiz(neuron())
    code = encode(quiz, [typed(q.answer) for q in quiz.questions])
    with pytest.raises(ValueError, match=message):
        decode(quiz, damage(code))


def test_a_code_for_another_quiz_is_refused():
    code = encode(make_quiz(neuron()), [""] * len(make_quiz(neuron()).questions))
    with pytest.raises(ValueError, match="made for another quiz"):
        decode(make_quiz(reused()), code)
    with pytest.raises(ValueError, match="made for another quiz"):
        decode(make_quiz(neuron(), ask="forward"), code)


# ---------------------------------------------------------------- random formulas

def test_random_formulas_are_a_function_of_seed_and_level():
    assert random_formula(5, 2) == random_formula(5, 2)
    assert len({repr(random_formula(s, 1)) for s in range(20)}) > 10
    for seed in range(15):
        text, values = random_formula(seed, 3)
        names = re.findall(r"\b[a-z]\b", text)
        assert max(names.count(n) for n in set(names)) >= 2, text  # level 3 reuses a variable
        root = build(text, [f"{n}={v}" for n, v in values.items()]).root
        assert make_quiz(root).questions
    with pytest.raises(ValueError, match="level must be 1, 2 or 3"):
        random_formula(1, 4)


# ---------------------------------------------------------------- the command

def run(capsys, *argv):
    code = main(["quiz", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_key_and_grade_from_the_command_line(capsys, tmp_path):
    code, out, err = run(capsys, "--random", "--seed", "17", "--level", "3", "--answers")
    assert code == 0 and err == ""
    assert max(map(len, out.splitlines())) <= 80
    text, values = random_formula(17, 3)
    quiz = make_quiz(build(text, [f"{n}={v!r}" for n, v in values.items()]).root)
    for q in quiz.questions:
        assert q.prompt in out
    handed = encode(quiz, [typed(q.answer) for q in quiz.questions])
    code, out, err = run(capsys, "grade", handed, "--random", "--seed", "17", "--level", "3")
    assert code == 0 and f"score {len(quiz.questions)} of {len(quiz.questions)} (100%)" in out
    code, out, err = run(capsys, "grade", handed, "--random", "--seed", "18", "--level", "3")
    assert code == 2 and "made for another quiz" in err and "Traceback" not in err
    code, out, err = run(capsys, "grade", "NOT-A-CODE-1", *NEURON[:1], *NEURON[1])
    assert code == 2 and "A-Z and digits 2-7" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    ([], "give a formula"),
    (["x*y", "x=1", "y=2"], "--html PATH"),
    (["--random"], "--seed"),
    (["--seed", "3", "x*y", "x=1", "y=2", "--answers"], "add --random"),
    (["--random", "--seed", "3", "x*y", "--answers"], "not both"),
    (["grade"], "needs the hand-in code"),
])
def test_bad_quiz_commands_say_what_is_wrong(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- the page

def test_the_page_is_self_contained_and_escaped(tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")
    w = Value(2.0, label=XSS)
    page = save_quiz((w * 3.0).tanh(), tmp_path / "quiz.html", title=XSS).read_text(encoding="utf-8")
    assert XSS not in page and "alert(1)</script>" not in page
    assert page.count("<script") == 2
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "default-src 'none'" in page and "@@" not in page
    payload = json.loads(page.split('<script id="quiz-data" type="application/json">')[1].split("</script>")[0])
    assert payload["nodes"][0]["name"] == XSS


def test_values_are_shown_unless_asked_or_hidden(tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")

    def shown(**options):
        page = save_quiz(neuron(), tmp_path / "q.html", **options).read_text(encoding="utf-8")
        payload = json.loads(page.split('<script id="quiz-data" type="application/json">')[1].split("</script>")[0])
        return [n["data"] for n in payload["nodes"] if not n["leaf"]]

    assert all(d is not None for d in shown(ask="backward"))
    assert all(d is None for d in shown(ask="backward", show_values=False))
    assert all(d is None for d in shown(ask="all"))  # asked: the learner fills them in


def chromium_page(browser_context, path):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1024, "height": 640})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    return page, errors


@pytest.mark.browser
def test_in_chromium_right_answers_score_full_marks_and_the_code_grades(browser, tmp_path, capsys):
    require(renderer_available(), "Graphviz (the `dot` program)")
    root = neuron()
    path = save_quiz(root, tmp_path / "quiz.html")
    quiz = make_quiz(neuron())
    page, errors = chromium_page(browser, path)
    inputs = page.locator("#questions input")
    assert inputs.count() == len(quiz.questions)
    for i, q in enumerate(quiz.questions):
        inputs.nth(i).fill(typed(q.answer))
        inputs.nth(i).press("Enter")
    assert page.get_attribute("body", "data-score") == str(len(quiz.questions))
    assert page.locator("li.right").count() == len(quiz.questions)
    grads = page.locator("#graph g.node text").all_text_contents()
    assert "grad ?" not in grads and "data ?" not in grads  # the walk filled the whole graph
    code = page.locator("#code").text_content()
    assert grade(quiz, code).score == len(quiz.questions)
    total = len(quiz.questions)
    assert run(capsys, "grade", code, NEURON[0], *NEURON[1], "--name", "C")[1].splitlines()[1] == \
        f"score {total} of {total} (100%)"  # through the teacher's command
    assert errors == []


@pytest.mark.browser
def test_in_chromium_a_sign_error_gets_the_sign_hint_and_counts_against_the_code(browser, tmp_path):
    require(renderer_available(), "Graphviz (the `dot` program)")
    path = save_quiz(reused(), tmp_path / "quiz.html", ask="backward")
    quiz = make_quiz(reused(), ask="backward")
    page, errors = chromium_page(browser, path)
    i = next(k for k, q in enumerate(quiz.questions) if q.kind == "partial" and q.answer not in (0, 1))
    box = page.locator("#questions input").nth(i)
    box.fill(typed(-quiz.questions[i].answer))
    box.press("Enter")
    item = page.locator("#questions li").nth(i)
    assert "wrong" in item.get_attribute("class")
    assert "Check the sign" in item.locator(".hint").text_content()
    box.fill(typed(quiz.questions[i].answer))  # the second try is right, the first one counts
    box.press("Enter")
    assert "right" in item.get_attribute("class") and item.locator(".hint").text_content() == ""
    result = grade(quiz, page.locator("#code").text_content())
    assert result.score == 0 and result.entries[i] == typed(-quiz.questions[i].answer)
    flat = " ".join(result.report().split())  # the report is wrapped to 80 columns
    assert f"#{i + 1} " in flat and "Check the sign" in flat
    page.locator("#questions input").nth(i + 1).fill("two")
    page.locator("#questions input").nth(i + 1).press("Enter")
    assert "Type a number" in page.locator("#questions li").nth(i + 1).locator(".hint").text_content()
    assert errors == []


def test_entries_are_read_as_a_learner_types_them():
    assert [_canonical(t) for t in ["+1.5", "1E+3", " \u22120.4 ", ".5", "-.5e-2", ""]] == \
        ["1.5", "1e3", "-0.4", ".5", "-.5e-2", ""]
    assert [_canonical(t) for t in ["1+2", "abc", "1/3", "--1"]] == [None] * 4
