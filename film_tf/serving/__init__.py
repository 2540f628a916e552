"""Serving: the SavedModel a model server loads, and how it is written.

  module.py      `FilmServingModule`: the variables and the signatures.
  metadata.py    `assets/film_tf.json`: options, padding, signatures.
  export_lib.py  `export_saved_model`, `export_for_serving`, versions.

The `film-export` binary (`film_tf/export.py`) builds a model with
`film_tf.model_io` and calls `export_lib`.
"""

from film_tf.serving.export_lib import (
    existing_versions,
    export_for_serving,
    export_saved_model,
    next_version,
)

__all__ = ["existing_versions", "export_for_serving", "export_saved_model", "next_version"]
