"""TensorBoard summaries of training and evaluation."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from film_tf.model.interpolator import WARPED_OUTPUTS

IMAGE_KEYS = ("x0", "x1", "y", "prediction", *WARPED_OUTPUTS)


# Written with core TF only (`tf.summary.write` and the plugin metadata
# TensorBoard expects), so training does not depend on the tensorboard package.
def _metadata(plugin: str) -> bytes:
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    ).SerializeToString()


def scalars(writer, step: int, values: Mapping[str, float], prefix: str = "") -> None:
    """One TensorBoard scalar per entry of `values`."""
    metadata = _metadata("scalars")
    with writer.as_default(step=step):
        for name, value in values.items():
            tf.summary.write(prefix + name, tf.constant(float(value), tf.float32), metadata=metadata)


def images(
    writer, step: int, batch: Mapping[str, np.ndarray], max_outputs: int = 2, prefix: str = ""
) -> None:
    """Image summaries of the triplet, the prediction and the warped inputs
    ((B, H, W, 3) float in [0, 1]; the first `max_outputs` of the batch)."""
    metadata = _metadata("images")
    with writer.as_default(step=step):
        for name in IMAGE_KEYS:
            if name not in batch:
                continue
            image = np.clip(np.asarray(batch[name], np.float32)[:max_outputs], 0.0, 1.0)
            pngs = [tf.io.encode_png(np.round(i * 255).astype(np.uint8)) for i in image]
            h, w = image.shape[1:3]
            tensor = tf.stack([tf.as_string(w), tf.as_string(h), *pngs])
            tf.summary.write(prefix + name, tensor, metadata=metadata)


def read_scalars(logdir: str) -> dict[str, dict[int, float]]:
    """All scalar summaries under `logdir` (event files only, not recursive):
    {tag: {step: value}}; later events of a step win (resumed runs)."""
    out: dict[str, dict[int, float]] = {}
    for path in sorted(tf.io.gfile.glob(f"{logdir}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.HasField("tensor") and value.metadata.plugin_data.plugin_name == "scalars":
                    number = float(tf.make_ndarray(value.tensor))
                elif value.HasField("simple_value"):
                    number = float(value.simple_value)
                else:
                    continue
                out.setdefault(value.tag, {})[int(event.step)] = number
    return out
