"""Frames at any times between consecutive input frames, streamed.

The model takes the time t of the frame it makes (its flows scaled by t and
1 - t), so every output frame is made directly from its two source frames at
its exact time, with no recursion on generated frames. A plan names the
output frames as requests `(p, f)`, in time order: f = 0 is input frame p
itself, 0 < f < 1 the frame at time f between input frames p and p + 1
(slow motion: f = j / (N + 1); frame-rate conversion: the fractional part of
each output frame's time, `film_tf.jobs.frame_rate`).

`interpolate_at_times` pulls the input frames lazily, in order (at most two
are held), and for each pair asks the model for all of that pair's times at
once: every input frame's feature pyramids are computed once (when the
interpolator offers `feature_reuse`, as an `Interpolator` does) and each
pair's flows once per call (`FeatureReuse.frames_at` / `Interpolator.at_times`),
in groups of at most `MAX_TIMES_PER_CALL` times so that memory does not grow
with the number of frames per pair. A scene cut is held: its in-betweens are
the earlier frame, with no model call (`film_tf.jobs.scene_cuts`).

`DyadicRecursion` makes frames at times i / 2^k the paper's way instead (by
recursion on middles), for the old nearest-dyadic frame-rate plan.
"""

from __future__ import annotations

import itertools
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

# Frames per model call of one pair: bounds the frames held (the flows are
# recomputed once per group; 16 keeps x255 slow motion at 16 flow estimates
# per pair instead of 255).
MAX_TIMES_PER_CALL = 16

Request = tuple[int, float]


def _times_of(interpolator):
    """`(a, b, times) -> (T, H, W, C)` for the frames (not encodings) of one pair."""
    if hasattr(interpolator, "at_times"):
        return interpolator.at_times

    def one_by_one(a, b, times):  # A plain `(x0, x1, time) -> frame` callable.
        return np.stack([interpolator(a, b, float(t)) for t in times])

    return one_by_one


