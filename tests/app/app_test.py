"""film-app's logic without a browser: the job behind the page gives the
CLI's frames bit for bit, its errors are the CLI's single lines, and it
leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from film_tf.app import jobs
from film_tf.media import video_io

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "film_tf", "assets", "examples")
PAIR = [os.path.join(EXAMPLES, "frame_0.png"), os.path.join(EXAMPLES, "frame_1.png")]
K = 1  # one new frame: 3 frames, fast on a CPU


@pytest.fixture(scope="module")
def cli_frames(tmp_path_factory) -> dict[str, bytes]:
    """film-interpolate-frames' PNGs for the example pair, name -> bytes."""
    from film_tf.cli import interpolate_frames

    out = tmp_path_factory.mktemp("cli")
    interpolate_frames.main(
        [
            "film-interpolate-frames",
            "--pattern",
            EXAMPLES,
            "--times_to_interpolate",
            str(K),
            "--output_dir",
            str(out),
        ]
    )
    folder = out / "interpolated_frames"
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.fixture(scope="module")
def models():
    return jobs.ModelCache()


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "jobs")


def _leftovers(root: str) -> list[str]:
    return sorted(os.listdir(root))


def test_photos_give_the_cli_frames_bit_for_bit(models, root, cli_frames):
    runner = jobs.JobRunner(models, jobs.Limits(), root)
    result = runner.run(list(reversed(PAIR)), K)  # upload order does not matter: name order
    assert result.work_dir.startswith(root + os.sep)
    assert result.message == "wrote 3 frames at 30 fps (interpolated.mp4, frames.zip)"
    assert result.notes[0] == "uploads: 2 frames -> 3", result.notes
    assert (result.num_frames, result.fps) == (3, 30.0)
    with zipfile.ZipFile(result.frames_zip) as archive:
        got = {name: archive.read(name) for name in archive.namelist()}
    assert list(cli_frames) == ["frame_000.png", "frame_001.png", "frame_002.png"]
    assert got == cli_frames
    with video_io.open_video(result.video) as reader:
        frames = list(reader)
        assert (reader.fps, reader.shape) == (30.0, (360, 640))
    assert len(frames) == 3
    # The video holds the frames (H.264 is lossy: close, not equal).
    first = np.asarray(Image.open(PAIR[0]).convert("RGB"), np.float32)
    assert np.abs(frames[0].astype(np.float32) - first).mean() < 3.0
    runner.cleanup(result.work_dir)
    assert _leftovers(root) == []


def test_video_in_video_out(models, root, tmp_path):
    clip = str(tmp_path / "clip.mp4")
    with video_io.VideoWriter(clip, 64, 96, 12.0) as writer:
        for shift in (0, 3):
            frame = np.zeros((64, 96, 3), np.float32)
            frame[16:48, 20 + shift : 52 + shift] = 1.0
            writer.add(frame)
    runner = jobs.JobRunner(models, jobs.Limits(), root)
    result = runner.run([clip], K)
    assert result.frames_zip is None
    assert (result.num_frames, result.fps) == (3, 12.0)
    assert any(line.startswith("clip.mp4: 2 frames at 12 fps -> 3") for line in result.notes), result.notes
    with video_io.open_video(result.video) as reader:
        assert (len(list(reader)), reader.fps, reader.shape) == (3, 12.0, (64, 96))
    runner.cleanup(result.work_dir)
    assert _leftovers(root) == [] and os.path.isfile(clip)


def _clip(path: str, frames: list[np.ndarray], fps: float = 12.0) -> str:
    with video_io.VideoWriter(path, 64, 96, fps) as writer:
        for frame in frames:
            writer.add(frame)
    return path


def test_video_frame_rate_conversion(models, root, tmp_path):
    frames = [np.full((64, 96, 3), v, np.float32) for v in (0.2, 0.25, 0.3)]
    clip = _clip(str(tmp_path / "clip.mp4"), frames)
    runner = jobs.JobRunner(models, jobs.Limits(), root)
    result = runner.run([clip], 0, target_fps=24.0)
    assert result.fps == 24.0 and result.message.startswith(f"wrote {result.num_frames} frames at 24 fps")
    with video_io.open_video(result.video) as reader:
        assert (len(list(reader)), reader.fps) == (result.num_frames, 24.0)
    assert result.num_frames in (5, 6)  # same duration at twice the rate
    runner.cleanup(result.work_dir)


