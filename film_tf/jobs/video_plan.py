"""What a video job is, before any frame is interpolated, and how it ends.

`prepare_video` checks the output, reads the input's header and frame count,
computes the frame-rate plan once for the whole video (`film_tf.jobs.frame_rate`),
finds the scene cuts (one decoding pass, `film_tf.jobs.scene_cuts`) and cuts the
job into chunks (`film_tf.jobs.chunk_plan`); `finish_video` joins the finished
chunks in order, copies the audio and publishes the output. Both the in-process
job (`film_tf.jobs.video_job.run_video`) and the Beam job
(`film_tf.jobs.beam_video.run_video_on_beam`) are these two steps around
their own way of rendering the chunks, so they write the same chunks, the same
way, and end the same way.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import Any, Callable

from film_tf.jobs import chunk_plan, progress, resume, scene_cuts
from film_tf.jobs.frame_rate import RatePlan, SlowMotion, plan_rate
from film_tf.media import stream_copy, video_formats, video_io
from film_tf.media.video_seek import frame_digest

# Rough speed of the bundled model on one CPU core pair (benchmarks/RESULTS.md:
# 640x272 in 0.385 s), for the large-job warning.
SECONDS_PER_PIXEL = 2.2e-6
LARGE_JOB_SECONDS = 30 * 60


def say_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclasses.dataclass
class VideoResult:
    """What a video job did.

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


@dataclasses.dataclass
class VideoJob:
    """One video job, planned (picklable: Beam workers get it).

    Attributes:
      input_video, output_video: the paths.
      format: the output's `VideoFormat`; chunk_ext / chunk_format: the
        chunks' extension and (codec, crf) (a gif is assembled from H.264
        chunks, encoded once at the end).
      plan: the output plan (`RatePlan` or `SlowMotion`) of the whole video.
      rate_mode: frame-rate conversion (audio kept) rather than slow motion.
      fps_in, fps_out, mode: the rates; 'frame rate' or 'slow motion'.
      height, width: the frames' size.
      threshold: the scene-cut threshold; cuts: the cut pairs found.
      chunks: the `chunk_plan.Chunk`s; identity: the job's resume identity.
      audio_codecs: the input's audio streams; warnings: lines said so far.
      digests: `video_seek.frame_digest` of every input frame, from the
        launcher's decoding pass (for Beam: workers seek by time and match
        frames by digest), or None.
      require_streams: fail (keeping the work folder) rather than write the
        output without an audio/subtitle stream it cannot take.
    """

    input_video: str
    output_video: str
    format: video_formats.VideoFormat
    plan: RatePlan | SlowMotion
    rate_mode: bool
    fps_in: float
    fps_out: float
    mode: str
    height: int
    width: int
    threshold: float
    cuts: list[int]
    chunks: list[chunk_plan.Chunk]
    identity: dict[str, Any]
    audio_codecs: list[str]
    warnings: list[str]
    digests: list[bytes] | None = None
    require_streams: bool = False

    @property
    def chunk_ext(self) -> str:
        return ".mkv" if self.format.codec == "gif" else self.format.extension

    @property
    def chunk_format(self) -> tuple[str, int]:
        return ("h264", 0) if self.format.codec == "gif" else (self.format.codec, self.format.crf)

    def chunk_file(self, index: int) -> str:
        """The name of chunk `index`'s video in the work folder."""
        return f"chunk_{index:05d}{self.chunk_ext}"


def prepare_video(
    input_video: str,
    output_video: str,
    frames_per_pair: int,
    fps: float | None,
    *,
    target_fps: float | None = None,
    multiplier: float | None = None,
    dyadic_times: bool = False,
    scene_cut_threshold: float = scene_cuts.DEFAULT_THRESHOLD,
    codec: str | None = None,
    crf: int | None = None,
    chunk_frames: int = 120,
    job_key: dict[str, Any] | None = None,
    say: Callable[[str], None] = say_stderr,
    progress_bar: bool = True,
    digests: bool = False,
    require_streams: bool = False,
) -> VideoJob:
    """Checks and plans a video job (the arguments of `video_job.run_video`;
    `progress_bar`: show the bar of the scene-cut pass; `digests`: also
    compute every frame's digest in that pass, `VideoJob.digests`;
    `require_streams`: `VideoJob.require_streams`).

    Raises:
      ValueError: a bad output/codec/rate, an input with < 2 readable frames,
        or a target rate so low that no output frame is left.
    """
    fmt = video_io.check_video_output(output_video, (input_video,), codec, crf)
    rate_mode = target_fps is not None or multiplier is not None
    if dyadic_times and not rate_mode:
        raise ValueError("--dyadic_times applies to frame-rate conversion (--target_fps or --multiplier).")
    info = video_io.probe_video(input_video)
    warnings: list[str] = []
    with video_io.open_video(input_video) as reader:
        (height, width), count, fps_in, expected = (
            reader.shape,
            reader.num_images,
            reader.fps,
            reader.expected_frames,
        )
    if count < 2:
        raise ValueError(f"'{input_video}' has {max(count, 0)} readable frame(s); at least 2 are needed.")
    if expected and count < expected - max(2, 0.05 * expected):
        warnings.append(
            f"warning: '{input_video}' ended early: {count} frames readable of the "
            f"{expected} its duration announces (truncated or damaged?); using those."
        )
        say(warnings[-1])
    while True:  # Planned again when fewer frames decode than the container counts.
        if rate_mode:
            plan = plan_rate(fps_in, count, target_fps, multiplier, dyadic=dyadic_times)
            fps_out, mode = float(plan.out_fps), "frame rate"
        else:
            plan = SlowMotion(count, frames_per_pair)
            fps_out, mode = float(fps or fps_in), "slow motion"
        if plan.num_outputs < 1:
            raise ValueError(f"{count} frames at {fps_in:g} fps make no frame at {fps_out:g} fps.")
        pairs = chunk_plan.pairs_per_chunk(chunk_frames, plan)
        identity = {
            "input": resume.input_identity(input_video), "output": os.path.abspath(output_video),
            "mode": mode, "times": "dyadic" if dyadic_times else "exact",
            "per_pair": None if rate_mode else frames_per_pair, "fps_out": fps_out, "frames": count,
            "threshold": scene_cut_threshold,
            "codec": fmt.codec, "crf": fmt.crf, "pairs_per_chunk": pairs, "key": job_key or {},
        }  # fmt: skip
        calls = plan.model_frames()
        if calls and (warning := large_job_warning(calls, plan.num_outputs, height, width)):
            say(warning)
            warnings.append(warning)
        if not rate_mode and info.audio_codecs:
            say(
                f"note: slow motion drops the audio of '{input_video}' (--target_fps or --multiplier keep it)."
            )
        say(
            f"{input_video}: {count} frames at {fps_in:g} fps -> {plan.num_outputs} at {fps_out:g} fps ({mode})"
        )
        try:
            cuts, frame_digests = (
                scan_frames(input_video, count, scene_cut_threshold, progress_bar, digests)
                if calls
                else ([], None)
            )
            break
        except FewerFrames as e:
            if e.read < 2:
                raise ValueError(
                    f"'{input_video}' has {e.read} decodable frame(s); at least 2 are needed."
                ) from None
            warnings.append(
                f"warning: only {e.read} of the {count} frames of '{input_video}' decode (damaged?); using those."
            )
            say(warnings[-1])
            count = e.read
    chunks = chunk_plan.plan_chunks(plan, pairs, cuts)
    return VideoJob(
        input_video, output_video, fmt, plan, rate_mode, fps_in, fps_out, mode, height, width,
        scene_cut_threshold, cuts, chunks, identity, list(info.audio_codecs), warnings, frame_digests,
        require_streams,
    )  # fmt: skip


