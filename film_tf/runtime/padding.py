"""Pad frames to the model's alignment and crop the result back: one definition.

FILM needs H and W divisible by its alignment (2^(pyramid_levels - 1)).
Frames of any other size are padded, centred as in the official inference
code (top = pad // 2, the odd pixel at the bottom/right), by *reflection*
where the official code pads zeros: reflection keeps texture and motion
continuous across the border, so the flow estimator sees plausible content
there instead of a black edge that pulls the flow to zero. Any size works,
also frames smaller than the alignment (numpy-style repeated reflection); a
frame with a 1-pixel side has nothing to reflect and is edge-padded instead.

Two forms of the same padding, equal to the bit (tests/runtime/padding_test.py):

  pad_to_alignment / crop          numpy, for the Python `Interpolator`.
  pad_to_alignment_tf / crop_tf    TensorFlow graph ops (two gathers), for
                                   the SavedModel signatures and tf.functions;
                                   H and W may be dynamic.

TensorFlow is imported only inside the TF functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

PADDING = "reflect"  # Recorded in export metadata.


def padded_size(height: int, width: int, alignment: int) -> tuple[int, int]:
    """(H_pad, W_pad): `height` and `width` rounded up to multiples of `alignment`."""
    return -(-height // alignment) * alignment, -(-width // alignment) * alignment


def padding_amounts(height: int, width: int, alignment: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) pixels added to a (height, width) frame."""
    ph, pw = -height % alignment, -width % alignment
    top, left = ph // 2, pw // 2
    return top, ph - top, left, pw - left


def pad_to_alignment(x: np.ndarray, alignment: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Reflect-pads (B, H, W, C) to multiples of `alignment`, split between both sides.

    Returns:
      The (B, H_pad, W_pad, C) array (`x` itself when already aligned) and
      the (rows, cols) slices that crop it back: `crop(padded, box)` or
      `padded[:, rows, cols]` is (B, H, W, C).
    """
    _, h, w, _ = x.shape
    top, bottom, left, right = padding_amounts(h, w, alignment)
    pads = ((0, 0), (top, bottom), (left, right), (0, 0))
    mode = "reflect" if min(h, w) > 1 else "edge"  # A 1-pixel axis has nothing to reflect.
    padded = np.pad(x, pads, mode=mode) if (top + bottom + left + right) else x
    return padded, (slice(top, top + h), slice(left, left + w))


def crop(x: np.ndarray, box: tuple[slice, slice]) -> np.ndarray:
    """Undoes `pad_to_alignment`: (B, H_pad, W_pad, C) -> (B, H, W, C)."""
    rows, cols = box
    return x[:, rows, cols]


def _source_indices(size: tf.Tensor, alignment: int, reflect: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Source row (or column) of every padded one, and the count before.

    Reflection is the triangle wave of period 2 (size - 1) over the source
    indices, which is what `np.pad(mode='reflect')` produces for any pad
    width (numpy reflects again where one reflection is not enough).
    """
    import tensorflow as tf

    padded = (size + alignment - 1) // alignment * alignment
    before = (padded - size) // 2
    index = tf.range(padded) - before
    period = tf.maximum(2 * (size - 1), 1)
    folded = tf.math.floormod(index, period)
    reflected = tf.where(folded < size, folded, period - folded)
    edge = tf.clip_by_value(index, 0, size - 1)
    return tf.where(reflect, reflected, edge), before


def pad_to_alignment_tf(images: tf.Tensor, alignment: int) -> tuple[tf.Tensor, tuple[tf.Tensor, ...]]:
    """`pad_to_alignment` in TensorFlow graph ops.

    Two gathers build the padded frame from plain indices: core ops that any
    model server runs, and no limit on the pad width.

    Args:
      images: (B, H, W, C) tensor, H and W >= 1 and possibly dynamic.
      alignment: the multiple to pad H and W to.

    Returns:
      (B, H_pad, W_pad, C) images and the crop box (top, left, H, W) of
      int32 scalars that `crop_tf` takes to undo the padding.
    """
    import tensorflow as tf

    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    reflect = tf.minimum(height, width) > 1
    rows, top = _source_indices(height, alignment, reflect)
    cols, left = _source_indices(width, alignment, reflect)
    padded = tf.gather(tf.gather(images, rows, axis=1), cols, axis=2)
    return padded, (top, left, height, width)


def crop_tf(images: tf.Tensor, box: tuple[tf.Tensor, ...]) -> tf.Tensor:
    """Undoes `pad_to_alignment_tf`: (B, H_pad, W_pad, C) -> (B, H, W, C)."""
    top, left, height, width = box
    return images[:, top : top + height, left : left + width, :]
