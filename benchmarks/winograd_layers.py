"""Direct vs Winograd 3x3 convolutions of the released FILM configuration.

    python -m benchmarks.winograd_layers                      # layers at 256x256 and 512x512
    python -m benchmarks.winograd_layers --sizes=256x256 --min_share=0.02
    python -m benchmarks.winograd_layers --rows=model --sizes=256x256   # whole model

Rows:
  layers  every distinct 3x3 convolution shape (input B x H x W x Cin,
          Cout) the released configuration runs for one pair at each
          --sizes (recorded from a trace of the model), largest
          first, those with at least --min_share of the 3x3 multiply-adds:
          plain (`keras` Conv2D, i.e. tf.nn.conv2d) vs `winograd_conv3x3`
          F(2x2) / F(4x4), each as a tf.function graph and XLA-compiled, in
          ms (the minimum over --repeats interleaved rounds, so that load
          from other processes hurts every column alike), and the max abs
          error against plain (random inputs in [0, 1), kernels scaled like
          the Glorot initialisation, bias, leaky ReLU). Winograd kernels are
          transformed once outside the timed function (--nofreeze: per call).
  model   the whole released model (random weights, seed 0, one smooth
          random pair) through `film_tf.Interpolator.from_model`, with
          every 3x3 convolution set to each algorithm (and to
          `fastest_algorithm_rule()`), plain and XLA: s/frame (minimum over
          --repeats interleaved rounds, after one warm-up call each) and the
          max abs difference of the frame from the direct algorithm in the
          same mode.

Timings are of one process on whatever else the CPU runs; report `uptime`
with them and compare columns of one run only.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags

from film_tf.cli_utils import run_absl

FLAGS = flags.FLAGS
flags.DEFINE_list("rows", ["layers"], "Which rows: layers, model.")
flags.DEFINE_list("sizes", ["256x256", "512x512"], "Input sizes HxW.")
flags.DEFINE_list("algorithms", ["winograd2", "winograd4"], "Winograd variants to compare with direct.")
flags.DEFINE_list("modes", ["graph", "xla"], "graph (tf.function), xla (jit_compile).")
flags.DEFINE_float("min_share", 0.01, "Layers row: smallest share of the 3x3 multiply-adds timed.")
flags.DEFINE_integer("repeats", 3, "Timed rounds per cell.")
flags.DEFINE_bool("freeze", True, "Winograd kernels transformed once (Conv3x3.freeze), not per call.")


def layer_shapes(height: int, width: int) -> list[dict]:
    """Distinct 3x3 conv calls of the released model on one (height, width) pair.

    Each: `input` (B, H, W, Cin), `filters`, `uses` (calls per pair),
    `layers` (paths of the layers making them), `macs` (all uses).
    """
    import tensorflow as tf

    from film_tf import Options, create_model
    from film_tf.model import winograd as wg

    seen: dict[tuple, dict] = {}
    original = wg.Conv3x3.call

    def recording(layer, x):
        key = (tuple(int(d) for d in x.shape), layer.filters)
        entry = seen.setdefault(key, {"input": key[0], "filters": key[1], "uses": 0, "layers": set()})
        entry["uses"] += 1
        entry["layers"].add(layer.path)
        return original(layer, x)

    model = create_model(Options(use_aux_outputs=False))
    image = tf.TensorSpec((1, height, width, 3), tf.float32)
    forward = tf.function(lambda x0, x1: model({"x0": x0, "x1": x1, "time": tf.fill([1, 1], 0.5)}))
    wg.Conv3x3.call = recording
    try:
        forward.get_concrete_function(image, image)  # traces only: the shapes, no arithmetic
    finally:
        wg.Conv3x3.call = original
    rows = list(seen.values())
    for row in rows:
        b, h, w, c = row["input"]
        row["macs"] = row["uses"] * b * h * w * 9 * c * row["filters"]
    return sorted(rows, key=lambda r: -r["macs"])


def _min_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_layer(shape: tuple, filters: int, algorithms, modes, repeats: int) -> dict:
    """{(algorithm, mode): ms} and {algorithm: max abs error} for one conv shape."""
    import numpy as np
    import tensorflow as tf

    from film_tf.model.feature_extractor import leaky_relu
    from film_tf.model.winograd import transform_kernel, winograd_conv3x3

    rng = np.random.default_rng(0)
    cin = shape[-1]
    x = tf.constant(rng.random(shape, dtype=np.float32))
    limit = np.sqrt(6 / (9 * (cin + filters)))
    kernel = tf.constant(rng.uniform(-limit, limit, (3, 3, cin, filters)).astype(np.float32))
    bias = tf.constant(rng.uniform(-0.1, 0.1, filters).astype(np.float32))

    def make(algorithm):
        if algorithm == "direct":
            return lambda x: leaky_relu(tf.nn.conv2d(x, kernel, 1, "SAME") + bias)
        m = {"winograd2": 2, "winograd4": 4}[algorithm]
        u = transform_kernel(kernel, m) if FLAGS.freeze else None
        return lambda x: leaky_relu(winograd_conv3x3(x, kernel, bias, m, transformed_kernel=u))

    cells = {}
    for algorithm in ["direct", *algorithms]:
        for mode in modes:
            fn = tf.function(make(algorithm), jit_compile=mode == "xla", autograph=False)
            cells[algorithm, mode] = (fn, fn(x).numpy())  # traces, compiles, warms up
    times = {key: float("inf") for key in cells}
    for _ in range(repeats):  # interleaved rounds
        for key, (fn, _) in cells.items():
            times[key] = min(times[key], _min_time(lambda fn=fn: fn(x).numpy(), 1))
    reference = cells["direct", modes[0]][1]
    errors = {a: max(float(np.abs(cells[a, m][1] - reference).max()) for m in modes) for a in algorithms}
    return {"ms": {k: 1000 * t for k, t in times.items()}, "errors": errors}


def layers_rows(height: int, width: int) -> list[str]:
    algorithms, modes = FLAGS.algorithms, FLAGS.modes
    shapes = layer_shapes(height, width)
    total = sum(r["macs"] for r in shapes)
    timed = [r for r in shapes if r["macs"] >= FLAGS.min_share * total]
    head = ["input (B,H,W,Cin)", "Cout", "uses", "GMAC"] + [
        f"{a} {m} ms" for a in ["direct", *algorithms] for m in modes
    ]
    head += [f"{a} err" for a in algorithms] + ["fastest"]
    lines = [
        f"### {height}x{width}: {len(timed)} of {len(shapes)} shapes, "
        f"{sum(r['macs'] for r in timed) / total:.0%} of {total / 1e9:.1f} GMAC (3x3)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    sums = {}
    for row in timed:
        result = time_layer(row["input"], row["filters"], algorithms, modes, FLAGS.repeats)
        ms = result["ms"]
        for key, value in ms.items():
            sums[key] = sums.get(key, 0.0) + row["uses"] * value
        best = min(ms, key=ms.get)
        cells = [
            "x".join(map(str, row["input"])),
            str(row["filters"]),
            str(row["uses"]),
            f"{row['macs'] / 1e9:.2f}",
        ]
        cells += [f"{ms[a, m]:.1f}" for a in ["direct", *algorithms] for m in modes]
        cells += [f"{result['errors'][a]:.1e}" for a in algorithms] + [" ".join(best)]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    total_cells = ["all timed, x uses", "", "", ""] + [
        f"{sums[a, m]:.0f}" for a in ["direct", *algorithms] for m in modes
    ]
    lines.append("| " + " | ".join(total_cells + [""] * (len(algorithms) + 1)) + " |")
    return lines


def model_rows(height: int, width: int) -> list[str]:
    import keras
    import numpy as np

    from film_tf import Options, create_model
    from film_tf.model.winograd import fastest_algorithm_rule, set_conv_algorithm
    from film_tf.runtime.inference import Interpolator

    rng = np.random.default_rng(0)
    base = rng.random((height // 8 + 2, width // 8 + 2, 3), dtype=np.float32)
    big = np.kron(base, np.ones((8, 8, 1), np.float32))
    x0, x1 = big[:height, :width].copy(), big[1 : height + 1, 2 : width + 2].copy()
    keras.utils.set_random_seed(0)
    model = create_model(Options(use_aux_outputs=False))
    choices = {"direct": "direct", **{a: a for a in FLAGS.algorithms}, "rule": None}
    lines = [
        f"### whole model, {height}x{width}",
        "",
        "| mode | algorithm | s/frame | vs direct, same mode | vs direct graph | max abs diff |",
        "|---|---|---|---|---|---|",
    ]
    cells = {}
    for mode in FLAGS.modes:
        for name, choice in choices.items():
            choice = choice or fastest_algorithm_rule(jit_compile=mode == "xla")
            set_conv_algorithm(model, choice, freeze=FLAGS.freeze)
            interp = Interpolator.from_model(model, jit_compile=mode == "xla")
            cells[mode, name] = (interp, interp(x0, x1))  # traces (the algorithm is fixed now), compiles
    times = {key: float("inf") for key in cells}
    for _ in range(FLAGS.repeats):  # interleaved rounds
        for key, (interp, _) in cells.items():
            times[key] = min(times[key], _min_time(lambda interp=interp: interp(x0, x1), 1))
    for (mode, name), (_, out) in cells.items():
        reference = cells[mode, "direct"][1]
        ratio = times[mode, name] / times[mode, "direct"]
        plain = times[mode, name] / times.get(("graph", "direct"), float("nan"))
        diff = float(np.abs(out - reference).max())
        cells_text = f"{times[mode, name]:.3f} | {ratio:.2f} | {plain:.2f} | {diff:.1e}"
        lines.append(f"| {mode} | {name} | {cells_text} |")
    set_conv_algorithm(model, "direct")
    return lines


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"--sizes wants HxW like 256x256, got {text!r}.")
    return int(parts[0]), int(parts[1])


def main(argv: list[str]) -> None:
    del argv
    sizes = [_size(size) for size in FLAGS.sizes]
    unknown = set(FLAGS.rows) - {"layers", "model"} or set(FLAGS.algorithms) - {"winograd2", "winograd4"}
    if unknown or set(FLAGS.modes) - {"graph", "xla"}:
        raise ValueError(
            f"unknown --rows/--algorithms/--modes value in {FLAGS.rows + FLAGS.algorithms + FLAGS.modes}."
        )
    print(f"load: {os.getloadavg()}", flush=True)
    for height, width in sizes:
        if "layers" in FLAGS.rows:
            print("\n".join(layers_rows(height, width)), flush=True)
        if "model" in FLAGS.rows:
            print("\n".join(model_rows(height, width)), flush=True)
    print(f"load: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    run_absl(main)
