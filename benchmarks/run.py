"""Run every approach on both workloads in interleaved rounds; print and save one report.

    python -m benchmarks            # full run (several minutes), writes benchmarks/RESULTS.md
    python -m benchmarks --quick    # fewer rounds and steps: a smoke run

Workload A is micrograd's demo loop, unchanged; workload B is `nn.fit` on moons of four
sizes and the full digits set (see benchmarks/workloads.py). Times are wall-clock
seconds per training step (time.perf_counter; fit's own History.epoch_seconds for fit,
which it measures without a callback, as a user calls it): medians over interleaved
rounds, so a busy machine disturbs every approach alike; every ratio compares figures
of this run.
The scalar engines (micrograd, the textbook engine, eager chainrule) are orders of
magnitude slower and run a few steps once. Every approach's losses are checked against
the numpy reference step by step.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: default threading is far slower on small batches
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse
import gc
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from .approaches import DEMO, FIT, torch_available
from .breakdown import blas_table, demo_table as demo_breakdown, table as breakdown_table
from .workloads import FIT_WORKLOADS, moons

RESULTS = Path(__file__).with_name("RESULTS.md")
RTOL = 1e-8  # loss trajectories must agree this closely (summation order differs)
SLOW_STEPS = {"micrograd": 2, "textbook": 2, "eager": 3, "fit-eager": 3}  # run once, few steps


def available(names) -> list[str]:
    """The approaches whose libraries are installed (torch, jax and micrograd are extras)."""
    keep = []
    for name in names:
        module = {"torch": "torch", "jax": "jax", "micrograd": "micrograd"}.get(name)
        if module is not None:
            try:
                __import__(module)
            except ImportError:
                print(f"  ({name}: {module} is not installed, left out)")
                continue
        keep.append(name)
    return keep


def steps_of(name: str, cls, w, steps: int) -> tuple[list[float], list[float]]:
    """One run of `steps` steps on a fresh trainer: (seconds per step, losses)."""
    trainer = cls(w)
    gc.collect()
    if hasattr(trainer, "run"):
        times, losses, _ = trainer.run(steps + 1)
        return times, losses
    times, losses = [], []
    for k in range(steps):
        t0 = time.perf_counter()
        losses.append(trainer.step(k))
        times.append(time.perf_counter() - t0)
    return times, losses


def measure(approaches: dict, names: list[str], w, rounds: int, steps: int) -> dict[str, dict]:
    """Median ms/step per approach: fast ones over interleaved rounds, slow ones once."""
    found: dict[str, dict] = {}
    for name in names:
        if name in SLOW_STEPS:
            times, losses = steps_of(name, approaches[name], w, min(SLOW_STEPS[name], steps))
            found[name] = {"times": times, "losses": losses}
            print(f"  {w.name:>10}  {approaches[name].label:<52} {1e3 * statistics.median(times):10.3f} ms/step", flush=True)
    fast = [n for n in names if n not in SLOW_STEPS]
    for r in range(rounds):
        for name in fast:
            times, losses = steps_of(name, approaches[name], w, steps)
            entry = found.setdefault(name, {"times": [], "losses": losses})
            entry["times"].extend(times)
    for name in fast:
        print(f"  {w.name:>10}  {approaches[name].label:<52} {1e3 * statistics.median(found[name]['times']):10.3f} ms/step", flush=True)
    for entry in found.values():
        entry["ms"] = 1e3 * statistics.median(entry["times"])
    return found


def check_agreement(found: dict[str, dict], what: str) -> float:
    """Every approach's losses equal the numpy reference's first steps; the worst gap."""
    reference = np.array(found["numpy"]["losses"])
    worst = 0.0
    for name, entry in found.items():
        got = np.array(entry["losses"][: len(reference)])
        ref = reference[: len(got)]
        gap = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)))
        if not np.allclose(got, ref, rtol=RTOL, atol=0.0):
            raise AssertionError(f"{what}: {name} diverges from numpy (relative gap {gap:.2e})")
        worst = max(worst, gap)
    return worst


def first_epoch(w) -> dict[str, float]:
    """Seconds from calling fit to the end of its first epoch (graph, compile, one step)."""
    out = {}
    for name in ("fit", "fit-eager"):
        trainer = FIT[name](w)
        gc.collect()
        out[name] = trainer.run(1)[2]
    return out


def compile_costs() -> list[tuple[str, float, float, float, float, float]]:
    """Graph building against compiling, and replay against eager backward, on the demo's
    graph and on chains 10,000 and 100,000 levels deep: (what, build s, compile s,
    compile MB at peak, replay s, eager backward s)."""
    from engine import Value, compile

    from .approaches import DemoEager, demo_loss

    rows = []
    demo = DemoEager(moons(100))
    cases = [("demo graph (moons-100)", lambda: demo_loss(demo.model, demo.X, demo.y, demo.V)[0])]
    for depth in (10_000, 100_000):
        def chain(depth=depth):  # depth levels: a multiply and a tanh per link
            v = Value(0.3)
            for _ in range(depth // 2):
                v = (v * 0.9).tanh()
            return v
        cases.append((f"chain {depth:,} levels deep", chain))
    for what, build in cases:
        best: dict[str, float] = {}
        for _ in range(3):  # the best of three: single timings of milliseconds are mostly noise
            gc.collect()
            t0 = time.perf_counter()
            root = build()
            times = {"build": time.perf_counter() - t0}
            t0 = time.perf_counter()
            compiled = compile(root)
            times["compile"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            compiled.forward()
            compiled.backward()
            times["replay"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            root.backward()
            times["eager"] = time.perf_counter() - t0
            best = {k: min(v, best.get(k, v)) for k, v in times.items()}
        tracemalloc.start()  # one more compile, for its memory: tracing slows it many times over
        compile(root)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        built, compiled_s, replay, eager = best["build"], best["compile"], best["replay"], best["eager"]
        rows.append((what, built, compiled_s, peak, replay, eager))
        print(f"  {what:<28} build {built:.3f} s, compile {compiled_s:.3f} s ({peak:.0f} MB), "
              f"replay {replay:.3f} s, eager backward {eager:.3f} s", flush=True)
    return rows


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numpy

    parts = [f"{cpu}, {os.cpu_count()} cores", f"{platform.system()} {platform.release()}",
             f"Python {platform.python_version()}", f"numpy {numpy.__version__}"]
    if torch_available():
        import torch

        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} thread)")
    return "; ".join(parts)


def ratio(a: float, b: float) -> str:
    return f"{a / b:,.2f}x"


def demo_table(found: dict[str, dict]) -> str:
    n = found["numpy"]["ms"]
    lines = ["| approach | ms/step | x numpy's time | vs PyTorch | vs JAX jit |", "|---|---:|---:|---:|---:|"]
    for name, entry in found.items():
        ms = entry["ms"]
        versus = [f"{found[o]['ms'] / ms:,.2f}x faster" if ms < found[o]["ms"] else f"{ms / found[o]['ms']:,.2f}x slower"
                  if o in found else "-" for o in ("torch", "jax")]
        lines.append(f"| {DEMO[name].label} | {ms:,.3f} | {ms / n:,.2f} | {versus[0]} | {versus[1]} |")
    return "\n".join(lines)


def fit_table(results: dict[str, dict[str, dict]], firsts: dict[str, dict[str, float]]) -> str:
    lines = ["| workload | fit (replay) ms/step | eager fit ms/step | PyTorch | JAX jit | numpy | "
             "replay x numpy | PyTorch x numpy | JAX x numpy | replay vs PyTorch | first epoch: replay / eager |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for wname, found in results.items():
        ms = {k: v["ms"] for k, v in found.items()}
        n = ms["numpy"]
        cell = lambda k: f"{ms[k]:,.3f}" if k in ms else "-"
        x = lambda k: f"{ms[k] / n:,.2f}" if k in ms else "-"
        vs = ("-" if "torch" not in ms else f"{ms['torch'] / ms['fit']:,.2f}x faster" if ms["fit"] < ms["torch"]
              else f"{ms['fit'] / ms['torch']:,.2f}x slower")
        first = firsts[wname]
        lines.append(f"| {wname} | {cell('fit')} | {cell('fit-eager')} | {cell('torch')} | {cell('jax')} | {cell('numpy')} | "
                     f"{x('fit')} | {x('torch')} | {x('jax')} | {vs} | {first['fit']:.3f} s / {first['fit-eager']:.2f} s |")
    return "\n".join(lines)


def cost_table(rows) -> str:
    lines = ["| graph | build eagerly | compile | compile / build | peak memory compiling | replay (fwd+bwd) | eager backward |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for what, built, compiled, peak, replay, eager in rows:
        lines.append(f"| {what} | {built:.3f} s | {compiled:.3f} s | {compiled / built:.1f}x | {peak:.0f} MB | "
                     f"{replay:.3f} s | {eager:.3f} s |")
    return "\n".join(lines)


SUMMARY = ("<!-- benchmarks: the summary of benchmarks/RESULTS.md, written by python -m benchmarks -->",
           "<!-- /benchmarks -->")
"""The markers around the summary in README.md and docs/speed.md, which a full run rewrites."""
PUBLISHED = [Path(__file__).resolve().parents[1] / name for name in ("README.md", "docs/speed.md")]


def summary(demo: dict, results: dict, firsts: dict) -> str:
    """The figures the README and docs/speed.md show: ms per step of each approach."""
    cell = lambda found, k, f="{:,.3f}": f.format(found[k]["ms"]) if k in found else "-"
    mg = f"; micrograd itself: {demo['micrograd']['ms']:,.0f} ms" if "micrograd" in demo else ""
    lines = ["| ms per full-batch step | chainrule replay | PyTorch CPU | JAX jit | numpy by hand | chainrule eager |",
             "|---|---:|---:|---:|---:|---:|",
             f"| micrograd's demo loop, unchanged (moons-100{mg}) | {cell(demo, 'replay')} | {cell(demo, 'torch')} | "
             f"{cell(demo, 'jax')} | {cell(demo, 'numpy')} | {cell(demo, 'eager', '{:,.0f}')} |"]
    for wname, found in results.items():
        shown = "digits (1,797 x 64, MLP 64-32-10)" if wname == "digits" else f"moons-{int(wname.split('-')[1]):,}"
        lines.append(f"| `nn.fit`, {shown} | {cell(found, 'fit')} | {cell(found, 'torch')} | {cell(found, 'jax')} | "
                     f"{cell(found, 'numpy')} | {cell(found, 'fit-eager', '{:,.0f}')} |")
    if "digits" in firsts:
        lines += ["", f"The first epoch on digits, graph and compile included, takes {firsts['digits']['fit']:.3f} s "
                      f"(eagerly: {firsts['digits']['fit-eager']:.1f} s)."]
    return "\n".join(lines)


def publish(text: str, paths: list[Path] = PUBLISHED) -> None:
    """Put `text` between the SUMMARY markers of each file (atomically; a file without
    them is an error, not a silent skip)."""
    from engine.files import write_atomic

    start, end = SUMMARY
    for path in paths:
        old = path.read_text(encoding="utf-8")
        if old.count(start) != 1 or old.count(end) != 1:
            raise ValueError(f"{path} must hold the benchmark markers once each: {start} ... {end}")
        head, rest = old.split(start)
        _, tail = rest.split(end)
        write_atomic(path, f"{head}{start}\n{text}\n{end}{tail}")


def goals(demo: dict, results: dict, firsts: dict, costs) -> str:
    """The issue's goal, row by row: faster than PyTorch, within 2.5x numpy, digits' first
    epoch under 2 s, compile no more than about twice the build, replay never slower than eager."""
    lines = ["| goal | row | measured | verdict |", "|---|---|---|---|"]

    def add(goal: str, row: str, measured: str, ok: bool, short: str) -> None:
        lines.append(f"| {goal} | {row} | {measured} | {'met' if ok else 'short: ' + short} |")

    rows = [("A: demo loop", demo["replay"]["ms"], demo)] + [(f"B: fit {w}", f["fit"]["ms"], f) for w, f in results.items()]
    for row, ms, found in rows:
        if "torch" in found:
            t = found["torch"]["ms"]
            add("faster than PyTorch CPU", row, f"{ms:.3f} vs {t:.3f} ms", ms < t, f"{ms / t:.2f}x PyTorch's time")
        n = found["numpy"]["ms"]
        add("within 2.5x numpy", row, f"{ms / n:.2f}x", ms <= 2.5 * n, f"{ms / n / 2.5:.2f}x over the bound")
    if "digits" in firsts:
        s = firsts["digits"]["fit"]
        add("digits' first epoch under 2 s", "B: fit digits", f"{s:.3f} s", s < 2.0, f"{s - 2.0:.2f} s over")
    for what, built, compiled, peak, replay, eager in costs:
        add("compile <= about 2x build", what, f"{compiled / built:.1f}x", compiled <= 2.5 * built,
            f"{compiled / built / 2:.1f}x the bound")
        add("replay no slower than eager backward", what, f"{replay:.3f} vs {eager:.3f} s", replay <= eager * 1.1,
            f"{replay / eager:.2f}x eager")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two rounds of few steps, moons only (smoke run)")
    parser.add_argument("--out", type=Path, default=None, help=f"write the report here (default: {RESULTS} for a full run)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the fast approaches")
    args = parser.parse_args(argv)
    if torch_available():
        import torch

        torch.set_num_threads(1)
    rounds, steps = (2, 10) if args.quick else (args.rounds, 60)
    print("workload A: micrograd's demo loop")
    demo = measure(DEMO, available(DEMO), moons(100), rounds, steps)
    gaps = {"A": check_agreement(demo, "demo")}
    results, firsts = {}, {}
    print("workload B: nn.fit")
    for wname, make in FIT_WORKLOADS.items():
        if args.quick and wname not in ("moons-100", "moons-1000"):
            continue
        w = make()
        results[wname] = measure(FIT, available(FIT), w, rounds, steps)
        gaps[wname] = check_agreement(results[wname], wname)
        firsts[wname] = first_epoch(w)
    print("compile costs")
    costs = compile_costs()
    agreement = ", ".join(f"{w}: {g:.1e}" for w, g in gaps.items())
    print("where the time goes")
    profiles = "\n\n".join([demo_breakdown()]
                             + [breakdown_table(FIT_WORKLOADS[w]()) for w in results if w in ("moons-100", "moons-3000", "digits")]
                             + [blas_table()])
    shown = summary(demo, results, firsts)
    report = (f"## Summary\n\n{shown}\n\n"
              f"## Workload A: micrograd's demo loop (moons-100)\n\n{demo_table(demo)}\n\n"
              f"## Workload B: nn.fit, full batch\n\n{fit_table(results, firsts)}\n\n"
              f"## Compiling\n\n{cost_table(costs)}\n\n## The goal, row by row\n\n{goals(demo, results, firsts, costs)}\n\n"
              f"## A replayed step, piece by piece\n\n{profiles}")
    print()
    print(report)
    print(f"\nloss trajectories agree (largest relative gap to numpy: {agreement})")
    out = args.out if args.out is not None else (None if args.quick else RESULTS)
    if out is not None:
        from engine.files import write_atomic

        write_atomic(out, _markdown(report, agreement, args.quick, rounds, steps))
        print(f"wrote {out}")
    if not args.quick and args.out is None:
        publish(shown)
        print("wrote the summary into " + ", ".join(str(p.relative_to(PUBLISHED[0].parent)) for p in PUBLISHED))
    return 0


def _markdown(report: str, agreement: str, quick: bool, rounds: int, steps: int) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"""# Benchmark results

