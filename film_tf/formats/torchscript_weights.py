"""The PyTorch port's weights (`film_net_fp32.pt`, `film_net_fp16.pt`), read without torch.

The port (github.com/dajes/frame-interpolation-pytorch) converted the released
Style SavedModel into a TorchScript module; its `.pt` files are what most FILM
installs hold today (ComfyUI's frame-interpolation nodes download them). This
module reads such a file with the standard library and numpy only: installing
torch for it would mean a download of several GB (PyPI's torch wheel brings
the CUDA libraries) to read about 140 MB of numbers. The archive itself
(a zip of a pickled module tree and raw storages) is read by
`film_tf.formats.torch_archive`.

The port's parameter names (its `Interpolator`: extract, predict_flow, fuse)
and the official variables they are (the port's export.py maps the official
variables onto them by position, kernels permuted (H, W, in, out) -> (out, in,
H, W)):

  extract.extract_sublevels.convs.<i>.<k>.0.{weight,bias}
                                   feat_net/sub_extractor/cfeat_conv_<2i+k>
  predict_flow._predictors.<j>._convs.<c>.0.*
                                   predict_flow/flow_predictor_<S-1-j>/conv_<c>
                                   (S specialized levels, stored coarse first)
  predict_flow._predictor._convs.<c>.0.*
                                   predict_flow/flow_predictor_shared/conv_<c>
  fuse.convs.<k>.<m>.0.*           fusion/conv2d_<3(L-1-k)+m> (L fused levels
                                   below the coarsest, stored coarse first)
  fuse.output_conv.*               fusion/conv2d_<3L> (the RGB output)

The options follow from the shapes (and the module's pyramid_levels, 7 for a
state dict that does not store it). `official_variables` returns the weights
in the official `variables/<N>` order and layout, float32 (a float16 file's
values are widened exactly), shape-checked like any official checkpoint;
`converted` writes them once as an official checkpoint folder in the cache,
keyed by the file's SHA-256 (a changed file is converted again), which
`official_weights.load_official_weights` then loads like any other.
"""

from __future__ import annotations

import collections
import hashlib
import os
import re

import numpy as np

from film_tf import files
from film_tf.formats.official_weights import (
    _check_shapes,
    load_official_weights,
    official_variable_specs,
    write_official_checkpoint,
)
from film_tf.formats.torch_archive import Archive, Tensor, parameters
from film_tf.model.options import Options

SUFFIXES = (".pt", ".pth")
CACHE_SUBFOLDER = "torchscript"  # $FILM_TF_CACHE/torchscript/<sha256 of the .pt>/
_EXTRACT = re.compile(r"^extract\.extract_sublevels\.convs\.(\d+)\.(\d+)\.0\.(weight|bias)$")
_FLOW = re.compile(r"^predict_flow\.(_predictor|_predictors\.(\d+))\._convs\.(\d+)\.0\.(weight|bias)$")
_FUSE = re.compile(r"^fuse\.(?:convs\.(\d+)\.(\d+)\.0|(output_conv))\.(weight|bias)$")
_EXPECTED = "the PyTorch FILM port's film_net_fp32.pt or film_net_fp16.pt"


def _official_names(
    tensors: dict[str, Tensor], attributes: dict, path: str
) -> tuple[dict[str, str], Options]:
    """(official variable name -> port parameter name, the options) from the port's names and shapes."""
    extract, flows, shared, fuse = {}, collections.defaultdict(dict), {}, {}
    for name in tensors:
        if m := _EXTRACT.match(name):
            extract[(int(m[1]), int(m[2]), m[3])] = name
        elif m := _FLOW.match(name):
            (shared if m[2] is None else flows[int(m[2])])[(int(m[3]), m[4])] = name
        elif m := _FUSE.match(name):
            fuse[(None, 0, m[4]) if m[3] else (int(m[1]), int(m[2]), m[4])] = name
        else:
            raise ValueError(
                f"'{path}' is not a FILM model: its parameter '{name}' is not one of the PyTorch FILM "
                f"port's (extract.*, predict_flow.*, fuse.*); expected {_EXPECTED}."
            )
    first = extract.get((0, 0, "weight"))
    if (
        first is None
        or not shared
        or (None, 0, "weight") not in fuse
        or sorted(flows) != list(range(len(flows)))
    ):
        raise ValueError(
            f"'{path}' is not a FILM model: it lacks the PyTorch FILM port's parameters; expected {_EXPECTED}."
        )
    suffix = {"weight": "kernel:0", "bias": "bias:0"}
    mapping = {}
    for (i, k, kind), name in extract.items():
        mapping[f"feat_net/sub_extractor/cfeat_conv_{2 * i + k}/{suffix[kind]}"] = name
    specialized = len(flows)
    convs, filters = [], []
    # _predictors holds the specialized levels coarse first: level = S - 1 - index.
    for level, params in enumerate(
        [flows[specialized - 1 - level] for level in range(specialized)] + [shared]
    ):
        count = 1 + max(c for c, _ in params)
        convs.append(count - 2)  # The 3x3 convolutions, then two 1x1 ones.
        if (0, "weight") not in params:
            raise ValueError(f"'{path}' is not a complete FILM model: a flow predictor has no conv_0 weight.")
        out = tensors[params[(0, "weight")]].shape[0]
        filters.append(out if count > 2 else 2 * out)
        label = level if level < specialized else "shared"
        for (c, kind), name in params.items():
            mapping[f"predict_flow/flow_predictor_{label}/conv_{c}/{suffix[kind]}"] = name
    levels = 1 + max((k for k, _, _ in fuse if k is not None), default=-1)
    for (k, m, kind), name in fuse.items():
        # fuse.convs holds the levels coarse first; the output convolution comes last officially.
        index = 3 * levels if k is None else 3 * (levels - 1 - k) + m
        mapping[f"{f'fusion/conv2d_{index}' if index else 'fusion/conv2d'}/{suffix[kind]}"] = name
    try:
        options = Options(
            pyramid_levels=int(attributes.get("pyramid_levels", Options.pyramid_levels)),
            fusion_pyramid_levels=levels + 1,
            specialized_levels=specialized,
            sub_levels=1 + max(i for i, _, _ in extract),
            flow_convs=convs,
            flow_filters=filters,
            filters=int(tensors[first].shape[0]),
        )
    except ValueError as e:
        raise ValueError(f"'{path}': the PyTorch FILM port's parameters form no film_net ({e})") from None
    return mapping, options


