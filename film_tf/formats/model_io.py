"""The one place that turns a path into a FILM model, and a model into files.

Kinds of path (`describe`):

  bundled               None: the model shipped in `film_tf/assets/`
                        (`default_model.weights.h5` + `default_model.json`):
                        a small FILM (16 base filters, about 2.3M parameters)
                        trained with film-train on a CPU
                        (`gin_configs/default_model.gin`); the released
                        models are far better.
  keras_weights         `<name>.weights.h5` with its options in the sidecar
                        `<name>.json` (`save_weights_with_options` writes both).
  keras_file            a whole Keras model file, `model.save("film.keras")`:
                        its options are in its config.
  official_saved_model  a released FILM SavedModel folder (saved_model.pb, no
                        film_tf marker), e.g. film_net/Style/saved_model.
  official_variables    its bare `variables/` folder, or a folder holding
                        `variables/variables.index` without saved_model.pb.
  film_tf_saved_model   a SavedModel written by `film_tf.serving` (it carries
                        `film_tf.json`, at the top or in `assets/`).
  run_folder            a film-train run: `config.gin` and `train/ckpt-<step>`.
  checkpoint            a film-train `ckpt-<step>` prefix, or a folder of
                        them (`train/`, with its `checkpoint` state file).
  onnx                  a `.onnx` file written by `film-export --format onnx`
                        (`film_tf.serving.onnx_export`): its options are in
                        its metadata; it runs through onnxruntime
                        (`film_tf.Interpolator`), not as a Keras model.

Every function here also takes a model handle (`film_tf.formats.hub`: `film-style`, a TF
Hub URL, hf://owner/repo): `resolve` makes it its cached folder, downloaded once.

`load_model(path)` builds `create_model(options)` and loads the weights for every kind; the options
come from the path (sidecar, marker, config.gin; the released configuration for official checkpoints)
unless given. The variable structure does not depend on `pyramid_levels` (from `specialized_levels`
on, every level shares the extractor and flow estimator) nor on `use_aux_outputs`, so the same weights
load into a deeper pyramid. `load_weights_into(model, path)` initialises an existing model (fine-tuning).
Both first check that the files are whole and intact (`integrity`; a download before it is kept).

Two helpers hold the file formats and are part of this API (their names are
importable from here): `film_tf.formats.options_io` (options from JSON, gin, the
sidecar; `model_options`) and `film_tf.formats.checkpoint_io` (TF checkpoints:
`restore_checkpoint`). TensorFlow is imported only where a checkpoint is read.
"""

from __future__ import annotations

import dataclasses
import os

import keras

from film_tf.formats import checkpoint_io, hub, integrity, official_weights
from film_tf.formats.checkpoint_io import restore_checkpoint  # noqa: F401  (part of this API)
from film_tf.formats.exported_saved_model import film_tf_metadata_path
from film_tf.formats.official_weights import load_official_weights, official_variable_specs
from film_tf.formats.options_io import (
    KERAS_SUFFIX,
    WEIGHTS_SUFFIX,
    model_options,
    options_from_gin,
    options_from_json,
    options_from_keras_file,
    options_sidecar_path,
)
from film_tf.model.interpolator import create_model
from film_tf.model.options import Options

KINDS = (
    "bundled",
    "official_saved_model",
    "official_variables",
    "film_tf_saved_model",
    "keras_weights",
    "keras_file",
    "run_folder",
    "checkpoint",
)
# Kinds `describe` also names that run outside Keras (through their own
# runtime, `film_tf.Interpolator`): `load_model` refuses them in one line.
RUNTIME_KINDS = ("onnx",)
# Kinds that run as they were exported (their own precision; no Keras passes).
EXPORTED_KINDS = ("film_tf_saved_model", "onnx")
ONNX_SUFFIX = ".onnx"
ASSETS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")
BUNDLED_WEIGHTS_FILE = os.path.join(ASSETS_DIR, "default_model" + WEIGHTS_SUFFIX)
BUNDLED_OPTIONS_FILE = os.path.join(ASSETS_DIR, "default_model.json")
# The bundled example pair: two Big Buck Bunny frames, 640x360 PNG (CC-BY 3.0
# Blender Foundation, see ATTRIBUTION.txt there), for the README and tests.
EXAMPLES_DIR = os.path.join(ASSETS_DIR, "examples")
EXAMPLE_FRAMES = (os.path.join(EXAMPLES_DIR, "frame_0.png"), os.path.join(EXAMPLES_DIR, "frame_1.png"))
RUN_CONFIG = "config.gin"
RUN_CHECKPOINTS = "train"


