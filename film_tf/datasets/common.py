"""Shared pieces of the dataset builders: flags, layout checks, triplet encoding.

A builder lists `FileTriplet`s (x0, ground-truth middle y, x1 file paths) or
work items that produce frames in memory, and hands them with an encoder from
here to `beam_pipeline.write_examples`, which encodes them on Apache Beam into
the official triplet format (`film_tf.data.tfrecord`).

Each builder is a binary in the shared pattern of `film_tf.cli_utils`
(`define_flags`, `_run`, `main(argv)`, `run_main()`), whose command line also
takes Beam pipeline options (`beam_cli`). Importing this module imports
neither NumPy nor TensorFlow (binaries answer --help fast).
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from typing import TYPE_CHECKING, Iterable, Sequence

from absl import flags

if TYPE_CHECKING:
    import numpy as np

# PIL format name -> the `frame_i/format` value stored in the TFRecord.
_STORED_FORMATS = {"PNG": "png", "JPEG": "jpg"}


@dataclasses.dataclass(frozen=True)
class FileTriplet:
    """Three frame files on disk and the identifier stored as `path`.

    Attributes:
      frames: file paths of frame_0 (x0), frame_1 (the ground truth y) and
        frame_2 (x1), in that order.
      path: the middle frame's path, stored as the example's `path`.
    """

    frames: tuple[str, str, str]
    path: str


# ---------------------------------------------------------------- flags


def define_output_flags(fv: flags.FlagValues, default_shards: int) -> None:
    """The flags every builder shares (output, shards, workers)."""
    flags.DEFINE_string(
        "output_tfrecord_filepath",
        None,
        "Output TFRecord base path; shards are written as <path>-0000i-of-0000N. "
        "A '<path>@N' value sets the shard count itself.",
        flag_values=fv,
    )
    flags.DEFINE_integer("num_shards", default_shards, "Number of output shards.", flag_values=fv)
    flags.DEFINE_integer(
        "num_workers",
        0,
        "Workers of the default in-process Beam runner (--direct_num_workers); 0 = one per CPU core.",
        lower_bound=0,
        flag_values=fv,
    )


def written(count: int, output: str) -> str:
    """The line a builder ends with: 'wrote 7 examples to 2 shard(s) <base>-*-of-00002'."""
    m = re.match(r"^(?P<base>.+)@(?P<n>\d+)$", output)
    where = f"{m.group('base')}-*-of-{int(m.group('n')):05d}" if m else output
    shards = int(m.group("n")) if m else 1
    return f"wrote {count} examples to {shards} shard(s) {where}"


def sharded_output(path: str, num_shards: int) -> str:
    """`path` -> `path@num_shards`, unless `path` already ends in `@N`."""
    if re.search(r"@\d+$", path):
        return path
    if num_shards < 1:
        raise ValueError(f"--num_shards must be >= 1, not {num_shards}.")
    return f"{path}@{num_shards}"


# ---------------------------------------------------------------- layouts


def require_dir(path: str, what: str) -> str:
    """`path` if it is a directory; else a FileNotFoundError naming it."""
    if not os.path.isdir(path):
        if os.path.exists(path):
            raise NotADirectoryError(f"{what} is not a directory: '{path}'.")
        raise FileNotFoundError(f"{what} not found: '{path}'.")
    return path


def require_files(triplets: Iterable[FileTriplet], layout: str) -> None:
    """Checks every frame exists before anything is written."""
    for triplet in triplets:
        for frame in triplet.frames:
            if not os.path.isfile(frame):
                raise FileNotFoundError(f"Missing frame '{frame}' (expected layout: {layout}).")


def file_triplets(frames: Iterable[Sequence[str]], layout: str) -> list[FileTriplet]:
    """One `FileTriplet` per (x0, y, x1) paths, stored as its middle frame's
    path; every frame must exist (`require_files`)."""
    triplets = [FileTriplet(frames=tuple(paths), path=paths[1]) for paths in frames]
    require_files(triplets, layout)
    return triplets


# ---------------------------------------------------------------- encoding


def read_encoded(path: str) -> tuple[bytes, str, tuple[int, int]]:
    """The file's bytes, its stored format ('png'/'jpg') and (height, width).

    The bytes go into the TFRecord unchanged, so PNG frames stay bit-exact.
    """
    import PIL.Image

    with open(path, "rb") as f:
        data = f.read()
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            width, height = image.size
            image.verify()  # Catches truncated or corrupt files now, not at training time.
    except Exception as e:  # PIL raises many types for bad data.
        raise ValueError(f"Cannot read image '{path}': {e}") from None
    if fmt not in _STORED_FORMATS:
        raise ValueError(f"Unsupported image format {fmt} in '{path}' (use PNG or JPEG).")
    return data, _STORED_FORMATS[fmt], (height, width)


def check_same_size(sizes: Sequence[tuple[int, int]], names: Sequence[str], what: str) -> None:
    """A ValueError naming the triplet when its frames differ in size."""
    if len(set(sizes)) > 1:
        detail = ", ".join(f"'{n}' is {w}x{h}" for n, (h, w) in zip(names, sizes))
        raise ValueError(f"Frames of different sizes in triplet '{what}': {detail}.")


def encode_file_triplet(triplet: FileTriplet) -> bytes:
    """A serialized Example holding the three files' bytes unchanged."""
    from film_tf.data.tfrecord import make_example

    read = [read_encoded(p) for p in triplet.frames]
    sizes = [r[2] for r in read]
    check_same_size(sizes, triplet.frames, triplet.path)
    example = make_example([r[0] for r in read], [r[1] for r in read], sizes, triplet.path)
    # deterministic: features in key order; the default order of a proto map
    # follows the process's string hashing, so reruns would write other bytes.
    return example.SerializeToString(deterministic=True)


def encode_image(rgb: np.ndarray, fmt: str = "png", jpeg_quality: int = 95) -> bytes:
    """uint8 (H, W, 3) RGB -> PNG or JPEG bytes."""
    import cv2
    import numpy as np

    bgr = np.ascontiguousarray(rgb[..., ::-1])
    if fmt == "png":
        ok, buf = cv2.imencode(".png", bgr)
    elif fmt == "jpg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    else:
        raise ValueError(f"Unknown image format '{fmt}' (png or jpg).")
    if not ok:
        raise ValueError(f"Could not encode a {rgb.shape} frame as {fmt}.")
    return buf.tobytes()


def encode_array_triplet(
    frames: Sequence[np.ndarray], path: str, fmt: str = "png", time: float = 0.5
) -> bytes:
    """A serialized Example from three uint8 (H, W, 3) RGB frames (x0, y, x1);
    `time`: where y lies between x0 and x1 (stored only when not 0.5)."""
    from film_tf.data.tfrecord import make_example

    sizes = [tuple(f.shape[:2]) for f in frames]
    check_same_size(sizes, ("frame_0", "frame_1", "frame_2"), path)
    encoded = [encode_image(f, fmt) for f in frames]
    return make_example(encoded, [fmt] * 3, sizes, path, time).SerializeToString(deterministic=True)
