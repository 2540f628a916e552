"""film_tf.media.video_io: streaming video read/write, atomic output, clear errors."""

import os
import re

import numpy as np
import pytest

from film_tf.media import stream_copy, video_formats, video_io
from tests.conftest import video_frames


def test_video_pixels_rounds_and_pads_odd_sides_by_replication():
    frame = np.linspace(0, 1, 3 * 5 * 4, dtype=np.float32).reshape(3, 5, 4)  # RGBA, odd sides
    pixels = video_io.video_pixels(frame)
    assert pixels.shape == (4, 6, 3) and pixels.dtype == np.uint8
    expected = (frame[..., :3] * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(pixels[:3, :5], expected)
    np.testing.assert_array_equal(pixels[3, :5], expected[2])
    np.testing.assert_array_equal(pixels[:3, 5], expected[:, 4])


def test_writer_then_reader_round_trip(tmp_path):
    frames = video_frames("carphone_pristine.mp4", 0, 4)[:, :63, :81]  # odd sides
    target = tmp_path / "sub" / "out.mp4"
    with video_io.VideoWriter(str(target), 63, 81, fps=12) as writer:
        for frame in frames:
            writer.add(frame.astype(np.float32) / 255)
        assert not target.exists()  # only under a temporary name so far
    assert os.listdir(tmp_path / "sub") == ["out.mp4"]
    with video_io.open_video(str(target)) as reader:
        assert reader.shape == (64, 82) and reader.fps == pytest.approx(12) and reader.num_images == 4
        decoded = np.stack(list(reader))
    assert decoded.shape == (4, 64, 82, 3)
    assert np.abs(decoded[:, :63, :81].astype(float) - frames).mean() < 4  # lossy codec
    streamed = np.stack(list(video_io.iter_frames(str(target))))
    np.testing.assert_array_equal(streamed, decoded)


def test_writer_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with video_io.VideoWriter(str(target), 16, 16, fps=10) as writer:
            writer.add(np.zeros((16, 16, 3), np.float32))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Video not found"):
        video_io.open_video(str(tmp_path / "none.mp4"))
    with pytest.raises(IsADirectoryError, match="got a folder"):
        video_io.open_video(str(tmp_path))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match=f"^Cannot read video '{bad}': ") as error:
        video_io.open_video(str(bad))
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match=f"^Cannot decode video '{bad}': "):
        list(video_io.iter_frames(str(bad)))


def test_check_video_output(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"x")
    video_io.check_video_output(str(tmp_path / "new" / "out.MP4"), [str(source)])
    with pytest.raises(ValueError, match="is an input"):
        video_io.check_video_output(str(source), [str(source)])
    with pytest.raises(IsADirectoryError, match="output video .* is a folder"):
        video_io.check_video_output(str(tmp_path))
    with pytest.raises(ValueError, match=r"must end in \.mp4, \.mov, \.mkv, \.webm or \.gif"):
        video_io.check_video_output(str(tmp_path / "out.avi"))
    with pytest.raises(NotADirectoryError, match="is a file"):
        video_io.check_video_output(str(source / "out.mp4"))


# ---------------------------------------------------------------- containers, codecs, damaged input


def ffmpeg_probe(path) -> dict:
    """An independent reading of a video by the ffmpeg binary (not mediapy,
    not film_tf): decoded frame count, size and frame rate of the video
    stream, and the codecs of every stream."""
    import re
    import subprocess

    exe = video_io.ensure_ffmpeg()
    header = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    video = re.search(r"Stream #0:\d+.*?: Video: (\w+).*?, (\d+)x(\d+).*?, ([\d.]+) fps", header)
    decoded = subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
        capture_output=True, text=True,
    ).stderr  # fmt: skip
    frames = int(re.findall(r"frame=\s*(\d+)", decoded)[-1])
    return {
        "codec": video.group(1),
        "size": (int(video.group(2)), int(video.group(3))),
        "fps": float(video.group(4)),
        "frames": frames,
        "audio": re.findall(r"Stream #0:\d+.*?: Audio: (\w+)", header),
    }


