"""film-export's work: one model source in, one export out (see `film_tf/export.py`).

`export_from_source` checks every argument and the output path before the
(slow) restore and conversion, loads the model with `film_tf.formats.model_io` and
writes it with `film_tf.serving.export_lib` (SavedModel) or `export_file`
(ONNX, LiteRT, through `film_tf.serving.portable`).
"""

from __future__ import annotations

import os

from film_tf.serving import destinations
from film_tf.serving import export_lib as lib
from film_tf.serving.destinations import check_calibration, check_format_options


def export_file(
    model,
    fmt: str,
    path: str,
    overwrite: bool = False,
    extra_metadata: dict | None = None,
    height: int | None = None,
    width: int | None = None,
    precision: str = "float32",
    calibration=None,
) -> str:
    """Writes `model` as an ONNX (`fmt` 'onnx') or LiteRT ('litert') file;
    see `film_tf.serving.onnx_export` / `litert_export`. `calibration`: the
    (x0, x1) pairs ONNX int8 calibrates on. Returns the path."""
    check_format_options(fmt, height, width, precision)
    if fmt == "onnx":
        from film_tf.serving.onnx_export import export_onnx

        return export_onnx(
            model,
            path,
            overwrite,
            extra_metadata,
            height,
            width,
            precision=precision,
            calibration=calibration,
        )
    if fmt == "litert":
        from film_tf.serving.litert_export import export_litert

        return export_litert(model, path, overwrite, extra_metadata, height, width, precision)
    raise ValueError(f"export_file writes onnx or litert files, not '{fmt}' (see export_saved_model).")


# Flag -> the model_io kinds it takes, and what to call them.
_SOURCES = {
    "run_folder": (("run_folder",), "a film-train run folder"),
    "official_checkpoint": (("official_saved_model", "official_variables"), "an official FILM SavedModel"),
    "weights": (("keras_weights",), "a .weights.h5 file"),
    "model_path": (None, "a model film_tf can load (not an .onnx file)"),  # None: every model_io.KINDS
    "bundled": (("bundled",), "the bundled model"),
}
DEFAULT_FILES = {"saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}


class AlreadyExported(FileExistsError):
    """The default export of a run folder exists; `path` is where."""

    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.path = path


def export_from_source(
    run_folder: str | None = None,
    official_checkpoint: str | None = None,
    weights: str | None = None,
    options=None,
    export_dir: str | None = None,
    export_base: str | None = None,
    version: int | None = None,
    overwrite: bool = False,
    model_path: str | None = None,
    bundled: bool = False,
    format: str = "saved_model",
    output: str | None = None,
    height: int | None = None,
    width: int | None = None,
    precision: str = "float32",
    calibration_video: str | None = None,
) -> str:
    """Loads the model from one source and exports it; returns the path written.

    `calibration_video` (ONNX int8 only): the video whose frames calibrate
    the quantization (`onnx_export.calibration_pairs`).

    Raises AlreadyExported (a FileExistsError) when the default export of
    `run_folder` exists and not `overwrite`."""
    given = {"run_folder": run_folder, "official_checkpoint": official_checkpoint, "weights": weights}
    sources = [(flag, path) for flag, path in {**given, "model_path": model_path}.items() if path]
    sources += [("bundled", None)] if bundled else []
    if len(sources) != 1:
        raise ValueError(
            "Pass exactly one of --run_folder, --official_checkpoint, --weights, --model_path, --bundled."
        )
    ((source, path),) = sources
    check_format_options(format, height, width, precision)
    check_calibration(format, precision, calibration_video)
    if format != "saved_model" and (export_dir or export_base or version is not None):
        raise ValueError(
            f"--export_dir/--export_base/--version are for SavedModels; --format {format} takes --output."
        )
    if format == "saved_model" and output:
        raise ValueError(
            "--output is for --format onnx/litert; a SavedModel takes --export_dir or --export_base."
        )
    if export_dir and export_base:
        raise ValueError("Pass either --export_dir or --export_base, not both.")
    if version is not None and not export_base:
        raise ValueError("--version needs --export_base.")
    if run_folder and options is not None:
        raise ValueError("--run_folder takes its options from <run_folder>/config.gin; drop --options_json.")
    target = output or export_dir
    default = run_folder and not target and not export_base
    if default:
        target = os.path.join(run_folder, DEFAULT_FILES[format])
    if not target and not export_base:
        raise ValueError(
            "Pass --output." if format != "saved_model" else "Pass --export_dir or --export_base."
        )
    try:  # Before the (slow) restore and conversion.
        if format == "saved_model" and target:
            destinations.check_export_dir(target, overwrite)
        elif target:
            destinations.check_export_file(target, format, overwrite)
    except FileExistsError as e:
        if default and not isinstance(e, NotADirectoryError):
            raise AlreadyExported(
                f"{target} exists already (nothing written); pass --overwrite to export the run again.",
                target,
            ) from e
        raise

    # ONNX and LiteRT serve `image` only: no auxiliary outputs in their graphs.
    model, info = _load(source, path, options, use_aux_outputs=None if format == "saved_model" else False)
    if format != "saved_model":
        calibration = None
        if calibration_video:
            from film_tf.media.video_io import read_video
            from film_tf.serving.onnx_export import calibration_pairs

            frames, _ = read_video(calibration_video)
            calibration = calibration_pairs(frames, model.film_options.alignment)
            info["calibration"] = f"{os.path.basename(calibration_video)}: {len(calibration)} pairs"
        return export_file(model, format, target, overwrite, info, height, width, precision, calibration)
    if export_base:
        return lib.export_for_serving(model, export_base, version, overwrite=overwrite, extra_metadata=info)
    return lib.export_saved_model(model, target, overwrite=overwrite, extra_metadata=info)


def _load(source: str, path: str | None, options=None, use_aux_outputs: bool | None = None):
    """(model, metadata naming its source) from the path given to flag `source`."""
    from film_tf.formats import model_io

    path = model_io.resolve(path, options)  # A model handle: its folder, checked with `options`.
    kind = "run_folder" if source == "run_folder" else model_io.describe(path)
    kinds, what = _SOURCES[source]
    if kind not in (kinds or model_io.KINDS):
        raise ValueError(f"--{source} takes {what}; '{path}' is a {kind.replace('_', ' ')}.")
    model, weights = model_io.load_model_and_source(
        path, options=options, use_aux_outputs=use_aux_outputs, kind=kind
    )
    info = {"source": source, "checkpoint": weights.checkpoint}
    if weights.step is not None:
        info["step"] = weights.step
    return model, info
