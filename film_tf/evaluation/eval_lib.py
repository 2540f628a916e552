"""The evaluation loop: a predictor over a triplet TFRecord, metrics, results.json.

Examples are streamed one at a time from the TFRecord (never the whole
dataset in memory), so Xiph-4K's 2048x1080 triplets fit; the predictor is the
only large consumer. `run` is what `film-eval` does: the gin settings, then
this loop in one process (the default) or the same per-example scoring on
Apache Beam (`beam_eval`, when Beam pipeline options are given).
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import gin
import numpy as np

from film_tf.evaluation.evaluator import EvalResult, Predictor, evaluate_examples, iterate_examples
from film_tf.evaluation.metrics import METRICS, check_metrics
from film_tf.evaluation.predictors import BASELINE_PREFIX, frame_name, load_predictor
from film_tf.files import check_output_file, write_json_atomic, write_text_atomic
from film_tf.formats import hub


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
    extra: dict | None = None,
) -> dict:
    """Runs `predict` on every triplet and writes `<output_dir>/results.json`.

    Args:
      predict: (x0, x1) -> the middle frame, (H, W, 3) float32.
      tfrecord: the benchmark's triplets.
      output_dir: receives results.json and, with `save_frames`, the predicted
        frames as `frames/<index>_<path tail>.png` (8-bit, clipped).
      max_examples: evaluate only the first ones; -1 = all.
      metrics: names from METRICS; the paper reports all four.
      extra: more entries for results.json (`test_set_check`).

    Returns:
      `{"num_examples": N, <metric>: mean, ..., "examples": [{"path": ...,
      <metric>: value, ...}, ...]}`, as written to results.json (a
      non-finite value, the PSNR of an exact frame, is written as null).
    """
    from tqdm import tqdm

    from film_tf.media.image_io import write_image

    metrics = check_metrics(metrics)
    os.makedirs(output_dir, exist_ok=True)
    frames_dir = os.path.join(output_dir, "frames")

    def save(index: int, example: dict, prediction: np.ndarray) -> None:
        if save_frames:
            path = os.path.join(frames_dir, frame_name(index, example["path"]))
            write_image(path, prediction)  # clipped to [0, 1] when quantised

    examples = tqdm(iterate_examples(tfrecord, max_examples), desc="eval", unit=" ex")
    result = evaluate_examples(predict, examples, metrics, on_prediction=save, source=tfrecord)
    return write_results(output_dir, metrics, result.examples, result.means, extra)


def write_results(
    output_dir: str, metrics: Sequence[str], rows: list[dict], means: dict, extra: dict | None = None
) -> dict:
    """Writes and returns results.json's content from the evaluator's rows and
    means (and the `extra` entries, after the means)."""
    results = {"num_examples": len(rows)}
    results.update({name: _json_number(means[name]) for name in metrics})
    results.update(extra or {})
    results["examples"] = [{k: v if k == "path" else _json_number(v) for k, v in e.items()} for e in rows]
    write_json_atomic(os.path.join(output_dir, "results.json"), results)
    return results


def evaluate_on_beam(
    model_path: str,
    tfrecord: str,
    output_dir: str,
    max_examples: int = -1,
    metrics: tuple[str, ...] = METRICS,
    save_frames: bool = False,
    memory_budget_gb: float | None = None,
    pipeline_args: Sequence[str] = (),
    extra: dict | None = None,
) -> dict:
    """`evaluate`, with prediction and per-example metrics as a Beam pipeline
    (`beam_eval.score_on_beam`): the same results.json and frames."""
    from film_tf.evaluation.beam_eval import score_on_beam

    metrics = check_metrics(metrics)
    if hub.is_handle(model_path):
        from film_tf.formats import model_io

        model_io.resolve(model_path)  # Downloaded (and checked) once, here: the workers read the cache.
    elif model_path.startswith(BASELINE_PREFIX) or not os.path.exists(model_path):
        load_predictor(model_path)  # the one-line error of an unknown baseline or a missing model, now
    else:  # A truncated or damaged model: one line here, not in every worker.
        from film_tf.formats import model_io

        model_io.check_files(model_path, model_io.describe(model_path))
    os.makedirs(output_dir, exist_ok=True)
    frames_dir = os.path.join(output_dir, "frames") if save_frames else None
    rows = score_on_beam(
        model_path, tfrecord, metrics, max_examples, memory_budget_gb, frames_dir, pipeline_args, output_dir
    )
    result = EvalResult.from_rows(metrics, rows, tfrecord)
    return write_results(output_dir, metrics, result.examples, result.means, extra)


@gin.configurable("evaluation")
def evaluation_settings(
    tfrecord: str = gin.REQUIRED,
    max_examples: int = -1,
    metrics: tuple[str, ...] = METRICS,
    benchmark: str | None = None,
) -> dict:
    """The benchmark settings bound in the gin file (`benchmark`: a name of
    `test_sets.TEST_SET_SIZES`; default: the official configs' `experiment.name`)."""
    return {
        "tfrecord": tfrecord,
        "max_examples": max_examples,
        "metrics": tuple(metrics),
        "benchmark": benchmark or experiment_name(),
    }


@gin.configurable("experiment")
def experiment_name(name: str | None = None) -> str | None:
    """The official eval configs' `experiment.name` (their benchmark's name)."""
    return name


def test_set_check(tfrecord: str, benchmark: str | None) -> dict:
    """Checks the benchmark's shards whole (`film_tf.data.shards`, before any
    model loads) and compares their triplets with the test set's size:
    results.json's `tfrecord_examples`, `benchmark`, `benchmark_examples` and
    `warnings` (one `warning:` line on stderr when the counts differ)."""
    from film_tf.data.shards import check_shards
    from film_tf.evaluation import test_sets
    from film_tf.media.image_io import warn

    count = sum(s.num_records for s in check_shards(tfrecord))
    warning = test_sets.size_warning(benchmark, tfrecord, count)
    if warning:
        warn(warning)
    return {
        "tfrecord_examples": count,
        "benchmark": benchmark,
        "benchmark_examples": test_sets.expected_size(benchmark),
        "warnings": [warning] if warning else [],
    }


def run(
    gin_config: str,
    model_path: str,
    output_dir: str,
    gin_bindings: Sequence[str] = (),
    save_frames: bool = False,
    memory_budget_gb: float | None = None,
    pipeline_args: Sequence[str] | None = None,
) -> dict:
    """`film-eval`: parses the gin config, evaluates (on Beam when
    `pipeline_args` is not None), writes results.json and config.gin, prints
    the table; returns the results."""
    if not os.path.isfile(gin_config):
        raise FileNotFoundError(f"Gin config not found: '{gin_config}'.")
    # Before the model loads: results.json (written inside the folder) can be created.
    check_output_file(os.path.join(output_dir, "results.json"), extensions=(".json",), what="results file")
    gin.clear_config()
    try:
        # Official eval configs also set experiment.name: their benchmark's name.
        # Not finalized (locked): modules imported later may still register configurables.
        gin.parse_config_files_and_bindings(
            [gin_config], list(gin_bindings), finalize_config=False, skip_unknown=["experiment"]
        )
        settings = evaluation_settings()
    except (ValueError, RuntimeError, TypeError, SyntaxError) as e:
        # gin reports a missing evaluation.tfrecord as a RuntimeError.
        raise ValueError(f"Bad gin configuration '{gin_config}': {e}".splitlines()[0]) from None
    if hub.is_handle(model_path):
        # A handle is fetched (or refused, e.g. --offline) before the shards are read through.
        from film_tf.formats import model_io

        model_io.resolve(model_path)
    extra = test_set_check(settings["tfrecord"], settings["benchmark"])
    args = (settings["tfrecord"], output_dir, settings["max_examples"], settings["metrics"], save_frames)
    if pipeline_args is None:
        results = evaluate(load_predictor(model_path, memory_budget_gb), *args, extra=extra)
    else:
        results = evaluate_on_beam(model_path, *args, memory_budget_gb, pipeline_args, extra=extra)
    write_text_atomic(
        os.path.join(output_dir, "config.gin"),
        f"# model_path: {model_path}\n# gin_config: {gin_config}\n{gin.operative_config_str()}",
    )
    print(format_table(results, f"{model_path} on {settings['tfrecord']}"))
    return results


def format_table(results: dict, title: str = "") -> str:
    """The mean metrics as a small text table."""
    names = [m for m in METRICS if m in results]
    header = f"{'examples':>10}" + "".join(f"{n.upper():>12}" for n in names)

    def fmt(v):
        return f"{'inf':>12}" if v is None else f"{v:>12.4f}"

    row = f"{results['num_examples']:>10}" + "".join(fmt(results[n]) for n in names)
    lines = [title] if title else []
    return "\n".join(lines + [header, row])
