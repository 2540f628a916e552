"""The fusion U-Net decoder (paper Sec. 3.3)."""

from __future__ import annotations

import keras
from keras import ops

from film_tf.model.feature_extractor import conv3x3
from film_tf.model.tracking import track_layer_list


@keras.saving.register_keras_serializable(package="film_tf")
class Fusion(keras.layers.Layer):
    """Decodes the aligned pyramid into the output image.

    Level k of the input is concat(warped0_k, warped1_k, backward_flow_k,
    forward_flow_k). From the coarsest level up, each level: nearest-neighbour
    upsample, 2x2 conv (n_i channels, linear), concat with the level's input,
    two 3x3 convs (leaky ReLU); n_i = filters * 2^min(i, specialized_levels).
    A final 1x1 conv gives 3 channels.

    Call with a list of (B, H_k, W_k, C_k) tensors, finest first; returns
    (B, H_0, W_0, 3).
    """

    def __init__(self, fusion_levels: int, specialized_levels: int, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.fusion_levels = fusion_levels
        self.specialized_levels = specialized_levels
        self.filters = filters
        dtype = self.dtype_policy
        self.convs = []
        # Layer names follow creation order in the official model (Keras'
        # default names there), level 0 first, then the output conv.
        index = 0
        for i in range(fusion_levels - 1):
            n = filters << min(i, specialized_levels)
            level = [keras.layers.Conv2D(n, 2, padding="same", name=self._name(index), dtype=dtype)]
            level += [conv3x3(n, self._name(index + k), dtype=dtype) for k in (1, 2)]
            self.convs.append(level)
            index += 3
        self.output_conv = keras.layers.Conv2D(3, 1, name=self._name(index), dtype=dtype)
        track_layer_list(self, "convs", [conv for level in self.convs for conv in level])

    @staticmethod
    def _name(index: int) -> str:
        return "conv2d" if index == 0 else f"conv2d_{index}"

    def build(self, pyramid_shape):
        below = pyramid_shape[-1][-1]
        for i in reversed(range(len(pyramid_shape) - 1)):
            up, conv_a, conv_b = self.convs[i]
            up.build((None, None, None, below))
            conv_a.build((None, None, None, pyramid_shape[i][-1] + up.filters))
            conv_b.build((None, None, None, conv_a.filters))
            below = conv_b.filters
        self.output_conv.build((None, None, None, below))

    def call(self, pyramid):
        net = pyramid[-1]
        for i in reversed(range(len(pyramid) - 1)):
            # Sizes are exact multiples of 2, so nearest upsampling is a repeat.
            net = ops.repeat(ops.repeat(net, 2, axis=1), 2, axis=2)
            net = self.convs[i][0](net)
            net = ops.concatenate([pyramid[i], net], axis=-1)
            net = self.convs[i][2](self.convs[i][1](net))
        return self.output_conv(net)

    def get_config(self):
        return {
            **super().get_config(),
            "fusion_levels": self.fusion_levels,
            "specialized_levels": self.specialized_levels,
            "filters": self.filters,
        }
