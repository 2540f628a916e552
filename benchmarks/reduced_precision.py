"""Reduced-precision exports of the bundled model: held-out quality and CPU speed, one run.

    python -m benchmarks.reduced_precision --out=/tmp/reduced_precision.md
    python -m benchmarks.reduced_precision --per_clip=30 --rows=tf:float32,onnx:int8

For each (format, precision) row the bundled model (the only trained weights
film_tf ships) is exported with `film_tf.serving.export_run.export_file`
(ONNX int8: calibrated on `--calibration_video`, by default the TRAINING clip
bigbuckbunny.mp4, never on the held-out clips), then:

  * held-out PSNR / SSIM on bikes.mp4 (640x272) and carphone_pristine.mp4
    (176x144), triplets sampled exactly as `benchmarks/eval_heldout.py` does
    (`triplet_starts`, gaps 1, 2, 4, `--per_clip` per clip and gap), scored by
    the one evaluator (`film_tf.evaluation.evaluator.evaluate_examples`);
    means over all of a clip's triplets;
  * seconds per frame at 640x272 (bikes frames 0 and 2; one warm-up call,
    then the median of `--repeats`), all rows in this one process.

`tf:float32` is the reference: `film_tf.Interpolator` on the bundled model in
TensorFlow's default mode. ONNX rows run `film_tf.Interpolator(<file>.onnx)`
(onnxruntime); LiteRT rows the `ai_edge_litert` interpreter (XNNPACK, one
thread per core) behind `film_tf.runtime.padding`'s padding, clipped to [0, 1] as the
Interpolator clips. Prints the markdown table and writes it to `--out`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import flags

from benchmarks import eval_heldout  # Its flags too: --clips, --gaps, --per_clip, --out.
from film_tf.cli_utils import run_absl
from film_tf.files import write_text_atomic

FLAGS = flags.FLAGS
FLAGS.set_default("per_clip", 10)
ROWS = (
    "tf:float32",
    "onnx:float32",
    "onnx:float16",
    "onnx:int8",
    "litert:float32",
    "litert:float16",
    "litert:int8",
)
flags.DEFINE_list("rows", list(ROWS), "format:precision rows; tf:float32 is the reference.")
flags.DEFINE_integer("repeats", 3, "Timed calls at 640x272 (median) after one warm-up.")
flags.DEFINE_string("calibration_video", None, "ONNX int8 calibration video (default: bigbuckbunny.mp4).")
flags.DEFINE_string("work_dir", None, "Where the exports are written (default: a temporary folder).")


def litert_predictor(path: str, alignment: int):
    """predict(x0, x1) (H, W, 3) -> (H, W, 3) through the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    from film_tf.runtime import padding

    runner = Interpreter(model_path=path, num_threads=os.cpu_count()).get_signature_runner()

    def predict(x0, x1):
        p0, box = padding.pad_to_alignment(np.asarray(x0, np.float32)[None], alignment)
        p1, _ = padding.pad_to_alignment(np.asarray(x1, np.float32)[None], alignment)
        image = runner(x0=p0, x1=p1, time=np.full((1, 1), 0.5, np.float32))["image"]
        return np.clip(padding.crop(image, box)[0], 0.0, 1.0)

    return predict


def make_predictor(row: str, model, folder: str, calibration) -> tuple[object, float, float]:
    """(predict, file MB, export seconds) for a 'format:precision' row."""
    from film_tf.runtime.inference import Interpolator
    from film_tf.serving.export_run import export_file

    fmt, precision = row.split(":")
    if fmt == "tf":
        if precision != "float32":
            raise ValueError(f"The TF reference row is tf:float32, not '{row}'.")
        return Interpolator(None), float("nan"), 0.0
    path = os.path.join(folder, f"bundled_{precision}" + {"onnx": ".onnx", "litert": ".tflite"}[fmt])
    start = time.perf_counter()
    export_file(model, fmt, path, overwrite=True, precision=precision, calibration=calibration)
    seconds = time.perf_counter() - start
    size = os.path.getsize(path) / 2**20
    if fmt == "onnx":
        return Interpolator(path), size, seconds
    return litert_predictor(path, model.film_options.alignment), size, seconds


def heldout_examples(clips: list[str], gaps: list[int], per_clip: int) -> dict[str, list[dict]]:
    """{clip: triplets} sampled as benchmarks/eval_heldout.py samples them."""
    from benchmarks.clips import sample_clip
    from film_tf.media.video_io import read_video

    examples = {}
    for clip in clips:
        frames, _ = read_video(sample_clip(clip))
        frames = frames.astype(np.float32) / 255.0
        examples[clip] = [
            {"x0": frames[i], "y": frames[i + g], "x1": frames[i + 2 * g], "path": f"{clip}/{g}/{i}"}
            for g in gaps
            for i in eval_heldout.triplet_starts(len(frames), g, per_clip)
        ]
    return examples


