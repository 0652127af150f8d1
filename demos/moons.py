"""Two moons with an MLP 2-16-16-1 (tanh hidden layers, linear output, hinge loss).

The two interleaving half circles are generated here (seeded), so the run is the same
every time. Adam takes the network to 100% training accuracy.

    python demos/moons.py          # writes out/moons.json, out/moons_loss.png, out/moons_boundary.png
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
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--n", type=int, default=100, help="number of points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true", help="train with the compiled replay")
    parser.add_argument("--out", default="out", help="directory for the model file and the plots")
    args = parser.parse_args(argv)

    data = nn.data.load("moons", n=args.n, noise=0.1, seed=args.seed)  # labels +1 / -1
    model = nn.MLP(2, [16, 16, 1], activation="tanh", output="linear", seed=args.seed)
    print(f"{model} with {len(model.parameters())} parameters, {len(data)} points")
    started = time.perf_counter()
    history = nn.fit(model, data, loss="hinge", optimiser=nn.optim.Adam(model.parameters(), lr=0.01),
                     epochs=args.epochs, seed=args.seed, compile=args.compile)
    seconds = time.perf_counter() - started
    loss, accuracy = nn.evaluate(model, data, "hinge")
    reached = next((i for i, a in enumerate(history.accuracy, 1) if a == 1.0), None)
    print(f"{args.epochs} epochs in {seconds:.1f} s: hinge loss {loss:.4f}, training accuracy {accuracy:.1%}"
          + (f" (first 100% in epoch {reached})" if reached else ""))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("model:", nn.save_model(model, out / "moons.json"))
    try:
        from nn.plot import plot_decision_boundary, plot_history

        print("loss curve:", plot_history(history, out / "moons_loss.png", title="two moons, 2-16-16-1"))
        print("boundary:", plot_decision_boundary(model, data, out / "moons_boundary.png"))
    except ImportError as error:
        print(f"(no plots: {error})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
