"""wsbridge.handoff: calls from many threads reach one loop, in order, none lost."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from wsbridge.runtime import handoff as hf


class _Loop:
    """An event loop on its own thread with a Handoff made there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.handoff = hf.Handoff(self.loop)
        self.loop_thread = threading.get_ident()
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.handoff.close()
            self.loop.close()

    def wait(self, timeout: float = 5.0) -> None:
        done = threading.Event()
        self.handoff(done.set)
        assert done.wait(timeout), "the hand-off did not drain"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(params=["gil-held", "call_soon_threadsafe"])
def loop(request: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Loop]:
    if request.param == "call_soon_threadsafe":
        monkeypatch.setattr(hf, "_gil_held_write", lambda: None)
    runner = _Loop()
    assert runner.handoff.waker.gil_held == (request.param == "gil-held" and os.name == "posix")
    yield runner
    runner.stop()


def test_calls_from_many_threads_run_on_the_loop_in_each_threads_order(loop: _Loop) -> None:
    seen: dict[int, list[int]] = {}
    threads_seen: set[int] = set()

    def record(t: int, i: int) -> None:
        threads_seen.add(threading.get_ident())
        seen.setdefault(t, []).append(i)

    def producer(t: int) -> None:
        for i in range(5000):
            loop.handoff(record, t, i)
            if i % 500 == 0:
                time.sleep(0.001)  # let the loop go idle, so later calls wake it again

    workers = [threading.Thread(target=producer, args=(t,)) for t in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    loop.wait()
    assert {t: len(v) for t, v in seen.items()} == {t: 5000 for t in range(4)}
    assert all(v == list(range(5000)) for v in seen.values())
    assert threads_seen == {loop.loop_thread}


def test_a_call_after_the_loop_went_idle_still_wakes_it(loop: _Loop) -> None:
    for _ in range(200):  # each one finds no drain scheduled: a wake-up per call
        got = threading.Event()
        loop.handoff(got.set)
        assert got.wait(2)
        time.sleep(0.0005)
    assert not loop.handoff.scheduled or not loop.handoff.calls


def test_a_long_burst_yields_to_the_loop_between_turns(
    loop: _Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hf, "DRAIN_BUDGET", 0.002)
    order: list[str] = []

    def slow(i: int) -> None:
        if i == 0:  # a plain loop callback, ready while the burst runs
            loop.loop.call_soon(order.append, "other")
        time.sleep(0.001)
        order.append(f"call{i}")

    for i in range(10):
        loop.handoff(slow, i)
    loop.wait()
    assert [o for o in order if o != "other"] == [f"call{i}" for i in range(10)]
    # the other callback ran between two turns of the burst, not after all of it
    assert 0 < order.index("other") < 10, order


def test_a_failing_call_is_logged_and_the_rest_still_run(
    loop: _Loop, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[int] = []

    def boom() -> None:
        raise RuntimeError("boom")

    loop.handoff(ran.append, 1)
    loop.handoff(boom)
    loop.handoff(ran.append, 2)
    loop.wait()
    assert ran == [1, 2]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "hub call boom failed"
    ]


def test_many_wake_ups_before_the_loop_runs_do_not_block_the_caller() -> None:
    """A full wake-up pipe must not block a producer: the write is non-blocking."""
    loop = asyncio.new_event_loop()
    fired: list[int] = []
    waker = hf.Waker(loop, lambda: fired.append(1))
    try:
        assert waker.gil_held == (os.name == "posix")
        t0 = time.perf_counter()
        for _ in range(200_000):  # far more than a pipe buffer (64 KiB) holds
            waker.wake()
        assert time.perf_counter() - t0 < 10
        loop.run_until_complete(asyncio.sleep(0.05))
        assert fired  # the loop got at least one wake-up
    finally:
        waker.close()
        loop.close()


def test_close_unregisters_and_closes_the_pipe() -> None:
    loop = asyncio.new_event_loop()
    waker = hf.Waker(loop, lambda: None)
    fds = waker._fds
    waker.close()
    loop.close()
    if fds is not None:
        for fd in fds:
            with pytest.raises(OSError):
                os.fstat(fd)
    assert not waker.gil_held


class _Batches:
    """Records what each batch call received, on the loop."""

    def __init__(self) -> None:
        self.got: list[tuple[Any, list[Any]]] = []

    def __call__(self, batch: hf.Batch) -> None:
        self.got.append((batch.key, batch.take()))


def test_batch_joins_only_the_tail_batch_of_the_same_key_and_size() -> None:
    loop = asyncio.new_event_loop()
    try:
        handoff = hf.Handoff(loop)
        sink, other = _Batches(), _Batches()
        handoff.batch(sink, "a", 1, 10, 100)
        handoff.batch(sink, "a", 2, 10, 100)  # joins
        handoff.batch(sink, "b", 3, 10, 100)  # another key: a new batch
        handoff.batch(sink, "a", 4, 10, 100)  # not the tail's key: a new batch
        handoff(lambda: None)  # any other call ends the tail
        handoff.batch(sink, "a", 5, 10, 100)
        handoff.batch(other, "a", 6, 10, 100)  # another function: a new batch
        handoff.batch(sink, "a", 7, 60, 100)
        handoff.batch(sink, "a", 8, 50, 100)  # 60 + 50 > 100: a new batch
        assert len(handoff.calls) == 8
        loop.run_until_complete(asyncio.sleep(0.05))
        assert sink.got == [
            ("a", [1, 2]),
            ("b", [3]),
            ("a", [4]),
            ("a", [5]),
            ("a", [7]),
            ("a", [8]),
        ]
        assert other.got == [("a", [6])]
        handoff.close()
    finally:
        loop.close()


def test_a_taken_batch_takes_no_more_items() -> None:
    batch = hf.Batch("k", 1, 1)
    assert batch.add(2, 1)
    assert batch.take() == [1, 2]
    assert not batch.add(3, 1)  # the loop has it: the caller queues a new batch
    assert batch.take() == [1, 2] and batch.size == 2


def test_a_full_untaken_batch_makes_the_caller_yield_the_gil_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only when the loop is a whole batch behind: then the caller lets the
    loop's thread take the GIL instead of keeping it for a switch interval."""
    yields: list[int] = []
    monkeypatch.setattr(hf, "_yield_gil", lambda: yields.append(len(handoff.calls)))
    loop = asyncio.new_event_loop()
    try:
        handoff = hf.Handoff(loop)
        sink = _Batches()
        handoff.batch(sink, "a", 1, 60, 100)  # the queue was empty: no yield
        handoff.batch(sink, "a", 2, 30, 100)  # joins
        assert yields == []
        handoff.batch(sink, "a", 3, 30, 100)  # full: queued behind it, then one yield
        assert yields == [2]
        handoff.batch(sink, "b", 4, 30, 100)  # another key: not a full batch of its own
        handoff.batch(sink, "b", 5, 30, 100)  # joins
        assert yields == [2]
        handoff.calls[-1][1][0].take()  # the loop started on "b": no yield for it
        handoff.batch(sink, "b", 6, 90, 100)
        assert yields == [2]
        loop.run_until_complete(asyncio.sleep(0.05))
        assert sink.got[:2] == [("a", [1, 2]), ("a", [3])] and ("b", [6]) in sink.got
        handoff.close()
    finally:
        loop.close()


def test_batches_from_a_busy_thread_lose_nothing_and_keep_order(loop: _Loop) -> None:
    """The loop takes batches while a producer adds to them: every item once, in order."""
    seen: list[int] = []

    def sink(batch: hf.Batch) -> None:
        seen.extend(batch.take())

    n = 200_000
    for i in range(n):
        loop.handoff.batch(sink, "k", i, 1, 64)
        if i % 20_000 == 0:
            time.sleep(0.002)
    loop.wait()
    assert seen == list(range(n))


def test_worker_runs_calls_in_order_on_its_thread_and_survives_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = hf.Worker("wsbridge-test-worker")
    ran: list[tuple[int, str]] = []

    def record(i: int) -> None:
        ran.append((i, threading.current_thread().name))

    def boom() -> None:
        raise RuntimeError("boom")

    for i in range(100):
        worker.call(record, i)
        if i == 50:
            worker.call(boom)
    assert worker.submit(lambda: 42).result(5) == 42  # after every call before it
    with pytest.raises(ZeroDivisionError):
        worker.submit(lambda: 1 / 0).result(5)
    assert ran == [(i, "wsbridge-test-worker") for i in range(100)]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "callback boom failed"
    ]
    worker.shutdown()
    worker.thread.join(5)
    assert not worker.thread.is_alive()
    with pytest.raises(RuntimeError):
        worker.call(record, 0)


def test_worker_shutdown_drops_what_is_still_queued() -> None:
    worker = hf.Worker("wsbridge-test-worker")
    gate = threading.Event()
    ran: list[int] = []
    worker.call(gate.wait, 5)  # the worker is busy with this one
    for i in range(10):
        worker.call(ran.append, i)
    worker.shutdown()
    gate.set()
    worker.thread.join(5)
    assert ran == [] and not worker.thread.is_alive()
