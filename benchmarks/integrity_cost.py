"""What checking a model's files costs (`film_tf.formats.integrity`), at the
released model's size (34.4 M float32 parameters, 138 MB).

    python -m benchmarks.integrity_cost      # about a minute; writes ~420 MB to a temp folder

Writes random weights of the released configuration as an official-layout
checkpoint (`variables/<N>`), a `.weights.h5` and a `.keras` file, then times
`check_model_files` with and without checksums (the page cache warm: each file
was just written; 5 runs, median and range), and one `load_model` of the
checkpoint for scale.
"""

from __future__ import annotations

import functools
import os
import platform
import statistics
import tempfile
import time


def _time(function, runs: int = 5) -> str:
    from film_tf.formats import integrity

    times = []
    for _ in range(runs):
        integrity._verified.clear()  # Each run checks afresh.
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return f"{statistics.median(times):.3f} s (range {min(times):.3f} - {max(times):.3f}, {runs} runs)"


def main() -> None:
    import numpy as np
    import tensorflow as tf

    from film_tf import create_model
    from film_tf.formats import integrity, model_io
    from film_tf.formats.official_weights import official_variable_specs
    from film_tf.model.options import Options

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        specs = official_variable_specs(Options())
        variables = [tf.Variable(rng.standard_normal(shape, dtype=np.float32)) for _, shape in specs]
        official = os.path.join(tmp, "saved_model")
        tf.train.Checkpoint(variables=variables).write(os.path.join(official, "variables", "variables"))
        model = create_model(Options())
        weights, keras_file = os.path.join(tmp, "film.weights.h5"), os.path.join(tmp, "film.keras")
        model_io.save_weights_with_options(model, weights)
        model.save(keras_file)
        integrity.check_model_files(official, "official_variables")  # TensorFlow's reader, once.
        print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
        for kind, path in (
            ("official_variables", official),
            ("keras_weights", weights),
            ("keras_file", keras_file),
        ):
            size = sum(
                os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names
            ) if os.path.isdir(path) else os.path.getsize(path)  # fmt: skip
            print(f"{kind} ({size / 1e6:.1f} MB)")
            for checksums in (False, True):
                check = functools.partial(integrity.check_model_files, path, kind, checksums=checksums)
                print(f"  {'sizes + checksums' if checksums else 'sizes only':18}  {_time(check)}")
        start = time.perf_counter()
        model_io.load_model(official)
        print(f"load_model of the checkpoint (its check already cached): {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
