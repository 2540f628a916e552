"""Serving: the exports a model server or another runtime loads, and how they are written.

  module.py         `FilmServingModule`: the SavedModel's variables and signatures,
                    and its official-style call `loaded({'x0', 'x1', 'time'})`;
                    `aligned_image_function`: the bare forward pass (ONNX, LiteRT).
  destinations.py   the formats, their precisions and file names; the checks of
                    options and output paths made before any work.
  metadata.py       `assets/film_tf.json`: options, padding, signatures; the same
                    for the portable files, and their checks.
  export_lib.py     `export_saved_model`, `export_for_serving`, versions.
  warmup.py         TF Serving's warm-up file (assets.extra/): PredictionLog records.
  portable.py       `write_portable`: what the ONNX and LiteRT writers share.
  onnx_export.py    `export_onnx` (tf2onnx), float16 and int8 variants
                    (reading .onnx files: `film_tf.formats.onnx_file`).
  litert_export.py  `export_litert` (TFLiteConverter), `read_metadata`.
  export_run.py     film-export's work: one model source in, one export out;
                    `export_file` (ONNX / LiteRT) and the checks of format options.

The `film-export` binary (`film_tf/export.py`) calls `export_run`, which
builds the model with `film_tf.formats.model_io` and calls `export_lib`.
"""

from film_tf.serving.destinations import FORMATS
from film_tf.serving.export_lib import (
    existing_versions,
    export_for_serving,
    export_saved_model,
    next_version,
)
from film_tf.serving.export_run import export_file

__all__ = [
    "FORMATS",
    "existing_versions",
    "export_file",
    "export_for_serving",
    "export_saved_model",
    "next_version",
]
