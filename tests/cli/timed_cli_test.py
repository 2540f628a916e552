"""The command line at any time t: film-interpolate --time, film-interpolate-frames --num_frames,
and --target_fps on real footage (every output frame made at its exact time, at least as good
as the old nearest-dyadic recursion against the real frames)."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image as PilImage

from film_tf import create_model, load_official_weights
from film_tf.cli import interpolate, interpolate_frames
from film_tf.cli_utils import UserError
from film_tf.evaluation.metrics import compute_metrics
from film_tf.formats.model_io import save_weights_with_options
from film_tf.media import video_io
from film_tf.media.image_io import read_image, to_uint
from film_tf.runtime import recursive
from film_tf.runtime.inference import Interpolator
from tests.conftest import reference_dir, reference_options, video_frames

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Three real frames as PNGs (144x176), and the tiny model as .weights.h5 + .json."""
    root = tmp_path_factory.mktemp("timed_cli")
    (root / "clip").mkdir()
    for i, frame in enumerate(video_frames("carphone_pristine.mp4", 0, 3, 4)):
        PilImage.fromarray(frame).save(root / "clip" / f"frame{i}.png")
    model = create_model(reference_options("film_official_tiny"))
    load_official_weights(model, reference_dir("film_official_tiny"))
    save_weights_with_options(model, str(root / "tiny.weights.h5"))
    return root


def run_main(module, args):
    module.main(["prog", *args])


def png(path) -> np.ndarray:
    return np.asarray(PilImage.open(path))


def test_time_flag(workdir, capsys):
    a, b = str(workdir / "clip" / "frame0.png"), str(workdir / "clip" / "frame1.png")
    model = [f"--model_path={workdir / 'tiny.weights.h5'}", "--precision=float32"]
    outs = {}
    for name, extra in (("default", []), ("half", ["--time=0.5"]), ("t03", ["--time=0.3"])):
        outs[name] = workdir / f"{name}.png"
        run_main(
            interpolate, [f"--frame1={a}", f"--frame2={b}", f"--output_frame={outs[name]}", *model, *extra]
        )
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"wrote the frame at time 0.3 to {outs['t03']}"
    assert lines[-2] == f"wrote the middle frame to {outs['half']}"
    np.testing.assert_array_equal(png(outs["half"]), png(outs["default"]))  # --time 0.5 is the default
    api = Interpolator(str(workdir / "tiny.weights.h5"))
    x0, x1 = read_image(a).rgb, read_image(b).rgb
    at03 = to_uint(api(x0, x1, 0.3))
    assert np.abs(png(outs["t03"]).astype(int) - at03).max() <= 1  # eager one-shot pass vs traced
    assert np.abs(png(outs["t03"]).astype(float) - png(outs["default"])).mean() > 1  # really another time


