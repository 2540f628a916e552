"""The one place that turns a path into a FILM model, and a model into files.

Every kind of model path is one entry of `KIND_TABLE` (a `Kind`): how it is
recognised, where its options come from, how its weights load into a
`create_model` model (or, for an export that runs as it was exported, how
it becomes a forward function), and how a downloaded copy is checked. A new
kind is one entry here plus its own module in `film_tf/formats/`. The kinds,
in the order `describe` tries them:

  checkpoint            a film-train `ckpt-<step>` prefix, or a folder of
                        them (`train/`, with its `checkpoint` state file);
                        options from the run's config.gin.
  official_variables    an official checkpoint: the bare `variables/` folder
                        of a released SavedModel, a folder holding
                        `variables/variables.index` without saved_model.pb,
                        or a `variables/variables` prefix; the released
                        configuration (`Options()`).
  film_tf_saved_model   a SavedModel written by `film_tf.serving` (it carries
                        `film_tf.json`, at the top or in `assets/`); runs as
                        exported, or loads its variables.
  official_saved_model  a released FILM SavedModel folder (saved_model.pb, no
                        film_tf marker), e.g. film_net/Style/saved_model.
  run_folder            a film-train run: `config.gin` and `train/ckpt-<step>`.
  keras_weights         `<name>.weights.h5` with its options in the sidecar
                        `<name>.json` (`save_weights_with_options` writes both).
  keras_file            a whole Keras model file, `model.save("film.keras")`.
  onnx                  a `.onnx` file written by `film-export --format onnx`:
                        options in its metadata; it runs through onnxruntime
                        (`film_tf.Interpolator`), not as a Keras model.
  torchscript           the PyTorch port's `film_net_fp32.pt` / `film_net_fp16.pt`
                        (`film_tf.formats.torchscript_weights`, read without
                        torch): converted once to an official checkpoint in
                        the cache, then loaded like one; options from its shapes.
  bundled               None: the model shipped in `film_tf/assets/`
                        (`default_model.weights.h5` + `default_model.json`): a
                        small FILM (16 base filters, about 2.3M parameters)
                        trained with film-train on a CPU
                        (`gin_configs/default_model.gin`); the released
                        models are far better.

Every function here also takes a model handle (`film_tf.formats.hub`:
`film-style`, a TF Hub URL, hf://owner/repo): `resolve` makes it its cached
folder, downloaded once.

`load_model(path)` builds `create_model(options)` and loads the weights; the
options are the path's own unless given. The variable structure does not
depend on `pyramid_levels` (from `specialized_levels` on, every level shares
the extractor and flow estimator) nor on `use_aux_outputs`, so the same
weights load into a deeper pyramid. `load_weights_into(model, path)`
initialises an existing model (fine-tuning). Both first check that the files
are whole and intact (`check_files`; a download before it is kept).

Helpers holding file formats, part of this API (their names are importable
from here): `film_tf.formats.options_io` (options from JSON, gin, the
sidecar; `model_options`), `film_tf.formats.checkpoint_io` (TF checkpoints:
`restore_checkpoint`) and `film_tf.formats.keras_weights`
(`save_weights_with_options`). TensorFlow is imported only where a
checkpoint is read.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Callable

import keras

from film_tf.formats import (
    checkpoint_io,
    exported_saved_model,
    hub,
    integrity,
    keras_weights,
    official_weights,
    torchscript_weights,
)
from film_tf.formats.checkpoint_io import (  # noqa: F401  (part of this API)
    RUN_CHECKPOINTS,
    RUN_CONFIG,
    restore_checkpoint,
)
from film_tf.formats.keras_weights import save_weights_with_options  # noqa: F401  (part of this API)
from film_tf.formats.options_io import (  # noqa: F401  (model_options, options_sidecar_path: part of this API)
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

ONNX_SUFFIX = ".onnx"
ASSETS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")
BUNDLED_WEIGHTS_FILE = os.path.join(ASSETS_DIR, "default_model" + WEIGHTS_SUFFIX)
BUNDLED_OPTIONS_FILE = os.path.join(ASSETS_DIR, "default_model.json")
# The bundled example pair: two Big Buck Bunny frames, 640x360 PNG (CC-BY 3.0
# Blender Foundation, see ATTRIBUTION.txt there), for the README and tests.
EXAMPLES_DIR = os.path.join(ASSETS_DIR, "examples")
EXAMPLE_FRAMES = (os.path.join(EXAMPLES_DIR, "frame_0.png"), os.path.join(EXAMPLES_DIR, "frame_1.png"))


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


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of model path.

    Attributes:
      name: what `describe` returns.
      what: how messages name it ("a .keras file").
      recognise: path -> whether it is this kind (None for `bundled`, the
        path None); tried in table order, on paths that may not exist.
      options: path -> the `Options` stored with it.
      load: (model, absolute path, or None for bundled) -> None, or (the
        file or checkpoint read, the training step or None): initialises a
        `create_model` model, checking the structure first. None: not a
        Keras model (it runs through `forward` only).
      forward: path -> a function (x0, x1, time) -> frames, for kinds that
        run as they were exported (their own precision; no Keras passes).
      check: (downloaded folder, the options it will load with or None) ->
        None, raising if it is not such a model (default: `options` reads).
      runtime: what runs `forward` (messages name it).
    """

    name: str
    what: str
    recognise: Callable[[str], bool] | None
    options: Callable[[str], Options]
    load: Callable[[keras.Model, str], tuple[str, int | None] | None] | None
    forward: Callable[[str], Callable] | None = None
    check: Callable[[str, Options | None], None] | None = None
    runtime: str = "TensorFlow"  # What runs `forward`, for messages.


