"""ONNX export (issue 17), checked in onnxruntime in a process without film_tf.

Each model (the official tiny and small reference models, the bundled one)
is exported once per module; a client started with `python -c` (no film_tf
on its path, asserted) pads the frames itself as the export's metadata says
(centred reflection to `film_tf.alignment`), runs onnxruntime and crops.
Its outputs must equal the Keras model's to 1e-4.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")

from film_tf import Interpolator, model_io, padding  # noqa: E402
from film_tf import export as film_export  # noqa: E402
from film_tf.serving import onnx_export  # noqa: E402
from tests.conftest import example_frames, reference_dir, reference_options  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("film_official_tiny", "film_official_small", "bundled")
ODD = (37, 53)  # Odd, not a multiple of any alignment.

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
    time = np.full((len(x0), 1), 0.5, np.float32)
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
    bundled model) and an odd-sized pair of real frames, as 'aligned/x0' ..."""
    f0, f1 = example_frames()
    if name == "bundled":
        x0, x1 = f0[None, 100:164, 200:296], f1[None, 100:164, 200:296]
    else:
        golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
        x0, x1 = golden["x0"].astype(np.float32), golden["x1"].astype(np.float32)
    assert x0.shape[1] % alignment == 0 and x0.shape[2] % alignment == 0
    h, w = ODD
    odd0, odd1 = f0[None, 150 : 150 + h, 300 : 300 + w], f1[None, 150 : 150 + h, 300 : 300 + w]
    return {"aligned/x0": x0, "aligned/x1": x1, "odd/x0": odd0, "odd/x1": odd1}


