"""film_tf.jobs.frame_rate: every output frame's exact time, same duration, slow motion's even steps."""

from fractions import Fraction

import pytest

from film_tf.jobs.frame_rate import SlowMotion, as_fraction, plan_rate


@pytest.mark.parametrize("in_fps, out_fps, n", [(25, 50, 25), (25, 60, 25), (25, 60, 7), (29.97, 60, 30),
                                               (24, 30, 48), (30, 24, 30), (25, 100, 10), (25, 75, 9)])  # fmt: skip
def test_same_duration_and_exact_times(in_fps, out_fps, n):
    plan = plan_rate(in_fps, n, target_fps=out_fps)
    assert plan.num_outputs == round(n * Fraction(out_fps) / as_fraction(in_fps))
    # duration within one output frame
    assert abs(plan.num_outputs / float(plan.out_fps) - n / float(plan.in_fps)) <= 0.5 / float(plan.out_fps)
    requests = list(plan.requests())
    assert len(requests) == plan.num_outputs and requests == sorted(requests)
    for j, (p, f) in enumerate(requests):
        t = Fraction(j) * as_fraction(in_fps) / Fraction(out_fps)  # exact, in input frames
        if t <= n - 1:
            assert plan.source(j) == (int(t), t - int(t))  # no snapping
            assert f == float(t - int(t)) and 0 <= f < 1
        else:
            assert (p, f) == (n - 1, 0.0)  # past the end: the last frame held
        assert plan.first_output(p) <= j


def test_examples_from_the_docstring():
    plan = plan_rate(25, 25, target_fps=60)
    assert [plan.source(j) for j in range(4)] == [
        (0, 0), (0, Fraction(5, 12)), (0, Fraction(5, 6)), (1, Fraction(1, 4))
    ]  # fmt: skip
    assert plan.source(12) == (5, 0)  # 12 * 25 / 60 = 5: input frame 5 itself
    assert list(plan_rate(25, 3, target_fps=50).requests()) == [
        (0, 0),
        (0, 0.5),
        (1, 0),
        (1, 0.5),
        (2, 0),
        (2, 0),
    ]
    assert plan_rate(25, 10, multiplier=3).out_fps == 75
    # 30 -> 24: in-betweens too (t = 1.25, 2.5, 3.75), every 4th output an input frame.
    assert list(plan_rate(30, 6, target_fps=24).requests()) == [
        (0, 0),
        (1, 0.25),
        (2, 0.5),
        (3, 0.75),
        (5, 0),
    ]
    # A whole ratio below 1: input frames only (no model call).
    down = plan_rate(60, 10, target_fps=30)
    assert list(down.requests()) == [(0, 0), (2, 0), (4, 0), (6, 0), (8, 0)] and down.model_frames() == 0
    # first_output: the first output frame at or after an input frame (the chunk plan's cut points).
    assert [plan.first_output(p) for p in range(4)] == [0, 3, 5, 8]
    # Later frames of a plan are what the same requests of a later start give (chunks, resuming).
    assert list(plan.requests(5, 9, first_frame=2)) == [(p - 2, f) for p, f in list(plan.requests())[5:9]]


def test_errors():
    for kwargs, message in [({}, "exactly one"), ({"target_fps": 50, "multiplier": 2}, "exactly one"),
                            ({"target_fps": -1}, "must be positive"), ({"target_fps": float("nan")}, "positive"),
                            ({"multiplier": 1000}, "at most 256x")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            plan_rate(25, 10, **kwargs)


def test_slow_motion_is_evenly_spaced():
    slow = SlowMotion(4, 3)
    assert slow.num_outputs == 13 and slow.model_frames() == 9
    assert list(slow.requests()) == [(p, j / 4) for p in range(3) for j in range(4)] + [(3, 0.0)]
    assert list(SlowMotion(3, 2).requests())[:3] == [(0, 0.0), (0, 1 / 3), (0, 2 / 3)]
    assert list(SlowMotion(3, 0).requests()) == [(0, 0.0), (1, 0.0), (2, 0.0)]
    assert [SlowMotion(5, 2).first_output(p) for p in range(5)] == [0, 3, 6, 9, 12]


def test_first_output_is_the_first_frame_at_or_after_each_input():
    for plan in [plan_rate(25, 17, target_fps=60), plan_rate(30, 17, target_fps=24), plan_rate(24, 9, multiplier=7),
                 plan_rate(25, 17, target_fps=60, dyadic=True), plan_rate(25, 9, target_fps=24, dyadic=True),
                 SlowMotion(9, 4)]:  # fmt: skip
        times = [plan.time(j) for j in range(plan.num_outputs)]
        for p in range(plan.num_frames):
            assert plan.first_output(p) == next((j for j, t in enumerate(times) if t >= p), plan.num_outputs)


def test_the_old_nearest_dyadic_plan_stays_reachable():
    plan = plan_rate(25, 25, target_fps=60, dyadic=True)
    assert plan.depth == 2 and plan.num_outputs == 60
    # t = 0, .42, .83, 1.25, 1.67, 2.08 shown at the nearest quarter: 0, 1/2, 3/4, 5/4, 7/4, 2
    assert [plan.time(j) * 4 for j in range(6)] == [0, 2, 3, 5, 7, 8]
    assert list(plan.requests(0, 6)) == [(0, 0), (0, 0.5), (0, 0.75), (1, 0.25), (1, 0.75), (2, 0)]
    assert plan_rate(25, 3, target_fps=50, dyadic=True).depth == 1
    assert plan_rate(60, 10, target_fps=25, dyadic=True).depth == 0  # lower rates: the nearest input frame
    # 30 -> 24: t = 1.25, 2.5, 3.75 shown as input frames 1, 3 (ties later), 4
    down = plan_rate(30, 6, target_fps=24, dyadic=True)
    assert list(down.requests()) == [(0, 0), (1, 0), (3, 0), (4, 0), (5, 0)]
