"""The model on the JAX backend reproduces the official outputs too."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e '.[jax]')"
)


@pytest.mark.parametrize("name", ["film_official_tiny"])
def test_official_parity_on_jax(name):
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "backend_parity.py"), name],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert errors.pop("backend") == "jax"
    assert errors["image"] <= 1e-5, errors
    assert len(errors) == 1 + 2 + 4 + 4 + 5 + 5  # image, warped, 4 flow + 5 residual levels each
    for key, value in errors.items():
        assert value <= 1e-4, (key, value)
