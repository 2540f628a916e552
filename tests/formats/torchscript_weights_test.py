"""The PyTorch port's TorchScript weights (film_net_fp32.pt / fp16): read without torch,
converted to the official checkpoint layout, equal to the weights they were made from.

torch is not installed here, so the `.pt` files are written by the small writer below,
which follows the TorchScript archive layout as `torch.jit.save` writes it (PyTorch 2.x;
checked against files written by torch 2.13 from the port's own module code):

  * a zip archive, entries stored (not compressed), all under one top-level folder
    named after the file: `<top>/data.pkl`, `<top>/data/<key>`, `<top>/constants.pkl`,
    `<top>/code/__torch__/...`, `<top>/version`, `<top>/byteorder` ("little");
  * data.pkl is a protocol-2 pickle of the module tree: each module is
    `GLOBAL '__torch__.<module> <Class>'`, EMPTY_TUPLE, NEWOBJ, then a dict of its
    attributes (`training`, `_is_full_backward_hook`, ints, submodules, parameters) and
    BUILD;
  * each tensor is `GLOBAL 'torch._utils _rebuild_tensor_v2'` applied to (persistent id
    ('storage', GLOBAL 'torch <Type>Storage', '<key>', 'cpu', numel), storage offset,
    sizes, strides, requires_grad, OrderedDict()); the storage's raw little-endian bytes
    are `<top>/data/<key>`;
  * `torch.save(state_dict)` archives hold an OrderedDict of such tensors instead.

The writer emits the pickle opcodes itself (it shares no code with the reader, which is a
restricted `pickle.Unpickler`), and maps the official names to the port's from the port's
layout facts: `extract.extract_sublevels.convs.<i>.<k>.0` = cfeat_conv_<2i+k>,
`predict_flow._predictors.<j>` = flow_predictor_<S-1-j>, `predict_flow._predictor` = the
shared one, `fuse.convs.<k>.<m>.0` = fusion conv2d_<3(L-1-k)+m>, `fuse.output_conv` =
conv2d_<3L>; kernels (out, in, H, W).
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from film_tf import create_model
from film_tf.formats import model_io, torchscript_weights
from film_tf.formats.official_weights import read_official_checkpoint
from tests.conftest import reference_dir, reference_options

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = reference_dir("film_official_tiny")


# ------------------------------------------------------------------ the writer


class _Module:
    def __init__(self, cls: str, attributes: dict):
        self.cls, self.attributes = cls, attributes


class _PickleWriter:
    """Protocol-2 pickle opcodes, written out one by one."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")  # PROTO 2
        self.storages: list[bytes] = []

    def global_(self, module: str, name: str) -> None:
        self.out += b"c" + f"{module}\n{name}\n".encode()

    def value(self, v) -> None:
        if isinstance(v, _Module):
            module, cls = v.cls.rsplit(".", 1)
            self.global_(module, cls)
            self.out += b")\x81}("  # EMPTY_TUPLE NEWOBJ EMPTY_DICT MARK
            for key, item in v.attributes.items():
                self.value(key)
                self.value(item)
            self.out += b"ub"  # SETITEMS BUILD
        elif isinstance(v, np.ndarray):
            self.tensor(v)
        elif isinstance(v, bool):
            self.out += b"\x88" if v else b"\x89"
        elif isinstance(v, int):
            self.out += b"J" + struct.pack("<i", v)
        elif isinstance(v, str):
            self.out += b"X" + struct.pack("<I", len(v.encode())) + v.encode()
        elif v is None:
            self.out += b"N"
        elif isinstance(v, dict):  # an OrderedDict (state dict)
            self.global_("collections", "OrderedDict")
            self.out += b")R("  # EMPTY_TUPLE REDUCE MARK
            for key, item in v.items():
                self.value(key)
                self.value(item)
            self.out += b"u"
        else:
            raise TypeError(type(v))

    def tensor(self, array: np.ndarray) -> None:
        storage = {np.float32: "FloatStorage", np.float16: "HalfStorage"}[array.dtype.type]
        key = str(len(self.storages))
        self.storages.append(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.out += b"(("  # MARK (the arguments) MARK (the persistent id)
        self.value("storage")
        self.global_("torch", storage)
        self.value(key)
        self.value("cpu")
        self.value(int(array.size))
        self.out += b"tQ"  # TUPLE BINPERSID
        self.value(0)
        strides = [int(np.prod(array.shape[i + 1 :])) for i in range(array.ndim)]
        for numbers in (array.shape, strides):
            self.out += b"("
            for n in numbers:
                self.value(int(n))
            self.out += b"t"
        self.value(True)
        self.global_("collections", "OrderedDict")
        self.out += b")RtR"  # EMPTY_TUPLE REDUCE TUPLE REDUCE


def _write_archive(path: str, root, extra: dict[str, bytes] | None = None) -> None:
    writer = _PickleWriter()
    writer.value(root)
    writer.out += b"."  # STOP
    top = os.path.splitext(os.path.basename(path))[0]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{top}/data.pkl", bytes(writer.out))
        for key, data in enumerate(writer.storages):
            z.writestr(f"{top}/data/{key}", data)
        if isinstance(root, _Module):  # TorchScript's own entries (torch.save writes none).
            z.writestr(f"{top}/constants.pkl", b"\x80\x02).")
            z.writestr(f"{top}/code/__torch__/interpolator.py", "class Interpolator(Module):\n  pass\n")
        z.writestr(f"{top}/version", "3\n")
        z.writestr(f"{top}/byteorder", "little")
        for name, data in (extra or {}).items():
            z.writestr(f"{top}/{name}", data)


def _port_name(official: str, specialized: int, fused: int) -> str:
    """The port's parameter name of an official variable name."""
    layer, leaf = official.rsplit("/", 1)
    leaf = {"kernel:0": "weight", "bias:0": "bias"}[leaf]
    if m := re.fullmatch(r"feat_net/sub_extractor/cfeat_conv_(\d+)", layer):
        return f"extract.extract_sublevels.convs.{int(m[1]) // 2}.{int(m[1]) % 2}.0.{leaf}"
    if m := re.fullmatch(r"predict_flow/flow_predictor_(\w+)/conv_(\d+)", layer):
        owner = "_predictor" if m[1] == "shared" else f"_predictors.{specialized - 1 - int(m[1])}"
        return f"predict_flow.{owner}._convs.{m[2]}.0.{leaf}"
    index = int(layer.rsplit("_", 1)[1]) if "_" in layer.split("/")[1] else 0
    if index == 3 * fused:
        return f"fuse.output_conv.{leaf}"
    return f"fuse.convs.{fused - 1 - index // 3}.{index % 3}.0.{leaf}"


def port_parameters(reference: str, dtype=np.float32) -> dict[str, np.ndarray]:
    """The official reference checkpoint's variables under the port's names and layouts."""
    options = reference_options(os.path.basename(reference))
    with open(os.path.join(reference, "variables.txt")) as f:
        names = [line.split("\t")[0] for line in f if line.strip() and not line.startswith("#")]
    values = read_official_checkpoint(reference)
    assert len(names) == len(values)
    out = {}
    for name, value in zip(names, values):
        if value.ndim == 4:
            value = value.transpose(3, 2, 0, 1)  # (H, W, in, out) -> (out, in, H, W)
        port = _port_name(name, options.specialized_levels, options.fusion_pyramid_levels - 1)
        out[port] = value.astype(dtype)
    return out


def module_tree(parameters: dict[str, np.ndarray], **root_attributes) -> _Module:
    """The TorchScript module tree holding `parameters` (dotted names)."""

    def module(cls: str) -> _Module:
        return _Module(cls, {"training": False, "_is_full_backward_hook": None})

    root = module("__torch__.interpolator.Interpolator")
    root.attributes.update(root_attributes)
    for name, value in parameters.items():
        node, parts = root, name.split(".")
        for part in parts[:-1]:
            if part not in node.attributes:
                node.attributes[part] = module(
                    f"__torch__.torch.nn.modules.container.{part.strip('_') or 'M'}"
                )
            node = node.attributes[part]
        node.attributes[parts[-1]] = value
    return root


def write_port_file(path: str, reference: str = TINY, dtype=np.float32, **root_attributes) -> str:
    options = reference_options(os.path.basename(reference))
    attributes = {
        "pyramid_levels": options.pyramid_levels,
        "fusion_pyramid_levels": options.fusion_pyramid_levels,
    }
    _write_archive(path, module_tree(port_parameters(reference, dtype), **{**attributes, **root_attributes}))
    return path


# ------------------------------------------------------------------- the tests


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FILM_TF_CACHE", str(tmp_path / "cache"))


def _golden():
    golden = np.load(os.path.join(TINY, "golden.npz"))
    return {k: golden[k] for k in ("x0", "x1", "time")}, golden["image"]


def test_fp32_file_converts_back_to_the_official_weights(tmp_path):
    path = write_port_file(str(tmp_path / "film_net_fp32.pt"))
    values, options, stored = torchscript_weights.official_variables(path)
    reference = read_official_checkpoint(TINY)
    assert stored == "float32" and options == reference_options("film_official_tiny")
    assert len(values) == len(reference) == 56
    for value, expected in zip(values, reference):
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, expected)
    assert model_io.describe(path) == "torchscript"
    assert model_io.options_for(path) == options


