"""TF Serving's warm-up file in film-export SavedModels (issue 34): read back
with TF Serving's own messages (`tensorflow-serving-api`), and each request
replayed through the SavedModel's signature, as the model server does on load."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from film_tf.serving import export_lib, warmup
from film_tf.serving.module import signature_io


@pytest.fixture(scope="module")
def export(tiny_saved_model):
    return tiny_saved_model[0]


def test_the_file_is_predict_logs_tf_serving_parses(export):
    prediction_log_pb2 = pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
    path = os.path.join(export, "assets.extra", "tf_serving_warmup_requests")
    assert warmup.warmup_path(export) == path
    records = list(tf.data.TFRecordDataset(path).as_numpy_iterator())
    expected = signature_io(use_aux_outputs=True)
    assert len(records) == len(expected) == 4
    ours = warmup.read_warmup_requests(export)
    for record, (name, io_names), (our_name, our_inputs) in zip(records, expected.items(), ours):
        log = prediction_log_pb2.PredictionLog.FromString(record)
        assert log.WhichOneof("log_type") == "predict_log"
        request = log.predict_log.request
        assert request.model_spec.signature_name == name == our_name
        assert sorted(request.inputs) == sorted(io_names["inputs"]) == sorted(our_inputs)
        for key, tensor in request.inputs.items():
            value = tf.make_ndarray(tensor)
            if key.startswith("encoded_"):
                assert value.shape == (1,) and value[0] == our_inputs[key][0]
                assert value[0].startswith(b"\x89PNG\r\n\x1a\n")
            else:
                np.testing.assert_array_equal(value, our_inputs[key])
                assert value.dtype == np.float32
                assert value.shape == ((1, 1) if key == "time" else (1, 64, 64, 3))
        # Nothing lost either way: both message classes write the same bytes
        # (deterministic serialization: map entries sorted).
        ours_again = warmup.message_classes()["PredictionLog"].FromString(record)
        assert log.SerializeToString(deterministic=True) == ours_again.SerializeToString(deterministic=True)


def test_each_request_replays_through_the_saved_model(export):
    loaded = tf.saved_model.load(export)
    requests = warmup.read_warmup_requests(export)
    frames = {}
    for name, inputs in requests:
        outputs = loaded.signatures[name](**{key: tf.constant(value) for key, value in inputs.items()})
        assert sorted(outputs) == sorted(signature_io(True)[name]["outputs"])
        if "image" in outputs:
            frames[name] = outputs["image"].numpy()
            # The model at work: not a copy of either input frame.
            assert np.abs(frames[name] - inputs["x0"]).max() > 1e-2
            assert np.abs(frames[name] - inputs["x1"]).max() > 1e-2
        else:
            (encoded,) = outputs.values()
            frames[name] = np.asarray(Image.open(io.BytesIO(encoded.numpy()[0])).convert("RGB"))
    np.testing.assert_array_equal(frames["serving_aux"], frames["serving_default"])
    assert frames["serving_default"].shape == (1, 64, 64, 3)
    png = np.round(np.clip(frames["serving_default"][0], 0, 1) * 255)
    for name in ("serving_bytes", "serving_bytes_rest"):
        assert np.abs(frames[name].astype(np.int32) - png.astype(np.int32)).max() <= 1
    assert export_lib.WARMUP_SIZE == 64
