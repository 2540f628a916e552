"""Output plans: which time (in input frames) each output frame of a job shows.

The model makes the frame at any time t between two frames (its flows scaled
by t and 1 - t), so every output frame is made directly, at its exact time,
from its two source frames (`film_tf.runtime.timed`):

  * frame-rate conversion (`plan_rate`, `RatePlan`): N frames at `in_fps` to
    `out_fps`, same duration: M = round(N * out_fps / in_fps) output frames;
    output frame j shows t_j = j * in_fps / out_fps (exact fractions), made
    from input frames floor(t_j) and floor(t_j) + 1 at the fraction
    t_j - floor(t_j); a whole t_j is that input frame itself (no model call);
    times past the last input frame hold the last frame. 25 -> 60 fps: output
    frame 1 is t = 5/12 between frames 0 and 1, frame 2 t = 5/6.
  * slow motion (`SlowMotion`): N new frames between each pair at
    t = j / (N + 1), played at the input's rate.

Before the model honoured t, a conversion snapped each output frame to the
nearest dyadic time i / 2^k (k the smallest depth with 2^k >= out / in),
reached by recursion on generated middles (`film_tf.runtime.recursive`): up to
1/8 of an input frame off at 25 -> 60, and up to three model calls per output
frame. That stays reachable (`plan_rate(..., dyadic=True)`, --dyadic_times):
measured on real footage (benchmarks/exact_vs_dyadic_footage.py, x5 back to
the clip's own rate, bundled model), exact times win on carphone_pristine.mp4
(30.23 dB against 29.86) but the nearest dyadic recursion wins on the fast
motion of bikes.mp4 (23.82 dB against 23.57; the released model was trained
on t = 0.5 only).

A plan gives `num_outputs`, `time(j)`, `source(j)` (p, fraction) and
`first_output(p)` (the first output frame at or after input frame p: what
`film_tf.jobs.chunk_plan` cuts at). Pure arithmetic on exact fractions; no
TensorFlow, no numpy.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Iterator

MAX_RATIO = 256  # at most 255 new frames between two input frames


def new_frames_per_pair(num_frames: int | None, times_to_interpolate: int) -> int:
    """Slow motion's new frames per pair: `num_frames` N (--num_frames), else
    2^k - 1 for k = `times_to_interpolate` (--times_to_interpolate)."""
    return num_frames if num_frames is not None else 2**times_to_interpolate - 1


def as_fraction(fps: float) -> Fraction:
    """A frame rate as an exact fraction: 29.97 -> 2997/100, 30000/1001 kept as such."""
    return Fraction(str(fps)) if isinstance(fps, float) else Fraction(fps)


class _Times:
    """What every plan derives from its `time(j)` and `first_output(p)`."""

    num_frames: int

    @property
    def num_outputs(self) -> int:
        raise NotImplementedError

    def time(self, j: int) -> Fraction:
        raise NotImplementedError

    def first_output(self, p: int) -> int:
        raise NotImplementedError

    def source(self, j: int) -> tuple[int, Fraction]:
        """(p, f): output frame j is input frame p (f = 0) or the frame at time
        f in (0, 1) between input frames p and p + 1; past the end, the last frame."""
        t, last = self.time(j), self.num_frames - 1
        if t >= last:
            return last, Fraction(0)
        p = math.floor(t)
        return p, t - p

    def requests(
        self, start: int = 0, stop: int | None = None, first_frame: int = 0
    ) -> Iterator[tuple[int, float]]:
        """`film_tf.runtime.timed.interpolate_at_times` requests of output
        frames start..stop - 1, with input frames counted from `first_frame`."""
        for j in range(start, self.num_outputs if stop is None else stop):
            p, f = self.source(j)
            yield p - first_frame, float(f)

    def model_frames(self) -> int:
        """How many output frames the model makes (the others are input frames)."""
        return sum(1 for j in range(self.num_outputs) if self.source(j)[1] != 0)


@dataclasses.dataclass(frozen=True)
class RatePlan(_Times):
    """A conversion of `num_frames` frames from `in_fps` to `out_fps`, same duration.

    Attributes:
      in_fps, out_fps: the rates (exact fractions).
      num_frames: N, the input frames.
      dyadic: show each output frame at the nearest dyadic time i / 2^depth
        instead of its exact time (the old plan; see the module docstring).
    """

    in_fps: Fraction
    out_fps: Fraction
    num_frames: int
    dyadic: bool = False

    @property
    def depth(self) -> int:
        """k, the smallest with 2^k >= out / in (0 below 1): the dyadic plan's recursion depth."""
        return 0 if self.ratio <= 1 else math.ceil(math.log2(self.ratio) - 1e-12)

    @property
    def ratio(self) -> Fraction:
        return self.out_fps / self.in_fps

    @property
    def num_outputs(self) -> int:
        """M = round(N * out / in) (half up)."""
        return int(math.floor(self.num_frames * self.ratio + Fraction(1, 2)))

    def time(self, j: int) -> Fraction:
        """t_j = j * in_fps / out_fps, in input frames (dyadic: the nearest i / 2^k, ties later)."""
        if not self.dyadic:
            return j / self.ratio
        step = 2**self.depth
        return Fraction(math.floor(j * step / self.ratio + Fraction(1, 2)), step)

    def first_output(self, p: int) -> int:
        """The smallest j with t_j >= p (at most M)."""
        if not self.dyadic:
            return min(math.ceil(p * self.ratio), self.num_outputs)
        step = 2**self.depth
        return min(max(0, math.ceil((p * step - Fraction(1, 2)) * self.ratio / step)), self.num_outputs)


def plan_rate(
    in_fps: float,
    num_frames: int,
    target_fps: float | None = None,
    multiplier: float | None = None,
    dyadic: bool = False,
) -> RatePlan:
    """The `RatePlan` for `target_fps` (an output rate) or `multiplier` (out = in * M), one of them
    (`dyadic`: the nearest dyadic times, see the module docstring).

    Raises ValueError on both or neither, non-positive values, or a ratio
    above `MAX_RATIO`.
    """
    if (target_fps is None) == (multiplier is None):
        raise ValueError("Pass exactly one of --target_fps and --multiplier.")
    value = target_fps if target_fps is not None else multiplier
    name = "--target_fps" if target_fps is not None else "--multiplier"
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value:g}.")
    source = as_fraction(in_fps)
    out = as_fraction(target_fps) if target_fps is not None else source * as_fraction(multiplier)
    if out / source > MAX_RATIO:
        raise ValueError(
            f"{float(out):g} fps from {float(source):g} fps is {float(out / source):g}x; at most "
            f"{MAX_RATIO}x is supported."
        )
    return RatePlan(source, out, num_frames, dyadic)


@dataclasses.dataclass(frozen=True)
class SlowMotion(_Times):
    """Slow motion: every input frame and `per_pair` new frames between each
    pair, at t = j / (per_pair + 1), played at the input's rate.

    Attributes:
      num_frames: the input frames.
      per_pair: N >= 0, the new frames between two input frames.
    """

    num_frames: int
    per_pair: int

    @property
    def num_outputs(self) -> int:
        """(n - 1) (N + 1) + 1."""
        return max(self.num_frames - 1, 0) * (self.per_pair + 1) + 1 if self.num_frames else 0

    def time(self, j: int) -> Fraction:
        return Fraction(j, self.per_pair + 1)

    def first_output(self, p: int) -> int:
        return min(p * (self.per_pair + 1), self.num_outputs)
