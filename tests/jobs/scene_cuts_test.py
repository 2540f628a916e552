"""film_tf.jobs.scene_cuts: the measure (the dataset builder's numbers) and the threshold on real clips."""

import numpy as np
import pytest

from film_tf.jobs import scene_cuts
from tests.conftest import video_frames


def builder_difference(a: np.ndarray, b: np.ndarray) -> float:
    """The measure the dataset builder used before it moved here (uint8 levels)."""
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)))) / 255.0


def test_same_numbers_as_the_dataset_builder():
    a, b = video_frames("bikes.mp4", 28, 2, 2)  # frames 28 and 30: across the first cut
    assert scene_cuts.mean_abs_difference(a, b) == builder_difference(a, b)
    # Decoded frames as floats in [0, 1] give the same number.
    assert scene_cuts.mean_abs_difference(a / 255.0, b.astype(np.float32) / 255) == builder_difference(a, b)
    expected = np.mean(np.abs(a.astype(float) - b)) / 255
    assert scene_cuts.mean_abs_difference(a, b) == pytest.approx(expected, rel=1e-12)
    rgba = np.dstack([a / 255.0, np.zeros(a.shape[:2])])
    assert scene_cuts.mean_abs_difference(rgba, b / 255.0) == builder_difference(a, b)  # alpha ignored


@pytest.mark.parametrize(
    "name, cuts",
    [("bikes.mp4", [29, 75, 136, 186, 241]), ("bigbuckbunny.mp4", []), ("carphone_pristine.mp4", [])],
)
def test_threshold_finds_exactly_the_hard_cuts(name, cuts):
    """The numbers in the module docstring: bikes' five hard cuts (steps 0.207 .. 0.332)
    and nothing else (largest in-shot step 0.083 in bikes, 0.035 and 0.031 elsewhere)."""
    frames = video_frames(name, 0, 10_000)
    assert scene_cuts.find_cuts(frames) == cuts
    steps = np.array([builder_difference(a, b) for a, b in zip(frames[:-1], frames[1:])])
    inside = np.delete(steps, cuts)
    assert inside.max() < scene_cuts.DEFAULT_THRESHOLD / 1.7
    if cuts:
        assert steps[cuts].min() > scene_cuts.DEFAULT_THRESHOLD * 1.35
    assert scene_cuts.find_cuts(frames, threshold=0) == []  # 0 disables
    assert scene_cuts.cut_detector(0) is None


def test_is_cut():
    black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
    assert scene_cuts.is_cut(black, white) and not scene_cuts.is_cut(black, black)
    grey = np.full((4, 4, 3), 38, np.uint8)  # 38 / 255 = 0.149
    assert not scene_cuts.is_cut(black, grey) and scene_cuts.is_cut(black, grey, 0.1)
    assert scene_cuts.cut_detector(0.1)(black, grey)
