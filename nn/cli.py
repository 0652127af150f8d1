"""The `chainrule` command: see, step through and check backprop without Python.

    chainrule graph "tanh(w*x + b)" w=2.3 b=-1.2 x=0 -o neuron.svg
    chainrule step  "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1
    chainrule check "(tanh(w*x + b) - y)**2" w=2.3 b=-1.2 x=0 y=1
    chainrule train moons --hidden 16,16 --save model.json --plot moons.png
    chainrule eval model.json 0.5,0.2 1.5,-0.4
    chainrule export model.json --torch model.py --onnx model.onnx --check
    chainrule demo

The expression commands come from `engine.cli`; this module adds the network commands
(train, eval, export, demo) and is the entry point (`chainrule`, `python -m nn`).
Exit codes: 0 ok, 1 a failed check (or a step that could not finish), 2 a usage error.
"""
from __future__ import annotations

import argparse
import math
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Sequence

from engine import explain, no_grad, parse
from engine.check import compare
from engine.draw import INSTALL_HELP, draw, render, renderer_available
from engine.cli import (
    EXIT_OK, CommandFailed, Parser, UsageError, add_command, add_commands, non_negative_float,
    positive_float, positive_int, run_command,
)
from engine.files import check_writable
from engine.lab import MISTAKES
from engine.player import save_html

from . import analytic, data, losses, optim, plot
from .data import LABELS, builtin, load_file, load_for, resolve
from .export import run_export
from .exercises import run_lab
from .model_file import load_model, save_model
from .module import ACTIVATIONS, MLP
from .train import evaluate, fit


from .playground.command import add_playground

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
# For a data file: what trains it, by its label convention (nn.data.LABELS).
FILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "pm1": dict(hidden=[16], activation="tanh", output="tanh", loss="mse", optimiser="adam",
                lr=0.02, epochs=200),
    "01": dict(hidden=[16], activation="tanh", output="linear", loss="bce", optimiser="adam",
               lr=0.02, epochs=200),
    "classes": dict(hidden=[16], activation="tanh", output="linear", loss="cross_entropy",
                    optimiser="adam", lr=0.02, epochs=200),
    "values": dict(hidden=[16], activation="tanh", output="linear", loss="mse", optimiser="adam",
                   lr=0.01, epochs=200),
}


def _default_rows(table: dict[str, dict[str, Any]]) -> str:
    return "\n".join(
        f"  {name:8} {','.join(map(str, d['hidden'])) or '-':6} {d['activation']:8} {d['output']:7} "
        f"{d['loss']:14} {d['optimiser']:5} {d['lr']:<5} {d['epochs']}"
        for name, d in table.items()
    )


TRAIN_EXAMPLES = """\
examples:
  chainrule train not                       # the documents' NOT gate
  chainrule train moons --hidden 16,16 --save model.json --plot moons.png
  chainrule train circles --activation relu --optimiser sgd --lr 0.1 --seed 3
  chainrule train xor --hidden 4 --loss mse --epochs 500 --batch-size 2
  chainrule train pets.csv --target kind --test-fraction 0.25 --save pets.json
  chainrule train houses.csv --features rooms,area --target price \\
      --labels values
defaults per data set (hidden, activation, output, loss, optimiser, lr, epochs):
""" + _default_rows(TRAIN_DEFAULTS) + """
defaults for a data file, by its labels (see docs/data-and-export.md):
""" + _default_rows(FILE_DEFAULTS)

EVAL_EXAMPLES = """\
examples:
  chainrule eval model.json 0.5,0.2 1.5,-0.4   # one prediction per input
  chainrule eval model.json --data moons       # loss and accuracy on data
  chainrule eval pets.json --data new-pets.csv # a file with the model's columns
"""

EXPORT_EXAMPLES = """\
examples:
  chainrule export model.json --torch model.py   # a script: python model.py
  chainrule export model.json --onnx model.onnx  # float64 ONNX, for onnxruntime
  chainrule export model.json --check --data pets.csv
                            # chainrule against PyTorch: outputs and gradients
"""

