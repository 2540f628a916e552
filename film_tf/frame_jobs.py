"""Folders of frames and videos to slow motion: the jobs behind film-interpolate-frames.

Folders: `plan_folders` checks every matched folder (frames, sizes, output
paths) before anything is written and returns one `FolderJob` each;
`run_folders` streams each folder's frames through recursive interpolation
into `<output>/interpolated_frames/frame_000.png ...` (published atomically)
and optionally a video. Videos: `run_video` streams a video through the same
recursion into another video. Frames are read, interpolated and written one
at a time, so memory does not grow with the clip's length.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import sys
import warnings

import numpy as np

from film_tf import files, media
from film_tf.image_io import image_info, read_image, write_image
from film_tf.recursive import interpolate_recursively, output_length

FRAMES_FOLDER = "interpolated_frames"
VIDEO_NAME = "interpolated.mp4"
DEFAULT_FPS = 30.0


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


def plan_folders(
    pattern: str, output_video: str | bool | None = None, output_dir: str | None = None
) -> list[FolderJob]:
    """Checks every folder matching the glob `pattern` before anything is written.

    Args:
      pattern: glob of folders of frames.
      output_video: None (frames only), True (also `interpolated.mp4` in each
        output folder) or a video path (one matched folder only).
      output_dir: write the results here instead of inside each folder (one
        subfolder per folder when several match).

    Raises on: no folder matched, a folder with fewer than two frames,
    unreadable frames, frames of different sizes, an output that is a file.
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
            out = folder
        else:
            out = output_dir if len(folders) == 1 else os.path.join(output_dir, os.path.basename(folder))
        files.check_output_folder(os.path.join(out, FRAMES_FOLDER))
        video = None
        if output_video is not None and output_video is not False:
            video = single_video or os.path.join(out, VIDEO_NAME)
            media.check_video_output(video, tuple(frames))
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


def run_folders(jobs: list[FolderJob], times_to_interpolate: int, fps: float, interpolator) -> None:
    """Interpolates each folder (2^k - 1 new frames per pair); frames stream
    from disk to disk, the results appear only when complete.

    Args:
      jobs: from `plan_folders`.
      times_to_interpolate: the recursion depth k.
      fps: the frame rate of the videos.
      interpolator: `(x0, x1) -> middle`, float (H, W, C) frames in [0, 1].
    """
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
        with files.atomic_folder(os.path.join(job.output_dir, FRAMES_FOLDER)) as out_dir:
            with contextlib.ExitStack() as stack:
                video = None
                if job.video is not None:
                    video = stack.enter_context(media.VideoWriter(job.video, job.height, job.width, fps))
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
                    if video is not None:
                        video.add(frame)


def run_video(
    input_video: str, output_video: str, times_to_interpolate: int, fps: float | None, interpolator
) -> None:
    """A video in, a 2^k times longer video out (at the input's frame rate,
    or `fps`: then faster instead of slower); written atomically."""
    media.check_video_output(output_video, (input_video,))
    with media.open_video(input_video) as reader:
        height, width = reader.shape
        fps = fps or reader.fps
        count = reader.num_images
        total = output_length(count, times_to_interpolate)
        print(f"{input_video}: {count} frames -> {total} at {fps:g} fps", file=sys.stderr)
        frames = (image.astype(np.float32) / 255.0 for image in reader)
        with media.VideoWriter(output_video, height, width, fps) as video:
            written = 0
            for frame in interpolate_recursively(
                frames, interpolator, times_to_interpolate, num_frames=count
            ):
                video.add(frame)
                written += 1
            if written < 2:
                raise ValueError(f"'{input_video}' has {written} frame(s); at least 2 are needed.")
