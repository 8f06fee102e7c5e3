"""Reading ahead and writing behind: order, errors, early stop, bounded memory."""

import threading
import time

import pytest

from diffsal.io.overlap import WriteBehind, read_ahead


def test_read_ahead_gives_every_item_in_order_from_another_thread():
    threads = []

    def numbers():
        for number in range(50):
            threads.append(threading.current_thread())
            yield number

    assert list(read_ahead(numbers(), depth=3)) == list(range(50))
    assert set(threads) == {threads[0]} and threads[0] is not threading.current_thread()


def test_read_ahead_produces_while_the_consumer_works():
    produced = []

    def numbers():
        for number in range(3):
            produced.append(number)
            yield number

    items = read_ahead(numbers(), depth=1)
    assert next(items) == 0
    deadline = time.monotonic() + 5
    while len(produced) < 2 and time.monotonic() < deadline:  # item 1 is made before it is asked for
        time.sleep(0.01)
    assert produced[:2] == [0, 1]
    assert list(items) == [1, 2]


def test_read_ahead_raises_the_producers_error_after_the_items_before_it():
    def failing():
        yield 1
        yield 2
        raise OSError("disk gone")

    items = read_ahead(failing())
    assert next(items) == 1 and next(items) == 2
    with pytest.raises(OSError, match="disk gone"):
        next(items)


def test_leaving_the_loop_early_stops_the_producer():
    made = []

    def endless():
        number = 0
        while True:
            made.append(number)
            yield number
            number += 1

    before = threading.active_count()
    for number in read_ahead(endless(), depth=2):
        if number == 5:
            break
    count = len(made)
    time.sleep(0.1)
    assert len(made) == count <= 5 + 1 + 2 + 1  # the producer stopped (at most the buffer and one in hand)
    assert threading.active_count() == before


def test_read_ahead_refuses_a_depth_below_one():
    with pytest.raises(ValueError, match="depth"):
        list(read_ahead(iter([1]), depth=0))


def test_write_behind_runs_every_task_before_close_returns():
    done = []
    lock = threading.Lock()

    def write(number):
        time.sleep(0.001)
        with lock:
            done.append(number)

    with WriteBehind(workers=2, pending=4) as writer:
        for number in range(40):
            writer.submit(write, number)
    assert sorted(done) == list(range(40))


def test_write_behind_keeps_at_most_pending_tasks_outstanding():
    release = threading.Event()
    started = []

    def wait(number):
        started.append(number)
        release.wait(5)

    writer = WriteBehind(workers=1, pending=3)
    for number in range(3):
        writer.submit(wait, number)
    blocked = threading.Thread(target=writer.submit, args=(wait, 3))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()  # the fourth task waits for a free slot
    release.set()
    blocked.join(5)
    writer.close()
    assert sorted(started) == [0, 1, 2, 3]


def test_a_failed_write_is_raised_by_a_later_submit_or_by_close():
    def fail(_):
        raise OSError(28, "No space left on device")

    writer = WriteBehind(workers=1, pending=2)
    writer.submit(fail, 0)
    time.sleep(0.1)
    with pytest.raises(OSError, match="No space left"):
        writer.submit(lambda _: None, 1)
    writer = WriteBehind(workers=1, pending=2)
    writer.submit(fail, 0)
    with pytest.raises(OSError) as error:
        writer.close()
    assert error.value.errno == 28


def test_leaving_by_an_error_waits_for_running_writes_and_drops_queued_ones():
    ran = []

    def slow(number):
        time.sleep(0.05)
        ran.append(number)

    with pytest.raises(KeyError):
        with WriteBehind(workers=1, pending=8) as writer:
            for number in range(6):
                writer.submit(slow, number)
            raise KeyError("model failed")
    count = len(ran)
    time.sleep(0.2)
    assert 1 <= count < 6 and len(ran) == count  # nothing runs after the block is left
