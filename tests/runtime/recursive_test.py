"""Recursive in-betweening: counts, time order, streaming, model calls."""

import numpy as np
import pytest

from film_tf.runtime.inference import Interpolator
from film_tf.runtime.recursive import frames_per_pair, interpolate_recursively, output_length
from tests.conftest import reference_dir, reference_options, video_frames


def mean_middle(a, b):
    return (a + b) / 2


@pytest.mark.parametrize("count, k", [(2, 1), (3, 2), (4, 3), (2, 0), (5, 1)])
def test_count_and_time_order(count, k):
    frames = [np.full((2, 2, 3), float(i)) for i in range(count)]
    out = list(interpolate_recursively(iter(frames), mean_middle, k, progress=False))
    assert len(out) == output_length(count, k) == (count - 1) * (frames_per_pair(k) + 1) + 1
    # With a linear "model", frame j sits at time j / 2^k.
    np.testing.assert_allclose([f[0, 0, 0] for f in out], np.arange(len(out)) / 2**k)
    for i, frame in enumerate(frames):  # inputs pass through untouched
        assert out[i * 2**k] is frame


def test_streams_frames_in_and_out():
    events = []

    def frames():
        for i in range(3):
            events.append(f"read {i}")
            yield np.full((1, 1, 3), float(i))

    def middle(a, b):
        events.append("middle")
        return (a + b) / 2

    for frame in interpolate_recursively(frames(), middle, 1, progress=False):
        events.append(f"out {frame[0, 0, 0]}")
    assert events == [
        "read 0",
        "out 0.0",
        "read 1",
        "middle",
        "out 0.5",
        "out 1.0",
        "read 2",
        "middle",
        "out 1.5",
        "out 2.0",
    ]


def test_rejects_frames_of_different_sizes():
    frames = [np.zeros((4, 4, 3)), np.zeros((4, 6, 3))]
    with pytest.raises(ValueError, match="differ in size"):
        list(interpolate_recursively(frames, mean_middle, 1, progress=False))
    with pytest.raises(ValueError, match=">= 0"):
        list(interpolate_recursively(frames, mean_middle, -1, progress=False))


def test_middle_frames_equal_direct_calls():
    interpolator = Interpolator(
        reference_dir("film_official_tiny"), options=reference_options("film_official_tiny")
    )
    f = video_frames("carphone_pristine.mp4", 0, 3, 2).astype(np.float32) / 255.0
    f = f[:, :48, :64]
    out = list(interpolate_recursively(iter(f), interpolator, 2, num_frames=3, reuse_features=False))
    assert len(out) == 9
    mid01 = interpolator(f[0], f[1])
    np.testing.assert_array_equal(out[2], mid01)
    np.testing.assert_array_equal(out[1], interpolator(f[0], mid01))
    np.testing.assert_array_equal(out[3], interpolator(mid01, f[1]))
    np.testing.assert_array_equal(out[6], interpolator(f[1], f[2]))
    np.testing.assert_array_equal(out[8], f[2])


@pytest.mark.parametrize("k", [1, 3])
def test_feature_reuse_equals_pair_by_pair(k):
    interpolator = Interpolator(
        reference_dir("film_official_tiny"), options=reference_options("film_official_tiny")
    )
    f = video_frames("carphone_pristine.mp4", 0, 3, 2).astype(np.float32) / 255.0
    f = f[:, :40, :56]  # padded to 48 x 64 and cropped back on every call
    plain = list(interpolate_recursively(iter(f), interpolator, k, progress=False, reuse_features=False))
    calls = {"extract": 0, "flows": 0, "synthesize": 0, "forward": 0}
    passes = interpolator._forward
    for name in calls:
        fn = getattr(passes, "_" + name if name == "forward" else name)

        def counted(*args, fn=fn, name=name):
            calls[name] += 1
            return fn(*args)

        setattr(passes, "_" + name if name == "forward" else name, counted)
    reused = list(interpolate_recursively(iter(f), interpolator, k, progress=False))
    assert len(reused) == len(plain) == 2 * 2**k + 1
    assert max(np.abs(a - b).max() for a, b in zip(plain, reused)) <= 1e-4
    # Each input frame once, plus every middle that is an end of a deeper pair.
    middles = 2 * (2**k - 1)
    assert calls == {
        "extract": 3 + 2 * (2 ** (k - 1) - 1),
        "flows": middles,
        "synthesize": middles,
        "forward": 0,
    }
