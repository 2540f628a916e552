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

import dataclasses
import glob
import os
import sys
import warnings

import numpy as np
from absl import flags

from film_tf import cli_utils
from film_tf.cli import (
    atomic_folder,
    check_model_flags,
    check_writable_folder,
    define_model_flags,
    make_interpolator,
    natural_key,
)
from film_tf.cli_utils import UserError, atomic_path
from film_tf.image_io import IMAGE_EXTENSIONS, image_info, read_image, to_uint, write_image
from film_tf.recursive import interpolate_recursively, output_length


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


FRAMES_FOLDER = "interpolated_frames"
VIDEO_NAME = "interpolated.mp4"
DEFAULT_FPS = 30.0
_TRUE = ("true", "1", "yes")
MAX_TIMES = 12


@dataclasses.dataclass
class FolderJob:
    """One matched folder: its frames and where the results go."""

    folder: str
    output_dir: str
    frames: list[str]
    height: int
    width: int
    has_alpha: bool
    bit_depth: int
    video: str | None


def list_frames(folder: str) -> list[str]:
    """The folder's PNG/JPEG files in natural order (frame2 before frame10)."""
    names = [
        n
        for n in os.listdir(folder)
        if os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS and os.path.isfile(os.path.join(folder, n))
    ]
    return [os.path.join(folder, n) for n in sorted(names, key=natural_key)]


