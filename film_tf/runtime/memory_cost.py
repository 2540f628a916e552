"""What a forward pass and its stages cost in memory, per input pixel.

The inputs of the one memory plan (`film_tf.runtime.tiling.MemoryPlan`, which
makes every decision): the measured peak of a whole forward pass by how it
runs, scaled to other configurations by their activation count; the exact
float32 sizes of a frame's pyramids and a pair's flows; and one synthesis
(one time of a pair: warp and fusion), estimated as the share of the
activations it materialises (not measured on its own).
"""

from __future__ import annotations

from film_tf.model.options import Options

# Peak resident memory of one forward pass (CPU, TF 2.21), bytes per input
# pixel, for the released configuration (34.4M parameters), by how the pass
# runs (see `execution_mode`). Measured 2026-11-25 with
# `python -m benchmarks.tiling_memory --probe [--noxla | --precision=bfloat16]`:
# the peak RSS growth over the loaded model between a 512x512 and a
# 1024x1024 pair, per added pixel, was 4434 (XLA float32), 6716 (tf.function
# float32: its batched halves are concatenated copies) and 4594 (bfloat16);
# rounded up. Other configurations are scaled by their activation count
# (`activation_floats_per_pixel`).
RELEASED_BYTES_PER_PIXEL_BY_MODE = {"xla": 4800.0, "plain": 7000.0, "bf16": 5000.0}
# Mode "winograd": the float32 graph with some 3x3 convolutions in Winograd
# F(4x4) (`film_tf.model.winograd.fastest_algorithm_rule`: 13 layers of the released
# model), kept apart from the table above, whose "plain" entry is the largest
# and the fallback for unmeasured modes. Measured 2026-12-02 from the peak RSS
# of `python -m benchmarks.performance --rows=inference --sizes=256x256,512x512
# --modes=plain,auto`: 8.1 KB per added pixel (plain 5.7 in the same run), and
# about 0.8 GB more fixed cost than plain (transformed kernels), spread here
# over a ~1 Mpixel tile: 10 KB per pixel.
WINOGRAD_BYTES_PER_PIXEL = 10000.0
RELEASED_BYTES_PER_PIXEL = RELEASED_BYTES_PER_PIXEL_BY_MODE["xla"]


def activation_floats_per_pixel(options: Options) -> float:
    """A proxy for a forward pass's activation count per input pixel.

    Sums the channels the network materialises at each pyramid level (two
    feature pyramids and their sub-tree convolutions, two flow estimations,
    warped pyramids and the fusion decoder), weighted by the level's share
    of pixels (4^-level).
    """
    o = options
    feats = o.feature_channels
    total = 0.0
    for i in range(o.pyramid_levels):
        scale = 4.0**-i
        depth = min(o.pyramid_levels - i, o.sub_levels)
        # Sub-tree convolutions run on image level i, to its depth j, at 4^-(i+j).
        sub = sum(2 * (o.filters << j) * 4.0**-j for j in range(depth))
        estimator = min(i, o.specialized_levels)
        flow = o.flow_convs[estimator] * o.flow_filters[estimator] + 2 * feats[i]
        total += scale * (2 * (3 + sub + feats[i]) + 2 * flow)
    for k, aligned in enumerate(o.fusion_channels):
        width = o.filters << min(k, o.specialized_levels)
        total += 4.0**-k * (2 * aligned + 4 * width)
    return total


def pyramid_bytes_per_pixel(options: Options) -> float:
    """Bytes per input pixel of one frame's image and feature pyramids
    (float32), as `FilmNet.extract` returns them."""
    return 4.0 * sum((3 + c) * 4.0**-i for i, c in enumerate(options.feature_channels))


def flow_bytes_per_pixel(options: Options) -> float:
    """Bytes per input pixel of one pair's `FilmNet.estimate_flows` result
    (float32): two residual pyramids (pyramid_levels) and two flow pyramids
    (fusion_pyramid_levels), 2 channels each."""

    def levels(n: int) -> float:
        return sum(4.0**-i for i in range(n))

    return 4.0 * 2 * 2 * (levels(options.pyramid_levels) + levels(options.fusion_pyramid_levels))


def pair_bytes_per_pixel(options: Options) -> float:
    """Bytes per input pixel a pair's state holds between its syntheses:
    both frames' pyramids and the pair's flows."""
    return 2 * pyramid_bytes_per_pixel(options) + flow_bytes_per_pixel(options)


def synthesis_floats_per_pixel(options: Options) -> float:
    """A proxy for one synthesis's activation count per input pixel (one
    time of a pair): the fusion decoder as `activation_floats_per_pixel`
    counts it, plus the pair's pyramids repeated for that time (2 (3 + c)
    per fusion level), weighted by the level's share of pixels."""
    o = options
    total = 0.0
    for k, aligned in enumerate(o.fusion_channels):
        width = o.filters << min(k, o.specialized_levels)
        total += 4.0**-k * (2 * aligned + 4 * width + (aligned - 4))
    return total


def synthesis_bytes_per_pixel(options: Options, mode: str = "xla") -> float:
    """Estimated peak bytes per input pixel of one more time in a synthesis
    call: the measured whole-pass peak (`bytes_per_pixel`) times the share of
    the activations one synthesis materialises (an estimate from activation
    counts; not measured on its own)."""
    share = synthesis_floats_per_pixel(options) / activation_floats_per_pixel(options)
    return bytes_per_pixel(options, mode) * share


def execution_mode(precision: str = "float32", jit_compile: bool = True, winograd: bool = False) -> str:
    """The memory key of a way of running (`bytes_per_pixel`): "xla", "bf16",
    "winograd" (Winograd convolutions in float32, `WINOGRAD_BYTES_PER_PIXEL`;
    with XLA too, unmeasured), or "plain" (also for the unmeasured bfloat16 + XLA)."""
    if precision == "float32":
        if winograd:
            return "winograd"
        return "xla" if jit_compile else "plain"
    return "plain" if jit_compile else "bf16"


def bytes_per_pixel(options: Options, mode: str = "xla") -> float:
    """Estimated peak bytes per input pixel of one forward pass for `options`
    run in `mode` (see `execution_mode`)."""
    released = activation_floats_per_pixel(Options())
    per_pixel = WINOGRAD_BYTES_PER_PIXEL if mode == "winograd" else RELEASED_BYTES_PER_PIXEL_BY_MODE[mode]
    return per_pixel * activation_floats_per_pixel(options) / released
