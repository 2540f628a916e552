"""The official FILM TFRecord triplet format, and sharded file names.

One `tf.train.Example` per triplet: `frame_{0,1,2}/encoded` (PNG or JPEG
bytes), `/format`, `/height`, `/width`, and `path` (the middle frame's path).
frame_0 -> x0, frame_1 -> y (ground truth), frame_2 -> x1.

Optional `time` (one float in (0, 1), beyond the official format): where the
ground truth lies between x0 (t = 0) and x1 (t = 1). Absent means 0.5, so
official records and every shard written before it read exactly as before;
writers store it only when it is not 0.5, so midpoint triplets keep their bytes. A sharded file
`<base>@N` is stored as `<base>-0000i-of-0000N`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
from typing import Iterator, Sequence

import tensorflow as tf

from film_tf.files import atomic_path

FRAMES = ("frame_0", "frame_1", "frame_2")
_SHARDED = re.compile(r"^(?P<base>.+)@(?P<n>\d+)$")


def shard_names(path: str) -> list[str]:
    """`base@N` -> the N shard file names; any other path -> [path] (globs expanded)."""
    m = _SHARDED.match(os.fspath(path))
    if m:
        n = int(m.group("n"))
        if n < 1:
            raise ValueError(f"'{path}': the shard count must be >= 1.")
        return [f"{m.group('base')}-{i:05d}-of-{n:05d}" for i in range(n)]
    if glob.has_magic(path):  # without the builders' counts files (`shards.INFO_SUFFIX`)
        return sorted(n for n in glob.glob(path) if not n.endswith(".dataset_info.json"))
    return [os.fspath(path)]


def existing_shards(path: str) -> list[str]:
    """Like `shard_names`, but raises FileNotFoundError naming a missing file."""
    names = shard_names(path)
    if not names:
        raise FileNotFoundError(f"No TFRecord files match '{path}'.")
    for name in names:
        if not tf.io.gfile.exists(name):
            raise FileNotFoundError(f"TFRecord file not found: '{name}' (from '{path}').")
    return names


def _bytes(v: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))


def _int(v: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v)]))


MIDPOINT = 0.5  # the time of a record without a `time` feature (the official format)


def check_time(time: float) -> float:
    """`time` as a float strictly inside (0, 1); ValueError otherwise (a ground
    truth at t = 0 or 1 would be an input frame)."""
    t = float(time)
    if not 0.0 < t < 1.0:  # also False for NaN
        raise ValueError(f"A triplet's time must lie strictly between 0 and 1, got {time!r}.")
    return t


def make_example(
    encoded: Sequence[bytes],
    formats: Sequence[str],
    sizes: Sequence[tuple[int, int]],
    path: str,
    time: float = MIDPOINT,
) -> tf.train.Example:
    """A triplet Example from three encoded frames (x0, ground truth y, x1).

    Args:
      encoded: PNG/JPEG bytes of frame_0, frame_1 (the ground truth), frame_2.
      formats: 'png' or 'jpg' for each.
      sizes: (height, width) of each.
      path: the middle frame's path (an identifier for evaluation).
      time: where frame_1 lies between frame_0 (0) and frame_2 (1), in (0, 1);
        stored as the `time` feature only when it is not 0.5.
    """
    feature = {"path": _bytes(path.encode("utf-8"))}
    time = check_time(time)
    if time != MIDPOINT:
        feature["time"] = tf.train.Feature(float_list=tf.train.FloatList(value=[time]))
    for key, data, fmt, (h, w) in zip(FRAMES, encoded, formats, sizes):
        feature[f"{key}/encoded"] = _bytes(data)
        feature[f"{key}/format"] = _bytes(fmt.encode("utf-8"))
        feature[f"{key}/height"] = _int(h)
        feature[f"{key}/width"] = _int(w)
    return tf.train.Example(features=tf.train.Features(feature=feature))


_FEATURES = {
    "path": tf.io.FixedLenFeature((), tf.string, default_value=""),
    "time": tf.io.FixedLenFeature((1,), tf.float32, default_value=[MIDPOINT]),
}
for _key in FRAMES:
    _FEATURES[f"{_key}/encoded"] = tf.io.FixedLenFeature((), tf.string, default_value="")
    _FEATURES[f"{_key}/format"] = tf.io.FixedLenFeature((), tf.string, default_value="png")
    _FEATURES[f"{_key}/height"] = tf.io.FixedLenFeature((), tf.int64, default_value=0)
    _FEATURES[f"{_key}/width"] = tf.io.FixedLenFeature((), tf.int64, default_value=0)


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Decodes one serialized triplet to `{'x0', 'x1', 'y', 'time', 'path'}`.

    Images are float32 (H, W, 3) in [0, 1]; `time` float32 (1,): the
    record's `time` feature, 0.5 where it has none.
    """
    f = tf.io.parse_single_example(serialized, _FEATURES)

    def decode(key):
        return decode_frame(f[f"{key}/encoded"])

    return {
        "x0": decode("frame_0"),
        "y": decode("frame_1"),
        "x1": decode("frame_2"),
        "time": f["time"],
        "path": f["path"],
    }


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode_frame(encoded: tf.Tensor) -> tf.Tensor:
    """PNG/JPEG bytes -> float32 (H, W, 3) in [0, 1], at the file's precision.

    A 16-bit PNG (bit depth, byte 24 of the file, is 16) is decoded as uint16
    and scaled by 1/65535, as the official reader (`decode_image` to float32)
    keeps it; everything else as uint8 scaled by 1/255, exactly as before.
    """
    # The first 25 bytes, padded: substr past the end of a short string fails.
    head = tf.strings.join([tf.strings.substr(encoded, 0, 25), b"\0" * 25])
    is_16bit = tf.logical_and(
        tf.equal(tf.strings.substr(head, 0, 8), _PNG_SIGNATURE),
        tf.equal(tf.strings.substr(head, 24, 1), b"\x10"),
    )

    def wide():
        return tf.image.convert_image_dtype(
            tf.io.decode_png(encoded, channels=3, dtype=tf.uint16), tf.float32
        )

    def narrow():
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        return tf.image.convert_image_dtype(image, tf.float32)

    return tf.cond(is_16bit, wide, narrow)


@contextlib.contextmanager
def atomic_sharded_writer(path: str) -> Iterator[list[tf.io.TFRecordWriter]]:
    """Yields one writer per shard of `path`; files appear under their final
    names only when the block completes, so a failed run leaves no partial
    TFRecord behind."""
    with contextlib.ExitStack() as stack:
        temps = [stack.enter_context(atomic_path(name)) for name in shard_names(path)]
        writers = [tf.io.TFRecordWriter(t) for t in temps]
        try:
            yield writers
        finally:
            # Closed (flushed) before the renames, or before removal on failure.
            for w in writers:
                w.close()
