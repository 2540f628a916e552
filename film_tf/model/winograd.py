"""Winograd F(2x2,3x3) and F(4x4,3x3) for FILM's 3x3 "same" stride-1 convolutions.

Winograd's minimal filtering (Lavin & Gray 2016) computes an m x m output
tile of a 3x3 correlation from an (m+2) x (m+2) input tile with (m+2)^2
multiplies per input/output channel pair instead of 9 m^2: 2.25x fewer for
m = 2, 4x fewer for m = 4. With input tiles `d`, kernel `g` and the
transform matrices below, one output tile is

    Y = AT [(G g G^T) * (BT d BT^T)] AT^T        (* elementwise)

and the channel sums become (m+2)^2 independent matrix products, one per
"frequency". Everything here is `keras.ops`, so it runs on every backend.

`Conv3x3` (class name `Conv2D`, see there) is the Keras layer of the model's
3x3 convolutions (made by `film_tf.model.feature_extractor.conv3x3`): a `Conv2D`
with the same weights and names plus an `algorithm` attribute ("direct",
"winograd2", "winograd4"); `set_conv_algorithm(model, ...)` switches a built
model, `fastest_algorithm_rule()` is what measured fastest on this CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import keras
import numpy as np
from keras import ops

ALGORITHMS = ("direct", "winograd2", "winograd4")
_TILE = {"winograd2": 2, "winograd4": 4}

# F(2x2, 3x3): interpolation points 0, 1, -1, infinity.
_BT2 = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
_G2 = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)
_AT2 = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)
# F(4x4, 3x3): points 0, 1, -1, 2, -2, infinity.
_BT4 = np.array(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    np.float64,
)
_G4 = np.array(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ],
    np.float64,
)
_AT4 = np.array(
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], np.float64
)


def transform_matrices(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(BT, G, AT) of F(m x m, 3x3): shapes (m+2, m+2), (m+2, 3), (m, m+2), float64."""
    if m == 2:
        return _BT2, _G2, _AT2
    if m == 4:
        return _BT4, _G4, _AT4
    raise ValueError(f"Winograd tile size must be 2 or 4, got {m}.")


def _left_multiply(matrix: np.ndarray, x, inner: int | None = None):
    """`matrix` (r, k) times the first axis of (k, X) `x` -> (r, X); with
    `inner`, `x` is read as (inner, k, X/inner) and the second axis is
    multiplied instead -> (inner, r, X/inner)."""
    mat = ops.convert_to_tensor(matrix.astype(np.float32))
    if inner is None:
        return ops.matmul(mat, x)
    x = ops.reshape(x, (inner, matrix.shape[1], -1))
    return ops.matmul(ops.expand_dims(mat, 0), x)


def transform_kernel(kernel, m: int):
    """(3, 3, Cin, Cout) kernel -> U = G g G^T per channel pair: ((m+2)^2, Cin, Cout)."""
    _, g, _ = transform_matrices(m)
    n = m + 2
    shape = ops.shape(kernel)
    u = _left_multiply(g, _left_multiply(g, ops.reshape(kernel, (3, -1))), n)
    return ops.reshape(u, (n * n, shape[2], shape[3]))


def _tiles_along(x, axis: int, m: int, tiles):
    """Overlapping (m+2)-tiles with stride m along `axis` of a padded tensor.

    `x` has (tiles + 1) * m entries along `axis`; returns it with that axis
    replaced by (tiles, m + 2): a reshape into m-blocks, each extended by the
    first two entries of the next block (no strided slices).
    """
    shape = ops.shape(x)
    blocks = ops.reshape(x, (*shape[:axis], tiles + 1, m, *shape[axis + 1 :]))
    head = [slice(None)] * axis
    this = blocks[(*head, slice(0, -1))]
    following = blocks[(*head, slice(1, None), slice(0, 2))]
    return ops.concatenate([this, following], axis=axis + 1)


