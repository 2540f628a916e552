"""Trains the bundled default FILM model with Keras `model.fit` on numpy triplets.

    python -m benchmarks.default_model.train \
        --gin_config=gin_configs/default_model.gin --run_dir=/work/runs/default_model

The run folder (outside the repository) holds the decoded frames, `latest.weights.h5`,
the optimizer state `latest.optimizer.npz`, `state.json` (steps done) and
`log.csv`; running the same command again resumes from it. Run folders live outside
the repository and do not survive a change of machine: `default_model_training.init_weights`
starts a new folder from a weights file (e.g. a copy of the bundled one) with a fresh
optimizer. `--export_to` copies the latest weights and the options JSON to the package's
assets.
"""

from __future__ import annotations

import csv
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin
import keras
import numpy as np
from absl import flags

from benchmarks.default_model.data import TripletSampler, load_photos, load_real_frames
from film_tf import Options, create_model
from film_tf.cli_utils import run_absl

FLAGS = flags.FLAGS
flags.DEFINE_string("gin_config", "gin_configs/default_model.gin", "Gin config file.")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.")
flags.DEFINE_string("run_dir", "/work/runs/default_model", "Run folder (resumes from it).")
flags.DEFINE_string("export_to", None, "If set, only export the run's latest weights to this assets folder.")


class TripletBatches(keras.utils.PyDataset):
    """Endless random batches from a `TripletSampler`; `len` is one epoch."""

    def __init__(
        self,
        sampler: TripletSampler,
        batch_size: int,
        steps: int,
        outputs=("image",),
    ):
        super().__init__()
        self.sampler, self.batch_size, self.steps = sampler, batch_size, steps
        self.outputs = tuple(outputs)

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int):
        inputs, targets = self.sampler.batch(self.batch_size)
        # Both inputs warped to the middle should look like it (outside occlusions).
        targets["x0_warped"] = targets["x1_warped"] = targets["image"]
        if "forward_flow" in self.outputs:
            targets.update(teacher_flows(inputs["x0"], inputs["x1"]))
        return inputs, {key: targets[key] for key in self.outputs}


def teacher_flows(x0: np.ndarray, x1: np.ndarray) -> dict[str, np.ndarray]:
    """DIS optical flow (OpenCV, classical) of each training pair in both directions,
    as targets for the model's finest forward and backward flows (B, H, W, 2)."""
    from film_tf.evaluation.baselines import dis_optical_flow

    return {
        "forward_flow": np.stack([dis_optical_flow(a, b) for a, b in zip(x0, x1)]),
        "backward_flow": np.stack([dis_optical_flow(b, a) for a, b in zip(x0, x1)]),
    }


class Checkpoint(keras.callbacks.Callback):
    """Saves weights, optimizer state and progress at every epoch end (atomically)."""

    def __init__(self, run_dir: str, steps_per_epoch: int, started: float, start_step: int):
        super().__init__()
        self.run_dir, self.steps_per_epoch = run_dir, steps_per_epoch
        self.started, self.start_step = started, start_step

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        save_state(self.model, self.run_dir, epoch + 1, self.steps_per_epoch)
        steps = (epoch + 1) * self.steps_per_epoch
        elapsed = time.time() - self.started
        row = {
            "epoch": epoch + 1,
            "step": steps,
            "loss": float((logs or {}).get("loss", np.nan)),
            "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
            "wall_s": round(elapsed, 1),
            "steps_per_s": round((steps - self.start_step) / max(elapsed, 1e-6), 4),
            "utc": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        }
        path = os.path.join(self.run_dir, "log.csv")
        new = not os.path.isfile(path)
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(json.dumps(row), flush=True)


def save_state(model: keras.Model, run_dir: str, epochs: int, steps_per_epoch: int) -> None:
    tmp = os.path.join(run_dir, "tmp.weights.h5")
    model.save_weights(tmp)
    os.replace(tmp, os.path.join(run_dir, "latest.weights.h5"))
    opt = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model.optimizer.variables)}
    tmp = os.path.join(run_dir, "tmp.optimizer.npz")
    np.savez(tmp, **opt)
    os.replace(tmp, os.path.join(run_dir, "latest.optimizer.npz"))
    tmp = os.path.join(run_dir, "state.json.tmp")
    with open(tmp, "w") as f:
        json.dump(
            {"epochs": epochs, "steps": epochs * steps_per_epoch, "steps_per_epoch": steps_per_epoch}, f
        )
    os.replace(tmp, os.path.join(run_dir, "state.json"))


