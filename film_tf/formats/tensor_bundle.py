"""TensorBundle checkpoints (TensorFlow's `<prefix>.index` + `<prefix>.data-*`:
official `variables/`, film-train `ckpt-<step>`, SavedModels' `variables/`):
the index parsed without TensorFlow (a LevelDB-style table of
BundleEntryProtos, its blocks' CRC-32C checked), the data shards' sizes
against it, and every tensor's crc32c through TensorFlow's reader. For
`film_tf.formats.integrity`.
"""

from __future__ import annotations

import os
import re
import struct

from film_tf.formats.file_checks import AGAIN, damaged, human_size, protobuf_fields, truncated, varint

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
# BundleEntryProto fields (tensorflow/core/protobuf/tensor_bundle.proto).
_SHARD, _OFFSET, _SIZE = 3, 4, 5
_HEADER_NUM_SHARDS = 1


def _block_handle(data: bytes, pos: int) -> tuple[int, int, int]:
    offset, pos = varint(data, pos)
    size, pos = varint(data, pos)
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
        shared, pos = varint(block, pos)
        own, pos = varint(block, pos)
        length, pos = varint(block, pos)
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
        raise damaged(index_path, what, todo)
    num_shards, entries = 1, {}
    try:
        _, _, pos = _block_handle(data, len(data) - _FOOTER)  # The metaindex: unused.
        index_offset, index_size, _ = _block_handle(data, pos)
        for _, handle in _block_entries(data, index_offset, index_size):
            offset, size, _ = _block_handle(handle, 0)
            for key, value in _block_entries(data, offset, size):
                fields = {number: v for number, _, v in protobuf_fields(value)}
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
        raise damaged(index_path, f"its table of tensors cannot be read{why}", todo) from None
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
            raise damaged(
                data, f"it is missing (its index '{index}' lists {human_size(end)} of tensors in it)", todo
            )
        present = os.path.getsize(data)
        if present < end:
            raise truncated(data, end, present, "its index", todo)
    if not checksums:
        return
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
    except tf.errors.OpError as e:  # What the parse above does not check (e.g. the footer's handles).
        message = " ".join(str(getattr(e, "message", e)).split())
        raise damaged(index, f"TensorFlow cannot read its table ({message})", todo) from None
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
            raise damaged(data_shard_path(prefix, entries[key][0], num_shards), what, todo) from None


def official_name(prefix: str, key: str) -> str:
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
