"""What the ONNX and LiteRT export tests share (issue 17): the test models,
their sample pairs and Keras outputs, the film_tf-free client that runs an
export in onnxruntime / the LiteRT interpreter, and `ExportCache`, each
model exported once per test module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Callable

import numpy as np

from film_tf.formats import model_io
from film_tf.runtime import padding
from tests.conftest import example_frames, reference_dir, reference_options

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("film_official_tiny", "film_official_small", "bundled")
ODD = (37, 53)  # Odd, not a multiple of any alignment.
# The sample pairs: the two at t = 0.5, and the odd one again at t = 0.3 (the
# exports' `time` input is honoured, issue 33).
PAIRS = ("aligned", "odd", "odd_t03")
TIMES = {"odd_t03": 0.3}

# The client: film_tf-free; pads by the metadata (or --alignment), runs, crops.
CLIENT = r"""
import json, sys
import numpy as np
runtime, model_path, inputs_path, outputs_path, alignment = sys.argv[1:6]
pairs = np.load(inputs_path)
if runtime == "onnx":
    import onnxruntime
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    alignment = int(meta["film_tf.alignment"])
    assert json.loads(meta["film_tf.metadata"])["alignment"] == alignment
    def run(x0, x1, time):
        return session.run(["image"], {"x0": x0, "x1": x1, "time": time})[0]
else:
    from ai_edge_litert.interpreter import Interpreter
    runner = Interpreter(model_path=model_path).get_signature_runner("serving_default")
    alignment = int(alignment)
    def run(x0, x1, time):
        return runner(x0=x0, x1=x1, time=time)["image"]
def pad(x):
    h, w = x.shape[1:3]
    ph, pw = -h % alignment, -w % alignment
    top, left = ph // 2, pw // 2
    padded = np.pad(x, ((0, 0), (top, ph - top), (left, pw - left), (0, 0)), mode="reflect")
    return padded, (slice(top, top + h), slice(left, left + w))
results = {}
for name in sorted({k.rsplit("/", 1)[0] for k in pairs.files}):
    x0, x1 = pairs[name + "/x0"], pairs[name + "/x1"]
    (p0, (rows, cols)), (p1, _) = pad(x0), pad(x1)
    time = pairs[name + "/time"] if name + "/time" in pairs.files else np.full((len(x0), 1), 0.5, np.float32)
    results[name] = run(p0, p1, time)[:, rows, cols]
np.savez(outputs_path, **results)
assert not any(m == "film_tf" or m.startswith("film_tf.") for m in sys.modules), "film_tf was imported"
print(json.dumps({"alignment": alignment}))
"""


def model_source(name: str) -> tuple[str | None, object]:
    """(path for model_io, options) of a test model; None is the bundled one."""
    if name == "bundled":
        return None, None
    return reference_dir(name), reference_options(name, use_aux_outputs=False)


def load_keras(name: str):
    path, options = model_source(name)
    return model_io.load_model(path, options=options, use_aux_outputs=False)


def sample_pairs(name: str, alignment: int) -> dict[str, np.ndarray]:
    """An aligned pair (the official golden inputs; bundled frames for the
    bundled model) and an odd-sized pair of real frames, as 'aligned/x0' ...,
    and the odd pair at t = 0.3 ('odd_t03/x0', 'odd_t03/x1', 'odd_t03/time')."""
    f0, f1 = example_frames()
    if name == "bundled":
        x0, x1 = f0[None, 100:164, 200:296], f1[None, 100:164, 200:296]
    else:
        golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
        x0, x1 = golden["x0"].astype(np.float32), golden["x1"].astype(np.float32)
    assert x0.shape[1] % alignment == 0 and x0.shape[2] % alignment == 0
    h, w = ODD
    odd0, odd1 = f0[None, 150 : 150 + h, 300 : 300 + w], f1[None, 150 : 150 + h, 300 : 300 + w]
    time = np.full((1, 1), TIMES["odd_t03"], np.float32)
    return {
        **{"aligned/x0": x0, "aligned/x1": x1, "odd/x0": odd0, "odd/x1": odd1},
        **{"odd_t03/x0": odd0, "odd_t03/x1": odd1, "odd_t03/time": time},
    }


def keras_outputs(model, pairs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The Keras model on each pair (at its time, else 0.5) after
    film_tf.runtime.padding's padding, cropped."""
    alignment = model.film_options.alignment
    results = {}
    for name in sorted({key.rsplit("/", 1)[0] for key in pairs}):
        p0, box = padding.pad_to_alignment(pairs[f"{name}/x0"], alignment)
        p1, _ = padding.pad_to_alignment(pairs[f"{name}/x1"], alignment)
        time = pairs.get(f"{name}/time", np.full((len(p0), 1), 0.5, np.float32))
        image = np.asarray(model({"x0": p0, "x1": p1, "time": time})["image"])
        results[name] = padding.crop(image, box)
    return results


def run_client(runtime: str, model_path: str, pairs: dict, tmp, alignment: int = 0) -> tuple[dict, dict]:
    """Runs CLIENT in a fresh process outside the repository; (outputs, report)."""
    inputs, outputs = str(tmp / "inputs.npz"), str(tmp / "outputs.npz")
    np.savez(inputs, **pairs)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, runtime, model_path, inputs, outputs, str(alignment)],
        cwd=str(tmp),
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(outputs)), json.loads(result.stdout.strip().splitlines()[-1])


class ExportCache(dict):
    """{model name: (exported path, Keras model)}, each model loaded
    (`load_keras`) and exported on first use as `<folder>/<name><extension>`
    by `export(name, model, path)`."""

    def __init__(self, folder, extension: str, export: Callable[[str, object, str], object]):
        super().__init__()
        self.folder, self.extension, self.export = folder, extension, export

    def __missing__(self, name: str):
        model = load_keras(name)
        path = str(self.folder / f"{name}{self.extension}")
        self.export(name, model, path)
        self[name] = (path, model)
        return self[name]
