"""Break backprop on purpose: train with a classic mistake and watch gradcheck catch it.

    python demos/lab.py                          # every mistake: out/lab-<mistake>.png
    python demos/lab.py tanh-as-1-minus-tanh     # one of them
    python demos/lab.py --epochs 30 --out /tmp/lab

Each run trains the same MLP 2-8-1 on two moons twice, with an honest backward and with
one op's backward tampered with (`engine.lab.tamper`). Some mistakes wreck training at
once; others (tanh's derivative without its square, a gradient assigned instead of added)
still train, nearly as well: the loss curve does not tell, gradcheck does.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from a checkout

from engine.lab import MISTAKES  # noqa: E402
from nn.exercises import run_lab  # noqa: E402
from nn.plot import plot_lab  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mistakes", nargs="*", metavar="MISTAKE",
                        help=f"which (default all): {', '.join(MISTAKES)}")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", default="out", help="folder for the plots (default ./out)")
    args = parser.parse_args(argv)
    unknown = [m for m in args.mistakes if m not in MISTAKES]
    if unknown:
        parser.error(f"unknown mistake {unknown[0]!r}; known: {', '.join(MISTAKES)}")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for mistake in args.mistakes or MISTAKES:
        result = run_lab(mistake, epochs=args.epochs)
        print(result.summary())
        print(f"wrote {plot_lab(result, out / f'lab-{mistake}.png')}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