def winograd_conv3x3(x, kernel, bias=None, m: int = 4, transformed_kernel=None):
    """3x3 "same" stride-1 correlation of (B, H, W, Cin) `x` by Winograd F(m x m, 3x3).

    Equal to `keras.ops.conv(x, kernel, padding="same") + bias` up to float
    rounding; any H, W (odd too: the tiles are cropped). `kernel` is
    (3, 3, Cin, Cout), `bias` (Cout,) or None; `transformed_kernel` is
    `transform_kernel(kernel, m)` when the caller has it already. Returns
    (B, H, W, Cout).
    """
    bt, _, at = transform_matrices(m)
    n = m + 2
    u = transform_kernel(kernel, m) if transformed_kernel is None else transformed_kernel
    shape = ops.shape(x)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    cout = ops.shape(u)[-1]
    th = (height + m - 1) // m
    tw = (width + m - 1) // m
    # One row/column of zeros before, enough after for (tiles + 1) whole m-blocks.
    pad = [[0, 0], [1, (th + 1) * m - height - 1], [1, (tw + 1) * m - width - 1], [0, 0]]
    xp = ops.pad(x, pad)
    d = _tiles_along(xp, 1, m, th)  # (B, th, n, Wp, C)
    d = _tiles_along(d, 3, m, tw)  # (B, th, n, tw, n, C)
    # Tile axes first; then BT d BT^T as two products over them, each a
    # matmul with the tiles and channels as its wide dimension.
    d = ops.reshape(ops.transpose(d, (2, 4, 0, 1, 3, 5)), (n, -1))
    v = _left_multiply(bt, _left_multiply(bt, d), n)  # (n, n, B*th*tw*C)
    # The (m+2)^2 channel products.
    prod = ops.matmul(ops.reshape(v, (n * n, -1, channels)), u)  # (n^2, B*th*tw, Cout)
    # Output transform AT M AT^T, likewise.
    y = _left_multiply(at, _left_multiply(at, ops.reshape(prod, (n, -1))), m)
    y = ops.reshape(y, (m, m, batch, th, tw, cout))
    y = ops.reshape(ops.transpose(y, (2, 3, 0, 4, 1, 5)), (batch, th * m, tw * m, cout))
    y = y[:, :height, :width]
    if bias is not None:
        y = y + bias
    return y


@keras.saving.register_keras_serializable(package="film_tf")
class Conv2D(keras.layers.Conv2D):
    """A 3x3 "same" stride-1 `keras.layers.Conv2D` whose `algorithm` can be Winograd.

    Use it as `Conv3x3` (the alias below). Same variables (`kernel`
    (3, 3, Cin, Cout), `bias`), names and initialisation as
    `keras.layers.Conv2D(filters, 3, padding="same")`; the class is *named*
    `Conv2D` on purpose: Keras names a list-held layer's weights in
    `.weights.h5` files after its class (`convs/conv2d_3/vars/0`), so any
    other name would orphan every existing weights file. `algorithm`:
    "direct" (the backend's convolution), "winograd2" or "winograd4"
    (`winograd_conv3x3` with m = 2 or 4). Winograd runs in float32 only; with
    another compute dtype (mixed_bfloat16) the layer computes directly.
    Call with (B, H, W, Cin); returns (B, H, W, filters).
    """

    def __init__(self, filters: int, kernel_size=3, algorithm: str = "direct", **kwargs):
        kwargs.setdefault("padding", "same")
        super().__init__(filters, kernel_size, **kwargs)
        if self.kernel_size != (3, 3) or self.strides != (1, 1) or self.padding != "same":
            raise ValueError("Conv3x3 is a 3x3, stride 1, 'same' convolution.")
        if self.dilation_rate != (1, 1) or self.groups != 1 or self.data_format != "channels_last":
            raise ValueError("Conv3x3 supports no dilation, groups or channels_first.")
        self.algorithm = algorithm

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @algorithm.setter
    def algorithm(self, value: str) -> None:
        if value not in ALGORITHMS:
            raise ValueError(f"Conv3x3 algorithm must be one of {ALGORITHMS}, got {value!r}.")
        self._algorithm = value
        self._set_frozen(None)

    def _set_frozen(self, value) -> None:
        # Outside Keras/TF attribute tracking: a cache, not part of the layer's state.
        object.__setattr__(self, "_frozen_kernel", value)

    @property
    def frozen(self) -> bool:
        """Whether the layer uses a transformed kernel computed once (`freeze`)."""
        return self._frozen_kernel is not None

    def freeze(self) -> None:
        """Transforms the kernel now, once, for all later calls (inference only).

        Saves the kernel transform (up to ~0.5 s per call for the widest
        fusion layer) in every call, at (m+2)^2 / 9 times the kernel's memory.
        The cache does not follow later changes of the weights: call
        `freeze()` (or set the algorithm) again after loading new ones.
        Call it eagerly, outside any traced function. Only for a built layer
        with a Winograd algorithm; otherwise it drops the cache.
        """
        if self.algorithm == "direct" or not self.built:
            self._set_frozen(None)
            return
        u = transform_kernel(ops.convert_to_tensor(self.kernel.value), _TILE[self.algorithm])
        self._set_frozen((self.algorithm, u))

    def call(self, inputs):
        if self.algorithm == "direct" or self.compute_dtype != "float32":
            return super().call(inputs)
        bias = self.bias if self.use_bias else None
        frozen = self._frozen_kernel
        u = frozen[1] if frozen is not None and frozen[0] == self.algorithm else None
        outputs = winograd_conv3x3(inputs, self.kernel, bias, _TILE[self.algorithm], transformed_kernel=u)
        if self.activation is not None:
            return self.activation(outputs)
        return outputs

    def get_config(self):
        return {**super().get_config(), "algorithm": self.algorithm}