DEMO_EXAMPLES = """\
examples:
  chainrule demo                 # writes into ./out
  chainrule demo --out /tmp/tour
"""


DEMO_HELP = "the guided tour: neuron, steps, checks, graph, page, training"
DEMO_DESCRIPTION = (
    "The guided tour, in under a minute: the documents' tanh neuron step by "
    "step,\nautodiff against the hand-derived dC/dw and dC/db and finite "
    "differences,\nits graph and step-through page, then the NOT gate and the "
    "two-moons MLP\ntrained."
)


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
    _add_export(commands)
    add_playground(commands)
    _add_lab(commands)
    demo = add_command(commands, "demo", run_demo, help=DEMO_HELP, description=DEMO_DESCRIPTION,
                       epilog=DEMO_EXAMPLES)
    demo.add_argument("--out", default="out", metavar="DIR",
                      help="folder for the files it writes (default ./out)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `chainrule` with `argv` (default: the process's arguments); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(args.func, args, f"chainrule {args.command}")


# ---------------------------------------------------------------- lab

def _add_lab(commands: argparse._SubParsersAction) -> None:
    lab = add_command(commands, "lab", run_lab_command,
        help="break backprop on purpose: train with one classic mistake, watch gradcheck name it",
        description="Train the same small network (MLP 2-8-1 on two moons, hinge loss) twice:\n"
                    "honestly, and with one op's backward making a classic mistake. Prints both\n"
                    "loss curves' ends and gradcheck's verdict on the tampered backward.\n\nmistakes:\n"
                    + "\n".join(textwrap.fill(f"{m.name:21} ({m.op}) {m.sentence}", 78, initial_indent="  ",
                                               subsequent_indent=" " * 24, break_on_hyphens=False)
                                 for m in MISTAKES.values()),
        epilog="examples:\n  chainrule lab tanh-as-1-minus-tanh --plot lab.png\n"
               "  chainrule lab overwrite --op mul --epochs 100")
    lab.add_argument("mistake", choices=list(MISTAKES), metavar="MISTAKE", help="one of the mistakes above")
    lab.add_argument("--op", help="the op that makes it (default: the mistake's own, in brackets above)")
    lab.add_argument("--epochs", type=positive_int, default=60, help="epochs per training (default 60)")
    lab.add_argument("--seed", type=int, default=0, help="weights and data (default 0)")
    lab.add_argument("--plot", metavar="PATH", help="write both loss curves here (PNG)")


def run_lab_command(args: argparse.Namespace) -> int:
    if args.plot:
        check_writable(args.plot)
    result = run_lab(args.mistake, args.op, epochs=args.epochs, seed=args.seed)
    print(result.summary())
    if args.plot:
        print(f"wrote {plot.plot_lab(result, args.plot)}")
    return EXIT_OK


# ---------------------------------------------------------------- train

def _add_train(commands: argparse._SubParsersAction) -> None:
    train = add_command(commands, "train", run_train,
        help="train an MLP on a data set (progress bar, --save, --plot)",
        description="Train a multi-layer perceptron on a built-in data set or a file of your own.\n"
                    "Options left out take the data set's defaults (listed below).",
        epilog=TRAIN_EXAMPLES)
    train.add_argument("dataset", metavar="DATA",
                       help=f"a built-in set ({', '.join(TRAIN_DEFAULTS)}; any case) or a file "
                            "(.csv or other delimited text, .npy, .npz)")
    train.add_argument("--target", metavar="COLUMN", help="the target column of a file (default: the last)")
    train.add_argument("--features", type=_columns, metavar="A,B,...",
                       help="the input columns of a file (default: all but the target)")
    train.add_argument("--labels", choices=LABELS,
                       help="pm1 (+-1), 01, classes (one output each) or values (regression); "
                            "default: from the data")
    train.add_argument("--test-fraction", type=_fraction, metavar="F",
                       help="hold out this share of the rows (shuffled by --seed) and report on it")
    train.add_argument("--hidden", type=_widths, metavar="N,N,...",
                       help="hidden layer widths, e.g. 16,16 (0 or '' for none)")
    train.add_argument("--activation", choices=list(ACTIVATIONS), help="hidden layers' activation")
    train.add_argument("--output", choices=list(ACTIVATIONS), help="output layer's activation")
    train.add_argument("--loss", help=f"one of: {', '.join(losses.NAMES)}")
    train.add_argument("--optimiser", "--optimizer", choices=list(optim.BY_NAME), dest="optimiser")
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
    train.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                       help="replay one compiled graph over every batch (the default; --no-compile "
                            "rebuilds the graph eagerly each step)")
    train.add_argument("--save", metavar="PATH", help="write the trained model (JSON)")
    train.add_argument("--plot", metavar="PATH",
                       help="write the loss curve and (for 2-D data) the decision boundary as PNGs")
    train.add_argument("--quiet", action="store_true", help="no progress bar")


