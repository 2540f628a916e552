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


def _numpy_warp(image, flow):
    """Independent backward warp: out(y, x) = bilinear(image, y + dy, x + dx),
    sample positions clamped to the image (tfa's dense_image_warp border)."""
    h, w = image.shape[:2]
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    qy = np.clip(ys + flow[..., 1].astype(np.float64), 0, h - 1)
    qx = np.clip(xs + flow[..., 0].astype(np.float64), 0, w - 1)
    y0 = np.clip(np.floor(qy).astype(int), 0, h - 2)
    x0 = np.clip(np.floor(qx).astype(int), 0, w - 2)
    ay, ax = (qy - y0)[..., None], (qx - x0)[..., None]
    top = image[y0, x0] * (1 - ax) + image[y0, x0 + 1] * ax
    bottom = image[y0 + 1, x0] * (1 - ax) + image[y0 + 1, x0 + 1] * ax
    return top * (1 - ay) + bottom * ay


@pytest.mark.parametrize("t", [0.0, 0.3, 0.8, 1.0])
def test_time_scales_the_flows_before_the_warp(t):
    """At time t, x0 is warped by t * backward flow and x1 by (1 - t) * forward
    flow; the flows themselves do not depend on t."""
    name = "film_official_tiny"
    model = create_model(reference_options(name))
    load_official_weights(model, reference_dir(name))
    golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
    inputs = {"x0": golden["x0"], "x1": golden["x1"], "time": np.full((2, 1), t, np.float32)}
    outputs = {k: np.asarray(v) if not isinstance(v, list) else v for k, v in model(inputs).items()}
    for i in range(2):
        backward = np.asarray(outputs["backward_flow_pyramid"][0][i])
        forward = np.asarray(outputs["forward_flow_pyramid"][0][i])
        np.testing.assert_allclose(backward, golden["backward_flow_pyramid_0"][i], rtol=0, atol=1e-4)
        np.testing.assert_allclose(
            outputs["x0_warped"][i], _numpy_warp(golden["x0"][i], t * backward), rtol=0, atol=1e-4
        )
        np.testing.assert_allclose(
            outputs["x1_warped"][i], _numpy_warp(golden["x1"][i], (1 - t) * forward), rtol=0, atol=1e-4
        )
    if t == 0.0:  # Nothing moves x0: its warp is x0 itself.
        np.testing.assert_allclose(outputs["x0_warped"], golden["x0"], rtol=0, atol=1e-6)
    # The image does depend on t (it did not before: the official model fixes 0.5).
    assert np.abs(outputs["image"] - golden["image"]).max() > 1e-3


def test_one_time_per_batch_item_and_stages(tiny_options):
    """A batch with one time per item equals separate calls; the stages
    (extract, estimate_flows, synthesize) serve several times of one pair."""
    name = "film_official_tiny"
    model = create_model(reference_options(name))
    load_official_weights(model, reference_dir(name))
    golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
    x0, x1 = golden["x0"][:1], golden["x1"][:1]
    times = np.array([[0.25], [0.5], [0.9]], np.float32)
    batched = model({"x0": np.repeat(x0, 3, 0), "x1": np.repeat(x1, 3, 0), "time": times})["image"]
    net = model.get_layer("film_net")
    frame0, frame1 = net.extract(x0), net.extract(x1)
    flows = net.estimate_flows(frame0, frame1)
    for i, t in enumerate(times[:, 0]):
        alone = model({"x0": x0, "x1": x1, "time": np.full((1, 1), t, np.float32)})["image"]
        staged = net.synthesize(frame0, frame1, flows, np.full((1, 1), t, np.float32))["image"]
        np.testing.assert_allclose(batched[i], alone[0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(staged, alone, rtol=0, atol=1e-5)
    np.testing.assert_allclose(batched[1], golden["image"][0], rtol=0, atol=1e-5)


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
