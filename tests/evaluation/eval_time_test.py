"""benchmarks/eval_time.py: starts, and direct-t PSNR against known frames."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.clips import span_starts
from benchmarks.eval_time import direct_t_psnr


class _Blend:
    """(1 - t) x0 + t x1 (or x0 alone): exact on frames that fade linearly."""

    def __init__(self, hold: bool = False):
        self.hold, self.calls = hold, []

    def at_times(self, x0, x1, times):
        self.calls.append(list(times))
        return np.stack([x0 if self.hold else (1 - t) * x0 + t * x1 for t in times])


def test_span_starts():
    assert span_starts(20, 5, 4) == [0, 5, 9, 14]
    assert span_starts(6, 5, 3) == [0]
    with pytest.raises(ValueError, match="no pair 5 frames apart"):
        span_starts(5, 5, 2)


def test_direct_t_psnr_scores_each_time_against_its_real_frame():
    # Frame k is a flat grey of value k / 10: frame i + j lies at t = j / g between i and i + g.
    frames = np.stack([np.full((4, 4, 3), k / 10, np.float32) for k in range(9)])
    blend = _Blend()
    scores = direct_t_psnr(blend, frames, 4, [0, 4])
    assert blend.calls == [[0.25, 0.5, 0.75]] * 2
    assert sorted(scores) == [0.25, 0.5, 0.75] and all(v == np.inf or v > 100 for v in scores.values())
    # Holding x0: the error at t = j / 4 is j / 10, PSNR = -20 log10(j / 10).
    held = direct_t_psnr(_Blend(hold=True), frames, 4, [0, 4])
    for j, t in enumerate((0.25, 0.5, 0.75), start=1):
        assert held[t] == pytest.approx(-20 * np.log10(j / 10), abs=1e-4)
