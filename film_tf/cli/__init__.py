"""Binaries for people: film-interpolate and film-interpolate-frames.

Shared here: the model flags, building an `Interpolator` from them, and an
atomically replaced output folder. Inputs and outputs are checked before the
model loads, so mistakes are reported before any slow work.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from typing import Iterator

from absl import flags

from film_tf.cli_utils import check_parent_is_folder
from film_tf.inference import DEFAULT_MEMORY_BUDGET_GB


def define_model_flags(fv: flags.FlagValues) -> None:
    """Flags shared by the binaries: which model, and how much memory."""
    flags.DEFINE_string(
        "model_path",
        None,
        "A released FILM SavedModel folder (e.g. film_net/Style/saved_model) or its variables/ "
        "folder, a film_tf SavedModel (film-export), or a .weights.h5 file with its .json options. "
        "Default: the bundled model.",
        flag_values=fv,
    )
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
        "float32",
        ["float32", "bfloat16"],
        "Compute precision. bfloat16 is about 3x faster on CPUs with AMX (Intel Sapphire Rapids and "
        "newer) and slower elsewhere; results differ slightly (benchmarks/RESULTS.md).",
        flag_values=fv,
    )
    flags.DEFINE_bool(
        "xla",
        None,
        "XLA-compile the model (default: on for wide float32 models such as the released ones, where "
        "it is faster on CPU; off for the bundled model and for bfloat16).",
        flag_values=fv,
    )


def make_interpolator(flag_values, progress: bool = False):
    """An `Interpolator` configured by the model flags."""
    from film_tf.inference import Interpolator, load_options_json

    options = load_options_json(flag_values.options_json) if flag_values.options_json else None
    return Interpolator(
        flag_values.model_path,
        options=options,
        memory_budget_gb=flag_values.memory_budget_gb,
        tile_size=flag_values.tile_size,
        progress=progress,
        precision=flag_values.precision,
        jit_compile=flag_values.xla,
    )


def check_model_flags(flag_values) -> None:
    """Fails fast, before TensorFlow loads, on a missing model or options file."""
    if flag_values.model_path is not None and not os.path.exists(flag_values.model_path):
        raise FileNotFoundError(f"Model not found: '{flag_values.model_path}'.")
    if flag_values.options_json is not None and not os.path.isfile(flag_values.options_json):
        raise FileNotFoundError(f"Options file not found: '{flag_values.options_json}'.")
    if flag_values.memory_budget_gb <= 0:
        raise ValueError(f"--memory_budget_gb must be positive, got {flag_values.memory_budget_gb}.")


def natural_key(name: str) -> list:
    """Sort key under which frame2 < frame10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def check_writable_folder(path: str) -> None:
    """Raises if a folder cannot be created at `path` (it, or a parent, is a file)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(f"The output folder '{path}' is a file.")
    check_parent_is_folder(path, "create")


@contextlib.contextmanager
def atomic_folder(path: str) -> Iterator[str]:
    """Yields a temporary folder beside `path` that replaces `path` on
    success and is removed on failure, so `path` is never half written."""
    path = os.path.abspath(path)
    check_writable_folder(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's folder is private; the result should not be.
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if os.path.isdir(path):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".old", dir=parent)
        os.rmdir(old)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
