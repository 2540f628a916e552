"""Peak memory of FILM inference: bytes per pixel, and a 4K pair under a budget.

    python -m benchmarks.tiling_memory --probe
measures the released configuration's (34.4M parameters, random weights)
peak resident memory for one forward pass at --probe_sizes, each in a fresh
process, and prints the growth over the loaded model per input pixel; that
is where `film_tf.runtime.tiling.RELEASED_BYTES_PER_PIXEL` comes from.

    python -m benchmarks.tiling_memory --memory_budget_gb 8
interpolates a 3840x2160 pair (two frames of bigbuckbunny.mp4, upscaled)
with `film_tf.Interpolator` and reports the process's peak RSS against the
budget, the tile plan and the time. Slow on CPU (about 20 minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import flags

from film_tf.cli_utils import run_absl

FLAGS = flags.FLAGS
flags.DEFINE_bool("probe", False, "Measure bytes per pixel instead of running the 4K pair.")
flags.DEFINE_list("probe_sizes", ["512", "1024"], "Square sizes for --probe.")
flags.DEFINE_integer("probe_one", None, "Internal: run one probe size in this process.")
flags.DEFINE_float("memory_budget_gb", 8.0, "The Interpolator's memory budget for the 4K run.")
flags.DEFINE_integer("height", 2160, "Frame height of the pair.")
flags.DEFINE_integer("width", 3840, "Frame width of the pair.")
flags.DEFINE_enum("precision", "float32", ["float32", "bfloat16"], "Compute precision.")
flags.DEFINE_bool("xla", None, "XLA-compile the forward pass (default: as Interpolator chooses).")


def peak_rss() -> int:
    """Peak resident set size of this process so far, bytes (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def released_interpolator(**kwargs):
    from film_tf import Options, create_model
    from film_tf.runtime.inference import PRECISIONS, Interpolator, default_jit_compile

    model = create_model(Options(use_aux_outputs=False), dtype_policy=PRECISIONS[FLAGS.precision])
    xla = default_jit_compile(Options(), FLAGS.precision) if FLAGS.xla is None else FLAGS.xla
    return Interpolator.from_model(model, jit_compile=xla, **kwargs)


def probe_one(size: int) -> dict:

    interpolator = released_interpolator(memory_budget_gb=1e6)
    warm = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    interpolator(warm, warm)  # trace and load everything first
    base = current_rss()
    x0, x1 = np.random.default_rng(1).random((2, size, size, 3), dtype=np.float32)
    start = time.time()
    interpolator(x0, x1)
    seconds = time.time() - start
    return {
        "size": size,
        "base_rss": base,
        "peak_rss": peak_rss(),
        "growth": peak_rss() - base,
        "seconds": seconds,
    }


def probe() -> None:
    results = []
    for size in map(int, FLAGS.probe_sizes):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.tiling_memory",
                f"--probe_one={size}",
                f"--precision={FLAGS.precision}",
                *([] if FLAGS.xla is None else [f"--{'' if FLAGS.xla else 'no'}xla"]),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        results.append(result)
        print(
            f"{size}x{size}: peak RSS growth {result['growth'] / 1e9:.2f} GB "
            f"= {result['growth'] / size**2:.0f} B/pixel ({result['seconds']:.0f} s)"
        )
    if len(results) >= 2:
        a, b = results[0], results[-1]
        slope = (b["growth"] - a["growth"]) / (b["size"] ** 2 - a["size"] ** 2)
        print(f"marginal: {slope:.0f} bytes per added pixel")


def four_k() -> None:
    import cv2

    from film_tf.runtime.tiling import bytes_per_pixel
    from tests.conftest import video_frames

    frames = video_frames("bigbuckbunny.mp4", 60, 2, 2)
    x0, x1 = (
        cv2.resize(f, (FLAGS.width, FLAGS.height), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
        for f in frames
    )
    del frames
    interpolator = released_interpolator(memory_budget_gb=FLAGS.memory_budget_gb, progress=True)
    h, w = interpolator.padded_size(FLAGS.height, FLAGS.width)
    tile = interpolator._tile_for(h, w)
    print(
        f"{FLAGS.width}x{FLAGS.height}, budget {FLAGS.memory_budget_gb} GB, "
        f"{bytes_per_pixel(interpolator.options):.0f} B/pixel estimated, tile {tile}, overlap {interpolator.overlap}"
    )
    start = time.time()
    mid = interpolator(x0, x1)
    seconds = time.time() - start
    peak = peak_rss()
    print(
        f"done in {seconds:.0f} s, output {mid.shape}, peak RSS {peak / 1e9:.2f} GB "
        f"({'under' if peak <= FLAGS.memory_budget_gb * 1e9 else 'OVER'} the {FLAGS.memory_budget_gb} GB budget)"
    )


def main(argv: list[str]) -> None:
    if FLAGS.probe_one is not None:
        print(json.dumps(probe_one(FLAGS.probe_one)))
    elif FLAGS.probe:
        probe()
    else:
        four_k()


if __name__ == "__main__":
    run_absl(main)
