"""Model options from files: JSON, gin, a weights file's sidecar; a model's own.

Part of `film_tf.formats.model_io` (which re-exports every name here): the options a
path stores are read through these functions only.
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import gin

from film_tf.formats.official_weights import find_film_layer
from film_tf.model.options import Options

WEIGHTS_SUFFIX = ".weights.h5"
KERAS_SUFFIX = ".keras"  # a whole saved model: keras.Model.save("film.keras")


def model_options(model) -> Options:
    """The `Options` of a `create_model` model (or of a FilmNet layer)."""
    options = getattr(model, "film_options", None)
    return options if options is not None else find_film_layer(model).options


def options_from_json(path: str) -> Options:
    """Options from a JSON file: the `Options.to_dict()` dict, or a dict holding
    it under "options" (a SavedModel's `film_tf.json`)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Options file not found: '{path}'.")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"Cannot read options JSON '{path}': {e}") from None
    if isinstance(data, dict) and isinstance(data.get("options"), dict):
        data = data["options"]
    if not isinstance(data, dict):
        raise ValueError(f"'{path}' does not hold a film_net options dict.")
    try:
        return Options.from_dict(data)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Invalid options in '{path}': {e}") from None


# The gin edge of the model options: `film_net.*` bindings (the released gin
# files' name) apply to what this returns; Options itself never reads gin.
film_net = gin.external_configurable(Options, "film_net")


def options_from_gin(path: str | None = None, bindings: Sequence[str] = ()) -> Options:
    """`Options` from the film_net bindings of a gin file (e.g. a run's
    operative config.gin) and/or binding strings ('film_net.filters = 32');
    other configurables are skipped. Clears the global gin config before
    and after.
    """
    if path is not None and not os.path.isfile(path):
        raise FileNotFoundError(f"No gin config at '{path}'.")
    with gin.unlock_config():
        gin.clear_config()
        try:
            if path is not None:
                gin.parse_config_file(path, skip_unknown=True)
            gin.parse_config(list(bindings))
            return film_net()
        finally:
            gin.clear_config()


def options_sidecar_path(weights_path: str) -> str:
    """`<name>.json` for `<name>.weights.h5`."""
    base = weights_path[: -len(WEIGHTS_SUFFIX)] if weights_path.endswith(WEIGHTS_SUFFIX) else weights_path
    return base + ".json"


def options_from_keras_file(path: str) -> Options:
    """The options of the FilmNet inside a `.keras` file (a zip whose
    config.json holds every layer's config), read without building anything.

    Raises:
      ValueError: not a Keras model file, or no FilmNet in it.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise ValueError(f"'{path}' is not a Keras model file: {e}") from None
    layers = [config, *config.get("config", {}).get("layers", [])]
    for layer in layers:
        if layer.get("class_name") == "FilmNet" and "options" in layer.get("config", {}):
            return Options.from_dict(layer["config"]["options"])
    raise ValueError(f"'{path}' holds no FILM model (no FilmNet layer in its config).")
