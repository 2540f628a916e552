"""Dataset builders: real layouts from real video frames -> TFRecords, read back exactly."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf

from film_tf.data.tfrecord import existing_shards, parse_example
from film_tf.datasets import middlebury, ucf101, video, vimeo90k, xiph
from tests.conftest import video_frames

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = {"path"} | {f"frame_{i}/{f}" for i in range(3) for f in ("encoded", "format", "height", "width")}


@pytest.fixture(scope="module")
def carphone() -> np.ndarray:
    """30 real frames, (30, 144, 176, 3) uint8."""
    return video_frames("carphone_pristine.mp4", 0, 30)


@pytest.fixture(scope="module")
def bikes() -> np.ndarray:
    """14 real frames of bikes.mp4, (14, 272, 640, 3) uint8."""
    return video_frames("bikes.mp4", 40, 14)


def write_png(path: str, rgb: np.ndarray) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1]))
    return path


def read_records(tfrecord: str) -> dict[str, dict]:
    """path -> {'features': raw feature dict, 'x0'/'y'/'x1': uint8 pixels}."""
    out = {}
    for serialized in tf.data.TFRecordDataset(existing_shards(tfrecord)):
        example = tf.train.Example.FromString(serialized.numpy())
        features = dict(example.features.feature)
        parsed = parse_example(serialized)
        path = parsed["path"].numpy().decode()
        assert path not in out
        out[path] = {
            "features": features,
            **{k: np.round(parsed[k].numpy() * 255).astype(np.uint8) for k in ("x0", "y", "x1")},
        }
        assert parsed["time"].numpy().tolist() == [0.5]
    return out


def check_record(record: dict, frames: list[np.ndarray], files: list[str] | None = None, fmt: str = "png"):
    """Exact keys, sizes, formats, pixels and (for stored files) bytes."""
    features = record["features"]
    assert set(features) == KEYS
    for i, frame in enumerate(frames):
        assert features[f"frame_{i}/format"].bytes_list.value == [fmt.encode()]
        assert features[f"frame_{i}/height"].int64_list.value == [frame.shape[0]]
        assert features[f"frame_{i}/width"].int64_list.value == [frame.shape[1]]
        if files is not None:
            with open(files[i], "rb") as f:
                assert features[f"frame_{i}/encoded"].bytes_list.value == [f.read()]
    for key, frame in zip(("x0", "y", "x1"), frames):
        np.testing.assert_array_equal(record[key], frame)


def files_in(folder: str) -> list[str]:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# ---------------------------------------------------------------- Vimeo-90K


def make_vimeo(root: str, frames: np.ndarray, entries: dict[str, int]) -> dict[str, list[np.ndarray]]:
    """entry ('00001/0001') -> first frame index; writes im1..im3 from frames k, k+1, k+2."""
    triplets = {}
    for entry, k in entries.items():
        triplets[entry] = [frames[k], frames[k + 1], frames[k + 2]]
        for name, frame in zip(vimeo90k.FRAME_NAMES, triplets[entry]):
            write_png(os.path.join(root, "sequences", entry, name), frame)
    return triplets


def test_vimeo90k_test_split(tmp_path, carphone):
    root = str(tmp_path / "vimeo_triplet")
    test = {"00001/0001": 0, "00001/0002": 4, "00002/0001": 9}
    train = {"00003/0007": 14, "00003/0008": 20}
    triplets = make_vimeo(root, carphone, {**test, **train})
    with open(os.path.join(root, "tri_testlist.txt"), "w") as f:
        f.write("\n".join(test) + "\n\n")
    with open(os.path.join(root, "tri_trainlist.txt"), "w") as f:
        f.write("\n".join(train) + "\n")
    out = str(tmp_path / "out" / "vimeo_test.tfrecord")
    vimeo90k.main(["prog", f"--input_dir={root}", f"--output_tfrecord_filepath={out}", "--num_shards=2"])
    assert files_in(tmp_path / "out") == [
        "vimeo_test.tfrecord-00000-of-00002",
        "vimeo_test.tfrecord-00001-of-00002",
        "vimeo_test.tfrecord@2.dataset_info.json",
    ]
    # The counts file: each shard's records, bytes and SHA-256 (3 examples, round-robin).
    counts = json.loads((tmp_path / "out" / "vimeo_test.tfrecord@2.dataset_info.json").read_text())
    assert (counts["num_examples"], counts["num_shards"]) == (3, 2)
    for i, (entry, records) in enumerate(zip(counts["shards"], (2, 1))):
        data = (tmp_path / "out" / f"vimeo_test.tfrecord-0000{i}-of-00002").read_bytes()
        assert entry == {
            "filename": f"vimeo_test.tfrecord-0000{i}-of-00002",
            "num_records": records,
            "num_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    records = read_records(out + "@2")
    expected_paths = {os.path.join(root, "sequences", e, "im2.png"): e for e in test}
    assert set(records) == set(expected_paths)
    for path, entry in expected_paths.items():
        files = [os.path.join(root, "sequences", entry, n) for n in vimeo90k.FRAME_NAMES]
        check_record(records[path], triplets[entry], files)

    # The train list, with the sequences folder itself as --input_dir (the official form).
    out = str(tmp_path / "out" / "vimeo_train.tfrecord@1")
    vimeo90k.main(
        [
            "prog",
            f"--input_dir={os.path.join(root, 'sequences')}",
            f"--input_triplet_list_filepath={os.path.join(root, 'tri_trainlist.txt')}",
            f"--output_tfrecord_filepath={out}",
        ]
    )
    records = read_records(out)
    assert sorted(records) == [os.path.join(root, "sequences", e, "im2.png") for e in train]
    for entry in train:
        check_record(records[os.path.join(root, "sequences", entry, "im2.png")], triplets[entry])


def test_vimeo90k_wrong_layout_names_the_file_and_writes_nothing(tmp_path, carphone):
    root = str(tmp_path / "vimeo")
    make_vimeo(root, carphone, {"00001/0001": 0, "00001/0002": 3})
    os.remove(os.path.join(root, "sequences", "00001", "0002", "im3.png"))
    with open(os.path.join(root, "tri_testlist.txt"), "w") as f:
        f.write("00001/0001\n00001/0002\n")
    out = str(tmp_path / "out" / "v.tfrecord")
    with pytest.raises(FileNotFoundError, match=r"00001/0002/im3\.png"):
        vimeo90k.main(["prog", f"--input_dir={root}", f"--output_tfrecord_filepath={out}"])
    with pytest.raises(FileNotFoundError, match="sequences"):
        vimeo90k.build(os.path.join(root, "sequences", "00001"), out + "@1")
    with pytest.raises(FileNotFoundError, match="tri_trainlist.txt"):
        vimeo90k.build(root, out + "@1", split="train")
    assert files_in(tmp_path / "out") == []


# ---------------------------------------------------------------- Middlebury


def test_middlebury_other(tmp_path, bikes):
    root = str(tmp_path / "middlebury")
    # Crops and resizes of real frames, one size per sequence as in the benchmark.
    sequences = {
        "Beanbags": [f[20:200, 100:340] for f in bikes[0:3]],
        "Walking": [cv2.resize(f, (320, 136), interpolation=cv2.INTER_AREA) for f in bikes[5:8]],
    }
    for name, (f10, gt, f11) in sequences.items():
        write_png(os.path.join(root, "other-data", name, "frame10.png"), f10)
        write_png(os.path.join(root, "other-data", name, "frame11.png"), f11)
        write_png(os.path.join(root, "other-gt-interp", name, "frame10i11.png"), gt)
    out = str(tmp_path / "out" / "middlebury.tfrecord")
    middlebury.main(["prog", f"--input_dir={root}", f"--output_tfrecord_filepath={out}", "--num_shards=1"])
    records = read_records(out + "@1")
    assert sorted(records) == [
        os.path.join(root, "other-gt-interp", n, "frame10i11.png") for n in sorted(sequences)
    ]
    for name, frames in sequences.items():
        files = [
            os.path.join(root, "other-data", name, "frame10.png"),
            os.path.join(root, "other-gt-interp", name, "frame10i11.png"),
            os.path.join(root, "other-data", name, "frame11.png"),
        ]
        check_record(records[files[1]], frames, files)

    # Missing ground-truth folder: one error naming it.
    os.rename(os.path.join(root, "other-gt-interp"), os.path.join(root, "gt"))
    with pytest.raises(FileNotFoundError, match="other-gt-interp"):
        middlebury.build(root, str(tmp_path / "out2" / "m@1"))
    assert files_in(tmp_path / "out2") == []


# ---------------------------------------------------------------- UCF101


def make_ucf101(root: str, frames: np.ndarray, ids: list[str]) -> dict[str, list[np.ndarray]]:
    triplets = {}
    for n, triplet_id in enumerate(ids):
        # 256x256 as in the benchmark: resized real frames.
        triplet = [
            cv2.resize(frames[3 * n + j], (256, 256), interpolation=cv2.INTER_LINEAR) for j in range(3)
        ]
        for name, frame in zip(ucf101.FRAME_NAMES, triplet):
            write_png(os.path.join(root, triplet_id, name), frame)
        write_png(os.path.join(root, triplet_id, "frame_01_ours.png"), triplet[0])  # ignored
        triplets[triplet_id] = triplet
    return triplets


def test_ucf101(tmp_path, carphone):
    root = str(tmp_path / "ucf101_interp_ours")
    triplets = make_ucf101(root, carphone, ["1", "2", "10"])
    out = str(tmp_path / "out" / "ucf101.tfrecord")
    ucf101.main(["prog", f"--input_dir={root}", f"--output_tfrecord_filepath={out}", "--num_shards=3"])
    records = read_records(out + "@3")
    assert len(records) == 3
    for triplet_id, frames in triplets.items():
        files = [os.path.join(root, triplet_id, n) for n in ucf101.FRAME_NAMES]
        check_record(records[files[1]], frames, files)


def test_frames_of_different_sizes_fail_without_partial_output(tmp_path, carphone):
    import re

    root = str(tmp_path / "ucf")
    make_ucf101(root, carphone, [str(i) for i in range(1, 8)])
    out_dir = tmp_path / "out"
    bad = os.path.join(root, "7", "frame_02.png")
    write_png(bad, cv2.resize(carphone[0], (250, 256)))
    # The bad triplet comes last: six good ones were already encoded and written.
    middle = os.path.join(root, "7", "frame_01_gt.png")
    with pytest.raises(ValueError, match=r"different sizes in triplet '" + re.escape(middle) + r"'.*250x256"):
        ucf101.build(root, str(out_dir / "ucf.tfrecord@2"), num_workers=2)
    assert files_in(out_dir) == []  # neither final shards nor temporaries

    # A good output already under the final name survives a failed rebuild unchanged.
    write_png(bad, cv2.resize(carphone[20], (256, 256)))
    assert ucf101.build(root, str(out_dir / "ucf.tfrecord@2")) == 7
    before = {n: (out_dir / n).read_bytes() for n in files_in(out_dir)}
    write_png(bad, cv2.resize(carphone[0], (256, 200)))
    with pytest.raises(ValueError, match=re.escape(middle)):
        ucf101.build(root, str(out_dir / "ucf.tfrecord@2"))
    assert {n: (out_dir / n).read_bytes() for n in files_in(out_dir)} == before


def test_missing_input_dir(tmp_path):
    for module in (vimeo90k, middlebury, ucf101, xiph):
        with pytest.raises(FileNotFoundError, match="nowhere"):
            module.build(str(tmp_path / "nowhere"), str(tmp_path / "o@1"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        video.build(str(tmp_path / "nowhere"), str(tmp_path / "o@1"))
    assert files_in(tmp_path) == []


def test_cli_one_line_errors_and_success(tmp_path, carphone):
    """The `python -m datasets.create_*` binaries: a one-line error with exit
    code 2 (no traceback), and a real run."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    missing = str(tmp_path / "no_such_dir")
    result = subprocess.run(
        [sys.executable, "-m", "datasets.create_ucf101_tfrecord", f"--input_dir={missing}",
         f"--output_tfrecord_filepath={tmp_path / 'o'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: UCF101 folder not found: '{missing}'."]
    assert "Traceback" not in result.stderr

    root = str(tmp_path / "ucf")
    triplets = make_ucf101(root, carphone, ["3", "4"])
    out = str(tmp_path / "out" / "u.tfrecord")
    result = subprocess.run(
        [sys.executable, "-m", "datasets.create_ucf101_tfrecord", f"--input_dir={root}",
         f"--output_tfrecord_filepath={out}", "--num_shards=2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = read_records(out + "@2")
    for triplet_id, frames in triplets.items():
        check_record(records[os.path.join(root, triplet_id, "frame_01_gt.png")], frames)


# ---------------------------------------------------------------- Xiph


def make_xiph(root: str, frames: np.ndarray, clips: dict[str, int], count: int) -> dict[str, list[str]]:
    paths = {}
    for clip, start in clips.items():
        paths[clip] = [
            write_png(os.path.join(root, clip, f"{i + 1:03d}.png"), frames[start + i]) for i in range(count)
        ]
    return paths


def area_half(image: np.ndarray) -> np.ndarray:
    """2x2 box mean, rounded half up (what INTER_AREA gives at factor 2)."""
    h, w = image.shape[0] // 2, image.shape[1] // 2
    s = image[: 2 * h, : 2 * w].astype(np.int64).reshape(h, 2, w, 2, 3).sum(axis=(1, 3))
    return ((s + 2) // 4).astype(np.uint8)


def test_xiph_2k_and_4k(tmp_path, bikes):
    root = str(tmp_path / "xiph")
    # Stand-ins for the 4K clips: 640x272 real frames, 7 per clip, first 6 used.
    paths = make_xiph(root, bikes, {"BoxingPractice": 0, "Crosswalk": 7}, 7)
    expected_middles = {clip: [p[1], p[3]] for clip, p in paths.items()}  # 1-based frames 2 and 4
    index = {p: (clip, i) for clip, ps in paths.items() for i, p in enumerate(ps)}

    out2k = str(tmp_path / "out" / "xiph_2K.tfrecord")
    xiph.main(["prog", f"--input_dir={root}", f"--output_tfrecord_filepath={out2k}", "--num_frames=6"])
    records = read_records(out2k + "@2")
    assert sorted(records) == sorted(sum(expected_middles.values(), []))
    for path, record in records.items():
        clip, i = index[path]
        start = {"BoxingPractice": 0, "Crosswalk": 7}[clip]
        check_record(record, [area_half(bikes[start + i + d]) for d in (-1, 0, 1)])
        assert record["y"].shape == (136, 320, 3)

    out4k = str(tmp_path / "out" / "xiph_4K.tfrecord@1")
    xiph.main(
        ["prog", f"--input_dir={root}", f"--output_tfrecord_filepath={out4k}", "--num_frames=6",
         "--scale_factor=1", "--center_crop_factor=2"]
    )  # fmt: skip
    records = read_records(out4k)
    assert len(records) == 4
    for path, record in records.items():
        clip, i = index[path]
        start = {"BoxingPractice": 0, "Crosswalk": 7}[clip]
        # The central half of each side: rows 68..203, columns 160..479.
        check_record(record, [bikes[start + i + d][68:204, 160:480] for d in (-1, 0, 1)])


def test_xiph_linear_light_resize_and_flat_layout(tmp_path, bikes):
    # The official layout: every clip's frames in one folder, num_frames each.
    root = str(tmp_path / "flat")
    files = [write_png(os.path.join(root, f"frame_{i:04d}.png"), bikes[i]) for i in range(10)]
    out = str(tmp_path / "out" / "x.tfrecord@1")
    xiph.build(root, out, xiph.Transform(2, 1, "area_linear"), num_frames=5)
    records = read_records(out)
    # Clips [0..4] and [5..9]; middles 1, 3 and 6, 8.
    assert sorted(records) == [files[i] for i in (1, 3, 6, 8)]
    for i in (1, 3, 6, 8):
        linear = (bikes[i].astype(np.float64) / 255) ** 2.2
        h, w = linear.shape[0] // 2, linear.shape[1] // 2
        mean = linear.reshape(h, 2, w, 2, 3).mean(axis=(1, 3))
        expected = np.clip(mean ** (1 / 2.2) * 255 + 0.5, 0, 255).astype(np.uint8)
        got = records[files[i]]["y"].astype(int)
        assert np.abs(got - expected).max() <= 1
        assert np.mean(got != expected) < 0.01
        # Brighter than gamma-space averaging at edges: linear light differs.
        assert not np.array_equal(records[files[i]]["y"], area_half(bikes[i]))


# ---------------------------------------------------------------- any video


def test_video_triplets_skip_scene_cuts(tmp_path):
    from benchmarks.clips import sample_clip
    from film_tf.media.video_io import read_video

    bikes_path = sample_clip("bikes.mp4")
    frames, _ = read_video(bikes_path)
    # Independent cut detection: consecutive frames differing by > 0.15.
    steps = np.abs(np.diff(frames[:60].astype(np.float64), axis=0)).mean(axis=(1, 2, 3)) / 255
    cuts = set(np.nonzero(steps > 0.15)[0].tolist())  # a cut between frame c and c + 1
    assert cuts == {29}
    out = str(tmp_path / "out" / "bikes.tfrecord")
    video.main(
        ["prog", f"--input_dir={bikes_path}", f"--output_tfrecord_filepath={out}", "--num_shards=2",
         "--frame_gap=1", "--max_triplets_per_video=40"]
    )  # fmt: skip
    records = read_records(out + "@2")
    # Triplets (i, i+1, i+2) that span the cut (i = 28, 29) are skipped.
    starts = [i for i in range(60) if not {i, i + 1} & cuts][:40]
    assert sorted(records) == sorted(f"{bikes_path}#{i + 1}" for i in starts)
    for i in starts:
        check_record(records[f"{bikes_path}#{i + 1}"], [frames[i], frames[i + 1], frames[i + 2]])


def test_video_gap_stride_cap_and_folders(tmp_path):
    from benchmarks.clips import sample_clip
    from film_tf.media.video_io import read_video

    folder = tmp_path / "videos" / "sub"
    folder.mkdir(parents=True)
    carphone_path = str(folder / "carphone.mp4")
    os.symlink(sample_clip("carphone_pristine.mp4"), carphone_path)
    (tmp_path / "videos" / "notes.txt").write_text("not a video")
    frames, _ = read_video(carphone_path)
    out = str(tmp_path / "out" / "c.tfrecord@1")
    options = video.TripletOptions(frame_gap=2, stride=3, max_triplets_per_video=5)
    assert video.build(str(tmp_path / "videos"), out, options, image_format="jpg") == 5
    records = read_records(out)
    assert sorted(records, key=lambda p: int(p.split("#")[1])) == [
        f"{carphone_path}#{i + 2}" for i in range(0, 15, 3)
    ]
    for i in range(0, 15, 3):
        record = records[f"{carphone_path}#{i + 2}"]
        assert set(record["features"]) == KEYS
        assert record["features"]["frame_1/format"].bytes_list.value == [b"jpg"]
        for key, j in (("x0", i), ("y", i + 2), ("x1", i + 4)):
            # JPEG (quality 95, 4:2:0 chroma) is lossy: close to frame j, not
            # exact, and closer to it than to its neighbours.
            errors = {
                k: np.abs(record[key].astype(float) - frames[k]).mean() for k in (j - 1, j, j + 1) if k >= 0
            }
            assert errors[j] < 3.0
            assert min(errors, key=errors.get) == j

    # Every triplet filtered out: an error, and no output.
    with pytest.raises(ValueError, match="No triplets"):
        video.build(carphone_path, str(tmp_path / "out2" / "c@1"), video.TripletOptions(min_difference=0.9))
    assert files_in(tmp_path / "out2") == []
    with pytest.raises(FileNotFoundError, match="No video files"):
        video.build(str(tmp_path / "out"), str(tmp_path / "out2" / "c@1"))
    bad = tmp_path / "videos" / "broken.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError) as error:
        video.build(str(bad), str(tmp_path / "out2" / "c@1"))
    assert str(error.value).startswith(f"Cannot decode video '{bad}'")
    assert "\n" not in str(error.value)
    assert files_in(tmp_path / "out2") == []
