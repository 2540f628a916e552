"""What TF Serving's warm-up file saves the first client (issue 34).

  python -m benchmarks.serving_warmup [--model_path MODEL] [--size 256] [--export_dir DIR]

Exports the model (default: the bundled one) with film-export's code, then in
two fresh processes loads it through TensorFlow's session-based SavedModel
loader (the one TF Serving uses) and times serving_default on a --size
square pair: cold (the first request pays the graph set-up), and after
replaying the export's warm-up requests (64x64) first, as the model server
does on load. Prints a markdown table. Not TF Serving itself: it is not
installable here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_CHILD = r"""
import json, sys, time
import numpy as np, tensorflow as tf
from film_tf.serving import warmup
path, size, replay = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
requests = warmup.read_warmup_requests(path)  # tf.data: before eager execution is switched off.
tf.compat.v1.disable_eager_execution()
with tf.compat.v1.Session(graph=tf.Graph()) as sess:
    meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
    def run(name, inputs):
        sig = meta.signature_def[name]
        start = time.perf_counter()
        sess.run([o.name for o in sig.outputs.values()], {sig.inputs[k].name: v for k, v in inputs.items()})
        return time.perf_counter() - start
    result = {"warmup_s": sum(run(n, i) for n, i in requests) if replay else 0.0}
    rng = np.random.default_rng(0)
    pair = {"x0": rng.random((1, size, size, 3), np.float32), "x1": rng.random((1, size, size, 3), np.float32),
            "time": np.full((1, 1), 0.5, np.float32)}
    result["first_s"], result["second_s"] = run("serving_default", pair), run("serving_default", pair)
print(json.dumps(result))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model_path", default=None)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--export_dir", default=None)
    args = parser.parse_args()
    import film_tf

    export_dir = args.export_dir or os.path.join(tempfile.mkdtemp(), "1")
    start = time.perf_counter()
    film_tf.export_saved_model(film_tf.load_model(args.model_path), export_dir, overwrite=True)
    print(f"export: {time.perf_counter() - start:.1f} s ({export_dir})", file=sys.stderr)
    print(f"| loaded, then | warm-up replay (s) | first {args.size}x{args.size} request (s) | second (s) |")
    print("|---|---:|---:|---:|")
    for replay in ("0", "1"):
        output = subprocess.run(
            [sys.executable, "-c", _CHILD, export_dir, str(args.size), replay],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        ).stdout
        r = json.loads(output.strip().splitlines()[-1])
        label = "the warm-up requests replayed" if replay == "1" else "nothing (cold)"
        print(f"| {label} | {r['warmup_s']:.2f} | {r['first_s']:.2f} | {r['second_s']:.2f} |")


if __name__ == "__main__":
    main()