def restore_state(model: keras.Model, run_dir: str) -> int:
    """Loads the run's latest weights and optimizer state; returns epochs done."""
    path = os.path.join(run_dir, "state.json")
    if not os.path.isfile(path):
        return 0
    with open(path) as f:
        state = json.load(f)
    # Build the optimizer first so its slots exist when the state is assigned.
    model.optimizer.build(model.trainable_variables)
    model.load_weights(os.path.join(run_dir, "latest.weights.h5"))
    saved = np.load(os.path.join(run_dir, "latest.optimizer.npz"))
    variables = model.optimizer.variables
    if len(saved.files) != len(variables):
        raise ValueError(f"Optimizer state in {run_dir} does not match the model; use a new run folder.")
    for i, v in enumerate(variables):
        v.assign(saved[f"v{i}"])
    return int(state["epochs"])


# FilmNet sub-layers frozen for each `train_parts` value.
FROZEN_PARTS = {
    "all": (),
    "flow": ("feature_extractor", "fusion"),
    "fusion": ("feature_extractor", "flow_estimator"),
}
TRAIN_PARTS = tuple(FROZEN_PARTS)
FLOW_OUTPUTS = ("forward_flow", "backward_flow")


def training_model(options: Options, outputs=("image",), train_parts: str = "all") -> keras.Model:
    """The model to train, with the named outputs.

    `outputs` are taken from "image", the warped inputs "x0_warped" and
    "x1_warped", and the finest flows "forward_flow" (x0 -> x1) and
    "backward_flow" (x1 -> x0); all but `image` are aux outputs of the same
    FilmNet layer, so the weights (and the saved files) are those of
    `create_model(options)`. `train_parts` "flow" freezes the feature extractor
    and the fusion decoder (without `image` the graph has no fusion pass, and
    no backward pass runs through the extractor); "fusion" freezes the
    extractor and the flow estimators.
    """
    if train_parts not in TRAIN_PARTS:
        raise ValueError(f"train_parts must be one of {TRAIN_PARTS}, got '{train_parts}'.")
    if tuple(outputs) == ("image",):
        model = create_model(Options.from_dict({**options.to_dict(), "use_aux_outputs": False}))
    else:
        full = create_model(Options.from_dict({**options.to_dict(), "use_aux_outputs": True}))
        tensors = {key: full.output[key] for key in ("image", "x0_warped", "x1_warped")}
        for key in FLOW_OUTPUTS:
            tensors[key] = full.output[f"{key}_pyramid"][0]
        model = keras.Model(full.inputs, {key: tensors[key] for key in outputs}, name=full.name)
    net = model.get_layer("film_net")
    for part in FROZEN_PARTS[train_parts]:
        getattr(net, part).trainable = False
    return model


