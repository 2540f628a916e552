"""Per-component checks: shapes, values, get_config round trips."""

import keras
import numpy as np
import pytest

from film_tf.model.feature_extractor import FeatureExtractor, SubTreeExtractor
from film_tf.model.fusion import Fusion
from film_tf.model.image_pyramid import ImagePyramid
from film_tf.model.interpolator import FilmNet
from film_tf.model.options import Options
from film_tf.model.pyramid_flow_estimator import FlowEstimator, PyramidFlowEstimator, upsample_flow
from tests.layer_harness import run_layer_test


@pytest.mark.parametrize("levels", [1, 3, 5])
def test_image_pyramid_is_repeated_2x2_average(levels):
    image = np.random.default_rng(0).random((2, 64, 96, 3)).astype(np.float32)
    pyramid = ImagePyramid(levels)(image)
    assert len(pyramid) == levels
    expected = image
    for _i, level in enumerate(pyramid):
        np.testing.assert_allclose(level, expected, atol=1e-6)
        b, h, w, c = expected.shape
        expected = expected.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


@pytest.mark.parametrize("sub_levels, levels", [(1, 3), (3, 5), (4, 4)])
def test_feature_pyramid_channels(sub_levels, levels):
    filters = 2
    extractor = FeatureExtractor(filters, sub_levels)
    image = np.random.default_rng(0).random((1, 64, 64, 3)).astype(np.float32)
    features = extractor(ImagePyramid(levels)(image))
    sub = [filters << j for j in range(sub_levels)]
    for i, f in enumerate(features):
        assert f.shape == (1, 64 >> i, 64 >> i, sum(sub[: min(i, sub_levels - 1) + 1]))


@pytest.mark.parametrize("size", [(4, 6), (8, 8)])
def test_upsample_flow_equals_tf_resize(size):
    import tensorflow as tf

    flow = np.random.default_rng(0).normal(size=(2, *size, 2)).astype(np.float32)
    expected = tf.image.resize(2 * flow, (2 * size[0], 2 * size[1]), method="bilinear")
    np.testing.assert_allclose(upsample_flow(flow), expected, atol=1e-6)


