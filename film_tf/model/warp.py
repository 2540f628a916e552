"""Backward warping: `tfa.image.dense_image_warp` rebuilt from `keras.ops`.

tensorflow-addons reached end of life and does not import on TF >= 2.16, so the
warp is re-implemented here with the same arithmetic (floor, clamp, 4 gathers,
the same interpolation order), which makes it equal up to float rounding on
every backend. Verified against outputs and gradients of the original in
`tests/model/warp_test.py`.
"""

from __future__ import annotations

from keras import ops


def _clip_alpha(alpha):
    # tf.maximum/tf.minimum route the gradient of a tie to their first argument,
    # so tfa's clip passes no gradient where alpha == 0 (integer flows) but does
    # where alpha == 1. `where` reproduces that on every backend.
    alpha = ops.where(alpha > 0.0, alpha, ops.zeros_like(alpha))
    return ops.where(alpha <= 1.0, alpha, ops.ones_like(alpha))


def _axis_terms(query, size):
    """Floor index, ceil index and interpolation weight along one axis.

    `size` is an int or, for dynamic shapes on TensorFlow, a scalar tensor.
    """
    max_floor = ops.cast(ops.maximum(size - 2, 0), query.dtype)
    floor = ops.minimum(ops.maximum(ops.floor(ops.stop_gradient(query)), 0.0), max_floor)
    alpha = _clip_alpha(query - floor)
    floor_i = ops.cast(floor, "int32")
    # Only differs from floor + 1 for a 1-pixel axis, where tfa would fail.
    ceil_i = ops.minimum(floor_i + 1, ops.cast(size - 1, "int32"))
    return floor_i, ceil_i, ops.expand_dims(alpha, -1)


def dense_image_warp(image, flow):
    """Samples `image` at `grid - flow`, as `tfa.image.dense_image_warp` does.

    Args:
      image: (B, H, W, C) float tensor.
      flow: (B, H, W, 2) float tensor, channels (dy, dx). The output at (y, x)
        is `image` bilinearly sampled at (y - dy, x - dx); positions outside
        the image are clamped to its border.

    Returns:
      (B, H, W, C) tensor, differentiable w.r.t. both arguments.
    """
    shape = ops.shape(image)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    # Sample positions and weights stay float32 under mixed precision: in
    # (b)float16 a position of a few hundred pixels loses its fraction.
    dtype = image.dtype
    flow = ops.cast(flow, "float32")
    grid_y = ops.reshape(ops.cast(ops.arange(height), "float32"), (1, height, 1))
    grid_x = ops.reshape(ops.cast(ops.arange(width), "float32"), (1, 1, width))
    y0, y1, alpha_y = _axis_terms(grid_y - flow[..., 0], height)
    x0, x1, alpha_x = _axis_terms(grid_x - flow[..., 1], width)

    flat = ops.reshape(image, (-1, channels))
    base = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1))

    def gather(y, x):
        return ops.cast(ops.take(flat, base + y * width + x, axis=0), "float32")

    top_left = gather(y0, x0)
    top_right = gather(y0, x1)
    bottom_left = gather(y1, x0)
    bottom_right = gather(y1, x1)
    top = alpha_x * (top_right - top_left) + top_left
    bottom = alpha_x * (bottom_right - bottom_left) + bottom_left
    return ops.cast(alpha_y * (bottom - top) + top, dtype)


def warp(image, flow):
    """FILM's backward warp: output(y, x) = image(y + flow_y, x + flow_x).

    Args:
      image: (B, H, W, C) tensor.
      flow: (B, H, W, 2) tensor with channels (dx, dy), the FILM convention.

    Returns:
      (B, H, W, C) warped image; equals `dense_image_warp(image, -flow[..., ::-1])`.
    """
    return dense_image_warp(image, -ops.flip(flow, axis=-1))
