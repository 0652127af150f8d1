"""The NOT gate of the documents (document 000/001), trained from their starting point.

One tanh neuron a = tanh(w*x + b) starts at w = 1.3, b = -0.1 (cost 1.21 for x = 0) and
learns NOT: x = 0 -> 1, x = 1 -> 0. The documents' answer is w = -5, b = 5: any large
b with w = -b does it, and gradient descent walks towards that line.

    python demos/not_gate.py            # writes out/not_gate.json and out/not_gate_loss.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import nn  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--out", default="out", help="directory for the model file and the plot")
    args = parser.parse_args(argv)

    model = nn.MLP.from_weights([([[1.3]], [-0.1], "tanh")])  # the documents' w1 = 1.3, b1 = -0.1
    neuron = model.layers[0].neurons[0]
    data = nn.data.load("not", labels="01")
    (a0,) = model([0.0])
    print(f"start: w = {neuron.w[0].data}, b = {neuron.b.data}, a(0) = {a0.data:.4f}, "
          f"C(x=0) = {(a0.data - 1) ** 2:.2f}")

    history = nn.fit(model, data, loss="sse", optimiser=nn.optim.SGD(model.parameters(), lr=args.lr),
                     epochs=args.epochs)
    outputs = [model([x])[0].data for x in (0.0, 1.0)]
    print(f"after {args.epochs} epochs: w = {neuron.w[0].data:.3f}, b = {neuron.b.data:.3f} "
          f"(the documents' answer: w = -5, b = 5)")
    print(f"NOT 0 = {outputs[0]:.3f}, NOT 1 = {outputs[1]:.3f}, cost {history.loss[-1]:.2e}, "
          f"accuracy {history.accuracy[-1]:.0%}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("model:", nn.save_model(model, out / "not_gate.json"))
    try:
        from nn.plot import plot_history

        print("loss curve:", plot_history(history, out / "not_gate_loss.png", title="NOT gate"))
    except ImportError as error:
        print(f"(no plot: {error})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
