"""What film-interpolate and film-interpolate-frames share: the model flags and
building an `Interpolator` from them.
Inputs and outputs are checked before the model loads, so mistakes are
reported before any slow work. Only absl.flags is imported here at the top:
the model code (TensorFlow) loads inside the functions that need it, so
`--help` and flag mistakes answer at once.
"""

from __future__ import annotations

import contextlib
import os
import sys

from absl import flags

from film_tf import cli_utils

# film_tf.runtime.tiling.DEFAULT_MEMORY_BUDGET_GB, as a literal: importing tiling would
# import numpy and the model options before the flags are even read.
DEFAULT_MEMORY_BUDGET_GB = 8.0


def define_model_flags(fv: flags.FlagValues) -> None:
    """Flags shared by the binaries: which model, and how much memory."""
    flags.DEFINE_string(
        "model_path",
        None,
        "A released model by name (film-style, film-l1, film-vgg: film-interpolate --list_models), "
        "a TF Hub URL (https://tfhub.dev/google/film/1) or hf://owner/repo, downloaded once and cached; "
        "a released FILM SavedModel folder (e.g. film_net/Style/saved_model) or its variables/ "
        "folder, a film_tf SavedModel (film-export), or a .weights.h5 file with its .json options. "
        "Default: the bundled model.",
        flag_values=fv,
    )
    cli_utils.define_offline_flag(fv)
    flags.DEFINE_string(
        "options_json",
        None,
        "JSON file of film_net options, for checkpoints of non-released configurations.",
        flag_values=fv,
    )
    flags.DEFINE_float(
        "memory_budget_gb",
        DEFAULT_MEMORY_BUDGET_GB,
        "Peak memory of the process; larger frames are split into overlapping tiles that fit "
        "(the released model needs about 5 KB per pixel).",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "tile_size",
        None,
        "Force square tiles of this side instead of sizing them from the budget.",
        flag_values=fv,
    )
    flags.DEFINE_enum(
        "precision",
        "auto",
        ["auto", "float32", "bfloat16"],
        "Compute precision. auto: bfloat16 on CPUs with bfloat16 arithmetic (AMX: about 3x faster, "
        "Intel Sapphire Rapids and newer; AVX-512-BF16: about 2x, AMD EPYC Zen 4) for 8-bit frames, "
        "float32 elsewhere (emulated bfloat16 is slower), for 16-bit frames, with --xla and on GPUs; "
        "a film_tf SavedModel or ONNX model computes as exported. bfloat16 "
        "results differ slightly from float32: at most 0.01 dB PSNR on the held-out clips "
        "(benchmarks/RESULTS.md). float32: equal to the paper's model (within 1e-4).",
        flag_values=fv,
    )
    flags.DEFINE_bool(
        "xla",
        None,
        "XLA-compile the model (--xla) or run the plain graph (--noxla). Default: the faster here, "
        "measured once per machine for wide models and cached in $FILM_TF_CACHE/execution.json "
        "(~/.cache/film_tf); plain for the bundled model and for bfloat16.",
        flag_values=fv,
    )


# Optional packages that Keras and TensorFlow import only if installed (Keras'
# scikit-learn wrappers, pandas array slicing and matplotlib image galleries,
# TFLite's JAX helpers), which no binary uses: together 2-4 s of start-up.
UNUSED_IMPORTS = ("sklearn", "pandas", "matplotlib", "jax")


