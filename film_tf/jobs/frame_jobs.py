"""Folders of frames to slow motion: the folder jobs behind film-interpolate-frames.

Folders: `plan_folders` checks every matched folder (frames, sizes, output
paths) before anything is written and returns one `FolderJob` each;
`run_folders` streams each folder's frames through the model, N new frames
per pair at t = j / (N + 1), each made directly at its time
(`film_tf.runtime.timed`; scene cuts held, `film_tf.jobs.scene_cuts`) into
`<output>/interpolated_frames/frame_000.png ...` and optionally a video.
Frames are read, interpolated and written one at a time (reader and writer
threads), so memory does not grow with the clip's length.

Resumable: the frames are written into the job's work folder
(`film_tf.jobs.resume`), one record per input pair; an interrupted run, run
again, reuses the pairs whose files check out and continues from there. The
folder (and video) appear under their final names only when complete.

Videos (slow motion or frame-rate conversion): `film_tf.jobs.video_job.run_video`.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import sys
import threading
import warnings
from typing import Any, Callable, Sequence

from film_tf import files
from film_tf.jobs import pipelining, resume, scene_cuts
from film_tf.jobs.frame_rate import SlowMotion
from film_tf.jobs.video_plan import large_job_warning
from film_tf.media import video_io
from film_tf.media.image_io import image_info, read_image, write_image
from film_tf.runtime.timed import interpolate_at_times

FRAMES_FOLDER = "interpolated_frames"
VIDEO_NAME = "interpolated.mp4"
DEFAULT_FPS = 30.0
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


@dataclasses.dataclass
class FolderJob:
    """One matched folder: its frames and where the results go.

    Attributes:
      folder: the input folder.
      output_dir: where `interpolated_frames/` (and a default video) go.
      frames: the input frame files, in natural order.
      height, width: the frames' displayed size (all equal).
      has_alpha: any frame has an alpha channel (then all are read as RGBA).
      bit_depth: 8 or 16, the highest of the frames' (the output's).
      video: the video to write too, or None.
    """

    folder: str
    output_dir: str
    frames: list[str]
    height: int
    width: int
    has_alpha: bool
    bit_depth: int
    video: str | None

    @property
    def frames_folder(self) -> str:
        """Where the frames go: `output_dir`/interpolated_frames."""
        return os.path.join(self.output_dir, FRAMES_FOLDER)


def plan_folders(
    pattern: str,
    output_video: str | bool | None = None,
    output_dir: str | None = None,
    codec: str | None = None,
    crf: int | None = None,
) -> list[FolderJob]:
    """Checks every folder matching the glob `pattern` before anything is written.

    Args:
      pattern: glob of folders of frames.
      output_video: None (frames only), True (also `interpolated.mp4` in each
        output folder) or a video path (one matched folder only).
      output_dir: write the results here instead of inside each folder (one
        subfolder per folder when several match).
      codec, crf: the video's encoding, checked against its container.

    Raises on: no folder matched, a folder with fewer than two frames,
    unreadable frames, frames of different sizes, an output that is a file,
    a video container that cannot take the codec, and (without
    `output_dir`) a folder inside the installed film_tf package, which is
    never written into.
    """
    folders = sorted((p for p in glob.glob(pattern) if os.path.isdir(p)), key=files.natural_key)
    if not folders:
        raise FileNotFoundError(f"No folder matches --pattern '{pattern}'.")
    single_video = None
    if isinstance(output_video, str):
        if len(folders) > 1:
            raise ValueError(
                f"--pattern matched {len(folders)} folders, so --output_video cannot be one path; "
                f"pass it bare to write {VIDEO_NAME} in each folder."
            )
        single_video = output_video
    jobs = []
    for folder in folders:
        frames = files.list_images(folder)  # natural order: frame2 before frame10
        if len(frames) < 2:
            raise ValueError(f"'{folder}' has {len(frames)} PNG/JPEG frame(s); at least 2 are needed.")
        infos = [image_info(f) for f in frames]
        first = infos[0]
        for path, info in zip(frames, infos):
            if (info.height, info.width) != (first.height, first.width):
                raise ValueError(
                    f"The frames differ in size: '{frames[0]}' is {first.width}x{first.height}, "
                    f"'{path}' is {info.width}x{info.height}."
                )
        if output_dir is None:
            if _inside(folder, PACKAGE_DIR):
                raise ValueError(
                    f"'{folder}' is inside the installed film_tf package, which is never written into; "
                    "pass --output_dir (e.g. --output_dir film_example)."
                )
            out = folder
        else:
            out = output_dir if len(folders) == 1 else os.path.join(output_dir, os.path.basename(folder))
        files.check_output_folder(os.path.join(out, FRAMES_FOLDER))
        video = None
        if output_video is not None and output_video is not False:
            video = single_video or os.path.join(out, VIDEO_NAME)
            video_io.check_video_output(video, tuple(frames), codec, crf)
        jobs.append(
            FolderJob(
                folder,
                out,
                frames,
                first.height,
                first.width,
                any(i.has_alpha for i in infos),
                max(i.bit_depth for i in infos),
                video,
            )
        )
    return jobs


@dataclasses.dataclass
class FolderResult:
    """What `run_folders` did for one folder: frames in/out, cuts, pairs reused, the outputs."""

    folder: str
    frames_in: int
    frames_out: int
    cuts: int
    resumed_pairs: int
    frames_dir: str
    video: str | None


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def summarize(results: Sequence[FolderResult]) -> str:
    """The one line finished folder jobs report."""
    frames = sum(r.frames_out for r in results)
    videos = [r.video for r in results if r.video]
    where = results[0].frames_dir if len(results) == 1 else f"{len(results)} folders"
    return (
        f"wrote {frames} frames to {where}" + (f" and {', '.join(videos)}" if videos else "")
        + f" ({sum(r.cuts for r in results)} scene cut(s))"
    )  # fmt: skip


def run_folders(
    jobs: list[FolderJob],
    frames_per_pair: int,
    fps: float,
    interpolator,
    *,
    scene_cut_threshold: float = scene_cuts.DEFAULT_THRESHOLD,
    codec: str | None = None,
    crf: int | None = None,
    overlap: bool = True,
    boomerang: bool = False,
    job_key: dict[str, Any] | None = None,
    cancel: threading.Event | None = None,
    say: Callable[[str], None] = _say,
) -> list[FolderResult]:
    """Interpolates each folder (N new frames per pair, at t = j / (N + 1));
    frames stream from disk to disk, the results appear only when complete.

    Args:
      jobs: from `plan_folders`.
      frames_per_pair: N >= 0 (--num_frames; --times_to_interpolate k is 2^k - 1).
      fps: the frame rate of the videos.
      interpolator: an `Interpolator` or `(x0, x1, time) -> frame`, float
        (H, W, C) frames in [0, 1] (`film_tf.runtime.timed.interpolate_at_times`).
      scene_cut_threshold: `film_tf.jobs.scene_cuts` (0 disables): a cut's
        in-betweens are copies of the earlier frame.
      codec, crf: the videos' encoding (`film_tf.media.video_formats`).
      overlap: read and write frames on their own threads.
      boomerang: the videos play forward then backward (a seamless loop:
        frames 0 .. n-1 then n-2 .. 1); the frames folder is unchanged.
      job_key: more identity for resuming (e.g. the model's path).
      cancel: set it to stop at the next frame with KeyboardInterrupt
        (finished pairs are kept for a rerun).
      say: where the progress lines go (stderr).
    """
    return [
        _run_folder(job, frames_per_pair, fps, interpolator, scene_cut_threshold, codec, crf, overlap,
                    boomerang, job_key, say, cancel)
        for job in jobs
    ]  # fmt: skip


def _run_folder(
    job, per_pair, fps, interpolator, threshold, codec, crf, overlap, boomerang, job_key, say, cancel=None
) -> FolderResult:
    channels = 4 if job.has_alpha else 3
    if job.video and job.has_alpha:
        warnings.warn(f"Videos have no alpha; '{job.video}' drops it.", stacklevel=3)
    count = len(job.frames)
    total = SlowMotion(count, per_pair).num_outputs
    digits = max(3, len(str(total - 1)))
    target = job.frames_folder
    identity = {
        "frames": [resume.input_identity(f) for f in job.frames], "per_pair": per_pair, "times": "exact",
        "threshold": threshold, "channels": channels, "bit_depth": job.bit_depth, "digits": digits,
        "key": job_key or {},
    }  # fmt: skip
    say(f"{job.folder}: {count} frames -> {total}")
    if warning := large_job_warning((count - 1) * per_pair, total, job.height, job.width):
        say(warning)
    with resume.WorkFolder(target, identity) as work:
        leftovers = resume.remove_stale_temporaries(target) + work.cleaned
        if job.video is not None:
            leftovers += resume.remove_stale_temporaries(job.video)
        if leftovers:
            say(f"removed {len(leftovers)} leftover temporary file(s) of an interrupted run.")
        done = len(work.records)
        if done:
            say(f"resuming: {done} of {count - 1} frame pairs already done.")
        if done < count - 1:
            _interpolate_pairs(
                job, work, per_pair, interpolator, threshold, overlap, channels, digits, done, cancel
            )
        names = [e["name"] for r in work.records for e in r["files"]]
        cuts = sum(r["cuts"] for r in work.records)
        assert len(names) == total, (len(names), total)
        if job.video is not None:
            with video_io.VideoWriter(job.video, job.height, job.width, fps, codec, crf) as video:
                order = names + names[-2:0:-1] if boomerang else names
                frames = (read_image(work.file(n)).rgb for n in order)
                for frame in pipelining.prefetch(frames) if overlap else frames:
                    video.add(frame)
        with files.atomic_folder(target) as out_dir:
            for name in names:
                os.replace(work.file(name), os.path.join(out_dir, name))
        work.remove()
    if threshold > 0:
        say(f"scene cuts: {cuts} (threshold {threshold:g}; their in-betweens hold the earlier frame)")
    return FolderResult(job.folder, count, total, cuts, done, target, job.video)


def _interpolate_pairs(
    job, work, per_pair, interpolator, threshold, overlap, channels, digits, start_pair, cancel=None
) -> None:
    """Pairs start_pair.. of `job` into PNGs in `work`, one manifest record per pair."""
    plan = SlowMotion(len(job.frames), per_pair)
    step = per_pair + 1
    last = plan.num_outputs - 1
    detector = scene_cuts.cut_detector(threshold)
    pair_cuts: dict[int, int] = {}

    def is_cut(p, a, b):
        cut = detector is not None and detector(a, b)
        pair_cuts[p + start_pair] = int(cut)
        return cut

    def read(path):
        image = read_image(path)
        return image.rgba() if channels == 4 else image.rgb

    pending: list[str] = []

    def write(item):
        i, frame = item
        name = f"frame_{i:0{digits}d}.png"
        alpha = frame[..., 3] if channels == 4 else None
        write_image(work.file(name), frame[..., :3], alpha, job.bit_depth)
        pending.append(name)
        p = i // step
        if i == last or (i + 1) % step == 0 and i + 1 < last:  # the pair's last frame
            p = min(p, len(job.frames) - 2)
            work.add(list(pending), pair=p, cuts=pair_cuts.get(p, 0))
            pending.clear()

    frames = (read(path) for path in job.frames[start_pair:])
    if overlap:
        frames = pipelining.prefetch(frames, size=4)
    sink = pipelining.Sink(write, size=8) if overlap else None
    offset = start_pair * step
    stream = interpolate_at_times(
        frames,
        interpolator,
        plan.requests(offset, first_frame=start_pair),
        total=plan.num_outputs - offset,
        is_cut=is_cut,
    )
    try:
        for local, frame in stream:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            (sink.put if sink is not None else write)((local + offset, frame))
        if sink is not None:
            sink.close()
    except BaseException as error:
        if sink is not None:
            sink.abort(drain=isinstance(error, KeyboardInterrupt))
        raise
    finally:
        stream.close()
