"""film-train: trains FILM from a gin config (also `python -m film_tf.train`).

  film-train --gin_config gin_configs/film_net-Style.gin \\
      --base_folder /tmp/film --label style --mode gpu \\
      --gin_bindings "training_dataset.files=['/data/vimeo_train.tfrecord@200']" \\
      --gin_bindings "training_dataset.crop_sizes=[256]" \\
      --gin_bindings "vgg.vgg_model_file='/data/imagenet-vgg-verydeep-19.mat'"

Re-running the same command resumes from the run's last checkpoint.
"""

from __future__ import annotations

import os
import re

from absl import flags, logging

from film_tf import cli_utils, files


def define_flags(fv: flags.FlagValues) -> None:
    """film-train's flags, on `fv`."""
    flags.DEFINE_multi_string("gin_config", [], "gin config file(s).", flag_values=fv)
    flags.DEFINE_multi_string(
        "gin_bindings", [], 'gin bindings, e.g. "training.num_steps=1000" (repeatable).', flag_values=fv
    )
    flags.DEFINE_string("base_folder", None, "Folder holding the runs.", flag_values=fv)
    flags.DEFINE_string(
        "label",
        None,
        "Run name; the run folder is <base_folder>/<label>. Default: the gin file's name.",
        flag_values=fv,
    )
    flags.DEFINE_enum(
        "mode",
        "gpu",
        ["cpu", "gpu", "multi_worker"],
        "Distribution: one CPU, all GPUs, or TF_CONFIG workers.",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "cpu_devices",
        1,
        "--mode cpu: split the CPU into this many logical devices (MirroredStrategy over them).",
        flag_values=fv,
    )
    flags.DEFINE_bool(
        "skip_damaged_records",
        False,
        "Train on the readable records of damaged TFRecord shards (counted, logged, in TensorBoard) "
        "instead of stopping (the same as training_dataset.skip_damaged_records = True).",
        flag_values=fv,
    )


def _run(fv: flags.FlagValues) -> None:
    cli_utils.required(fv, "base_folder")
    if not fv.gin_config and not fv.gin_bindings:
        raise ValueError("Give --gin_config (e.g. gin_configs/film_net-L1.gin) and/or --gin_bindings.")
    for path in fv.gin_config:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"gin config not found: '{path}'.")
    label = fv.label or (os.path.splitext(os.path.basename(fv.gin_config[-1]))[0] if fv.gin_config else None)
    if not label:
        raise ValueError("--label is required when no --gin_config is given.")
    if "://" not in fv.base_folder:  # A local run folder that cannot be written: now, before any work.
        files.check_output_file(os.path.join(fv.base_folder, label, "config.gin"), what="run's config.gin")

    # The strategy first: logical devices and multi-worker setup must precede other TF work.
    from film_tf.training import distribute

    strategy = distribute.create_strategy(fv.mode, fv.cpu_devices)

    import gin

    from film_tf.training import gin_config, train_lib

    try:
        skip = ["training_dataset.skip_damaged_records = True"] if fv.skip_damaged_records else []
        gin.parse_config_files_and_bindings(fv.gin_config, [*fv.gin_bindings, *skip])
    except (ValueError, KeyError, SyntaxError, TypeError) as e:
        raise ValueError(f"Bad gin configuration: {e}".replace("\n", " ")) from None
    try:
        config = gin_config.build_config()
        run_dir = os.path.join(fv.base_folder, label)
        logging.info("Run folder %s, %d replica(s).", run_dir, strategy.num_replicas_in_sync)
        result = train_lib.train(config, run_dir, strategy, operative_config=gin.operative_config_str())
    except cli_utils.USER_ERRORS as e:
        # gin appends "In call to configurable ..." on a new line; keep the error to one line.
        if isinstance(e, OSError) and e.filename and e.strerror:
            raise
        message = " ".join(str(e).split())
        raise cli_utils.UserError(re.sub(r"\s*In call to configurable .*$", "", message)) from None
    saved = f"; SavedModel {result.saved_model}" if result.saved_model else ""
    cli_utils.report(f"trained to step {result.final_step}: wrote {run_dir}{saved}")


main, run_main = cli_utils.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
