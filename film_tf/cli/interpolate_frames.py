"""film-interpolate-frames: folders of frames or a video to slow motion or another frame rate.

Frame-rate conversion (same duration, audio kept; each frame at its exact time, film_tf/jobs/frame_rate.py;
--dyadic_times: the nearest dyadic time by recursion, the old way):
  film-interpolate-frames --input_video clip.mp4 --target_fps 60 --output_video smooth.mp4
Slow motion (N new frames per pair at t = j / (N + 1), at the input's rate or --fps; no audio):
  film-interpolate-frames --input_video clip.mp4 --num_frames 3 --output_video slow.mp4
  film-interpolate-frames --pattern "photos/*" --num_frames 7 [--output_video] [--fps 30]
  (--times_to_interpolate k is --num_frames 2^k - 1; the default is k = 1: one new frame.)
Folders write <folder>/interpolated_frames/frame_000.png ... (+ interpolated.mp4; or in --output_dir).
Outputs: .mp4/.mov (H.264, H.265), .mkv (also VP9), .webm (VP9, VP8), .gif (--codec, --crf).
Scene cuts (--scene_cut_threshold, 0 disables) are held, not morphed. Run again, an interrupted
job continues where it stopped; outputs get their final names only when complete.
A video on Apache Beam (the same frames; any flag not listed is a Beam option):
  film-interpolate-frames --input_video clip.mp4 --target_fps 60 --output_video smooth.mp4 \
    --direct_num_workers=2 --direct_running_mode=multi_processing
"""

from __future__ import annotations

from absl import flags

from film_tf import cli_utils
from film_tf.cli import model_flags
from film_tf.cli.model_flags import check_model_flags, define_model_flags, job_key, make_interpolator
from film_tf.cli_utils import UserError
from film_tf.datasets import beam_cli
from film_tf.media import video_formats

MAX_TIMES = 8  # above it only with --force: 2^8 - 1 = 255 new frames per pair
MAX_FRAMES = 2**MAX_TIMES - 1


def define_flags(fv: flags.FlagValues) -> None:
    # fmt: off
    flags.DEFINE_string("pattern", None, "Glob of folders of frames, e.g. 'photos/*' (quote it).",
                        flag_values=fv)
    flags.DEFINE_string("input_video", None, "A video to interpolate (instead of --pattern).", flag_values=fv)
    flags.DEFINE_integer("times_to_interpolate", 1, "Slow motion: 2^k - 1 new frames per pair "
                         "(--num_frames 2^k - 1).", flag_values=fv)
    flags.DEFINE_integer("num_frames", None, "Slow motion: N >= 1 new frames per pair, at t = j / (N + 1) "
                         "(instead of --times_to_interpolate).", flag_values=fv)
    flags.DEFINE_float("target_fps", None, "Frame-rate conversion to this rate (video only).", flag_values=fv)
    flags.DEFINE_float("multiplier", None, "Frame-rate conversion to the input rate x M (video only).",
                       flag_values=fv)
    flags.DEFINE_bool("dyadic_times", False, "Frame-rate conversion the old way: each output frame at the "
                      "nearest dyadic time, by recursion on middles (better on fast motion such as "
                      "bikes.mp4: README).", flag_values=fv)
    flags.DEFINE_string("output_video", None, "With --pattern: also write <folder>/interpolated.mp4 (bare "
                        "flag), or this path for a single folder. With --input_video: the output video path. "
                        + video_formats.supported_formats() + ".", flag_values=fv)
    flags.DEFINE_string("output_dir", None, "With --pattern: write interpolated_frames/ (and "
                        "interpolated.mp4) here instead of inside each matched folder; one subfolder per folder when several "
                        "match.", flag_values=fv)
    flags.DEFINE_float("fps", None, "Slow motion's output rate. Default: 30 for folders, the input's for a "
                       "video.", flag_values=fv)
    flags.DEFINE_string("codec", None, "Video codec (default: h264, vp9 for .webm, gif).", flag_values=fv)
    flags.DEFINE_integer("crf", None, "Quality: lower is better and larger (h264 default 18).",
                         flag_values=fv)
    flags.DEFINE_float("scene_cut_threshold", 0.15, "Mean |a - b| (0..1) above which two frames are a scene "
                       "cut; 0: off.", flag_values=fv)
    flags.DEFINE_bool("boomerang", False, "Folders' videos play forward then back (a loop).", flag_values=fv)
    flags.DEFINE_bool("force", False, f"Accept --times_to_interpolate above {MAX_TIMES} (--num_frames above "
                      f"{MAX_FRAMES}).", flag_values=fv)
    flags.DEFINE_bool("overlap", True, "Decode and encode on their own threads.", flag_values=fv)
    flags.DEFINE_bool("require_streams", False, "Frame-rate conversion: an audio/subtitle stream the output "
                      "cannot take is an error (work kept), not a warning (output written without it).",
                      flag_values=fv)
    flags.DEFINE_integer("chunk_frames", 120, "Video output frames per resumable chunk (work saved between "
                         "runs).", flag_values=fv)
    # fmt: on
    define_model_flags(fv)


