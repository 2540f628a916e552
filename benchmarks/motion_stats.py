"""How far things move: held-out clips against training TFRecords.

For each held-out clip and gap g, the DIS optical flow (OpenCV, medium preset)
from x0 to x1 of evenly spaced triplets (i, i+g, i+2g), so the motion the model
must bridge; for each training TFRecord (`--tfrecords`, any pattern the
training pipeline reads), the same over its first `--triplets` examples.
Reported as the median, 90th and 99th percentile of the per-pixel flow length
in pixels (DIS underestimates the largest motions).

    python -m benchmarks.motion_stats --out=/tmp/motion.md \
        --tfrecords='/work/data/bbb_x1_g4.tfrecord@1,/work/data/synthetic_motion_256.tfrecord@4'

About a minute on 2 CPU cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import flags

from film_tf import cli_utils
from film_tf.files import write_text_atomic


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_integer("triplets", 12, "Evenly spaced triplets per source and gap.", flag_values=fv)
    flags.DEFINE_list("tfrecords", [], "Training TFRecords to measure (base@N, globs).", flag_values=fv)
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


def tfrecord_rows(path: str, count: int) -> list[tuple]:
    from film_tf.evaluation.evaluator import iterate_examples

    examples = list(iterate_examples(path, count))
    if not examples:
        raise ValueError(f"No examples in '{path}'.")
    stats = summary([pair_motion(e["x0"], e["x1"]) for e in examples])
    h, w = examples[0]["x0"].shape[:2]
    return [(f"{path} (first {len(examples)})", f"{w}x{h}", "-", *stats)]


def _run(fv: flags.FlagValues) -> None:
    from benchmarks.clips import HELD_OUT, sample_clip
    from film_tf.media.video_io import read_video

    rows = []
    for clip in HELD_OUT:
        frames, _ = read_video(sample_clip(clip))
        rows += clip_rows(f"{clip} (held out)", frames, (1, 2, 4), fv.triplets)
    for path in fv.tfrecords:
        rows += tfrecord_rows(path, fv.triplets)
    lines = [
        "| source | size | gap | median px | p90 px | p99 px |",
        "|---|---|---|---|---|---|",
        *(f"| {s} | {size} | {g} | {a:.1f} | {b:.1f} | {c:.1f} |" for s, size, g, a, b, c in rows),
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    if fv.out:
        write_text_atomic(fv.out, table)


def main(argv: list[str]) -> None:
    cli_utils.run_argv(argv, define_flags, _run)


if __name__ == "__main__":
    cli_utils.run_binary(define_flags, _run, __doc__)