@pytest.mark.parametrize(
    "layer",
    [
        ImagePyramid(3),
        SubTreeExtractor(4, 3),
        FeatureExtractor(4, 3),
        FlowEstimator(2, 8),
        PyramidFlowEstimator(2, (2, 2, 2), (8, 8, 16)),
        Fusion(4, 2, 4),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_get_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_film_net_serializes(tiny_options):
    layer = FilmNet(tiny_options)
    clone = FilmNet.from_config(layer.get_config())
    assert clone.options == tiny_options


def test_model_config_round_trip(tiny_options, tmp_path):
    from film_tf import create_model

    model = create_model(tiny_options)
    path = str(tmp_path / "film.keras")
    model.save(path)
    restored = keras.models.load_model(path, custom_objects={"FilmNet": FilmNet})
    x = np.random.default_rng(0).random((1, 32, 32, 3)).astype(np.float32)
    inputs = {"x0": x, "x1": x[:, ::-1], "time": np.full((1, 1), 0.5, np.float32)}
    np.testing.assert_allclose(restored(inputs)["image"], model(inputs)["image"], atol=1e-6)


# The shared harness (tests/layer_harness.py) on every layer of the model core.
# `warp` / `dense_image_warp` are functions, not layers (tests/model/warp_test.py).


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_harness_image_pyramid():
    run_layer_test(
        ImagePyramid,
        {"levels": 3},
        _rand(2, 16, 24, 3),
        expected_output_shape=[(2, 16, 24, 3), (2, 8, 12, 3), (2, 4, 6, 3)],
        expected_num_trainable_weights=0,
    )


def test_harness_sub_tree_extractor():
    run_layer_test(
        SubTreeExtractor,
        {"filters": 2, "sub_levels": 3},
        _rand(2, 16, 16, 3),
        call_kwargs={"depth": 3},
        expected_output_shape=[(2, 16, 16, 2), (2, 8, 8, 4), (2, 4, 4, 8)],
        expected_num_trainable_weights=12,  # 3 levels x 2 convs x (kernel, bias)
    )


def test_harness_feature_extractor():
    pyramid = [_rand(2, 16 >> i, 16 >> i, 3, seed=i) for i in range(4)]
    run_layer_test(
        FeatureExtractor,
        {"filters": 2, "sub_levels": 3},
        pyramid,
        # Channels: 2, 2+4, 2+4+8 from level sub_levels - 1 on.
        expected_output_shape=[(2, 16, 16, 2), (2, 8, 8, 6), (2, 4, 4, 14), (2, 2, 2, 14)],
        expected_num_trainable_weights=12,
    )


def test_harness_flow_estimator():
    run_layer_test(
        FlowEstimator,
        {"num_convs": 2, "num_filters": 8},
        (_rand(2, 8, 8, 5), _rand(2, 8, 8, 5, seed=1)),
        expected_output_shape=(2, 8, 8, 2),
        expected_num_trainable_weights=8,  # 2 3x3 convs + two 1x1 convs
    )


def test_harness_pyramid_flow_estimator():
    # 4 levels, 2 specialized: level 3 and 2 share the last estimator.
    channels = [3, 5, 7, 7]
    a = [_rand(2, 16 >> i, 16 >> i, c, seed=i) for i, c in enumerate(channels)]
    b = [_rand(2, 16 >> i, 16 >> i, c, seed=10 + i) for i, c in enumerate(channels)]
    run_layer_test(
        PyramidFlowEstimator,
        {"specialized_levels": 2, "flow_convs": [2, 2, 2], "flow_filters": [8, 8, 16]},
        (a, b),
        expected_output_shape=[(2, 16 >> i, 16 >> i, 2) for i in range(4)],
        expected_num_trainable_weights=24,  # 3 estimators x 4 convs x 2
    )


def test_harness_fusion():
    pyramid = [_rand(2, 16 >> i, 16 >> i, c, seed=i) for i, c in enumerate([6, 10, 14])]
    run_layer_test(
        Fusion,
        {"fusion_levels": 3, "specialized_levels": 2, "filters": 2},
        pyramid,
        expected_output_shape=(2, 16, 16, 3),
        expected_num_trainable_weights=14,  # 2 levels x 3 convs + the output conv
    )


def test_harness_film_net(tiny_options):
    from film_tf.model.interpolator import AUX_OUTPUTS

    inputs = {
        "x0": _rand(1, 32, 16, 3),
        "x1": _rand(1, 32, 16, 3, seed=1),
        "time": np.full((1, 1), 0.5, np.float32),
    }
    levels, fusion_levels = tiny_options.pyramid_levels, tiny_options.fusion_pyramid_levels
    expected = {"image": (1, 32, 16, 3), "x0_warped": (1, 32, 16, 3), "x1_warped": (1, 32, 16, 3)}
    for key in ("forward_residual_flow_pyramid", "backward_residual_flow_pyramid"):
        expected[key] = [(1, 32 >> i, 16 >> i, 2) for i in range(levels)]
    for key in ("forward_flow_pyramid", "backward_flow_pyramid"):
        expected[key] = [(1, 32 >> i, 16 >> i, 2) for i in range(fusion_levels)]
    assert set(expected) == {"image", *AUX_OUTPUTS}
    run_layer_test(
        FilmNet,
        {"options": tiny_options},
        inputs,
        expected_output_shape=expected,
        # 6 feature convs, 3 flow estimators x 4 convs, 3 x 3 + 1 fusion convs.
        expected_num_trainable_weights=2 * (6 + 12 + 10),
    )


class _Unregistered(keras.layers.Layer):
    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_harness_fails_on_an_unregistered_layer():
    with pytest.raises(AssertionError, match="not registered"):
        run_layer_test(_Unregistered, {"units": 2}, _rand(2, 3), (2, 2), 2)


def test_harness_fails_on_a_wrong_weight_count():
    with pytest.raises(AssertionError):
        run_layer_test(
            FlowEstimator, {"num_convs": 1, "num_filters": 4}, (_rand(1, 4, 4, 1),) * 2, (1, 4, 4, 2), 8
        )


def test_every_model_layer_is_registered():
    import film_tf.model.interpolator
    from film_tf.model.winograd import Conv3x3

    layers = {
        type(layer)
        for layer in FilmNet(Options())._flatten_layers()
        if type(layer).__module__.startswith("film_tf")
    }
    assert layers == {
        ImagePyramid,
        SubTreeExtractor,
        FeatureExtractor,
        FlowEstimator,
        PyramidFlowEstimator,
        Fusion,
        FilmNet,
        Conv3x3,  # class name Conv2D: Keras keys list-held layers' weights by class name
    }
    for cls in layers:
        assert keras.saving.get_registered_object(f"film_tf>{cls.__name__}") is cls
    assert film_tf.model.interpolator.AUX_OUTPUTS


def test_keras_file_round_trip_without_custom_objects(tmp_path):
    """The official tiny model saved as .keras loads with no custom_objects and gives the same outputs."""
    import os

    from film_tf import create_model, load_official_weights
    from tests.conftest import reference_dir, reference_options

    model = create_model(reference_options("film_official_tiny"))
    load_official_weights(model, reference_dir("film_official_tiny"))
    path = str(tmp_path / "film.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    golden = np.load(os.path.join(reference_dir("film_official_tiny"), "golden.npz"))
    inputs = {k: golden[k] for k in ("x0", "x1", "time")}
    expected, actual = model(inputs), restored(inputs)
    assert set(actual) == set(expected)
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(e))
    np.testing.assert_allclose(actual["image"], golden["image"], rtol=0, atol=1e-5)
