"""SavedModel export (issue 6), checked without film_tf on the loading side.

TF Serving's model server (`tensorflow_model_server`) is not installable on
this machine: it is neither on PyPI nor in Debian (it ships as a Docker
image or Google's apt repository, and there is no network). These tests
check everything up to it: the `<base>/<version>/` layout it watches, the
signatures as `saved_model_cli show` lists them, a run of the bytes
signature through `saved_model_cli run` (which loads the SavedModel through
the TF1 session API, the way the model server does), the TF2 loader in a
separate process that never imports film_tf (`tests/serving_client.py`), and
that every op in the graph is registered in stock TensorFlow.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from film_tf import create_model, load_official_weights, serving
from film_tf import export as export_lib
from film_tf.formats import exported_saved_model, model_io
from tests import serving_client
from tests.conftest import reference_dir, reference_options
from tests.serving.conftest import bikes_pairs, png_bytes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
HEIGHT, WIDTH = 101, 77  # Odd, and not multiples of the tiny model's alignment (16).
# One time per pair, neither the midpoint: the float signatures honour `time`.
TIMES = np.array([[0.3], [0.8]], np.float32)


def _env() -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": REPO}


def _metadata(path: str) -> dict:
    with open(exported_saved_model.film_tf_metadata_path(path)) as f:
        return json.load(f)


def _decode_png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _numpy_pad(x: np.ndarray, alignment: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The padding the export promises (centred reflection), written with np.pad."""
    _, h, w, _ = x.shape
    ph, pw = -h % alignment, -w % alignment
    top, left = ph // 2, pw // 2
    mode = "reflect" if min(h, w) > 1 else "edge"
    padded = np.pad(x, ((0, 0), (top, ph - top), (left, pw - left), (0, 0)), mode=mode)
    return padded, (slice(top, top + h), slice(left, left + w))


