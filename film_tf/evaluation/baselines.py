"""Non-learned interpolation baselines, selectable as `--model_path baseline:<name>`.

Both take x0, x1 float32 (H, W, 3) or (B, H, W, 3) in [0, 1] and return the
middle frame (t = 0.5) of the same shape.
- `average`: (x0 + x1) / 2, the frame blend; what any method must beat.
- `dis_flow`: OpenCV's DIS optical flow (preset MEDIUM, on 8-bit grey frames)
  in both directions, then FILM's own warping scheme (paper Sec. 3): the flow
  at a pixel of the middle frame is approximated by the flow at the same pixel
  of the input, so x0 is backward-warped with half the 1->0 flow and x1 with
  half the 0->1 flow (bilinear, border clamped), and the two are averaged.
  `dis_flow(x0, x1, time=t)` warps with t and 1 - t of the flows instead and
  blends with weights 1 - t and t (benchmarks/time_interpolation.py).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def average(x0: np.ndarray, x1: np.ndarray, time: float = 0.5) -> np.ndarray:
    """The mean of the two input frames; at `time` t their blend (1 - t) x0 + t x1."""
    x0, x1 = np.asarray(x0, np.float32), np.asarray(x1, np.float32)
    if time == 0.5:
        return (x0 + x1) * 0.5  # The midpoint exactly as before.
    return (1.0 - time) * x0 + time * x1


def _grey8(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)


def _backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """output(y, x) = image(y + flow_y, x + flow_x), bilinear, clamped at the border."""
    import cv2

    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        image,
        gx + flow[..., 0],
        gy + flow[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def dis_optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DIS flow (preset MEDIUM) from RGB frame `a` to `b`, float in [0, 1]:
    (H, W, 2) F, channels (dx, dy), with a(p) ~ b(p + F(p))."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_grey8(np.asarray(a)), _grey8(np.asarray(b)), None)


def dis_flow_single(x0: np.ndarray, x1: np.ndarray, time: float = 0.5) -> np.ndarray:
    """The DIS-flow frame at `time` in [0, 1] of one (H, W, 3) pair (default
    the midpoint): x0 backward-warped with t times the 1->0 flow, x1 with
    (1 - t) times the 0->1 flow, blended with weights 1 - t and t."""
    x0 = np.ascontiguousarray(x0, np.float32)
    x1 = np.ascontiguousarray(x1, np.float32)
    flow_01 = dis_optical_flow(x0, x1)
    flow_10 = dis_optical_flow(x1, x0)
    at_t0 = _backward_warp(x0, time * flow_10)
    at_t1 = _backward_warp(x1, (1.0 - time) * flow_01)
    # At t = 0.5 exactly the midpoint's 0.5 * (mid0 + mid1) (halving is exact in float).
    return (1.0 - time) * at_t0 + time * at_t1


def dis_flow(x0: np.ndarray, x1: np.ndarray, time: float = 0.5) -> np.ndarray:
    """DIS-flow interpolation at `time` (default 0.5) of one pair or a batch of pairs."""
    x0, x1 = np.asarray(x0), np.asarray(x1)
    if x0.ndim == 4:
        return np.stack([dis_flow_single(a, b, time) for a, b in zip(x0, x1)])
    return dis_flow_single(x0, x1, time)


BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "average": average,
    "dis_flow": dis_flow,
}
