"""film_tf.jobs.resume (work folders checked before reuse) and film_tf.jobs.pipelining (threads, bounded queues)."""

import json
import os
import threading
import time

import pytest

from film_tf.jobs import pipelining, resume


def test_records_are_checked_before_reuse(tmp_path):
    output = tmp_path / "out.mp4"
    identity = {"input": "a", "k": 2}
    with resume.WorkFolder(str(output), identity) as work:
        assert work.path == str(tmp_path / ".out.mp4.film-work") and work.records == []
        for i in range(3):
            with open(work.file(f"piece{i}"), "wb") as f:
                f.write(bytes([i]) * (i + 1))
            work.add([f"piece{i}"], chunk=i)
    # A killed run: a half-written piece, a temporary, a torn manifest line.
    (tmp_path / ".out.mp4.film-work" / "piece3").write_bytes(b"half")
    (tmp_path / ".out.mp4.film-work" / ".chunk_00003.abc.tmp.mp4").write_bytes(b"x")
    with open(tmp_path / ".out.mp4.film-work" / "manifest.jsonl", "a") as f:
        f.write('{"chunk": 3, "fi')
    with resume.WorkFolder(str(output), identity) as work:
        assert [r["chunk"] for r in work.records] == [0, 1, 2] and work.resumed
        assert sorted(work.cleaned) == [".chunk_00003.abc.tmp.mp4", "piece3"]
    # A piece changed on disk (same size): it and everything after it are redone.
    (tmp_path / ".out.mp4.film-work" / "piece1").write_bytes(b"\x09\x09")
    with resume.WorkFolder(str(output), identity) as work:
        assert [r["chunk"] for r in work.records] == [0]
        assert sorted(os.listdir(work.path)) == ["job.json", "lock", "manifest.jsonl", "piece0"]
        lines = open(work.file("manifest.jsonl")).read().splitlines()
        assert [json.loads(line)["chunk"] for line in lines] == [0]
    # Another job at the same output starts afresh.
    with resume.WorkFolder(str(output), {"input": "b", "k": 2}) as work:
        assert work.records == [] and not os.path.exists(work.file("piece0"))
        work.remove()
    assert os.listdir(tmp_path) == []


def test_one_run_at_a_time(tmp_path):
    with resume.WorkFolder(str(tmp_path / "o.mp4"), {}):
        with pytest.raises(ValueError, match="Another run is writing this output"):
            with resume.WorkFolder(str(tmp_path / "o.mp4"), {}):
                pass


def test_stale_temporaries_beside_the_output(tmp_path):
    for name in (".out.a1b2.tmp.mp4", ".out.mp4.film-work", "out.mp4", ".other.x.tmp.mp4", ".frames.x1.tmp"):
        (tmp_path / name).mkdir() if name.endswith(("work", ".tmp")) else (tmp_path / name).write_text("x")
    assert resume.remove_stale_temporaries(str(tmp_path / "out.mp4")) == [".out.a1b2.tmp.mp4"]
    assert resume.remove_stale_temporaries(str(tmp_path / "frames")) == [".frames.x1.tmp"]
    assert sorted(os.listdir(tmp_path)) == [".other.x.tmp.mp4", ".out.mp4.film-work", "out.mp4"]


def test_prefetch_keeps_order_bounds_memory_and_reraises():
    produced = []

    def items():
        for i in range(20):
            produced.append(i)
            yield i

    stream = pipelining.prefetch(items(), size=3)
    assert next(stream) == 0
    time.sleep(0.3)
    assert len(produced) <= 1 + 3 + 1  # one taken, three queued, one waiting to be put
    assert list(stream) == list(range(1, 20))

    def failing():
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(pipelining.prefetch(failing()))


def test_sink_consumes_on_another_thread_and_reraises():
    seen, threads = [], set()

    def consume(item):
        threads.add(threading.current_thread().name)
        seen.append(item)

    sink = pipelining.Sink(consume, size=2)
    for i in range(10):
        sink.put(i)
    sink.close()
    assert seen == list(range(10)) and threads == {"film-writer"}

    def broken(item):
        raise RuntimeError(f"ffmpeg died at {item}")

    sink = pipelining.Sink(broken, size=2)
    with pytest.raises(RuntimeError, match="ffmpeg died at 0"):
        for i in range(100):
            sink.put(i)
        sink.close()
    sink.abort()
