"""Training checkpoints: `<run>/train/ckpt-<step>` holding model, optimizer, step.

The checkpoint object is `tf.train.Checkpoint(model=model, optimizer=optimizer,
step=step)`, written by a `tf.train.CheckpointManager`. TF writes the data and
index files under temporary names and updates the `checkpoint` state file
last (atomically), so a run killed mid-save still points at the previous,
complete checkpoint.

Reading them back into a model (film-export, film-eval, `training.init_weights`)
belongs to the one loader: `film_tf.formats.model_io.restore_checkpoint` (through the
optimizer's list of the trainable variables, count and shapes checked) and
`film_tf.formats.checkpoint_io.checkpoint_step`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

CHECKPOINT_NAME = "ckpt"


def make_checkpoint(model: keras.Model, optimizer, step: tf.Variable) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
