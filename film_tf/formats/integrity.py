"""Whole and intact model files: a truncated or damaged checkpoint is one line.

What an interrupted download or copy leaves (a short `variables.data-*`, a
half `.weights.h5`) or a flipped byte would otherwise end deep inside a
reader's traceback (`IndexError: Read less bytes than requested`,
`DataLossError: Checksum does not match`). `check_model_files(path, kind)`,
the one entry point, checks the files of a `model_io.describe` kind before
any of them is loaded and raises `DamagedModelError` (a ValueError: one line
naming the file, what is wrong and what to do).

Per format, what is checked (sizes always, checksums where the format has them):

  TensorBundle  (official `variables/`, film-train `ckpt-<step>`, the
                `variables/` of SavedModels) the `.index` is parsed here (a
                LevelDB-style table of BundleEntryProtos: each tensor's shard,
                offset, size and crc32c; its blocks' CRC-32C checked in pure
                Python, a few ms): every data shard must be present and hold
                every tensor's bytes ("137.8 MB expected from its index, 50.0
                MB present"). Checksums: TensorFlow's checkpoint reader
                verifies each tensor's crc32c as it reads it, so every tensor
                is read once through it (no fast crc32c in the standard
                library) and a mismatch names the variable: 0.13-0.25 s for
                the released model's 138 MB from the page cache
                (`benchmarks/integrity_cost.py`).
  SavedModel    `saved_model.pb`: its protobuf framing (a field that runs
                past the end of the file is a truncation); no checksum exists.
                `fingerprint.pb` (of a film_tf export) must parse.
  .weights.h5   the HDF5 superblock's end-of-file address against the file
                size; with checksums, every dataset read once through h5py
                (damaged metadata; about 0.1 s per 138 MB). HDF5 as Keras
                writes it has no data checksums: a changed weight byte is not
                detectable.
  .keras        a zip: its directory at the end (a truncated file has none;
                its local headers say how long it should be) and, with
                checksums, every member's CRC-32 (zlib: about 0.1 s per 138 MB).
  .onnx         its protobuf framing, as saved_model.pb; no checksum exists.

A verified set of files (by path, size and modification time) is not
checked again in the same process: a binary checks before reading any image
and the load that follows costs nothing more.
"""

from __future__ import annotations

import functools
import os

from film_tf.formats import file_checks, tensor_bundle
from film_tf.formats.file_checks import AGAIN, EXPORT_AGAIN, DamagedModelError  # noqa: F401  (part of this API)

CHECKPOINT_AGAIN = "copy it again, or pass an earlier checkpoint of the run"
# (path, size, mtime) of files verified in this process, with the checksums flag.
_verified: set[tuple] = set()


def _stamp(paths: list[str]) -> tuple:
    """(real path, size, mtime) of each file; () if one is missing (not cached then)."""
    stamps = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            return ()
        stamps.append((os.path.realpath(p), st.st_size, st.st_mtime_ns))
    return tuple(stamps)


def _bundle_prefix(path: str) -> str | None:
    """The checkpoint prefix of a SavedModel folder, its variables/ folder or a prefix."""
    for prefix in (os.path.join(path, "variables", "variables"), os.path.join(path, "variables"), path):
        if os.path.isfile(prefix + ".index"):
            return prefix
    return None


def _checkpoint_prefix(path: str, kind: str) -> str | None:
    """The film-train checkpoint prefix a run folder or checkpoint loads from."""
    if os.path.isfile(path + ".index"):
        return path
    from film_tf.formats import checkpoint_io

    folder = os.path.join(path, "train") if kind == "run_folder" else path
    try:
        return checkpoint_io.latest_checkpoint(folder)
    except FileNotFoundError:
        return None  # The loader's own one-line error.


def check_model_files(path: str | None, kind: str, checksums: bool = True) -> None:
    """Checks that the files of the model at `path`, of `model_io.describe`
    kind `kind`, are whole and intact (see the module docstring for what is
    checked per format and its cost), once per process for the same files.

    Args:
      path: the model (for "bundled": its weights file; None skips it).
      kind: its `model_io.describe` kind.
      checksums: also verify checksums where the format has them
        (TensorBundle crc32c, zip CRC-32); sizes are always checked.

    Raises:
      DamagedModelError: one line naming the damaged file, what is wrong
        (`137.8 MB expected from its index, 50.0 MB present`, `checksum
        mismatch in variable ...`) and what to do.
    """
    if path is None:
        return
    path = os.fspath(path)
    checks = []  # (the files a check reads, the check)
    if kind in (
        "official_saved_model",
        "official_variables",
        "film_tf_saved_model",
        "run_folder",
        "checkpoint",
    ):
        official, exported = kind.startswith("official"), kind == "film_tf_saved_model"
        prefix = _bundle_prefix(path) if official or exported else _checkpoint_prefix(path, kind)
        if prefix is not None:
            names = functools.partial(tensor_bundle.official_name, prefix) if official else None
            todo = AGAIN if official else EXPORT_AGAIN if exported else CHECKPOINT_AGAIN
            check = functools.partial(tensor_bundle.check_tensor_bundle, prefix, checksums, names, todo)
            checks.append((_bundle_files(prefix), check))
        if exported:
            pb = os.path.join(path, "saved_model.pb")
            checks.append(
                (
                    [pb],
                    functools.partial(file_checks.check_protobuf_framing, pb, 2, "SavedModel", EXPORT_AGAIN),
                )
            )
            fingerprint = os.path.join(path, "fingerprint.pb")
            if os.path.isfile(fingerprint):  # Written by TensorFlow >= 2.12.
                checks.append(
                    (
                        [fingerprint],
                        functools.partial(file_checks.check_fingerprint, fingerprint, EXPORT_AGAIN),
                    )
                )
    elif kind in ("keras_weights", "bundled"):
        checks.append(([path], functools.partial(file_checks.check_hdf5, path, checksums)))
    elif kind == "keras_file":
        checks.append(([path], functools.partial(file_checks.check_zip, path, checksums)))
    elif kind == "onnx":
        todo = "export it again (film-export --format onnx) or copy it again"
        checks.append(
            ([path], functools.partial(file_checks.check_protobuf_framing, path, 7, "ONNX model", todo))
        )
    for files, check in checks:
        stamp = _stamp(files)
        if stamp and ((stamp, checksums) in _verified or (stamp, True) in _verified):
            continue  # Checked in this process, unchanged since.
        check()
        if stamp:
            _verified.add((stamp, checksums))


def _bundle_files(prefix: str) -> list[str]:
    """A TensorBundle's index and data shards (those present)."""
    folder, name = os.path.split(prefix)
    shards = (
        [n for n in os.listdir(folder or ".") if n.startswith(name + ".data-")]
        if os.path.isdir(folder or ".")
        else []
    )
    return [prefix + ".index", *sorted(os.path.join(folder, n) for n in shards)]
