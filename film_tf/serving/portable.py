"""The ONNX and LiteRT writers' shared frame: checks, the bare forward pass,
the metadata and the atomic write (`write_portable`)."""

from __future__ import annotations

import os
from typing import Callable

from film_tf import files
from film_tf.serving.destinations import check_format_options


def write_portable(
    model,
    fmt: str,
    path: str,
    convert: Callable[[object, dict], bytes],
    overwrite: bool = False,
    extra_metadata: dict | None = None,
    height: int | None = None,
    width: int | None = None,
    precision: str = "float32",
) -> str:
    """The ONNX and LiteRT writers' shared frame: checks `model` and `path`
    (`metadata.check_portable`) before any work, builds the bare forward pass
    (`module.aligned_image_function`) and its metadata (with `precision`),
    and writes `convert(function, metadata)` (the file's bytes) atomically.
    Returns the absolute path."""
    from film_tf.serving.metadata import check_portable, portable_metadata
    from film_tf.serving.module import aligned_image_function

    check_format_options(fmt, precision=precision)
    path = os.path.abspath(path)
    check_portable(model, fmt, path, overwrite, height, width)
    info = portable_metadata(model, fmt, {**(extra_metadata or {}), "precision": precision}, height, width)
    data = convert(aligned_image_function(model, height, width), info)
    with files.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path