def keras_outputs(model, pairs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The Keras model on each pair after film_tf.padding's padding, cropped."""
    alignment = model.film_options.alignment
    results = {}
    for name in ("aligned", "odd"):
        p0, box = padding.pad_to_alignment(pairs[f"{name}/x0"], alignment)
        p1, _ = padding.pad_to_alignment(pairs[f"{name}/x1"], alignment)
        time = np.full((len(p0), 1), 0.5, np.float32)
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


class _Exports(dict):
    """{model name: (onnx path, Keras model)}, each exported on first use;
    the tiny model through film-export's `run` (the binary's code path)."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def __missing__(self, name: str):
        model = load_keras(name)
        path = str(self.folder / f"{name}.onnx")
        if name == "film_official_tiny":
            film_export.run(
                official_checkpoint=reference_dir(name),
                options=reference_options(name),
                format="onnx",
                output=path,
            )
        else:
            onnx_export.export_onnx(model, path, extra_metadata={"source": name})
        self[name] = (path, model)
        return self[name]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return _Exports(tmp_path_factory.mktemp("onnx"))


@pytest.mark.parametrize("name", MODELS)
def test_onnxruntime_without_film_tf_equals_keras(exports, name, tmp_path):
    path, model = exports[name]
    alignment = model.film_options.alignment
    pairs = sample_pairs(name, alignment)
    outputs, report = run_client("onnx", path, pairs, tmp_path)
    assert report["alignment"] == alignment
    expected = keras_outputs(model, pairs)
    for pair in ("aligned", "odd"):
        assert outputs[pair].shape == pairs[f"{pair}/x0"].shape
        np.testing.assert_allclose(outputs[pair], expected[pair], rtol=0, atol=1e-4, err_msg=pair)
        # The middle frame is not just one of the inputs.
        assert np.abs(expected[pair] - pairs[f"{pair}/x0"]).max() > 1e-2


def test_dynamic_shapes_and_metadata(exports):
    import onnx

    path, model = exports["film_official_tiny"]
    proto = onnx.load(path)
    for tensor in [*proto.graph.input, *proto.graph.output]:
        dims = tensor.type.tensor_type.shape.dim
        assert [d.dim_value for d in dims][-1] in (1, 3)  # channels / time's 1 are fixed
        assert all(not d.dim_value for d in dims[:-1]), tensor.name  # B, H, W dynamic
    assert sorted(i.name for i in proto.graph.input) == ["time", "x0", "x1"]
    assert [o.name for o in proto.graph.output] == ["image"]
    # Standard ONNX operators only (tf2onnx also declares ai.onnx.ml, unused).
    assert {node.domain for node in proto.graph.node} <= {"", "ai.onnx"}
    assert [op.version for op in proto.opset_import if op.domain in ("", "ai.onnx")] == [17]
    meta = onnx_export.read_metadata(path)
    assert meta["alignment"] == "16"
    assert "multiples of 16" in meta["padding"] and "reflection" in meta["padding"]
    info = json.loads(meta["metadata"])
    assert info["options"] == reference_options("film_official_tiny", use_aux_outputs=False).to_dict()
    assert info["source"] == "official_checkpoint" and info["input_size"] == "dynamic"
    assert model_io.describe(path) == "onnx"
    assert model_io.options_for(path) == model.film_options


def test_interpolator_runs_the_onnx_file_like_keras(exports):
    path, _ = exports["bundled"]
    f0, f1 = example_frames()
    x0, x1 = f0[40:141, 100:277], f1[40:141, 100:277]  # 101x177: padded, not tiled
    onnx_interpolator = Interpolator(path)
    keras_interpolator = Interpolator(None, jit_compile=False)
    assert onnx_interpolator.alignment == keras_interpolator.alignment == 16
    expected = keras_interpolator(x0, x1)
    np.testing.assert_allclose(onnx_interpolator(x0, x1), expected, rtol=0, atol=1e-4)
    # Tiling is the Interpolator's own and unchanged: forced 64-px tiles.
    tiled_onnx = Interpolator(path, tile_size=64, overlap=16)(x0, x1)
    tiled_keras = Interpolator(None, tile_size=64, overlap=16, jit_compile=False)(x0, x1)
    np.testing.assert_allclose(tiled_onnx, tiled_keras, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="runs as it was exported"):
        Interpolator(path, precision="bfloat16")
    with pytest.raises(ValueError, match="onnxruntime"):
        model_io.load_model(path)


def test_missing_onnxruntime_is_one_line(exports, monkeypatch):
    path, _ = exports["film_official_tiny"]
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError.
    with pytest.raises(ValueError, match=r"needs onnxruntime: pip install"):
        Interpolator(path)


def test_bad_requests_write_nothing(tmp_path, exports):
    tiny, _ = exports["film_official_tiny"]
    source = {"official_checkpoint": reference_dir("film_official_tiny")}
    existing = tmp_path / "taken.onnx"
    existing.write_bytes(b"mine")
    cases = [
        (dict(output=str(existing)), FileExistsError, "overwrite"),
        (dict(output=str(tmp_path / "a.onnx"), height=40, width=64), ValueError, "multiple of .*16"),
        (dict(output=str(tmp_path / "a.onnx"), height=64), ValueError, "both --height and --width"),
        (dict(output=str(tmp_path / "a.onnx"), precision="int8"), ValueError, "float32, not 'int8'"),
        (dict(output=str(tmp_path / "a.tflite")), ValueError, r"must end in \.onnx"),
        (dict(export_dir=str(tmp_path / "a")), ValueError, "takes --output"),
        (dict(), ValueError, "Pass --output"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            film_export.run(
                **source, options=reference_options("film_official_tiny"), format="onnx", **kwargs
            )
    with pytest.raises(ValueError, match="not an .onnx file"):
        film_export.run(model_path=tiny, format="onnx", output=str(tmp_path / "a.onnx"))
    assert sorted(os.listdir(tmp_path)) == ["taken.onnx"]
    assert existing.read_bytes() == b"mine"


def test_film_export_binary_one_line_errors(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "film_tf.export",
            "--bundled",
            "--format",
            "onnx",
            "--height",
            "64",
            "--output",
            str(tmp_path / "a.onnx"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": REPO},
        timeout=300,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")] == [
        "error: Pass both --height and --width, or neither."
    ]
    assert os.listdir(tmp_path) == []
