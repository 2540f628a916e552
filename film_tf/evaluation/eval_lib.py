"""The evaluation loop: a predictor over a triplet TFRecord, metrics, results.json.

Examples are streamed one at a time from the TFRecord (never the whole
dataset in memory), so Xiph-4K's 2048x1080 triplets fit; the predictor is the
only large consumer.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Callable, Iterator

import numpy as np

from film_tf.evaluation.metrics import METRICS, compute_metrics

# predict(x0, x1) -> the middle frame; (H, W, 3) float32 in [0, 1].
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]

BASELINE_PREFIX = "baseline:"


def load_predictor(model_path: str, memory_budget_gb: float | None = None) -> Predictor:
    """`baseline:average`, `baseline:dis_flow`, or a model for
    `film_tf.inference.Interpolator` (our SavedModel, an official released
    SavedModel, or our .weights.h5), which pads to its alignment itself and
    tiles frames too large for `memory_budget_gb` (None: its default)."""
    from film_tf.evaluation.baselines import BASELINES

    if model_path.startswith(BASELINE_PREFIX):
        name = model_path[len(BASELINE_PREFIX) :]
        if name not in BASELINES:
            raise ValueError(
                f"Unknown baseline '{name}' in --model_path; choose from "
                + ", ".join(BASELINE_PREFIX + b for b in BASELINES)
                + "."
            )
        return BASELINES[name]
    if not os.path.exists(model_path):
        raise FileNotFoundError(f"Model not found: '{model_path}'.")
    from film_tf.inference import Interpolator

    if memory_budget_gb is None:
        return Interpolator(model_path)
    return Interpolator(model_path, memory_budget_gb=memory_budget_gb)


def iterate_examples(tfrecord: str, max_examples: int = -1) -> Iterator[dict[str, np.ndarray]]:
    """Decoded triplets `{'x0', 'y', 'x1', 'path'}` one at a time, in file order.

    Args:
      tfrecord: `base@N`, a glob or a file (see `film_tf.data.tfrecord`).
      max_examples: stop after this many; -1 = all.
    """
    import tensorflow as tf

    from film_tf.data.tfrecord import existing_shards, parse_example

    dataset = tf.data.TFRecordDataset(existing_shards(tfrecord))
    if max_examples is not None and max_examples >= 0:
        dataset = dataset.take(max_examples)
    # No parallel map: decoded 4K triplets are large; one at a time is enough
    # next to the model's cost.
    for example in dataset.map(parse_example).prefetch(1):
        yield {
            "x0": example["x0"].numpy(),
            "y": example["y"].numpy(),
            "x1": example["x1"].numpy(),
            "path": example["path"].numpy().decode("utf-8"),
        }


def frame_name(index: int, path: str) -> str:
    """A unique, readable file name for example `index`'s predicted frame:
    the index, then the last three components of its path."""
    stem = os.path.splitext(path)[0].replace("\\", "/").replace("#", "_")
    tail = "_".join(p for p in stem.split("/")[-3:] if p)
    return f"{index:05d}_{re.sub(r'[^A-Za-z0-9._-]+', '_', tail)[:100]}.png"


def _json_number(value: float) -> float | None:
    # PSNR of an exact prediction is +inf, which strict JSON cannot hold.
    return value if math.isfinite(value) else None


def evaluate(
    predict: Predictor,
    tfrecord: str,
    output_dir: str,
    max_examples: int = -1,
    metrics: tuple[str, ...] = METRICS,
    save_frames: bool = False,
) -> dict:
    """Runs `predict` on every triplet and writes `<output_dir>/results.json`.

    Args:
      predict: (x0, x1) -> the middle frame, (H, W, 3) float32.
      tfrecord: the benchmark's triplets.
      output_dir: receives results.json and, with `save_frames`, the predicted
        frames as `frames/<index>_<path tail>.png` (8-bit, clipped).
      max_examples: evaluate only the first ones; -1 = all.
      metrics: names from METRICS; the paper reports all four.

    Returns:
      `{"num_examples": N, <metric>: mean, ..., "examples": [{"path": ...,
      <metric>: value, ...}, ...]}`, as written to results.json (a
      non-finite value, the PSNR of an exact frame, is written as null).
    """
    from tqdm import tqdm

    from film_tf.cli_utils import atomic_path

    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"Unknown metrics {sorted(unknown)}; choose from {list(METRICS)}.")
    # A fixed key order in results.json, whatever order the gin file lists.
    metrics = tuple(m for m in METRICS if m in metrics)
    os.makedirs(output_dir, exist_ok=True)
    frames_dir = os.path.join(output_dir, "frames")
    examples = []
    sums = dict.fromkeys(metrics, 0.0)
    for index, example in enumerate(tqdm(iterate_examples(tfrecord, max_examples), desc="eval", unit=" ex")):
        prediction = np.asarray(predict(example["x0"], example["x1"]), np.float32)
        if prediction.shape != example["y"].shape:
            raise ValueError(
                f"The model returned shape {prediction.shape} for '{example['path']}', "
                f"whose ground truth is {example['y'].shape}."
            )
        values = compute_metrics(prediction, example["y"], metrics)
        for name in metrics:
            sums[name] += values[name]
        examples.append({"path": example["path"], **values})
        if save_frames:
            _save_png(os.path.join(frames_dir, frame_name(index, example["path"])), prediction, atomic_path)
    if not examples:
        raise ValueError(f"No examples in '{tfrecord}'.")
    results = {"num_examples": len(examples)}
    results.update({name: _json_number(sums[name] / len(examples)) for name in metrics})
    results["examples"] = [{k: v if k == "path" else _json_number(v) for k, v in e.items()} for e in examples]
    with atomic_path(os.path.join(output_dir, "results.json")) as tmp:
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1)
    return results


def _save_png(path: str, image: np.ndarray, atomic_path) -> None:
    import cv2

    rgb = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    with atomic_path(path) as tmp:
        # The temporary name keeps the .png extension, which cv2 needs.
        if not cv2.imwrite(tmp, np.ascontiguousarray(rgb[..., ::-1])):
            raise OSError(f"Could not write '{path}'.")


def format_table(results: dict, title: str = "") -> str:
    """The mean metrics as a small text table."""
    names = [m for m in METRICS if m in results]
    header = f"{'examples':>10}" + "".join(f"{n.upper():>12}" for n in names)

    def fmt(v):
        return f"{'inf':>12}" if v is None else f"{v:>12.4f}"

    row = f"{results['num_examples']:>10}" + "".join(fmt(results[n]) for n in names)
    lines = [title] if title else []
    return "\n".join(lines + [header, row])
