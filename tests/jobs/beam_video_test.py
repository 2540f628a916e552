"""film_tf.jobs.beam_video on real footage: the Beam run (2 worker processes) equals the
in-process run frame for frame with the audio copied bit-exactly; killed and rerun it keeps
the finished chunks; a failing chunk is one line naming it.

The clip: bikes.mp4 frames 22..37 (hard cut between 29 and 30: pair 7), 64x96, with an AAC
tone, converted 25 -> 60 fps (38 output frames, each at its exact time); --chunk_frames 12 gives chunks of
4 pairs: input frames 0-4, 4-8, 8-12, 12-15 (a boundary inside a shot at 4, one after the
cut at 8). The model: the official tiny reference configuration, in float32.
"""

import functools
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from film_tf.jobs import beam_video, resume, video_job, video_plan
from film_tf.media import video_io
from tests.conftest import reference_dir, reference_options, video_frames
from tests.jobs.video_job_test import decode, write_clip
from tests.media.video_io_test import audio_packets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TWO_PROCESSES = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]
JOB = dict(target_fps=60, chunk_frames=12, progress_bar=False)
CHUNKS = [(0, 4), (4, 8), (8, 12), (12, 15)]


def tiny_model():
    from film_tf.runtime.inference import Interpolator

    options = reference_options("film_official_tiny")
    return Interpolator(reference_dir("film_official_tiny"), options=options, precision="float32")


def digest(frame: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frame, np.float32).tobytes()).hexdigest()[:16]


class Logged:
    """The tiny model, logging each call's inputs (digests) to `<log>/calls.<pid>`; after
    `fail_at` input frame digests, raises a two-line error instead."""

    def __init__(self, model, log: str, delay: float, fail_at: str | None):
        self.model, self.log, self.delay, self.fail_at = model, log, delay, fail_at

    def __call__(self, a, b, t=0.5):
        if self.fail_at is not None and digest(a) == self.fail_at:
            raise RuntimeError("OOM when allocating tensor of shape [1,64,96,3]\n  (more details)")
        with open(os.path.join(self.log, f"calls.{os.getpid()}"), "a") as f:
            f.write(f"{digest(a)} {digest(b)}\n")
        time.sleep(self.delay)
        return self.model(a, b, t)


def counted_model(log: str):
    """A `load_model` for the workers: the tiny model, counting the loads in `<log>/loads.<pid>`."""
    with open(os.path.join(log, f"loads.{os.getpid()}"), "a") as f:
        f.write("load\n")
    return tiny_model()


def logged_model(log: str, delay: float = 0.0, fail_at: str | None = None) -> Logged:
    """A `load_model` for the workers: the tiny model, logging its calls (no feature reuse)."""
    return Logged(tiny_model(), log, delay, fail_at)


def read_log(log: str, prefix: str) -> list[str]:
    lines = []
    for name in sorted(os.listdir(log)):
        if name.startswith(prefix):
            with open(os.path.join(log, name)) as f:
                lines += f.read().splitlines()
    return lines