def _columns(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names like a,b, got {text!r}")
    return names


def _fraction(text: str) -> float:
    value = positive_float(text)
    if value >= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


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




def _training_data(args: argparse.Namespace):
    """The data set and its default settings: a built-in set's, or a file's by its labels."""
    name = resolve(args.dataset)
    if isinstance(name, str):
        if args.target or args.features:
            raise UsageError(f"--target and --features are for data files, not the built-in set {name}")
        defaults = dict(TRAIN_DEFAULTS[name])
        if args.labels:
            defaults["labels"] = args.labels
        return _load_data(name, defaults, args), defaults
    if args.points is not None or args.noise is not None:
        raise UsageError("--points and --noise are for moons and circles, not a data file")
    dataset = load_file(name, target=args.target, features=args.features, labels=args.labels)
    return dataset, FILE_DEFAULTS[dataset.labels]


def _settings(args: argparse.Namespace, defaults: dict[str, Any]) -> dict[str, Any]:
    chosen = dict(defaults)
    for key in ("hidden", "activation", "output", "loss", "optimiser", "lr", "epochs", "batch_size"):
        given = getattr(args, key)
        if given is not None:
            chosen[key] = given
    return chosen


def _load_data(name: str, settings: dict[str, Any], args: argparse.Namespace):
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
    dataset, defaults = _training_data(args)
    settings = _settings(args, defaults)
    dataset = dataset.for_loss(settings["loss"])  # an unknown loss fails here, before training
    destinations = [args.save] if args.save else []  # checked now, not after training
    if args.plot:
        destinations += _plot_paths(args.plot, dataset)
    for path in destinations:
        check_writable(path)
    source, test = dataset.name, None
    if builtin(args.dataset) is None:
        print(f"data: {source}, {len(dataset)} rows\n  features: {', '.join(dataset.features)}\n"
              f"  target:   {_labels(dataset)}")
    if args.test_fraction:
        dataset, test = dataset.split(args.test_fraction, seed=args.seed)
    nout = len(dataset.classes) if dataset.labels == "classes" else 1
    model = MLP(dataset.n_features, [*settings["hidden"], nout], activation=settings["activation"],
                output=settings["output"], seed=args.seed)
    extra = {"momentum": args.momentum} if settings["optimiser"] == "sgd" else {}
    optimiser = optim.BY_NAME[settings["optimiser"]](model.parameters(), lr=settings["lr"], **extra)
    batch = settings.get("batch_size")
    held_out = f", {len(test)} held out" if test is not None else ""
    print(f"training {model!r} on {source} ({len(dataset)} examples{held_out}): "
          f"{settings['loss']} loss, {settings['optimiser']} lr={settings['lr']:g}, "
          f"{settings['epochs']} epochs, batch {batch or 'all'}, seed {args.seed}", flush=True)
    history = fit(model, dataset, loss=settings["loss"], optimiser=optimiser,
                  epochs=settings["epochs"], batch_size=batch, seed=args.seed,
                  progress=False if args.quiet else None, compile=args.compile, l2=args.l2)
    print(_summary(history))
    if test is not None:
        print(_scores(f"test ({len(test)} examples)", *evaluate(model, test, loss=settings["loss"])))
    model.schema = dataset.schema(settings["loss"])
    if args.save:
        saved = save_model(model, args.save)
        print(f"wrote {saved}")
    if args.plot:
        for path in _plots(model, dataset, history, args.plot):
            print(f"wrote {path}")
    return EXIT_OK


def _labels(dataset) -> str:
    """The target and its encoding, in words: "kind (labels pm1): cat = -1, dog = +1"."""
    names = dataset.class_names
    if dataset.labels == "values":
        meaning = "numbers, a regression"
    elif dataset.labels == "classes":
        meaning = ", ".join(names[:6]) + (f", ... ({len(names)} classes)" if len(names) > 6 else "")
    else:
        low, high = ("-1", "+1") if dataset.labels == "pm1" else ("0", "1")
        meaning = f"{names[0]} = {low}, {names[1]} = {high}"
    return f"{dataset.target} (labels {dataset.labels}): {meaning}"


def _scores(what: str, loss: float, accuracy: float | None) -> str:
    return f"{what}: loss {loss:.4g}" + ("" if accuracy is None else f", accuracy {accuracy:.1%}")


def _summary(history) -> str:
    if not history.loss:
        return "no epochs run"
    took = f"{history.seconds:.2f}" if history.seconds < 1 else f"{history.seconds:.1f}"  # not "0.0 s" for a fast run
    line = f"loss {history.loss[0]:.4g} -> {history.loss[-1]:.4g} in {took} s"
    if history.accuracy and history.accuracy[-1] is not None:
        line += f", training accuracy {history.accuracy[-1]:.1%}"
    return line


def _plot_paths(path: str, dataset) -> list[Path]:
    """Where --plot PATH writes: the decision boundary at PATH itself (2-D inputs only)
    and the loss curve at PATH-loss.png (at PATH for other inputs)."""
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise UsageError(f"--plot writes PNG files: end the name in .png, got {path!r}")
    if dataset.n_features != 2:
        return [target]
    return [target, target.with_name(f"{target.stem}-loss.png")]


def _plots(model, dataset, history, path: str) -> list[Path]:
    """The plots of --plot PATH (see `_plot_paths`); returns the files written."""
    paths = _plot_paths(path, dataset)
    try:  # matplotlib is an optional extra: imported by the first figure
        if len(paths) == 2:
            plot.plot_decision_boundary(model, dataset, paths[0])
        plot.plot_history(history, paths[-1])
    except ImportError as error:
        raise CommandFailed(str(error)) from None
    return paths


# ---------------------------------------------------------------- eval

EVAL_HELP = "load a saved model and predict"
EVAL_DESCRIPTION = (
    "Load a model written by 'chainrule train --save' and print its outputs for\n"
    "the given inputs (comma-separated, one group per example), or its loss and\n"
    "accuracy on a data set."
)


def _add_eval(commands: argparse._SubParsersAction) -> None:
    ev = add_command(commands, "eval", run_eval, help=EVAL_HELP, description=EVAL_DESCRIPTION,
                     epilog=EVAL_EXAMPLES)
    ev.add_argument("model", metavar="MODEL", help="the model file (JSON)")
    ev.add_argument("inputs", nargs="*", default=[], metavar="x1,x2,...",
                    help="one example's inputs, comma-separated (negative numbers: after --)")
    ev.add_argument("--data", metavar="DATA",
                    help="report loss and accuracy on a built-in set or a file (with the model's columns)")
    ev.add_argument("--loss", help="the loss for --data (default: the one the model was trained with)")


def run_eval(args: argparse.Namespace) -> int:
    if not args.inputs and not args.data:
        raise UsageError("give inputs (like 0.5,0.2) or --data DATASET")
    if not Path(args.model).is_file():
        raise UsageError(f"{args.model}: no such model file")
    model = load_model(args.model)
    rows = [_row(text, model.nin) for text in args.inputs]
    if rows:
        with no_grad():
            for text, row in zip(args.inputs, rows):
                outputs = [o.data for o in model(row)]
                print(f"{','.join(f'{x:g}' for x in row)} -> {_decision(outputs, model.schema)}")
    if args.data:
        settings = TRAIN_DEFAULTS.get(builtin(args.data), {})
        options = {key: settings[key] for key in ("labels", "n") if key in settings}
        dataset = load_for(args.data, model.schema, **options)
        loss = args.loss or (model.schema and model.schema.loss) or settings.get("loss", "mse")
        scores = evaluate(model, dataset.for_loss(loss), loss=loss)
        print(_scores(f"{dataset.name} ({len(dataset)} examples)", *scores))
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


def _decision(outputs: list[float], schema) -> str:
    """The outputs, named by the model's schema with the class they stand for; without a
    schema, the numbers (and for several outputs the index of the largest)."""
    if schema is None:
        shown = ", ".join(f"{o:.6g}" for o in outputs)
        if len(outputs) > 1:
            return f"{shown}   (class {max(range(len(outputs)), key=outputs.__getitem__)})"
        return shown
    if schema.labels == "values":
        return f"{outputs[0]:.6g}   ({schema.target})"
    if schema.labels == "classes":
        shown = ", ".join(f"{name} {o:.4g}" for name, o in zip(schema.outputs, outputs))
    else:
        shown = f"{outputs[0]:.6g}"
    return f"{shown}   ({schema.target}: {schema.predicted(outputs)})"


# ---------------------------------------------------------------- export

EXPORT_HELP = "the model as a PyTorch script or an ONNX file; check it against PyTorch"
EXPORT_DESCRIPTION = (
    "Write a saved model as a runnable PyTorch script (--torch) or a float64\n"
    "ONNX file (--onnx), and compare its outputs and gradients with PyTorch's\n"
    "(--check; needs torch)."
)


def _add_export(commands: argparse._SubParsersAction) -> None:
    ex = add_command(commands, "export", run_export, help=EXPORT_HELP, description=EXPORT_DESCRIPTION,
                     epilog=EXPORT_EXAMPLES)
    ex.add_argument("model", metavar="MODEL", help="the model file (JSON)")
    ex.add_argument("--torch", metavar="PATH.py", help="write a PyTorch script")
    ex.add_argument("--onnx", metavar="PATH.onnx", help="write an ONNX model (needs onnx)")
    ex.add_argument("--check", action="store_true",
                    help="chainrule vs PyTorch: every output and gradient (exit 1 if they differ)")
    ex.add_argument("--data", metavar="DATA",
                    help="inputs for --check and the script's sample (default: random inputs)")


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

    _heading(1, "The documents' tanh neuron and its cost (document 001, Question 4)")
    print(f"  C = {NEURON}   with " + ", ".join(f"{k}={v:g}" for k, v in NEURON_VALUES.items()))
    expression = parse(NEURON, NEURON_VALUES)
    root = expression.root
    a = root.parents[0].parents[0]  # C = (a - y)**2, a = tanh(z): the documents' names
    root.label, a.label, a.parents[0].label = "C", "a", "z"

    _heading(2, "The chain rule, one step at a time")
    print(explain(root))

    _heading(3, "Autodiff against the documents' dC/dw, dC/db and finite differences")
    ok = _tour_check(expression)

    _heading(4, "The graph (values, gradients and each edge's local derivative)")
    root.backward()
    _tour_graph(root, out, written, notes)

    _heading(5, "The step-through page")
    try:
        page = save_html(root, out / "steps.html")
        written.append(("the step-through page (open it in a browser)", Path(page)))
        print(f"  wrote {page}")
    except (RuntimeError, TimeoutError) as error:
        reason = str(error).split(". ")[0]
        notes.append(f"step-through page not written: {reason}")
        print(f"  skipped: {reason}")

    _heading(6, "Training the NOT gate: one tanh neuron (document 001)")
    ok = _train_not(out, written) and ok

    _heading(7, "Training a 2-16-16-1 MLP on two moons")
    ok = _train_moons(out, written, notes) and ok

    _heading(None, f"Done in {time.perf_counter() - started:.0f} s. Files written:")
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


def _tour_check(expression) -> bool:
    """Autodiff, the documents' dCdw(w1, b1, x, y) and dCdb, and finite differences."""
    order = ("w", "b", "x", "y")  # the documents' argument order
    inputs = [expression.variables[n] for n in order]

    def cost(*values):
        given = dict(zip(order, values))
        return expression(*[given[n] for n in expression.names])

    report = compare(cost, inputs, {"w": analytic.dCdw, "b": analytic.dCdb})
    print(report)
    print("  (dC/dw and dC/db: nn.analytic, the documents' formulas)")
    return bool(report)


def _tour_graph(root, out: Path, written: list, notes: list) -> None:
    """The neuron's picture, or its DOT source where Graphviz is missing."""
    picture = out / "neuron.svg"
    if renderer_available():
        try:
            written.append(("the neuron's graph", render(root, picture, show_partials=True)))
            print(f"  drew {picture}")
        except (RuntimeError, TimeoutError) as error:
            notes.append(f"graph not rendered: {error}")
            print(f"  skipped: {error}")
        return
    dot_path = out / "neuron.dot"
    dot_path.write_text(draw(root, show_partials=True).source, encoding="utf-8")
    written.append(("the neuron's graph as DOT source", dot_path))
    notes.append(f"Graphviz's 'dot' was not found, so the graph was written as DOT source "
                 f"only. {INSTALL_HELP}")
    print(f"  Graphviz's 'dot' was not found: wrote the DOT source to {dot_path} instead. {INSTALL_HELP}")


def _heading(number: int | None, title: str) -> None:
    prefix = "" if number is None else f"{number}. "
    print(f"\n== {prefix}{title}", flush=True)


def _train_not(out: Path, written: list) -> bool:
    dataset = data.load("not", labels="01")
    w, b = NOT_START
    model = MLP.from_weights([([[w]], [b], "tanh")])
    print(f"  a = tanh(w*x + b), from w={w:g}, b={b:g}; wanted: NOT 0 = 1, NOT 1 = 0")
    print(f"  before: {_not_outputs(model)}")
    history = fit(model, dataset, loss="mse", optimiser=optim.SGD(model.parameters(), lr=0.5),
                  epochs=300, progress=False)
    (W, bias, _), = model.weights()
    print(f"  after 300 steps of gradient descent: w={W[0][0]:.3f}, b={bias[0]:.3f}")
    print(f"  after:  {_not_outputs(model)}   ({_summary(history)})")
    path = save_model(model, out / "not.json")
    written.append((f"the trained NOT neuron (try: chainrule eval {path} 0 1)", Path(path)))
    return True


def _not_outputs(model) -> str:
    with no_grad():
        return ", ".join(f"a({x})={model([float(x)])[0].data:.3f}" for x in (0, 1))


def _train_moons(out: Path, written: list, notes: list) -> bool:
    dataset = data.load("moons", n=100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], activation="tanh", output="tanh", seed=0)
    print(f"  {model!r}, {len(model.parameters())} parameters, {len(dataset)} points, "
          "mse loss, Adam lr=0.02, 100 epochs")
    history = fit(model, dataset, loss="mse", optimiser=optim.Adam(model.parameters(), lr=0.02),
                  epochs=100, seed=0, progress=None)
    print(f"  {_summary(history)}")
    path = save_model(model, out / "moons.json")
    written.append((f"the trained moons MLP (try: chainrule eval {path} 0.5,0.2)", Path(path)))
    try:
        for picture in _plots(model, dataset, history, str(out / "moons.png")):
            written.append(("decision boundary" if picture.stem == "moons" else "loss curve", picture))
    except CommandFailed as error:
        notes.append(f"plots skipped: {error}")
        print(f"  plots skipped: {error}")
    return True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
