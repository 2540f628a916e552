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
import re
import struct
import zipfile

# What to do, per kind of file: where a fresh copy comes from.
AGAIN = "download or copy it again"
EXPORT_AGAIN = "export it again (film-export) or copy it again"


class DamagedModelError(ValueError):
    """A model file that is truncated or damaged: one line naming it.

    `file` is the damaged file, `what` what is wrong with it (e.g. `truncated:
    137.8 MB expected from its index, 50.0 MB present`)."""

    def __init__(self, file: str, what: str, todo: str, message: str | None = None):
        super().__init__(message or f"The model file '{file}' is {what}; {todo}.")
        self.file, self.what = file, what


def _mb(n: int) -> str:
    """A file size for people: MB with one decimal, bytes below 1 MB."""
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else f"{n:,} bytes"


def _damaged(path: str, what: str, todo: str = AGAIN) -> DamagedModelError:
    return DamagedModelError(path, f"damaged: {what}", todo)


def _truncated(path: str, expected: int, present: int, source: str, todo: str = AGAIN) -> DamagedModelError:
    return DamagedModelError(
        path, f"truncated: {_mb(expected)} expected from {source}, {_mb(present)} present", todo
    )


# ------------------------------------------------------------ protobuf framing


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the varint at `pos`; IndexError past the end."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: bytes):
    """(field number, wire type, value) of a protobuf message's fields; value:
    an int (varint, fixed) or the bytes of a length-delimited field.
    Raises ValueError on a malformed message, IndexError when it is cut short."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire == 5:
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise IndexError(pos + length)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def _check_protobuf_framing(path: str, required: int, what: str, todo: str) -> None:
    """The top-level fields of the protobuf file `path` end exactly at its end
    and field `required` is present. Reads the tags and lengths only (seeks
    over the values), so a 140 MB .onnx costs a few reads."""
    size = os.path.getsize(path)
    found = False
    with open(path, "rb") as f:
        pos = 0
        while pos < size:
            f.seek(pos)
            head = f.read(20)
            try:
                key, n = _varint(head, 0)
                wire = key & 7
                if wire == 0:
                    _, n = _varint(head, n)
                    end = pos + n
                elif wire == 1:
                    end = pos + n + 8
                elif wire == 5:
                    end = pos + n + 4
                elif wire == 2:
                    length, n = _varint(head, n)
                    end = pos + n + length
                else:
                    raise ValueError
            except (IndexError, ValueError):
                if len(head) < 20:  # The file ends inside a field's tag or length.
                    raise _damaged(
                        path, f"truncated: it ends inside a field at byte {pos} ({_mb(size)})", todo
                    ) from None
                raise _damaged(path, f"not a valid {what} at byte {pos}", todo) from None
            if end > size:
                raise _truncated(path, end, size, "its last field's length", todo)
            found = found or (key >> 3) == required
            pos = end
    if not found:
        raise _damaged(path, f"it holds no {what} (field {required} missing: cut short?)", todo)


# ------------------------------------------------------------ TensorBundle

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
# BundleEntryProto fields (tensorflow/core/protobuf/tensor_bundle.proto).
_SHARD, _OFFSET, _SIZE = 3, 4, 5
_HEADER_NUM_SHARDS = 1


def _block_handle(data: bytes, pos: int) -> tuple[int, int, int]:
    offset, pos = _varint(data, pos)
    size, pos = _varint(data, pos)
    return offset, size, pos


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of `data` in pure Python: about 5 MB/s, for the
    few kilobytes of a checkpoint index's blocks (the data files' checksums
    are verified by TensorFlow's reader)."""
    crc = 0xFFFFFFFF
    table = _CRC32C
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    """LevelDB's masked CRC, as table blocks store it."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _block_entries(data: bytes, offset: int, size: int):
    """(key, value) of a table block (prefix-compressed keys, restart array at
    its end), its CRC-32C checked. Raises ValueError / IndexError on damage."""
    if offset + size + 5 > len(data):
        raise IndexError(offset + size + 5)
    if data[offset + size] != 0:  # The trailer's compression byte: TensorBundle writes none.
        raise ValueError("compressed block")
    (stored,) = struct.unpack_from("<I", data, offset + size + 1)
    if _masked(crc32c(data[offset : offset + size + 1])) != stored:
        raise ValueError("block checksum mismatch")
    block = data[offset : offset + size]
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * restarts
    if end < 0:
        raise ValueError("bad restart count")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        own, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        if shared > len(key) or pos + own + length > end:
            raise ValueError("bad entry")
        key = key[:shared] + block[pos : pos + own]
        pos += own
        yield key, block[pos : pos + length]
        pos += length


def read_bundle_index(index_path: str, todo: str = AGAIN) -> tuple[int, dict[str, tuple[int, int, int]]]:
    """(number of data shards, {tensor key: (shard, offset, size)}) of a
    TensorBundle `.index` file, parsed without TensorFlow.

    Raises:
      DamagedModelError: the index is truncated or not a TensorBundle index.
    """
    with open(index_path, "rb") as f:
        data = f.read()
    if len(data) < _FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != _TABLE_MAGIC:
        what = f"not a whole checkpoint index ({len(data)} bytes, no table footer at its end)"
        raise _damaged(index_path, what, todo)
    num_shards, entries = 1, {}
    try:
        _, _, pos = _block_handle(data, len(data) - _FOOTER)  # The metaindex: unused.
        index_offset, index_size, _ = _block_handle(data, pos)
        for _, handle in _block_entries(data, index_offset, index_size):
            offset, size, _ = _block_handle(handle, 0)
            for key, value in _block_entries(data, offset, size):
                fields = {number: v for number, _, v in _fields(value)}
                if key == b"":
                    num_shards = fields.get(_HEADER_NUM_SHARDS, 1)
                else:
                    entries[key.decode("utf-8", "replace")] = (
                        fields.get(_SHARD, 0),
                        fields.get(_OFFSET, 0),
                        fields.get(_SIZE, 0),
                    )
    except (IndexError, ValueError, struct.error) as e:
        why = f" ({e})" if isinstance(e, ValueError) and "checksum" in str(e) else ""
        raise _damaged(index_path, f"its table of tensors cannot be read{why}", todo) from None
    return num_shards, entries


def data_shard_path(prefix: str, shard: int, num_shards: int) -> str:
    """TensorBundle's name of data shard `shard` of `num_shards`."""
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def check_tensor_bundle(prefix: str, checksums: bool = True, names=None, todo: str = AGAIN) -> None:
    """Checks the checkpoint `prefix` (`<prefix>.index` and its data shards):
    sizes from the index always, every tensor's crc32c with `checksums`.

    Args:
      prefix: the checkpoint prefix (`.../variables/variables`, `ckpt-7`).
      checksums: read every tensor through TensorFlow's reader, which
        verifies its crc32c.
      names: an optional function of a tensor key giving a readable name for
        the message (official checkpoints: the layer's variable).
      todo: what the message tells the user to do.

    Raises:
      DamagedModelError: a missing, short or changed file.
    """
    index = prefix + ".index"
    num_shards, entries = read_bundle_index(index, todo)
    expected: dict[int, int] = {}
    for shard, offset, size in entries.values():
        expected[shard] = max(expected.get(shard, 0), offset + size)
    for shard, end in sorted(expected.items()):
        data = data_shard_path(prefix, shard, num_shards)
        if not os.path.isfile(data):
            raise _damaged(
                data, f"it is missing (its index '{index}' lists {_mb(end)} of tensors in it)", todo
            )
        present = os.path.getsize(data)
        if present < end:
            raise _truncated(data, end, present, "its index", todo)
    if not checksums:
        return
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
    except tf.errors.OpError as e:  # What the parse above does not check (e.g. the footer's handles).
        message = " ".join(str(getattr(e, "message", e)).split())
        raise _damaged(index, f"TensorFlow cannot read its table ({message})", todo) from None
    for key in sorted(entries, key=lambda k: entries[k][:2]):  # In file order.
        try:
            reader.get_tensor(key)
        except tf.errors.OpError as e:  # The reader's DataLossError, or OpError UNKNOWN in TF 2.21.
            name = names(key) if names else key
            message = str(e.message if hasattr(e, "message") else e)
            what = (
                f"checksum mismatch in variable {name}"
                if "checksum" in message.lower()
                else f"variable {name} cannot be read ({' '.join(message.split())})"
            )
            raise _damaged(data_shard_path(prefix, entries[key][0], num_shards), what, todo) from None


