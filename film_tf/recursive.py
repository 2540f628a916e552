"""Recursive in-betweening: 2^k - 1 frames between each pair, streamed.

film_net only predicts t = 0.5, so finer time steps come from recursion: the
middle of (a, b), then the middles of (a, mid) and (mid, b), and so on, k
levels deep. The recursion runs depth first in time order, so every output
frame is yielded as soon as it exists, input frames are pulled one at a time,
and at most k + 2 frames are held at once, however long the sequence.

FILM's feature extractor sees one frame at a time, so when `middle` offers
`feature_reuse` (an `Interpolator` does), every frame that takes part in two
or more pairs has its pyramids computed once: per input pair, 1 + (2^(k-1) - 1)
extractions instead of 2 (2^k - 1).
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

Middle = Callable[[np.ndarray, np.ndarray], np.ndarray]


def frames_per_pair(times_to_interpolate: int) -> int:
    """In-between frames per input pair: 2^k - 1."""
    return 2**times_to_interpolate - 1


def output_length(num_frames: int, times_to_interpolate: int) -> int:
    """Output frames for `num_frames` inputs: (n - 1) * 2^k + 1."""
    return (num_frames - 1) * 2**times_to_interpolate + 1 if num_frames else 0


def _between(a: np.ndarray, b: np.ndarray, depth: int, middle: Middle, tick: Callable[[], None]):
    if depth == 0:
        return
    mid = middle(a, b)
    tick()
    yield from _between(a, mid, depth - 1, middle, tick)
    yield mid
    yield from _between(mid, b, depth - 1, middle, tick)


def _between_reusing(a, b, depth: int, reuse, tick: Callable[[], None]):
    # a, b: (frame, its pyramids); a middle's pyramids are only needed if it
    # becomes one end of a deeper pair.
    if depth == 0:
        return
    frame = reuse.middle(a[1], b[1])
    tick()
    mid = (frame, reuse.encode(frame) if depth > 1 else None)
    yield from _between_reusing(a, mid, depth - 1, reuse, tick)
    yield frame
    yield from _between_reusing(mid, b, depth - 1, reuse, tick)


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
    if times_to_interpolate < 0:
        raise ValueError(f"times_to_interpolate must be >= 0, got {times_to_interpolate}.")
    bar = None
    if progress:
        from tqdm import tqdm

        total = None if num_frames is None else max(num_frames - 1, 0) * frames_per_pair(times_to_interpolate)
        bar = tqdm(total=total, desc="interpolating", unit="frame")

    def tick():
        if bar is not None:
            bar.update(1)

    try:
        previous, reuse = None, None
        for frame in frames:
            if previous is None:
                if reuse_features and times_to_interpolate > 0 and hasattr(middle, "feature_reuse"):
                    reuse = middle.feature_reuse(frame.shape, times_to_interpolate)
            elif frame.shape != previous[0].shape:
                raise ValueError(f"The frames differ in size: {previous[0].shape} vs {frame.shape}.")
            node = (frame, reuse.encode(frame) if reuse is not None else None)
            if previous is not None:
                if reuse is not None:
                    yield from _between_reusing(previous, node, times_to_interpolate, reuse, tick)
                else:
                    yield from _between(previous[0], frame, times_to_interpolate, middle, tick)
            yield frame
            previous = node
    finally:
        if bar is not None:
            bar.close()