# ------------------------------------------- the parts of the kinds (bundled: here)


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


def _bundled_options(_: None) -> Options:
    bundled_model_path()  # A clear error if it is missing.
    return options_from_json(BUNDLED_OPTIONS_FILE)


def _load_bundled(model: keras.Model, _: None) -> tuple[str, None]:
    path = bundled_model_path()
    keras_weights.load_keras_weights(model, path)
    return path, None


def _file_ending(*suffixes: str, any_case: bool = False) -> Callable[[str], bool]:
    """A recogniser of files (not folders) whose names end in one of `suffixes`."""

    def recognise(path: str) -> bool:
        name = path.lower() if any_case else path
        return name.endswith(suffixes) and os.path.exists(path) and not os.path.isdir(path)

    return recognise


def _check_official(folder: str, options: Options | None) -> None:
    official_weights.check_official_shapes(folder, options or Options())


def _onnx(function: str) -> Callable:
    """onnx_file's `function`, imported when called (onnxruntime is optional)."""

    def call(*args):
        from film_tf.formats import onnx_file

        return getattr(onnx_file, function)(*args)

    return call


# ------------------------------------------------------------------- the table

KIND_TABLE: tuple[Kind, ...] = (
    Kind("checkpoint", "a film-train checkpoint (ckpt-<step> or its folder)", checkpoint_io.is_checkpoint,
         checkpoint_io.checkpoint_options, checkpoint_io.restore_latest),
    Kind("official_variables", "an official variables/ folder", official_weights.is_official_variables,
         lambda _: Options(), official_weights.load_official_weights, check=_check_official),
    Kind("film_tf_saved_model", "a film_tf SavedModel", exported_saved_model.is_film_tf_saved_model,
         exported_saved_model.export_options, exported_saved_model.load_export_weights,
         forward=exported_saved_model.load_serving_function),
    Kind("official_saved_model", "a SavedModel folder (with saved_model.pb)", exported_saved_model.is_saved_model,
         lambda _: Options(), official_weights.load_official_weights, check=_check_official),
    Kind("run_folder", "a film-train run folder", checkpoint_io.is_run_folder, checkpoint_io.run_options,
         checkpoint_io.restore_run),
    Kind("keras_weights", f"a {WEIGHTS_SUFFIX} file with its .json options", _file_ending(WEIGHTS_SUFFIX),
         keras_weights.sidecar_options, keras_weights.load_keras_weights),
    Kind("keras_file", f"a {KERAS_SUFFIX} file", _file_ending(KERAS_SUFFIX), options_from_keras_file,
         functools.partial(keras_weights.load_keras_weights, whole_model=True)),
    Kind("onnx", "a film_tf .onnx export", _file_ending(ONNX_SUFFIX, any_case=True), _onnx("read_options"),
         None, forward=_onnx("load_onnx_function"), runtime="onnxruntime"),
    Kind("torchscript", "the PyTorch FILM port's film_net_fp32.pt / film_net_fp16.pt",
         _file_ending(*torchscript_weights.SUFFIXES, any_case=True), torchscript_weights.read_options,
         torchscript_weights.load_torchscript_weights),
    Kind("bundled", "the bundled model", None, _bundled_options, _load_bundled),
)  # fmt: skip
_BY_NAME = {kind.name: kind for kind in KIND_TABLE}
# Kinds load_model builds a Keras model from; kinds that run outside Keras
# (through their own runtime, `film_tf.Interpolator`); kinds that run as
# they were exported (their own precision; no Keras passes).
KINDS = tuple(kind.name for kind in KIND_TABLE if kind.load is not None)
RUNTIME_KINDS = tuple(kind.name for kind in KIND_TABLE if kind.load is None)
EXPORTED_KINDS = tuple(kind.name for kind in KIND_TABLE if kind.forward is not None)


