"""Whole shards: the builders' counts file, and the check every reader makes first.

A builder (`film_tf.datasets.beam_pipeline`, `writer.write_tfrecord`) writes,
after the shards of `<base>@N`, the file `<base>@N.dataset_info.json` (as
TensorFlow Datasets' dataset_info.json does): for each shard its file name,
record count, byte size and SHA-256. It is written last and atomically, so
shards without it were not made by film_tf (e.g. by the official scripts).

`check_shards` is the one check the readers (`film-eval` through
`evaluation.iterate_examples`, the Beam evaluation, `film-train` through
`data.pipeline`) make before they open a shard:

  * with a counts file, every shard it lists must be there with its size and
    SHA-256; a missing, short or changed shard is one line naming it, with
    the records found against the records written;
  * without one, each shard is read once (the TFRecord framing and its CRCs,
    no decoding): a truncated or corrupted record is one line naming the
    shard, the record and its byte offset. A file cut just after a record
    ends is read by TensorFlow without complaint; here its leftover bytes are
    a truncated record too.

With `skip_damaged` (training only) a damaged shard is read up to its first
damaged record instead (TensorFlow's reader cannot go past one), and the
records lost are counted (`Shard.skipped`). Results are kept per process
for unchanged files, so the periodic evaluation does not read them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import tensorflow as tf

from film_tf.files import write_json_atomic

INFO_SUFFIX = ".dataset_info.json"
INFO_FORMAT = "film_tf triplet TFRecords"
_SHARD = re.compile(r"^(?P<base>.+)-(?P<index>\d{5})-of-(?P<n>\d{5})$")
_SHARDED = re.compile(r"^(?P<base>.+)@(?P<n>\d+)$")
_HEADER = 12  # a record: length (8 bytes), its CRC (4), data, the data's CRC (4)
_CHUNK = 1 << 22


class DamagedShardError(ValueError):
    """A shard that is missing records, changed or unreadable (one line)."""


@dataclasses.dataclass(frozen=True)
class Shard:
    """A shard as the readers use it.

    Attributes:
      path: the shard's file.
      num_records: records to read from its start (all of them when whole).
      problem: None when whole; else one sentence saying what is wrong.
      advice: what to do about it (a sentence).
      skipped: records of the shard that cannot be read (None: unknown, the
        file ends inside the damage).
    """

    path: str
    num_records: int
    problem: str | None = None
    skipped: int | None = 0
    advice: str = ""

    def error_line(self) -> str:
        """The problem and the advice, as one line."""
        return f"{self.problem} {self.advice}".strip()


@dataclasses.dataclass(frozen=True)
class Scan:
    """What one read of a shard's framing found.

    Attributes:
      num_records: whole records before the first damaged one (all, if none).
      size: the file's bytes.
      damage: None, or e.g. 'truncated record 5 at byte 4070'.
      after: whole records after a corrupted one (None: unknown, its length
        field is damaged too or more damage follows).
    """

    num_records: int
    size: int
    damage: str | None = None
    after: int | None = 0


# ---------------------------------------------------------------- the counts file


def info_path(spec: str) -> str | None:
    """The counts file of `base@N` or of one of its shards `base-0000i-of-0000N`;
    None for other names (e.g. a single unsharded file)."""
    name = os.fspath(spec)
    m = _SHARDED.match(name) or _SHARD.match(name)
    if not m:
        return None
    return f"{m.group('base')}@{int(m.group('n'))}{INFO_SUFFIX}"


def file_sha256(path: str) -> str:
    """The SHA-256 (hex) of a file, read in 4 MB chunks (any tf.io.gfile path)."""
    digest = hashlib.sha256()
    if "://" in path:
        with tf.io.gfile.GFile(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    buffer = memoryview(bytearray(_CHUNK))
    with open(path, "rb", buffering=0) as f:  # local files: no copies through gfile
        while n := f.readinto(buffer):
            digest.update(buffer[:n])
    return digest.hexdigest()


def shard_entry(path: str, num_records: int) -> dict:
    """One shard's entry of the counts file: name, records, bytes, SHA-256."""
    return {
        "filename": os.path.basename(path),
        "num_records": int(num_records),
        "num_bytes": int(tf.io.gfile.stat(path).length),
        "sha256": file_sha256(path),
    }


def write_dataset_info(output: str, entries: Sequence[dict]) -> str:
    """Writes `<base>@N.dataset_info.json` beside the shards of `output`
    (`base@N`), atomically; call it after the shards are in place. `entries`:
    `shard_entry` of each shard, in shard order. Returns the file's path."""
    path = info_path(output)
    if path is None:
        raise ValueError(f"'{output}' is not a sharded path (<base>@N).")
    info = {
        "format": INFO_FORMAT,
        "version": 1,
        "num_shards": len(entries),
        "num_examples": sum(e["num_records"] for e in entries),
        "shards": list(entries),
    }
    if "://" in path:  # object stores replace an object whole
        with tf.io.gfile.GFile(path, "w") as f:
            f.write(json.dumps(info, indent=1))
    else:
        write_json_atomic(path, info)
    return path


