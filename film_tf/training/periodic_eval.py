"""The training loop's periodic evaluation, through the one evaluator.

Each evaluation copies the training model's current weights into a float32,
strategy-free model and scores it exactly as `film-eval` scores a saved
model: `Interpolator.from_model` (reflect padding to the alignment, crop
back, clip), `evaluation.iterate_examples` (the eval TFRecord in file
order) and `evaluation.evaluate_examples` (the paper's metrics per frame,
then their mean). So `<run>/eval/<name>/` and `film-eval` on the run's
checkpoint report the same PSNR and SSIM (tested).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from film_tf.evaluation.evaluator import evaluate_examples, iterate_examples
from film_tf.formats.options_io import model_options
from film_tf.model.interpolator import create_model
from film_tf.training import summaries
from film_tf.training.config import TrainConfig


def float32_copy(model: keras.Model) -> keras.Model:
    """A float32, strategy-free copy of a `create_model` model (for eval and export)."""
    copy = create_model(model_options(model), name=model.name, dtype_policy="float32")
    copy.set_weights(model.get_weights())
    return copy


def dataset_names(config: TrainConfig) -> list[str]:
    """`eval_datasets.names`, or each file's base name."""
    return list(config.eval_names) or [
        os.path.basename(str(f)).split("@")[0].replace(".tfrecord", "") for f in config.eval_files
    ]


class _FirstExample:
    """Keeps the first example and its prediction, batched, for an image summary."""

    def __init__(self):
        self.images: dict[str, np.ndarray] = {}

    def __call__(self, index: int, example: dict, prediction: np.ndarray) -> None:
        if index == 0:
            self.images = {k: example[k][None] for k in ("x0", "x1", "y")}
            self.images["prediction"] = prediction[None]


class PeriodicEvaluator:
    """PSNR/SSIM/L1/L2 of the training model on the eval datasets.

    Args:
      config: the run's configuration (`eval_datasets.*`, `test_losses`).
      eval_dir: `<run>/eval`; one summary folder per dataset.
      chief: only the chief writes summaries.
    """

    def __init__(self, config: TrainConfig, eval_dir: str, chief: bool):
        self.config = config
        self.names = dataset_names(config)
        self.writers = {
            name: tf.summary.create_file_writer(os.path.join(eval_dir, name))
            if chief
            else tf.summary.create_noop_writer()
            for name in self.names
        }
        self._model: keras.Model | None = None
        self._interpolator = None

    def __call__(self, model: keras.Model, step: int) -> dict[str, dict[str, float]]:
        """Evaluates (a float32 copy of) `model`'s current weights; returns
        {dataset name: {metric: mean}}."""
        from film_tf.runtime.inference import Interpolator

        if self._model is None:
            self._model = float32_copy(model)
            self._interpolator = Interpolator.from_model(self._model)
        else:
            self._model.set_weights(model.get_weights())
        results = {}
        for name, path in zip(self.names, self.config.eval_files):
            first = _FirstExample()
            examples = iterate_examples(path, self.config.eval_max_examples)
            result = evaluate_examples(self._interpolator, examples, self.config.metric_names, first)
            values = result.means
            summaries.scalars(self.writers[name], step, values)
            summaries.images(self.writers[name], step, first.images, max_outputs=1)
            self.writers[name].flush()
            logging.info(
                "eval %s step %d: %s", name, step, ", ".join(f"{k} {v:.5g}" for k, v in values.items())
            )
            results[name] = values
        return results
