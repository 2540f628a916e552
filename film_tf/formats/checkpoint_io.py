"""TensorFlow checkpoints into Keras FILM models (part of `film_tf.formats.model_io`).

Three layouts: film-train's `tf.train.Checkpoint(model=, optimizer=, step=)`
(`<run>/train/ckpt-<step>`), a plain `tf.train.Checkpoint(model=model)`, and
the `variables/` of a film_tf SavedModel. TensorFlow is imported only when a
checkpoint is read.
"""

from __future__ import annotations

import os

import keras

from film_tf.formats.options_io import options_from_gin
from film_tf.model.options import Options

RUN_CONFIG = "config.gin"  # A film-train run folder: its options ...
RUN_CHECKPOINTS = "train"  # ... and its checkpoints, train/ckpt-<step>.
# film-train checkpoints (`tf.train.Checkpoint(model=, optimizer=, step=)`):
# Keras 3 hides list-held sub-layers from tf.train.Checkpoint, but every
# trainable variable is reachable through the optimizer's list, and TF names
# each saved value by its shortest path.
_TRAINABLE_KEY = "optimizer/_trainable_variables/{}/.ATTRIBUTES/VARIABLE_VALUE"
_STEP_KEY = "step/.ATTRIBUTES/VARIABLE_VALUE"
# Our SavedModels track the model's tf.Variables as one list, in model order.
_EXPORT_KEY = "model_variables/{}/.ATTRIBUTES/VARIABLE_VALUE"


def is_checkpoint(path: str) -> bool:
    """A checkpoint prefix (not an official variables/variables one), or a
    folder whose `checkpoint` state file names one."""
    if os.path.isfile(path + ".index"):
        return os.path.basename(path) != "variables"  # An official variables/variables prefix.
    if os.path.isfile(os.path.join(path, "checkpoint")):
        import tensorflow as tf

        return tf.train.latest_checkpoint(path) is not None
    return False


def is_run_folder(path: str) -> bool:
    """A film-train run folder: config.gin or train/ in it."""
    return os.path.isdir(path) and (
        os.path.isfile(os.path.join(path, RUN_CONFIG)) or os.path.isdir(os.path.join(path, RUN_CHECKPOINTS))
    )


def run_options(path: str) -> Options:
    """The options in a run folder's config.gin."""
    return options_from_gin(os.path.join(path, RUN_CONFIG))


def checkpoint_options(path: str) -> Options:
    """The options of the run a checkpoint (prefix or folder) belongs to: `<run>/config.gin`."""
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    config = os.path.join(os.path.dirname(os.path.abspath(folder)), RUN_CONFIG)
    if not os.path.isfile(config):
        raise FileNotFoundError(
            f"No options for checkpoint '{path}': expected the run's '{config}' (or pass the options)."
        )
    return options_from_gin(config)


def restore_latest(model: keras.Model, path: str) -> tuple[str, int | None]:
    """`restore_checkpoint` of a prefix, or of a folder's latest checkpoint:
    (the prefix read, its step or None)."""
    if os.path.isdir(path):
        path = latest_checkpoint(path)
    return path, restore_checkpoint(model, path)


def restore_run(model: keras.Model, path: str) -> tuple[str, int | None]:
    """`restore_latest` of a run folder's train/."""
    return restore_latest(model, os.path.join(path, RUN_CHECKPOINTS))


def latest_checkpoint(folder: str) -> str:
    """The newest checkpoint prefix in `folder` (FileNotFoundError if none)."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(folder)
    if latest is None:
        raise FileNotFoundError(f"No checkpoint in '{folder}' (expected ckpt-<step> from film-train).")
    return latest


def checkpoint_step(path: str) -> int:
    """The step stored in a film-train checkpoint (a `ckpt-<step>` prefix)."""
    import tensorflow as tf

    return int(tf.train.load_checkpoint(path).get_tensor(_STEP_KEY))


def restore_checkpoint(model: keras.Model, path: str) -> int | None:
    """Restores a TF checkpoint's weights into `model`; returns its step.

    `path` is a checkpoint prefix, or a folder (its latest checkpoint). Two
    layouts are read: film-train's `tf.train.Checkpoint(model=, optimizer=,
    step=)`, through the optimizer's list of the trainable variables (count
    and shapes checked), and a plain `tf.train.Checkpoint(model=model)`,
    which must then hold every variable of the model.

    Raises:
      FileNotFoundError: no checkpoint.
      ValueError: the checkpoint does not match the model, rather than
        leaving freshly initialised weights in place.
    """
    import tensorflow as tf

    if tf.io.gfile.isdir(path):
        path = latest_checkpoint(path)
    reader = tf.train.load_checkpoint(path)
    shapes = reader.get_variable_to_shape_map()
    step = int(reader.get_tensor(_STEP_KEY)) if _STEP_KEY in shapes else None
    if _TRAINABLE_KEY.format(0) in shapes:
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
        # Only the optimizer's list of the model's variables is matched (its
        # slots and schedule are of no interest here).
        holder = tf.__internal__.tracking.AutoTrackable()
        holder._trainable_variables = list(variables)
        status = tf.train.Checkpoint(optimizer=holder).restore(path)
    else:
        stored = sum(
            1
            for key in shapes
            if key.startswith("model/")
            and key.endswith("/.ATTRIBUTES/VARIABLE_VALUE")
            and ".OPTIMIZER_SLOT" not in key
        )
        if stored != len(model.variables):
            raise ValueError(
                f"Checkpoint '{path}' holds {stored} model variables but the model has "
                f"{len(model.variables)}: it was written for a different configuration, or by a model "
                "whose sub-layers tf.train.Checkpoint does not track."
            )
        status = tf.train.Checkpoint(model=model).restore(path)
    status.expect_partial()
    status.assert_existing_objects_matched()
    return step


def restore_export_variables(model: keras.Model, path: str) -> None:
    """Assigns the variables of a film_tf SavedModel folder to `model`: the
    export tracks them as one list (`model_variables`), in model order.

    Raises:
      ValueError: unreadable variables, or not as many as the model has.
    """
    import tensorflow as tf

    prefix = os.path.join(path, "variables", "variables")
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as e:  # Missing or corrupt variables.
        raise ValueError(f"Cannot read the variables of '{path}': {str(e).splitlines()[0]}") from None
    count = len(model.variables)
    if not reader.has_tensor(_EXPORT_KEY.format(count - 1)) or reader.has_tensor(_EXPORT_KEY.format(count)):
        raise ValueError(f"The SavedModel at '{path}' does not hold the {count} model variables.")
    for i, variable in enumerate(model.variables):
        variable.assign(reader.get_tensor(_EXPORT_KEY.format(i)))
