"""The image pyramid (paper Sec. 3, "Feature extraction")."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="film_tf")
class ImagePyramid(keras.layers.Layer):
    """Builds `levels` images, each a 2x2 average pool of the previous.

    Call with a (B, H, W, C) image; returns a list, finest level first, where
    level i is (B, H / 2^i, W / 2^i, C).
    """

    def __init__(self, levels: int, **kwargs):
        super().__init__(**kwargs)
        self.levels = levels
        self.pool = keras.layers.AveragePooling2D(
            pool_size=2, strides=2, padding="valid", dtype=self.dtype_policy
        )

    def call(self, image):
        pyramid = [image]
        for _ in range(1, self.levels):
            pyramid.append(self.pool(pyramid[-1]))
        return pyramid

    def compute_output_shape(self, input_shape):
        shapes = [tuple(input_shape)]
        for _ in range(1, self.levels):
            b, h, w, c = shapes[-1]
            shapes.append((b, None if h is None else h // 2, None if w is None else w // 2, c))
        return shapes

    def get_config(self):
        return {**super().get_config(), "levels": self.levels}
