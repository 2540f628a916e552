"""Tests of the training/eval input pipelines and the augmentations."""

from __future__ import annotations

import functools
import math
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from film_tf.data import augment, pipeline
from film_tf.data.tfrecord import atomic_sharded_writer, make_example
from tests.conftest import video_frames


@functools.cache
def _clip_frames(scale: int) -> np.ndarray:
    frames = video_frames("bikes.mp4", 0, 40, 1)
    h, w = frames.shape[1] // scale, frames.shape[2] // scale
    return np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])


def write_triplets(path: str, count: int = 12, scale: int = 4, start: int = 0) -> list[np.ndarray]:
    """Writes `count` real triplets (frames i, i+1, i+2 of bikes.mp4, downscaled
    by `scale`: 68x160 for 4) to the sharded TFRecord `path`; returns the
    uint8 triplets as (3, H, W, 3) arrays (x0, y, x1)."""
    frames = _clip_frames(scale)
    triplets = [frames[start + 2 * i : start + 2 * i + 3] for i in range(count)]
    with atomic_sharded_writer(path) as writers:
        for i, triplet in enumerate(triplets):
            encoded = [tf.io.encode_png(f).numpy() for f in triplet]
            sizes = [f.shape[:2] for f in triplet]
            example = make_example(encoded, ["png"] * 3, sizes, f"bikes/{i:03d}/frame1.png")
            writers[i % len(writers)].write(example.SerializeToString())
    return triplets


@pytest.fixture(scope="module")
def triplet_file(tmp_path_factory) -> tuple[str, list[np.ndarray]]:
    path = os.path.join(tmp_path_factory.mktemp("data"), "bikes.tfrecord@2")
    return path, write_triplets(path)


def _synthetic_example(h=24, w=32) -> dict:
    rng = np.random.default_rng(0)
    return {k: tf.constant(rng.random((h, w, 3), np.float32)) for k in ("x0", "x1", "y")}


def test_training_dataset_shapes_values_and_determinism(triplet_file):
    path, triplets = triplet_file
    ds = pipeline.create_training_dataset([path], [32], batch_size=3, seed=5)
    batches = [b for b in ds.take(4)]
    again = [b for b in pipeline.create_training_dataset([path], [32], batch_size=3, seed=5).take(4)]
    other = [b for b in pipeline.create_training_dataset([path], [32], batch_size=3, seed=6).take(4)]
    for b in batches:
        assert set(b) == {"x0", "x1", "y", "time"}
        for k in ("x0", "x1", "y"):
            assert b[k].shape == (3, 32, 32, 3) and b[k].dtype == tf.float32
        np.testing.assert_array_equal(b["time"].numpy(), np.full((3, 1), 0.5, np.float32))
    for a, b in zip(batches, again):
        for k in ("x0", "x1", "y"):
            np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    assert any(not np.array_equal(a["y"].numpy(), b["y"].numpy()) for a, b in zip(batches, other))

    # Without augmentation every crop is a window of a real triplet, the same
    # window in x0, y and x1.
    found = 0
    for b in batches:
        for i in range(3):
            crop = {k: np.round(b[k][i].numpy() * 255).astype(np.uint8) for k in ("x0", "y", "x1")}
            for t in triplets:
                score = cv2.matchTemplate(t[1], crop["y"], cv2.TM_SQDIFF)
                r, c = np.unravel_index(np.argmin(score), score.shape)
                window = t[:, r : r + 32, c : c + 32]
                if all(np.array_equal(window[j], crop[k]) for j, k in enumerate(("x0", "y", "x1"))):
                    found += 1
                    break
    assert found >= 12


def test_several_files_with_their_crop_sizes(triplet_file, tmp_path):
    path, _ = triplet_file
    small = str(tmp_path / "small.tfrecord@1")
    write_triplets(small, count=4, scale=8)  # 34x80 frames
    ds = pipeline.create_training_dataset([path, small], [48, 32], batch_size=2, seed=1)
    sizes = {tuple(b["y"].shape[1:3]) for b in ds.take(20)}
    assert sizes == {(48, 48), (32, 32)}


