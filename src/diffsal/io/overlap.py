"""Overlapping a prediction's stages: read ahead in a thread, write behind in a pool, stream to a consumer.

`read_ahead` runs a producer (decoding and preprocessing the next clips) in a background thread while
the caller runs the model on the current ones; `WriteBehind` encodes and writes the finished maps in
worker threads while the model computes the next batch; `Feed` hands items in order to one consumer running in
its own thread (the overlay video's encoder, which needs the maps in frame order). Decoding (PyAV), resizing
(PIL), PNG encoding (zlib) and H.264 encoding (x264) release the GIL, so on a GPU the model is the only stage
the run waits for. Errors are not lost: an exception in the producer is raised by the consumer at the item it
would have given, one in a writer by `WriteBehind.submit` or `close`, one in a fed consumer by `Feed.put` or
`close` (the run then fails as it would have without the overlap).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

Item = TypeVar("Item")

_DONE = object()


def read_ahead(items: Iterator[Item], depth: int = 1) -> Iterator[Item]:
    """The items of `items` in order, the next `depth` of them produced in a background thread meanwhile.

    Closing the returned generator (or leaving a loop over it) stops the producer after its current item.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(buffer, (item, None), stop):
                    return
            _put(buffer, (_DONE, None), stop)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            _put(buffer, (_DONE, error), stop)

    producer = threading.Thread(target=produce, name="diffsal-read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            item, error = buffer.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        producer.join()


def _put(buffer: queue.Queue, entry: tuple[Any, BaseException | None], stop: threading.Event) -> bool:
    """Put `entry` unless the consumer has stopped; False when it has."""
    while not stop.is_set():
        try:
            buffer.put(entry, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


class WriteBehind:
    """Runs write tasks in `workers` threads, at most `pending` of them queued or running at once.

    `submit` blocks while `pending` tasks are outstanding (memory stays bounded) and raises the error of any
    task that has failed; `close` waits for every task and raises the first error. Use as a context manager:
    leaving the block by an exception waits for the running tasks (no file is being written afterwards) and
    drops the queued ones.
    """

    def __init__(self, workers: int = 2, pending: int = 16) -> None:
        if workers < 1 or pending < 1:
            raise ValueError(f"workers and pending must be >= 1, got {workers} and {pending}")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="diffsal-write")
        self._slots = threading.BoundedSemaphore(pending)
        self._futures: list[Future] = []

    def submit(self, task: Callable[..., Any], *args: Any) -> None:
        self._raise_failed()
        self._slots.acquire()
        future = self._pool.submit(task, *args)
        future.add_done_callback(lambda _: self._slots.release())
        self._futures.append(future)

    def close(self) -> None:
        """Wait for every task; raise the first error."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self._futures.clear()
            self._pool.shutdown(wait=True)

    def _raise_failed(self) -> None:
        done = [future for future in self._futures if future.done()]
        for future in done:
            future.result()  # raises the task's error
        self._futures = [future for future in self._futures if not future.done()]

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        if error_type is None:
            self.close()
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)


class FeedAborted(Exception):
    """Raised inside a `Feed`'s consumer when the feeding side failed: the consumer must not finish its work."""


_ABORT = object()


class Feed:
    """Runs `consume(items)` in a background thread, `items` the values given to `put`, in order.

    `close` ends `items` and waits for `consume` to return; `abort` (also what leaving a `with` block by an
    exception does) makes `items` raise `FeedAborted` instead, so that, e.g., a video being encoded is not
    completed (`write_video` then removes its temporary file). At most `depth` items wait in between.
    """

    def __init__(self, consume: Callable[[Iterator[Any]], Any], depth: int = 8) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(consume,), name="diffsal-feed", daemon=True)
        self._thread.start()

    def put(self, item: Any) -> None:
        self._send(item)

    def close(self) -> None:
        self._send(_DONE)
        self._thread.join()
        self._raise_error()

    def abort(self) -> None:
        self._send(_ABORT, raise_error=False)
        self._thread.join()

    def _run(self, consume: Callable[[Iterator[Any]], Any]) -> None:
        try:
            consume(self._items())
        except FeedAborted:
            pass
        except BaseException as error:  # noqa: BLE001 - raised on the feeding side
            self._error = error
        finally:
            self._finished.set()

    def _items(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if item is _ABORT:
                raise FeedAborted
            yield item

    def _send(self, item: Any, raise_error: bool = True) -> None:
        while not self._finished.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                break
            except queue.Full:
                continue
        if raise_error:
            self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        if error_type is None:
            self.close()
        else:
            self.abort()