@gin.configurable("default_model_training")
def run(
    run_dir: str,
    options: Options = gin.REQUIRED,
    total_steps: int = 20000,
    steps_per_epoch: int = 100,
    batch_size: int = 8,
    crop: int = 96,
    learning_rate: float = 2e-4,
    final_learning_rate: float = 2e-5,
    gaps=(1, 2, 3, 4),
    scale_weights=(("1", 1.0), ("2", 2.0), ("4", 1.0)),
    synthetic_fraction: float = 0.25,
    max_shift: float = 32.0,
    static_fraction: float = 0.0,
    jit_compile: bool = False,
    warped_loss_weight: float = 0.0,
    dtype_policy: str = "float32",
    init_weights: str | None = None,
    train_parts: str = "all",
    flow_loss_weight: float = 0.0,
    seed: int = 0,
) -> None:
    """Trains (or resumes) the default model; see the module docstring.

    `warped_loss_weight` adds L1 losses between each input warped to the
    middle and the true middle (a direct signal for the flow estimator);
    `dtype_policy` "mixed_bfloat16" trains 1.5x faster on an AMX CPU (slower
    without AMX). `init_weights` (a `.weights.h5` file of the same options, e.g.
    the bundled model) starts a new run folder from those weights with a fresh
    optimizer; a run folder that has a state ignores it. The pyramid may be
    deeper than the weights' own: from `specialized_levels` on, levels share
    their weights, so the variables are the same. `train_parts` "flow" or
    "fusion" trains only those parts (see `training_model`). `flow_loss_weight`
    adds L1 losses (in pixels) between the model's finest flows and DIS optical
    flow computed on each training pair (`teacher_flows`).
    """
    if init_weights and not os.path.isfile(init_weights):
        raise FileNotFoundError(f"init_weights not found: '{init_weights}'.")
    keras.config.set_dtype_policy(dtype_policy)
    os.makedirs(run_dir, exist_ok=True)
    options = Options.from_dict({**options.to_dict(), "use_aux_outputs": False})
    with open(os.path.join(run_dir, "options.json"), "w") as f:
        json.dump(options.to_dict(), f, indent=2)
    weights = {int(k): float(v) for k, v in scale_weights}
    real = load_real_frames(os.path.join(run_dir, "data"), scales=tuple(weights))
    # Outputs whose losses can move the trained parts: the flows and warped
    # inputs do not depend on the fusion decoder, the image needs it.
    weights_by_output = {}
    if train_parts != "flow":
        weights_by_output["image"] = 1.0
    if train_parts != "fusion":
        weights_by_output.update(dict.fromkeys(("x0_warped", "x1_warped"), warped_loss_weight))
        weights_by_output.update(dict.fromkeys(FLOW_OUTPUTS, flow_loss_weight))
    weights_by_output = {k: w for k, w in weights_by_output.items() if w > 0}
    if not weights_by_output:
        raise ValueError(f"train_parts '{train_parts}' has no loss: set warped or flow loss weights.")
    model = training_model(options, outputs=tuple(weights_by_output), train_parts=train_parts)
    print(f"params: {model.count_params()}", flush=True)
    # Cosine decay over total_steps, driven by optimizer.iterations, so a resumed run
    # continues the same schedule.
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=total_steps, alpha=final_learning_rate / learning_rate
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=dict.fromkeys(weights_by_output, "mae"),
        loss_weights=weights_by_output,
        jit_compile=jit_compile,
    )
    start_epoch = restore_state(model, run_dir)
    if start_epoch == 0 and init_weights:
        model.load_weights(init_weights)
        print(f"initialised from {init_weights}", flush=True)
    # A fresh seed per resume, so a resumed run does not replay the same batches.
    sampler = TripletSampler(
        real,
        load_photos(),
        crop=crop,
        gaps=gaps,
        scale_weights=weights,
        synthetic_fraction=synthetic_fraction,
        max_shift=max_shift,
        static_fraction=static_fraction,
        seed=seed + start_epoch,
    )
    epochs = total_steps // steps_per_epoch
    print(f"resuming at step {start_epoch * steps_per_epoch} of {epochs * steps_per_epoch}", flush=True)
    if start_epoch >= epochs:
        return
    model.fit(
        TripletBatches(sampler, batch_size, steps_per_epoch, outputs=tuple(weights_by_output)),
        epochs=epochs,
        initial_epoch=start_epoch,
        callbacks=[Checkpoint(run_dir, steps_per_epoch, time.time(), start_epoch * steps_per_epoch)],
        verbose=0,
    )


def export(run_dir: str, assets_dir: str) -> None:
    """Writes the run's latest weights (without optimizer state) and options to
    `assets_dir/default_model.weights.h5` + `default_model.json`."""
    from film_tf.inference import load_options_json, save_weights_with_options

    src = os.path.join(run_dir, "latest.weights.h5")
    if not os.path.isfile(src):
        raise FileNotFoundError(f"No weights in run folder '{run_dir}' (train first).")
    options = load_options_json(os.path.join(run_dir, "options.json"))
    # A fresh, uncompiled model: the run's file also holds the Adam slots,
    # which would triple the bundled file's size.
    model = create_model(options)
    model.load_weights(src)
    save_weights_with_options(model, os.path.join(assets_dir, "default_model.weights.h5"))


def main(argv) -> None:
    del argv
    if FLAGS.export_to:
        export(FLAGS.run_dir, FLAGS.export_to)
        return
    if not os.path.isfile(FLAGS.gin_config):
        raise FileNotFoundError(f"Gin config not found: '{FLAGS.gin_config}'.")
    gin.parse_config_files_and_bindings([FLAGS.gin_config], FLAGS.gin_bindings)
    run(FLAGS.run_dir)


def run_main() -> None:
    run_absl(main)


if __name__ == "__main__":
    run_main()