def measure(
    rows: list[str],
    clips: list[str],
    gaps: list[int],
    per_clip: int,
    repeats: int,
    calibration_video: str,
    folder: str,
) -> list[dict]:
    """One dict per row: PSNR / SSIM per held-out clip, s/frame, size."""
    from benchmarks.clips import sample_clip
    from film_tf.evaluation.evaluator import evaluate_examples
    from film_tf.formats import model_io
    from film_tf.media.video_io import read_video
    from film_tf.serving.onnx_export import calibration_pairs

    model = model_io.load_model(None, use_aux_outputs=False)
    calibration = calibration_pairs(read_video(calibration_video)[0], model.film_options.alignment)
    examples = heldout_examples(clips, gaps, per_clip)
    bikes, _ = read_video(sample_clip("bikes.mp4"))
    x0, x1 = (bikes[i].astype(np.float32) / 255.0 for i in (0, 2))  # 640x272
    results = []
    for row in rows:
        predict, size, export_seconds = make_predictor(row, model, folder, calibration)
        predict(x0, x1)  # Warm-up: tracing, session / interpreter set-up.
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            predict(x0, x1)
            times.append(time.perf_counter() - start)
        result = {"row": row, "size_mb": size, "export_s": export_seconds, "sec": statistics.median(times)}
        for clip, clip_examples in examples.items():
            scores = evaluate_examples(predict, clip_examples, ("psnr", "ssim"))
            result[clip] = (scores.means["psnr"], scores.means["ssim"], scores.num_examples)
        results.append(result)
        print(format_markdown(results), flush=True)
    return results


def format_markdown(results: list[dict]) -> str:
    """The table: one line per row, differences against the first (reference) row."""
    ref = results[0]
    clips = [k for k in ref if k.endswith(".mp4")]
    lines = [
        "| format | precision | file MB | "
        + " | ".join(f"{c} PSNR / SSIM (n={ref[c][2]})" for c in clips)
        + " | ΔPSNR vs ref | s/frame 640x272 | vs ref |",
        "|---|---|---|" + "---|" * len(clips) + "---|---|---|",
    ]
    for r in results:
        fmt, precision = r["row"].split(":")
        delta = np.mean([r[c][0] - ref[c][0] for c in clips])
        size = "-" if np.isnan(r["size_mb"]) else f"{r['size_mb']:.1f}"
        cells = " | ".join(f"{r[c][0]:.2f} / {r[c][1]:.4f}" for c in clips)
        lines.append(
            f"| {fmt} | {precision} | {size} | {cells} | {delta:+.3f} | {r['sec']:.2f} | "
            f"{r['sec'] / ref['sec']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv) -> None:
    del argv
    from benchmarks.clips import sample_clip

    if FLAGS.model_path or FLAGS.precision != "float32" or FLAGS.per_triplet:
        raise ValueError(
            "This benchmark measures the bundled model's exports: no --model_path / --precision."
        )
    rows = list(FLAGS.rows)
    if rows[0] != "tf:float32":
        rows = ["tf:float32", *[r for r in rows if r != "tf:float32"]]  # The reference comes first.
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise ValueError(f"Unknown rows {unknown}; pick from {', '.join(ROWS)}.")
    gaps = [int(g) for g in FLAGS.gaps]
    if FLAGS.per_clip < 1 or FLAGS.repeats < 1 or any(g < 1 for g in gaps):
        raise ValueError("--per_clip, --repeats and --gaps must be positive.")
    video = FLAGS.calibration_video or sample_clip("bigbuckbunny.mp4")
    with tempfile.TemporaryDirectory() as tmp:
        folder = FLAGS.work_dir or tmp
        os.makedirs(folder, exist_ok=True)
        results = measure(rows, FLAGS.clips, gaps, FLAGS.per_clip, FLAGS.repeats, video, folder)
    load = os.getloadavg()
    table = format_markdown(results)
    table += (
        f"\n\n{FLAGS.per_clip} triplets per clip and gap (gaps {', '.join(map(str, gaps))}); "
        f"s/frame: median of {FLAGS.repeats} after a warm-up, {os.cpu_count()} CPU cores, "
        f"load average after the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; "
        f"ONNX int8 calibrated on {os.path.basename(video)}."
    )
    print("\n" + table)
    if FLAGS.out:
        write_text_atomic(FLAGS.out, table + "\n")


def run_main() -> None:
    run_absl(main)


if __name__ == "__main__":
    run_main()
