"""The analytic multiply-add count equals one measured from the running model."""

import numpy as np
import pytest

from film_tf import Options, create_model
from film_tf.model.cost import conv_macs


def measured_macs(options, height, width):
    """Counts MACs of every Conv2D call by intercepting it while the model runs."""
    import keras

    total = 0
    original = keras.layers.Conv2D.call

    def counting_call(self, inputs):
        nonlocal total
        out = original(self, inputs)
        kh, kw, cin, cout = self.kernel.shape
        total += int(np.prod(out.shape[:3])) * kh * kw * cin * cout
        return out

    keras.layers.Conv2D.call = counting_call
    try:
        model = create_model(options)
        x = np.zeros((1, height, width, 3), np.float32)
        model({"x0": x, "x1": x, "time": np.full((1, 1), 0.5, np.float32)})
    finally:
        keras.layers.Conv2D.call = original
    return total


@pytest.mark.parametrize("size", [(32, 48), (64, 64)])
def test_matches_measured_count(tiny_options, size):
    assert conv_macs(tiny_options, *size)["total"] == measured_macs(tiny_options, *size)


def test_released_configuration_is_about_2_1m_macs_per_pixel():
    macs = conv_macs(Options(), 1088, 1920)["total"]
    assert 2.0e6 < macs / (1088 * 1920) < 2.2e6
