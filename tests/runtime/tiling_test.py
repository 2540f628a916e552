"""Overlapping tiles: coverage, weights that sum to one, and no seams."""

import numpy as np
import pytest

from film_tf import Options
from film_tf.runtime.inference import Interpolator, load_forward
from film_tf.runtime.tiling import (
    FRAME_BYTES_PER_PIXEL,
    OUTPUT_BYTES_PER_PIXEL,
    RELEASED_BYTES_PER_PIXEL,
    RELEASED_BYTES_PER_PIXEL_BY_MODE,
    RUNTIME_OVERHEAD_BYTES,
    MemoryPlan,
    TilePlan,
    bytes_per_pixel,
    edge_weights,
    execution_mode,
    pair_bytes_per_pixel,
    plan_tiles,
    pyramid_bytes_per_pixel,
    synthesis_bytes_per_pixel,
    tile_size_for_budget,
    tile_starts,
    tiled_apply,
)
from tests.conftest import reference_dir, reference_options, video_frames


@pytest.mark.parametrize(
    "length, tile, overlap, alignment",
    [
        (448, 256, 64, 16),
        (2176, 1088, 128, 64),
        (3840, 1088, 128, 64),
        (1000, 200, 40, 8),
        (256, 256, 64, 16),
    ],
)
def test_tile_starts_cover_with_overlap(length, tile, overlap, alignment):
    starts = tile_starts(length, tile, overlap, alignment)
    assert starts[0] == 0 and starts[-1] + tile == length
    assert all(s % alignment == 0 for s in starts)
    gaps = np.diff(starts)
    assert np.all(gaps > 0) and np.all(tile - gaps >= overlap)


def test_raw_weights_sum_to_one_when_overlaps_fit_exactly():
    # 448 = 2 * 256 - 64 and 640 = 3 * 256 - 2 * 64: every overlap is exactly
    # the requested one, so the complementary raised-cosine ramps add to one
    # without normalisation.
    plan = plan_tiles(448, 640, 256, 64, 16)
    assert plan.ys == (0, 192) and plan.xs == (0, 192, 384)
    total = np.zeros((448, 640))
    for y, x in plan.boxes:
        total[y : y + 256, x : x + 256] += plan.weights(y, x)
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_edge_weights_discard_margin_and_ramp_smoothly():
    w = edge_weights(start=192, tile=256, length=640, margin=16, ramp=32)
    np.testing.assert_array_equal(w[:16], 0.0)  # discarded margin at both inner edges
    np.testing.assert_array_equal(w[-16:], 0.0)
    np.testing.assert_array_equal(w[48:-48], 1.0)
    assert np.all(np.diff(w[:64]) >= 0) and np.abs(np.diff(w)).max() < 0.05  # no jump
    border = edge_weights(start=0, tile=256, length=640, margin=16, ramp=32)
    np.testing.assert_array_equal(border[:208], 1.0)  # the frame's own border keeps its pixels


def test_tiled_apply_is_exact_for_a_pixelwise_function():
    rng = np.random.default_rng(0)
    x0, x1 = rng.random((2, 208, 336, 3), dtype=np.float32)
    plan = plan_tiles(208, 336, 96, 32, 16)
    assert len(plan.boxes) > 4
    out = tiled_apply(lambda a, b: 0.25 * a + 0.75 * b, x0, x1, plan, batch_size=3)
    np.testing.assert_allclose(out, 0.25 * x0 + 0.75 * x1, atol=1e-6)


def test_plan_rejects_unaligned_sizes():
    with pytest.raises(ValueError, match="multiples of 16"):
        plan_tiles(100, 128, 64, 16, 16)


def test_tile_size_follows_the_budget():
    options = Options()
    sides = [tile_size_for_budget(options, gb * 1e9, 128) for gb in (4, 8, 16)]
    assert sides == sorted(sides) and all(s % 64 == 0 for s in sides)
    # The forward pass of the chosen tile, plus the runtime, fits the budget.
    assert 1.5e9 + sides[1] ** 2 * RELEASED_BYTES_PER_PIXEL <= 8e9
    assert 1.5e9 + (sides[1] + 64) ** 2 * RELEASED_BYTES_PER_PIXEL > 8e9
    with pytest.raises(ValueError, match="too small"):
        tile_size_for_budget(options, 1.6e9, 128)


