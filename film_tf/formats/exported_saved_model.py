"""film_tf's own SavedModel (written by `film_tf.serving`, film-export): the
marker that tells it from an official one, and its `serving_default`
signature as a function (how `Interpolator` runs it, as it was exported).
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

MARKER = "film_tf.json"  # The metadata file that marks a film_tf SavedModel.


def film_tf_metadata_path(path: str) -> str | None:
    """The `film_tf.json` of a film_tf SavedModel folder (in `assets/` or at
    the top), or None when `path` is not one."""
    for candidate in (os.path.join(path, "assets", MARKER), os.path.join(path, MARKER)):
        if os.path.isfile(candidate):
            return candidate
    return None


def is_saved_model(path: str) -> bool:
    """A SavedModel folder (saved_model.pb in it), film_tf's or another's."""
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def is_film_tf_saved_model(path: str) -> bool:
    """A SavedModel folder carrying film_tf's marker."""
    return is_saved_model(path) and film_tf_metadata_path(path) is not None


def export_options(path: str):
    """The `film_tf.Options` a film_tf SavedModel was exported with (its marker)."""
    from film_tf.formats.options_io import options_from_json

    return options_from_json(film_tf_metadata_path(path))


def load_export_weights(model, path: str) -> None:
    """Assigns a film_tf SavedModel's variables to a `create_model` model,
    after checking that its options give the model's variable structure."""
    from film_tf.formats import checkpoint_io, keras_weights

    keras_weights.check_structure(export_options(path), model, path)
    checkpoint_io.restore_export_variables(model, path)


def load_serving_function(path: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """A film_tf SavedModel's `serving_default` signature as a function of
    aligned float32 batches x0, x1 (B, H, W, 3) and time (B, 1) -> the frames
    at those times (B, H, W, 3).

    Raises:
      ValueError: an unreadable SavedModel, or one without that signature.
    """
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(path)
    except Exception as e:  # Corrupt or foreign protobufs.
        raise ValueError(
            f"Cannot load the SavedModel at '{path}': {str(e).splitlines()[0]} (if its files were cut short "
            "or changed, export or copy it again)."
        ) from None
    signature = loaded.signatures.get("serving_default")
    if signature is None:
        raise ValueError(f"The SavedModel at '{path}' has no serving_default signature.")

    def call(x0, x1, time=None):
        time = np.full((len(x0), 1), 0.5, np.float32) if time is None else time
        outputs = signature(x0=tf.constant(x0), x1=tf.constant(x1), time=tf.constant(time, tf.float32))
        return outputs["image"].numpy()

    call.keep_alive = loaded  # The signature needs its SavedModel object alive.
    return call
