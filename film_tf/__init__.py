"""film_tf: FILM (Frame Interpolation for Large Motion) in TensorFlow / Keras 3."""

from film_tf.interpolator import FilmNet, create_model
from film_tf.official_weights import load_official_weights
from film_tf.options import Options
from film_tf.warp import dense_image_warp, warp

__version__ = "0.1.0"

__all__ = [
    "FilmNet",
    "Options",
    "create_model",
    "dense_image_warp",
    "load_official_weights",
    "warp",
]
