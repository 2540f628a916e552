"""Per-component checks: shapes, values, get_config round trips."""

import keras
import numpy as np
import pytest

from film_tf.feature_extractor import FeatureExtractor, SubTreeExtractor
from film_tf.fusion import Fusion
from film_tf.image_pyramid import ImagePyramid
from film_tf.interpolator import FilmNet
from film_tf.pyramid_flow_estimator import FlowEstimator, PyramidFlowEstimator, upsample_flow


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
