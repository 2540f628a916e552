"""film_tf.model.winograd: Winograd F(2x2,3x3) / F(4x4,3x3) equal the direct convolution."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from film_tf import create_model, load_official_weights
from film_tf.formats.official_weights import official_variable_specs
from film_tf.model.feature_extractor import conv3x3, leaky_relu
from film_tf.model.winograd import (
    ALGORITHMS,
    Conv3x3,
    conv3x3_layers,
    fastest_algorithm_rule,
    set_conv_algorithm,
    transform_kernel,
    transform_matrices,
    winograd_conv3x3,
)
from tests.conftest import reference_dir, reference_options
from tests.layer_harness import run_layer_test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = "film_official_tiny"


def reference_conv(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3x3 "same" correlation in float64, from its definition (independent of any backend)."""
    b, h, w, _ = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((b, h, w, kernel.shape[-1]))
    for i in range(3):
        for j in range(3):
            out += xp[:, i : i + h, j : j + w] @ kernel[i, j].astype(np.float64)
    return out


def _case(shape, cout, seed=0):
    rng = np.random.default_rng(seed)
    cin = shape[-1]
    limit = np.sqrt(6 / (9 * (cin + cout)))  # Glorot uniform, as the model's kernels
    x = rng.random(shape, dtype=np.float32)
    kernel = rng.uniform(-limit, limit, (3, 3, cin, cout)).astype(np.float32)
    return x, kernel, rng.uniform(-0.5, 0.5, cout).astype(np.float32)


@pytest.mark.parametrize("m", [2, 4])
def test_transform_matrices_are_exact(m):
    """AT [(G g G^T) * (BT d BT^T)] AT^T is the 3x3 correlation of one tile (float64)."""
    bt, g, at = transform_matrices(m)
    rng = np.random.default_rng(m)
    for _ in range(5):
        d, k = rng.normal(size=(m + 2, m + 2)), rng.normal(size=(3, 3))
        y = at @ ((g @ k @ g.T) * (bt @ d @ bt.T)) @ at.T
        expected = [[(d[i : i + 3, j : j + 3] * k).sum() for j in range(m)] for i in range(m)]
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="2 or 4"):
        transform_matrices(3)


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize(
    "shape, cout",
    [
        ((1, 7, 9, 3), 5),
        ((2, 8, 8, 16), 16),
        ((1, 13, 6, 32), 8),
        ((1, 5, 11, 256), 64),
        ((2, 12, 10, 64), 256),
    ],
)
def test_winograd_equals_the_convolution(m, shape, cout):
    """Odd and even sizes, 3..256 channels: within 1e-5 of the output's scale, like the direct conv."""
    x, kernel, bias = _case(shape, cout)
    expected = reference_conv(x, kernel) + bias
    scale = np.abs(expected).max()
    actual = np.asarray(winograd_conv3x3(x, kernel, bias, m))
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= 1e-5 * scale
    direct = np.asarray(keras.ops.conv(x, kernel, padding="same")) + bias
    assert np.abs(direct - expected).max() <= 1e-5 * scale
    # A kernel transformed beforehand gives the same result.
    again = winograd_conv3x3(x, kernel, bias, m, transformed_kernel=transform_kernel(kernel, m))
    np.testing.assert_allclose(np.asarray(again), actual, rtol=0, atol=1e-6 * scale)


def test_winograd_with_unknown_sizes_in_a_graph():
    """H, W and batch unknown at trace time, as in the Interpolator's tf.functions."""
    import tensorflow as tf

    x, kernel, _ = _case((2, 9, 14, 8), 12)
    spec = tf.TensorSpec([None, None, None, 8], tf.float32)
    fn = tf.function(lambda t: winograd_conv3x3(t, kernel, None, 4), input_signature=[spec])
    for size in [(2, 9, 14), (1, 16, 5)]:
        inputs = x[: size[0], : size[1], : size[2]]
        expected = reference_conv(inputs, kernel)
        np.testing.assert_allclose(fn(inputs).numpy(), expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_conv3x3_is_a_conv2d_with_the_same_weights():
    layer = conv3x3(6, "conv_0")
    assert isinstance(layer, Conv3x3) and isinstance(layer, keras.layers.Conv2D)
    assert layer.algorithm == "direct" and layer.name == "conv_0"
    x, kernel, bias = _case((2, 10, 7, 4), 6)
    layer.build(x.shape)
    plain = keras.layers.Conv2D(6, 3, padding="same", activation=leaky_relu, name="conv_0")
    plain.build(x.shape)
    assert [(v.path, v.shape) for v in layer.weights] == [(v.path, v.shape) for v in plain.weights]
    layer.set_weights([kernel, bias])
    plain.set_weights([kernel, bias])
    expected = np.asarray(plain(x))
    np.testing.assert_array_equal(np.asarray(layer(x)), expected)
    for algorithm in ("winograd2", "winograd4"):
        layer.algorithm = algorithm
        np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=0, atol=1e-5)


