"""Model files: exact round trip, format, atomic writes, and clear errors for bad files."""
from __future__ import annotations

import json
import os

import pytest

import nn
from nn import MLP, ModelFileError, load_model, save_model
from nn.model_file import FORMAT, VERSION


def test_round_trip_is_exact(tmp_path):
    model = MLP(3, [4, 2], activation="sigmoid", output="tanh", seed=9, fused=False)
    path = save_model(model, tmp_path / "m.json")
    loaded = load_model(path)
    assert [p.data for p in loaded.parameters()] == [p.data for p in model.parameters()]
    assert (loaded.nin, loaded.sizes, loaded.activations, loaded.fused) == (3, [4, 2], ["sigmoid", "tanh"], False)
    x = [0.1, -0.7, 2.0]
    assert [o.data for o in loaded(x)] == [o.data for o in model(x)]


def test_file_records_format_version_sizes_and_activations(tmp_path):
    save_model(MLP(2, [3, 1], seed=0), tmp_path / "m.json")
    spec = json.loads((tmp_path / "m.json").read_text())
    assert spec["format"] == FORMAT and spec["version"] == VERSION
    assert spec["nin"] == 2 and spec["sizes"] == [3, 1] and spec["activations"] == ["tanh", "linear"]
    assert len(spec["layers"][0]["W"]) == 3 and len(spec["layers"][0]["W"][0]) == 2


def test_save_is_atomic_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    save_model(MLP(2, [1], seed=0), path)
    before = path.read_text()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model(MLP(2, [5, 1], seed=1), path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary file left


def test_non_finite_weights_are_not_saved(tmp_path):
    model = MLP(2, [1], seed=0)
    model.layers[0].neurons[0].w[0].data = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        save_model(model, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def good_spec() -> dict:
    return nn.model_file.to_dict(MLP.from_weights([([[1.0, 2.0], [3.0, 4.0]], [0.5, -0.5], "tanh"),
                                                    ([[1.0, -1.0]], [0.0], "linear")]))


def edit(spec: dict, change) -> dict:
    change(spec)
    return spec


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ('{"format": "chainrule-mlp", "version": 1, "nin": 2, "si', "not valid JSON"),
    ("[1, 2, 3]", "top level is a list"),
    ('{"format": "keras"}', "not a chainrule model file"),
    (json.dumps(edit(good_spec(), lambda s: s.update(version=99))), "newer"),
    (json.dumps(edit(good_spec(), lambda s: s.pop("sizes"))), "missing field"),
    (json.dumps(edit(good_spec(), lambda s: s.update(sizes=[2, 3]))), "W should have 3 rows"),
    (json.dumps(edit(good_spec(), lambda s: s["layers"][0]["W"][1].append(9.0))), "W row 2 should be a list of 2"),
    (json.dumps(edit(good_spec(), lambda s: s["layers"][0].update(b=[1.0]))), "b should be a list of 2"),
    (json.dumps(edit(good_spec(), lambda s: s["layers"][1].update(b=["x"]))), "not a finite number"),
    (json.dumps(edit(good_spec(), lambda s: s.update(activations=["tanh", "gelu"]))), "unknown activation 'gelu'"),
    (json.dumps(edit(good_spec(), lambda s: s.update(nin=0))), "nin must be"),
])
def test_bad_files_raise_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)
    assert issubclass(ModelFileError, ValueError)


def test_truncated_file_of_a_real_model(tmp_path):
    path = save_model(MLP(2, [8, 1], seed=0), tmp_path / "m.json")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model(path)


def test_binary_garbage(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(b"\x80\x04\x95pickle")
    with pytest.raises(ModelFileError, match="not UTF-8|not valid JSON"):
        load_model(path)


def test_load_into_a_model_copies_weights(tmp_path):
    source = MLP(2, [3, 1], seed=1)
    path = save_model(source, tmp_path / "m.json")
    target = MLP(2, [3, 1], seed=2)
    assert load_model(path, into=target) is target
    assert [p.data for p in target.parameters()] == [p.data for p in source.parameters()]


def test_mismatched_or_bad_file_leaves_the_model_untouched(tmp_path):
    path = save_model(MLP(2, [3, 1], seed=1), tmp_path / "m.json")
    target = MLP(2, [4, 1], seed=2)
    before = [p.data for p in target.parameters()]
    with pytest.raises(ModelFileError, match="sizes \\[3, 1\\].*sizes \\[4, 1\\]"):
        load_model(path, into=target)
    spec = json.loads(path.read_text())
    spec["sizes"], spec["layers"][0]["W"] = [4, 1], spec["layers"][0]["W"] + [[1.0, "oops"]]
    spec["layers"][0]["b"].append(0.0)
    spec["layers"][1]["W"][0].append(0.0)
    path.write_text(json.dumps(spec))
    with pytest.raises(ModelFileError, match="W row 4"):
        load_model(path, into=target)
    assert [p.data for p in target.parameters()] == before


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.json")


def test_the_data_schema_round_trips_and_version_1_files_still_load(tmp_path):
    model = MLP(2, [3, 3], seed=0)
    model.schema = nn.data.Schema(["h", "w"], "kind", "classes", ["a", "b", "c"], "cross_entropy")
    path = save_model(model, tmp_path / "m.json")
    spec = json.loads(path.read_text())
    assert spec["version"] == 2 and spec["data"]["classes"] == ["a", "b", "c"]
    assert load_model(path).schema == model.schema
    del spec["data"]
    spec["version"] = 1
    (tmp_path / "old.json").write_text(json.dumps(spec))
    old = load_model(tmp_path / "old.json")
    assert old.schema is None and [p.data for p in old.parameters()] == [p.data for p in model.parameters()]


@pytest.mark.parametrize("data, message", [
    ({"features": ["a"], "target": "y", "labels": "values"}, "1 features for a 2-input network"),
    ({"features": ["a", "b"], "target": "y", "labels": "values"}, r"1 output name\(s\) for 3 outputs"),
    ({"features": ["a", "b"], "target": "y", "labels": "pm1", "classes": ["x"]}, "needs 2 class names"),
    ("nope", "must be an object"),
])
def test_a_bad_data_schema_is_a_model_file_error(tmp_path, data, message):
    spec = nn.model_file.to_dict(MLP(2, [3], seed=0))
    spec["data"] = data
    (tmp_path / "m.json").write_text(json.dumps(spec))
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "m.json")


def test_a_schema_that_does_not_fit_the_network_is_not_saved(tmp_path):
    model = MLP(2, [1], seed=0)
    model.schema = nn.data.Schema(["only"], "y", "values")
    with pytest.raises(ModelFileError, match="1 features for a 2-input network"):
        save_model(model, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
