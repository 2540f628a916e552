"""film-interpolate-frames on a video whose audio the output cannot take (issue 35):
the frames are kept, one warning line (or, with --require_streams, one error line and
the work folder to finish from), never a traceback."""

import os
import subprocess
import sys

from tests.conftest import reference_dir
from tests.media.video_io_test import ffmpeg_probe, make_clip_with_damaged_audio

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = reference_dir("film_official_tiny")
MODEL = [
    f"--model_path={os.path.join(TINY, 'variables')}",
    f"--options_json={os.path.join(TINY, 'config.json')}",
]


def _run(args):
    return subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate_frames", *args, *MODEL],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _lines(text):
    return [line for line in text.splitlines() if line.strip()]


def test_damaged_audio_is_left_out_with_one_warning(tmp_path):
    source = make_clip_with_damaged_audio(tmp_path / "in.mov")
    out = tmp_path / "out" / "smooth.mp4"
    result = _run([f"--input_video={source}", "--multiplier=2", f"--output_video={out}"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    warnings = [line for line in _lines(result.stderr) if line.startswith("warning:")]
    assert warnings == [
        f"warning: ffmpeg cannot put the audio stream #0:1 (none) of '{source}' into '{out}' "
        "(Error opening output files: Invalid argument); written without it."
    ]
    assert _lines(result.stdout) == [
        f"wrote 20 frames at 20 fps to {out} (frame rate; 0 scene cut(s), audio stream #0:1 (none) dropped)"
    ]
    probe = ffmpeg_probe(out)
    assert probe["frames"] == 20 and probe["audio"] == []
    assert os.listdir(tmp_path / "out") == ["smooth.mp4"]


def test_require_streams_stops_with_one_line_and_the_rerun_finishes_from_the_work_folder(tmp_path):
    source = make_clip_with_damaged_audio(tmp_path / "in.mov")
    out = tmp_path / "out" / "smooth.mkv"
    work = tmp_path / "out" / ".smooth.mkv.film-work"
    args = [f"--input_video={source}", "--multiplier=2", f"--output_video={out}"]
    strict = _run([*args, "--require_streams"])
    assert strict.returncode == 2, strict.stderr[-3000:]
    assert "Traceback" not in strict.stderr and strict.stdout == ""
    assert "interpolating" in strict.stderr  # the progress bar of the frames made
    assert _lines(strict.stderr)[-1] == (
        f"error: ffmpeg cannot put the audio stream #0:1 (none) of '{source}' into '{out}' "
        f"(Could not write header (incorrect codec parameters ?): Invalid argument). The interpolated frames "
        f"are kept in '{work}': run the same command without --require_streams to write '{out}' without it "
        "(nothing is interpolated again)."
    )
    assert [line for line in _lines(strict.stderr) if line.startswith("error:")] == _lines(strict.stderr)[-1:]
    assert os.listdir(tmp_path / "out") == [work.name]
    assert "chunk_00000.mkv" in os.listdir(work)  # the interpolated frames, as recorded
    rerun = _run(args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming: 1 of 1 chunks already done." in rerun.stderr
    assert "interpolating" not in rerun.stderr  # no progress bar: nothing interpolated again
    assert _lines(rerun.stdout) == [
        f"wrote 20 frames at 20 fps to {out} (frame rate; 0 scene cut(s), audio stream #0:1 (none) dropped, resumed)"
    ]
    assert ffmpeg_probe(out)["frames"] == 20
    assert os.listdir(tmp_path / "out") == ["smooth.mkv"]


def test_require_streams_is_for_frame_rate_conversion(tmp_path):
    source = make_clip_with_damaged_audio(tmp_path / "in.mov")
    result = _run([f"--input_video={source}", f"--output_video={tmp_path / 'o.mp4'}", "--require_streams"])
    assert result.returncode == 2
    assert _lines(result.stderr) == [
        "error: --require_streams is for frame-rate conversion (slow motion drops the audio)."
    ]
