"""film_tf.formats.model_io: every kind of path becomes the same model, or one clear error."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import film_tf
from film_tf import create_model, load_official_weights
from film_tf.formats import model_io
from tests.conftest import reference_dir, reference_options, write_run_folder

TINY = reference_dir("film_official_tiny")


def _weights(model) -> list[np.ndarray]:
    return [np.asarray(v) for v in model.weights]


def _assert_same_weights(a, b) -> None:
    assert len(a.weights) == len(b.weights)
    for x, y in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The tiny official model, and its weights in every kind of path."""
    from film_tf.serving import export_saved_model

    tmp = tmp_path_factory.mktemp("model_io")
    options = reference_options("film_official_tiny")
    reference = create_model(options)
    load_official_weights(reference, TINY)
    weights = str(tmp / "tiny.weights.h5")
    model_io.save_weights_with_options(reference, weights)
    # A film-train run whose weights differ from the official ones.
    keras.utils.set_random_seed(5)
    trained = create_model(options)
    run = str(tmp / "runs" / "tiny")
    write_run_folder(run, trained)
    released = tmp / "saved_model"  # an official release: saved_model.pb + variables/, no marker
    shutil.copytree(os.path.join(TINY, "variables"), released / "variables")
    (released / "saved_model.pb").write_bytes(b"not parsed")
    export = export_saved_model(reference, str(tmp / "export"))
    return {
        "tmp": tmp,
        "options": options,
        "reference": reference,
        "trained": trained,
        "weights": weights,
        "run": run,
        "released": str(released),
        "export": export,
    }


def test_describe_names_every_kind(sources):
    s = sources
    assert model_io.describe(None) == "bundled"
    assert model_io.describe(TINY) == "official_variables"
    assert model_io.describe(os.path.join(TINY, "variables")) == "official_variables"
    assert model_io.describe(os.path.join(TINY, "variables", "variables")) == "official_variables"
    assert model_io.describe(s["released"]) == "official_saved_model"
    assert model_io.describe(s["export"]) == "film_tf_saved_model"
    assert model_io.describe(s["weights"]) == "keras_weights"
    assert model_io.describe(s["run"]) == "run_folder"
    assert model_io.describe(os.path.join(s["run"], "train")) == "checkpoint"
    assert model_io.describe(os.path.join(s["run"], "train", "ckpt-7")) == "checkpoint"
    assert set(model_io.KINDS) == {
        "bundled",
        "official_saved_model",
        "official_variables",
        "film_tf_saved_model",
        "keras_weights",
        "keras_file",
        "run_folder",
        "checkpoint",
        "torchscript",
    }
    assert model_io.RUNTIME_KINDS == ("onnx",)
    assert set(model_io.EXPORTED_KINDS) == {"film_tf_saved_model", "onnx"}
    # Every kind is one entry of the table, named once.
    names = [entry.name for entry in model_io.KIND_TABLE]
    assert sorted(names) == sorted({*model_io.KINDS, *model_io.RUNTIME_KINDS})


def test_describe_errors_name_the_path(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=f"^Model not found: '{missing}'.$"):
        model_io.describe(missing)
    for name in ("model.txt", "film.h5"):
        (tmp_path / name).write_text("x")
        with pytest.raises(ValueError, match="is not a FILM model") as error:
            model_io.describe(str(tmp_path / name))
        assert str(tmp_path / name) in str(error.value) and "\n" not in str(error.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="is not a FILM model"):
        model_io.describe(str(tmp_path / "empty"))


def test_every_kind_loads_the_same_weights(sources):
    s = sources
    for path, options in (
        (TINY, s["options"]),
        (s["released"], s["options"]),
        (s["weights"], None),  # options from the sidecar
        (s["export"], None),  # options from the export's film_tf.json
    ):
        model = model_io.load_model(path, options=options)
        assert model.film_options == s["options"], path
        _assert_same_weights(model, s["reference"])
    for path in (s["run"], os.path.join(s["run"], "train"), os.path.join(s["run"], "train", "ckpt-7")):
        model, source = model_io.load_model_and_source(path)  # options from the run's config.gin
        assert model.film_options == s["options"]
        _assert_same_weights(model, s["trained"])
        assert source.checkpoint == os.path.join(os.path.abspath(s["run"]), "train", "ckpt-7")
        assert source.step == 7
        assert "(step 7)" in str(source)
    # The trained weights really differ from the official ones.
    assert not np.array_equal(_weights(s["trained"])[0], _weights(s["reference"])[0])


def test_overrides_of_the_stored_options(sources):
    s = sources
    model = model_io.load_model(s["weights"], use_aux_outputs=False)
    assert list(model.output) == ["image"]
    assert model.film_options.use_aux_outputs is False
    deeper = reference_options("film_official_tiny", pyramid_levels=6)
    model = model_io.load_model(s["run"], options=deeper)
    assert model.film_options.alignment == 32
    _assert_same_weights(model, s["trained"])
    bf16 = model_io.load_model(s["weights"], dtype_policy="mixed_bfloat16")
    assert bf16.get_layer("film_net").compute_dtype == "bfloat16"
    _assert_same_weights(bf16, s["reference"])


