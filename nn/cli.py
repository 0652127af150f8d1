"""The `chainrule` command: see, step through and check backpropagation without Python.

    chainrule graph "tanh(w*x + b)" w=2.3 b=-1.2 x=0 -o neuron.svg
    chainrule step  "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1
    chainrule check "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1
    chainrule train moons --hidden 16,16 --epochs 100 --save model.json --plot moons.png
    chainrule eval model.json 0.5,0.2 1.5,-0.4
    chainrule demo

The expression commands come from `engine.cli`; this module adds the network commands
(train, eval, demo) and is the entry point (`chainrule`, `python -m nn`).
Exit codes: 0 ok, 1 a failed check (or a step that could not finish), 2 a usage error.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from importlib import import_module
from pathlib import Path
from typing import Any, Sequence

from engine.cli import (
    EXIT_OK, CommandFailed, Parser, UsageError, add_commands, non_negative_float, optional,
    positive_float, positive_int, run_command,
)

from .playground.command import add_command as add_playground

__all__ = ["main", "build_parser", "TRAIN_DEFAULTS"]

# Per data set: what trains it well in seconds (every entry can be overridden by an option).
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "not": dict(hidden=[], activation="tanh", output="tanh", loss="mse", optimiser="sgd",
                lr=0.5, epochs=300, labels="01"),
    "xor": dict(hidden=[4], activation="tanh", output="tanh", loss="mse", optimiser="adam",
                lr=0.05, epochs=300),
    "table10": dict(hidden=[3], activation="tanh", output="tanh", loss="mse", optimiser="adam",
                    lr=0.05, epochs=200),
    "moons": dict(hidden=[16, 16], activation="tanh", output="tanh", loss="mse",
                  optimiser="adam", lr=0.02, epochs=100),
    "circles": dict(hidden=[16, 16], activation="tanh", output="tanh", loss="mse",
                    optimiser="adam", lr=0.02, epochs=100),
    "digits": dict(hidden=[32], activation="tanh", output="linear", loss="cross_entropy",
                   optimiser="adam", lr=0.01, epochs=10, batch_size=32, n=500),
}
OPTIMISERS = ("sgd", "adam")

TRAIN_EXAMPLES = """\
examples:
  chainrule train not                                   # the documents' NOT gate
  chainrule train moons --hidden 16,16 --epochs 100 --save model.json --plot moons.png
  chainrule train circles --activation relu --optimiser sgd --lr 0.1 --seed 3
  chainrule train xor --hidden 4 --loss mse --epochs 500 --batch-size 2
defaults per data set (hidden, activation, output, loss, optimiser, lr, epochs):
""" + "\n".join(
    f"  {name:8} {','.join(map(str, d['hidden'])) or '-':6} {d['activation']:8} {d['output']:7} "
    f"{d['loss']:14} {d['optimiser']:5} {d['lr']:<5} {d['epochs']}"
    for name, d in TRAIN_DEFAULTS.items()
)

EVAL_EXAMPLES = """\
examples:
  chainrule eval model.json 0.5,0.2 1.5,-0.4         # one prediction per input
  chainrule eval model.json --data moons             # loss and accuracy on a data set
"""

DEMO_EXAMPLES = """\
examples:
  chainrule demo                 # writes into ./out
  chainrule demo --out /tmp/tour
