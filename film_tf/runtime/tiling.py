"""Seamless tiling for frames larger than memory allows.

The official implementation splits large frames into non-overlapping blocks,
which leaves visible seams: a tile's border pixels lack the context the
network saw in training (motion from outside the tile, the pyramid's 'same'
padding). Here tiles overlap; each output pixel is a weighted mean of the
tiles covering it, with weights that are zero on a margin at every inner tile
edge (where the tile's own result is unreliable), rise along a raised-cosine
ramp, and are one elsewhere. Neighbouring ramps are complementary
(sin^2 + cos^2), and the sum of weights is divided out, so they sum to one
everywhere. Tile origins are multiples of the model's alignment, so every
tile sees the same pyramid grid as the whole frame.

The whole memory plan lives here (`MemoryPlan`): a process budget, less the
runtime overhead and the whole-frame buffers (both subtracted once, in
`MemoryPlan.usable_bytes`), is what the forward passes may use; from a
measured peak-memory cost per pixel of the forward pass (`bytes_per_pixel`)
(`film_tf.runtime.memory_cost`) it gives the tile size, the frames or tiles per call, and whether the
pyramids of a recursion fit beside one pass (feature reuse).

Several times of one pair (`film_tf.runtime.times`) hold the pair's state
(both frames' pyramids and the four flow pyramids, `pair_bytes_per_pixel`,
exact float32 sizes) while each time costs one synthesis (warp and fusion,
`synthesis_bytes_per_pixel`: the measured whole-pass peak scaled by the share
of the activations that synthesis materialises, an estimate, not measured
apart) and one whole output frame; `MemoryPlan.times_per_call` says how many
times one call synthesizes, and `tile_for(..., outputs=T)` whether the frame
needs tiles.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from film_tf.model.options import Options
from film_tf.runtime.memory_cost import (  # noqa: F401 (re-exported: the plan's inputs)
    RELEASED_BYTES_PER_PIXEL,
    RELEASED_BYTES_PER_PIXEL_BY_MODE,
    WINOGRAD_BYTES_PER_PIXEL,
    activation_floats_per_pixel,
    bytes_per_pixel,
    execution_mode,
    flow_bytes_per_pixel,
    pair_bytes_per_pixel,
    pyramid_bytes_per_pixel,
    synthesis_bytes_per_pixel,
    synthesis_floats_per_pixel,
)

# Memory the process needs besides the forward pass: TF runtime, weights,
# the full-size input, output and blending buffers are added separately.
RUNTIME_OVERHEAD_BYTES = 1.5e9
# Whole-frame float32 buffers per pixel besides the forward pass: the two
# inputs and their padded copies, the blending accumulators, the output.
FRAME_BYTES_PER_PIXEL = 80
DEFAULT_MEMORY_BUDGET_GB = 8.0
# Whole-frame float32 buffers per pixel of each output frame beyond the first
# (several times of one pair): the frame (3 floats) and, when tiled, its
# blending accumulator (3 floats).
OUTPUT_BYTES_PER_PIXEL = 24


def default_overlap(options: Options) -> int:
    """Tile overlap in pixels: two alignment blocks (the coarsest pyramid
    cell), at least 64, so the discarded margin and the ramp each span a
    good part of the receptive field of the finer levels."""
    return max(64, 2 * options.alignment)


def tile_size_for_budget(
    options: Options, memory_budget_bytes: float, overlap: int, batch_size: int = 1, mode: str = "xla"
) -> int:
    """Largest square tile (a multiple of the alignment) whose forward pass
    on `batch_size` tiles fits the budget, less `RUNTIME_OVERHEAD_BYTES`.

    Raises:
      ValueError: the budget is too small for a useful tile.
    """
    return _largest_tile(options, memory_budget_bytes, RUNTIME_OVERHEAD_BYTES, overlap, batch_size, mode)


def _largest_tile(
    options: Options, budget: float, reserved: float, overlap: int, batch_size: int, mode: str
) -> int:
    """`tile_size_for_budget` for a budget of which `reserved` bytes are taken."""
    alignment = options.alignment
    pixels = (budget - reserved) / (bytes_per_pixel(options, mode) * batch_size)
    side = int(math.sqrt(max(pixels, 0.0))) // alignment * alignment
    smallest = minimum_tile_size(options, overlap)
    if side < smallest:
        need = reserved + smallest**2 * bytes_per_pixel(options, mode) * batch_size
        raise ValueError(
            f"A memory budget of {budget / 1e9:.2f} GB is too small for this model: "
            f"the smallest tile ({smallest}x{smallest}) needs about {need / 1e9:.2f} GB."
        )
    return side


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    """How a process with `budget_bytes` runs a model on aligned frames.

    Attributes:
      options: the model's options.
      budget_bytes: peak memory allowed for the whole process.
      overlap: tile overlap in pixels.
      mode: how the forward pass runs (`execution_mode`).
      tile_size: force square tiles of this side (rounded down to the
        alignment) instead of sizing them from the budget.

    Raises:
      ValueError: a non-positive budget, a negative overlap, or a forced tile
        smaller than twice the overlap.
    """

    options: Options
    budget_bytes: float
    overlap: int
    mode: str = "xla"
    tile_size: int | None = None

    def __post_init__(self):
        if self.budget_bytes <= 0:
            raise ValueError(f"memory_budget_gb must be positive, got {self.budget_bytes / 1e9:g}.")
        if self.overlap < 0:
            raise ValueError(f"overlap must be non-negative, got {self.overlap}.")
        if self.tile_size is not None:
            a = self.options.alignment
            tile = int(self.tile_size) // a * a
            if tile < max(a, 2 * self.overlap):
                raise ValueError(
                    f"tile_size must be at least {max(a, 2 * self.overlap)} (twice the overlap, a multiple of {a})."
                )
            object.__setattr__(self, "tile_size", tile)

    @classmethod
    def from_gb(
        cls, options: Options, budget_gb: float, overlap: int, mode: str = "xla", tile_size: int | None = None
    ) -> MemoryPlan:
        """The plan for a budget given in GB (1e9 bytes), as the CLIs' --memory_budget_gb."""
        return cls(options, budget_gb * 1e9, overlap, mode, tile_size)

    def reserved_bytes(self, height: int, width: int, outputs: int = 1) -> float:
        """The runtime overhead and the whole-frame buffers of an (height,
        width) frame with `outputs` output frames (times of one pair)."""
        frame_bytes = FRAME_BYTES_PER_PIXEL + OUTPUT_BYTES_PER_PIXEL * max(outputs - 1, 0)
        return RUNTIME_OVERHEAD_BYTES + frame_bytes * height * width

    def usable_bytes(self, height: int, width: int, outputs: int = 1) -> float:
        """What the forward passes on an (height, width) frame may use."""
        return self.budget_bytes - self.reserved_bytes(height, width, outputs)

    def pixels_per_call(self, height: int, width: int, outputs: int = 1) -> float:
        """Input pixels one forward call may take (a whole batch)."""
        usable = max(self.usable_bytes(height, width, outputs), 0.0)
        return usable / bytes_per_pixel(self.options, self.mode)

    def tile_for(self, height: int, width: int, outputs: int = 1) -> int | None:
        """Tile side for an aligned frame (with `outputs` output frames), or
        None when it fits whole.

        Raises:
          ValueError: the budget is too small for a useful tile.
        """
        if self.tile_size is not None:
            return None if self.tile_size >= max(height, width) else self.tile_size
        if height * width <= self.pixels_per_call(height, width, outputs):
            return None
        reserved = self.reserved_bytes(height, width, outputs)
        return _largest_tile(self.options, self.budget_bytes, reserved, self.overlap, 1, self.mode)

    def per_call(self, height: int, width: int, item_pixels: int, outputs: int = 1) -> int:
        """How many items (frames or tiles) of `item_pixels` go in one call (>= 1)."""
        return max(1, int(self.pixels_per_call(height, width, outputs) // item_pixels))

    def times_per_call(
        self,
        height: int,
        width: int,
        item_pixels: int,
        items: int = 1,
        outputs: int = 1,
        held_frames: int = 2,
        stages: bool = True,
    ) -> int:
        """How many times of `items` pairs (frames or tiles of `item_pixels`)
        one call computes (>= 1).

        With the model's stages (`stages`), the pairs' state stays held
        (`held_frames` frames' pyramids and the pairs' flows) and each time
        costs one synthesis (`synthesis_bytes_per_pixel`); without them
        (exports, other backends) each time is a whole forward pass of the
        pair repeated (`per_call`).
        """
        if not stages:
            return max(1, self.per_call(height, width, item_pixels, outputs) // max(items, 1))
        pixels = item_pixels * max(items, 1)
        held = (
            held_frames * pyramid_bytes_per_pixel(self.options) + flow_bytes_per_pixel(self.options)
        ) * pixels
        free = self.usable_bytes(height, width, outputs) - held
        return max(1, int(free // (synthesis_bytes_per_pixel(self.options, self.mode) * pixels)))

    def fits_feature_reuse(self, height: int, width: int, frames: int, outputs: int = 1) -> bool:
        """Whether the pyramids of `frames` whole (height, width) frames fit
        beside one untiled forward pass (which holds a pair's flows and one
        synthesis), with `outputs` output frames per pair."""
        if self.tile_for(height, width, outputs) is not None:
            return False
        cached = frames * pyramid_bytes_per_pixel(self.options) * height * width
        forward = bytes_per_pixel(self.options, self.mode) * height * width
        return cached <= self.usable_bytes(height, width, outputs) - forward


def minimum_tile_size(options: Options, overlap: int) -> int:
    """Tiles must hold both inner-edge overlaps; rounded up to the alignment."""
    a = options.alignment
    return max(a, -(-2 * overlap // a) * a)


def tile_starts(length: int, tile: int, overlap: int, alignment: int) -> list[int]:
    """Origins of tiles of size `tile` covering [0, length), overlapping by at
    least `overlap`, at multiples of `alignment` (length and tile must be
    multiples of it), spread evenly; the last tile ends at `length`."""
    if tile >= length:
        return [0]
    stride = tile - overlap
    if stride < alignment:
        raise ValueError(f"Tile size {tile} must exceed the overlap {overlap} by at least {alignment}.")
    count = -(-(length - tile) // stride) + 1
    while True:
        starts = [round(i * (length - tile) / (count - 1) / alignment) * alignment for i in range(count)]
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        if all(tile - g >= overlap for g in gaps):
            return starts
        count += 1  # Rounding to the alignment widened a gap.


def edge_weights(start: int, tile: int, length: int, margin: int, ramp: int) -> np.ndarray:
    """1-D blend weights of one tile: zero on `margin` pixels at each inner
    edge, a raised-cosine ramp of `ramp` pixels, one inside and at the frame's
    own borders."""
    d = np.arange(tile, dtype=np.float64)
    rise = np.clip((d - margin + 0.5) / max(ramp, 1), 0.0, 1.0)
    rise = 0.5 - 0.5 * np.cos(np.pi * rise)
    w = np.ones(tile)
    if start > 0:
        w *= rise
    if start + tile < length:
        w *= rise[::-1]
    return w


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """Where the tiles of an (height, width) frame lie, and how they blend."""

    height: int
    width: int
    tile_height: int
    tile_width: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    margin: int
    ramp: int

    @property
    def boxes(self) -> list[tuple[int, int]]:
        return [(y, x) for y in self.ys for x in self.xs]

    def weights(self, y: int, x: int) -> np.ndarray:
        wy = edge_weights(y, self.tile_height, self.height, self.margin, self.ramp)
        wx = edge_weights(x, self.tile_width, self.width, self.margin, self.ramp)
        return np.outer(wy, wx).astype(np.float32)


def plan_tiles(height: int, width: int, tile: int, overlap: int, alignment: int) -> TilePlan:
    """Plans square tiles of side `tile` (clipped to the frame) over an aligned frame.

    A quarter of the overlap at each inner edge is discarded (margin), the
    middle half is the blending ramp.
    """
    if height % alignment or width % alignment or tile % alignment:
        raise ValueError(f"Frame {height}x{width} and tile {tile} must be multiples of {alignment}.")
    th, tw = min(tile, height), min(tile, width)
    if (th < height or tw < width) and tile < 2 * overlap:
        raise ValueError(f"Tile size {tile} must be at least twice the overlap ({overlap}).")
    margin = overlap // 4
    ramp = overlap - 2 * margin
    return TilePlan(
        height,
        width,
        th,
        tw,
        tuple(tile_starts(height, th, overlap, alignment)),
        tuple(tile_starts(width, tw, overlap, alignment)),
        margin,
        ramp,
    )


def tiled_apply(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x0: np.ndarray,
    x1: np.ndarray,
    plan: TilePlan,
    batch_size: int = 1,
    progress: bool = False,
) -> np.ndarray:
    """Runs `fn` on overlapping tiles of an aligned pair and blends the results.

    Args:
      fn: maps a batch of tile pairs (B, th, tw, C) to outputs (B, th, tw, C').
      x0, x1: (H, W, C) frames, H and W as in `plan`.
      plan: from `plan_tiles`.
      batch_size: tiles per call of `fn`.
      progress: show a tqdm bar over tiles.

    Returns:
      The blended (H, W, C') output.
    """
    boxes = plan.boxes
    th, tw = plan.tile_height, plan.tile_width
    out = None
    total = np.zeros((plan.height, plan.width, 1), np.float32)
    bar = None
    if progress and len(boxes) > 1:
        from tqdm import tqdm

        bar = tqdm(total=len(boxes), desc="tiles", unit="tile", leave=False)
    for i in range(0, len(boxes), batch_size):
        chunk = boxes[i : i + batch_size]
        a = np.stack([x0[y : y + th, x : x + tw] for y, x in chunk])
        b = np.stack([x1[y : y + th, x : x + tw] for y, x in chunk])
        result = np.asarray(fn(a, b))
        if out is None:
            out = np.zeros((plan.height, plan.width, result.shape[-1]), np.float32)
        for (y, x), tile in zip(chunk, result):
            w = plan.weights(y, x)[..., None]
            out[y : y + th, x : x + tw] += tile * w
            total[y : y + th, x : x + tw] += w
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return out / total