def test_bundled_model():
    model, source = model_io.load_model_and_source()
    assert source.kind == "bundled" and source.checkpoint == model_io.BUNDLED_WEIGHTS_FILE
    assert model_io.bundled_model_path() == model_io.BUNDLED_WEIGHTS_FILE
    assert model_io.BUNDLED_WEIGHTS_FILE == os.path.join(
        os.path.dirname(film_tf.__file__), "assets", "default_model.weights.h5"
    )
    with open(model_io.BUNDLED_OPTIONS_FILE) as f:
        assert model.film_options.to_dict() == json.load(f)
    direct = create_model(model.film_options)
    direct.load_weights(model_io.BUNDLED_WEIGHTS_FILE)
    _assert_same_weights(model, direct)
    assert not np.array_equal(_weights(model)[0], _weights(create_model(model.film_options))[0])


def test_load_weights_into_a_deeper_pyramid(sources):
    s = sources
    deeper = reference_options("film_official_tiny", pyramid_levels=6)
    for path, expected in (
        (TINY, s["reference"]),
        (s["weights"], s["reference"]),
        (s["export"], s["reference"]),
        (s["run"], s["trained"]),
    ):
        model = create_model(deeper)
        description = model_io.load_weights_into(model, path)
        assert os.path.abspath(path) in description or "ckpt-7 (step 7)" in description
        _assert_same_weights(model, expected)


def test_load_weights_into_refuses_other_shapes_in_one_line(sources):
    s = sources
    small = reference_options("film_official_small")
    for path, message in (
        (TINY, "options do not match"),
        (s["weights"], "the model options do not match the weights"),
        (s["export"], "the model options do not match the weights"),
        (s["run"], "trainable variables"),
    ):
        model = create_model(small)
        before = _weights(model)
        with pytest.raises(ValueError, match=message) as error:
            model_io.load_weights_into(model, path)
        assert "\n" not in str(error.value)
        for a, b in zip(before, _weights(model)):  # nothing assigned
            np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="Model not found"):
        model_io.load_weights_into(create_model(small), str(s["tmp"] / "missing"))


def test_options_json_bare_or_wrapped(tmp_path, tiny_options):
    bare, wrapped = tmp_path / "bare.json", tmp_path / "wrapped.json"
    bare.write_text(json.dumps(tiny_options.to_dict()))
    wrapped.write_text(json.dumps({"format": "film_tf.saved_model", "options": tiny_options.to_dict()}))
    assert model_io.options_from_json(str(bare)) == tiny_options
    assert model_io.options_from_json(str(wrapped)) == tiny_options
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="Cannot read options JSON"):
        model_io.options_from_json(str(tmp_path / "bad.json"))
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ValueError, match="does not hold a film_net options dict"):
        model_io.options_from_json(str(tmp_path / "list.json"))
    (tmp_path / "unknown.json").write_text('{"filterz": 3}')
    with pytest.raises(ValueError, match="Invalid options in .*Unknown film_net option"):
        model_io.options_from_json(str(tmp_path / "unknown.json"))
    with pytest.raises(FileNotFoundError, match="Options file not found"):
        model_io.options_from_json(str(tmp_path / "none.json"))


def test_options_from_gin(tmp_path, tiny_options):
    path = tmp_path / "config.gin"
    path.write_text(
        "\n".join(f"film_net.{k} = {v!r}" for k, v in tiny_options.to_dict().items()) + "\nother.x = 1\n"
    )
    assert model_io.options_from_gin(str(path)) == tiny_options
    assert model_io.options_from_gin(str(path), ["film_net.pyramid_levels = 6"]).pyramid_levels == 6
    assert model_io.options_from_gin(bindings=["film_net.filters = 8"]).filters == 8
    with pytest.raises(FileNotFoundError, match="No gin config"):
        model_io.options_from_gin(str(tmp_path / "none.gin"))


def test_model_options_of_a_model_or_its_layer(tiny_options):
    model = create_model(tiny_options)
    assert model_io.model_options(model) == tiny_options
    assert model_io.model_options(model.get_layer("film_net")) == tiny_options
    with pytest.raises(ValueError, match="FilmNet"):
        model_io.model_options(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))


def test_save_weights_with_options_writes_two_files_only(tmp_path, tiny_options):
    model = create_model(tiny_options)
    path = str(tmp_path / "out" / "m.weights.h5")
    model_io.save_weights_with_options(model, path)
    assert sorted(os.listdir(tmp_path / "out")) == ["m.json", "m.weights.h5"]
    assert model_io.options_for(path) == tiny_options
    with pytest.raises(ValueError, match=r"must end in \.weights\.h5"):
        model_io.save_weights_with_options(model, str(tmp_path / "m.h5"))


