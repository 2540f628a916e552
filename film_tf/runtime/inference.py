"""Inference for people: two frames in, the frame at time t between them out.

`Interpolator(model_path)` runs any model `film_tf.formats.model_io` loads (see
`model_io.describe`): a film_tf SavedModel through its `serving_default`
signature as it was exported, a film_tf `.onnx` export through onnxruntime
(`film_tf.formats.onnx_file.load_onnx_function`), every other kind (official SavedModel or its
`variables/`, `.weights.h5` + options JSON, a film-train run or checkpoint,
and with no path the bundled default model) as a compiled Keras pass.

Calling it pads the frames to the model's alignment (`film_tf.runtime.padding`),
runs the forward pass (on overlapping tiles when the frame is too large for
the memory budget: `film_tf.runtime.tiling.MemoryPlan`) and crops back.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from film_tf.formats import model_io
from film_tf.model.options import Options
from film_tf.runtime import execution_choice, padding
from film_tf.runtime.passes import KerasPasses, as_time_batch, model_precision
from film_tf.runtime.recursive import FeatureReuse
from film_tf.runtime.tiling import (
    DEFAULT_MEMORY_BUDGET_GB,
    MemoryPlan,
    default_overlap,
    plan_tiles,
    tiled_apply,
)
from film_tf.runtime.times import check_times, frames_at_times

PRECISIONS = {"float32": None, "bfloat16": "mixed_bfloat16"}
# XLA pays off for wide models only, and only on some CPUs: on Sapphire
# Rapids (AMX) the released model (filters 64) took 1.20 s instead of 1.46 s
# at 256x256; on AMD EPYC Zen 4 (no AMX) 2.10 s instead of 1.92 s. The
# choice is `film_tf.runtime.execution_choice`'s.
XLA_MIN_FILTERS = execution_choice.MEASURE_MIN_FILTERS
# Callers expecting at least this many forward calls let `execution_choice`
# measure the candidates once (a few seconds) when nothing is cached.
MEASURE_MIN_CALLS = 32


def time_batch(time, batch: int) -> np.ndarray:
    """A checked scalar time, or one per batch item ((B,) or (B, 1)), as (B, 1) float32."""
    times = check_times(time)
    if np.ndim(time) and len(times) != batch:
        raise ValueError(f"Expected one time per frame pair ({batch}), got {len(times)}.")
    return as_time_batch(times[0] if not np.ndim(time) else times, batch)


def default_jit_compile(options: Options, precision: str = "float32") -> bool:
    """Whether XLA can pay off at all: float32 (XLA's CPU backend does not use
    AMX for bfloat16) and at least `XLA_MIN_FILTERS` filters. Whether it is
    used on this machine is `execution_choice.choose`'s decision."""
    return precision == "float32" and options.filters >= XLA_MIN_FILTERS


def load_forward(
    model_path: str | None,
    options: Options | None = None,
    precision: str = "float32",
    jit_compile: bool | None = None,
    expected_calls: int | None = None,
    input_bit_depth: int = 8,
) -> tuple[Callable, Options]:
    """Loads a model (see the module docstring) as a compiled forward function.

    Args:
      model_path: see the module docstring; None for the bundled model.
      options: the model's options when they cannot be read from it.
      precision: "float32", "bfloat16" (bfloat16 compute with float32
        weights; 2-3x faster on CPUs with AMX or AVX-512-BF16, slightly
        different results) or "auto" (`execution_choice.resolve_precision`
        for 8-bit frames: bfloat16 where the CPU has bfloat16 arithmetic).
        Applies to weights and official checkpoints; a film_tf SavedModel
        or ONNX model runs as it was exported (float32 or auto only).
      jit_compile: XLA-compile the forward pass; None: the fastest way
        here (`execution_choice.choose`: cached, measured or the static rule).
      expected_calls: how many forward calls the caller will make, if known:
        1 runs the first call without tracing (`KerasPasses`'
        eager_first_call); at least `MEASURE_MIN_CALLS` lets
        `execution_choice` measure the candidates when nothing is cached.
      input_bit_depth: 8 or 16, the frames' sample precision: "auto" keeps
        16-bit frames in float32.

    Returns:
      (forward, options): forward maps aligned float32 batches x0, x1
      (B, H, W, 3) and time (B, 1) to the frames at those times (B, H, W, 3); for Keras models it is
      a `KerasPasses`. options are the model's (alignment, memory cost).
    """
    execution_choice.check_precision(precision)
    model_path = model_io.resolve(model_path, options)  # A handle: its folder, checked with `options`.
    kind = model_io.describe(model_path)
    model_io.check_files(model_path, kind)  # Whole and intact files (once per process), one line.
    if options is None:
        options = model_io.options_for(model_path)
    if kind in model_io.EXPORTED_KINDS:
        exported = model_io.get_kind(kind)
        if precision == "bfloat16" or jit_compile:
            setting = f"precision '{precision}'" if precision == "bfloat16" else "XLA compilation"
            raise ValueError(
                f"{setting} applies to weights files and checkpoints; "
                f"{exported.what} ('{model_path}') runs as it was exported."
            )
        return exported.forward(model_path), options
    precision = execution_choice.resolve_precision(precision, input_bit_depth, jit_compile=jit_compile)
    # The forward pass needs `image` only; skipping the auxiliary outputs
    # does not change the variables.
    model = model_io.load_model(
        model_path, options=options, use_aux_outputs=False, dtype_policy=PRECISIONS[precision]
    )
    # Loaded weights stay fixed: the Winograd kernels are transformed once.
    return chosen_passes(model, options, precision, jit_compile, expected_calls, freeze=True), options