Measured {when} with `python -m benchmarks{' --quick' if quick else ''}` on: {machine()}.
Wall-clock time per full-batch training step (forward, backward, update; fit's own
`History.epoch_seconds` for fit, called without a callback): the median over {rounds} interleaved rounds of {steps} steps for the fast
approaches (the replay, PyTorch, JAX, numpy), a few steps once for the scalar engines.
One BLAS thread, `torch.set_num_threads(1)`, XLA on one thread; everything in float64.
Every approach starts from the same weights and its losses were checked against the
numpy reference step by step (relative tolerance {RTOL:g}; largest gap: {agreement}).

{report}

- Workload A runs micrograd's demo.ipynb loop as written (Python `sum` over Values,
  binary ops, micrograd's own `nn` module) over each engine's Values; the replay records
  its graph once with `engine.compile(loss, wrt=params)` and replays it each step.
- Workload B is `nn.fit(model, data, loss, optimiser=SGD(lr), l2=...)`, one full-batch
  epoch per step, as fit times it (History.epoch_seconds): it includes what fit does
  around the replay (the SGD update, over the parameters as one array, accuracy, the
  history). No callback: with one, fit writes the parameters into their Values every
  epoch so that the callback sees the model (about 0.1 ms per 1,000 parameters).
- *first epoch*: from calling fit to the end of its first epoch: building the graph,
  compiling it (replay) and one step.
