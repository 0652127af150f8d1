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
saved one did. Saving goes through `engine.files.write_atomic`: a crash never leaves a
half-written file, and the file behaves like one written with open() (umask, mode,
symlinks; folders, devices and FIFOs are refused).

Loading checks everything before building anything; a malformed, truncated, hostile or
mismatched file raises `ModelFileError` (a ValueError) naming the file and the problem,
and a model passed as `into=` is changed only when the whole file is valid. Files over
MAX_FILE_BYTES are not read past that size and networks over MAX_PARAMETERS are refused
before a single Value is made, so no file takes more than about 250 MB or a few seconds.
"""
from __future__ import annotations

import json
import math
import os
import reprlib
from pathlib import Path
from typing import Any

from engine.files import write_atomic

from .data import Schema
from .module import ACTIVATIONS, MLP

__all__ = [
    "FORMAT", "VERSION", "MAX_FILE_BYTES", "MAX_PARAMETERS", "ModelFileError", "save_model",
    "load_model", "to_dict", "from_dict",
]

FORMAT = "chainrule-mlp"
VERSION = 2
MAX_PARAMETERS = 250_000  # a 784-256-10 MNIST network has 203,530
MAX_FILE_BYTES = 8 * 2**20  # an honest file takes 27-30 bytes a parameter
MAX_DIGITS = 309  # an integer with more digits is beyond every finite float


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
    """Write `model` to `path` as JSON, atomically (see `engine.files.write_atomic`)."""
    return write_atomic(path, json.dumps(to_dict(model), indent=1, allow_nan=False) + "\n")


def _fail(path: object, message: str) -> ModelFileError:
    return ModelFileError(f"{path}: {message}")


_SHORT = reprlib.Repr()  # error messages quote a few items, levels and characters of any value
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 2, 4, 4
_SHORT.maxstring = _SHORT.maxlong = _SHORT.maxother = 40
_brief = _SHORT.repr


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _numbers(values: object, count: int, where: str, path: object) -> list[float]:
    if not isinstance(values, list) or len(values) != count:
        got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise _fail(path, f"{where} should be a list of {count} numbers, got {got}")
    out = []
    for v in values:
        number = _finite(v)
        if number is None:
            raise _fail(path, f"{where} contains {_brief(v)}, not a finite number")
        out.append(number)
    return out


def _finite(v: object) -> float | None:
    """`v` as a float if it is a finite number (not a bool, not beyond the floats), else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        number = float(v)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def from_dict(spec: object, path: object = "model") -> list[tuple[list[list[float]], list[float], str]]:
    """Validate a decoded file and return its layers as (W, b, activation) triples."""
    if not isinstance(spec, dict):
        raise _fail(path, f"not a chainrule model file (the top level is a {type(spec).__name__}, not an object)")
    if spec.get("format") != FORMAT:
        raise _fail(path, f"not a chainrule model file (format is {_brief(spec.get('format'))}, expected {FORMAT!r})")
    version = spec.get("version")
    if not _is_int(version) or version < 1:
        raise _fail(path, f"bad format version {_brief(version)}")
    if version > VERSION:
        raise _fail(path, f"format version {_brief(version)} is newer than this chainrule reads ({VERSION}); upgrade chainrule")
    missing = [k for k in ("nin", "sizes", "activations", "layers") if k not in spec]
    if missing:
        raise _fail(path, f"missing field(s): {', '.join(missing)}")
    nin, sizes, activations, layers = spec["nin"], spec["sizes"], spec["activations"], spec["layers"]
    if not _is_int(nin) or nin < 1:
        raise _fail(path, f"nin must be a positive int, got {_brief(nin)}")
    if not isinstance(sizes, list) or not sizes or not all(_is_int(s) and s >= 1 for s in sizes):
        raise _fail(path, f"sizes must be a non-empty list of positive ints, got {_brief(sizes)}")
    parameters = sum((width + 1) * size for width, size in zip([nin, *sizes], sizes))
    if parameters > MAX_PARAMETERS:
        shown = f"{parameters:,}" if parameters < 10**18 else _brief(parameters)
        raise _fail(path, f"the network would have {shown} parameters, more than the "
                          f"{MAX_PARAMETERS:,} a model file may hold")
    if not isinstance(activations, list) or len(activations) != len(sizes):
        raise _fail(path, f"activations must list one name per layer ({len(sizes)}), got {_brief(activations)}")
    for a in activations:
        if not isinstance(a, str) or a not in ACTIVATIONS:
            raise _fail(path, f"unknown activation {_brief(a)}; known: {', '.join(ACTIVATIONS)}")
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
    with open(path, "rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)  # never more, whatever the file (or device) holds
    if len(raw) > MAX_FILE_BYTES:
        raise _fail(path, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB, the most a model "
                          f"file may be (it holds at most {MAX_PARAMETERS:,} parameters)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "not a chainrule model file (not UTF-8 text)") from None
    if not text.strip():
        raise _fail(path, "the file is empty")
    try:
        spec = json.loads(text, parse_int=lambda digits: _integer(digits, path))
    except json.JSONDecodeError as error:
        raise _fail(path, f"not valid JSON (truncated or corrupted?): {error}") from None
    except RecursionError:
        raise _fail(path, "not a chainrule model file (lists or objects nested too deeply)") from None
    triples = from_dict(spec, path)
    fused = spec.get("fused", True)
    if not isinstance(fused, bool):
        raise _fail(path, f"fused must be true or false, got {_brief(fused)}")
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


def _integer(digits: str, path: object) -> int:
    """json's reader for integers, refusing one too long to be a weight or a size (Python
    would also refuse to read one of over 4,300 digits, with a ValueError of its own)."""
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise _fail(path, f"a number of {len(digits.lstrip('-')):,} digits is too large "
                          "(not a finite float)")
    return int(digits)
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
