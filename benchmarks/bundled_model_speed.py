"""Seconds per 640x272 frame of the bundled model in each execution mode.

    python -m benchmarks.bundled_model_speed

A bikes.mp4 pair through `film_tf.Interpolator()` (float32 plain, float32 XLA,
bfloat16); median of 5 calls after one warm-up call. This is how
`film_tf.runtime.inference.XLA_MIN_FILTERS` was chosen: XLA is slower for this narrow model.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.clips import sample_clip
from film_tf.media.video_io import read_video
from film_tf.runtime.inference import Interpolator


def main() -> None:
    frames, _ = read_video(sample_clip("bikes.mp4"))
    x0, x1 = (f.astype(np.float32) / 255.0 for f in frames[10:12])
    print("| mode | s/frame |\n|---|---|")
    for name, kwargs in (
        ("float32, plain", {"jit_compile": False}),
        ("float32, XLA", {"jit_compile": True}),
        ("bfloat16", {"precision": "bfloat16"}),
    ):
        interpolator = Interpolator(**kwargs)
        interpolator(x0, x1)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            interpolator(x0, x1)
            times.append(time.perf_counter() - start)
        print(f"| {name} | {statistics.median(times):.3f} |", flush=True)


if __name__ == "__main__":
    main()
