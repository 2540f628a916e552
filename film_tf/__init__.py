"""film_tf: FILM (Frame Interpolation for Large Motion) in TensorFlow / Keras 3.

The public API (what the README documents): `Options`, `create_model`,
`FilmNet`, `load_official_weights`, `warp`, `dense_image_warp`,
`Interpolator`, `load_model`, `save_weights_with_options`,
`export_saved_model`.

Every name is loaded on first use (PEP 562), so `import film_tf` (and
`import film_tf.cli_utils`, which the command-line tools start with) imports
neither TensorFlow nor Keras, and no module can form an import cycle with
this one.

`film_tf.model.warp` is both a submodule and a public function. The package
attribute is always the function: importing the submodule (which binds the
module to the package attribute) stores the function instead.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__version__ = "0.1.0"

# name -> the module that owns it, imported on first use.
_LAZY = {
    "Options": "film_tf.model.options",
    "create_model": "film_tf.model.interpolator",
    "FilmNet": "film_tf.model.interpolator",
    "load_official_weights": "film_tf.formats.official_weights",
    "warp": "film_tf.model.warp",
    "dense_image_warp": "film_tf.model.warp",
    "Interpolator": "film_tf.runtime.inference",
    "load_model": "film_tf.formats.model_io",
    "save_weights_with_options": "film_tf.formats.model_io",
    "export_saved_model": "film_tf.serving",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'film_tf' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# Module paths the README documented before the package was split into layer
# folders. They keep importing, as the same module objects, with a
# DeprecationWarning; nothing is imported until one is used.
MOVED_MODULES = {
    "film_tf.inference": "film_tf.runtime.inference",
    "film_tf.image_io": "film_tf.media.image_io",
    "film_tf.model_io": "film_tf.formats.model_io",
    "film_tf.execution_choice": "film_tf.runtime.execution_choice",
    "film_tf.frame_jobs": "film_tf.jobs.frame_jobs",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old path of `MOVED_MODULES` to the module at its new path."""

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in MOVED_MODULES else None

    def create_module(self, spec):
        warnings.warn(
            f"{spec.name} moved to {MOVED_MODULES[spec.name]}; the old path will be removed.",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(MOVED_MODULES[spec.name])

    def exec_module(self, module) -> None:
        pass  # Already executed under its new name.


if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder())
