"""Reads PyTorch's zip archives of tensors (TorchScript `torch.jit.save`,
and `torch.save` since PyTorch 1.6) without torch: the pickled object tree
and its tensors as numpy arrays.

What a TorchScript file is (facts of PyTorch's format, as the port's files and
`torch.jit.save` 2.x write it): a zip archive (entries stored uncompressed)
whose entries sit in one top-level folder, named after the file:

  <top>/data.pkl        the module tree, pickled (protocol 2): each module is
                        an object of a class `__torch__.<module>.<Class>`
                        built from a dict of its attributes (`training`,
                        submodules, parameters, ints such as pyramid_levels);
                        each tensor is `torch._utils._rebuild_tensor_v2(
                        storage, offset, size, stride, requires_grad,
                        OrderedDict())`, the storage a persistent id
                        ('storage', torch.<Type>Storage, key, device, numel).
  <top>/data/<key>      each storage's raw bytes (`byteorder`: little unless
                        that entry says big).
  <top>/constants.pkl, <top>/code/, <top>/.data/ ...  (not needed here).

`torch.save(model.state_dict())` archives (the port's `--statedict` export)
have the same layout with an OrderedDict of tensors as data.pkl; they are read
too. The pickles are read by an unpickler that knows only the globals above:
nothing in the file is executed.

`Archive(path).root` is the tree, modules as `ScriptObject`s (their
attributes in `.state`) and tensors as `Tensor`s (shape, strides, storage;
`Archive.values` reads one); `parameters(root)` flattens it to dotted
names. Errors are one-line ValueErrors naming the file (`expected` says what
the caller wanted).
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
import zlib

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": "f4",
    "HalfStorage": "f2",
    "DoubleStorage": "f8",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class Storage:
    """A storage the pickle refers to: its data/<key> entry, numpy dtype code and length."""

    def __init__(self, key: str, dtype: str, numel: int):
        self.key, self.dtype, self.numel = key, dtype, numel


class Tensor:
    """A tensor as the pickle describes it; its values are read on demand."""

    def __init__(self, storage, offset, size, stride, *unused):
        if not isinstance(storage, Storage):
            raise pickle.UnpicklingError("holds a tensor without a storage")
        self.storage, self.offset = storage, int(offset)
        self.shape, self.stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)


class ScriptObject:
    """A TorchScript module: its attributes, as pickled (`state`)."""

    qualified_name = ""

    def __setstate__(self, state) -> None:
        self.state = state


class _Unpickler(pickle.Unpickler):
    """Knows only the globals a TorchScript or torch.save archive of weights uses."""

    _classes: dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return Tensor
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        if module == "torch.jit._pickle" and name.startswith("build_"):
            return lambda values: list(values)
        if (module, name) == ("torch.jit._pickle", "restore_type_tag"):
            return lambda value, _type: value
        if module.startswith("__torch__"):
            qualified = f"{module}.{name}"
            if qualified not in self._classes:
                self._classes[qualified] = type(name, (ScriptObject,), {"qualified_name": qualified})
            return self._classes[qualified]
        raise pickle.UnpicklingError(f"holds a {module}.{name}")

    def persistent_load(self, pid):
        if not (
            isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and pid[1] in _STORAGE_DTYPES
        ):
            raise pickle.UnpicklingError(f"refers to {pid!r:.80}")
        return Storage(str(pid[2]), _STORAGE_DTYPES[pid[1]], int(pid[4]))


class Archive:
    """An open TorchScript / torch.save zip: the unpickled data.pkl and its storages."""

    def __init__(self, path: str, expected: str = "a PyTorch file"):
        self.path, self.expected = path, expected
        try:
            self.zip = zipfile.ZipFile(path)
            names = self.zip.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
                raise
            raise ValueError(
                f"'{path}' is not a TorchScript file (not a complete zip archive); expected {self.expected}."
            ) from None
        pickles = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError(
                f"'{path}' is not a TorchScript file (no data.pkl in it); expected {self.expected}."
            )
        self.top = pickles[0][: -len("data.pkl")]
        order = self._read(self.top + "byteorder", missing=b"little").strip()
        self.endian = ">" if order == b"big" else "<"
        try:
            self.root = _Unpickler(io.BytesIO(self._read(pickles[0]))).load()
        except Exception as e:  # A foreign pickle, or a damaged one: one line.
            raise ValueError(
                f"'{path}' cannot be read as weights: its data.pkl {e}; expected {expected}."
            ) from None

    def _read(self, name: str, missing: bytes | None = None) -> bytes:
        try:
            return self.zip.read(name)
        except KeyError:
            if missing is not None:
                return missing
            raise ValueError(f"'{self.path}' is damaged: it has no entry {name}.") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as e:
            raise ValueError(f"'{self.path}' is damaged: cannot read {name} ({e}).") from None

    def values(self, tensor: Tensor) -> np.ndarray:
        """The tensor's values, float32 (float16 and bfloat16 widened exactly)."""
        storage = tensor.storage
        if storage.dtype == "bfloat16":
            import ml_dtypes  # TensorFlow's dependency.

            dtype = np.dtype(ml_dtypes.bfloat16).newbyteorder(self.endian)
        else:
            dtype = np.dtype(self.endian + storage.dtype)
        if dtype.kind != "f" and storage.dtype != "bfloat16":
            raise ValueError(f"'{self.path}' holds {dtype} parameters, not floating point weights.")
        data = self._read(f"{self.top}data/{storage.key}")
        if len(data) < storage.numel * dtype.itemsize:
            raise ValueError(
                f"'{self.path}' is damaged: data/{storage.key} holds {len(data)} bytes, "
                f"{storage.numel * dtype.itemsize} expected."
            )
        flat = np.frombuffer(data, dtype, count=storage.numel)
        last = tensor.offset + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.stride) if n)
        if (
            tensor.offset < 0
            or min(tensor.stride, default=0) < 0
            or (0 not in tensor.shape and last >= len(flat))
        ):
            raise ValueError(
                f"'{self.path}' is damaged: a tensor lies outside its storage data/{storage.key}."
            )
        strided = np.lib.stride_tricks.as_strided(
            flat[tensor.offset :], tensor.shape, [s * dtype.itemsize for s in tensor.stride], writeable=False
        )
        return strided.astype(np.float32)


def parameters(root) -> tuple[dict[str, Tensor], dict]:
    """(dotted parameter name -> tensor, the root module's int attributes) of
    an archive's root: a module tree (TorchScript) or a dict (a state dict)."""
    tensors: dict[str, Tensor] = {}
    if isinstance(root, dict):  # torch.save(state_dict)
        tensors = {str(k): v for k, v in root.items() if isinstance(v, Tensor)}
        return tensors, {}

    def walk(obj: ScriptObject, prefix: str) -> None:
        state = getattr(obj, "state", None)
        for name, value in state.items() if isinstance(state, dict) else ():
            if isinstance(value, Tensor):
                tensors[prefix + name] = value
            elif isinstance(value, ScriptObject):
                walk(value, f"{prefix}{name}.")

    if not isinstance(root, ScriptObject):
        return {}, {}
    walk(root, "")
    attributes = (
        {k: v for k, v in root.state.items() if isinstance(v, int)} if isinstance(root.state, dict) else {}
    )
    return tensors, attributes
