"""The official FILM inference commands, run by film_tf (the top-level eval/ folder):

  python -m eval.interpolator_test --frame1 a.png --frame2 b.png --model_path MODEL
      [--output_frame mid.png] [--align 64] [--block_height 1] [--block_width 1]
  python -m eval.interpolator_cli --pattern "photos/*" --model_path MODEL
      [--times_to_interpolate 5] [--fps 30] [--output_video] [--align 64 --block_height 1 --block_width 1]

The official flags keep their names, defaults and outputs: the middle frame
goes to --output_frame (default <folder of --frame1>/output_frame.png); each
folder matching --pattern gets interpolated_frames/frame_000.png ... and, with
--output_video, interpolated.mp4. Underneath they are film-interpolate and
film-interpolate-frames (every flag of those works too; --model_path takes
every model film_tf loads, handles included, and defaults to the bundled model).

--align: accepted for compatibility; film_tf pads every frame to the model's
own alignment by reflection, so the value does not change the output.
--block_height/--block_width: the official code splits a frame into that many
non-overlapping patches (seams at their borders) to save memory; here they
set film_tf's overlapping, seamless tiles to the same size (--tile_size).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from absl import flags

from film_tf import cli_utils
from film_tf.cli import interpolate, interpolate_frames
from film_tf.cli_utils import UserError
from film_tf.datasets import beam_cli

OFFICIAL_TIMES_TO_INTERPOLATE = 5  # The official interpolator_cli's default (film-interpolate-frames: 1).
_FALSE = ("false", "0", "no")


def define_official_flags(fv: flags.FlagValues) -> None:
    """--align, --block_height, --block_width, with the official defaults."""
    flags.DEFINE_integer(
        "align", 64, "Official flag, accepted: film_tf pads to the model's alignment itself.", flag_values=fv
    )
    for side in ("height", "width"):
        flags.DEFINE_integer(
            f"block_{side}",
            1,
            f"Patches along the {side} (official flag): film_tf tiles of size {side}/block_{side}, "
            "overlapping and seamless.",
            flag_values=fv,
        )


def blocks_tile_size(fv: flags.FlagValues, sizes: Sequence[tuple[int, int]]) -> int | None:
    """The --tile_size that stands for --block_height/--block_width on frames of
    `sizes` ((height, width) each): the largest patch side (None: one block).
    Tiles overlap (twice the overlap is the smallest tile the Interpolator
    takes: 128 pixels for the bundled model, 256 for the released ones), so
    smaller blocks are refused there, in one line."""
    if fv.align < 0:
        raise ValueError(f"--align must be at least 0, got {fv.align}.")
    if fv.block_height < 1 or fv.block_width < 1:
        raise ValueError(
            f"--block_height and --block_width must be at least 1, got {fv.block_height} and {fv.block_width}."
        )
    if fv.block_height * fv.block_width == 1:
        return None
    if fv.tile_size is not None:
        raise UserError("Pass either --block_height/--block_width or --tile_size, not both.")
    return max(max(math.ceil(h / fv.block_height), math.ceil(w / fv.block_width)) for h, w in sizes)


def define_interpolator_test(fv: flags.FlagValues) -> None:
    interpolate.define_flags(fv)
    define_official_flags(fv)


def run_interpolator_test(fv: flags.FlagValues) -> None:
    """eval.interpolator_test: film-interpolate with the official defaults."""
    import os

    from film_tf.media.image_io import image_info

    for name in ("frame1", "frame2"):
        cli_utils.required(fv, name)
    if fv.output_frame is None:  # The official default: beside the first frame.
        fv.output_frame = os.path.join(os.path.dirname(fv.frame1), "output_frame.png")
    info = image_info(fv.frame1)
    tile_size = blocks_tile_size(fv, [(info.height, info.width)])
    if tile_size is not None:
        fv.tile_size = tile_size
    interpolate._run(fv)


def define_interpolator_cli(fv: flags.FlagValues) -> None:
    interpolate_frames.define_flags(fv)
    define_official_flags(fv)
    fv.set_default("times_to_interpolate", OFFICIAL_TIMES_TO_INTERPOLATE)


def official_argv(argv: Sequence[str]) -> list[str]:
    """The official boolean --output_video (bare, =true, =false, --nooutput_video)
    as film-interpolate-frames takes it (bare or a path)."""
    out = []
    for arg in cli_utils.bare_bool_flag(argv, "output_video"):
        if arg == "--nooutput_video" or (
            arg.startswith("--output_video=") and arg.split("=", 1)[1].lower() in _FALSE
        ):
            continue
        out.append(arg)
    return out


def run_interpolator_cli(fv: flags.FlagValues, beam_args: list[str]) -> None:
    """eval.interpolator_cli: film-interpolate-frames on --pattern's folders."""
    cli_utils.required(fv, "pattern")
    if fv.input_video is not None:
        raise UserError("eval.interpolator_cli takes --pattern; for a video use film-interpolate-frames.")
    if fv.block_height * fv.block_width != 1 or fv.align < 0:
        from film_tf.jobs import frame_jobs

        video = True if fv.output_video is not None and fv.output_video.lower() == "true" else fv.output_video
        jobs = frame_jobs.plan_folders(fv.pattern, video, fv.output_dir, fv.codec, fv.crf)  # Headers only.
        tile_size = blocks_tile_size(fv, [(job.height, job.width) for job in jobs])
        if tile_size is not None:
            fv.tile_size = tile_size
    interpolate_frames._run(fv, beam_args)


# Entry points (fast_exit as film-interpolate / film-interpolate-frames: outputs are written when run returns).
interpolator_test_main, interpolator_test_run_main = cli_utils.entry_points(
    define_interpolator_test, run_interpolator_test, __doc__, fast_exit=True
)
interpolator_cli_main, interpolator_cli_run_main = beam_cli.entry_points(
    define_interpolator_cli, run_interpolator_cli, __doc__, True, official_argv
)