@pytest.mark.parametrize(
    "ext, codec, expected",
    [(".mp4", None, "h264"), (".mov", None, "h264"), (".mkv", None, "h264"), (".webm", None, "vp9"),
     (".gif", None, "gif"), (".mkv", "vp9", "vp9"), (".mp4", "h265", "hevc"), (".webm", "vp8", "vp8")],
)  # fmt: skip
def test_every_container_round_trips_through_ffmpeg(tmp_path, ext, codec, expected):
    frames = video_frames("carphone_pristine.mp4", 0, 12)[:, :63, :81]  # odd sides
    target = tmp_path / f"out{ext}"
    with video_io.VideoWriter(str(target), 63, 81, fps=25, codec=codec) as writer:
        for frame in frames:
            writer.add(frame.astype(np.float32) / 255)
    assert os.listdir(tmp_path) == [target.name]
    probe = ffmpeg_probe(target)
    assert probe == {"codec": expected, "size": (82, 64), "fps": 25.0, "frames": 12, "audio": []}
    decoded = np.stack(list(video_io.iter_frames(str(target))))[:, :63, :81].astype(float)
    tolerance = 12 if ext == ".gif" else 6  # 256 colours vs lossy 4:2:0
    assert np.abs(decoded - frames).mean() < tolerance


def test_crf_changes_the_quality(tmp_path):
    frames = video_frames("carphone_pristine.mp4", 0, 6)
    sizes, errors = {}, {}
    for crf in (10, 40):
        target = tmp_path / f"crf{crf}.mp4"
        with video_io.VideoWriter(str(target), 144, 176, fps=25, crf=crf) as writer:
            for frame in frames:
                writer.add(frame.astype(np.float32) / 255)
        sizes[crf] = os.path.getsize(target)
        errors[crf] = np.abs(np.stack(list(video_io.iter_frames(str(target)))).astype(float) - frames).mean()
    assert sizes[10] > 3 * sizes[40] and errors[10] < errors[40] / 2


def test_formats_refused_before_any_work_in_one_line(tmp_path):
    supported = ".mp4/.mov (h264, h265), .mkv (h264, h265, vp9), .webm (vp9, vp8), .gif (gif)"
    assert video_formats.supported_formats() == supported
    cases = [
        (
            "out.avi",
            None,
            None,
            f"Cannot write video '.*out.avi': supported outputs are {re.escape(supported)}",
        ),
        ("out.webm", "h264", None, "Cannot write --codec h264 into .webm: supported outputs are"),
        ("out.mp4", "vp9", None, "Cannot write --codec vp9 into .mp4"),
        ("out.gif", None, 20, "--crf does not apply to gif"),
        ("out.mp4", None, 60, r"--crf for h264 must be in 0\.\.51, got 60"),
    ]
    for name, codec, crf, message in cases:
        with pytest.raises(ValueError, match=message) as error:
            video_formats.check_output_format(str(tmp_path / name), codec, crf)
        assert "\n" not in str(error.value)
        with pytest.raises(ValueError):
            video_io.VideoWriter(str(tmp_path / name), 16, 16, 10, codec, crf)
    assert video_io.check_video_output(str(tmp_path / "x.WEBM")) == video_formats.VideoFormat(
        ".webm", "vp9", 32
    )
    assert os.listdir(tmp_path) == []


def test_writer_rejects_a_frame_of_another_size(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="Frame of 8x8 for a 16x16 video"):
        with video_io.VideoWriter(str(target), 16, 16, fps=10) as writer:
            writer.add(np.zeros((8, 8, 3), np.float32))
    assert os.listdir(tmp_path) == []


def test_truncated_video_reports_the_frames_read(tmp_path):
    frames = video_frames("carphone_pristine.mp4", 0, 25)
    full = tmp_path / "full.mp4"
    with video_io.VideoWriter(str(full), 144, 176, fps=25) as writer:
        for frame in frames:
            writer.add(frame.astype(np.float32) / 255)
    with video_io.open_video(str(full)) as reader:
        assert len(list(reader)) == 25 and reader.expected_frames == 25
        assert not reader.ended_early() and reader.problem() is None
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with video_io.open_video(str(cut)) as reader:
        read = len(list(reader))
        assert 2 <= read < 20 and reader.num_images == read and reader.expected_frames == 25
        assert reader.ended_early()
        assert reader.problem() == (
            f"'{cut}' ended early: read {read} frames of the 25 its duration announces; "
            "the file may be truncated or damaged."
        )


def test_copy_streams_copies_audio_bit_exactly(tmp_path):
    source = make_clip_with_tone(tmp_path / "tone.mp4", frames=25, fps=25)
    video = tmp_path / "video.mp4"
    with video_io.VideoWriter(str(video), 48, 64, fps=50) as writer:
        for i in range(50):
            writer.add(np.full((48, 64, 3), i / 50, np.float32))
    out = tmp_path / "with_audio.mp4"
    assert stream_copy.copy_streams(str(video), str(source), str(out)) == ["audio copied (aac)"]
    assert audio_packets(out) == audio_packets(source) and len(audio_packets(source)) > 1000
    assert ffmpeg_probe(out)["frames"] == 50
    webm = tmp_path / "with_audio.webm"
    with video_io.VideoWriter(str(tmp_path / "v.webm"), 48, 64, fps=50) as writer:
        writer.add(np.zeros((48, 64, 3), np.float32))
    assert stream_copy.copy_streams(str(tmp_path / "v.webm"), str(source), str(webm)) == [
        "audio re-encoded (aac -> libopus)"
    ]
    assert ffmpeg_probe(webm)["audio"] == ["opus"]


