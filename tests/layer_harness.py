"""A shared test harness for Keras layers (in the style of keras-hub's `run_layer_test`).

`run_layer_test(cls, init_kwargs, input_data, ...)` checks, for one layer class:

1. eager call: output shapes (the whole nested structure) and finite values;
   trainable and non-trainable weight counts;
2. `get_config` / `from_config`: the config is JSON-serializable, the clone has
   the same config and, with the same weights, the same outputs;
3. Keras serialization: `serialize_keras_object` / `deserialize_keras_object`
   without `custom_objects` (the class is registered under `film_tf>Name`);
4. symbolic call on `keras.Input`s: output shapes (batch None), wrapped in a
   functional model that gives the eager outputs, saved as `.keras` and loaded
   back with `keras.models.load_model` WITHOUT `custom_objects`, same outputs;
5. gradients (TensorFlow backend): every trainable weight gets a finite,
   non-zero gradient (no dead or disconnected weights);
6. dtype policy `mixed_bfloat16`: every variable float32, every sub-layer
   computing in bfloat16, floating outputs `expected_mixed_dtype`, outputs
   close to float32 ones with the same weights, and the policy survives
   `from_config`.

`input_data` is one argument (an array, or a list/dict of arrays) or, as a
tuple, several positional arguments; `call_kwargs` are passed as they are.
Shapes in `expected_output_shape` follow the output's structure, with tuples
as leaves (e.g. `[(2, 16, 16, 3), (2, 8, 8, 3)]`).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import keras
import numpy as np


def _args(input_data) -> tuple:
    return input_data if isinstance(input_data, tuple) else (input_data,)


def _numpy(structure):
    return keras.tree.map_structure(
        lambda t: np.asarray(keras.ops.convert_to_numpy(t), np.float32), structure
    )


def _shapes(structure):
    return keras.tree.map_structure(lambda t: tuple(t.shape), structure)


def _assert_outputs_close(actual, expected, atol: float, what: str) -> None:
    actual, expected = _numpy(actual), _numpy(expected)
    assert keras.tree.flatten(_shapes(actual)) == keras.tree.flatten(_shapes(expected)), what
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected)):
        np.testing.assert_allclose(a, e, rtol=0, atol=atol, err_msg=what)


def _symbolic(value, name: str | None = None):
    value = np.asarray(value)
    return keras.Input(shape=value.shape[1:], dtype=str(value.dtype), name=name)


def _symbolic_arg(arg):
    """keras.Input(s) like `arg`; a dict's inputs are named by their keys, as Keras wants."""
    if isinstance(arg, dict):
        return {key: _symbolic(value, name=key) for key, value in arg.items()}
    return keras.tree.map_structure(_symbolic, arg)


