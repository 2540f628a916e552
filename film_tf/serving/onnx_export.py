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
Pad as `film_tf.padding.pad_to_alignment` does (centred reflection) and crop
the result. The model's `metadata_props` say so: `film_tf.alignment`,
`film_tf.padding` and `film_tf.metadata` (JSON: options, source, versions).
"""

from __future__ import annotations

import json
import os

from film_tf import files

OPSET = 17
METADATA_PREFIX = "film_tf."


def read_metadata(path: str) -> dict[str, str]:
    """The `film_tf.*` metadata_props of an exported `.onnx` file (prefix
    dropped), read with onnxruntime (no TensorFlow)."""
    props = _session(path).get_modelmeta().custom_metadata_map
    return {k[len(METADATA_PREFIX) :]: v for k, v in props.items() if k.startswith(METADATA_PREFIX)}


def read_options(path: str):
    """The `film_tf.Options` in a film_tf ONNX export's metadata."""
    from film_tf.options import Options

    metadata = read_metadata(path).get("metadata")
    if metadata is None:
        raise ValueError(f"'{path}' has no film_tf metadata: not an ONNX model written by film-export.")
    return Options.from_dict(json.loads(metadata)["options"])


def _session(path: str):
    """An onnxruntime CPU session of `path`; one-line ValueErrors."""
    try:
        import onnxruntime
    except ImportError:
        raise ValueError(
            f"Running '{path}' needs onnxruntime: pip install onnxruntime (or film_tf[onnx])."
        ) from None
    try:
        return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as e:  # Not an ONNX protobuf.
        raise ValueError(f"Cannot load the ONNX model '{path}': {str(e).splitlines()[0]}") from None


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

    Returns:
      The absolute path written.
    """
    from film_tf.serving.metadata import check_portable, portable_metadata
    from film_tf.serving.module import aligned_image_function

    path = os.path.abspath(path)
    check_portable(model, "onnx", path, overwrite, height, width)
    proto = _convert(aligned_image_function(model, height, width), opset)
    info = portable_metadata(model, "onnx", extra_metadata, height, width)
    for key, value in (
        ("alignment", str(info["alignment"])),
        ("padding", info["padding"]["summary"]),
        ("metadata", json.dumps(info)),
    ):
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_PREFIX + key, value
    proto.producer_name = "film_tf (tf2onnx)"
    with files.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(proto.SerializeToString())
    return path


def load_onnx_function(path: str):
    """An exported `.onnx` file as a function of aligned float32 batches x0,
    x1 (B, H, W, 3) -> the middle frames (B, H, W, 3), run by onnxruntime on
    the CPU (time = 0.5).

    Raises:
      ValueError: onnxruntime is not installed, or the file is not a model
        with inputs x0, x1, time and output image.
    """
    import numpy as np

    session = _session(path)
    names = sorted(i.name for i in session.get_inputs())
    if names != ["time", "x0", "x1"] or "image" not in [o.name for o in session.get_outputs()]:
        raise ValueError(f"'{path}' is not a film_tf ONNX export (inputs x0, x1, time; output image).")

    def call(x0, x1):
        time = np.full((len(x0), 1), 0.5, np.float32)
        feed = {"x0": np.ascontiguousarray(x0, np.float32), "x1": np.ascontiguousarray(x1, np.float32)}
        return session.run(["image"], {**feed, "time": time})[0]

    call.session = session
    return call
