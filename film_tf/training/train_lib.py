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
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from film_tf.cli_utils import atomic_path
from film_tf.data import pipeline
from film_tf.interpolator import create_model
from film_tf.losses import losses as losses_lib
from film_tf.losses import vgg19
from film_tf.training import checkpoints, distribute, summaries
from film_tf.training.config import TrainConfig
from film_tf.training.schedules import learning_rate_schedule

CHECKPOINT_NAME = checkpoints.CHECKPOINT_NAME


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


def write_text_atomic(path: str, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


# ---------------------------------------------------------------- validation


def _vgg_files(config: TrainConfig) -> dict[str, tuple[str | None, str]]:
    """{loss name: (weights file, gin binding that sets it)} for VGG-based losses."""
    out = {}
    if "vgg" in config.loss_names:
        out["vgg"] = (config.vgg_model_file, "vgg.vgg_model_file")
    if "style" in config.loss_names:
        if config.style_model_file:
            out["style"] = (config.style_model_file, "style.vgg_model_file")
        else:
            out["style"] = (config.vgg_model_file, "style.vgg_model_file")
    return out


def validate(config: TrainConfig) -> None:
    """Everything that can be checked before building the model: values, loss
    and augmentation names, training and eval files, crop sizes, VGG files.

    Raises ValueError / FileNotFoundError with a one-line message.
    """
    config.validate()
    losses_lib.check_loss_names(config.loss_names)
    losses_lib.check_loss_names(config.metric_names, tuple(losses_lib.METRICS), "metric (test_losses)")
    if "l1_warped" in config.loss_names and not config.options.use_aux_outputs:
        raise ValueError("The l1_warped loss needs film_net.use_aux_outputs = True.")
    from film_tf.data import augment

    augment.get_augmentations(config.augmentation_names)
    pipeline.validate_training_files(config.train_files, config.crop_sizes, config.options.alignment)
    for path in config.eval_files:
        # FileNotFoundError names a missing shard; an empty file would only fail at the first eval.
        if pipeline.first_example(path) is None:
            raise ValueError(f"Eval dataset '{path}' holds no examples (empty dataset).")
    for path, binding in _vgg_files(config).values():
        if not path or not tf.io.gfile.exists(path):
            raise FileNotFoundError(vgg19.missing_weights_message(path, binding))
    if config.init_weights and not tf.io.gfile.exists(config.init_weights):
        raise FileNotFoundError(f"training.init_weights: '{config.init_weights}' does not exist.")


# ---------------------------------------------------------------- building blocks


def build_loss_terms(config: TrainConfig) -> list[losses_lib.LossTerm]:
    """The weighted loss terms; creates VGG-19 variables (call under the strategy scope)."""
    vgg_cache: dict[str, vgg19.Vgg19Features] = {}
    files = _vgg_files(config)
    terms = []
    for name, weight in zip(config.loss_names, config.loss_weights):
        vgg = None
        if name in files:
            path, binding = files[name]
            if path not in vgg_cache:
                vgg_cache[path] = vgg19.Vgg19Features(vgg19.load_vgg19_weights(path, binding))
            vgg = vgg_cache[path]
        terms.append(losses_lib.LossTerm(name, losses_lib.make_loss(name, vgg), weight))
    return terms


def _policy_name(mixed_precision: bool | str) -> str:
    """True -> mixed_bfloat16 (no loss scaling needed; A100/H100 and recent
    CPUs). 'mixed_float16' uses loss scaling (V100-class GPUs)."""
    if mixed_precision is True:
        return "mixed_bfloat16"
    if not mixed_precision:
        return "float32"
    if mixed_precision not in ("mixed_float16", "mixed_bfloat16", "float32"):
        raise ValueError(
            f"training.mixed_precision must be True/False, 'mixed_float16' or 'mixed_bfloat16', got {mixed_precision!r}."
        )
    return mixed_precision


def init_model_weights(model: keras.Model, path: str) -> None:
    """Initialises a fresh model for fine-tuning: from a film-train run folder
    (or its train/ folder, or a ckpt-<step> prefix), else from an official
    FILM SavedModel (e.g. the released VGG model, to fine-tune the Style model)."""
    for candidate in (os.path.join(path, "train"), path):
        if (tf.io.gfile.isdir(candidate) and tf.train.latest_checkpoint(candidate)) or tf.io.gfile.exists(
            candidate + ".index"
        ):
            step = checkpoints.restore_model_weights(model, candidate)
            logging.info("Initialised the model from %s (step %d).", candidate, step)
            return
    from film_tf.official_weights import load_official_weights

    load_official_weights(model, path)
    logging.info("Initialised the model from the official weights at %s", path)


def model_inputs(batch: dict) -> dict:
    return {"x0": batch["x0"], "x1": batch["x1"], "time": batch["time"]}


def pad_to_alignment(image: tf.Tensor, alignment: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Zero-pads (B, H, W, C) at the bottom/right to multiples of `alignment`."""
    shape = tf.shape(image)
    h, w = shape[1], shape[2]
    ph = (alignment - h % alignment) % alignment
    pw = (alignment - w % alignment) % alignment
    return tf.pad(image, [[0, 0], [0, ph], [0, pw], [0, 0]]), h, w


class Evaluator:
    """PSNR/SSIM/L1/L2 of a model on the eval datasets, in file order."""

    def __init__(self, config: TrainConfig, eval_dir: str, chief: bool):
        self.config = config
        self.names = list(config.eval_names) or [
            os.path.basename(str(f)).split("@")[0].replace(".tfrecord", "") for f in config.eval_files
        ]
        self.metrics = {name: losses_lib.get_metric(name) for name in config.metric_names}
        self.writers = {}
        for name in self.names:
            self.writers[name] = (
                tf.summary.create_file_writer(os.path.join(eval_dir, name))
                if chief
                else tf.summary.create_noop_writer()
            )
        self._predict: Callable | None = None
        self._model: keras.Model | None = None

    def __call__(self, model: keras.Model, step: int) -> dict[str, dict[str, float]]:
        """Evaluates (a float32 copy of) `model`'s current weights."""
        if self._model is None:
            self._model = _copy_model(model)
        else:
            self._model.set_weights(model.get_weights())
        model = self._model
        alignment = model.film_options.alignment

        if self._predict is None:

            @tf.function(reduce_retracing=True)
            def predict(batch):
                x0, h, w = pad_to_alignment(batch["x0"], alignment)
                x1, _, _ = pad_to_alignment(batch["x1"], alignment)
                out = model({"x0": x0, "x1": x1, "time": batch["time"]}, training=False)
                return {"image": out["image"][:, :h, :w]}

            self._predict = predict
        results = {}
        for name, path in zip(self.names, self.config.eval_files):
            dataset = pipeline.create_eval_dataset(
                path, self.config.eval_batch_size, self.config.eval_max_examples
            )
            sums = dict.fromkeys(self.metrics, 0.0)
            count = 0
            first = None
            for batch in dataset:
                prediction = self._predict(batch)
                n = int(batch["y"].shape[0])
                for metric, fn in self.metrics.items():
                    sums[metric] += float(fn(batch, prediction)) * n
                count += n
                if first is None:
                    first = {
                        "x0": batch["x0"].numpy(),
                        "x1": batch["x1"].numpy(),
                        "y": batch["y"].numpy(),
                        "prediction": prediction["image"].numpy(),
                    }
            if count == 0:
                raise ValueError(f"Eval dataset '{path}' holds no examples.")
            values = {metric: total / count for metric, total in sums.items()}
            summaries.scalars(self.writers[name], step, values)
            summaries.images(self.writers[name], step, first, max_outputs=1)
            self.writers[name].flush()
            logging.info(
                "eval %s step %d: %s",
                name,
                step,
                ", ".join(f"{k} {v:.5g}" for k, v in values.items()),
            )
            results[name] = values
        return results


# ---------------------------------------------------------------- the loop


def _copy_model(model: keras.Model) -> keras.Model:
    """A float32, strategy-free copy of `model` (for eval and export)."""
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("float32")
    try:
        copy = create_model(model.film_options, name=model.name)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def export(model: keras.Model, export_dir: str) -> str | None:
    """Writes the SavedModel through film_tf.export, replacing the run's
    previous export (e.g. after training was extended) atomically."""
    try:
        from film_tf.export import export_saved_model
    except ImportError as e:
        logging.warning("film_tf.export is not available (%s): no SavedModel written.", e)
        return None
    return export_saved_model(_copy_model(model), export_dir, overwrite=True)


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
        passes gin's operative config).

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

    policy = _policy_name(config.mixed_precision)
    previous_policy = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(policy)
    worker_dir = None
    try:
        if chief:
            os.makedirs(paths["train"], exist_ok=True)
            if operative_config is not None:
                write_text_atomic(paths["config"], operative_config)
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
            checkpoint_name=CHECKPOINT_NAME,
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

        evaluator = Evaluator(config, paths["eval"], chief) if config.eval_files else None
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
        if not (latest and latest.endswith(f"{CHECKPOINT_NAME}-{final_step}")):
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


def create_training_objects(config: TrainConfig, policy: str = "float32"):
    """Model, optimizer (Adam, staircase exponential decay; loss scaling under
    mixed_float16), its schedule, the step counter and the loss terms. Call
    under the strategy's scope, with `policy` already the global dtype policy.
    """
    model = create_model(config.options, name=config.model_name)
    lr_schedule = learning_rate_schedule(
        config.learning_rate,
        config.learning_rate_decay_steps,
        config.learning_rate_decay_rate,
        config.learning_rate_staircase,
    )
    optimizer = keras.optimizers.Adam(lr_schedule)
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    # Built now, so a checkpoint restores into existing slot variables.
    optimizer.build(model.trainable_variables)
    step = tf.Variable(
        0,
        dtype=tf.int64,
        trainable=False,
        name="step",
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
    )
    return model, optimizer, lr_schedule, step, build_loss_terms(config)


def make_train_step(
    strategy: tf.distribute.Strategy,
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    terms: list[losses_lib.LossTerm],
    step: tf.Variable,
    jit_compile: bool = False,
) -> Callable:
    """The distributed training step: `train_step(iterator)` takes the next
    batch, runs forward/backward on every replica, applies the summed
    gradients and increments `step`.

    Returns (from the step) the replica-mean total loss, {name: loss},
    {name: weight} and the per-replica images for summaries.
    """
    replicas = strategy.num_replicas_in_sync
    loss_scaling = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def forward_backward(batch, current_step):
        with tf.GradientTape() as tape:
            prediction = model(model_inputs(batch), training=True)
            total, values, weights = losses_lib.total_loss(terms, batch, prediction, current_step)
            scaled = total / replicas
            if loss_scaling:
                scaled = optimizer.scale_loss(scaled)
        grads = tape.gradient(scaled, model.trainable_variables)
        images = {
            "x0": batch["x0"],
            "x1": batch["x1"],
            "y": batch["y"],
            "prediction": tf.cast(prediction["image"], tf.float32),
        }
        for key in ("x0_warped", "x1_warped"):
            if key in prediction:
                images[key] = tf.cast(prediction[key], tf.float32)
        return grads, total, values, weights, images

    if jit_compile:
        forward_backward = tf.function(forward_backward, jit_compile=True)

    def replica_step(batch):
        grads, total, values, weights, images = forward_backward(batch, step.read_value())
        optimizer.apply(grads, model.trainable_variables)
        return total, values, weights, images

    @tf.function
    def train_step(iterator):
        batch = next(iterator)
        total, values, weights, images = strategy.run(replica_step, args=(batch,))
        mean = lambda v: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)  # noqa: E731
        total = mean(total)
        values = {k: mean(v) for k, v in values.items()}
        weights = {k: mean(v) for k, v in weights.items()}
        step.assign_add(1)
        return total, values, weights, images

    return train_step


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
        )

    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))

    train_step = make_train_step(strategy, model, optimizer, terms, step, config.jit_compile)

    from tqdm import tqdm

    chief = distribute.is_chief(strategy)
    progress = tqdm(
        total=config.num_steps, initial=start_step, disable=None if chief else True, unit="step", leave=False
    )
    last_time, last_step = time.perf_counter(), start_step
    steps_per_sec = float("nan")
    try:
        for current in range(start_step + 1, config.num_steps + 1):
            total, values, weights, images = train_step(iterator)
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
