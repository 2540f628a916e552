"""The serving module: what a film_tf SavedModel holds, and its signatures.

All signatures are built from core TensorFlow ops (the warp is keras.ops
gathers), so no custom op library is needed by a stock model server:

  serving_default     x0, x1: float32 (B, H, W, 3) in [0, 1]; time: float32
                      (B, 1) -> image: float32 (B, H, W, 3).
  serving_bytes       encoded_x0, encoded_x1: string (B,) PNG/JPEG/BMP/GIF
                      bytes -> encoded_image: string (B,) 8-bit RGB PNGs of
                      the midpoint (t = 0.5; no `time` input).
  serving_bytes_rest  the same, but the output is named encoded_image_bytes:
                      TF Serving's REST API base64-encodes only outputs whose
                      name ends in `_bytes`, so REST clients use this one.
  serving_aux         (models built with use_aux_outputs) the inputs of
                      serving_default -> image, the warped inputs x0_warped,
                      x1_warped (B, H, W, 3) and the finest level of each
                      flow pyramid, forward_flow, backward_flow (B, H, W, 2),
                      channels (dx, dy), in pixels.

The module itself is callable the way the official film_net SavedModel (and
TF Hub's google/film/1) is: `tf.saved_model.load(export)(inputs,
training=False)` or `hub.load(export)(inputs)`, with inputs the dict {'x0',
'x1', 'time'} of serving_default's inputs, returns serving_default's outputs
(serving_aux's where the export has them) as a dict. `training` is accepted
and ignored: film_net has no layer that acts differently in training.

H and W may be anything: the graph pads the inputs to the model's alignment
(`film_tf.runtime.padding.pad_to_alignment_tf`, as the Python `Interpolator` pads)
and crops the outputs back.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from film_tf.formats.options_io import model_options
from film_tf.model.interpolator import FLOW_OUTPUTS, WARPED_OUTPUTS
from film_tf.runtime import padding

SIGNATURE_DEFAULT = "serving_default"
SIGNATURE_BYTES = "serving_bytes"
SIGNATURE_BYTES_REST = "serving_bytes_rest"
SIGNATURE_AUX = "serving_aux"
# serving_aux output -> model output: the warped inputs as they are, the
# finest level of each flow pyramid (named without "_pyramid"). The residual
# flows are the estimator's internals, summed into the flows: not served.
AUX_SERVING_OUTPUTS = {
    **{name: name for name in WARPED_OUTPUTS},
    **{name.removesuffix("_pyramid"): name for name in FLOW_OUTPUTS},
}
_FLOAT_INPUTS = ["x0", "x1", "time"]
_BYTES_INPUTS = ["encoded_x0", "encoded_x1"]


def signature_io(use_aux_outputs: bool) -> dict[str, dict[str, list[str]]]:
    """{signature: {'inputs': [...], 'outputs': [...]}} of an export."""
    io = {
        SIGNATURE_DEFAULT: {"inputs": _FLOAT_INPUTS, "outputs": ["image"]},
        SIGNATURE_BYTES: {"inputs": _BYTES_INPUTS, "outputs": ["encoded_image"]},
        SIGNATURE_BYTES_REST: {"inputs": _BYTES_INPUTS, "outputs": ["encoded_image_bytes"]},
    }
    if use_aux_outputs:
        io[SIGNATURE_AUX] = {"inputs": _FLOAT_INPUTS, "outputs": ["image", *AUX_SERVING_OUTPUTS]}
    return io


def _image_spec(name: str, height: int | None = None, width: int | None = None) -> tf.TensorSpec:
    return tf.TensorSpec([None, height, width, 3], tf.float32, name=name)


def aligned_image_function(model, height: int | None = None, width: int | None = None):
    """The bare forward pass for the portable formats (ONNX, LiteRT): a
    tf.function x0, x1 (B, H, W, 3) float32, time (B, 1) -> {'image':
    (B, H, W, 3) float32}, with no padding in the graph: H and W must be
    multiples of the model's alignment (the caller pads, as
    `film_tf.runtime.padding.pad_to_alignment` does). `height`/`width` fix the
    spatial size; None leaves it dynamic."""
    specs = [_image_spec("x0", height, width), _image_spec("x1", height, width)]
    specs.append(tf.TensorSpec([None, 1], tf.float32, name="time"))

    @tf.function(input_signature=specs, autograph=False)
    def image(x0, x1, time):
        outputs = model({"x0": x0, "x1": x1, "time": time}, training=False)
        return {"image": tf.cast(outputs["image"], tf.float32)}

    return image


def _decode(encoded: tf.Tensor) -> tf.Tensor:
    """(B,) encoded images of one size -> (B, H, W, 3) float32 in [0, 1]."""

    def decode_one(data):
        image = tf.io.decode_image(data, channels=3, dtype=tf.float32, expand_animations=False)
        return tf.ensure_shape(image, [None, None, 3])

    return tf.map_fn(decode_one, encoded, fn_output_signature=tf.TensorSpec([None, None, 3], tf.float32))


def _encode_png(images: tf.Tensor) -> tf.Tensor:
    """(B, H, W, 3) float in [0, 1] -> (B,) 8-bit PNG strings (rounded)."""
    quantized = tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)
    return tf.map_fn(tf.io.encode_png, quantized, fn_output_signature=tf.string)


# Inputs of the float signatures (serving_default, serving_aux).
_FRAMES_AND_TIME = [_image_spec("x0"), _image_spec("x1"), tf.TensorSpec([None, 1], tf.float32, name="time")]
# The official model's call: one dict of the float inputs, then `training`.
_CALL_INPUTS = [
    {
        "x0": _image_spec("x0"),
        "x1": _image_spec("x1"),
        "time": tf.TensorSpec([None, 1], tf.float32, name="time"),
    },
    tf.TensorSpec([], tf.bool, name="training"),
]
_ENCODED_PAIR = [tf.TensorSpec([None], tf.string, name=name) for name in _BYTES_INPUTS]


class FilmServingModule(tf.Module):
    """What the SavedModel holds: the model's variables and the signatures.

    The Keras model is deliberately not a tracked attribute: saving it as a
    child would make TensorFlow trace its default signature again (seconds
    per export) and write Keras internals nobody loads. The functions close
    over it, and its tf.Variables are tracked as a plain list, in
    `model.variables` order (`film_tf.formats.model_io` reads them back so).
    """

    def __init__(self, model, name: str = "film_net"):
        super().__init__(name=name)
        options = model_options(model)
        # The tf.Variables under the Keras variables: a tracked KerasVariable
        # is exported as a second, copied variable that the saver restores
        # while the functions read the original one, which breaks every
        # session-based loader (TF Serving, saved_model_cli run).
        self.model_variables = [getattr(v, "value", v) for v in model.variables]
        self._aux = bool(options.use_aux_outputs)
        alignment = options.alignment

        # Traced once; every signature calls it, so an export costs one trace.
        @tf.function(
            input_signature=[_image_spec("x0"), _image_spec("x1"), tf.TensorSpec([None, 1], tf.float32)],
            autograph=False,
        )
        def interpolate(x0, x1, time):
            tf.debugging.assert_equal(
                tf.shape(x0), tf.shape(x1), message="x0 and x1 must have the same shape (B, H, W, 3)"
            )
            padded0, box = padding.pad_to_alignment_tf(x0, alignment)
            padded1, _ = padding.pad_to_alignment_tf(x1, alignment)
            outputs = model({"x0": padded0, "x1": padded1, "time": time}, training=False)
            result = {"image": outputs["image"]}
            if self._aux:
                for served, name in AUX_SERVING_OUTPUTS.items():
                    value = outputs[name]
                    result[served] = value[0] if isinstance(value, (list, tuple)) else value
            # float32 whatever the model's dtype policy (e.g. mixed_float16).
            return {key: tf.cast(padding.crop_tf(value, box), tf.float32) for key, value in result.items()}

        self.interpolate = interpolate

    @tf.function(input_signature=_FRAMES_AND_TIME, autograph=False)
    def serve(self, x0, x1, time):
        return {"image": self.interpolate(x0, x1, time)["image"]}

    @tf.function(input_signature=_FRAMES_AND_TIME, autograph=False)
    def serve_aux(self, x0, x1, time):
        return self.interpolate(x0, x1, time)

    @tf.function(input_signature=_CALL_INPUTS, autograph=False)
    def __call__(self, inputs, training=False):
        """inputs {'x0', 'x1': (B, H, W, 3) float32, 'time': (B, 1)} -> the
        outputs of serving_aux if the export has it, else of serving_default."""
        del training  # No dropout, no batch normalization: the same graph either way.
        outputs = self.interpolate(inputs["x0"], inputs["x1"], inputs["time"])
        return outputs if self._aux else {"image": outputs["image"]}

    def _bytes(self, encoded_x0, encoded_x1):
        x0, x1 = _decode(encoded_x0), _decode(encoded_x1)
        # The midpoint: TF Serving's Predict checks a request's inputs against
        # the signature's (no optional input every release accepts), so a
        # `time` input here would break existing bytes clients; other times
        # go through serving_default.
        time = tf.fill([tf.shape(x0)[0], 1], 0.5)
        return _encode_png(self.interpolate(x0, x1, time)["image"])

    @tf.function(input_signature=_ENCODED_PAIR, autograph=False)
    def serve_bytes(self, encoded_x0, encoded_x1):
        return {"encoded_image": self._bytes(encoded_x0, encoded_x1)}

    @tf.function(input_signature=_ENCODED_PAIR, autograph=False)
    def serve_bytes_rest(self, encoded_x0, encoded_x1):
        return {"encoded_image_bytes": self._bytes(encoded_x0, encoded_x1)}

    @property
    def has_aux_outputs(self) -> bool:
        """Whether the export has serving_aux (a model with use_aux_outputs)."""
        return self._aux

    def signatures(self) -> dict[str, Any]:
        """{name: tf.function} for `tf.saved_model.save` (see `signature_io`)."""
        # The tf.functions, not concrete functions: tf.saved_model.save traces
        # them itself, and anything traced before it would be traced again
        # (its cache key includes the save context).
        functions = {
            SIGNATURE_DEFAULT: self.serve,
            SIGNATURE_BYTES: self.serve_bytes,
            SIGNATURE_BYTES_REST: self.serve_bytes_rest,
            SIGNATURE_AUX: self.serve_aux,
        }
        return {name: functions[name] for name in signature_io(self._aux)}
