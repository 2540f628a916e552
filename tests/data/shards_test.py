"""Whole shards: the builders' counts file, damaged records, 16-bit frames."""

from __future__ import annotations

import hashlib
import json
import os
import struct

import cv2
import numpy as np
import pytest
import tensorflow as tf

from film_tf.data import shards
from film_tf.data.tfrecord import make_example, parse_example, shard_names
from film_tf.datasets import writer


def encoded_triplet(i: int, h: int = 12, w: int = 16) -> bytes:
    """A serialized triplet of random 8-bit PNG frames, seeded by `i`."""
    rng = np.random.default_rng(i)
    frames = [rng.integers(0, 256, (h, w, 3), np.uint8) for _ in range(3)]
    encoded = [cv2.imencode(".png", f)[1].tobytes() for f in frames]
    return make_example(encoded, ["png"] * 3, [(h, w)] * 3, f"t/{i}.png").SerializeToString()


def build(path: str, count: int = 6, h: int = 12, w: int = 16) -> list[str]:
    """`count` triplets of (h, w) frames written to `path` (`base@N`) by the
    reference writer, which writes the counts file too; returns the shard names."""
    encode = lambda i: encoded_triplet(i, h, w)  # noqa: E731
    assert writer.write_tfrecord(range(count), encode, path, num_workers=1) == count
    return shard_names(path)


def record_ends(path: str) -> list[int]:
    """The byte offset after each record (read from the framing)."""
    data = open(path, "rb").read()
    ends, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        offset += 12 + length + 4
        ends.append(offset)
    return ends


