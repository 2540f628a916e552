"""Overlapped I/O: a producer or a consumer on its own thread, bounded queues.

`prefetch(iterable, size)` decodes ahead on a reader thread; `Sink(consume,
size)` hands items to a writer thread. Both hold at most `size` items, so
memory stays bounded for any clip length, and both re-raise the worker's
exception in the caller. ffmpeg and numpy release the GIL while they work,
so decoding and encoding overlap the model's compute.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(iterable: Iterable[T], size: int = 4) -> Iterator[T]:
    """Yields `iterable`'s items, produced ahead on a daemon thread (at most `size` waiting).

    Closing the generator early (or an error in the caller) stops the thread
    at its next item.
    """
    items: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(_END)
        except BaseException as e:  # handed to the consumer
            put(_Failure(e))

    thread = threading.Thread(target=work, name="film-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


class Sink:
    """`consume(item)` on a writer thread, fed through a queue of `size`.

    `put(item)` blocks while the queue is full and re-raises a failure of
    `consume`; `close()` waits for every item to be consumed (and re-raises);
    `abort()` drops what is queued and stops the thread; `abort(drain=True)`
    lets it consume what is queued first (after a Ctrl-C: finished work kept).
    """

    def __init__(self, consume: Callable[[object], None], size: int = 8):
        self._consume = consume
        self._items: queue.Queue = queue.Queue(maxsize=size)
        self._error: BaseException | None = None
        self._aborted = threading.Event()
        self._thread = threading.Thread(target=self._work, name="film-writer", daemon=True)
        self._thread.start()

    def _work(self):
        while True:
            item = self._items.get()
            if item is _END or self._aborted.is_set():
                return
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as e:
                    self._error = e

    def _check(self):
        if self._error is not None:
            raise self._error

    def put(self, item) -> None:
        while True:
            self._check()
            try:
                self._items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.put(_END)
        self._thread.join()
        self._check()

    def abort(self, drain: bool = False) -> None:
        if drain and self._error is None and self._thread.is_alive():
            try:
                self._items.put(_END, timeout=60)
                self._thread.join(timeout=60)
                return
            except queue.Full:
                pass
        self._aborted.set()
        try:
            while True:
                self._items.get_nowait()
        except queue.Empty:
            pass
        try:
            self._items.put_nowait(_END)
        except queue.Full:
            pass
        self._thread.join(timeout=10)
