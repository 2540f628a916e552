"""Speed and memory of FILM on this machine, as one table.

    python -m benchmarks.performance                 # every row, ~35 min on 2 cores
    python -m benchmarks.performance --rows=inference --sizes=256x256 --modes=xla
    python -m benchmarks.performance --out=benchmarks/RESULTS.md   # also write the table
    python -m benchmarks.performance --rows=formats      # TF vs onnxruntime vs LiteRT

The released configuration (34.4M parameters) with random weights (speed does
not depend on their values), through `film_tf.Interpolator` as users call it
(reflect padding to multiples of 64, tiles under the 8 GB default budget).
Every row runs in a fresh process, so its peak RSS is its own.

Rows:
  inference  one pair at each --sizes, in each --modes: plain (float32
             tf.function), xla (float32, XLA; the default), bf16 (bfloat16
             compute, float32 weights);
  recursive  times_to_interpolate = 3 on one 256x256 pair (7 frames): pair by
             pair, then with feature reuse (`film_tf.recursive`);
  4k         one 3840x2160 pair (tiled under the default budget);
  training   examples/s of the real training step at 256x256 crops, batch 8
             (`benchmarks/train_throughput.py`);
  formats    the same weights and inputs through each runtime (--formats): tf
             (`Interpolator` in its default mode: XLA for the released model,
             plain for the bundled one), onnxruntime (`Interpolator` on the
             `film-export --format onnx` file) and litert (the `.tflite` file
             in the ai_edge_litert interpreter, XNNPACK, one thread per core;
             the Interpolator's padding and tiling around it): the released
             configuration (random weights, seed 0) at 256x256 and 512x512,
             the bundled model at 640x272. Exports are cached per model for
             the run in a temporary folder (not timed).

Columns: seconds per output frame (median of --repeats calls after one
untimed warm-up call; 4K: one timed call), GFLOP/s from the convolutions'
multiply-adds (`film_tf.cost.conv_macs`, 2 FLOP each; counting what actually
ran: tiles with their overlap, pyramids skipped by reuse; training: 3x the
forward pass), that rate as a fraction of this machine's float32 matrix
product rate (numpy 4096^3, best of 5, measured first), and peak RSS.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import flags

from film_tf import files
from film_tf.cli_utils import run_absl

FLAGS = flags.FLAGS
flags.DEFINE_list("rows", ["inference", "recursive", "4k", "training"], "Which rows to run.")
flags.DEFINE_list("sizes", ["256x256", "512x512", "720x1280", "1080x1920"], "HxW for inference rows.")
flags.DEFINE_list("modes", ["plain", "xla", "bf16"], "Modes for the inference and recursive rows.")
flags.DEFINE_list("modes_4k", ["xla", "bf16"], "Modes for the 4K row.")
flags.DEFINE_list("formats", ["tf", "onnxruntime", "litert"], "Runtimes for the formats rows.")
flags.DEFINE_integer("repeats", 3, "Timed calls per row (median).")
flags.DEFINE_string("out", None, "Also write the table (markdown, with date and machine) here.")
flags.DEFINE_string("child", None, "Internal: run one row (JSON spec) in this process.")

MODES = {
    "plain": {"precision": "float32", "jit_compile": False},
    "xla": {"precision": "float32", "jit_compile": True},
    "bf16": {"precision": "bfloat16", "jit_compile": False},
    "bf16-xla": {"precision": "bfloat16", "jit_compile": True},  # slow: XLA on CPU has no AMX
}


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def matmul_gflops() -> float:
    """Best-of-5 float32 GFLOP/s of a 4096^3 numpy matrix product."""
    rng = np.random.default_rng(0)
    a = rng.random((4096, 4096), dtype=np.float32)
    b = rng.random((4096, 4096), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(5))
    return 2 * 4096**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _interpolator(mode: str, **kwargs):
    from film_tf import Options, create_model
    from film_tf.inference import PRECISIONS, Interpolator

    m = MODES[mode]
    model = create_model(Options(use_aux_outputs=False), dtype_policy=PRECISIONS[m["precision"]])
    return Interpolator.from_model(model, jit_compile=m["jit_compile"], **kwargs)


def _pair(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    # Smooth random content (a blurred, shifted pattern) rather than white noise;
    # speed does not depend on it, but it keeps the flow fields plausible.
    rng = np.random.default_rng(seed)
    base = rng.random((h // 8 + 2, w // 8 + 2, 3), dtype=np.float32)
    big = np.kron(base, np.ones((8, 8, 1), np.float32))
    return big[:h, :w].copy(), big[1 : h + 1, 2 : w + 2].copy()


def run_inference(spec: dict) -> dict:
    from film_tf.cost import conv_macs
    from film_tf.tiling import plan_tiles

    h, w = spec["height"], spec["width"]
    interp = _interpolator(spec["mode"])
    x0, x1 = _pair(h, w)
    hp, wp = interp.padded_size(h, w)
    tile = interp._tile_for(hp, wp)
    if tile is None:
        tiles, macs = 1, conv_macs(interp.options, hp, wp)["total"]
        warm = (x0, x1)
    else:
        plan = plan_tiles(hp, wp, tile, interp.overlap, interp.alignment)
        tiles = len(plan.boxes)
        macs = tiles * conv_macs(interp.options, plan.tile_height, plan.tile_width)["total"]
        warm = _pair(plan.tile_height, plan.tile_width, 1)  # compiles the tile shape
    interp(*warm)
    times = [_timed(lambda: interp(x0, x1)) for _ in range(spec["repeats"])]
    seconds = statistics.median(times)
    note = f"{tiles} tiles of {tile}x{tile}" if tile else "whole frame"
    return {"seconds": seconds, "flop": 2 * macs, "times": times, "note": note}


def run_recursive(spec: dict) -> dict:
    from film_tf.cost import conv_macs
    from film_tf.recursive import frames_per_pair, interpolate_recursively

    h, w, k = spec["height"], spec["width"], 3
    interp = _interpolator(spec["mode"])
    x0, x1 = _pair(h, w)
    reuse = spec["reuse"]
    interp(x0, x1)  # warm-up: traces the whole pass ...
    list(
        interpolate_recursively([x0, x1], interp, 1, progress=False, reuse_features=reuse)
    )  # ... or the halves
    outputs = frames_per_pair(k)
    times = [
        _timed(
            lambda: list(interpolate_recursively([x0, x1], interp, k, progress=False, reuse_features=reuse))
        )
        / outputs
        for _ in range(spec["repeats"])
    ]
    cost = conv_macs(interp.options, h, w)
    per_extraction = cost["feature_extractor"] / 2
    extractions = (2 + 2 ** (k - 1) - 1) if reuse else 2 * outputs
    macs = outputs * (cost["total"] - cost["feature_extractor"]) + extractions * per_extraction
    note = f"{'feature reuse' if reuse else 'pair by pair'}, {extractions} extractions"
    return {"seconds": statistics.median(times), "flop": 2 * macs / outputs, "times": times, "note": note}


def run_training(spec: dict) -> dict:
    """Runs benchmarks/train_throughput.py and reads its examples/sec."""
    from film_tf import Options
    from film_tf.cost import conv_macs

    crop, batch = 256, 8
    cmd = [
        sys.executable,
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_throughput.py"),
        f"--crop={crop}",
        f"--batch_size={batch}",
        f"--steps={spec['repeats']}",
        f"--precision={'mixed_bfloat16' if spec['mode'] == 'bf16' else 'float32'}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"train_throughput.py failed: {out.stderr.strip().splitlines()[-1:]}")
    line = [x for x in out.stdout.splitlines() if "examples/sec" in x][-1]
    examples = float(line.split(" examples/sec")[0].split()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
    forward = conv_macs(Options(), crop, crop)["total"]
    return {
        "seconds": 1.0 / examples,
        "flop": 3 * 2 * forward,
        "peak_rss_gb": peak,
        "note": f"{examples:.3f} examples/s (L1 loss, Adam, batch {batch}, no XLA)",
    }


def _format_interpolator(spec: dict):
    """(Interpolator, options) running spec['model'] through spec['mode']'s runtime."""
    import keras

    from film_tf import Options, create_model, model_io
    from film_tf.inference import Interpolator
    from film_tf.serving import export_lib

    if spec["model"] == "bundled":
        model = model_io.load_model(None, use_aux_outputs=False)
    else:
        keras.utils.set_random_seed(0)  # The same random weights in every row.
        model = create_model(Options(use_aux_outputs=False))
    if spec["mode"] == "tf":
        return Interpolator.from_model(model, jit_compile=model.film_options.filters >= 48)
    fmt = "onnx" if spec["mode"] == "onnxruntime" else "litert"
    path = os.path.join(spec["cache"], f"{spec['model']}{export_lib.FILE_EXTENSIONS[fmt]}")
    if not os.path.exists(path):
        export_lib.export_file(model, fmt, path)
    if fmt == "onnx":
        return Interpolator(path)
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpolator.from_model(model)
    runner = Interpreter(model_path=path, num_threads=os.cpu_count()).get_signature_runner()

    def forward(x0, x1):
        return runner(x0=x0, x1=x1, time=np.full((len(x0), 1), 0.5, np.float32))["image"]

    interp._forward = forward  # Same padding and tiling, the LiteRT forward pass.
    interp.feature_reuse = lambda *a: None
    return interp


