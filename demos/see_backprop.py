"""See backpropagation: draw the documents' tanh neuron and step through its backward pass.

    python demos/see_backprop.py            # writes out/neuron.svg, out/neuron.png,
                                            # out/steps.html and out/steps.png
    python demos/see_backprop.py --docs     # also refreshes the README's pictures

The neuron is the one from the course notes: z = w*x + b, a = tanh(z), C = (a - y)^2 with
w = 2.3, b = -1.2, x = 0, y = 1. Their chain rule, dC/db = dC/da * da/dz * dz/db, gives
-1.1186026425530913; so does `backward()`, and so does the step-through below.
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from a checkout

from engine import Value, explain  # noqa: E402
from engine.draw import render, renderer_available  # noqa: E402
from engine.player import save_html  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def the_neuron() -> Value:
    """The documents' single tanh neuron, every node labelled as in their notation."""
    w, b = Value(2.3, label="w"), Value(-1.2, label="b")
    x, y = Value(0.0, label="x"), Value(1.0, label="y")
    z = w * x + b
    z.label = "z"
    a = z.tanh()
    a.label = "a"
    C = (a - y) ** 2
    C.label = "C"
    return C


def screenshot(page_path: pathlib.Path, png: pathlib.Path, frame: int) -> bool:
    """A picture of the step-through page at `frame` (needs Chromium and playwright)."""
    chromium = shutil.which("chromium") or CHROMIUM
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("  (no screenshot: the playwright package is missing; pip install -e '.[dev]')")
        return False
    if not pathlib.Path(chromium).exists():
        print("  (no screenshot: Chromium is missing; sudo apt-get install chromium)")
        return False
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(
            profile, executable_path=chromium, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1200, "height": 760}, device_scale_factor=1,
        )
        page = browser.new_page()
        page.goto(f"{page_path.resolve().as_uri()}#{frame}")
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out", help="where to write the files (default out/)")
    parser.add_argument("--docs", action="store_true", help="also write docs/images/ for the README")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    C = the_neuron()
    print(explain(C))  # the walk as a table; it leaves every .grad as it was

    if not renderer_available():
        print("\nGraphviz is not installed, so no pictures: sudo apt-get install graphviz "
              "(or pip install graphviz-pure and set CHAINRULE_RENDERER=graphviz-pure)")
        return 1
    before = render(C, out / "neuron-before.svg", rankdir="LR")  # grads: not computed yet
    C.backward()
    svg = render(C, out / "neuron.svg", show_partials=True)
    png = render(C, out / "neuron.png", show_partials=True)
    page = save_html(C, out / "steps.html")
    print(f"\nwrote {before}, {svg}, {png} and {page} (open it in a browser; use the arrow keys)")
    # Frame 10 is the backward step through tanh: dC/dz = dC/da * da/dz.
    shot = out / "steps.png"
    if screenshot(page, shot, frame=10):
        print(f"wrote {shot}")

    if args.docs:
        images = ROOT / "docs" / "images"
        images.mkdir(parents=True, exist_ok=True)
        for picture in (svg, png):  # drawn exactly as the README's code draws it
            shutil.copyfile(picture, images / picture.name)
        if shot.exists():
            shutil.copyfile(shot, images / "player.png")
        print(f"refreshed {images}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