def test_weights_file_source(tmp_path, tiny_options):
    keras.utils.set_random_seed(3)
    model = create_model(tiny_options)
    path = str(tmp_path / "film.weights.h5")
    model.save_weights(path)  # no sidecar: the options are given
    loaded, source = model_io.load_model_and_source(path, options=tiny_options)
    assert source.kind == "keras_weights" and source.checkpoint == path
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(FileNotFoundError, match="film.json"):
        model_io.load_model(path)
    (tmp_path / "film.h5").write_text("x")
    with pytest.raises(ValueError, match="weights.h5"):
        model_io.load_model(str(tmp_path / "film.h5"), options=tiny_options)


def test_plain_model_checkpoint_restores_exactly_or_is_refused(tmp_path, tiny_options):
    keras.utils.set_random_seed(4)
    model = create_model(tiny_options)
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    fresh = create_model(tiny_options)
    stored = sum(
        1
        for name, _ in tf.train.list_variables(path)
        if name.startswith("model/") and name.endswith("VARIABLE_VALUE")
    )
    if stored == len(model.variables):
        assert model_io.restore_checkpoint(fresh, path) is None
        for a, b in zip(model.weights, fresh.weights):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    else:
        # Keras 3 hides list-held sub-layers from tf.train.Checkpoint; such a
        # checkpoint misses weights and must not be loaded silently.
        with pytest.raises(ValueError, match=f"holds {stored} model variables but the model has"):
            model_io.restore_checkpoint(fresh, path)


def test_checkpoint_without_a_run_needs_options(tmp_path, sources):
    folder = tmp_path / "loose"
    shutil.copytree(os.path.join(sources["run"], "train"), folder)
    with pytest.raises(FileNotFoundError, match="config.gin"):
        model_io.load_model(str(folder))
    model = model_io.load_model(str(folder), options=sources["options"])
    _assert_same_weights(model, sources["trained"])


def test_a_missing_bundled_model_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(model_io, "BUNDLED_WEIGHTS_FILE", str(tmp_path / "default_model.weights.h5"))
    for load in (model_io.bundled_model_path, model_io.load_model, lambda: model_io.options_for(None)):
        with pytest.raises(FileNotFoundError, match="No default model is bundled.*--model_path"):
            load()


def test_a_keras_file_round_trips_through_the_one_loader(tmp_path, sources):
    """`model.save("x.keras")` -> `film_tf.load_model("x.keras")`: same options,
    same weights, same frames; the structure is checked like every kind."""
    path = str(tmp_path / "tiny.keras")
    sources["reference"].save(path)
    assert model_io.describe(path) == "keras_file"
    assert model_io.options_for(path) == sources["options"]
    loaded = film_tf.load_model(path)
    _assert_same_weights(loaded, sources["reference"])
    rng = np.random.default_rng(3)
    x = {
        "x0": rng.random((1, 64, 96, 3), dtype=np.float32),
        "x1": rng.random((1, 64, 96, 3), dtype=np.float32),
    }
    x["time"] = np.full((1, 1), 0.5, np.float32)
    np.testing.assert_array_equal(
        np.asarray(loaded(x)["image"]), np.asarray(sources["reference"](x)["image"])
    )
    other = dataclasses.replace(sources["options"], filters=sources["options"].filters * 2)
    with pytest.raises(ValueError, match="tiny.keras.*the model options do not match the weights"):
        model_io.load_model(path, options=other)


def test_keras_file_errors_are_one_line(tmp_path):
    not_zip = tmp_path / "broken.keras"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"^'.*broken.keras' is not a Keras model file"):
        model_io.load_model(str(not_zip))
    foreign = str(tmp_path / "foreign.keras")
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(foreign)
    with pytest.raises(ValueError, match="holds no FILM model"):
        model_io.load_model(foreign)


def test_keras_own_loader_after_import_film_tf_model(tmp_path, sources):
    """What the README says about `keras.saving.load_model`: in a fresh
    interpreter it needs film_tf's layers registered, which importing
    `film_tf.model.interpolator` (or any film_tf model call) does."""
    path = str(tmp_path / "tiny.keras")
    sources["reference"].save(path)
    code = (
        "import sys, keras, numpy as np\n"
        "import film_tf\n"
        "try:\n"
        "    keras.saving.load_model(sys.argv[1])\n"
        "except TypeError as e:\n"
        "    assert 'FilmNet' in str(e), e\n"
        "else:\n"
        "    raise SystemExit('loaded without the layers registered')\n"
        "import film_tf.model.interpolator\n"
        "a, b = keras.saving.load_model(sys.argv[1]), film_tf.load_model(sys.argv[1])\n"
        "assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))\n"
        "print('ok', len(a.weights))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ok", str(len(sources["reference"].weights))]
