"""film_tf.jobs.video_job and the folder jobs: scene cuts on real footage, frame-rate conversion
with audio, resuming after an interruption (library API; the CLI-level kill test is in cli_test)."""

import os

import numpy as np
import pytest

from film_tf.jobs import frame_jobs, video_job
from film_tf.media import video_io
from film_tf.runtime.inference import Interpolator
from tests.conftest import reference_dir, reference_options, video_frames
from tests.media.video_io_test import audio_packets, ffmpeg_probe, make_clip_with_tone


def mean_middle(a, b, time=0.5):
    """A stub model: the linear blend of the two frames at `time` (the mean at 0.5)."""
    return (1 - time) * a + time * b


def write_clip(path, frames, fps=25):
    """A clip written with the project's own video I/O."""
    with video_io.VideoWriter(str(path), frames.shape[1], frames.shape[2], fps) as writer:
        for frame in frames:
            writer.add(frame.astype(np.float32) / 255)
    return path


def decode(path) -> np.ndarray:
    return np.stack(list(video_io.iter_frames(str(path)))).astype(np.float32) / 255


@pytest.fixture(scope="module")
def tiny():
    return Interpolator(reference_dir("film_official_tiny"), options=reference_options("film_official_tiny"))


def test_hard_cut_in_bikes_gives_no_blended_frame(tmp_path, tiny):
    # bikes.mp4 frames 26..33: the first hard cut is between frames 29 and 30.
    source = write_clip(tmp_path / "cut.mp4", video_frames("bikes.mp4", 26, 8))
    inputs = decode(source)
    said = []
    out = tmp_path / "slow.mp4"
    result = video_job.run_video(str(source), str(out), 3, None, tiny, say=said.append)
    assert result.cuts == 1 and result.frames_out == 29 and "scene cuts: 1 (threshold 0.15; " in said[-1]
    slow = decode(out)

    def distance_to_shots(frame):  # to the last frame of shot A and the first of shot B
        return min(np.abs(frame - inputs[3]).mean(), np.abs(frame - inputs[4]).mean())

    across = slow[13:16]  # the in-betweens of input frames 3 and 4 (29 and 30)
    assert max(distance_to_shots(f) for f in across) < 0.01
    # Inside the shots the model did interpolate (not copies).
    assert np.abs(slow[1] - slow[0]).mean() > 0.003
    # The same piece with detection off morphs the shots: the test can fail.
    off = tmp_path / "morph.mp4"
    assert (
        video_job.run_video(str(source), str(off), 3, None, tiny, scene_cut_threshold=0, say=said.append).cuts
        == 0
    )
    morph = decode(off)[13:16]
    assert max(distance_to_shots(f) for f in morph) > 0.05


@pytest.mark.parametrize("target, frames_out", [(50, 50), (60, 60)])
def test_frame_rate_conversion_keeps_duration_and_copies_audio(tmp_path, target, frames_out):
    source = make_clip_with_tone(tmp_path / "tone.mp4", frames=25, fps=25)
    out = tmp_path / f"at{target}.mp4"
    said, asked = [], []

    def model(a, b, time):
        asked.append(time)
        return mean_middle(a, b, time)

    result = video_job.run_video(str(source), str(out), 5, None, model, target_fps=target, say=said.append)
    assert (result.frames_out, result.fps_out, result.mode) == (frames_out, target, "frame rate")
    assert result.streams == ["audio copied (aac)"]
    probe = ffmpeg_probe(out)
    assert probe["frames"] == frames_out and probe["fps"] == target and probe["audio"] == ["aac"]
    assert abs(probe["frames"] / probe["fps"] - 25 / 25) <= 1 / target  # same duration, within one frame
    assert audio_packets(out) == audio_packets(source)  # bit-exact copy
    # The frames shown: input frames where the time is an input's, else the (linear stub's)
    # frame at the exact time.
    inputs, converted = decode(source), decode(out)
    assert np.abs(converted[0] - inputs[0]).mean() < 0.02
    if target == 50:
        assert np.abs(converted[1] - (inputs[0] + inputs[1]) / 2).mean() < 0.02
        assert np.abs(converted[2] - inputs[1]).mean() < 0.02
    else:  # frame 12 of 60 is at t = 5: input frame 5 exactly (12 * 25 / 60)
        assert np.abs(converted[12] - inputs[5]).mean() < 0.02
    # Each frame the model made, at its exact time j * 25 / target - p: one call each
    # (60: 5/12, 5/6, 1/4, 2/3, ... not the nearest dyadic 1/2, 3/4, 1/4, 3/4).
    exact = [j * 25 / target % 1 for j in range(frames_out) if j * 25 % target and j * 25 / target < 24]
    assert asked == pytest.approx(exact, abs=1e-12) and len(asked) == (24 if target == 50 else 53)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_the_old_nearest_dyadic_conversion_is_reachable(tmp_path):
    source = make_clip_with_tone(tmp_path / "tone.mp4", frames=10, fps=25)
    asked = []

    def model(a, b, time=0.5):
        asked.append(time)
        return mean_middle(a, b, time)

    kwargs = dict(target_fps=60, say=lambda line: None)
    old = video_job.run_video(
        str(source), str(tmp_path / "old.mp4"), 0, None, model, dyadic_times=True, **kwargs
    )
    # Middles only: 9 pairs' times at the nearest quarter (1/4, 1/2, 3/4 each, via 1/2).
    assert old.frames_out == 24 and set(asked) == {0.5} and len(asked) <= 9 * 3
    exact = video_job.run_video(str(source), str(tmp_path / "exact.mp4"), 0, None, mean_middle, **kwargs)
    assert exact.frames_out == 24
    old_frames, exact_frames, inputs = (
        decode(tmp_path / "old.mp4"),
        decode(tmp_path / "exact.mp4"),
        decode(source),
    )
    # Output frame 1 (t = 5/12): the old plan shows t = 1/2, the exact one 5/12 (linear stub).
    for frames, t in ((old_frames, 0.5), (exact_frames, 5 / 12)):
        assert np.abs(frames[1] - ((1 - t) * inputs[0] + t * inputs[1])).mean() < 0.01
    with pytest.raises(ValueError, match="--dyadic_times applies to frame-rate conversion"):
        video_job.run_video(str(source), str(tmp_path / "x.mp4"), 1, None, model, dyadic_times=True)


