"""film-interpolate-frames: folders of frames or a video to slow motion.

Folders (each matched folder's frames, natural sort order):
  film-interpolate-frames --pattern "photos/*" --times_to_interpolate 3
      [--output_video] [--fps 30]
writes <folder>/interpolated_frames/frame_000.png ... and, with
--output_video, <folder>/interpolated.mp4 (under --output_dir instead, when given).

A video:
  film-interpolate-frames --input_video clip.mp4 --times_to_interpolate 2
      --output_video slow.mp4 [--fps F]
plays 2^k times slower at the input frame rate (pass --fps to raise the
frame rate instead).

Each pair gets 2^k - 1 in-between frames. Frames are read, interpolated and
written one at a time; outputs appear under their final names only when
complete.
"""

from __future__ import annotations

import sys

from absl import flags

from film_tf import cli_utils, frame_jobs, media
from film_tf.cli import check_model_flags, define_model_flags, make_interpolator
from film_tf.cli_utils import UserError


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string(
        "pattern", None, "Glob of folders of frames, e.g. 'photos/*' (quote it).", flag_values=fv
    )
    flags.DEFINE_string("input_video", None, "A video to interpolate (instead of --pattern).", flag_values=fv)
    flags.DEFINE_integer(
        "times_to_interpolate", 5, "Recursion depth k: 2^k - 1 new frames per pair.", flag_values=fv
    )
    flags.DEFINE_string(
        "output_video",
        None,
        "With --pattern: also write <folder>/interpolated.mp4 (bare flag), or this path for a single "
        "folder. With --input_video: the output video path.",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "output_dir",
        None,
        "With --pattern: write interpolated_frames/ (and interpolated.mp4) here instead of inside "
        "each matched folder; one subfolder per folder when several match.",
        flag_values=fv,
    )
    flags.DEFINE_float(
        "fps", None, "Output frame rate. Default: 30 for folders, the input's for a video.", flag_values=fv
    )
    define_model_flags(fv)


_TRUE = ("true", "1", "yes")
MAX_TIMES = 12


def _run(fv: flags.FlagValues) -> None:
    k = fv.times_to_interpolate
    if not 0 <= k <= MAX_TIMES:
        raise ValueError(f"--times_to_interpolate must be in 0..{MAX_TIMES}, got {k}.")
    if fv.fps is not None and fv.fps <= 0:
        raise ValueError(f"--fps must be positive, got {fv.fps}.")
    if (fv.pattern is None) == (fv.input_video is None):
        raise UserError("Pass exactly one of --pattern (folders of frames) and --input_video.")
    check_model_flags(fv)
    if fv.input_video is not None:
        output = fv.output_video
        if output is None or output.lower() in _TRUE:
            raise UserError("--input_video needs --output_video OUT.mp4.")
        media.check_video_output(output, (fv.input_video,))
        media.open_video(fv.input_video).close()  # Fail before the model loads.
        frame_jobs.run_video(fv.input_video, output, k, fv.fps, make_interpolator(fv))
    else:
        video = fv.output_video
        if video is not None and video.lower() in _TRUE:
            video = True  # a video in each output folder
        jobs = frame_jobs.plan_folders(fv.pattern, video, fv.output_dir)
        frame_jobs.run_folders(jobs, k, fv.fps or frame_jobs.DEFAULT_FPS, make_interpolator(fv))


def bare_output_video(argv: list[str]) -> list[str]:
    """Lets `--output_video` stand alone (as in the official binary): a bare
    flag, followed by another flag or nothing, means 'true'."""
    out = []
    for i, arg in enumerate(argv):
        following = argv[i + 1] if i + 1 < len(argv) else None
        if arg == "--output_video" and (following is None or following.startswith("--")):
            arg = "--output_video=true"
        out.append(arg)
    return out


def main(argv: list[str]) -> None:
    """Runs from a command line (program name first)."""
    cli_utils.run_argv(bare_output_video(list(argv)), define_flags, _run)


def run_main() -> None:
    sys.argv = bare_output_video(sys.argv)
    cli_utils.run_binary(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
