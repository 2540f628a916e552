"""`assets/film_tf.json`: what marks a SavedModel as film_tf's, and describes it.

`film_tf.formats.model_io` recognises an export by this file (`exported_saved_model.MARKER`)
and reads the model's options from its "options" key.
"""

from __future__ import annotations

import json
import os

from film_tf.formats.exported_saved_model import MARKER
from film_tf.formats.options_io import model_options
from film_tf.runtime import padding
from film_tf.serving.module import signature_io

METADATA_FILE = MARKER
METADATA_FORMAT = "film_tf.saved_model"


def metadata(model, extra: dict | None = None) -> dict:
    """The contents of `assets/film_tf.json` for an export of `model`.

    Args:
      model: a `create_model` model.
      extra: more keys (e.g. the source checkpoint and step).
    """
    import tensorflow as tf

    from film_tf import __version__

    options = model_options(model)
    return {
        "format": METADATA_FORMAT,
        "film_tf_version": __version__,
        "tensorflow_version": tf.__version__,
        "options": options.to_dict(),
        "alignment": options.alignment,
        "padding": {
            "mode": padding.PADDING,
            "placement": "centred: top = pad_h // 2, left = pad_w // 2",
            "note": "edge padding when min(H, W) == 1; as film_tf.runtime.padding.pad_to_alignment",
        },
        "signatures": signature_io(options.use_aux_outputs),
        **(extra or {}),
    }


def write_metadata(saved_model_dir: str, model, extra: dict | None = None) -> None:
    """Writes `assets/film_tf.json` into a SavedModel folder being built."""
    os.makedirs(os.path.join(saved_model_dir, "assets"), exist_ok=True)
    with open(os.path.join(saved_model_dir, "assets", METADATA_FILE), "w") as f:
        json.dump(metadata(model, extra), f, indent=1)


# ------------------------------------------------------- ONNX and LiteRT


def portable_metadata(
    model, fmt: str, extra: dict | None = None, height: int | None = None, width: int | None = None
) -> dict:
    """What an ONNX / LiteRT file says about itself: as `metadata`, with the
    bare x0, x1, time -> image interface, its input size and who pads."""
    info = metadata(model, extra)
    alignment = info["alignment"]
    size = "dynamic" if height is None else f"{height}x{width}"
    info.update(
        format=f"film_tf.{fmt}",
        signatures={"image": {"inputs": ["x0", "x1", "time"], "outputs": ["image"]}},
        input_size=size,
    )
    info["padding"]["summary"] = (
        f"H and W must be multiples of {alignment}: pad x0 and x1 by centred reflection "
        "(film_tf.runtime.padding.pad_to_alignment; top = pad_h // 2, left = pad_w // 2) and crop the image back"
    )
    return info


def check_portable(
    model,
    fmt: str,
    path: str,
    overwrite: bool,
    height: int | None = None,
    width: int | None = None,
) -> None:
    """Raises a one-line error, before any work, if `model` cannot be written
    as `fmt` ('onnx', 'litert') at `path`: not the TensorFlow backend, not a
    float32 model, an input size that is not a positive multiple of the
    alignment, a bad or existing output path (FileExistsError unless
    `overwrite`)."""
    import keras

    from film_tf.serving.destinations import FORMAT_NAMES, check_export_file

    name = FORMAT_NAMES[fmt].split()[0]
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"The {name} export converts the TensorFlow graph; set KERAS_BACKEND=tensorflow "
            f"(the backend is {keras.backend.backend()})."
        )
    policy = getattr(model, "dtype_policy", None)
    compute = str(getattr(policy, "compute_dtype", "float32"))
    if compute != "float32":
        raise ValueError(
            f"The {name} export takes a float32 model; this one computes in {compute} "
            "(load it without a mixed dtype policy)."
        )
    alignment = model_options(model).alignment
    if (height is None) != (width is None):
        raise ValueError("Pass both --height and --width, or neither.")
    for flag, value in (("height", height), ("width", width)):
        if value is not None and (value <= 0 or value % alignment):
            raise ValueError(
                f"--{flag} {value} is not a positive multiple of the model's alignment ({alignment}); "
                f"pad the frames to {padding_hint(value, alignment)}."
            )
    check_export_file(path, fmt, overwrite)


def padding_hint(value: int, alignment: int) -> int:
    """The next multiple of `alignment` at or above `value` (at least one)."""
    return max(1, -(-value // alignment)) * alignment
