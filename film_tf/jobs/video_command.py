"""film-interpolate-frames --input_video: the job the binary's flags describe, in-process or on Beam.

The binary (`film_tf.cli.interpolate_frames`) checks its flags and builds the
model loader (`film_tf.cli.model_flags.video_model`); this module checks the
paths before the model loads, then runs `video_job.run_video` in this process
or, given Beam pipeline options, `beam_video.run_video_on_beam` on the runner
they name. Both write the same output (see `film_tf.jobs.beam_video`).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

from film_tf.jobs.video_plan import VideoResult
from film_tf.media import video_io

BEAM_HINT = (
    'film-interpolate-frames runs on Apache Beam when given Beam options: pip install -e ".[beam]" '
    "(or pip install apache-beam)."
)


def check_paths(input_video: str, output_video: str, codec: str | None, crf: int | None) -> str:
    """The output path, checked (and the input opened once) before any slow work.

    Raises:
      ValueError: the errors of `video_io.check_video_output` and
        `video_io.open_video` (an unreadable input).
    """
    video_io.check_video_output(output_video, (input_video,), codec, crf)
    video_io.open_video(input_video).close()
    return output_video


def run(
    fv: Any,
    frames_per_pair: int,
    output_video: str,
    load_model: Callable[[], Callable],
    job_key: dict[str, Any],
    pipeline_args: Sequence[str] = (),
    cancel: threading.Event | None = None,
) -> VideoResult:
    """Runs the video job of film-interpolate-frames' flag values `fv` (read
    as attributes: input_video, fps, target_fps, multiplier, dyadic_times,
    scene_cut_threshold, codec, crf, chunk_frames, overlap, require_streams).

    Args:
      frames_per_pair: slow motion's N new frames per pair (from
        --num_frames or --times_to_interpolate).
      load_model: builds the model (an `Interpolator`); called here, or
        once per Beam worker (then it must be picklable).
      job_key: the model's part of the resume identity.
      pipeline_args: Beam options; none: in this process.
      cancel: Ctrl-C's event (in-process; a Beam run is stopped by the signal itself).
    """
    job = dict(
        target_fps=fv.target_fps, multiplier=fv.multiplier, dyadic_times=fv.dyadic_times,
        scene_cut_threshold=fv.scene_cut_threshold,
        codec=fv.codec, crf=fv.crf, chunk_frames=fv.chunk_frames, job_key=job_key,
        require_streams=fv.require_streams,
    )  # fmt: skip
    times, fps = frames_per_pair, fv.fps
    if pipeline_args:
        from film_tf.jobs import beam_video

        return beam_video.run_video_on_beam(fv.input_video, output_video, times, fps, load_model,
                                            pipeline_args, **job)  # fmt: skip
    from film_tf.jobs import video_job

    return video_job.run_video(fv.input_video, output_video, times, fps, load_model(), overlap=fv.overlap,
                               cancel=cancel, **job)  # fmt: skip
