"""film-export: writes a FILM model as a SavedModel for TF Serving.

  film-export --run_folder <base_folder>/<label>     (latest checkpoint of a run)
  film-export --official_checkpoint <released saved_model dir> --export_base exports/film
  film-export --weights film.weights.h5 [--options_json film.json] --export_dir exports/film_h5

Writes `--export_dir` (default `<run_folder>/saved_model`) or
`<export_base>/<next version>/`. The model comes from `film_tf.model_io`,
the SavedModel and its signatures from `film_tf.serving` (see there).
"""

from __future__ import annotations

import os

from absl import flags

from film_tf import cli_utils

# Flag -> the model_io kinds it takes, and what to call them.
_SOURCES = {
    "run_folder": (("run_folder",), "a film-train run folder"),
    "official_checkpoint": (("official_saved_model", "official_variables"), "an official FILM SavedModel"),
    "weights": (("keras_weights",), "a .weights.h5 file"),
}


_FLAGS = (
    ("string", "run_folder", None, "A training run: config.gin and train/ckpt-*."),
    ("string", "official_checkpoint", None, "A released film_net SavedModel folder (or its variables/)."),
    ("string", "weights", None, "A Keras .weights.h5 file (options: its .json sidecar)."),
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
    for kind, name, default, help_text in _FLAGS:
        getattr(flags, f"DEFINE_{kind}")(name, default, help_text, flag_values=fv)


def run(
    run_folder: str | None = None,
    official_checkpoint: str | None = None,
    weights: str | None = None,
    options=None,
    export_dir: str | None = None,
    export_base: str | None = None,
    version: int | None = None,
    overwrite: bool = False,
) -> str:
    """Loads the model from one source and exports it; returns the folder."""
    from film_tf.serving.export_lib import check_export_dir, export_for_serving, export_saved_model

    given = {"run_folder": run_folder, "official_checkpoint": official_checkpoint, "weights": weights}
    sources = [(flag, path) for flag, path in given.items() if path]
    if len(sources) != 1:
        raise ValueError("Pass exactly one of --run_folder, --official_checkpoint, --weights.")
    ((source, path),) = sources
    if export_dir and export_base:
        raise ValueError("Pass either --export_dir or --export_base, not both.")
    if version is not None and not export_base:
        raise ValueError("--version needs --export_base.")
    if run_folder and options is not None:
        raise ValueError("--run_folder takes its options from <run_folder>/config.gin; drop --options_json.")
    if run_folder and not export_dir and not export_base:
        export_dir = os.path.join(run_folder, "saved_model")
    if not export_dir and not export_base:
        raise ValueError("Pass --export_dir or --export_base.")
    if export_dir:
        check_export_dir(export_dir, overwrite)  # Before the (slow) restore and tracing.

    model, info = _load(source, path, options)
    if export_base:
        return export_for_serving(model, export_base, version, overwrite=overwrite, extra_metadata=info)
    return export_saved_model(model, export_dir, overwrite=overwrite, extra_metadata=info)


def _load(source: str, path: str, options=None):
    """(model, metadata naming its source) from a --run_folder, --official_checkpoint or --weights path."""
    from film_tf import model_io

    kind = "run_folder" if source == "run_folder" else model_io.describe(path)
    kinds, what = _SOURCES[source]
    if kind not in kinds:
        raise ValueError(f"--{source} takes {what}; '{path}' is a {kind.replace('_', ' ')}.")
    model, weights = model_io.load_model_and_source(path, options=options, kind=kind)
    info = {"source": source, "checkpoint": weights.checkpoint}
    if weights.step is not None:
        info["step"] = weights.step
    return model, info


def _run(f: flags.FlagValues) -> None:
    from absl import logging

    from film_tf import model_io

    logging.set_verbosity(logging.WARNING)  # TensorFlow logs every saved function at INFO.
    if f.options_json and f.gin_bindings:
        raise ValueError("Pass either --options_json or --gin_bindings, not both.")
    options = None  # A run folder's config.gin, a weights file's sidecar, or the released configuration.
    if f.options_json:
        options = model_io.options_from_json(f.options_json)
    elif f.gin_bindings:
        options = model_io.options_from_gin(bindings=f.gin_bindings)
    path = run(
        run_folder=f.run_folder,
        official_checkpoint=f.official_checkpoint,
        weights=f.weights,
        options=options,
        export_dir=f.export_dir,
        export_base=f.export_base,
        version=f.version,
        overwrite=f.overwrite,
    )
    print(f"Exported SavedModel to {path}")


main, run_main = cli_utils.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
