"""The FILM training loop over tf.distribute strategies.

Design: a custom loop (`strategy.run` inside a `tf.function`) rather than
`model.fit`, because a days-long run needs exact control of

  * resume: the step counter is a checkpointed variable; after a restart
    the loop runs from it to `num_steps` exactly, and the data pipeline is
    reseeded from it (so a resumed run does not replay the first batches);
  * checkpoints: `ckpt-<step>` written by a CheckpointManager at fixed step
    intervals (keep N, plus one every N hours), only by the chief;
  * per-term summaries: every loss term with its scheduled weight, total
    loss, learning rate, steps/sec and images at chosen steps;
  * the loss weights' step schedules (piecewise constant), which Keras'
    compile/fit has no notion of.

Gradient arithmetic: each replica's loss is divided by the number of
replicas and the optimizer sums gradients over replicas, so a
MirroredStrategy step equals a one-device step on the same global batch
(up to float rounding; tested over 2 logical CPUs). Initial weights come
from `training.seed`, and the input pipeline uses stateless randomness.

Input: `strategy.distribute_datasets_from_function`, one pipeline per worker
reading its share of the files (or of the records, when there are fewer
files than workers), batched per replica. The training data is not
checkpointed; on resume the pipeline is reseeded from the step.

Multi-worker: all workers restore from `<run>/train` (so `base_folder` must
be storage every worker sees), all take part in saving, but only the chief
(task 'chief', else worker 0) writes to `<run>`; the others save into a
temporary folder that is deleted at the end.

Run folder `<base_folder>/<label>/`: `config.gin` (operative config),
`train/` (checkpoints `ckpt-<step>` and training summaries), `eval/<name>/`
(evaluation summaries), `saved_model/` (written at the end).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from film_tf.data import pipeline
from film_tf.files import write_text_atomic
from film_tf.training import checkpoints, damaged_data, distribute, summaries
from film_tf.training.config import TrainConfig
from film_tf.training.periodic_eval import PeriodicEvaluator, float32_copy
from film_tf.training.train_step import (
    create_training_objects,
    make_train_step,
    policy_name,
    validate,
)


@dataclasses.dataclass
class TrainResult:
    """What a `train` call did: the final step and the summarised losses."""

    run_dir: str
    start_step: int
    final_step: int
    losses: dict[int, float]  # step -> total loss, at summary steps
    eval_metrics: dict[str, dict[str, float]]
    saved_model: str | None


def run_paths(run_dir: str) -> dict[str, str]:
    return {
        "config": os.path.join(run_dir, "config.gin"),
        "train": os.path.join(run_dir, "train"),
        "eval": os.path.join(run_dir, "eval"),
        "saved_model": os.path.join(run_dir, "saved_model"),
    }


def options_gin(config: TrainConfig) -> str:
    """The run's model options as gin bindings (`film_net.<field> = value`)."""
    lines = [f"model.name = {config.model_name!r}"]
    lines += [f"film_net.{key} = {value!r}" for key, value in config.options.to_dict().items()]
    return "\n".join(lines) + "\n"


def init_model_weights(model: keras.Model, path: str) -> None:
    """Initialises a fresh model for fine-tuning from any weights film_tf
    loads (`model_io.load_weights_into`): a film-train run folder or
    checkpoint, an official FILM SavedModel (e.g. the released VGG model, to
    fine-tune the Style model), a `.weights.h5` with its options JSON (e.g.
    the bundled model), or an exported film_tf SavedModel."""
    from film_tf.formats import model_io

    logging.info("Initialised the model from %s.", model_io.load_weights_into(model, path))


# ---------------------------------------------------------------- the loop


def export(model: keras.Model, export_dir: str) -> str:
    """Writes the SavedModel through film_tf.serving, replacing the run's
    previous export (e.g. after training was extended) atomically."""
    from film_tf.serving.export_lib import export_saved_model

    return export_saved_model(float32_copy(model), export_dir, overwrite=True)