@pytest.mark.parametrize("value", ["-0.1", "1.5", "nan"])
def test_time_outside_0_1_is_one_line_before_the_model_loads(workdir, tmp_path, value):
    a = str(workdir / "clip" / "frame0.png")
    args = [f"--frame1={a}", f"--frame2={a}", f"--output_frame={tmp_path / 'o.png'}", "--model_path=/nowhere"]
    with pytest.raises(UserError, match=r"--time must be in \[0, 1\]"):
        run_main(interpolate, [*args, f"--time={value}"])
    if value == "nan":
        result = subprocess.run(
            [sys.executable, "-m", "film_tf.cli.interpolate", *args, "--time=nan"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
            "error: --time must be in [0, 1] (0: --frame1, 1: --frame2, 0.5: the middle), got nan."
        ]
    assert os.listdir(tmp_path) == []


def frames_of(folder) -> list[np.ndarray]:
    names = sorted(os.listdir(folder / "interpolated_frames"))
    return [png(folder / "interpolated_frames" / n) for n in names]


def test_num_frames_on_folders(workdir, tmp_path):
    model = f"--model_path={workdir / 'tiny.weights.h5'}"
    run_main(
        interpolate_frames,
        [f"--pattern={workdir / 'clip'}", "--num_frames=3", f"--output_dir={tmp_path / 'n3'}", model],
    )
    run_main(interpolate_frames, [f"--pattern={workdir / 'clip'}", "--times_to_interpolate=2", f"--output_dir={tmp_path / 'k2'}", model])  # fmt: skip
    n3, k2 = frames_of(tmp_path / "n3"), frames_of(tmp_path / "k2")
    assert len(n3) == 9  # 3 new frames per pair, 2 pairs
    for x, y in zip(n3, k2):  # --times_to_interpolate 2 is --num_frames 3
        np.testing.assert_array_equal(x, y)
    api = Interpolator(str(workdir / "tiny.weights.h5"), precision="auto")  # the binary's default
    inputs = [read_image(workdir / "clip" / f"frame{i}.png").rgb for i in range(3)]
    for p in range(2):
        np.testing.assert_array_equal(n3[4 * p], to_uint(inputs[p]))
        expected = to_uint(api.at_times(inputs[p], inputs[p + 1], [0.25, 0.5, 0.75]))
        got = np.stack(n3[4 * p + 1 : 4 * p + 4])
        # Flows once per pair (the binary) vs the whole pass per time (at_times): equal up to rounding.
        assert np.abs(got.astype(int) - expected).max() <= 1 and (got != expected).mean() < 0.01
        # Each at its own time: not copies of one another, nor of the middle.
        assert np.abs(got[0].astype(float) - got[2]).mean() > 1


def test_num_frames_on_a_video_and_flag_errors(workdir, tmp_path):
    source = tmp_path / "in.mp4"
    with video_io.VideoWriter(str(source), 64, 80, 12) as writer:
        for frame in video_frames("carphone_pristine.mp4", 10, 3)[:, :64, :80]:
            writer.add(frame.astype(np.float32) / 255)
    model = f"--model_path={workdir / 'tiny.weights.h5'}"
    out = tmp_path / "slow.mp4"
    run_main(
        interpolate_frames, [f"--input_video={source}", "--num_frames=4", f"--output_video={out}", model]
    )
    with video_io.open_video(str(out)) as reader:
        assert (reader.num_images, reader.fps) == (11, 12.0)  # (3 - 1) * (4 + 1) + 1
    video = [f"--input_video={source}", f"--output_video={tmp_path / 'o.mp4'}"]
    cases = [
        ([*video, "--num_frames=3", "--times_to_interpolate=2"], "at most one of --num_frames and --times_to_interpolate"),
        ([*video, "--num_frames=0"], "--num_frames must be in 1..255"),
        ([*video, "--num_frames=256"], "--force accepts more"),
        ([*video, "--num_frames=3", "--target_fps=60"], "drop --pattern, --fps, --times_to_interpolate, --num_frames"),
        ([*video, "--dyadic_times"], "--dyadic_times applies to frame-rate conversion"),
    ]  # fmt: skip
    for args, message in cases:
        with pytest.raises(Exception, match=message):
            run_main(interpolate_frames, [*args, model])
    assert sorted(os.listdir(tmp_path)) == ["in.mp4", "slow.mp4"]


GAP = 5


def test_rate_conversion_of_real_footage_at_exact_times(tmp_path, monkeypatch):
    """carphone_pristine.mp4 frames 0..20 (176x144) kept at every 5th frame (5 frames at 6 fps: its
    own 29.97 fps / 5, rounded to a rate a container stores exactly) and converted back to 30 fps
    with the bundled model: output frame j is made at t = j / 5, no snapping, and its PSNR against
    the 16 dropped real frames is at least that of the old plan (depth-3 recursion, frame at the
    nearest dyadic time round(8 t) / 8) on the same decoded frames."""
    from film_tf.runtime.recursive import FeatureReuse

    real = video_frames("carphone_pristine.mp4", 0, 4 * GAP + 1)
    source = tmp_path / "every5th.mp4"
    with video_io.VideoWriter(str(source), 144, 176, 6, crf=0) as writer:
        for frame in real[::GAP]:
            writer.add(frame.astype(np.float32) / 255)
    asked = []

    def spying(original):
        def spy(self, a, b, times):
            asked.append(list(times))
            return original(self, a, b, times)

        return spy

    for cls, name in ((FeatureReuse, "frames_at"), (Interpolator, "at_times")):  # whichever runs
        monkeypatch.setattr(cls, name, spying(getattr(cls, name)))
    out = tmp_path / "back.mp4"
    run_main(
        interpolate_frames,
        [
            f"--input_video={source}",
            "--target_fps=30",
            f"--output_video={out}",
            "--precision=float32",
            "--crf=0",
        ],
    )
    # One model call per pair, at the exact times j / 5 (the times the plan asks for).
    assert asked == [[0.2, 0.4, 0.6, 0.8]] * 4
    with video_io.open_video(str(out)) as reader:
        converted = np.stack(list(reader)).astype(np.float32) / 255
    assert converted.shape == (25, 144, 176, 3)  # 5 frames at 6 fps -> 25 at 30 (the last 4 hold)
    kept = np.stack(list(video_io.iter_frames(str(source)))).astype(np.float32) / 255
    model = Interpolator(None, precision="float32")
    k = math.ceil(math.log2(GAP))
    dyadic = list(recursive.interpolate_recursively(iter(kept), model, k, progress=False))
    old = tmp_path / "dyadic.mp4"  # the old plan's frames, through the same lossless encoding
    with video_io.VideoWriter(str(old), 144, 176, 30, crf=0) as writer:
        for j in range(len(converted)):
            writer.add(dyadic[min(math.floor(j * 2**k / GAP + 0.5), len(dyadic) - 1)])  # nearest dyadic
    old_frames = np.stack(list(video_io.iter_frames(str(old)))).astype(np.float32) / 255
    exact_psnr, dyadic_psnr = [], []
    for j in range(4 * GAP):
        if j % GAP:
            truth = real[j].astype(np.float32) / 255
            exact_psnr.append(compute_metrics(converted[j], truth, ("psnr",))["psnr"])
            dyadic_psnr.append(compute_metrics(old_frames[j], truth, ("psnr",))["psnr"])
        else:  # kept frames pass through (lossless round trip, up to the yuv420 chroma)
            assert np.abs(converted[j] - kept[j // GAP]).mean() < 0.01
    print(f"mean PSNR exact {np.mean(exact_psnr):.2f} dB, nearest dyadic {np.mean(dyadic_psnr):.2f} dB")
    assert len(exact_psnr) == 16 and np.mean(exact_psnr) >= np.mean(dyadic_psnr)
