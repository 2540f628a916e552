r"""Xiph-2K / Xiph-4K (the SoftSplat benchmark) -> TFRecord, from extracted frames.

The benchmark: 8 clips of 4K (4096x2160) Xiph video, the first 100 frames of
each; every even frame (1-based: 2, 4, ..., 98) is interpolated from its odd
neighbours, 49 triplets per clip, 392 in all. Frames are processed in the
order centre crop, then downscale:
- Xiph-2K: `--scale_factor=2 --center_crop_factor=1` (default): the whole
  4K frame downscaled by 2 to 2048x1080.
- Xiph-4K: `--scale_factor=1 --center_crop_factor=2`: the central 2048x1080
  crop of the 4K frame at full resolution (rows 540..1619, columns 1024..3071).

Downscaling filter (`--resize_filter`): `area` (default) is OpenCV's
INTER_AREA on the 8-bit gamma-encoded frames, i.e. the mean of each 2x2 block
for a factor of 2, as in SoftSplat's benchmark script; `area_linear` averages in
linear light (gamma 2.2), as the official FILM builder does.

Layout: one folder per clip with its frames (PNG/JPEG) in natural name order,

    <input_dir>/<clip>/<frame>.png      e.g. <input_dir>/BoxingPractice/001.png

or, as in the official builder, all frames directly in <input_dir>, sorted,
clip after clip, `--num_frames` per clip. Extract frames with e.g.
`ffmpeg -i BoxingPractice.y4m -frames:v 100 <input_dir>/BoxingPractice/%03d.png`.

    python -m datasets.create_xiph_tfrecord --input_dir=<xiph_frames> \
      --output_tfrecord_filepath=<out>/xiph_2K.tfrecord --num_shards=2
    python -m datasets.create_xiph_tfrecord --input_dir=<xiph_frames> --scale_factor=1 \
      --center_crop_factor=2 --output_tfrecord_filepath=<out>/xiph_4K.tfrecord --num_shards=2
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import TYPE_CHECKING, Sequence

from absl import flags, logging

from film_tf import cli_utils, files
from film_tf.datasets import beam_cli, common

if TYPE_CHECKING:
    import numpy as np

LAYOUT = "<input_dir>/<clip>/<frame>.png (frames in natural name order), or all frames in <input_dir>"
RESIZE_FILTERS = ("area", "area_linear")
_GAMMA = 2.2


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string("input_dir", None, f"Xiph frames. Layout: {LAYOUT}.", flag_values=fv)
    flags.DEFINE_integer(
        "scale_factor", 2, "Downscale factor (2 for Xiph-2K, 1 for Xiph-4K).", 1, flag_values=fv
    )
    flags.DEFINE_integer(
        "center_crop_factor", 1, "Keep the central 1/factor of each side (2 for Xiph-4K).", 1, flag_values=fv
    )
    flags.DEFINE_enum("resize_filter", "area", list(RESIZE_FILTERS), "Downscaling filter.", flag_values=fv)
    flags.DEFINE_integer("num_frames", 100, "Frames used per clip (the first ones).", 3, flag_values=fv)
    common.define_output_flags(fv, default_shards=2)


@dataclasses.dataclass(frozen=True)
class Transform:
    """Centre crop by `center_crop_factor`, then downscale by `scale_factor`."""

    scale_factor: int = 2
    center_crop_factor: int = 1
    resize_filter: str = "area"

    def __post_init__(self):
        if self.scale_factor < 1 or self.center_crop_factor < 1:
            raise ValueError(
                f"--scale_factor and --center_crop_factor must be >= 1, not "
                f"{self.scale_factor} and {self.center_crop_factor}."
            )
        if self.resize_filter not in RESIZE_FILTERS:
            raise ValueError(f"--resize_filter must be one of {RESIZE_FILTERS}, not '{self.resize_filter}'.")

    @property
    def identity(self) -> bool:
        return self.scale_factor == 1 and self.center_crop_factor == 1

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """uint8 (H, W, C) -> uint8 (H', W', C)."""
        import cv2
        import numpy as np

        if self.center_crop_factor > 1:
            h, w = image.shape[:2]
            qh, qw = h // (2 * self.center_crop_factor), w // (2 * self.center_crop_factor)
            image = image[qh : h - qh, qw : w - qw]
        if self.scale_factor > 1:
            h, w = image.shape[:2]
            size = (w // self.scale_factor, h // self.scale_factor)
            if self.resize_filter == "area":
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            else:
                linear = np.power(image.astype(np.float32) / 255.0, _GAMMA)
                linear = cv2.resize(linear, size, interpolation=cv2.INTER_AREA)
                gamma = np.power(np.clip(linear, 0.0, 1.0), 1.0 / _GAMMA)
                image = np.clip(gamma * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(image)


def find_clips(input_dir: str, num_frames: int = 100) -> dict[str, list[str]]:
    """clip name -> its first `num_frames` frame paths."""
    common.require_dir(input_dir, "Xiph frames folder")
    subdirs = files.list_folders(input_dir)
    clips = {}
    if subdirs:
        for name in subdirs:
            frames = files.list_images(os.path.join(input_dir, name))
            if len(frames) < 3:
                raise ValueError(
                    f"Clip folder '{os.path.join(input_dir, name)}' has {len(frames)} frames; "
                    f"a triplet needs 3 (expected layout: {LAYOUT})."
                )
            if len(frames) < num_frames:
                logging.warning("Clip '%s' has only %d of %d frames.", name, len(frames), num_frames)
            clips[name] = frames[:num_frames]
    else:
        # The official layout: all clips' frames in one folder, num_frames each.
        frames = files.list_images(input_dir)
        if len(frames) < 3:
            raise FileNotFoundError(
                f"No clip folders or frames in '{input_dir}' (expected layout: {LAYOUT})."
            )
        for start in range(0, len(frames), num_frames):
            clips[f"clip{start // num_frames}"] = frames[start : start + num_frames]
    return clips


def find_triplets(input_dir: str, num_frames: int = 100) -> list[common.FileTriplet]:
    """Per clip, frames (i-1, i, i+1) for i = 1, 3, 5, ... (0-based): the
    even frames in 1-based numbering, interpolated from their odd neighbours."""
    triplets = []
    for frames in find_clips(input_dir, num_frames).values():
        for i in range(1, len(frames) - 1, 2):
            triplets.append(common.FileTriplet(frames=tuple(frames[i - 1 : i + 2]), path=frames[i]))
    return triplets


def _read_rgb(path: str) -> np.ndarray:
    import cv2

    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"Cannot read image '{path}'.")
    return image[..., ::-1]


def encode_triplet(triplet: common.FileTriplet, transform: Transform) -> bytes:
    """A serialized Example of the transformed (cropped/downscaled) triplet."""
    if transform.identity:
        return common.encode_file_triplet(triplet)
    images = [_read_rgb(p) for p in triplet.frames]
    common.check_same_size([im.shape[:2] for im in images], triplet.frames, triplet.path)
    return common.encode_array_triplet([transform(im) for im in images], triplet.path, "png")


def build(
    input_dir: str,
    output: str,
    transform: Transform = Transform(),
    num_frames: int = 100,
    num_workers: int = 0,
    pipeline_args: Sequence[str] = (),
) -> int:
    """Writes the Xiph triplets, transformed, to `output` (`base@N`) on Beam."""
    from film_tf.datasets.beam_pipeline import write_examples

    triplets = find_triplets(input_dir, num_frames)
    encode = functools.partial(encode_triplet, transform=transform)
    return write_examples(triplets, encode, output, None, pipeline_args, num_workers)


def _run(fv: flags.FlagValues, beam_args: list[str]) -> None:
    beam_cli.require_beam()
    output = common.sharded_output(cli_utils.required(fv, "output_tfrecord_filepath"), fv.num_shards)
    transform = Transform(fv.scale_factor, fv.center_crop_factor, fv.resize_filter)
    count = build(
        cli_utils.required(fv, "input_dir"), output, transform, fv.num_frames, fv.num_workers, beam_args
    )
    cli_utils.report(common.written(count, output))


main, run_main = beam_cli.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
