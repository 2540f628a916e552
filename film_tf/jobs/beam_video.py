"""A video job on Apache Beam: the chunks of `film_tf.jobs.chunk_plan`, rendered by workers.

    plan (here: header, frame-rate plan, scene cuts, chunks; `video_plan.prepare_video`)
      -> the chunks not yet done -> spread over workers
      -> each worker: decode only its chunk's frames (`media.video_seek`, frame-exact),
         make its output frames at their exact times with the model it loaded once
         (`DoFn.setup`; `film_tf.runtime.timed`), encode the chunk
         into the work folder and record it (`resume.record_piece`)
      -> here: join the chunks in order, copy the audio (`video_plan.finish_video`)

A chunk's frames are those the in-process job (`film_tf.jobs.video_job`) writes
into the same chunk: the same input frames (as decoded), the same pairs, the
same held scene cuts and the same output frames (at the same exact times) of
the one plan of the whole video, encoded as one chunk file in both; so the
output equals the in-process run's frame for frame whatever the worker count (and, chunks
being encoded separately in both, byte for byte with the same `--chunk_frames`;
with a lossless `--crf 0`, frame for frame whatever the chunk size).

Resumable like the in-process job: a chunk is recorded (size, SHA-256) only
after its file is complete under its final name, each in its own record file,
so chunks finished in any order by any worker survive a kill; a rerun of the
same command keeps the chunks that check out, deletes anything else, and sends
only the missing chunks to the workers. A chunk that fails (a decoding error,
the model running out of memory) is reported in one line naming the chunk and
its input frames, after the other chunks finished (and were kept).

Where it runs: the input video, the output's folder (the work folder beside it)
and the model must be reachable from every worker (on one machine: local
paths; on a cluster: a shared file system); ffmpeg and film_tf on every worker.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from typing import Any, Callable, Sequence

import numpy as np

from film_tf import files
from film_tf.jobs import beam_options, progress, resume
from film_tf.jobs.video_plan import (
    VideoJob,
    VideoResult,
    finish_video,
    prepare_video,
    say_stderr,
    timed_model,
)
from film_tf.media import video_io
from film_tf.media.video_seek import read_frame_range
from film_tf.runtime.timed import interpolate_at_times

ERROR_SUFFIX = ".error.json"


def render_chunk(job: VideoJob, index: int, interpolate: Callable, folder: str) -> dict[str, Any]:
    """Interpolates and encodes chunk `index` of `job` into work folder `folder`; returns its record.

    Decodes input frames chunk.first..chunk.last only (uint8 (H, W, 3), given
    to `interpolate` (an `Interpolator` or `(x0, x1, time) -> frame`) as
    float32 (H, W, 3) in [0, 1], as the in-process job does) and makes the
    chunk's output frames at their exact times (`film_tf.runtime.timed`); the
    chunk's last input frame is the next chunk's first, so it is shown only
    by the video's last chunk. The record (`resume.record_piece`) is written after
    the chunk's file is complete under its final name.
    """
    chunk, plan = job.chunks[index], job.plan
    frames = read_frame_range(
        job.input_video,
        chunk.first,
        chunk.last + 1,
        (job.height, job.width),
        fps=job.fps_in,
        digests=job.digests,
    )
    cuts = set(job.cuts)

    def is_cut(p, a, b):  # the cuts found when planning
        return p + chunk.first in cuts

    stream = interpolate_at_times(
        (f.astype(np.float32) / 255.0 for f in frames), timed_model(job, interpolate),
        plan.requests(chunk.start, chunk.stop, chunk.first), progress=False, is_cut=is_cut if cuts else None,
    )  # fmt: skip
    name, count = job.chunk_file(index), 0
    try:
        with video_io.VideoWriter(os.path.join(folder, name), job.height, job.width, job.fps_out,
                                  *job.chunk_format) as writer:  # fmt: skip
            for _, frame in stream:
                writer.add(frame)
                count += 1
    finally:
        stream.close()
    if count != chunk.outputs:
        raise RuntimeError(f"wrote {count} frames, the plan has {chunk.outputs}")
    return resume.record_piece(folder, [name], chunk=index, frames=count, cuts=chunk.cuts, worker=os.getpid())


class _Render:
    """The DoFn's work: a chunk index -> its chunk file and record; a failure -> an error file."""

    def __init__(self, job: VideoJob, folder: str, load_model: Callable[[], Callable]):
        self.job, self.folder, self.load_model = job, folder, load_model
        self.model = None
        self.setup_error: Exception | None = None

    def setup(self) -> None:
        try:
            self.model = self.load_model()  # once per worker
        except Exception as error:  # noqa: BLE001 (Beam would end the run with the worker's traceback)
            self.setup_error = error  # Each chunk of this worker reports it, in one line.

    def process(self, index: int):
        try:
            if self.setup_error is not None:
                raise self.setup_error
            yield render_chunk(self.job, index, self.model, self.folder)
        except Exception as error:  # noqa: BLE001 (one line for the user, after the other chunks)
            lines = [line for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
            line = f"{self.job.chunks[index].name} failed: {lines[0]}"
            path = os.path.join(self.folder, f"{self.job.chunk_file(index)}{ERROR_SUFFIX}")
            files.write_json_atomic(path, {"chunk": index, "error": line})


def _watch(folder: str, bar: progress.Bar, stop: threading.Event, seen: set[str]) -> None:
    """Moves `bar` by the frames of each chunk record that appears (polling the
    work folder every 0.5 s, and once more when `stop` is set)."""
    while True:
        stopping = stop.wait(0.5)
        for name in sorted(os.listdir(folder)):
            if name.endswith(resume.RECORD_SUFFIX) and name not in seen:
                try:
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        frames = json.load(f)["frames"]
                except (OSError, ValueError, KeyError):
                    continue
                seen.add(name)
                bar.update(frames)
        if stopping:
            return


def run_video_on_beam(
    input_video: str,
    output_video: str,
    frames_per_pair: int,
    fps: float | None,
    load_model: Callable[[], Callable],
    pipeline_args: Sequence[str],
    *,
    say: Callable[[str], None] = say_stderr,
    progress_bar: bool = True,
    **plan_options: Any,
) -> VideoResult:
    """`video_job.run_video` as a Beam pipeline (see the module docstring).

    Args:
      frames_per_pair, fps: slow motion's (as for `video_job.run_video`).
      load_model: builds the model (an `Interpolator`) on a worker
        (picklable, e.g. a `functools.partial`); called once per worker.
      pipeline_args: Beam options, passed through untouched
        (`beam_options.default_pipeline_args` fills in the in-process default).
      say, progress_bar: as for `video_job.run_video`.
      plan_options: the keyword arguments of `video_plan.prepare_video`
        (target_fps, multiplier, dyadic_times, scene_cut_threshold, codec, crf,
        chunk_frames, job_key), as for `video_job.run_video`.

    Raises:
      ValueError: as `run_video`; "chunk i (input frames a-b) failed: ..." for
        the first chunk that failed (the finished ones are kept for a rerun).
    """
    beam = beam_options.import_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    args = beam_options.default_pipeline_args(pipeline_args)
    beam_options.check_pipeline_args(args)
    job = prepare_video(
        input_video,
        output_video,
        frames_per_pair,
        fps,
        say=say,
        progress_bar=progress_bar,
        digests=True,  # Workers seek by time and match frames by digest (media.video_seek).
        **plan_options,
    )
    with resume.WorkFolder(output_video, job.identity, loose=True) as work:
        leftovers = resume.remove_stale_temporaries(output_video) + work.cleaned
        if leftovers:
            say(f"removed {len(leftovers)} leftover temporary file(s) of an interrupted run.")
        done = {r["chunk"]: r for r in work.records}
        todo = [c.index for c in job.chunks if c.index not in done]
        if done:
            say(f"resuming: {len(done)} of {len(job.chunks)} chunks already done.")
        if todo:
            seen = {name for name in os.listdir(work.path) if name.endswith(resume.RECORD_SUFFIX)}
            initial = sum(r["frames"] for r in done.values())
            bar = progress.Bar(job.plan.num_outputs, "interpolating", initial, enabled=progress_bar)
            stop = threading.Event()
            watcher = threading.Thread(target=_watch, args=(work.path, bar, stop, seen), daemon=True)
            watcher.start()
            try:
                with beam.Pipeline(options=PipelineOptions(args)) as pipeline:
                    _ = (
                        pipeline
                        | "Chunks" >> beam.Create(todo)
                        | "Spread" >> beam.Reshuffle()
                        | "Interpolate"
                        >> beam.ParDo(beam_options.as_dofn(_Render(job, work.path, load_model)))
                    )
            finally:
                stop.set()
                watcher.join()
                bar.close()
            done.update(_read_records(work, job, todo))
        records = [done[c.index] for c in job.chunks]
        return finish_video(job, work, records, len(job.chunks) - len(todo), say)


def _read_records(work: resume.WorkFolder, job: VideoJob, todo: list[int]) -> dict[int, dict]:
    """The records the workers wrote for chunks `todo`, checked like a resumed run's.

    Raises:
      ValueError: the error line of the first chunk without a valid record
        that failed ("chunk i (input frames a-b) failed: ..."), or, for one
        that neither failed nor was recorded, a line saying so.
    """
    records = {r["chunk"]: r for r in work.loose_records(job.chunk_file(index) for index in todo)}
    missing = [index for index in todo if index not in records]
    for index in missing:
        path = work.file(job.chunk_file(index) + ERROR_SUFFIX)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                raise ValueError(json.load(f)["error"])
    if missing:
        chunk = job.chunks[missing[0]]
        raise ValueError(
            f"{chunk.name} failed: the pipeline finished without its file '{job.chunk_file(chunk.index)}'."
        )
    return records


def model_loader(make: Callable[..., Callable], *args: Any, **kwargs: Any) -> Callable[[], Callable]:
    """A picklable `load_model` for `run_video_on_beam`: `make(*args, **kwargs)` on the worker."""
    return functools.partial(make, *args, **kwargs)
