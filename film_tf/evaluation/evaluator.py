"""The one evaluator: the paper's metrics of a predictor over triplets.

It only computes (big_vision style): it reads nothing and writes nothing.
Its callers bring the examples and keep what they need:

  * `film-eval` (`eval_lib.evaluate`): a benchmark TFRecord through
    `iterate_examples`, results.json and optional frames;
  * the training loop's periodic evaluation (`training/periodic_eval.py`):
    the eval TFRecords through the same `iterate_examples`, TensorBoard
    summaries;
  * the held-out benchmark (`benchmarks/eval_heldout.py`): triplets cut from
    videos.

All three predict through `film_tf.runtime.inference.Interpolator` (reflect padding
to the model's alignment, crop back, clip to [0, 1]) and score with
`metrics.compute_metrics`, so the same weights on the same triplets give the
same numbers everywhere.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Iterator

import numpy as np

from film_tf.evaluation.metrics import METRICS, check_metrics, compute_metrics

# predict(x0, x1[, time]) -> the frame at `time` (default 0.5, the middle);
# (H, W, 3) float32 in [0, 1]. `time` is passed only for records whose time
# is not 0.5 (the optional `time` feature of `film_tf.data.tfrecord`).
Predictor = Callable[..., np.ndarray]


@dataclasses.dataclass
class EvalResult:
    """Per-example metrics and their means.

    Attributes:
      metrics: the metric names, in METRICS order.
      examples: one dict per triplet: `path` and each metric's value.
      means: metric -> mean over the examples (PSNR may be +inf).
    """

    metrics: tuple[str, ...]
    examples: list[dict]
    means: dict[str, float]

    @property
    def num_examples(self) -> int:
        return len(self.examples)

    @classmethod
    def from_rows(cls, metrics: tuple[str, ...], rows: list[dict], source: str = "") -> EvalResult:
        """The result of per-example `rows` (each with every metric): the one
        place the means are taken, for the in-process and the Beam evaluator."""
        if not rows:
            raise ValueError(f"No examples in '{source}'." if source else "No examples to evaluate.")
        means = {name: float(np.mean([row[name] for row in rows])) for name in metrics}
        return cls(tuple(metrics), list(rows), means)


def iterate_examples(tfrecord: str, max_examples: int = -1) -> Iterator[dict[str, np.ndarray]]:
    """The one eval-dataset reader: decoded triplets `{'x0', 'y', 'x1', 'path',
    'time'}` (frames float32 (H, W, 3) in [0, 1]; time a float, 0.5 for records
    without one) one at a time, in file order.

    The shards are checked whole first (`film_tf.data.shards.check_shards`:
    against their builder's counts file, else every record's CRC), so a
    damaged shard is one error before the first example.

    Args:
      tfrecord: `base@N`, a glob or a file (see `film_tf.data.tfrecord`).
      max_examples: stop after this many; -1 = all.

    Raises:
      FileNotFoundError, DamagedShardError (a ValueError): a missing or
        damaged shard, in one line naming it; ValueError: a record that is
        not a FILM triplet (named by shard and index).
    """
    import tensorflow as tf

    from film_tf.data.shards import DamagedShardError, check_shards
    from film_tf.data.tfrecord import parse_example

    limit = max_examples if max_examples is not None and max_examples >= 0 else None
    produced = 0
    for shard in check_shards(tfrecord):
        if limit is not None and produced >= limit:
            return
        take = shard.num_records if limit is None else min(shard.num_records, limit - produced)
        dataset = tf.data.TFRecordDataset(shard.path).take(take).map(parse_example)
        # No parallel map: decoded 4K triplets are large; one at a time is enough
        # next to the model's cost.
        iterator = iter(dataset.prefetch(1))
        for index in range(take):
            try:
                example = next(iterator)
            except StopIteration:  # the file changed after the check
                raise DamagedShardError(
                    f"The TFRecord shard '{shard.path}' ended after {index} of its {take} records."
                ) from None
            except tf.errors.DataLossError as e:  # likewise
                raise DamagedShardError(
                    f"The TFRecord shard '{shard.path}' is damaged at record {index + 1}: {e.message}"
                ) from None
            except tf.errors.InvalidArgumentError as e:
                raise ValueError(
                    f"Record {index + 1} of '{shard.path}' is not a FILM triplet: "
                    f"{' '.join(e.message.split())[:200]}"
                ) from None
            produced += 1
            yield as_example(example)


def as_example(parsed: dict) -> dict:
    """One decoded triplet (`film_tf.data.tfrecord.parse_example`'s tensors) as the
    evaluator's example `{'x0', 'y', 'x1', 'path', 'time'}` (used by every reader:
    here and on Beam, so a record's time is never lost on the way)."""
    return {
        "x0": parsed["x0"].numpy(),
        "y": parsed["y"].numpy(),
        "x1": parsed["x1"].numpy(),
        "path": parsed["path"].numpy().decode("utf-8"),
        "time": float(parsed["time"].numpy()[0]),
    }


def evaluate_examples(
    predict: Predictor,
    examples: Iterable[dict],
    metrics: Iterable[str] = METRICS,
    on_prediction: Callable[[int, dict, np.ndarray], None] | None = None,
    source: str = "",
) -> EvalResult:
    """Scores `predict` on every triplet.

    Args:
      predict: (x0, x1[, time]) -> the frame at `time`, (H, W, 3) float32
        (see `Predictor`).
      examples: dicts with `x0`, `x1`, `y` ((H, W, 3) float32 in [0, 1]) and
        optionally `path` and `time` (default 0.5).
      metrics: names from METRICS.
      on_prediction: called as (index, example, prediction) after each
        example, e.g. to save the frame or keep the first for a summary.
      source: where the examples come from, for the error message.

    Raises:
      ValueError: an unknown metric, a prediction of the wrong shape, or no
        examples at all.
    """
    metrics = check_metrics(metrics)
    rows = []
    for index, example in enumerate(examples):
        time = float(np.asarray(example.get("time", 0.5)).reshape(-1)[0])
        inputs = (example["x0"], example["x1"]) + (() if time == 0.5 else (time,))
        prediction = np.asarray(predict(*inputs), np.float32)
        path = example.get("path", str(index))
        if prediction.shape != example["y"].shape:
            raise ValueError(
                f"The model returned shape {prediction.shape} for '{path}', "
                f"whose ground truth is {example['y'].shape}."
            )
        rows.append({"path": path, **compute_metrics(prediction, example["y"], metrics)})
        if on_prediction is not None:
            on_prediction(index, example, prediction)
    return EvalResult.from_rows(metrics, rows, source)