def test_the_loaded_model_reproduces_the_official_golden(tmp_path):
    path = write_port_file(str(tmp_path / "film_net_fp32.pt"))
    model, source = model_io.load_model_and_source(path)
    assert source.kind == "torchscript" and source.checkpoint == path
    inputs, image = _golden()
    np.testing.assert_allclose(np.asarray(model(inputs)["image"]), image, rtol=0, atol=1e-5)
    official = model_io.load_model(TINY, options=reference_options("film_official_tiny"))
    for a, b in zip(model.weights, official.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_fp16_file_is_its_float16_values_widened(tmp_path):
    path = write_port_file(str(tmp_path / "film_net_fp16.pt"), dtype=np.float16)
    values, _, stored = torchscript_weights.official_variables(path)
    assert stored == "float16"
    for value, expected in zip(values, read_official_checkpoint(TINY)):
        np.testing.assert_array_equal(value, expected.astype(np.float16).astype(np.float32))
    inputs, image = _golden()
    out = np.asarray(model_io.load_model(path)(inputs)["image"])
    # float16 weights (about 3 significant digits) move the image by about 1e-3 here.
    assert 0 < np.abs(out - image).max() < 5e-3


def test_converted_once_and_again_when_the_file_changes(tmp_path, monkeypatch):
    path = write_port_file(str(tmp_path / "film_net_fp32.pt"))
    folder = torchscript_weights.converted(path)
    assert folder == os.path.join(
        str(tmp_path / "cache"), "torchscript", torchscript_weights.file_digest(path)
    )
    assert sorted(os.listdir(folder)) == ["config.json", "source.json", "variables"]
    with open(os.path.join(folder, "source.json")) as f:
        assert json.load(f) == {
            "source": path,
            "sha256": torchscript_weights.file_digest(path),
            "stored_dtype": "float32",
        }
    assert model_io.describe(folder) == "official_variables"  # The official layout.
    calls = []
    real = torchscript_weights.official_variables
    monkeypatch.setattr(torchscript_weights, "official_variables", lambda p: calls.append(p) or real(p))
    model_io.load_model(path)
    assert calls == []  # Cached: not converted again.
    write_port_file(path, dtype=np.float16)  # The same name, other contents.
    changed = torchscript_weights.converted(path)
    assert calls == [path] and changed != folder
    data = os.path.join(changed, "variables", "variables.data-00000-of-00001")
    os.remove(data)
    model_io.load_model(path)  # An incomplete cached conversion is made again.
    assert calls == [path, path] and os.path.isfile(data)
    assert sorted(os.listdir(tmp_path / "cache" / "torchscript")) == sorted(
        [os.path.basename(folder), os.path.basename(changed)]
    )


def test_state_dict_archive_and_deeper_pyramid(tmp_path):
    """torch.save(state_dict) (the port's --statedict export) has no module
    attributes: the released pyramid_levels (7); the weights are the same."""
    path = str(tmp_path / "film_net.pth")
    _write_archive(path, port_parameters(TINY))
    options = model_io.options_for(path)
    assert options == reference_options("film_official_tiny", pyramid_levels=7)
    model = model_io.load_model(path)
    official = model_io.load_model(TINY, options=options)
    for a, b in zip(model.weights, official.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _refused(path: str, message: str) -> str:
    with pytest.raises(ValueError, match=message) as error:
        model_io.load_model(path)
    text = str(error.value)
    assert "\n" not in text and path in text
    return text


def test_foreign_files_are_refused_in_one_line(tmp_path):
    not_zip = tmp_path / "plain.pt"
    not_zip.write_bytes(b"\x80\x02}q\x00.")  # a legacy (non-zip) pickle
    _refused(str(not_zip), "is not a TorchScript file .not a complete zip archive")
    other_zip = tmp_path / "other.pt"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("model/weights.bin", b"1234")
    _refused(str(other_zip), r"is not a TorchScript file \(no data.pkl")
    resnet = str(tmp_path / "resnet.pt")
    _write_archive(resnet, module_tree({"fc.weight": np.zeros((10, 4), np.float32)}))
    _refused(resnet, "is not a FILM model: its parameter 'fc.weight' is not one of the PyTorch FILM port's")
    partial = port_parameters(TINY)
    del partial["fuse.convs.0.1.0.bias"]
    incomplete = str(tmp_path / "incomplete.pt")
    _write_archive(incomplete, module_tree(partial, pyramid_levels=5))
    _refused(incomplete, "is not a complete FILM model: 55 of the port's parameters, 56 expected")
    good = write_port_file(str(tmp_path / "good.pt"))
    data = open(good, "rb").read()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    _refused(str(truncated), "not a complete zip archive")
    assert not os.path.exists(tmp_path / "cache")  # Nothing converted, nothing cached.


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    writer = _PickleWriter()
    writer.global_("os", "system")
    writer.value(f"touch {marker}")
    writer.out += b"\x85R."  # TUPLE1 REDUCE STOP
    path = str(tmp_path / "evil.pt")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", bytes(writer.out))
    _refused(path, r"its data.pkl holds a os.system")
    assert not marker.exists()


def test_damaged_storage_is_one_line(tmp_path):
    good = write_port_file(str(tmp_path / "good.pt"))
    damaged = str(tmp_path / "damaged.pt")
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(
                item.filename.replace("good/", "damaged/"),
                data[:4] if item.filename.endswith("/data/0") else data,
            )
    assert torchscript_weights.read_options(damaged) == reference_options(
        "film_official_tiny"
    )  # Names and shapes are intact.
    _refused(damaged, r"is damaged: data/0 holds 4 bytes, 432 expected")
    # One flipped bit in a storage: the zip entry's CRC-32 no longer matches.
    data = bytearray(open(good, "rb").read())
    with zipfile.ZipFile(good) as z:
        entry = z.getinfo("good/data/3")
    name_length, extra_length = struct.unpack(
        "<HH", data[entry.header_offset + 26 : entry.header_offset + 30]
    )
    data[entry.header_offset + 30 + name_length + extra_length + 1] ^= 0x40
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(bytes(data))
    _refused(str(flipped), r"is damaged: cannot read good/data/3 \(Bad CRC-32")


def test_other_options_are_refused_before_anything_is_assigned(tmp_path):
    path = write_port_file(str(tmp_path / "film_net_fp32.pt"))
    model = create_model(reference_options("film_official_small"))
    before = [np.asarray(v) for v in model.weights]
    with pytest.raises(ValueError, match="options do not match"):
        model_io.load_weights_into(model, path)
    for a, b in zip(before, model.weights):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_film_export_takes_a_pt_file(tmp_path):
    from film_tf.serving import export_run

    path = write_port_file(str(tmp_path / "film_net_fp32.pt"))
    model, info = export_run._load("model_path", path)
    assert info == {"source": "model_path", "checkpoint": path}
    assert model.film_options == reference_options("film_official_tiny")


def test_binary_refuses_a_foreign_pt_with_exit_2(tmp_path):
    foreign = tmp_path / "foreign.pt"
    foreign.write_bytes(b"not a zip at all")
    frame = os.path.join(ROOT, "film_tf", "assets", "examples", "frame_0.png")
    out = tmp_path / "out.png"
    result = subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate", f"--frame1={frame}", f"--frame2={frame}",
         f"--output_frame={out}", f"--model_path={foreign}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "FILM_TF_CACHE": str(tmp_path / "cache")},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: '{foreign}' is not a TorchScript file (not a complete zip archive); "
        "expected the PyTorch FILM port's film_net_fp32.pt or film_net_fp16.pt."
    ]
    assert "Traceback" not in result.stderr and not out.exists()
