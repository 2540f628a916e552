"""The paper's test metrics for one predicted frame: L1, L2, PSNR and SSIM.

As in the official evaluation, the prediction is clipped to [0, 1] first and
every metric uses a maximum value of 1: L1 = mean|p - y|, L2 = mean (p - y)^2
(the MSE), PSNR = 10 log10(1 / MSE) dB, SSIM = `tf.image.ssim` (11x11 Gaussian
window, sigma 1.5, k1 = 0.01, k2 = 0.03, averaged over pixels and channels).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

METRICS = ("l1", "l2", "psnr", "ssim")


def check_metrics(metrics) -> tuple[str, ...]:
    """The names of `metrics`, in METRICS order; ValueError on an unknown name."""
    metrics = tuple(metrics)
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"Unknown metrics {sorted(unknown)}; choose from {list(METRICS)}.")
    # A fixed order whatever order a gin file lists.
    return tuple(m for m in METRICS if m in metrics)


def compute_metrics(
    prediction: np.ndarray | tf.Tensor, target: np.ndarray | tf.Tensor, metrics: tuple[str, ...] = METRICS
) -> dict[str, float]:
    """Metrics of one frame.

    Args:
      prediction: (H, W, 3) float32, the interpolated frame (clipped here).
      target: (H, W, 3) float32 in [0, 1], the ground truth y.
      metrics: names from METRICS.

    Returns:
      name -> value (PSNR in dB; +inf for an exact prediction).
    """
    check_metrics(metrics)
    prediction = tf.clip_by_value(tf.convert_to_tensor(prediction, tf.float32), 0.0, 1.0)
    target = tf.convert_to_tensor(target, tf.float32)
    if prediction.shape != target.shape:
        raise ValueError(
            f"Prediction shape {prediction.shape} differs from the ground truth's {target.shape}."
        )
    error = prediction - target
    values = {}
    for name in metrics:
        if name == "l1":
            value = tf.reduce_mean(tf.abs(error))
        elif name == "l2":
            value = tf.reduce_mean(tf.square(error))
        elif name == "psnr":
            value = tf.image.psnr(prediction, target, max_val=1.0)
        else:
            value = tf.image.ssim(prediction, target, max_val=1.0)
        values[name] = float(value)
    return values