def write_counts(output: str, counts: Sequence[int]) -> str:
    """`write_dataset_info` of the finished shards of `output` (`base@N`),
    holding `counts[i]` records each: hashed here."""
    from film_tf.data.tfrecord import shard_names

    return write_dataset_info(output, [shard_entry(n, c) for n, c in zip(shard_names(output), counts)])


def read_dataset_info(path: str) -> dict[str, dict]:
    """{shard path: its entry} of a counts file; DamagedShardError if unreadable."""
    try:
        with tf.io.gfile.GFile(path) as f:
            info = json.loads(f.read())
        folder = os.path.dirname(path)
        entries = {}
        for e in info["shards"]:
            types = [type(e[k]) for k in ("filename", "num_records", "num_bytes", "sha256")]
            if types != [str, int, int, str]:
                raise ValueError(f"a bad entry {e}")
            entries[os.path.join(folder, e["filename"])] = e
        return entries
    except (ValueError, KeyError, TypeError, tf.errors.OpError) as e:
        message = e.message if isinstance(e, tf.errors.OpError) else str(e)
        raise DamagedShardError(
            f"Cannot read the shard counts file '{path}': {message} (rebuild the dataset, or delete it "
            "to read the shards without their counts)."
        ) from None


# ---------------------------------------------------------------- reading a shard


def scan_shard(path: str) -> Scan:
    """Reads a shard's records once (framing and CRCs, no decoding)."""
    from tensorflow.python.lib.io import tf_record

    size = int(tf.io.gfile.stat(path).length)
    reader = tf_record.tf_record_random_reader(path)
    offset = count = 0
    while offset < size:
        try:
            _, offset_next = reader.read(offset)
        except (IndexError, tf.errors.OutOfRangeError):  # less than a header: TensorFlow stops here silently
            return Scan(count, size, f"truncated record {count + 1} at byte {offset}")
        except tf.errors.DataLossError as e:
            kind = "truncated" if "truncated" in e.message else "corrupted"
            return Scan(
                count, size, f"{kind} record {count + 1} at byte {offset}", _after(reader, path, offset, size)
            )
        offset, count = offset_next, count + 1
    return Scan(count, size)


def _after(reader, path: str, offset: int, size: int) -> int | None:
    """Whole records after a corrupted one at `offset`, when its length field
    leads to records that end exactly at the end of the file (else None:
    unknown)."""
    import struct

    with tf.io.gfile.GFile(path, "rb") as f:
        f.seek(offset)
        header = f.read(8)
    if len(header) < 8:
        return None
    offset += _HEADER + struct.unpack("<Q", header)[0] + 4
    count = 0
    while offset < size:
        try:
            _, offset = reader.read(offset)
        except (IndexError, OverflowError, tf.errors.OpError):
            return None
        count += 1
    return count if offset == size else None


def _plural(n: int, word: str = "record") -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _check_unlisted(path: str) -> Shard:
    scan = scan_shard(path)
    if scan.damage is None:
        return Shard(path, scan.num_records)
    lost = 1 + scan.after if scan.after is not None and "corrupted" in scan.damage else None
    readable = _plural(scan.num_records)
    problem = f"The TFRecord shard '{path}' is damaged: {scan.damage}; {readable} readable before it."
    return Shard(path, scan.num_records, problem, lost, "Copy or download it again.")


def _check_listed(path: str, entry: dict, info: str) -> Shard:
    expected = int(entry["num_records"])
    size = int(tf.io.gfile.stat(path).length)
    if size == int(entry["num_bytes"]) and file_sha256(path) == entry["sha256"]:
        return Shard(path, expected)
    scan = scan_shard(path)
    found = f"{scan.num_records:,} of the {_plural(expected)} its builder wrote"
    if size != int(entry["num_bytes"]):
        what = f"{'short' if size < int(entry['num_bytes']) else 'longer than built'}: {found}"
        detail = f"{size:,} of {int(entry['num_bytes']):,} bytes"
    else:
        what = f"changed since it was built: {found}"
        detail = "its SHA-256 differs"
    if scan.damage:
        detail += f"; {scan.damage}"
    problem = f"The TFRecord shard '{path}' is {what} ({detail}; counts in '{info}')."
    skipped = max(expected - scan.num_records, 0)
    return Shard(path, scan.num_records, problem, skipped, "Copy it again or rebuild the dataset.")