@dataclasses.dataclass(frozen=True)
class WeightsSource:
    """Where a model's weights came from: the `describe` kind, the file or
    checkpoint prefix read (absolute), and the training step if known."""

    kind: str
    checkpoint: str
    step: int | None = None

    def __str__(self) -> str:
        step = f" (step {self.step})" if self.step is not None else ""
        return f"{self.kind.replace('_', ' ')} {self.checkpoint}{step}"


# ----------------------------------------------------------------- options
# (model_options, options_from_json, ...: film_tf.formats.options_io)


def bundled_model_path() -> str:
    """The bundled default model's weights file.

    Raises:
      FileNotFoundError: no default model is bundled with this install.
    """
    if not (os.path.isfile(BUNDLED_WEIGHTS_FILE) and os.path.isfile(BUNDLED_OPTIONS_FILE)):
        raise FileNotFoundError(
            "No default model is bundled with this film_tf install; pass --model_path (Python: "
            "model_path=) pointing to a released FILM SavedModel folder such as "
            "film_net/Style/saved_model, a film_tf SavedModel, or a .weights.h5 file with its .json options."
        )
    return BUNDLED_WEIGHTS_FILE


def _run_config(path: str, kind: str) -> str:
    """config.gin of a run folder, or of the run a checkpoint belongs to."""
    if kind == "run_folder":
        return os.path.join(path, RUN_CONFIG)
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return os.path.join(os.path.dirname(os.path.abspath(folder)), RUN_CONFIG)


def options_for(path: str | None) -> Options:
    """The options stored with the model at `path` (None: the bundled one).

    Official checkpoints store none: the released configuration. A
    checkpoint uses the config.gin of its run folder.
    """
    path = resolve(path)
    kind = describe(path)
    if kind == "bundled":
        bundled_model_path()  # A clear error if it is missing.
        return options_from_json(BUNDLED_OPTIONS_FILE)
    if kind in ("official_saved_model", "official_variables"):
        return Options()
    if kind == "film_tf_saved_model":
        return options_from_json(film_tf_metadata_path(path))
    if kind == "onnx":
        from film_tf.formats.onnx_file import read_options

        return read_options(path)
    if kind == "keras_weights":
        sidecar = options_sidecar_path(path)
        if not os.path.isfile(sidecar):
            raise FileNotFoundError(
                f"No options for '{path}': expected '{sidecar}' (or pass --options_json)."
            )
        return options_from_json(sidecar)
    if kind == "keras_file":
        return options_from_keras_file(path)
    config = _run_config(path, kind)
    if kind == "checkpoint" and not os.path.isfile(config):
        raise FileNotFoundError(
            f"No options for checkpoint '{path}': expected the run's '{config}' (or pass the options)."
        )
    return options_from_gin(config)


# ------------------------------------------------------------------- kinds


def resolve(path: str | None, options: Options | None = None) -> str | None:
    """`path`, or for a model handle (`hub.is_handle`) its cached folder; a
    new download must hold a FILM model with `options` (default: its own;
    official SavedModels: the released configuration) or is removed.
    Raises ValueError (`hub.DownloadError` among them) in one line."""
    if not hub.is_handle(path):
        return path
    return hub.resolve(path, lambda folder: _check_download(folder, options))


def _check_download(folder: str, options: Options | None) -> None:
    kind = describe(folder)
    integrity.check_model_files(folder, kind)  # A truncated or damaged download: one line, evicted.
    if kind in ("official_saved_model", "official_variables"):
        official_weights.check_official_shapes(folder, options or Options())
    elif options is None:
        options_for(folder)  # Its stored options are readable (the load checks the rest).


