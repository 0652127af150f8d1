"""The 8x8 handwritten digits with an MLP 64-32-10 (needs scikit-learn, extra "digits").

Softmax cross-entropy over 10 logits, Adam, mini-batches of 32; three quarters of the
1797 images train the network and the accuracy on the other quarter is printed.

    python demos/digits.py         # writes out/digits.json and out/digits_loss.png
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import nn  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--n", type=int, default=None, help="use only the first n images")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out", help="directory for the model file and the plot")
    args = parser.parse_args(argv)

    try:
        data = nn.data.load("digits", n=args.n)
    except ImportError as error:
        print(error, file=sys.stderr)
        return 2
    train, test = data.split(0.25, seed=args.seed)
    model = nn.MLP(64, [args.hidden, 10], activation="tanh", output="linear", seed=args.seed)
    print(f"{model} with {len(model.parameters())} parameters; {len(train)} training and {len(test)} test images")
    started = time.perf_counter()
    history = nn.fit(model, train, loss="cross_entropy", optimiser=nn.optim.Adam(model.parameters(), lr=0.01),
                     epochs=args.epochs, batch_size=32, seed=args.seed)
    seconds = time.perf_counter() - started
    _, train_accuracy = nn.evaluate(model, train, "cross_entropy")
    test_loss, test_accuracy = nn.evaluate(model, test, "cross_entropy")
    print(f"{args.epochs} epochs in {seconds:.1f} s: training accuracy {train_accuracy:.1%}")
    print(f"test accuracy {test_accuracy:.1%} (loss {test_loss:.3f})")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("model:", nn.save_model(model, out / "digits.json"))
    try:
        from nn.plot import plot_history

        print("loss curve:", plot_history(history, out / "digits_loss.png", title="digits, 64-32-10"))
    except ImportError as error:
        print(f"(no plot: {error})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
