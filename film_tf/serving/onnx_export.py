"""ONNX export: the model's forward pass as one `.onnx` file (tf2onnx).

The file is a plain ONNX graph (default opset 17, standard `ai.onnx` ops
only: the warp's bilinear sampling converts to Gather, the flow upsampling
and the fusion's nearest-neighbour upsampling to Gather/Concat/Reshape, the
convolutions to Conv with NHWC<->NCHW transposes), so onnxruntime, TensorRT
or OpenVINO run it without film_tf:

  inputs   x0, x1  float32 (B, H, W, 3) in [0, 1]; time float32 (B, 1)
  output   image   float32 (B, H, W, 3)

B, H and W are dynamic (or H, W fixed by `height`/`width`), but H and W must
be multiples of the model's alignment (2^(pyramid_levels - 1): 64 for the
released model, 16 for the bundled one): there is no padding in the graph.
Pad as `film_tf.runtime.padding.pad_to_alignment` does (centred reflection) and crop
the result. The model's `metadata_props` say so: `film_tf.alignment`,
`film_tf.padding` and `film_tf.metadata` (JSON: options, source, versions,
precision).

Precisions (the inputs and output stay float32 in all three):
  float32  the converted graph.
  float16  the convolutions' weights, biases and arithmetic in float16, a
           Cast on either side of each Conv (`to_float16`); the rest (the
           warp's sampling coordinates above all, which float16 would round
           to a quarter pixel at 640 px) stays float32.
  int8     static QDQ quantization of the convolutions by
           `onnxruntime.quantization` (`quantize_int8`): int8 per-channel
           weights, uint8 activations with ranges calibrated (MinMax) on
           frame pairs the caller gives (`calibration_pairs` of a video);
           onnxruntime runs them as QLinearConv. The fusion decoder's
           convolutions that read a concatenation (warped images, features
           and flows in pixels: one uint8 range for all of them cost the
           bundled model 8 dB PSNR) and the one that writes the image stay
           float32 (`float_convolutions`).
(onnxconverter-common's float16 conversion of the whole graph gives a model
onnxruntime rejects (a Cast's declared type), and with the non-convolution
ops blocked it did not finish in 8 minutes; hence `to_float16`.)
"""

from __future__ import annotations

import json
import os

from film_tf.formats.onnx_file import METADATA_PREFIX

OPSET = 17
PRECISIONS = ("float32", "float16", "int8")
CALIBRATION_PAIRS = 8
CALIBRATION_SIZE = 256


def _convert(function, opset: int):
    import tf2onnx

    # tf2onnx deep-copies the whole graph before each optimizer pass so that
    # a failing pass can be skipped; that halves the conversion speed, and a
    # failing pass should be an error here, not a silently different graph.
    saved = os.environ.get("TF2ONNX_CATCH_ERRORS")
    os.environ["TF2ONNX_CATCH_ERRORS"] = "FALSE"
    try:
        proto, _ = tf2onnx.convert.from_function(
            function, input_signature=function.input_signature, opset=opset
        )
    finally:
        if saved is None:
            os.environ.pop("TF2ONNX_CATCH_ERRORS", None)
        else:
            os.environ["TF2ONNX_CATCH_ERRORS"] = saved
    return proto


def export_onnx(
    model,
    path: str,
    overwrite: bool = False,
    extra_metadata: dict | None = None,
    height: int | None = None,
    width: int | None = None,
    opset: int = OPSET,
    precision: str = "float32",
    calibration=None,
) -> str:
    """Writes a FILM model's forward pass as an ONNX file.

    Args:
      model: a float32 `film_tf.create_model` model (TensorFlow backend).
      path: the `.onnx` file to write (atomically: a temporary file renamed
        onto it when complete).
      overwrite: replace an existing file; otherwise FileExistsError.
      extra_metadata: more keys for `film_tf.metadata` (e.g. the checkpoint).
      height, width: fix the input size (multiples of the alignment); None:
        dynamic.
      opset: the ONNX opset.
      precision: one of `PRECISIONS` (see the module docstring).
      calibration: for int8 (required), a sequence of (x0, x1) float32
        (H, W, 3) aligned pairs, e.g. `calibration_pairs(frames, alignment)`;
        never frames of the clips the export is evaluated on.

    Returns:
      The absolute path written.
    """
    from film_tf.serving.portable import write_portable

    if precision == "int8" and not calibration:
        raise ValueError("ONNX int8 export needs calibration pairs (calibration_pairs of a video).")

    def convert(function, info: dict) -> bytes:
        proto = _convert(function, opset)
        if precision == "float16":
            proto = to_float16(proto)
        elif precision == "int8":
            proto = quantize_int8(proto, calibration)
        for key, value in (
            ("alignment", str(info["alignment"])),
            ("padding", info["padding"]["summary"]),
            ("metadata", json.dumps(info)),
        ):
            entry = proto.metadata_props.add()
            entry.key, entry.value = METADATA_PREFIX + key, value
        proto.producer_name = "film_tf (tf2onnx)"
        return proto.SerializeToString()

    return write_portable(model, "onnx", path, convert, overwrite, extra_metadata, height, width, precision)