def _is_checkpoint(path: str) -> bool:
    if os.path.isfile(path + ".index"):
        return os.path.basename(path) != "variables"  # An official variables/variables prefix.
    if os.path.isfile(os.path.join(path, "checkpoint")):
        import tensorflow as tf

        return tf.train.latest_checkpoint(path) is not None
    return False


def describe(path: str | None) -> str:
    """Which kind of model lies at `path` (one of `KINDS` or `RUNTIME_KINDS`;
    None is 'bundled').

    Raises:
      FileNotFoundError: nothing at `path`.
      ValueError: `path` is not a model this package can load.
    """
    if path is None:
        return "bundled"
    path = resolve(os.fspath(path))
    if _is_checkpoint(path):
        return "checkpoint"
    if os.path.isfile(path + ".index"):
        return "official_variables"
    if not os.path.exists(path):
        raise FileNotFoundError(f"Model not found: '{path}'.")
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return "film_tf_saved_model" if film_tf_metadata_path(path) else "official_saved_model"
        if os.path.isfile(os.path.join(path, "variables", "variables.index")) or os.path.isfile(
            os.path.join(path, "variables.index")
        ):
            return "official_variables"
        if os.path.isfile(os.path.join(path, RUN_CONFIG)) or os.path.isdir(
            os.path.join(path, RUN_CHECKPOINTS)
        ):
            return "run_folder"
    elif path.endswith(WEIGHTS_SUFFIX):
        return "keras_weights"
    elif path.endswith(KERAS_SUFFIX):
        return "keras_file"
    elif path.lower().endswith(ONNX_SUFFIX):
        return "onnx"
    raise ValueError(
        f"'{path}' is not a FILM model: expected a SavedModel folder (with saved_model.pb), an official "
        f"variables/ folder, a {WEIGHTS_SUFFIX} file with its .json options, a {KERAS_SUFFIX} file, a film-train run "
        "folder or checkpoint, or a film_tf .onnx export."
    )


# ----------------------------------------------------------------- restore
# (restore_checkpoint: film_tf.formats.checkpoint_io)


def _check_structure(source: Options, model: keras.Model, path: str) -> None:
    """One-line ValueError unless weights saved with `source` options fit `model`."""
    ours = official_variable_specs(model_options(model))
    theirs = official_variable_specs(source)
    if len(ours) != len(theirs):
        raise ValueError(
            f"'{path}' holds {len(theirs)} variables, the model has {len(ours)}: "
            "the model options do not match the weights."
        )
    for (name, shape), (_, stored) in zip(ours, theirs):
        if shape != stored:
            raise ValueError(
                f"'{path}': {name} has shape {list(stored)}, the model expects {list(shape)}; "
                "the model options do not match the weights."
            )