def chosen_passes(
    model,
    options: Options,
    precision: str = "float32",
    jit_compile: bool | None = None,
    expected_calls: int | None = None,
    freeze: bool = False,
) -> KerasPasses:
    """`KerasPasses` of `model` run the way `execution_choice.choose` picks
    (its `Choice` in `.choice`); arguments as for `load_forward`. `freeze`:
    the weights will not change (not during training), so Winograd layers
    transform their kernels once instead of in every call."""
    choice = execution_choice.choose(
        options,
        precision,
        jit_compile,
        model,
        many_calls=(expected_calls or 0) >= MEASURE_MIN_CALLS,
        freeze=freeze,
    )
    execution_choice.apply(model, choice.candidate, precision, freeze=freeze)
    passes = KerasPasses(model, choice.candidate.jit_compile, eager_first_call=expected_calls == 1)
    passes.choice = choice
    return passes


def _as_batches(x0, x1) -> tuple[np.ndarray, np.ndarray, bool]:
    """Checked float32 (B, H, W, 3|4) batches of two frames or batches, and
    whether they were single (H, W, C) frames; ValueError in one line."""
    x0 = np.asarray(x0, np.float32)
    x1 = np.asarray(x1, np.float32)
    if x0.shape != x1.shape:
        raise ValueError(f"The frames differ in size: {x0.shape} vs {x1.shape}.")
    single = x0.ndim == 3
    if single:
        x0, x1 = x0[None], x1[None]
    if x0.ndim != 4 or x0.shape[-1] not in (3, 4) or 0 in x0.shape:
        raise ValueError(f"Expected frames of shape (H, W, 3|4) or (B, H, W, 3|4), got {x0.shape[1:]}.")
    return x0, x1, single