def run_format(spec: dict) -> dict:
    from film_tf.cost import conv_macs

    h, w = spec["height"], spec["width"]
    interp = _format_interpolator(spec)
    x0, x1 = _pair(h, w)
    interp(x0, x1)
    times = [_timed(lambda: interp(x0, x1)) for _ in range(spec["repeats"])]
    hp, wp = interp.padded_size(h, w)
    note = f"{spec['model']} model" + ("" if interp._tile_for(hp, wp) is None else ", tiled")
    return {
        "seconds": statistics.median(times),
        "flop": 2 * conv_macs(interp.options, hp, wp)["total"],
        "times": times,
        "note": note,
    }


def child(spec: dict) -> dict:
    runner = {
        "inference": run_inference,
        "recursive": run_recursive,
        "training": run_training,
        "formats": run_format,
    }[spec["kind"]]
    result = runner(spec)
    result.setdefault("peak_rss_gb", peak_rss_gb())
    return result


def plan_rows() -> list[dict]:
    rows = []
    for name in FLAGS.rows:
        if name == "inference":
            for size in FLAGS.sizes:
                h, w = (int(v) for v in size.lower().split("x"))
                rows += [{"kind": "inference", "height": h, "width": w, "mode": m} for m in FLAGS.modes]
        elif name == "recursive":
            for m in FLAGS.modes:
                for reuse in (False, True):
                    rows.append({"kind": "recursive", "height": 256, "width": 256, "mode": m, "reuse": reuse})
        elif name == "4k":
            rows += [
                {"kind": "inference", "height": 2160, "width": 3840, "mode": m, "repeats": 1}
                for m in FLAGS.modes_4k
            ]
        elif name == "training":
            rows += [{"kind": "training", "mode": m} for m in ("plain", "bf16")]
        elif name == "formats":
            import tempfile

            cache = tempfile.mkdtemp(prefix="film_tf_formats_")
            for model, (h, w) in (
                ("released", (256, 256)),
                ("released", (512, 512)),
                ("bundled", (272, 640)),
            ):
                rows += [
                    {"kind": "formats", "model": model, "height": h, "width": w, "mode": m, "cache": cache}
                    for m in FLAGS.formats
                ]
        else:
            raise ValueError(f"Unknown row '{name}' (inference, recursive, 4k, training, formats).")
    for row in rows:
        row.setdefault("repeats", FLAGS.repeats)
    return rows


