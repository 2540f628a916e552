"""film-export: writes a FILM model as a SavedModel (TF Serving), ONNX or LiteRT.

  film-export --run_folder <base_folder>/<label>     (latest checkpoint of a run)
  film-export --official_checkpoint <released saved_model dir> --export_base exports/film
  film-export --weights film.weights.h5 [--options_json film.json] --export_dir exports/film_h5
  film-export --bundled --format onnx --output film.onnx
  film-export --model_path <any model> --format litert --output film.tflite [--height 256 --width 256]
  film-export --bundled --format onnx --precision int8 --calibration_video train.mp4 --output film_int8.onnx

--format saved_model (default) writes `--export_dir` (default
`<run_folder>/saved_model`) or `<export_base>/<next version>/`; onnx and
litert write the file `--output` (default `<run_folder>/model.onnx`,
`model.tflite`): the bare forward pass on frames padded to the model's
alignment (`film_tf.serving.onnx_export`, `litert_export`). If the default
export of a run folder exists already, film-export says so and exits 0
(pass --overwrite to export again). The model comes from `film_tf.formats.model_io`.
"""

from __future__ import annotations

from absl import flags

from film_tf import cli_utils

_FLAGS = (
    ("string", "run_folder", None, "A training run: config.gin and train/ckpt-*."),
    ("string", "official_checkpoint", None, "A released film_net SavedModel folder (or its variables/)."),
    ("string", "weights", None, "A Keras .weights.h5 file (options: its .json sidecar)."),
    (
        "string",
        "model_path",
        None,
        "Any model film_tf loads, or a handle such as film-style (see model_io.describe).",
    ),
    ("bool", "bundled", False, "Export the bundled default model."),
    ("enum", "format", "saved_model", "saved_model, onnx or litert.", ["saved_model", "onnx", "litert"]),
    ("string", "output", None, "The .onnx / .tflite file (default: <run_folder>/model.onnx|.tflite)."),
    ("integer", "height", None, "onnx/litert: fixed input height, a multiple of the alignment."),
    ("integer", "width", None, "onnx/litert: fixed input width (default: dynamic H, W)."),
    (
        "enum",
        "precision",
        "float32",
        "onnx: float16 convolutions, or int8 (static QDQ, needs --calibration_video); "
        "litert: float16 or int8 (dynamic range) weights.",
        ["float32", "float16", "int8"],
    ),
    (
        "string",
        "calibration_video",
        None,
        "onnx int8: a video whose frames calibrate the activation ranges (never an evaluation clip).",
    ),
    (
        "string",
        "options_json",
        None,
        "Model options (film_tf.Options fields) as JSON, for --official_checkpoint / --weights "
        "(default: the weights' sidecar, or the released configuration).",
    ),
    ("multi_string", "gin_bindings", [], "film_net bindings instead, e.g. 'film_net.pyramid_levels = 5'."),
    ("string", "export_dir", None, "The SavedModel folder to write (default: <run_folder>/saved_model)."),
    ("string", "export_base", None, "Write <export_base>/<version>/ for TF Serving."),
    ("integer", "version", None, "Version under --export_base (default: the next)."),
    ("bool", "overwrite", False, "Replace an existing non-empty export folder."),
)


def define_flags(fv: flags.FlagValues) -> None:
    """film-export's flags, on `fv`."""
    for kind, name, default, help_text, *enum in _FLAGS:
        getattr(flags, f"DEFINE_{kind}")(name, default, *enum, help_text, flag_values=fv)
    cli_utils.define_offline_flag(fv)


def run(**kwargs) -> str:
    """`film_tf.serving.export_run.export_from_source` (the flags as keyword
    arguments): loads the model from one source, exports it, returns the path."""
    from film_tf.serving.export_run import export_from_source

    return export_from_source(**kwargs)


def _run(f: flags.FlagValues) -> None:
    from absl import logging

    from film_tf.serving import destinations, export_run

    logging.set_verbosity(logging.WARNING)  # TensorFlow logs every saved function at INFO.
    cli_utils.apply_offline(f)
    if f.options_json and f.gin_bindings:
        raise ValueError("Pass either --options_json or --gin_bindings, not both.")
    options = None  # A run folder's config.gin, a weights file's sidecar, or the released configuration.
    if f.options_json or f.gin_bindings:
        from film_tf.formats import model_io

        if f.options_json:
            options = model_io.options_from_json(f.options_json)
        else:
            options = model_io.options_from_gin(bindings=f.gin_bindings)
    names = [name for _, name, *_ in _FLAGS if name not in ("options_json", "gin_bindings")]
    try:
        path = run(options=options, **{name: f[name].value for name in names})
    except export_run.AlreadyExported as e:
        cli_utils.report(str(e))
        return
    cli_utils.report(f"Exported {destinations.FORMAT_NAMES[f.format]} to {path}")


main, run_main = cli_utils.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
