"""Cascaded, scale-agnostic feature extraction (paper Sec. 3.1)."""

from __future__ import annotations

import keras
from keras import ops

from film_tf.model.tracking import track_layer_list
from film_tf.model.winograd import Conv3x3


@keras.saving.register_keras_serializable(package="film_tf")
def leaky_relu(x):
    """Leaky ReLU with slope 0.2, FILM's activation everywhere."""
    return ops.leaky_relu(x, negative_slope=0.2)


def conv3x3(filters: int, name: str, activation=leaky_relu, dtype=None) -> keras.layers.Conv2D:
    """A 3x3 "same" convolution; `dtype` is the owning layer's dtype policy.

    A `film_tf.model.winograd.Conv3x3` (a `Conv2D` with the same weights and names)
    with algorithm "direct"; `film_tf.model.winograd.set_conv_algorithm` switches it.
    """
    return Conv3x3(filters, activation=activation, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="film_tf")
class SubTreeExtractor(keras.layers.Layer):
    """The shared feature sub-tree, applied to every image-pyramid level.

    Level j of the sub-tree is two 3x3 convolutions with `filters * 2^j`
    channels (official names cfeat_conv_{2j}, cfeat_conv_{2j+1}), preceded by a
    2x2 average pool for j > 0.
    """

    def __init__(self, filters: int, sub_levels: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.sub_levels = sub_levels
        self.convs = []
        for j in range(sub_levels):
            for k in range(2):
                self.convs.append(conv3x3(filters << j, f"cfeat_conv_{2 * j + k}", dtype=self.dtype_policy))
        track_layer_list(self, "convs", self.convs)
        self.pool = keras.layers.AveragePooling2D(
            pool_size=2, strides=2, padding="valid", dtype=self.dtype_policy
        )

    def build(self, image_shape):
        channels = image_shape[-1]
        for j in range(self.sub_levels):
            for k in range(2):
                self.convs[2 * j + k].build((None, None, None, channels))
                channels = self.filters << j

    def call(self, image, depth: int):
        """Returns `depth` feature maps of `image`, finest first."""
        head = image
        outputs = []
        for j in range(depth):
            if j > 0:
                head = self.pool(head)
            head = self.convs[2 * j + 1](self.convs[2 * j](head))
            outputs.append(head)
        return outputs

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "sub_levels": self.sub_levels}


@keras.saving.register_keras_serializable(package="film_tf")
class FeatureExtractor(keras.layers.Layer):
    """Feature pyramid from an image pyramid with one shared sub-tree.

    The sub-tree runs on image level i to depth min(levels - i, sub_levels);
    feature level i concatenates subtree[i - j][j] for j = 0..min(i,
    sub_levels - 1), so from level sub_levels - 1 on every level has the same
    channels and meaning, which is what lets the flow estimator be shared.

    Call with a list of (B, H_i, W_i, 3) images; returns a list of
    (B, H_i, W_i, C_i) features, finest first.
    """

    def __init__(self, filters: int, sub_levels: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.sub_levels = sub_levels
        self.extract_sublevels = SubTreeExtractor(
            filters, sub_levels, name="sub_extractor", dtype=self.dtype_policy
        )

    def build(self, image_pyramid_shape):
        self.extract_sublevels.build(image_pyramid_shape[0])

    def call(self, image_pyramid):
        levels = len(image_pyramid)
        sub_pyramids = [
            self.extract_sublevels(image_pyramid[i], depth=min(levels - i, self.sub_levels))
            for i in range(levels)
        ]
        features = []
        for i in range(levels):
            parts = [sub_pyramids[i - j][j] for j in range(min(i, self.sub_levels - 1) + 1)]
            features.append(parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1))
        return features

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "sub_levels": self.sub_levels}
