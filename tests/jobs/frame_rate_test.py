"""film_tf.jobs.frame_rate: output frame times, nearest dyadic rule, same duration."""

from fractions import Fraction

import pytest

from film_tf.jobs.frame_rate import SlowMotion, as_fraction, plan_rate


def shown(plan) -> list[int]:
    """The dyadic index of every output frame, from `uses` (as the job streams them)."""
    out = []
    for i in range(plan.last_index + 1):
        out += [i] * plan.uses(i)
    return out


@pytest.mark.parametrize("in_fps, out_fps, n", [(25, 50, 25), (25, 60, 25), (25, 60, 7), (29.97, 60, 30),
                                               (24, 30, 48), (30, 24, 30), (25, 100, 10), (25, 75, 9)])  # fmt: skip
def test_same_duration_and_nearest_time(in_fps, out_fps, n):
    plan = plan_rate(in_fps, n, target_fps=out_fps)
    frames = shown(plan)
    assert len(frames) == plan.num_outputs == round(n * Fraction(out_fps) / as_fraction(in_fps))
    # duration within one output frame
    assert abs(plan.num_outputs / float(plan.out_fps) - n / float(plan.in_fps)) <= 0.5 / float(plan.out_fps)
    step = 2**plan.depth
    assert step >= plan.ratio or plan.depth == 0
    for j, d in enumerate(frames):
        assert d == plan.dyadic_index(j)
        t = Fraction(j) / plan.ratio * step  # exact time in dyadic units
        if t <= plan.last_index:
            assert abs(d - t) <= Fraction(1, 2)  # the nearest dyadic time
        else:
            assert d == plan.last_index  # past the end: the last frame held
    assert frames == sorted(frames)


def test_examples_from_the_docstring():
    plan = plan_rate(25, 25, target_fps=60)
    assert plan.depth == 2 and shown(plan)[:6] == [0, 2, 3, 5, 7, 8]  # t = 0, .42, .83, 1.25, 1.67, 2.08
    assert plan_rate(25, 25, target_fps=50).depth == 1 and shown(plan_rate(25, 3, target_fps=50)) == [
        0,
        1,
        2,
        3,
        4,
        4,
    ]
    assert plan_rate(25, 3, multiplier=4).depth == 2
    assert plan_rate(25, 10, multiplier=3).out_fps == 75
    assert plan_rate(60, 10, target_fps=25).depth == 0


def test_errors():
    for kwargs, message in [({}, "exactly one"), ({"target_fps": 50, "multiplier": 2}, "exactly one"),
                            ({"target_fps": -1}, "must be positive"), ({"multiplier": 1000}, "at most 256x")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            plan_rate(25, 10, **kwargs)


def test_slow_motion_uses_every_frame_once():
    slow = SlowMotion(4, 2)
    assert shown(slow) == list(range(13)) and slow.num_outputs == 13
