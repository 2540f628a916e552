"""Training throughput of FILM (examples/sec), for the record.

Runs the real distributed training step (film_tf.training.train_step) of the
released configuration (film_net-*.gin model, Adam, 256x256 crops, global
batch 8) on in-memory random batches, so only the model, losses and
optimizer are timed (the tf.data pipeline is not). The VGG/Style losses use a
VGG-19 of the real shapes with random weights unless --vgg_file is given:
the cost is the same.

  python benchmarks/train_throughput.py                      # L1 model, this CPU
  python benchmarks/train_throughput.py --losses l1,vgg,style --steps 3
  python benchmarks/train_throughput.py --precision mixed_bfloat16   # AMX CPUs
  python benchmarks/train_throughput.py --mode gpu --steps 50 --jit_compile --precision mixed_float16
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "losses", "l1", "Comma-separated training losses (l1 = the L1 model; l1,vgg,style = Style)."
)
flags.DEFINE_integer("crop", 256, "Square crop size.")
flags.DEFINE_integer("batch_size", 8, "Global batch size.")
flags.DEFINE_integer("steps", 3, "Timed steps.")
flags.DEFINE_integer("warmup", 1, "Untimed steps first (tracing, autotuning).")
flags.DEFINE_enum("mode", "cpu", ["cpu", "gpu"], "One CPU, or MirroredStrategy over all GPUs.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the forward/backward pass.")
flags.DEFINE_enum(
    "precision",
    "float32",
    ["float32", "mixed_bfloat16", "mixed_float16"],
    "Compute precision (mixed_float16 adds loss scaling).",
)
flags.DEFINE_string(
    "vgg_file", None, "Real VGG-19 weights (.mat or .h5); random weights of the real shapes if unset."
)
flags.DEFINE_string(
    "gin_config", "gin_configs/film_net-L1.gin", "Model options come from this config's film_net.*."
)


def random_vgg19_file(path: str) -> str:
    """A Keras-layout VGG-19 h5 with random weights of the real shapes."""
    import h5py
    import numpy as np

    from film_tf.losses.vgg19 import BLOCK_DEPTHS

    rng = np.random.default_rng(0)
    channels = (64, 128, 256, 512, 512)
    with h5py.File(path, "w") as f:
        cin = 3
        for b, depth in enumerate(BLOCK_DEPTHS):
            for c in range(depth):
                name = f"block{b + 1}_conv{c + 1}"
                group = f.create_group(name)
                group.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
                scale = np.sqrt(2.0 / (9 * cin))
                group.create_dataset(
                    f"{name}/kernel:0", data=rng.normal(0, scale, (3, 3, cin, channels[b])).astype("float32")
                )
                group.create_dataset(f"{name}/bias:0", data=np.zeros(channels[b], "float32"))
                cin = channels[b]
    return path


def main(argv):
    del argv
    import tempfile

    import gin
    import keras
    import tensorflow as tf

    from film_tf.training import distribute, gin_config, train_step
    from film_tf.training.config import TrainConfig
    from film_tf.training.schedules import loss_weight_schedules

    strategy = distribute.create_strategy(FLAGS.mode)
    gin.parse_config_files_and_bindings([FLAGS.gin_config], ["training_dataset.files = []"])
    options = gin_config.build_config().options
    names = FLAGS.losses.split(",")
    vgg_file = FLAGS.vgg_file
    if any(n in ("vgg", "style") for n in names) and not vgg_file:
        vgg_file = random_vgg19_file(os.path.join(tempfile.mkdtemp(), "vgg19_random.h5"))
    config = TrainConfig(
        options=options,
        loss_names=names,
        loss_weights=loss_weight_schedules(len(names)),
        vgg_model_file=vgg_file,
        batch_size=FLAGS.batch_size,
        jit_compile=FLAGS.jit_compile,
        mixed_precision=FLAGS.precision,
    )
    policy = FLAGS.precision
    keras.mixed_precision.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model, optimizer, _, step, terms = train_step.create_training_objects(config, policy)
    shape = (FLAGS.batch_size, FLAGS.crop, FLAGS.crop, 3)
    batch = {
        "x0": tf.random.uniform(shape, seed=1),
        "x1": tf.random.uniform(shape, seed=2),
        "y": tf.random.uniform(shape, seed=3),
        "time": tf.fill((FLAGS.batch_size, 1), 0.5),
    }
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    step_fn = train_step.make_train_step(strategy, model, optimizer, terms, step, FLAGS.jit_compile)

    params = sum(int(tf.size(v)) for v in model.trainable_variables)
    print(
        f"FILM {params:,} parameters, losses {names}, {FLAGS.crop}x{FLAGS.crop} crops, global batch "
        f"{FLAGS.batch_size}, {strategy.num_replicas_in_sync} replica(s) on {FLAGS.mode}, "
        f"jit_compile={FLAGS.jit_compile}, precision={FLAGS.precision}",
        flush=True,
    )
    start = time.perf_counter()
    for _ in range(FLAGS.warmup):
        loss = float(step_fn(iterator)[0])
    print(f"warm-up ({FLAGS.warmup} step(s), incl. tracing): {time.perf_counter() - start:.1f} s", flush=True)
    start = time.perf_counter()
    for _ in range(FLAGS.steps):
        loss = float(step_fn(iterator)[0])  # float() waits for the step to finish
    seconds = time.perf_counter() - start
    print(
        f"{FLAGS.steps} steps in {seconds:.1f} s: {FLAGS.steps / seconds:.4f} steps/sec, "
        f"{FLAGS.steps * FLAGS.batch_size / seconds:.3f} examples/sec (last loss {loss:.4f})"
    )


if __name__ == "__main__":
    app.run(main)
