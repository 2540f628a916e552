"""film-create-synthetic-motion-tfrecord: motion exact by construction, deterministic, readable shards."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from film_tf.datasets import photos as photos_lib
from film_tf.datasets import synthetic_motion as sm
from film_tf.evaluation.evaluator import iterate_examples

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def noise_photo(seed: int, h: int = 90, w: int = 120) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_png(path: str, rgb: np.ndarray) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1]))
    return path


def test_translation_gives_exact_shifts():
    photo = noise_photo(0)
    # Content moves by d = (8, -4) px from x0 to x1: frame t samples the photo at
    # anchor + (p - position) - t * d / 2.
    motion = sm.LayerMotion(anchor=(50.0, 40.0), position=(16.0, 16.0), displacement=(8.0, -4.0))
    x0, y, x1 = sm.render_triplet(sm.Scene(photo, motion, (), 32))
    np.testing.assert_array_equal(x0, photo[22:54, 38:70])  # rows 40 - 16 - 2, columns 50 - 16 + 4
    np.testing.assert_array_equal(y, photo[24:56, 34:66])
    np.testing.assert_array_equal(x1, photo[26:58, 30:62])
    # x1 is x0 moved by d: x1[r - 4, c + 8] == x0[r, c].
    np.testing.assert_array_equal(x1[:-4, 8:], x0[4:, :-8])


def test_middle_frame_is_the_scene_at_t0_with_zoom_rotation_and_patches():
    photo, other = noise_photo(1), noise_photo(2, 40, 40)
    n = 48
    motion = sm.LayerMotion((60.0, 45.0), (n / 2, n / 2), (30.0, 12.0), math.log(1.08), math.radians(4))
    patch_image = other[5:25, 3:17]  # 20 x 14
    mask = sm.make_mask(np.random.default_rng(3), 20, 14)
    # The patch's top-left pixel sits at output (x, y) = (10, 7) at t = 0.
    patch_motion = sm.LayerMotion((6.5, 9.5), (16.5, 16.5), (-20.0, 5.0), -0.05, math.radians(-3))
    scene = sm.Scene(photo, motion, (sm.Patch(patch_image, mask, patch_motion),), n)
    x0, y, x1 = sm.render_triplet(scene)
    # At t = 0 no layer is resampled: the crop, with the patch pasted through its mask.
    expected = photo[21:69, 36:84].astype(np.float64)
    region = expected[7:27, 10:24]
    region[:] = region * (1 - mask[..., None]) + patch_image * mask[..., None]
    np.testing.assert_array_equal(y, np.clip(np.round(expected), 0, 255).astype(np.uint8))
    # The outer frames moved (zoom, rotation, translation): far from the middle.
    for x in (x0, x1):
        assert np.abs(x.astype(int) - y).mean() > 30


def test_layer_motion_follows_its_definition():
    motion = sm.LayerMotion((7.0, 3.0), (20.0, 10.0), (12.0, -6.0), math.log(1.2), math.radians(10))

    def output_of(source_xy, t):
        """Where the layer's source point appears at time t (inverting matrix(t))."""
        m = motion.matrix(t)
        return np.linalg.solve(m[:, :2], np.asarray(source_xy) - m[:, 2])

    # The anchor travels d from x0 to x1, through the position at t = 0.
    np.testing.assert_allclose(output_of((7.0, 3.0), 0.0), (20.0, 10.0), atol=1e-9)
    np.testing.assert_allclose(
        output_of((7.0, 3.0), 1.0) - output_of((7.0, 3.0), -1.0), (12.0, -6.0), atol=1e-9
    )
    # A point 5 px right of the anchor: 5 * 1.2 px away at x1 vs x0 (zoom), rotated by 10 degrees
    # counter-clockwise on screen (y points down).
    v0 = output_of((12.0, 3.0), -1.0) - output_of((7.0, 3.0), -1.0)
    v1 = output_of((12.0, 3.0), 1.0) - output_of((7.0, 3.0), 1.0)
    assert np.linalg.norm(v1) / np.linalg.norm(v0) == pytest.approx(1.2)
    angle = math.degrees(math.atan2(-v1[1], v1[0]) - math.atan2(-v0[1], v0[0]))
    assert angle == pytest.approx(10.0)


def test_motion_distribution_covers_small_medium_and_large():
    config = sm.MotionConfig(max_motion=100.0, max_zoom=0.08, max_rotation=4.0)
    rng = np.random.default_rng(0)
    draws = [sm.draw_motion(rng, config) for _ in range(3000)]
    magnitude = np.array([math.hypot(*d) for d, _, _ in draws])
    assert magnitude.max() <= 100.0
    shares = [
        np.mean(magnitude < 10),
        np.mean((magnitude >= 10) & (magnitude < 40)),
        np.mean(magnitude >= 40),
    ]
    np.testing.assert_allclose(shares, [1 / 3] * 3, atol=0.04)
    assert np.mean(magnitude > 90) > 0.03  # the largest motions do occur
    zooms = np.exp([z for _, z, _ in draws])
    assert 1 / 1.08 <= zooms.min() < 0.93 and 1.07 < zooms.max() <= 1.08
    assert max(abs(math.degrees(r)) for _, _, r in draws) == pytest.approx(4.0, abs=0.05)


def test_masks():
    rng = np.random.default_rng(0)
    masks = [sm.make_mask(rng, 30, 40) for _ in range(40)]
    for mask in masks:
        assert mask.shape == (30, 40) and mask.dtype == np.float32
        assert 0 <= mask.min() and mask.max() <= 1 and mask.max() > 0.9
    # Rectangles are solid; the other kinds leave the corners free and some have soft edges.
    assert any(m.min() == 1 for m in masks)
    assert any(m[0, 0] == 0 and m[15, 20] > 0.9 for m in masks)
    assert any(np.mean((m > 0.05) & (m < 0.95)) > 0.1 for m in masks)