# ---------------------------------------------------------------- the check


_cache: dict[tuple, Shard] = {}
_cache_lock = threading.Lock()


def _file_key(path: str, entry: dict | None) -> tuple:
    stat = tf.io.gfile.stat(path)
    return (path, stat.length, stat.mtime_nsec, json.dumps(entry, sort_keys=True))


def _check_one(item: tuple[str, dict | None, str | None]) -> Shard:
    path, entry, info = item
    try:
        key = _file_key(path, entry)
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        shard = _check_unlisted(path) if entry is None else _check_listed(path, entry, info)
    except tf.errors.OpError as e:  # a folder, no permission, ...
        raise DamagedShardError(f"Cannot read the TFRecord shard '{path}': {e.message}") from None
    with _cache_lock:
        _cache[key] = shard
    return shard


def _resolve(spec: str) -> list[str]:
    """The shard files of `spec` (`base@N`, a glob or a path), each checked to exist."""
    from film_tf.data.tfrecord import shard_names

    names = shard_names(spec)
    if not names:
        raise FileNotFoundError(f"No TFRecord files match '{spec}'.")
    infos = {}
    for name in names:
        if not tf.io.gfile.exists(name):
            info = info_path(name)
            expected = ""
            if info and tf.io.gfile.exists(info):
                entry = read_dataset_info(info).get(name)
                if entry is not None:
                    expected = f"; its builder wrote {_plural(int(entry['num_records']))} to it"
            raise FileNotFoundError(f"TFRecord file not found: '{name}' (from '{spec}'{expected}).")
        infos.setdefault(info_path(name), []).append(name)
    if spec != names[0]:  # `base@N` or a glob: every shard its builder wrote must be there
        for info, members in infos.items():
            if info and tf.io.gfile.exists(info):
                for name, entry in read_dataset_info(info).items():
                    if name not in members and not tf.io.gfile.exists(name):
                        raise FileNotFoundError(
                            f"TFRecord file not found: '{name}' (from '{spec}'; its builder wrote "
                            f"{_plural(int(entry['num_records']))} to it, counts in '{info}')."
                        )
    return names


def check_shards(spec: str, skip_damaged: bool = False, workers: int = 4) -> list[Shard]:
    """The shards of `spec` (`base@N`, a glob or a path), checked whole.

    Args:
      spec: the TFRecord files, as every reader takes them.
      skip_damaged: return damaged shards (their `num_records` is what can be
        read before the damage, `problem` says what is wrong) instead of
        raising.
      workers: shards checked at once (hashing and CRCs release the GIL).

    Returns:
      One `Shard` per file, in file order.

    Raises:
      FileNotFoundError: a missing shard (named, with its builder's count).
      DamagedShardError: without `skip_damaged`, the first damaged shard, in
        one line naming it, its records found and expected (or the damaged
        record and its offset).
    """
    items = []
    listed: dict[str, dict[str, dict] | None] = {}
    for name in _resolve(spec):
        info = info_path(name)
        if info not in listed:
            listed[info] = read_dataset_info(info) if info and tf.io.gfile.exists(info) else None
        entries = listed[info]
        entry = None if entries is None else entries.get(name)
        if entries is not None and entry is None:
            raise DamagedShardError(f"The TFRecord shard '{name}' is not listed in its counts file '{info}'.")
        items.append((name, entry, info))
    if len(items) == 1 or workers <= 1:
        shards = [_check_one(item) for item in items]
    else:
        with ThreadPoolExecutor(min(workers, len(items))) as pool:
            shards = list(pool.map(_check_one, items))
    damaged = [s for s in shards if s.problem]
    if damaged and not skip_damaged:
        raise DamagedShardError(damaged[0].error_line())
    return shards


def skipped_summary(shards: Sequence[Shard]) -> str | None:
    """One line saying what `skip_damaged` leaves out of `shards`, or None when
    all are whole."""
    damaged = [s for s in shards if s.problem]
    if not damaged:
        return None
    unknown = any(s.skipped is None for s in damaged)  # a cut shard without counts: its damaged record
    first = damaged[0].problem.removesuffix(".")
    return (
        f"skipping damaged records: {'at least ' if unknown else ''}{_plural(skipped_records(damaged))} of "
        f"{_plural(len(damaged), 'shard')} left out ({first}"
        f"{'' if len(damaged) == 1 else f'; and {len(damaged) - 1} more'})."
    )


def skipped_records(shards: Sequence[Shard]) -> int:
    """The records known to be left out of `shards` (a truncated shard
    without a counts file counts its one damaged record)."""
    return sum((1 if s.skipped is None else s.skipped) for s in shards if s.problem)
