"""In-process tests of the training library: config, validation, a short run."""

from __future__ import annotations

import dataclasses
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from film_tf.formats import checkpoint_io, model_io
from film_tf.runtime import padding
from film_tf.training import gin_config, summaries, train_lib
from film_tf.training.config import TrainConfig
from film_tf.training.schedules import learning_rate_schedule, loss_weight_schedules
from tests.conftest import reference_options
from tests.data.data_pipeline_test import write_triplets
from tests.losses.losses_test import _synthetic_weights, write_matconvnet_vgg

GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "gin_configs")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    path = os.path.join(tmp_path_factory.mktemp("data"), "bikes.tfrecord@2")
    write_triplets(path, count=8)
    return path


def tiny_config(data: str, **overrides) -> TrainConfig:
    values = dict(
        options=reference_options("film_official_tiny"),
        learning_rate=1e-3,
        num_steps=3,
        train_files=[data],
        crop_sizes=[32],
        batch_size=2,
        augmentation_names=["random_image_rot90", "random_flip", "random_rotate", "random_reverse"],
        shuffle_buffer=8,
        loss_names=["l1"],
        loss_weights=loss_weight_schedules(1),
        checkpoint_every=2,
        log_every=1,
        summary_every=1,
        image_summary_every=2,
        export_saved_model=False,
    )
    values.update(overrides)
    if "loss_names" in overrides and "loss_weights" not in overrides:
        values["loss_weights"] = loss_weight_schedules(len(values["loss_names"]))
    return TrainConfig(**values)


@pytest.mark.parametrize("name", ["film_net-L1.gin", "film_net-VGG.gin", "film_net-Style.gin"])
def test_released_gin_configs_parse_to_the_released_values(name):
    with gin.unlock_config():
        gin.clear_config()
        try:
            gin.parse_config_files_and_bindings(
                [os.path.join(GIN_DIR, name)], ["training_dataset.files = ['x@2']"]
            )
            config = gin_config.build_config()
        finally:
            gin.clear_config()
    assert config.options.to_dict() == {
        "pyramid_levels": 7,
        "fusion_pyramid_levels": 5,
        "specialized_levels": 3,
        "sub_levels": 4,
        "flow_convs": [3, 3, 3, 3],
        "flow_filters": [32, 64, 128, 256],
        "filters": 64,
        "use_aux_outputs": True,
    }
    assert (config.learning_rate, config.learning_rate_decay_steps, config.learning_rate_decay_rate) == (
        1e-4,
        750000,
        0.464158,
    )
    assert config.learning_rate_staircase and config.num_steps == 3_000_000
    assert config.batch_size == 8 and list(config.crop_sizes) == [256] and list(config.train_files) == ["x@2"]
    assert list(config.augmentation_names) == [
        "random_image_rot90",
        "random_flip",
        "random_rotate",
        "random_reverse",
    ]
    expected = {
        "film_net-L1.gin": ["l1"],
        "film_net-VGG.gin": ["l1", "vgg"],
        "film_net-Style.gin": ["l1", "vgg", "style"],
    }
    assert list(config.loss_names) == expected[name]
    weights = {
        n: [float(w(tf.constant(s, tf.int64))) for s in (0, 1_500_000, 1_500_001)]
        for n, w in zip(config.loss_names, config.loss_weights)
    }
    assert weights["l1"] == [1.0, 1.0, 1.0]
    if "vgg" in weights:
        assert weights["vgg"] == [1.0, 1.0, 0.25]
    if "style" in weights:
        assert weights["style"] == [0.0, 0.0, 40.0]
    assert list(config.metric_names) == ["l1", "l2", "ssim", "psnr"]


def test_learning_rate_is_staircase_exponential_decay():
    schedule = learning_rate_schedule(1e-4, 750_000, 0.464158, staircase=True)
    for step, expected in (
        (0, 1e-4),
        (749_999, 1e-4),
        (750_000, 0.464158e-4),
        (2_999_999, 1e-4 * 0.464158**3),
    ):
        np.testing.assert_allclose(float(schedule(step)), expected, rtol=1e-5)


