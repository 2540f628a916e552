"""The training step's options: frozen parts, the cosine schedule, sampling weights,
initialising from the bundled weights at a deeper pyramid."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from film_tf import create_model
from film_tf.data import pipeline
from film_tf.formats.official_weights import find_film_layer
from film_tf.model.options import Options
from film_tf.training import train_lib, train_step
from film_tf.training.schedules import learning_rate_schedule
from tests.data.data_pipeline_test import write_triplets
from tests.training.train_lib_test import tiny_config


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("data") / "bikes.tfrecord@2")
    write_triplets(path, count=6)
    return path


def test_cosine_schedule_values():
    schedule = learning_rate_schedule(1e-4, 1000, 0.5, kind="cosine", alpha=0.1)
    for step, expected in ((0, 1e-4), (500, 1e-4 * (0.1 + 0.9 * 0.5)), (1000, 1e-5), (5000, 1e-5)):
        np.testing.assert_allclose(float(schedule(step)), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="schedule"):
        learning_rate_schedule(1e-4, 1000, 0.5, kind="linear")


def test_new_options_are_validated(data):
    with pytest.raises(ValueError, match="frozen_parts entry 'decoder'"):
        tiny_config(data, frozen_parts=["decoder"]).validate()
    with pytest.raises(ValueError, match="nothing would train"):
        tiny_config(data, frozen_parts=["feature_extractor", "flow_estimator", "fusion"]).validate()
    with pytest.raises(ValueError, match="learning_rate_schedule"):
        tiny_config(data, learning_rate_schedule="step").validate()
    with pytest.raises(ValueError, match="sampling_weights has 2 entries for 1 files"):
        train_step.validate(tiny_config(data, sampling_weights=[1.0, 2.0]))
    with pytest.raises(ValueError, match="positive sum"):
        pipeline.check_sampling_weights([0.0, 0.0], 2)
    assert pipeline.check_sampling_weights([1.0, 3.0], 2) == [0.25, 0.75]
    assert pipeline.check_sampling_weights([], 2) is None


def test_sampling_weights_choose_the_files(data, tmp_path):
    # Two files told apart by their crop size: a weight of 0 is never drawn, equal weights draw both.
    other = str(tmp_path / "other.tfrecord@1")
    write_triplets(other, count=2)

    def crops(weights):
        ds = pipeline.create_training_dataset(
            [data, other], [32, 16], batch_size=2, seed=1, sampling_weights=weights
        )
        return [int(b["x0"].shape[1]) for b in ds.take(12)]

    assert set(crops([1.0, 0.0])) == {32}
    assert set(crops([0.0, 1.0])) == {16}
    assert set(crops([1.0, 1.0])) == {16, 32}


def test_frozen_parts_keep_their_weights(data, tmp_path):
    config = tiny_config(data, num_steps=2, frozen_parts=["feature_extractor"], checkpoint_every=1)
    run = str(tmp_path / "run")
    train_lib.train(config, run)
    # The run's seed gives its initial weights.
    keras.utils.set_random_seed(config.seed)
    start = create_model(config.options)
    trained = create_model(config.options)
    train_lib.init_model_weights(trained, run)
    net0, net1 = find_film_layer(start), find_film_layer(trained)
    for a, b in zip(net0.feature_extractor.get_weights(), net1.feature_extractor.get_weights()):
        np.testing.assert_array_equal(a, b)
    changed = [not np.array_equal(a, b) for a, b in zip(net0.fusion.get_weights(), net1.fusion.get_weights())]
    assert all(changed)


def test_init_from_the_bundled_weights_at_seven_levels():
    from film_tf.formats import model_io

    bundled = model_io.load_model()
    options = Options.from_dict({**model_io.model_options(bundled).to_dict(), "pyramid_levels": 7})
    deeper = create_model(Options.from_dict({**options.to_dict(), "use_aux_outputs": True}))
    train_lib.init_model_weights(deeper, model_io.bundled_model_path())
    for a, b in zip(bundled.get_weights(), deeper.get_weights()):
        np.testing.assert_array_equal(a, b)


def _write_timed_triplets(path: str, time: float) -> None:
    """Six real bikes.mp4 triplets (as `write_triplets`), stored with `time`."""
    import tensorflow as tf

    from film_tf.data.tfrecord import atomic_sharded_writer, make_example
    from tests.data.data_pipeline_test import _clip_frames

    frames = _clip_frames(4)
    with atomic_sharded_writer(path) as writers:
        for i in range(6):
            triplet = frames[2 * i : 2 * i + 3]
            encoded = [tf.io.encode_png(f).numpy() for f in triplet]
            example = make_example(encoded, ["png"] * 3, [f.shape[:2] for f in triplet], f"{i}", time)
            writers[0].write(example.SerializeToString())


def test_the_train_step_feeds_each_records_time_to_the_model(tmp_path):
    """One step on the same crops stored at t = 0.5 (no feature) and t = 0.3: the
    step's loss is the loss of the model's prediction at the record's time, and
    the two differ (the model honours t)."""
    import tensorflow as tf

    from film_tf.losses import losses as losses_lib

    config = tiny_config("unused", augmentation_names=[])
    results = {}
    for t in (0.5, 0.3):
        path = str(tmp_path / f"t{t}.tfrecord@1")
        _write_timed_triplets(path, t)
        ds = pipeline.create_training_dataset([path], [32], batch_size=2, seed=4)
        batch = next(iter(ds))
        np.testing.assert_array_equal(batch["time"].numpy(), np.full((2, 1), t, np.float32))
        keras.utils.set_random_seed(0)
        strategy = tf.distribute.get_strategy()
        model, optimizer, _, step, terms = train_step.create_training_objects(config)
        at = {}
        for s in (0.5, 0.3):
            inputs = {"x0": batch["x0"], "x1": batch["x1"], "time": tf.fill((2, 1), s)}
            prediction = model(inputs, training=True)
            at[s] = float(losses_lib.total_loss(terms, batch, prediction, step.read_value())[0])
        one_batch = iter(tf.data.Dataset.from_tensors(batch))
        total = float(train_step.make_train_step(strategy, model, optimizer, terms, step)(one_batch)[0])
        # The step's loss is the one at the record's time, not at the other.
        np.testing.assert_allclose(total, at[t], rtol=1e-5)
        assert abs(at[0.3] - at[0.5]) > 1e-4  # 8e-4 here; float noise is about 1e-7
        results[t] = batch
    # Same crops (the same seed) from both files: only the time differs.
    for key in ("x0", "x1", "y"):
        np.testing.assert_array_equal(results[0.5][key].numpy(), results[0.3][key].numpy())
