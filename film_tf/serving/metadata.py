"""`assets/film_tf.json`: what marks a SavedModel as film_tf's, and describes it.

`film_tf.model_io` recognises an export by this file (`model_io.MARKER`)
and reads the model's options from its "options" key.
"""

from __future__ import annotations

import json
import os

from film_tf import padding
from film_tf.model_io import MARKER, model_options
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
            "note": "edge padding when min(H, W) == 1; as film_tf.padding.pad_to_alignment",
        },
        "signatures": signature_io(options.use_aux_outputs),
        **(extra or {}),
    }


def write_metadata(saved_model_dir: str, model, extra: dict | None = None) -> None:
    """Writes `assets/film_tf.json` into a SavedModel folder being built."""
    os.makedirs(os.path.join(saved_model_dir, "assets"), exist_ok=True)
    with open(os.path.join(saved_model_dir, "assets", METADATA_FILE), "w") as f:
        json.dump(metadata(model, extra), f, indent=1)