def keras_reference(model, x0: np.ndarray, x1: np.ndarray, pad=_numpy_pad, time=None) -> dict:
    """The Keras model on the padded pair at `time` (B, 1) (None: 0.5), every
    output cropped back."""
    alignment = model.film_options.alignment
    p0, (rows, cols) = pad(x0, alignment)
    p1, _ = pad(x1, alignment)
    if time is None:
        time = np.full((len(x0), 1), 0.5, np.float32)
    outputs = model({"x0": p0, "x1": p1, "time": time})
    result = {"image": np.asarray(outputs["image"])[:, rows, cols]}
    if "x0_warped" in outputs:
        result["x0_warped"] = np.asarray(outputs["x0_warped"])[:, rows, cols]
        result["x1_warped"] = np.asarray(outputs["x1_warped"])[:, rows, cols]
        result["forward_flow"] = np.asarray(outputs["forward_flow_pyramid"][0])[:, rows, cols]
        result["backward_flow"] = np.asarray(outputs["backward_flow_pyramid"][0])[:, rows, cols]
    return result


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One export of the official tiny model, and one client run against it."""
    tmp = tmp_path_factory.mktemp("export")
    options = reference_options("film_official_tiny")
    base = str(tmp / "models")
    path = export_lib.run(
        official_checkpoint=reference_dir("film_official_tiny"), options=options, export_base=base
    )

    model = create_model(options)
    load_official_weights(model, reference_dir("film_official_tiny"))

    # Two real frame pairs (bikes.mp4, two frames apart), cropped to 101x77.
    u0, u1 = bikes_pairs(HEIGHT, WIDTH)
    x0, x1 = u0.astype(np.float32) / 255, u1.astype(np.float32) / 255
    inputs = {
        "x0": x0,
        "x1": x1,
        "time": TIMES,
        "png0": np.frombuffer(png_bytes(u0[0]), np.uint8),
        "png1": np.frombuffer(png_bytes(u1[0]), np.uint8),
    }
    np.savez(tmp / "inputs.npz", **inputs)
    client = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "tests", "serving_client.py"),
            "--saved_model",
            path,
            "--inputs",
            str(tmp / "inputs.npz"),
            "--outputs",
            str(tmp / "outputs.npz"),
        ],
        cwd=str(tmp),  # Not the repository: film_tf must not even be importable by accident.
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert client.returncode == 0, client.stderr[-3000:]
    outputs = dict(np.load(tmp / "outputs.npz"))
    report = json.loads(str(outputs.pop("report")))
    return {
        "tmp": tmp,
        "base": base,
        "path": path,
        "options": options,
        "model": model,
        "u0": u0,
        "u1": u1,
        "x0": x0,
        "x1": x1,
        "outputs": outputs,
        "report": report,
    }


def test_layout_and_metadata(served):
    assert served["path"] == os.path.join(os.path.abspath(served["base"]), "1")
    # Nothing else (no temporary folder) is left for the model server to see.
    assert os.listdir(served["base"]) == ["1"]
    assert {"saved_model.pb", "variables", "assets"} <= set(os.listdir(served["path"]))
    assert model_io.describe(served["path"]) == "film_tf_saved_model"
    assert exported_saved_model.film_tf_metadata_path(served["path"]) == os.path.join(
        served["path"], "assets", "film_tf.json"
    )
    meta = _metadata(served["path"])
    assert meta["format"] == "film_tf.saved_model"
    assert meta["options"] == served["options"].to_dict()
    assert meta["alignment"] == 16
    assert meta["padding"]["mode"] == "reflect"
    assert meta["source"] == "official_checkpoint"
    assert set(meta["signatures"]) == {
        "serving_default",
        "serving_bytes",
        "serving_bytes_rest",
        "serving_aux",
    }


def test_serving_default_in_a_process_without_film_tf_matches_keras(served):
    report, outputs = served["report"], served["outputs"]
    assert report["film_tf_imported"] is False
    image = outputs["image"]
    assert image.shape == (2, HEIGHT, WIDTH, 3) and image.dtype == np.float32
    expected = keras_reference(served["model"], served["x0"], served["x1"], time=TIMES)
    np.testing.assert_allclose(image, expected["image"], rtol=0, atol=1e-5)
    # ... at those times: the midpoint is another frame, by far more than the tolerance.
    midpoint = keras_reference(served["model"], served["x0"], served["x1"])["image"]
    assert np.abs(midpoint - image).max() > 1e-2
    # The comparison can tell paddings apart: zero padding (the official
    # code's) changes the border pixels by far more than the tolerance.
    zero_padded = keras_reference(
        served["model"],
        served["x0"],
        served["x1"],
        time=TIMES,
        pad=lambda x, a: (
            np.pad(x, ((0, 0), (5, 6), (1, 2), (0, 0))),
            (slice(5, 5 + HEIGHT), slice(1, 1 + WIDTH)),
        ),
    )
    assert np.abs(zero_padded["image"] - image).max() > 1e-3
    # And it is an interpolation, not a copy of an input.
    assert np.abs(image - served["x0"]).max() > 0.05


def test_aux_signature_matches_keras(served):
    outputs = served["outputs"]
    expected = keras_reference(served["model"], served["x0"], served["x1"], time=TIMES)
    np.testing.assert_allclose(outputs["aux_image"], outputs["image"], rtol=0, atol=1e-6)
    for key in ("x0_warped", "x1_warped"):
        assert outputs[f"aux_{key}"].shape == (2, HEIGHT, WIDTH, 3)
        np.testing.assert_allclose(outputs[f"aux_{key}"], expected[key], rtol=0, atol=1e-5)
    for key in ("forward_flow", "backward_flow"):
        assert outputs[f"aux_{key}"].shape == (2, HEIGHT, WIDTH, 2)
        np.testing.assert_allclose(outputs[f"aux_{key}"], expected[key], rtol=0, atol=1e-4)


def test_bytes_signatures_return_the_png_of_the_interpolation(served):
    outputs = served["outputs"]
    png = outputs["encoded_image"].tobytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = _decode_png(png)
    assert decoded.shape == (HEIGHT, WIDTH, 3)
    x0 = served["u0"][:1].astype(np.float32) / 255
    x1 = served["u1"][:1].astype(np.float32) / 255
    expected = np.round(np.clip(keras_reference(served["model"], x0, x1)["image"][0], 0, 1) * 255)
    difference = np.abs(decoded.astype(np.int32) - expected.astype(np.int32))
    assert difference.max() <= 1  # Float rounding may flip a value sitting at .5.
    assert (difference == 0).mean() > 0.99
    assert outputs["encoded_image_rest"].tobytes() == png


def test_every_graph_op_is_registered_in_stock_tensorflow(served):
    report = served["report"]
    assert report["unregistered_ops"] == []
    # The list really covers the model (gathers of the warp, convolutions)
    # and the bytes signature's codecs.
    assert {"GatherV2", "Conv2D", "DecodeImage", "EncodePng"} <= set(report["op_types"])


def test_op_check_reports_an_unregistered_op(served, tmp_path):
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(served["path"], "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    function = saved_model.meta_graphs[0].graph_def.library.function[0]
    function.node_def.add(name="custom_warp", op="Addons>DenseImageWarp")
    (tmp_path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    assert serving_client.unregistered_ops(str(tmp_path)) == ["Addons>DenseImageWarp"]


def _run_tool(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=600, **kwargs)


def _parse_show_all(text: str) -> dict:
    """{signature: {'inputs'|'outputs': {name: (dtype, shape)}}} from `show --all`."""
    signatures, current, side, name = {}, None, None, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("signature_def['"):
            current = signatures.setdefault(line.split("'")[1], {"inputs": {}, "outputs": {}})
        elif line.startswith(("inputs['", "outputs['")) and current is not None:
            side, name = line.split("[")[0], line.split("'")[1]
        elif line.startswith("dtype:") and name is not None:
            dtype = line.split()[1]
        elif line.startswith("shape:") and name is not None:
            current[side][name] = (dtype, line.split(":", 1)[1].strip())
            name = None
    return signatures


def test_saved_model_cli_show_lists_the_signatures(served):
    result = _run_tool([SAVED_MODEL_CLI, "show", "--dir", served["path"], "--all"])
    assert result.returncode == 0, result.stderr[-2000:]
    signatures = _parse_show_all(result.stdout)
    image, time = ("DT_FLOAT", "(-1, -1, -1, 3)"), ("DT_FLOAT", "(-1, 1)")
    strings = ("DT_STRING", "(-1)")
    assert signatures["serving_default"] == {
        "inputs": {"x0": image, "x1": image, "time": time},
        "outputs": {"image": image},
    }
    assert signatures["serving_bytes"] == {
        "inputs": {"encoded_x0": strings, "encoded_x1": strings},
        "outputs": {"encoded_image": strings},
    }
    assert signatures["serving_bytes_rest"]["outputs"] == {"encoded_image_bytes": strings}
    flow = ("DT_FLOAT", "(-1, -1, -1, 2)")
    assert signatures["serving_aux"]["outputs"] == {
        "image": image,
        "x0_warped": image,
        "x1_warped": image,
        "forward_flow": flow,
        "backward_flow": flow,
    }
    assert "tensorflow/serving/predict" in result.stdout


def test_saved_model_cli_run_on_the_bytes_signature_writes_apng_bytes(served, tmp_path):
    # Two pairs in one batch, through the session-based loader TF Serving uses.
    u0, u1 = served["u0"], served["u1"]
    np.save(tmp_path / "x0.npy", np.array([png_bytes(u0[0]), png_bytes(u0[1])]))
    np.save(tmp_path / "x1.npy", np.array([png_bytes(u1[0]), png_bytes(u1[1])]))
    result = _run_tool(
        [
            SAVED_MODEL_CLI,
            "run",
            "--dir",
            served["path"],
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_bytes",
            "--inputs",
            f"encoded_x0={tmp_path / 'x0.npy'};encoded_x1={tmp_path / 'x1.npy'}",
            "--outdir",
            str(tmp_path / "out"),
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    encoded = np.load(tmp_path / "out" / "encoded_image.npy", allow_pickle=True)
    assert encoded.shape == (2,)
    (tmp_path / "middle.png").write_bytes(encoded[1])
    decoded = np.stack([_decode_png(e) for e in encoded])
    # The bytes signatures have no `time` input: the midpoint.
    x0, x1 = (u.astype(np.float32) / 255 for u in (u0, u1))
    expected = np.round(np.clip(keras_reference(served["model"], x0, x1)["image"], 0, 1) * 255)
    assert decoded.shape == (2, HEIGHT, WIDTH, 3)
    assert np.abs(decoded.astype(np.int32) - expected.astype(np.int32)).max() <= 1
    assert _decode_png((tmp_path / "middle.png").read_bytes()).shape == (HEIGHT, WIDTH, 3)


def test_refuses_to_overwrite_and_leaves_nothing_partial(tmp_path, tiny_options):
    model = create_model(tiny_options)
    target = tmp_path / "export"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite"):
        serving.export_saved_model(model, str(target))
    assert os.listdir(target) == ["keep.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a directory"):
        serving.export_saved_model(model, str(tmp_path / "file"), overwrite=True)

    # A failure half-way (this model has no FilmNet) leaves no folder behind.
    not_film = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="FilmNet"):
        serving.export_saved_model(not_film, str(tmp_path / "new"))
    assert sorted(os.listdir(tmp_path)) == ["export", "file"]


def test_next_version_follows_the_highest_integer_folder(tmp_path):
    base = tmp_path / "models"
    assert serving.next_version(str(base)) == 1
    for name in ("1", "7", "latest", ".8.tmp"):
        (base / name).mkdir(parents=True)
    (base / "9").write_text("not a folder")
    assert serving.existing_versions(str(base)) == [1, 7]
    assert serving.next_version(str(base)) == 8
    with pytest.raises(ValueError, match="positive integer"):
        serving.export_for_serving(None, str(base), version=0)


def _write_run_folder(run: str, options, step: int = 7):
    """A seeded run folder whose config.gin also binds a configurable film-export does not register."""
    from tests.conftest import write_run_folder

    keras.utils.set_random_seed(5)
    model = create_model(options)
    write_run_folder(run, model, step, extra_bindings=("training_losses.losses = [@l1_loss()]",))
    return model


def test_film_export_binary_from_a_run_folder(tmp_path, tiny_options):
    pytest.importorskip("film_tf.training.checkpoints")
    run = str(tmp_path / "runs" / "tiny")
    model = _write_run_folder(run, tiny_options)
    result = _run_tool([sys.executable, "-m", "film_tf.export", "--run_folder", run], cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    path = os.path.join(run, "saved_model")
    assert "Exported SavedModel to" in result.stdout
    meta = _metadata(path)
    assert meta["source"] == "run_folder" and meta["step"] == 7
    assert meta["options"] == tiny_options.to_dict()

    x0 = np.random.default_rng(6).random((1, 40, 24, 3), dtype=np.float32)
    x1 = np.roll(x0, 2, axis=2)
    loaded = tf.saved_model.load(path)
    image = loaded.signatures["serving_default"](
        x0=tf.constant(x0), x1=tf.constant(x1), time=tf.fill([1, 1], 0.5)
    )["image"].numpy()
    np.testing.assert_allclose(image, keras_reference(model, x0, x1)["image"], rtol=0, atol=1e-5)

    # A second export to the same place is refused before any work.
    with pytest.raises(FileExistsError, match="overwrite"):
        export_lib.run(run_folder=run)


def test_film_export_binary_on_an_already_exported_run_says_where_and_exits_0(tmp_path):
    """A second `film-export --run_folder RUN` (issue 19): RUN/saved_model (or
    RUN/model.onnx) exists, so it says where, writes nothing and exits 0;
    --overwrite exports again. An explicit --export_dir that exists is still an error."""
    run = tmp_path / "run"
    (run / "saved_model").mkdir(parents=True)
    (run / "saved_model" / "saved_model.pb").write_bytes(b"earlier export")
    (run / "model.onnx").write_bytes(b"earlier onnx")
    (run / "config.gin").write_text("")
    for extra, target in (([], run / "saved_model"), (["--format", "onnx"], run / "model.onnx")):
        result = _run_tool(
            [sys.executable, "-m", "film_tf.export", "--run_folder", str(run), *extra], cwd=REPO
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().splitlines() == [
            f"{target} exists already (nothing written); pass --overwrite to export the run again."
        ]
    assert (run / "saved_model" / "saved_model.pb").read_bytes() == b"earlier export"
    assert (run / "model.onnx").read_bytes() == b"earlier onnx"
    assert sorted(os.listdir(run)) == ["config.gin", "model.onnx", "saved_model"]
    with pytest.raises(FileExistsError, match="overwrite") as error:
        export_lib.run(run_folder=str(run), export_dir=str(run / "saved_model"))
    assert type(error.value) is FileExistsError  # Not the "already exported" answer.


def test_film_export_binary_reports_user_errors_in_one_line(tmp_path):
    result = _run_tool(
        [sys.executable, "-m", "film_tf.export", "--run_folder", str(tmp_path / "missing")], cwd=REPO
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: No training run folder at '{tmp_path / 'missing'}'."]


def test_run_rejects_bad_arguments_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        export_lib.run(export_dir=str(tmp_path / "x"))
    with pytest.raises(ValueError, match="exactly one"):
        export_lib.run(run_folder="a", weights="b")
    with pytest.raises(ValueError, match="--export_dir or --export_base"):
        export_lib.run(weights="w.weights.h5")
    with pytest.raises(ValueError, match="not both"):
        export_lib.run(weights="w.weights.h5", export_dir="a", export_base="b")
    with pytest.raises(FileNotFoundError, match="run folder"):
        export_lib.run(run_folder=str(tmp_path / "missing"))
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(FileNotFoundError, match="config.gin"):
        export_lib.run(run_folder=str(run))
    # Each source flag takes its own kind of path (film_tf.formats.model_io.describe).
    (tmp_path / "w.weights.h5").write_bytes(b"x")
    with pytest.raises(
        ValueError, match="--official_checkpoint takes an official FILM SavedModel; .* keras weights"
    ):
        export_lib.run(official_checkpoint=str(tmp_path / "w.weights.h5"), export_dir=str(tmp_path / "x"))
    (tmp_path / "film.h5").write_text("x")
    with pytest.raises(ValueError, match="weights.h5"):
        export_lib.run(weights=str(tmp_path / "film.h5"), export_dir=str(tmp_path / "x"))
    assert not os.path.exists(tmp_path / "x")
