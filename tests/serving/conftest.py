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
