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