def test_slow_motion_drops_audio_with_a_notice(tmp_path):
    source = make_clip_with_tone(tmp_path / "tone.mp4", frames=10, fps=25)
    said = []
    result = video_job.run_video(
        str(source), str(tmp_path / "slow.mkv"), 1, None, mean_middle, say=said.append
    )
    assert result.frames_out == 19 and result.streams == []
    assert f"note: slow motion drops the audio of '{source}' (--target_fps or --multiplier keep it)." in said
    assert ffmpeg_probe(tmp_path / "slow.mkv")["audio"] == []


def test_truncated_input_warns_and_uses_the_frames_read(tmp_path):
    full = write_clip(tmp_path / "full.mp4", video_frames("carphone_pristine.mp4", 0, 25))
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    said = []
    result = video_job.run_video(str(cut), str(tmp_path / "out.mp4"), 1, None, mean_middle, say=said.append)
    read = result.frames_in
    assert 2 <= read < 20 and result.frames_out == 2 * read - 1
    warning = f"warning: '{cut}' ended early: {read} frames readable of the 25 its duration announces"
    assert said[0].startswith(warning) and result.warnings == [said[0]]
    none = tmp_path / "none.mp4"
    none.write_bytes(data[:2000])
    with pytest.raises(ValueError, match="Cannot read video|readable frame"):
        video_job.run_video(str(none), str(tmp_path / "o2.mp4"), 1, None, mean_middle)
    assert not (tmp_path / "o2.mp4").exists()


class Interrupting:
    """The stub model, interrupted (as by Ctrl-C) at its `after`-th call."""

    def __init__(self, after):
        self.calls, self.after = 0, after

    def __call__(self, a, b, time=0.5):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return mean_middle(a, b, time)


@pytest.mark.parametrize("rate", [None, 60])
def test_interrupted_video_job_resumes_to_the_same_output(tmp_path, rate):
    source = write_clip(tmp_path / "in.mp4", video_frames("carphone_pristine.mp4", 0, 30, 2))
    kwargs = dict(chunk_frames=16, target_fps=rate, say=lambda line: None)
    whole = tmp_path / "whole.mp4"
    video_job.run_video(str(source), str(whole), 3, None, mean_middle, **kwargs)
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        video_job.run_video(str(source), str(out), 3, None, Interrupting(40), **kwargs)
    assert not out.exists()
    work = tmp_path / ".out.mp4.film-work"
    chunks = sorted(n for n in os.listdir(work) if n.startswith("chunk_"))
    assert len(chunks) >= 2 and not [n for n in os.listdir(work) if n.startswith(".")]
    counting = Interrupting(10**9)
    said = []
    result = video_job.run_video(str(source), str(out), 3, None, counting, **{**kwargs, "say": said.append})
    assert result.resumed_chunks == len(chunks) and any(line.startswith("resuming: ") for line in said)
    assert 0 < counting.calls < 87 - 3 * len(chunks)  # finished chunks were not recomputed
    np.testing.assert_array_equal(decode(out), decode(whole))
    assert sorted(os.listdir(tmp_path)) == ["in.mp4", "out.mp4", "whole.mp4"]


def test_interrupted_folder_job_resumes_to_the_same_frames(tmp_path):
    from PIL import Image as PilImage

    folder = tmp_path / "clip"
    folder.mkdir()
    for i, frame in enumerate(video_frames("carphone_pristine.mp4", 0, 6, 3)):
        PilImage.fromarray(frame).save(folder / f"f{i}.png")
    jobs = frame_jobs.plan_folders(str(folder), True, str(tmp_path / "whole"))
    frame_jobs.run_folders(jobs, 3, 10, mean_middle, say=lambda line: None)
    jobs = frame_jobs.plan_folders(str(folder), True, str(tmp_path / "out"))
    with pytest.raises(KeyboardInterrupt):
        frame_jobs.run_folders(jobs, 3, 10, Interrupting(8), say=lambda line: None)
    assert not (tmp_path / "out" / "interpolated_frames").exists()
    counting = Interrupting(10**9)
    results = frame_jobs.run_folders(jobs, 3, 10, counting, say=lambda line: None)
    assert results[0].resumed_pairs == 2 and counting.calls == 15 - 6
    names = sorted(os.listdir(tmp_path / "whole" / "interpolated_frames"))
    assert len(names) == 21 and sorted(os.listdir(tmp_path / "out" / "interpolated_frames")) == names
    for name in names:
        a = np.asarray(PilImage.open(tmp_path / "whole" / "interpolated_frames" / name))
        b = np.asarray(PilImage.open(tmp_path / "out" / "interpolated_frames" / name))
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        decode(tmp_path / "out" / "interpolated.mp4"), decode(tmp_path / "whole" / "interpolated.mp4")
    )
    assert sorted(os.listdir(tmp_path / "out")) == ["interpolated.mp4", "interpolated_frames"]


def test_large_job_warning():
    assert video_job.large_job_warning(100, 200, 360, 640) is None
    line = video_job.large_job_warning(10_000, 20_001, 1080, 1920)
    assert line.startswith(
        "warning: a large job: 20001 output frames, 10000 interpolations of 1920x1080; about 12.7 h"
    )
