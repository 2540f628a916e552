"""Several times of one pair: its features and flows once, one synthesis per time.

FILM's feature pyramids depend on one frame, its flows on the pair, and only
the warp and the fusion on the time t (paper Sec. 3; `FilmNet.extract`,
`estimate_flows`, `synthesize`). So T frames between one pair cost one
extraction per frame, one flow estimation and T syntheses, batched as many
times per call as the memory plan (`tiling.MemoryPlan.times_per_call`) allows
(one per call for Winograd passes, where batching times measured slower).

Where the stages are not available (a film_tf SavedModel or ONNX export,
a non-TensorFlow backend, a `KerasPasses` whose first call runs eagerly) the
whole forward pass runs on the pair repeated once per time: equal results,
no saving.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from film_tf.runtime.tiling import MemoryPlan, plan_tiles, tiled_apply


def check_times(times) -> np.ndarray:
    """`times` as a float32 1-D array, each in [0, 1]; ValueError in one line otherwise."""
    try:
        array = np.asarray(times, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"time must be a number in [0, 1] or a list of them, got {times!r}.") from None
    bad = array[~((array >= 0.0) & (array <= 1.0))]  # NaN fails both comparisons.
    if len(bad):
        raise ValueError(f"time must be in [0, 1] (0: the first frame, 1: the second), got {bad[0]:g}.")
    return array.astype(np.float32)


def has_stages(forward) -> bool:
    """Whether `forward` offers the model's stages for traced calls now
    (`KerasPasses` on TensorFlow, past an eager first call)."""
    return bool(getattr(forward, "stages_ready", False))


def encode_pairs(passes, a: np.ndarray, b: np.ndarray):
    """Both frames' pyramids and the pairs' flows of aligned (N, h, w, 3)
    batches: one `extract` per frame batch, one `flows` for the pairs."""
    frame0, frame1 = passes.extract(a), passes.extract(b)
    return frame0, frame1, passes.flows(frame0, frame1)


def synthesize_times(passes, state, times: np.ndarray, times_per_call: int) -> np.ndarray:
    """The frames at `times` (T,) of N encoded pairs (`encode_pairs`),
    `times_per_call` times per `synthesize` call -> (T, N, h, w, 3) float32,
    not clipped."""
    frame0, frame1, flows = state
    n = int(frame0[0][0].shape[0])
    if getattr(passes, "mode", None) == "winograd":
        # Measured on the released configuration (benchmarks/TIME_RESULTS.md, 256x256, AMD EPYC
        # Zen 4): with Winograd convolutions (how the binaries run it there) a synthesis costs
        # 0.25 s per frame one per call and 0.30 s seven per call, while the direct graph gains
        # about 6% from batching times (0.31 -> 0.29 s). So one time per call here; pairs or
        # tiles of one time are still batched as the memory plan allows.
        times_per_call = 1
    out = []
    for i in range(0, len(times), max(1, times_per_call)):
        chunk = times[i : i + max(1, times_per_call)]
        # Time-major: the pairs' state is tiled once per time inside the call.
        time = np.repeat(chunk, n)[:, None].astype(np.float32)
        frames = np.asarray(passes.synthesize(frame0, frame1, flows, time))
        out.append(frames.reshape(len(chunk), n, *frames.shape[1:]))
    return np.concatenate(out)


def whole_pass_times(
    forward: Callable, a: np.ndarray, b: np.ndarray, times: np.ndarray, times_per_call: int
) -> np.ndarray:
    """As `synthesize_times`, from aligned (N, h, w, 3) pairs through the
    whole forward pass, each pair repeated once per time -> (T, N, h, w, 3)."""
    n = len(a)
    out = []
    for i in range(0, len(times), max(1, times_per_call)):
        chunk = times[i : i + max(1, times_per_call)]
        time = np.repeat(chunk, n)[:, None].astype(np.float32)
        reps = (len(chunk), 1, 1, 1)
        frames = np.asarray(forward(np.tile(a, reps), np.tile(b, reps), time))
        out.append(frames.reshape(len(chunk), n, *frames.shape[1:]))
    return np.concatenate(out)


def pairs_at_times(
    forward: Callable, a: np.ndarray, b: np.ndarray, times: np.ndarray, times_per_call: int
) -> np.ndarray:
    """The frames at `times` (T,) of aligned (N, h, w, 3) pairs -> (T, N, h, w, 3):
    through the stages where `forward` has them (features and flows once),
    else through the whole pass."""
    if has_stages(forward):
        return synthesize_times(forward, encode_pairs(forward, a, b), times, times_per_call)
    return whole_pass_times(forward, a, b, times, times_per_call)


def as_channels(frames: np.ndarray) -> np.ndarray:
    """(T, N, h, w, C) -> (N, h, w, T * C): every time of a tile blends with the same weights."""
    t, n, h, w, c = frames.shape
    return frames.transpose(1, 2, 3, 0, 4).reshape(n, h, w, t * c)


def from_channels(frame: np.ndarray, times: int) -> np.ndarray:
    """(H, W, T * C) -> (T, H, W, C), the inverse of `as_channels` for one frame."""
    h, w, tc = frame.shape
    return frame.reshape(h, w, times, tc // times).transpose(2, 0, 1, 3)


def frames_at_times(
    forward: Callable,
    memory: MemoryPlan,
    x0: np.ndarray,
    x1: np.ndarray,
    times: np.ndarray,
    progress: bool = False,
) -> np.ndarray:
    """Aligned (N, H, W, 3) pairs, times (T,) -> (T, N, H, W, 3), not clipped.

    Each pair's features and flows once (or each tile's, for frames that
    `memory` says need tiles: every time of a tile is blended with the same
    weights), one synthesis per time, as many per call as `memory` allows.
    """
    n, h, w, _ = x0.shape
    count, stages = len(times), has_stages(forward)
    tile = memory.tile_for(h, w, outputs=count)
    if tile is None:
        pairs = memory.per_call(h, w, h * w, outputs=count)
        out = []
        for i in range(0, n, pairs):
            a, b = x0[i : i + pairs], x1[i : i + pairs]
            per_call = memory.times_per_call(h, w, h * w, len(a), outputs=count, stages=stages)
            out.append(pairs_at_times(forward, a, b, times, per_call))
        return np.concatenate(out, axis=1)
    plan = plan_tiles(h, w, tile, memory.overlap, memory.options.alignment)
    tile_pixels = plan.tile_height * plan.tile_width
    tiles_per_call = min(memory.per_call(h, w, tile_pixels, outputs=count), len(plan.boxes))
    per_call = memory.times_per_call(h, w, tile_pixels, tiles_per_call, outputs=count, stages=stages)

    def all_times(a, b):
        return as_channels(pairs_at_times(forward, a, b, times, per_call))

    frames = [
        tiled_apply(all_times, a, b, plan, batch_size=tiles_per_call, progress=progress)
        for a, b in zip(x0, x1)
    ]
    return np.stack([from_channels(f, count) for f in frames], axis=1)