Conv3x3 = Conv2D


AlgorithmRule = Callable[[Conv3x3], str]


def conv3x3_layers(model) -> list[Conv3x3]:
    """Every `Conv3x3` inside `model` (a layer or a model), each once."""
    layers = [model] if isinstance(model, Conv3x3) else []
    layers += [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, Conv3x3)]
    return layers


def winograd_layer_count(model) -> int:
    """How many 3x3 convolutions of `model` run a Winograd algorithm."""
    return sum(layer.algorithm != "direct" for layer in conv3x3_layers(model))


def set_conv_algorithm(
    model, algorithm: str | Mapping[str, str] | AlgorithmRule, freeze: bool = False
) -> int:
    """Sets the algorithm of every 3x3 convolution of a built `model`.

    `algorithm`: one of `ALGORITHMS` for all layers; a mapping from layer
    path (`layer.path`, e.g. "film_net/fusion/conv2d_1") to algorithm, layers
    not in it unchanged; or a function of the layer (see
    `fastest_algorithm_rule`). `freeze`: transform the Winograd layers'
    kernels once now (`Conv3x3.freeze`; inference with fixed weights only),
    else per call. Returns how many layers changed algorithm. Takes effect
    for functions traced afterwards (re-create `tf.function`s).
    """
    changed = 0
    for layer in conv3x3_layers(model):
        if isinstance(algorithm, str):
            new = algorithm
        elif isinstance(algorithm, Mapping):
            new = algorithm.get(layer.path, layer.algorithm)
        else:
            new = algorithm(layer)
        if new != layer.algorithm:
            layer.algorithm = new
            changed += 1
        if freeze:
            layer.freeze()
        else:
            layer._set_frozen(None)
    return changed


# Measured on the 2-core AMD EPYC (Zen 4) CPU, released configuration at
# 256x256 (benchmarks/winograd_layers.py): F(4x4) beats the direct convolution
# when the layer's "reduced width" Cin * Cout / (Cin + Cout) (the multiply-adds
# saved per pixel over the channels the transforms move) is at least this, in
# both tf.function graph and XLA mode; F(2x2) was never the fastest of the
# three by a margin. (Cin, Cout) = (256, 256) -> 128: Winograd; (128, 128) -> 64:
# direct. None would mean direct everywhere.
WINOGRAD4_MIN_REDUCED_WIDTH: dict[str, float | None] = {"graph": 80, "xla": None}


def fastest_algorithm_rule(jit_compile: bool = False) -> AlgorithmRule:
    """The per-layer choice the measurements support on this CPU, for `set_conv_algorithm`.

    "winograd4" for float32 layers with Cin * Cout / (Cin + Cout) at least
    `WINOGRAD4_MIN_REDUCED_WIDTH[mode]`, "direct" for the others (and for
    layers not built yet, whose channels are unknown).
    """
    threshold = WINOGRAD4_MIN_REDUCED_WIDTH["xla" if jit_compile else "graph"]

    def rule(layer: Conv3x3) -> str:
        if threshold is None or not layer.built:
            return "direct"
        cin, cout = layer.kernel.shape[2], layer.kernel.shape[3]
        return "winograd4" if cin * cout / (cin + cout) >= threshold else "direct"

    return rule