def pairs_computed(log: str, inputs: np.ndarray) -> set[int]:
    """The input pairs p whose frames p, p + 1 the model was called on."""
    index = {digest(frame): i for i, frame in enumerate(inputs)}
    calls = [line.split() for line in read_log(log, "calls.")]
    return {index[a] for a, b in calls if a in index and index.get(b) == index[a] + 1}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(the clip with audio, its decoded frames, the in-process run's output)."""
    folder = tmp_path_factory.mktemp("clip")
    silent = write_clip(folder / "silent.mp4", video_frames("bikes.mp4", 22, 16)[:, ::4, ::4][:, :64, :96])
    source = folder / "in.mp4"
    subprocess.run(
        [video_io.ensure_ffmpeg(), "-v", "error", "-y", "-i", str(silent), "-f", "lavfi", "-i",
         "sine=frequency=440:duration=0.64", "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
         str(source)],
        check=True,
    )  # fmt: skip
    reference = folder / "ref" / "in_process.mp4"
    result = video_job.run_video(
        str(source), str(reference), 0, None, tiny_model(), say=lambda _: None, **JOB
    )
    assert (result.frames_out, result.cuts, result.streams) == (38, 1, ["audio copied (aac)"])
    return source, decode(source), reference


def test_the_plan_has_a_scene_cut_and_a_boundary_inside_a_shot(clip, tmp_path):
    source, _, _ = clip
    job = video_plan.prepare_video(str(source), str(tmp_path / "o.mp4"), 0, None, target_fps=60,
                                   chunk_frames=12, say=lambda _: None)  # fmt: skip
    assert job.cuts == [7] and [(c.first, c.last) for c in job.chunks] == CHUNKS
    # Output frame j is at t = j * 25 / 60: chunk 1 (frames 4-8) owns j = 10..19 (t = 4.17..7.92).
    assert [c.outputs for c in job.chunks] == [10, 10, 9, 9] and [c.cuts for c in job.chunks] == [0, 1, 0, 0]


def test_the_progress_bar_counts_output_frames_of_the_known_total(clip, tmp_path, capsys):
    source, _, _ = clip
    video_job.run_video(str(source), str(tmp_path / "o.mp4"), 0, None, lambda a, b, t: (1 - t) * a + t * b,
                        target_fps=60, say=lambda _: None)  # fmt: skip
    err = capsys.readouterr().err
    assert re.search(r"interpolating:   0%\| +\| 0/38 \[00:00<\?", err), err
    assert re.search(r"interpolating: 100%\|.*\| 38/38 \[\d\d:\d\d<00:00", err), err


def test_beam_with_two_processes_equals_the_in_process_run(clip, tmp_path, capsys):
    source, inputs, reference = clip
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "out" / "beam.mp4"
    said = []
    result = beam_video.run_video_on_beam(
        str(source), str(out), 0, None, functools.partial(counted_model, str(log)), TWO_PROCESSES,
        say=said.append, **{**JOB, "progress_bar": True},
    )  # fmt: skip
    assert re.search(r"interpolating: 100%\|.*\| 38/38 \[", capsys.readouterr().err)
    assert (result.frames_out, result.fps_out, result.cuts) == (38, 60, 1)
    assert result.streams == ["audio copied (aac)"] and result.resumed_chunks == 0
    beam, local = decode(out), decode(reference)
    assert beam.shape == (38, 64, 96, 3)
    np.testing.assert_array_equal(beam, local)  # frame for frame
    assert np.abs(beam[1] - beam[0]).mean() > 0.003  # real in-betweens, not held copies
    assert audio_packets(out) == audio_packets(source) and len(audio_packets(source)) > 1000
    # Each worker process loaded the model once (not once per chunk); 2 processes at most.
    loads = [name for name in os.listdir(log) if name.startswith("loads.")]
    assert 1 <= len(loads) <= 2 and len(read_log(str(log), "loads.")) == len(loads)
    assert str(os.getpid()) not in {name.split(".")[1] for name in loads}  # not in this process
    assert os.listdir(tmp_path / "out") == ["beam.mp4"]  # no work folder, no temporaries


def _wait_for_records(proc, work, timeout=300):
    start = time.time()
    while not any(n.endswith(resume.RECORD_SUFFIX) for n in _names(work)):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.time() - start < timeout
        time.sleep(0.05)


def _names(folder) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def test_killed_and_rerun_keeps_the_finished_chunks(clip, tmp_path):
    source, inputs, reference = clip
    first, second = tmp_path / "log1", tmp_path / "log2"
    first.mkdir(), second.mkdir()
    out = tmp_path / "out" / "beam.mp4"
    work = resume.work_folder_for(str(out))
    script = (
        "import functools, sys; from film_tf.jobs import beam_video; from tests.jobs import beam_video_test as t;"
        f"beam_video.run_video_on_beam({str(source)!r}, {str(out)!r}, 0, None,"
        f" functools.partial(t.logged_model, {str(first)!r}, 0.3), t.TWO_PROCESSES, **t.JOB)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        _wait_for_records(proc, work)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the job and its workers, no cleanup at all
        proc.communicate()
    records = {}
    for name in _names(work):
        if name.endswith(resume.RECORD_SUFFIX):
            with open(os.path.join(work, name)) as f:
                records[json.load(f)["chunk"]] = name
    assert 1 <= len(records) < len(CHUNKS) and not out.exists()
    # A chunk file without a record (killed after the file, before the record) is not trusted.
    untrusted = min(set(range(len(CHUNKS))) - set(records))
    with open(os.path.join(work, f"chunk_{untrusted:05d}.mp4"), "wb") as f:
        f.write(b"half a chunk")
    said = []
    result = beam_video.run_video_on_beam(
        str(source), str(out), 0, None, functools.partial(logged_model, str(second)), TWO_PROCESSES,
        say=said.append, **JOB,
    )  # fmt: skip
    assert f"resuming: {len(records)} of 4 chunks already done." in said
    assert result.resumed_chunks == len(records) and result.frames_out == 38
    np.testing.assert_array_equal(decode(out), decode(reference))
    assert audio_packets(out) == audio_packets(source)
    # No finished chunk was recomputed: the rerun interpolated only the other chunks' pairs.
    done = {p for c in records for p in range(*CHUNKS[c])}
    assert pairs_computed(str(second), inputs) == set(range(15)) - {7} - done
    assert set(range(*CHUNKS[untrusted])) - {7} <= pairs_computed(str(second), inputs)
    assert os.listdir(tmp_path / "out") == ["beam.mp4"]


def test_a_failing_chunk_is_one_line_naming_it_and_the_others_are_kept(clip, tmp_path):
    source, inputs, reference = clip
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "beam.mp4"
    failing = functools.partial(logged_model, str(log), fail_at=digest(inputs[5]))  # in chunk 1
    with pytest.raises(ValueError) as error:  # the in-process runner: threads, one process
        beam_video.run_video_on_beam(str(source), str(out), 0, None, failing, [], say=lambda _: None, **JOB)
    assert (
        str(error.value)
        == "chunk 1 (input frames 4-8) failed: OOM when allocating tensor of shape [1,64,96,3]"
    )
    assert not out.exists()
    said = []
    good = functools.partial(logged_model, str(tmp_path))
    result = beam_video.run_video_on_beam(str(source), str(out), 0, None, good, [], say=said.append, **JOB)
    assert "resuming: 3 of 4 chunks already done." in said and result.resumed_chunks == 3
    np.testing.assert_array_equal(decode(out), decode(reference))


def unloadable_model():
    """A `load_model` that fails on the worker, as a missing or foreign model does."""
    raise ValueError("Model not found: '/nowhere/saved_model'.\n  (details)")


def test_a_model_that_fails_to_load_on_a_worker_is_one_line(clip, tmp_path):
    """Beam would end the run with the worker's traceback; each chunk reports the load error."""
    source, _, _ = clip
    out = tmp_path / "beam.mp4"
    with pytest.raises(ValueError) as error:
        beam_video.run_video_on_beam(
            str(source), str(out), 0, None, unloadable_model, [], say=lambda _: None, **JOB
        )
    assert str(error.value) == "chunk 0 (input frames 0-4) failed: Model not found: '/nowhere/saved_model'."
    assert not out.exists()


def test_the_old_nearest_dyadic_plan_on_beam_equals_in_process(clip, tmp_path):
    """--dyadic_times (kept reachable: better on bikes.mp4's fast motion, README) on the
    in-process Beam runner: the in-process job's frames, which differ from the exact plan's."""
    source, _, reference = clip
    local, beam = tmp_path / "local.mp4", tmp_path / "beam.mp4"
    job = {**JOB, "dyadic_times": True}
    video_job.run_video(str(source), str(local), 0, None, tiny_model(), say=lambda _: None, **job)
    result = beam_video.run_video_on_beam(
        str(source), str(beam), 0, None, tiny_model, [], say=lambda _: None, **job
    )
    assert result.frames_out == 38
    old = decode(beam)
    np.testing.assert_array_equal(old, decode(local))
    exact = decode(reference)
    assert np.abs(old[0] - exact[0]).max() == 0  # an input frame in both
    assert np.abs(old[1] - exact[1]).mean() > 0.001  # t = 5/12 shown at 1/2: another frame