def _kernel_layout(value_or_shape, name: str):
    """The port's (out, in, H, W) kernels in the official (H, W, in, out) layout; biases as they are."""
    if not name.endswith("/kernel:0"):
        return value_or_shape
    if isinstance(value_or_shape, np.ndarray):
        return np.ascontiguousarray(value_or_shape.transpose(2, 3, 1, 0))
    out, cin, h, w = value_or_shape
    return (h, w, cin, out)


def _read(path: str) -> tuple[Archive, list[tuple[str, Tensor]], Options]:
    """The archive, the port's tensors in the official order (with the official
    names), and the options; every shape checked (`_check_shapes`)."""
    archive = Archive(path, _EXPECTED)
    tensors, attributes = parameters(archive.root)
    if not tensors:
        raise ValueError(f"'{path}' is not a FILM model: it holds no parameters; expected {_EXPECTED}.")
    mapping, options = _official_names(tensors, attributes, path)
    specs = official_variable_specs(options)
    missing = [name for name, _ in specs if name not in mapping]
    if missing or len(mapping) != len(specs):
        raise ValueError(
            f"'{path}' is not a complete FILM model: {len(mapping)} of the port's parameters, "
            f"{len(specs)} expected{f' (no {missing[0]})' if missing else ''}."
        )
    ordered = [(name, tensors[mapping[name]]) for name, _ in specs]
    bad = next((n for n, t in ordered if len(t.shape) != (4 if n.endswith("/kernel:0") else 1)), None)
    if bad is not None:
        raise ValueError(
            f"'{path}': the port's parameter {mapping[bad]} has shape {list(tensors[mapping[bad]].shape)}."
        )
    try:
        _check_shapes([_kernel_layout(t.shape, n) for n, t in ordered], options)
    except ValueError as e:
        raise ValueError(f"'{path}': {e}") from None
    return archive, ordered, options


def read_options(path: str) -> Options:
    """The film_net options of the port's `.pt` file at `path`, from its
    parameter names and shapes (no weights are read).

    Raises:
      ValueError: not a FILM TorchScript (or torch.save) file, in one line.
    """
    return _read(path)[2]


def official_variables(path: str) -> tuple[list[np.ndarray], Options, str]:
    """The weights of the port's `.pt` file in the official checkpoint's
    `variables/<N>` order and layout (kernels (H, W, in, out)), float32.

    Returns:
      (values, options, the stored dtype: 'float32', 'float16', ...).

    Raises:
      ValueError: not a FILM model, or a damaged file, in one line.
    """
    archive, ordered, options = _read(path)
    values = [_kernel_layout(archive.values(tensor), name) for name, tensor in ordered]
    stored = sorted({tensor.storage.dtype for _, tensor in ordered})
    names = {"f4": "float32", "f2": "float16", "f8": "float64", "bfloat16": "bfloat16"}
    return values, options, "+".join(names.get(d, d) for d in stored)


def file_digest(path: str) -> str:
    """The SHA-256 of the file at `path`, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def converted(path: str) -> str:
    """The official checkpoint folder converted from the port's `.pt` at
    `path`: `$FILM_TF_CACHE/torchscript/<sha256>/` (default
    ~/.cache/film_tf) with `variables/variables.{index,data-*}` (the official
    layout), `config.json` (its options) and `source.json` (the file it came
    from, its digest and stored dtype). Converted the first time a file is
    loaded and published whole (`files.atomic_folder`); later loads, and
    copies of the same file elsewhere, reuse it.

    Raises:
      ValueError: not a FILM model, or a damaged file (one line).
    """
    digest = file_digest(path)
    folder = files.cache_folder(CACHE_SUBFOLDER, digest)
    index = os.path.join(folder, "variables", "variables.index")
    done = (index, os.path.join(folder, "variables", "variables.data-00000-of-00001"))
    if all(os.path.isfile(f) for f in done):
        return folder
    values, options, dtype = official_variables(path)
    try:
        # An incomplete folder (not written by this code) is replaced.
        with files.atomic_folder(folder, overwrite=os.path.exists(folder)) as tmp:
            os.makedirs(os.path.join(tmp, "variables"))
            write_official_checkpoint(os.path.join(tmp, "variables", "variables"), values)
            files.write_json_atomic(os.path.join(tmp, "config.json"), options.to_dict())
            source = {"source": os.path.abspath(path), "sha256": digest, "stored_dtype": dtype}
            files.write_json_atomic(os.path.join(tmp, "source.json"), source)
    except OSError:
        if not all(os.path.isfile(f) for f in done):  # Not another process publishing it first.
            raise
    return folder


def load_torchscript_weights(model, path: str) -> None:
    """Loads the port's `.pt` at `path` into a `create_model` model: its
    `converted` official checkpoint (made now if not cached), loaded and
    shape-checked as any official checkpoint."""
    load_official_weights(model, converted(path))
