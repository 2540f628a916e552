"""The official inference commands (issue 34): `python -m eval.interpolator_test`
and `python -m eval.interpolator_cli` with the official flags write what the
official code writes, where it writes it, computed by film_tf underneath."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from film_tf.cli import official_commands
from film_tf.cli_utils import UserError
from film_tf.media.image_io import read_image, write_image
from tests.conftest import example_frames

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# 256x256 of the bundled example: fast, real motion, and 2x2 blocks of 128 are the
# bundled model's smallest tile (twice its 64-pixel overlap).
CROP = (slice(52, 308), slice(192, 448))


def _uint8(path: str) -> np.ndarray:
    return np.round(read_image(path).rgb * 255).astype(np.int32)


@pytest.fixture(scope="module")
def pair_folder(tmp_path_factory):
    """A folder holding the bundled example pair (cropped) as one.png, two.png."""
    folder = tmp_path_factory.mktemp("photos")
    for name, frame in zip(("one.png", "two.png"), example_frames()):
        write_image(str(folder / name), frame[CROP])
    return folder


@pytest.fixture(scope="module")
def middle(pair_folder):
    """film_tf's middle frame of the pair (bundled model), as 8-bit values."""
    from film_tf import Interpolator

    x0, x1 = (read_image(str(pair_folder / n)).rgb for n in ("one.png", "two.png"))
    return np.round(np.clip(Interpolator(None)(x0, x1), 0, 1) * 255).astype(np.int32)


def test_interpolator_test_writes_output_frame_beside_frame1(pair_folder, middle, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("one.png", "two.png"):
        (folder / name).write_bytes((pair_folder / name).read_bytes())
    # --precision float32 (a film_tf flag): the reference below is float32; auto picks bfloat16 on some CPUs.
    args = [
        "--frame1",
        str(folder / "one.png"),
        "--frame2",
        str(folder / "two.png"),
        "--precision",
        "float32",
    ]
    official_commands.interpolator_test_main(["interpolator_test", *args, "--align", "64"])
    # The official default output: <folder of --frame1>/output_frame.png.
    assert sorted(os.listdir(folder)) == ["one.png", "output_frame.png", "two.png"]
    written = _uint8(str(folder / "output_frame.png"))
    assert written.shape == (256, 256, 3)
    assert np.abs(written - middle).max() <= 1  # The bundled model's middle frame (rounding aside).
    assert np.abs(written - _uint8(str(folder / "one.png"))).max() > 10  # Not a copy of an input.

    # --output_frame, and 2x2 blocks: film_tf's seamless tiles of the block size.
    out = tmp_path / "blocks.png"
    blocks = ["--output_frame", str(out), "--block_height", "2", "--block_width", "2"]
    official_commands.interpolator_test_main(["interpolator_test", *args, *blocks])
    tiled = _uint8(str(out))
    assert tiled.shape == written.shape
    assert np.abs(tiled - written).mean() < 1.0  # Tiles overlap: no seams, nearly the untiled frame.


def test_block_flags_are_checked_in_one_line(pair_folder):
    args = [
        "interpolator_test",
        "--frame1",
        str(pair_folder / "one.png"),
        "--frame2",
        str(pair_folder / "two.png"),
    ]
    with pytest.raises(ValueError, match="--block_height and --block_width must be at least 1"):
        official_commands.interpolator_test_main(
            [*args, "--block_height", "0", "--output_frame", "/tmp/x.png"]
        )
    with pytest.raises(UserError, match="not both"):
        official_commands.interpolator_test_main([*args, "--block_width", "2", "--tile_size", "64"])


def test_interpolator_cli_writes_the_official_layout(pair_folder, middle, tmp_path):
    import mediapy

    for name, order in (("01", ("one.png", "two.png")), ("02", ("one.png", "two.png"))):
        (tmp_path / name).mkdir()
        for index, source in enumerate(order):
            (tmp_path / name / f"frame{index + 1}.png").write_bytes((pair_folder / source).read_bytes())
    flags = [
        "--pattern",
        str(tmp_path / "*"),
        "--times_to_interpolate",
        "1",
        "--fps",
        "30",
        "--precision",
        "float32",
    ]
    official_commands.interpolator_cli_main(["interpolator_cli", *flags, "--output_video"])
    for name in ("01", "02"):
        folder = tmp_path / name
        assert sorted(os.listdir(folder)) == [
            "frame1.png",
            "frame2.png",
            "interpolated.mp4",
            "interpolated_frames",
        ]
        frames = sorted(os.listdir(folder / "interpolated_frames"))
        assert frames == ["frame_000.png", "frame_001.png", "frame_002.png"]  # 2^1 + 1
        np.testing.assert_array_equal(
            _uint8(str(folder / "interpolated_frames" / "frame_000.png")), _uint8(str(folder / "frame1.png"))
        )
        assert np.abs(_uint8(str(folder / "interpolated_frames" / "frame_001.png")) - middle).max() <= 1
        video = mediapy.read_video(str(folder / "interpolated.mp4"))
        assert video.shape == (3, 256, 256, 3) and video.metadata.fps == 30

    # The official default is 5 recursions (33 frames); --nooutput_video writes no video.
    assert official_commands.OFFICIAL_TIMES_TO_INTERPOLATE == 5
    (tmp_path / "01" / "interpolated.mp4").unlink()
    official_commands.interpolator_cli_main(
        [
            "interpolator_cli",
            "--pattern",
            str(tmp_path / "01"),
            "--times_to_interpolate",
            "2",
            "--nooutput_video",
        ]
    )
    assert len(os.listdir(tmp_path / "01" / "interpolated_frames")) == 5
    assert "interpolated.mp4" not in os.listdir(tmp_path / "01")


def test_official_argv_maps_the_boolean_output_video():
    assert official_commands.official_argv(["p", "--output_video", "--fps", "30"]) == [
        "p",
        "--output_video=true",
        "--fps",
        "30",
    ]
    assert official_commands.official_argv(["p", "--output_video=false", "--nooutput_video"]) == ["p"]
    assert official_commands.official_argv(["p", "--output_video=true"]) == ["p", "--output_video=true"]


@pytest.mark.parametrize("command", ["eval.interpolator_test", "eval.interpolator_cli"])
def test_python_m_from_the_clone_reports_user_errors_in_one_line(command, tmp_path):
    missing = str(tmp_path / "missing.png")
    args = ["--frame1", missing, "--frame2", missing] if command.endswith("test") else ["--pattern", missing]
    result = subprocess.run(
        [sys.executable, "-m", command, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    expected = (
        f"Image not found: '{missing}'."
        if command.endswith("test")
        else f"No folder matches --pattern '{missing}'."
    )
    assert errors == [f"error: {expected}"]
