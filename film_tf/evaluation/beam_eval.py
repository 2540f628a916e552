"""Batch evaluation as an Apache Beam pipeline (`film-eval` with Beam options).

    shards, checked whole (`film_tf.data.shards`; their record counts give
    file order and --max_examples) -> records
           -> spread over workers -> decode, predict, score -> rows -> results.json

Each worker loads the predictor once (`predictors.load_predictor`) and scores
every triplet with the one evaluator (`evaluator.evaluate_examples` on that
triplet, hence `metrics.compute_metrics`), so the per-example metrics, the
means, results.json and the saved frames are those of the single-process
default (`eval_lib.evaluate`), in the same file order. Triplets are decoded by
`film_tf.data.tfrecord.parse_example`, as in `evaluator.iterate_examples`.

On one machine the single-process default is usually faster for a real model
(TensorFlow already uses every core, and each Beam worker holds its own copy
of the model); the Beam path is for runners with many machines. The output
folder (and `--save_frames`' frames) must then be on storage every worker can
write to.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Sequence

from film_tf.evaluation.metrics import METRICS, check_metrics


def _offsets(counts: list[tuple[int, int]]) -> dict[int, int]:
    offsets, total = {}, 0
    for shard, n in sorted(counts):
        offsets[shard] = total
        total += n
    return offsets


def _read_shard(item: tuple[int, str, int], offsets: dict[int, int], max_examples: int):
    """(global index, serialized) of the shard's records (its checked count),
    up to `max_examples` overall."""
    import tensorflow as tf

    shard, path, count = item
    start = offsets[shard]
    if 0 <= max_examples <= start:
        return
    for k, record in enumerate(tf.data.TFRecordDataset(path).take(count).as_numpy_iterator()):
        if 0 <= max_examples <= start + k:
            return
        yield start + k, record


class _Score:
    """A DoFn: (index, serialized triplet) -> (index, the evaluator's row)."""

    def __init__(self, model_path: str, memory_budget_gb: float | None, metrics: Sequence[str], frames_dir):
        self.model_path = model_path
        self.memory_budget_gb = memory_budget_gb
        self.metrics = tuple(metrics)
        self.frames_dir = frames_dir
        self.predict = None

    def setup(self) -> None:
        from film_tf.evaluation.predictors import load_predictor

        self.predict = load_predictor(self.model_path, self.memory_budget_gb)

    def process(self, item: tuple[int, bytes]):
        import tensorflow as tf

        from film_tf.data.tfrecord import parse_example
        from film_tf.evaluation.evaluator import as_example, evaluate_examples
        from film_tf.evaluation.predictors import frame_name
        from film_tf.media.image_io import write_image

        index, serialized = item
        example = as_example(parse_example(tf.constant(serialized)))

        def save(_, ex, prediction):
            if self.frames_dir:
                write_image(os.path.join(self.frames_dir, frame_name(index, ex["path"])), prediction)

        result = evaluate_examples(self.predict, [example], self.metrics, on_prediction=save)
        yield index, result.examples[0]


def _write_rows(rows: list, path: str) -> None:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(rows))


def score_on_beam(
    model_path: str,
    tfrecord: str,
    metrics: Sequence[str] = METRICS,
    max_examples: int = -1,
    memory_budget_gb: float | None = None,
    frames_dir: str | None = None,
    pipeline_args: Sequence[str] = (),
    work_dir: str = ".",
) -> list[dict]:
    """The evaluator's per-example rows (`path`, metric values) of every
    triplet of `tfrecord` (the first `max_examples`; -1 = all), in file order,
    scored on Beam; frames are saved into `frames_dir` when given."""
    import apache_beam as beam
    import tensorflow as tf
    from apache_beam.options.pipeline_options import PipelineOptions

    from film_tf.data.shards import check_shards
    from film_tf.jobs import beam_options

    metrics = check_metrics(metrics)
    # Checked whole here, on the driver, before any worker starts: the counts
    # found give each shard's first index (file order) without another read.
    checked = check_shards(tfrecord)
    shards = [(i, s.path, s.num_records) for i, s in enumerate(checked)]
    offsets = _offsets([(i, s.num_records) for i, s in enumerate(checked)])
    args = beam_options.default_pipeline_args(pipeline_args)
    beam_options.check_pipeline_args(args)
    rows_path = os.path.join(work_dir, f".rows-{uuid.uuid4().hex[:12]}.tmp.json")
    max_examples = -1 if max_examples is None else max_examples
    score = _Score(model_path, memory_budget_gb, metrics, frames_dir)
    try:
        with beam.Pipeline(options=PipelineOptions(args)) as p:
            _ = (
                p
                | "Shards" >> beam.Create(shards)
                | "Read" >> beam.FlatMap(_read_shard, offsets, max_examples)
                | "Spread" >> beam.Reshuffle()
                | "PredictScore" >> beam.ParDo(beam_options.as_dofn(score))
                | "AllRows" >> beam.combiners.ToList()
                | "WriteRows" >> beam.Map(_write_rows, rows_path)
            )
        with tf.io.gfile.GFile(rows_path) as f:
            rows = json.loads(f.read())
    finally:
        if tf.io.gfile.exists(rows_path):
            tf.io.gfile.remove(rows_path)
    return [row for _, row in sorted(rows, key=lambda r: r[0])]
