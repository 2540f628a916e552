"""Output containers and codecs: what each video extension is written with.

One table (`CODECS`) says which codecs each accepted extension takes, the
first being the default: .mp4 / .mov / .mkv hold H.264 (or H.265; .mkv also
VP9), .webm holds VP9 (or VP8), .gif a 256-colour palette. An output path is
checked against it before any work (`check_output_format`), so a container
that cannot hold the codec is refused in one line that lists the supported
combinations, instead of ffmpeg failing after the first frame.

Standard library only: the binaries use it to check flags before importing
anything heavy.
"""

from __future__ import annotations

import dataclasses
import os

OUTPUT_VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".gif")

# extension -> accepted codecs, the default first.
CODECS: dict[str, tuple[str, ...]] = {
    ".mp4": ("h264", "h265"),
    ".mov": ("h264", "h265"),
    ".mkv": ("h264", "h265", "vp9"),
    ".webm": ("vp9", "vp8"),
    ".gif": ("gif",),
}

# codec -> (ffmpeg encoder, pixel format, default CRF, CRF range); gif has no CRF.
_ENCODERS: dict[str, tuple[str, str, int | None, tuple[int, int] | None]] = {
    "h264": ("libx264", "yuv420p", 18, (0, 51)),
    "h265": ("libx265", "yuv420p", 22, (0, 51)),
    "vp9": ("libvpx-vp9", "yuv420p", 32, (0, 63)),
    "vp8": ("libvpx", "yuv420p", 10, (4, 63)),
    "gif": ("gif", "pal8", None, None),
}

# Audio codecs each container takes as they are (stream copy); others are re-encoded
# to the container's audio codec, or dropped (gif has no audio).
COPYABLE_AUDIO: dict[str, tuple[str, ...] | None] = {
    ".mp4": ("aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"),
    ".mov": ("aac", "mp3", "ac3", "alac", "pcm_s16le", "pcm_s24le"),
    ".mkv": None,  # anything
    ".webm": ("opus", "vorbis"),
    ".gif": (),
}
AUDIO_ENCODER = {".mp4": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus"}
# Containers that take the input's subtitle streams as they are.
SUBTITLE_CONTAINERS = (".mkv",)


def supported_formats() -> str:
    """'.mp4/.mov (h264, h265), .mkv (h264, h265, vp9), .webm (vp9, vp8), .gif (gif)'."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for ext, codecs in CODECS.items():
        groups.setdefault(codecs, []).append(ext)
    return ", ".join(f"{'/'.join(exts)} ({', '.join(codecs)})" for codecs, exts in groups.items())


@dataclasses.dataclass(frozen=True)
class VideoFormat:
    """How one output video is encoded.

    Attributes:
      extension: the container, e.g. '.mp4'.
      codec: one of CODECS[extension].
      crf: the constant rate factor (None for gif).
    """

    extension: str
    codec: str
    crf: int | None

    def encoder_args(self) -> list[str]:
        """The ffmpeg output arguments for the video stream."""
        encoder, pix_fmt, _, _ = _ENCODERS[self.codec]
        if self.codec == "gif":
            # One palette for the whole clip, chosen from all frames.
            return ["-vf", "split[s0][s1];[s0]palettegen[p];[s1][p]paletteuse", "-f", "gif"]
        args = ["-c:v", encoder, "-pix_fmt", pix_fmt, "-crf", str(self.crf)]
        if self.codec in ("vp9", "vp8"):
            args += ["-b:v", "0", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"]
        else:
            args += ["-preset", "medium"]
        if self.codec == "h265":
            args += ["-tag:v", "hvc1", "-x265-params", "log-level=error"]
        if self.extension in (".mp4", ".mov"):
            args += ["-movflags", "+faststart"]
        return args


def check_output_format(path: str, codec: str | None = None, crf: int | None = None) -> VideoFormat:
    """The format `path` will be written in; one-line ValueError if it cannot be.

    Args:
      path: the output video; its extension (any case) picks the container.
      codec: None (the container's default) or one of CODECS[extension].
      crf: None (the codec's default) or a CRF in the codec's range; not
        for gif.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in CODECS:
        raise ValueError(f"Cannot write video '{path}': supported outputs are {supported_formats()}.")
    codec = (codec or CODECS[ext][0]).lower()
    if codec not in CODECS[ext]:
        raise ValueError(
            f"Cannot write --codec {codec} into {ext}: supported outputs are {supported_formats()}."
        )
    _, _, default_crf, crf_range = _ENCODERS[codec]
    if crf is not None:
        if crf_range is None:
            raise ValueError(f"--crf does not apply to {codec} ({ext}: a 256-colour palette, no CRF).")
        if not crf_range[0] <= crf <= crf_range[1]:
            raise ValueError(f"--crf for {codec} must be in {crf_range[0]}..{crf_range[1]}, got {crf}.")
    return VideoFormat(ext, codec, default_crf if crf is None else int(crf))
