"""film_tf.formats.integrity: a truncated or changed model file of every kind
is one line naming the file, what is wrong and what to do, from the library
(ValueError) and from a binary (exit 2, before any image is read)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from film_tf import create_model, load_official_weights
from film_tf.formats import file_checks, integrity, model_io, tensor_bundle
from tests.conftest import reference_dir, reference_options, write_run_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = reference_dir("film_official_tiny")
DATA = "variables.data-00000-of-00001"


def _onnx_file(path: str, options) -> None:
    """A small ONNX model with film_tf's inputs, output and metadata (a blend,
    not FILM: the checks here read the file's framing only)."""
    import onnx
    from onnx import TensorProto, helper

    shape = ["B", "H", "W", 3]
    weights = helper.make_tensor("w", TensorProto.FLOAT, [4096], np.linspace(0, 1, 4096, dtype=np.float32))
    graph = helper.make_graph(
        [
            helper.make_node("Sub", ["x1", "x0"], ["d"]),
            helper.make_node("Mul", ["d", "time"], ["m"]),
            helper.make_node("Add", ["x0", "m"], ["image"]),
        ],
        "blend",
        [
            helper.make_tensor_value_info("x0", TensorProto.FLOAT, shape),
            helper.make_tensor_value_info("x1", TensorProto.FLOAT, shape),
            helper.make_tensor_value_info("time", TensorProto.FLOAT, ["B", 1]),
        ],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"film_tf.metadata": json.dumps({"options": options.to_dict()})})
    onnx.save(model, path)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The tiny official model in every kind of path, and the file of each
    whose damage is tested (the one that holds the weights)."""
    from film_tf.serving import export_saved_model

    tmp = tmp_path_factory.mktemp("integrity")
    options = reference_options("film_official_tiny")
    model = create_model(options)
    load_official_weights(model, TINY)
    shutil.copytree(os.path.join(TINY, "variables"), tmp / "official" / "variables")
    (tmp / "official" / "saved_model.pb").write_bytes(b"not read for official weights")
    model_io.save_weights_with_options(model, str(tmp / "tiny.weights.h5"))
    model.save(str(tmp / "tiny.keras"))
    write_run_folder(str(tmp / "run"), model)
    export_saved_model(model, str(tmp / "export"))
    _onnx_file(str(tmp / "tiny.onnx"), options)
    return tmp, {
        "official_saved_model": ("official", f"official/variables/{DATA}"),
        "official_variables": ("official/variables", f"official/variables/{DATA}"),
        "film_tf_saved_model": ("export", f"export/variables/{DATA}"),
        "run_folder": ("run", "run/train/ckpt-7.data-00000-of-00001"),
        "checkpoint": ("run/train/ckpt-7", "run/train/ckpt-7.data-00000-of-00001"),
        "keras_weights": ("tiny.weights.h5", "tiny.weights.h5"),
        "keras_file": ("tiny.keras", "tiny.keras"),
        "onnx": ("tiny.onnx", "tiny.onnx"),
    }


def _damaged_copy(models, kind: str, tmp_path, damage) -> tuple[str, str]:
    """(model path, damaged file) of a copy of `kind`'s model with `damage`
    (bytes -> bytes) applied to its weights file."""
    root, table = models
    model, victim = table[kind]
    shutil.copytree(root, tmp_path / "m")
    path = tmp_path / "m" / victim
    path.write_bytes(damage(path.read_bytes()))
    integrity._verified.clear()
    return str(tmp_path / "m" / model), str(path)


def _cut(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def _flip(offset: int):
    def flip(data: bytes) -> bytes:
        return data[:offset] + bytes([data[offset] ^ 0x5A]) + data[offset + 1 :]

    return flip


def _load(path: str, kind: str) -> None:
    if kind in model_io.RUNTIME_KINDS:
        from film_tf.runtime.inference import load_forward

        load_forward(path)
    else:
        model_io.load_model(path)


def test_every_kind_describes_as_expected_and_passes_whole(models):
    root, table = models
    for kind, (model, _) in table.items():
        path = str(root / model)
        assert model_io.describe(path) == kind
        integrity.check_model_files(path, kind)  # Whole files: no error.


@pytest.mark.parametrize(
    "kind",
    ["official_saved_model", "official_variables", "film_tf_saved_model", "run_folder", "checkpoint",
     "keras_weights", "keras_file", "onnx"],
)  # fmt: skip
def test_truncated_file_is_one_line_with_both_sizes(models, kind, tmp_path):
    size = os.path.getsize(models[0] / models[1][kind][1])
    path, victim = _damaged_copy(models, kind, tmp_path, _cut)
    with pytest.raises(ValueError) as raised:
        _load(path, kind)
    message = str(raised.value)
    assert isinstance(raised.value, integrity.DamagedModelError) and "\n" not in message
    source = {
        "keras_weights": "its HDF5 header",
        "keras_file": "its zip entries",
        "onnx": "its last field's length",
    }
    expected = rf"The model file '{re.escape(victim)}' is truncated: {size:,} bytes expected from "
    expected += (
        re.escape(source.get(kind, "its index"))
        + rf", {size * 2 // 3:,} bytes present; (download|export|copy) .+\."
    )
    if kind == "keras_file":  # Known from the local headers: where its members end, short of the directory.
        expected = expected.replace(f"{size:,}", "[0-9,]+")
    if kind == "onnx":  # The graph field's end (the fields after it are smaller).
        expected = expected.replace(f"{size:,}", "[0-9,]+")
    assert re.fullmatch(expected, message), message


@pytest.mark.parametrize(
    "kind, what",
    [
        ("official_saved_model", "checksum mismatch in variable variables/2/.ATTRIBUTES/VARIABLE_VALUE"),
        ("official_variables", "checksum mismatch in variable variables/2/.ATTRIBUTES/VARIABLE_VALUE"),
        ("film_tf_saved_model", "checksum mismatch in variable model_variables/"),
        ("run_folder", "checksum mismatch in variable "),
        ("checkpoint", "checksum mismatch in variable "),
        ("keras_file", "checksum mismatch in model.weights.h5 inside it"),
    ],
)
def test_changed_bytes_are_one_line_naming_the_variable(models, kind, what, tmp_path):
    """A byte changed inside the weights: caught by the format's checksums."""
    root, table = models
    data = (root / table[kind][1]).read_bytes()
    # Official: inside variables/2 (the first conv's second kernel); others: the middle of the file.
    offset = 432 + 16 + 100 if kind.startswith("official") else len(data) // 2
    path, victim = _damaged_copy(models, kind, tmp_path, _flip(offset))
    with pytest.raises(integrity.DamagedModelError) as raised:
        _load(path, kind)
    message = str(raised.value)
    assert message.startswith(f"The model file '{victim}' is damaged: {what}"), message
    assert message.endswith((" again.", " of the run.")) and "\n" not in message