def check_video_output(path: str, inputs: tuple[str, ...] = ()) -> None:
    real = os.path.realpath(path)
    if any(os.path.exists(i) and real == os.path.realpath(i) for i in inputs):
        raise ValueError(f"The output '{path}' is an input; choose another output path.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"The output video '{path}' is a folder; give a file name such as out.mp4.")
    if os.path.splitext(path)[1].lower() not in (".mp4", ".mov", ".mkv", ".webm", ".gif"):
        raise ValueError(f"The output video '{path}' must end in .mp4 (or .mov, .mkv, .webm, .gif).")
    check_writable_folder(os.path.dirname(os.path.abspath(path)))


def plan_folders(pattern: str, output_video: str | None, output_dir: str | None = None) -> list[FolderJob]:
    """Checks every matched folder before anything is written.

    Raises on: no folder matched, a folder with fewer than two frames,
    unreadable frames, frames of different sizes, an output that is a file.
    """
    folders = sorted((p for p in glob.glob(pattern) if os.path.isdir(p)), key=natural_key)
    if not folders:
        raise FileNotFoundError(f"No folder matches --pattern '{pattern}'.")
    single_video = None
    if output_video is not None and output_video.lower() not in _TRUE:
        if len(folders) > 1:
            raise ValueError(
                f"--pattern matched {len(folders)} folders, so --output_video cannot be one path; "
                f"pass it bare to write {VIDEO_NAME} in each folder."
            )
        single_video = output_video
    jobs = []
    for folder in folders:
        frames = list_frames(folder)
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
            out = folder
        else:
            out = output_dir if len(folders) == 1 else os.path.join(output_dir, os.path.basename(folder))
        check_writable_folder(os.path.join(out, FRAMES_FOLDER))
        video = None
        if output_video is not None:
            video = single_video or os.path.join(out, VIDEO_NAME)
            check_video_output(video, tuple(frames))
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


def _video_pixels(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB with even sides (H.264's 4:2:0 chroma needs them): an odd
    side gets one replicated row/column."""
    rgb = to_uint(frame[..., :3], 8)
    h, w = rgb.shape[:2]
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class _VideoSink:
    """Streams frames into a video file written atomically (or nowhere)."""

    def __init__(self, path: str | None, height: int, width: int, fps: float):
        self.path, self.shape, self.fps = path, (height + height % 2, width + width % 2), fps
        self._atomic = self._writer = None

    def __enter__(self):
        if self.path is not None:
            import mediapy

            from film_tf.media import ensure_ffmpeg

            ensure_ffmpeg()
            self._atomic = atomic_path(self.path)
            tmp = self._atomic.__enter__()
            self._writer = mediapy.VideoWriter(tmp, self.shape, fps=self.fps)
            self._writer.__enter__()
        return self

    def add(self, frame: np.ndarray) -> None:
        if self._writer is not None:
            self._writer.add_image(_video_pixels(frame))

    def __exit__(self, *exc):
        if self._writer is not None:
            try:
                self._writer.__exit__(*exc)
            finally:
                self._atomic.__exit__(*exc)
        return False


def run_folders(jobs: list[FolderJob], times_to_interpolate: int, fps: float, interpolator) -> None:
    """Interpolates each folder; frames stream from disk to disk."""
    for job in jobs:
        channels = 4 if job.has_alpha else 3
        if job.video and job.has_alpha:
            warnings.warn(f"Videos have no alpha; '{job.video}' drops it.", stacklevel=2)

        def frames(job=job, channels=channels):
            for path in job.frames:
                image = read_image(path)
                yield image.rgba() if channels == 4 else image.rgb

        total = output_length(len(job.frames), times_to_interpolate)
        digits = max(3, len(str(total - 1)))
        print(f"{job.folder}: {len(job.frames)} frames -> {total}", file=sys.stderr)
        with atomic_folder(os.path.join(job.output_dir, FRAMES_FOLDER)) as out_dir:
            with _VideoSink(job.video, job.height, job.width, fps) as video:
                stream = interpolate_recursively(
                    frames(), interpolator, times_to_interpolate, num_frames=len(job.frames)
                )
                for i, frame in enumerate(stream):
                    alpha = frame[..., 3] if channels == 4 else None
                    write_image(
                        os.path.join(out_dir, f"frame_{i:0{digits}d}.png"),
                        frame[..., :3],
                        alpha,
                        job.bit_depth,
                    )
                    video.add(frame)


def open_video(path: str):
    """A mediapy.VideoReader, with a clear error for missing or broken files."""
    import mediapy

    from film_tf.media import ensure_ffmpeg

    if not os.path.exists(path):
        raise FileNotFoundError(f"Video not found: '{path}'.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"--input_video '{path}' is a folder.")
    ensure_ffmpeg()
    try:
        reader = mediapy.VideoReader(path)
        reader.__enter__()
    except Exception as e:  # ffmpeg/ffprobe failures on unreadable files.
        message = str(e).strip().splitlines()
        raise ValueError(
            f"Cannot read video '{path}': {message[-1] if message else type(e).__name__}"
        ) from None
    return reader


def run_video(
    input_video: str, output_video: str, times_to_interpolate: int, fps: float | None, interpolator
) -> None:
    """A video in, a 2^k times longer (or faster, with --fps) video out."""
    check_video_output(output_video, (input_video,))
    reader = open_video(input_video)
    try:
        height, width = reader.shape
        fps = fps or float(reader.fps)
        count = reader.num_images
        total = output_length(count, times_to_interpolate)
        print(f"{input_video}: {count} frames -> {total} at {fps:g} fps", file=sys.stderr)
        frames = (image.astype(np.float32) / 255.0 for image in reader)
        with _VideoSink(output_video, height, width, fps) as video:
            written = 0
            for frame in interpolate_recursively(
                frames, interpolator, times_to_interpolate, num_frames=count
            ):
                video.add(frame)
                written += 1
            if written < 2:
                raise ValueError(f"'{input_video}' has {written} frame(s); at least 2 are needed.")
    finally:
        reader.__exit__(None, None, None)


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
        check_video_output(output, (fv.input_video,))
        open_video(fv.input_video).__exit__(None, None, None)  # Fail before the model loads.
        run_video(fv.input_video, output, k, fv.fps, make_interpolator(fv))
    else:
        jobs = plan_folders(fv.pattern, fv.output_video, fv.output_dir)
        run_folders(jobs, k, fv.fps or DEFAULT_FPS, make_interpolator(fv))


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
