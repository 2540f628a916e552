"""The bundled default model: files, loading, and quality on held-out footage."""

import json
import os

import numpy as np
import pytest

from film_tf.formats import model_io
from tests.conftest import example_frames, reference_options, video_frames


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - b) ** 2)))


def test_bundled_files():
    assert os.path.getsize(model_io.BUNDLED_WEIGHTS_FILE) <= 25 * 2**20
    with open(model_io.BUNDLED_OPTIONS_FILE) as f:
        stored = json.load(f)
    options = model_io.options_for(None)
    assert options.to_dict() == stored
    assert options.alignment == 16
    x0, x1 = example_frames()
    assert x0.shape == x1.shape == (360, 640, 3)
    # The pair is there to show motion: the frames must differ visibly.
    assert np.abs(x0 - x1).mean() > 0.02
    with open(os.path.join(model_io.EXAMPLES_DIR, "ATTRIBUTION.txt")) as f:
        assert "Blender Foundation" in f.read()


@pytest.fixture(scope="module")
def model():
    return model_io.load_model()


def _middle(model, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """The model's t = 0.5 frame of an (H, W, 3) pair, padded and cropped as users get it."""
    from film_tf.runtime.inference import Interpolator

    return Interpolator.from_model(model)(x0, x1)


def test_example_pair(model):
    x0, x1 = example_frames()
    mid = _middle(model, x0, x1)
    assert mid.shape == x0.shape and np.isfinite(mid).all()
    # The middle frame is a new image between the inputs, not a copy of either.
    d0, d1 = np.abs(mid - x0).mean(), np.abs(mid - x1).mean()
    assert 0.2 < d0 / d1 < 5
    assert min(d0, d1) > 0.01


@pytest.mark.xfail(
    strict=True,
    reason="the CPU-trained bundled model scores 33.5 dB here vs 33.9 dB for frame "
    "averaging; strict, so this fails loudly once a better model makes it pass",
)
def test_beats_frame_averaging_on_held_out_carphone(model):
    # carphone_pristine.mp4 is never trained on; frames 40, 42, 44 move visibly.
    frames = video_frames("carphone_pristine.mp4", start=40, count=3, step=2).astype(np.float32) / 255.0
    x0, y, x1 = frames
    model_psnr = _psnr(_middle(model, x0, x1), y)
    average_psnr = _psnr(0.5 * (x0 + x1), y)
    assert model_psnr > average_psnr + 0.5, (model_psnr, average_psnr)


def test_motion_stats_measures_a_known_shift():
    import cv2

    from benchmarks.motion_stats import pair_motion, summary

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.random((96, 128, 3)).astype(np.float32), (0, 0), 2)
    x0, x1 = texture[:, 8:120], texture[:, 5:117]  # content moves 3 px right
    median, p90, _ = summary([pair_motion(x0, x1)])
    assert 2.5 < median < 3.5 and p90 < 4.5
    assert summary([pair_motion(x0, x0)])[1] < 0.2


def test_deeper_pyramid_has_the_same_weights(tmp_path):
    from film_tf import create_model

    # From specialized_levels on every level shares the extractor and the flow
    # estimator, so a model trained with 5 levels runs (and fine-tunes) with 6.
    shallow = create_model(reference_options("film_official_tiny"))
    deep = create_model(reference_options("film_official_tiny", pyramid_levels=6))
    assert [tuple(v.shape) for v in shallow.weights] == [tuple(v.shape) for v in deep.weights]
    path = str(tmp_path / "m.weights.h5")
    shallow.save_weights(path)
    deep.load_weights(path)
    for a, b in zip(shallow.weights, deep.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
