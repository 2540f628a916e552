"""film_tf.media.video_seek: a frame range, frame-exact, equal to what the streaming reader yields."""

import re

import numpy as np
import pytest

from film_tf.media import video_io
from film_tf.media.video_seek import SEEK_MARGIN_S, frame_digest, read_frame_range
from tests.conftest import sample_clip


@pytest.mark.parametrize("name, ranges", [("bikes.mp4", [(0, 1), (29, 31), (97, 100), (247, 250)]),
                                          ("carphone_pristine.mp4", [(0, 5), (60, 61), (115, 120)])])  # fmt: skip
def test_ranges_equal_the_streaming_readers_frames(name, ranges):
    path = sample_clip(name)
    with video_io.open_video(path) as reader:
        shape = reader.shape
    every = np.stack(list(video_io.iter_frames(path)))
    for start, stop in ranges:
        frames = np.stack(list(read_frame_range(path, start, stop, shape)))
        assert frames.shape == (stop - start, *shape, 3) and frames.dtype == np.uint8
        np.testing.assert_array_equal(frames, every[start:stop])
        # Neighbouring frames differ: a range off by one frame would not pass.
        if start > 0:
            assert not np.array_equal(frames[0], every[start - 1])


def test_a_written_clip_in_each_container(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (12, 48, 64, 3)).astype(np.float32) / 255
    for ext in (".mp4", ".webm", ".mkv"):
        path = str(tmp_path / f"clip{ext}")
        with video_io.VideoWriter(path, 48, 64, fps=24) as writer:
            for frame in frames:
                writer.add(frame)
        every = np.stack(list(video_io.iter_frames(path)))
        assert len(every) == 12
        np.testing.assert_array_equal(np.stack(list(read_frame_range(path, 5, 9, (48, 64)))), every[5:9])


def test_a_range_past_the_end_and_bad_ranges_are_one_line(tmp_path):
    path = sample_clip("carphone_pristine.mp4")
    with pytest.raises(ValueError, match=r"has only 2 frames from frame 118 \(wanted 5\)\.$"):
        list(read_frame_range(path, 118, 123, (144, 176)))
    for start, stop in ((3, 3), (-1, 2)):
        with pytest.raises(ValueError, match="needs 0 <= start < stop"):
            list(read_frame_range(path, start, stop, (144, 176)))
    with pytest.raises(FileNotFoundError, match="Video not found"):
        list(read_frame_range(str(tmp_path / "none.mp4"), 0, 2, (144, 176)))


def _every_frame_and_digests(path):
    every = np.stack(list(video_io.iter_frames(path)))
    return every, [frame_digest(frame) for frame in every]


@pytest.mark.parametrize("name, ranges", [("bikes.mp4", [(97, 100), (200, 221), (247, 250)]),
                                          ("carphone_pristine.mp4", [(70, 75), (115, 120)])])  # fmt: skip
def test_a_time_seek_matched_by_digest_gives_the_same_frames(name, ranges):
    """With the frames' digests and rate, a range past SEEK_MARGIN_S is read
    from a time seek (ffmpeg decodes from there, not from frame 0), and every
    frame is the one of its index."""
    path = sample_clip(name)
    with video_io.open_video(path) as reader:
        shape, fps = reader.shape, reader.fps
    every, digests = _every_frame_and_digests(path)
    for start, stop in ranges:
        assert start / fps > SEEK_MARGIN_S
        stats = {}
        frames = np.stack(
            list(read_frame_range(path, start, stop, shape, fps=fps, digests=digests, stats=stats))
        )
        np.testing.assert_array_equal(frames, every[start:stop])
        assert stats == {"seek_frames": stop - start, "index_frames": 0}


def test_a_time_seek_in_each_container_and_in_a_still_scene(tmp_path):
    """A still scene (90 equal frames, lossless) is where a time seek's frames
    match the wrong indices: the digests of the first moving frame differ, and
    reading goes on by index from there. A wrong rate (a seek past the video)
    reads all by index, still checked: digests that do not fit are an error."""
    rng = np.random.default_rng(1)
    frames = np.concatenate([np.full((90, 48, 64, 3), 0.5, np.float32),
                             rng.integers(0, 256, (30, 48, 64, 3)).astype(np.float32) / 255])  # fmt: skip
    for ext, crf in ((".mp4", 0), (".webm", None), (".mkv", 0)):
        path = str(tmp_path / f"still{ext}")
        with video_io.VideoWriter(path, 48, 64, fps=24, crf=crf) as writer:
            for frame in frames:
                writer.add(frame)
        every, digests = _every_frame_and_digests(path)
        assert len(every) == 120
        for (start, stop), fps, expected in (
            ((100, 112), 24, {"seek_frames": 12, "index_frames": 0}),
            ((60, 100), 24, None),  # Still frames 60..89, then moving ones.
            ((100, 112), 10, {"seek_frames": 0, "index_frames": 12}),  # 100 / 10 s is past the end
        ):
            stats = {}
            got = list(read_frame_range(path, start, stop, (48, 64), fps=fps, digests=digests, stats=stats))
            np.testing.assert_array_equal(np.stack(got), every[start:stop], err_msg=f"{ext} {start}..{stop}")
            if expected is not None:
                assert stats == expected, ext
            else:  # A lossless still scene decodes to equal frames: matched in it, by index after it.
                assert stats["seek_frames"] + stats["index_frames"] == stop - start, ext
        wrong = [b"?" * 16] * 120
        with pytest.raises(
            ValueError, match=rf"^frame 100 of '{re.escape(path)}' decodes differently from the first"
        ):
            list(read_frame_range(path, 100, 112, (48, 64), fps=24, digests=wrong))