- Compiling: `compile(root)` without `wrt` (it includes one forward pass); peak memory
  by tracemalloc during a second compile.

## Where the time goes, and why some rows are short

The tables "A replayed step, piece by piece" above are measured in this run: each piece
of fit's step timed by itself, best of several rounds (`python -m benchmarks.breakdown`).

- **Small batches (the demo loop, moons-100 and -300).** numpy's delta rule is about 30
  numpy calls in one function. The replay runs about 20 kernels a step, each a few
  microseconds of Python around its numpy calls, plus a few checks; that fixed cost is
  most of a step on 100 points and shrinks as the batch grows. The demo loop, written
  as micrograd's notebook writes it, also has the replay read its parameter, input and
  label Values every step and write the parameters' gradients back, and zeroes and
  updates each parameter in a Python loop (its table above): that share is the loop's
  way of holding numbers in Values; fit keeps the parameters in an array and does none
  of it.
- **digits against PyTorch.** Most of the step is two matrix products of the 32-neuron
  layer (forward W @ X, backward G @ X.T) and sigmoid over 1,797 x 32 numbers, forward
  and back. numpy's OpenBLAS is slower than the MKL inside PyTorch's wheel for these
  shapes (the last table above),
  and PyTorch's sigmoid and its backward are one fused pass each where numpy makes
  several. The replay is as fast as the hand-written numpy on this row: what is left is
  numpy's.
- **PyTorch on the larger moons.** From 1,000 points on, PyTorch's fused kernels (addmm
  with the bias, relu backward in place) against the replay's separate numpy calls.
- **The 10,000-level chain.** Compiling is a handful of Python passes over every node
  (topological order, rewrite, schedule, the float run's table), about 2 µs a node,
  against about 0.5 µs a node to build the chain; at 100,000 levels building is slower
  per node (the collector scans a larger heap) and the ratio meets the bound.
"""


if __name__ == "__main__":
    sys.exit(main())
