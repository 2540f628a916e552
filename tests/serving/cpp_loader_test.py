"""A film-export SavedModel through TensorFlow's C++ loader (issue 34).

TF Serving's model server cannot be installed here, but the loader it is
built on, `tensorflow::LoadSavedModel` (SavedModelBundle, in
libtensorflow_cc), ships in the tensorflow wheel with its headers. The test
compiles `saved_model_runner.cc` against them with g++ (once per test
session), loads the export with the tag `serve`, runs serving_default,
serving_aux and both bytes signatures on real frames, and compares with the
Python (TF2) loader: floats within 1e-5, PNG bytes identical; the export's
warm-up requests too, as the model server replays them. Without a C++
compiler the test is skipped, saying so (.ci/run installs g++).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

from film_tf.serving import warmup
from tests.serving.conftest import bikes_pairs, png_bytes

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "saved_model_runner.cc")
TIMES = np.array([[0.3], [0.8]], np.float32)
HEIGHT, WIDTH = 101, 77  # Odd: the export pads.


def compile_command(output: str) -> list[str]:
    """g++ against the installed wheel: its headers (tensorflow/include) and its
    two libraries, linked by name with --no-as-needed (tf.sysconfig's flags link
    only the framework library, and loading then fails with "No session factory
    registered"), with an rpath to the wheel's folder."""
    wheel = os.path.dirname(tf.__file__)
    return [
        *["g++", "-std=c++17", "-w", "-D_GLIBCXX_USE_CXX11_ABI=1", "-DEIGEN_MAX_ALIGN_BYTES=64"],
        *["-I", os.path.join(wheel, "include"), SOURCE, "-o", output, "-L", wheel],
        *["-Wl,--no-as-needed", "-l:libtensorflow_framework.so.2", "-l:libtensorflow_cc.so.2"],
        f"-Wl,-rpath,{wheel}",
    ]


@pytest.fixture(scope="session")
def runner(tmp_path_factory) -> str:
    """The compiled saved_model_runner (about 15 s of g++), once per session."""
    if shutil.which("g++") is None:
        pytest.skip("no C++ compiler: g++ is not on PATH (.ci/run installs it with apt)")
    loader_header = os.path.join(
        os.path.dirname(tf.__file__), "include", "tensorflow", "cc", "saved_model", "loader.h"
    )
    if not os.path.isfile(loader_header):
        pytest.skip(f"this tensorflow wheel ships no C++ headers ({loader_header} is missing)")
    output = str(tmp_path_factory.mktemp("cpp_loader") / "saved_model_runner")
    result = subprocess.run(compile_command(output), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return output


def _write(folder, tensors: dict) -> str:
    os.makedirs(folder)
    for key, value in tensors.items():
        with open(os.path.join(folder, f"{key}.pb"), "wb") as f:
            f.write(tf.make_tensor_proto(value).SerializeToString())
    return str(folder)


def _read(folder) -> dict[str, np.ndarray]:
    result = {}
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as f:
            result[name.removesuffix(".pb")] = tf.make_ndarray(tensor_pb2.TensorProto.FromString(f.read()))
    return result


def test_cpp_loader_runs_every_signature_like_python(runner, tiny_saved_model, tmp_path):
    path, _ = tiny_saved_model
    u0, u1 = bikes_pairs(HEIGHT, WIDTH)
    floats = {"x0": u0.astype(np.float32) / 255, "x1": u1.astype(np.float32) / 255, "time": TIMES}
    encoded = {
        "encoded_x0": np.array([png_bytes(u) for u in u0], dtype=object),
        "encoded_x1": np.array([png_bytes(u) for u in u1], dtype=object),
    }
    requests = {
        "serving_default": floats,
        "serving_aux": floats,
        "serving_bytes": encoded,
        "serving_bytes_rest": encoded,
    }
    # And the export's warm-up requests, which the model server replays through this loader.
    replays = {f"warmup_{name}": (name, inputs) for name, inputs in warmup.read_warmup_requests(path)}
    runs = {**{name: (name, inputs) for name, inputs in requests.items()}, **replays}
    command = [runner, path]
    for run, (name, inputs) in runs.items():
        command += [name, _write(tmp_path / run / "in", inputs), str(tmp_path / run / "out")]
        os.makedirs(tmp_path / run / "out")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    listed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("signature ")}
    assert set(requests) <= listed
    ran = [line for line in result.stdout.splitlines() if line.startswith("ran ")]
    assert ran == [f"ran {name}" for name, _ in runs.values()]
    assert sorted(name for name, _ in replays.values()) == sorted(requests)

    loaded = tf.saved_model.load(path)
    for run, (name, inputs) in runs.items():
        cpp = _read(tmp_path / run / "out")
        python = loaded.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
        assert sorted(cpp) == sorted(python), name
        for key, value in python.items():
            value = value.numpy()
            assert cpp[key].shape == value.shape, (name, key)
            if value.dtype == object:  # PNG bytes: identical.
                assert list(cpp[key]) == list(value), (name, key)
                assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in value)
            else:
                np.testing.assert_allclose(cpp[key], value, rtol=0, atol=1e-5, err_msg=f"{name} {key}")
    # The C++ run is the model at those times, not a copy of an input.
    image = _read(tmp_path / "serving_default" / "out")["image"]
    assert image.shape == (2, HEIGHT, WIDTH, 3)
    assert np.abs(image - floats["x0"]).max() > 1e-2