def _load_keras_weights(model: keras.Model, path: str, kind: str = "keras_weights") -> None:
    """A .weights.h5 file (structure checked when its sidecar exists) or a
    .keras file (always checked: its options are in it)."""
    sidecar = options_sidecar_path(path)
    if kind == "keras_file":
        _check_structure(options_from_keras_file(path), model, path)
    elif os.path.isfile(sidecar):
        _check_structure(options_from_json(sidecar), model, path)
    try:
        model.load_weights(path)
    except Exception as e:  # A foreign or mismatched .h5 file.
        raise ValueError(
            f"Cannot load weights '{path}' into a film_net with options {model_options(model).to_dict()}: "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None


def _load_export(model: keras.Model, path: str) -> None:
    _check_structure(options_for(path), model, path)
    checkpoint_io.restore_export_variables(model, path)


def _restore(model: keras.Model, path: str | None, kind: str) -> WeightsSource:
    integrity.check_model_files(bundled_model_path() if kind == "bundled" else path, kind)  # Whole files.
    if kind == "bundled":
        path = bundled_model_path()
        _load_keras_weights(model, path)
        return WeightsSource(kind, path)
    path = os.path.abspath(path)
    if kind in ("official_saved_model", "official_variables"):
        load_official_weights(model, path)
    elif kind == "film_tf_saved_model":
        _load_export(model, path)
    elif kind in ("keras_weights", "keras_file"):
        _load_keras_weights(model, path, kind)
    else:
        if kind == "run_folder":
            path = checkpoint_io.latest_checkpoint(os.path.join(path, RUN_CHECKPOINTS))
        elif os.path.isdir(path):
            path = checkpoint_io.latest_checkpoint(path)
        return WeightsSource(kind, path, checkpoint_io.restore_checkpoint(model, path))
    return WeightsSource(kind, path)


def load_weights_into(model: keras.Model, path: str | None) -> str:
    """Initialises `model` (a `create_model` model, any pyramid_levels) from
    any kind of path (None: the bundled model), checking that the variable
    structure matches.

    Returns:
      A short description of the source for the log.

    Raises:
      FileNotFoundError / ValueError: nothing loadable at `path`, or weights
        that do not fit the model (one line, naming the path).
    """
    path = resolve(path)
    return str(_restore(model, path, describe(path)))


def load_model_and_source(
    path: str | None = None,
    *,
    options: Options | None = None,
    use_aux_outputs: bool | None = None,
    dtype_policy: str | None = None,
    kind: str | None = None,
) -> tuple[keras.Model, WeightsSource]:
    """`load_model`, also returning where the weights came from.

    `kind` skips the detection (`describe`) and loads `path` as that kind,
    for callers that were told what it is (film-export --run_folder).
    """
    path = resolve(path, options)
    if kind is None:
        kind = describe(path)
    elif kind == "run_folder" and not os.path.isdir(path):
        raise FileNotFoundError(f"No training run folder at '{path}'.")
    if kind == "onnx":
        raise ValueError(
            f"'{path}' is an ONNX export: it runs through onnxruntime (film_tf.Interpolator), "
            "it has no Keras weights to load."
        )
    if kind not in KINDS:
        raise ValueError(f"Unknown model kind '{kind}'; one of {', '.join(KINDS)}.")
    integrity.check_model_files(path, kind)  # Before the options are read (a .keras file holds them).
    if options is None:
        options = options_from_gin(_run_config(path, kind)) if kind == "run_folder" else options_for(path)
    if use_aux_outputs is not None:
        options = dataclasses.replace(options, use_aux_outputs=use_aux_outputs)
    model = create_model(options, dtype_policy=dtype_policy)
    return model, _restore(model, path, kind)


def load_model(
    path: str | None = None,
    *,
    options: Options | None = None,
    use_aux_outputs: bool | None = None,
    dtype_policy: str | None = None,
) -> keras.Model:
    """A `create_model` model holding the weights at `path` (see the module
    docstring for the kinds; None: the bundled model).

    Args:
      path: the model; None for the bundled one.
      options: the options to build (default: those stored with the model);
        e.g. the stored ones with a deeper pyramid_levels.
      use_aux_outputs: override the options' use_aux_outputs.
      dtype_policy: a Keras dtype policy (e.g. "mixed_bfloat16").

    Returns:
      A keras.Model {'x0', 'x1': (B, H, W, 3), 'time': (B, 1)} -> {'image':
      (B, H, W, 3), ...}; H, W multiples of the options' alignment.
    """
    return load_model_and_source(
        path, options=options, use_aux_outputs=use_aux_outputs, dtype_policy=dtype_policy
    )[0]


# -------------------------------------------------------------------- save


def save_weights_with_options(model: keras.Model, path: str) -> None:
    """Saves a `create_model` model as `<name>.weights.h5` plus `<name>.json`
    (its `Options.to_dict()`), each atomically; `load_model(path)` loads it."""
    from film_tf import files

    if not path.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"The weights file name must end in {WEIGHTS_SUFFIX}, got '{path}'.")
    options = model_options(model)
    # Keras insists on the .weights.h5 ending: keep_name.
    with files.atomic_path(path, keep_name=True) as tmp:
        model.save_weights(tmp)
        files.write_json_atomic(options_sidecar_path(path), options.to_dict())
