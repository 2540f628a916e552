"""The single-process reference encoder, and the one TFRecord shard writer.

The builders run on Beam (`beam_pipeline.write_examples`). `write_tfrecord`
here is the home-made thread-pool encoder they used before: kept as the
reference the Beam pipeline must reproduce byte for byte (same shard of each
example, `shard_of`, same order, same `write_records`), which the
tests and `benchmarks/beam_builders.py` check; no builder calls it.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from film_tf.datasets.common import FileTriplet, encode_file_triplet

T = TypeVar("T")
R = TypeVar("R")


def ordered_parallel_map(
    fn: Callable[[T], R], items: Iterable[T], num_workers: int = 0, window: int | None = None
) -> Iterator[R]:
    """`map(fn, items)` on a thread pool, in input order, with at most `window`
    items in flight so memory stays bounded (a few 4K frames, not a dataset).

    Threads suffice: PNG/JPEG coding and resizing in OpenCV/PIL release the GIL.
    An exception in `fn` is raised here and the pending work is cancelled.
    """
    workers = num_workers or os.cpu_count() or 1
    window = window or 2 * workers
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    pending: collections.deque = collections.deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def shard_of(index: int, num_shards: int) -> int:
    """The shard of kept example `index` (0-based, in unit order): round-robin."""
    return index % num_shards


def write_tfrecord(
    items: Iterable[T],
    encode: Callable[[T], bytes | None],
    output: str,
    num_workers: int = 0,
    total: int | None = None,
    desc: str = "triplets",
) -> int:
    """Encodes `items` in parallel and writes them round-robin over the shards.

    Args:
      items: work items (e.g. `FileTriplet`s); consumed lazily.
      encode: item -> serialized `tf.train.Example`, or None to skip it.
      output: `base@N` sharded path (see `film_tf.data.tfrecord.shard_names`).
      num_workers: encoding threads (0 = one per CPU core).
      total: number of items, for the progress bar.
      desc: progress bar label.

    Returns:
      The number of examples written. Files appear under their final names
      only when every item was encoded; on any error none remain.
    """
    from tqdm import tqdm

    from film_tf.data.tfrecord import atomic_sharded_writer

    count = 0
    with atomic_sharded_writer(output) as writers:
        results = ordered_parallel_map(encode, items, num_workers)
        for serialized in tqdm(results, total=total, desc=desc, unit=" ex", dynamic_ncols=True):
            if serialized is None:
                continue
            writers[shard_of(count, len(writers))].write(serialized)
            count += 1
        if count == 0:
            raise ValueError(f"No triplets to write to '{output}'; nothing was written.")
    from film_tf.data.shards import write_counts

    write_counts(output, [len(range(i, count, len(writers))) for i in range(len(writers))])
    return count


def write_file_triplets(
    triplets: Sequence[FileTriplet], output: str, num_workers: int = 0, desc: str = "triplets"
) -> int:
    """`write_tfrecord` of image-file triplets (each encoded by
    `common.encode_file_triplet`); returns the example count."""
    return write_tfrecord(triplets, encode_file_triplet, output, num_workers, len(triplets), desc)


def write_records(path: str, records: Iterable[bytes]) -> None:
    """Writes serialized records to one TFRecord file (any tf.io.gfile path)."""
    import tensorflow as tf

    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
