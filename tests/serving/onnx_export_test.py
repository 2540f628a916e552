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

from film_tf import Interpolator  # noqa: E402
from film_tf import export as film_export  # noqa: E402
from film_tf.formats import model_io, onnx_file  # noqa: E402
from film_tf.serving import export_run, onnx_export  # noqa: E402
from tests.conftest import example_frames, reference_dir, reference_options, video_frames  # noqa: E402
from tests.export_cache import (  # noqa: E402
    MODELS,
    PAIRS,
    REPO,
    ExportCache,
    keras_outputs,
    load_keras,
    run_client,
    sample_pairs,
)


def _export(name: str, model, path: str) -> None:
    """The tiny model through film-export's `run` (the binary's code path)."""
    if name == "film_official_tiny":
        film_export.run(
            official_checkpoint=reference_dir(name),
            options=reference_options(name),
            format="onnx",
            output=path,
        )
    else:
        onnx_export.export_onnx(model, path, extra_metadata={"source": name})


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return ExportCache(tmp_path_factory.mktemp("onnx"), ".onnx", _export)


@pytest.mark.parametrize("name", MODELS)
def test_onnxruntime_without_film_tf_equals_keras(exports, name, tmp_path):
    path, model = exports[name]
    alignment = model.film_options.alignment
    pairs = sample_pairs(name, alignment)
    outputs, report = run_client("onnx", path, pairs, tmp_path)
    assert report["alignment"] == alignment
    expected = keras_outputs(model, pairs)
    for pair in PAIRS:
        assert outputs[pair].shape == pairs[f"{pair}/x0"].shape
        np.testing.assert_allclose(outputs[pair], expected[pair], rtol=0, atol=1e-4, err_msg=pair)
        # The middle frame is not just one of the inputs.
        assert np.abs(expected[pair] - pairs[f"{pair}/x0"]).max() > 1e-2
    # The time input is honoured: t = 0.3 is not the midpoint, by far more than the tolerance.
    assert np.abs(outputs["odd_t03"] - outputs["odd"]).max() > 1e-2


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
    meta = onnx_file.read_metadata(path)
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
    # The file's time input, through the Interpolator: t = 0.3 as Keras, not the midpoint.
    at_03 = onnx_interpolator(x0, x1, time=0.3)
    np.testing.assert_allclose(at_03, keras_interpolator(x0, x1, time=0.3), rtol=0, atol=1e-4)
    assert np.abs(at_03 - expected).max() > 1e-2
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
        (dict(output=str(tmp_path / "a.onnx"), precision="bfloat16"), ValueError, "int8, not 'bfloat16'"),
        (dict(output=str(tmp_path / "a.onnx"), precision="int8"), ValueError, "needs --calibration_video"),
        (
            dict(output=str(tmp_path / "a.onnx"), calibration_video=str(tmp_path / "taken.onnx")),
            ValueError,
            "is for --format onnx --precision int8 only",
        ),
        (
            dict(
                output=str(tmp_path / "a.onnx"), precision="int8", calibration_video=str(tmp_path / "no.mp4")
            ),
            FileNotFoundError,
            "is not a file",
        ),
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


def _golden_error(path: str, name: str = "film_official_tiny") -> tuple[float, float]:
    """(max, mean) |onnxruntime - Keras| of an export of `name` on its golden pair."""
    import onnxruntime

    golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
    x0, x1 = golden["x0"].astype(np.float32), golden["x1"].astype(np.float32)
    time = np.full((len(x0), 1), 0.5, np.float32)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    image = session.run(["image"], {"x0": x0, "x1": x1, "time": time})[0]
    expected = np.asarray(load_keras(name)({"x0": x0, "x1": x1, "time": time})["image"])
    return float(np.abs(image - expected).max()), float(np.abs(image - expected).mean())


