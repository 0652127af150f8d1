"""The documents' 2-3-2 sigmoid network on their 10-point table (document 002).

First the worked example: the network with the weights printed in the document, the
point [1.2, 0.7] with label 1 (target (0, 1)), the half squared-error cost, the delta
rule beside the engine's gradients, and one step of size 0.1 (the output moves from
[0.542, 0.893] to [0.537, 0.893]). Then the same network trained on all 10 points.

    python demos/table10.py        # writes out/table10.json, out/table10_loss.png, out/table10_boundary.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import nn  # noqa: E402
from nn import analytic  # noqa: E402

# The weights and biases as printed in document 002 (3 decimals).
W2 = [[-0.124, 0.871], [0.692, -0.036], [0.455, 1.239]]
B2 = [-0.923, 0.02, -2.918]
W3 = [[-0.006, 0.295, 0.207], [0.126, 0.399, -0.637]]
B3 = [-0.07, 1.912]


def network() -> nn.MLP:
    return nn.MLP.from_weights([(W2, B2, "sigmoid"), (W3, B3, "sigmoid")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3000)
    parser.add_argument("--lr", type=float, default=2.0)
    parser.add_argument("--out", default="out", help="directory for the model file and the plots")
    args = parser.parse_args(argv)

    data = nn.data.load("table10").one_hot()  # -1 -> (1, 0), +1 -> (0, 1), as in the document
    model = network()
    x, y = data.X[0], data.y[0]
    a3 = [v.data for v in model(x)]
    cost = nn.losses.half_squared_error(model(x), y)
    print(f"worked example: x = {x}, y = {y}, a3 = [{a3[0]:.4f}, {a3[1]:.4f}], C_x = {cost.data:.4f}\n"
          f"  (the document: a3 = [0.542, 0.893], C_x = 0.1528, from its unrounded weights)")
    report = analytic.compare(model, x, y, cost="half")
    print(report)
    opt = nn.optim.SGD(model.parameters(), lr=0.1)  # the document's step_size
    opt.zero_grad()
    nn.losses.half_squared_error(model(x), y).backward()
    opt.step()
    a3 = [v.data for v in model(x)]
    print(f"after one step of 0.1: a3 = [{a3[0]:.4f}, {a3[1]:.4f}] (the document: [0.537, 0.893])\n")

    model = network()
    history = nn.fit(model, data, loss="half", optimiser=nn.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9),
                     epochs=args.epochs)
    loss, accuracy = nn.evaluate(model, data, "half")
    print(f"trained on the 10 points for {args.epochs} epochs: cost {loss:.4f}, accuracy {accuracy:.0%}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("model:", nn.save_model(model, out / "table10.json"))
    try:
        from nn.plot import plot_decision_boundary, plot_history

        print("loss curve:", plot_history(history, out / "table10_loss.png", title="2-3-2 on the 10 points"))
        print("boundary:", plot_decision_boundary(model, data, out / "table10_boundary.png"))
    except ImportError as error:
        print(f"(no plots: {error})")
    return 0 if report else 1


if __name__ == "__main__":
    sys.exit(main())
