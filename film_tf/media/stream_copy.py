"""Another file's audio and subtitle streams beside a written video (`copy_streams`).

Frame-rate conversion keeps the input's audio: `copy_streams` muxes the
interpolated video with the input's streams, copied as they are (bit-exact),
re-encoded when the output's container cannot hold them as they are
(`film_tf.media.video_formats.COPYABLE_AUDIO`, `AUDIO_ENCODER`). A stream ffmpeg
cannot put into the output at all (a damaged track that reads as
'Audio: none', a codec the container refuses even re-encoded) is found by
trying the streams one at a time; the output is written without it, with
one warning line naming it, or, when the caller requires every stream, a
`StreamCopyError` and nothing written.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from typing import Callable

from film_tf.files import atomic_path
from film_tf.media import video_formats
from film_tf.media.video_io import VideoInfo, _last_line, ensure_ffmpeg, probe_video


class StreamCopyError(ValueError):
    """Streams of a source that `copy_streams(..., strict=True)` could not put
    into the output (nothing was written). `dropped`: their names, e.g.
    ["audio stream #0:1 (none)"]."""

    def __init__(self, message: str, dropped: list[str]):
        super().__init__(message)
        self.dropped = dropped


@dataclasses.dataclass
class _Stream:
    """One stream of the source to add: kind 'audio' or 'subtitles', its
    index among that kind (`-map 1:a:<index>`), its ffmpeg id and codec, and
    the encoder it is re-encoded with (None: copied)."""

    kind: str
    index: int
    stream_id: str
    codec: str
    encoder: str | None = None

    @property
    def name(self) -> str:
        return f"{'audio' if self.kind == 'audio' else 'subtitle'} stream #{self.stream_id} ({self.codec})"


def _streams_to_add(info: VideoInfo, ext: str, audio: bool, subtitles: bool) -> list[_Stream]:
    """The source's streams `copy_streams` adds to a video of extension `ext`."""
    streams = []
    allowed = video_formats.COPYABLE_AUDIO.get(ext, ())
    if audio and info.audio_codecs and allowed != ():
        # One re-encoding for all when any codec does not fit (as before: the tracks stay alike).
        encoder = None if allowed is None or all(c in allowed for c in info.audio_codecs) else (
            video_formats.AUDIO_ENCODER[ext]
        )  # fmt: skip
        ids = info.audio_ids or [f"a:{i}" for i in range(len(info.audio_codecs))]
        streams += [_Stream("audio", i, ids[i], c, encoder) for i, c in enumerate(info.audio_codecs)]
    if subtitles and info.subtitle_codecs and ext in video_formats.SUBTITLE_CONTAINERS:
        ids = info.subtitle_ids or [f"s:{i}" for i in range(len(info.subtitle_codecs))]
        streams += [_Stream("subtitles", i, ids[i], c) for i, c in enumerate(info.subtitle_codecs)]
    return streams


def _describe(streams: list[_Stream]) -> list[str]:
    """What adding `streams` did, e.g. ['audio copied (aac)', 'subtitles copied (subrip)']."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    for s in streams:
        groups.setdefault((s.kind, s.encoder), []).append(s.codec)
    return [
        f"{kind} copied ({', '.join(codecs)})" if encoder is None
        else f"{kind} re-encoded ({', '.join(codecs)} -> {encoder})"
        for (kind, encoder), codecs in groups.items()
    ]  # fmt: skip


def _mux(video: str, source: str, streams: list[_Stream], ext: str, output: str) -> str | None:
    """Writes `video`'s video stream and `streams` of `source` into `output`;
    None on success, else ffmpeg's last line."""
    command = [ensure_ffmpeg(), "-v", "error", "-nostdin", "-y", "-i", video, "-i", source, "-map", "0:v"]
    codecs = ["-c", "copy"]
    audio_out = 0
    for s in streams:
        command += ["-map", f"1:{s.kind[0]}:{s.index}"]
        if s.kind == "audio":
            if s.encoder is not None:
                codecs += [f"-c:a:{audio_out}", s.encoder]
            audio_out += 1
    command += codecs
    if ext in (".mp4", ".mov"):
        command += ["-movflags", "+faststart"]
    result = subprocess.run([*command, output], capture_output=True)
    return None if result.returncode == 0 else _last_line(result.stderr)


def copy_streams(
    video: str,
    source: str,
    output: str,
    audio: bool = True,
    subtitles: bool = True,
    strict: bool = False,
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """Writes `output` (atomically): `video`'s video stream with `source`'s
    audio (and subtitle) streams, all copied as they are (no re-encoding).

    Audio the output's container cannot hold as it is (e.g. AAC in .webm) is
    re-encoded to the container's codec (`video_formats.AUDIO_ENCODER`);
    subtitles are copied only into containers that take them as they are
    (`video_formats.SUBTITLE_CONTAINERS`); gif gets neither.

    A stream ffmpeg cannot put into the output (a damaged stream, a codec the
    container refuses) is found by trying the streams one at a time; the
    output is written without it and `warn` gets one line naming it
    ('warning: ...'), or, with `strict`, nothing is written (`video` stays)
    and a `StreamCopyError` names it.

    Returns:
      What was done, e.g. ['audio copied (aac)'] or ['audio re-encoded (pcm_s16le -> libopus)'],
      plus 'audio stream #0:1 (none) dropped' for each stream left out;
      [] when there was nothing to add (then `video` itself is moved onto `output`).
    """
    ext = os.path.splitext(output)[1].lower()
    streams = _streams_to_add(probe_video(source), ext, audio, subtitles)
    with atomic_path(output) as tmp:
        if not streams:
            os.replace(video, tmp)
            return []
        if (error := _mux(video, source, streams, ext, tmp)) is None:
            return _describe(streams)
        refused = {}
        for i, s in enumerate(streams):
            if (why := _mux(video, source, [s], ext, tmp)) is None:
                continue
            # A codec the container refuses as it is (e.g. adpcm_ima_qt in .mkv) may go in re-encoded.
            encoded = dataclasses.replace(s, encoder=video_formats.AUDIO_ENCODER.get(ext))
            if s.kind == "audio" and s.encoder is None and encoded.encoder is not None:
                if _mux(video, source, [encoded], ext, tmp) is None:
                    streams[i] = encoded
                    continue
            refused[s.name] = why
        kept = [s for s in streams if s.name not in refused]
        if kept and _mux(video, source, kept, ext, tmp) is not None:
            kept = []  # Each goes in alone but not together: keep the video.
        elif not refused:
            return _describe(kept)
        dropped = [s for s in streams if s not in kept]
        reasons = {refused.get(s.name, error) for s in dropped}
        names = ", ".join(s.name for s in dropped)
        line = f"ffmpeg cannot put the {names} of '{source}' into '{output}' ({'; '.join(sorted(reasons))})"
        if strict:
            raise StreamCopyError(f"{line}.", [s.name for s in dropped])
        if not kept:
            os.replace(video, tmp)
        if warn is not None:
            warn(f"warning: {line}; written without {'it' if len(dropped) == 1 else 'them'}.")
        return _describe(kept) + [f"{s.name} dropped" for s in dropped]