def test_float16_converts_every_convolution_and_stays_close(exports, tmp_path):
    import onnx

    float32_path, model = exports["film_official_tiny"]
    path = onnx_export.export_onnx(model, str(tmp_path / "tiny16.onnx"), precision="float16")
    proto = onnx.load(path)
    initializers = {t.name: t for t in proto.graph.initializer}
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    assert len(convs) == len([n for n in onnx.load(float32_path).graph.node if n.op_type == "Conv"]) > 10
    for node in convs:
        assert all(initializers[i].data_type == onnx.TensorProto.FLOAT16 for i in node.input[1:])
    # The interface stays float32.
    for tensor in [*proto.graph.input, *proto.graph.output]:
        assert tensor.type.tensor_type.elem_type == onnx.TensorProto.FLOAT, tensor.name
    assert json.loads(onnx_file.read_metadata(path)["metadata"])["precision"] == "float16"
    worst, mean = _golden_error(path)
    assert 0 < worst < 1e-2 and mean < 1e-3, (worst, mean)  # Rounded, but close.


def test_calibration_pairs_are_aligned_windows_of_the_video():
    frames = video_frames("bigbuckbunny.mp4", 0, 40)  # (40, 720, 1280, 3)
    pairs = onnx_export.calibration_pairs(frames, 64, count=4, size=200)
    assert len(pairs) == 4
    x0, x1 = pairs[0]
    assert x0.shape == x1.shape == (192, 192, 3) and x0.dtype == np.float32
    # Frames 0 and 2, centred window; the last pair ends at the last frame.
    np.testing.assert_array_equal(x0, frames[0, 264:456, 544:736] / np.float32(255))
    np.testing.assert_array_equal(pairs[1][1], frames[14, 264:456, 544:736] / np.float32(255))
    np.testing.assert_array_equal(pairs[-1][1], frames[39, 264:456, 544:736] / np.float32(255))
    with pytest.raises(ValueError, match="more than 2 frames"):
        onnx_export.calibration_pairs(frames[:2], 64)


def test_int8_through_the_binary_quantizes_the_convolutions(exports, tmp_path):
    """film-export --precision int8 --calibration_video (a training clip):
    QDQ int8 convolutions, run by onnxruntime close to the float model."""
    import onnx

    from benchmarks.clips import sample_clip

    float32_path, _ = exports["film_official_tiny"]
    name = "film_official_tiny"
    path = str(tmp_path / "tiny8.onnx")
    film_export.run(
        official_checkpoint=reference_dir(name),
        options=reference_options(name),
        format="onnx",
        precision="int8",
        calibration_video=sample_clip("bigbuckbunny.mp4"),
        output=path,
    )
    proto = onnx.load(path)
    ops = [n.op_type for n in proto.graph.node]
    convs = ops.count("Conv")
    assert convs > 10
    producer = {output: node.op_type for node in proto.graph.node for output in node.output}
    kept = [
        n.name
        for n in proto.graph.node
        if n.op_type == "Conv" and producer.get(n.input[1]) != "DequantizeLinear"
    ]
    # The fusion's concatenation readers and the image's convolution stay float32.
    assert kept == onnx_export.float_convolutions(onnx.load(float32_path))
    assert 2 <= len(kept) < convs / 4 and all("fusion" in name for name in kept), kept
    # Every other convolution's weights are int8 initializers, dequantized.
    nodes = {output: node for node in proto.graph.node for output in node.output}
    types = {t.name: t.data_type for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Conv" and node.name not in kept:
            assert types[nodes[node.input[1]].input[0]] == onnx.TensorProto.INT8, node.name
    info = json.loads(onnx_file.read_metadata(path)["metadata"])
    assert info["precision"] == "int8" and info["calibration"] == "bigbuckbunny.mp4: 8 pairs"
    worst, mean = _golden_error(path)
    assert 1e-4 < mean < 3e-2, (worst, mean)  # Quantized: a small, nonzero change.


def test_int8_export_needs_calibration(exports, tmp_path):
    _, model = exports["film_official_tiny"]
    with pytest.raises(ValueError, match="needs calibration pairs"):
        onnx_export.export_onnx(model, str(tmp_path / "a.onnx"), precision="int8")
    with pytest.raises(ValueError, match="not 'bfloat16'"):
        export_run.export_file(model, "onnx", str(tmp_path / "a.onnx"), precision="bfloat16")
    assert os.listdir(tmp_path) == []