def run_layer_test(
    cls: type,
    init_kwargs: dict[str, Any],
    input_data,
    expected_output_shape,
    expected_num_trainable_weights: int,
    expected_num_non_trainable_weights: int = 0,
    call_kwargs: dict[str, Any] | None = None,
    expected_mixed_dtype: str = "bfloat16",
    run_gradient_check: bool = True,
    run_mixed_precision_check: bool = True,
    atol: float = 1e-6,
    mixed_tolerance: float = 0.05,
) -> None:
    """Runs every check above on `cls(**init_kwargs)`; raises AssertionError on a failure.

    Args:
      cls: the layer class.
      init_kwargs: constructor arguments (without `dtype`).
      input_data: the call's input (see the module docstring), numpy arrays.
      expected_output_shape: the eager output's shapes, nested like the output.
      expected_num_trainable_weights: len(layer.trainable_weights) after the call.
      expected_num_non_trainable_weights: len(layer.non_trainable_weights).
      call_kwargs: non-tensor call arguments (e.g. `depth`).
      expected_mixed_dtype: dtype of the floating outputs under mixed_bfloat16.
      run_gradient_check: check that every trainable weight gets a gradient.
      run_mixed_precision_check: run check 6.
      atol: tolerance between float32 outputs that should be equal.
      mixed_tolerance: bfloat16 vs float32 outputs: max abs difference over
        max abs float32 output.
    """
    call_kwargs = call_kwargs or {}
    args = _args(input_data)
    name = cls.__name__

    # 1. Eager call.
    layer = cls(**init_kwargs)
    outputs = layer(*args, **call_kwargs)
    assert _shapes(outputs) == expected_output_shape, (name, _shapes(outputs), expected_output_shape)
    for value in keras.tree.flatten(_numpy(outputs)):
        assert np.all(np.isfinite(value)), f"{name}: non-finite outputs"
    assert len(layer.trainable_weights) == expected_num_trainable_weights, (
        name,
        len(layer.trainable_weights),
    )
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, (
        name,
        len(layer.non_trainable_weights),
    )
    weights = layer.get_weights()

    # 2. get_config / from_config.
    config = layer.get_config()
    json.dumps(config)
    clone = cls.from_config(config)
    assert clone.get_config() == config, name
    clone(*args, **call_kwargs)  # builds it
    clone.set_weights(weights)
    _assert_outputs_close(clone(*args, **call_kwargs), outputs, atol, f"{name}: from_config clone")

    # 3. Keras serialization, no custom_objects.
    assert keras.saving.get_registered_name(cls) == f"film_tf>{name}", (
        f"{name} is not registered with keras.saving.register_keras_serializable(package='film_tf')"
    )
    serialized = keras.saving.serialize_keras_object(layer)
    json.dumps(serialized)
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls and restored.get_config() == config, name

    # 4. Symbolic call, functional model, .keras round trip.
    symbolic_args = tuple(_symbolic_arg(arg) for arg in args)
    symbolic_layer = cls.from_config(config)
    symbolic_outputs = symbolic_layer(*symbolic_args, **call_kwargs)
    expected_symbolic = keras.tree.map_structure(lambda t: (None, *tuple(t.shape)[1:]), outputs)
    assert _shapes(symbolic_outputs) == expected_symbolic, (name, _shapes(symbolic_outputs))
    model_inputs = symbolic_args if len(symbolic_args) > 1 else symbolic_args[0]
    model = keras.Model(model_inputs, symbolic_outputs)
    model.set_weights(weights)
    model_args = args if len(args) > 1 else args[0]
    _assert_outputs_close(model(model_args), outputs, atol, f"{name}: functional model")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "layer.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    _assert_outputs_close(loaded(model_args), outputs, atol, f"{name}: .keras round trip")

    # 5. Every trainable weight is connected to the outputs.
    if run_gradient_check and layer.trainable_weights and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            values = keras.tree.flatten(layer(*args, **call_kwargs))
            loss = tf.add_n([tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in values])
        grads = tape.gradient(loss, layer.trainable_weights)
        for weight, grad in zip(layer.trainable_weights, grads):
            assert grad is not None, f"{name}: no gradient for {weight.path}"
            grad = np.asarray(grad)
            assert np.all(np.isfinite(grad)) and np.any(grad != 0), f"{name}: zero gradient for {weight.path}"

    # 6. Mixed precision.
    if run_mixed_precision_check:
        mixed = cls(**init_kwargs, dtype="mixed_bfloat16")
        mixed(*args, **call_kwargs)
        mixed.set_weights(weights)
        _check_mixed(mixed, expected_mixed_dtype, name)
        mixed_outputs = mixed(*args, **call_kwargs)
        for value in keras.tree.flatten(mixed_outputs):
            if "float" in str(value.dtype):
                assert keras.backend.standardize_dtype(value.dtype) == expected_mixed_dtype, (
                    name,
                    value.dtype,
                )
        for a, e in zip(keras.tree.flatten(_numpy(mixed_outputs)), keras.tree.flatten(_numpy(outputs))):
            scale = max(float(np.abs(e).max()), 1e-3)
            error = float(np.abs(a - e).max())
            assert error <= mixed_tolerance * scale, f"{name}: bfloat16 error {error} (scale {scale})"
        rebuilt = cls.from_config(mixed.get_config())
        rebuilt(*args, **call_kwargs)
        _check_mixed(rebuilt, expected_mixed_dtype, f"{name} from_config")


def _check_mixed(layer, expected_dtype: str, name: str) -> None:
    for weight in layer.weights:
        assert weight.dtype == "float32", f"{name}: {weight.path} is {weight.dtype}"
    for sub in layer._flatten_layers(include_self=True):
        assert sub.dtype_policy.name == "mixed_bfloat16", f"{name}: {sub.name} has {sub.dtype_policy.name}"
        assert sub.compute_dtype == expected_dtype, f"{name}: {sub.name} computes in {sub.compute_dtype}"
