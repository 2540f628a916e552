"""The compiled forward passes of an in-memory Keras FILM model (`KerasPasses`).

What `Interpolator` runs and what `execution_choice.measure` times: the whole
pass, and on TensorFlow its two halves (`extract`, `middle`) for recursive
interpolation's feature reuse.
"""

from __future__ import annotations

import numpy as np

from film_tf.runtime.tiling import execution_mode


def model_precision(model) -> str:
    """ "bfloat16" for a `mixed_bfloat16` model, else "float32"."""
    return "bfloat16" if "bfloat16" in str(model.dtype_policy.compute_dtype) else "float32"


class KerasPasses:
    """Compiled passes of an in-memory `create_model` model.

    Calling it is the whole forward pass: aligned float32 batches x0, x1
    (B, H, W, 3) -> middle frames (B, H, W, 3), numpy. On the TensorFlow
    backend it also offers the two halves of that pass, `extract` (one
    frame's image and feature pyramids) and `middle` (the middle frame of two
    `extract` results), so that recursive interpolation can reuse a frame's
    pyramids for both of its pairs.

    Args:
      model: a `create_model` model.
      jit_compile: XLA-compile the passes (TensorFlow backend only).
      eager_first_call: run the first whole-pass call eagerly and trace (or
        compile) only from the second on: for one-shot callers, where tracing
        costs more than the graph saves on one call. Results equal the
        traced pass's up to float rounding.
    """

    def __init__(self, model, jit_compile: bool = False, eager_first_call: bool = False):
        import keras

        self.model = model
        self._eager_calls = 1 if eager_first_call else 0
        self.supports_reuse = keras.backend.backend() == "tensorflow"
        # Other backends run eagerly: no XLA, whatever was asked.
        self.jit_compile = jit_compile and self.supports_reuse
        from film_tf.model.winograd import winograd_layer_count

        self.mode = execution_mode(model_precision(model), self.jit_compile, winograd_layer_count(model) > 0)
        if not self.supports_reuse:
            self._forward = self._eager_forward
            return
        import tensorflow as tf

        from film_tf.formats.official_weights import find_film_layer

        net = find_film_layer(model)
        spec = tf.TensorSpec([None, None, None, 3], tf.float32)

        def half_time(x):
            return tf.fill([tf.shape(x)[0], 1], 0.5)

        # One trace serves every size: H, W and batch are left unknown (XLA
        # still compiles once per concrete shape).
        @tf.function(input_signature=[spec, spec], jit_compile=self.jit_compile)
        def forward(x0, x1):
            image = model({"x0": x0, "x1": x1, "time": half_time(x0)}, training=False)["image"]
            return tf.cast(image, tf.float32)

        @tf.function(input_signature=[spec], jit_compile=self.jit_compile)
        def extract(x):
            # As FilmNet.__call__ would: inputs in the compute dtype (bfloat16 too).
            image_pyramid, features = net.extract(tf.cast(x, net.compute_dtype))
            return tuple(image_pyramid), tuple(features)

        @tf.function(jit_compile=self.jit_compile, reduce_retracing=True)
        def middle(frame0, frame1):
            image = net.interpolate(frame0, frame1, half_time(frame0[0][0]))["image"]
            return tf.cast(image, tf.float32)

        self._forward = lambda x0, x1: forward(x0, x1).numpy()
        self.extract = extract
        self.middle = lambda frame0, frame1: middle(frame0, frame1).numpy()

    def _eager_forward(self, x0, x1):
        from keras import ops

        time = np.full((x0.shape[0], 1), 0.5, np.float32)
        outputs = self.model({"x0": x0, "x1": x1, "time": time}, training=False)
        return ops.convert_to_numpy(ops.cast(outputs["image"], "float32"))

    def __call__(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        if self._eager_calls:
            self._eager_calls -= 1
            return self._eager_forward(x0, x1)
        return self._forward(x0, x1)