_TRUE = ("true", "1", "yes")


def _check(fv: flags.FlagValues) -> None:
    k = fv.times_to_interpolate
    if k < 0 or (k > MAX_TIMES and not fv.force):
        raise ValueError(
            f"--times_to_interpolate must be in 0..{MAX_TIMES} (2^k - 1 new frames per pair), got {k}; "
            "--force accepts more."
        )
    if fv["num_frames"].present and fv["times_to_interpolate"].present:
        raise UserError("Pass at most one of --num_frames and --times_to_interpolate (k is N = 2^k - 1).")
    n = fv.num_frames
    if n is not None and (n < 1 or (n > MAX_FRAMES and not fv.force)):
        raise ValueError(
            f"--num_frames must be in 1..{MAX_FRAMES} (new frames per pair), got {n}; --force accepts more."
        )
    if fv.chunk_frames < 1:
        raise ValueError(f"--chunk_frames must be at least 1, got {fv.chunk_frames}.")
    for name in ("fps", "target_fps", "multiplier"):
        if fv[name].value is not None and fv[name].value <= 0:
            raise ValueError(f"--{name} must be positive, got {fv[name].value:g}.")
    if (fv.pattern is None) == (fv.input_video is None):
        raise UserError("Pass exactly one of --pattern (folders of frames) and --input_video.")
    rate = fv.target_fps is not None or fv.multiplier is not None
    if fv.target_fps is not None and fv.multiplier is not None:
        raise UserError("Pass at most one of --target_fps and --multiplier.")
    slow = fv["times_to_interpolate"].present or fv["num_frames"].present
    if rate and (fv.pattern is not None or fv.fps is not None or slow):
        raise UserError(
            "--target_fps/--multiplier convert a video's rate; drop --pattern, --fps, "
            "--times_to_interpolate, --num_frames."
        )
    if fv.dyadic_times and not rate:
        raise UserError("--dyadic_times applies to frame-rate conversion (--target_fps or --multiplier).")
    if fv.require_streams and not rate:
        raise UserError("--require_streams is for frame-rate conversion (slow motion drops the audio).")
    if fv.input_video is not None and fv.boomerang:
        raise UserError("--boomerang is for --pattern folders.")
    if fv.input_video is not None and (fv.output_video is None or fv.output_video.lower() in _TRUE):
        raise UserError("--input_video needs --output_video OUT.mp4.")


def _run(fv: flags.FlagValues, beam_args: list[str]) -> None:
    _check(fv)
    if beam_args and fv.input_video is None:
        raise UserError(f"Beam options ({beam_args[0]}) apply to --input_video only.")
    from film_tf.jobs import frame_jobs, frame_rate, video_command

    per_pair = frame_rate.new_frames_per_pair(fv.num_frames, fv.times_to_interpolate)
    if beam_args:
        beam_cli.require_beam(video_command.BEAM_HINT)

    with cli_utils.interruptible() as cancel:
        if fv.input_video is not None:
            output = video_command.check_paths(fv.input_video, fv.output_video, fv.codec, fv.crf)
            check_model_flags(fv)  # After the paths: it may download the model, and checks its files.
            load, key = model_flags.video_model(fv, output, on_beam=bool(beam_args))
            result = video_command.run(fv, per_pair, output, load, key, beam_args, cancel)
            cli_utils.report(result.summary(output))
            return
        video = fv.output_video
        if video is not None and video.lower() in _TRUE:
            video = True  # a video in each output folder
        jobs = frame_jobs.plan_folders(fv.pattern, video, fv.output_dir, fv.codec, fv.crf)
        check_model_flags(fv)  # After the paths: it may download the model, and checks its files.
        bit_depth = max((job.bit_depth for job in jobs), default=8)
        resumed = model_flags.resumed_precision(fv, [job.frames_folder for job in jobs])
        interpolator = make_interpolator(fv, bit_depth=bit_depth, precision=resumed)
        results = frame_jobs.run_folders(
            jobs, per_pair, fv.fps or frame_jobs.DEFAULT_FPS, interpolator,
            boomerang=fv.boomerang, job_key=job_key(fv, interpolator), scene_cut_threshold=fv.scene_cut_threshold,
            codec=fv.codec, crf=fv.crf, overlap=fv.overlap, cancel=cancel,
        )  # fmt: skip
        cli_utils.report(frame_jobs.summarize(results))


# Outputs written: no teardown (fast_exit).
main, run_main = beam_cli.entry_points(
    define_flags, _run, __doc__, True, lambda argv: cli_utils.bare_bool_flag(argv, "output_video")
)


if __name__ == "__main__":
    run_main()
