"""film_tf.model.warp against tfa.image.dense_image_warp (warp_golden.npz)."""

import os

import numpy as np
import pytest
import tensorflow as tf

from film_tf.model.warp import dense_image_warp, warp
from tests.conftest import TESTDATA

GOLDEN = np.load(os.path.join(TESTDATA, "warp_golden.npz"))


@pytest.mark.parametrize("case", ["small", "far", "wide"])
@pytest.mark.parametrize(
    "fn, output_key, grad_prefix",
    [(dense_image_warp, "tfa_dense_image_warp", "tfa"), (warp, "film_warp", "film")],
)
def test_matches_golden_values_and_gradients(case, fn, output_key, grad_prefix):
    image, flow, weight = (tf.constant(GOLDEN[f"{case}/{k}"]) for k in ("image", "flow", "weight"))
    with tf.GradientTape() as tape:
        tape.watch([image, flow])
        out = fn(image, flow)
        loss = tf.reduce_sum(out * weight)
    grad_image, grad_flow = tape.gradient(loss, [image, flow])
    np.testing.assert_allclose(out, GOLDEN[f"{case}/{output_key}"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(grad_image, GOLDEN[f"{case}/{grad_prefix}_grad_image"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(grad_flow, GOLDEN[f"{case}/{grad_prefix}_grad_flow"], rtol=0, atol=1e-5)


def test_integer_translation_moves_pixels():
    image = np.random.default_rng(0).random((1, 8, 9, 2)).astype(np.float32)
    flow = np.zeros((1, 8, 9, 2), np.float32)
    flow[..., 0] = 2.0  # dx: output(y, x) = image(y, x + 2)
    out = np.asarray(warp(image, flow))
    np.testing.assert_allclose(out[:, :, :-2], image[:, :, 2:], atol=1e-6)
    # Beyond the border the last column is repeated.
    np.testing.assert_allclose(out[:, :, -1], image[:, :, -1], atol=1e-6)


def test_dynamic_shapes_in_tf_function():
    fn = tf.function(
        warp, input_signature=[tf.TensorSpec([None, None, None, 3]), tf.TensorSpec([None, None, None, 2])]
    )
    case = "wide"
    image = GOLDEN[f"{case}/image"][..., :3]
    flow = GOLDEN[f"{case}/flow"]
    np.testing.assert_allclose(fn(image, flow), warp(image, flow), atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_reduced_precision(dtype):
    """Mixed-precision training warps float16/bfloat16 features: the result
    equals the float32 warp of the same (rounded) inputs up to one rounding."""
    image = tf.cast(GOLDEN["small/image"], dtype)
    flow = tf.cast(GOLDEN["small/flow"], dtype)
    out = warp(image, flow)
    assert out.dtype == tf.as_dtype(dtype)
    expected = warp(tf.cast(image, tf.float32), tf.cast(flow, tf.float32))
    tolerance = {"float16": 1e-3, "bfloat16": 8e-3}[dtype]
    np.testing.assert_allclose(tf.cast(out, tf.float32), expected, atol=tolerance)
