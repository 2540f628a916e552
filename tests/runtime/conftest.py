"""Fixtures shared by the runtime tests: the official tiny reference model."""

from __future__ import annotations

import os

import numpy as np
import pytest

from film_tf.runtime.inference import Interpolator
from tests.conftest import reference_dir, reference_options


@pytest.fixture(scope="module")
def options():
    return reference_options("film_official_tiny")


@pytest.fixture(scope="module")
def golden():
    """The official code's inputs and outputs for the tiny model (`golden.npz`)."""
    return np.load(os.path.join(reference_dir("film_official_tiny"), "golden.npz"))


@pytest.fixture(scope="module")
def interpolator(options):
    return Interpolator(reference_dir("film_official_tiny"), options=options)
