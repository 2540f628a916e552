"""The pieces of a training step: checks, losses, model and optimizer, the step.

`train_lib.train` assembles them into the loop; `benchmarks/train_throughput.py`
times them alone.
"""

from __future__ import annotations

from typing import Callable, Sequence

import keras
import tensorflow as tf

from film_tf.data import pipeline
from film_tf.evaluation.metrics import check_metrics
from film_tf.losses import losses as losses_lib
from film_tf.losses import vgg19
from film_tf.model.interpolator import WARPED_OUTPUTS, create_model
from film_tf.training.config import TrainConfig
from film_tf.training.schedules import learning_rate_schedule


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
    try:
        check_metrics(config.metric_names)
    except ValueError as e:
        raise ValueError(f"test_losses.loss_names: {e}") from None
    if "l1_warped" in config.loss_names and not config.options.use_aux_outputs:
        raise ValueError("The l1_warped loss needs film_net.use_aux_outputs = True.")
    from film_tf.data import augment

    augment.get_augmentations(config.augmentation_names)
    pipeline.validate_training_files(
        config.train_files, config.crop_sizes, config.options.alignment, config.skip_damaged_records
    )
    pipeline.check_sampling_weights(config.sampling_weights, len(config.train_files))
    for path in config.eval_files:
        # FileNotFoundError names a missing shard; an empty file would only fail at the first eval.
        if pipeline.first_example(path) is None:
            raise ValueError(f"Eval dataset '{path}' holds no examples (empty dataset).")
    for path, binding in _vgg_files(config).values():
        if not path or not tf.io.gfile.exists(path):
            raise FileNotFoundError(vgg19.missing_weights_message(path, binding))
    if config.init_weights and not tf.io.gfile.exists(config.init_weights):
        raise FileNotFoundError(f"training.init_weights: '{config.init_weights}' does not exist.")


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


def policy_name(mixed_precision: bool | str) -> str:
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


def model_inputs(batch: dict) -> dict:
    return {"x0": batch["x0"], "x1": batch["x1"], "time": batch["time"]}


def trained_variables(model: keras.Model, frozen_parts: Sequence[str] = ()) -> list:
    """The model's trainable variables less those of the FilmNet sub-layers
    named in `frozen_parts` (e.g. 'feature_extractor')."""
    if not frozen_parts:
        return list(model.trainable_variables)
    from film_tf.formats.official_weights import find_film_layer

    net = find_film_layer(model)
    frozen = {id(v) for part in frozen_parts for v in getattr(net, part).trainable_variables}
    return [v for v in model.trainable_variables if id(v) not in frozen]


def create_training_objects(config: TrainConfig, policy: str = "float32"):
    """Model, optimizer (Adam with the configured schedule; loss scaling under
    mixed_float16), its schedule, the step counter and the loss terms. Call
    under the strategy's scope, with `policy` already the global dtype policy.

    The optimizer is built over all trainable variables, also those of
    `frozen_parts` (their slots stay zero), so checkpoints of runs with and
    without frozen parts have the same layout.
    """
    model = create_model(config.options, name=config.model_name)
    lr_schedule = learning_rate_schedule(
        config.learning_rate,
        config.learning_rate_decay_steps,
        config.learning_rate_decay_rate,
        config.learning_rate_staircase,
        config.learning_rate_schedule,
        config.learning_rate_alpha,
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
    frozen_parts: Sequence[str] = (),
) -> Callable:
    """The distributed training step: `train_step(iterator)` takes the next
    batch, runs forward/backward on every replica, applies the summed
    gradients and increments `step`.

    Returns (from the step) the replica-mean total loss, {name: loss},
    {name: weight} and the per-replica images for summaries. Variables of
    `frozen_parts` (FilmNet sub-layer names) get no gradient and no update.
    """
    replicas = strategy.num_replicas_in_sync
    variables = trained_variables(model, frozen_parts)
    loss_scaling = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def forward_backward(batch, current_step):
        with tf.GradientTape() as tape:
            prediction = model(model_inputs(batch), training=True)
            total, values, weights = losses_lib.total_loss(terms, batch, prediction, current_step)
            scaled = total / replicas
            if loss_scaling:
                scaled = optimizer.scale_loss(scaled)
        grads = tape.gradient(scaled, variables)
        images = {
            "x0": batch["x0"],
            "x1": batch["x1"],
            "y": batch["y"],
            "prediction": tf.cast(prediction["image"], tf.float32),
        }
        for key in WARPED_OUTPUTS:
            if key in prediction:
                images[key] = tf.cast(prediction[key], tf.float32)
        return grads, total, values, weights, images

    if jit_compile:
        forward_backward = tf.function(forward_backward, jit_compile=True)

    def replica_step(batch):
        grads, total, values, weights, images = forward_backward(batch, step.read_value())
        optimizer.apply(grads, variables)
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
