"""Video I/O through mediapy (ffmpeg), with an ffmpeg binary found for the user.

Read: `open_video(path)` streams uint8 RGB (H, W, 3) frames one at a time
and knows the frame rate and count; `read_video(path)` decodes a whole clip.
Unreadable files are one ValueError naming the file and what ffmpeg said.

Write: `VideoWriter(path, height, width, fps)` streams float frames in [0, 1]
into a temporary file beside `path` (`film_tf.files.atomic_path`), renamed
onto `path` only when complete, so an interrupted run leaves no partial
video.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
from typing import Iterator, Sequence

import numpy as np

from film_tf.files import atomic_path, check_output_file

# Containers read (ffmpeg decodes them all) and written (the writer's H.264 sink).
INPUT_VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".y4m", ".gif")
OUTPUT_VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".gif")


@functools.cache
def ensure_ffmpeg() -> str:
    """Points mediapy at an ffmpeg: the one on PATH, else imageio-ffmpeg's."""
    import mediapy

    exe = shutil.which("ffmpeg")
    if exe is None:
        try:
            import imageio_ffmpeg
        except ImportError:
            raise RuntimeError(
                "No ffmpeg found: install ffmpeg (apt-get install ffmpeg) or pip install imageio-ffmpeg."
            ) from None
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    mediapy.set_ffmpeg(exe)
    return exe


def _check_video_file(path: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"Video not found: '{path}'.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Expected a video file, got a folder: '{path}'.")


def _ffmpeg_reason(error: BaseException) -> str:
    """What failed, from mediapy's error (which appends ffmpeg's whole log:
    its first and last lines say what failed)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    return lines[0] if len(lines) == 1 else f"{lines[0].split(':')[0]} ({lines[-1]})"


class VideoReader:
    """An open video, read frame by frame; use as a context manager.

    Attributes:
      path: the file.
      shape: (height, width) of the frames.
      fps: frames per second.
      num_images: the frame count the header announces.

    Iterating yields uint8 RGB (H, W, 3) frames; a decoding failure is a
    ValueError "Cannot decode video '<path>': ...".
    """

    def __init__(self, path: str):
        import mediapy

        _check_video_file(path)
        ensure_ffmpeg()
        self.path = path
        try:
            self._reader = mediapy.VideoReader(path)
            self._reader.__enter__()
        except Exception as e:  # ffmpeg/ffprobe failures on unreadable files.
            raise ValueError(f"Cannot read video '{path}': {_ffmpeg_reason(e)}") from None
        self.shape: tuple[int, int] = tuple(self._reader.shape)
        self.fps = float(self._reader.fps)
        self.num_images: int = self._reader.num_images

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            yield from self._reader
        except (RuntimeError, ValueError, OSError) as e:
            raise ValueError(f"Cannot decode video '{self.path}': {_ffmpeg_reason(e)}") from None

    def close(self) -> None:
        self._reader.__exit__(None, None, None)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(path: str) -> VideoReader:
    """An open `VideoReader` of `path` (close it, or use it in a `with`).

    Raises:
      FileNotFoundError / IsADirectoryError: no video file at `path`.
      ValueError: ffmpeg cannot read it.
    """
    return VideoReader(path)


def iter_frames(path: str) -> Iterator[np.ndarray]:
    """The uint8 RGB (H, W, 3) frames of a video, decoded one at a time.

    Any ffmpeg failure, opening or mid-stream, is one ValueError "Cannot
    decode video '<path>': ..." (raised when iteration starts or reaches it).
    """
    import mediapy

    _check_video_file(path)
    ensure_ffmpeg()
    try:
        with mediapy.VideoReader(path) as reader:
            yield from reader
    except (RuntimeError, ValueError, OSError) as e:
        raise ValueError(f"Cannot decode video '{path}': {_ffmpeg_reason(e)}") from None


def read_video(path: str) -> tuple[np.ndarray, float]:
    """All frames of a video as uint8 (N, H, W, 3), and its frame rate."""
    import mediapy

    ensure_ffmpeg()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Video not found: '{path}'.")
    video = mediapy.read_video(path)
    return np.asarray(video), float(video.metadata.fps)


def check_video_output(path: str, inputs: Sequence[str] = ()) -> None:
    """Raises a clear error if `path` cannot take an output video: one of
    the `inputs`, a folder, below a file, or not a video file name."""
    check_output_file(path, inputs, OUTPUT_VIDEO_EXTENSIONS, what="output video")


def video_pixels(frame: np.ndarray) -> np.ndarray:
    """float [0, 1] (H, W, C >= 3) -> uint8 RGB with even sides (H.264's
    4:2:0 chroma needs them): an odd side gets one replicated row/column."""
    from film_tf.image_io import to_uint

    rgb = to_uint(frame[..., :3], 8)
    h, w = rgb.shape[:2]
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class VideoWriter:
    """Streams frames into a video file written atomically; a context manager.

    Args:
      path: the video to write (its extension picks the container).
      height, width: the frames' size; odd sides are padded by one pixel
        (`video_pixels`).
      fps: frames per second.

    `add(frame)` takes float (H, W, C >= 3) in [0, 1] (an alpha is dropped).
    The file appears under `path` only when the block completes without an
    error (and ffmpeg finished); otherwise nothing is left.
    """

    def __init__(self, path: str, height: int, width: int, fps: float):
        self.path, self.fps = path, fps
        self.shape = (height + height % 2, width + width % 2)
        self._stack: contextlib.ExitStack | None = None
        self._writer = None

    def __enter__(self) -> VideoWriter:
        import mediapy

        ensure_ffmpeg()
        stack = contextlib.ExitStack()
        try:
            tmp = stack.enter_context(atomic_path(self.path))
            self._writer = mediapy.VideoWriter(tmp, self.shape, fps=self.fps)
            stack.enter_context(self._writer)
        except BaseException:
            if not stack.__exit__(*sys.exc_info()):
                raise
        self._stack = stack
        return self

    def add(self, frame: np.ndarray) -> None:
        self._writer.add_image(video_pixels(frame))

    def __exit__(self, *exc) -> bool:
        # Closes ffmpeg first, then renames (or, after any error, removes) the file.
        return bool(self._stack.__exit__(*exc))