def train(
    config: TrainConfig,
    run_dir: str,
    strategy: tf.distribute.Strategy | None = None,
    operative_config: str | None = None,
) -> TrainResult:
    """Trains (or resumes training) FILM into `run_dir` up to `config.num_steps`.

    Args:
      config: the run's configuration.
      run_dir: `<base_folder>/<label>`; created if needed. If it holds
        checkpoints, training resumes from the latest one.
      strategy: a tf.distribute strategy; the default strategy when None.
      operative_config: text written to `run_dir/config.gin` (the binary
        passes gin's operative config; without it, the model options as
        `film_net.*` bindings).

    Returns:
      A TrainResult (final step, summarised total losses, eval metrics).
    """
    validate(config)
    strategy = strategy or tf.distribute.get_strategy()
    chief = distribute.is_chief(strategy)
    paths = run_paths(run_dir)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(
            f"training_dataset.batch_size ({config.batch_size}) must be divisible by the "
            f"{replicas} replicas in sync."
        )

    policy = policy_name(config.mixed_precision)
    previous_policy = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(policy)
    worker_dir = None
    try:
        if chief:
            os.makedirs(paths["train"], exist_ok=True)
            # Always written, so film-export and film-eval can rebuild the model from the run folder.
            write_text_atomic(paths["config"], operative_config or options_gin(config))
            checkpoint_dir = paths["train"]
            writer = tf.summary.create_file_writer(paths["train"])
        else:
            # Non-chief workers take part in saving (collectives) but into a scratch folder.
            worker_dir = tempfile.mkdtemp(prefix="film_worker_")
            checkpoint_dir = worker_dir
            writer = tf.summary.create_noop_writer()

        # Seeds the initial weights (and any other Keras randomness): runs with
        # the same seed start identically on any strategy.
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            model, optimizer, lr_schedule, step, terms = create_training_objects(config, policy)

        checkpoint = checkpoints.make_checkpoint(model, optimizer, step)
        manager = tf.train.CheckpointManager(
            checkpoint,
            checkpoint_dir,
            max_to_keep=config.keep_checkpoints,
            keep_checkpoint_every_n_hours=config.keep_checkpoint_every_n_hours,
            checkpoint_name=checkpoints.CHECKPOINT_NAME,
            step_counter=step,
        )
        # Every worker restores from the chief's folder so all start at the same step.
        latest = tf.train.latest_checkpoint(paths["train"])
        if latest:
            checkpoint.restore(latest).assert_existing_objects_matched()
            logging.info("Resuming from %s (step %d).", latest, int(step.numpy()))
        elif config.init_weights:
            init_model_weights(model, config.init_weights)
        start_step = int(step.numpy())

        evaluator = PeriodicEvaluator(config, paths["eval"], chief) if config.eval_files else None
        result = TrainResult(run_dir, start_step, start_step, {}, {}, None)

        if start_step < config.num_steps:
            _loop(
                config,
                strategy,
                model,
                optimizer,
                step,
                terms,
                lr_schedule,
                manager,
                writer,
                evaluator,
                result,
            )
        else:
            logging.info("Already trained to step %d (num_steps %d).", start_step, config.num_steps)

        final_step = int(step.numpy())
        result.final_step = final_step
        # Decided from the chief's folder so every worker takes the same branch.
        latest = tf.train.latest_checkpoint(paths["train"])
        if not (latest and latest.endswith(f"{checkpoints.CHECKPOINT_NAME}-{final_step}")):
            manager.save(checkpoint_number=final_step)
        finished_before = start_step >= config.num_steps
        if evaluator is not None and chief and not finished_before:
            result.eval_metrics = evaluator(model, final_step)
        writer.flush()
        up_to_date = finished_before and os.path.isdir(paths["saved_model"])
        if chief and config.export_saved_model and not up_to_date:
            result.saved_model = export(model, paths["saved_model"])
            if result.saved_model:
                logging.info("SavedModel written to %s", result.saved_model)
        return result
    finally:
        keras.mixed_precision.set_dtype_policy(previous_policy)
        if worker_dir:
            shutil.rmtree(worker_dir, ignore_errors=True)


def _loop(config, strategy, model, optimizer, step, terms, lr_schedule, manager, writer, evaluator, result):
    start_step = int(step.numpy())

    # Reseeding from the start step: a resumed run continues with fresh batches.
    seed = config.seed * 1_000_003 + start_step

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        # One pipeline per worker, each reading its share of the files (or
        # records) and batching per replica; tf.distribute hands consecutive
        # batches to the worker's replicas.
        return pipeline.create_training_dataset(
            config.train_files,
            config.crop_sizes,
            context.get_per_replica_batch_size(config.batch_size),
            config.augmentation_names,
            seed=seed,
            shuffle_buffer=config.shuffle_buffer,
            num_pipelines=context.num_input_pipelines,
            pipeline_index=context.input_pipeline_id,
            sampling_weights=config.sampling_weights,
            skip_damaged_records=config.skip_damaged_records,
        )

    skipped = damaged_data.skip_report(config)
    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))

    train_step = make_train_step(
        strategy, model, optimizer, terms, step, config.jit_compile, config.frozen_parts
    )

    from tqdm import tqdm

    chief = distribute.is_chief(strategy)
    progress = tqdm(
        total=config.num_steps, initial=start_step, disable=None if chief else True, unit="step", leave=False
    )
    last_time, last_step = time.perf_counter(), start_step
    steps_per_sec = float("nan")
    try:
        for current in range(start_step + 1, config.num_steps + 1):
            try:
                total, values, weights, images = train_step(iterator)
            except tf.errors.DataLossError as e:  # checked whole at the start: a file changed since
                raise damaged_data.error_while_training(config, e, current) from None
            progress.update(1)
            if current == start_step + 1:
                # The first step includes tracing; time from here on.
                last_time, last_step = time.perf_counter(), current
            summarize = current % config.summary_every == 0 or current == config.num_steps
            log = current % config.log_every == 0 or current == config.num_steps
            if summarize or log:
                total_value = float(total)
                if not np.isfinite(total_value):
                    raise FloatingPointError(f"The training loss is {total_value} at step {current}.")
                now = time.perf_counter()
                if current > last_step:
                    steps_per_sec = (current - last_step) / (now - last_time)
                    last_time, last_step = now, current
            if summarize:
                scalars = {"loss/total": total_value, "learning_rate": float(lr_schedule(current - 1))}
                for k in values:
                    scalars[f"loss/{k}"] = float(values[k])
                    scalars[f"loss_weight/{k}"] = float(weights[k])
                if np.isfinite(steps_per_sec):
                    scalars["steps_per_sec"] = steps_per_sec
                scalars.update(skipped.scalars())
                summaries.scalars(writer, current, scalars)
                result.losses[current] = total_value
            if log:
                logging.info(
                    "step %d/%d  loss %.6f  %.3f steps/sec",
                    current,
                    config.num_steps,
                    total_value,
                    steps_per_sec,
                )
            if config.image_summary_every and current % config.image_summary_every == 0:
                local = {k: strategy.experimental_local_results(v)[0].numpy() for k, v in images.items()}
                summaries.images(writer, current, local)
            if current % config.checkpoint_every == 0 and current < config.num_steps:
                manager.save(checkpoint_number=current)
                writer.flush()
            if evaluator is not None and config.eval_every and current % config.eval_every == 0 and chief:
                if current < config.num_steps:  # The final evaluation follows the loop.
                    result.eval_metrics = evaluator(model, current)
    finally:
        progress.close()
