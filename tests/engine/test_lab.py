"""Break-it labs: each mistake breaks backward inside its block only, and gradcheck names it."""
from __future__ import annotations

import threading
import warnings

import pytest

import engine
from engine import Value, explain, gradcheck
from engine.autodiff import gradients
from engine.lab import MISTAKES, active, tamper

# A graph for each mistake that uses its op where it matters: reused inputs (for
# overwrite), a sub whose second input is a variable (for sign).
GRAPHS = {
    "sign": ("sub", lambda a, b: (a - b) ** 2 * a),
    "tanh-as-1-minus-tanh": ("tanh", lambda a, b: (a * b).tanh() + a),
    "no-chain": ("tanh", lambda a, b: (a * b + 1.0).tanh() * 3.0),
    "overwrite": ("mul", lambda a, b: a * b + a * a),
    "wrong-input": ("mul", lambda a, b: (a * b).exp()),
}


def inputs():
    return [Value(0.7, label="a"), Value(-1.3, label="b")]


def test_every_mistake_has_a_graph_here_and_a_sentence():
    assert set(GRAPHS) == set(MISTAKES)
    for mistake in MISTAKES.values():
        assert len(mistake.sentence.split()) >= 6 and mistake.sentence[0].islower()


@pytest.mark.parametrize("mistake", list(GRAPHS))
def test_gradcheck_fails_inside_the_block_naming_the_op_and_passes_outside(mistake):
    op, f = GRAPHS[mistake]
    assert gradcheck(f, inputs()).ok
    with tamper(op, mistake) as made:
        assert active() is made
        report = gradcheck(f, inputs())
    assert not report.ok
    assert f"the backward of {op} is tampered with ({mistake!r}" in report.message
    assert active() is None
    assert gradcheck(f, inputs()).ok


@pytest.mark.parametrize("mistake", ["sign", "tanh-as-1-minus-tanh", "wrong-input"])
def test_a_wrong_partial_is_found_by_the_per_op_check(mistake):
    op, f = GRAPHS[mistake]
    with tamper(op, mistake):
        report = gradcheck(f, inputs())
    assert report.bad_nodes and all(c.op_name == op for c in report.bad_nodes)
    assert f"= {op}(" in report.message


def test_backward_and_gradients_make_the_mistake_and_are_exact_after():
    a, b = inputs()
    y = (a - b) ** 2
    honest = gradients(y, [a, b])
    with tamper("sub", "sign"):
        y.backward()
        assert [a.grad, b.grad] == [honest[0], -honest[1]]
        assert gradients(y, [a, b]) == [honest[0], -honest[1]]
    a.grad = b.grad = 0.0
    z = (a - b) ** 2
    z.backward()
    assert [a.grad, b.grad] == honest


def test_the_mistake_ends_when_an_exception_leaves_the_block():
    with pytest.raises(RuntimeError, match="boom"):
        with tamper("tanh", "no-chain"):
            raise RuntimeError("boom")
    assert active() is None
    assert gradcheck(GRAPHS["no-chain"][1], inputs()).ok


def test_the_mistake_is_per_thread():
    seen = {}
    inside, done = threading.Event(), threading.Event()

    def other():
        inside.wait(5)
        seen["active"] = active()
        seen["ok"] = gradcheck(GRAPHS["overwrite"][1], inputs()).ok
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with tamper("mul", "overwrite"):
        inside.set()
        done.wait(5)
        assert not gradcheck(GRAPHS["overwrite"][1], inputs()).ok
    t.join(5)
    assert seen == {"active": None, "ok": True}


def test_blocks_nest_and_unwind():
    with tamper("mul", "overwrite"):
        with tamper("sub", "sign") as inner:
            assert active() is inner
        assert active().mistake == "overwrite"
    assert active() is None


def test_bad_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown op 'tan'.*tanh"):
        with tamper("tan", "sign"):
            pass
    with pytest.raises(ValueError, match="unknown mistake 'typo'.*no-chain"):
        with tamper("mul", "typo"):
            pass
    with pytest.raises(ValueError, match="made in tanh, not in mul"):
        with tamper("mul", "tanh-as-1-minus-tanh"):
            pass


# ---------------------------------------------------------------- the second backward

def test_a_second_backward_warns_once_per_root_naming_the_leaves():
    w = Value(0.5, label="w")
    C = (w * 3.0).tanh()
    C.label = "C"
    C.backward()
    once = w.grad
    with pytest.warns(engine.RepeatedBackwardWarning, match=r"through C .*w\.grad now holds the sum"):
        C.backward()
    assert w.grad == 2 * once
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.backward()  # the same root again: said once already
        D = w * 2.0
        D.backward()  # a new root: nothing was there before
    assert w.grad == 3 * once + 2.0


def test_the_warning_points_at_the_callers_line_and_can_be_silenced():
    x = Value(1.5, label="x")
    y = x * x
    y.backward()
    with pytest.warns(engine.RepeatedBackwardWarning) as caught:
        y.backward()
    assert caught[0].filename == __file__
    z = x * 4.0
    z.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", engine.RepeatedBackwardWarning)
        z.backward()


def test_no_warning_after_zero_grad_or_from_the_readers():
    x = Value(1.5, label="x")
    y = x.tanh() * x
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y.backward()
        explain(y)
        y.zero_grad()
        y.backward()


# ---------------------------------------------------------------- a parent used twice

def test_a_parent_used_twice_by_one_op_is_drawn_as_two_named_edges():
    from engine.draw import draw

    a = Value(3.0, label="a")
    y = a * a
    named = draw(y).source
    edges = [line for line in named.splitlines() if "v0 -> v1op" in line]
    assert len(edges) == 2
    assert "input 1 of 2" in edges[0] and "input 2 of 2" in edges[1]
    source = draw(y, show_partials=True).source  # each use into its own cell of the op
    assert [line.strip() for line in source.splitlines() if "v0 -> v1op" in line] == \
        ["v0 -> v1op:i0:n", "v0 -> v1op:i1:n"]
    assert "input 1 of 2<BR/>∂(mul1)/∂a = a<BR/>= 3" in source and "input 2 of 2<BR/>" in source
    plain = draw(a * 2.0).source
    assert "input 1 of" not in plain


def test_the_compiled_replay_is_not_tampered_with():
    a, b = inputs()
    y = (a - b) ** 2
    compiled = engine.compile(y, wrt=[a, b])
    with tamper("sub", "sign"):
        compiled.forward()
        compiled.backward()
    assert [a.grad, b.grad] == gradients((a - b) ** 2, [a, b])
