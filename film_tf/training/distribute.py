"""Distribution strategies for `film-train --mode`, and who the chief is."""

from __future__ import annotations

import json
import os

import tensorflow as tf

MODES = ("cpu", "gpu", "multi_worker")


def split_cpu(num_devices: int) -> None:
    """Splits the CPU into `num_devices` logical devices (before TF initialises)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


def create_strategy(mode: str, cpu_devices: int = 1) -> tf.distribute.Strategy:
    """The strategy of a training mode.

    Args:
      mode: 'cpu' (one CPU device, or MirroredStrategy over `cpu_devices`
        logical CPU devices), 'gpu' (MirroredStrategy over all visible GPUs)
        or 'multi_worker' (MultiWorkerMirroredStrategy from TF_CONFIG).
      cpu_devices: logical CPU devices for 'cpu' mode (tests of the mirrored
        code path without GPUs).
    """
    if mode not in MODES:
        raise ValueError(f"Unknown --mode '{mode}'; use one of {list(MODES)}.")
    if mode == "multi_worker":
        config = os.environ.get("TF_CONFIG")
        if not config:
            raise ValueError(
                "--mode multi_worker needs the TF_CONFIG environment variable (cluster and task)."
            )
        try:
            json.loads(config)
        except json.JSONDecodeError as e:
            raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    if mode == "gpu":
        gpus = tf.config.list_logical_devices("GPU")
        if not gpus:
            raise ValueError("--mode gpu: no GPU is visible to TensorFlow; use --mode cpu.")
        return tf.distribute.MirroredStrategy([g.name for g in gpus])
    if cpu_devices > 1:
        split_cpu(cpu_devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cpu_devices)])
    return tf.distribute.OneDeviceStrategy("/cpu:0")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True unless this is a non-chief worker of a multi-worker cluster.

    The chief is task 'chief', or worker 0 when the cluster has no chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    if resolver.task_type == "worker":
        has_chief = "chief" in resolver.cluster_spec().as_dict()
        return not has_chief and resolver.task_id == 0
    return False
