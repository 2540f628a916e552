"""Runs the official tiny/small parity under the Keras backend set in KERAS_BACKEND.

Used by jax_backend_test.py in a subprocess (the backend is fixed at import).
Prints one JSON line: the max abs error of every output.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402

from film_tf import create_model, load_official_weights  # noqa: E402
from tests.conftest import reference_dir, reference_options  # noqa: E402


def main(name: str) -> None:
    model = create_model(reference_options(name))
    load_official_weights(model, reference_dir(name))
    golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
    outputs = model({k: golden[k] for k in ("x0", "x1", "time")})
    errors = {"backend": keras.backend.backend()}
    for key, value in outputs.items():
        if isinstance(value, list):
            for i, level in enumerate(value):
                errors[f"{key}_{i}"] = float(
                    np.abs(keras.ops.convert_to_numpy(level) - golden[f"{key}_{i}"]).max()
                )
        else:
            errors[key] = float(np.abs(keras.ops.convert_to_numpy(value) - golden[key]).max())
    print(json.dumps(errors))


if __name__ == "__main__":
    main(sys.argv[1])
