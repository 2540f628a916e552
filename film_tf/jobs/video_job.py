"""A video in, a video out: slow motion or frame-rate conversion, resumable.

`run_video` streams the input through recursive interpolation
(`film_tf.runtime.recursive`) with scene cuts held (`film_tf.jobs.scene_cuts`) and the
output frames picked by a `film_tf.jobs.frame_rate` plan:

  * slow motion (default): every in-between, played at the input's rate
    (or `fps`), 2^k times longer; the audio is dropped, with a notice;
  * frame-rate conversion (`target_fps` or `multiplier`): same duration,
    nearest dyadic time per output frame; audio (and subtitles in .mkv)
    copied from the input (`video_io.copy_streams`).

The output is encoded in chunks of about `chunk_frames` frames (whole input
pairs) into the job's work folder (`film_tf.jobs.resume`); each finished chunk is
recorded with its size and SHA-256. Run again after an interruption, the
job reuses the chunks that check out and continues from the first missing
one (the frames before it are decoded, not interpolated), then joins the
chunks (`ffmpeg -f concat`, stream copy) and publishes the output
atomically. With `overlap`, decoding runs on a reader thread and encoding on
a writer thread (bounded queues, `film_tf.jobs.pipelining`), so the model does
not wait for I/O; memory is bounded for any clip length.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import threading
from typing import Any, Callable

import numpy as np

from film_tf.jobs import pipelining, resume, scene_cuts
from film_tf.jobs.frame_rate import SlowMotion, plan_rate
from film_tf.media import video_formats, video_io
from film_tf.runtime.recursive import interpolate_recursively

# Rough speed of the bundled model on one CPU core pair (benchmarks/RESULTS.md:
# 640x272 in 0.385 s), for the large-job warning.
SECONDS_PER_PIXEL = 2.2e-6
LARGE_JOB_SECONDS = 30 * 60


@dataclasses.dataclass
class VideoResult:
    """What `run_video` did.

    Attributes:
      frames_in: input frames used; frames_out: frames written.
      fps_out: the output's frame rate; mode: 'slow motion' or 'frame rate'.
      cuts: scene cuts found (their in-betweens are held frames).
      streams: what happened to the audio/subtitles (e.g. 'audio copied (aac)').
      warnings: the warning lines printed (e.g. a truncated input).
      resumed_chunks: chunks of an interrupted run reused.
    """

    frames_in: int
    frames_out: int
    fps_out: float
    mode: str
    cuts: int = 0
    streams: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    resumed_chunks: int = 0

    def summary(self, output: str) -> str:
        """The one line a finished job reports."""
        extra = [f"{self.cuts} scene cut(s)", *self.streams, *(["resumed"] if self.resumed_chunks else [])]
        return f"wrote {self.frames_out} frames at {self.fps_out:g} fps to {output} ({self.mode}; {', '.join(extra)})"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def estimate_seconds(model_calls: int, height: int, width: int) -> float:
    """A rough duration for `model_calls` middles of (height, width) frames (bundled model, CPU)."""
    return model_calls * height * width * SECONDS_PER_PIXEL


def large_job_warning(model_calls: int, frames_out: int, height: int, width: int) -> str | None:
    """'warning: ...' with the frame count and time estimate when a job would take over 30 min."""
    seconds = estimate_seconds(model_calls, height, width)
    if seconds < LARGE_JOB_SECONDS:
        return None
    return (
        f"warning: a large job: {frames_out} output frames, {model_calls} interpolations of "
        f"{width}x{height}; about {seconds / 3600:.1f} h on a CPU with the bundled model "
        "(interrupt and rerun the same command to continue later)."
    )


class _ChunkWriter:
    """Writes output frames into numbered chunk files of a work folder, recording each when complete."""

    def __init__(
        self, work: resume.WorkFolder, ext: str, height: int, width: int, fps: float, fmt, cuts: dict
    ):
        self.work, self.ext, self.height, self.width, self.fps = work, ext, height, width, fps
        self.format, self.cuts = fmt, cuts
        self._chunk: int | None = None
        self._writer: video_io.VideoWriter | None = None
        self._frames = 0

    def add(self, item: tuple[int, np.ndarray, int]) -> None:
        chunk, frame, count = item
        if chunk != self._chunk:
            self.finish()
            name = f"chunk_{chunk:05d}{self.ext}"
            self._writer = video_io.VideoWriter(
                self.work.file(name), self.height, self.width, self.fps, self.format[0], self.format[1]
            ).__enter__()
            self._chunk, self._frames = chunk, 0
        for _ in range(count):
            self._writer.add(frame)
        self._frames += count

    def finish(self) -> None:
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        writer.__exit__(None, None, None)
        name = os.path.basename(writer.path)
        self.work.add([name], chunk=self._chunk, frames=self._frames, cuts=self.cuts.get(self._chunk, 0))

    def abort(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            error = KeyboardInterrupt()
            try:
                writer.__exit__(type(error), error, None)
            except BaseException:
                pass


def _join_chunks(work: resume.WorkFolder, names: list[str], fmt: video_formats.VideoFormat) -> str:
    """One video of the chunks, in the output's format, in the work folder."""
    joined = work.file(f"joined{fmt.extension}")
    if len(names) == 1 and fmt.codec != "gif":
        os.replace(work.file(names[0]), joined)
        return joined
    listing = work.file("concat.txt")
    with open(listing, "w", encoding="utf-8") as f:
        f.writelines(f"file '{name}'\n" for name in names)
    encode = fmt.encoder_args() if fmt.codec == "gif" else ["-c", "copy"]
    if fmt.extension in (".mp4", ".mov") and fmt.codec != "gif":
        encode += ["-movflags", "+faststart"]
    command = [video_io.ensure_ffmpeg(), "-v", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0",
               "-i", listing, *encode, joined]  # fmt: skip
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        raise RuntimeError(f"ffmpeg could not join the chunks in '{work.path}': {lines[-1]}")
    return joined