def cut(path: str, size: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(size)


def flip(path: str, offset: int) -> None:
    data = bytearray(open(path, "rb").read())
    data[offset] ^= 0x10
    open(path, "wb").write(bytes(data))


def test_counts_file_lists_each_shard(tmp_path):
    names = build(str(tmp_path / "s.tfrecord@2"), count=5)
    info_file = tmp_path / "s.tfrecord@2.dataset_info.json"
    info = json.loads(info_file.read_text())
    assert info["num_examples"] == 5 and info["num_shards"] == 2
    for name, entry, records in zip(names, info["shards"], (3, 2)):
        data = open(name, "rb").read()
        assert entry == {
            "filename": os.path.basename(name),
            "num_records": records,
            "num_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    checked = shards.check_shards(str(tmp_path / "s.tfrecord@2"))
    assert [(s.path, s.num_records, s.problem) for s in checked] == [(names[0], 3, None), (names[1], 2, None)]
    # A glob over the folder finds the shards, not the counts file.
    assert shard_names(str(tmp_path / "s.tfrecord*")) == names


def test_shard_cut_at_a_record_boundary_against_its_counts(tmp_path):
    """The issue's worst case: a 6-triplet shard cut after its 4th record reads
    as 4 whole records to TensorFlow; its counts file says 6."""
    (name,) = build(str(tmp_path / "s@1"))
    ends = record_ends(name)
    assert len(ends) == 6
    cut(name, ends[3])
    assert sum(1 for _ in tf.data.TFRecordDataset(name)) == 4  # TensorFlow sees nothing wrong
    with pytest.raises(shards.DamagedShardError) as e:
        shards.check_shards(str(tmp_path / "s@1"))
    message = str(e.value)
    assert (
        f"'{name}' is short: 4 of the 6 records its builder wrote ({ends[3]:,} of {ends[5]:,} bytes"
        in message
    )
    assert "\n" not in message
    (shard,) = shards.check_shards(str(tmp_path / "s@1"), skip_damaged=True)
    assert (shard.num_records, shard.skipped) == (4, 2)


def test_cut_shard_without_counts(tmp_path):
    """Without a counts file, the bytes after the last whole record are a
    truncated record; a cut exactly at a record boundary cannot be seen (then
    film-eval's test-set size check flags it, tests/evaluation)."""
    (name,) = build(str(tmp_path / "s@1"))
    os.remove(tmp_path / "s@1.dataset_info.json")
    ends = record_ends(name)
    cut(name, ends[3] + 100)
    with pytest.raises(shards.DamagedShardError) as e:
        shards.check_shards(name)
    assert str(e.value) == (
        f"The TFRecord shard '{name}' is damaged: truncated record 5 at byte {ends[3]}; "
        "4 records readable before it. Copy or download it again."
    )
    # A few bytes of a header only (TensorFlow stops there silently): truncated too.
    cut(name, ends[3] + 5)
    with pytest.raises(shards.DamagedShardError, match=f"truncated record 5 at byte {ends[3]};"):
        shards.check_shards(name)
    cut(name, ends[3])
    assert [(s.num_records, s.problem) for s in shards.check_shards(name)] == [(4, None)]


def test_corrupted_record_without_counts_and_skipping(tmp_path):
    (name,) = build(str(tmp_path / "s@1"))
    os.remove(tmp_path / "s@1.dataset_info.json")
    ends = record_ends(name)
    flip(name, ends[1] + 40)  # inside record 3's data
    with pytest.raises(shards.DamagedShardError) as e:
        shards.check_shards(str(tmp_path / "s@1"))
    assert f"'{name}' is damaged: corrupted record 3 at byte {ends[1]}; 2 records readable" in str(e.value)
    (shard,) = shards.check_shards(str(tmp_path / "s@1"), skip_damaged=True)
    # Records 4-6 are whole, but TensorFlow's reader cannot go past record 3.
    assert (shard.num_records, shard.skipped) == (2, 4)
    line = shards.skipped_summary([shard])
    assert line.startswith("skipping damaged records: 4 records of 1 shard left out (The TFRecord shard")
    assert shards.skipped_records([shard]) == 4


def test_changed_and_missing_shards_with_counts(tmp_path):
    names = build(str(tmp_path / "s@2"))
    ends = record_ends(names[1])
    flip(names[1], ends[0] + 30)
    with pytest.raises(shards.DamagedShardError) as e:
        shards.check_shards(str(tmp_path / "s@2"))
    assert f"'{names[1]}' is changed since it was built: 1 of the 3 records its builder wrote" in str(e.value)
    assert f"its SHA-256 differs; corrupted record 2 at byte {ends[0]}" in str(e.value)
    os.remove(names[1])
    with pytest.raises(FileNotFoundError, match=r"00001-of-00002' .*its builder wrote 3 records to it"):
        shards.check_shards(str(tmp_path / "s@2"))
    # A glob over the shards left: the counts file says one is missing.
    with pytest.raises(FileNotFoundError, match=r"s-00001-of-00002' \(from '.*s-\*'; its builder wrote 3"):
        shards.check_shards(str(tmp_path / "s-*"))
    # One shard named alone is checked alone.
    assert [s.num_records for s in shards.check_shards(names[0])] == [3]


def test_16_bit_frames_keep_their_precision():
    rng = np.random.default_rng(0)
    frames16 = [rng.integers(0, 65536, (10, 14, 3), np.uint16) for _ in range(3)]
    encoded = [cv2.imencode(".png", f[..., ::-1])[1].tobytes() for f in frames16]
    record = make_example(encoded, ["png"] * 3, [(10, 14)] * 3, "p").SerializeToString()
    example = parse_example(tf.constant(record))
    for key, frame in zip(("x0", "y", "x1"), frames16):
        np.testing.assert_allclose(example[key].numpy(), frame / 65535.0, rtol=0, atol=1e-7)
        assert np.unique(np.round(example[key].numpy() * 65535) % 257).size > 1  # not 8-bit values
    # 8-bit PNG and JPEG: exactly as before (uint8 decoded, then scaled by 1/255).
    frames8 = [rng.integers(0, 256, (10, 14, 3), np.uint8) for _ in range(3)]
    for fmt in (".png", ".jpg"):
        encoded = [cv2.imencode(fmt, f)[1].tobytes() for f in frames8]
        record = make_example(encoded, [fmt[1:]] * 3, [(10, 14)] * 3, "p").SerializeToString()
        example = parse_example(tf.constant(record))
        for key, data in zip(("x0", "y", "x1"), encoded):
            expected = tf.image.convert_image_dtype(tf.io.decode_image(data, channels=3), tf.float32)
            np.testing.assert_array_equal(example[key].numpy(), expected.numpy())
