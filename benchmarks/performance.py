"""Speed and memory of FILM on this machine, as one table.

    python -m benchmarks.performance                 # every row, ~35 min on 2 cores
    python -m benchmarks.performance --rows=inference --sizes=256x256 --modes=xla
    python -m benchmarks.performance --out=benchmarks/RESULTS.md   # also write the table
    python -m benchmarks.performance --rows=formats      # TF vs onnxruntime vs LiteRT
    python -m benchmarks.performance --rows=cli,threads  # end-to-end CLI wall; thread settings

The released configuration (34.4M parameters) with random weights (speed does
not depend on their values), through `film_tf.Interpolator` as users call it
(reflect padding to multiples of 64, tiles under the 8 GB default budget).
Every row runs in a fresh process, so its peak RSS is its own.

Rows:
  inference  one pair at each --sizes, in each --modes: plain (float32
             tf.function: the official implementation's stand-in), xla
             (float32, XLA), auto (what `Interpolator` picks by default here:
             `film_tf.runtime.execution_choice`, cache or static rule), winograd
             (float32, Winograd F(4x4) on every 3x3 convolution), bf16 (bfloat16 compute, float32 weights);
  recursive  times_to_interpolate = 3 on one 256x256 pair (7 frames): pair by
             pair, then with feature reuse (`film_tf.runtime.recursive`);
  4k         one 3840x2160 pair (tiled under the default budget);
  training   examples/s of the real training step at 256x256 crops, batch 8
             (`benchmarks/train_throughput.py`);
  formats    the same weights and inputs through each runtime (--formats): tf
             (`Interpolator` in its default mode, `film_tf.runtime.execution_choice`:
             here the plain graph with Winograd layers), onnxruntime (`Interpolator` on the
             `film-export --format onnx` file) and litert (the `.tflite` file
             in the ai_edge_litert interpreter, XNNPACK, one thread per core;
             the Interpolator's padding and tiling around it): the released
             configuration (random weights, seed 0) at 256x256 and 512x512,
             the bundled model at 640x272. Exports are cached per model for
             the run in a temporary folder (not timed);
  cli        end-to-end wall of `film-interpolate` (one 640x272 pair, the
             bundled model) and of `film-interpolate-frames` (the same two
             frames, --times_to_interpolate 3: 9 frames), fresh process each,
             with an empty cache folder (cold) and again (warm); see
             `benchmarks/cli_wall.py`;
  threads    the plain path of the released configuration at 256x256 under
             each --threads setting (inter-op:intra-op threads; 0 = TF's
             default).

Columns: seconds per output frame (median of --repeats calls after one
untimed warm-up call; 4K: one timed call; cli: one command's wall), that time
relative to the plain float32 row of the same case in the same run ("vs
plain"; threads rows: relative to the 0:0 default), GFLOP/s effective (the
model's nominal multiply-adds, `film_tf.model.cost.conv_macs`, 2 FLOP each, over
the time; counting what actually ran: tiles with their overlap, pyramids
skipped by reuse; training: 3x the forward pass) and as executed (the
multiplications the traced graph's Conv2D/MatMul ops do, from TensorFlow's
FLOP statistics, for rows that change the algorithm: fewer for Winograd;
the nominal count elsewhere), the effective rate as a fraction of this
machine's float32 matrix product rate (numpy 4096^3, best of 5, measured
first), and peak RSS. The header names the CPU (model, cores, its SIMD/AMX
flags) and the matrix product rate.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import flags

from benchmarks.performance_table import format_lines, machine_line
from film_tf import files
from film_tf.cli_utils import run_absl

FLAGS = flags.FLAGS
flags.DEFINE_list("rows", ["inference", "recursive", "4k", "training"], "Which rows to run.")
flags.DEFINE_list("sizes", ["256x256", "512x512", "720x1280", "1080x1920"], "HxW for inference rows.")
flags.DEFINE_list("modes", ["plain", "xla", "bf16"], "Modes for the inference and recursive rows.")
flags.DEFINE_list("modes_4k", ["xla", "bf16"], "Modes for the 4K row.")
flags.DEFINE_list("formats", ["tf", "onnxruntime", "litert"], "Runtimes for the formats rows.")
flags.DEFINE_list(
    "threads", ["0:0", "1:2", "2:2", "1:1", "2:1"], "inter:intra-op threads for the threads rows."
)
flags.DEFINE_integer("repeats", 3, "Timed calls per row (median).")
flags.DEFINE_string("out", None, "Also write the table (markdown, with date and machine) here.")
flags.DEFINE_string("child", None, "Internal: run one row (JSON spec) in this process.")

MODES = {
    "plain": {"precision": "float32", "jit_compile": False},
    "xla": {"precision": "float32", "jit_compile": True},
    "auto": {"precision": "float32", "jit_compile": None},  # execution_choice decides
    "winograd": {"precision": "float32", "candidate": "winograd"},
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
    from film_tf.runtime import execution_choice
    from film_tf.runtime.inference import PRECISIONS, Interpolator

    m = MODES[mode]
    model = create_model(Options(use_aux_outputs=False), dtype_policy=PRECISIONS[m["precision"]])
    if "candidate" in m:
        candidate = execution_choice.CANDIDATES[m["candidate"]]
        execution_choice.apply(model, candidate, freeze=True)
        return Interpolator.from_model(model, jit_compile=candidate.jit_compile, **kwargs)
    # Fixed weights, as for a loaded model (Winograd kernels transformed once).
    return Interpolator.from_model(model, jit_compile=m["jit_compile"], fixed_weights=True, **kwargs)


def _winograd_layers(interp) -> int:
    """How many 3x3 convolutions of the interpolator's model run Winograd."""
    model = getattr(interp._forward, "model", None)
    if model is None:
        return 0
    from film_tf.model.winograd import winograd_layer_count

    return winograd_layer_count(model)


