"""TF Serving's warm-up file: `assets.extra/tf_serving_warmup_requests`.

When a model server loads a version it first replays the requests in this
file (a TFRecord file of `tensorflow.serving.PredictionLog` protos), so the
graph set-up of each signature (Grappler, kernel creation: seconds for
film_net) is paid then, not by the first client. `write_warmup_requests`
writes one small Predict request per signature of the export.

The PredictionLog messages are built here from their public field numbers
(tensorflow_serving/apis/prediction_log.proto, predict.proto, model.proto)
with protobuf's descriptor API, in a private descriptor pool: the
`tensorflow-serving-api` package that defines them requires the newest
TensorFlow (2.21 needs tensorflow >= 2.21), and film_tf supports older ones.
Only the fields a warm-up request uses are declared; the bytes are the same
as the package's (tests/serving/warmup_test.py parses them with it).
"""

from __future__ import annotations

import functools
import io
import os

import numpy as np

WARMUP_FOLDER = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
_PROTO_FILE = "film_tf/serving/prediction_log_subset.proto"


def warmup_path(export_dir: str) -> str:
    """Where TF Serving looks for the warm-up file of a SavedModel."""
    return os.path.join(export_dir, WARMUP_FOLDER, WARMUP_FILE)


@functools.cache
def message_classes() -> dict[str, type]:
    """{'PredictionLog', 'PredictLog', 'PredictRequest', 'ModelSpec'}: message
    classes with TF Serving's full names and field numbers (the subset a
    warm-up request uses), from a private descriptor pool."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from tensorflow.core.framework import tensor_pb2

    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file_descriptor) -> None:  # TensorProto's file and its imports, once each.
        if file_descriptor.name in added:
            return
        for dependency in file_descriptor.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file_descriptor.CopyToProto(proto)
        pool.Add(proto)
        added.add(file_descriptor.name)

    add(tensor_pb2.DESCRIPTOR)
    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name=_PROTO_FILE,
        package="tensorflow.serving",
        syntax="proto3",
        dependency=[tensor_pb2.DESCRIPTOR.name],
    )

    def message(name: str, fields: list[tuple[str, int, int, str | None]], label=field.LABEL_OPTIONAL):
        result = proto.message_type.add(name=name)
        for field_name, number, kind, type_name in fields:
            result.field.add(name=field_name, number=number, type=kind, label=label, type_name=type_name)
        return result

    message(
        "ModelSpec", [("name", 1, field.TYPE_STRING, None), ("signature_name", 3, field.TYPE_STRING, None)]
    )
    request = message(
        "PredictRequest",
        [("model_spec", 1, field.TYPE_MESSAGE, ".tensorflow.serving.ModelSpec")],
    )
    request.field.add(
        name="inputs",
        number=2,
        type=field.TYPE_MESSAGE,
        label=field.LABEL_REPEATED,
        type_name=".tensorflow.serving.PredictRequest.InputsEntry",
    )
    request.field.add(name="output_filter", number=3, type=field.TYPE_STRING, label=field.LABEL_REPEATED)
    entry = request.nested_type.add(name="InputsEntry")  # proto3 map<string, TensorProto>.
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    entry.field.add(
        name="value",
        number=2,
        type=field.TYPE_MESSAGE,
        label=field.LABEL_OPTIONAL,
        type_name=".tensorflow.TensorProto",
    )
    message("PredictLog", [("request", 1, field.TYPE_MESSAGE, ".tensorflow.serving.PredictRequest")])
    message("PredictionLog", [("predict_log", 6, field.TYPE_MESSAGE, ".tensorflow.serving.PredictLog")])
    pool.Add(proto)
    names = ("PredictionLog", "PredictLog", "PredictRequest", "ModelSpec")
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.serving.{name}"))
        for name in names
    }


def sample_pair(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two (size, size, 3) uint8 frames: a smooth colour pattern and the same
    pattern moved by 2 pixels, so the request exercises the whole model."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    frame = np.stack([rows, cols, 0.5 + 0.5 * np.sin(6.0 * (rows + cols))], axis=-1)
    frame0 = np.round(frame * 255).astype(np.uint8)
    return frame0, np.roll(frame0, 2, axis=1)


def _png(frame: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def warmup_requests(
    signature_inputs: dict[str, list[str]], size: int
) -> list[tuple[str, dict[str, np.ndarray]]]:
    """[(signature, {input: array})]: one batch-1 request of `size`x`size`
    frames per signature (float inputs: x0, x1 (1, size, size, 3) float32 and
    time (1, 1) = 0.5; bytes inputs: (1,) PNG strings)."""
    frame0, frame1 = sample_pair(size)
    values = {
        "x0": frame0[None].astype(np.float32) / 255,
        "x1": frame1[None].astype(np.float32) / 255,
        "time": np.full((1, 1), 0.5, np.float32),
        "encoded_x0": np.array([_png(frame0)], dtype=object),
        "encoded_x1": np.array([_png(frame1)], dtype=object),
    }
    return [(name, {key: values[key] for key in inputs}) for name, inputs in signature_inputs.items()]


def write_warmup_requests(
    export_dir: str, signature_inputs: dict[str, list[str]], size: int, model_name: str = "film"
) -> str:
    """Writes `<export_dir>/assets.extra/tf_serving_warmup_requests`: one
    PredictionLog (a Predict request) per signature, see `warmup_requests`.
    `model_name` fills ModelSpec.name (TF Serving ignores it on warm-up).
    Returns the file's path."""
    import tensorflow as tf

    classes = message_classes()
    path = warmup_path(export_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for signature, inputs in warmup_requests(signature_inputs, size):
            log = classes["PredictionLog"]()
            request = log.predict_log.request
            request.model_spec.name = model_name
            request.model_spec.signature_name = signature
            for key, value in inputs.items():
                request.inputs[key].ParseFromString(tf.make_tensor_proto(value).SerializeToString())
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(export_dir: str) -> list[tuple[str, dict[str, np.ndarray]]]:
    """[(signature, {input: array})] of the warm-up file, in order (strings as
    bytes objects)."""
    import tensorflow as tf
    from tensorflow.core.framework import tensor_pb2

    log_class = message_classes()["PredictionLog"]
    requests = []
    for record in tf.data.TFRecordDataset(warmup_path(export_dir)).as_numpy_iterator():
        log = log_class.FromString(record)
        request = log.predict_log.request
        inputs = {
            key: tf.make_ndarray(tensor_pb2.TensorProto.FromString(value.SerializeToString()))
            for key, value in request.inputs.items()
        }
        requests.append((request.model_spec.signature_name, inputs))
    return requests
