"""film-interpolate-frames --input_video with Beam options: the README's command on one machine with
2 worker processes gives the in-process run's frames (default --precision auto), and mistakes in
the Beam options are one line, exit 2, before any work."""

import os
import subprocess
import sys

import numpy as np
import pytest

from film_tf import create_model, load_official_weights
from film_tf.formats.model_io import save_weights_with_options
from tests.conftest import reference_dir, reference_options, video_frames
from tests.jobs.video_job_test import decode, write_clip

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TWO_PROCESSES = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A 12-frame bikes clip with the hard cut (frames 26..37, 64x96) and the tiny model's weights."""
    root = tmp_path_factory.mktemp("beam_cli")
    write_clip(root / "in.mp4", video_frames("bikes.mp4", 26, 12)[:, ::4, ::4][:, :64, :96])
    model = create_model(reference_options("film_official_tiny"))
    load_official_weights(model, reference_dir("film_official_tiny"))
    save_weights_with_options(model, str(root / "tiny.weights.h5"))
    return root


def binary(folder, *args):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate_frames", "--input_video=in.mp4",
         "--model_path=tiny.weights.h5", *args],
        cwd=folder, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


def test_the_readme_command_with_two_processes_equals_the_in_process_run(folder):
    args = ["--target_fps=60", "--chunk_frames=10"]
    local = binary(folder, *args, "--output_video=out/local.mp4")
    assert local.returncode == 0, local.stderr[-3000:]
    beam = binary(folder, *args, "--output_video=out/beam.mp4", *TWO_PROCESSES)
    assert beam.returncode == 0, beam.stderr[-3000:]
    summary = "wrote 29 frames at 60 fps to out/{} (frame rate; 1 scene cut(s))"
    assert local.stdout.splitlines() == [summary.format("local.mp4")]
    assert beam.stdout.splitlines() == [summary.format("beam.mp4")]
    assert "interpolating: 100%" in beam.stderr and "29/29 [" in beam.stderr
    np.testing.assert_array_equal(decode(folder / "out" / "beam.mp4"), decode(folder / "out" / "local.mp4"))
    assert sorted(os.listdir(folder / "out")) == ["beam.mp4", "local.mp4"]


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["--direct_num_workrs=2"],
            "error: Unknown command line flag 'direct_num_workrs' (--help lists the flags)",
        ),
        (["--runner=FnApiRunner", "--chunk_frames=0"], "error: --chunk_frames must be at least 1, got 0."),
    ],
)
def test_beam_option_mistakes_are_one_line_before_any_work(folder, args, line):
    result = binary(folder, "--target_fps=60", "--output_video=bad/o.mp4", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [x for x in result.stderr.splitlines() if x.startswith("error:")] == [line]
    assert not (folder / "bad").exists()


def test_beam_options_apply_to_videos_only(folder, tmp_path):
    os.makedirs(tmp_path / "shot")
    result = subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate_frames", f"--pattern={tmp_path}/shot",
         "--runner=FnApiRunner"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [x for x in result.stderr.splitlines() if x.startswith("error:")] == [
        "error: Beam options (--runner=FnApiRunner) apply to --input_video only."
    ]
