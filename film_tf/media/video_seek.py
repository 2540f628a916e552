"""Frames `start..stop - 1` of a video, frame-exact, decoding little before `start`.

A Beam worker decodes only its chunk's frames (`film_tf.jobs.beam_video`).
Frame n here is the n-th frame `film_tf.media.video_io.VideoReader` streams,
byte for byte (the same ffmpeg output options as `mediapy.VideoReader`:
rawvideo rgb24, `-vsync vfr`; tests/media/video_seek_test.py). Two ways:

- By time, when the caller knows every frame's `frame_digest` (the launcher's
  one decoding pass computes them): ffmpeg seeks (`-ss` before `-i`: to the
  keyframe before, then decoding) to `SEEK_MARGIN_S` before frame `start`'s
  nominal time `start / fps`, and the decoded frames are matched to their
  indices by digest. A time alone can be off by a frame or more (the
  container's start time, edit lists, a rounded or variable frame rate), a
  digest cannot: every frame yielded has the digest of the frame of its
  index. Where matching fails (`start` not found near its time, or a frame
  that differs), reading goes on by index from the first frame not yet
  yielded, so both ways give the same frames.
- By index (no digests, or the fallback; checked against the digests where
  there are some): ffmpeg's `select` filter passes
  decoded frames n with start <= n < stop and drops the others before they
  are converted to RGB or piped. ffmpeg still decodes every frame before
  `start` (hundreds of frames/s at 640x360 on one core), so reading chunk i
  costs a decode of the video up to its end: quadratic in the number of
  chunks for a long video, which the time seek avoids.
"""

from __future__ import annotations

import collections
import hashlib
import subprocess
import tempfile
from typing import Iterator, Sequence

import numpy as np

from film_tf.media.video_io import _check_video_file, _last_line, ensure_ffmpeg

DIGEST_SIZE = 16
# Seconds decoded before frame `start`'s nominal time after a seek: a frame
# whose real time differs from n / fps by less than this is still found.
SEEK_MARGIN_S = 2.0
# Frames matched before `start` (with it) to place it: a static scene repeats
# frames, and the frames yielded are checked one by one anyway.
_CONTEXT = 2
# ffmpeg's output options, as mediapy.VideoReader's.
_RAW_RGB = ["-vcodec", "rawvideo", "-f", "image2pipe", "-pix_fmt", "rgb24", "-vsync", "vfr", "-"]


def frame_digest(frame: np.ndarray) -> bytes:
    """A 16-byte BLAKE2b digest of a decoded uint8 (H, W, 3) frame: equal frames, equal digests."""
    return hashlib.blake2b(np.ascontiguousarray(frame).data, digest_size=DIGEST_SIZE).digest()


def read_frame_range(
    path: str,
    start: int,
    stop: int,
    shape: tuple[int, int],
    *,
    fps: float | None = None,
    digests: Sequence[bytes] | None = None,
    stats: dict | None = None,
) -> Iterator[np.ndarray]:
    """Yields the uint8 RGB (H, W, 3) frames `start..stop - 1` of `path` (0-based, as decoded).

    Args:
      path: a video file.
      start, stop: the frame range, 0 <= start < stop.
      shape: (height, width) of the frames (`VideoReader.shape`).
      fps, digests: the video's frame rate and the `frame_digest` of each of
        its frames (digests[n]: frame n's); with both, the range is read by
        time (see the module docstring), else by index.
      stats: if given, gets 'seek_frames' (frames yielded from the time seek)
        and 'index_frames' (from the index path).

    Raises:
      ValueError: ffmpeg failed, or the video ended before `stop` ("... has
        only N frames from frame <start>").
    """
    if not 0 <= start < stop:
        raise ValueError(f"a frame range needs 0 <= start < stop, got {start}..{stop}.")
    _check_video_file(path)
    first = start  # The first frame not yet yielded.
    if fps and digests is not None and start / fps > SEEK_MARGIN_S and len(digests) >= stop:
        for frame in _by_time(path, start, stop, shape, fps, digests):
            first += 1
            yield frame
    if stats is not None:
        stats.update(seek_frames=first - start, index_frames=stop - first)
    for n, frame in enumerate(_by_index(path, first, stop, shape) if first < stop else (), first):
        if digests is not None and len(digests) > n and frame_digest(frame) != digests[n]:
            # Both ways must give what the launcher decoded: never a frame of another index.
            raise ValueError(
                f"frame {n} of '{path}' decodes differently from the first pass (its timestamps?)."
            )
        yield frame


class _Decoder:
    """An ffmpeg process piping raw RGB frames of `shape`: `frames()` yields
    them as they come, `close()` ends the process and returns its error line
    ('' when it exited cleanly or was stopped here)."""

    def __init__(self, command: list[str], shape: tuple[int, int]):
        self._shape = shape
        # ffmpeg's messages go to a file: a pipe nobody reads while frames are
        # read would fill up on a damaged stream and block ffmpeg (and us).
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log)

    def frames(self) -> Iterator[np.ndarray]:
        height, width = self._shape
        size = height * width * 3
        while len(data := self._proc.stdout.read(size)) == size:
            yield np.frombuffer(data, np.uint8).reshape(height, width, 3)

    def close(self) -> str:
        stopped = self._proc.poll() is None
        if stopped:
            self._proc.kill()
        self._proc.communicate()
        self._log.seek(0)
        log = self._log.read()
        self._log.close()
        return "" if stopped or not self._proc.returncode else _last_line(log)


def _by_time(
    path: str, start: int, stop: int, shape: tuple[int, int], fps: float, digests: Sequence[bytes]
) -> Iterator[np.ndarray]:
    """Frames start, start + 1, ... from a time seek, as long as each has its
    index's digest; stops early where matching fails."""
    window = int(2 * SEEK_MARGIN_S * fps) + _CONTEXT + 1  # Frames searched for `start`.
    wanted = list(digests[max(0, start - _CONTEXT) : start + 1])
    seek = f"{start / fps - SEEK_MARGIN_S:.6f}"
    command = [ensure_ffmpeg(), "-v", "error", "-nostdin", "-ss", seek, "-i", path, "-map", "0:v:0",
               "-frames:v", str(window + stop - start), *_RAW_RGB]  # fmt: skip
    decoder = _Decoder(command, shape)
    try:
        frames = decoder.frames()
        recent = collections.deque(maxlen=len(wanted))
        for _, frame in zip(range(window), frames):
            recent.append(frame_digest(frame))
            if list(recent) == wanted:
                break
        else:
            return  # `start` is not where its time says: read by index.
        yield frame
        for n, frame in zip(range(start + 1, stop), frames):
            if frame_digest(frame) != digests[n]:
                return
            yield frame
    finally:
        decoder.close()


def _by_index(path: str, start: int, stop: int, shape: tuple[int, int]) -> Iterator[np.ndarray]:
    command = [ensure_ffmpeg(), "-v", "error", "-nostdin", "-i", path, "-map", "0:v:0",
               "-vf", f"select=between(n\\,{start}\\,{stop - 1})", "-frames:v", str(stop - start),
               *_RAW_RGB]  # fmt: skip
    decoder = _Decoder(command, shape)
    read = 0
    try:
        for frame in decoder.frames():
            read += 1
            yield frame
            if read == stop - start:
                break
    finally:
        why = decoder.close()
    if read < stop - start:
        why = f": {why}" if why else ""
        raise ValueError(f"'{path}' has only {read} frames from frame {start} (wanted {stop - start}){why}.")
