"""Several times of one pair: equal to separate calls, features and flows once per pair."""

import numpy as np
import pytest

from film_tf import create_model, load_official_weights
from film_tf.runtime.inference import Interpolator
from film_tf.runtime.recursive import FeatureReuse
from film_tf.runtime.times import check_times, synthesize_times
from tests.conftest import reference_dir

TINY = reference_dir("film_official_tiny")
TIMES = [0.0, 0.2, 0.5, 0.8, 1.0, 0.35]


@pytest.fixture(scope="module")
def model(options):
    model = create_model(options, "film_net")
    load_official_weights(model, TINY)
    return model


def separate(interpolator, x0, x1, times):
    return np.stack([interpolator(x0, x1, t) for t in times])


class Counted:
    """Counts calls of a `KerasPasses`' stages and whole pass, and the rows
    synthesized, inside a `with` block (the passes are restored after it)."""

    def __init__(self, passes):
        self.passes = passes
        self.calls = {"extract": 0, "flows": 0, "synthesize": 0, "forward": 0}
        self.rows = 0

    def __enter__(self):
        self.saved = {}
        for name in self.calls:
            attribute = "_forward" if name == "forward" else name
            fn = self.saved[attribute] = getattr(self.passes, attribute)

            def counted(*args, fn=fn, name=name):
                self.calls[name] += 1
                if name == "synthesize":
                    self.rows += len(args[3])
                return fn(*args)

            setattr(self.passes, attribute, counted)
        return self

    def __exit__(self, *exc):
        for attribute, fn in self.saved.items():
            setattr(self.passes, attribute, fn)


def test_at_times_equals_separate_calls_with_features_and_flows_once(interpolator, golden):
    x0, x1 = golden["x0"][0][:60, :90], golden["x1"][0][:60, :90]  # padded to 64 x 96
    expected = separate(interpolator, x0, x1, TIMES)
    with Counted(interpolator._forward) as counted:
        frames = interpolator.at_times(x0, x1, TIMES)
    assert frames.shape == (len(TIMES), 60, 90, 3) and frames.dtype == np.float32
    np.testing.assert_allclose(frames, expected, rtol=0, atol=1e-5)
    # Both frames encoded once, the pair's flows once, all six times in one synthesis.
    assert counted.calls == {"extract": 2, "flows": 1, "synthesize": 1, "forward": 0}
    assert counted.rows == len(TIMES)
    # The times really differ (the tiny test model's frames are not natural images).
    assert np.abs(frames[1] - frames[3]).mean() > 0.01


def test_times_per_call_batches_the_syntheses(interpolator, golden):
    passes = interpolator._forward
    reuse = FeatureReuse(passes, interpolator.alignment, times_per_call=4)
    a, b = reuse.encode(golden["x0"][1]), reuse.encode(golden["x1"][1])
    with Counted(passes) as counted:
        frames = reuse.frames_at(a, b, TIMES)
    assert counted.calls == {"extract": 0, "flows": 1, "synthesize": 2, "forward": 0}  # 4 + 2 times
    assert counted.rows == len(TIMES)
    np.testing.assert_allclose(
        frames, separate(interpolator, golden["x0"][1], golden["x1"][1], TIMES), atol=1e-5
    )
    assert reuse.frames_at(a, b, []).shape == (0, 64, 96, 3)
    np.testing.assert_array_equal(reuse.middle(a, b), frames[2])
    state = (a[0], b[0], passes.flows(a[0], b[0]))
    np.testing.assert_array_equal(
        synthesize_times(passes, state, np.float32(TIMES), 1),
        synthesize_times(passes, state, np.float32(TIMES), 6),
    )