def label(row: dict) -> str:
    if row["kind"] == "training":
        return "training, 256x256 crops"
    size = f"{row['width']}x{row['height']}"
    return f"recursive x8, {size}" if row["kind"] == "recursive" else size


def main(argv: list[str]) -> None:
    if FLAGS.child:
        print(json.dumps(child(json.loads(FLAGS.child))))
        return
    rows = plan_rows()
    matmul = matmul_gflops()
    print(f"float32 matmul (numpy 4096^3): {matmul:.0f} GFLOP/s", flush=True)
    header = (
        "| case | mode | s/frame | GFLOP/s | of matmul | peak RSS GB | notes |\n|---|---|---|---|---|---|---|"
    )
    lines = []
    from tqdm import tqdm

    for row in tqdm(rows, desc="benchmark rows", unit="row"):
        started = time.time()
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.performance", f"--child={json.dumps(row)}"],
            capture_output=True,
            text=True,
        )
        if out.returncode:
            error = (out.stderr.strip().splitlines() or ["?"])[-1]
            line = f"| {label(row)} | {row['mode']} | failed | | | | {error} |"
        else:
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rate = r["flop"] / r["seconds"] / 1e9
            line = (
                f"| {label(row)} | {row['mode']} | {r['seconds']:.3f} | {rate:.0f} | {rate / matmul:.0%} | "
                f"{r['peak_rss_gb']:.2f} | {r['note']} |"
            )
        tqdm.write(f"{line}  ({time.time() - started:.0f} s)")
        lines.append(line)
    import shutil

    for cache in {row["cache"] for row in rows if "cache" in row}:
        shutil.rmtree(cache, ignore_errors=True)  # The formats rows' exports.
    table = "\n".join([header, *lines])
    print(table)
    if FLAGS.out:
        import tensorflow as tf

        cpu = platform.processor() or platform.machine()
        with open("/proc/cpuinfo") as f:
            names = [x.split(":", 1)[1].strip() for x in f if x.startswith("model name")]
        head = (
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {names[0] if names else cpu} "
            f"({os.cpu_count()} cores), TensorFlow {tf.__version__}, "
            f"float32 matmul {matmul:.0f} GFLOP/s.\n\n"
        )
        files.write_text_atomic(FLAGS.out, head + table + "\n")


if __name__ == "__main__":
    run_absl(main)
