"""tf.data input pipelines over the official triplet TFRecords.

Training: files (each `base@N`, a glob or a plain path) -> interleave ->
shuffle -> repeat -> decode -> augment -> random crop (the same window for
x0, x1, y) -> batch -> prefetch, all with `tf.data.AUTOTUNE`. Several files
(each with its own crop size, e.g. different resolutions) are batched
separately and sampled together, like the released `data_lib`.

Randomness is stateless: element i of the (repeated) stream gets the seed
(seed, i), so a pipeline is reproducible regardless of parallelism.

Evaluation reads triplets one at a time: `film_tf.evaluation.evaluator.iterate_examples`.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from film_tf.data import augment
from film_tf.data.shards import check_shards
from film_tf.data.tfrecord import parse_example

AUTOTUNE = tf.data.AUTOTUNE
_TRAIN_KEYS = ("x0", "x1", "y", "time")


def as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes, int)):
        return [value]
    return list(value)


def check_sampling_weights(weights: Sequence[float] | None, num_files: int) -> list[float] | None:
    """Normalised per-file sampling weights; ValueError unless one non-negative
    weight per file with a positive sum. None: equal shares."""
    if weights is None or len(weights) == 0:
        return None
    weights = [float(w) for w in weights]
    if len(weights) != num_files:
        raise ValueError(
            f"training_dataset.sampling_weights has {len(weights)} entries for {num_files} files."
        )
    if min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(
            f"training_dataset.sampling_weights must be >= 0 with a positive sum, got {weights}."
        )
    return [w / sum(weights) for w in weights]


def first_example(path: str, skip_damaged: bool = False) -> dict | None:
    """The first triplet of a (sharded) file as numpy, or None if all shards
    are empty; the shards are checked whole first (`shards.check_shards`)."""
    for shard in check_shards(path, skip_damaged):
        for record in tf.data.TFRecordDataset(shard.path).take(min(shard.num_records, 1)):
            try:
                example = parse_example(record)
            except (tf.errors.InvalidArgumentError, tf.errors.DataLossError) as e:
                raise ValueError(f"'{shard.path}' does not hold FILM triplet examples: {e.message}") from None
            return {k: v.numpy() for k, v in example.items()}
    return None


def validate_training_files(
    files: Sequence[str], crop_sizes: Sequence[int], alignment: int = 1, skip_damaged: bool = False
) -> None:
    """Checks training data before hours are spent: files exist, are whole
    (`shards.check_shards`, unless `skip_damaged`), are not empty, and each
    crop fits its frames and the model's alignment.

    Only the first example of each file is decoded; the whole check reads
    every shard once (hash or CRCs, no decoding).

    Raises:
      FileNotFoundError: a missing file (named).
      ValueError: empty data, a bad crop size, mismatched lists.
    """
    files, crop_sizes = as_list(files), as_list(crop_sizes)
    if not files:
        raise ValueError(
            "No training data: set training_dataset.files, e.g. "
            "--gin_bindings \"training_dataset.files = ['/data/vimeo_interp_train.tfrecord@200']\"."
        )
    if len(crop_sizes) != len(files):
        raise ValueError(
            f"training_dataset.crop_sizes has {len(crop_sizes)} entries but training_dataset.files has "
            f"{len(files)}: give one crop size per file."
        )
    for path, crop in zip(files, crop_sizes):
        if not isinstance(crop, int) or crop <= 0:
            raise ValueError(f"Crop size for '{path}' must be a positive integer, got {crop!r}.")
        if crop % alignment:
            raise ValueError(
                f"Crop size {crop} for '{path}' is not a multiple of the model's alignment {alignment} "
                "(2^(film_net.pyramid_levels - 1))."
            )
        example = first_example(path, skip_damaged)
        if example is None:
            raise ValueError(f"Training data '{path}' holds no examples (empty dataset).")
        h, w = example["x0"].shape[:2]
        for key in ("y", "x1"):
            if example[key].shape != example["x0"].shape:
                raise ValueError(
                    f"'{path}': frames of a triplet differ in size ({example['x0'].shape} vs "
                    f"{example[key].shape} for {key})."
                )
        if crop > min(h, w):
            raise ValueError(
                f"Crop size {crop} is larger than the frames of '{path}' ({h}x{w}); use a crop of at "
                f"most {min(h, w)}."
            )


def random_crop(example: dict, crop_size: int, seed: tf.Tensor) -> dict:
    """Crops the same random (crop_size, crop_size) window from x0, x1 and y."""
    stacked = tf.concat([example[k] for k in ("x0", "x1", "y")], axis=-1)
    cropped = tf.image.stateless_random_crop(stacked, (crop_size, crop_size, 9), seed)
    out = dict(example)
    for i, k in enumerate(("x0", "x1", "y")):
        out[k] = cropped[..., 3 * i : 3 * i + 3]
    return out


def _records(
    path: str,
    shuffle_files: bool,
    seed: int,
    num_pipelines: int = 1,
    pipeline_index: int = 0,
    skip_damaged: bool = False,
) -> tf.data.Dataset:
    """Serialized records of `path`; with several input pipelines (workers),
    this pipeline's share: whole files when there are enough, else every
    num_pipelines-th record (skipped before decoding). The shards are checked
    whole first; with `skip_damaged` a damaged one is read up to its first
    damaged record."""
    checked = check_shards(path, skip_damaged)
    by_file = num_pipelines > 1 and len(checked) >= num_pipelines
    names = tf.data.Dataset.from_tensor_slices(
        ([s.path for s in checked], tf.constant([s.num_records for s in checked], tf.int64))
    )
    if by_file:
        names = names.shard(num_pipelines, pipeline_index)
    if shuffle_files and len(checked) > 1:
        names = names.shuffle(len(checked), seed=seed, reshuffle_each_iteration=True)
    records = names.interleave(
        lambda name, count: tf.data.TFRecordDataset(name).take(count),
        cycle_length=min(len(checked), 16),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    if num_pipelines > 1 and not by_file:
        records = records.shard(num_pipelines, pipeline_index)
    return records


def _training_dataset_one(
    path: str,
    crop_size: int,
    batch_size: int,
    augmentations: Sequence[augment.Augmentation],
    seed: int,
    shuffle_buffer: int,
    num_pipelines: int = 1,
    pipeline_index: int = 0,
    skip_damaged: bool = False,
) -> tf.data.Dataset:
    ds = _records(path, True, seed, num_pipelines, pipeline_index, skip_damaged)
    if shuffle_buffer > 1:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.repeat().enumerate()

    def prepare(index, record):
        example = parse_example(record)
        example = {k: example[k] for k in _TRAIN_KEYS}
        element_seed = tf.stack([tf.constant(seed, tf.int64), index])
        aug_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(element_seed, num=2))
        example = augment.apply_augmentations(example, augmentations, aug_seed)
        return random_crop(example, crop_size, crop_seed)

    ds = ds.map(prepare, num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True)


def create_training_dataset(
    files: Sequence[str],
    crop_sizes: Sequence[int],
    batch_size: int,
    augmentation_names: Sequence[str] = (),
    seed: int = 0,
    shuffle_buffer: int = 256,
    num_pipelines: int = 1,
    pipeline_index: int = 0,
    sampling_weights: Sequence[float] | None = None,
    skip_damaged_records: bool = False,
) -> tf.data.Dataset:
    """An endless dataset of training batches.

    Args:
      files: TFRecord files of triplets (`base@N`, globs or paths).
      crop_sizes: one square crop size per file.
      batch_size: the batch size (per replica under tf.distribute).
      augmentation_names: names from `augment.AUGMENTATIONS`, applied in order
        before the crop.
      seed: seeds shuffling, augmentation and cropping.
      shuffle_buffer: examples in the shuffle buffer (<= 1: no shuffling).
      num_pipelines, pipeline_index: read only this input pipeline's share of
        the data (multi-worker training; `tf.distribute.InputContext`).
      sampling_weights: one weight per file: the share of batches drawn from
        it (default: equal shares).
      skip_damaged_records: read damaged shards up to their first damaged
        record (`shards.check_shards`) instead of raising DamagedShardError.

    Returns:
      Batches `{'x0', 'x1', 'y'}` (B, crop, crop, 3) float32 in [0, 1] and
      `time` (B, 1) float32: each example's `time` feature (0.5 where the
      record has none), 1 - t where `random_reverse` swapped x0 and x1.
    """
    files, crop_sizes = as_list(files), as_list(crop_sizes)
    if len(files) != len(crop_sizes) or not files:
        raise ValueError("Give one crop size per training file (and at least one file).")
    augmentations = [fn for _, fn in augment.get_augmentations(augmentation_names)]
    datasets = [
        _training_dataset_one(
            path,
            int(crop),
            batch_size,
            augmentations,
            seed + 7919 * i + 1_000_003 * pipeline_index,
            shuffle_buffer,
            num_pipelines,
            pipeline_index,
            skip_damaged_records,
        )
        for i, (path, crop) in enumerate(zip(files, crop_sizes))
    ]
    weights = check_sampling_weights(sampling_weights, len(files))
    if len(datasets) == 1:
        ds = datasets[0]
    else:
        ds = tf.data.Dataset.sample_from_datasets(datasets, weights=weights, seed=seed)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(AUTOTUNE)