def test_conv3x3_config_round_trip_and_errors():
    layer = Conv3x3(8, algorithm="winograd4", activation=leaky_relu, name="c")
    config = layer.get_config()
    assert config["algorithm"] == "winograd4"
    clone = Conv3x3.from_config(config)
    assert clone.algorithm == "winograd4" and clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is Conv3x3 and restored.algorithm == "winograd4"
    assert keras.saving.get_registered_object("film_tf>Conv2D") is Conv3x3
    with pytest.raises(ValueError, match="algorithm must be one of"):
        Conv3x3(8, algorithm="fft")
    with pytest.raises(ValueError, match="3x3, stride 1"):
        Conv3x3(8, kernel_size=5)
    with pytest.raises(ValueError, match="3x3, stride 1"):
        Conv3x3(8, strides=2)


def test_conv3x3_harness():
    run_layer_test(
        Conv3x3,
        {"filters": 5, "algorithm": "winograd4", "activation": "relu"},
        np.random.default_rng(0).random((2, 9, 6, 3)).astype(np.float32),
        (2, 9, 6, 5),
        2,
        expected_mixed_dtype="bfloat16",
        atol=1e-5,
    )


def test_bfloat16_layers_compute_directly():
    x, kernel, bias = _case((1, 8, 8, 4), 4)
    layer = Conv3x3(4, algorithm="winograd4", dtype="mixed_bfloat16")
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    direct = Conv3x3(4, dtype="mixed_bfloat16")
    direct.build(x.shape)
    direct.set_weights([kernel, bias])
    np.testing.assert_array_equal(np.asarray(layer(x), np.float32), np.asarray(direct(x), np.float32))


def test_freeze_caches_the_transformed_kernel_until_reset():
    x, kernel, bias = _case((1, 8, 9, 4), 3)
    layer = Conv3x3(3, algorithm="winograd4")
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    layer.freeze()
    assert layer.frozen
    before = np.asarray(layer(x))
    layer.set_weights([2 * kernel, bias])
    np.testing.assert_array_equal(np.asarray(layer(x)), before)  # the cache, as documented
    assert set_conv_algorithm(layer, "winograd4") == 0 and not layer.frozen
    np.testing.assert_allclose(np.asarray(layer(x)), reference_conv(x, 2 * kernel) + bias, rtol=0, atol=1e-5)
    layer.algorithm = "direct"
    layer.freeze()
    assert not layer.frozen


@pytest.fixture(scope="module")
def tiny():
    model = create_model(reference_options(TINY))
    load_official_weights(model, reference_dir(TINY))
    golden = np.load(os.path.join(reference_dir(TINY), "golden.npz"))
    return model, golden


def test_every_3x3_kernel_is_a_conv3x3(tiny):
    model, _ = tiny
    specs = official_variable_specs(reference_options(TINY))
    kernels_3x3 = [name for name, shape in specs if name.endswith("kernel:0") and shape[:2] == (3, 3)]
    assert len(conv3x3_layers(model)) == len(kernels_3x3) == 18


@pytest.mark.parametrize("algorithm, freeze", [("winograd2", False), ("winograd4", True)])
def test_whole_model_with_winograd_matches_direct(tiny, algorithm, freeze):
    """The official tiny model: every output within 1e-4 of the direct path (and of the official one)."""
    model, golden = tiny
    inputs = {k: golden[k] for k in ("x0", "x1", "time")}
    expected = keras.tree.flatten(model(inputs))
    try:
        assert set_conv_algorithm(model, algorithm, freeze=freeze) == 18
        assert all(layer.frozen == freeze for layer in conv3x3_layers(model))
        actual = model(inputs)
    finally:
        assert set_conv_algorithm(model, "direct") == 18
    for a, e in zip(keras.tree.flatten(actual), expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=0, atol=1e-4)
    np.testing.assert_allclose(np.asarray(actual["image"]), golden["image"], rtol=0, atol=1e-4)


