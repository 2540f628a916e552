"""film-create-video-tfrecord: --drop_repeated_frames and --downscale, on a lossless clip with known repeats."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from film_tf.data.tfrecord import existing_shards, parse_example
from film_tf.datasets import video
from film_tf.jobs import scene_cuts

# Decoded frame j shows base frame BASE[j]: base frames 2 and 6 are shown twice
# (decoded frames 3 and 8 repeat their predecessor), as frame-rate conversion does.
BASE = [0, 1, 2, 2, 3, 4, 5, 6, 6, 7, 8, 9]
KEPT = [0, 1, 2, 4, 5, 6, 7, 9, 10, 11]  # decoded indices left after dropping the repeats


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[str, np.ndarray]:
    """A 64x48 FFV1 (lossless RGB) clip of a smooth texture panning 2 px per base
    frame, and its decoded frames (12, 48, 64, 3) uint8."""
    import cv2
    import mediapy

    from film_tf.media.video_io import ensure_ffmpeg, read_video

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (48, 120, 3)).astype(np.float32), (0, 0), 2.0)
    texture = np.clip((texture - texture.mean()) * 4 + 128, 0, 255).astype(np.uint8)
    base = [texture[:, 2 * k : 2 * k + 64] for k in range(10)]
    frames = np.stack([base[k] for k in BASE])
    path = str(tmp_path_factory.mktemp("clip") / "pan.mkv")
    ensure_ffmpeg()
    mediapy.write_video(path, frames, fps=25, codec="ffv1", encoded_format="rgb24")
    decoded, _ = read_video(path)
    np.testing.assert_array_equal(decoded, frames)  # lossless: the test knows every pixel
    return path, decoded


def read_records(path: str) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for serialized in tf.data.TFRecordDataset(existing_shards(path)):
        parsed = parse_example(serialized)
        out[parsed["path"].numpy().decode()] = {
            k: np.round(parsed[k].numpy() * 255).astype(np.uint8) for k in ("x0", "y", "x1")
        }
    return out


def area_half(image: np.ndarray) -> np.ndarray:
    """2x2 box mean, rounded half up (what INTER_AREA gives at factor 2)."""
    h, w = image.shape[0] // 2, image.shape[1] // 2
    s = image[: 2 * h, : 2 * w].astype(np.int64).reshape(h, 2, w, 2, 3).sum(axis=(1, 3))
    return ((s + 2) // 4).astype(np.uint8)


def test_repeats_differ_far_less_than_motion(clip):
    _, frames = clip
    steps = [scene_cuts.mean_abs_difference(frames[j - 1], frames[j]) for j in range(1, len(frames))]
    repeats = [j for j in range(1, len(frames)) if steps[j - 1] == 0]
    assert repeats == [3, 8]
    assert min(s for s in steps if s > 0) > 0.01  # real motion, far above the 0.001 threshold used below


def test_defaults_keep_every_frame(clip, tmp_path):
    path, frames = clip
    out = str(tmp_path / "all.tfrecord@1")
    assert video.build(path, out, video.TripletOptions(frame_gap=2)) == 8
    records = read_records(out)
    assert sorted(records) == [f"{path}#{j}" for j in range(2, 10)]
    for j in range(2, 10):
        for key, k in (("x0", j - 2), ("y", j), ("x1", j + 2)):
            np.testing.assert_array_equal(records[f"{path}#{j}"][key], frames[k])


def test_drop_repeated_frames_cuts_triplets_from_kept_frames(clip, tmp_path):
    path, frames = clip
    out = str(tmp_path / "kept.tfrecord")
    video.main(
        ["prog", f"--input_dir={path}", f"--output_tfrecord_filepath={out}", "--num_shards=2",
         "--frame_gap=2", "--drop_repeated_frames=0.001"]
    )  # fmt: skip
    records = read_records(out + "@2")
    # 10 kept frames -> 6 triplets (kept i, i + 2, i + 4); the key names the decoded middle frame.
    assert sorted(records, key=lambda p: int(p.split("#")[1])) == [f"{path}#{KEPT[i + 2]}" for i in range(6)]
    for i in range(6):
        record = records[f"{path}#{KEPT[i + 2]}"]
        for key, k in (("x0", KEPT[i]), ("y", KEPT[i + 2]), ("x1", KEPT[i + 4])):
            np.testing.assert_array_equal(record[key], frames[k])
        # Constant speed: base frames step by exactly 2 from x0 to y and y to x1.
        assert BASE[KEPT[i + 2]] - BASE[KEPT[i]] == BASE[KEPT[i + 4]] - BASE[KEPT[i + 2]] == 2

    # The stride counts kept frames too.
    options = video.TripletOptions(frame_gap=2, stride=2, drop_repeated_frames=0.001)
    assert video.build(path, str(tmp_path / "strided.tfrecord@1"), options) == 3
    assert sorted(read_records(str(tmp_path / "strided.tfrecord@1"))) == [f"{path}#{j}" for j in (2, 5, 7)]


def test_downscale_area_after_choosing_triplets(clip, tmp_path):
    path, frames = clip
    out = str(tmp_path / "half.tfrecord")
    video.main(
        ["prog", f"--input_dir={path}", f"--output_tfrecord_filepath={out}", "--frame_gap=1",
         "--drop_repeated_frames=0.001", "--downscale=2"]
    )  # fmt: skip
    records = read_records(out + "@1")
    assert len(records) == len(KEPT) - 2
    for i in range(len(KEPT) - 2):
        record = records[f"{path}#{KEPT[i + 1]}"]
        for key, k in (("x0", KEPT[i]), ("y", KEPT[i + 1]), ("x1", KEPT[i + 2])):
            assert record[key].shape == (24, 32, 3)
            np.testing.assert_array_equal(record[key], area_half(frames[k]))

    # Factor 3: (48 // 3, 64 // 3); too large a factor is one clear error and no output.
    options = video.TripletOptions(frame_gap=1, max_triplets_per_video=1, downscale=3)
    assert video.build(path, str(tmp_path / "third.tfrecord@1"), options) == 1
    (record,) = read_records(str(tmp_path / "third.tfrecord@1")).values()
    assert record["y"].shape == (16, 21, 3)
    with pytest.raises(ValueError, match="--downscale=50 leaves nothing of a 64x48 frame"):
        video.build(path, str(tmp_path / "none" / "x@1"), video.TripletOptions(downscale=50))
    assert not os.path.exists(tmp_path / "none") or os.listdir(tmp_path / "none") == []


def test_bad_options():
    with pytest.raises(ValueError, match="--drop_repeated_frames must be >= 0"):
        video.TripletOptions(drop_repeated_frames=-0.1)
    with pytest.raises(ValueError, match="--downscale >= 1"):
        video.TripletOptions(downscale=0)


def read_times(path: str) -> dict[str, float]:
    return {
        parsed["path"].numpy().decode(): float(parsed["time"][0])
        for parsed in map(parse_example, tf.data.TFRecordDataset(existing_shards(path)))
    }


def test_spans_write_every_frame_inside_a_span_with_its_time(clip, tmp_path):
    """--spans=3,4 on the 10 kept frames: every (i, i + j, i + G), time j / G,
    checked against the decoded frames; 0.5 is not stored (it is the default)."""
    path, frames = clip
    out = str(tmp_path / "spans.tfrecord")
    video.main(
        ["prog", f"--input_dir={path}", f"--output_tfrecord_filepath={out}", "--num_shards=2",
         "--spans=3,4", "--drop_repeated_frames=0.001"]
    )  # fmt: skip
    records, times = read_records(out + "@2"), read_times(out + "@2")
    expected = {}
    for span in (3, 4):
        for i in range(len(KEPT) - span):
            for j in range(1, span):
                expected[f"{path}#{KEPT[i]}-{KEPT[i + j]}-{KEPT[i + span]}"] = (i, j, span)
    assert sorted(records) == sorted(expected)
    assert len(records) == 7 * 2 + 6 * 3
    for key, (i, j, span) in expected.items():
        for name, k in (("x0", KEPT[i]), ("y", KEPT[i + j]), ("x1", KEPT[i + span])):
            np.testing.assert_array_equal(records[key][name], frames[k])
        assert times[key] == pytest.approx(j / span, abs=1e-7)
        # Constant speed: the ground truth is j / G of the way in base frames too.
        assert BASE[KEPT[i + j]] - BASE[KEPT[i]] == pytest.approx(
            j / span * (BASE[KEPT[i + span]] - BASE[KEPT[i]])
        )
    # The feature is stored exactly where the time is not 0.5.
    for s in tf.data.TFRecordDataset(existing_shards(out + "@2")):
        has_time = "time" in tf.train.Example.FromString(s.numpy()).features.feature
        assert has_time == (float(parse_example(s)["time"][0]) != 0.5)


def test_spans_skip_a_span_across_a_scene_cut(clip, tmp_path):
    path, frames = clip
    # Scene-cut threshold just under the step between two base frames: every span with
    # motion is cut, so nothing is written; above it, every span is kept.
    steps = [scene_cuts.mean_abs_difference(frames[j - 1], frames[j]) for j in range(1, len(frames))]
    motion = sorted(s for s in steps if s > 0)
    cut = video.TripletOptions(spans=(2,), scene_cut_threshold=motion[0] / 2, drop_repeated_frames=0.001)
    with pytest.raises(ValueError, match="No triplets|no triplets|nothing"):
        video.build(path, str(tmp_path / "cut.tfrecord@1"), cut)
    keep = video.TripletOptions(spans=(2,), scene_cut_threshold=motion[-1] * 2, drop_repeated_frames=0.001)
    assert video.build(path, str(tmp_path / "keep.tfrecord@1"), keep) == len(KEPT) - 2


def test_spans_flag_errors(clip, tmp_path):
    with pytest.raises(ValueError, match="distinct integers >= 2"):
        video.TripletOptions(spans=(1, 3))
    with pytest.raises(ValueError, match="not both"):
        video.TripletOptions(frame_gap=2, spans=(4,))
    path, _ = clip
    with pytest.raises(ValueError, match="--spans takes integers >= 2, got 2,a"):
        video.main(["prog", f"--input_dir={path}", f"--output_tfrecord_filepath={tmp_path}/x", "--spans=2,a"])