def to_float16(proto):
    """The ONNX model `proto` with every Conv in float16: its weight and bias
    initializers stored as float16, a Cast to float16 before its input and
    back to float32 after its output. Modified in place and returned."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    initializers = {t.name: t for t in graph.initializer}
    nodes = []
    for node in graph.node:
        if node.op_type != "Conv" or not all(name in initializers for name in node.input[1:]):
            nodes.append(node)  # (tf2onnx folds every Conv's weights to initializers.)
            continue
        for name in node.input[1:]:
            tensor = initializers[name]
            if tensor.data_type == TensorProto.FLOAT:
                tensor.CopyFrom(
                    numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), name)
                )
        x, y = node.input[0], node.output[0]
        node.input[0], node.output[0] = x + "/to_float16", y + "/float16"
        nodes.append(helper.make_node("Cast", [x], [node.input[0]], to=TensorProto.FLOAT16))
        nodes.append(node)
        nodes.append(helper.make_node("Cast", [node.output[0]], [y], to=TensorProto.FLOAT))
    del graph.node[:]
    graph.node.extend(nodes)
    return proto


def quantize_int8(proto, calibration):
    """`proto` with its convolutions statically quantized (QDQ: int8
    symmetric per-channel weights, uint8 activations; MinMax ranges from
    running the float model on `calibration`, (x0, x1) aligned float32
    (H, W, 3) pairs at time 0.5) by `onnxruntime.quantization`."""
    import tempfile

    import numpy as np
    import onnx
    from onnxruntime import quantization

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(
                {"x0": x0[None], "x1": x1[None], "time": np.full((1, 1), 0.5, np.float32)}
                for x0, x1 in calibration
            )

        def get_next(self):
            return next(self.feeds, None)

    excluded = float_convolutions(proto)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = os.path.join(tmp, "float.onnx"), os.path.join(tmp, "int8.onnx")
        onnx.save(proto, source)
        quantization.quantize_static(
            source,
            target,
            Reader(),
            quant_format=quantization.QuantFormat.QDQ,
            op_types_to_quantize=["Conv"],
            per_channel=True,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
            calibrate_method=quantization.CalibrationMethod.MinMax,
            nodes_to_exclude=excluded,
        )
        return onnx.load(target)


def float_convolutions(proto) -> list[str]:
    """The Conv nodes `quantize_int8` leaves in float32: the fusion decoder's
    (Keras layer `fusion`) convolutions whose input is a Concat (through
    tf2onnx's layout Transposes), and every convolution with 3 output
    channels (the image)."""
    from onnx import numpy_helper

    producer = {output: node for node in proto.graph.node for output in node.output}
    initializers = {t.name: t for t in proto.graph.initializer}

    def reads_concat(node) -> bool:
        source = producer.get(node.input[0])
        while source is not None and source.op_type == "Transpose":
            source = producer.get(source.input[0])
        return source is not None and source.op_type == "Concat"

    def out_channels(node) -> int | None:
        weights = initializers.get(node.input[1])
        return None if weights is None else numpy_helper.to_array(weights).shape[0]

    return [
        node.name
        for node in proto.graph.node
        if node.op_type == "Conv"
        and (("/fusion" in node.name and reads_concat(node)) or out_channels(node) == 3)
    ]


def calibration_pairs(
    frames, alignment: int, count: int = CALIBRATION_PAIRS, size: int = CALIBRATION_SIZE, gap: int = 1
) -> list:
    """`count` evenly spaced pairs (frame i, frame i + 2 gap) of a video's
    uint8 (N, H, W, 3) `frames` as float32 in [0, 1], each cut to a centred
    `size` x `size` window (rounded down to the alignment; the whole frame if
    smaller): the ranges the int8 export calibrates on."""
    import numpy as np

    n, h, w = frames.shape[:3]
    if n <= 2 * gap:
        raise ValueError(f"A calibration video needs more than {2 * gap} frames, this one has {n}.")
    ch = max(alignment, min(size, h) // alignment * alignment)
    cw = max(alignment, min(size, w) // alignment * alignment)
    top, left = max(0, (h - ch) // 2), max(0, (w - cw) // 2)
    starts = sorted({int(round(v)) for v in np.linspace(0, n - 1 - 2 * gap, count)})

    def cut(frame):
        return frame[top : top + ch, left : left + cw].astype(np.float32) / 255.0

    return [(cut(frames[i]), cut(frames[i + 2 * gap])) for i in starts]
