"""Keras weights files: `<name>.weights.h5` (options in the `<name>.json`
sidecar) and whole `.keras` model files, loaded into a `create_model` model
with the variable structure checked first; `save_weights_with_options`
writes the first kind. The kinds' entries in `film_tf.formats.model_io`'s
table call these.
"""

from __future__ import annotations

import os

import keras

from film_tf.formats.official_weights import official_variable_specs
from film_tf.formats.options_io import (
    WEIGHTS_SUFFIX,
    model_options,
    options_from_json,
    options_from_keras_file,
    options_sidecar_path,
)
from film_tf.model.options import Options


def check_structure(source: Options, model: keras.Model, path: str) -> None:
    """One-line ValueError unless weights saved with `source` options fit `model`."""
    ours = official_variable_specs(model_options(model))
    theirs = official_variable_specs(source)
    if len(ours) != len(theirs):
        raise ValueError(
            f"'{path}' holds {len(theirs)} variables, the model has {len(ours)}: "
            "the model options do not match the weights."
        )
    for (name, shape), (_, stored) in zip(ours, theirs):
        if shape != stored:
            raise ValueError(
                f"'{path}': {name} has shape {list(stored)}, the model expects {list(shape)}; "
                "the model options do not match the weights."
            )


def load_keras_weights(model: keras.Model, path: str, whole_model: bool = False) -> None:
    """A .weights.h5 file (structure checked when its sidecar exists) or,
    `whole_model`, a .keras file (always checked: its options are in it)."""
    sidecar = options_sidecar_path(path)
    if whole_model:
        check_structure(options_from_keras_file(path), model, path)
    elif os.path.isfile(sidecar):
        check_structure(options_from_json(sidecar), model, path)
    try:
        model.load_weights(path)
    except Exception as e:  # A foreign or mismatched .h5 file.
        raise ValueError(
            f"Cannot load weights '{path}' into a film_net with options {model_options(model).to_dict()}: "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None


def sidecar_options(path: str) -> Options:
    """The options in a .weights.h5 file's `.json` sidecar."""
    sidecar = options_sidecar_path(path)
    if not os.path.isfile(sidecar):
        raise FileNotFoundError(f"No options for '{path}': expected '{sidecar}' (or pass --options_json).")
    return options_from_json(sidecar)


def save_weights_with_options(model: keras.Model, path: str) -> None:
    """Saves a `create_model` model as `<name>.weights.h5` plus `<name>.json`
    (its `Options.to_dict()`), each atomically; `load_model(path)` loads it."""
    from film_tf import files

    if not path.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"The weights file name must end in {WEIGHTS_SUFFIX}, got '{path}'.")
    options = model_options(model)
    # Keras insists on the .weights.h5 ending: keep_name.
    with files.atomic_path(path, keep_name=True) as tmp:
        model.save_weights(tmp)
        files.write_json_atomic(options_sidecar_path(path), options.to_dict())