def _official_name(prefix: str, key: str) -> str:
    """An official `variables/<N>` key as the released model's variable name
    when the checkpoint holds exactly its variables (else the key itself)."""
    from film_tf.formats.official_weights import official_variable_specs
    from film_tf.model.options import Options

    pattern = re.compile(r"^variables/(\d+)/\.ATTRIBUTES/VARIABLE_VALUE$")
    specs = official_variable_specs(Options())
    _, entries = read_bundle_index(prefix + ".index")
    numbers = sorted(int(m.group(1)) for m in map(pattern.match, entries) if m)
    m = pattern.match(key)
    if m and numbers == list(range(len(specs))):
        return f"{specs[int(m.group(1))][0][: -len(':0')]} ({key.split('/.')[0]})"
    return key


# ------------------------------------------------------------ HDF5, zip


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_hdf5(path: str, checksums: bool = True, todo: str = AGAIN) -> None:
    """Checks that the HDF5 file `path` is as long as its superblock says
    (its end-of-file address) and, with `checksums`, that h5py reads every
    dataset in it (damaged metadata; HDF5 stores no data checksums here)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        where = 0
        while True:  # The superblock is at 0, 512, 1024, 2048, ... (after a user block).
            f.seek(where)
            head = f.read(96)
            if head[:8] == _HDF5_SIGNATURE:
                break
            where = 512 if where == 0 else 2 * where
            if where >= size:
                if size == 0:
                    raise _damaged(path, "empty", todo)
                return  # Not HDF5 at all: the loader's own message.
    version = head[8]
    if version in (0, 1):
        width = head[13]
        start = 24 if version == 0 else 28
    else:
        width = head[9]
        start = 12
    if width not in (2, 4, 8):
        raise _damaged(path, f"its HDF5 superblock is not valid (offsets of {width} bytes)", todo)
    if len(head) < start + 3 * width:
        raise _truncated(path, where + start + 3 * width, size, "its HDF5 header", todo)
    fmt = {2: "<H", 4: "<I", 8: "<Q"}[width]
    base = struct.unpack_from(fmt, head, start)[0]
    eof = struct.unpack_from(fmt, head, start + 2 * width)[0]
    if base + eof > size:
        raise _truncated(path, base + eof, size, "its HDF5 header", todo)
    if checksums:
        _read_hdf5(path, todo)


def _read_hdf5(path: str, todo: str) -> None:
    """Reads every dataset of an HDF5 file with h5py (Keras' reader)."""
    import h5py

    where = "its start"

    def read(name, item) -> None:
        nonlocal where
        where = name
        if isinstance(item, h5py.Dataset):
            item[()]

    try:
        with h5py.File(path, "r") as f:
            f.visititems(read)
    except Exception as e:  # h5py's OSError / KeyError / RuntimeError on damaged metadata.
        reason = " ".join(str(e).split()) or type(e).__name__
        raise _damaged(path, f"its HDF5 structure cannot be read at {where} ({reason})", todo) from None


def check_zip(path: str, checksums: bool = True, todo: str = AGAIN) -> None:
    """Checks a `.keras` file: a zip archive with its directory (a truncated
    file has lost it) and, with `checksums`, every member's CRC-32."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            if size == 0:
                raise _damaged(path, "empty", todo)
            return  # Not a zip at all: the loader's own message.
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        end = _zip_members_end(path)
        if end is not None and end >= size:
            raise _truncated(path, end, size, "its zip entries", todo) from None
        raise _damaged(path, f"it has no zip directory at its end ({_mb(size)}: truncated?)", todo) from None
    with archive:
        if not checksums:
            return
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise _damaged(path, f"its contents cannot be read ({' '.join(str(e).split())})", todo) from None
        if bad is not None:
            raise _damaged(path, f"checksum mismatch in {bad} inside it", todo)


def _zip_members_end(path: str) -> int | None:
    """Where the zip file's members would end, from their local headers (the
    directory that follows them is lost with a truncation); None if unknown."""
    end = 0
    with open(path, "rb") as f:
        while True:
            f.seek(end)
            head = f.read(30)
            if len(head) < 30 or head[:4] != b"PK\x03\x04":
                return end if end else None
            flags, _, _, _, _, compressed, _, name, extra = struct.unpack_from("<HHHHIIIHH", head, 6)
            if flags & 0x08:  # Sizes in a data descriptor after the data: unknown here.
                return None
            end += 30 + name + extra + compressed


# ------------------------------------------------------------ the entry point

_verified: set[tuple] = set()


def _stamp(paths: list[str]) -> tuple:
    stamps = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            return ()
        stamps.append((os.path.realpath(p), st.st_size, st.st_mtime_ns))
    return tuple(stamps)


def _bundle_prefix(path: str) -> str | None:
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
    checks = []  # (files, check)
    if kind in ("official_saved_model", "official_variables", "film_tf_saved_model"):
        prefix = _bundle_prefix(path)
        if prefix is not None:
            official = kind.startswith("official")
            names = functools.partial(_official_name, prefix) if official else None
            todo = AGAIN if official else EXPORT_AGAIN
            checks.append(([prefix + ".index"], lambda: check_tensor_bundle(prefix, checksums, names, todo)))
        if kind == "film_tf_saved_model":
            pb = os.path.join(path, "saved_model.pb")
            checks.append(([pb], lambda: _check_protobuf_framing(pb, 2, "SavedModel", EXPORT_AGAIN)))
    elif kind in ("run_folder", "checkpoint"):
        prefix = _checkpoint_prefix(path, kind)
        if prefix is not None:
            todo = "copy it again, or pass an earlier checkpoint of the run"
            checks.append(([prefix + ".index"], lambda: check_tensor_bundle(prefix, checksums, None, todo)))
    elif kind in ("keras_weights", "bundled"):
        checks.append(([path], lambda: check_hdf5(path, checksums)))
    elif kind == "keras_file":
        checks.append(([path], lambda: check_zip(path, checksums)))
    elif kind == "onnx":
        todo = "export it again (film-export --format onnx) or copy it again"
        checks.append(([path], lambda: _check_protobuf_framing(path, 7, "ONNX model", todo)))
    for files, check in checks:
        if os.path.isfile(files[0]) and files[0].endswith(".index"):
            files = files + sorted(
                os.path.join(os.path.dirname(files[0]), n)
                for n in os.listdir(os.path.dirname(files[0]) or ".")
                if n.startswith(os.path.basename(files[0])[: -len(".index")] + ".data-")
            )
        stamp = (_stamp(files), checksums)
        if stamp[0] and (stamp in _verified or (stamp[0], True) in _verified):
            continue
        check()
        if stamp[0]:
            _verified.add(stamp)