class Interpolator:
    """FILM's frame at time t (default the middle) between two frames, at any resolution.

    Args:
      model_path: any kind of `film_tf.formats.model_io.describe` (a film_tf or
        official SavedModel, official variables/, `.weights.h5` with its
        `.json` options, a film-train run folder or checkpoint, a film_tf
        `.onnx` export: needs onnxruntime); None for the bundled default
        model.
      options: model options, for official checkpoints of non-released
        configurations or weights without a sidecar; read from the model
        otherwise (the released configuration for official checkpoints).
      memory_budget_gb: peak memory allowed for the whole process; frames
        whose forward pass would exceed it are processed in overlapping
        tiles sized to fit (see `film_tf.runtime.tiling`).
      tile_size: force square tiles of this side (rounded down to the
        alignment) instead of sizing them from the budget.
      overlap: tile overlap in pixels (default: `tiling.default_overlap`).
      progress: show a progress bar over tiles.
      precision: "float32" (default: equal to the paper's model within
        1e-4), "bfloat16" or "auto" (see `load_forward`; the binaries'
        default).
      jit_compile: XLA-compile the forward pass; None: the fastest way here
        (see `load_forward`).
      expected_calls: forward calls the caller expects (see `load_forward`;
        film-interpolate passes 1).
      input_bit_depth: 8 or 16, the frames' sample precision (see
        `load_forward`; for precision "auto").

    Call `interpolator(x0, x1, time=0.5)` with float32 (H, W, C) or
    (B, H, W, C) in [0, 1], C = 3 (RGB) or 4 (RGBA: the alpha is
    interpolated by a second pass of the model on the matte as a gray image),
    and a time in [0, 1] (scalar or one per pair); returns the frames at that
    time, same shape, clipped to [0, 1]. `at_times(x0, x1, times)` gives
    several times of one pair, its features and flows computed once.
    """

    def __init__(
        self,
        model_path: str | None = None,
        options: Options | None = None,
        memory_budget_gb: float = DEFAULT_MEMORY_BUDGET_GB,
        tile_size: int | None = None,
        overlap: int | None = None,
        progress: bool = False,
        precision: str = "float32",
        jit_compile: bool | None = None,
        expected_calls: int | None = None,
        input_bit_depth: int = 8,
    ):
        self._forward, self.options = load_forward(
            model_path, options, precision, jit_compile, expected_calls, input_bit_depth
        )
        self._configure(memory_budget_gb, tile_size, overlap, progress)

    @classmethod
    def from_model(
        cls,
        model,
        jit_compile: bool | None = False,
        expected_calls: int | None = None,
        fixed_weights: bool = False,
        **kwargs,
    ) -> Interpolator:
        """An Interpolator around an in-memory `create_model` model (e.g.
        during training); jit_compile None: as `execution_choice` picks
        (see `load_forward`); `fixed_weights`: the weights will not change
        while it is used (Winograd kernels are then transformed once: not
        during training); kwargs as for the constructor, except
        model_path, options and precision (the model's own)."""
        self = cls.__new__(cls)
        self.options = model_io.model_options(model)
        if jit_compile is None:
            self._forward = chosen_passes(
                model, self.options, model_precision(model), None, expected_calls, freeze=fixed_weights
            )
        else:
            self._forward = KerasPasses(model, jit_compile, eager_first_call=expected_calls == 1)
        self._configure(**kwargs)
        return self

    def _configure(
        self,
        memory_budget_gb: float = DEFAULT_MEMORY_BUDGET_GB,
        tile_size: int | None = None,
        overlap: int | None = None,
        progress: bool = False,
    ) -> None:
        self.alignment = self.options.alignment
        # Memory per pixel depends on how the pass runs; a SavedModel or an
        # ONNX model runs as a plain graph.
        self.mode = getattr(self._forward, "mode", "plain")
        # What ran: "float32"/"bfloat16", or an export's own ("as exported":
        # a SavedModel computes in float32, an ONNX file as it was written).
        model = getattr(self._forward, "model", None)
        self.precision = model_precision(model) if model is not None else "as exported"
        self.overlap = default_overlap(self.options) if overlap is None else int(overlap)
        self.memory = MemoryPlan.from_gb(self.options, memory_budget_gb, self.overlap, self.mode, tile_size)
        self.tile_size = self.memory.tile_size
        self.progress = progress

    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        """The (height, width) a frame is padded to (multiples of the alignment)."""
        return padding.padded_size(height, width, self.alignment)

    def _tile_for(self, height: int, width: int) -> int | None:
        """Tile side for an aligned frame, or None when it fits whole (`MemoryPlan.tile_for`)."""
        return self.memory.tile_for(height, width)

    def _frames_rgb(self, x0: np.ndarray, x1: np.ndarray, time: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) aligned, time (B, 1) -> (B, H, W, 3)."""
        _, h, w, _ = x0.shape
        tile = self._tile_for(h, w)
        if tile is None:
            per_call = self.memory.per_call(h, w, h * w)
            return np.concatenate(
                [
                    self._forward(x0[i : i + per_call], x1[i : i + per_call], time[i : i + per_call])
                    for i in range(0, len(x0), per_call)
                ]
            )
        plan = plan_tiles(h, w, tile, self.overlap, self.alignment)
        tiles_per_call = self.memory.per_call(h, w, plan.tile_height * plan.tile_width)

        def tiles_at(t):
            return lambda a, b: self._forward(a, b, np.full((len(a), 1), t, np.float32))

        return np.stack(
            [
                tiled_apply(tiles_at(t), a, b, plan, batch_size=tiles_per_call, progress=self.progress)
                for a, b, t in zip(x0, x1, time[:, 0])
            ]
        )

    def __call__(self, x0: np.ndarray, x1: np.ndarray, time=0.5) -> np.ndarray:
        """The frames at `time` between x0 and x1.

        Args:
          x0, x1: float32 (H, W, C) or (B, H, W, C) in [0, 1], C = 3 or 4.
          time: in [0, 1] (0: x0, 1: x1; default 0.5, the middle): a scalar,
            or one per batch item ((B,) or (B, 1)).

        Returns:
          The frames at `time`, the shape of x0, clipped to [0, 1].

        Raises:
          ValueError: frames of different or unusable shapes, or a time
            outside [0, 1] (or NaN), in one line.
        """
        x0, x1, single = _as_batches(x0, x1)
        time = time_batch(time, len(x0))
        channels = x0.shape[-1]
        if channels == 4:
            # The alpha matte goes through the model as a gray image, in the
            # same batch as the colour: FILM follows the matte's own motion,
            # which is the silhouette's.
            alpha0 = np.repeat(x0[..., 3:], 3, axis=-1)
            alpha1 = np.repeat(x1[..., 3:], 3, axis=-1)
            x0 = np.concatenate([x0[..., :3], alpha0])
            x1 = np.concatenate([x1[..., :3], alpha1])
            time = np.concatenate([time, time])
        a, box = padding.pad_to_alignment(x0, self.alignment)
        b, _ = padding.pad_to_alignment(x1, self.alignment)
        mid = np.clip(padding.crop(self._frames_rgb(a, b, time), box), 0.0, 1.0).astype(np.float32)
        if channels == 4:
            n = len(mid) // 2
            mid = np.concatenate([mid[:n], mid[n:].mean(axis=-1, keepdims=True)], axis=-1)
        return mid[0] if single else mid

    def at_times(self, x0: np.ndarray, x1: np.ndarray, times) -> np.ndarray:
        """The frames at several times of one pair (or of each pair of a batch).

        Each pair's features and flows are computed once and only the warp
        and fusion run per time (`film_tf.runtime.times`; an export or a
        non-TensorFlow backend runs the whole pass on the pair repeated,
        with equal results). Frames that need tiles are encoded once per tile
        and every time is blended with the same weights.

        Args:
          x0, x1: float32 (H, W, C) or (B, H, W, C) in [0, 1], C = 3 or 4.
          times: (T,) times in [0, 1] (0: x0, 1: x1), any order.

        Returns:
          (T, H, W, C) for one pair, (B, T, H, W, C) for a batch, clipped to
          [0, 1]; equal to `self(x0, x1, t)` for each t up to float rounding.

        Raises:
          ValueError: as for calling it, in one line.
        """
        times = check_times(times)
        x0, x1, single = _as_batches(x0, x1)
        batch, channels = len(x0), x0.shape[-1]
        if not len(times):
            empty = np.zeros((batch, 0, *x0.shape[1:]), np.float32)
            return empty[0] if single else empty
        if channels == 4:  # the matte as a gray image, as `__call__` does
            x0 = np.concatenate([x0[..., :3], np.repeat(x0[..., 3:], 3, axis=-1)])
            x1 = np.concatenate([x1[..., :3], np.repeat(x1[..., 3:], 3, axis=-1)])
        a, box = padding.pad_to_alignment(x0, self.alignment)
        b, _ = padding.pad_to_alignment(x1, self.alignment)
        frames = frames_at_times(self._forward, self.memory, a, b, times, self.progress)  # (T, N, H', W', 3)
        t, n = frames.shape[:2]
        frames = padding.crop(frames.reshape(t * n, *frames.shape[2:]), box)
        frames = np.clip(frames, 0.0, 1.0).astype(np.float32).reshape(t, n, *frames.shape[1:])
        if channels == 4:
            frames = np.concatenate(
                [frames[:, :batch], frames[:, batch:].mean(axis=-1, keepdims=True)], axis=-1
            )
        frames = frames.transpose(1, 0, 2, 3, 4)  # (B, T, H, W, C)
        return frames[0] if single else frames

    def feature_reuse(
        self, shape: tuple[int, ...], times_to_interpolate: int = 1, *, times_per_pair: int = 1
    ) -> FeatureReuse | None:
        """A `FeatureReuse` for (H, W, 3) frames of `shape`: every frame
        encoded once, every pair's flows estimated once (`frames_at`); or
        None where it does not apply: a SavedModel or non-TF backend, RGBA
        frames, frames that need tiles, or too little memory to keep the
        pyramids of the k + 2 frames a recursion of depth k =
        `times_to_interpolate` holds at once (streaming callers that hold
        two or three encodings pass 1) beside one pass. `times_per_pair`:
        how many times `frames_at` will be asked per pair (their output
        frames are reserved; the times per call follow from the plan, one
        for Winograd passes: `times.synthesize_times`). Use
        `at_times` where it returns None."""
        passes = self._forward
        if not getattr(passes, "supports_reuse", False) or len(shape) != 3 or shape[-1] != 3 or 0 in shape:
            return None
        h, w = self.padded_size(shape[0], shape[1])
        held = max(times_to_interpolate, 0) + 2
        outputs = max(1, times_per_pair)
        if not self.memory.fits_feature_reuse(h, w, held, outputs):
            return None
        per_call = self.memory.times_per_call(h, w, h * w, outputs=outputs, held_frames=held)
        return FeatureReuse(passes, self.alignment, per_call)
