"""film_tf.runtime.timed: frames at exact times, streamed; each frame encoded once, each pair's
flows once; scene cuts held; equal to `Interpolator.at_times`."""

import numpy as np
import pytest

from film_tf.runtime import recursive
from film_tf.runtime.inference import Interpolator
from film_tf.runtime.timed import MAX_TIMES_PER_CALL, DyadicRecursion, interpolate_at_times
from tests.conftest import reference_dir, reference_options, video_frames


def linear(a, b, time):
    """A 'model' whose frame at t is the linear blend: its values are the times asked."""
    return (1 - time) * a + time * b


def ramp(count, shape=(2, 2, 3)):
    return [np.full(shape, float(i), np.float32) for i in range(count)]


def test_each_request_at_its_exact_time_inputs_passed_through():
    frames = ramp(4)
    requests = [(0, 0.0), (0, 0.2), (0, 0.6), (1, 0.4), (2, 0.0), (2, 0.8), (3, 0.0), (3, 0.0)]
    out = list(interpolate_at_times(iter(frames), linear, requests, progress=False))
    assert [j for j, _ in out] == list(range(8))
    np.testing.assert_allclose([f[0, 0, 0] for _, f in out], [0, 0.2, 0.6, 1.4, 2, 2.8, 3, 3], atol=1e-6)
    assert out[0][1] is frames[0] and out[4][1] is frames[2] and out[7][1] is frames[3]


def test_streams_frames_in_and_out_holding_two():
    events = []

    def frames():
        for i in range(4):
            events.append(f"read {i}")
            yield np.full((1, 1, 3), float(i))

    def model(a, b, t):
        events.append(f"model {a[0, 0, 0]:g}-{b[0, 0, 0]:g} at {t:g}")
        return linear(a, b, t)

    # A lower rate: frame 1 is skipped (read, never used), pair 2-3 gives one frame.
    requests = [(0, 0.0), (0, 0.5), (2, 0.0), (2, 0.25)]
    for j, frame in interpolate_at_times(frames(), model, requests, progress=False):
        events.append(f"out {j}: {frame[0, 0, 0]:g}")
    assert events == [
        "read 0", "out 0: 0",
        "read 1", "model 0-1 at 0.5", "out 1: 0.5",
        "read 2", "out 2: 2",
        "read 3", "model 2-3 at 0.25", "out 3: 2.25",
    ]  # fmt: skip


def test_scene_cut_is_held_without_a_model_call():
    calls, asked = [], []

    def model(a, b, t):
        calls.append(t)
        return linear(a, b, t)

    def is_cut(p, a, b):
        asked.append(p)
        return p == 1

    requests = [(p, f) for p in range(3) for f in (0.0, 0.25, 0.5, 0.75)] + [(3, 0.0)]
    frames = ramp(4)
    out = [f for _, f in interpolate_at_times(iter(frames), model, requests, progress=False, is_cut=is_cut)]
    assert asked == [0, 1, 2] and len(calls) == 6  # pairs 0 and 2 only
    assert all(f is frames[1] for f in out[5:8])  # the cut's in-betweens: the earlier frame
    np.testing.assert_allclose([f[0, 0, 0] for f in out[9:12]], [2.25, 2.5, 2.75])


def test_errors_are_one_line():
    with pytest.raises(ValueError, match="differ in size"):
        list(
            interpolate_at_times(
                [np.zeros((4, 4, 3)), np.zeros((4, 6, 3))], linear, [(0, 0.5)], progress=False
            )
        )
    with pytest.raises(ValueError, match="time order"):
        list(interpolate_at_times(ramp(3), linear, [(1, 0.0), (0, 0.5)], progress=False))
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        list(interpolate_at_times(ramp(3), linear, [(0, 1.0)], progress=False))
    with pytest.raises(ValueError, match="needs input frame 2; there are 2"):
        list(interpolate_at_times(ramp(2), linear, [(1, 0.5)], progress=False))


def counting(interpolator):
    """Counts the stages `interpolator`'s passes run (extract, flows, whole forward: calls;
    synthesize: frames made, the rows of its time batch, since times are batched per call)."""
    calls = {"extract": 0, "flows": 0, "synthesize": 0, "forward": 0}
    passes = interpolator._forward
    for name in calls:
        attr = "_forward" if name == "forward" else name
        fn = getattr(passes, attr)

        def counted(*args, fn=fn, name=name):
            calls[name] += len(args[3]) if name == "synthesize" else 1
            return fn(*args)

        setattr(passes, attr, counted)
    return calls