def run_video(
    input_video: str,
    output_video: str,
    times_to_interpolate: int,
    fps: float | None,
    interpolator: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    target_fps: float | None = None,
    multiplier: float | None = None,
    scene_cut_threshold: float = scene_cuts.DEFAULT_THRESHOLD,
    codec: str | None = None,
    crf: int | None = None,
    overlap: bool = True,
    chunk_frames: int = 120,
    cancel: threading.Event | None = None,
    job_key: dict[str, Any] | None = None,
    say: Callable[[str], None] = _say,
) -> VideoResult:
    """Interpolates `input_video` into `output_video` (see the module docstring).

    Args:
      input_video, output_video: paths; the output's extension picks the
        container (`film_tf.media.video_formats`), `codec` / `crf` the encoding.
      times_to_interpolate: k for slow motion (2^k - 1 new frames per pair);
        ignored in frame-rate conversion (the plan picks the depth).
      fps: slow motion's output rate (None: the input's).
      interpolator: `(x0, x1) -> middle`, float (H, W, 3) in [0, 1].
      target_fps / multiplier: frame-rate conversion (at most one).
      scene_cut_threshold: `film_tf.jobs.scene_cuts`; 0 disables.
      overlap: decode and encode on their own threads.
      chunk_frames: about how many output frames per resumable chunk.
      cancel: set it (from another thread, a signal handler, a Stop
        button) to stop at the next frame with KeyboardInterrupt; finished
        chunks are kept for a rerun.
      job_key: more identity for resuming (e.g. the model's path): a rerun
        with another key starts afresh.
      say: where the progress/notice lines go (stderr).

    Raises:
      ValueError: a bad output/codec/rate, or an input with < 2 readable frames.
    """
    fmt = video_io.check_video_output(output_video, (input_video,), codec, crf)
    rate_mode = target_fps is not None or multiplier is not None
    info = video_io.probe_video(input_video)
    result_warnings: list[str] = []
    with video_io.open_video(input_video) as reader:
        height, width = reader.shape
        count = reader.num_images
        if count < 2:
            raise ValueError(f"'{input_video}' has {max(count, 0)} readable frame(s); at least 2 are needed.")
        if reader.expected_frames and count < reader.expected_frames - max(2, 0.05 * reader.expected_frames):
            line = (
                f"warning: '{input_video}' ended early: {count} frames readable of the "
                f"{reader.expected_frames} its duration announces (truncated or damaged?); using those."
            )
            say(line)
            result_warnings.append(line)
        if rate_mode:
            plan = plan_rate(reader.fps, count, target_fps, multiplier)
            fps_out, mode = float(plan.out_fps), "frame rate"
        else:
            plan = SlowMotion(count, times_to_interpolate)
            fps_out, mode = float(fps or reader.fps), "slow motion"
        k = plan.depth
        step = 2**k
        pairs_per_chunk = max(1, chunk_frames // max(1, round(plan.num_outputs / (count - 1))))
        last_chunk = (count - 2) // pairs_per_chunk
        identity = {
            "input": resume.input_identity(input_video),
            "output": os.path.abspath(output_video),
            "mode": mode, "depth": k, "fps_out": fps_out, "frames": count,
            "threshold": scene_cut_threshold, "codec": fmt.codec, "crf": fmt.crf,
            "pairs_per_chunk": pairs_per_chunk, "key": job_key or {},
        }  # fmt: skip
        calls = sum(1 for i in range(plan.last_index + 1) if i % step and plan.keep(i)) if k else 0
        if k and (warning := large_job_warning(calls, plan.num_outputs, height, width)):
            say(warning)
            result_warnings.append(warning)
        if not rate_mode and info.audio_codecs:
            say(
                f"note: slow motion drops the audio of '{input_video}' (--target_fps or --multiplier keep it)."
            )
        say(
            f"{input_video}: {count} frames at {reader.fps:g} fps -> {plan.num_outputs} at {fps_out:g} fps ({mode})"
        )

        with resume.WorkFolder(output_video, identity) as work:
            leftovers = resume.remove_stale_temporaries(output_video) + work.cleaned
            if leftovers:
                say(f"removed {len(leftovers)} leftover temporary file(s) of an interrupted run.")
            done = [r["chunk"] for r in work.records]
            assert done == list(range(len(done)))
            if done:
                say(f"resuming: {len(done)} of {last_chunk + 1} chunks already done.")
            start_pair = len(done) * pairs_per_chunk
            cuts: dict[int, int] = {}
            if len(done) <= last_chunk:
                chunk_ext = ".mkv" if fmt.codec == "gif" else fmt.extension
                chunk_format = ("h264", 0) if fmt.codec == "gif" else (fmt.codec, fmt.crf)
                writer = _ChunkWriter(work, chunk_ext, height, width, fps_out, chunk_format, cuts)
                _interpolate_into(
                    reader, writer, plan, interpolator, start_pair, pairs_per_chunk, last_chunk,
                    scene_cut_threshold, cuts, overlap, cancel,
                )  # fmt: skip
            if reader.error:
                line = f"warning: '{input_video}' stopped decoding early: {reader.error}."
                say(line)
                result_warnings.append(line)
            names = [r["files"][0]["name"] for r in work.records]
            total_cuts = sum(r["cuts"] for r in work.records)
            frames_out = sum(r["frames"] for r in work.records)
            joined = _join_chunks(work, names, fmt)
            streams = video_io.copy_streams(
                joined, input_video, output_video, audio=rate_mode, subtitles=rate_mode
            )
            if rate_mode and info.audio_codecs and not any(s.startswith("audio") for s in streams):
                say(f"note: {fmt.extension} holds no audio; the audio of '{input_video}' is dropped.")
            work.remove()
    if scene_cut_threshold > 0:
        say(
            f"scene cuts: {total_cuts} (threshold {scene_cut_threshold:g}; their in-betweens hold the earlier frame)"
        )
    return VideoResult(count, frames_out, fps_out, mode, total_cuts, streams, result_warnings, len(done))


def _interpolate_into(
    reader,
    writer,
    plan,
    interpolator,
    start_pair,
    pairs_per_chunk,
    last_chunk,
    threshold,
    cuts,
    overlap,
    cancel,
) -> None:
    """Streams pairs start_pair.. of `reader` through the model into `writer`'s chunks."""
    step = 2**plan.depth
    offset = start_pair * step
    detector = scene_cuts.cut_detector(threshold)
    pair = [start_pair]

    def is_cut(a, b):
        cut = detector is not None and detector(a, b)
        if cut:
            chunk = min(pair[0] // pairs_per_chunk, last_chunk)
            cuts[chunk] = cuts.get(chunk, 0) + 1
        pair[0] += 1
        return cut

    frames = (f.astype(np.float32) / 255.0 for f in itertools.islice(reader, start_pair, plan.num_frames))
    if overlap:
        frames = pipelining.prefetch(frames, size=4)
    sink = pipelining.Sink(writer.add, size=8) if overlap else None
    put = sink.put if sink is not None else writer.add
    stream = interpolate_recursively(
        frames, interpolator, plan.depth, num_frames=plan.num_frames - start_pair, progress=True,
        is_cut=is_cut, keep=lambda i: plan.keep(i + offset), indexed=True,
    )  # fmt: skip
    try:
        for local, frame in stream:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            i = local + offset
            put((min(i // (pairs_per_chunk * step), last_chunk), frame, plan.uses(i)))
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
