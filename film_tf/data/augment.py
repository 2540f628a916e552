"""Training augmentations of FILM, applied identically to x0, x1 and y.

Every augmentation is a function `(example, seed) -> example` where `example`
holds float32 (H, W, 3) images `x0`, `x1`, `y` and `seed` is a stateless seed
(int32 or int64 tensor of shape (2,)). Stateless random ops make the pipeline
reproducible regardless of `num_parallel_calls`: the same seed gives the same
augmented triplet, which the MirroredStrategy parity test relies on.

Time: the geometric augmentations move the three frames alike and keep the
example's `time`; only `random_reverse` changes it (t -> 1 - t when it swaps).

Names follow the released gin configs (`data_augmentation.names`):
`random_image_rot90`, `random_flip`, `random_rotate`, `random_reverse`.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import tensorflow as tf

Example = dict[str, tf.Tensor]
Augmentation = Callable[[Example, tf.Tensor], Example]

_IMAGE_KEYS = ("x0", "x1", "y")


def _stack(example: Example) -> tf.Tensor:
    """x0, x1, y -> one (H, W, 9) tensor, so geometric ops act on all three alike."""
    return tf.concat([example[k] for k in _IMAGE_KEYS], axis=-1)


def _unstack(example: Example, stacked: tf.Tensor) -> Example:
    out = dict(example)
    for i, k in enumerate(_IMAGE_KEYS):
        out[k] = stacked[..., 3 * i : 3 * i + 3]
    return out


def random_image_rot90(example: Example, seed: tf.Tensor) -> Example:
    """Rotates by k * 90 degrees, k uniform in {0, 1, 2, 3}."""
    k = tf.random.stateless_uniform((), seed, minval=0, maxval=4, dtype=tf.int32)
    return _unstack(example, tf.image.rot90(_stack(example), k))


def random_flip(example: Example, seed: tf.Tensor) -> Example:
    """Mirrors left-right with probability 1/2."""
    return _unstack(example, tf.image.stateless_random_flip_left_right(_stack(example), seed))


def rotation_transform(angle: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """The (1, 8) projective transform rotating an image by `angle` radians
    (counter-clockwise) about its centre, mapping output to input pixels
    (the convention of `ImageProjectiveTransformV3`)."""
    cos, sin = tf.cos(angle), tf.sin(angle)
    w = tf.cast(width, tf.float32) - 1.0
    h = tf.cast(height, tf.float32) - 1.0
    x_offset = (w - (cos * w - sin * h)) / 2.0
    y_offset = (h - (sin * w + cos * h)) / 2.0
    zero = tf.zeros_like(cos)
    return tf.reshape(tf.stack([cos, -sin, x_offset, sin, cos, y_offset, zero, zero]), (1, 8))


def rotate(images: tf.Tensor, angle: tf.Tensor) -> tf.Tensor:
    """Rotates (H, W, C) `images` by `angle` radians: bilinear, zero (constant) fill."""
    shape = tf.shape(images)
    transform = rotation_transform(angle, shape[0], shape[1])
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=images[tf.newaxis],
        transforms=transform,
        output_shape=shape[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return out[0]


def random_rotate(example: Example, seed: tf.Tensor, max_degrees: float = 45.0) -> Example:
    """With probability 1/2, rotates by an angle uniform in [-45, 45] degrees."""
    u = tf.random.stateless_uniform((2,), seed, dtype=tf.float32)
    angle = (2.0 * u[1] - 1.0) * (max_degrees * math.pi / 180.0)
    stacked = _stack(example)
    rotated = tf.cond(u[0] < 0.5, lambda: rotate(stacked, angle), lambda: stacked)
    return _unstack(example, rotated)


def random_reverse(example: Example, seed: tf.Tensor) -> Example:
    """Swaps x0 and x1 (time runs backwards) with probability 1/2; y stays,
    and its time t becomes 1 - t (0.5 stays 0.5)."""
    swap = tf.random.stateless_uniform((), seed) < 0.5
    out = dict(example)
    out["x0"] = tf.where(swap, example["x1"], example["x0"])
    out["x1"] = tf.where(swap, example["x0"], example["x1"])
    if "time" in example:
        out["time"] = tf.where(swap, 1.0 - example["time"], example["time"])
    return out


AUGMENTATIONS: dict[str, Augmentation] = {
    "random_image_rot90": random_image_rot90,
    "random_flip": random_flip,
    "random_rotate": random_rotate,
    "random_reverse": random_reverse,
}


def get_augmentations(names: Sequence[str]) -> list[tuple[str, Augmentation]]:
    """Looks up augmentations by name, in the given order.

    Raises:
      ValueError: an unknown name (the message lists the known ones).
    """
    if isinstance(names, str):
        names = [names]
    out = []
    for name in names:
        if name not in AUGMENTATIONS:
            raise ValueError(
                f"Unknown augmentation '{name}' in data_augmentation.names; known: {sorted(AUGMENTATIONS)}."
            )
        out.append((name, AUGMENTATIONS[name]))
    return out


def apply_augmentations(example: Example, augmentations: Sequence[Augmentation], seed: tf.Tensor) -> Example:
    """Applies `augmentations` in order, each with its own seed split from `seed`."""
    if not augmentations:
        return example
    seeds = tf.random.experimental.stateless_split(seed, num=len(augmentations))
    for i, fn in enumerate(augmentations):
        example = fn(example, seeds[i])
    return example