def test_scene_cuts_are_held_or_blended(models, root, tmp_path):
    black, white = np.zeros((64, 96, 3), np.float32), np.ones((64, 96, 3), np.float32)
    clip = _clip(str(tmp_path / "cut.mp4"), [black, white])
    runner = jobs.JobRunner(models, jobs.Limits(), root)
    middles = {}
    for hold in (True, False):
        result = runner.run([clip], K, hold_scene_cuts=hold)
        with video_io.open_video(result.video) as reader:
            middles[hold] = list(reader)[1].astype(np.float32).mean() / 255
        runner.cleanup(result.work_dir)
    assert middles[True] < 0.05  # the earlier frame, held
    assert middles[False] > 0.2  # a blend across the cut


def _corrupt(tmp_path) -> list[str]:
    bad = tmp_path / "frame_1.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    return [PAIR[0], str(bad)]


def _other_size(tmp_path) -> list[str]:
    small = tmp_path / "frame_1.png"
    Image.new("RGB", (48, 32), (10, 20, 30)).save(small)
    return [PAIR[0], str(small)]


def _text(tmp_path) -> list[str]:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    return [PAIR[0], str(notes)]


@pytest.mark.parametrize(
    "make_uploads, limits, message",
    [
        (_corrupt, jobs.Limits(), "Cannot read image 'frame_1.png': not a readable PNG/JPEG ("),
        (
            _other_size,
            jobs.Limits(),
            "The frames differ in size: 'frame_0.png' is 640x360, 'frame_1.png' is 48x32.",
        ),
        (_text, jobs.Limits(), "'notes.txt' is neither a photo (.png, .jpg, .jpeg) nor a video (.mp4,"),
        (lambda _: PAIR[:1], jobs.Limits(), "'frame_0.png' is one photo; at least 2 are needed."),
        (lambda _: [], jobs.Limits(), "Upload two or more photos (PNG/JPEG) or one video."),
        (
            lambda _: PAIR,
            jobs.Limits(max_frames=2),
            "2 input frames with 1 levels make 3 frames; this page makes at most 2 (--max_frames)",
        ),
        (
            lambda _: PAIR,
            jobs.Limits(max_upload_bytes=1000),
            "'frame_0.png' is 0.",  # e.g. 0.4 MB
        ),
    ],
    ids=["corrupt", "sizes", "type", "one", "none", "frames", "upload"],
)
def test_user_errors_are_one_line_and_leave_nothing(tmp_path, root, make_uploads, limits, message):
    uploads = make_uploads(tmp_path)
    before = {p: open(p, "rb").read() for p in uploads}
    loads = []
    runner = jobs.JobRunner(lambda path, bit_depth: loads.append(path), limits, root)  # no model needed
    with pytest.raises(jobs.JobError) as error:
        runner.run(uploads, K)
    text = str(error.value)
    assert text.startswith(message), text
    assert "\n" not in text and root not in text  # names the upload, not its copy
    assert loads == []  # rejected before the model loads
    assert _leftovers(root) == []
    assert {p: open(p, "rb").read() for p in uploads} == before


def test_upload_limit_names_the_flag(root):
    runner = jobs.JobRunner(lambda path, bit_depth: None, jobs.Limits(max_upload_bytes=1000), root)
    with pytest.raises(jobs.JobError, match=r"this page takes files up to 0.001 MB \(--max_upload_mb\)\.$"):
        runner.run(PAIR, K)


def test_memory_budget_too_small_is_one_line(root):
    runner = jobs.JobRunner(jobs.ModelCache(memory_budget_gb=1.0), jobs.Limits(), root)
    with pytest.raises(
        jobs.JobError, match=r"^A memory budget of 1\.00 GB is too small for this model"
    ) as error:
        runner.run(PAIR, K)
    assert "\n" not in str(error.value)
    assert _leftovers(root) == []


def test_bad_model_path_is_one_line(tmp_path, root):
    runner = jobs.JobRunner(jobs.ModelCache(), jobs.Limits(), root)
    missing = str(tmp_path / "no_such_model")
    with pytest.raises(jobs.JobError) as error:
        runner.run(PAIR, K, model_path=missing)
    assert "no_such_model" in str(error.value) and "\n" not in str(error.value)
    assert _leftovers(root) == []


