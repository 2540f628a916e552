"""Reading `.onnx` files that film-export wrote (`film_tf.serving.onnx_export`):
their `film_tf.*` metadata, their options, and the graph as a function.

onnxruntime only (no TensorFlow); imported when such a file is used. Errors
are one-line ValueErrors (onnxruntime missing, not an ONNX file, not a
film_tf export).
"""

from __future__ import annotations

import contextlib
import io
import json

# The prefix of film_tf's keys in an ONNX file's metadata_props.
METADATA_PREFIX = "film_tf."


def read_metadata(path: str) -> dict[str, str]:
    """The `film_tf.*` metadata_props of an exported `.onnx` file (prefix
    dropped), read with onnxruntime (no TensorFlow)."""
    props = open_session(path).get_modelmeta().custom_metadata_map
    return {k[len(METADATA_PREFIX) :]: v for k, v in props.items() if k.startswith(METADATA_PREFIX)}


def read_options(path: str):
    """The `film_tf.Options` in a film_tf ONNX export's metadata."""
    from film_tf.model.options import Options

    metadata = read_metadata(path).get("metadata")
    if metadata is None:
        raise ValueError(f"'{path}' has no film_tf metadata: not an ONNX model written by film-export.")
    return Options.from_dict(json.loads(metadata)["options"])


def open_session(path: str):
    """An onnxruntime CPU session of `path`; one-line ValueErrors."""
    try:
        import onnxruntime
    except ImportError:
        raise ValueError(
            f"Running '{path}' needs onnxruntime: pip install onnxruntime (or film_tf[onnx])."
        ) from None
    try:
        # onnxruntime prints its provider fallback ("EP Error ... Falling back
        # to ... and retrying") on stdout when a damaged file fails to load.
        with contextlib.redirect_stdout(io.StringIO()):
            return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as e:  # Not an ONNX protobuf.
        raise ValueError(
            f"Cannot load the ONNX model '{path}': {str(e).splitlines()[0]} (if the file was cut short or "
            "changed, export or copy it again)."
        ) from None


def load_onnx_function(path: str):
    """An exported `.onnx` file as a function of aligned float32 batches x0,
    x1 (B, H, W, 3) and time (B, 1) -> the frames at those times (B, H, W, 3),
    run by onnxruntime on the CPU.

    Raises:
      ValueError: onnxruntime is not installed, or the file is not a model
        with inputs x0, x1, time and output image.
    """
    import numpy as np

    session = open_session(path)
    names = sorted(i.name for i in session.get_inputs())
    if names != ["time", "x0", "x1"] or "image" not in [o.name for o in session.get_outputs()]:
        raise ValueError(f"'{path}' is not a film_tf ONNX export (inputs x0, x1, time; output image).")

    def call(x0, x1, time=None):
        time = np.full((len(x0), 1), 0.5) if time is None else time
        time = np.asarray(time, np.float32).reshape(len(x0), 1)
        feed = {"x0": np.ascontiguousarray(x0, np.float32), "x1": np.ascontiguousarray(x1, np.float32)}
        return session.run(["image"], {**feed, "time": time})[0]

    call.session = session
    return call
