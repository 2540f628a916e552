"""film-export SavedModels called the way the official film_net SavedModel is
(issue 34): `model(inputs, training=False)` as the official
eval/interpolator.py does, and `hub.load(path)(inputs)` as the TF Hub
tutorial for google/film/1 does, with inputs {'x0', 'x1', 'time' (B, 1)}.

The calling code below is written to that convention (nothing of film_tf
is used on the calling side): it loads the export with TensorFlow or
tensorflow_hub only and reads ['image'].
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from film_tf import create_model, load_official_weights, serving
from film_tf.serving.module import AUX_SERVING_OUTPUTS
from tests.conftest import reference_dir, reference_options, video_frames
from tests.serving.export_test import keras_reference

HEIGHT, WIDTH = 37, 53  # Odd: the export pads.
TIMES = np.array([[0.3], [0.7]], np.float32)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """{'float32': (path, model) with auxiliary outputs, 'bfloat16': (path,
    model) of a mixed_bfloat16 model without them}, the official tiny weights."""
    tmp = tmp_path_factory.mktemp("official_call")
    result = {}
    for precision, policy, aux in (("float32", None, True), ("bfloat16", "mixed_bfloat16", False)):
        model = create_model(
            reference_options("film_official_tiny", use_aux_outputs=aux), dtype_policy=policy
        )
        load_official_weights(model, reference_dir("film_official_tiny"))
        path = serving.export_saved_model(model, str(tmp / precision))
        result[precision] = (path, model)
    return result


@pytest.fixture(scope="module")
def pairs():
    """Two real pairs (bikes.mp4, frames 0 and 2), odd-sized crops, float32 in [0, 1]."""
    frames = video_frames("bikes.mp4", 0, 3, 1).astype(np.float32) / 255
    crops = [
        (slice(100, 100 + HEIGHT), slice(300, 300 + WIDTH)),
        (slice(20, 20 + HEIGHT), slice(500, 500 + WIDTH)),
    ]
    x0 = np.stack([frames[0][r, c] for r, c in crops])
    x1 = np.stack([frames[2][r, c] for r, c in crops])
    return x0, x1


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_dict_call_equals_the_signatures(exports, pairs, precision):
    path, model = exports[precision]
    x0, x1 = pairs
    loaded = tf.saved_model.load(path)
    inputs = {"x0": x0, "x1": x1, "time": TIMES}
    called = loaded(inputs, training=False)  # The official eval/interpolator.py's call.
    default = loaded.signatures["serving_default"](
        x0=tf.constant(x0), x1=tf.constant(x1), time=tf.constant(TIMES)
    )
    aux = precision == "float32"
    assert set(called) == ({"image", *AUX_SERVING_OUTPUTS} if aux else {"image"})
    assert called["image"].dtype == tf.float32 and called["image"].shape == (2, HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(called["image"].numpy(), default["image"].numpy())
    if aux:
        served_aux = loaded.signatures["serving_aux"](
            x0=tf.constant(x0), x1=tf.constant(x1), time=tf.constant(TIMES)
        )
        for key in AUX_SERVING_OUTPUTS:
            np.testing.assert_array_equal(called[key].numpy(), served_aux[key].numpy(), err_msg=key)
    # Without `training` (TF Hub's call) and with training=True: the same graph.
    np.testing.assert_array_equal(loaded(inputs)["image"].numpy(), called["image"].numpy())
    np.testing.assert_array_equal(loaded(inputs, training=True)["image"].numpy(), called["image"].numpy())

    # It is the model at those times: Keras (float32 here) agrees, the midpoint does not.
    reference = create_model(reference_options("film_official_tiny", use_aux_outputs=False))
    load_official_weights(reference, reference_dir("film_official_tiny"))
    expected = keras_reference(reference, x0, x1, time=TIMES)["image"]
    tolerance = 1e-5 if precision == "float32" else 2e-2  # bfloat16 keeps about 3 digits.
    np.testing.assert_allclose(called["image"].numpy(), expected, rtol=0, atol=tolerance)
    midpoint = keras_reference(reference, x0, x1)["image"]
    assert np.abs(called["image"].numpy() - midpoint).max() > 2 * tolerance


class OfficialStyleInterpolator:
    """The official eval/interpolator.py's calling convention, written anew:
    load with tf.saved_model.load, optionally zero-pad to `align` with
    tf.image.pad_to_bounding_box, call model({'x0', 'x1', 'time': dt[...,
    None]}, training=False), read ['image'], crop back."""

    def __init__(self, model_path: str, align: int | None = None):
        self._model = tf.saved_model.load(model_path)
        self._align = align

    def __call__(self, x0: np.ndarray, x1: np.ndarray, dt: np.ndarray) -> np.ndarray:
        height, width = x0.shape[1:3]
        if self._align:
            pad_h, pad_w = -height % self._align, -width % self._align
            box = dict(offset_height=pad_h // 2, offset_width=pad_w // 2)
            x0 = tf.image.pad_to_bounding_box(
                x0, **box, target_height=height + pad_h, target_width=width + pad_w
            )
            x1 = tf.image.pad_to_bounding_box(
                x1, **box, target_height=height + pad_h, target_width=width + pad_w
            )
        image = self._model({"x0": x0, "x1": x1, "time": dt[..., np.newaxis]}, training=False)["image"]
        if self._align:
            image = tf.image.crop_to_bounding_box(image, **box, target_height=height, target_width=width)
        return image.numpy()


def test_official_interpolator_convention_runs_on_an_export(exports, pairs):
    path, _ = exports["float32"]
    x0, x1 = pairs
    dt = TIMES[:, 0]  # (B,), as the official class takes it.
    signature = tf.saved_model.load(path).signatures["serving_default"]

    # No align: the export pads itself (reflection), so this is serving_default.
    image = OfficialStyleInterpolator(path)(x0, x1, dt)
    expected = signature(x0=tf.constant(x0), x1=tf.constant(x1), time=tf.constant(TIMES))["image"].numpy()
    np.testing.assert_array_equal(image, expected)

    # align=64, the official commands' padding (zeros), then cropped back.
    padded = OfficialStyleInterpolator(path, align=64)(x0, x1, dt)
    assert padded.shape == (2, HEIGHT, WIDTH, 3)
    z0 = np.pad(x0, ((0, 0), (13, 14), (5, 6), (0, 0)))  # 37 -> 64, 53 -> 64, centred as the official code.
    z1 = np.pad(x1, ((0, 0), (13, 14), (5, 6), (0, 0)))
    zero_padded = signature(x0=tf.constant(z0), x1=tf.constant(z1), time=tf.constant(TIMES))["image"].numpy()
    np.testing.assert_array_equal(padded, zero_padded[:, 13 : 13 + HEIGHT, 5 : 5 + WIDTH])


def test_tf_hub_tutorial_calling_code_runs_on_an_export(exports, pairs, tmp_path):
    hub = pytest.importorskip("tensorflow_hub")
    path, _ = exports["float32"]
    x0, x1 = pairs
    files = []
    for index, frame in enumerate((x0[0], x1[0])):
        files.append(str(tmp_path / f"frame{index}.png"))
        tf.io.write_file(files[-1], tf.io.encode_png(tf.cast(tf.round(frame * 255), tf.uint8)))

    # The tutorial: images read and scaled to [0, 1], time (1, 1), model(input)['image'].
    def load_image(file):
        image = tf.io.decode_image(tf.io.read_file(file), channels=3)
        return tf.cast(image, dtype=tf.float32).numpy() / 255.0

    model = hub.load(path)
    image1, image2 = load_image(files[0]), load_image(files[1])
    time = np.array([0.5], dtype=np.float32)
    inputs = {
        "time": np.expand_dims(time, axis=0),
        "x0": np.expand_dims(image1, 0),
        "x1": np.expand_dims(image2, 0),
    }
    mid_frame = model(inputs)
    frame = mid_frame["image"][0].numpy()

    signature = tf.saved_model.load(path).signatures["serving_default"]
    expected = signature(
        x0=tf.constant(image1[None]), x1=tf.constant(image2[None]), time=tf.constant([[0.5]])
    )["image"][0].numpy()
    assert frame.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(frame, expected)
    assert np.abs(frame - image1).max() > 1e-2  # An interpolation, not a copy of an input.


def test_film_tf_interpolator_runs_the_export_at_any_time(exports, pairs):
    """film_tf.Interpolator on a film-export (formats/exported_saved_model)
    passes `time` through: per-item times equal the dict call's."""
    from film_tf import Interpolator

    path, _ = exports["float32"]
    x0, x1 = pairs
    expected = tf.saved_model.load(path)({"x0": x0, "x1": x1, "time": TIMES})["image"].numpy()
    image = Interpolator(path)(x0, x1, time=TIMES[:, 0])
    np.testing.assert_allclose(image, np.clip(expected, 0, 1), rtol=0, atol=1e-5)
