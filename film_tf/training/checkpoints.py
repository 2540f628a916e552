"""Training checkpoints: `<run>/train/ckpt-<step>` holding model, optimizer, step.

The checkpoint object is `tf.train.Checkpoint(model=model, optimizer=optimizer,
step=step)`, written by a `tf.train.CheckpointManager`. TF writes the data and
index files under temporary names and updates the `checkpoint` state file
last (atomically), so a run killed mid-save still points at the previous,
complete checkpoint.

`tf.train.Checkpoint(model=model).restore(...)` restores the weights (the
contract with film-export). Every trainable variable is also reachable through
the optimizer's `_trainable_variables`, and TF names each saved value by its
shortest path, so most keys read `optimizer/_trainable_variables/<i>`;
`restore_model_weights` restores through that path and checks count and
shapes, whatever the model's own checkpoint tracking covers.
"""

from __future__ import annotations

import keras
import tensorflow as tf

CHECKPOINT_NAME = "ckpt"
_TRAINABLE_KEY = "optimizer/_trainable_variables/{}/.ATTRIBUTES/VARIABLE_VALUE"


def make_checkpoint(model: keras.Model, optimizer, step: tf.Variable) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)


def checkpoint_step(path: str) -> int:
    """The step stored in a training checkpoint."""
    return int(tf.train.load_checkpoint(path).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))


def restore_model_weights(model: keras.Model, path: str) -> int:
    """Restores the weights of a film-train checkpoint (a `ckpt-<step>` prefix,
    or a folder: its latest checkpoint) into `model`; returns the step.

    Raises:
      FileNotFoundError: no checkpoint.
      ValueError: the checkpoint does not match the model (count or shapes).
    """
    if tf.io.gfile.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(f"No checkpoint in '{path}'.")
        path = latest
    reader = tf.train.load_checkpoint(path)
    shapes = reader.get_variable_to_shape_map()
    variables = model.trainable_variables
    stored = sum(1 for i in range(len(shapes)) if _TRAINABLE_KEY.format(i) in shapes)
    if stored != len(variables):
        raise ValueError(
            f"Checkpoint '{path}' holds {stored} trainable variables, the model has {len(variables)}: "
            "the model options do not match the run's config.gin."
        )
    for i, v in enumerate(variables):
        if tuple(shapes[_TRAINABLE_KEY.format(i)]) != tuple(v.shape):
            raise ValueError(
                f"Checkpoint '{path}': variable {i} has shape {shapes[_TRAINABLE_KEY.format(i)]}, the "
                f"model's {v.path} has {list(v.shape)}."
            )
    # Only the optimizer's list of the model's variables is matched (the
    # optimizer's own slots and schedule are of no interest here).
    holder = tf.__internal__.tracking.AutoTrackable()
    holder._trainable_variables = list(variables)
    status = tf.train.Checkpoint(optimizer=holder).restore(path)
    status.expect_partial()
    status.assert_existing_objects_matched()
    return checkpoint_step(path)