@pytest.fixture
def photo_dir(tmp_path) -> str:
    root = tmp_path / "photos"
    write_png(str(root / "b" / "img10.png"), noise_photo(10, 70, 90))
    write_png(str(root / "b" / "img2.png"), noise_photo(2, 64, 80))
    write_png(str(root / "a.png"), noise_photo(3, 50, 60))
    write_png(str(root / "tiny.png"), noise_photo(4, 20, 60))  # shorter side below the crop
    # One picture at three sizes (KDE wallpaper layout): only the largest counts.
    for w, h in ((80, 60), (160, 120), (120, 90)):
        write_png(str(root / "kde" / "contents" / "images" / f"{w}x{h}.png"), noise_photo(w, h, w))
    (root / "notes.txt").write_text("not a photo")
    return str(root)


def test_photo_sources(photo_dir, monkeypatch):
    assert photos_lib.find_photo_files(photo_dir) == [
        os.path.join(photo_dir, n)
        for n in ("a.png", "tiny.png", "b/img2.png", "b/img10.png", "kde/contents/images/160x120.png")
    ]
    photos = photos_lib.load_photos([photo_dir], builtin=False, min_side=32, max_side=100)
    assert [os.path.relpath(p.name, photo_dir) for p in photos] == [
        "a.png", "b/img2.png", "b/img10.png", "kde/contents/images/160x120.png"
    ]  # fmt: skip
    np.testing.assert_array_equal(photos[0].image, noise_photo(3, 50, 60))
    assert photos[3].image.shape == (75, 100, 3)  # shrunk to a longer side of 100
    # Built-in photos work without scikit-learn.
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    builtin = photos_lib.load_photos([], builtin=True, min_side=256)
    assert [p.name for p in builtin] == [f"skimage:{n}" for n in photos_lib.SKIMAGE_PHOTOS]
    assert all(p.image.dtype == np.uint8 and p.image.shape[2] == 3 for p in builtin)
    with pytest.raises(ValueError, match="None of the 5 photo"):
        photos_lib.load_photos([photo_dir], builtin=False, min_side=500)


def test_deterministic_and_independent_of_workers(photo_dir, tmp_path):
    photos = photos_lib.load_photos([photo_dir], builtin=False, min_side=32)
    config = sm.MotionConfig(crop_size=32, max_motion=20.0)
    first = sm.triplet(photos, config, seed=5, index=3)
    again = sm.triplet(photos, config, seed=5, index=3)
    assert first[1] == again[1]
    for a, b in zip(first[0], again[0]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(sm.triplet(photos, config, seed=6, index=3)[0][1], first[0][1])
    assert not np.array_equal(sm.triplet(photos, config, seed=5, index=4)[0][1], first[0][1])
    outputs = []
    for workers in (1, 2):
        out = str(tmp_path / f"w{workers}" / "s.tfrecord@2")
        assert sm.build(photos, out, 6, config, seed=5, num_workers=workers) == 6
        outputs.append([open(p, "rb").read() for p in sorted((tmp_path / f"w{workers}").iterdir())])
    assert outputs[0] == outputs[1]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "datasets.create_synthetic_motion_tfrecord", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_writes_readable_shards(photo_dir, tmp_path):
    out = str(tmp_path / "out" / "synthetic.tfrecord")
    result = run_cli(
        f"--photo_dirs={photo_dir}", "--num_triplets=5", "--crop_size=32", "--max_motion=12",
        "--seed=7", f"--output_tfrecord_filepath={out}", "--num_shards=2", "--num_workers=1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "out")) == [
        "synthetic.tfrecord-00000-of-00002",
        "synthetic.tfrecord-00001-of-00002",
        "synthetic.tfrecord@2.dataset_info.json",
    ]
    photos = photos_lib.load_photos([photo_dir], builtin=False, min_side=32)
    config = sm.MotionConfig(crop_size=32, max_motion=12.0)
    seen = []
    for example in iterate_examples(out + "@2"):
        assert set(example) == {"x0", "x1", "y", "path", "time"}
        assert example["time"] == 0.5  # midpoint triplets: no time feature stored, read as 0.5
        path = example["path"]
        index = int(path.split()[0].split("/")[1])
        frames, expected_path = sm.triplet(photos, config, seed=7, index=index)
        assert path == expected_path
        for key, frame in zip(("x0", "y", "x1"), frames):
            assert example[key].shape == (32, 32, 3)
            np.testing.assert_array_equal(np.round(example[key] * 255).astype(np.uint8), frame)
        seen.append(index)
    assert sorted(seen) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("case", ["missing", "empty", "none"])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no photos here")
    source = {
        "missing": [f"--photo_dirs={tmp_path / 'nowhere'}"],
        "empty": [f"--photo_dirs={empty}"],
        "none": [],
    }[case]
    out = tmp_path / "out"
    result = run_cli(*source, f"--output_tfrecord_filepath={out / 's'}")
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    expected = {
        "missing": f"error: Photo folder not found: '{tmp_path / 'nowhere'}'.",
        "empty": f"error: No photos (.png, .jpg, .jpeg, .webp) under {empty}.",
        "none": "error: No photo source: give --photo_dirs and/or --builtin_photos.",
    }[case]
    assert errors == [expected]
    assert "Traceback" not in result.stderr
    assert not out.exists()
