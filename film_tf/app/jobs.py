"""The page's jobs, without any web code: uploads in, a video and a frame zip out.

A request's uploaded files are copied into its own temporary folder under
the app's root folder; photos (two or more, taken in natural name order as
film-interpolate-frames takes a folder) go through
`film_tf.jobs.frame_jobs.plan_folders` / `run_folders`, a video through
`film_tf.jobs.video_job.run_video`, with the same `film_tf.runtime.inference.Interpolator` the
CLIs build. So the frames are the CLI's, bit for bit, and so are its checks
and one-line errors. Limits keep one request from filling the disk or running
for days: a size cap per uploaded file and a cap on the output frame count.

    runner = JobRunner(ModelCache(memory_budget_gb=8.0), Limits(), root)
    result = runner.run(["a.png", "b.png"], times_to_interpolate=3)   # or num_frames=5
    ... serve result.video and result.frames_zip ...
    runner.cleanup(result.work_dir)

A user mistake is a `JobError` with one line naming the uploaded file (not
the temporary copy); nothing is left behind after an error.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import tempfile
import zipfile
from typing import Callable, Sequence

from film_tf import files
from film_tf.jobs import frame_jobs, scene_cuts, video_job
from film_tf.jobs.frame_rate import SlowMotion, plan_rate
from film_tf.media import video_io
from film_tf.user_errors import error_line

FRAMES_ZIP = "frames.zip"
INPUT_FOLDER = "input"
OUTPUT_FOLDER = "output"
MAX_TIMES_TO_INTERPOLATE = 12  # as film-interpolate-frames
MAX_NUM_FRAMES = 2**MAX_TIMES_TO_INTERPOLATE - 1
# The errors a user can cause (as film_tf.cli_utils.USER_ERRORS; OSError
# covers the file errors named there).
_USER_ERRORS = (ValueError, OSError)


class JobError(ValueError):
    """A problem with the request the user can fix; `str()` is one line."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one request may ask for.

    Attributes:
      max_upload_bytes: the largest uploaded file.
      max_frames: the most output frames (inputs included) of one request.
    """

    max_upload_bytes: int = 200_000_000
    max_frames: int = 1000


@dataclasses.dataclass
class JobResult:
    """A finished request; its files live in `work_dir` until `cleanup`.

    Attributes:
      work_dir: the request's temporary folder.
      video: the output video (.mp4).
      frames_zip: the output frames as PNGs in a zip (photos only), or None.
      num_frames: frames in the video.
      fps: the video's frame rate.
      message: one line saying what was written.
      notes: the job's progress and notice lines (as the CLI prints them).
    """

    work_dir: str
    video: str
    frames_zip: str | None
    num_frames: int
    fps: float
    message: str
    notes: list[str] = dataclasses.field(default_factory=list)


class ModelCache:
    """Builds `Interpolator`s as the CLIs do (`film_tf.cli.model_flags.make_interpolator`
    with the default flags but `memory_budget_gb`: `--precision auto`),
    keeping the last one, so a page serving one model loads it once."""

    def __init__(self, memory_budget_gb: float = 8.0):
        self.memory_budget_gb = memory_budget_gb
        self._key: tuple | None = None
        self._interpolator = None

    def __call__(self, model_path: str | None, bit_depth: int = 8):
        """The interpolator of `model_path` (None: the bundled model) for
        frames of `bit_depth` (16 keeps precision auto in float32)."""
        key = (model_path, bit_depth > 8)
        if self._interpolator is None or self._key != key:
            from film_tf.formats import model_io
            from film_tf.runtime.inference import Interpolator

            model_io.describe(model_path)  # One-line error on a path that is not a model.
            self._interpolator = None  # Free the old model first.
            self._interpolator = Interpolator(
                model_path,
                memory_budget_gb=self.memory_budget_gb,
                precision="auto",
                input_bit_depth=bit_depth,
            )
            self._key = key
        return self._interpolator


def _shown(text: str, work: str) -> str:
    """`text` with the request folder's paths replaced by what the user knows:
    an upload's name, 'uploads' for the photos' folder."""
    inputs = os.path.join(work, INPUT_FOLDER)
    return text.replace(inputs + os.sep, "").replace(inputs, "uploads").replace(work + os.sep, "")


def input_kind(names: Sequence[str]) -> str:
    """'photos' or 'video' for uploaded file names, or a JobError: two or
    more PNG/JPEG photos, or exactly one video."""
    if not names:
        raise JobError("Upload two or more photos (PNG/JPEG) or one video.")
    kinds = []
    for name in names:
        ext = os.path.splitext(name)[1].lower()
        if ext in files.IMAGE_EXTENSIONS:
            kinds.append("photos")
        elif ext in video_io.INPUT_VIDEO_EXTENSIONS:
            kinds.append("video")
        else:
            raise JobError(
                f"'{os.path.basename(name)}' is neither a photo ({', '.join(files.IMAGE_EXTENSIONS)}) "
                f"nor a video ({', '.join(video_io.INPUT_VIDEO_EXTENSIONS)})."
            )
    if "video" in kinds:
        if len(names) > 1:
            raise JobError("Upload one video alone (or two or more photos, without a video).")
        return "video"
    if len(names) < 2:
        raise JobError(f"'{os.path.basename(names[0])}' is one photo; at least 2 are needed.")
    return "photos"


def _copy_uploads(paths: Sequence[str], folder: str, limits: Limits) -> list[str]:
    """Copies the uploads into `folder` under their own names (in natural
    name order, made unique), after checking their sizes."""
    os.makedirs(folder)
    copies, taken = [], set()
    for path in sorted(paths, key=lambda p: files.natural_key(os.path.basename(p))):
        name = os.path.basename(path)
        if not os.path.isfile(path):
            raise JobError(f"Upload not found: '{name}'.")
        size = os.path.getsize(path)
        if size > limits.max_upload_bytes:
            raise JobError(
                f"'{name}' is {size / 1e6:.1f} MB; this page takes files up to "
                f"{limits.max_upload_bytes / 1e6:g} MB (--max_upload_mb)."
            )
        stem, ext = os.path.splitext(name)
        unique, n = name, 1
        while unique.lower() in taken:
            n += 1
            unique = f"{stem}_{n}{ext}"
        taken.add(unique.lower())
        copy = os.path.join(folder, unique)
        shutil.copyfile(path, copy)
        copies.append(copy)
    return copies


def _check_frame_count(total: int, limits: Limits, made: str) -> int:
    """`total` output frames, or a JobError above the limit (`made`: '... make')."""
    if total > limits.max_frames:
        raise JobError(
            f"{made} {total} frames; this page makes at most {limits.max_frames} (--max_frames): "
            "upload fewer frames or ask for fewer."
        )
    return total


def zip_frames(folder: str, path: str) -> None:
    """Writes the PNGs of `folder` (flat, natural order) into the zip `path`, atomically."""
    with files.atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already.
            for frame in files.list_images(folder):
                archive.write(frame, os.path.basename(frame))


class JobRunner:
    """Runs requests one at a time, each in its own folder under `root`.

    Args:
      interpolators: `(model_path, bit_depth) -> Interpolator` (e.g. a
        `ModelCache`; bit_depth 8 or 16, the frames').
      limits: what one request may ask for.
      root: the folder the request folders go in (created if needed).
    """

    def __init__(self, interpolators: Callable, limits: Limits, root: str):
        self.interpolators, self.limits, self.root = interpolators, limits, root
        os.makedirs(root, exist_ok=True)

    def run(
        self,
        uploads: Sequence[str],
        times_to_interpolate: int,
        fps: float | None = None,
        model_path: str | None = None,
        *,
        num_frames: int | None = None,
        target_fps: float | None = None,
        hold_scene_cuts: bool = True,
    ) -> JobResult:
        """Interpolates the uploaded files.

        Args:
          uploads: two or more photos or one video (paths; their names are
            the ones the user sees).
          times_to_interpolate: the levels k: 2^k - 1 new frames per pair,
            each at its own time j / 2^k (unless `num_frames` is given).
          fps: the video's frame rate; None: 30 for photos, the input's for a video.
          model_path: None for the bundled model, else any `film_tf.load_model` path.
          num_frames: N >= 1 new frames per pair, at t = j / (N + 1), instead
            of the levels.
          target_fps: a video only: convert its frame rate to this (same
            duration, audio kept) instead of slow motion; k and fps unused.
          hold_scene_cuts: a scene cut's in-betweens repeat the earlier frame
            (`film_tf.jobs.scene_cuts` at its default threshold, as the CLI);
            False interpolates across cuts too.

        Raises:
          JobError: a user mistake, in one line; the request folder is gone.
        """
        work = tempfile.mkdtemp(prefix="job-", dir=self.root)
        inputs = os.path.join(work, INPUT_FOLDER)
        options = (times_to_interpolate, num_frames, fps, model_path, target_fps, hold_scene_cuts)
        try:
            return self._run(work, inputs, list(uploads or ()), *options)
        except _USER_ERRORS as e:
            self.cleanup(work)
            raise JobError(_shown(error_line(e), work)) from None
        except BaseException:
            self.cleanup(work)
            raise

    def _run(
        self, work, inputs, uploads, k, num_frames, fps, model_path, target_fps, hold_scene_cuts
    ) -> JobResult:
        if num_frames is None:
            if not 0 <= k <= MAX_TIMES_TO_INTERPOLATE:
                raise JobError(f"The levels must be in 0..{MAX_TIMES_TO_INTERPOLATE}, got {k}.")
            per_pair, asked = 2**k - 1, f"{k} levels"
        elif not 1 <= num_frames <= MAX_NUM_FRAMES:
            raise JobError(f"The new frames per pair must be in 1..{MAX_NUM_FRAMES}, got {num_frames}.")
        else:
            per_pair, asked = num_frames, f"{num_frames} new frames per pair"
        for name, value in (("frame rate", fps), ("target frame rate", target_fps)):
            if value is not None and value <= 0:
                raise JobError(f"The {name} must be positive, got {value:g}.")
        kind = input_kind(uploads)
        if kind == "photos" and target_fps is not None:
            raise JobError(
                "A target frame rate converts a video; for photos, set the levels and the frame rate."
            )
        copies = _copy_uploads(uploads, inputs, self.limits)
        out = os.path.join(work, OUTPUT_FOLDER)
        video = os.path.join(out, frame_jobs.VIDEO_NAME)
        threshold = scene_cuts.DEFAULT_THRESHOLD if hold_scene_cuts else 0.0
        notes: list[str] = []

        def say(line: str) -> None:
            notes.append(_shown(line, work))

        if kind == "video":
            with video_io.open_video(copies[0]) as reader:  # Fails before the model loads.
                count, in_fps = reader.num_images, reader.fps
            if target_fps is not None:
                made = f"{count} input frames at the target frame rate make"
                _check_frame_count(plan_rate(in_fps, count, target_fps).num_outputs, self.limits, made)
            else:
                made = f"{count} input frames with {asked} make"
                _check_frame_count(SlowMotion(count, per_pair).num_outputs, self.limits, made)
            interpolator = self.interpolators(model_path, 8)
            done = video_job.run_video(
                copies[0],
                video,
                per_pair,
                fps,
                interpolator,
                target_fps=target_fps,
                scene_cut_threshold=threshold,
                say=say,
            )
            message = f"wrote {done.frames_out} frames at {done.fps_out:g} fps ({frame_jobs.VIDEO_NAME})"
            return JobResult(work, video, None, done.frames_out, done.fps_out, message, notes)
        fps = fps or frame_jobs.DEFAULT_FPS
        (job,) = frame_jobs.plan_folders(glob.escape(inputs), True, out)
        made = f"{len(job.frames)} input frames with {asked} make"
        total = _check_frame_count(SlowMotion(len(job.frames), per_pair).num_outputs, self.limits, made)
        interpolator = self.interpolators(model_path, job.bit_depth)
        frame_jobs.run_folders([job], per_pair, fps, interpolator, scene_cut_threshold=threshold, say=say)
        frames_zip = os.path.join(out, FRAMES_ZIP)
        zip_frames(os.path.join(out, frame_jobs.FRAMES_FOLDER), frames_zip)
        message = f"wrote {total} frames at {fps:g} fps ({frame_jobs.VIDEO_NAME}, {FRAMES_ZIP})"
        return JobResult(work, video, frames_zip, total, fps, message, notes)

    def cleanup(self, work_dir: str | None) -> None:
        """Removes a request's folder (`JobResult.work_dir`); only folders under `root`."""
        if work_dir and os.path.dirname(os.path.abspath(work_dir)) == os.path.abspath(self.root):
            shutil.rmtree(work_dir, ignore_errors=True)
