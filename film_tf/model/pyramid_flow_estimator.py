"""Bi-directional residual flow estimation (paper Sec. 3.2)."""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

from film_tf.model.feature_extractor import conv3x3, leaky_relu
from film_tf.model.tracking import track_layer_list
from film_tf.model.warp import warp


def _upsample2x_axis(x, axis: int):
    # Half-pixel-centre bilinear 2x upsampling, the arithmetic of
    # tf.image.resize: output 2i lerps x[i-1] -> x[i] by 0.75, output 2i+1 lerps
    # x[i] -> x[i+1] by 0.25, with the border pixel repeated.
    n = ops.shape(x)[axis]
    first = ops.take(x, [0], axis=axis)
    last = ops.take(x, ops.expand_dims(n - 1, 0), axis=axis)
    prev = ops.concatenate([first, ops.take(x, ops.arange(n - 1), axis=axis)], axis=axis)
    nxt = ops.concatenate([ops.take(x, ops.arange(1, n), axis=axis), last], axis=axis)
    even = prev + (x - prev) * 0.75
    odd = x + (nxt - x) * 0.25
    shape = ops.shape(x)
    new_shape = [-1] + [2 * shape[a] if a == axis else shape[a] for a in range(1, 4)]
    return ops.reshape(ops.stack([even, odd], axis=axis + 1), new_shape)


def upsample_flow(flow):
    """Bilinearly doubles a (B, H, W, 2) flow field and its vectors: (B, 2H, 2W, 2).

    Equal to `tf.image.resize(2 * flow, (2H, 2W))`, but also for dynamic shapes.
    """
    return _upsample2x_axis(_upsample2x_axis(2.0 * flow, axis=2), axis=1)


@keras.saving.register_keras_serializable(package="film_tf")
class FlowEstimator(keras.layers.Layer):
    """Predicts a residual flow from features_a and (warped) features_b.

    concat -> `num_convs` 3x3 convs (`num_filters`, leaky ReLU) -> 1x1 conv
    (`num_filters / 2`, leaky ReLU) -> 1x1 conv (2 channels, linear).
    Call as `estimator(features_a, features_b)` with (B, H, W, C) tensors;
    returns (B, H, W, 2) flow in (dx, dy) pixels.
    """

    def __init__(self, num_convs: int, num_filters: int, **kwargs):
        super().__init__(**kwargs)
        self.num_convs = num_convs
        self.num_filters = num_filters
        dtype = self.dtype_policy
        self.convs = [conv3x3(num_filters, f"conv_{i}", dtype=dtype) for i in range(num_convs)]
        self.convs.append(
            keras.layers.Conv2D(
                num_filters // 2, 1, activation=leaky_relu, name=f"conv_{num_convs}", dtype=dtype
            )
        )
        self.convs.append(keras.layers.Conv2D(2, 1, name=f"conv_{num_convs + 1}", dtype=dtype))
        track_layer_list(self, "convs", self.convs)

    def build(self, features_a_shape, features_b_shape):
        channels = features_a_shape[-1] + features_b_shape[-1]
        for conv in self.convs:
            conv.build((None, None, None, channels))
            channels = conv.filters

    def call(self, features_a, features_b):
        net = ops.concatenate([features_a, features_b], axis=-1)
        for conv in self.convs:
            net = conv(net)
        return net

    def get_config(self):
        return {**super().get_config(), "num_convs": self.num_convs, "num_filters": self.num_filters}


@keras.saving.register_keras_serializable(package="film_tf")
class PyramidFlowEstimator(keras.layers.Layer):
    """Coarse-to-fine residual flow over a feature pyramid.

    Levels 0..specialized_levels-1 own an estimator; all coarser levels share
    one, since their features mean the same (see FeatureExtractor).

    Call as `estimator(pyramid_a, pyramid_b)`; returns the residual flow
    pyramid (finest first): the flow that warps b onto a at level i is the sum
    of the upsampled coarser flow and residual i (see `synthesize_flow_pyramid`).
    """

    def __init__(
        self, specialized_levels: int, flow_convs: Sequence[int], flow_filters: Sequence[int], **kwargs
    ):
        super().__init__(**kwargs)
        self.specialized_levels = specialized_levels
        self.flow_convs = tuple(flow_convs)
        self.flow_filters = tuple(flow_filters)
        dtype = self.dtype_policy
        self.predictors = [
            FlowEstimator(flow_convs[i], flow_filters[i], name=f"flow_predictor_{i}", dtype=dtype)
            for i in range(specialized_levels)
        ]
        track_layer_list(self, "predictors", self.predictors)
        self.shared_predictor = FlowEstimator(
            flow_convs[-1], flow_filters[-1], name="flow_predictor_shared", dtype=dtype
        )

    def predictor(self, level: int) -> FlowEstimator:
        return self.predictors[level] if level < self.specialized_levels else self.shared_predictor

    def build(self, pyramid_a_shape, pyramid_b_shape):
        for level in range(min(len(pyramid_a_shape), self.specialized_levels + 1)):
            predictor = self.predictor(level)
            if not predictor.built:
                predictor.build(pyramid_a_shape[level], pyramid_b_shape[level])

    def call(self, pyramid_a, pyramid_b):
        levels = len(pyramid_a)
        v = self.predictor(levels - 1)(pyramid_a[-1], pyramid_b[-1])
        residuals = [v]
        for i in reversed(range(levels - 1)):
            v = upsample_flow(v)
            residual = self.predictor(i)(pyramid_a[i], warp(pyramid_b[i], v))
            residuals.append(residual)
            v = residual + v
        return residuals[::-1]

    def get_config(self):
        return {
            **super().get_config(),
            "specialized_levels": self.specialized_levels,
            "flow_convs": list(self.flow_convs),
            "flow_filters": list(self.flow_filters),
        }


def synthesize_flow_pyramid(residual_pyramid: list) -> list:
    """Rebuilds the flow pyramid from residuals with the same upsample-and-add."""
    flow = residual_pyramid[-1]
    flows = [flow]
    for residual in reversed(residual_pyramid[:-1]):
        flow = residual + upsample_flow(flow)
        flows.append(flow)
    return flows[::-1]