"""


def build_parser() -> Parser:
    """The whole command line: expression commands from engine, network commands here."""
    parser = Parser(prog="chainrule", description=__doc__.split("\n\n")[0] + "\n\n" + "\n".join(
        line for line in __doc__.split("\n\n")[1].splitlines()))
    parser.epilog = ("run 'chainrule COMMAND --help' for each command's options and examples;\n"
                     "exit codes: 0 ok, 1 a failed check, 2 a usage error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_commands(commands)
    _add_train(commands)
    _add_eval(commands)
    add_playground(commands)
    demo = commands.add_parser(
        "demo", help="the guided tour: neuron, steps, checks, graph, page, training",
        description="The guided tour, in under a minute: the documents' tanh neuron step by "
                    "step,\nautodiff against the hand-derived dC/dw and dC/db and finite "
                    "differences,\nits graph and step-through page, then the NOT gate and the "
                    "two-moons MLP trained.", epilog=DEMO_EXAMPLES)
    demo.add_argument("--out", default="out", metavar="DIR",
                      help="folder for the files it writes (default ./out)")
    demo.set_defaults(func=run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `chainrule` with `argv` (default: the process's arguments); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(args.func, args, f"chainrule {args.command}")


# ---------------------------------------------------------------- train

def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train", help="train an MLP on a data set (progress bar, --save, --plot)",
        description="Train a multi-layer perceptron on one of the built-in data sets.\n"
                    "Options left out take the data set's defaults (listed below).",
        epilog=TRAIN_EXAMPLES)
    train.add_argument("dataset", metavar="DATASET", help=f"one of: {', '.join(TRAIN_DEFAULTS)}")
    train.add_argument("--hidden", type=_widths, metavar="N,N,...",
                       help="hidden layer widths, e.g. 16,16 (0 or '' for none)")
    train.add_argument("--activation", choices=["tanh", "sigmoid", "relu", "linear"],
                       help="hidden layers' activation")
    train.add_argument("--output", choices=["tanh", "sigmoid", "relu", "linear"],
                       help="output layer's activation")
    train.add_argument("--loss", help="mse, sse, half, hinge, bce or cross_entropy")
    train.add_argument("--optimiser", "--optimizer", choices=OPTIMISERS, dest="optimiser")
    train.add_argument("--lr", type=positive_float, help="learning rate")
    train.add_argument("--momentum", type=non_negative_float, default=0.0,
                       help="SGD momentum (default 0)")
    train.add_argument("--epochs", type=positive_int, help="passes over the data")
    train.add_argument("--batch-size", type=positive_int, metavar="N",
                       help="examples per step (default: the whole data set)")
    train.add_argument("--l2", type=non_negative_float, default=0.0, help="weight decay strength")
    train.add_argument("--seed", type=int, default=0, help="initial weights and shuffling (default 0)")
    train.add_argument("--points", type=positive_int, metavar="N",
                       help="number of points for moons/circles (default 100)")
    train.add_argument("--noise", type=non_negative_float, help="noise for moons/circles")
    train.add_argument("--compile", action="store_true",
                       help="replay a compiled graph instead of rebuilding it each step (faster)")
    train.add_argument("--save", metavar="PATH", help="write the trained model (JSON)")
    train.add_argument("--plot", metavar="PATH",
                       help="write the loss curve and (for 2-D data) the decision boundary as PNGs")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=run_train)


def _widths(text: str) -> list[int]:
    text = text.strip()
    if text in ("", "0", "none"):
        return []
    try:
        widths = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 16,16, got {text!r}") from None
    if any(w < 1 or w > 10_000 for w in widths):
        raise argparse.ArgumentTypeError(f"each width must be between 1 and 10000, got {text!r}")
    return widths




def _api(name: str, module: str, what: str):
    """`nn.<name>` (the package's public name), else from its module; or 'not available'."""
    import nn

    found = getattr(nn, name, None)
    if found is not None:
        return found
    return getattr(optional(f"nn.{module}", what), name)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.dataset not in TRAIN_DEFAULTS:
        raise UsageError(f"unknown data set {args.dataset!r}; choose one of {', '.join(TRAIN_DEFAULTS)}")
    chosen = dict(TRAIN_DEFAULTS[args.dataset])
    for key in ("hidden", "activation", "output", "loss", "optimiser", "lr", "epochs", "batch_size"):
        given = getattr(args, key)
        if given is not None:
            chosen[key] = given
    return chosen


def _load_data(name: str, settings: dict[str, Any], args: argparse.Namespace):
    data = optional("nn.data", "the data sets")
    options: dict[str, Any] = {}
    if "labels" in settings:
        options["labels"] = settings["labels"]
    if name in ("moons", "circles"):
        options["seed"] = args.seed
        if args.points is not None:
            options["n"] = args.points
        if args.noise is not None:
            options["noise"] = args.noise
    elif args.points is not None or args.noise is not None:
        if name == "digits" and args.noise is None:
            options["n"] = args.points
        else:
            raise UsageError(f"--points and --noise are for moons and circles, not {name}")
    elif name == "digits":
        options["n"] = settings["n"]
    try:
        return data.load(name, **options)
    except ImportError as error:
        raise CommandFailed(str(error)) from None


def run_train(args: argparse.Namespace) -> int:
    settings = _settings(args)
    optional("nn.losses", "the losses").get(settings["loss"])  # an unknown loss fails now
    if args.plot and Path(args.plot).suffix.lower() != ".png":  # not after training
        raise UsageError(f"--plot writes PNG files: end the name in .png, got {args.plot!r}")
    for path in filter(None, (args.save, args.plot)):
        if Path(path).is_dir():
            raise UsageError(f"{path} is a folder; give a file name")
    dataset = _load_data(args.dataset, settings, args)
    MLP = _api("MLP", "module", "the network layer")
    fit = _api("fit", "train", "training")
    optim = optional("nn.optim", "the optimisers")
    nout = len(dataset.classes) if settings["loss"] == "cross_entropy" and dataset.classes else 1
    model = MLP(dataset.n_features, [*settings["hidden"], nout], activation=settings["activation"],
                output=settings["output"], seed=args.seed)
    if settings["optimiser"] == "sgd":
        optimiser = optim.SGD(model.parameters(), lr=settings["lr"], momentum=args.momentum)
    else:
        optimiser = optim.Adam(model.parameters(), lr=settings["lr"])
    batch = settings.get("batch_size")
    print(f"training {model!r} on {args.dataset} ({len(dataset)} examples): "
          f"{settings['loss']} loss, {settings['optimiser']} lr={settings['lr']:g}, "
          f"{settings['epochs']} epochs, batch {batch or 'all'}, seed {args.seed}", flush=True)
    history = fit(model, dataset, loss=settings["loss"], optimiser=optimiser,
                  epochs=settings["epochs"], batch_size=batch, seed=args.seed,
                  progress=False if args.quiet else None, compile=args.compile, l2=args.l2)
    print(_summary(history))
    if args.save:
        path = _writable(args.save)
        saved = _api("save_model", "model_file", "model files")(model, path)
        print(f"wrote {saved}")
    if args.plot:
        for path in _plots(model, dataset, history, args.plot):
            print(f"wrote {path}")
    return EXIT_OK


def _summary(history) -> str:
    if not history.loss:
        return "no epochs run"
    line = f"loss {history.loss[0]:.4g} -> {history.loss[-1]:.4g} in {history.seconds:.1f} s"
    if history.accuracy and history.accuracy[-1] is not None:
        line += f", training accuracy {history.accuracy[-1]:.1%}"
    return line


def _writable(path: str) -> Path:
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a folder; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _plots(model, dataset, history, path: str) -> list[Path]:
    """The loss curve at PATH-loss.png and, for 2-D inputs, the boundary at PATH itself."""
    plot = optional("nn.plot", "plotting (needs matplotlib: pip install 'chainrule[plot]')")
    target = _writable(path)
    if target.suffix.lower() != ".png":
        raise UsageError(f"--plot writes PNG files: end the name in .png, got {path!r}")
    written = []
    loss_path = target
    if dataset.n_features == 2:
        plot.plot_decision_boundary(model, dataset, target)
        written.append(target)
        loss_path = target.with_name(f"{target.stem}-loss.png")
    plot.plot_history(history, loss_path)
    written.append(loss_path)
    return written


# ---------------------------------------------------------------- eval

def _add_eval(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "eval", help="load a saved model and predict",
        description="Load a model written by 'chainrule train --save' and print its outputs "
                    "for the given inputs\n(comma-separated, one group per example), or its "
                    "loss and accuracy on a data set.", epilog=EVAL_EXAMPLES)
    ev.add_argument("model", metavar="MODEL", help="the model file (JSON)")
    ev.add_argument("inputs", nargs="*", default=[], metavar="x1,x2,...",
                    help="one example's inputs, comma-separated (negative numbers: after --)")
    ev.add_argument("--data", metavar="DATASET", help="report loss and accuracy on this data set")
    ev.add_argument("--loss", help="the loss for --data (default: the data set's training loss)")
    ev.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    if not args.inputs and not args.data:
        raise UsageError("give inputs (like 0.5,0.2) or --data DATASET")
    if not Path(args.model).is_file():
        raise UsageError(f"{args.model}: no such model file")
    model = _api("load_model", "model_file", "model files")(args.model)
    rows = [_row(text, model.nin) for text in args.inputs]
    if rows:
        from engine import no_grad

        with no_grad():
            for text, row in zip(args.inputs, rows):
                outputs = [o.data for o in model(row)]
                shown = ", ".join(f"{o:.6g}" for o in outputs)
                print(f"{','.join(f'{x:g}' for x in row)} -> {shown}{_decision(outputs)}")
    if args.data:
        if args.data not in TRAIN_DEFAULTS:
            raise UsageError(f"unknown data set {args.data!r}; choose one of {', '.join(TRAIN_DEFAULTS)}")
        settings = dict(TRAIN_DEFAULTS[args.data])
        dataset = _load_data(args.data, settings, argparse.Namespace(seed=0, points=None, noise=None))
        evaluate = _api("evaluate", "train", "evaluation")
        loss, accuracy = evaluate(model, dataset, loss=args.loss or settings["loss"])
        line = f"{args.data} ({len(dataset)} examples): loss {loss:.4g}"
        if accuracy is not None:
            line += f", accuracy {accuracy:.1%}"
        print(line)
    return EXIT_OK


def _row(text: str, nin: int) -> list[float]:
    try:
        row = [float(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"expected numbers separated by commas, got {text!r}") from None
    if not all(math.isfinite(x) for x in row):
        raise UsageError(f"inputs must be finite numbers, got {text!r}")
    if len(row) != nin:
        raise UsageError(f"the model takes {nin} input{'s' if nin != 1 else ''} per example, "
                         f"got {len(row)} in {text!r}")
    return row


def _decision(outputs: list[float]) -> str:
    """The predicted class of a multi-output model; one output speaks for itself (its
    threshold depends on the labels it was trained on: +-1 or 0/1)."""
    if len(outputs) > 1:
        return f"   (class {max(range(len(outputs)), key=outputs.__getitem__)})"
    return ""


# ---------------------------------------------------------------- demo

# Seed 001, Question 4: the tanh neuron, its cost and the hand-derived dC/dw and dC/db.
NEURON = "(tanh(w*x + b) - y)**2"
NEURON_VALUES = {"w": 2.3, "b": -1.2, "x": 0.0, "y": 1.0}
# Seed 001: the NOT gate's starting weight and bias ("randomly initialise ... w=1.3, b=-0.1").
NOT_START = (1.3, -0.1)


def run_demo(args: argparse.Namespace) -> int:
    return tour(Path(args.out))


def tour(out: Path) -> int:
    """The guided tour; returns the exit code (1 if any check disagrees)."""
    started = time.perf_counter()
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; --out needs a folder")
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []
    notes: list[str] = []
    ok = True

    from engine.expr import parse

    _heading(1, "The documents' tanh neuron and its cost (document 001, Question 4)")
    print(f"  C = {NEURON}   with " + ", ".join(f"{k}={v:g}" for k, v in NEURON_VALUES.items()))
    expression = parse(NEURON, NEURON_VALUES)
    root = expression.root
    a = root.parents[0].parents[0]  # C = (a - y)**2, a = tanh(z): the documents' names
    root.label, a.label, a.parents[0].label = "C", "a", "z"

    _heading(2, "The chain rule, one step at a time")
    steps = optional("engine.steps", "stepping")
    print(steps.explain(root))

    _heading(3, "Autodiff against the documents' dC/dw, dC/db and finite differences")
    check = optional("engine.check", "gradient checking")
    dCdw, dCdb, source = _hand_derived()
    # Inputs in the documents' argument order dCdw(w1, b1, x, y).
    order = ("w", "b", "x", "y")
    inputs = [expression.variables[n] for n in order]

    def cost(*values):
        given = dict(zip(order, values))
        return expression(*[given[n] for n in expression.names])

    report = check.compare(cost, inputs, {"w": dCdw, "b": dCdb})
    print(report)
    print(f"  (dC/dw and dC/db: {source})")
    ok = ok and bool(report)

    _heading(4, "The graph (values, gradients and each edge's local derivative)")
    root.backward()
    draw = optional("engine.draw", "drawing graphs")
    picture = out / "neuron.svg"
    if draw.renderer_available():
        try:
            written.append(("the neuron's graph", draw.render(root, picture, show_partials=True)))
            print(f"  drew {picture}")
        except (RuntimeError, TimeoutError) as error:
            notes.append(f"graph not rendered: {error}")
            print(f"  skipped: {error}")
    else:
        dot_path = out / "neuron.dot"
        dot_path.write_text(draw.draw(root, show_partials=True).source, encoding="utf-8")
        written.append(("the neuron's graph as DOT source", dot_path))
        message = getattr(draw, "INSTALL_HELP", "install Graphviz (e.g. apt-get install graphviz)")
        notes.append(f"Graphviz's 'dot' was not found, so the graph was written as DOT source "
                     f"only. {message}")
        print(f"  Graphviz's 'dot' was not found: wrote the DOT source to {dot_path} instead. {message}")

    _heading(5, "The step-through page")
    try:
        player = optional("engine.player", "the step-through page")
        page = player.save_html(root, out / "steps.html")
        written.append(("the step-through page (open it in a browser)", Path(page)))
        print(f"  wrote {page}")
    except (CommandFailed, RuntimeError, TimeoutError) as error:
        reason = str(error).split(". ")[0]
        notes.append(f"step-through page not written: {reason}")
        print(f"  skipped: {reason}")

    _heading(6, "Training the NOT gate: one tanh neuron (document 001)")
    ok = _train_not(out, written) and ok

    _heading(7, "Training a 2-16-16-1 MLP on two moons")
    ok = _train_moons(out, written, notes) and ok

    elapsed = time.perf_counter() - started
    _heading(None, f"Done in {elapsed:.0f} s. Files written:")
    width = max((len(str(path)) for _, path in written), default=0)
    for what, path in written:
        print(f"  {str(path):{width}}  {what}")
    for note in notes:
        print(f"  note: {note}")
    print("\nNext: chainrule step \"...\" --html page.html, chainrule check \"...\", "
          "chainrule train --help")
    if not ok:
        raise CommandFailed("a check in the tour disagreed (see above)")
    return EXIT_OK


def _heading(number: int | None, title: str) -> None:
    prefix = "" if number is None else f"{number}. "
    print(f"\n== {prefix}{title}", flush=True)


def _hand_derived():
    """The documents' dCdw and dCdb: from nn.analytic when present, else as printed there."""
    try:
        analytic = import_module("nn.analytic")
        return analytic.dCdw, analytic.dCdb, "nn.analytic, the documents' formulas"
    except (ImportError, AttributeError):
        pass

    # Seed 001, Question 4, as printed there.
    def dCdw(w1, b1, x, y):
        z = w1 * x + b1
        return 2 * (math.tanh(z) - y) * (1 / math.cosh(z) ** 2) * x

    def dCdb(w1, b1, x, y):
        z = w1 * x + b1
        return 2 * (math.tanh(z) - y) * (1 / math.cosh(z) ** 2) * 1

    return dCdw, dCdb, "the formulas of document 001, Question 4"


def _train_not(out: Path, written: list) -> bool:
    MLP = _api("MLP", "module", "the network layer")
    fit = _api("fit", "train", "training")
    optim = optional("nn.optim", "the optimisers")
    data = optional("nn.data", "the data sets").load("not", labels="01")
    w, b = NOT_START
    model = MLP.from_weights([([[w]], [b], "tanh")])
    print(f"  a = tanh(w*x + b), from w={w:g}, b={b:g}; wanted: NOT 0 = 1, NOT 1 = 0")
    print(f"  before: {_not_outputs(model)}")
    history = fit(model, data, loss="mse", optimiser=optim.SGD(model.parameters(), lr=0.5),
                  epochs=300, progress=False)
    (W, bias, _), = model.weights()
    print(f"  after 300 steps of gradient descent: w={W[0][0]:.3f}, b={bias[0]:.3f}")
    print(f"  after:  {_not_outputs(model)}   ({_summary(history)})")
    path = _api("save_model", "model_file", "model files")(model, out / "not.json")
    written.append((f"the trained NOT neuron (try: chainrule eval {path} 0 1)", Path(path)))
    return True


def _not_outputs(model) -> str:
    from engine import no_grad

    with no_grad():
        return ", ".join(f"a({x})={model([float(x)])[0].data:.3f}" for x in (0, 1))


def _train_moons(out: Path, written: list, notes: list) -> bool:
    MLP = _api("MLP", "module", "the network layer")
    fit = _api("fit", "train", "training")
    optim = optional("nn.optim", "the optimisers")
    data = optional("nn.data", "the data sets").load("moons", n=100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], activation="tanh", output="tanh", seed=0)
    print(f"  {model!r}, {len(model.parameters())} parameters, {len(data)} points, "
          "mse loss, Adam lr=0.02, 100 epochs")
    history = fit(model, data, loss="mse", optimiser=optim.Adam(model.parameters(), lr=0.02),
                  epochs=100, seed=0, progress=None)
    print(f"  {_summary(history)}")
    path = _api("save_model", "model_file", "model files")(model, out / "moons.json")
    written.append((f"the trained moons MLP (try: chainrule eval {path} 0.5,0.2)", Path(path)))
    try:
        for picture in _plots(model, data, history, str(out / "moons.png")):
            written.append(("decision boundary" if picture.stem == "moons" else "loss curve", picture))
    except CommandFailed as error:
        notes.append(f"plots skipped: {error}")
        print(f"  plots skipped: {error}")
    return True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
