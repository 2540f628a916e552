"""film_tf.jobs.beam_options: the in-process runner runs without Beam's timed
data flush, whose race with the bundle's thread drops elements."""

from __future__ import annotations

import threading
import time

import pytest

from film_tf.jobs import beam_options

pytest.importorskip("apache_beam")

from apache_beam.runners.portability.fn_api_runner import worker_handlers  # noqa: E402
from apache_beam.runners.worker import data_plane  # noqa: E402


def test_beams_timed_flush_drops_what_the_bundle_writes_meanwhile():
    """The race itself, made deterministic: the stream's flusher thread is
    held inside its send while the writing thread writes the next element;
    the flusher then empties the buffer and that element is gone. (The reason
    for `disable_timed_flush`; should Beam fix it, this test says so.)"""
    sent: list[bytes] = []
    in_send, written = threading.Event(), threading.Event()

    def send(data: bytes) -> None:
        sent.append(data)
        if data and not in_send.is_set():
            in_send.set()
            written.wait(10)

    stream = data_plane.TimeBasedBufferingClosableOutputStream(
        close_callback=sent.append, flush_callback=send, time_flush_threshold_ms=10
    )
    stream.write(b"first|")
    assert in_send.wait(10)  # the flusher thread has taken b"first|" and is sending it
    stream.write(b"second|")  # the bundle's thread writes on meanwhile
    written.set()
    deadline = time.time() + 10
    while stream.size() and time.time() < deadline:  # the flusher empties the buffer
        time.sleep(0.001)
    stream.write(b"third")
    stream.close()
    assert b"".join(sent) == b"first|third"


def test_default_args_turn_the_timed_flush_off(monkeypatch):
    monkeypatch.setattr(worker_handlers, "DATA_BUFFER_TIME_LIMIT_MS", 1000)  # as Beam sets it
    assert beam_options.default_pipeline_args([], 2) == [
        "--runner=FnApiRunner",
        "--direct_num_workers=2",
        "--direct_running_mode=multi_threading",
    ]
    assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == 0
    assert beam_options.disable_timed_flush() is False  # already off


@pytest.mark.parametrize(
    "args",
    [[], ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]],
    ids=["default", "processes"],
)
def test_builds_use_no_timed_stream(args, tmp_path, monkeypatch):
    """A build on the default runner (2 threads) and on 2 worker processes:
    every data stream this process opens (the runner's inputs to the bundles,
    the in-process workers' outputs) is flushed by its writer only, and every
    example arrives. Before the fix both ran on 1 s timed streams."""
    import tensorflow as tf

    from film_tf.data.tfrecord import shard_names
    from film_tf.datasets import beam_pipeline

    monkeypatch.setattr(worker_handlers, "DATA_BUFFER_TIME_LIMIT_MS", 1000)  # as Beam sets it
    create = data_plane.ClosableOutputStream.create
    limits = []

    def recording_create(close_callback, flush_callback, data_buffer_time_limit_ms):
        limits.append(data_buffer_time_limit_ms)
        return create(close_callback, flush_callback, data_buffer_time_limit_ms)

    monkeypatch.setattr(data_plane.ClosableOutputStream, "create", staticmethod(recording_create))
    encode = lambda t: f"{t[0]}:{t[1]}".encode()  # noqa: E731
    expand = lambda u: [(u, k) for k in range(u % 3)]  # noqa: E731 (units 0, 3 have none)
    out = str(tmp_path / "s@2")
    assert beam_pipeline.write_examples(range(7), encode, out, expand, pipeline_args=args, num_workers=2) == 6
    assert limits and set(limits) == {0}, limits
    expected = [b"1:0", b"2:0", b"2:1", b"4:0", b"5:0", b"5:1"]
    shards = [[r.numpy() for r in tf.data.TFRecordDataset(name)] for name in shard_names(out)]
    assert shards == [expected[0::2], expected[1::2]]
