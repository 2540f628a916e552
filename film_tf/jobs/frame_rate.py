"""Frame-rate conversion: which interpolated frame each output frame is.

film_net predicts only the middle (t = 0.5) of two frames; recursion
(`film_tf.runtime.recursive`) gives the dyadic times i / 2^k between two input
frames. Converting N frames at `in_fps` to `out_fps` keeps the duration:

  * the output has M = round(N * out_fps / in_fps) frames;
  * output frame j shows input time t_j = j * in_fps / out_fps (in input
    frames), taken at the NEAREST dyadic time at depth k, the smallest k
    with 2^k >= out_fps / in_fps: dyadic index d_j = floor(t_j * 2^k + 1/2)
    (ties go later); times past the last input frame hold the last frame.

So 2x and 4x (25 -> 50, 25 -> 100) are exact, and other ratios are off by
at most half a dyadic step: 25 -> 60 fps uses k = 2 (quarter steps), output
frame 1 (t = 0.4167) shows t = 0.5, frame 2 (t = 0.833) shows t = 0.75; the
timing error is at most 1/8 of an input frame (5 ms at 25 fps). Only the
dyadic frames some output frame uses are computed (`keep`). Lower target
rates (ratio < 1, k = 0) pick the nearest input frame.

Pure arithmetic on exact fractions; no TensorFlow, no numpy.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

MAX_DEPTH = 8


def as_fraction(fps: float) -> Fraction:
    """A frame rate as an exact fraction: 29.97 -> 2997/100, 30000/1001 kept as such."""
    return Fraction(str(fps)) if isinstance(fps, float) else Fraction(fps)


@dataclasses.dataclass(frozen=True)
class RatePlan:
    """A conversion of `num_frames` frames from `in_fps` to `out_fps`, same duration.

    Attributes:
      in_fps, out_fps: the rates (exact fractions).
      num_frames: N, the input frames.
      depth: k, the recursion depth giving the dyadic times i / 2^k.
    """

    in_fps: Fraction
    out_fps: Fraction
    num_frames: int
    depth: int

    @property
    def ratio(self) -> Fraction:
        return self.out_fps / self.in_fps

    @property
    def num_outputs(self) -> int:
        """M = round(N * out / in) (half up)."""
        return int(math.floor(self.num_frames * self.ratio + Fraction(1, 2)))

    @property
    def last_index(self) -> int:
        """The dyadic index of the last input frame, (N - 1) * 2^k."""
        return max(self.num_frames - 1, 0) * 2**self.depth

    def dyadic_index(self, j: int) -> int:
        """d_j: the dyadic index output frame j shows (clamped to the last frame)."""
        return min(math.floor(j * 2**self.depth / self.ratio + Fraction(1, 2)), self.last_index)

    def first_output(self, i: int) -> int:
        """The smallest j with d_j >= i (unclamped)."""
        return max(0, math.ceil((i - Fraction(1, 2)) * self.ratio / 2**self.depth))

    def uses(self, i: int) -> int:
        """How many output frames show dyadic frame i (0 if none)."""
        if i > self.last_index:
            return 0
        start = min(self.first_output(i), self.num_outputs)
        stop = self.num_outputs if i == self.last_index else min(self.first_output(i + 1), self.num_outputs)
        return max(stop - start, 0)

    def keep(self, i: int) -> bool:
        """Whether some output frame shows dyadic frame i."""
        return self.uses(i) > 0


def plan_rate(
    in_fps: float,
    num_frames: int,
    target_fps: float | None = None,
    multiplier: float | None = None,
) -> RatePlan:
    """The `RatePlan` for `target_fps` (an output rate) or `multiplier` (out = in * M), one of them.

    Raises ValueError on both or neither, non-positive values, or a ratio
    needing more than 2^MAX_DEPTH steps per input frame.
    """
    if (target_fps is None) == (multiplier is None):
        raise ValueError("Pass exactly one of --target_fps and --multiplier.")
    value = target_fps if target_fps is not None else multiplier
    name = "--target_fps" if target_fps is not None else "--multiplier"
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value:g}.")
    source = as_fraction(in_fps)
    out = as_fraction(target_fps) if target_fps is not None else source * as_fraction(multiplier)
    ratio = out / source
    depth = 0 if ratio <= 1 else math.ceil(math.log2(ratio) - 1e-12)
    if depth > MAX_DEPTH:
        raise ValueError(
            f"{float(out):g} fps from {float(source):g} fps needs 2^{depth} steps per frame; at most "
            f"{2**MAX_DEPTH}x is supported."
        )
    return RatePlan(source, out, num_frames, depth)


@dataclasses.dataclass(frozen=True)
class SlowMotion:
    """Slow motion: every dyadic frame once, played at the input's rate (2^k times longer).

    Same interface as `RatePlan` (depth, num_outputs, last_index, uses, keep).
    """

    num_frames: int
    depth: int

    @property
    def num_outputs(self) -> int:
        return self.last_index + 1 if self.num_frames else 0

    @property
    def last_index(self) -> int:
        return max(self.num_frames - 1, 0) * 2**self.depth

    def uses(self, i: int) -> int:
        return 1 if 0 <= i <= self.last_index else 0

    def keep(self, i: int) -> bool:
        return self.uses(i) > 0
