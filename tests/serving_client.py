"""A SavedModel client that knows nothing of film_tf (TensorFlow and numpy only).

It stands in for another service, or for TF Serving (whose model server
cannot be installed here), when `tests/serving/export_test.py` checks an export:

    python tests/serving_client.py --saved_model DIR --inputs in.npz --outputs out.npz

`in.npz` holds x0, x1 (B, H, W, 3) float32, time (B, 1) float32 and png0,
png1: the bytes of one PNG each, as uint8 arrays. `out.npz` gets the outputs
of serving_default, serving_aux (aux_* keys, when the export has it),
serving_bytes / serving_bytes_rest (encoded_image, encoded_image_rest as
uint8 arrays of PNG bytes), and a JSON report: the signatures with their
input and output dtypes and shapes, every op type in the graph, those not in
TensorFlow's op registry, and whether film_tf got imported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402
from tensorflow.python.framework import op_def_registry  # noqa: E402


def graph_op_types(saved_model_dir: str) -> set[str]:
    """Op types of every node of every meta graph and library function.

    A node whose type names a function of the library is a call of that
    function, not an op, and is left out (its body is listed instead).
    """
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    ops, functions = set(), set()
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            functions.add(function.signature.name)
            ops.update(node.op for node in function.node_def)
    return ops - functions


def unregistered_ops(saved_model_dir: str) -> list[str]:
    """Op types of the SavedModel that stock TensorFlow does not register."""
    return sorted(op for op in graph_op_types(saved_model_dir) if op_def_registry.get(op) is None)


def _spec(tensor_spec) -> dict:
    return {"dtype": tensor_spec.dtype.name, "shape": tensor_spec.shape.as_list()}


def describe_signatures(loaded) -> dict:
    """{name: {'inputs': {key: spec}, 'outputs': {key: spec}}}."""
    result = {}
    for name, function in loaded.signatures.items():
        _, kwargs = function.structured_input_signature
        result[name] = {
            "inputs": {key: _spec(spec) for key, spec in kwargs.items()},
            "outputs": {key: _spec(spec) for key, spec in function.structured_outputs.items()},
        }
    return result


def run(saved_model_dir: str, inputs_path: str, outputs_path: str) -> dict:
    inputs = np.load(inputs_path)
    loaded = tf.saved_model.load(saved_model_dir)
    signatures = describe_signatures(loaded)
    outputs = {}

    float_inputs = {key: tf.constant(inputs[key]) for key in ("x0", "x1", "time")}
    outputs["image"] = loaded.signatures["serving_default"](**float_inputs)["image"].numpy()
    if "serving_aux" in loaded.signatures:
        for key, value in loaded.signatures["serving_aux"](**float_inputs).items():
            outputs[f"aux_{key}"] = value.numpy()

    encoded = {
        "encoded_x0": tf.constant([inputs["png0"].tobytes()]),
        "encoded_x1": tf.constant([inputs["png1"].tobytes()]),
    }
    png = loaded.signatures["serving_bytes"](**encoded)["encoded_image"].numpy()[0]
    outputs["encoded_image"] = np.frombuffer(png, np.uint8)
    png = loaded.signatures["serving_bytes_rest"](**encoded)["encoded_image_bytes"].numpy()[0]
    outputs["encoded_image_rest"] = np.frombuffer(png, np.uint8)

    report = {
        "signatures": signatures,
        "op_types": sorted(graph_op_types(saved_model_dir)),
        "unregistered_ops": unregistered_ops(saved_model_dir),
        "film_tf_imported": any(name == "film_tf" or name.startswith("film_tf.") for name in sys.modules),
    }
    np.savez(outputs_path, report=np.array(json.dumps(report)), **outputs)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saved_model", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--outputs", required=True)
    args = parser.parse_args()
    report = run(args.saved_model, args.inputs, args.outputs)
    assert not report["film_tf_imported"], "film_tf was imported by the client"
    assert "film_tf" not in sys.modules
    print(json.dumps({"unregistered_ops": report["unregistered_ops"], "ops": len(report["op_types"])}))


if __name__ == "__main__":
    main()
