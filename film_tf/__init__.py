"""film_tf: FILM (Frame Interpolation for Large Motion) in TensorFlow / Keras 3.

The public API (what the README documents):

- the model core, imported with the package: `Options`, `create_model`,
  `FilmNet`, `load_official_weights`, `warp`, `dense_image_warp`;
- loaded on first use (PEP 562), so that `import film_tf` does not pull in
  inference, file formats or the TensorFlow serving code, and none of those
  modules can form an import cycle with this one: `Interpolator`,
  `load_model`, `save_weights_with_options`, `export_saved_model`.

`warp` is imported eagerly on purpose: `film_tf.warp` is also a submodule, and
importing the submodule anywhere would otherwise bind the module, not the
function, to the package attribute.
"""

from __future__ import annotations

import importlib

from film_tf.interpolator import FilmNet, create_model
from film_tf.official_weights import load_official_weights
from film_tf.options import Options
from film_tf.warp import dense_image_warp, warp

__version__ = "0.1.0"

# name -> the module that owns it, imported on first use.
_LAZY = {
    "Interpolator": "film_tf.inference",
    "load_model": "film_tf.model_io",
    "save_weights_with_options": "film_tf.model_io",
    "export_saved_model": "film_tf.serving",
}

__all__ = [
    "FilmNet",
    "Interpolator",
    "Options",
    "create_model",
    "dense_image_warp",
    "export_saved_model",
    "load_model",
    "load_official_weights",
    "save_weights_with_options",
    "warp",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'film_tf' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
