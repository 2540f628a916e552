"""Loads the official FILM checkpoints (the released film_net SavedModels).

The official SavedModel's `variables/` checkpoint stores the weights as
`variables/<N>/.ATTRIBUTES/VARIABLE_VALUE`, N in the order the official code
creates them; names are not stored there. `official_variable_specs` rebuilds
that order and the shapes from the model options, so every variable is
mapped by position and checked by shape before anything is assigned.
"""

from __future__ import annotations

import os
import re

import keras
import numpy as np

from film_tf.model.interpolator import FilmNet
from film_tf.model.options import Options

_KEY = re.compile(r"^(?P<prefix>.*?)variables/(?P<n>\d+)/\.ATTRIBUTES/VARIABLE_VALUE$")


def official_variable_specs(options: Options) -> list[tuple[str, tuple[int, ...]]]:
    """(official name, shape) of every variable, in the official checkpoint order."""
    o = options
    specs = []

    def conv(name, k, cin, cout):
        specs.append((f"{name}/kernel:0", (k, k, cin, cout)))
        specs.append((f"{name}/bias:0", (cout,)))

    cin = 3
    for j in range(o.sub_levels):
        for k in range(2):
            conv(f"feat_net/sub_extractor/cfeat_conv_{2 * j + k}", 3, cin, o.filters << j)
            cin = o.filters << j

    feature_channels = o.feature_channels

    def flow_predictor(name, level, num_convs, num_filters):
        c = 2 * feature_channels[level]
        for i in range(num_convs):
            conv(f"predict_flow/{name}/conv_{i}", 3, c, num_filters)
            c = num_filters
        conv(f"predict_flow/{name}/conv_{num_convs}", 1, c, num_filters // 2)
        conv(f"predict_flow/{name}/conv_{num_convs + 1}", 1, num_filters // 2, 2)

    for i in range(o.specialized_levels):
        flow_predictor(f"flow_predictor_{i}", i, o.flow_convs[i], o.flow_filters[i])
    flow_predictor("flow_predictor_shared", o.specialized_levels, o.flow_convs[-1], o.flow_filters[-1])

    # Fusion input at level k: two warped (3 + features) pyramids and two flows.
    aligned = o.fusion_channels
    widths = [o.filters << min(i, o.specialized_levels) for i in range(o.fusion_pyramid_levels - 1)]
    index = 0

    def fusion_name(i):
        return "fusion/conv2d" if i == 0 else f"fusion/conv2d_{i}"

    for i in range(o.fusion_pyramid_levels - 1):
        below = aligned[-1] if i == o.fusion_pyramid_levels - 2 else widths[i + 1]
        conv(fusion_name(index), 2, below, widths[i])
        conv(fusion_name(index + 1), 3, aligned[i] + widths[i], widths[i])
        conv(fusion_name(index + 2), 3, widths[i], widths[i])
        index += 3
    conv(fusion_name(index), 1, widths[0] if widths else aligned[0], 3)
    return specs


def find_film_layer(model: keras.Model) -> FilmNet:
    """The FilmNet layer of a model from `create_model` (or the layer itself)."""
    if isinstance(model, FilmNet):
        return model
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, FilmNet):
            return layer
    raise ValueError("The model has no FilmNet layer; build it with film_tf.create_model().")


def _checkpoint_prefix(path: str) -> str:
    path = os.fspath(path)
    candidates = [
        os.path.join(path, "variables", "variables"),  # a SavedModel folder
        os.path.join(path, "variables"),  # its variables/ folder
        path,  # a checkpoint prefix
    ]
    for prefix in candidates:
        if os.path.isfile(prefix + ".index"):
            return prefix
    raise FileNotFoundError(
        f"No official FILM checkpoint at '{path}': expected a SavedModel folder "
        "(e.g. film_net/Style/saved_model), its variables/ folder, or a checkpoint "
        "prefix with a .index file."
    )


def is_official_variables(path: str) -> bool:
    """An official checkpoint without its SavedModel: a `variables/variables`
    prefix, or a folder holding `variables/variables.index` or
    `variables.index` and no saved_model.pb."""
    if os.path.isfile(path + ".index"):
        return True
    candidates = (os.path.join(path, "variables", "variables.index"), os.path.join(path, "variables.index"))
    return (
        os.path.isdir(path)
        and not os.path.isfile(os.path.join(path, "saved_model.pb"))
        and any(os.path.isfile(c) for c in candidates)
    )


def _official_keys(path: str) -> tuple:
    """(reader, the `variables/<N>` keys in N order) of an official checkpoint."""
    import tensorflow as tf  # Checkpoint reading only; the model stays backend-neutral.

    prefix = _checkpoint_prefix(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as e:  # Corrupt or foreign files.
        raise ValueError(f"Cannot read checkpoint '{prefix}': {e}") from None
    found = {}
    for key in reader.get_variable_to_shape_map():
        m = _KEY.match(key)
        if m and "/" not in m.group("prefix").rstrip("/"):
            found[int(m.group("n"))] = key
    if not found or sorted(found) != list(range(len(found))):
        raise ValueError(
            f"'{prefix}' is not an official FILM checkpoint (no contiguous variables/<N> entries)."
        )
    return reader, [found[n] for n in range(len(found))]


def read_official_checkpoint(path: str) -> list[np.ndarray]:
    """Reads the `variables/<N>` tensors of an official checkpoint, in N order."""
    reader, keys = _official_keys(path)
    return [reader.get_tensor(key) for key in keys]


def check_official_shapes(path: str, options: Options) -> None:
    """Checks, from the checkpoint's index alone (no tensor is read), that the
    official checkpoint at `path` holds exactly the variables of a film_net
    with `options`, every shape in order.

    Raises:
      FileNotFoundError: no checkpoint at `path`.
      ValueError: another number of variables, or the first wrong shape.
    """
    reader, keys = _official_keys(path)
    stored = reader.get_variable_to_shape_map()
    _check_shapes([tuple(stored[key]) for key in keys], options)


def _check_shapes(shapes: list[tuple], options: Options) -> list[tuple[str, tuple]]:
    """Checks the shapes of an official checkpoint's variables/<N>, in N
    order, against a film_net with `options`; returns its (name, shape) specs.

    Raises:
      ValueError: another number of variables, or the first wrong shape.
    """
    specs = official_variable_specs(options)
    if len(shapes) != len(specs):
        raise ValueError(
            f"Checkpoint has {len(shapes)} variables, but a film_net with options "
            f"{options.to_dict()} has {len(specs)}; the options do not match the checkpoint."
        )
    for n, ((name, shape), stored) in enumerate(zip(specs, shapes)):
        if tuple(stored) != shape:
            raise ValueError(
                f"Official variable {n} ({name}) has shape {list(stored)} in the checkpoint, "
                f"but the model expects {list(shape)}; the model options do not match the checkpoint."
            )
    return specs


def load_official_weights(model: keras.Model, path: str) -> None:
    """Loads an official FILM SavedModel's weights into a `create_model` model.

    Args:
      model: a model from `create_model` (or a FilmNet layer), built.
      path: an official SavedModel folder, its `variables/` folder, or a
        checkpoint prefix.

    Raises:
      FileNotFoundError: no checkpoint at `path`.
      ValueError: the checkpoint does not match the model's options (the
        message names the first mismatching variable); nothing is assigned.
    """
    layer = find_film_layer(model)
    values = read_official_checkpoint(path)
    specs = _check_shapes([value.shape for value in values], layer.options)
    ours = {
        v.path.split("/", 1)[1] if v.path.startswith(layer.name + "/") else v.path: v for v in layer.weights
    }
    targets = []
    for (name, shape), value in zip(specs, values):
        variable = ours.get(name[: -len(":0")])
        if variable is None or tuple(variable.shape) != shape:
            raise ValueError(f"The model has no variable matching official '{name}' {list(shape)}.")
        targets.append((variable, value))
    if len(targets) != len(ours):
        raise ValueError(f"The model has {len(ours)} variables, the checkpoint maps {len(targets)}.")
    for variable, value in targets:
        variable.assign(value)


def write_official_checkpoint(prefix: str, values: list[np.ndarray]) -> None:
    """Writes `values` as an official checkpoint: keys
    `variables/<N>/.ATTRIBUTES/VARIABLE_VALUE` in list order, the layout
    `read_official_checkpoint` reads (`<prefix>.index` and its data file;
    the caller makes it atomic). Used for weights converted from other
    formats (`film_tf.formats.torchscript_weights`)."""
    import tensorflow as tf

    names = [f"variables/{n}/.ATTRIBUTES/VARIABLE_VALUE" for n in range(len(values))]
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(values),
        tensors=[tf.constant(v) for v in values],
    )
