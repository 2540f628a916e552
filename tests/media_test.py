"""film_tf.media: streaming video read/write, atomic output, clear errors."""

import os

import numpy as np
import pytest

from film_tf import media
from tests.conftest import video_frames


def test_video_pixels_rounds_and_pads_odd_sides_by_replication():
    frame = np.linspace(0, 1, 3 * 5 * 4, dtype=np.float32).reshape(3, 5, 4)  # RGBA, odd sides
    pixels = media.video_pixels(frame)
    assert pixels.shape == (4, 6, 3) and pixels.dtype == np.uint8
    expected = (frame[..., :3] * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(pixels[:3, :5], expected)
    np.testing.assert_array_equal(pixels[3, :5], expected[2])
    np.testing.assert_array_equal(pixels[:3, 5], expected[:, 4])


def test_writer_then_reader_round_trip(tmp_path):
    frames = video_frames("carphone_pristine.mp4", 0, 4)[:, :63, :81]  # odd sides
    target = tmp_path / "sub" / "out.mp4"
    with media.VideoWriter(str(target), 63, 81, fps=12) as writer:
        for frame in frames:
            writer.add(frame.astype(np.float32) / 255)
        assert not target.exists()  # only under a temporary name so far
    assert os.listdir(tmp_path / "sub") == ["out.mp4"]
    with media.open_video(str(target)) as reader:
        assert reader.shape == (64, 82) and reader.fps == pytest.approx(12) and reader.num_images == 4
        decoded = np.stack(list(reader))
    assert decoded.shape == (4, 64, 82, 3)
    assert np.abs(decoded[:, :63, :81].astype(float) - frames).mean() < 4  # lossy codec
    streamed = np.stack(list(media.iter_frames(str(target))))
    np.testing.assert_array_equal(streamed, decoded)


def test_writer_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with media.VideoWriter(str(target), 16, 16, fps=10) as writer:
            writer.add(np.zeros((16, 16, 3), np.float32))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Video not found"):
        media.open_video(str(tmp_path / "none.mp4"))
    with pytest.raises(IsADirectoryError, match="got a folder"):
        media.open_video(str(tmp_path))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match=f"^Cannot read video '{bad}': ") as error:
        media.open_video(str(bad))
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match=f"^Cannot decode video '{bad}': "):
        list(media.iter_frames(str(bad)))


def test_check_video_output(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"x")
    media.check_video_output(str(tmp_path / "new" / "out.MP4"), [str(source)])
    with pytest.raises(ValueError, match="is an input"):
        media.check_video_output(str(source), [str(source)])
    with pytest.raises(IsADirectoryError, match="output video .* is a folder"):
        media.check_video_output(str(tmp_path))
    with pytest.raises(ValueError, match=r"must end in \.mp4, \.mov, \.mkv, \.webm or \.gif"):
        media.check_video_output(str(tmp_path / "out.avi"))
    with pytest.raises(NotADirectoryError, match="is a file"):
        media.check_video_output(str(source / "out.mp4"))
