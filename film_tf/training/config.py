"""The plain (gin-free) description of a training run; `gin_config` fills it."""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

from film_tf.model.options import Options

LEARNING_RATE_SCHEDULES = ("exponential", "cosine")
# FilmNet's sub-layers (attribute names) that training.frozen_parts may name.
FROZEN_PARTS = ("feature_extractor", "flow_estimator", "fusion")


@dataclasses.dataclass
class TrainConfig:
    """Everything `train_lib.train` needs.

    Attributes follow the released gin names: `training.*` (optimizer,
    schedule, bookkeeping), `training_dataset.*`, `data_augmentation.names`,
    `training_losses.*`, `eval_datasets.*`, `test_losses.loss_names`,
    `vgg.vgg_model_file`, `style.vgg_model_file`.
    """

    options: Options = dataclasses.field(default_factory=Options)
    model_name: str = "film_net"
    # Adam with staircase exponential decay (released: 1e-4, x0.464158 / 750k steps, 3M steps).
    learning_rate: float = 1e-4
    learning_rate_decay_steps: int = 750_000
    learning_rate_decay_rate: float = 0.464158
    learning_rate_staircase: bool = True
    # 'exponential' (released) or 'cosine': cosine decay from learning_rate to
    # learning_rate * learning_rate_alpha over learning_rate_decay_steps.
    learning_rate_schedule: str = "exponential"
    learning_rate_alpha: float = 0.0
    num_steps: int = 3_000_000
    # Training data.
    train_files: Sequence[str] = ()
    crop_sizes: Sequence[int] = ()
    sampling_weights: Sequence[float] = ()  # per file; empty = equal shares
    batch_size: int = 8
    augmentation_names: Sequence[str] = ()
    shuffle_buffer: int = 256
    # Read damaged shards up to their first damaged record (counted, logged) instead of stopping.
    skip_damaged_records: bool = False
    # Losses: names and their per-step weights (callables step -> weight).
    loss_names: Sequence[str] = ("l1",)
    loss_weights: Sequence[Callable] = ()
    vgg_model_file: str | None = None
    style_model_file: str | None = None
    # Evaluation.
    eval_files: Sequence[str] = ()
    eval_names: Sequence[str] = ()
    eval_max_examples: int = -1
    metric_names: Sequence[str] = ("l1", "l2", "ssim", "psnr")
    eval_every: int = 0
    # Bookkeeping.
    checkpoint_every: int = 5000
    keep_checkpoints: int = 5
    keep_checkpoint_every_n_hours: float | None = None
    log_every: int = 100
    summary_every: int = 100
    image_summary_every: int = 5000
    # Speed: True = 'mixed_bfloat16'; 'mixed_float16' adds loss scaling.
    mixed_precision: bool | str = False
    jit_compile: bool = False
    # Reproducibility and fine-tuning.
    seed: int = 0
    init_weights: str | None = None
    # FilmNet parts kept fixed: 'feature_extractor', 'flow_estimator', 'fusion'.
    frozen_parts: Sequence[str] = ()
    export_saved_model: bool = True

    def validate(self) -> None:
        """Checks values that do not need files; raises ValueError."""
        if self.model_name != "film_net":
            raise ValueError(f"Unknown model.name '{self.model_name}'; only 'film_net' is implemented.")
        for field in ("num_steps", "batch_size", "learning_rate_decay_steps", "log_every", "summary_every"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{field} must be a positive integer, got {value!r}.")
        if self.learning_rate <= 0:
            raise ValueError(f"training.learning_rate must be positive, got {self.learning_rate}.")
        if self.checkpoint_every < 1 or self.keep_checkpoints < 1:
            raise ValueError("training.checkpoint_every and training.keep_checkpoints must be >= 1.")
        if not self.loss_names:
            raise ValueError("training_losses.loss_names is empty: name at least one loss.")
        if len(self.loss_weights) != len(self.loss_names):
            raise ValueError(
                f"{len(self.loss_names)} training losses but {len(self.loss_weights)} weights/schedules."
            )
        if self.learning_rate_schedule not in LEARNING_RATE_SCHEDULES:
            raise ValueError(
                f"training.learning_rate_schedule must be one of {LEARNING_RATE_SCHEDULES}, "
                f"got {self.learning_rate_schedule!r}."
            )
        if not 0.0 <= self.learning_rate_alpha <= 1.0:
            raise ValueError(
                f"training.learning_rate_alpha must be in [0, 1], got {self.learning_rate_alpha}."
            )
        for part in self.frozen_parts:
            if part not in FROZEN_PARTS:
                raise ValueError(f"Unknown training.frozen_parts entry {part!r}; choose from {FROZEN_PARTS}.")
        if set(self.frozen_parts) == set(FROZEN_PARTS):
            raise ValueError("training.frozen_parts freezes the whole model: nothing would train.")
        if self.eval_names and len(self.eval_names) != len(self.eval_files):
            raise ValueError("eval_datasets.names must have one name per eval_datasets.files entry.")