def _keras_backend() -> str:
    backend = os.environ.get("KERAS_BACKEND")
    if backend:
        return backend
    import json

    config = os.path.join(os.environ.get("KERAS_HOME") or os.path.expanduser("~/.keras"), "keras.json")
    try:
        with open(config) as f:
            return str(json.load(f).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


@contextlib.contextmanager
def skip_unused_imports():
    """Imports the model code without `UNUSED_IMPORTS` (JAX only when Keras
    runs on TensorFlow): each stays importable afterwards."""
    names = [
        n for n in UNUSED_IMPORTS if n not in sys.modules and (n != "jax" or _keras_backend() == "tensorflow")
    ]
    for name in names:
        sys.modules[name] = None  # `import name` raises ImportError meanwhile.
    try:
        yield
    finally:
        for name in names:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def make_interpolator(
    flag_values,
    progress: bool = False,
    expected_calls: int | None = None,
    bit_depth: int = 8,
    precision: str | None = None,
):
    """An `Interpolator` configured by the model flags; `expected_calls`: see
    `film_tf.runtime.inference.load_forward` (film-interpolate makes one call);
    `bit_depth`: the frames' (16 keeps `--precision auto` in float32);
    `precision`: instead of the flag's (see `resumed_precision`)."""
    with skip_unused_imports():
        from film_tf.formats import model_io
        from film_tf.runtime.inference import Interpolator

    options = model_io.options_from_json(flag_values.options_json) if flag_values.options_json else None
    return Interpolator(
        flag_values.model_path,
        options=options,
        memory_budget_gb=flag_values.memory_budget_gb,
        tile_size=flag_values.tile_size,
        progress=progress,
        precision=precision or flag_values.precision,
        jit_compile=flag_values.xla,
        expected_calls=expected_calls,
        input_bit_depth=bit_depth,
    )


# The flags `make_interpolator` reads: a picklable copy goes to Beam workers.
MODEL_FLAGS = ("model_path", "options_json", "memory_budget_gb", "tile_size", "precision", "xla")


def video_model(flag_values, output: str, on_beam: bool):
    """(a no-argument function building the video job's model, the job's
    `job_key`). In-process the model is built here, once (and the key names
    the precision it runs in); for Beam the function is a picklable partial
    that each worker calls once, with the precision decided here for all of
    them (`--precision auto` as this machine resolves it, or as the job
    being resumed started), so the workers cannot differ."""
    import functools
    import types

    precision = resumed_precision(flag_values, [output])
    if not on_beam:
        interpolator = make_interpolator(flag_values, expected_calls=64, precision=precision)
        return (lambda: interpolator), job_key(flag_values, interpolator)
    with skip_unused_imports():
        from film_tf.formats import model_io
        from film_tf.runtime.execution_choice import resolve_precision

    path = flag_values.model_path
    if path is not None and model_io.describe(path) in model_io.EXPORTED_KINDS:
        precision, ran = precision or flag_values.precision, "as exported"
    else:
        precision = ran = precision or resolve_precision(
            flag_values.precision, 8, jit_compile=flag_values.xla
        )
    settings = types.SimpleNamespace(**{name: getattr(flag_values, name) for name in MODEL_FLAGS})
    # Workers may start in another folder; a model handle stays a handle (each
    # worker resolves it from its cache, which the launcher filled on this machine).
    settings.model_path = _model_path(settings)
    if settings.options_json:
        settings.options_json = os.path.abspath(settings.options_json)
    load = functools.partial(make_interpolator, settings, expected_calls=64, precision=precision)
    return load, job_key(flag_values, types.SimpleNamespace(precision=ran))


def job_key(flag_values, interpolator) -> dict:
    """What a resumed job must share with the run that started it: the model
    and the precision that actually ran (`--precision auto` may resolve
    differently on another machine)."""
    return {"model_path": _model_path(flag_values), "options_json": flag_values.options_json,
            "precision": interpolator.precision}  # fmt: skip


def _model_path(flag_values) -> str | None:
    from film_tf.formats import hub  # Standard library only.

    path = flag_values.model_path
    return path if not path or hub.is_handle(path) else os.path.abspath(path)


def resumed_precision(flag_values, outputs) -> str | None:
    """With `--precision auto`, the precision an unfinished job of this model
    for one of `outputs` started in, so that rerunning it continues the job
    (another precision would start it afresh; e.g. a job begun when the
    default was float32, rerun on a bfloat16 CPU); else None."""
    if flag_values.precision != "auto":
        return None
    from film_tf.jobs import resume

    for output in outputs:
        key = resume.started_key(output) or {}
        if key.get("model_path") == _model_path(flag_values) and key.get("precision") in (
            "float32",
            "bfloat16",
        ):
            return key["precision"]
    return None


def check_model_flags(flag_values) -> None:
    """Fails fast, before the model loads, on a model path that is not a
    model (`model_io.describe`: any kind it loads, including a checkpoint
    prefix such as run/train/ckpt-7) or a missing options file. A model
    handle is downloaded now (once; `model_io.resolve`), before any input is
    read, and checked against the --options_json options. The model's files
    must be whole and intact (`model_io.check_files`: sizes and
    checksums, cached for the load that follows)."""
    from film_tf.formats import hub  # Standard library only.

    if flag_values.options_json is not None and not os.path.isfile(flag_values.options_json):
        raise FileNotFoundError(f"Options file not found: '{flag_values.options_json}'.")
    if flag_values.memory_budget_gb <= 0:
        raise ValueError(f"--memory_budget_gb must be positive, got {flag_values.memory_budget_gb}.")
    cli_utils.apply_offline(flag_values)
    path = flag_values.model_path
    if path is None:
        return  # The bundled model.
    handle = hub.is_handle(path)
    if not (handle or os.path.exists(path) or os.path.exists(path + ".index")):  # Cheap: no TensorFlow yet.
        raise FileNotFoundError(f"Model not found: '{path}'.")
    with skip_unused_imports():
        from film_tf.formats import model_io

    if handle:
        options = model_io.options_from_json(flag_values.options_json) if flag_values.options_json else None
        model_io.resolve(path, options)
    # One-line FileNotFoundError / ValueError; a truncated or damaged file now, before any input is read.
    model_io.check_files(model_io.resolve(path), model_io.describe(path))
