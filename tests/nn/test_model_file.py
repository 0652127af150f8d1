"""Model files: exact round trip, format, atomic writes, and clear errors for bad files."""
from __future__ import annotations

import json
import math
import os
import stat
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ---------------------------------------------------------------- files that behave like files

def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_model_file_honours_the_umask_and_an_old_one_keeps_its_mode(tmp_path):
    previous = os.umask(0o002)
    try:
        new = save_model(MLP(2, [1], seed=0), tmp_path / "new.json")
        assert mode(new) == 0o664
        os.umask(0o022)
        old = tmp_path / "shared.json"
        old.write_text("{}")
        os.chmod(old, 0o664)
        save_model(MLP(2, [1], seed=0), old)
        assert mode(old) == 0o664 and load_model(old).nin == 2
    finally:
        os.umask(previous)


def test_saving_onto_a_folder_or_fifo_is_refused_and_leaves_it(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    for name, kind in (("fifo", "FIFO"), ("folder", "folder")):
        with pytest.raises(OSError, match=f"{name}: it is a {kind}"):
            save_model(MLP(2, [1], seed=0), tmp_path / name)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode) and (tmp_path / "folder").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "folder"]


def test_saving_through_a_symlink_replaces_its_target(tmp_path):
    (tmp_path / "models").mkdir()
    target = save_model(MLP(2, [1], seed=0), tmp_path / "models" / "v1.json")
    link = tmp_path / "latest.json"
    link.symlink_to("models/v1.json")
    save_model(MLP(2, [3, 1], seed=1), link)
    assert link.is_symlink() and load_model(target).sizes == [3, 1]


def test_a_245_character_name_saves(tmp_path):
    path = save_model(MLP(2, [1], seed=0), tmp_path / ("m" * 240 + ".json"))
    assert load_model(path).nin == 2 and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_full_disk_keeps_the_old_model(tmp_path, full_disk):
    path = tmp_path / "m.json"
    path.write_text("the old model")
    with pytest.raises(OSError, match="No space left") as caught:
        save_model(MLP(2, [4, 1], seed=1), path)
    assert caught.value.filename == str(path)
    assert path.read_text() == "the old model" and [p.name for p in tmp_path.iterdir()] == ["m.json"]


# ---------------------------------------------------------------- hostile files

def spec_text(**changes) -> str:
    spec = good_spec()
    spec.update(changes)
    return json.dumps(spec)


def with_raw(text: str, field: str, raw: str) -> str:
    """The JSON text with `field`'s value replaced by raw JSON text (numbers json.dumps
    could not write)."""
    return text.replace(f'"{field}": ', f'"{field}": {raw}, "_{field}": ', 1)


@pytest.mark.parametrize("text, message", [
    (spec_text(activations=[["tanh"], "linear"]), "unknown activation \\[\\'tanh\\'\\]"),
    (spec_text(activations=[{"a": 1}, "linear"]), "unknown activation"),
    (with_raw(spec_text(), "nin", "1" * 400), "400 digits is too large"),
    (with_raw(spec_text(), "version", "9" * 5000), "5,000 digits is too large"),
    (with_raw(spec_text(), "nin", "1e400"), "nin must be a positive int, got inf"),
    (with_raw(spec_text(), "nin", "3" + "0" * 300), "parameters, more than"),
    (spec_text(sizes=[10**9, 1]), "parameters, more than the 250,000"),
    (spec_text(nin=[[[[[[1]]]]]]), r"nin must be a positive int, got \[\[\[\.\.\.\]\]\]"),
    (spec_text(fused=[1] * 1000), "fused must be true or false, got \\[1, 1, 1, 1, \\.\\.\\.\\]"),
    ('{"format": "chainrule-mlp", "version": 1, "nin": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "nested too deeply"),
    ('{"format": ' + "[" * 900 + "]" * 900 + "}", r"format is \[\[\[\.\.\.\]\]\]"),
])
def test_hostile_files_raise_model_file_errors_naming_the_file(tmp_path, text, message):
    path = tmp_path / "hostile.json"
    path.write_text(text)
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model(path)
    assert str(caught.value).startswith(f"{path}: ") and len(str(caught.value)) < 300


def test_a_weight_of_309_digits_is_not_a_finite_number(tmp_path):
    text = json.dumps(good_spec()).replace("1.0, 2.0", "1.0, " + "7" * 309, 1)
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ModelFileError, match="W row 1 contains 777.*not a finite number"):
        load_model(tmp_path / "m.json")


def test_the_parameter_limit_is_checked_before_building(tmp_path, monkeypatch):
    model = MLP(2, [2, 1], seed=0)  # 3 * 2 + 3 * 1 = 9 parameters
    path = save_model(model, tmp_path / "m.json")
    monkeypatch.setattr(nn.model_file, "MAX_PARAMETERS", 9)
    assert len(load_model(path).parameters()) == 9
    monkeypatch.setattr(nn.model_file, "MAX_PARAMETERS", 8)
    monkeypatch.setattr(MLP, "from_weights", lambda *a, **k: pytest.fail("built a model"))
    with pytest.raises(ModelFileError, match="9 parameters, more than the 8"):
        load_model(path)


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as handle:  # sparse: 1 GiB of zeros costs no disk
        handle.truncate(2**30)
    with pytest.raises(ModelFileError, match="larger than 8 MiB"):
        load_model(path)


def test_a_hostile_file_under_the_size_limit_stays_small_in_memory(tmp_path):
    """400,000 one-weight neurons: refused by their count, before any Value is made."""
    rows = 400_000
    text = ('{"format": "chainrule-mlp", "version": 1, "nin": 1, "sizes": [%d], '
            '"activations": ["tanh"], "layers": [{"W": [%s], "b": []}]}' % (rows, ",".join(["[0]"] * rows)))
    assert len(text) < nn.model_file.MAX_FILE_BYTES
    path = tmp_path / "hostile.json"
    path.write_text(text)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="800,000 parameters"):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 60 * 2**20  # building it takes over 200 MB


def test_chainrule_eval_says_which_file_is_bad_and_exits_2(tmp_path, capsys):
    from nn.cli import main

    path = tmp_path / "hostile.json"
    path.write_text(spec_text(activations=[["tanh"], "linear"]))
    assert main(["eval", str(path), "0,0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "unknown activation" in err[0]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)
PLACES = {
    **{field: lambda spec, v, f=field: spec.__setitem__(f, v)
       for field in ("format", "version", "nin", "sizes", "activations", "fused", "layers")},
    "a layer": lambda spec, v: spec["layers"].__setitem__(0, v),
    "W": lambda spec, v: spec["layers"][0].__setitem__("W", v),
    "a row of W": lambda spec, v: spec["layers"][0]["W"].__setitem__(1, v),
    "a weight": lambda spec, v: spec["layers"][1]["W"][0].__setitem__(0, v),
    "b": lambda spec, v: spec["layers"][1].__setitem__("b", v),
}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(place=st.sampled_from(sorted(PLACES)), value=JSON)
def test_any_json_anywhere_loads_or_is_a_model_file_error(tmp_path_factory, place, value):
    spec = good_spec()
    PLACES[place](spec, value)
    path = tmp_path_factory.mktemp("fuzz") / "m.json"
    path.write_text(json.dumps(spec))
    try:
        model = load_model(path)
    except ModelFileError as error:
        assert str(error).startswith(f"{path}: ") and len(str(error)) < 400
    else:
        assert all(math.isfinite(p.data) for p in model.parameters())
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
