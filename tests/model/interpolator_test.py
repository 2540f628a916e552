"""The whole model against the official implementation's outputs."""

import os

import numpy as np
import pytest

from film_tf import Options, create_model, load_official_weights
from tests.conftest import REFERENCE_MODELS, reference_dir, reference_options

PYRAMIDS = (
    "forward_flow_pyramid",
    "backward_flow_pyramid",
    "forward_residual_flow_pyramid",
    "backward_residual_flow_pyramid",
)


def run_golden(name):
    model = create_model(reference_options(name))
    load_official_weights(model, reference_dir(name))
    golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
    outputs = model({k: golden[k] for k in ("x0", "x1", "time")})
    return outputs, golden


@pytest.mark.parametrize("name", REFERENCE_MODELS)
def test_reproduces_official_outputs(name):
    outputs, golden = run_golden(name)
    np.testing.assert_allclose(outputs["image"], golden["image"], rtol=0, atol=1e-5)
    for key in ("x0_warped", "x1_warped"):
        np.testing.assert_allclose(outputs[key], golden[key], rtol=0, atol=1e-4)
    for key in PYRAMIDS:
        levels = sorted(k for k in golden.files if k.startswith(key + "_"))
        assert len(outputs[key]) == len(levels), key
        for i, level in enumerate(outputs[key]):
            np.testing.assert_allclose(level, golden[f"{key}_{i}"], rtol=0, atol=1e-4, err_msg=f"{key}[{i}]")


def test_released_configuration_parameter_count():
    assert create_model(Options()).count_params() == 34_436_667


@pytest.mark.parametrize("height, width", [(40, 64), (64, 72)])
def test_unaligned_input_is_rejected(tiny_options, height, width):
    model = create_model(tiny_options)
    x = np.zeros((1, height, width, 3), np.float32)
    with pytest.raises(ValueError, match="multiple of 16"):
        model({"x0": x, "x1": x, "time": np.full((1, 1), 0.5, np.float32)})


@pytest.mark.parametrize("size", [(16, 16), (32, 48)])
def test_without_aux_outputs_only_image(tiny_options, size):
    options = Options(**{**tiny_options.to_dict(), "use_aux_outputs": False})
    model = create_model(options)
    x = np.random.default_rng(0).random((2, *size, 3)).astype(np.float32)
    outputs = model({"x0": x, "x1": x, "time": np.full((2, 1), 0.5, np.float32)})
    assert set(outputs) == {"image"}
    assert outputs["image"].shape == (2, *size, 3)


def test_time_value_is_ignored(tiny_options):
    model = create_model(tiny_options)
    rng = np.random.default_rng(1)
    x0, x1 = (rng.random((1, 32, 32, 3)).astype(np.float32) for _ in range(2))
    a = model({"x0": x0, "x1": x1, "time": np.full((1, 1), 0.5, np.float32)})["image"]
    b = model({"x0": x0, "x1": x1, "time": np.full((1, 1), 0.2, np.float32)})["image"]
    np.testing.assert_array_equal(a, b)


def test_weights_h5_round_trip(tiny_options, tmp_path):
    model = create_model(tiny_options)
    load_official_weights(model, reference_dir("film_official_tiny"))
    path = str(tmp_path / "film.weights.h5")
    model.save_weights(path)
    restored = create_model(tiny_options)
    restored.load_weights(path)
    for a, b in zip(model.weights, restored.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    golden = np.load(os.path.join(reference_dir("film_official_tiny"), "golden.npz"))
    inputs = {k: golden[k] for k in ("x0", "x1", "time")}
    np.testing.assert_array_equal(model(inputs)["image"], restored(inputs)["image"])


@pytest.mark.parametrize("use_aux_outputs", [True, False])
def test_output_spec_matches_real_outputs(tiny_options, use_aux_outputs):
    import keras

    from film_tf.model.interpolator import FilmNet

    layer = FilmNet(Options(**{**tiny_options.to_dict(), "use_aux_outputs": use_aux_outputs}))
    shapes = {"x0": (2, 32, 48, 3), "x1": (2, 32, 48, 3), "time": (2, 1)}
    spec = layer.compute_output_spec({k: keras.KerasTensor(s) for k, s in shapes.items()})
    real = layer({k: np.zeros(s, np.float32) for k, s in shapes.items()})
    spec_shapes = keras.tree.map_structure(lambda t: tuple(t.shape), spec)
    real_shapes = keras.tree.map_structure(lambda t: tuple(t.shape), real)
    assert spec_shapes == real_shapes


def test_extract_then_interpolate_equals_call(tiny_options):
    """Features computed once per frame (for recursion) give the same result."""
    from film_tf.formats.official_weights import find_film_layer

    model = create_model(tiny_options)
    load_official_weights(model, reference_dir("film_official_tiny"))
    layer = find_film_layer(model)
    golden = np.load(os.path.join(reference_dir("film_official_tiny"), "golden.npz"))
    out = layer.interpolate(layer.extract(golden["x0"]), layer.extract(golden["x1"]), golden["time"])
    np.testing.assert_allclose(out["image"], golden["image"], rtol=0, atol=1e-5)


def test_tf_checkpoint_holds_every_variable(tiny_options, tmp_path):
    import tensorflow as tf

    model = create_model(tiny_options)
    load_official_weights(model, reference_dir("film_official_tiny"))
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    saved = [n for n, _ in tf.train.list_variables(prefix) if n.endswith("VARIABLE_VALUE")]
    assert len(saved) == len(model.weights)
    restored = create_model(tiny_options)
    tf.train.Checkpoint(model=restored).read(prefix).assert_consumed()
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_create_model_with_a_dtype_policy(tiny_options):
    import keras

    before = keras.config.dtype_policy().name
    model = create_model(tiny_options, dtype_policy="mixed_bfloat16")
    assert keras.config.dtype_policy().name == before  # restored
    layers = [layer for layer in model._flatten_layers() if layer.weights]
    assert layers and all(layer.compute_dtype == "bfloat16" for layer in layers)
    assert all(w.dtype == "float32" for w in model.weights)
    # Same variables as float32, so the same weights files load.
    plain = create_model(tiny_options)
    assert [w.shape for w in model.weights] == [w.shape for w in plain.weights]


def test_batch_sizes_must_match(tiny_options):
    model = create_model(tiny_options)
    x = np.zeros((1, 16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="same number of frames"):
        model({"x0": x, "x1": np.zeros((2, 16, 16, 3), np.float32), "time": np.zeros((1, 1), np.float32)})
