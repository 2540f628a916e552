"""Video I/O through ffmpeg (mediapy to decode), with an ffmpeg binary found for the user.

Read: `open_video(path)` streams uint8 RGB (H, W, 3) frames one at a time
and knows the frame rate and count; `read_video(path)` decodes a whole clip.
Unreadable files are one ValueError naming the file and what ffmpeg said. A
file that ends early (truncated, damaged) stops the stream at the last good
frame: `VideoReader.ended_early()` / `.problem()` say so, with the frames read
and the count the container's duration announces (`probe_video`).

Write: `VideoWriter(path, height, width, fps, codec=None, crf=None)` streams
float frames in [0, 1] through ffmpeg, in the codec `film_tf.media.video_formats`
picks for the extension (H.264, VP9, a gif palette), into a temporary file
beside `path` (`film_tf.files.atomic_path`), renamed onto `path` only when
complete, so an interrupted run leaves no partial video. Another file's audio
(and, in .mkv, subtitles) goes beside a written video with
`film_tf.media.stream_copy.copy_streams`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Iterator, Sequence

import numpy as np

from film_tf.files import atomic_path, check_output_file
from film_tf.media import video_formats

# Containers read (ffmpeg decodes them all) and written (`film_tf.media.video_formats`).
INPUT_VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".y4m", ".gif")
OUTPUT_VIDEO_EXTENSIONS = video_formats.OUTPUT_VIDEO_EXTENSIONS


@functools.cache
def ensure_ffmpeg() -> str:
    """Points mediapy at an ffmpeg: the one on PATH, else imageio-ffmpeg's; returns it."""
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


@dataclasses.dataclass
class VideoInfo:
    """What a video's header says (`ffmpeg -i`).

    Attributes:
      duration_s: the container's duration in seconds, or None if unknown.
      fps: the video stream's frame rate, or None.
      audio_codecs, subtitle_codecs: one codec name per stream, in order.
      audio_ids, subtitle_ids: their ffmpeg stream ids ('0:1'), in order.
    """

    duration_s: float | None
    fps: float | None
    audio_codecs: list[str]
    subtitle_codecs: list[str]
    audio_ids: list[str] = dataclasses.field(default_factory=list)
    subtitle_ids: list[str] = dataclasses.field(default_factory=list)

    def expected_frames(self) -> int | None:
        """round(duration * fps): the frame count the header announces, or None."""
        if self.duration_s is None or not self.fps:
            return None
        return int(round(self.duration_s * self.fps))


def probe_video(path: str) -> VideoInfo:
    """Reads `path`'s header with `ffmpeg -i` (decodes nothing)."""
    _check_video_file(path)
    result = subprocess.run(
        [ensure_ffmpeg(), "-hide_banner", "-nostdin", "-i", path],
        capture_output=True,
        text=True,
        errors="replace",
    )
    duration = fps = None
    audio, subtitles, audio_ids, subtitle_ids = [], [], [], []
    for line in result.stderr.splitlines():
        if match := re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", line):
            h, m, s = match.groups()
            duration = int(h) * 3600 + int(m) * 60 + float(s)
        elif match := re.search(r"Stream #(\d+:\d+).*?: (Video|Audio|Subtitle): (\w+)", line):
            stream_id, kind, codec = match.groups()
            if kind == "Video" and fps is None and (rate := re.search(r", ([\d.]+)(k?) fps", line)):
                fps = float(rate.group(1)) * (1000 if rate.group(2) else 1)
            elif kind == "Audio":
                audio.append(codec)
                audio_ids.append(stream_id)
            elif kind == "Subtitle":
                subtitles.append(codec)
                subtitle_ids.append(stream_id)
    return VideoInfo(duration, fps, audio, subtitles, audio_ids, subtitle_ids)


