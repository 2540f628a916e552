"""LiteRT (TFLite) export: the model's forward pass as one `.tflite` file.

Converted with `tf.lite.TFLiteConverter.from_concrete_functions` from the
bare forward pass (`serving.module.aligned_image_function`), using TFLite builtin ops only (no Flex
/ SELECT_TF_OPS delegate: the warp's gathers, the upsampling and the
convolutions all have builtin kernels), so the stock `ai_edge_litert`
interpreter runs it. One signature, `serving_default`:

  inputs   x0, x1  float32 (B, H, W, 3) in [0, 1]; time float32 (B, 1)
  output   image   float32 (B, H, W, 3)

The shapes are dynamic unless `height`/`width` fix them (the interpreter
resizes its tensors to the inputs given; a fixed size lets delegates plan
ahead). H and W must be multiples of the model's alignment: no padding in
the graph (see `film_tf.runtime.padding`). The file carries the export's metadata
(`film_tf.serving.metadata.portable_metadata`) as the TFLite metadata entry
`film_tf` (JSON; `read_metadata`).

Precisions: float32; float16 (weights stored as float16, computed in
float32 on a CPU); int8 (dynamic-range quantization: int8 weights, float
activations).
"""

from __future__ import annotations

import json

PRECISIONS = ("float32", "float16", "int8")
METADATA_NAME = "film_tf"


def read_metadata(path: str) -> dict:
    """The `film_tf` metadata entry of an exported `.tflite` file."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(path)
    for entry in model.metadata or []:
        if entry.name.decode() == METADATA_NAME:
            return json.loads(bytes(model.buffers[entry.buffer].data).decode())
    raise ValueError(f"'{path}' has no {METADATA_NAME} metadata: not a film_tf LiteRT export.")


def _finish(flatbuffer: bytes, info: dict) -> bytes:
    """Adds the `serving_default` signature (x0, x1, time -> image) and the
    `film_tf` metadata entry to a converted single-function model."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    graph = model.subgraphs[0]

    def tensor_map(indices, names):
        maps = []
        for index, name in zip(indices, names):
            graph.tensors[index].name = name.encode()
            entry = schema.TensorMapT()
            entry.name, entry.tensorIndex = name, int(index)
            maps.append(entry)
        return maps

    names = [graph.tensors[i].name.decode().split(":")[0] for i in graph.inputs]
    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = "serving_default", 0
    signature.inputs = tensor_map(graph.inputs, names)
    signature.outputs = tensor_map(graph.outputs, ["image"])
    model.signatureDefs = [signature]
    buffer = schema.BufferT()
    buffer.data = list(json.dumps(info).encode())
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def export_litert(
    model,
    path: str,
    overwrite: bool = False,
    extra_metadata: dict | None = None,
    height: int | None = None,
    width: int | None = None,
    precision: str = "float32",
) -> str:
    """Writes a FILM model's forward pass as a LiteRT `.tflite` file.

    Args:
      model: a float32 `film_tf.create_model` model (TensorFlow backend).
      path: the `.tflite` file to write (atomically).
      overwrite: replace an existing file; otherwise FileExistsError.
      extra_metadata: more keys for the `film_tf` metadata entry.
      height, width: fix the input size (multiples of the alignment); None:
        dynamic.
      precision: one of `PRECISIONS`.

    Returns:
      The absolute path written.
    """
    import tensorflow as tf

    from film_tf.serving.portable import write_portable

    if precision not in PRECISIONS:
        raise ValueError(f"LiteRT precision must be one of {', '.join(PRECISIONS)}, got '{precision}'.")

    def convert(function, info: dict) -> bytes:
        # From the concrete function, frozen (trackable: the tf.function, not
        # the model): through a SavedModel (Keras' route, or the model as
        # trackable) the converter loses the channel count of the fusion's
        # upsampled inputs and cannot lower those convolutions to builtin kernels.
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [function.get_concrete_function()], function
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if precision != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if precision == "float16":
            converter.target_spec.supported_types = [tf.float16]
        return _finish(converter.convert(), info)

    return write_portable(model, "litert", path, convert, overwrite, extra_metadata, height, width, precision)
