"""SavedModel export for TF Serving and plain `tf.saved_model.load`.

The exported SavedModel (tag `serve`) holds only the model's variables and
these signatures, all built from core TensorFlow ops (the warp is keras.ops
gathers, so no custom op library is needed by a stock model server):

  serving_default     x0, x1: float32 (B, H, W, 3) in [0, 1]; time: float32
                      (B, 1) -> image: float32 (B, H, W, 3).
  serving_bytes       encoded_x0, encoded_x1: string (B,) PNG/JPEG/BMP/GIF
                      bytes -> encoded_image: string (B,) 8-bit RGB PNGs.
  serving_bytes_rest  the same, but the output is named encoded_image_bytes:
                      TF Serving's REST API base64-encodes only outputs whose
                      name ends in `_bytes`, so REST clients use this one.
  serving_aux         (models built with use_aux_outputs) the inputs of
                      serving_default -> image, x0_warped, x1_warped (B, H, W,
                      3) and the finest forward_flow, backward_flow (B, H, W,
                      2), channels (dx, dy), in pixels.

H and W may be anything: the graph pads the inputs to the model's alignment
(2^(pyramid_levels - 1)) and crops the outputs back, see `pad_to_alignment`.
`assets/film_tf.json` marks the export as ours (options, version, padding).

Binary: `film-export --run_folder <base_folder>/<label>` (latest checkpoint of
a training run), `--official_checkpoint <released saved_model dir>` or
`--weights <file>.weights.h5`; writes `--export_dir` or
`<export_base>/<next version>/`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any

import tensorflow as tf
from absl import flags

from film_tf import cli_utils

METADATA_FILE = "film_tf.json"
METADATA_FORMAT = "film_tf.saved_model"
SIGNATURE_DEFAULT = "serving_default"
SIGNATURE_BYTES = "serving_bytes"
SIGNATURE_BYTES_REST = "serving_bytes_rest"
SIGNATURE_AUX = "serving_aux"
PADDING = "reflect"


def _source_indices(size: tf.Tensor, alignment: int, reflect: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Source row (or column) of every padded one, and the count before.

    Reflection is the triangle wave of period 2 (size - 1) over the source
    indices, which is what `np.pad(mode='reflect')` produces for any pad
    width (numpy reflects again where one reflection is not enough).
    """
    padded = (size + alignment - 1) // alignment * alignment
    before = (padded - size) // 2
    index = tf.range(padded) - before
    period = tf.maximum(2 * (size - 1), 1)
    folded = tf.math.floormod(index, period)
    reflected = tf.where(folded < size, folded, period - folded)
    edge = tf.clip_by_value(index, 0, size - 1)
    return tf.where(reflect, reflected, edge), before


def pad_to_alignment(images: tf.Tensor, alignment: int) -> tuple[tf.Tensor, tuple[tf.Tensor, ...]]:
    """Pads (B, H, W, C) images to multiples of `alignment` by reflection.

    Exactly `film_tf.inference.pad_to_alignment`, so the SavedModel and the
    Python interpolator give the same frames: the padding is centred as in
    the official inference code (top = pad // 2, the odd pixel after) but
    reflects the image where the official code pads zeros, which keeps
    texture and motion continuous across the border instead of showing the
    flow estimator a black edge. Any size works, also frames smaller than
    the alignment (numpy-style repeated reflection); a frame with a
    1-pixel side has nothing to reflect and is edge-padded instead.

    Equivalent numpy: `np.pad(x, ((0, 0), (top, bottom), (left, right), (0,
    0)), mode='reflect' if min(H, W) > 1 else 'edge')` with top = (H_pad -
    H) // 2, bottom = H_pad - H - top, likewise left and right.

    Args:
      images: (B, H, W, C) tensor, H and W >= 1 and possibly dynamic.
      alignment: the multiple to pad H and W to.

    Returns:
      (B, H_pad, W_pad, C) images and the crop box (top, left, H, W) that
      `crop` takes to undo the padding.
    """
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    reflect = tf.minimum(height, width) > 1
    rows, top = _source_indices(height, alignment, reflect)
    cols, left = _source_indices(width, alignment, reflect)
    # Two gathers build the padded frame from plain indices: core ops that
    # any model server runs, and no constraint on the pad width.
    padded = tf.gather(tf.gather(images, rows, axis=1), cols, axis=2)
    return padded, (top, left, height, width)