def interpolate_at_times(
    frames: Iterable[np.ndarray],
    interpolator,
    requests: Iterable[tuple[int, float]],
    *,
    total: int | None = None,
    progress: bool = True,
    is_cut: Callable[[int, np.ndarray, np.ndarray], bool] | None = None,
    reuse_features: bool = True,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yields `(j, frame)` for the j-th request, in order (see the module docstring).

    Args:
      frames: the input frames in time order, (H, W, C) each; consumed
        lazily, only as far as the requests need.
      interpolator: an `Interpolator`, or any callable `(x0, x1, time) ->
        frame`; its `at_times(x0, x1, times) -> (T, H, W, C)` and
        `feature_reuse(shape, 0) -> FeatureReuse | None` are used when it
        has them.
      requests: `(p, f)` in non-decreasing order: input frame p (f = 0) or
        the frame at time f in (0, 1) between input frames p and p + 1 (p
        counts from the first frame of `frames`). A request may repeat (a
        held last frame).
      total: the number of requests, for the progress bar.
      progress: show a tqdm bar over the requests.
      is_cut: `(p, a, b) -> bool`, asked once for each pair p that has
        in-betweens to make, in order: True holds the cut (the in-betweens
        are frame p itself, no model call).
      reuse_features: use `interpolator.feature_reuse` when it returns one
        (each input frame encoded once); False calls `at_times` per pair.

    Yields:
      `(j, frame)`: j counts the requests from 0; an input frame is yielded
      as the object given, an in-between as float32 (H, W, C).

    Raises:
      ValueError: requests out of order or past the last frame, a time
        outside [0, 1), or frames of different sizes.
    """
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="interpolating", unit="frame")
    source = iter(frames)
    held: dict[int, np.ndarray] = {}  # input frame index -> frame: p and p + 1 at most
    encoded: dict[int, object] = {}
    state = {"next": 0, "low": 0, "reuse": None, "shape": None}  # low: the first frame still needed

    def frame(i: int) -> np.ndarray:
        while state["next"] <= i:
            try:
                item = next(source)
            except StopIteration:
                raise ValueError(f"A request needs input frame {i}; there are {state['next']}.") from None
            if state["shape"] is None:
                state["shape"] = item.shape
                if reuse_features and hasattr(interpolator, "feature_reuse"):
                    state["reuse"] = interpolator.feature_reuse(item.shape, 0)  # two frames held
            elif item.shape != state["shape"]:
                raise ValueError(f"The frames differ in size: {state['shape']} vs {item.shape}.")
            if state["next"] >= state["low"]:
                held[state["next"]] = item
            state["next"] += 1
        return held[i]

    def encoding(i: int):
        if i not in encoded:
            encoded[i] = state["reuse"].encode(frame(i))
        return encoded[i]

    def in_betweens(p: int, times: Sequence[float]) -> Iterator[np.ndarray]:
        a, b = frame(p), frame(p + 1)
        if is_cut is not None and is_cut(p, a, b):
            yield from itertools.repeat(a, len(times))
            return
        compute = None if state["reuse"] is not None else _times_of(interpolator)
        for start in range(0, len(times), MAX_TIMES_PER_CALL):
            group = times[start : start + MAX_TIMES_PER_CALL]
            if compute is None:
                made = state["reuse"].frames_at(encoding(p), encoding(p + 1), group)
            else:
                made = compute(a, b, group)
            yield from made

    try:
        j, last = 0, (-1, 0.0)
        for p, group in itertools.groupby(requests, key=lambda r: r[0]):
            fractions = [float(f) for _, f in group]
            if (p, fractions[0]) < last or fractions != sorted(fractions):
                raise ValueError(f"Requests must be in time order: ({p}, {fractions[0]:g}) after {last}.")
            if not 0.0 <= fractions[0] or not fractions[-1] < 1.0:
                raise ValueError(f"Request times must be in [0, 1), got {fractions} for frame {p}.")
            last = (p, fractions[-1])
            state["low"] = p
            for old in [k for k in held if k < p]:
                del held[old]
                encoded.pop(old, None)
            for _ in range(sum(f == 0.0 for f in fractions)):
                yield j, frame(p)
                j += 1
                if bar is not None:
                    bar.update(1)
            between = [f for f in fractions if f > 0.0]
            if between:
                for made in in_betweens(p, between):
                    yield j, made
                    j += 1
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()


class DyadicRecursion:
    """Frames at dyadic times i / 2^depth made the paper's way, by recursion on middles.

    `at_times(a, b, times)` for times that are multiples of 1 / 2^depth: the
    middle of (a, b) at 1/2, then middles of (a, mid) and (mid, b), and so on,
    each computed once per pair (and only those on the way to a time asked),
    so `interpolate_at_times` runs the old nearest-dyadic frame-rate plan
    (`film_tf.jobs.frame_rate`, `dyadic`) with it. When `middle` offers
    `feature_reuse` (an `Interpolator` does) and the memory plan allows it,
    every frame that is an end of a pair is encoded once (an input frame
    serves both of its pairs), as the recursion before exact times did.

    Args:
      middle: `(x0, x1) -> middle frame`, e.g. an `Interpolator`.
      depth: k, the finest step 1 / 2^k.
      reuse_features: use `middle.feature_reuse` when it returns one.
    """

    def __init__(
        self, middle: Callable[[np.ndarray, np.ndarray], np.ndarray], depth: int, reuse_features: bool = True
    ):
        self.middle, self.depth = middle, depth
        self._reuse = None if reuse_features and hasattr(middle, "feature_reuse") else False
        self._pair: tuple | None = None
        self._frames: dict[int, np.ndarray] = {}
        self._codes: dict[int, object] = {}  # dyadic index -> encoding, for ends of pairs only
        self._last_end: tuple | None = None  # (frame, encoding) of the last pair's later frame

    def _reuse_for(self, shape: tuple[int, ...]):
        if self._reuse is None:
            # Ends held at once within one pair: 2^(k-1) + 1 (indices 0, 2, 4, .., 2^k).
            held = 2 ** max(self.depth - 1, 0) - 1
            self._reuse = self.middle.feature_reuse(shape, held) or False
        return self._reuse or None

    def _code(self, i: int, reuse):
        if i not in self._codes:
            self._codes[i] = reuse.encode(self._frames[i])
        if i == 2**self.depth:
            self._last_end = (self._frames[i], self._codes[i])
        return self._codes[i]

    def _middle_of(self, lo: int, hi: int) -> np.ndarray:
        reuse = self._reuse_for(self._frames[lo].shape)
        if reuse is None:
            return self.middle(self._frames[lo], self._frames[hi])
        return reuse.middle(self._code(lo, reuse), self._code(hi, reuse))

    def at_times(self, a: np.ndarray, b: np.ndarray, times: Sequence[float]) -> np.ndarray:
        """(T, H, W, C) frames at `times` (each i / 2^depth) between a and b."""
        top = 2**self.depth
        if self._pair is None or self._pair[0] is not a or self._pair[1] is not b:
            # A new pair (times of one pair come in groups); its first frame was the last one's end.
            self._pair, self._frames, self._codes = (a, b), {0: a, top: b}, {}
            if self._last_end is not None and self._last_end[0] is a:
                self._codes[0] = self._last_end[1]
            self._last_end = None  # held only until this pair's own last frame is encoded
        out = []
        for t in times:
            index = round(t * top)
            if abs(index - t * top) > 1e-9:
                raise ValueError(f"time {t:g} is not a multiple of 1/{top}.")
            lo, hi = 0, top
            while index not in self._frames:
                mid = (lo + hi) // 2
                if mid not in self._frames:
                    self._frames[mid] = self._middle_of(lo, hi)
                lo, hi = (lo, mid) if index < mid else (mid, hi)
            out.append(self._frames[index])
        return np.stack(out)
