"""LiteRT export (issue 17), checked in the ai_edge_litert interpreter in a
process without film_tf (the client of tests/serving/onnx_export_test.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from film_tf import export as film_export  # noqa: E402
from film_tf.serving import litert_export  # noqa: E402
from tests.conftest import reference_dir, reference_options  # noqa: E402
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
    """Dynamic shapes, float32; the small model through film-export."""
    if name == "film_official_small":
        film_export.run(
            official_checkpoint=reference_dir(name),
            options=reference_options(name),
            format="litert",
            output=path,
        )
    else:
        litert_export.export_litert(model, path)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return ExportCache(tmp_path_factory.mktemp("litert"), ".tflite", _export)


@pytest.mark.parametrize("name", MODELS)
def test_litert_interpreter_without_film_tf_equals_keras(exports, name, tmp_path):
    path, model = exports[name]
    alignment = model.film_options.alignment
    assert litert_export.read_metadata(path)["alignment"] == alignment
    pairs = sample_pairs(name, alignment)
    outputs, _ = run_client("litert", path, pairs, tmp_path, alignment)
    expected = keras_outputs(model, pairs)
    for pair in PAIRS:  # Dynamic shapes: the odd pair too, after padding.
        assert outputs[pair].shape == pairs[f"{pair}/x0"].shape
        np.testing.assert_allclose(outputs[pair], expected[pair], rtol=0, atol=1e-4, err_msg=pair)
        assert np.abs(expected[pair] - pairs[f"{pair}/x0"]).max() > 1e-2
    # The time input is honoured: t = 0.3 is not the midpoint, by far more than the tolerance.
    assert np.abs(outputs["odd_t03"] - outputs["odd"]).max() > 1e-2


def test_signature_and_metadata(exports):
    from ai_edge_litert.interpreter import Interpreter

    path, model = exports["film_official_tiny"]
    interpreter = Interpreter(model_path=path)
    signature = interpreter.get_signature_list()["serving_default"]
    assert sorted(signature["inputs"]) == ["time", "x0", "x1"] and signature["outputs"] == ["image"]
    shapes = {d["name"]: list(d["shape_signature"]) for d in interpreter.get_input_details()}
    assert shapes["x0"] == shapes["x1"] == [-1, -1, -1, 3] and shapes["time"] == [-1, 1]
    # Builtin kernels only: no Flex (SELECT_TF_OPS) delegate needed.
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert not any(name.startswith("Flex") for name in ops) and "GATHER" in ops
    meta = litert_export.read_metadata(path)
    assert meta["options"] == model.film_options.to_dict() and meta["precision"] == "float32"
    assert meta["input_size"] == "dynamic" and "multiples of 16" in meta["padding"]["summary"]


def test_fixed_size_and_reduced_precision_through_the_binary(tmp_path):
    """film-export --height/--width --precision float16: a fixed-size model
    whose float16 weights keep it close to the float32 Keras model."""
    from ai_edge_litert.interpreter import Interpreter

    name = "film_official_tiny"
    path = str(tmp_path / "tiny16.tflite")
    command = [sys.executable, "-m", "film_tf.export", "--official_checkpoint", reference_dir(name)]
    command += ["--options_json", os.path.join(reference_dir(name), "config.json"), "--format", "litert"]
    command += ["--height", "64", "--width", "96", "--precision", "float16", "--output", path]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == f"Exported LiteRT model to {path}"
    interpreter = Interpreter(model_path=path)
    shapes = {d["name"]: list(d["shape_signature"]) for d in interpreter.get_input_details()}
    assert shapes["x0"] == [-1, 64, 96, 3]
    assert litert_export.read_metadata(path)["input_size"] == "64x96"
    golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
    x0, x1 = golden["x0"].astype(np.float32), golden["x1"].astype(np.float32)
    time = np.full((len(x0), 1), 0.5, np.float32)
    image = interpreter.get_signature_runner()(x0=x0, x1=x1, time=time)["image"]
    expected = keras_outputs(
        load_keras(name), {"aligned/x0": x0, "aligned/x1": x1, "odd/x0": x0, "odd/x1": x1}
    )
    error = np.abs(image - expected["aligned"]).max()
    assert 0 < error < 2e-2, error  # Rounded weights: not bit-equal, but close.


def test_bad_requests_write_nothing(tmp_path):
    source = {"official_checkpoint": reference_dir("film_official_tiny")}
    options = reference_options("film_official_tiny")
    cases = [
        (dict(output=str(tmp_path / "a.tflite"), height=64, width=100), "multiple of the model's alignment"),
        (dict(output=str(tmp_path / "a.tflite"), precision="bfloat16"), "float32 / float16 / int8"),
        (dict(output=str(tmp_path / "a.onnx")), r"must end in \.tflite"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            film_export.run(**source, options=options, format="litert", **kwargs)
    with pytest.raises(ValueError, match="not 'float16'"):
        film_export.run(**source, options=options, precision="float16", export_dir=str(tmp_path / "sm"))
    assert os.listdir(tmp_path) == []


def test_int8_dynamic_range_is_smaller_and_close(exports, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    name = "film_official_small"  # Enough weights for the quantization to show in the size.
    float32_path, model = exports[name]
    path = litert_export.export_litert(model, str(tmp_path / "small_int8.tflite"), precision="int8")
    assert litert_export.read_metadata(path)["precision"] == "int8"
    assert os.path.getsize(path) < 0.4 * os.path.getsize(float32_path)
    golden = np.load(os.path.join(reference_dir(name), "golden.npz"))
    x0, x1 = golden["x0"].astype(np.float32), golden["x1"].astype(np.float32)
    time = np.full((len(x0), 1), 0.5, np.float32)
    image = Interpreter(model_path=path).get_signature_runner()(x0=x0, x1=x1, time=time)["image"]
    expected = np.asarray(model({"x0": x0, "x1": x1, "time": time})["image"])
    error = np.abs(image - expected).mean()
    assert 0 < error < 2e-2, error  # int8 weights: a small, nonzero change.
