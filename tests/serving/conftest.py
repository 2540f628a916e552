"""Fixtures of the serving tests: one SavedModel export shared by a test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_saved_model(tmp_path_factory):
    """(path, Keras model): the official tiny reference model (auxiliary
    outputs on, float32) exported once per session as `<tmp>/1`."""
    from film_tf import create_model, load_official_weights, serving
    from tests.conftest import reference_dir, reference_options

    model = create_model(reference_options("film_official_tiny"))
    load_official_weights(model, reference_dir("film_official_tiny"))
    path = serving.export_saved_model(model, str(tmp_path_factory.mktemp("tiny_saved_model") / "1"))
    return path, model


def png_bytes(frame) -> bytes:
    """An (H, W, 3) uint8 frame as PNG bytes (what the bytes signatures take)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def bikes_pairs(height: int, width: int):
    """(u0, u1): two real frame pairs (bikes.mp4 frames 0 and 2, two crops of
    height x width), uint8 (2, height, width, 3) each."""
    import numpy as np

    from tests.conftest import video_frames

    frames = video_frames("bikes.mp4", 0, 3, 1)
    crops = [
        (slice(100, 100 + height), slice(300, 300 + width)),
        (slice(20, 20 + height), slice(500, 500 + width)),
    ]
    return np.stack([frames[0][r, c] for r, c in crops]), np.stack([frames[2][r, c] for r, c in crops])
