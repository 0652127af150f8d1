"""Speed benchmarks: chainrule eager, fused and compiled against a textbook engine, numpy and PyTorch.

Not part of the unit tests. Run `python -m benchmarks` (or `--quick`) from the repository root.
"""
