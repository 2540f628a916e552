"""film-interpolate and film-interpolate-frames on real frames, and their errors."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from absl import flags
from PIL import Image as PilImage

from film_tf import cli_utils, create_model, load_official_weights
from film_tf.cli import interpolate, interpolate_frames
from film_tf.formats.model_io import save_weights_with_options
from film_tf.media.image_io import read_image, to_uint
from film_tf.runtime.inference import Interpolator
from tests.conftest import reference_dir, reference_options, video_frames, write_run_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = reference_dir("film_official_tiny")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Three real frames as PNGs, and the tiny model as .weights.h5 + .json."""
    root = tmp_path_factory.mktemp("cli")
    frames = video_frames("carphone_pristine.mp4", 0, 3)
    (root / "clip").mkdir()
    for i, frame in enumerate(frames):
        PilImage.fromarray(frame).save(root / "clip" / f"frame{i * 5}.png")  # 0, 5, 10: natural sort
    model = create_model(reference_options("film_official_tiny"))
    load_official_weights(model, TINY)
    save_weights_with_options(model, str(root / "tiny.weights.h5"))
    return root


@pytest.fixture(scope="module")
def api(workdir):
    """The Python API in float32 (`--precision float32`: exact)."""
    return Interpolator(str(workdir / "tiny.weights.h5"))


@pytest.fixture(scope="module")
def api_auto(workdir):
    """The Python API as the frame and video binaries build it by default
    (`--precision auto`, traced). One-shot film-interpolate runs its pass
    eagerly, equal to this in float32 only, so its bit-exact tests pass
    --precision float32."""
    return Interpolator(str(workdir / "tiny.weights.h5"), precision="auto")


def run_main(module, args: list[str]) -> None:
    """Runs a binary's main in-process on its own flags."""
    module.main(["prog", *args])


def expected_middle(api, path0, path1):
    return to_uint(api(read_image(path0).rgb, read_image(path1).rgb))


def test_cli_middle_frame_equals_the_python_api(workdir, api):
    frame0, frame2 = str(workdir / "clip" / "frame0.png"), str(workdir / "clip" / "frame10.png")
    out = workdir / "out" / "mid.png"
    result = subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate", f"--frame1={frame0}", f"--frame2={frame2}",
         f"--output_frame={out}", f"--model_path={workdir / 'tiny.weights.h5'}", "--precision=float32"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    written = np.asarray(PilImage.open(out))
    assert written.shape == (144, 176, 3)
    np.testing.assert_array_equal(written, expected_middle(api, frame0, frame2))
    assert oct(os.stat(out).st_mode & 0o044) == oct(0o044 & ~_umask())  # not left private


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_official_variables_with_options_json(workdir, api):
    frame0, frame2 = str(workdir / "clip" / "frame0.png"), str(workdir / "clip" / "frame10.png")
    out = workdir / "official.png"
    run_main(
        interpolate,
        [f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={out}", f"--model_path={TINY}",
         f"--options_json={workdir / 'tiny.json'}", "--precision=float32"],
    )  # fmt: skip
    np.testing.assert_array_equal(np.asarray(PilImage.open(out)), expected_middle(api, frame0, frame2))


