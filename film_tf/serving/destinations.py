"""Where exports go: the three formats, their precisions and file names, and the
checks of a format's options and of an output path, made before any work.

The lowest module of `film_tf.serving`: the writers (`export_lib`, `portable`)
and `export_run` import it; it imports only `film_tf.files`.
"""

from __future__ import annotations

import os

from film_tf import files

FORMATS = ("saved_model", "onnx", "litert")
FORMAT_NAMES = {"saved_model": "SavedModel", "onnx": "ONNX model", "litert": "LiteRT model"}
FILE_EXTENSIONS = {"onnx": ".onnx", "litert": ".tflite"}


def check_export_file(path: str, fmt: str, overwrite: bool = False) -> None:
    """Raises before any work if an ONNX / LiteRT file cannot be written at
    `path`: wrong ending, a folder, or an existing file and not `overwrite`."""
    files.check_output_file(path, extensions=(FILE_EXTENSIONS[fmt],), what=f"{FORMAT_NAMES[fmt]} file")
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"'{path}' exists; pass overwrite=True (--overwrite) to replace it.")


# Precisions each format writes. ONNX: float16 convolutions
# (`onnx_export.to_float16`), int8 static QDQ quantization of the
# convolutions (`onnx_export.quantize_int8`, calibrated on frames from a
# video: `--calibration_video`); LiteRT: float16 weights, dynamic-range int8.
FORMAT_PRECISIONS = {
    "saved_model": ("float32",),
    "onnx": ("float32", "float16", "int8"),
    "litert": ("float32", "float16", "int8"),
}


def check_format_options(
    fmt: str, height: int | None = None, width: int | None = None, precision: str = "float32"
) -> None:
    """One-line ValueError, before any work, for options `fmt` cannot write."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'.")
    if precision not in FORMAT_PRECISIONS[fmt]:
        raise ValueError(
            f"--format {fmt} writes precision {' / '.join(FORMAT_PRECISIONS[fmt])}, not '{precision}'."
        )
    if (height is None) != (width is None):
        raise ValueError("Pass both --height and --width, or neither.")
    if fmt == "saved_model" and (height is not None or width is not None):
        raise ValueError("--height/--width are for --format onnx/litert; a SavedModel takes any size.")


def check_calibration(fmt: str, precision: str, calibration_video: str | None) -> None:
    """ONNX int8 needs a calibration video (checked to exist); nothing else takes one."""
    int8_onnx = fmt == "onnx" and precision == "int8"
    if int8_onnx and not calibration_video:
        raise ValueError(
            "--format onnx --precision int8 needs --calibration_video (frames to calibrate the "
            "activation ranges on; not the clips you evaluate on)."
        )
    if calibration_video and not int8_onnx:
        raise ValueError("--calibration_video is for --format onnx --precision int8 only.")
    if calibration_video and not os.path.isfile(calibration_video):
        raise FileNotFoundError(f"--calibration_video '{calibration_video}' is not a file.")


def check_export_dir(export_dir: str, overwrite: bool = False) -> None:
    """Raises before any work if `export_dir` cannot be written: it is a file
    (FileExistsError), or a non-empty folder and not `overwrite`."""
    files.check_output_folder(os.path.abspath(export_dir), overwrite)
