"""The one dataset-builder pipeline, on Apache Beam: work items -> sharded TFRecords.

Every builder only says how it finds its work (`units`: triplet files, videos,
indices of synthetic triplets) and how one becomes a serialized
`tf.train.Example` (`encode`, from `common`); this module runs

    units -> (optional) expand each into its triplets -> read, check, encode
          -> assign to shards -> one writer per shard -> rename onto <base>-<i>-of-<N>

on any Beam runner. The default runner is Beam's in-process FnApiRunner with
one thread per CPU core (`default_pipeline_args`, which also turns off its
timed data flush, whose race dropped examples under CPU load): no network, no
runner binary to download (Beam's `DirectRunner` may switch to the Prism
runner, which does). Standard Beam options (`--runner`, `--direct_num_workers`,
`--direct_running_mode`, Dataflow/Flink/Spark options) are passed through
untouched (`film_tf.jobs.beam_options`, shared with film-eval and the video job).

Shards are deterministic and identical to the single-process reference
(`writer.write_tfrecord`): example k, counting kept examples in unit order and
within a unit in its `expand` order, goes to shard k % N, in order of k. Beam's
own `WriteToTFRecord` starts its round-robin at a random shard and writes in
arbitrary order, so a rerun would give other files; the shards are therefore
grouped here by that stable key and each is written by one `tf.io.TFRecordWriter`
(the same framing as the reference writer), byte for byte the same on every
runner, worker count and rerun (`common` serializes Examples deterministically). One worker holds one shard's examples while writing
it, so choose --num_shards to keep shards below ~1 GB.

Nothing partial under the final names: shards are written into a hidden
folder `.<base>.beam-<random>.tmp` beside the output and renamed onto their
final names only after the whole pipeline succeeded and every shard is there;
on failure the folder is removed. Last, `<base>@N.dataset_info.json` is
written (`film_tf.data.shards`): each shard's record count, bytes and SHA-256,
hashed by the worker that wrote it; the readers check the shards against it. A killed run (SIGKILL) can leave that hidden
folder, never a file under a final name; the next build of the same output on
this machine removes it (the folder's `owner` file names the host and process
that wrote it: folders of live processes and of other hosts are left alone).

Errors in a triplet (a missing frame, frames of different sizes) do not stop the
runner: they are collected, the pipeline finishes, nothing is published, and the
error of the first failing unit is raised here with its own type and one-line
message naming the path, on every runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import socket
import sys
import uuid
from typing import Any, Callable, Iterable, Sequence

from film_tf.jobs import beam_options
from film_tf.jobs.beam_options import (  # noqa: F401 (the builders' option handling: one owner, jobs/)
    check_pipeline_args,
    default_pipeline_args,
    unknown_pipeline_args,
)

INSTALL_HINT = (
    'The dataset builders run on Apache Beam: pip install -e ".[beam]" (or pip install apache-beam).'
)
# Errors raised by `encode`/`expand` that are the user's to fix: re-raised as they are.
_TRIPLET_ERRORS = (ValueError, OSError)
_ERROR_FILE = "error.pickle"
_KEPT_FILE = "kept"  # the examples the units produced, counted apart from the shards
_OWNER_FILE = "owner"  # "<host>\n<pid>\n" of the build writing a temporary folder


def import_beam():
    """`apache_beam`, or an ImportError whose message says what to install (one line)."""
    return beam_options.import_beam(INSTALL_HINT)


# ---------------------------------------------------------------- the stages


def _encode_unit(item: tuple[int, Any], expand: Callable | None, encode: Callable):
    """(unit index, unit) -> ((unit index, k), serialized) for its kept examples;
    a user error becomes ('error', (unit index, exception))."""
    import apache_beam as beam

    u, unit = item
    # The unit's examples are collected, then emitted. (The examples that went
    # missing under CPU load, first blamed on emitting from inside the decoding
    # loop, were dropped by Beam's timed flush: `beam_options.disable_timed_flush`.)
    try:
        triplets = expand(unit) if expand is not None else (unit,)
        examples = [s for s in map(encode, triplets) if s is not None]
    except _TRIPLET_ERRORS as e:
        return [beam.pvalue.TaggedOutput("error", (u, e))]
    return [((u, k), serialized) for k, serialized in enumerate(examples)]


def _offsets(counts: Iterable[tuple[int, int]]) -> dict[int, int]:
    """{unit index: examples of all earlier units}."""
    offsets, total = {}, 0
    for u, n in sorted(counts):
        offsets[u] = total
        total += n
    return offsets


def _owner_alive(folder: str) -> bool:
    """Whether the build that made the temporary `folder` may still run: its
    owner file names another host or a live process (or is unreadable,
    e.g. still being written)."""
    try:
        with open(os.path.join(folder, _OWNER_FILE)) as f:
            host, pid = f.read().split()
        if host != socket.gethostname():
            return True
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):
        return True
    return True


def remove_dead_temporaries(parent: str, prefix: str) -> int:
    """Deletes the temporary folders `<parent>/<prefix>*.tmp` whose build was
    killed on this machine (its process is gone); returns how many. Folders
    of builds still running, or of other hosts, are left alone."""
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(parent):
            path = os.path.join(parent, entry)
            if (
                entry.startswith(prefix)
                and entry.endswith(".tmp")
                and os.path.isdir(path)
                and not _owner_alive(path)
            ):
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed


def _write_shard(item: tuple[int, Iterable], names: Sequence[str], tmp_dir: str) -> int:
    """Writes shard i's (index, serialized) examples, in index order, to its
    temporary file; returns how many."""
    from film_tf.datasets.writer import write_records

    shard, values = item
    examples = sorted(v for v in values if v is not None)
    write_records(os.path.join(tmp_dir, os.path.basename(names[shard])), (e for _, e in examples))
    return len(examples)


def _write_count(item: tuple[int, int], names: Sequence[str], tmp_dir: str) -> None:
    """Writes shard i's entry of the counts file (records, bytes, SHA-256 of
    the file just written) to `tmp_dir/count-i`, on the worker that wrote it."""
    import json

    from film_tf.data.shards import shard_entry

    shard, count = item
    entry = shard_entry(os.path.join(tmp_dir, os.path.basename(names[shard])), count)
    _write_text(os.path.join(tmp_dir, f"count-{shard}"), json.dumps(entry).encode())


def _write_text(path: str, text: bytes) -> None:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(text)


def _write_error(tmp_dir: str, error: BaseException) -> None:
    _write_text(os.path.join(tmp_dir, _ERROR_FILE), pickle.dumps(error))


def build_pipeline(
    pipeline: Any,
    units: Sequence[Any],
    encode: Callable[[Any], bytes | None],
    names: Sequence[str],
    tmp_dir: str,
    expand: Callable[[Any], Iterable[Any]] | None = None,
) -> None:
    """Adds the builder's stages to `pipeline` (a `beam.Pipeline`): shard files
    and a count per shard go to `tmp_dir`, the first error to `tmp_dir/error.pickle`."""
    import apache_beam as beam

    from film_tf.datasets.writer import shard_of

    n = len(names)
    encoded = (
        pipeline
        | "Units" >> beam.Create(list(enumerate(units)))
        | "Spread" >> beam.Reshuffle()
        | "ReadCheckEncode"
        >> beam.FlatMap(_encode_unit, expand, encode).with_outputs("error", main="examples")
    )
    examples = encoded.examples
    counts = (
        examples
        | "UnitOf" >> beam.Map(lambda kv: kv[0][0])
        | "CountPerUnit" >> beam.combiners.Count.PerElement()
        | "AllCounts" >> beam.combiners.ToList()
        | "Offsets" >> beam.Map(_offsets)
    )

    def assign(kv, offsets):
        (u, k), serialized = kv
        index = offsets[u] + k
        return shard_of(index, n), (index, serialized)

    every_shard = pipeline | "EveryShard" >> beam.Create([(i, None) for i in range(n)])
    counts_per_shard = (
        (examples | "AssignShard" >> beam.Map(assign, beam.pvalue.AsSingleton(counts)), every_shard)
        | "WithEmptyShards" >> beam.Flatten()
        | "GroupShards" >> beam.GroupByKey()
        | "WriteShard" >> beam.Map(lambda item: (item[0], _write_shard(item, names, tmp_dir)))
    )
    _ = counts_per_shard | "WriteCount" >> beam.Map(_write_count, names, tmp_dir)
    # The same examples counted on a branch of their own: `write_examples`
    # publishes nothing if the shards hold fewer (a runner that dropped some).
    _ = (
        examples
        | "CountKept" >> beam.combiners.Count.Globally()
        | "WriteKept" >> beam.Map(lambda n: _write_text(os.path.join(tmp_dir, _KEPT_FILE), str(n).encode()))
    )
    _ = (
        encoded.error
        | "FirstError" >> beam.combiners.Top.Smallest(1, key=lambda e: e[0])  # [] when none
        | "WriteError" >> beam.FlatMap(lambda top: [_write_error(tmp_dir, e) for _, e in top])
    )


def write_examples(
    units: Sequence[Any],
    encode: Callable[[Any], bytes | None],
    output: str,
    expand: Callable[[Any], Iterable[Any]] | None = None,
    pipeline_args: Sequence[str] = (),
    num_workers: int = 0,
) -> int:
    """Runs the builder pipeline; returns the number of examples written.

    Args:
      units: the builder's work items, in output order (picklable).
      encode: a triplet -> serialized `tf.train.Example`, or None to skip it.
      output: `base@N` sharded path (`film_tf.data.tfrecord.shard_names`).
      expand: a unit -> its triplets (e.g. a video -> its frame triplets);
        None: every unit is one triplet.
      pipeline_args: Beam pipeline options, passed through untouched
        (`default_pipeline_args` fills in the in-process default).
      num_workers: workers of the default in-process runner (0: one per core).

    Raises:
      The first failing unit's ValueError/OSError (nothing is written), a
      ValueError when nothing was kept, ImportError without Beam.
    """
    import_beam()
    import apache_beam as beam
    import tensorflow as tf
    from apache_beam.options.pipeline_options import PipelineOptions

    from film_tf.data.shards import write_dataset_info
    from film_tf.data.tfrecord import shard_names
    from film_tf.files import check_parent_is_folder

    names = shard_names(output)
    units = list(units)
    if not units:
        raise ValueError(f"No triplets to write to '{output}'; nothing was written.")
    for name in names:
        check_parent_is_folder(name)
        if tf.io.gfile.isdir(name):
            raise IsADirectoryError(f"The output '{name}' is a folder.")
    args = default_pipeline_args(pipeline_args, num_workers)
    check_pipeline_args(args)
    parent = (
        os.path.dirname(os.path.abspath(names[0])) if "://" not in names[0] else os.path.dirname(names[0])
    )
    prefix = f".{os.path.basename(names[0])}.beam-"
    if "://" not in parent and (removed := remove_dead_temporaries(parent, prefix)):
        print(f"removed {removed} leftover temporary folder(s) of an interrupted build.", file=sys.stderr)
    tmp_dir = os.path.join(parent, f"{prefix}{uuid.uuid4().hex[:12]}.tmp")
    tf.io.gfile.makedirs(tmp_dir)
    _write_text(os.path.join(tmp_dir, _OWNER_FILE), f"{socket.gethostname()}\n{os.getpid()}\n".encode())
    try:
        with beam.Pipeline(options=PipelineOptions(args)) as pipeline:
            build_pipeline(pipeline, units, encode, names, tmp_dir, expand)
        error_path = os.path.join(tmp_dir, _ERROR_FILE)
        if tf.io.gfile.exists(error_path):
            with tf.io.gfile.GFile(error_path, "rb") as f:
                raise pickle.loads(f.read())
        entries = []
        for i in range(len(names)):
            with tf.io.gfile.GFile(os.path.join(tmp_dir, f"count-{i}")) as f:
                entries.append(json.loads(f.read()))
        count = sum(e["num_records"] for e in entries)
        with tf.io.gfile.GFile(os.path.join(tmp_dir, _KEPT_FILE)) as f:
            kept = int(f.read())
        if count != kept:
            raise ValueError(
                f"The Beam runner delivered {count} of the {kept} examples to the shards of '{output}'; "
                "nothing was published (run the build again)."
            )
        if count == 0:
            raise ValueError(f"No triplets to write to '{output}'; nothing was written.")
        temps = [os.path.join(tmp_dir, os.path.basename(name)) for name in names]
        missing = [t for t in temps if not tf.io.gfile.exists(t)]
        if missing:
            raise RuntimeError(f"The pipeline did not write '{missing[0]}'; nothing was published.")
        for temp, name in zip(temps, names):
            tf.io.gfile.rename(temp, name, overwrite=True)
        write_dataset_info(output, entries)  # last: its absence means "not (wholly) built here"
    finally:
        if tf.io.gfile.exists(tmp_dir):
            tf.io.gfile.rmtree(tmp_dir)
    return count


def write_file_triplets(
    triplets: Sequence[Any], output: str, num_workers: int = 0, pipeline_args: Sequence[str] = ()
) -> int:
    """`write_examples` of image-file triplets (`common.FileTriplet`s, each
    read, checked and encoded by `common.encode_file_triplet`)."""
    from film_tf.datasets.common import encode_file_triplet

    return write_examples(triplets, encode_file_triplet, output, None, pipeline_args, num_workers)
