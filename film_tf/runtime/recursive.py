"""Recursive in-betweening: 2^k - 1 frames between each pair, streamed.

The paper's way to more than one frame per pair (its model predicts t = 0.5
only): the middle of (a, b), then the middles of (a, mid) and (mid, b), and so
on, k levels deep. The jobs now make every frame directly at its time
(`film_tf.runtime.timed`); this stays as the dyadic reference that benchmarks
and tests compare with.

The recursion runs depth first in time order, so every output frame is
yielded as soon as it exists, input frames are pulled one at a time, and at
most k + 2 frames are held at once, however long the sequence.

FILM's feature extractor sees one frame at a time, so when `middle` offers
`feature_reuse` (an `Interpolator` does), every frame that takes part in two
or more pairs has its pyramids computed once: per input pair, 1 + (2^(k-1) - 1)
extractions instead of 2 (2^k - 1).
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

from film_tf.runtime import padding
from film_tf.runtime.times import check_times, synthesize_times

Middle = Callable[[np.ndarray, np.ndarray], np.ndarray]


def frames_per_pair(times_to_interpolate: int) -> int:
    """In-between frames per input pair: 2^k - 1."""
    return 2**times_to_interpolate - 1


def output_length(num_frames: int, times_to_interpolate: int) -> int:
    """Output frames for `num_frames` inputs: (n - 1) * 2^k + 1."""
    return (num_frames - 1) * 2**times_to_interpolate + 1 if num_frames else 0


def _between(a, b, lo: int, hi: int, middle: Middle, tick):
    # a, b: frames at dyadic indices lo < hi; yields the frames strictly between.
    if hi - lo < 2:
        return
    mid_index = (lo + hi) // 2
    mid = middle(a, b)
    tick()
    yield from _between(a, mid, lo, mid_index, middle, tick)
    yield mid
    yield from _between(mid, b, mid_index, hi, middle, tick)


def _between_reusing(a, b, lo: int, hi: int, reuse, tick):
    # a, b: (frame, its pyramids); a middle's pyramids are only needed if it
    # becomes one end of a deeper pair.
    if hi - lo < 2:
        return
    mid_index = (lo + hi) // 2
    frame = reuse.middle(a[1], b[1])
    tick()
    mid = (frame, reuse.encode(frame) if hi - lo > 2 else None)
    yield from _between_reusing(a, mid, lo, mid_index, reuse, tick)
    yield frame
    yield from _between_reusing(mid, b, mid_index, hi, reuse, tick)


def interpolate_recursively(
    frames: Iterable[np.ndarray],
    middle: Middle,
    times_to_interpolate: int,
    num_frames: int | None = None,
    progress: bool = True,
    reuse_features: bool = True,
) -> Iterator[np.ndarray]:
    """Yields the input frames with 2^k - 1 in-betweens inserted between each pair.

    Args:
      frames: the input frames in time order, (H, W, C) each; consumed lazily.
      middle: the middle frame of two frames, e.g. an `Interpolator`.
      times_to_interpolate: k >= 0, the recursion depth.
      num_frames: the number of input frames, if known, for the progress total.
      progress: show one tqdm bar over all pairs' interpolations.
      reuse_features: use `middle.feature_reuse(shape, k)` when it exists
        and returns one (see the module docstring); False always calls
        `middle(a, b)`.

    Yields:
      Frames in time order: frame 0, its in-betweens with frame 1, frame 1,
      ... ((n - 1) * 2^k + 1 frames in all).
    """
    k = times_to_interpolate
    if k < 0:
        raise ValueError(f"times_to_interpolate must be >= 0, got {k}.")
    step = 2**k
    bar = None
    if progress:
        from tqdm import tqdm

        total = None if num_frames is None else max(num_frames - 1, 0) * frames_per_pair(k)
        bar = tqdm(total=total, desc="interpolating", unit="frame")

    def tick():
        if bar is not None:
            bar.update(1)

    try:
        previous, reuse, lo = None, None, 0
        for frame in frames:
            if previous is None:
                if reuse_features and k > 0 and hasattr(middle, "feature_reuse"):
                    reuse = middle.feature_reuse(frame.shape, k)
            elif frame.shape != previous[0].shape:
                raise ValueError(f"The frames differ in size: {previous[0].shape} vs {frame.shape}.")
            node = (frame, reuse.encode(frame) if reuse is not None else None)
            if previous is not None:
                hi = lo + step
                if reuse is not None:
                    yield from _between_reusing(previous, node, lo, hi, reuse, tick)
                else:
                    yield from _between(previous[0], frame, lo, hi, middle, tick)
                lo = hi
            yield frame
            previous = node
    finally:
        if bar is not None:
            bar.close()


class FeatureReuse:
    """Frames from cached per-frame pyramids (FILM's feature extractor sees
    one frame at a time, so a frame's pyramids serve both of its pairs).

    `encode(frame)` pads an (H, W, 3) frame as `Interpolator` does and keeps
    its image and feature pyramids; `frames_at(a, b, times)` returns the
    (T, H, W, 3) frames at `times` between two encodings, the pair's flows
    estimated once and `times_per_call` times synthesized per call;
    `middle(a, b)` the (H, W, 3) middle frame. Both equal `Interpolator`'s
    frames up to float rounding.
    """

    def __init__(self, passes, alignment: int, times_per_call: int = 1):
        # passes: a `film_tf.runtime.passes.KerasPasses` (its `extract`, `flows`, `synthesize`).
        self.passes, self.alignment = passes, alignment
        self.times_per_call = max(1, int(times_per_call))

    def encode(self, frame: np.ndarray):
        padded, box = padding.pad_to_alignment(np.asarray(frame, np.float32)[None], self.alignment)
        return self.passes.extract(padded), box

    def middle(self, a, b) -> np.ndarray:
        return self.frames_at(a, b, [0.5])[0]

    def frames_at(self, a, b, times) -> np.ndarray:
        """The (T, H, W, 3) frames at `times` (T,) in [0, 1] between two
        encodings, clipped to [0, 1]; their flows are estimated once for all
        times (none for T = 0).

        Raises:
          ValueError: a time outside [0, 1] or NaN, in one line.
        """
        times = check_times(times)
        (pyramids_a, crop), (pyramids_b, _) = a, b
        if not len(times):
            h, w = crop[0].stop - crop[0].start, crop[1].stop - crop[1].start
            return np.zeros((0, h, w, 3), np.float32)
        state = (pyramids_a, pyramids_b, self.passes.flows(pyramids_a, pyramids_b))
        frames = synthesize_times(self.passes, state, times, self.times_per_call)[:, 0]
        return np.clip(frames[:, crop[0], crop[1]], 0.0, 1.0).astype(np.float32)