def test_checkpoint_prefix_model_path(workdir, api, tmp_path):
    """--model_path takes a film-train checkpoint prefix (run/train/ckpt-7)."""
    frame0, frame2 = str(workdir / "clip" / "frame0.png"), str(workdir / "clip" / "frame10.png")
    model = create_model(reference_options("film_official_tiny"))
    load_official_weights(model, TINY)
    prefix = write_run_folder(str(tmp_path / "run"), model, step=7)
    assert prefix == str(tmp_path / "run" / "train" / "ckpt-7")
    out = tmp_path / "ckpt.png"
    args = [f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={out}", "--precision=float32"]
    run_main(interpolate, [*args, f"--model_path={prefix}"])
    np.testing.assert_array_equal(np.asarray(PilImage.open(out)), expected_middle(api, frame0, frame2))
    with pytest.raises(FileNotFoundError, match="Model not found"):
        run_main(interpolate, [*args, f"--model_path={tmp_path / 'run' / 'train' / 'ckpt-99'}"])


def test_precision_and_xla_flags(workdir, api):
    frame0, frame2 = str(workdir / "clip" / "frame0.png"), str(workdir / "clip" / "frame10.png")
    out = workdir / "bf16.png"
    run_main(
        interpolate,
        [f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={out}", "--precision=bfloat16",
         "--noxla", f"--model_path={workdir / 'tiny.weights.h5'}"],
    )  # fmt: skip
    written = np.asarray(PilImage.open(out)).astype(float)
    assert np.abs(written - expected_middle(api, frame0, frame2)).mean() < 1.0  # of 255
    with pytest.raises(flags.IllegalFlagValueError):
        run_main(interpolate, [f"--frame1={frame0}", f"--frame2={frame2}", "--precision=float16"])
    # The flags reach the Interpolator.
    from film_tf.cli.model_flags import make_interpolator
    from film_tf.runtime import execution_choice

    auto = "bf16" if execution_choice.resolve_precision("auto") == "bfloat16" else "plain"
    cases = ((["--precision=bfloat16"], 8, "bf16"), (["--precision=float32"], 8, "plain"), (["--xla"], 8, "xla"),
             ([], 8, auto), ([], 16, "plain"))  # fmt: skip
    for args, bit_depth, mode in cases:
        fv = flags.FlagValues()
        interpolate.define_flags(fv)
        fv(["prog", f"--model_path={workdir / 'tiny.weights.h5'}", *args])
        assert make_interpolator(fv, bit_depth=bit_depth).mode == mode, args


def test_user_errors_exit_with_one_line(workdir):
    out = workdir / "never.png"
    result = subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate", f"--frame1={workdir / 'clip' / 'frame0.png'}",
         f"--frame2={workdir / 'missing.png'}", f"--output_frame={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: Image not found: '{workdir / 'missing.png'}'."]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_interpolate_errors_write_nothing(workdir, tmp_path):
    frame0 = str(workdir / "clip" / "frame0.png")
    frame2 = str(workdir / "clip" / "frame10.png")
    weights = f"--model_path={workdir / 'tiny.weights.h5'}"
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    small = tmp_path / "small.png"
    PilImage.fromarray(np.zeros((10, 12, 3), np.uint8)).save(small)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    out = str(tmp_path / "out.png")
    before = open(frame0, "rb").read()
    cases = [
        ([f"--frame1={frame0}", f"--frame2={tmp_path / 'no.png'}", f"--output_frame={out}", weights], FileNotFoundError, "not found"),
        ([f"--frame1={frame0}", f"--frame2={corrupt}", f"--output_frame={out}", weights], ValueError, "Cannot read image"),
        ([f"--frame1={frame0}", f"--frame2={small}", f"--output_frame={out}", weights], ValueError, "differ in size"),
        ([f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={frame0}", weights], ValueError, "is an input"),
        ([f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={a_file / 'out.png'}", weights], NotADirectoryError, "is a file"),
        ([f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={out}", f"--model_path={a_file}"], ValueError, "is not a FILM model"),
        ([f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={out}", f"--model_path={tmp_path}"], ValueError, "is not a FILM model"),
        ([f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={out}", f"--model_path={tmp_path / 'nope'}"], FileNotFoundError, "Model not found"),
        ([f"--frame1={frame0}", f"--output_frame={out}"], Exception, "--frame2 is required"),
    ]  # fmt: skip
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            run_main(interpolate, args)
        assert sorted(os.listdir(tmp_path)) == ["corrupt.png", "file", "small.png"], args
    assert open(frame0, "rb").read() == before


def test_folders_to_frames_and_video(workdir, api_auto):
    import mediapy

    clip = workdir / "clip"
    run_main(
        interpolate_frames,
        [f"--pattern={workdir / 'cl*'}", "--times_to_interpolate=1", "--output_video=true", "--fps=10",
         f"--model_path={workdir / 'tiny.weights.h5'}"],
    )  # fmt: skip
    names = sorted(os.listdir(clip / "interpolated_frames"))
    assert names == [f"frame_{i:03d}.png" for i in range(5)]
    out = [np.asarray(PilImage.open(clip / "interpolated_frames" / n)) for n in names]
    inputs = [np.asarray(PilImage.open(clip / f"frame{i}.png")) for i in (0, 5, 10)]
    for i, frame in zip((0, 2, 4), inputs):  # natural order: frame5 before frame10
        np.testing.assert_array_equal(out[i], frame)
    np.testing.assert_array_equal(out[1], expected_middle(api_auto, clip / "frame0.png", clip / "frame5.png"))
    np.testing.assert_array_equal(
        out[3], expected_middle(api_auto, clip / "frame5.png", clip / "frame10.png")
    )
    video = mediapy.read_video(str(clip / "interpolated.mp4"))
    assert video.shape == (5, 144, 176, 3) and video.metadata.fps == pytest.approx(10)
    assert np.abs(video.astype(float) - np.stack(out)).mean() < 4  # lossy codec
    assert not [n for n in os.listdir(clip) if n.startswith(".")]  # no temporaries left
    assert os.stat(clip / "interpolated_frames").st_mode & 0o055 == 0o055 & ~_umask()


def test_output_dir_leaves_the_input_folder_untouched(workdir, tmp_path):
    clip = workdir / "clip"
    before = sorted(os.listdir(clip))
    out = tmp_path / "slowmo"
    run_main(
        interpolate_frames,
        [f"--pattern={clip}", "--times_to_interpolate=1", "--output_video=true",
         f"--output_dir={out}", f"--model_path={workdir / 'tiny.weights.h5'}"],
    )  # fmt: skip
    assert sorted(os.listdir(out)) == ["interpolated.mp4", "interpolated_frames"]
    assert len(os.listdir(out / "interpolated_frames")) == 5
    assert sorted(os.listdir(clip)) == before


def test_input_video_to_slow_motion_video(workdir, tmp_path):
    import mediapy

    from film_tf.media.video_io import ensure_ffmpeg

    ensure_ffmpeg()
    frames = video_frames("carphone_pristine.mp4", 10, 3)[:, :64, :80]
    source = tmp_path / "in.mp4"
    mediapy.write_video(str(source), frames, fps=12)
    target = tmp_path / "slow" / "out.mp4"
    run_main(
        interpolate_frames,
        [f"--input_video={source}", "--times_to_interpolate=2", f"--output_video={target}",
         f"--model_path={workdir / 'tiny.weights.h5'}"],
    )  # fmt: skip
    video = mediapy.read_video(str(target))
    assert video.shape == (9, 64, 80, 3)  # (3 - 1) * 2^2 + 1
    assert video.metadata.fps == pytest.approx(12)  # slow motion: the input's rate
    decoded = mediapy.read_video(str(source))
    for i in (0, 4, 8):  # the input frames survive (up to re-encoding)
        assert np.abs(video[i].astype(float) - decoded[i // 4]).mean() < 4


def test_frames_errors_write_nothing(workdir, tmp_path):
    weights = f"--model_path={workdir / 'tiny.weights.h5'}"
    one = tmp_path / "one"
    one.mkdir()
    PilImage.fromarray(np.zeros((16, 16, 3), np.uint8)).save(one / "a.png")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    PilImage.fromarray(np.zeros((16, 16, 3), np.uint8)).save(mixed / "a.png")
    PilImage.fromarray(np.zeros((16, 32, 3), np.uint8)).save(mixed / "b.png")
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    for name in ("a.png", "b.png"):
        PilImage.fromarray(np.zeros((16, 16, 3), np.uint8)).save(blocked / name)
    (blocked / "interpolated_frames").write_text("a file")
    bad_video = tmp_path / "bad.mp4"
    bad_video.write_bytes(b"not a video")
    listing = {p: sorted(os.listdir(p)) for p in (tmp_path, one, mixed, blocked)}
    cases = [
        ([f"--pattern={tmp_path / 'zzz*'}"], FileNotFoundError, "No folder matches"),
        ([f"--pattern={one}"], ValueError, "at least 2"),
        ([f"--pattern={mixed}"], ValueError, "differ in size"),
        ([f"--pattern={blocked}"], NotADirectoryError, "is a file"),
        (
            [f"--pattern={tmp_path / '*'}", f"--output_video={tmp_path / 'x.mp4'}"],
            ValueError,
            "cannot be one path",
        ),
        (
            [f"--input_video={tmp_path / 'none.mp4'}", f"--output_video={tmp_path / 'o.mp4'}"],
            FileNotFoundError,
            "Video not found",
        ),
        (
            [f"--input_video={bad_video}", f"--output_video={tmp_path / 'o.mp4'}"],
            ValueError,
            "Cannot read video",
        ),
        ([f"--input_video={bad_video}", f"--output_video={bad_video}"], ValueError, "is an input"),
        (
            [f"--input_video={bad_video}", f"--output_video={one / 'a.png' / 'o.mp4'}"],
            NotADirectoryError,
            "is a file",
        ),
        ([f"--input_video={bad_video}"], Exception, "needs --output_video"),
        ([f"--pattern={one}", "--times_to_interpolate=-1"], ValueError, "times_to_interpolate"),
        ([f"--pattern={one}", f"--input_video={bad_video}"], Exception, "exactly one"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            run_main(interpolate_frames, [*args, weights])
        assert {p: sorted(os.listdir(p)) for p in listing} == listing, args
    assert bad_video.read_bytes() == b"not a video"


def test_bare_output_video_flag():
    argv = ["prog", "--pattern=x", "--output_video", "--fps=5"]
    assert cli_utils.bare_bool_flag(argv, "output_video") == [
        "prog",
        "--pattern=x",
        "--output_video=true",
        "--fps=5",
    ]
    argv = ["prog", "--input_video=a.mp4", "--output_video", "b.mp4"]
    assert cli_utils.bare_bool_flag(argv, "output_video") == argv
    assert cli_utils.bare_bool_flag(["prog", "--output_video"], "output_video")[-1] == "--output_video=true"


def test_alpha_and_16_bit_are_kept(workdir, api, tmp_path):
    import cv2

    rgb = video_frames("carphone_pristine.mp4", 0, 3, 2)[:, :48, :64]
    alpha = np.linspace(0, 255, 48 * 64).reshape(48, 64).astype(np.uint8)
    PilImage.fromarray(np.dstack([rgb[0], alpha])).save(tmp_path / "a.png")  # 8-bit RGBA
    cv2.imwrite(str(tmp_path / "b.png"), rgb[1][..., ::-1].astype(np.uint16) * 257)  # 16-bit RGB
    out = tmp_path / "mid.png"
    interpolate.run(str(tmp_path / "a.png"), str(tmp_path / "b.png"), str(out), lambda: api)
    mid = read_image(str(out))
    assert mid.bit_depth == 16 and mid.alpha is not None
    a, b = read_image(str(tmp_path / "a.png")), read_image(str(tmp_path / "b.png"))
    expected = api(a.rgba(), b.rgba())  # alpha: the second frame counts as opaque
    np.testing.assert_allclose(mid.rgb, expected[..., :3], atol=1 / 65535)
    np.testing.assert_allclose(mid.alpha, expected[..., 3], atol=1 / 65535)


# ---------------------------------------------------------------- issue 18: video jobs


def _binary(args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "film_tf.cli.interpolate_frames", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )  # fmt: skip


def _records(work) -> int:
    try:
        with open(work / "manifest.jsonl") as f:
            return sum(1 for line in f if line.endswith("\n"))
    except FileNotFoundError:
        return 0


def _wait_for_records(proc, work, count, timeout=600):
    import time

    start = time.time()
    while _records(work) < count:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.time() - start < timeout
        time.sleep(0.02)


def test_killed_and_interrupted_job_resumes_to_the_same_video(workdir, api_auto, tmp_path):
    """SIGKILL half way, then Ctrl-C (exit 130, one line), then the same command finishes:
    the same frames as an uninterrupted run, and no temporaries left."""
    import signal

    from film_tf.jobs import video_job
    from film_tf.media import video_io

    frames = video_frames("carphone_pristine.mp4", 0, 40)[:, :64, :80]
    source = tmp_path / "in.mp4"
    with video_io.VideoWriter(str(source), 64, 80, fps=25) as writer:
        for frame in frames:
            writer.add(frame / 255.0)
    reference = tmp_path / "ref" / "whole.mp4"
    video_job.run_video(  # 7 new frames per pair: --times_to_interpolate 3
        str(source), str(reference), 7, None, api_auto, chunk_frames=16, say=lambda line: None
    )
    out = tmp_path / "out" / "slow.mp4"
    work = tmp_path / "out" / ".slow.mp4.film-work"
    args = [f"--input_video={source}", f"--output_video={out}", "--times_to_interpolate=3", "--chunk_frames=16",
            f"--model_path={workdir / 'tiny.weights.h5'}"]  # fmt: skip
    proc = _binary(args)
    _wait_for_records(proc, work, 3)
    proc.kill()  # SIGKILL: no cleanup at all
    proc.communicate()
    killed_at = _records(work)
    assert not out.exists() and 3 <= killed_at < 20
    proc = _binary(args)
    _wait_for_records(proc, work, killed_at + 3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert [line for line in stderr.splitlines() if line.strip()][
        -1
    ] == "interrupted; rerun the same command to continue"
    assert "Traceback" not in stderr and f"resuming: {killed_at} of 20 chunks already done." in stderr
    assert not out.exists()
    proc = _binary(args)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    assert "resuming: " in stderr
    assert stdout.splitlines() == [
        f"wrote 313 frames at 25 fps to {out} (slow motion; 0 scene cut(s), resumed)"
    ]
    np.testing.assert_array_equal(np.stack(list(video_io.iter_frames(str(out)))),
                                  np.stack(list(video_io.iter_frames(str(reference)))))  # fmt: skip
    assert os.listdir(tmp_path / "out") == ["slow.mp4"]  # no work folder, no temporaries


def test_video_flag_errors_are_one_line_before_any_work(workdir, tmp_path):
    from film_tf.media import video_io

    source = tmp_path / "in.mp4"
    with video_io.VideoWriter(str(source), 16, 16, fps=25) as writer:
        for _ in range(3):
            writer.add(np.zeros((16, 16, 3)))
    weights = f"--model_path={workdir / 'tiny.weights.h5'}"
    video = [f"--input_video={source}"]
    cases = [
        (
            [*video, f"--output_video={tmp_path / 'o.webm'}", "--codec=h264"],
            "Cannot write --codec h264 into .webm",
        ),
        ([*video, f"--output_video={tmp_path / 'o.gif'}", "--crf=20"], "--crf does not apply to gif"),
        ([*video, f"--output_video={tmp_path / 'o.avi'}"], "must end in .mp4, .mov, .mkv, .webm or .gif"),
        (
            [*video, f"--output_video={tmp_path / 'o.mp4'}", "--times_to_interpolate=9"],
            "--force accepts more",
        ),
        (
            [*video, f"--output_video={tmp_path / 'o.mp4'}", "--target_fps=60", "--multiplier=2"],
            "at most one",
        ),
        (
            [*video, f"--output_video={tmp_path / 'o.mp4'}", "--target_fps=60", "--fps=30"],
            "drop --pattern, --fps",
        ),
        (
            [*video, f"--output_video={tmp_path / 'o.mp4'}", "--multiplier=-2"],
            "--multiplier must be positive",
        ),
        ([f"--pattern={ROOT}/film_tf/assets/examples"], "inside the installed film_tf package"),
    ]
    for args, message in cases:
        with pytest.raises(Exception, match=re.escape(message)):
            run_main(interpolate_frames, [*args, weights])
    assert sorted(os.listdir(tmp_path)) == ["in.mp4"]
    assert sorted(os.listdir(f"{ROOT}/film_tf/assets/examples")) == [
        "ATTRIBUTION.txt",
        "frame_0.png",
        "frame_1.png",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate_frames", *video, f"--output_video={tmp_path / 'o.mp4'}",
         "--times_to_interpolate=12", weights],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: --times_to_interpolate must be in 0..8 (2^k - 1 new frames per pair), got 12; --force accepts more."
    ]


def test_frame_rate_conversion_from_the_cli(workdir, tmp_path, capsys):
    from tests.media.video_io_test import audio_packets, ffmpeg_probe, make_clip_with_tone

    source = make_clip_with_tone(tmp_path / "tone.mp4", frames=10, fps=25)
    out = tmp_path / "at60.mkv"
    run_main(
        interpolate_frames,
        [f"--input_video={source}", "--target_fps=60", f"--output_video={out}",
         f"--model_path={workdir / 'tiny.weights.h5'}"],
    )  # fmt: skip
    assert capsys.readouterr().out.splitlines() == [
        f"wrote 24 frames at 60 fps to {out} (frame rate; 0 scene cut(s), audio copied (aac))"
    ]
    probe = ffmpeg_probe(out)
    assert (probe["frames"], probe["fps"], probe["size"], probe["audio"]) == (24, 60.0, (64, 48), ["aac"])
    assert audio_packets(out) == audio_packets(source)


def test_times_to_interpolate_defaults_to_one():
    fv = flags.FlagValues()
    interpolate_frames.define_flags(fv)
    fv(["prog"])
    assert fv.times_to_interpolate == 1 and fv.scene_cut_threshold == 0.15 and fv.target_fps is None


def test_boomerang_gif_of_a_folder(workdir, tmp_path):
    """The README's first command on the test frames: a looping gif, frames forward then back."""
    import mediapy

    from tests.media.video_io_test import ffmpeg_probe

    gif = tmp_path / "loop" / "example.gif"
    run_main(
        interpolate_frames,
        [f"--pattern={workdir / 'clip'}", "--times_to_interpolate=2", f"--output_dir={tmp_path / 'loop'}",
         f"--output_video={gif}", "--fps=20", "--boomerang", f"--model_path={workdir / 'tiny.weights.h5'}"],
    )  # fmt: skip
    names = sorted(os.listdir(tmp_path / "loop" / "interpolated_frames"))
    assert len(names) == 9
    probe = ffmpeg_probe(gif)
    assert (probe["codec"], probe["frames"], probe["fps"], probe["size"]) == ("gif", 16, 20.0, (176, 144))
    frames = mediapy.read_video(str(gif)).astype(float)
    for i in range(1, 8):  # 0 .. 8 then 7 .. 1
        assert np.abs(frames[8 + i] - frames[8 - i]).mean() < 1
    assert np.abs(frames[0] - frames[8]).mean() > 5
    assert sorted(os.listdir(tmp_path / "loop")) == ["example.gif", "interpolated_frames"]


def test_one_pair_runs_without_tracing_and_skips_scikit_learn(workdir, tmp_path, monkeypatch):
    """film-interpolate asks for one forward call (eager first call, same
    pixels as the traced API); a corrupt execution cache is ignored."""
    from film_tf.cli import model_flags as cli

    seen = []
    real = cli.make_interpolator

    def spy(fv, **kwargs):
        seen.append(kwargs)
        interp = real(fv, **kwargs)
        seen.append(interp._forward._eager_calls)
        return interp

    monkeypatch.setattr(interpolate, "make_interpolator", spy)
    monkeypatch.setenv("FILM_TF_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "execution.json").write_text("{corrupt")
    frame0, frame2 = str(workdir / "clip" / "frame0.png"), str(workdir / "clip" / "frame10.png")
    out = tmp_path / "mid.png"
    run_main(interpolate, [f"--frame1={frame0}", f"--frame2={frame2}", f"--output_frame={out}",
                           f"--model_path={workdir / 'tiny.weights.h5'}", "--precision=float32"])  # fmt: skip
    assert seen == [{"progress": True, "expected_calls": 1, "bit_depth": 8}, 1]
    api = Interpolator(str(workdir / "tiny.weights.h5"), jit_compile=False)
    np.testing.assert_array_equal(np.asarray(PilImage.open(out)), expected_middle(api, frame0, frame2))
    # The model code imports without the optional packages Keras and TensorFlow pull in
    # (scikit-learn, pandas, matplotlib, JAX), which stay importable afterwards.
    code = (
        "import importlib, importlib.util, sys\nfrom film_tf.cli.model_flags import UNUSED_IMPORTS, skip_unused_imports\n"
        "with skip_unused_imports():\n    import film_tf.formats.model_io\n"
        "assert not [n for n in UNUSED_IMPORTS if n in sys.modules], 'imported'\n"
        "for n in UNUSED_IMPORTS:\n    if importlib.util.find_spec(n):\n        importlib.import_module(n)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_skip_unused_imports_keeps_jax_for_the_jax_backend(monkeypatch):
    from film_tf.cli.model_flags import skip_unused_imports

    for name in ("sklearn", "pandas", "matplotlib", "jax"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with skip_unused_imports():
        assert "jax" not in sys.modules and sys.modules["sklearn"] is None
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with skip_unused_imports():
        assert sys.modules["jax"] is None
    assert not {"sklearn", "pandas", "matplotlib", "jax"} & set(sys.modules)


def test_16_bit_frames_keep_precision_auto_in_float32(workdir, tmp_path, monkeypatch):
    """The binaries read the inputs' bit depth before building the model: on a
    CPU with bfloat16 arithmetic, --precision auto runs 8-bit frames in
    bfloat16 and 16-bit frames in float32."""
    import cv2

    from film_tf.runtime import execution_choice

    monkeypatch.setattr(execution_choice, "cpu_info", lambda: {"model": "AMD EPYC", "flags": ["avx512_bf16"],
                                                               "cores": 2})  # fmt: skip
    monkeypatch.setattr(execution_choice, "gpu_present", lambda: False)
    ran = []
    for module in (interpolate, interpolate_frames):
        real = module.make_interpolator

        def spy(fv, real=real, **kwargs):
            interp = real(fv, **kwargs)
            ran.append(interp.precision)
            return interp

        monkeypatch.setattr(module, "make_interpolator", spy)
    model = f"--model_path={workdir / 'tiny.weights.h5'}"
    for depth in (8, 16):
        folder = tmp_path / f"in{depth}"
        folder.mkdir()
        for i, name in enumerate(("frame0.png", "frame10.png")):
            rgb = np.asarray(PilImage.open(workdir / "clip" / name))[:48, :64]
            bgr = rgb[..., ::-1]
            cv2.imwrite(str(folder / f"f{i}.png"), bgr.astype(np.uint16) * 257 if depth == 16 else bgr)
        run_main(interpolate, [f"--frame1={folder / 'f0.png'}", f"--frame2={folder / 'f1.png'}",
                               f"--output_frame={tmp_path / f'mid{depth}.png'}", model])  # fmt: skip
        run_main(
            interpolate_frames, [f"--pattern={folder}", f"--output_dir={tmp_path / f'out{depth}'}", model]
        )
    assert ran == ["bfloat16", "bfloat16", "float32", "float32"]
    assert read_image(str(tmp_path / "mid16.png")).bit_depth == 16


def test_auto_continues_a_job_in_the_precision_it_started_in(workdir, api, tmp_path, monkeypatch):
    """A job begun in float32 (e.g. when that was the default) and rerun with
    --precision auto on a bfloat16 CPU continues in float32, keeping its
    finished pairs, instead of starting afresh in bfloat16."""
    import shutil

    from film_tf.jobs import resume
    from film_tf.runtime import execution_choice

    monkeypatch.setattr(execution_choice, "cpu_info", lambda: {"model": "AMD EPYC", "flags": ["avx512_bf16"],
                                                               "cores": 2})  # fmt: skip
    monkeypatch.setattr(execution_choice, "gpu_present", lambda: False)
    clip = tmp_path / "clip"
    shutil.copytree(workdir / "clip", clip, ignore=shutil.ignore_patterns("interpolated*"))
    real = interpolate_frames.make_interpolator
    made, calls = [], []

    def dies_after_one_pair(fv, **kwargs):
        interp = real(fv, **kwargs)
        made.append(interp.precision)

        def middle(x0, x1, time=0.5):
            calls.append(1)
            if len(made) == 1 and len(calls) > 1:
                raise RuntimeError("killed")  # the first run stops after its first pair
            return interp(x0, x1, time)

        middle.precision, middle.feature_reuse = interp.precision, lambda *args: None
        return middle

    monkeypatch.setattr(interpolate_frames, "make_interpolator", dies_after_one_pair)
    # --nooverlap: the first pair is written and recorded before the second
    # is computed (with the writer thread it may still be in flight when the
    # run dies, and is then rightly computed again).
    args = [f"--pattern={clip}", f"--model_path={workdir / 'tiny.weights.h5'}", "--nooverlap"]
    with pytest.raises(RuntimeError, match="killed"):
        run_main(interpolate_frames, [*args, "--precision=float32"])
    target = str(clip / "interpolated_frames")
    assert resume.started_key(target)["precision"] == "float32"
    run_main(interpolate_frames, args)  # the default: --precision auto
    assert made == ["float32", "float32"] and len(calls) == 3  # resumed: one pair left
    assert resume.started_key(target) is None  # finished: the work folder is gone
    out = np.asarray(PilImage.open(clip / "interpolated_frames" / "frame_003.png"))
    np.testing.assert_array_equal(out, expected_middle(api, clip / "frame5.png", clip / "frame10.png"))
