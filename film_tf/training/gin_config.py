"""gin edge of training: the released config names, collected into a TrainConfig.

Configurables (names as in the released FILM gin files, so those files parse):
  model.name
  film_net.*                        (film_tf.Options, via options_io.film_net)
  training.*                        learning rate, decay, num_steps, bookkeeping
  training_dataset.files / crop_sizes / batch_size (also the released single
                                    `file` / `crop_size`), skip_damaged_records
  data_augmentation.names
  training_losses.loss_names / loss_weights or loss_weight_schedules +
                                    loss_weight_parameters
  test_losses.loss_names
  eval_datasets.files / names / batch_size / max_examples
  vgg.vgg_model_file, style.vgg_model_file
`@tf.keras.optimizers.schedules.PiecewiseConstantDecay` is registered so the
released loss-weight schedules parse as written.
"""

from __future__ import annotations

from typing import Any, Sequence

import gin
import keras

from film_tf.formats.options_io import film_net
from film_tf.losses import losses
from film_tf.training import schedules
from film_tf.training.config import TrainConfig

try:
    gin.external_configurable(
        keras.optimizers.schedules.PiecewiseConstantDecay,
        name="PiecewiseConstantDecay",
        module="tf.keras.optimizers.schedules",
    )
except ValueError:  # Already registered (e.g. by gin.tf or a second import).
    pass


@gin.configurable("model")
def model_config(name: str = "film_net") -> str:
    return name


@gin.configurable("training")
def training_config(
    learning_rate: float = 1e-4,
    learning_rate_decay_steps: int = 750_000,
    learning_rate_decay_rate: float = 0.464158,
    learning_rate_staircase: bool = True,
    learning_rate_schedule: str = "exponential",
    learning_rate_alpha: float = 0.0,
    num_steps: int = 3_000_000,
    checkpoint_every: int = 5000,
    keep_checkpoints: int = 5,
    keep_checkpoint_every_n_hours: float | None = None,
    log_every: int = 100,
    summary_every: int = 100,
    image_summary_every: int = 5000,
    eval_every: int = 0,
    mixed_precision: bool | str = False,
    jit_compile: bool = False,
    seed: int = 0,
    init_weights: str | None = None,
    frozen_parts: Sequence[str] = (),
    export_saved_model: bool = True,
) -> dict[str, Any]:
    settings = dict(locals())
    settings["frozen_parts"] = [frozen_parts] if isinstance(frozen_parts, str) else list(frozen_parts)
    return settings


@gin.configurable("training_dataset")
def training_dataset_config(
    files: Sequence[str] | None = None,
    crop_sizes: Sequence[int] | None = None,
    batch_size: int = 8,
    file: str | None = None,
    crop_size: int = -1,
    shuffle_buffer: int = 256,
    sampling_weights: Sequence[float] | None = None,
    skip_damaged_records: bool = False,
) -> dict[str, Any]:
    if file and files:
        raise ValueError("Set training_dataset.files or training_dataset.file, not both.")
    if file:
        files, crop_sizes = [file], [crop_size]
    files = list(files or [])
    crop_sizes = list(crop_sizes or [])
    if files and not crop_sizes and crop_size > 0:
        crop_sizes = [crop_size] * len(files)
    return {
        "train_files": files,
        "crop_sizes": crop_sizes,
        "batch_size": batch_size,
        "shuffle_buffer": shuffle_buffer,
        "sampling_weights": list(sampling_weights or []),
        "skip_damaged_records": bool(skip_damaged_records),
    }


@gin.configurable("data_augmentation")
def data_augmentation_config(names: Sequence[str] = ()) -> list[str]:
    return list(names)


@gin.configurable("training_losses")
def training_losses_config(
    loss_names: Sequence[str] = ("l1",),
    loss_weights: Sequence[float] | None = None,
    loss_weight_schedules: Sequence[Any] | None = None,
    loss_weight_parameters: Sequence[dict] | None = None,
) -> dict[str, Any]:
    names = [loss_names] if isinstance(loss_names, str) else list(loss_names)
    losses.check_loss_names(names)  # before the weights, so a typo is reported as such
    return {
        "loss_names": names,
        "loss_weights": schedules.loss_weight_schedules(
            len(names), loss_weights, loss_weight_schedules, loss_weight_parameters
        ),
    }


@gin.configurable("test_losses")
def test_losses_config(
    loss_names: Sequence[str] = ("l1", "l2", "ssim", "psnr"), loss_weights: Sequence[float] | None = None
) -> list[str]:
    # loss_weights is accepted for the released configs; metrics are reported unweighted.
    del loss_weights
    return list(loss_names)


@gin.configurable("eval_datasets")
def eval_datasets_config(
    files: Sequence[str] = (), names: Sequence[str] = (), batch_size: int = 1, max_examples: int = -1
) -> dict[str, Any]:
    # batch_size is accepted for the released configs: evaluation scores one
    # triplet at a time through film-eval's evaluator, whatever it says.
    del batch_size
    files = [files] if isinstance(files, str) else list(files)
    names = [names] if isinstance(names, str) else list(names)
    return {"eval_files": files, "eval_names": names, "eval_max_examples": max_examples}


@gin.configurable("vgg")
def vgg_config(vgg_model_file: str | None = None) -> str | None:
    return vgg_model_file


@gin.configurable("style")
def style_config(vgg_model_file: str | None = None) -> str | None:
    return vgg_model_file


def build_config() -> TrainConfig:
    """Reads every training configurable (making them operative) into a TrainConfig."""
    losses = training_losses_config()
    config = TrainConfig(
        options=film_net(),
        model_name=model_config(),
        **training_config(),
        **training_dataset_config(),
        augmentation_names=data_augmentation_config(),
        **losses,
        vgg_model_file=vgg_config(),
        style_model_file=style_config(),
        metric_names=test_losses_config(),
        **eval_datasets_config(),
    )
    config.validate()
    return config
