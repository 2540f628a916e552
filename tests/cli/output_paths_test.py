"""An output path that cannot be written is one line naming the user's path,
before any model loads, in every binary that writes one (issue 35)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.clips import sample_clip
from film_tf import files
from film_tf.formats import model_io

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAMES = model_io.EXAMPLE_FRAMES
# /proc takes no new files (ENOENT, even for root, whose permissions are not checked).
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


@pytest.fixture
def no_model_loads(monkeypatch):
    """Every way a model is read or downloaded fails the test."""
    from film_tf.formats import hub, integrity
    from film_tf.runtime import inference

    def loaded(*args, **kwargs):
        raise AssertionError(f"a model was read before the output path was checked: {args}")

    for owner, name in ((model_io, "load_model_and_source"), (model_io, "load_weights_into"),
                        (model_io, "options_for"), (integrity, "check_model_files"),
                        (inference, "load_forward"), (hub, "resolve")):  # fmt: skip
        monkeypatch.setattr(owner, name, loaded)


@needs_proc
@pytest.mark.parametrize(
    "binary, args, user_path",
    [
        ("film_tf.cli.interpolate", [f"--frame1={FRAMES[0]}", f"--frame2={FRAMES[1]}", "--output_frame=/proc/out.png"],
         "/proc/out.png"),
        ("film_tf.cli.interpolate", [f"--frame1={FRAMES[0]}", f"--frame2={FRAMES[1]}",
         "--output_frame=/proc/new/folder/out.png"], "/proc/new/folder/out.png"),
        ("film_tf.cli.interpolate_frames", [f"--input_video={sample_clip('carphone_pristine.mp4')}",
         "--output_video=/proc/out.mp4"], "/proc/out.mp4"),
        ("film_tf.cli.interpolate_frames", [f"--pattern={os.path.dirname(FRAMES[0])}", "--output_dir=/proc/slow"],
         "/proc/slow/interpolated_frames"),
        ("film_tf.export", ["--bundled", "--format=onnx", "--output=/proc/film.onnx"], "/proc/film.onnx"),
        ("film_tf.train", [f"--gin_config={ROOT}/gin_configs/testing/tiny.gin", "--base_folder=/proc/runs"],
         "/proc/runs/tiny/config.gin"),
        ("film_tf.export", ["--bundled", "--export_dir=/proc/exported"], "/proc/exported"),
        ("film_tf.evaluation.eval_cli", [f"--gin_config={ROOT}/eval/config/middlebury.gin", "--model_path=film-style",
         "--output_dir=/proc/results"], "/proc/results/results.json"),
    ],
)  # fmt: skip
def test_unwritable_output_is_refused_before_the_model_loads(binary, args, user_path, no_model_loads):
    import importlib

    main = importlib.import_module(binary).main
    with pytest.raises(files.NotWritableError) as raised:
        main(["prog", *args])
    assert str(raised.value).startswith("Cannot ")
    assert f"'{user_path}'" in str(raised.value) and ".tmp" not in str(raised.value)


@needs_proc
def test_film_interpolate_binary_never_imports_tensorflow_for_it():
    """The console script: one line naming the user's path, exit 2, and
    TensorFlow (so no model) never imported."""
    code = (
        "import sys\n"
        "from film_tf.cli import interpolate\n"
        f"sys.argv = ['film-interpolate', '--frame1={FRAMES[0]}', '--frame2={FRAMES[1]}', '--output_frame=/proc/out.png']\n"
        "try:\n"
        "    interpolate.run_main()\n"
        "finally:\n"
        "    print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: Cannot write '/proc/out.png': no file can be created in '/proc' (No such file or directory)."
    ]
    assert result.stdout.split() == ["False", "False"]
