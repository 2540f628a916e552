"""How far things move: held-out clips against the default model's training data.

For each source and gap g, the DIS optical flow (OpenCV, medium preset) from x0
to x1 of evenly spaced triplets (i, i+g, i+2g), so the motion the model must
bridge; reported as the median, 90th and 99th percentile of the per-pixel flow
length in pixels. Synthetic rows measure `TripletSampler` triplets the same way.

    python -m benchmarks.default_model.motion_stats --out=/tmp/motion.md

About a minute on 2 CPU cores. The bigbuckbunny frames are decoded (and cached)
in --cache_dir, as in training.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import flags

from film_tf import cli_utils


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_integer("triplets", 12, "Evenly spaced triplets per source and gap.", flag_values=fv)
    flags.DEFINE_string(
        "cache_dir", "/tmp/film_tf_default_model_data", "Decoded training frames (cache).", flag_values=fv
    )
    flags.DEFINE_list("crops", ["96", "128"], "Synthetic crop sides to measure.", flag_values=fv)
    flags.DEFINE_list(
        "max_shifts", ["32", "64"], "Synthetic max_shift per crop (same order as --crops).", flag_values=fv
    )
    flags.DEFINE_string("out", None, "Also write the markdown table here.", flag_values=fv)


def pair_motion(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Per-pixel length of the DIS flow from x0 to x1 (uint8 or [0, 1] RGB)."""
    from film_tf.evaluation.baselines import dis_optical_flow

    def unit(x):
        return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x

    return np.linalg.norm(dis_optical_flow(unit(x0), unit(x1)), axis=-1).ravel()


def summary(lengths: list[np.ndarray]) -> tuple[float, float, float]:
    values = np.concatenate(lengths)
    return tuple(float(np.percentile(values, q)) for q in (50, 90, 99))


def clip_rows(name: str, frames: np.ndarray, gaps, count: int) -> list[tuple]:
    rows = []
    for g in gaps:
        starts = np.linspace(0, len(frames) - 1 - 2 * g, count).round().astype(int)
        stats = summary([pair_motion(frames[i], frames[i + 2 * g]) for i in starts])
        rows.append((name, f"{frames.shape[2]}x{frames.shape[1]}", g, *stats))
    return rows


def synthetic_rows(crop: int, max_shift: float, count: int) -> list[tuple]:
    from benchmarks.default_model.data import TripletSampler, load_photos

    sampler = TripletSampler({}, load_photos(), crop=crop, max_shift=max_shift, seed=0)
    measured = [pair_motion(*sampler._synthetic()[::2]) for _ in range(count * 4)]
    # The x0 -> x1 translations the sampler draws (background and patch alike):
    # uniform in [-max_shift, max_shift] per axis. DIS underestimates the largest.
    drawn = np.linalg.norm(np.random.default_rng(0).uniform(-1, 1, (10000, 2)) * max_shift, axis=-1)
    name = f"synthetic, max_shift {max_shift:g}"
    return [
        (f"{name}, DIS-measured", f"{crop}x{crop}", "-", *summary(measured)),
        (f"{name}, as drawn", f"{crop}x{crop}", "-", *summary([drawn])),
    ]


def _run(fv: flags.FlagValues) -> None:
    from benchmarks.default_model.data import load_real_frames
    from film_tf.media import read_video, sample_clip

    if len(fv.crops) != len(fv.max_shifts):
        raise ValueError("--crops and --max_shifts need the same number of values.")
    synthetic = [(int(c), float(m)) for c, m in zip(fv.crops, fv.max_shifts)]
    rows = []
    for clip in ("bikes.mp4", "carphone_pristine.mp4"):
        frames, _ = read_video(sample_clip(clip))
        rows += clip_rows(f"{clip} (held out)", frames, (1, 2, 4), fv.triplets)
    real = load_real_frames(fv.cache_dir)
    for scale, frames in sorted(real.items()):
        rows += clip_rows(f"bigbuckbunny.mp4 1/{scale}", frames, (1, 2, 4, 6), fv.triplets)
    for crop, shift in synthetic:
        rows += synthetic_rows(crop, shift, fv.triplets)
    lines = [
        "| source | size | gap | median px | p90 px | p99 px |",
        "|---|---|---|---|---|---|",
        *(f"| {s} | {size} | {g} | {a:.1f} | {b:.1f} | {c:.1f} |" for s, size, g, a, b, c in rows),
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    if fv.out:
        with cli_utils.atomic_path(fv.out) as tmp, open(tmp, "w") as f:
            f.write(table)


def main(argv: list[str]) -> None:
    cli_utils.run_argv(argv, define_flags, _run)


if __name__ == "__main__":
    cli_utils.run_binary(define_flags, _run, __doc__)
