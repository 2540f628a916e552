"""The damage checks of single model files (`film_tf.formats.integrity` runs
them per kind): the one-line `DamagedModelError` and its wording, protobuf
framing (`.onnx`, `saved_model.pb`), HDF5 (`.weights.h5`) and zip (`.keras`).
Standard library only (h5py when an HDF5 file's datasets are read).
"""

from __future__ import annotations

import os
import struct
import zipfile

AGAIN = "download or copy it again"
EXPORT_AGAIN = "export it again (film-export) or copy it again"


class DamagedModelError(ValueError):
    """A model file that is truncated or damaged: one line naming it.

    `file` is the damaged file, `what` what is wrong with it (e.g. `truncated:
    137.8 MB expected from its index, 50.0 MB present`)."""

    def __init__(self, file: str, what: str, todo: str, message: str | None = None):
        super().__init__(message or f"The model file '{file}' is {what}; {todo}.")
        self.file, self.what = file, what


def human_size(n: int) -> str:
    """A file size for people: MB with one decimal, bytes below 1 MB."""
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else f"{n:,} bytes"


def damaged(path: str, what: str, todo: str = AGAIN) -> DamagedModelError:
    """`The model file '<path>' is damaged: <what>; <todo>.`"""
    return DamagedModelError(path, f"damaged: {what}", todo)


def truncated(path: str, expected: int, present: int, source: str, todo: str = AGAIN) -> DamagedModelError:
    """`... is truncated: <expected> expected from <source>, <present> present; <todo>.`"""
    return DamagedModelError(
        path, f"truncated: {human_size(expected)} expected from {source}, {human_size(present)} present", todo
    )


# ------------------------------------------------------------ protobuf framing


def varint(data: bytes, pos: int) -> tuple[int, int]:
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


def protobuf_fields(data: bytes):
    """(field number, wire type, value) of a protobuf message's fields; value:
    an int (varint, fixed) or the bytes of a length-delimited field.
    Raises ValueError on a malformed message, IndexError when it is cut short."""
    pos = 0
    while pos < len(data):
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(data, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire == 5:
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        elif wire == 2:
            length, pos = varint(data, pos)
            if pos + length > len(data):
                raise IndexError(pos + length)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def check_protobuf_framing(path: str, required: int, what: str, todo: str) -> None:
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
                key, n = varint(head, 0)
                wire = key & 7
                if wire == 0:
                    _, n = varint(head, n)
                    end = pos + n
                elif wire == 1:
                    end = pos + n + 8
                elif wire == 5:
                    end = pos + n + 4
                elif wire == 2:
                    length, n = varint(head, n)
                    end = pos + n + length
                else:
                    raise ValueError
            except (IndexError, ValueError):
                if len(head) < 20:  # The file ends inside a field's tag or length.
                    raise damaged(
                        path, f"truncated: it ends inside a field at byte {pos} ({human_size(size)})", todo
                    ) from None
                raise damaged(path, f"not a valid {what} at byte {pos}", todo) from None
            if end > size:
                raise truncated(path, end, size, "its last field's length", todo)
            found = found or (key >> 3) == required
            pos = end
    if not found:
        raise damaged(path, f"it holds no {what} (field {required} missing: cut short?)", todo)


def check_fingerprint(path: str, todo: str) -> None:
    """A SavedModel's `fingerprint.pb` parses as TensorFlow's FingerprintDef
    (a damaged one makes tf.saved_model.load print a traceback and go on)."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import fingerprint_pb2

    with open(path, "rb") as f:
        data = f.read()
    try:
        fingerprint_pb2.FingerprintDef.FromString(data)
    except DecodeError:
        raise damaged(path, f"not a valid SavedModel fingerprint ({human_size(len(data))})", todo) from None


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
                    raise damaged(path, "empty", todo)
                return  # Not HDF5 at all: the loader's own message.
    version = head[8]
    if version in (0, 1):
        width = head[13]
        start = 24 if version == 0 else 28
    else:
        width = head[9]
        start = 12
    if width not in (2, 4, 8):
        raise damaged(path, f"its HDF5 superblock is not valid (offsets of {width} bytes)", todo)
    if len(head) < start + 3 * width:
        raise truncated(path, where + start + 3 * width, size, "its HDF5 header", todo)
    fmt = {2: "<H", 4: "<I", 8: "<Q"}[width]
    base = struct.unpack_from(fmt, head, start)[0]
    eof = struct.unpack_from(fmt, head, start + 2 * width)[0]
    if base + eof > size:
        raise truncated(path, base + eof, size, "its HDF5 header", todo)
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
        raise damaged(path, f"its HDF5 structure cannot be read at {where} ({reason})", todo) from None


def check_zip(path: str, checksums: bool = True, todo: str = AGAIN) -> None:
    """Checks a `.keras` file: a zip archive with its directory (a truncated
    file has lost it) and, with `checksums`, every member's CRC-32."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            if size == 0:
                raise damaged(path, "empty", todo)
            return  # Not a zip at all: the loader's own message.
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        end = _zip_members_end(path)
        if end is not None and end >= size:
            raise truncated(path, end, size, "its zip entries", todo) from None
        raise damaged(
            path, f"it has no zip directory at its end ({human_size(size)}: truncated?)", todo
        ) from None
    with archive:
        if not checksums:
            return
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise damaged(path, f"its contents cannot be read ({' '.join(str(e).split())})", todo) from None
        if bad is not None:
            raise damaged(path, f"checksum mismatch in {bad} inside it", todo)


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