def make_clip_with_damaged_audio(path, frames: int = 10, fps: int = 10):
    """A .mov whose frames decode but whose audio stream no container takes:
    an AAC-tone clip with one byte of its audio track's sample table box
    ('stbl', the last in the file) changed, as the mutation that found
    issue 35 did: ffmpeg then reads that stream as 'Audio: none, 0 channels'."""
    make_clip_with_tone(path, frames=frames, fps=fps)
    data = bytearray(path.read_bytes())
    at = data.rfind(b"stbl")
    assert at > data.rfind(b"soun") > 0  # the audio track's, after its handler
    data[at] = ord("=")
    path.write_bytes(bytes(data))
    assert video_io.probe_video(str(path)).audio_codecs == ["none"]
    return path


def _video(path, frames: int = 20):
    with video_io.VideoWriter(str(path), 48, 64, fps=20) as writer:
        for i in range(frames):
            writer.add(np.full((48, 64, 3), i / frames, np.float32))
    return path


def test_copy_streams_leaves_out_a_damaged_stream_with_one_warning(tmp_path):
    source = make_clip_with_damaged_audio(tmp_path / "in.mov")
    assert len(list(video_io.iter_frames(str(source)))) == 10  # the frames decode
    warnings = []
    out = tmp_path / "out" / "out.mp4"
    done = stream_copy.copy_streams(
        str(_video(tmp_path / "v.mp4")), str(source), str(out), warn=warnings.append
    )
    assert done == ["audio stream #0:1 (none) dropped"]
    assert warnings == [
        f"warning: ffmpeg cannot put the audio stream #0:1 (none) of '{source}' into '{out}' "
        "(Error opening output files: Invalid argument); written without it."
    ]
    probe = ffmpeg_probe(out)
    assert probe["frames"] == 20 and probe["audio"] == []
    assert os.listdir(tmp_path / "out") == ["out.mp4"]


def test_copy_streams_strict_writes_nothing_and_names_the_stream(tmp_path):
    source = make_clip_with_damaged_audio(tmp_path / "in.mov")
    video = _video(tmp_path / "v.mkv")
    out = tmp_path / "out" / "out.mkv"
    with pytest.raises(stream_copy.StreamCopyError) as raised:
        stream_copy.copy_streams(str(video), str(source), str(out), strict=True)
    assert raised.value.dropped == ["audio stream #0:1 (none)"]
    assert str(raised.value).startswith(
        f"ffmpeg cannot put the audio stream #0:1 (none) of '{source}' into '{out}' ("
    )
    assert os.listdir(tmp_path / "out") == [] and video.exists()  # nothing written, the video kept


def test_copy_streams_reencodes_a_codec_the_container_refuses_as_it_is(tmp_path):
    """Matroska takes any audio as far as COPYABLE_AUDIO knows, but not QuickTime's
    IMA ADPCM: tried alone, copying fails, so it goes in re-encoded (nothing lost)."""
    import subprocess

    source = tmp_path / "adpcm.mov"
    subprocess.run(
        [video_io.ensure_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-frames:v", "10", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", "-c:a", "adpcm_ima_qt", str(source)],
        check=True,
    )  # fmt: skip
    warnings = []
    out = tmp_path / "out.mkv"
    done = stream_copy.copy_streams(
        str(_video(tmp_path / "v.mkv")), str(source), str(out), warn=warnings.append
    )
    assert done == ["audio re-encoded (adpcm_ima_qt -> aac)"] and warnings == []
    assert ffmpeg_probe(out)["audio"] == ["aac"]


def make_clip_with_tone(path, frames: int = 25, fps: int = 25, size: str = "64x48"):
    """A test-pattern clip with a 440 Hz AAC tone of the same duration (ffmpeg lavfi)."""
    import subprocess

    seconds = frames / fps
    subprocess.run(
        [video_io.ensure_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-frames:v", str(frames),
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return path


def audio_packets(path) -> bytes:
    """The audio stream's packets, as stored (`-c copy -f data`)."""
    import subprocess

    result = subprocess.run(
        [video_io.ensure_ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "data", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return result.stdout