def test_validation_rejects_bad_configs_before_training(data, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.tfrecord"):
        train_lib.validate(tiny_config(data, train_files=[str(tmp_path / "nothere.tfrecord@4")]))
    with pytest.raises(ValueError, match="Unknown loss 'lpips'"):
        train_lib.validate(tiny_config(data, loss_names=["l1", "lpips"]))
    with pytest.raises(ValueError, match="larger than the frames"):
        train_lib.validate(tiny_config(data, crop_sizes=[128]))
    empty = str(tmp_path / "empty.tfrecord")
    tf.io.TFRecordWriter(empty).close()
    with pytest.raises(ValueError, match="no examples"):
        train_lib.validate(tiny_config(data, train_files=[empty]))
    with pytest.raises(FileNotFoundError, match="vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        train_lib.validate(tiny_config(data, loss_names=["l1", "vgg"]))
    with pytest.raises(ValueError, match="Unknown augmentation"):
        train_lib.validate(tiny_config(data, augmentation_names=["random_crop_zoom"]))
    with pytest.raises(ValueError, match="model.name"):
        train_lib.validate(tiny_config(data, model_name="film_net_v2"))
    with pytest.raises(ValueError, match="Eval dataset .* no examples"):
        train_lib.validate(tiny_config(data, eval_files=[empty]))
    with pytest.raises(FileNotFoundError, match="eval_missing"):
        train_lib.validate(tiny_config(data, eval_files=[str(tmp_path / "eval_missing.tfrecord")]))


@pytest.fixture(scope="module")
def short_run(data, tmp_path_factory):
    """3 steps of l1 + l1_warped + vgg + style (synthetic VGG), mixed bfloat16, with eval."""
    folder = tmp_path_factory.mktemp("short")
    mat = str(folder / "imagenet-vgg-verydeep-19.mat")
    write_matconvnet_vgg(mat, _synthetic_weights())
    names = ["l1", "l1_warped", "vgg", "style"]
    schedules = loss_weight_schedules(
        4,
        parameters=[
            {"boundaries": [0], "values": [1.0, 1.0]},
            {"boundaries": [0], "values": [0.5, 0.5]},
            {"boundaries": [1], "values": [1.0, 0.25]},
            {"boundaries": [1], "values": [0.0, 40.0]},
        ],
    )
    config = tiny_config(
        data,
        loss_names=names,
        loss_weights=schedules,
        vgg_model_file=mat,
        mixed_precision="mixed_bfloat16",
        eval_files=[data],
        eval_max_examples=2,
        eval_every=2,
    )
    run = str(folder / "run")
    return config, run, train_lib.train(config, run)


def test_short_run_losses_schedules_summaries_checkpoints(short_run, data):
    config, run, result = short_run
    names = list(config.loss_names)
    assert (result.start_step, result.final_step) == (0, 3)
    assert sorted(result.losses) == [1, 2, 3] and all(np.isfinite(v) for v in result.losses.values())
    assert tf.train.latest_checkpoint(os.path.join(run, "train")).endswith("ckpt-3")
    assert checkpoint_io.checkpoint_step(os.path.join(run, "train", "ckpt-2")) == 2
    assert not os.path.exists(os.path.join(run, "saved_model"))  # export_saved_model=False

    scalars = summaries.read_scalars(os.path.join(run, "train"))
    for name in names:
        assert sorted(scalars[f"loss/{name}"]) == [1, 2, 3]
    # The schedules switch after step 1; the summary at step s is of the step that ran with
    # step counter s - 1 (the counter counts completed steps, like optimizer.iterations).
    assert [scalars["loss_weight/style"][s] for s in (1, 2, 3)] == [0.0, 0.0, 40.0]
    assert [scalars["loss_weight/vgg"][s] for s in (1, 2, 3)] == [1.0, 1.0, 0.25]
    for s in (1, 2, 3):
        expected = sum(scalars[f"loss_weight/{n}"][s] * scalars[f"loss/{n}"][s] for n in names)
        np.testing.assert_allclose(scalars["loss/total"][s], expected, rtol=1e-5)
        np.testing.assert_allclose(scalars["learning_rate"][s], 1e-3, rtol=1e-6)
    assert "steps_per_sec" in scalars
    eval_scalars = summaries.read_scalars(os.path.join(run, "eval", "bikes"))
    assert set(eval_scalars) == {"l1", "l2", "ssim", "psnr"}
    assert sorted(eval_scalars["psnr"]) == [2, 3]  # every 2 steps, and at the end
    assert eval_scalars["l1"][2] != eval_scalars["l1"][3]
    assert result.eval_metrics["bikes"]["psnr"] == pytest.approx(eval_scalars["psnr"][3], rel=1e-6)
    assert result.eval_metrics["bikes"]["l1"] == pytest.approx(eval_scalars["l1"][3], rel=1e-6)

    # Checkpointed weights restore into a fresh float32 model whose predictions, scored
    # independently here (reflect padding, a clipped prediction, numpy metrics, as film-eval
    # scores frames), give the eval's L1 and PSNR.
    from film_tf import create_model
    from film_tf.evaluation.evaluator import iterate_examples

    model = create_model(config.options)
    assert model_io.restore_checkpoint(model, os.path.join(run, "train")) == 3
    l1, psnr = [], []
    for example in iterate_examples(data, max_examples=2):
        x0, box = padding.pad_to_alignment(example["x0"][None], 16)
        x1, _ = padding.pad_to_alignment(example["x1"][None], 16)
        time = np.full((1, 1), 0.5, np.float32)
        image = padding.crop(model({"x0": x0, "x1": x1, "time": time})["image"].numpy(), box)[0]
        error = np.clip(image, 0.0, 1.0).astype(np.float64) - example["y"]
        l1.append(np.mean(np.abs(error)))
        psnr.append(10 * np.log10(1.0 / np.mean(error**2)))
    np.testing.assert_allclose(np.mean(l1), result.eval_metrics["bikes"]["l1"], rtol=1e-4)
    np.testing.assert_allclose(np.mean(psnr), result.eval_metrics["bikes"]["psnr"], atol=1e-3)


def test_training_eval_equals_film_eval_on_unaligned_frames(short_run, data, tmp_path):
    """The run's own evaluation and film-eval on its checkpoint agree (68x160 frames:
    not a multiple of the 16-px alignment, so padding matters)."""
    from film_tf.evaluation import eval_cli

    config, run, result = short_run
    gin_file = tmp_path / "bikes.gin"
    gin_file.write_text(f"evaluation.tfrecord = '{data}'\nevaluation.max_examples = 2\n")
    try:
        film_eval = eval_cli.run(str(gin_file), run, str(tmp_path / "eval"))
    finally:
        gin.clear_config()
    assert film_eval["num_examples"] == 2
    ours = result.eval_metrics["bikes"]
    assert abs(film_eval["psnr"] - ours["psnr"]) <= 1e-4
    assert abs(film_eval["ssim"] - ours["ssim"]) <= 1e-6
    assert abs(film_eval["l1"] - ours["l1"]) <= 1e-7


def test_a_finished_run_is_not_trained_again(short_run):
    config, run, _ = short_run
    again = train_lib.train(dataclasses.replace(config, eval_files=[]), run)
    assert (again.start_step, again.final_step, again.losses) == (3, 3, {})
    assert tf.train.latest_checkpoint(os.path.join(run, "train")).endswith("ckpt-3")


def test_fine_tuning_initialisation(short_run):
    from film_tf import create_model
    from tests.conftest import reference_dir

    _, run, _ = short_run
    options = reference_options("film_official_tiny")
    trained = create_model(options)
    model_io.restore_checkpoint(trained, os.path.join(run, "train"))
    for source in (run, os.path.join(run, "train"), os.path.join(run, "train", "ckpt-3")):
        model = create_model(options)
        train_lib.init_model_weights(model, source)
        for a, b in zip(trained.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)
    # An official SavedModel's variables (the released Style/VGG models are loaded the same way).
    official = create_model(options)
    train_lib.init_model_weights(official, reference_dir("film_official_tiny"))
    assert not all(np.array_equal(a, b) for a, b in zip(trained.get_weights(), official.get_weights()))
    with pytest.raises(ValueError, match="trainable variables"):
        model_io.restore_checkpoint(create_model(reference_options("film_official_small")), run + "/train")
