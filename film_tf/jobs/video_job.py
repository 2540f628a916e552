"""A video in, a video out: slow motion or frame-rate conversion, resumable.

`run_video` streams the input through the model at the times a
`film_tf.jobs.frame_rate` plan gives (`film_tf.runtime.timed`: every output
frame made directly from its two source frames at its exact time, each input
frame encoded once, each pair's flows estimated once), with scene cuts held
(`film_tf.jobs.scene_cuts`):

  * slow motion (default): N new frames per pair at t = j / (N + 1), played
    at the input's rate (or `fps`), N + 1 times longer; the audio is
    dropped, with a notice;
  * frame-rate conversion (`target_fps` or `multiplier`): same duration,
    each output frame at its exact time; audio (and subtitles in .mkv)
    copied from the input (`stream_copy.copy_streams`).

The output is encoded in chunks (`film_tf.jobs.chunk_plan`: at scene cuts and
otherwise about `chunk_frames` frames, whole input pairs) into the job's work folder (`film_tf.jobs.resume`); each finished chunk is
recorded with its size and SHA-256. Run again after an interruption, the
job reuses the chunks that check out and continues from the first missing
one (the frames before it are decoded, not interpolated), then joins the
chunks (`ffmpeg -f concat`, stream copy) and publishes the output
atomically (`film_tf.jobs.video_plan`, shared with the Beam job
`film_tf.jobs.beam_video`, which renders the same chunks on workers). With `overlap`, decoding runs on a reader thread and encoding on
a writer thread (bounded queues, `film_tf.jobs.pipelining`), so the model does
not wait for I/O; memory is bounded for any clip length.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any, Callable

import numpy as np

from film_tf.jobs import chunk_plan, pipelining, progress, resume, scene_cuts
from film_tf.jobs.video_plan import (  # noqa: F401 (VideoResult, large_job_warning: this module's API)
    VideoJob,
    VideoResult,
    finish_video,
    large_job_warning,
    prepare_video,
    say_stderr,
    timed_model,
)
from film_tf.media import video_io
from film_tf.runtime.timed import interpolate_at_times


class _ChunkWriter:
    """Writes output frames into the chunk files of a work folder, recording each when complete."""

    def __init__(self, work: resume.WorkFolder, job: VideoJob, bar: progress.Bar):
        self.work, self.job, self.bar = work, job, bar
        self._chunk: int | None = None
        self._writer: video_io.VideoWriter | None = None
        self._frames = 0

    def add(self, item: tuple[int, np.ndarray]) -> None:
        chunk, frame = item
        if chunk != self._chunk:
            self.finish()
            self._writer = video_io.VideoWriter(
                self.work.file(self.job.chunk_file(chunk)), self.job.height, self.job.width,
                self.job.fps_out, *self.job.chunk_format,
            ).__enter__()  # fmt: skip
            self._chunk, self._frames = chunk, 0
        self._writer.add(frame)
        self._frames += 1
        self.bar.update(1)

    def finish(self) -> None:
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        writer.__exit__(None, None, None)
        cuts = self.job.chunks[self._chunk].cuts
        self.work.add([os.path.basename(writer.path)], chunk=self._chunk, frames=self._frames, cuts=cuts)

    def abort(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            error = KeyboardInterrupt()
            try:
                writer.__exit__(type(error), error, None)
            except BaseException:
                pass


def run_video(
    input_video: str,
    output_video: str,
    frames_per_pair: int,
    fps: float | None,
    interpolator: Callable[..., np.ndarray],
    *,
    target_fps: float | None = None,
    multiplier: float | None = None,
    dyadic_times: bool = False,
    scene_cut_threshold: float = scene_cuts.DEFAULT_THRESHOLD,
    codec: str | None = None,
    crf: int | None = None,
    overlap: bool = True,
    chunk_frames: int = 120,
    cancel: threading.Event | None = None,
    job_key: dict[str, Any] | None = None,
    say: Callable[[str], None] = say_stderr,
    progress_bar: bool = True,
    require_streams: bool = False,
) -> VideoResult:
    """Interpolates `input_video` into `output_video` (see the module docstring).

    Args:
      input_video, output_video: paths; the output's extension picks the
        container (`film_tf.media.video_formats`), `codec` / `crf` the encoding.
      frames_per_pair: N for slow motion (N new frames per pair, at
        t = j / (N + 1)); ignored in frame-rate conversion.
      fps: slow motion's output rate (None: the input's).
      interpolator: an `Interpolator` or `(x0, x1, time) -> frame`, float
        (H, W, 3) in [0, 1] (see `film_tf.runtime.timed.interpolate_at_times`).
      target_fps / multiplier: frame-rate conversion (at most one).
      dyadic_times: frame-rate conversion at the nearest dyadic times, by
        recursion on middles (the old plan, `film_tf.jobs.frame_rate`).
      scene_cut_threshold: `film_tf.jobs.scene_cuts`; 0 disables.
      overlap: decode and encode on their own threads.
      chunk_frames: about how many output frames per resumable chunk.
      cancel: set it (from another thread, a signal handler, a Stop
        button) to stop at the next frame with KeyboardInterrupt; finished
        chunks are kept for a rerun.
      job_key: more identity for resuming (e.g. the model's path): a rerun
        with another key starts afresh.
      say: where the progress/notice lines go (stderr).
      progress_bar: show the bar of output frames written (of the total, with an ETA).
      require_streams: an audio/subtitle stream the output cannot take is an
        error (work folder kept) instead of a warning (output written without it).

    Raises:
      ValueError: a bad output/codec/rate, or an input with < 2 readable frames.
    """
    job = prepare_video(
        input_video, output_video, frames_per_pair, fps, target_fps=target_fps, multiplier=multiplier,
        dyadic_times=dyadic_times, scene_cut_threshold=scene_cut_threshold, codec=codec, crf=crf,
        chunk_frames=chunk_frames, job_key=job_key, say=say, progress_bar=progress_bar,
        require_streams=require_streams,
    )  # fmt: skip
    with resume.WorkFolder(output_video, job.identity) as work:
        leftovers = resume.remove_stale_temporaries(output_video) + work.cleaned
        if leftovers:
            say(f"removed {len(leftovers)} leftover temporary file(s) of an interrupted run.")
        done = [r["chunk"] for r in work.records]
        assert done == list(range(len(done)))
        if done:
            say(f"resuming: {len(done)} of {len(job.chunks)} chunks already done.")
        if len(done) < len(job.chunks):
            initial = sum(r["frames"] for r in work.records)
            bar = progress.Bar(job.plan.num_outputs, "interpolating", initial, enabled=progress_bar)
            try:
                with video_io.open_video(input_video) as reader:
                    _interpolate_into(reader, _ChunkWriter(work, job, bar), job, interpolator, len(done),
                                      overlap, cancel)  # fmt: skip
                    if reader.error:
                        job.warnings.append(
                            f"warning: '{input_video}' stopped decoding early: {reader.error}."
                        )
                        say(job.warnings[-1])
            finally:
                bar.close()
        return finish_video(job, work, work.records, len(done), say)


def _interpolate_into(reader, writer, job: VideoJob, interpolator, first_chunk, overlap, cancel) -> None:
    """Streams the output frames of chunks first_chunk.. of `reader` (made by the model) into `writer`."""
    plan, chunks = job.plan, job.chunks
    start_pair, start = chunks[first_chunk].first, chunks[first_chunk].start
    cuts = set(job.cuts)
    starts = [c.start for c in chunks]

    def is_cut(p, a, b):  # the cuts found when planning
        return p + start_pair in cuts

    frames = (f.astype(np.float32) / 255.0 for f in itertools.islice(reader, start_pair, plan.num_frames))
    if overlap:
        frames = pipelining.prefetch(frames, size=4)
    sink = pipelining.Sink(writer.add, size=8) if overlap else None
    put = sink.put if sink is not None else writer.add
    stream = interpolate_at_times(
        frames, timed_model(job, interpolator), plan.requests(start, first_frame=start_pair), progress=False,
        is_cut=is_cut if cuts else None,
    )  # fmt: skip
    try:
        for local, frame in stream:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            j = local + start
            put((chunk_plan.chunk_of(starts, j), frame))
        if sink is not None:
            sink.close()
        writer.finish()
    except BaseException as error:
        if sink is not None:
            sink.abort(drain=isinstance(error, KeyboardInterrupt))
        writer.abort()
        raise
    finally:
        stream.close()
        if hasattr(frames, "close"):
            frames.close()