def crop(images: tf.Tensor, box: tuple[tf.Tensor, ...]) -> tf.Tensor:
    """Undoes `pad_to_alignment`: (B, H_pad, W_pad, C) -> (B, H, W, C)."""
    top, left, height, width = box
    return images[:, top : top + height, left : left + width, :]


def _image_spec(name: str) -> tf.TensorSpec:
    return tf.TensorSpec([None, None, None, 3], tf.float32, name=name)


def _decode(encoded: tf.Tensor) -> tf.Tensor:
    """(B,) encoded images of one size -> (B, H, W, 3) float32 in [0, 1]."""

    def decode_one(data):
        image = tf.io.decode_image(data, channels=3, dtype=tf.float32, expand_animations=False)
        return tf.ensure_shape(image, [None, None, 3])

    return tf.map_fn(decode_one, encoded, fn_output_signature=tf.TensorSpec([None, None, 3], tf.float32))


def _encode_png(images: tf.Tensor) -> tf.Tensor:
    """(B, H, W, 3) float in [0, 1] -> (B,) 8-bit PNG strings (rounded)."""
    quantized = tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)
    return tf.map_fn(tf.io.encode_png, quantized, fn_output_signature=tf.string)


def _model_options(model):
    from film_tf.official_weights import find_film_layer

    options = getattr(model, "film_options", None)
    return options if options is not None else find_film_layer(model).options


# Inputs of the float signatures (serving_default, serving_aux).
_FRAMES_AND_TIME = [_image_spec("x0"), _image_spec("x1"), tf.TensorSpec([None, 1], tf.float32, name="time")]


class FilmServingModule(tf.Module):
    """What the SavedModel holds: the model's variables and the signatures.

    The Keras model is deliberately not a tracked attribute: saving it as a
    child would make TensorFlow trace its default signature again (seconds
    per export) and write Keras internals nobody loads. The functions close
    over it, and its tf.Variables are tracked as a plain list.
    """

    def __init__(self, model, name: str = "film_net"):
        super().__init__(name=name)
        options = _model_options(model)
        # The tf.Variables under the Keras variables: a tracked KerasVariable
        # is exported as a second, copied variable that the saver restores
        # while the functions read the original one, which breaks every
        # session-based loader (TF Serving, saved_model_cli run).
        self.model_variables = [getattr(v, "value", v) for v in model.variables]
        self._aux = bool(options.use_aux_outputs)
        alignment = options.alignment

        # Traced once; every signature calls it, so an export costs one trace.
        @tf.function(
            input_signature=[_image_spec("x0"), _image_spec("x1"), tf.TensorSpec([None, 1], tf.float32)],
            autograph=False,
        )
        def interpolate(x0, x1, time):
            tf.debugging.assert_equal(
                tf.shape(x0), tf.shape(x1), message="x0 and x1 must have the same shape (B, H, W, 3)"
            )
            padded0, box = pad_to_alignment(x0, alignment)
            padded1, _ = pad_to_alignment(x1, alignment)
            outputs = model({"x0": padded0, "x1": padded1, "time": time}, training=False)
            result = {"image": outputs["image"]}
            if self._aux:
                result.update(
                    x0_warped=outputs["x0_warped"],
                    x1_warped=outputs["x1_warped"],
                    forward_flow=outputs["forward_flow_pyramid"][0],
                    backward_flow=outputs["backward_flow_pyramid"][0],
                )
            # float32 whatever the model's dtype policy (e.g. mixed_float16).
            return {key: tf.cast(crop(value, box), tf.float32) for key, value in result.items()}

        self.interpolate = interpolate

    @tf.function(input_signature=_FRAMES_AND_TIME, autograph=False)
    def serve(self, x0, x1, time):
        return {"image": self.interpolate(x0, x1, time)["image"]}

    @tf.function(input_signature=_FRAMES_AND_TIME, autograph=False)
    def serve_aux(self, x0, x1, time):
        return self.interpolate(x0, x1, time)

    def _bytes(self, encoded_x0, encoded_x1):
        x0, x1 = _decode(encoded_x0), _decode(encoded_x1)
        # film_net always predicts t = 0.5; the bytes interface has no `time`.
        time = tf.fill([tf.shape(x0)[0], 1], 0.5)
        return _encode_png(self.interpolate(x0, x1, time)["image"])

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="encoded_x0"),
            tf.TensorSpec([None], tf.string, name="encoded_x1"),
        ],
        autograph=False,
    )
    def serve_bytes(self, encoded_x0, encoded_x1):
        return {"encoded_image": self._bytes(encoded_x0, encoded_x1)}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="encoded_x0"),
            tf.TensorSpec([None], tf.string, name="encoded_x1"),
        ],
        autograph=False,
    )
    def serve_bytes_rest(self, encoded_x0, encoded_x1):
        return {"encoded_image_bytes": self._bytes(encoded_x0, encoded_x1)}

    def signatures(self) -> dict[str, Any]:
        # The tf.functions, not concrete functions: tf.saved_model.save traces
        # them itself, and anything traced before it would be traced again
        # (its cache key includes the save context).
        signatures = {
            SIGNATURE_DEFAULT: self.serve,
            SIGNATURE_BYTES: self.serve_bytes,
            SIGNATURE_BYTES_REST: self.serve_bytes_rest,
        }
        if self._aux:
            signatures[SIGNATURE_AUX] = self.serve_aux
        return signatures