def test_frames_equal_at_times_each_frame_encoded_once_and_flows_once_per_pair():
    interpolator = Interpolator(
        reference_dir("film_official_tiny"), options=reference_options("film_official_tiny")
    )
    f = video_frames("carphone_pristine.mp4", 0, 3, 2).astype(np.float32) / 255.0
    f = f[:, :40, :56]  # padded to 48 x 64 and cropped back
    times = [0.2, 0.5, 0.7]
    requests = [(p, t) for p in range(2) for t in [0.0, *times]] + [(2, 0.0)]
    calls = counting(interpolator)
    out = [frame for _, frame in interpolate_at_times(iter(f), interpolator, requests, progress=False)]
    # Each input frame's pyramids once, each pair's flows once, one synthesis per new frame.
    assert calls == {"extract": 3, "flows": 2, "synthesize": 6, "forward": 0}
    assert len(out) == 9 and np.array_equal(out[0], f[0]) and np.array_equal(out[8], f[2])
    for p in range(2):
        expected = interpolator.at_times(f[p], f[p + 1], times)
        assert np.abs(np.stack(out[4 * p + 1 : 4 * p + 4]) - expected).max() <= 1e-4
    # At t = 0.5: the middle the recursion (and the paper's model) gives.
    middle = list(
        recursive.interpolate_recursively(f[:2], interpolator, 1, progress=False, reuse_features=False)
    )
    assert np.abs(out[2] - middle[1]).max() <= 1e-4
    # Without feature reuse: exactly `at_times` per pair.
    plain = [
        x
        for _, x in interpolate_at_times(
            iter(f), interpolator, requests, progress=False, reuse_features=False
        )
    ]
    np.testing.assert_array_equal(np.stack(plain[1:4]), interpolator.at_times(f[0], f[1], times))


def test_many_times_of_one_pair_in_bounded_groups():
    seen = []

    class Model:
        def __call__(self, a, b, t):
            raise AssertionError("at_times is used when offered")

        def at_times(self, a, b, times):
            seen.append(list(times))
            return np.stack([linear(a, b, t) for t in times])

    n = MAX_TIMES_PER_CALL + 3
    times = [j / (n + 1) for j in range(1, n + 1)]
    requests = [(0, 0.0)] + [(0, t) for t in times] + [(1, 0.0)]
    out = [f for _, f in interpolate_at_times(ramp(2), Model(), requests, progress=False)]
    assert [len(s) for s in seen] == [MAX_TIMES_PER_CALL, 3] and sum(seen, []) == times
    np.testing.assert_allclose([f[0, 0, 0] for f in out], [0.0, *times, 1.0], atol=1e-6)


def test_dyadic_recursion_makes_the_old_recursive_frames():
    interpolator = Interpolator(
        reference_dir("film_official_tiny"), options=reference_options("film_official_tiny")
    )
    f = video_frames("carphone_pristine.mp4", 0, 2, 4).astype(np.float32) / 255.0
    f = f[:, :48, :64]
    old = list(recursive.interpolate_recursively(f, interpolator, 3, progress=False, reuse_features=False))
    calls = []

    def middle(a, b):
        calls.append(1)
        return interpolator(a, b)

    dyadic, a, b = DyadicRecursion(middle, 3), f[0], f[1]
    first = dyadic.at_times(a, b, [0.25, 0.375])  # 1/2, 1/4, 3/8: three middles
    second = dyadic.at_times(a, b, [0.5, 0.75])  # the same pair (the same arrays): only 3/4 is new
    assert len(calls) == 4
    np.testing.assert_array_equal(np.concatenate([first, second]), np.stack([old[2], old[3], old[4], old[6]]))
    with pytest.raises(ValueError, match="not a multiple of 1/8"):
        dyadic.at_times(f[0], f[1], [0.3])


def test_dyadic_recursion_encodes_each_end_once_like_the_old_recursion():
    interpolator = Interpolator(
        reference_dir("film_official_tiny"), options=reference_options("film_official_tiny")
    )
    f = (video_frames("carphone_pristine.mp4", 0, 3, 4).astype(np.float32) / 255.0)[:, :48, :64]
    encoded = []

    class Counting:  # the interpolator's feature reuse, counting encodings; no whole passes
        def __call__(self, a, b):
            raise AssertionError("the middles come from the cached pyramids")

        def feature_reuse(self, shape, k):
            reuse = interpolator.feature_reuse(shape, k)
            encode = reuse.encode
            reuse.encode = lambda frame: encoded.append(1) or encode(frame)
            return reuse

    old = list(recursive.interpolate_recursively(f, interpolator, 2, progress=False))  # 9 frames
    requests = [(p, q / 4) for p in range(2) for q in range(4)] + [(2, 0.0)]
    new = [x for _, x in interpolate_at_times(f, DyadicRecursion(Counting(), 2), requests, progress=False)]
    # 3 input frames and the two 1/2 middles (ends of the quarter pairs), each encoded once.
    assert len(encoded) == 5
    np.testing.assert_allclose(np.stack(new), np.stack(old), atol=1e-5)