def test_interpolator_with_winograd_matches_direct(tiny):
    from film_tf.runtime.inference import Interpolator

    model, golden = tiny
    x0, x1 = golden["x0"][:1], golden["x1"][:1]  # 64x96: aligned, so no padding
    image = model({"x0": x0, "x1": x1, "time": np.full((1, 1), 0.5, np.float32)})["image"]
    expected = np.clip(np.asarray(image)[0], 0, 1)
    x0, x1 = x0[0], x1[0]
    try:
        set_conv_algorithm(model, "winograd4", freeze=True)
        actual = Interpolator.from_model(model)(x0, x1)
    finally:
        set_conv_algorithm(model, "direct")
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-4)


def test_existing_weights_files_still_load():
    """Keras keys a list-held layer's weights by its class name: it must stay `conv2d`."""
    import film_tf
    from film_tf.formats import model_io

    model = film_tf.load_model()  # the bundled .weights.h5, written with keras Conv2D layers
    assert set_conv_algorithm(model, "winograd4") == len(conv3x3_layers(model)) > 0
    fresh = model_io.load_model()
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert Conv3x3.__name__ == "Conv2D"


def test_weights_load_whatever_the_algorithm(tiny, tmp_path):
    model, golden = tiny
    options = reference_options(TINY)
    path = str(tmp_path / "tiny.weights.h5")
    model.save_weights(path)
    other = create_model(options)
    set_conv_algorithm(other, "winograd4")
    other.load_weights(path)
    for a, b in zip(model.weights, other.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    official = create_model(options)
    set_conv_algorithm(official, "winograd2")
    load_official_weights(official, reference_dir(TINY))
    image = official({k: golden[k] for k in ("x0", "x1", "time")})["image"]
    np.testing.assert_allclose(np.asarray(image), golden["image"], rtol=0, atol=1e-4)


def test_set_conv_algorithm_by_mapping_and_rule(tiny):
    model, _ = tiny
    layers = conv3x3_layers(model)
    try:
        assert set_conv_algorithm(model, {layers[0].path: "winograd2", "no/such/layer": "winograd4"}) == 1
        assert [layer.algorithm for layer in layers[:2]] == ["winograd2", "direct"]

        def wide(layer):
            return "winograd4" if layer.kernel.shape[2] * layer.kernel.shape[3] >= 256 else "direct"

        changed = set_conv_algorithm(model, wide)
        chosen = [layer.algorithm for layer in layers]
        assert changed == 1 + chosen[1:].count("winograd4")  # layers[0] leaves winograd2
        assert 0 < chosen.count("winograd4") < len(layers)
        for jit_compile in (False, True):
            set_conv_algorithm(model, fastest_algorithm_rule(jit_compile))
            assert all(layer.algorithm in ALGORITHMS for layer in layers)
    finally:
        set_conv_algorithm(model, "direct")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_winograd_on_jax():
    """The layer on the JAX backend (eager and jitted) against the float64 definition.

    (The whole model on JAX is tests/model/jax_backend_test.py; it takes minutes there.)
    """
    code = """
import json, jax, numpy as np, keras
from film_tf.model.winograd import Conv3x3, set_conv_algorithm
from tests.model.winograd_test import _case, reference_conv
x, kernel, bias = _case((2, 11, 6, 8), 5)
expected = reference_conv(x, kernel) + bias
errors = {}
for algorithm in ("winograd2", "winograd4"):
    layer = Conv3x3(5, algorithm=algorithm)
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    errors[algorithm] = float(np.abs(np.asarray(layer(x)) - expected).max())
    set_conv_algorithm(layer, algorithm, freeze=True)
    errors[algorithm + "_jit"] = float(np.abs(np.asarray(jax.jit(layer)(x)) - expected).max())
print(json.dumps({"backend": keras.backend.backend(), "scale": float(np.abs(expected).max()), **errors}))
"""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome.pop("backend") == "jax"
    scale = outcome.pop("scale")
    assert len(outcome) == 4 and max(outcome.values()) <= 1e-5 * scale, outcome