def metadata(model, extra: dict | None = None) -> dict:
    """The contents of `assets/film_tf.json`."""
    from film_tf import __version__

    options = _model_options(model)
    return {
        "format": METADATA_FORMAT,
        "film_tf_version": __version__,
        "tensorflow_version": tf.__version__,
        "options": options.to_dict(),
        "alignment": options.alignment,
        "padding": {
            "mode": PADDING,
            "placement": "centred: top = pad_h // 2, left = pad_w // 2",
            "note": "edge padding when min(H, W) == 1; as film_tf.inference.pad_to_alignment",
        },
        "signatures": {
            SIGNATURE_DEFAULT: {"inputs": ["x0", "x1", "time"], "outputs": ["image"]},
            SIGNATURE_BYTES: {"inputs": ["encoded_x0", "encoded_x1"], "outputs": ["encoded_image"]},
            SIGNATURE_BYTES_REST: {
                "inputs": ["encoded_x0", "encoded_x1"],
                "outputs": ["encoded_image_bytes"],
            },
            **(
                {
                    SIGNATURE_AUX: {
                        "inputs": ["x0", "x1", "time"],
                        "outputs": ["image", "x0_warped", "x1_warped", "forward_flow", "backward_flow"],
                    }
                }
                if options.use_aux_outputs
                else {}
            ),
        },
        **(extra or {}),
    }


def _check_target(export_dir: str, overwrite: bool) -> None:
    if os.path.lexists(export_dir) and not os.path.isdir(export_dir):
        raise FileExistsError(f"'{export_dir}' exists and is not a directory; not replacing it.")
    if os.path.isdir(export_dir) and os.listdir(export_dir) and not overwrite:
        raise FileExistsError(
            f"'{export_dir}' exists and is not empty; pass overwrite=True (--overwrite) to replace it."
        )


