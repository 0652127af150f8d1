"""`chainrule playground`: the options, the data, and starting and stopping the server."""
from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path

from engine.cli import EXIT_OK, UsageError, add_command

from .. import data
from ..data import Dataset
from .server import PlaygroundServer
from .session import Session

__all__ = ["add_playground", "load_data", "BUILT_IN"]

BUILT_IN = ("moons", "circles", "xor")

EXAMPLES = """\
examples:
  chainrule playground               # two moons; opens the page in your browser
  chainrule playground --data circles --port 8765
  chainrule playground --data points.csv --target label --no-browser
"""


PLAYGROUND_HELP = "train a network live in the browser: boundary, loss, the chain rule"
PLAYGROUND_DESCRIPTION = (
    "Train a small network live in your browser: play, pause or step; watch the\n"
    "decision boundary and the loss; add or drag points; pause and open the chain\n"
    "rule at any node of the selected point's graph. The server listens on\n"
    "127.0.0.1 only and needs the token in the printed URL."
)


def add_playground(commands: argparse._SubParsersAction) -> None:
    """Register `chainrule playground` on the `chainrule` command line."""
    parser = add_command(commands, "playground", run, help=PLAYGROUND_HELP, description=PLAYGROUND_DESCRIPTION,
                         epilog=EXAMPLES)
    parser.add_argument("--data", default="moons", metavar="NAME|FILE.csv",
                        help=f"{', '.join(BUILT_IN)} (default moons) or a CSV file with two feature columns")
    parser.add_argument("--target", metavar="COLUMN", help="the CSV file's label column (default: the last)")
    parser.add_argument("--port", type=_port, default=0, help="the port (default: any free one)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL but do not open a browser")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {port}")
    return port


def load_data(spec: str, target: str | None = None) -> Dataset:
    """A built-in data set by name, or a CSV file (`nn.data.load_csv`)."""
    if spec in BUILT_IN:
        if target is not None:
            raise UsageError("--target is for CSV files; the built-in data sets have their labels")
        return data.load(spec)
    if not spec.lower().endswith(".csv"):
        raise UsageError(f"--data must be {', '.join(BUILT_IN)} or a .csv file, got {spec!r}")
    if not Path(spec).is_file():
        raise UsageError(f"{spec}: no such file")
    return data.load_csv(spec, target=target)


def run(args: argparse.Namespace) -> int:
    dataset = load_data(args.data, args.target)
    session = Session(dataset)
    try:
        server = PlaygroundServer(session, args.port)
    except BaseException:
        session.stop()
        raise
    print(f"chainrule playground: {dataset.name}, {len(dataset)} points\n"
          f"  open {server.url}\n"
          "  (Ctrl-C here, or the page's Stop button, ends it)", flush=True)
    if not args.no_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()  # after Ctrl-C: the loop has ended, so this only ends training and the streams
        server.server_close()
    print("chainrule playground: stopped", flush=True)
    return EXIT_OK