def timed_model(job: VideoJob, interpolator: Callable) -> Callable:
    """What makes the job's frames: the interpolator itself (exact times), or for
    the nearest-dyadic plan a `timed.DyadicRecursion` of its middles."""
    if isinstance(job.plan, RatePlan) and job.plan.dyadic:
        from film_tf.runtime.timed import DyadicRecursion

        return DyadicRecursion(interpolator, job.plan.depth)
    return interpolator


class FewerFrames(ValueError):
    """`scan_frames` decoded only `read` of the frames the container counts."""

    def __init__(self, read: int):
        super().__init__(f"only {read} frames decode")
        self.read = read


def scan_frames(
    input_video: str, count: int, threshold: float, progress_bar: bool = True, digests: bool = False
) -> tuple[list[int], list[bytes] | None]:
    """(the scene-cut pairs, with `digests` the `frame_digest` of each frame,
    else None) of the first `count` frames: one decoding pass, with a
    progress bar; none when there is nothing to find.

    Raises:
      FewerFrames: fewer than `count` frames decode (a damaged stream).
    """
    if threshold <= 0 and not digests:
        return [], None
    found: list[bytes] = []
    bar = progress.Bar(
        count, "finding scene cuts" if threshold > 0 else "reading frames", enabled=progress_bar
    )
    try:
        read = [0]

        def step(frame):
            read[0] += 1
            return bar.step(frame)

        frames = (step(frame) for _, frame in zip(range(count), video_io.iter_frames(input_video)))
        if digests:
            frames = (found.append(frame_digest(frame)) or frame for frame in frames)
        if threshold > 0:
            cuts = scene_cuts.find_cuts(frames, threshold)
        else:
            cuts = []
            for _ in frames:  # Read them all, for the digests.
                pass
    finally:
        bar.close()
    if read[0] < count:
        raise FewerFrames(read[0])
    return cuts, found if digests else None


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


def finish_video(
    job: VideoJob, work: resume.WorkFolder, records: list[dict], resumed: int, say: Callable[[str], None]
) -> VideoResult:
    """Joins the chunks of `records` (one per chunk, in order), adds the
    input's audio (frame-rate conversion) and publishes the output; removes
    the work folder."""
    names = [r["files"][0]["name"] for r in records]
    total_cuts = sum(r["cuts"] for r in records)
    frames_out = sum(r["frames"] for r in records)
    joined = _join_chunks(work, names, job.format)

    def warn(line: str) -> None:
        job.warnings.append(line)
        say(line)

    try:
        streams = stream_copy.copy_streams(
            joined, job.input_video, job.output_video, audio=job.rate_mode, subtitles=job.rate_mode,
            strict=job.require_streams, warn=warn,
        )  # fmt: skip
    except stream_copy.StreamCopyError as error:
        if len(names) == 1 and not os.path.exists(work.file(names[0])):
            os.replace(joined, work.file(names[0]))  # The chunk again, as its record says.
        raise ValueError(
            f"{error} The interpolated frames are kept in '{work.path}': run the same command without "
            f"--require_streams to write '{job.output_video}' without "
            f"{'it' if len(error.dropped) == 1 else 'them'} (nothing is interpolated again)."
        ) from None
    if job.rate_mode and job.audio_codecs and not any(s.startswith("audio") for s in streams):
        say(f"note: {job.format.extension} holds no audio; the audio of '{job.input_video}' is dropped.")
    work.remove()
    if job.threshold > 0:
        say(
            f"scene cuts: {total_cuts} (threshold {job.threshold:g}; their in-betweens hold the earlier frame)"
        )
    return VideoResult(
        job.plan.num_frames, frames_out, job.fps_out, job.mode, total_cuts, streams, job.warnings, resumed
    )