class VideoReader:
    """An open video, read frame by frame; use as a context manager.

    Attributes:
      path: the file.
      shape: (height, width) of the frames.
      fps: frames per second.
      num_images: the frames ffmpeg can decode (counted when opening).
      expected_frames: the count the container's duration announces, or None.
      frames_read: frames yielded so far.
      error: what stopped decoding early, or None.

    Iterating yields uint8 RGB (H, W, 3) frames. A decoding failure after the
    first frame ends the stream there (see `problem()`); one before any frame
    is a ValueError "Cannot decode video '<path>': ...".
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
        self.expected_frames: int | None = probe_video(path).expected_frames()
        self.frames_read = 0
        self.error: str | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            for frame in self._reader:
                self.frames_read += 1
                yield frame
        except (RuntimeError, ValueError, OSError) as e:
            reason = _ffmpeg_reason(e)
            if self.frames_read == 0:
                raise ValueError(f"Cannot decode video '{self.path}': {reason}") from None
            self.error = reason

    def ended_early(self) -> bool:
        """Decoding stopped on an error, or well short of the announced count
        (by more than 2 frames and 5%: containers round their durations)."""
        if self.error is not None:
            return True
        expected = self.expected_frames
        return expected is not None and self.frames_read < expected - max(2, 0.05 * expected)

    def problem(self) -> str | None:
        """One line about a file that ended early (after iterating), or None."""
        if not self.ended_early():
            return None
        announced = f" of the {self.expected_frames} its duration announces" if self.expected_frames else ""
        why = f" ({self.error})" if self.error else ""
        return f"'{self.path}' ended early: read {self.frames_read} frames{announced}{why}; the file may be truncated or damaged."

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


def check_video_output(
    path: str, inputs: Sequence[str] = (), codec: str | None = None, crf: int | None = None
) -> video_formats.VideoFormat:
    """Raises a clear error if `path` cannot take an output video: one of
    the `inputs`, a folder, below a file, not a video file name, or a codec /
    CRF its container cannot take; returns the format it will be written in."""
    check_output_file(path, inputs, OUTPUT_VIDEO_EXTENSIONS, what="output video")
    return video_formats.check_output_format(path, codec, crf)


def video_pixels(frame: np.ndarray) -> np.ndarray:
    """float [0, 1] (H, W, C >= 3) -> uint8 RGB with even sides (H.264's
    4:2:0 chroma needs them): an odd side gets one replicated row/column."""
    from film_tf.media.image_io import to_uint

    rgb = to_uint(frame[..., :3], 8)
    h, w = rgb.shape[:2]
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _last_line(log: bytes) -> str:
    """ffmpeg's last line, without its '[matroska @ 0x55d0...]' prefix."""
    lines = [line.strip() for line in log.decode("utf-8", "replace").splitlines() if line.strip()]
    return re.sub(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", lines[-1]) if lines else "no message"


class VideoWriter:
    """Streams frames into a video file written atomically; a context manager.

    Args:
      path: the video to write (its extension picks the container).
      height, width: the frames' size; odd sides are padded by one pixel
        (`video_pixels`).
      fps: frames per second (a gif stores delays in 1/100 s, so 25, 50 or
        20 fps play exactly; others are rounded by players).
      codec, crf: see `film_tf.media.video_formats.check_output_format` (None: the
        container's default codec and the codec's default CRF).

    `add(frame)` takes float (H, W, C >= 3) in [0, 1] (an alpha is dropped).
    The file appears under `path` only when the block completes without an
    error (and ffmpeg finished); otherwise nothing is left. An ffmpeg failure
    is one RuntimeError "ffmpeg could not write '<path>': <its last line>".
    """

    def __init__(
        self, path: str, height: int, width: int, fps: float, codec: str | None = None, crf: int | None = None
    ):
        self.path, self.fps = path, fps
        self.format = video_formats.check_output_format(path, codec, crf)
        self.shape = (height + height % 2, width + width % 2)
        self._stack: contextlib.ExitStack | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> VideoWriter:
        exe = ensure_ffmpeg()
        stack = contextlib.ExitStack()
        try:
            tmp = stack.enter_context(atomic_path(self.path))
            self._log = stack.enter_context(tempfile.TemporaryFile())
            height, width = self.shape
            command = [
                exe, "-v", "error", "-nostdin", "-y",
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{self.fps:.6g}",
                "-i", "-", "-an", *self.format.encoder_args(), tmp,
            ]  # fmt: skip
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=self._log)
            stack.callback(self._stop)
        except BaseException:
            if not stack.__exit__(*sys.exc_info()):
                raise
        self._stack = stack
        return self

    def _stop(self) -> None:
        # After an error: ffmpeg must not outlive the block (nor keep the temporary open).
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def _failure(self) -> RuntimeError:
        self._proc.wait()
        self._log.seek(0)
        return RuntimeError(f"ffmpeg could not write '{self.path}': {_last_line(self._log.read())}")

    def add(self, frame: np.ndarray) -> None:
        pixels = video_pixels(frame)
        if pixels.shape[:2] != self.shape:
            raise ValueError(
                f"Frame of {pixels.shape[1]}x{pixels.shape[0]} for a {self.shape[1]}x{self.shape[0]} video."
            )
        try:
            self._proc.stdin.write(pixels.tobytes())
        except BrokenPipeError:
            raise self._failure() from None

    def __exit__(self, *exc) -> bool:
        # Closes ffmpeg first, then renames (or, after any error, removes) the file.
        if exc[0] is None:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
            if self._proc.wait() != 0:
                error = self._failure()
                self._stack.__exit__(type(error), error, None)
                raise error
        else:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        return bool(self._stack.__exit__(*exc))
