"""Frames `start..stop - 1` of a video, frame-exact, without a Python decode of the rest.

A Beam worker decodes only its chunk's frames (`film_tf.jobs.beam_video`).
Seeking by time (`ffmpeg -ss`) lands on the frame whose timestamp is nearest,
which depends on the container's start time, edit lists and rounding of the
frame rate, so it can be off by one frame; here the frame is picked by its
decoded index instead: ffmpeg's `select` filter passes decoded frames n with
start <= n < stop and drops the others before they are converted to RGB or
piped (decode-and-skip inside ffmpeg). The output options are those of
`mediapy.VideoReader` (rawvideo rgb24, `-vsync vfr`), which
`film_tf.media.video_io.VideoReader` streams, so frame n here is the n-th frame
that reader yields, byte for byte (tests/media/video_seek_test.py).

Cost: ffmpeg still decodes the frames before `start` (at hundreds of frames/s
for 640x360 H.264 on one core; it stops reading after `stop`), so chunk i
costs a decode of the video up to its end: small beside the model's time per
frame for the clips this project interpolates, quadratic in the number of
chunks for very long videos.
"""

from __future__ import annotations

import subprocess
from typing import Iterator

import numpy as np

from film_tf.media.video_io import _check_video_file, _last_line, ensure_ffmpeg


def read_frame_range(path: str, start: int, stop: int, shape: tuple[int, int]) -> Iterator[np.ndarray]:
    """Yields the uint8 RGB (H, W, 3) frames `start..stop - 1` of `path` (0-based, as decoded).

    Args:
      path: a video file.
      start, stop: the frame range, 0 <= start < stop.
      shape: (height, width) of the frames (`VideoReader.shape`).

    Raises:
      ValueError: ffmpeg failed, or the video ended before `stop` ("... has
        only N frames from frame <start>").
    """
    if not 0 <= start < stop:
        raise ValueError(f"a frame range needs 0 <= start < stop, got {start}..{stop}.")
    _check_video_file(path)
    height, width = shape
    size = height * width * 3
    command = [
        ensure_ffmpeg(), "-v", "error", "-nostdin", "-i", path, "-map", "0:v:0",
        "-vf", f"select=between(n\\,{start}\\,{stop - 1})", "-frames:v", str(stop - start),
        "-vcodec", "rawvideo", "-f", "image2pipe", "-pix_fmt", "rgb24", "-vsync", "vfr", "-",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    read = 0
    try:
        while read < stop - start:
            data = proc.stdout.read(size)
            if len(data) < size:
                break
            read += 1
            yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, log = proc.communicate()
    if read < stop - start:
        why = f": {_last_line(log)}" if proc.returncode else ""
        raise ValueError(f"'{path}' has only {read} frames from frame {start} (wanted {stop - start}){why}.")
