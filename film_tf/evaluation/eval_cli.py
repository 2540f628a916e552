r"""`film-eval` / `python -m eval.eval_cli`: evaluates a model on a benchmark TFRecord.

    python -m eval.eval_cli --gin_config eval/config/vimeo_90K.gin \
      --model_path <saved_model dir | official saved_model | .weights.h5 | film-style (a model handle)
                    | baseline:average | baseline:dis_flow> [--offline] \
      --output_dir results/vimeo_90K [--save_frames] [--gin_bindings "evaluation.max_examples = 10"]

The gin file binds `evaluation.tfrecord` (the benchmark's triplets, `base@N`),
and optionally `evaluation.max_examples` (-1 = all) and `evaluation.metrics`.
Official FILM eval configs also load (their `experiment.name` names the benchmark).
Writes `<output_dir>/results.json`, `<output_dir>/config.gin` and, with
`--save_frames`, `<output_dir>/frames/*.png`; prints the mean metrics.

Single-process by default. Any Apache Beam pipeline option (`--runner=...`,
`--direct_num_workers=...`, a Dataflow/Flink/Spark runner's options) runs the
prediction and per-example metrics as a Beam pipeline instead, with the same
results.json (`film_tf.evaluation.beam_eval`; needs `pip install -e ".[beam]"`).
"""

from __future__ import annotations

import os

from absl import flags

from film_tf import cli_utils
from film_tf.datasets import beam_cli

# Moved to eval_lib (the library); reached here lazily so --help needs no gin.
_MOVED = ("evaluation_settings", "run")


def __getattr__(name: str):
    if name in _MOVED:
        from film_tf.evaluation import eval_lib

        return getattr(eval_lib, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    cli_utils.define_offline_flag(fv)


def _run(fv: flags.FlagValues, beam_args: list[str]) -> None:
    if beam_args:
        beam_cli.require_beam()
    cli_utils.apply_offline(fv)
    from film_tf.evaluation import eval_lib

    output_dir = cli_utils.required(fv, "output_dir")
    eval_lib.run(
        cli_utils.required(fv, "gin_config"),
        cli_utils.required(fv, "model_path"),
        output_dir,
        fv.gin_bindings,
        fv.save_frames,
        fv.memory_budget_gb,
        beam_args or None,
    )
    cli_utils.report(f"wrote {os.path.join(output_dir, 'results.json')}")


main, run_main = beam_cli.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
