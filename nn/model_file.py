"""Model files: an MLP as JSON (never pickle), written atomically, read with checks.

The format (version 2):

    {"format": "chainrule-mlp", "version": 2, "nin": 2, "sizes": [3, 2],
     "activations": ["sigmoid", "sigmoid"], "fused": true,
     "layers": [{"W": [[...], ...], "b": [...]}, ...],
     "data": {"features": ["x1", "x2"], "target": "y", "labels": "classes",
              "classes": ["cat", "dog"], "loss": "cross_entropy"}}

"data" (new in version 2, optional) is the model's `schema` (`nn.data.Schema`): what it
was trained on, so it can name its outputs and refuse data laid out differently.
Version 1 files (no "data") still load, with `schema` None.

Numbers are written with `repr` precision, so a loaded model computes exactly what the
saved one did. Saving writes a temporary file next to the target and renames it over
the target only when it is complete, so a crash never leaves a half-written file.
Loading checks everything before building anything; a malformed, truncated or
mismatched file raises `ModelFileError` (a ValueError) naming the problem, and a model
passed as `into=` is changed only when the whole file is valid.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .data import Schema
from .module import ACTIVATIONS, MLP

__all__ = [
    "FORMAT", "VERSION", "ModelFileError", "save_model", "load_model", "to_dict", "from_dict",
    "write_atomically",
]

FORMAT = "chainrule-mlp"
VERSION = 2


class ModelFileError(ValueError):
    """A model file that is not valid JSON, not ours, from a newer version, or inconsistent."""


def to_dict(model: MLP) -> dict[str, Any]:
    """The JSON-ready description of `model` (format, version, sizes, activations, weights)."""
    if not isinstance(model, MLP):
        raise TypeError(f"save_model saves an nn.MLP, got {type(model).__name__}")
    layers = []
    for k, (W, b, _) in enumerate(model.weights(), 1):
        if not all(math.isfinite(v) for row in W for v in row):
            raise ValueError(f"layer {k} has a non-finite weight; refusing to save it")
        if not all(math.isfinite(v) for v in b):
            raise ValueError(f"layer {k} has a non-finite bias; refusing to save it")
        layers.append({"W": W, "b": b})
    spec = {
        "format": FORMAT, "version": VERSION, "nin": model.nin, "sizes": model.sizes,
        "activations": model.activations, "fused": model.fused, "layers": layers,
    }
    if model.schema is not None:
        spec["data"] = model.schema.to_dict()
        _schema(spec, "the model's schema")  # never write what load_model would refuse
    return spec


def save_model(model: MLP, path: str | os.PathLike) -> Path:
    """Write `model` to `path` as JSON, atomically (temporary file, fsync, rename)."""
    return write_atomically(path, json.dumps(to_dict(model), indent=1, allow_nan=False) + "\n")


def write_atomically(path: str | os.PathLike, content: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to `path` so that it is either complete or untouched."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def _fail(path: object, message: str) -> ModelFileError:
    return ModelFileError(f"{path}: {message}")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _numbers(values: object, count: int, where: str, path: object) -> list[float]:
    if not isinstance(values, list) or len(values) != count:
        got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise _fail(path, f"{where} should be a list of {count} numbers, got {got}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _fail(path, f"{where} contains {v!r}, not a finite number")
        out.append(float(v))
    return out


def from_dict(spec: object, path: object = "model") -> list[tuple[list[list[float]], list[float], str]]:
    """Validate a decoded file and return its layers as (W, b, activation) triples."""
    if not isinstance(spec, dict):
        raise _fail(path, f"not a chainrule model file (the top level is a {type(spec).__name__}, not an object)")
    if spec.get("format") != FORMAT:
        raise _fail(path, f"not a chainrule model file (format is {spec.get('format')!r}, expected {FORMAT!r})")
    version = spec.get("version")
    if not _is_int(version) or version < 1:
        raise _fail(path, f"bad format version {version!r}")
    if version > VERSION:
        raise _fail(path, f"format version {version} is newer than this chainrule reads ({VERSION}); upgrade chainrule")
    missing = [k for k in ("nin", "sizes", "activations", "layers") if k not in spec]
    if missing:
        raise _fail(path, f"missing field(s): {', '.join(missing)}")
    nin, sizes, activations, layers = spec["nin"], spec["sizes"], spec["activations"], spec["layers"]
    if not _is_int(nin) or nin < 1:
        raise _fail(path, f"nin must be a positive int, got {nin!r}")
    if not isinstance(sizes, list) or not sizes or not all(_is_int(s) and s >= 1 for s in sizes):
        raise _fail(path, f"sizes must be a non-empty list of positive ints, got {sizes!r:.80}")
    if not isinstance(activations, list) or len(activations) != len(sizes):
        raise _fail(path, f"activations must list one name per layer ({len(sizes)}), got {activations!r:.80}")
    for a in activations:
        if a not in ACTIVATIONS:
            raise _fail(path, f"unknown activation {a!r}; known: {', '.join(ACTIVATIONS)}")
    if not isinstance(layers, list) or len(layers) != len(sizes):
        got = len(layers) if isinstance(layers, list) else type(layers).__name__
        raise _fail(path, f"sizes lists {len(sizes)} layers but the file holds {got}")
    triples = []
    width = nin
    for k, (layer, size, act) in enumerate(zip(layers, sizes, activations), 1):
        if not isinstance(layer, dict) or "W" not in layer or "b" not in layer:
            raise _fail(path, f"layer {k} must be an object with 'W' and 'b'")
        W = layer["W"]
        if not isinstance(W, list) or len(W) != size:
            raise _fail(path, f"layer {k}: W should have {size} rows (sizes[{k - 1}]), got "
                              f"{len(W) if isinstance(W, list) else type(W).__name__}")
        rows = [_numbers(row, width, f"layer {k}: W row {i + 1}", path) for i, row in enumerate(W)]
        b = _numbers(layer["b"], size, f"layer {k}: b", path)
        triples.append((rows, b, act))
        width = size
    return triples


def load_model(path: str | os.PathLike, into: MLP | None = None) -> MLP:
    """Read a model file. With `into`, copy the weights into that model (whose sizes and
    activations must match) instead of building a new one; it is untouched on any error."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "not a chainrule model file (not UTF-8 text)") from None
    if not text.strip():
        raise _fail(path, "the file is empty")
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail(path, f"not valid JSON (truncated or corrupted?): {error}") from None
    triples = from_dict(spec, path)
    fused = spec.get("fused", True)
    if not isinstance(fused, bool):
        raise _fail(path, f"fused must be true or false, got {fused!r}")
    schema = _schema(spec, path)
    if into is None:
        model = MLP.from_weights(triples, fused=fused)
        model.schema = schema
        return model
    if not isinstance(into, MLP):
        raise TypeError(f"into must be an nn.MLP, got {type(into).__name__}")
    shape = (spec["nin"], spec["sizes"], spec["activations"])
    if (into.nin, into.sizes, into.activations) != shape:
        raise _fail(
            path,
            f"the file holds a {shape[0]}-input network with sizes {shape[1]} and activations {shape[2]}, "
            f"but the model has {into.nin} inputs, sizes {into.sizes} and activations {into.activations}",
        )
    for layer, (W, b, _) in zip(into.layers, triples):
        for neuron, row, bi in zip(layer.neurons, W, b):
            for w, v in zip(neuron.w, row):
                w.data = v
            neuron.b.data = bi
    into.schema = schema
    return into


def _schema(spec: dict, path: object) -> Schema | None:
    """The file's "data" object as a Schema that fits the network, or None when absent."""
    if "data" not in spec:
        return None
    try:
        schema = Schema.from_dict(spec["data"])
    except ValueError as error:
        raise _fail(path, f"data: {error}") from None
    if len(schema.features) != spec["nin"]:
        raise _fail(path, f"data: {len(schema.features)} features for a {spec['nin']}-input network")
    if len(schema.outputs) != spec["sizes"][-1]:
        raise _fail(path, f"data: {len(schema.outputs)} output name(s) for {spec['sizes'][-1]} outputs")
    return schema