def test_eval_examples_are_in_file_order(triplet_file):
    from film_tf.evaluation.evaluator import iterate_examples

    path, triplets = triplet_file
    examples = list(iterate_examples(path, max_examples=5))
    paths = [e["path"] for e in examples]
    # Shards were written round robin: shard 0 holds even indices, shard 1 odd.
    assert paths == [f"bikes/{i:03d}/frame1.png" for i in (0, 2, 4, 6, 8)]
    first = examples[0]
    np.testing.assert_allclose(first["y"], triplets[0][1] / 255.0, atol=1e-6)
    np.testing.assert_allclose(first["x1"], triplets[0][2] / 255.0, atol=1e-6)
    assert paths == [e["path"] for e in iterate_examples(path, max_examples=5)]


def test_validate_training_files(triplet_file, tmp_path):
    path, _ = triplet_file
    pipeline.validate_training_files([path], [64], alignment=16)
    with pytest.raises(FileNotFoundError, match="missing.tfrecord"):
        pipeline.validate_training_files([str(tmp_path / "missing.tfrecord")], [64])
    with pytest.raises(ValueError, match="larger than the frames"):
        pipeline.validate_training_files([path], [96], alignment=16)
    with pytest.raises(ValueError, match="alignment 16"):
        pipeline.validate_training_files([path], [40], alignment=16)
    empty = str(tmp_path / "empty.tfrecord")
    with atomic_sharded_writer(empty):
        pass
    with pytest.raises(ValueError, match="no examples"):
        pipeline.validate_training_files([empty], [32])
    with pytest.raises(ValueError, match="one crop size per file"):
        pipeline.validate_training_files([path, path], [32])


def test_rot90_flip_reverse_act_identically_on_the_triplet():
    example = _synthetic_example()
    seen_k = set()
    for s in range(12):
        out = augment.random_image_rot90(example, tf.constant([s, 1]))
        for k in range(4):
            if np.array_equal(out["y"].numpy(), np.rot90(example["y"].numpy(), k)):
                seen_k.add(k)
                for key in ("x0", "x1"):
                    np.testing.assert_array_equal(out[key].numpy(), np.rot90(example[key].numpy(), k))
    assert seen_k == {0, 1, 2, 3}

    flips = 0
    for s in range(12):
        out = augment.random_flip(example, tf.constant([s, 2]))
        flipped = not np.array_equal(out["y"].numpy(), example["y"].numpy())
        flips += flipped
        for key in ("x0", "x1", "y"):
            expect = example[key].numpy()[:, ::-1] if flipped else example[key].numpy()
            np.testing.assert_array_equal(out[key].numpy(), expect)
    assert 0 < flips < 12

    swaps = 0
    for s in range(12):
        out = augment.random_reverse(example, tf.constant([s, 3]))
        np.testing.assert_array_equal(out["y"].numpy(), example["y"].numpy())
        swapped = np.array_equal(out["x0"].numpy(), example["x1"].numpy())
        swaps += swapped
        np.testing.assert_array_equal(out["x1"].numpy(), example["x0" if swapped else "x1"].numpy())
    assert 0 < swaps < 12