def export_saved_model(
    model, export_dir: str, overwrite: bool = False, extra_metadata: dict | None = None
) -> str:
    """Writes the serving SavedModel of a FILM model to `export_dir`.

    The SavedModel is written to a temporary folder beside `export_dir` and
    renamed onto it when complete, so a model server watching the parent
    never sees a partial export.

    Args:
      model: a model from `film_tf.create_model` (any options).
      export_dir: the SavedModel folder to create.
      overwrite: replace an existing non-empty `export_dir`; otherwise that
        is a FileExistsError (an empty folder is always fine).
      extra_metadata: more keys for `assets/film_tf.json` (e.g. the source
        checkpoint).

    Returns:
      The absolute path of the export.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"SavedModel export traces the model with TensorFlow; set KERAS_BACKEND=tensorflow "
            f"(the backend is {keras.backend.backend()})."
        )
    export_dir = os.path.abspath(export_dir)
    _check_target(export_dir, overwrite)
    parent = os.path.dirname(export_dir)
    os.makedirs(parent, exist_ok=True)
    # A leading dot keeps the folder out of TF Serving's version scan (it
    # only loads all-digit names) and out of casual listings.
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(export_dir)}.", suffix=".tmp", dir=parent)
    try:
        module = FilmServingModule(model)
        tf.saved_model.save(module, tmp, signatures=module.signatures())
        os.makedirs(os.path.join(tmp, "assets"), exist_ok=True)
        with open(os.path.join(tmp, "assets", METADATA_FILE), "w") as f:
            json.dump(metadata(model, extra_metadata), f, indent=1)
        _publish(tmp, export_dir, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return export_dir


def _publish(tmp: str, export_dir: str, overwrite: bool) -> None:
    """Renames the finished `tmp` onto `export_dir`."""
    _check_target(export_dir, overwrite)
    if os.path.isdir(export_dir) and not os.listdir(export_dir):
        os.rmdir(export_dir)
    if not os.path.exists(export_dir):
        os.rename(tmp, export_dir)
        return
    # Replacing: move the old export aside first, so a failure leaves one of
    # the two complete exports in place.
    old = tmp + ".old"
    os.rename(export_dir, old)
    try:
        os.rename(tmp, export_dir)
    except BaseException:
        os.rename(old, export_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def existing_versions(export_base: str) -> list[int]:
    """The integer version folders under `export_base`, sorted."""
    if not os.path.isdir(export_base):
        return []
    return sorted(
        int(n) for n in os.listdir(export_base) if n.isdigit() and os.path.isdir(os.path.join(export_base, n))
    )


def next_version(export_base: str) -> int:
    """One more than the highest version under `export_base` (1 if none)."""
    return (existing_versions(export_base) or [0])[-1] + 1


def export_for_serving(
    model,
    export_base: str,
    version: int | None = None,
    overwrite: bool = False,
    extra_metadata: dict | None = None,
) -> str:
    """Writes `<export_base>/<version>/`, the layout TF Serving watches.

    Args:
      model: a model from `film_tf.create_model`.
      export_base: the folder passed to `tensorflow_model_server
        --model_base_path`.
      version: a positive integer; the next one after the existing versions
        (1 for an empty base) when None.
      overwrite: replace an existing non-empty version folder.
      extra_metadata: more keys for `assets/film_tf.json`.

    Returns:
      The absolute path of the version folder.
    """
    if version is None:
        version = next_version(export_base)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"The version must be a positive integer (TF Serving's layout), got {version!r}.")
    return export_saved_model(
        model, os.path.join(export_base, str(version)), overwrite=overwrite, extra_metadata=extra_metadata
    )


def is_film_tf_saved_model(path: str) -> bool:
    """True for SavedModels written by this module (not the official ones)."""
    return os.path.isfile(os.path.join(path, "assets", METADATA_FILE))


def read_metadata(path: str) -> dict:
    """`assets/film_tf.json` of one of our exports."""
    with open(os.path.join(path, "assets", METADATA_FILE)) as f:
        return json.load(f)


# ---------------------------------------------------------------------------
# Model sources for the binary.


def options_from_gin_file(config_path: str):
    """`film_tf.Options` from the film_net bindings of a gin file (the
    operative config of a training run); other configurables are skipped."""
    import gin

    from film_tf.options import Options

    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"No gin config at '{config_path}'.")
    with gin.unlock_config():
        gin.clear_config()
        gin.parse_config_file(config_path, skip_unknown=True)
        try:
            return Options()
        finally:
            gin.clear_config()


_TRAINING_KEY_PREFIX = "optimizer/_trainable_variables/"
_STEP_KEY = "step/.ATTRIBUTES/VARIABLE_VALUE"


def restore_checkpoint(model, checkpoint_path: str) -> int | None:
    """Restores a TF checkpoint's weights into `model`; returns its step.

    Two layouts are read: film-train's `tf.train.Checkpoint(model=...,
    optimizer=..., step=...)`, through `film_tf.training.checkpoints` (Keras 3
    hides sub-layers held in lists from `tf.train.Checkpoint`, so only the
    optimizer's variable list covers every weight there), and a plain
    `tf.train.Checkpoint(model=model)`, which must then hold every variable
    of the model.

    Raises:
      ValueError: the checkpoint does not hold every variable of the model
        (a different configuration, or an incompletely tracked model),
        rather than exporting freshly initialized weights.
    """
    shapes = tf.train.load_checkpoint(checkpoint_path).get_variable_to_shape_map()
    if any(key.startswith(_TRAINING_KEY_PREFIX) for key in shapes):
        from film_tf.training.checkpoints import restore_model_weights

        return restore_model_weights(model, checkpoint_path)
    stored = sum(
        1
        for key in shapes
        if key.startswith("model/")
        and key.endswith("/.ATTRIBUTES/VARIABLE_VALUE")
        and ".OPTIMIZER_SLOT" not in key
    )
    expected = len(model.variables)
    if stored != expected:
        raise ValueError(
            f"Checkpoint '{checkpoint_path}' holds {stored} model variables but the model has {expected}: "
            "it was written for a different configuration, or by a model whose sub-layers "
            "tf.train.Checkpoint does not track."
        )
    status = tf.train.Checkpoint(model=model).restore(checkpoint_path)
    status.expect_partial()
    status.assert_existing_objects_matched()
    if _STEP_KEY in shapes:
        return int(tf.train.load_checkpoint(checkpoint_path).get_tensor(_STEP_KEY))
    return None


def model_from_run_folder(run_folder: str):
    """The model of a training run at its latest checkpoint.

    Reads `<run_folder>/config.gin` (film_net bindings) and restores the
    latest checkpoint in `<run_folder>/train/`.

    Returns:
      (model, info): the model and a dict naming the checkpoint and step.
    """
    from film_tf.interpolator import create_model

    if not os.path.isdir(run_folder):
        raise FileNotFoundError(f"No training run folder at '{run_folder}'.")
    options = options_from_gin_file(os.path.join(run_folder, "config.gin"))
    train_dir = os.path.join(run_folder, "train")
    checkpoint = tf.train.latest_checkpoint(train_dir)
    if checkpoint is None:
        raise FileNotFoundError(f"No checkpoint in '{train_dir}' (expected ckpt-<step> from film-train).")
    model = create_model(options)
    step = restore_checkpoint(model, checkpoint)
    info = {"source": "run_folder", "checkpoint": os.path.abspath(checkpoint)}
    if step is not None:
        info["step"] = step
    return model, info


def options_from_json(path: str):
    from film_tf.options import Options

    if not os.path.isfile(path):
        raise FileNotFoundError(f"No options JSON at '{path}'.")
    with open(path) as f:
        try:
            return Options.from_dict(json.load(f))
        except json.JSONDecodeError as e:
            raise ValueError(f"'{path}' is not valid JSON: {e}") from None


def model_from_official(path: str, options=None):
    """A model holding the weights of an official SavedModel / variables."""
    from film_tf.interpolator import create_model
    from film_tf.official_weights import load_official_weights

    if not os.path.exists(path):
        raise FileNotFoundError(f"No official checkpoint at '{path}'.")
    model = create_model(options)
    load_official_weights(model, path)
    return model, {"source": "official_checkpoint", "checkpoint": os.path.abspath(path)}


def model_from_weights(path: str, options=None):
    """A model holding the weights of a Keras `.weights.h5` file."""
    from film_tf.interpolator import create_model

    if not os.path.isfile(path):
        raise FileNotFoundError(f"No weights file at '{path}'.")
    if not path.endswith(".weights.h5"):
        raise ValueError(f"'{path}' is not a Keras weights file (*.weights.h5).")
    model = create_model(options)
    model.load_weights(path)
    return model, {"source": "weights", "checkpoint": os.path.abspath(path)}


# ---------------------------------------------------------------------------
# The binary.


def define_flags(fv: flags.FlagValues) -> None:
    """film-export's flags, on `fv`."""
    flags.DEFINE_string(
        "run_folder",
        None,
        "A training run <base_folder>/<label>: config.gin and train/ckpt-*.",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "official_checkpoint",
        None,
        "An official released film_net SavedModel folder (or its variables/).",
        flag_values=fv,
    )
    flags.DEFINE_string("weights", None, "A Keras .weights.h5 file of the model.", flag_values=fv)
    flags.DEFINE_string(
        "options_json",
        None,
        "Model options (film_tf.Options fields) as JSON, for --official_checkpoint / --weights; "
        "the released configuration when neither this nor --gin_bindings is given.",
        flag_values=fv,
    )
    flags.DEFINE_multi_string(
        "gin_bindings", [], "film_net bindings, e.g. 'film_net.pyramid_levels = 5'.", flag_values=fv
    )
    flags.DEFINE_string(
        "export_dir",
        None,
        "The SavedModel folder to write (default: <run_folder>/saved_model).",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "export_base", None, "Write <export_base>/<version>/ for TF Serving instead.", flag_values=fv
    )
    flags.DEFINE_integer(
        "version", None, "Version folder under --export_base (default: the next integer).", flag_values=fv
    )
    flags.DEFINE_bool("overwrite", False, "Replace an existing non-empty export folder.", flag_values=fv)


def _options_from_flags(flag_values):
    from film_tf.options import Options

    if flag_values.options_json and flag_values.gin_bindings:
        raise ValueError("Pass either --options_json or --gin_bindings, not both.")
    if flag_values.options_json:
        return options_from_json(flag_values.options_json)
    if flag_values.gin_bindings:
        import gin

        with gin.unlock_config():
            gin.clear_config()
            gin.parse_config(flag_values.gin_bindings)
            return Options()
    return Options()


def run(
    run_folder: str | None = None,
    official_checkpoint: str | None = None,
    weights: str | None = None,
    options=None,
    export_dir: str | None = None,
    export_base: str | None = None,
    version: int | None = None,
    overwrite: bool = False,
) -> str:
    """Builds the model from one source and exports it; returns the folder."""
    sources = [s for s in (run_folder, official_checkpoint, weights) if s]
    if len(sources) != 1:
        raise ValueError("Pass exactly one of --run_folder, --official_checkpoint, --weights.")
    if export_dir and export_base:
        raise ValueError("Pass either --export_dir or --export_base, not both.")
    if version is not None and not export_base:
        raise ValueError("--version needs --export_base.")
    if run_folder:
        if options is not None:
            raise ValueError(
                "--run_folder takes its options from <run_folder>/config.gin; drop --options_json."
            )
        if not export_dir and not export_base:
            export_dir = os.path.join(run_folder, "saved_model")
    elif not export_dir and not export_base:
        raise ValueError("Pass --export_dir or --export_base.")
    if export_dir:
        # Fail before the (slow) model restore and tracing.
        _check_target(os.path.abspath(export_dir), overwrite)

    if run_folder:
        model, info = model_from_run_folder(run_folder)
    elif official_checkpoint:
        model, info = model_from_official(official_checkpoint, options)
    else:
        model, info = model_from_weights(weights, options)
    if export_base:
        return export_for_serving(model, export_base, version, overwrite=overwrite, extra_metadata=info)
    return export_saved_model(model, export_dir, overwrite=overwrite, extra_metadata=info)


def _run(f: flags.FlagValues) -> None:
    from absl import logging

    # TensorFlow logs every saved function and asset at INFO level.
    logging.set_verbosity(logging.WARNING)
    # A run folder brings its own config.gin; other sources default to the
    # released configuration.
    options = None
    if f.options_json or f.gin_bindings or not f.run_folder:
        options = _options_from_flags(f)
    path = run(
        run_folder=f.run_folder,
        official_checkpoint=f.official_checkpoint,
        weights=f.weights,
        options=options,
        export_dir=f.export_dir,
        export_base=f.export_base,
        version=f.version,
        overwrite=f.overwrite,
    )
    print(f"Exported SavedModel to {path}")


def main(argv: list[str]) -> None:
    """Exports from a command line (program name first)."""
    cli_utils.run_argv(argv, define_flags, _run)


def run_main() -> None:
    """Console script `film-export`."""
    cli_utils.run_binary(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
