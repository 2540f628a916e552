"""Multiply-add count of the FILM model, from its layer shapes.

Used by `benchmarks/performance.py` (the GFLOP/s achieved); `tests/model/cost_test.py`
checks it against the multiply-adds counted from the model's convolutions as it runs.
"""

from __future__ import annotations

from film_tf.model.options import Options


def conv_macs(options: Options, height: int, width: int) -> dict[str, int]:
    """Multiply-adds of every convolution for one (height, width) frame pair.

    Returns a dict with the totals of `feature_extractor` (both frames),
    `flow_estimator` (both directions), `fusion`, and `total`. Warping and
    pooling are not counted (they are not multiply-adds of weights).
    """
    o = options
    if height % o.alignment or width % o.alignment:
        raise ValueError(f"{height}x{width} is not a multiple of {o.alignment}.")

    def pixels(level: int) -> int:
        return (height >> level) * (width >> level)

    features = 0
    for i in range(o.pyramid_levels):
        cin = 3
        for j in range(min(o.pyramid_levels - i, o.sub_levels)):
            cout = o.filters << j
            features += pixels(i + j) * 9 * (cin * cout + cout * cout)
            cin = cout
    channels = o.feature_channels
    flow = 0
    for i in range(o.pyramid_levels):
        spec = min(i, o.specialized_levels)
        num_convs, nf = o.flow_convs[spec], o.flow_filters[spec]
        per_pixel = 9 * (2 * channels[i] * nf + (num_convs - 1) * nf * nf) + nf * (nf // 2) + (nf // 2) * 2
        flow += pixels(i) * per_pixel
    aligned = o.fusion_channels
    fusion = 0
    below = aligned[-1]
    for i in reversed(range(o.fusion_pyramid_levels - 1)):
        n = o.filters << min(i, o.specialized_levels)
        fusion += pixels(i) * (4 * below * n + 9 * (aligned[i] + n) * n + 9 * n * n)
        below = n
    fusion += pixels(0) * below * 3
    total = 2 * features + 2 * flow + fusion
    return {"feature_extractor": 2 * features, "flow_estimator": 2 * flow, "fusion": fusion, "total": total}