MULTIPLY_OPS = ("Conv2D", "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum")


def executed_flop(interp, height: int, width: int) -> float:
    """FLOP of the multiplying ops (`MULTIPLY_OPS`) in the traced graph of one
    (height, width) forward pass, from TensorFlow's per-op FLOP statistics."""
    import tensorflow as tf
    from tensorflow.python.framework import ops

    model = interp._forward.model
    spec = tf.TensorSpec([1, height, width, 3], tf.float32)

    @tf.function
    def forward(x0, x1):
        return model({"x0": x0, "x1": x1, "time": tf.fill([1, 1], 0.5)}, training=False)["image"]

    graph = forward.get_concrete_function(spec, spec).graph
    total = 0
    for op in graph.get_operations():
        if op.type in MULTIPLY_OPS:
            try:
                total += ops.get_stats_for_node_def(graph, op.node_def, "flops").value or 0
            except ValueError:  # No statistics registered (e.g. Einsum).
                pass
    return float(total)


def _pair(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    # Smooth random content (a blurred, shifted pattern) rather than white noise;
    # speed does not depend on it, but it keeps the flow fields plausible.
    rng = np.random.default_rng(seed)
    base = rng.random((h // 8 + 2, w // 8 + 2, 3), dtype=np.float32)
    big = np.kron(base, np.ones((8, 8, 1), np.float32))
    return big[:h, :w].copy(), big[1 : h + 1, 2 : w + 2].copy()


def run_inference(spec: dict) -> dict:
    from film_tf.model.cost import conv_macs
    from film_tf.runtime.tiling import plan_tiles

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
    choice = getattr(interp._forward, "choice", None)
    if choice is not None:
        note += f"; ran {choice.name} ({choice.reason})"
    changed = _winograd_layers(interp)
    if changed:
        note += f"; {changed} Winograd layers"
    result = {"seconds": seconds, "flop": 2 * macs, "times": times, "note": note}
    if changed:  # The algorithm changed: count what ran.
        th, tw = (hp, wp) if tile is None else (plan.tile_height, plan.tile_width)
        result["executed_flop"] = tiles * executed_flop(interp, th, tw)
    return result


def run_threads(spec: dict) -> dict:
    """The plain path under one inter:intra-op thread setting (set before any op runs)."""
    import tensorflow as tf

    inter, intra = (int(v) for v in spec["threads"].split(":"))
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    result = run_inference(dict(spec, kind="inference", mode="plain"))
    result["note"] = f"inter-op {inter or 'default'}, intra-op {intra or 'default'}; " + result["note"]
    return result


def run_cli(spec: dict) -> dict:
    from benchmarks import cli_wall

    r = cli_wall.run(spec["command"], spec["work"], spec["cache"])
    frames = "1 middle frame" if spec["command"] == "film-interpolate" else "9 frames"
    return {"seconds": r["seconds"], "peak_rss_gb": r["peak_rss_gb"], "flop": None,
            "note": f"wall, {spec['state']} cache, bundled model, {frames}"}  # fmt: skip


def run_recursive(spec: dict) -> dict:
    from film_tf.model.cost import conv_macs
    from film_tf.runtime.recursive import frames_per_pair, interpolate_recursively

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
    from film_tf.model.cost import conv_macs

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

    from film_tf import Options, create_model
    from film_tf.formats import model_io
    from film_tf.runtime.inference import Interpolator
    from film_tf.serving import destinations, export_run

    if spec["model"] == "bundled":
        model = model_io.load_model(None, use_aux_outputs=False)
    else:
        keras.utils.set_random_seed(0)  # The same random weights in every row.
        model = create_model(Options(use_aux_outputs=False))
    if spec["mode"] == "tf":
        return Interpolator.from_model(model, jit_compile=None, fixed_weights=True)  # the default mode
    fmt = "onnx" if spec["mode"] == "onnxruntime" else "litert"
    path = os.path.join(spec["cache"], f"{spec['model']}{destinations.FILE_EXTENSIONS[fmt]}")
    if not os.path.exists(path):
        export_run.export_file(model, fmt, path)
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
    from film_tf.model.cost import conv_macs

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
        "threads": run_threads,
        "cli": run_cli,
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
        elif name == "threads":
            rows += [{"kind": "threads", "height": 256, "width": 256, "mode": f"plain {t}", "threads": t}
                     for t in FLAGS.threads]  # fmt: skip
        elif name == "cli":
            import tempfile

            from benchmarks import cli_wall

            work = tempfile.mkdtemp(prefix="film_tf_cli_wall_")
            cli_wall.prepare(work)
            for command in cli_wall.COMMANDS:
                cache = tempfile.mkdtemp(prefix="cache_", dir=work)
                rows += [{"kind": "cli", "command": command, "state": state, "mode": "default flags",
                          "work": work, "cache": cache, "cleanup": work} for state in ("cold", "warm")]  # fmt: skip
        else:
            raise ValueError(
                f"Unknown row '{name}' (inference, recursive, 4k, training, formats, threads, cli)."
            )
    for row in rows:
        row.setdefault("repeats", FLAGS.repeats)
    return rows


def main(argv: list[str]) -> None:
    if FLAGS.child:
        print(json.dumps(child(json.loads(FLAGS.child))))
        return
    rows = plan_rows()
    matmul = matmul_gflops()
    machine = machine_line(matmul)
    print(machine, "; load average", " ".join(f"{v:.2f}" for v in os.getloadavg()), flush=True)
    header = (
        "| case | mode | s/frame | vs plain | GFLOP/s effective | GFLOP/s executed | of matmul | peak RSS GB "
        "| notes |\n|---|---|---|---|---|---|---|---|---|"
    )
    results = []
    from tqdm import tqdm

    for row in tqdm(rows, desc="benchmark rows", unit="row"):
        started = time.time()
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.performance", f"--child={json.dumps(row)}"],
            capture_output=True,
            text=True,
        )
        if out.returncode:
            results.append((out.stderr.strip().splitlines() or ["?"])[-1])
        else:
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        (line,) = format_lines([row], results[-1:], matmul)  # Its own line; ratios come at the end.
        tqdm.write(f"{line}  ({time.time() - started:.0f} s)")
    import shutil

    for cache in {row.get("cleanup") or row["cache"] for row in rows if "cache" in row}:
        shutil.rmtree(cache, ignore_errors=True)  # The formats rows' exports, the cli rows' folders.
    table = "\n".join([header, *format_lines(rows, results, matmul)])
    print(table)
    if FLAGS.out:
        import tensorflow as tf

        load = os.getloadavg()
        head = (
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine}, "
            f"TensorFlow {tf.__version__}; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.\n\n"
        )
        files.write_text_atomic(FLAGS.out, head + table + "\n")


if __name__ == "__main__":
    run_absl(main)