def test_rotate_matches_cv2_and_random_rotate_probability():
    rng = np.random.default_rng(1)
    image = rng.random((20, 30, 3)).astype(np.float32)
    angle = math.radians(30.0)
    ours = augment.rotate(tf.constant(image), tf.constant(angle)).numpy()
    # OpenCV: counter-clockwise by +angle about the pixel-grid centre, zero border.
    matrix = cv2.getRotationMatrix2D(((30 - 1) / 2, (20 - 1) / 2), 30.0, 1.0)
    theirs = cv2.warpAffine(
        image, matrix, (30, 20), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    inner = (slice(5, 15), slice(8, 22))  # away from the border, where fill rules differ
    np.testing.assert_allclose(ours[inner], theirs[inner], atol=1e-4)
    np.testing.assert_allclose(augment.rotate(tf.constant(image), tf.constant(0.0)).numpy(), image, atol=1e-6)

    example = _synthetic_example()
    rotated = 0
    for s in range(40):
        out = augment.random_rotate(example, tf.constant([s, 4]))
        changed = not np.allclose(out["y"].numpy(), example["y"].numpy())
        rotated += changed
        # The same transform for all three: compare against rotating x0 like y.
        if changed:
            diff = np.abs(out["y"].numpy() - example["y"].numpy()).sum()
            assert diff > 0
            assert np.count_nonzero(out["x0"].numpy() == 0) == np.count_nonzero(out["y"].numpy() == 0)
    assert 8 <= rotated <= 32


def test_augmentations_in_the_pipeline_keep_the_window_shared(triplet_file):
    path, _ = triplet_file
    names = ["random_image_rot90", "random_flip", "random_rotate", "random_reverse"]
    ds = pipeline.create_training_dataset([path], [48], batch_size=4, augmentation_names=names, seed=3)
    for b in ds.take(2):
        for k in ("x0", "x1", "y"):
            assert b[k].shape == (4, 48, 48, 3)
            assert 0.0 <= float(tf.reduce_min(b[k])) and float(tf.reduce_max(b[k])) <= 1.0
        # x0/x1 are neighbouring frames of y: much closer to y than a random other crop.
        near = float(tf.reduce_mean(tf.abs(b["x0"] - b["y"])))
        far = float(tf.reduce_mean(tf.abs(b["x0"] - tf.roll(b["y"], 1, axis=0))))
        assert near < 0.5 * far
    with pytest.raises(ValueError, match="Unknown augmentation 'random_zoom'"):
        pipeline.create_training_dataset([path], [48], 4, augmentation_names=["random_zoom"])


def test_input_pipelines_read_disjoint_shares(triplet_file, tmp_path):
    """Multi-worker input: each pipeline reads its own files (2 shards, 2
    pipelines) or, with fewer files than pipelines, its own records."""
    path, triplets = triplet_file
    middles = {t[1].tobytes() for t in triplets}

    def seen(p, num, index):
        ds = pipeline.create_training_dataset(
            [p], [34], batch_size=1, seed=0, num_pipelines=num, pipeline_index=index
        )
        out = set()
        for b in ds.take(40):
            y = np.round(b["y"][0].numpy() * 255).astype(np.uint8)
            for t in triplets:
                if cv2.matchTemplate(t[1], y, cv2.TM_SQDIFF).min() == 0:
                    out.add(t[1].tobytes())
        return out

    a, b = seen(path, 2, 0), seen(path, 2, 1)
    assert a and b and not (a & b) and (a | b) <= middles
    single = str(tmp_path / "one.tfrecord")
    write_triplets(single, count=6)
    a, b = seen(single, 2, 0), seen(single, 2, 1)
    assert len(a) == 3 and len(b) == 3 and not (a & b)


# ---------------------------------------------------------------- time


def _encoded_triplet(time=None) -> bytes:
    frames = [np.full((6, 8, 3), 40 * k, np.uint8) for k in range(3)]
    encoded = [tf.io.encode_png(f).numpy() for f in frames]
    args = (encoded, ["png"] * 3, [(6, 8)] * 3, "p")
    example = make_example(*args) if time is None else make_example(*args, time=time)
    return example.SerializeToString(deterministic=True)


def test_time_feature_absent_reads_half_present_reads_its_value():
    from film_tf.data.tfrecord import parse_example

    old = _encoded_triplet()  # the official format: no `time`
    assert "time" not in tf.train.Example.FromString(old).features.feature
    np.testing.assert_array_equal(parse_example(old)["time"].numpy(), [0.5])
    at_03 = _encoded_triplet(0.3)
    assert list(tf.train.Example.FromString(at_03).features.feature["time"].float_list.value) == [
        pytest.approx(0.3)
    ]
    np.testing.assert_array_equal(parse_example(at_03)["time"].numpy(), np.float32([0.3]))
    # 0.5 is not stored: midpoint triplets keep the bytes of the official format.
    assert _encoded_triplet(0.5) == old
    for bad in (0.0, 1.0, -0.2, float("nan")):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            _encoded_triplet(bad)


def test_batches_carry_each_examples_time(tmp_path):
    """Records at t = 0.25 / 0.5 (no feature) / 0.75: every batch row keeps its
    own time, and random_reverse turns it into 1 - t exactly when x0 and x1 swap."""
    frames = _clip_frames(4)[:12]
    path = str(tmp_path / "t.tfrecord@1")
    times = {0: 0.25, 1: 0.5, 2: 0.75}
    with atomic_sharded_writer(path) as writers:
        for i in range(9):
            triplet = frames[i : i + 3]
            encoded = [tf.io.encode_png(f).numpy() for f in triplet]
            example = make_example(encoded, ["png"] * 3, [f.shape[:2] for f in triplet], f"{i}", times[i % 3])
            writers[0].write(example.SerializeToString())
    # Triplet i is frames (i, i + 1, i + 2): which frames a crop came from tells its triplet.
    scaled = [f.astype(np.float32) / 255 for f in frames]

    def frame_index(crop: np.ndarray) -> int:
        return int(np.argmin([np.abs(crop - _window_of(f, crop)).mean() for f in scaled]))

    plain = pipeline.create_training_dataset([path], [64], batch_size=3, seed=1)
    seen = set()
    for b in plain.take(6):
        assert b["time"].shape == (3, 1) and b["time"].dtype == tf.float32
        for row in range(3):
            i = frame_index(b["x0"][row].numpy())
            assert frame_index(b["x1"][row].numpy()) == i + 2
            assert b["time"][row, 0].numpy() == np.float32(times[i % 3])
            seen.add(float(b["time"][row, 0]))
    assert seen == {0.25, 0.5, 0.75}

    swapped_rows = 0
    rev = pipeline.create_training_dataset([path], [64], 3, augmentation_names=["random_reverse"], seed=2)
    for b in rev.take(8):
        for row in range(3):
            i0, i1 = frame_index(b["x0"][row].numpy()), frame_index(b["x1"][row].numpy())
            assert abs(i1 - i0) == 2
            swapped = i1 < i0  # x1 before x0: time runs backwards
            t = times[min(i0, i1) % 3]
            assert b["time"][row, 0].numpy() == pytest.approx(1.0 - t if swapped else t)
            swapped_rows += swapped
    assert 0 < swapped_rows < 24


def _window_of(frame: np.ndarray, crop: np.ndarray) -> np.ndarray:
    """The window of `frame` that best matches `crop` (same size)."""
    score = cv2.matchTemplate(frame, crop, cv2.TM_SQDIFF)
    r, c = np.unravel_index(np.argmin(score), score.shape)
    return frame[r : r + crop.shape[0], c : c + crop.shape[1]]


def test_random_reverse_maps_time_to_one_minus_time_and_keeps_y():
    example = _synthetic_example()
    example["time"] = tf.constant([0.3])
    swaps = 0
    for s in range(16):
        out = augment.random_reverse(example, tf.constant([s, 3]))
        np.testing.assert_array_equal(out["y"].numpy(), example["y"].numpy())
        swapped = np.array_equal(out["x0"].numpy(), example["x1"].numpy())
        swaps += swapped
        np.testing.assert_allclose(out["time"].numpy(), [0.7 if swapped else 0.3], atol=1e-7)
    assert 0 < swaps < 16
    # The geometric augmentations keep the time.
    for name in ("random_image_rot90", "random_flip", "random_rotate"):
        for s in range(4):
            out = augment.AUGMENTATIONS[name](example, tf.constant([s, 9]))
            np.testing.assert_array_equal(out["time"].numpy(), np.float32([0.3]))
