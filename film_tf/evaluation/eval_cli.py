r"""`film-eval` / `python -m eval.eval_cli`: evaluates a model on a benchmark TFRecord.

    python -m eval.eval_cli --gin_config eval/config/vimeo_90K.gin \
      --model_path <saved_model dir | official saved_model | .weights.h5 | baseline:average | baseline:dis_flow> \
      --output_dir results/vimeo_90K [--save_frames] [--gin_bindings "evaluation.max_examples = 10"]

The gin file binds `evaluation.tfrecord` (the benchmark's triplets, `base@N`),
and optionally `evaluation.max_examples` (-1 = all) and `evaluation.metrics`.
Official FILM eval configs also load (their `experiment.name` is ignored).
Writes `<output_dir>/results.json`, `<output_dir>/config.gin` and, with
`--save_frames`, `<output_dir>/frames/*.png`; prints the mean metrics.
"""

from __future__ import annotations

import os

import gin
from absl import flags

from film_tf import cli_utils
from film_tf.evaluation import eval_lib
from film_tf.evaluation.metrics import METRICS
from film_tf.files import write_text_atomic


@gin.configurable("evaluation")
def evaluation_settings(
    tfrecord: str = gin.REQUIRED, max_examples: int = -1, metrics: tuple[str, ...] = METRICS
) -> dict:
    """The benchmark settings bound in the gin file."""
    return {"tfrecord": tfrecord, "max_examples": max_examples, "metrics": tuple(metrics)}


def define_flags(fv: flags.FlagValues) -> None:
    """film-eval's flags, on `fv`."""
    flags.DEFINE_string(
        "gin_config", None, "Benchmark gin file, e.g. eval/config/vimeo_90K.gin.", flag_values=fv
    )
    flags.DEFINE_multi_string(
        "gin_bindings",
        [],
        "Extra gin bindings, e.g. \"evaluation.tfrecord = '/data/vimeo.tfrecord@3'\".",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "model_path",
        None,
        "Any model film_tf loads (an official SavedModel or its variables/, our SavedModel, "
        "a .weights.h5 with its .json, a film-train run folder or ckpt-<step>), "
        "or baseline:average / baseline:dis_flow.",
        flag_values=fv,
    )
    flags.DEFINE_string("output_dir", None, "Where results.json (and frames/) go.", flag_values=fv)
    flags.DEFINE_boolean("save_frames", False, "Also write every predicted frame as a PNG.", flag_values=fv)
    flags.DEFINE_float(
        "memory_budget_gb",
        None,
        "Peak memory for the model; larger frames are interpolated in tiles (default: the Interpolator's).",
        flag_values=fv,
    )


def run(
    gin_config: str,
    model_path: str,
    output_dir: str,
    gin_bindings: list[str] = (),
    save_frames: bool = False,
    memory_budget_gb: float | None = None,
) -> dict:
    """Parses the gin config, evaluates, writes the outputs; returns the results."""
    if not os.path.isfile(gin_config):
        raise FileNotFoundError(f"Gin config not found: '{gin_config}'.")
    gin.clear_config()
    try:
        # Official eval configs also set experiment.name, which means nothing here.
        gin.parse_config_files_and_bindings([gin_config], list(gin_bindings), skip_unknown=["experiment"])
        settings = evaluation_settings()
    except (ValueError, RuntimeError, TypeError, SyntaxError) as e:
        # gin reports a missing evaluation.tfrecord as a RuntimeError.
        raise ValueError(f"Bad gin configuration '{gin_config}': {e}".splitlines()[0]) from None
    predict = eval_lib.load_predictor(model_path, memory_budget_gb)
    results = eval_lib.evaluate(
        predict,
        settings["tfrecord"],
        output_dir,
        settings["max_examples"],
        settings["metrics"],
        save_frames,
    )
    write_text_atomic(
        os.path.join(output_dir, "config.gin"),
        f"# model_path: {model_path}\n# gin_config: {gin_config}\n{gin.operative_config_str()}",
    )
    print(eval_lib.format_table(results, f"{model_path} on {settings['tfrecord']}"))
    print(f"Results: {os.path.join(output_dir, 'results.json')}")
    return results


def _run(fv: flags.FlagValues) -> None:
    run(
        cli_utils.required(fv, "gin_config"),
        cli_utils.required(fv, "model_path"),
        cli_utils.required(fv, "output_dir"),
        fv.gin_bindings,
        fv.save_frames,
        fv.memory_budget_gb,
    )


main, run_main = cli_utils.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