def get_kind(name: str) -> Kind:
    """The `KIND_TABLE` entry named `name` (a `describe` result)."""
    if name not in _BY_NAME:
        raise ValueError(f"Unknown model kind '{name}'; one of {', '.join(_BY_NAME)}.")
    return _BY_NAME[name]


# -------------------------------------------------------------- path -> kind


def resolve(path: str | None, options: Options | None = None) -> str | None:
    """`path`, or for a model handle (`hub.is_handle`) its cached folder; a
    new download must hold a FILM model with `options` (default: its own;
    official SavedModels: the released configuration) or is removed.
    Raises ValueError (`hub.DownloadError` among them) in one line."""
    if not hub.is_handle(path):
        return path
    return hub.resolve(path, lambda folder: _check_download(folder, options))


def check_files(path: str | None, name: str) -> None:
    """That the files of the `name` kind at `path` are whole and intact
    (`film_tf.formats.integrity`, once per process for the same files):
    DamagedModelError in one line naming the damaged file otherwise."""
    integrity.check_model_files(bundled_model_path() if name == "bundled" else path, name)


def _check_download(folder: str, options: Options | None) -> None:
    name = describe(folder)
    check_files(folder, name)  # A truncated or damaged download: one line, evicted.
    entry = get_kind(name)
    if entry.check is not None:
        entry.check(folder, options)
    elif options is None:
        entry.options(folder)  # Its stored options are readable (the load checks the rest).


def describe(path: str | None) -> str:
    """Which kind of model lies at `path` (a `KIND_TABLE` name; None is
    'bundled').

    Raises:
      FileNotFoundError: nothing at `path`.
      ValueError: `path` is not a model this package can load.
    """
    if path is None:
        return "bundled"
    path = resolve(os.fspath(path))
    for entry in KIND_TABLE:
        if entry.recognise is not None and entry.recognise(path):
            return entry.name
    if not os.path.exists(path):
        raise FileNotFoundError(f"Model not found: '{path}'.")
    whats = list(dict.fromkeys(entry.what for entry in KIND_TABLE if entry.recognise is not None))
    raise ValueError(f"'{path}' is not a FILM model: expected {', '.join(whats[:-1])}, or {whats[-1]}.")


def options_for(path: str | None) -> Options:
    """The options stored with the model at `path` (None: the bundled one).

    Official checkpoints store none: the released configuration. A
    checkpoint uses the config.gin of its run folder.
    """
    path = resolve(path)
    return get_kind(describe(path)).options(path)


# ---------------------------------------------------------------------- load


def _keras_kind(name: str, path: str | None) -> Kind:
    entry = get_kind(name)
    if entry.load is None:
        raise ValueError(
            f"'{path}' is {entry.what}: it runs through {entry.runtime} (film_tf.Interpolator), "
            "it has no Keras weights to load."
        )
    return entry


def _restore(model: keras.Model, path: str | None, name: str) -> WeightsSource:
    """Loads the weights of the `name` kind at `path` into `model`: every
    kind's weights are read here, through its `load`."""
    entry = _keras_kind(name, path)
    path = None if path is None else os.path.abspath(path)
    check_files(path, name)
    read = entry.load(model, path)  # None (it read `path`) or (what it read, the step).
    return WeightsSource(name, *(read or (path, None)))


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
    name = describe(path) if kind is None else kind
    if name == "run_folder" and not os.path.isdir(path):
        raise FileNotFoundError(f"No training run folder at '{path}'.")
    entry = _keras_kind(name, path)
    check_files(path, name)  # Before the options are read (a .keras file holds them).
    if options is None:
        options = entry.options(path)
    if use_aux_outputs is not None:
        options = dataclasses.replace(options, use_aux_outputs=use_aux_outputs)
    model = create_model(options, dtype_policy=dtype_policy)
    return model, _restore(model, path, name)


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