def test_memory_plan_reserves_runtime_and_frame_buffers_once():
    options = Options()
    bpp = bytes_per_pixel(options, "xla")
    plan = MemoryPlan(options, 8e9, overlap=128, mode="xla")
    h = w = 2048
    reserved = RUNTIME_OVERHEAD_BYTES + FRAME_BYTES_PER_PIXEL * h * w
    assert plan.usable_bytes(h, w) == pytest.approx(8e9 - reserved)
    tile = plan.tile_for(h, w)
    assert tile == tile_size_for_budget(options, 8e9 - FRAME_BYTES_PER_PIXEL * h * w, 128)
    # The tile's pass and everything reserved fit; one alignment step more would not.
    assert reserved + tile**2 * bpp <= 8e9 < reserved + (tile + 64) ** 2 * bpp
    # A small frame runs whole, several per call.
    assert plan.tile_for(256, 256) is None
    usable = 8e9 - RUNTIME_OVERHEAD_BYTES - FRAME_BYTES_PER_PIXEL * 256**2
    assert plan.per_call(256, 256, 256**2) == int(usable / bpp // 256**2) > 1
    # Pyramids of k frames fit beside one pass, or not.
    pyramids = pyramid_bytes_per_pixel(options) * 256**2
    frames = int((usable - bpp * 256**2) // pyramids)
    assert plan.fits_feature_reuse(256, 256, frames) and not plan.fits_feature_reuse(256, 256, frames + 1)
    forced = MemoryPlan(options, 8e9, overlap=128, tile_size=512)
    assert (forced.tile_for(1024, 1024), forced.tile_for(512, 256)) == (512, None)
    with pytest.raises(ValueError, match="too small"):
        MemoryPlan(options, 1.6e9, overlap=128).tile_for(4096, 4096)


def test_bytes_per_pixel_scales_with_the_model():
    assert bytes_per_pixel(Options()) == pytest.approx(RELEASED_BYTES_PER_PIXEL)
    tiny = bytes_per_pixel(reference_options("film_official_tiny"))
    assert 100 < tiny < 0.2 * RELEASED_BYTES_PER_PIXEL


@pytest.fixture(scope="module")
def large_pair():
    # 448 x 640 crops of two frames of a 720p clip with motion.
    frames = video_frames("bigbuckbunny.mp4", 60, 2, 2).astype(np.float32) / 255.0
    return frames[0, 100:548, 300:940], frames[1, 100:548, 300:940]


def _distance_to_inner_edges(plan: TilePlan) -> np.ndarray:
    def axis(length, starts, tile):
        centres = np.arange(length) + 0.5
        edges = [e for s in starts for e in (s, s + tile) if 0 < e < length]
        return np.min(np.abs(centres[:, None] - np.array(edges)[None]), axis=1)

    dy = axis(plan.height, plan.ys, plan.tile_height)
    dx = axis(plan.width, plan.xs, plan.tile_width)
    return np.minimum(dy[:, None], dx[None, :])


def test_tiled_model_matches_untiled_and_has_no_seams(large_pair):
    """The tiny official-config model, untiled vs 6 overlapping 256-px tiles,
    vs official-style non-overlapping blocks of about the same size."""
    model_forward, _ = load_forward(
        reference_dir("film_official_tiny"), reference_options("film_official_tiny")
    )

    def forward(a, b):
        return model_forward(a, b, np.full((len(a), 1), 0.5, np.float32))

    x0, x1 = large_pair
    untiled = forward(x0[None], x1[None])[0]
    scale = untiled.max() - untiled.min()

    plan = plan_tiles(448, 640, 256, 64, 16)
    tiled = tiled_apply(forward, x0, x1, plan, batch_size=3)
    error = np.abs(tiled - untiled).max(axis=-1)
    far = _distance_to_inner_edges(plan) > 64
    assert far.mean() > 0.2
    assert error[far].max() < 1e-4  # equal (float noise) away from tile borders
    # Measured: mean 0.41%, max 9.9% of the output range (blocks: 3.3%, 60%).
    assert error.mean() < 0.006 * scale and error.max() < 0.15 * scale

    blocks = TilePlan(448, 640, 224, 128, (0, 224), (0, 128, 256, 384, 512), margin=0, ramp=0)
    block_error = np.abs(tiled_apply(forward, x0, x1, blocks, batch_size=5) - untiled).max(axis=-1)
    # Overlap and blending cut the seam error several-fold.
    assert error.max() < 0.3 * block_error.max()
    assert error.mean() < 0.3 * block_error.mean()


def test_tiles_stay_seamless_at_every_time(large_pair):
    """Several times of one pair on 6 overlapping 256-px tiles (each tile
    encoded once for all times) vs the whole frame: the seam test above at
    t = 0.3 and 0.7."""
    path, options = reference_dir("film_official_tiny"), reference_options("film_official_tiny")
    whole = Interpolator(path, options=options)
    tiled = Interpolator(path, options=options, tile_size=256, overlap=64)
    x0, x1 = large_pair
    times = [0.3, 0.7]
    untiled = whole.at_times(x0, x1, times)
    frames = tiled.at_times(x0, x1, times)
    assert tiled._tile_for(448, 640) == 256 and whole._tile_for(448, 640) is None
    plan = plan_tiles(448, 640, 256, 64, 16)
    far = _distance_to_inner_edges(plan) > 64
    for t, frame, reference in zip(times, frames, untiled):
        error = np.abs(frame - reference).max(axis=-1)
        assert error[far].max() < 1e-4, t  # equal (float noise) away from tile borders
        # Near the borders as small as at t = 0.5 (measured with these clipped frames, max / mean:
        # t = 0.3 0.039 / 0.0020, 0.5 0.041 / 0.0012, 0.7 0.049 / 0.0002).
        assert error.mean() < 0.003 and error.max() < 0.06, t
    np.testing.assert_allclose(frames[0], tiled(x0, x1, 0.3), rtol=0, atol=1e-5)  # the same blend


def test_memory_plan_for_several_times():
    options = Options()
    plan = MemoryPlan.from_gb(options, 8.0, 128)
    # A pair's state: both frames' pyramids and the four flow pyramids, float32.
    flows = 4 * 2 * 2 * (sum(4.0**-i for i in range(7)) + sum(4.0**-i for i in range(5)))
    assert pair_bytes_per_pixel(options) == pytest.approx(2 * pyramid_bytes_per_pixel(options) + flows)
    # One more time costs a synthesis: under half of a whole pass for the released model.
    share = synthesis_bytes_per_pixel(options, "xla") / bytes_per_pixel(options, "xla")
    assert 0.3 < share < 0.6
    pixels = 720 * 1280
    free = plan.usable_bytes(720, 1280, outputs=7) - (2 * pyramid_bytes_per_pixel(options) + flows) * pixels
    expected = int(free // (synthesis_bytes_per_pixel(options, "xla") * pixels))
    assert plan.times_per_call(720, 1280, pixels, outputs=7) == expected >= 1
    assert plan.times_per_call(256, 256, 256 * 256, outputs=7) > 20
    # More held frames or more pairs per call leave room for fewer times.
    assert plan.times_per_call(256, 256, 256 * 256, 4) < plan.times_per_call(256, 256, 256 * 256, 1)
    # Without the stages every time is a whole pass of the pair repeated.
    assert (
        plan.times_per_call(256, 256, 256 * 256, 2, stages=False) == plan.per_call(256, 256, 256 * 256) // 2
    )
    # Every output frame is reserved: many times of one pair tile earlier.
    assert plan.reserved_bytes(720, 1280, 8) == pytest.approx(
        plan.reserved_bytes(720, 1280) + 7 * OUTPUT_BYTES_PER_PIXEL * pixels
    )
    assert plan.tile_for(1024, 1024) is None and plan.tile_for(1024, 1024, outputs=80) is not None


def test_memory_per_pixel_follows_the_execution_mode():
    assert execution_mode("float32", True) == "xla"
    assert execution_mode("float32", False) == "plain"
    assert execution_mode("bfloat16", False) == "bf16"
    assert execution_mode("bfloat16", True) == "plain"  # unmeasured: the largest
    options = Options()
    per_mode = {m: bytes_per_pixel(options, m) for m in RELEASED_BYTES_PER_PIXEL_BY_MODE}
    assert per_mode["plain"] == max(per_mode.values())
    # A costlier mode gets a smaller tile under the same budget.
    assert tile_size_for_budget(options, 8e9, 128, mode="plain") < tile_size_for_budget(options, 8e9, 128)


def test_pyramid_bytes_per_pixel():
    # Released model: (3 + 64) + (3 + 192) / 4 + (3 + 448) / 16 + (3 + 960) (1/64 + ... + 1/4096) floats.
    floats = 67 + 195 / 4 + 451 / 16 + 963 * sum(4.0**-i for i in range(3, 7))
    assert pyramid_bytes_per_pixel(Options()) == pytest.approx(4 * floats)
