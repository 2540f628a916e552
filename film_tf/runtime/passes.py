"""The compiled forward passes of an in-memory Keras FILM model (`KerasPasses`).

What `Interpolator` runs and what `execution_choice.measure` times: the whole
pass, and on TensorFlow its stages (`extract`, `flows`, `synthesize`) for
feature reuse and several times of one pair.
"""

from __future__ import annotations

import numpy as np

from film_tf.runtime.tiling import execution_mode


def as_time_batch(time, batch: int) -> np.ndarray:
    """A scalar time or one per batch item as a float32 (batch, 1) array."""
    time = np.asarray(time, np.float32)
    if time.ndim == 0:
        return np.full((batch, 1), time, np.float32)
    return time.reshape(batch, 1)


def model_precision(model) -> str:
    """ "bfloat16" for a `mixed_bfloat16` model, else "float32"."""
    return "bfloat16" if "bfloat16" in str(model.dtype_policy.compute_dtype) else "float32"


class KerasPasses:
    """Compiled passes of an in-memory `create_model` model.

    Calling it is the whole forward pass: aligned float32 batches x0, x1
    (B, H, W, 3) and time (B, 1) (default 0.5) -> the frames at those times
    (B, H, W, 3), numpy. On the TensorFlow backend it also offers the stages of that pass:
    `extract` (one frame's image and feature pyramids), `flows` (the flow
    pyramids of two `extract` results, independent of t) and `synthesize`
    (the frames at times (B, 1) from both), so that a frame's pyramids serve
    both of its pairs and a pair's flows serve every time asked of it;
    `middle` chains the last two.

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
        time_spec = tf.TensorSpec([None, 1], tf.float32)

        # One trace serves every size: H, W and batch are left unknown (XLA
        # still compiles once per concrete shape).
        @tf.function(input_signature=[spec, spec, time_spec], jit_compile=self.jit_compile)
        def forward(x0, x1, time):
            image = model({"x0": x0, "x1": x1, "time": time}, training=False)["image"]
            return tf.cast(image, tf.float32)

        @tf.function(input_signature=[spec], jit_compile=self.jit_compile)
        def extract(x):
            # As FilmNet.__call__ would: inputs in the compute dtype (bfloat16 too).
            image_pyramid, features = net.extract(tf.cast(x, net.compute_dtype))
            return tuple(image_pyramid), tuple(features)

        @tf.function(jit_compile=self.jit_compile, reduce_retracing=True)
        def flows(frame0, frame1):
            return tuple(tuple(f) for f in net.estimate_flows(frame0, frame1))

        @tf.function(jit_compile=self.jit_compile, reduce_retracing=True)
        def synthesize(frame0, frame1, pair_flows, time):
            # time may hold T times per pair (T * B rows, time-major): the
            # pairs' pyramids and flows are tiled T times here, in the graph.
            repeats = tf.shape(time)[0] // tf.shape(frame0[0][0])[0]

            def tiled(tensor):
                return tf.tile(tensor, tf.stack([repeats, 1, 1, 1]))

            frame0, frame1, pair_flows = tf.nest.map_structure(tiled, (frame0, frame1, pair_flows))
            image = net.synthesize(frame0, frame1, pair_flows, time)["image"]
            return tf.cast(image, tf.float32)

        self._forward = lambda x0, x1, time: forward(x0, x1, time).numpy()
        self.extract = extract
        self.flows = flows
        self.synthesize = lambda frame0, frame1, pair_flows, time: synthesize(
            frame0, frame1, pair_flows, tf.constant(time, tf.float32)
        ).numpy()

    @property
    def stages_ready(self) -> bool:
        """Whether `extract`, `flows` and `synthesize` serve calls now: on
        TensorFlow, once an eager first call (if any) has been made."""
        return self.supports_reuse and not self._eager_calls

    def middle(self, frame0, frame1, time=0.5) -> np.ndarray:
        """The frame at `time` (scalar or (B, 1)) of two `extract` results, (B, H, W, 3) numpy."""
        batch = int(frame0[0][0].shape[0])
        return self.synthesize(frame0, frame1, self.flows(frame0, frame1), as_time_batch(time, batch))

    def _eager_forward(self, x0, x1, time):
        from keras import ops

        outputs = self.model({"x0": x0, "x1": x1, "time": time}, training=False)
        return ops.convert_to_numpy(ops.cast(outputs["image"], "float32"))

    def __call__(self, x0: np.ndarray, x1: np.ndarray, time: np.ndarray | None = None) -> np.ndarray:
        time = as_time_batch(0.5 if time is None else time, len(x0))
        if self._eager_calls:
            self._eager_calls -= 1
            return self._eager_forward(x0, x1, time)
        return self._forward(x0, x1, time)