def test_official_names_are_the_released_model_variables(tmp_path):
    """For the released configuration, the message names the layer's variable."""
    import tensorflow as tf

    from film_tf.formats.official_weights import official_variable_specs
    from film_tf.model.options import Options

    specs = official_variable_specs(Options())
    small = [tf.Variable(np.zeros([min(d, 2) for d in shape], np.float32)) for _, shape in specs]
    prefix = tf.train.Checkpoint(variables=small).write(str(tmp_path / "variables" / "variables"))
    _, entries = tensor_bundle.read_bundle_index(prefix + ".index")
    shard, offset, _ = entries["variables/5/.ATTRIBUTES/VARIABLE_VALUE"]
    data = tmp_path / "variables" / DATA
    data.write_bytes(_flip(offset)(data.read_bytes()))
    with pytest.raises(
        integrity.DamagedModelError, match=re.escape(f"variable {specs[5][0][:-2]} (variables/5)")
    ):
        integrity.check_model_files(str(tmp_path), "official_variables")


def test_crc32c_of_the_standard_check_string():
    assert tensor_bundle.crc32c(b"123456789") == 0xE3069283


def test_index_damage_and_missing_shard(models, tmp_path):
    root, _ = models
    shutil.copytree(root / "official", tmp_path / "o")
    index = tmp_path / "o" / "variables" / "variables.index"
    whole = index.read_bytes()
    index.write_bytes(whole[:-10])
    with pytest.raises(integrity.DamagedModelError, match=r"is damaged: not a whole checkpoint index"):
        integrity.check_model_files(str(tmp_path / "o"), "official_saved_model")
    index.write_bytes(_flip(len(whole) // 2)(whole))  # Inside a table block: its CRC-32C fails.
    with pytest.raises(
        integrity.DamagedModelError, match=r"its table of tensors cannot be read \(block checksum"
    ):
        integrity.check_model_files(str(tmp_path / "o"), "official_saved_model", checksums=False)
    index.write_bytes(whole)
    os.remove(tmp_path / "o" / "variables" / DATA)
    integrity._verified.clear()
    with pytest.raises(integrity.DamagedModelError, match=rf"'{re.escape(str(tmp_path / 'o' / 'variables' / DATA))}'"
                       r" is damaged: it is missing \(its index .+ lists [0-9,]+ bytes of tensors in it\)"):  # fmt: skip
        integrity.check_model_files(str(tmp_path / "o"), "official_saved_model")


def test_sizes_only_reads_no_tensor_and_results_are_cached(models, monkeypatch, tmp_path):
    """checksums=False never opens TensorFlow's reader; a verified file is not read twice."""
    import tensorflow as tf

    root, _ = models
    shutil.copytree(root / "official", tmp_path / "o")
    opened = []
    real = tf.train.load_checkpoint
    monkeypatch.setattr(tf.train, "load_checkpoint", lambda p: opened.append(p) or real(p))
    integrity._verified.clear()
    integrity.check_model_files(str(tmp_path / "o"), "official_saved_model", checksums=False)
    assert opened == []
    integrity.check_model_files(str(tmp_path / "o"), "official_saved_model")
    integrity.check_model_files(str(tmp_path / "o"), "official_saved_model")
    assert len(opened) == 1


def _interpolate(model: str, tmp_path, *extra) -> subprocess.CompletedProcess:
    """film-interpolate with frames that do not exist: an error about the model
    (or the output) proves that no image was read first."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate", f"--frame1={tmp_path / 'no0.png'}",
         f"--frame2={tmp_path / 'no1.png'}", f"--output_frame={tmp_path / 'out.png'}", f"--model_path={model}",
         f"--options_json={os.path.join(TINY, 'config.json')}", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("kind, damage", [("official_saved_model", "cut"), ("film_tf_saved_model", "flip")])
def test_binary_exit_2_one_line_before_any_image_is_read(models, kind, damage, tmp_path):
    size = os.path.getsize(models[0] / models[1][kind][1])
    path, victim = _damaged_copy(models, kind, tmp_path, _cut if damage == "cut" else _flip(size // 2))
    result = _interpolate(path, tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: The model file '{victim}' is "), result.stderr
    assert not (tmp_path / "out.png").exists()


def test_hdf5_metadata_damage_is_named_and_nothing_else_escapes(models, tmp_path):
    """HDF5 as Keras writes it has no data checksums: a changed weight loads;
    changed metadata in the first 8 KB (object headers, the group tree) is
    either harmless or a DamagedModelError naming the file, never another error."""
    root, _ = models
    whole = (root / "tiny.weights.h5").read_bytes()
    damaged = tmp_path / "tiny.weights.h5"
    named = 0
    for offset in range(0, 8192, 61):
        damaged.write_bytes(_flip(offset)(whole))
        try:
            file_checks.check_hdf5(str(damaged))
        except integrity.DamagedModelError as e:
            assert str(e).startswith(f"The model file '{damaged}' is ") and "\n" not in str(e)
            named += 1
    assert named > 0


def test_damaged_export_fingerprint_is_one_line(models, tmp_path):
    """A changed byte in a film-export's fingerprint.pb (found by the fuzz harness):
    TensorFlow would print a traceback and go on; the check names the file."""
    root, _ = models
    shutil.copytree(root / "export", tmp_path / "export")
    path = tmp_path / "export" / "fingerprint.pb"
    data = path.read_bytes()
    path.write_bytes(data[:31] + b"\xff" + data[31:])  # one inserted byte, as in the fuzz case
    integrity._verified.clear()
    with pytest.raises(integrity.DamagedModelError, match="fingerprint.pb' is damaged: not a valid"):
        integrity.check_model_files(str(tmp_path / "export"), "film_tf_saved_model")
    path.write_bytes(data)  # the original parses
    integrity._verified.clear()
    integrity.check_model_files(str(tmp_path / "export"), "film_tf_saved_model")