def test_bad_options_are_one_line(root):
    runner = jobs.JobRunner(lambda path, bit_depth: None, jobs.Limits(), root)
    with pytest.raises(jobs.JobError, match=r"^The levels must be in 0\.\.12, got 13\.$"):
        runner.run(PAIR, 13)
    for n in (0, 4096):
        with pytest.raises(
            jobs.JobError, match=rf"^The new frames per pair must be in 1\.\.4095, got {n}\.$"
        ):
            runner.run(PAIR, 1, num_frames=n)
    with pytest.raises(jobs.JobError, match=r"^The frame rate must be positive, got -1\.$"):
        runner.run(PAIR, 1, fps=-1.0)
    with pytest.raises(jobs.JobError, match=r"^A target frame rate converts a video; for photos"):
        runner.run(PAIR, 1, target_fps=60.0)
    assert _leftovers(root) == []


def test_cleanup_only_removes_request_folders(tmp_path, root):
    runner = jobs.JobRunner(lambda path, bit_depth: None, jobs.Limits(), root)
    outside = tmp_path / "keep"
    outside.mkdir()
    runner.cleanup(str(outside))
    runner.cleanup(None)
    assert outside.is_dir()


def test_page_shows_the_error_line(root, tmp_path):
    pytest.importorskip("gradio", reason="gradio is not installed (pip install -e '.[app]')")
    from film_tf.app import page

    runner = jobs.JobRunner(lambda path, bit_depth: None, jobs.Limits(), root)
    calls = []
    video, frames, status, log, work = page.interpolate(
        runner, _corrupt(tmp_path), 1, 0, 0, "", 0, True, lambda *a, **k: calls.append(a)
    )
    assert (video, frames, log, work) == (None, None, "", None)
    assert status.startswith("error: Cannot read image 'frame_1.png': not a readable PNG/JPEG (")
    assert "\n" not in status and calls == [(0,)]
    assert _leftovers(root) == []


def test_binary_is_fast_and_checks_flags():
    code = (
        "import sys; from film_tf.app import cli; "
        "heavy = [m for m in ('tensorflow', 'keras', 'gradio', 'numpy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    bad = subprocess.run(
        [sys.executable, "-m", "film_tf.app.cli", "--port", "0"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --port must be in 1..65535, got 0."
    help_ = subprocess.run(
        [sys.executable, "-m", "film_tf.app.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert help_.returncode == 0 and "--max_frames" in help_.stdout and "--port" in help_.stdout


def test_16_bit_photos_get_a_float32_interpolator(models, root, tmp_path):
    """As the binaries: the page passes the photos' bit depth, so precision
    auto keeps 16-bit uploads in float32 (bfloat16 holds about 3 digits)."""
    asked = []

    def interpolators(model_path, bit_depth):
        asked.append(bit_depth)
        return models(model_path, bit_depth)

    import cv2

    uploads = []
    for i, path in enumerate(PAIR):
        rgb = np.asarray(Image.open(path).convert("RGB"))[:64, :96]
        uploads.append(str(tmp_path / f"p{i}.png"))
        cv2.imwrite(uploads[-1], rgb[..., ::-1].astype(np.uint16) * 257)  # 16-bit RGB PNG
    runner = jobs.JobRunner(interpolators, jobs.Limits(), root)
    runner.cleanup(runner.run(uploads, K).work_dir)
    assert asked == [16] and models(None, 16).precision == "float32"


def test_any_number_of_new_frames_each_at_its_time(models, root):
    from film_tf.media.image_io import read_image, to_uint

    runner = jobs.JobRunner(models, jobs.Limits(), root)
    result = runner.run(PAIR, 3, num_frames=2)  # the number wins over the levels
    assert result.message == "wrote 4 frames at 30 fps (interpolated.mp4, frames.zip)"
    with zipfile.ZipFile(result.frames_zip) as archive:
        names = sorted(archive.namelist())
        got = [np.asarray(Image.open(archive.open(name))) for name in names]
    assert names == [f"frame_{i:03d}.png" for i in range(4)]
    x0, x1 = (read_image(p).rgb for p in PAIR)
    expected = to_uint(models(None, 8).at_times(x0, x1, [1 / 3, 2 / 3]))
    made = np.stack(got[1:3]).astype(int)
    # Flows once per pair (the job) vs a whole pass per time (at_times): equal up to rounding.
    assert np.abs(made - expected).max() <= 1 and (made != expected).mean() < 0.01
    assert np.abs(made[0] - made[1]).mean() > 0.5  # two times, two frames
    np.testing.assert_array_equal(got[0], to_uint(x0))
    runner.cleanup(result.work_dir)
    with pytest.raises(
        jobs.JobError, match="2 input frames with 5 new frames per pair make 7 frames; .* at most 6"
    ):
        jobs.JobRunner(models, jobs.Limits(max_frames=6), root).run(PAIR, 1, num_frames=5)
    assert _leftovers(root) == []