def test_batches_of_pairs(interpolator, golden):
    frames = interpolator.at_times(golden["x0"], golden["x1"], [0.25, 0.5])
    assert frames.shape == (2, 2, 64, 96, 3)  # (B, T, H, W, C)
    for i in range(2):
        np.testing.assert_allclose(frames[i], separate(interpolator, golden["x0"][i], golden["x1"][i], [0.25, 0.5]),
                                   rtol=0, atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(frames[:, 1], np.clip(golden["image"], 0, 1), rtol=0, atol=1e-5)  # official
    assert interpolator.at_times(golden["x0"], golden["x1"], []).shape == (2, 0, 64, 96, 3)


def test_rgba_at_every_time(interpolator, golden):
    rng = np.random.default_rng(3)
    alpha0, alpha1 = rng.random((2, 64, 96, 1), dtype=np.float32)
    x0 = np.concatenate([golden["x0"][0], alpha0], axis=-1)
    x1 = np.concatenate([golden["x1"][0], alpha1], axis=-1)
    frames = interpolator.at_times(x0, x1, TIMES)
    assert frames.shape == (len(TIMES), 64, 96, 4)
    np.testing.assert_allclose(frames, separate(interpolator, x0, x1, TIMES), rtol=0, atol=1e-5)
    gray = interpolator.at_times(np.repeat(alpha0, 3, -1), np.repeat(alpha1, 3, -1), TIMES)
    np.testing.assert_allclose(frames[..., 3], gray.mean(-1), atol=1e-5)


def test_tiled_frames_encode_each_tile_once(options, golden):
    rng = np.random.default_rng(2)
    x0 = np.tile(golden["x0"][0], (3, 3, 1))[:150, :220] + 0.01 * rng.random((150, 220, 3), dtype=np.float32)
    x1 = np.tile(golden["x1"][0], (3, 3, 1))[:150, :220]
    tiled = Interpolator(TINY, options=options, tile_size=96, overlap=32)  # 6 tiles of 160 x 224
    expected = separate(tiled, x0, x1, TIMES)
    with Counted(tiled._forward) as counted:
        frames = tiled.at_times(x0, x1, TIMES)
    np.testing.assert_allclose(frames, expected, rtol=0, atol=1e-5)
    # All six tiles in one batch: encoded once, every time synthesized from that.
    assert counted.calls == {"extract": 2, "flows": 1, "synthesize": 1, "forward": 0}
    assert counted.rows == 6 * len(TIMES)


def test_bfloat16_at_times(options, golden):
    model = create_model(options, dtype_policy="mixed_bfloat16")
    load_official_weights(model, TINY)
    bf16 = Interpolator.from_model(model)
    exact = Interpolator(TINY, options=options)
    x0, x1 = golden["x0"][0], golden["x1"][0]
    frames = bf16.at_times(x0, x1, TIMES)
    np.testing.assert_allclose(frames, separate(bf16, x0, x1, TIMES), rtol=0, atol=2e-3)
    # Computed in bfloat16 (8-bit mantissa), yet close to float32.
    error = np.abs(frames - exact.at_times(x0, x1, TIMES)).max()
    assert 1e-4 < error < 0.05


def test_eager_first_call_runs_the_whole_pass(model, golden, interpolator):
    once = Interpolator.from_model(model, jit_compile=False, expected_calls=1)
    passes = once._forward
    eager_rows = []
    eager = passes._eager_forward
    passes._eager_forward = lambda a, b, t: eager_rows.append(len(t)) or eager(a, b, t)
    x0, x1 = golden["x0"][0], golden["x1"][0]
    with Counted(passes) as counted:
        frames = once.at_times(x0, x1, TIMES)
        # The pair repeated once per time through one eager whole pass; no stage traced.
        assert eager_rows == [len(TIMES)]
        assert counted.calls == {"extract": 0, "flows": 0, "synthesize": 0, "forward": 0}
        np.testing.assert_allclose(frames, separate(interpolator, x0, x1, TIMES), rtol=0, atol=1e-5)
        once.at_times(x0, x1, [0.5])  # the eager call is spent: the stages from now on
        assert counted.calls == {"extract": 2, "flows": 1, "synthesize": 1, "forward": 0}


def test_saved_model_export_at_times(tmp_path, model, golden, interpolator):
    from film_tf.serving import export_saved_model

    export = Interpolator(export_saved_model(model, str(tmp_path / "export")))
    calls = []
    forward = export._forward
    export._forward = lambda a, b, t: calls.append(len(t)) or forward(a, b, t)
    x0, x1 = golden["x0"][0][:50, :70], golden["x1"][0][:50, :70]
    frames = export.at_times(x0, x1, [0.2, 0.7, 0.9])
    assert calls == [3]  # the pair repeated three times, in one call
    np.testing.assert_allclose(frames, interpolator.at_times(x0, x1, [0.2, 0.7, 0.9]), rtol=0, atol=1e-5)
    # t != 0.5 really reached the export.
    assert np.abs(frames[0] - export(x0, x1)).mean() > 0.005


@pytest.mark.parametrize("bad, shown", [(1.5, "1.5"), (-0.1, "-0.1"), (float("nan"), "nan")])
def test_times_outside_zero_one_are_one_error_line(interpolator, golden, bad, shown):
    x0, x1 = golden["x0"][0], golden["x1"][0]
    message = rf"^time must be in \[0, 1\] \(0: the first frame, 1: the second\), got {shown}\.$"
    with pytest.raises(ValueError, match=message):
        interpolator.at_times(x0, x1, [0.5, bad])
    with pytest.raises(ValueError, match=message):
        interpolator(x0, x1, bad)
    reuse = interpolator.feature_reuse(x0.shape)
    with pytest.raises(ValueError, match=message):
        reuse.frames_at(reuse.encode(x0), reuse.encode(x1), [bad])
    with pytest.raises(ValueError, match="^time must be a number"):
        check_times("soon")


def test_at_times_rejects_bad_frames(interpolator):
    x = np.zeros((32, 32, 3), np.float32)
    with pytest.raises(ValueError, match="differ in size"):
        interpolator.at_times(x, np.zeros((32, 48, 3), np.float32), [0.5])
    with pytest.raises(ValueError, match="Expected frames"):
        interpolator.at_times(x[..., :2], x[..., :2], [0.5])


def test_feature_reuse_takes_its_times_per_call_from_the_memory_plan(options):
    from film_tf.runtime.memory_cost import bytes_per_pixel, pyramid_bytes_per_pixel
    from film_tf.runtime.tiling import FRAME_BYTES_PER_PIXEL, OUTPUT_BYTES_PER_PIXEL, RUNTIME_OVERHEAD_BYTES

    interpolator = Interpolator(TINY, options=options)
    reuse = interpolator.feature_reuse((60, 90, 3), 1, times_per_pair=7)
    plan = interpolator.memory
    assert reuse.times_per_call == plan.times_per_call(64, 96, 64 * 96, outputs=7, held_frames=3) > 7
    # Streaming holds 3 frames' pyramids beside one pass, and reserves the pair's 7 output frames.
    pixels = 1024 * 1024
    one_pass = RUNTIME_OVERHEAD_BYTES + (FRAME_BYTES_PER_PIXEL + bytes_per_pixel(options, plan.mode)) * pixels
    budget = one_pass + 3.2 * pyramid_bytes_per_pixel(options) * pixels
    tight = Interpolator(TINY, options=options, memory_budget_gb=budget / 1e9)
    assert tight.feature_reuse((1024, 1024, 3), 1).times_per_call == 1
    assert (
        budget - one_pass
        < 3 * pyramid_bytes_per_pixel(options) * pixels + 7 * OUTPUT_BYTES_PER_PIXEL * pixels
    )
    assert tight.feature_reuse((1024, 1024, 3), 1, times_per_pair=7) is None


def test_winograd_passes_synthesize_one_time_per_call(interpolator, golden):
    """Batching times slows Winograd syntheses (benchmarks/TIME_RESULTS.md): one time per
    call whatever the plan allows, with the same frames."""
    passes = interpolator._forward
    a, b = golden["x0"][1:2], golden["x1"][1:2]
    state = (passes.extract(a), passes.extract(b))
    state = (*state, passes.flows(*state))
    batched = synthesize_times(passes, state, np.float32(TIMES), 6)
    sizes, synthesize, mode = [], passes.synthesize, passes.mode
    passes.synthesize = lambda *args: sizes.append(len(args[3])) or synthesize(*args)
    passes.mode = "winograd"
    try:
        single = synthesize_times(passes, state, np.float32(TIMES), 6)
    finally:
        passes.synthesize, passes.mode = synthesize, mode
    assert sizes == [1] * len(TIMES)
    np.testing.assert_allclose(single, batched, atol=1e-6)
