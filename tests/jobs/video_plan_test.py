"""film_tf.jobs.video_plan.scan_frames: the launcher's one decoding pass (scene cuts, digests)."""

from film_tf.jobs import scene_cuts
from film_tf.jobs.video_plan import scan_frames
from film_tf.media import video_io
from film_tf.media.video_seek import frame_digest
from tests.conftest import sample_clip


def test_one_pass_gives_the_cuts_and_every_frames_digest():
    path = sample_clip("carphone_pristine.mp4")
    frames = list(video_io.iter_frames(path))[:60]
    expected_cuts = scene_cuts.find_cuts(iter(frames), 0.05)
    cuts, digests = scan_frames(path, 60, 0.05, progress_bar=False, digests=True)
    assert cuts == expected_cuts and digests == [frame_digest(f) for f in frames]
    assert len(set(digests)) == 60  # a moving clip: no two frames alike
    assert scan_frames(path, 60, 0.05, progress_bar=False) == (expected_cuts, None)
    # Without cuts to find, the pass runs only for the digests.
    assert scan_frames(path, 60, 0, progress_bar=False) == ([], None)
    assert scan_frames(path, 60, 0, progress_bar=False, digests=True) == ([], digests)


def test_fewer_decodable_frames_than_counted_are_planned_with_a_warning(tmp_path, monkeypatch):
    """A damaged stream whose container counts more frames than decode (a fuzz case:
    6 counted, 5 decode): the pass says so and the job is planned on the frames
    that decode, with one warning line, instead of failing half-way."""
    import pytest

    from film_tf.jobs import video_plan

    path = sample_clip("carphone_pristine.mp4")
    with pytest.raises(video_plan.FewerFrames) as raised:
        scan_frames(path, 10**6, 0.05, progress_bar=False)
    total = raised.value.read
    assert total == len(list(video_io.iter_frames(path)))

    real_open = video_io.open_video

    class Overcounted:  # the reader of a container that announces 3 frames more
        def __init__(self, *args, **kwargs):
            self.reader = real_open(*args, **kwargs)

        def __enter__(self):
            reader = self.reader.__enter__()
            reader.num_images += 3
            return reader

        def __exit__(self, *exc):
            return self.reader.__exit__(*exc)

    monkeypatch.setattr(video_io, "open_video", Overcounted)
    said = []
    job = video_plan.prepare_video(
        path, str(tmp_path / "out.mp4"), 1, None, multiplier=2, say=said.append, progress_bar=False
    )
    assert job.plan.num_frames == total and job.identity["frames"] == total
    assert any(f"only {total} of the {total + 3} frames" in line for line in job.warnings)
