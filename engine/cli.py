"""The expression commands of `chainrule`: graph, step and check a formula typed as text.

    chainrule graph "tanh(w*x + b)" w=2.3 b=-1.2 x=0 -o neuron.svg
    chainrule step  "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1 --html steps.html
    chainrule check "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1

`add_commands(subparsers)` adds them to an argparse parser; `nn.cli` owns the `chainrule`
entry point and adds the network commands. Also here, shared by both: the one-line
error reporting and the exit codes (0 ok, 1 a failed check or a failed step, 2 a usage
error), so that every command fails the same way.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import textwrap
from typing import Callable, NoReturn, Sequence

from .check import compare, gradcheck
from .draw import draw, render
from .expr import UNARY_FUNCTIONS, Expression, ExpressionError, free_names, parse
from .notation import number
from .player import save_html
from .derivation import FORMATS
from .quiz import ASKS, grade, make_quiz, random_formula, save_quiz
from .steps import WIDTH, explain
from .trace import diff, load, trace
from .value import ARITHMETIC_ERRORS, check_label

__all__ = [
    "add_commands", "add_command", "Parser", "UsageError", "CommandFailed", "run_command",
    "parse_assignments", "build", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line cannot work as given (exit code 2)."""


class CommandFailed(Exception):
    """The command ran and its verdict is negative, or it could not finish (exit code 1)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) and examples kept as written in --help."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: -"):
            message += " (a formula that starts with '-' goes after --, as in: step -- \"-x*y\" x=1 y=2)"
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------- running a command

def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace,
                prog: str) -> int:
    """Run `func(args)` and turn user errors into one line on stderr and an exit code.

    Anything unexpected (a bug) keeps its traceback.
    """
    try:
        return func(args)
    except ExpressionError as error:
        _say(prog, str(error))
        if error.pointer and _stderr_is_terminal():
            print(error.pointer, file=sys.stderr)
        return EXIT_USAGE
    except UsageError as error:
        _say(prog, str(error))
        return EXIT_USAGE
    except CommandFailed as error:
        _say(prog, str(error))
        return EXIT_FAILED
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        _say(prog, "interrupted")
        return 130
    except (ValueError, TypeError, *ARITHMETIC_ERRORS) as error:
        _say(prog, _one_line(error))
        return EXIT_USAGE
    except OSError as error:  # a file that cannot be read or written
        where = f" {error.filename}" if getattr(error, "filename", None) else ""
        _say(prog, f"cannot use{where}: {error.strerror or error}")
        return EXIT_USAGE
    except (RuntimeError, TimeoutError) as error:  # e.g. Graphviz missing or failing
        _say(prog, _one_line(error))
        return EXIT_FAILED


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _say(prog: str, message: str) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------- expressions and values

def parse_assignments(items: Sequence[str]) -> dict[str, float]:
    """`["w=2.3", "b=-1.2"]` -> {"w": 2.3, "b": -1.2}. A value may be a constant formula (1/3)."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise UsageError(f"expected name=value after the expression, got {item!r}")
        if not name.isidentifier():
            raise UsageError(f"{name!r} is not a variable name (in {item!r})")
        if name in values:
            raise UsageError(f"{name} is given twice")
        values[name] = _number(name, text)
    return values


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        try:  # a constant formula such as 1/3 or -2**0.5
            value = parse(text, {}).root.data if not free_names(text) else None
        except ExpressionError:
            value = None
        if value is None:
            raise UsageError(f"the value of {name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"the value of {name} must be a finite number, got {text!r}")
    return value


def build(text: str, assignments: Sequence[str], name: str | None = None) -> Expression:
    """Parse the formula with the values given on the command line; strict about names."""
    values = parse_assignments(assignments)
    wanted = free_names(text)
    unknown = [n for n in values if n not in wanted]
    if unknown:
        listed = ", ".join(wanted) if wanted else "none"
        raise UsageError(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in "
                         f"the expression (its variables: {listed})")
    if name is not None:
        try:
            check_label(name)
        except ValueError as error:
            raise UsageError(f"--name: {error}") from None
        if name in wanted:
            raise UsageError(f"--name {name}: {name} is a variable of the expression; give the "
                             "result a name of its own")
    expression = parse(text, values)
    if name is None and expression.root.label is None:  # "df/dw" reads better than "d(pow1)/dw"
        name = next(n for n in ("f", "C", "out", "result") if n not in expression.variables)
    if name is not None and not expression.root.is_leaf:
        expression.root.label = name
    return expression


def _leaf(expression: Expression, name: str, option: str):
    if name not in expression.variables:
        raise UsageError(f"{option} {name}: not a variable of the expression "
                         f"(its variables: {', '.join(expression.names) or 'none'})")
    return expression.variables[name]


def _gradients_line(expression: Expression) -> str:
    root = expression.root
    top = root.label or "f"
    parts = [f"{top} = {number(root.data)}"]
    parts += [f"d{top}/d{n} = {number(v.grad)}" for n, v in expression.variables.items()]
    return "   ".join(parts)


# ---------------------------------------------------------------- the commands

EXPRESSION_HELP = "\n".join(textwrap.wrap(
    "The formula uses numbers, variables, + - * / ** (constant exponent), unary minus, "
    f"parentheses, the constants e and pi, the functions {' '.join(UNARY_FUNCTIONS)}, "
    "sum(a, b, ...), dot([w1, w2], [x1, x2]) and pow(x, 2). Name intermediate results "
    "as the documents do, separated by ; or one per line:", 79)) + """
  "z = w*x + b; a = tanh(z); C = (a - y)**2"
Give every variable a value as name=value after the formula (a formula that
starts with '-' goes after --: chainrule step -- "-x*y" x=1 y=2)."""

GRAPH_EXAMPLES = """\
examples:
  chainrule graph "tanh(w*x + b)" w=2.3 b=-1.2 x=0 -o neuron.svg
  chainrule graph "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1 -o cost.png \\
      --partials
  chainrule graph "x*x + 3*x" x=2 --rankdir TB          # prints the DOT source
"""

STEP_EXAMPLES = """\
examples:
  chainrule step "z = w*x + b; a = tanh(z); C = (a - y)**2" w=2.3 b=-1.2 x=0 y=1
  chainrule step "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1 --name C
  chainrule step "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1 --html steps.html
  chainrule step "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1 --format latex
  chainrule step "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1 --trace mine.json
"""

DIFF_EXAMPLES = """\
examples:
  chainrule diff mine.json reference.json
  chainrule diff mine.json torch.json --rtol 1e-6
exit code 0 when the traces agree, 1 at the first difference, 2 for a file that
is not a trace.
"""

CHECK_EXAMPLES = """\
examples:
  chainrule check "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1
  chainrule check "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1 \\
      --analytic "b=2*(tanh(w*x + b) - y) * (1 - tanh(w*x + b)**2)"
exit code 0 when autodiff agrees with finite differences (and your formulas),
1 when not.
"""


QUIZ_EXAMPLES = """\
examples:
  chainrule quiz "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0.5 y=1 --html q.html
  chainrule quiz --random --seed 17 --level 3 --html q17.html  # one per learner
  chainrule quiz --random --seed 17 --level 3 --answers           # the key
  chainrule quiz grade AHMJ-...-MO7Q --random --seed 17 --level 3 # grade a code
"""


def _columns() -> int:
    """The terminal's width when printing to one (tables fit it); 100 into a file or pipe."""
    return shutil.get_terminal_size((WIDTH, 24)).columns if sys.stdout.isatty() else WIDTH


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `graph`, `step`, `check`, `diff` and `quiz` to a parser's subcommands."""
    commands = {  # name: (what runs it, one line for the list, what --help says first, examples)
        "graph": (run_graph, "draw a formula's graph with its values and gradients",
                  "Draw the graph of a formula, after a backward pass, with every value and\n"
                  "gradient.",
                  GRAPH_EXAMPLES),
        "step": (run_step, "the chain rule step by step, as a table (or a page with --html)",
                 "Print the forward pass and every backward step of a formula: upstream gradient,\n"
                 "local partial, their product and each running total.", STEP_EXAMPLES),
        "check": (run_check, "compare autodiff with finite differences (and your own derivatives)",
                  "Check every gradient of a formula against central finite differences;\n"
                  "with --analytic, also against derivatives you worked out by hand.", CHECK_EXAMPLES),
    }
    graph, step, check = (_expression_command(subparsers, name, *spec) for name, spec in commands.items())
    graph.add_argument("-o", "--output", metavar="PATH",
                       help="write the picture here (.svg, .png or .pdf); without it the "
                            "DOT source is printed")
    graph.add_argument("--rankdir", choices=["LR", "TB", "RL", "BT"], default="TB",
                       help="direction of the layout (default TB: inputs at the top; LR puts them on the left)")
    graph.add_argument("--partials", action="store_true",
                       help="write each op's local derivatives (formula and value), one per input")
    graph.add_argument("--path-from", metavar="VARIABLE",
                       help="highlight every path from this variable to the output")
    graph.add_argument("--max-nodes", type=positive_int, default=300, metavar="N",
                       help="refuse to draw more than N nodes (default 300)")

    step.add_argument("--html", metavar="PATH",
                      help="also write the step-through page (one self-contained HTML file)")
    step.add_argument("--format", choices=FORMATS, default="text",
                      help="text tables (default), Markdown, or LaTeX for lecture notes")
    step.add_argument("--mode", choices=["reverse", "forward"], default="reverse",
                      help="reverse mode (backprop, default) or forward mode, one pass per variable")
    step.add_argument("--trace", metavar="PATH",
                      help="also write every node's value, gradient and local partials as JSON")

    compare_traces = add_command(subparsers, "diff", run_diff,
        help="the first node where two traces disagree", epilog=DIFF_EXAMPLES,
        description="Compare two traces (from step --trace, engine.trace, or any engine that\n"
                    "writes the format of docs/views.md): structure, then every value, then\n"
                    "every gradient, and name the first node that differs.")
    compare_traces.add_argument("mine", help="your trace (JSON)")
    compare_traces.add_argument("reference", help="the trace to compare it with")
    compare_traces.add_argument("--rtol", type=non_negative_float, default=1e-9,
                                help="relative tolerance (default 1e-9)")
    compare_traces.add_argument("--atol", type=non_negative_float, default=1e-12,
                                help="absolute tolerance (default 1e-12)")

    check.add_argument("--analytic", action="append", default=[], metavar="NAME=FORMULA",
                       help="your derivative with respect to NAME, as a formula of the same "
                            "variables (repeatable)")
    check.add_argument("--eps", type=positive_float, default=1e-6, help="finite-difference step (default 1e-6)")
    check.add_argument("--rtol", type=positive_float, default=1e-5, help="relative tolerance (default 1e-5)")
    check.add_argument("--atol", type=positive_float, default=1e-8, help="absolute tolerance (default 1e-8)")
    _add_quiz(subparsers)


def _add_quiz(subparsers: argparse._SubParsersAction) -> None:
    quiz = add_command(subparsers, "quiz", run_quiz,
        help="a page where a learner fills in the walk, checked as they type; grade hand-in codes",
        description="Make a quiz on a formula's walk (forward values, local partials, chain-rule\n"
                    "products, gradients) as one self-contained page, print its key, or grade\n"
                    "the hand-in code a learner's page shows (quiz grade CODE ...).\n\n" + EXPRESSION_HELP,
        epilog=QUIZ_EXAMPLES)
    quiz.add_argument("words", nargs="*", metavar="FORMULA name=value",
                      help="the formula and its values; or: grade CODE, then the same formula (or --random ...)")
    quiz.add_argument("--random", action="store_true", help="a fresh formula made from --seed and --level")
    quiz.add_argument("--seed", type=int, help="with --random: which formula (one per learner)")
    quiz.add_argument("--level", type=int, choices=[1, 2, 3], default=2,
                      help="with --random: 1 multiply and add, 2 with a function, 3 a variable used twice (default 2)")
    quiz.add_argument("--ask", choices=ASKS, default="all",
                      help="what is asked: all (default), forward values, backward pass, gradients only")
    quiz.add_argument("--hide-values", action="store_true",
                      help="when the forward values are not asked, hide them too (the learner computes them)")
    quiz.add_argument("--html", metavar="PATH", help="write the quiz page here")
    quiz.add_argument("--answers", action="store_true", help="print the teacher's key: every question and its answer")
    quiz.add_argument("--name", metavar="NAME", help="what to call the result (default f)")


def add_command(subparsers: argparse._SubParsersAction, name: str, run: Callable[[argparse.Namespace], int],
                **options) -> argparse.ArgumentParser:
    """A subcommand that `run` carries out; `options` (help, description, epilog) go to argparse."""
    parser = subparsers.add_parser(name, **options)
    parser.set_defaults(func=run)
    return parser


def _expression_command(subparsers: argparse._SubParsersAction, name: str, run: Callable,
                        help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand that takes a formula and its values (graph, step, check)."""
    parser = add_command(subparsers, name, run, help=help, epilog=examples,
                         description=f"{description}\n\n{EXPRESSION_HELP}")
    parser.add_argument("expression", help='the formula, in quotes: "tanh(w*x + b)"')
    parser.add_argument("values", nargs="*", default=[], metavar="name=value",
                        help="the value of each variable, e.g. w=2.3 b=-1.2")
    parser.add_argument("--name", metavar="NAME",
                        help="what to call the result in tables and drawings (default f)")
    return parser


# Argument types shared by every command (nn/cli.py imports them too).

def _argument_type(parse: Callable[[str], float], kind: str, accept: Callable[[float], bool],
                   wanted: str) -> Callable[[str], float]:
    """An argparse type: `parse(text)`, else "expected {kind}"; then `accept`, else
    "expected {wanted}"."""
    def convert(text: str) -> float:
        try:
            x = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not accept(x):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text}")
        return x

    convert.__name__ = wanted
    return convert


finite_float = _argument_type(float, "a number", math.isfinite, "a finite number")
positive_float = _argument_type(float, "a number", lambda x: math.isfinite(x) and x > 0, "a positive number")
non_negative_float = _argument_type(float, "a number", lambda x: math.isfinite(x) and x >= 0, "a number >= 0")
positive_int = _argument_type(int, "a whole number", lambda n: n >= 1, "a positive number")


def run_graph(args: argparse.Namespace) -> int:
    expression = build(args.expression, args.values, args.name)
    options = {"rankdir": args.rankdir, "show_partials": args.partials, "max_nodes": args.max_nodes}
    if args.path_from:
        options["path_from"] = _leaf(expression, args.path_from, "--path-from")
    expression.root.backward()
    if not args.output:
        print(draw(expression.root, **options).source)
        return EXIT_OK
    path = render(expression.root, args.output, **options)
    print(_gradients_line(expression))
    print(f"wrote {path}")
    return EXIT_OK


def run_step(args: argparse.Namespace) -> int:
    expression = build(args.expression, args.values, args.name)
    print(explain(expression.root, format=args.format, mode=args.mode, width=_columns()))
    written = []
    if args.html:
        written.append(save_html(expression.root, args.html))
    if args.trace:
        written.append(trace(expression.root, args.trace))
    for path in written:
        print(f"\nwrote {path}", file=sys.stderr if args.format != "text" else sys.stdout)
    return EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    mine, reference = load(args.mine), load(args.reference)
    difference = diff(mine, reference, rtol=args.rtol, atol=args.atol)
    if difference is not None:
        print(f"first difference, at {difference.node}: {difference.message}")
        raise CommandFailed(f"the traces differ ({difference.kind} of {difference.node})")
    print(f"the traces agree: {len(mine)} nodes, every value and gradient within "
          f"rtol={args.rtol:g}, atol={args.atol:g}")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    expression = build(args.expression, args.values, args.name)
    if not expression.names:
        raise UsageError("the expression has no variables to differentiate")
    inputs = [expression.variables[n] for n in expression.names]
    tolerances = {"eps": args.eps, "rtol": args.rtol, "atol": args.atol}
    if args.analytic:
        analytic = _analytic(expression, args.analytic)
        report = compare(expression, inputs, analytic, **tolerances)
        verdict = "your derivatives, autodiff and finite differences"
    else:
        report = gradcheck(expression, inputs, **tolerances)
        verdict = "autodiff and finite differences"
    print(report)
    if not report:
        raise CommandFailed(f"{verdict} disagree: {_one_line(report.message)}")
    return EXIT_OK


def run_quiz(args: argparse.Namespace) -> int:
    words, code = list(args.words), None
    if words[:1] == ["grade"]:
        if len(words) < 2:
            raise UsageError("quiz grade needs the hand-in code, then the quiz's formula and values "
                             "(or --random --seed N --level L)")
        code, words = words[1], words[2:]
    if args.random:
        if words:
            raise UsageError("--random makes its own formula: give a formula or --random, not both")
        if args.seed is None:
            raise UsageError("--random needs --seed N (each seed is another formula)")
        text, values = random_formula(args.seed, args.level)
        words = [text, *(f"{n}={v!r}" for n, v in values.items())]
    elif args.seed is not None:
        raise UsageError("--seed chooses a formula for --random; add --random, or leave out --seed")
    if not words:
        raise UsageError("give a formula and its values, or --random --seed N")
    expression = build(words[0], words[1:], args.name)
    quiz = make_quiz(expression.root, ask=args.ask)
    print(f"quiz on {expression.text}  {' '.join(words[1:])}".rstrip() +
          f"  ({len(quiz.questions)} questions, --ask {args.ask})")
    if code is not None:
        try:
            print(grade(quiz, code).report())
        except ValueError as error:
            raise UsageError(str(error)) from None
        return EXIT_OK
    if not (args.html or args.answers):
        raise UsageError("say what to make: --html PATH writes the page, --answers prints the key")
    if args.answers:
        print(quiz.key())
    if args.html:
        print(f"wrote {save_quiz(expression.root, args.html, ask=args.ask, show_values=not args.hide_values)}")
    return EXIT_OK


def _analytic(expression: Expression, items: Sequence[str]) -> dict[str, float]:
    """--analytic NAME=FORMULA, each formula evaluated at the same values."""
    values = {n: v.data for n, v in expression.variables.items()}
    analytic: dict[str, float] = {}
    for item in items:
        name, sep, formula = item.partition("=")
        name = name.strip()
        if not sep or not name or not formula.strip():
            raise UsageError(f"--analytic expects NAME=FORMULA, got {item!r}")
        _leaf(expression, name, "--analytic")
        if name in analytic:
            raise UsageError(f"--analytic {name} is given twice")
        extra = [n for n in free_names(formula) if n not in values]
        if extra:
            raise UsageError(f"--analytic {name}: {', '.join(extra)} not in the expression "
                             f"(its variables: {', '.join(expression.names)})")
        analytic[name] = parse(formula, values).root.data
    return analytic


def main(argv: Sequence[str] | None = None) -> int:
    """The expression commands on their own (the full command is `nn.cli.main`)."""
    parser = Parser(prog="chainrule", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_commands(commands)
    args = parser.parse_args(argv)
    return run_command(args.func, args, f"chainrule {args.command}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
